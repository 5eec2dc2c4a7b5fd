"""JT/T 808 codec: frames from real terminals, round trips of every message type, fuzzing, stream splitting.

Pure codec tests: no database, no network. The published frames come from the team's vector file
(``../shared/reference/jt808-vectors.txt``, or ``$JT808_VECTORS``), which is parsed here: each frame is decoded
and checked against the facts its comment states. The hex of every frame also lives in ``VECTORS`` below, so the
hand-written expectations still run where the reference folder is not checked out.

Oracles are independent of the codec: escaping and the XOR checksum are re-implemented byte by byte below.
Hypothesis budgets: ``JT808_FUZZ_EXAMPLES`` (default 1000 per fuzz test) and ``JT808_ROUNDTRIP_EXAMPLES``
(default 100 per message type and header form).
"""

import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dispatch import jt808
from dispatch.jt808 import Alarm, Status

ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = Path(os.environ.get("JT808_VECTORS", ROOT.parent / "shared" / "reference" / "jt808-vectors.txt"))
FUZZ_EXAMPLES = int(os.environ.get("JT808_FUZZ_EXAMPLES", "1000"))
ROUNDTRIP_EXAMPLES = int(os.environ.get("JT808_ROUNDTRIP_EXAMPLES", "100"))
GMT8 = timezone(timedelta(hours=8))  # terminal clock zone in the standard

# Frames of the vector file by tag (hex is data; the facts asserted below are restated in our own words).
VECTORS = {
    "T1": "7e0002000004304832546500b7ca7e",
    "T2": "7E0100002D013511221122000500000000373031303748422D523033474244000000000000000000000032333636313034"
    "02CBD5424136383630387E",
    "T3": "7E0102000E013511221122000661757468656E7469636174696F6E3F7E",
    "T6": "7e0200002e094027587492000a000000010000000a03083db7001329f3000000140000130412164952010400000012360a"
    "0002341502cb0c20085c107e",
    "T7": "7e020000220014012499170007000000000000400e012af16f02cbd2ba000000000000150101194257010400000077a97e",
    "T8": "7E0200002A013833501744001900000000000000C201597FA806CC01580080000000081508180721210104000002F50202"
    "0000030200009F7E",
    "T9": "7e0200009e017721028890061b00000000004c000301d9f2d4073ca28d002b01c2000024011017260501040000023c3001"
    "193101162504000000001404000000011504000000041604000000001702000018030000002b0400000000e10400735443e20400"
    "001211e30a4e61747572654c696e6be635244f42442d52542c2c35352e3030302c3130332e37382c2c302e302c342c2c2c2c302e"
    "3030302c2c31323336302e32382c2c2c0d0aa27e",
    "T12": "7E0704014301356777777707F5000801002600000000000000030159741206CBFD5001720000000116052709062401040"
    "000001D03020000002600000000000000030159746606CBFD50016B0000000116052709065301040000001D03020000002600000"
    "00000000003015975E406CBFE58013F0000000116052709072701040000001D0302000000260000000000000003015976DE06CBF"
    "F10012E0000000116052709075601040000001D0302000000260000000000000003015976BC06CBFED0012D00000001160527090"
    "83001040000001D0302000000260000000000000003015976FE06CBFEC001080000000116052709090001040000001D030200000"
    "0260000000000000003015976FE06CBFE7800FC0000000116052709093301040000001D030200000026000000000000000301597"
    "7A606CBFF3001080000000116052709100201040000001D030200001F7E",
    "E1": "7e810500010b3a73ce2ff20000f0247e",
    "E2": "7e830000140b3a73ce2ff2000001546573742c20436f6d6d616e642c2031323323a57e",
    "X1": "7e307d02087d01557e",
    "S1": "7E80010005012345678900000A0064020000617E",
    "S2": "7E81000009012345678900000A006400313233343536687E",
    "S3": "7E02000026123456789012007D02000000010000000200BA7F0E07E4F11C0028003C000018101510101001040000006402"
    "02007D01137E",
}
VECTORS = {tag: bytes.fromhex(hx) for tag, hx in VECTORS.items()}

# The vector file has no frame in the 2019 header form, so these published 2019 (and extra 2013) frames are added.
# Traccar src/test/java/org/traccar/protocol/Jt808ProtocolDecoderTest.java (traccar/traccar, commit 083ed8ed):
#   TR19_REG  verifyNull (a 2019 registration), TR19_BATCH verifyAttribute satellites = 14.
# SmallChi/JT808 src/JT808.Protocol.Test/MessageBody/JT808_0x0100Test.cs (commit 104eb9b3): Test1_1, Test2019_2,
#   Test2019_4_2 (each asserts the decoded fields checked below); JT808_0x0102Test.cs (commit 1924e87f): Test4.
EXTRA_VECTORS = {
    "TR19_REG": "7e0100405c010000086649607758216452180000000000000000000000000000004d443330300000000000000000"
    "00000000000000000000000000000000003836363439363037373538323136340000000000000000000000000000000400000000"
    "0000000000000000000000007a7e",
    "TR19_BATCH": "7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a47001600000002"
    "26050916422701040000258230010031010e507e",
    "SC13_REG": "7E0100002D000123456789000A002800323132333430736D616C6C63686931323330303030303030303043484931"
    "32333001D4C1413132333435BA7E",
    "SC19_REG": "7E010040540100000000000123456789000A00280032303030303030303132333430303030303030303030303030"
    "303030303030736D616C6C63686931323330303030303030303030303030303030303030303030303043484931323301D4C14131"
    "32333435B27E",
    "SC19_REG_KOIKE": "7e0100405401000000000222222222220001000000003030304b6f696b6530303230303030303030303030"
    "3030303030303030303030304b6f696b65303032303030303030303030303030303030303030303030304b6f696b6530303202d4"
    "c1413132333436107e",
    "SC13_AUTH": "7E010200090123456789003039343536313231313131BE7E",
}
EXTRA_VECTORS = {tag: bytes.fromhex(hx) for tag, hx in EXTRA_VECTORS.items()}

MESSAGE_VECTORS = [wire for tag, wire in {**VECTORS, **EXTRA_VECTORS}.items() if tag != "X1"]


# ------------------------------------------------------------------------------------ independent oracles


