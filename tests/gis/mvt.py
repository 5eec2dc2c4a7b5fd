"""A minimal Mapbox Vector Tile (protobuf) decoder, so tests can read tiles without mapbox-vector-tile."""

from __future__ import annotations

import struct

GEOM_TYPES = {1: "Point", 2: "LineString", 3: "Polygon"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of every field in a message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _packed(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(data: bytes):
    for number, _, raw in _fields(data):
        if number == 1:
            return raw.decode()
        if number == 2:
            return struct.unpack("<f", raw)[0]
        if number == 3:
            return struct.unpack("<d", raw)[0]
        if number in (4, 5):
            return raw if raw < 1 << 63 else raw - (1 << 64)
        if number == 6:
            return _zigzag(raw)
        if number == 7:
            return bool(raw)
    return None


def _geometry(commands: list[int]) -> list[list[tuple[int, int]]]:
    """Decode the command stream into parts (lists of tile-space points)."""
    parts: list[list[tuple[int, int]]] = []
    x = y = i = 0
    while i < len(commands):
        command, count = commands[i] & 7, commands[i] >> 3
        i += 1
        if command == 7:  # ClosePath
            continue
        for _ in range(count):
            x += _zigzag(commands[i])
            y += _zigzag(commands[i + 1])
            i += 2
            if command == 1:
                parts.append([(x, y)])
            else:
                parts[-1].append((x, y))
    return parts


def decode(tile: bytes) -> dict[str, dict]:
    """{layer name: {"extent": int, "features": [{"id", "type", "properties", "geometry"}]}}."""
    out = {}
    for number, _, layer_bytes in _fields(tile):
        if number != 3:
            continue
        name, keys, values, raw_features, extent = None, [], [], [], 4096
        for field, _, value in _fields(layer_bytes):
            if field == 1:
                name = value.decode()
            elif field == 2:
                raw_features.append(value)
            elif field == 3:
                keys.append(value.decode())
            elif field == 4:
                values.append(_value(value))
            elif field == 5:
                extent = value
        features = []
        for raw in raw_features:
            feature = {"id": None, "type": None, "properties": {}, "geometry": []}
            for field, _, value in _fields(raw):
                if field == 1:
                    feature["id"] = value
                elif field == 2:
                    tags = _packed(value)
                    feature["properties"] = {keys[k]: values[v] for k, v in zip(tags[::2], tags[1::2], strict=True)}
                elif field == 3:
                    feature["type"] = GEOM_TYPES.get(value)
                elif field == 4:
                    feature["geometry"] = _geometry(_packed(value))
            features.append(feature)
        out[name] = {"extent": extent, "features": features}
    return out
