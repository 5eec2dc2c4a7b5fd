"""JT/T 809 codec at byte level, without a database: the published frames D1-D6 and the smaller vectors decode to
their documented values and (where conformant) re-encode to the same bytes; every message round-trips in both
versions, encrypted and plain."""

import struct
from datetime import UTC, datetime

import pytest

from transport import jt809
from transport.jt809 import V2011, V2019

D1 = "5B000000480000008510010133EFB8010000000000270F0133EFB832303138303932303132372E302E302E31000000000000000000000000000000000000000000000003296A915D"  # noqa: E501
D2 = "5B000000480000008510010133EFB8010000010003E8B2D37D9CC4900C77DC78F8676527D8AE12243CFB64CC2FBA619AEFAD33ACCB3256F67BFF19DF33097841098665703FE36E5D"  # noqa: E501
D3 = "5B000000920000068294000133EFB8010000000000270FD4C1413132333435000000000000000000000000000294010000005C010002000000005A01AC3F40123FFAA1000000005A01AC4D5001736D616C6C636869000000000000000031323334353637383930310000000000000000003132333435364071712E636F6D000000000000000000000000000000000000007AEA5D"  # noqa: E501
D4 = "5b0000005a020000008512000133efb8010000010003e8b234fbf83d930e75d07dc1555516ea993c1412cb4afd2da8639aefad17acdf3e511377ce10df3309034109861e736de119cebffef3af0e8a6f9479a1ac36fc416960bd5d"  # noqa: E501
D5 = "5B000000930000000112000098968701000000000368710000000068DA5772B2E2CAD4B1A8BEAF000000000000000000000000000112020000005500000000231D0907E911362B06B35071021117160000000000006D7F007B00B00004000300000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000DE6E5D"  # noqa: E501
D6 = "5b0000008d000002da1200042c1d810000000100003b890000000068a7e5b111474ff8b4aefd2391879f8478be0e5f9087119a5ae396940d1cf33dd127391516ebfb619e887965e63bd52239a575aa998aae0c2fb14c070ed701f7adfc384589cd9c73d5d7e0e555013671e48c3888555ec61b88da6fb512bed061b6a037a9be6ba38aa6c5cd3ff712a6ccc15d"  # noqa: E501
GNSS_2011 = "00130707DC0F0F0F07EF4D80017018400032003300000096002D002D0000000300000101"
CLOSE_2019 = "5b00000023000000011007052df12c0000000100003b890000000068be43c6a3d0275d"
SMALLCHI_KEYS = jt809.Keys(30000000, 20000000, 20000000)
GUOJIAN_KEYS = jt809.Keys(56107078, 37382110, 50361430)


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=jt809.BEIJING).astimezone(UTC)


def roundtrip(raw: bytes, version: int, keys=None):
    frame = jt809.decode_frame(raw, version, keys)
    body = jt809.decode_body(frame.header.msg_id, frame.body, version)
    assert jt809.encode_body(body, version) == (frame.header.msg_id, frame.body)
    return frame, body


def test_crc_is_ccitt_false_and_the_cipher_matches_the_published_vector():
    assert jt809.crc16(b"123456789") == 0x29B1
    assert jt809.crypt(bytes(range(1, 8)), 256178, SMALLCHI_KEYS).hex() == "d34c7078a73a41"
    assert jt809.crypt(jt809.crypt(b"any body", 7, SMALLCHI_KEYS), 7, SMALLCHI_KEYS) == b"any body"


def test_escaping_covers_all_four_bytes_and_refuses_a_bad_pair():
    assert jt809.escape(b"\x5b\x5a\x5d\x5e") == b"\x5a\x01\x5a\x02\x5e\x01\x5e\x02"
    assert jt809.unescape(jt809.escape(bytes(range(256)))) == bytes(range(256))
    with pytest.raises(jt809.JT809Error, match="bad escape"):
        jt809.unescape(b"\x01\x5a\x03")


def test_d1_plain_login():
    raw = bytes.fromhex(D1)
    frame, body = roundtrip(raw, V2011)
    assert frame.header == jt809.Header(0x1001, 20180920, 133, (1, 0, 0), False, 9999)
    assert body == jt809.ConnectRequest(20180920, "20180920", "127.0.0.1", 809)
    assert jt809.encode_frame(frame.header, frame.body, V2011) == raw
    assert raw[-3:-1] == b"\x6a\x91"


def test_d2_encrypted_login():
    raw = bytes.fromhex(D2)
    frame, body = roundtrip(raw, V2011, SMALLCHI_KEYS)
    assert frame.header.encrypted and frame.header.key == 256178
    assert body == jt809.ConnectRequest(20180920, "20180920", "127.0.0.1", 809)
    assert jt809.encode_frame(frame.header, frame.body, V2011, SMALLCHI_KEYS) == raw
    with pytest.raises(jt809.JT809Error, match="no keys"):
        jt809.decode_frame(raw, V2011)