def ref_xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def ref_escape(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte == 0x7E:
            out += b"\x7d\x02"
        elif byte == 0x7D:
            out += b"\x7d\x01"
        else:
            out.append(byte)
    return bytes(out)


def ref_unescape(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x7D:
            if i + 1 >= len(data) or data[i + 1] not in (1, 2):
                raise ValueError("bad escape")
            out.append(0x7D if data[i + 1] == 1 else 0x7E)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def wire_from_payload(payload: bytes, check: int | None = None) -> bytes:
    """Frame header+body bytes by hand: checksum (correct unless given), escape, flags."""
    check = ref_xor(payload) if check is None else check
    return b"\x7e" + ref_escape(payload + bytes((check,))) + b"\x7e"


def payload_of(wire: bytes) -> bytes:
    """Unescaped header + body + checksum of a wire frame."""
    return ref_unescape(wire[1:-1])


def local(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=GMT8)


def decode(tag: str) -> jt808.Message:
    return jt808.decode_frame({**VECTORS, **EXTRA_VECTORS}[tag])


# ----------------------------------------------------------------------------------- the vector file itself


def parse_vector_file(path: Path) -> list[tuple[str, bytes, str, str]]:
    """[(tag, wire, stated, derived)] for every frame line of the file."""
    frames = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        hex_part, _, comment = line.partition("#")
        tag = re.search(r"\[([^\]]+)\]", comment).group(1)
        parts = [p.strip() for p in comment.split("|")]
        stated = next((p[len("test-stated:") :] for p in parts if p.startswith("test-stated:")), "")
        derived = next((p[len("derived:") :] for p in parts if p.startswith("derived:")), "")
        frames.append((tag, bytes.fromhex(hex_part.strip()), stated.strip(), derived.strip()))
    return frames


needs_file = pytest.mark.skipif(not VECTORS_FILE.exists(), reason=f"vector file {VECTORS_FILE} not present")
FILE_FRAMES = parse_vector_file(VECTORS_FILE) if VECTORS_FILE.exists() else []


@needs_file
def test_vector_file_frames_are_the_ones_checked_here():
    tags = [tag for tag, *_ in FILE_FRAMES]
    assert len(tags) == len(set(tags)), "duplicate tags in the vector file"
    for tag, wire, *_ in FILE_FRAMES:
        if tag in VECTORS:
            assert wire == VECTORS[tag], f"{tag} differs between the vector file and this test"
    assert set(VECTORS) <= set(tags), f"frames missing from the vector file: {set(VECTORS) - set(tags)}"


def _first(pattern: str, *texts: str) -> re.Match | None:
    for text in texts:
        if found := re.search(pattern, text):
            return found
    return None


def _locations(body) -> list[jt808.Location]:
    if isinstance(body, jt808.LocationBatch):
        return list(body.items)
    return [body] if isinstance(body, jt808.Location) else []


@needs_file
@pytest.mark.parametrize("tag,wire,stated,derived", FILE_FRAMES, ids=[f[0] for f in FILE_FRAMES])
def test_every_vector_file_frame_matches_its_stated_facts(tag, wire, stated, derived):
    """Facts are read out of each frame's comment (ids, phone, serial, coordinates, time, speed, bits, counts)."""
    text = f"{stated} | {derived}"
    escaped_to = re.search(r"unescapes to ([0-9a-fA-F]+)", stated)
    if escaped_to:  # an escaping example, not a message
        assert b"\x7e" + jt808.unescape(wire[1:-1]) + b"\x7e" == bytes.fromhex(escaped_to.group(1))
        assert jt808.escape(bytes.fromhex(escaped_to.group(1))[1:-1]) == wire[1:-1]
        with pytest.raises(jt808.JT808Error):
            jt808.decode_frame(wire)
        return

    msg = jt808.decode_frame(wire)
    header, body = msg.header, msg.body
    assert jt808.encode_frame(header, body) == wire, "re-encoding a decoded frame must give the same bytes"

    msg_id = _first(r"0x([0-9a-fA-F]{4})\b", derived, stated)
    assert msg_id, f"{tag}: no message id in the comment"
    assert header.msg_id == int(msg_id.group(1), 16)
    if m := re.search(r'phone (?:BCD )?"?(\d+)', text):
        assert header.phone == m.group(1).lstrip("0")
    if m := re.search(r"\bserial (\d+)", text):
        assert header.serial == int(m.group(1))
    if m := re.search(r"checksum 0x([0-9a-fA-F]{2})", text):
        assert payload_of(wire)[-1] == int(m.group(1), 16)
    if m := re.search(r"\bbody (?:length )?(\d+)", text):
        assert header.body_length == int(m.group(1))
    if "2013" in derived:
        assert header.version is None
    if "not subpackaged" in text:
        assert not header.subpackaged
    if "not encrypted" in text:
        assert header.encryption == 0
    if m := re.search(r'auth code "([^"]+)"', text):
        assert body.auth_code == m.group(1)
    if m := re.search(r"\bcount (\d+)", text):
        assert body.count == int(m.group(1))
    if m := re.search(r"\btype (\d+)", text):
        assert body.batch_type == int(m.group(1))

    locations = _locations(body)
    if not locations:
        return
    first, last = locations[0], locations[-1]
    coords = re.findall(r"\blat (-?\d+\.\d+),? lon (-?\d+\.\d+)", text)
    for (lat, lon), loc in zip(coords, [first, last], strict=False):
        assert (loc.latitude, loc.longitude) == (float(lat), float(lon))
    if m := re.search(r"\blat (\d+) \(1e-6 deg\), lng (\d+)", text):
        assert (first.latitude, first.longitude) == (int(m.group(1)) / 1e6, int(m.group(2)) / 1e6)
    assert coords or m, f"{tag}: a position without stated coordinates"
    times = re.findall(r"\btime (\d{4}|\d\d)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)", text)
    assert times, f"{tag}: a position without a stated time"
    for fields, loc in zip(times, [first, last], strict=False):
        year, *rest = (int(f) for f in fields)
        assert loc.time == local(year if year > 99 else 2000 + year, *rest)
        assert loc.time.tzinfo is UTC
    for pattern, attr in (
        (r"\balt(?:itude)? (-?\d+)", "altitude"),
        (r"\bdir(?:ection)? (\d+)", "direction"),
    ):
        found = re.findall(pattern, text)
        for value, loc in zip(found, [first, last], strict=False):
            assert getattr(loc, attr) == int(value), attr
    if m := re.search(r"\bspeed (\d+(?:\.\d+)?) km/h", text):
        assert first.speed_kmh == float(m.group(1))
    if m := re.search(r"\bspeed (\d+) \(=(\d+(?:\.\d+)?) km/h\)", text):
        assert first.speed_kmh == int(m.group(1)) / 10 == float(m.group(2))
    if m := re.search(r"\balarm (0x[0-9a-fA-F]+|\d+)\b", text):
        assert first.alarm == int(m.group(1), 0)
    if m := re.search(r"\b(all )?status (0x[0-9a-fA-F]+|\d+)\b", text):
        for loc in locations if m.group(1) else [first]:
            assert loc.status == int(m.group(2), 0)
    if m := re.search(r"\bmileage (0x[0-9a-fA-F]+|\d+)", text):
        for loc in locations:  # a batch states it for each item
            assert loc.mileage_km == int(m.group(1), 0) / 10
    if m := re.search(r"\bfuel (\d+)", text):
        assert first.fuel_l == int(m.group(1)) / 10


# ------------------------------------------------------------------------ the vectors, fact by fact


def test_t1_heartbeat():
    msg = decode("T1")
    assert msg.header == jt808.Header(jt808.MsgId.HEARTBEAT, "43048325465", 183)
    assert msg.body == jt808.Heartbeat()
    assert payload_of(VECTORS["T1"])[-1] == 0xCA


def test_t2_register_2013():
    msg = decode("T2")
    assert (msg.header.msg_id, msg.header.phone, msg.header.serial, msg.header.version) == (
        0x0100,
        "13511221122",
        5,
        None,
    )
    assert msg.body == jt808.Register(0, 0, "70107", "HB-R03GBD", "2366104", 2, "苏BA6860")


def test_t3_authenticate_2013():
    msg = decode("T3")
    assert (msg.header.phone, msg.header.serial) == ("13511221122", 6)
    assert msg.body == jt808.Authenticate("authentication")


def test_t6_sos_west_longitude():
    loc = decode("T6").body
    assert loc.alarm == Alarm.EMERGENCY and Alarm.EMERGENCY in jt808.ALARMS_CLEARED_BY_ACK
    assert loc.status == Status.FIXED | Status.WEST and loc.fixed
    assert (loc.latitude, loc.longitude) == (50.871735, -1.255923)
    assert (loc.altitude, loc.speed_kmh, loc.direction) == (0, 2.0, 0)
    assert loc.time == local(2013, 4, 12, 16, 49, 52) == datetime(2013, 4, 12, 8, 49, 52, tzinfo=UTC)
    assert loc.mileage_km == 1.8
    assert [(item_id, len(value)) for item_id, value in loc.extras] == [(0x36, 10)]


def test_t7_south_and_west():
    msg = decode("T7")
    loc = msg.body
    assert (msg.header.phone, msg.header.serial, msg.header.body_length) == ("1401249917", 7, 34)
    assert loc.status == Status.FIXED | Status.SOUTH | Status.WEST | Status.DOOR2_OPEN
    assert (loc.latitude, loc.longitude) == (-19.591535, -46.912186)
    assert loc.time == local(2015, 1, 1, 19, 42, 57)
    assert loc.mileage_km == 11.9 and loc.extras == ()


def test_t8_shenzhen_with_fuel_and_recorder_speed():
    loc = decode("T8").body
    assert loc.status == Status.FIXED | Status.AEB_WARNING | Status.LANE_DEPARTURE_WARNING
    assert (loc.latitude, loc.longitude, loc.altitude, loc.direction) == (22.6426, 114.032984, 128, 8)
    assert loc.time == local(2015, 8, 18, 7, 21, 21)
    assert (loc.mileage_km, loc.fuel_l, loc.recorder_speed_kmh) == (75.7, 0.0, 0.0)


def test_t9_shanghai_moving_with_vendor_items():
    msg = decode("T9")
    loc = msg.body
    assert (msg.header.phone, msg.header.serial) == ("17721028890", 1563)
    assert loc.status == Status.ACC_ON | Status.FIXED | Status.GPS | Status.BEIDOU | Status.MOVING
    assert loc.alarm == Alarm(0)
    assert (loc.latitude, loc.longitude, loc.altitude, loc.speed_kmh) == (31.060692, 121.414285, 43, 45.0)
    assert loc.time == local(2024, 1, 10, 17, 26, 5)
    assert (loc.mileage_km, loc.signal, loc.satellites) == (57.2, 25, 22)
    assert [item_id for item_id, _ in loc.extras] == [0x25, 0x14, 0x15, 0x16, 0x17, 0x18, 0x2B, 0xE1, 0xE2, 0xE3, 0xE6]
    assert loc.item(0xE3) == b"NatureLink"
    # Traccar's stated fact: rpm 55.0, the third field of the 0xE6 "$OBD-RT,..." text item
    assert float(loc.item(0xE6).split(b",")[2]) == 55.0


def test_t12_blind_area_batch():
    msg = decode("T12")
    batch = msg.body
    assert (msg.header.phone, msg.header.serial) == ("13567777777", 2037)
    assert batch.batch_type == jt808.BatchType.BACKFILL and batch.count == 8
    assert all(loc.status == Status.ACC_ON | Status.FIXED for loc in batch.items)
    assert all((loc.mileage_km, loc.recorder_speed_kmh) == (2.9, 0.0) for loc in batch.items)
    first, last = batch.items[0], batch.items[-1]
    assert (first.latitude, first.longitude, first.altitude) == (22.639634, 114.031952, 370)
    assert first.time == local(2016, 5, 27, 9, 6, 24)
    assert (last.latitude, last.longitude, last.altitude) == (22.64055, 114.032432, 264)
    assert last.time == local(2016, 5, 27, 9, 10, 2)
    times = [loc.time for loc in batch.items]
    assert times == sorted(times)


def test_e1_e2_platform_commands_with_a_binary_terminal_id():
    """Traccar writes IMEI 12345678901234(5) as a 48-bit number; unknown ids (0x8105) keep their bodies raw."""
    header = jt808.Header(0x8105, "12345678901234", 0, phone_binary=True)
    assert decode("E1") == jt808.Message(header, jt808.RawBody(b"\xf0"))
    assert jt808.encode_frame(header, b"\xf0") == VECTORS["E1"]
    text = jt808.Header(0x8300, "12345678901234", 0, phone_binary=True)
    assert decode("E2").body == jt808.TextMessage(jt808.TextFlag.URGENT, "Test, Command, 123#")
    assert jt808.encode_frame(text, jt808.TextMessage(1, "Test, Command, 123#")) == VECTORS["E2"]
    with pytest.raises(jt808.UnsupportedMessageError, match="0x8105"):
        jt808.decode_body(0x8105, b"\xf0")


def test_x1_escaping_example_and_leading_garbage():
    assert jt808.unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")
    assert jt808.escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    splitter = jt808.FrameSplitter()
    assert splitter.feed(bytes.fromhex("2424") + VECTORS["X1"]) == [VECTORS["X1"]]
    assert splitter.discarded_bytes == 2
    with pytest.raises(jt808.TruncatedFrameError):  # five bytes are not a message
        jt808.decode_frame(VECTORS["X1"])


def test_s1_platform_response():
    header = jt808.Header(jt808.MsgId.PLATFORM_RESPONSE, "12345678900", 10)
    body = jt808.PlatformResponse(100, 0x0200, jt808.GeneralResult.SUCCESS)
    assert decode("S1") == jt808.Message(header, body)
    assert jt808.encode_frame(header, body) == VECTORS["S1"]


def test_s2_register_response():
    header = jt808.Header(jt808.MsgId.REGISTER_RESPONSE, "12345678900", 10)
    body = jt808.RegisterResponse(100, jt808.RegisterResult.SUCCESS, "123456")
    assert decode("S2") == jt808.Message(header, body)
    assert jt808.encode_frame(header, body) == VECTORS["S2"]


def test_s3_on_wire_escaped_location_encodes_to_the_same_bytes():
    header = jt808.Header(jt808.MsgId.LOCATION, "123456789012", 126)  # serial 0x007e → 7d 02 on the wire
    body = jt808.Location(
        Alarm.EMERGENCY,
        Status.FIXED,
        12.222222,
        132.444444,
        40,
        6.0,
        0,
        local(2018, 10, 15, 10, 10, 10).astimezone(UTC),
        mileage_km=10.0,
        fuel_l=12.5,  # 125 = 0x007d → 7d 01 on the wire
    )
    msg = decode("S3")
    assert msg == jt808.Message(header, body)
    assert (msg.header.body_length, msg.header.subpackaged, msg.header.encryption) == (38, False, 0)
    assert jt808.encode_frame(header, body) == VECTORS["S3"]


def test_2019_register_from_a_real_terminal():
    msg = decode("TR19_REG")
    assert (msg.header.version, msg.header.phone, msg.header.serial) == (1, "866496077582164", 0x5218)
    assert msg.header.is_2019 and msg.header.body_length == 92
    assert msg.body == jt808.Register(0, 0, "", "MD300", "866496077582164", 4, "")


def test_2019_batch_from_a_real_terminal():
    msg = decode("TR19_BATCH")
    assert (msg.header.version, msg.header.phone, msg.header.serial) == (1, "866496077582164", 0x881D)
    (loc,) = msg.body.items
    assert msg.body.batch_type == jt808.BatchType.NORMAL
    assert loc.satellites == 14  # Traccar's stated fact
    assert loc.status == Status.ACC_ON | Status.FIXED | Status.SOUTH
    assert (loc.latitude, loc.longitude, loc.altitude, loc.direction) == (-27.263378, 153.037383, 22, 2)
    assert loc.time == local(2026, 5, 9, 16, 42, 27)
    assert (loc.mileage_km, loc.signal) == (960.2, 0)


def test_smallchi_registrations_2013_and_2019():
    msg = decode("SC13_REG")
    assert (msg.header.phone, msg.header.serial, msg.header.version) == ("123456789", 10, None)
    assert msg.body == jt808.Register(40, 50, "12340", "smallchi123000000000", "CHI1230", 1, "粤A12345")
    msg = decode("SC19_REG")
    assert (msg.header.phone, msg.header.serial, msg.header.version) == ("123456789", 10, 1)
    assert msg.body == jt808.Register(
        40, 50, "1234".rjust(11, "0"), "smallchi123".rjust(30, "0"), "CHI123".rjust(30, "0"), 1, "粤A12345"
    )
    msg = decode("SC19_REG_KOIKE")
    assert (msg.header.phone, msg.header.version) == ("22222222222", 1)
    body = msg.body
    assert (body.province, body.city, body.plate_color, body.plate) == (0, 0, 2, "粤A12346")
    assert body.maker.lstrip("0") == body.model.lstrip("0") == body.terminal_id.lstrip("0") == "Koike002"
    for tag in ("SC13_REG", "SC19_REG", "SC19_REG_KOIKE"):
        msg = decode(tag)
        assert jt808.encode_frame(msg.header, msg.body) == EXTRA_VECTORS[tag]


def test_smallchi_authenticate_2013():
    msg = decode("SC13_AUTH")
    assert (msg.header.phone, msg.header.serial) == ("12345678900", 12345)
    assert msg.body == jt808.Authenticate("456121111")


def test_platform_response_answers_in_the_request_header_form():
    for tag in ("S3", "TR19_BATCH", "E1"):
        request = decode(tag).header
        reply = jt808.decode_frame(jt808.platform_response(request, serial=7))
        assert reply.header == jt808.Header(
            0x8001, request.phone, 7, request.version, phone_binary=request.phone_binary
        )
        assert reply.body == jt808.PlatformResponse(request.serial, request.msg_id, jt808.GeneralResult.SUCCESS)


# ----------------------------------------------------------------------------------------- errors


def _payload(msg_id=0x0200, body=b"", *, length=None, attrs=0, phone=b"\x01\x38\x00\x13\x80\x00", serial=1):
    length = len(body) if length is None else length
    return msg_id.to_bytes(2, "big") + (length | attrs).to_bytes(2, "big") + phone + serial.to_bytes(2, "big") + body


def test_bad_checksum_is_refused_with_both_values():
    payload = payload_of(VECTORS["T6"])
    wire = wire_from_payload(payload[:-1], check=payload[-1] ^ 0x5A)
    with pytest.raises(jt808.BadChecksumError, match="bad checksum") as info:
        jt808.decode_frame(wire)
    assert (info.value.expected, info.value.received) == (payload[-1], payload[-1] ^ 0x5A)
    accepted = jt808.decode_frame(wire, verify_checksum=False)  # the explicit opt-out for sloppy devices
    assert accepted.body == decode("T6").body


@pytest.mark.parametrize(
    "wire,error,words",
    [
        (b"", jt808.TruncatedFrameError, "shortest message"),
        (b"\x7e", jt808.TruncatedFrameError, "closing"),
        (VECTORS["T1"][:-1], jt808.TruncatedFrameError, "closing"),
        (VECTORS["T1"][1:], jt808.TruncatedFrameError, "opening"),
        (b"\x7e\x7e", jt808.TruncatedFrameError, "shortest message"),
        (VECTORS["T1"][:8] + b"\x7e", jt808.TruncatedFrameError, "shortest message"),
        (VECTORS["T1"] + VECTORS["T1"], jt808.FrameError, "FrameSplitter"),
        (b"\x7e\x30\x7d\x03\x7e", jt808.BadEscapeError, "0x7d followed by 0x03"),
        (b"\x7e\x30\x31\x7d\x7e", jt808.BadEscapeError, "end of the frame"),
        (wire_from_payload(_payload(0x0002, b"", attrs=0x4000)), jt808.TruncatedFrameError, "2019 header"),
        (wire_from_payload(_payload(0x0002, b"\x00\x01", attrs=0x2000)), jt808.TruncatedFrameError, "packet"),
        (wire_from_payload(_payload(0x0002, b"12345", length=10)), jt808.BodyLengthMismatchError, "declares 10"),
        (wire_from_payload(_payload(0x0002, b"12345", length=3)), jt808.BodyLengthMismatchError, "carries 5"),
        (b"\x7e" + bytes(3000) + b"\x7e", jt808.FrameTooLargeError, "limit"),
    ],
)
def test_broken_frames_raise_clear_errors(wire, error, words):
    with pytest.raises(error, match=words):
        jt808.decode_frame(wire)


def _location_body(time_bcd=b"\x24\x01\x10\x17\x26\x05", extra=b""):
    return bytes(8) + (22_000_000).to_bytes(4, "big") + (114_000_000).to_bytes(4, "big") + bytes(6) + time_bcd + extra


@pytest.mark.parametrize(
    "msg_id,body,error,words",
    [
        (0x0200, _location_body(b"\x24\x13\x10\x17\x26\x05"), jt808.InvalidBCDTimeError, "not a calendar"),
        (0x0200, _location_body(b"\x24\x01\x1a\x17\x26\x05"), jt808.InvalidBCDTimeError, "non-decimal"),
        (0x0200, _location_body(b"\x00" * 6), jt808.InvalidBCDTimeError, "000000000000"),
        (0x0200, _location_body()[:27], jt808.MalformedBodyError, "needs 28"),
        (0x0200, _location_body(extra=b"\x01"), jt808.MalformedBodyError, "cut short"),
        (0x0200, _location_body(extra=b"\x01\x04\x00\x00"), jt808.MalformedBodyError, "declares 4 bytes"),
        (0x0704, b"\x00\x02\x00\x00\x04abcd", jt808.MalformedBodyError, "item 0"),
        (0x0704, b"\x00\x02\x00" + b"\x00\x26" + _location_body(), jt808.MalformedBodyError, "declares 38"),
        (0x0704, b"\x00\x02\x01" + (b"\x00\x1c" + _location_body()) * 1, jt808.MalformedBodyError, "ends after 1"),
        (0x0704, b"\x00\x01\x01" + b"\x00\x1c" + _location_body() + b"\x00", jt808.MalformedBodyError, "left over"),
        (0x0704, b"\x00", jt808.MalformedBodyError, "at least 3"),
        (0x0002, b"\x00", jt808.MalformedBodyError, "must be 0"),
        (0x8001, b"\x00\x01\x02\x00", jt808.MalformedBodyError, "must be 5"),
        (0x0001, b"\x00\x01\x02\x00\x00\x00", jt808.MalformedBodyError, "must be 5"),
        (0x0100, bytes(36), jt808.MalformedBodyError, "at least 37"),
        (0x0100, bytes(4) + b"\xff" * 33, jt808.MalformedBodyError, "not GBK"),
        (0x8100, b"\x00\x01", jt808.MalformedBodyError, "at least 3"),
        (0x1234, b"", jt808.UnsupportedMessageError, "0x1234"),
    ],
)
def test_broken_bodies_raise_clear_errors(msg_id, body, error, words):
    with pytest.raises(error, match=words):
        jt808.decode_body(msg_id, body)
    if msg_id in jt808.MsgId.__members__.values() and msg_id != 0x1234:
        with pytest.raises(error, match=words):  # same error through the frame path, checksum correct
            jt808.decode_frame(wire_from_payload(_payload(msg_id, body)))


def test_2019_authenticate_needs_its_imei():
    with pytest.raises(jt808.MalformedBodyError, match="Authenticate"):
        jt808.decode_body(0x0102, b"\x03abc" + b"8" * 14, v2019=True)
    with pytest.raises(jt808.MalformedBodyError, match="at least 1"):
        jt808.decode_body(0x0102, b"", v2019=True)


def test_unknown_ids_subpackages_and_encrypted_bodies_stay_raw():
    frames = [
        (jt808.Header(0x0900, "13800138000", 1), b"\x41OBD"),
        (jt808.Header(0x0200, "13800138000", 2, packet_total=3, packet_index=1), b"\x00\x01 fragment"),
        (jt808.Header(0x0200, "13800138000", 3, version=1, encryption=1), b"rsa-ciphertext"),
    ]
    for header, data in frames:
        msg = jt808.decode_frame(jt808.encode_frame(header, data))
        assert msg == jt808.Message(header, jt808.RawBody(data))


@pytest.mark.parametrize(
    "header,body,words",
    [
        (jt808.Header(0x0002, "1" * 13), jt808.Heartbeat(), "more than 12 digits"),
        (jt808.Header(0x0002, "1" * 21, version=1), jt808.Heartbeat(), "more than 20 digits"),
        (jt808.Header(0x0002, ""), jt808.Heartbeat(), "digits"),
        (jt808.Header(0x0002, "+8613800138000"), jt808.Heartbeat(), "digits"),
        (jt808.Header(0x0002, str(1 << 48), phone_binary=True), jt808.Heartbeat(), "does not fit"),
        (jt808.Header(0x0002, "1", serial=70000), jt808.Heartbeat(), "serial"),
        (jt808.Header(0x0002, "1", version=256), jt808.Heartbeat(), "version"),
        (jt808.Header(0x0002, "1", encryption=8), jt808.Heartbeat(), "encryption"),
        (jt808.Header(0x0002, "1", packet_total=2), jt808.Heartbeat(), "together"),
        (jt808.Header(0x0001, "1"), jt808.PlatformResponse(1, 2), "does not match"),
        (jt808.Header(0x0900, "1"), bytes(1024), "at most 1023"),
        (jt808.Header(0x0100, "1"), jt808.Register(0, 0, "maker6", "m", "t", 1, "p"), "holds 5"),
        (jt808.Header(0x0100, "1"), jt808.Register(0, 0, "m", "m", "t", 1, "\x00"), "NUL"),
        (jt808.Header(0x0100, "1"), jt808.Register(0, 0, "m", "m", "t", 1, "\U0001f692"), "GBK"),
        (jt808.Header(0x8100, "1"), jt808.RegisterResponse(1, 2, "code"), "only when the result is success"),
        (jt808.Header(0x0102, "1"), jt808.Authenticate("code", imei="1" * 15), "only in the 2019"),
        (jt808.Header(0x0102, "1", version=1), jt808.Authenticate("c" * 256), "one byte"),
        (jt808.Header(0x0102, "1", version=1), jt808.Authenticate("c", "1" * 16), "holds 15"),
    ],
)
def test_unencodable_values_raise_encode_errors(header, body, words):
    with pytest.raises(jt808.EncodeError, match=words):
        jt808.encode_frame(header, body)


def _loc(**changes):
    fields = dict(
        alarm=Alarm(0),
        status=Status.FIXED,
        latitude=22.5,
        longitude=114.0,
        altitude=10,
        speed_kmh=50.0,
        direction=90,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return jt808.Location(**{**fields, **changes})


@pytest.mark.parametrize(
    "location,words",
    [
        (_loc(time=datetime(2026, 1, 1)), "aware"),
        (_loc(time=datetime(2099, 12, 31, 16, 0, tzinfo=UTC)), "2000-2099"),
        (_loc(time=datetime(1999, 12, 31, 15, 59, 59, tzinfo=UTC)), "2000-2099"),
        (_loc(latitude=float("nan")), "finite"),
        (_loc(longitude=4295.0), "out of range"),
        (_loc(speed_kmh=-1.0), "out of range"),
        (_loc(altitude=40000), "altitude"),
        (_loc(direction=-1), "direction"),
        (_loc(satellites=256), "satellites"),
        (_loc(extras=((0x99, b"x" * 256),)), "at most 255"),
        (_loc(extras=((0x99,),)), "pair"),
        (_loc(extras=((300, b""),)), "item id"),
    ],
)
def test_unencodable_locations(location, words):
    with pytest.raises(jt808.EncodeError, match=words):
        jt808.encode_frame(jt808.Header(0x0200, "1"), location)


def test_time_is_converted_from_any_zone_and_back_to_gmt8_on_the_wire():
    moment = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))  # 2026-03-01 13:30 in GMT+8
    wire = jt808.encode_frame(jt808.Header(0x0200, "1"), _loc(time=moment))
    assert bytes.fromhex("260301133000") in payload_of(wire)
    assert jt808.decode_frame(wire).body.time == moment


def test_load_state_and_cleared_by_ack_flags():
    assert _loc(status=Status.LOAD_BIT0 | Status.LOAD_BIT1).load == jt808.LoadState.FULL
    assert _loc(status=Status.LOAD_BIT0).load == jt808.LoadState.HALF
    assert _loc().load == jt808.LoadState.EMPTY
    assert Alarm.OVERSPEED not in jt808.ALARMS_CLEARED_BY_ACK


# --------------------------------------------------------------------------- round trips (hypothesis)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
STANDARD_ITEMS = {0x01: 4, 0x02: 2, 0x03: 2, 0x30: 1, 0x31: 1}


def _fit(text: str, size: int) -> str:
    while len(text.encode("gbk")) > size:
        text = text[:-1]
    return text


def gbk_text(size: int) -> st.SearchStrategy[str]:
    """GBK text of at most ``size`` bytes, without NUL (the padding byte); '~' and '}' are 0x7e and 0x7d."""
    chars = st.one_of(st.sampled_from("~}"), st.characters(codec="gbk", exclude_characters="\x00"))
    return (
        st.text(chars, max_size=size).map(lambda s: _fit(s, size)).filter(lambda s: s.encode("gbk").decode("gbk") == s)
    )


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)).map(
    lambda d: d.replace(microsecond=0, tzinfo=GMT8).astimezone(UTC)
)
extra_items = st.one_of(
    st.tuples(u8.filter(lambda i: i not in STANDARD_ITEMS), st.binary(max_size=24)),
    st.sampled_from(sorted(STANDARD_ITEMS)).flatmap(
        lambda i: st.tuples(st.just(i), st.binary(max_size=24).filter(lambda b: len(b) != STANDARD_ITEMS[i]))
    ),
)


