"""Shared spatial data: roads and addresses now; layers, OGC API, tiles and rasters later."""