def test_d3_frame_with_escaped_bytes_and_its_plate_prefix():
    """0x9400/0x9401 (supervision) is not a message this platform handles: the frame and its prefix still read."""
    raw = bytes.fromhex(D3)
    frame = jt809.decode_frame(raw, V2011)
    assert len(raw) == 0x92 + 2 and frame.header.msg_id == 0x9400 and frame.header.sn == 0x682
    plate, colour, data_type, length = struct.unpack_from(">21sBHI", frame.body)
    assert length == len(frame.body) - 28
    assert plate.rstrip(b"\0").decode("gbk") == "粤A12345" and colour == 2 and data_type == 0x9401
    assert struct.unpack_from(">BHQI", frame.body, 28) == (1, 0x0002, 0x5BAC3F40, 0x123FFAA1)
    assert jt809.decode_body(0x9400, frame.body, V2011) == jt809.Unsupported(0x9400)
    assert jt809.encode_frame(frame.header, frame.body, V2011) == raw
    assert raw[-3:-1] == b"\x7a\xea"


def test_d4_encrypted_real_location_with_a_utf8_plate():
    raw = bytes.fromhex(D4)
    frame, body = roundtrip(raw, V2011, SMALLCHI_KEYS)
    assert isinstance(body, jt809.RealLocation) and body.colour == 2
    assert body.plate.encode("gb18030") == "测A12345".encode()  # non-conformant UTF-8 bytes survive unchanged
    g = body.gnss
    assert g.time == beijing(2021, 12, 20, 12, 49, 9)
    assert (g.longitude, g.latitude) == (123e-6, 123e-6)
    assert (g.speed_kmh, g.recorder_speed_kmh, g.mileage_km, g.direction, g.altitude) == (123,) * 5
    assert (g.state, g.alarm) == (3, 0)
    assert jt809.encode_frame(frame.header, frame.body, V2011, SMALLCHI_KEYS) == raw


def test_d5_2019_location_carrying_a_2011_style_block():
    raw = bytes.fromhex(D5)
    frame, body = roundtrip(raw, V2019)
    assert frame.header.access_code == 10000007 and frame.header.key == 223345
    assert frame.header.time == int(datetime(2025, 9, 29, 9, 54, 58, tzinfo=UTC).timestamp())
    assert body.plate == "测试报警" and body.colour == 1
    g = body.gnss
    assert g.time == beijing(2025, 9, 29, 17, 54, 43)
    assert (g.longitude, g.latitude, g.mileage_km, g.direction, g.altitude) == (112.414833, 34.674454, 28031, 123, 176)
    assert (g.state, g.alarm) == (0x00040003, 1)
    assert g.platforms == ()  # all three unfilled (zeros)
    assert jt809.encode_frame(frame.header, frame.body, V2019) == raw


def test_d6_real_2019_capture_sent_without_escaping():
    raw = bytes.fromhex(D6)
    frame, body = roundtrip(raw, V2019, GUOJIAN_KEYS)
    assert frame.header.sn == 730 and frame.header.access_code == 70000001 and frame.header.version_flag == (0, 0, 0)
    assert frame.header.key == 15241 and frame.header.time == int(
        datetime(2025, 8, 22, 3, 36, 17, tzinfo=UTC).timestamp()
    )
    assert body.plate == "测B01844" and body.colour == 2
    g = body.gnss
    assert (g.alarm, g.state, g.latitude, g.longitude, g.altitude) == (0x40000, 0x481003, 32.353134, 121.357231, 100)
    assert g.speed_kmh == pytest.approx(22.4) and g.time == beijing(2025, 8, 22, 11, 35, 45)
    assert len(g.raw) == 29 and g.raw[-1] == 0xFF
    assert g.platforms[0] == (b"0" + b"\0" * 10, 0x40000) and g.platforms[1] == (b"\x01" * 11, 0)
    # the capture leaves a 0x5A and a 0x5D unescaped; we send the same frame escaped
    assert (
        jt809.encode_frame(frame.header, frame.body, V2019, GUOJIAN_KEYS) == b"\x5b" + jt809.escape(raw[1:-1]) + b"\x5d"
    )


def test_small_vectors():
    g, used = jt809.decode_gnss(bytes.fromhex(GNSS_2011), V2011)
    assert used == 36 and g.time == beijing(2012, 7, 19, 15, 15, 15)
    assert (g.longitude, g.latitude, g.speed_kmh, g.recorder_speed_kmh, g.mileage_km) == (
        133.123456,
        24.123456,
        50,
        51,
        150,
    )
    assert (g.direction, g.altitude, g.state, g.alarm) == (45, 45, 3, 257)
    assert jt809.encode_gnss(g, V2011) == bytes.fromhex(GNSS_2011)
    frame, body = roundtrip(bytes.fromhex(CLOSE_2019), V2019, GUOJIAN_KEYS)
    assert frame.body == b"\x00" and body == jt809.DisconnectInform(0)  # main link broken
    assert jt809.encode_frame(frame.header, frame.body, V2019, GUOJIAN_KEYS) == bytes.fromhex(CLOSE_2019)