def tenths(hi: int) -> st.SearchStrategy[float]:
    return st.integers(0, hi).map(lambda raw: raw / 10)


@st.composite
def locations(draw, max_extras: int = 4) -> jt808.Location:
    status = draw(u32)
    latitude = draw(u32) / 1e6  # any wire value, not only the plausible ±90 / ±180
    longitude = draw(u32) / 1e6
    return jt808.Location(
        alarm=Alarm(draw(u32)),
        status=Status(status),
        latitude=-latitude if status & 4 else latitude,  # -0.0 when the SOUTH bit goes with a zero
        longitude=-longitude if status & 8 else longitude,
        altitude=draw(st.integers(-0x8000, 0x7FFF)),
        speed_kmh=draw(tenths(0xFFFF)),
        direction=draw(u16),
        time=draw(times),
        mileage_km=draw(st.none() | tenths(0xFFFFFFFF)),
        fuel_l=draw(st.none() | tenths(0xFFFF)),
        recorder_speed_kmh=draw(st.none() | tenths(0xFFFF)),
        signal=draw(st.none() | u8),
        satellites=draw(st.none() | u8),
        extras=tuple(draw(st.lists(extra_items, max_size=max_extras))),
    )


def bodies(name: str, v2019: bool, max_batch: int = 12) -> st.SearchStrategy:
    widths = (11, 30, 30) if v2019 else (5, 20, 7)
    return {
        "TerminalResponse": st.builds(jt808.TerminalResponse, u16, u16, u8),
        "PlatformResponse": st.builds(jt808.PlatformResponse, u16, u16, u8),
        "Heartbeat": st.builds(jt808.Heartbeat),
        "Logout": st.builds(jt808.Logout),
        "Register": st.builds(
            jt808.Register, u16, u16, gbk_text(widths[0]), gbk_text(widths[1]), gbk_text(widths[2]), u8, gbk_text(40)
        ),
        "RegisterResponse": st.one_of(
            st.builds(jt808.RegisterResponse, u16, st.just(0), gbk_text(60)),
            st.builds(jt808.RegisterResponse, u16, st.integers(1, 0xFF), st.just("")),
        ),
        "Authenticate": (
            st.builds(jt808.Authenticate, gbk_text(80), gbk_text(15), gbk_text(20))
            if v2019
            else st.builds(jt808.Authenticate, gbk_text(80))
        ),
        "Location": locations(),
        # 12 items of at most 76 bytes each stay under the 1023-byte body limit
        "LocationBatch": st.builds(
            jt808.LocationBatch, u8, st.lists(locations(max_extras=1), max_size=max_batch).map(tuple)
        ),
    }[name]


