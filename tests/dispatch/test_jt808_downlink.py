"""JT/T 808 downlink codec: every platform→terminal command CityOps sends and the terminals' answers, byte for byte.

The frames are the published test frames listed in ``../shared/reference/jt809-and-808-downlink.md`` §A.8 (values
asserted upstream, checksums re-verified there); each is decoded to the stated facts and encoded back to the same
bytes. Round trips cover every body in both header forms. Pure codec: no database, no network.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dispatch import jt808
from dispatch.jt808 import Alarm, Header, MsgId, Status

GMT8 = timezone(timedelta(hours=8))

TEXT_2013 = "7E8300000D012345678900000105736D616C6C63686920353138027E"
TEXT_2019 = "7E8300400E010000000001234567890000010501736D616C6C63686920353138417E"
QUERY_ALL = "7E8104000001234567890000010D7E"
SET_PARAMS = "7E8103000A000123456789000A0100000001040000000A057E"
PARAMS_ANSWER = "7E0104000C000123456789000A00140100000001040000000A907E"
POSITION_ANSWER = (
    "7E0201002811223344556622B83039000000010000000200BA7F0E07E4F11C0028003C000018071510101001040000006402020037517E"
)
GENERAL_ANSWER = "7E0001000501234567890004B303E8000200D37E"


def both_ways(wire_hex: str, header: Header, body) -> None:
    """The frame decodes to (header, body) and (header, body) encodes to exactly the frame."""
    wire = bytes.fromhex(wire_hex)
    message = jt808.decode_frame(wire)
    assert message.header == header
    assert message.body == body
    assert jt808.encode_frame(header, body) == wire


def test_text_2013_urgent_and_displayed():
    both_ways(TEXT_2013, Header(MsgId.TEXT_MESSAGE, "12345678900", 1), jt808.TextMessage(0x05, "smallchi 518"))
    flag = jt808.decode_frame(bytes.fromhex(TEXT_2013)).body.flag
    assert flag == jt808.TextFlag.URGENT | jt808.TextFlag.DISPLAY


def test_text_2019_has_a_text_type_byte():
    header = Header(MsgId.TEXT_MESSAGE, "12345678900", 1, version=1)
    both_ways(TEXT_2019, header, jt808.TextMessage(0x05, "smallchi 518", jt808.TextType.NOTIFICATION))
    assert jt808.decode_frame(bytes.fromhex(TEXT_2019)).header.body_length == 14


def test_query_all_params_has_an_empty_body():
    both_ways(QUERY_ALL, Header(MsgId.QUERY_ALL_PARAMS, "12345678900", 1), jt808.QueryAllParams())


def test_set_params_heartbeat_ten_seconds():
    both_ways(SET_PARAMS, Header(MsgId.SET_PARAMS, "123456789", 10), jt808.SetParams(((0x0001, 10),)))


def test_params_answer_names_the_query_serial():
    both_ways(
        PARAMS_ANSWER, Header(MsgId.TERMINAL_PARAMS, "123456789", 10), jt808.TerminalParams(20, ((0x0001, 10),))
    )


def test_position_answer_carries_a_full_location():
    location = jt808.Location(
        alarm=Alarm.EMERGENCY,
        status=Status.FIXED,
        latitude=12.222222,
        longitude=132.444444,
        altitude=40,
        speed_kmh=6.0,
        direction=0,
        time=datetime(2018, 7, 15, 10, 10, 10, tzinfo=GMT8).astimezone(UTC),
        mileage_km=10.0,
        fuel_l=5.5,
    )
    both_ways(
        POSITION_ANSWER, Header(MsgId.POSITION_ANSWER, "112233445566", 8888), jt808.PositionAnswer(12345, location)
    )


def test_general_answer_of_the_terminal():
    both_ways(
        GENERAL_ANSWER,
        Header(MsgId.TERMINAL_RESPONSE, "12345678900", 1203),
        jt808.TerminalResponse(1000, 0x0002, jt808.GeneralResult.SUCCESS),
    )


@pytest.mark.parametrize(
    ("msg_id", "data", "body"),
    [
        (MsgId.TEMPORARY_TRACKING, "00450000007B", jt808.TemporaryTracking(69, 123)),
        (MsgId.CALL_BACK, "003132333435363739383130", jt808.CallBack(jt808.CallBackFlag.CALL, "12345679810")),
    ],
)
def test_tracking_and_call_back_bodies(msg_id, data, body):
    assert jt808.decode_body(msg_id, bytes.fromhex(data)) == body
    assert jt808.encode_body(body).hex().upper() == data


def test_query_params_and_control_answer_layouts():
    """Bytes from the standard's tables (no published frame): 0x8106 is count BYTE + id DWORD × n; 0x0500 is the
    control's serial WORD + a 0x0200 body (the round trips below could not tell a symmetric mistake)."""
    query = jt808.QueryParams((0x0001, 0x0029))
    assert jt808.encode_body(query).hex() == "02" + "00000001" + "00000029"
    assert jt808.decode_body(MsgId.QUERY_PARAMS, bytes.fromhex("020000000100000029")) == query
    location = _location()
    answer = jt808.encode_body(jt808.ControlAnswer(0x1234, location))
    assert answer == b"\x12\x34" + jt808.encode_body(location)
    assert jt808.decode_body(MsgId.CONTROL_ANSWER, answer) == jt808.ControlAnswer(0x1234, location)