def test_a_damaged_frame_is_refused_with_the_reason():
    raw = bytearray(bytes.fromhex(D1))
    raw[30] ^= 1
    with pytest.raises(jt809.BadCrcError):
        jt809.decode_frame(bytes(raw), V2011)
    with pytest.raises(jt809.FrameTooLargeError):
        jt809.decode_frame(b"\x5b" + b"\x00" * 9000 + b"\x5d", V2011)
    with pytest.raises(jt809.JT809Error, match="DATA_LENGTH"):
        jt809.decode_body(0x1200, struct.pack(">21sBHI", b"A", 2, 0x1202, 99) + b"\0" * 36, V2011)


def test_splitter_cuts_a_stream_and_drops_an_oversized_frame():
    splitter = jt809.FrameSplitter(max_size=200)
    d1, d3 = bytes.fromhex(D1), bytes.fromhex(D3)
    stream = b"noise" + d1 + b"\x5b" + b"\x01" * 500 + b"\x5d" + d3
    frames = [f for i in range(0, len(stream), 7) for f in splitter.feed(stream[i : i + 7])]
    assert frames == [d1, d3] and splitter.oversized == 1


NOW = beijing(2025, 3, 1, 8, 30, 15)
G = jt809.Gnss(NOW, 114.057868, 22.543099, 63, 61, 123456, 270, 35, 3, 0)
MESSAGES = [
    jt809.ConnectRequest(44030001, "pc809dm!", "10.1.2.3", 7809),
    jt809.ConnectResponse(jt809.ConnectResult.OK, 0xDEADBEEF),
    jt809.ConnectResponse(jt809.ConnectResult.OTHER, 0),
    jt809.DisconnectRequest(44030001, "pc809dm!"),
    jt809.DisconnectResponse(),
    jt809.LinkTest(),
    jt809.LinkTestResponse(),
    jt809.DisconnectInform(0),
    jt809.CloseLinkInform(1),
    jt809.DownConnectRequest(0x12345678),
    jt809.DownConnectResponse(jt809.DownConnectResult.BAD_VERIFY_CODE),
    jt809.DownDisconnectRequest(0x12345678),
    jt809.DownDisconnectResponse(),
    jt809.DownLinkTest(),
    jt809.DownLinkTestResponse(),
    jt809.DownDisconnectInform(0),
    jt809.DownCloseLinkInform(0),
    jt809.VehicleRegistration("粤BK1001", 2, "44030000001", "70111", "BSJ-A6", "A6B1234", "13800138000"),
    jt809.RealLocation("粤BW2001", 2, G),
    jt809.HistoryLocation("粤BW2001", 2, (G, jt809.Gnss(NOW, 114.06, 22.55, 0, 0, 123457, 0, 36, 3, 1))),
    jt809.WarnReport("粤BW2001", 2, 0x0001, 1740789015, "超速 92 km/h"),
    jt809.StaticInfo("粤BK1001", 2, "VIN:=LZYTATE69G1012345;VEHICLE_TYPE:=大型普通客车;"),
    jt809.StaticInfoRequest("粤BK1001", 2),
]


@pytest.mark.parametrize("version", [V2011, V2019])
@pytest.mark.parametrize("keys", [None, SMALLCHI_KEYS], ids=["plain", "encrypted"])
@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message, version, keys):
    raw = jt809.encode_message(message, version, 44030001, 7, encrypted=keys is not None, key=99, keys=keys)
    frame = jt809.decode_frame(raw, version, keys)
    assert frame.header.msg_id == message.MSG_ID and frame.header.sn == 7 and frame.header.access_code == 44030001
    assert (frame.header.time is not None) == (version == V2019)
    decoded = jt809.decode_body(frame.header.msg_id, frame.body, version)
    assert decoded == message
    assert jt809.encode_body(decoded, version) == jt809.encode_body(message, version)


def test_with_the_peers_keys_each_frame_is_encrypted_under_a_fresh_key():
    """What both ends of the link send: keys given, no key chosen."""
    message = jt809.DownConnectRequest(0x12345678)
    raws = [jt809.encode_message(message, V2011, 44030001, sn, SMALLCHI_KEYS) for sn in (1, 2)]
    frames = [jt809.decode_frame(raw, V2011, SMALLCHI_KEYS) for raw in raws]
    assert all(f.header.encrypted for f in frames) and frames[0].header.key != frames[1].header.key
    assert [jt809.decode_body(f.header.msg_id, f.body, V2011) for f in frames] == [message, message]
    assert not any(b"\x12\x34\x56\x78" in raw for raw in raws)


def test_2019_register_ack_matches_a_real_capture():
    data = bytes.fromhex("9201000000070400000004000" + "1")
    assert jt809.decode_body(0x9200, data, V2019) == jt809.RegisterAck(0x0400, 1024, 1)
    assert jt809.encode_body(jt809.RegisterAck(0x0400, 1024, 1), V2019) == (0x9200, data)


def test_registration_widths_differ_by_version():
    reg = MESSAGES[17]
    assert len(jt809.encode_body(reg, V2011)[1]) == 28 + 61
    assert len(jt809.encode_body(reg, V2019)[1]) == 28 + 110
    assert jt809.StaticInfo("A", 2, "VIN:=X;TRANS_TYPE:=030;").fields() == {"VIN": "X", "TRANS_TYPE": "030"}