BODY_TYPES = [
    "TerminalResponse",
    "PlatformResponse",
    "Heartbeat",
    "Logout",
    "Register",
    "RegisterResponse",
    "Authenticate",
    "Location",
    "LocationBatch",
]


@st.composite
def terminal_ids(draw, width: int) -> tuple[str, bool]:
    if draw(st.integers(0, 4)):  # mostly real BCD numbers
        return str(draw(st.integers(0, 10 ** (2 * width) - 1))), False
    value = draw(st.integers(0, 256**width - 1).filter(lambda v: not v.to_bytes(width, "big").hex().isdigit()))
    return str(value), True


@st.composite
def messages(
    draw, name: str | None = None, form: str | None = None, max_batch: int = 12
) -> tuple[jt808.Header, jt808.Body]:
    form = form or draw(st.sampled_from(["2013", "2019"]))
    v2019 = form == "2019"
    body = draw(bodies(name or draw(st.sampled_from(BODY_TYPES)), v2019, max_batch))
    phone, binary = draw(terminal_ids(10 if v2019 else 6))
    header = jt808.Header(body.MSG_ID, phone, draw(u16), draw(u8) if v2019 else None, phone_binary=binary)
    return header, body


@pytest.mark.parametrize("form", ["2013", "2019"])
@pytest.mark.parametrize("name", BODY_TYPES)
@settings(max_examples=ROUNDTRIP_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_every_message_type_in_both_header_forms(name, form, data):
    header, body = data.draw(messages(name, form, max_batch=6))
    wire = jt808.encode_frame(header, body)
    assert wire[0] == wire[-1] == 0x7E and 0x7E not in wire[1:-1]
    payload = payload_of(wire)  # independent un-escaping and checksum
    assert ref_xor(payload) == 0
    assert bool(payload[2] & 0x40) == (form == "2019")
    msg = jt808.decode_frame(wire)
    assert msg.header == header
    assert msg.body == body
    assert msg.header.body_length == len(payload) - (17 if form == "2019" else 12) - 1
    assert jt808.encode_frame(msg.header, msg.body) == wire


@settings(max_examples=ROUNDTRIP_EXAMPLES, deadline=None, database=None)
@given(
    header=st.builds(
        jt808.Header,
        msg_id=u16,
        phone=st.integers(0, 10**12 - 1).map(str),
        serial=u16,
        version=st.none() | u8,
        encryption=st.integers(0, 7),
        packet_total=u16,
        packet_index=u16,
    ),
    data=st.binary(max_size=1023),
)
def test_round_trip_raw_bodies_with_subpackage_items(header, data):
    msg = jt808.decode_frame(jt808.encode_frame(header, data))
    assert msg == jt808.Message(header, jt808.RawBody(data))
    assert msg.header.subpackaged


def test_round_trip_with_flag_and_escape_bytes_everywhere():
    """Serial, coordinates, items and text made of 0x7e / 0x7d: the wire must still be one clean frame."""
    header = jt808.Header(0x0200, "7", 0x7E7D, version=0x7E)
    body = _loc(
        alarm=Alarm(0x7E7D7E7D),
        status=Status(0x7D7E7D72),
        latitude=0x7E7D7E7D / 1e6,
        longitude=0x7D7E7D7E / 1e6,
        altitude=0x7E7D,
        direction=0x7D7E,
        mileage_km=0x7E7E7E7E / 10,
        extras=((0x7E, b"\x7e\x7d\x7e"), (0x7D, b"\x7d")),
    )
    wire = jt808.encode_frame(header, body)
    assert wire.count(b"\x7e") == 2
    assert jt808.decode_frame(wire) == jt808.Message(header, body)
    register = jt808.Register(0x7E7D, 0x7D7E, "~}~}~", "}" * 20, "~" * 7, 0x7E, "~}")
    wire = jt808.encode_frame(jt808.Header(0x0100, "1"), register)
    assert wire.count(b"\x7e") == 2 and jt808.decode_frame(wire).body == register


def test_the_largest_legal_frame_passes_splitter_and_decoder():
    header = jt808.Header(0x0900, "9" * 20, 0x7E7E, version=0x7E, packet_total=0x7E7E, packet_index=0x7E7E)
    wire = jt808.encode_frame(header, b"\x7e" * jt808.MAX_BODY_LENGTH)
    assert len(wire) <= jt808.DEFAULT_MAX_FRAME_SIZE
    assert jt808.FrameSplitter().feed(wire) == [wire]
    assert jt808.decode_frame(wire).body == jt808.RawBody(b"\x7e" * jt808.MAX_BODY_LENGTH)


# ----------------------------------------------------------------------------------------- escaping

# Byte map that turns a quarter of random bytes into 0x7e / 0x7d / 0x01 / 0x02, the interesting ones.
DENSE = bytes([0x7E, 0x7D, 0x01, 0x02] * 16 + list(range(64, 256)))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=300).map(lambda b: b.translate(DENSE)))
def test_escape_matches_the_reference_and_round_trips(data):
    escaped = jt808.escape(data)
    assert escaped == ref_escape(data)
    assert 0x7E not in escaped
    assert jt808.unescape(escaped) == data


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=60).map(lambda b: bytes(b"\x7d\x01\x02\x03\x7ea"[x % 6] for x in b)))
def test_unescape_accepts_exactly_the_valid_sequences(data):
    try:
        expected = ref_unescape(data)
    except ValueError:
        with pytest.raises(jt808.BadEscapeError):
            jt808.unescape(data)
    else:
        assert jt808.unescape(data) == expected


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=3000))
def test_checksum_matches_the_reference_for_any_length(data):
    assert jt808.checksum(data) == ref_xor(data)