def test_tracking_stop_is_the_interval_alone():
    assert jt808.encode_body(jt808.TemporaryTracking(0, 999)) == b"\x00\x00"
    assert jt808.decode_body(MsgId.TEMPORARY_TRACKING, b"\x00\x00") == jt808.TemporaryTracking(0)
    with pytest.raises(jt808.MalformedBodyError, match="must be 6"):
        jt808.decode_body(MsgId.TEMPORARY_TRACKING, b"\x00\x05\x00")


def test_vehicle_control_2013_flag_and_2019_items():
    assert jt808.encode_body(jt808.VehicleControl(1)) == b"\x01"
    body = bytes.fromhex("0002000100F00101")  # the 2019 sample: doors unlock, vendor item 0xF001 = 1
    control = jt808.decode_body(MsgId.VEHICLE_CONTROL, body, v2019=True)
    assert control == jt808.VehicleControl(items=((jt808.ControlType.DOORS, 0), (0xF001, 1)))
    assert jt808.encode_body(control, v2019=True) == body
    with pytest.raises(jt808.EncodeError, match="only in the 2019"):
        jt808.encode_body(jt808.VehicleControl(items=((1, 1),)))
    with pytest.raises(jt808.EncodeError, match="at least one"):
        jt808.encode_body(jt808.VehicleControl(1), v2019=True)


def _location() -> jt808.Location:
    return jt808.Location(
        Alarm(0), Status.FIXED | Status.DOORS_LOCKED, 31.2, 121.5, 5, 0.0, 90, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )


ROUND_TRIPS = [
    jt808.TextMessage(jt808.TextFlag.DISPLAY | jt808.TextFlag.TTS, "请到人民路集合 #1"),
    jt808.PositionQuery(),
    jt808.TemporaryTracking(5, 600),
    jt808.TemporaryTracking(0),
    jt808.SetParams(((0x0029, 30), (0x0013, "gps.example.cn:6808"), (0x005B, 50), (0x0084, 2), (0xF00A, b"\x01\x02"))),
    jt808.QueryAllParams(),
    jt808.QueryParams((0x0001, 0x0029, 0x0055)),
    jt808.TerminalParams(7, ((0x0001, 30), (0x0083, "沪A12345"), (0x0055, 0x7E7D))),
    jt808.CallBack(jt808.CallBackFlag.MONITOR, "110"),
    jt808.PositionAnswer(0x7E7D, _location()),
    jt808.ControlAnswer(3, _location()),
]


@pytest.mark.parametrize("body", ROUND_TRIPS, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize("version", [None, 1])
def test_round_trips_in_both_header_forms(body, version):
    header = Header(body.MSG_ID, "13800138000", 0x7E, version=version)
    message = jt808.decode_frame(jt808.encode_frame(header, body))
    assert message == jt808.Message(header, body)


def test_vehicle_control_round_trips_per_form():
    for version, body in ((None, jt808.VehicleControl(0)), (1, jt808.VehicleControl(items=((1, 1),)))):
        header = Header(MsgId.VEHICLE_CONTROL, "13800138000", 9, version=version)
        assert jt808.decode_frame(jt808.encode_frame(header, body)).body == body


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (jt808.TextMessage(0, "\U0001f600"), "cannot be encoded as GBK"),
        (jt808.TextMessage(256, "x"), "flag"),
        (jt808.SetParams(((0x0001, "ten"),)), "parameter 0x0001"),
        (jt808.SetParams(((0x0001, 1 << 32),)), "parameter 0x0001"),
        (jt808.SetParams(((0xF00A, 5),)), "no known type"),
        (jt808.CallBack(0, "1" * 21), "holds 20"),
        (jt808.TemporaryTracking(70000, 1), "interval"),
        (jt808.QueryParams(tuple(range(256))), "parameter count"),
    ],
)
def test_unencodable_commands_raise_clear_errors(body, words):
    with pytest.raises(jt808.EncodeError, match=words):
        jt808.encode_body(body)


@pytest.mark.parametrize(
    ("msg_id", "data", "words"),
    [
        (MsgId.TEXT_MESSAGE, "", "at least 1"),
        (MsgId.QUERY_PARAMS, "0200000001", "must be 9"),
        (MsgId.SET_PARAMS, "0200000001040000000A", "ends after 1"),
        (MsgId.SET_PARAMS, "0100000001050000000A", "declares 5 bytes"),
        (MsgId.TERMINAL_PARAMS, "0001000000000001040000000A", "left over"),
        (MsgId.POSITION_ANSWER, "0001" + "00" * 20, "needs at least 30"),
        (MsgId.CALL_BACK, "00FFFF", "not GBK"),
    ],
)
def test_broken_downlink_bodies_raise_clear_errors(msg_id, data, words):
    with pytest.raises(jt808.MalformedBodyError, match=words):
        jt808.decode_body(msg_id, bytes.fromhex(data))


def test_parameters_of_unexpected_width_stay_raw():
    body = jt808.decode_body(MsgId.TERMINAL_PARAMS, bytes.fromhex("0001010000000102000A"))
    assert body.params == ((0x0001, b"\x00\x0a"),)
