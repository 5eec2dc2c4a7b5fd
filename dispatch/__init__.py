"""110/119/120/122 joint dispatch: stations now; incidents, units, GPS ingest and ETA later."""