# -------------------------------------------------------------------------------------------- fuzzing


def decode_or_refuse(wire: bytes) -> jt808.Message | None:
    """The codec may only decode (with a really correct checksum) or raise its own error with a message."""
    try:
        msg = jt808.decode_frame(wire)
    except jt808.JT808Error as exc:
        assert str(exc)
        return None
    inner = wire[1:-1] if wire[:1] == b"\x7e" else wire
    payload = ref_unescape(inner)
    assert ref_xor(payload) == 0, "a frame with a wrong checksum was accepted"
    return msg


@st.composite
def mutated(draw, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]))
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif not data:
            continue
        elif op == "flip":
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            at = draw(st.integers(0, len(data) - 1))
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[draw(st.integers(0, len(data) - 1))] = draw(u8)
    return bytes(data)


# Bases for mutation: the real frames, and generated frames of every type (small batches keep generation cheap).
valid_frames = st.one_of(st.sampled_from(MESSAGE_VECTORS), messages(max_batch=2).map(lambda m: jt808.encode_frame(*m)))
# Any well-formed frame with escapable bytes, cheap to generate: for the splitter, which never looks inside.
raw_frames = st.builds(
    lambda msg_id, serial, data: jt808.encode_frame(jt808.Header(msg_id, "13800138000", serial), data),
    u16,
    u16,
    st.binary(max_size=64).map(lambda b: b.translate(DENSE)),
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
@example(b"\x7e" * 5)
@example(b"\x7d")
def test_fuzz_random_bytes(data):
    decode_or_refuse(data)
    decode_or_refuse(b"\x7e" + data + b"\x7e")
    decode_or_refuse(b"\x7e" + ref_escape(data) + b"\x7e")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=valid_frames)
def test_fuzz_mutated_wire_frames(data, base):
    """Bit flips, truncation, insertion, deletion on the wire: decoded only if the checksum really holds."""
    decode_or_refuse(data.draw(mutated(base)))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=valid_frames)
def test_fuzz_mutated_payloads_with_a_recomputed_checksum(data, base):
    """Corrupt header/body but fix the checksum, so the header and body parsers get the damaged bytes."""
    payload = payload_of(base)[:-1]
    decode_or_refuse(wire_from_payload(data.draw(mutated(payload))))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None)
@given(
    msg_id=st.sampled_from(sorted(jt808.MsgId)),
    attrs=st.sampled_from([0, 0, 0, 0x4000, 0x2000, 0x0400]),
    body=st.binary(max_size=300),
    delta=st.sampled_from([0, 0, 0, 0, -1, 1, 7]),
)
def test_fuzz_random_bodies_behind_a_valid_header_and_checksum(msg_id, attrs, body, delta):
    rest = bytes(13) if attrs & 0x4000 else bytes(8)  # [version], phone, serial
    length = max(0, len(body) - (4 if attrs & 0x2000 else 0) + delta) & 0x3FF  # packet item comes out of body
    payload = msg_id.to_bytes(2, "big") + (length | attrs).to_bytes(2, "big") + rest + body
    decode_or_refuse(wire_from_payload(payload))
    for v2019 in (False, True):
        try:
            jt808.decode_body(msg_id, body, v2019=v2019)
        except jt808.JT808Error as exc:
            assert str(exc)


@pytest.mark.parametrize("wire", MESSAGE_VECTORS, ids=[*[t for t in VECTORS if t != "X1"], *EXTRA_VECTORS])
def test_no_wrong_checksum_value_is_accepted_on_a_real_frame(wire):
    payload = payload_of(wire)
    for wrong in set(range(256)) - {payload[-1]}:
        with pytest.raises(jt808.BadChecksumError):
            jt808.decode_frame(wire_from_payload(payload[:-1], check=wrong))


@settings(max_examples=FUZZ_EXAMPLES // 4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages(max_batch=3), wrong=u8)
def test_a_wrong_checksum_byte_is_never_accepted(message, wrong):
    payload = payload_of(jt808.encode_frame(*message))
    if wrong == payload[-1]:
        wrong ^= 0xFF
    with pytest.raises(jt808.BadChecksumError):
        jt808.decode_frame(wire_from_payload(payload[:-1], check=wrong))


@pytest.mark.parametrize("wire", MESSAGE_VECTORS, ids=[*[t for t in VECTORS if t != "X1"], *EXTRA_VECTORS])
def test_every_single_bit_error_in_a_real_frame_is_caught_by_the_checksum(wire):
    payload = payload_of(wire)
    for i in range(len(payload)):
        for bit in range(8):
            corrupted = bytearray(payload)
            corrupted[i] ^= 1 << bit
            with pytest.raises(jt808.BadChecksumError):
                jt808.decode_frame(wire_from_payload(bytes(corrupted[:-1]), check=corrupted[-1]))


# ----------------------------------------------------------------------------------------- splitting

GARBAGE = [b"", b"\x24\x24", b"\r\n", b"(794104004140,1,001,BASE,2,TIME)", b"\x00\xff\x7d"]


def _stream() -> tuple[bytes, list[bytes]]:
    frames = [*MESSAGE_VECTORS[:6], VECTORS["X1"], *MESSAGE_VECTORS[6:9]]
    stream = b"".join(GARBAGE[i % len(GARBAGE)] + frame for i, frame in enumerate(frames))
    return stream + b"\x24", frames


def test_splitter_at_every_byte_boundary():
    stream, frames = _stream()
    for cut in range(len(stream) + 1):
        splitter = jt808.FrameSplitter()
        assert splitter.feed(stream[:cut]) + splitter.feed(stream[cut:]) == frames, f"cut at {cut}"


def test_splitter_byte_by_byte_and_all_at_once():
    stream, frames = _stream()
    splitter = jt808.FrameSplitter()
    assert [f for i in range(len(stream)) for f in splitter.feed(stream[i : i + 1])] == frames
    whole = jt808.FrameSplitter()
    assert whole.feed(stream) == frames
    assert splitter.discarded_bytes == whole.discarded_bytes == sum(len(g) for g in GARBAGE) * 2 + 1
    assert splitter.pending == 0 and splitter.oversized_frames == 0


def test_splitter_glued_frames_and_partial_tail():
    a, b = VECTORS["T1"], VECTORS["S1"]
    splitter = jt808.FrameSplitter()
    assert splitter.feed(a + b + a[:5]) == [a, b]
    assert splitter.pending == 4
    assert splitter.feed(a[5:]) == [a]
    assert splitter.feed(b"\x7e\x7e\x7e" + b[1:]) == [b]  # repeated flags are not frames


@settings(max_examples=FUZZ_EXAMPLES // 4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(
        st.sampled_from(MESSAGE_VECTORS) | raw_frames,
        min_size=1,
        max_size=6,
    ),
    garbage=st.lists(st.binary(max_size=12).map(lambda g: g.replace(b"\x7e", b"")), min_size=7, max_size=7),
    data=st.data(),
)
def test_splitter_random_chunking_yields_the_frames_in_order(frames, garbage, data):
    stream = b"".join(g + f for g, f in zip(garbage, frames, strict=False)) + garbage[-1]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    splitter = jt808.FrameSplitter()
    out = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += splitter.feed(stream[start:end])
    assert out == frames


def test_splitter_drops_oversized_frames_and_recovers():
    good = VECTORS["S1"]
    splitter = jt808.FrameSplitter(max_frame_size=len(good))
    assert splitter.feed(good) == [good]  # exactly at the limit
    big = b"\x7e" + b"\x01" * 500 + b"\x7e"
    out = []
    for i in range(0, len(big), 7):  # arriving in small reads
        out += splitter.feed(big[i : i + 7])
    assert out == [] and splitter.oversized_frames == 1 and splitter.pending == 0
    assert splitter.feed(good[:-2] + b"\x00" + good[-2:] + good) == [good]  # one byte over, then a good one
    assert splitter.oversized_frames == 2
    with pytest.raises(ValueError):
        jt808.FrameSplitter(max_frame_size=2)


def test_splitter_discards_streams_without_flags():
    splitter = jt808.FrameSplitter()
    assert splitter.feed(b"GET / HTTP/1.1\r\n\r\n") == []
    assert splitter.discarded_bytes == 18 and splitter.pending == 0


def test_splitter_resynchronises_after_noise_containing_a_flag():
    f1, f2, f3 = VECTORS["T1"], VECTORS["S1"], VECTORS["S2"]
    splitter = jt808.FrameSplitter()
    out = splitter.feed(f1 + b"xx\x7eyy" + f2 + f3 + f1)
    assert out == [f1, b"\x7eyy\x7e", f3, f1]  # one bogus frame, f2 lost, then in step again
    with pytest.raises(jt808.TruncatedFrameError):
        jt808.decode_frame(out[1])
