"""JT/T 808 codec (2013 and 2019 forms): framing, escaping, checksum, header and the bodies CityOps ingests.

One message on the wire::

    7e | header | body | checksum | 7e

* ``0x7e`` flags delimit a frame. Between the flags ``0x7e`` travels as ``7d 02`` and ``0x7d`` as ``7d 01``.
* ``checksum`` is the XOR of every header and body byte, computed before escaping.
* The header is big-endian: message id WORD, body attributes WORD (bits 0-9 body length, 10-12 encryption,
  13 subpackage, 14 = 2019 form), then in the 2019 form a protocol-version BYTE, the terminal phone number
  as BCD[6] (2013) or BCD[10] (2019), the serial WORD and, only when bit 13 is set, packet total WORD and
  packet index WORD.

Receiving: ``FrameSplitter.feed`` cuts the TCP byte stream into frames, ``decode_frame`` checks and parses
one frame into ``Message(header, body)``. Sending: ``encode_frame(header, body)``. Pure Python without I/O
or Django, so the asyncio ingest server and the fleet simulator share it and it tests in microseconds.
Every problem with the input raises a subclass of ``JT808Error``; nothing else escapes.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "MAX_BODY_LENGTH",
    "PARAM_TYPES",
    "Alarm",
    "Authenticate",
    "BadChecksumError",
    "BadEscapeError",
    "BatchType",
    "Body",
    "BodyLengthMismatchError",
    "CallBack",
    "CallBackFlag",
    "ControlAnswer",
    "ControlType",
    "EncodeError",
    "FrameError",
    "FrameSplitter",
    "FrameTooLargeError",
    "GeneralResult",
    "Header",
    "Heartbeat",
    "InvalidBCDTimeError",
    "JT808Error",
    "LoadState",
    "Location",
    "LocationBatch",
    "Logout",
    "MalformedBodyError",
    "Message",
    "MsgId",
    "ParamType",
    "PlatformResponse",
    "PositionAnswer",
    "PositionQuery",
    "QueryAllParams",
    "QueryParams",
    "RawBody",
    "Register",
    "RegisterResponse",
    "RegisterResult",
    "SetParams",
    "Status",
    "TemporaryTracking",
    "TerminalParams",
    "TerminalResponse",
    "TextFlag",
    "TextMessage",
    "TextType",
    "TruncatedFrameError",
    "UnsupportedMessageError",
    "VehicleControl",
    "checksum",
    "decode_body",
    "decode_frame",
    "encode_body",
    "encode_frame",
    "escape",
    "platform_response",
    "response_header",
    "unescape",
]

FLAG = 0x7E
ESCAPE = 0x7D
MAX_BODY_LENGTH = 0x3FF  # ten bits of body length in the attribute word
_HEADER_2013 = 12
_HEADER_2019 = 17
_PACKET_ITEM = 4
# Longest legal frame on the wire: every byte of the largest header + body + checksum escaped, plus two flags.
DEFAULT_MAX_FRAME_SIZE = 2 * (_HEADER_2019 + _PACKET_ITEM + MAX_BODY_LENGTH + 1) + 2

_ATTR_LENGTH = 0x03FF
_ATTR_ENCRYPTION_SHIFT = 10
_ATTR_SUBPACKAGE = 0x2000
_ATTR_VERSION = 0x4000

# Terminals stamp times in Beijing time (GMT+8) whatever their location; the platform stores UTC.
_TERMINAL_UTC_OFFSET = timedelta(hours=8)


# --------------------------------------------------------------------------------------------- errors


class JT808Error(ValueError):
    """Base of every error raised by this codec: the ingest server catches this one class per frame."""


class FrameError(JT808Error):
    """The frame itself is unusable (flags, escaping, checksum, header, length)."""


class TruncatedFrameError(FrameError):
    """The frame ends before its header, body or closing flag does."""


class BadEscapeError(FrameError):
    """0x7d followed by something other than 0x01 / 0x02: the frame was corrupted in transit."""


class BadChecksumError(FrameError):
    """The XOR checksum does not match: the frame must be refused, never half-trusted."""

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(f"bad checksum: computed 0x{expected:02x}, frame carries 0x{received:02x}")
        self.expected = expected
        self.received = received


class FrameTooLargeError(FrameError):
    """More bytes than any legal frame can have (a runaway stream or a hostile client)."""


class BodyLengthMismatchError(FrameError):
    """The length in the body-attribute word disagrees with the bytes actually present."""

    def __init__(self, declared: int, actual: int) -> None:
        super().__init__(f"body length mismatch: header declares {declared} bytes, frame carries {actual}")
        self.declared = declared
        self.actual = actual


class MalformedBodyError(JT808Error):
    """The body does not follow the layout of its message id (too short, leftovers, bad item, bad text)."""


class InvalidBCDTimeError(MalformedBodyError):
    """The BCD[6] YYMMDDhhmmss time has non-decimal nibbles or is not a calendar date."""


class UnsupportedMessageError(JT808Error):
    """No body decoder for this message id; ``decode_frame`` keeps such bodies raw instead of raising."""

    def __init__(self, msg_id: int) -> None:
        super().__init__(f"unsupported message id 0x{msg_id:04x}: no body decoder")
        self.msg_id = msg_id


class EncodeError(JT808Error):
    """A value cannot be represented on the wire (out of range, too long, not encodable)."""


# ------------------------------------------------------------------------------------------ constants


class MsgId(enum.IntEnum):
    TERMINAL_RESPONSE = 0x0001
    HEARTBEAT = 0x0002
    LOGOUT = 0x0003
    REGISTER = 0x0100
    AUTHENTICATE = 0x0102
    LOCATION = 0x0200
    LOCATION_BATCH = 0x0704
    PLATFORM_RESPONSE = 0x8001
    REGISTER_RESPONSE = 0x8100
    # downlink (platform → terminal) and the terminals' dedicated answers
    TERMINAL_PARAMS = 0x0104
    POSITION_ANSWER = 0x0201
    CONTROL_ANSWER = 0x0500
    SET_PARAMS = 0x8103
    QUERY_ALL_PARAMS = 0x8104
    QUERY_PARAMS = 0x8106
    POSITION_QUERY = 0x8201
    TEMPORARY_TRACKING = 0x8202
    TEXT_MESSAGE = 0x8300
    CALL_BACK = 0x8400
    VEHICLE_CONTROL = 0x8500


class GeneralResult(enum.IntEnum):
    """Result byte of 0x0001 / 0x8001 (4 only from the platform: alarm handling confirmed)."""

    SUCCESS = 0
    FAILURE = 1
    BAD_MESSAGE = 2
    UNSUPPORTED = 3
    ALARM_CONFIRMED = 4


class RegisterResult(enum.IntEnum):
    SUCCESS = 0
    VEHICLE_ALREADY_REGISTERED = 1
    VEHICLE_NOT_IN_DATABASE = 2
    TERMINAL_ALREADY_REGISTERED = 3
    TERMINAL_NOT_IN_DATABASE = 4


class BatchType(enum.IntEnum):
    NORMAL = 0
    BACKFILL = 1  # 盲区补报: positions stored while out of coverage, sent late and possibly out of order


class Alarm(enum.IntFlag):
    """0x0200 alarm DWORD. Bits 15-17 are reserved in 2013 (2019 meanings named); 29/31 differ by version."""

    EMERGENCY = 1 << 0  # SOS button; the terminal keeps it set until the platform acknowledges
    OVERSPEED = 1 << 1
    FATIGUE_DRIVING = 1 << 2
    DANGER_WARNING = 1 << 3
    GNSS_MODULE_FAULT = 1 << 4
    GNSS_ANTENNA_CUT = 1 << 5
    GNSS_ANTENNA_SHORT = 1 << 6
    POWER_UNDERVOLTAGE = 1 << 7
    POWER_OFF = 1 << 8
    DISPLAY_FAULT = 1 << 9
    TTS_FAULT = 1 << 10
    CAMERA_FAULT = 1 << 11
    IC_CARD_FAULT = 1 << 12
    OVERSPEED_WARNING = 1 << 13
    FATIGUE_WARNING = 1 << 14
    DRIVING_VIOLATION = 1 << 15  # 2019
    TYRE_PRESSURE_WARNING = 1 << 16  # 2019
    RIGHT_TURN_BLIND_ZONE = 1 << 17  # 2019
    DRIVING_TIME_EXCEEDED = 1 << 18
    OVERTIME_PARKING = 1 << 19
    AREA_ENTER_EXIT = 1 << 20
    ROUTE_ENTER_EXIT = 1 << 21
    ROAD_SECTION_TIME = 1 << 22
    ROUTE_DEVIATION = 1 << 23
    VSS_FAULT = 1 << 24
    FUEL_ABNORMAL = 1 << 25
    VEHICLE_STOLEN = 1 << 26
    ILLEGAL_IGNITION = 1 << 27
    ILLEGAL_DISPLACEMENT = 1 << 28
    COLLISION = 1 << 29  # 2019: collision or rollover
    ROLLOVER = 1 << 30
    ILLEGAL_DOOR_OPEN = 1 << 31  # reserved in 2019


# Alarms the terminal clears only after the platform's 0x8001 for that report.
ALARMS_CLEARED_BY_ACK = (
    Alarm.EMERGENCY
    | Alarm.AREA_ENTER_EXIT
    | Alarm.ROUTE_ENTER_EXIT
    | Alarm.ROAD_SECTION_TIME
    | Alarm.ILLEGAL_DISPLACEMENT
    | Alarm.ILLEGAL_DOOR_OPEN
)


class Status(enum.IntFlag):
    """0x0200 status DWORD. Bits 8-9 are the load state (see ``Location.load``); bits 23-31 reserved."""

    ACC_ON = 1 << 0
    FIXED = 1 << 1  # positioned: the coordinates are a real fix
    SOUTH = 1 << 2
    WEST = 1 << 3
    OUT_OF_SERVICE = 1 << 4
    COORDS_ENCRYPTED = 1 << 5
    AEB_WARNING = 1 << 6  # 2019
    LANE_DEPARTURE_WARNING = 1 << 7  # 2019
    LOAD_BIT0 = 1 << 8
    LOAD_BIT1 = 1 << 9
    FUEL_CUT = 1 << 10
    CIRCUIT_CUT = 1 << 11
    DOORS_LOCKED = 1 << 12
    DOOR1_OPEN = 1 << 13  # front
    DOOR2_OPEN = 1 << 14  # middle
    DOOR3_OPEN = 1 << 15  # rear
    DOOR4_OPEN = 1 << 16  # driver
    DOOR5_OPEN = 1 << 17  # custom
    GPS = 1 << 18
    BEIDOU = 1 << 19
    GLONASS = 1 << 20
    GALILEO = 1 << 21
    MOVING = 1 << 22  # 2019


class TextFlag(enum.IntFlag):
    """0x8300 flag BYTE (2013 meanings; bits 2 display and 3 TTS mean the same in 2019)."""

    URGENT = 1 << 0
    DISPLAY = 1 << 2
    TTS = 1 << 3
    ADVERTISING = 1 << 4
    CAN_FAULT = 1 << 5  # 0: centre navigation information, 1: CAN fault code information


class TextType(enum.IntEnum):
    """The 2019 0x8300 text-type BYTE."""

    NOTIFICATION = 1
    SERVICE = 2


class CallBackFlag(enum.IntEnum):
    CALL = 0
    MONITOR = 1  # listen in: the terminal calls back with its speaker off


class ControlType(enum.IntEnum):
    """2019 0x8500 control-type ids (2-8 reserved by the standard; vendors use 0xF001 and up)."""

    DOORS = 0x0001  # parameter BYTE: 0 unlock, 1 lock


class ParamType(enum.Enum):
    BYTE = 1
    WORD = 2
    DWORD = 4
    STRING = 0  # GBK, its length is the item's length byte, no terminator


# Terminal parameters (0x8103 / 0x0104) whose value type the codec knows; other ids travel as raw bytes.
PARAM_TYPES: dict[int, ParamType] = {
    0x0001: ParamType.DWORD,  # heartbeat interval, s
    0x0002: ParamType.DWORD,  # TCP answer timeout, s
    0x0003: ParamType.DWORD,  # TCP resend count
    0x0013: ParamType.STRING,  # main server address (2019: host:port;…)
    0x0017: ParamType.STRING,  # backup server address
    0x0018: ParamType.DWORD,  # server TCP port (2013)
    0x0019: ParamType.DWORD,  # server UDP port (2013)
    0x0020: ParamType.DWORD,  # report strategy: 0 timed, 1 distance, 2 both
    0x0021: ParamType.DWORD,  # report scheme: 0 by ACC, 1 by driver login then ACC
    0x0027: ParamType.DWORD,  # report interval while asleep, s
    0x0028: ParamType.DWORD,  # report interval in an emergency alarm, s
    0x0029: ParamType.DWORD,  # default report interval, s
    0x002C: ParamType.DWORD,  # default report distance, m
    0x0055: ParamType.DWORD,  # maximum speed, km/h
    0x0056: ParamType.DWORD,  # overspeed duration, s
    0x005B: ParamType.WORD,  # overspeed pre-warning margin, 0.1 km/h
    0x0080: ParamType.DWORD,  # odometer, 0.1 km
    0x0083: ParamType.STRING,  # plate
    0x0084: ParamType.BYTE,  # plate colour
}

ParamValue = int | str | bytes


class LoadState(enum.IntEnum):
    EMPTY = 0
    HALF = 1
    RESERVED = 2
    FULL = 3


# -------------------------------------------------------------------------------- escaping, checksum


def escape(data: bytes) -> bytes:
    """0x7d → 7d 01 first, then 0x7e → 7d 02 (the other order would re-escape the escapes)."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Inverse of ``escape``; a 0x7d not followed by 0x01/0x02 raises ``BadEscapeError``.

    Counting proves every 0x7d starts a valid pair (each pair holds exactly one 0x7d and pairs cannot
    overlap), after which two C-speed replaces are exact.
    """
    data = bytes(data)
    n = data.count(b"\x7d")
    if not n:
        return data
    if n != data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
        i = data.find(b"\x7d")
        while i >= 0 and i + 1 < len(data) and data[i + 1] in (1, 2):
            i = data.find(b"\x7d", i + 2)
        following = "the end of the frame" if i + 1 >= len(data) else f"0x{data[i + 1]:02x}"
        raise BadEscapeError(f"bad escape at byte {i}: 0x7d followed by {following} (only 7d 01, 7d 02 exist)")
    return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


def checksum(data: bytes) -> int:
    """XOR of all bytes. Long inputs fold one big integer in halves (log n C-level steps, not n Python ones)."""
    n = len(data)
    if n <= 64:
        c = 0
        for b in data:
            c ^= b
        return c
    x = int.from_bytes(data, "big")
    bits = 8
    while bits < n * 8:
        bits <<= 1
    while bits > 8:
        bits >>= 1
        x = (x >> bits) ^ (x & ((1 << bits) - 1))
    return x


# ---------------------------------------------------------------------------------------- splitting


class FrameSplitter:
    """Incremental cutter of a TCP byte stream into wire frames (``7e … 7e``, still escaped).

    TCP delivers arbitrary chunks, so a frame may arrive in pieces or several per read. Bytes outside
    flags are noise (counted, dropped); ``7e 7e`` between frames is one frame's end and the next one's start.
    A frame growing past ``max_frame_size`` is dropped up to its closing flag, so a client cannot make the
    server buffer without bound. Frames are returned escaped: checking them is ``decode_frame``'s job, and
    one bad frame must not poison the ones after it. Noise that itself contains a 0x7e shifts the reading of
    flags by one: a bogus frame comes out (``decode_frame`` refuses it), the next real frame is lost as noise,
    and the one after is in step again.
    """

    __slots__ = ("_buf", "_in_frame", "_skipping", "discarded_bytes", "max_frame_size", "oversized_frames")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size < 3:
            raise ValueError("max_frame_size must allow at least one byte between the flags")
        self.max_frame_size = max_frame_size
        self.discarded_bytes = 0  # noise between frames plus the content of oversized frames
        self.oversized_frames = 0
        self._buf = bytearray()
        self._in_frame = False
        self._skipping = False

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held until the next read."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add the next chunk of the stream; return the frames completed by it, in order."""
        frames: list[bytes] = []
        buf = self._buf
        limit = self.max_frame_size - 2
        pos = 0
        n = len(data)
        while pos < n:
            i = data.find(b"\x7e", pos)
            if not self._in_frame:
                if i < 0:
                    self.discarded_bytes += n - pos
                    break
                self.discarded_bytes += i - pos
                self._in_frame = True
                pos = i + 1
                continue
            end = n if i < 0 else i
            if self._skipping:
                self.discarded_bytes += end - pos
            elif len(buf) + end - pos > limit:
                self._skipping = True
                self.oversized_frames += 1
                self.discarded_bytes += len(buf) + end - pos
                buf.clear()
            else:
                buf += data[pos:end]
            if i < 0:
                break
            pos = i + 1
            if self._skipping:
                self._skipping = False
                self._in_frame = False
            elif buf:
                frames.append(b"\x7e" + bytes(buf) + b"\x7e")
                buf.clear()
                self._in_frame = False
            # else: "7e 7e" — the previous frame's closing flag followed by this opening one; stay in frame
        return frames


# ------------------------------------------------------------------------------------------- header


@dataclass(slots=True)
class Header:
    """Message header. ``version is None`` selects the 2013 form, an int the 2019 form (bit 14 + version byte).

    ``phone`` is the terminal number without BCD leading zeros ("13800138000"), identical in both forms.
    Some trackers put a binary id into the BCD bytes; then ``phone_binary`` is true and ``phone`` is that
    number in decimal. ``body_length`` is filled in by the decoder and ignored by the encoder.
    """

    msg_id: int
    phone: str
    serial: int = 0
    version: int | None = None
    encryption: int = 0
    packet_total: int | None = None
    packet_index: int | None = None
    phone_binary: bool = False
    body_length: int = field(default=0, compare=False)

    @property
    def is_2019(self) -> bool:
        return self.version is not None

    @property
    def subpackaged(self) -> bool:
        return self.packet_total is not None


_HDR_START = struct.Struct(">HH")
_WORD = struct.Struct(">H")
_WORD2 = struct.Struct(">HH")


def _decode_phone(raw: bytes) -> tuple[str, bool]:
    digits = raw.hex()
    if digits.isdigit():
        return digits.lstrip("0") or "0", False
    return str(int(digits, 16)), True


def _encode_phone(phone: str, width: int, binary: bool) -> bytes:
    if not (isinstance(phone, str) and phone.isascii() and phone.isdigit()):
        raise EncodeError(f"terminal phone {phone!r} must be a non-empty string of digits")
    if binary:
        value = int(phone)
        if value >= 1 << (8 * width):
            raise EncodeError(f"binary terminal id {phone} does not fit in {width} bytes")
        return value.to_bytes(width, "big")
    stripped = phone.lstrip("0") or "0"
    if len(stripped) > 2 * width:
        raise EncodeError(f"terminal phone {phone} has more than {2 * width} digits")
    return bytes.fromhex(stripped.rjust(2 * width, "0"))


def _check_word(name: str, value: object) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{name} must be an integer 0..65535, got {value!r}")
    return value


def _encode_header(h: Header, body_length: int) -> bytes:
    _check_word("message id", h.msg_id)
    _check_word("serial", h.serial)
    if body_length > MAX_BODY_LENGTH:
        raise EncodeError(f"body is {body_length} bytes; at most {MAX_BODY_LENGTH} fit (split it into subpackages)")
    if not isinstance(h.encryption, int) or not 0 <= h.encryption <= 7:
        raise EncodeError(f"encryption must be 0..7 (three attribute bits), got {h.encryption!r}")
    attrs = body_length | (h.encryption << _ATTR_ENCRYPTION_SHIFT)
    if (h.packet_total is None) != (h.packet_index is None):
        raise EncodeError("packet_total and packet_index are set together or not at all")
    if h.packet_total is not None:
        attrs |= _ATTR_SUBPACKAGE
    if h.version is None:
        out = _HDR_START.pack(h.msg_id, attrs) + _encode_phone(h.phone, 6, h.phone_binary) + _WORD.pack(h.serial)
    else:
        if not isinstance(h.version, int) or not 0 <= h.version <= 0xFF:
            raise EncodeError(f"protocol version must be a byte, got {h.version!r}")
        out = (
            _HDR_START.pack(h.msg_id, attrs | _ATTR_VERSION)
            + bytes((h.version,))
            + _encode_phone(h.phone, 10, h.phone_binary)
            + _WORD.pack(h.serial)
        )
    if h.packet_total is not None:
        out += _WORD2.pack(_check_word("packet total", h.packet_total), _check_word("packet index", h.packet_index))
    return out


def _decode_header(payload: bytes, end: int) -> tuple[Header, int]:
    """Parse the header at the start of ``payload[:end]``; return it and the offset of the body."""
    if end < _HEADER_2013:
        raise TruncatedFrameError(f"frame has {end} header/body bytes; a header alone needs {_HEADER_2013}")
    msg_id, attrs = _HDR_START.unpack_from(payload)
    if attrs & _ATTR_VERSION:
        if end < _HEADER_2019:
            raise TruncatedFrameError(f"2019 header needs {_HEADER_2019} bytes, frame has {end}")
        version: int | None = payload[4]
        phone, binary = _decode_phone(payload[5:15])
        (serial,) = _WORD.unpack_from(payload, 15)
        off = _HEADER_2019
    else:
        version = None
        phone, binary = _decode_phone(payload[4:10])
        (serial,) = _WORD.unpack_from(payload, 10)
        off = _HEADER_2013
    total = index = None
    if attrs & _ATTR_SUBPACKAGE:
        if end < off + _PACKET_ITEM:
            raise TruncatedFrameError("subpackage flag set but the frame ends inside the packet item")
        total, index = _WORD2.unpack_from(payload, off)
        off += _PACKET_ITEM
    header = Header(
        msg_id,
        phone,
        serial,
        version,
        (attrs >> _ATTR_ENCRYPTION_SHIFT) & 0x7,
        total,
        index,
        binary,
        attrs & _ATTR_LENGTH,
    )
    return header, off


def response_header(request: Header, msg_id: int, serial: int) -> Header:
    """Header for the platform's reply to ``request``: same terminal, same header form, our own serial."""
    return Header(msg_id, request.phone, serial, request.version, phone_binary=request.phone_binary)


# ------------------------------------------------------------------------------------------- bodies


@dataclass(slots=True)
class RawBody:
    """Body kept as bytes: unknown message ids, subpackage fragments, encrypted bodies."""

    data: bytes = b""


@dataclass(slots=True)
class _GeneralResponse:
    reply_serial: int
    reply_id: int
    result: int = GeneralResult.SUCCESS


@dataclass(slots=True)
class TerminalResponse(_GeneralResponse):
    """0x0001: the terminal's answer to a platform command."""

    MSG_ID: ClassVar[int] = MsgId.TERMINAL_RESPONSE


@dataclass(slots=True)
class PlatformResponse(_GeneralResponse):
    """0x8001: the platform's acknowledgement (of 0x0200, 0x0704, 0x0102, 0x0002 …)."""

    MSG_ID: ClassVar[int] = MsgId.PLATFORM_RESPONSE


@dataclass(slots=True)
class Heartbeat:
    """0x0002, empty body."""

    MSG_ID: ClassVar[int] = MsgId.HEARTBEAT


@dataclass(slots=True)
class Logout:
    """0x0003, empty body."""

    MSG_ID: ClassVar[int] = MsgId.LOGOUT


@dataclass(slots=True)
class Register:
    """0x0100 terminal registration. Text fields are GBK, NUL padding removed (maker/model/id widths by version)."""

    MSG_ID: ClassVar[int] = MsgId.REGISTER
    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


@dataclass(slots=True)
class RegisterResponse:
    """0x8100. The auth code is only present when the result is success."""

    MSG_ID: ClassVar[int] = MsgId.REGISTER_RESPONSE
    reply_serial: int
    result: int = RegisterResult.SUCCESS
    auth_code: str = ""


@dataclass(slots=True)
class Authenticate:
    """0x0102. 2013: the auth code is the whole body. 2019: length-prefixed code, IMEI[15], software version[20]."""

    MSG_ID: ClassVar[int] = MsgId.AUTHENTICATE
    auth_code: str
    imei: str = ""
    software_version: str = ""


@dataclass(slots=True)
class Location:
    """0x0200 location report (also each item of 0x0704).

    Coordinates are signed degrees (the wire has unsigned 1e-6 degrees plus the SOUTH/WEST status bits; on
    encode the bits follow the signs, ``-0.0`` included). ``time`` is an aware UTC datetime (the wire has
    GMT+8). Known additional items get typed fields; everything else is kept raw, in order, in ``extras``.
    """

    MSG_ID: ClassVar[int] = MsgId.LOCATION
    alarm: Alarm
    status: Status
    latitude: float
    longitude: float
    altitude: int  # metres; read signed (vendors send below-sea-level heights as two's complement)
    speed_kmh: float
    direction: int  # degrees clockwise from north
    time: datetime
    mileage_km: float | None = None  # item 0x01, 1/10 km
    fuel_l: float | None = None  # item 0x02, 1/10 l
    recorder_speed_kmh: float | None = None  # item 0x03, tachograph speed, 1/10 km/h
    signal: int | None = None  # item 0x30, mobile network signal strength
    satellites: int | None = None  # item 0x31, GNSS satellites in use
    extras: tuple[tuple[int, bytes], ...] = ()

    @property
    def fixed(self) -> bool:
        return bool(self.status & Status.FIXED)

    @property
    def load(self) -> LoadState:
        return LoadState((self.status >> 8) & 3)

    def item(self, item_id: int) -> bytes | None:
        """First raw additional item with this id, if any."""
        for key, value in self.extras:
            if key == item_id:
                return value
        return None


@dataclass(slots=True)
class LocationBatch:
    """0x0704 batch upload: ``batch_type`` 0 normal, 1 blind-area back-fill (history, not "latest")."""

    MSG_ID: ClassVar[int] = MsgId.LOCATION_BATCH
    batch_type: int
    items: tuple[Location, ...]

    @property
    def count(self) -> int:
        return len(self.items)


@dataclass(slots=True)
class TextMessage:
    """0x8300 text to the terminal (≤1024 bytes GBK by the standard; one frame carries at most 1021).

    ``text_type`` exists only in the 2019 form (a 2013 frame decodes with the default)."""

    MSG_ID: ClassVar[int] = MsgId.TEXT_MESSAGE
    flag: int
    text: str
    text_type: int = TextType.NOTIFICATION


@dataclass(slots=True)
class PositionQuery:
    """0x8201, empty body; the terminal answers 0x0201 with its current position."""

    MSG_ID: ClassVar[int] = MsgId.POSITION_QUERY


@dataclass(slots=True)
class TemporaryTracking:
    """0x8202: report every ``interval_s`` for ``validity_s``; interval 0 stops tracking (then no validity field)."""

    MSG_ID: ClassVar[int] = MsgId.TEMPORARY_TRACKING
    interval_s: int
    validity_s: int = 0


@dataclass(slots=True)
class SetParams:
    """0x8103: (parameter id, value) pairs; a value's type follows ``PARAM_TYPES`` (bytes for other ids)."""

    MSG_ID: ClassVar[int] = MsgId.SET_PARAMS
    params: tuple[tuple[int, ParamValue], ...]


@dataclass(slots=True)
class QueryAllParams:
    """0x8104, empty body; answered by 0x0104."""

    MSG_ID: ClassVar[int] = MsgId.QUERY_ALL_PARAMS


@dataclass(slots=True)
class QueryParams:
    """0x8106: the parameter ids wanted; answered by 0x0104."""

    MSG_ID: ClassVar[int] = MsgId.QUERY_PARAMS
    ids: tuple[int, ...]


@dataclass(slots=True)
class TerminalParams:
    """0x0104: the terminal's parameters, answering the 0x8104 / 0x8106 with serial ``reply_serial``."""

    MSG_ID: ClassVar[int] = MsgId.TERMINAL_PARAMS
    reply_serial: int
    params: tuple[tuple[int, ParamValue], ...]


@dataclass(slots=True)
class CallBack:
    """0x8400: the terminal calls ``number`` (≤20 bytes), normally or as a silent monitor."""

    MSG_ID: ClassVar[int] = MsgId.CALL_BACK
    flag: int
    number: str


@dataclass(slots=True)
class VehicleControl:
    """0x8500. 2013: one ``flag`` BYTE (bit 0: 1 lock doors, 0 unlock). 2019: ``items`` of (control type, BYTE
    parameter), e.g. ``((ControlType.DOORS, 1),)``; the terminal answers 0x0001 at once, then 0x0500."""

    MSG_ID: ClassVar[int] = MsgId.VEHICLE_CONTROL
    flag: int = 0
    items: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class PositionAnswer:
    """0x0201: the position answering the 0x8201 with serial ``reply_serial``."""

    MSG_ID: ClassVar[int] = MsgId.POSITION_ANSWER
    reply_serial: int
    location: Location


@dataclass(slots=True)
class ControlAnswer:
    """0x0500: the position after the 0x8500 with serial ``reply_serial`` (its status bits tell the doors)."""

    MSG_ID: ClassVar[int] = MsgId.CONTROL_ANSWER
    reply_serial: int
    location: Location


Body = (
    RawBody
    | TerminalResponse
    | PlatformResponse
    | Heartbeat
    | Logout
    | Register
    | RegisterResponse
    | Authenticate
    | Location
    | LocationBatch
    | TextMessage
    | PositionQuery
    | TemporaryTracking
    | SetParams
    | QueryAllParams
    | QueryParams
    | TerminalParams
    | CallBack
    | VehicleControl
    | PositionAnswer
    | ControlAnswer
)


@dataclass(slots=True)
class Message:
    header: Header
    body: Body


# ---------------------------------------------------------------------------------- body: decoding


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.strip(b"\x00").decode("gbk")
    except UnicodeDecodeError:
        raise MalformedBodyError(f"{what} is not GBK text: {raw.hex()}") from None


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise MalformedBodyError(f"{what} body is {len(data)} bytes; it needs at least {size}")


def _exactly(data: bytes, size: int, what: str) -> None:
    if len(data) != size:
        raise MalformedBodyError(f"{what} body is {len(data)} bytes; it must be {size}")


_GENERAL = struct.Struct(">HHB")


def _decode_general(cls: type[_GeneralResponse]):
    def decode(data: bytes, v2019: bool) -> _GeneralResponse:
        _exactly(data, 5, cls.__name__)
        serial, reply_id, result = _GENERAL.unpack(data)
        return cls(serial, reply_id, _result_enum(GeneralResult, result))

    return decode


def _result_enum(enum_cls: type[enum.IntEnum], value: int) -> int:
    try:
        return enum_cls(value)
    except ValueError:
        return value


def _decode_empty(cls: type):
    def decode(data: bytes, v2019: bool) -> object:
        _exactly(data, 0, cls.__name__)
        return cls()

    return decode


_REGISTER_WIDTHS = {False: (5, 20, 7), True: (11, 30, 30)}  # maker, model, terminal id


def _decode_register(data: bytes, v2019: bool) -> Register:
    w_maker, w_model, w_id = _REGISTER_WIDTHS[v2019]
    fixed = 4 + w_maker + w_model + w_id + 1
    _need(data, fixed, f"Register ({'2019' if v2019 else '2013'})")
    province, city = _WORD2.unpack_from(data)
    p = 4
    maker = _text(data[p : p + w_maker], "maker")
    p += w_maker
    model = _text(data[p : p + w_model], "model")
    p += w_model
    terminal_id = _text(data[p : p + w_id], "terminal id")
    p += w_id
    return Register(province, city, maker, model, terminal_id, data[p], _text(data[p + 1 :], "plate"))


def _decode_register_response(data: bytes, v2019: bool) -> RegisterResponse:
    _need(data, 3, "RegisterResponse")
    serial, result = struct.unpack_from(">HB", data)
    return RegisterResponse(serial, _result_enum(RegisterResult, result), _text(data[3:], "auth code"))


def _decode_authenticate(data: bytes, v2019: bool) -> Authenticate:
    if not v2019:
        return Authenticate(_text(data, "auth code"))
    _need(data, 1, "Authenticate (2019)")
    n = data[0]
    _need(data, 1 + n + 15, "Authenticate (2019)")
    return Authenticate(
        _text(data[1 : 1 + n], "auth code"),
        _text(data[1 + n : 16 + n], "IMEI"),
        _text(data[16 + n :], "software version"),
    )


_LOCATION = struct.Struct(">IIIIhHH6s")  # 28-byte basic block
_LOCATION_SIZE = _LOCATION.size
_U32 = struct.Struct(">I")


def _decode_bcd_time(raw: bytes) -> datetime:
    digits = raw.hex()
    if not digits.isdigit():
        raise InvalidBCDTimeError(f"invalid BCD time {digits}: non-decimal nibble")
    try:
        local = datetime(
            2000 + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            tzinfo=UTC,
        )
    except ValueError:
        raise InvalidBCDTimeError(f"invalid BCD time {digits}: not a calendar date/time (YYMMDDhhmmss)") from None
    return local - _TERMINAL_UTC_OFFSET


def _decode_location(data: bytes, v2019: bool = False) -> Location:
    n = len(data)
    if n < _LOCATION_SIZE:
        raise MalformedBodyError(f"Location body is {n} bytes; the basic block alone needs {_LOCATION_SIZE}")
    alarm, status, lat, lon, altitude, speed, direction, bcd = _LOCATION.unpack_from(data)
    latitude = lat / 1e6
    if status & 4:
        latitude = -latitude
    longitude = lon / 1e6
    if status & 8:
        longitude = -longitude
    loc = Location(
        Alarm(alarm), Status(status), latitude, longitude, altitude, speed / 10, direction, _decode_bcd_time(bcd)
    )
    pos = _LOCATION_SIZE
    extras: list[tuple[int, bytes]] = []
    while pos < n:
        if pos + 2 > n:
            raise MalformedBodyError(f"additional item at byte {pos} is cut short: no length byte")
        item_id = data[pos]
        size = data[pos + 1]
        start = pos + 2
        pos = start + size
        if pos > n:
            raise MalformedBodyError(
                f"additional item 0x{item_id:02x} at byte {start - 2} declares {size} bytes, only {n - start} left"
            )
        if item_id == 0x01 and size == 4 and loc.mileage_km is None:
            loc.mileage_km = _U32.unpack_from(data, start)[0] / 10
        elif item_id == 0x02 and size == 2 and loc.fuel_l is None:
            loc.fuel_l = _WORD.unpack_from(data, start)[0] / 10
        elif item_id == 0x03 and size == 2 and loc.recorder_speed_kmh is None:
            loc.recorder_speed_kmh = _WORD.unpack_from(data, start)[0] / 10
        elif item_id == 0x30 and size == 1 and loc.signal is None:
            loc.signal = data[start]
        elif item_id == 0x31 and size == 1 and loc.satellites is None:
            loc.satellites = data[start]
        else:
            extras.append((item_id, data[start:pos]))
    if extras:
        loc.extras = tuple(extras)
    return loc


def _decode_batch(data: bytes, v2019: bool) -> LocationBatch:
    n = len(data)
    _need(data, 3, "LocationBatch")
    count, batch_type = struct.unpack_from(">HB", data)
    items = []
    pos = 3
    for i in range(count):
        if pos + 2 > n:
            raise MalformedBodyError(f"batch declares {count} items but the body ends after {i}")
        (size,) = _WORD.unpack_from(data, pos)
        pos += 2
        if pos + size > n:
            raise MalformedBodyError(f"batch item {i} declares {size} bytes, only {n - pos} left")
        try:
            items.append(_decode_location(data[pos : pos + size]))
        except MalformedBodyError as exc:
            raise type(exc)(f"batch item {i}: {exc}") from exc
        pos += size
    if pos != n:
        raise MalformedBodyError(f"{n - pos} bytes left over after the {count} items of the batch")
    return LocationBatch(_result_enum(BatchType, batch_type), tuple(items))


def _decode_text_message(data: bytes, v2019: bool) -> TextMessage:
    head = 2 if v2019 else 1
    _need(data, head, f"TextMessage ({'2019' if v2019 else '2013'})")
    text = _text(data[head:], "text")
    if not v2019:
        return TextMessage(data[0], text)
    return TextMessage(data[0], text, _result_enum(TextType, data[1]))


def _decode_tracking(data: bytes, v2019: bool) -> TemporaryTracking:
    _need(data, 2, "TemporaryTracking")
    (interval,) = _WORD.unpack_from(data)
    if interval == 0:
        _exactly(data, 2, "TemporaryTracking (stop)")
        return TemporaryTracking(0)
    _exactly(data, 6, "TemporaryTracking")
    return TemporaryTracking(interval, _U32.unpack_from(data, 2)[0])


def _decode_param_value(param_id: int, raw: bytes) -> ParamValue:
    kind = PARAM_TYPES.get(param_id)
    if kind is ParamType.STRING:
        return _text(raw, f"parameter 0x{param_id:04x}")
    if kind is not None and len(raw) == kind.value:
        return int.from_bytes(raw, "big")
    return bytes(raw)  # unknown id, or a known one of an unexpected width: kept as it came


def _decode_param_items(data: bytes, at: int, what: str) -> tuple[tuple[int, ParamValue], ...]:
    _need(data, at + 1, what)
    count = data[at]
    pos, n = at + 1, len(data)
    items = []
    for i in range(count):
        if pos + 5 > n:
            raise MalformedBodyError(f"{what} declares {count} parameters but the body ends after {i}")
        param_id, size = struct.unpack_from(">IB", data, pos)
        pos += 5
        if pos + size > n:
            raise MalformedBodyError(f"{what} parameter 0x{param_id:04x} declares {size} bytes, only {n - pos} left")
        items.append((param_id, _decode_param_value(param_id, data[pos : pos + size])))
        pos += size
    if pos != n:
        raise MalformedBodyError(f"{n - pos} bytes left over after the {count} parameters of {what}")
    return tuple(items)


def _decode_set_params(data: bytes, v2019: bool) -> SetParams:
    return SetParams(_decode_param_items(data, 0, "SetParams"))


def _decode_query_params(data: bytes, v2019: bool) -> QueryParams:
    _need(data, 1, "QueryParams")
    count = data[0]
    _exactly(data, 1 + 4 * count, f"QueryParams of {count} ids")
    return QueryParams(struct.unpack_from(f">{count}I", data, 1))


def _decode_terminal_params(data: bytes, v2019: bool) -> TerminalParams:
    _need(data, 3, "TerminalParams")
    (serial,) = _WORD.unpack_from(data)
    return TerminalParams(serial, _decode_param_items(data, 2, "TerminalParams"))


def _decode_call_back(data: bytes, v2019: bool) -> CallBack:
    _need(data, 1, "CallBack")
    return CallBack(_result_enum(CallBackFlag, data[0]), _text(data[1:], "call-back number"))


def _decode_vehicle_control(data: bytes, v2019: bool) -> VehicleControl:
    if not v2019:
        _exactly(data, 1, "VehicleControl (2013)")
        return VehicleControl(data[0])
    _need(data, 2, "VehicleControl (2019)")
    (count,) = _WORD.unpack_from(data)
    _exactly(data, 2 + 3 * count, f"VehicleControl (2019) of {count} items")
    return VehicleControl(
        items=tuple((_result_enum(ControlType, t), p) for t, p in struct.iter_unpack(">HB", data[2:]))
    )


def _decode_position_answer(cls: type[PositionAnswer] | type[ControlAnswer]):
    def decode(data: bytes, v2019: bool) -> PositionAnswer | ControlAnswer:
        _need(data, 2 + _LOCATION_SIZE, cls.__name__)
        return cls(_WORD.unpack_from(data)[0], _decode_location(data[2:]))

    return decode


_DECODERS = {
    MsgId.TERMINAL_RESPONSE: _decode_general(TerminalResponse),
    MsgId.PLATFORM_RESPONSE: _decode_general(PlatformResponse),
    MsgId.HEARTBEAT: _decode_empty(Heartbeat),
    MsgId.LOGOUT: _decode_empty(Logout),
    MsgId.REGISTER: _decode_register,
    MsgId.REGISTER_RESPONSE: _decode_register_response,
    MsgId.AUTHENTICATE: _decode_authenticate,
    MsgId.LOCATION: _decode_location,
    MsgId.LOCATION_BATCH: _decode_batch,
    MsgId.TEXT_MESSAGE: _decode_text_message,
    MsgId.POSITION_QUERY: _decode_empty(PositionQuery),
    MsgId.TEMPORARY_TRACKING: _decode_tracking,
    MsgId.SET_PARAMS: _decode_set_params,
    MsgId.QUERY_ALL_PARAMS: _decode_empty(QueryAllParams),
    MsgId.QUERY_PARAMS: _decode_query_params,
    MsgId.TERMINAL_PARAMS: _decode_terminal_params,
    MsgId.CALL_BACK: _decode_call_back,
    MsgId.VEHICLE_CONTROL: _decode_vehicle_control,
    MsgId.POSITION_ANSWER: _decode_position_answer(PositionAnswer),
    MsgId.CONTROL_ANSWER: _decode_position_answer(ControlAnswer),
}


def decode_body(msg_id: int, data: bytes, *, v2019: bool = False) -> Body:
    """Decode a body of a known message id (``UnsupportedMessageError`` otherwise); ``v2019`` selects widths."""
    decoder = _DECODERS.get(msg_id)
    if decoder is None:
        raise UnsupportedMessageError(msg_id)
    try:
        return decoder(bytes(data), v2019)
    except JT808Error:
        raise
    except (struct.error, IndexError, ValueError, OverflowError) as exc:  # safety net: never leak a raw crash
        raise MalformedBodyError(f"malformed 0x{msg_id:04x} body: {exc}") from exc


# ---------------------------------------------------------------------------------- body: encoding


def _encode_text(value: str, what: str, width: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{what} must be a string, got {value!r}")
    if "\x00" in value:
        raise EncodeError(f"{what} must not contain NUL (it is the padding byte)")
    try:
        raw = value.encode("gbk")
    except UnicodeEncodeError:
        raise EncodeError(f"{what} {value!r} cannot be encoded as GBK") from None
    if width is None:
        return raw
    if len(raw) > width:
        raise EncodeError(f"{what} {value!r} is {len(raw)} bytes; the field holds {width}")
    return raw.ljust(width, b"\x00")


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(f"{name} must be an integer {lo}..{hi}, got {value!r}")
    return value


def _byte(name: str, value: object) -> bytes:
    """A BYTE field."""
    return bytes((_check_int(name, value, 0, 0xFF),))


def _pairs(items, what: str):
    """The (first, second) of each item; an item that is not a pair is an EncodeError starting with ``what``."""
    for item in items:
        try:
            first, second = item
        except (TypeError, ValueError):
            raise EncodeError(f"{what}, got {item!r}") from None
        yield first, second


def _scaled(name: str, value: object, scale: int, hi: int) -> int:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise EncodeError(f"{name} must be a finite number, got {value!r}")
    raw = round(value * scale)
    if not 0 <= raw <= hi:
        raise EncodeError(f"{name} {value!r} is out of range for its field (0..{hi / scale:g})")
    return raw


def _encode_general(body: _GeneralResponse, v2019: bool) -> bytes:
    return _GENERAL.pack(
        _check_word("reply serial", body.reply_serial),
        _check_word("reply id", body.reply_id),
        _check_int("result", body.result, 0, 0xFF),
    )


def _encode_empty(body: object, v2019: bool) -> bytes:
    return b""


def _encode_register(body: Register, v2019: bool) -> bytes:
    w_maker, w_model, w_id = _REGISTER_WIDTHS[v2019]
    return b"".join(
        (
            _WORD2.pack(_check_word("province", body.province), _check_word("city", body.city)),
            _encode_text(body.maker, "maker", w_maker),
            _encode_text(body.model, "model", w_model),
            _encode_text(body.terminal_id, "terminal id", w_id),
            _byte("plate colour", body.plate_color),
            _encode_text(body.plate, "plate"),
        )
    )


def _encode_register_response(body: RegisterResponse, v2019: bool) -> bytes:
    result = _check_int("result", body.result, 0, 0xFF)
    head = struct.pack(">HB", _check_word("reply serial", body.reply_serial), result)
    if result != RegisterResult.SUCCESS:
        if body.auth_code:
            raise EncodeError("a register response carries an auth code only when the result is success")
        return head
    return head + _encode_text(body.auth_code, "auth code")


def _encode_authenticate(body: Authenticate, v2019: bool) -> bytes:
    code = _encode_text(body.auth_code, "auth code")
    if not v2019:
        if body.imei or body.software_version:
            raise EncodeError("IMEI and software version exist only in the 2019 authentication body")
        return code
    if len(code) > 0xFF:
        raise EncodeError(f"auth code is {len(code)} bytes; its 2019 length prefix is one byte")
    return (
        bytes((len(code),))
        + code
        + _encode_text(body.imei, "IMEI", 15)
        + _encode_text(body.software_version, "software version", 20)
    )


def _encode_bcd_time(value: datetime) -> bytes:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise EncodeError(f"time must be an aware datetime, got {value!r}")
    local = value.astimezone(UTC) + _TERMINAL_UTC_OFFSET
    if not 2000 <= local.year <= 2099:
        raise EncodeError(f"time {value.isoformat()} is outside 2000-2099 (GMT+8), which BCD YY can hold")
    return bytes.fromhex(local.strftime("%y%m%d%H%M%S"))


def _encode_location(loc: Location, v2019: bool = False) -> bytes:
    status = _check_int("status", int(loc.status), 0, 0xFFFFFFFF) & ~0b1100
    for name, value in (("latitude", loc.latitude), ("longitude", loc.longitude)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise EncodeError(f"{name} must be a finite number, got {value!r}")
    if math.copysign(1.0, loc.latitude) < 0:
        status |= Status.SOUTH
    if math.copysign(1.0, loc.longitude) < 0:
        status |= Status.WEST
    out = bytearray(
        _LOCATION.pack(
            _check_int("alarm", int(loc.alarm), 0, 0xFFFFFFFF),
            status,
            _scaled("latitude", abs(loc.latitude), 1_000_000, 0xFFFFFFFF),
            _scaled("longitude", abs(loc.longitude), 1_000_000, 0xFFFFFFFF),
            _check_int("altitude", loc.altitude, -0x8000, 0x7FFF),
            _scaled("speed_kmh", loc.speed_kmh, 10, 0xFFFF),
            _check_word("direction", loc.direction),
            _encode_bcd_time(loc.time),
        )
    )
    if loc.mileage_km is not None:
        out += b"\x01\x04" + _U32.pack(_scaled("mileage_km", loc.mileage_km, 10, 0xFFFFFFFF))
    if loc.fuel_l is not None:
        out += b"\x02\x02" + _WORD.pack(_scaled("fuel_l", loc.fuel_l, 10, 0xFFFF))
    if loc.recorder_speed_kmh is not None:
        out += b"\x03\x02" + _WORD.pack(_scaled("recorder_speed_kmh", loc.recorder_speed_kmh, 10, 0xFFFF))
    if loc.signal is not None:
        out += bytes((0x30, 1, _check_int("signal", loc.signal, 0, 0xFF)))
    if loc.satellites is not None:
        out += bytes((0x31, 1, _check_int("satellites", loc.satellites, 0, 0xFF)))
    for item_id, value in _pairs(loc.extras, "an additional item is an (id, bytes) pair"):
        _check_int("additional item id", item_id, 0, 0xFF)
        if not isinstance(value, bytes | bytearray) or len(value) > 0xFF:
            raise EncodeError(f"additional item 0x{item_id:02x} must be bytes of at most 255, got {value!r}")
        out += bytes((item_id, len(value))) + value
    return bytes(out)


def _encode_batch(batch: LocationBatch, v2019: bool) -> bytes:
    out = bytearray(
        struct.pack(
            ">HB", _check_word("item count", len(batch.items)), _check_int("batch type", batch.batch_type, 0, 0xFF)
        )
    )
    for item in batch.items:
        if not isinstance(item, Location):
            raise EncodeError(f"batch items must be Location, got {type(item).__name__}")
        raw = _encode_location(item)
        out += _WORD.pack(len(raw)) + raw
    return bytes(out)


def _encode_text_message(body: TextMessage, v2019: bool) -> bytes:
    head = _byte("flag", body.flag)
    if v2019:
        head += _byte("text type", body.text_type)
    return head + _encode_text(body.text, "text")


def _encode_tracking(body: TemporaryTracking, v2019: bool) -> bytes:
    interval = _check_word("interval", body.interval_s)
    if interval == 0:
        return _WORD.pack(0)
    return _WORD.pack(interval) + _U32.pack(_check_int("validity", body.validity_s, 0, 0xFFFFFFFF))


def _encode_param_value(param_id: int, value: object) -> bytes:
    kind = PARAM_TYPES.get(param_id)
    name = f"parameter 0x{param_id:04x}"
    if kind is ParamType.STRING:
        return _encode_text(value, name)
    if kind is not None:
        return _check_int(name, value, 0, (1 << (8 * kind.value)) - 1).to_bytes(kind.value, "big")
    if not isinstance(value, bytes | bytearray):
        raise EncodeError(f"{name} has no known type: give its value as bytes, got {value!r}")
    return bytes(value)


def _encode_param_items(params: tuple[tuple[int, ParamValue], ...]) -> bytes:
    out = bytearray(_byte("parameter count", len(params)))
    for param_id, value in _pairs(params, "a parameter is an (id, value) pair"):
        raw = _encode_param_value(_check_int("parameter id", param_id, 0, 0xFFFFFFFF), value)
        if len(raw) > 0xFF:
            raise EncodeError(f"parameter 0x{param_id:04x} is {len(raw)} bytes; its length byte holds 255")
        out += struct.pack(">IB", param_id, len(raw)) + raw
    return bytes(out)


def _encode_set_params(body: SetParams, v2019: bool) -> bytes:
    return _encode_param_items(body.params)


def _encode_query_params(body: QueryParams, v2019: bool) -> bytes:
    ids = [_check_int("parameter id", i, 0, 0xFFFFFFFF) for i in body.ids]
    return _byte("parameter count", len(ids)) + struct.pack(f">{len(ids)}I", *ids)


def _encode_terminal_params(body: TerminalParams, v2019: bool) -> bytes:
    return _WORD.pack(_check_word("reply serial", body.reply_serial)) + _encode_param_items(body.params)


def _encode_call_back(body: CallBack, v2019: bool) -> bytes:
    number = _encode_text(body.number, "call-back number")
    if len(number) > 20:
        raise EncodeError(f"call-back number is {len(number)} bytes; the field holds 20")
    return _byte("call-back flag", body.flag) + number


def _encode_vehicle_control(body: VehicleControl, v2019: bool) -> bytes:
    if not v2019:
        if body.items:
            raise EncodeError("control items exist only in the 2019 form; 2013 has one flag byte")
        return _byte("control flag", body.flag)
    if not body.items:
        raise EncodeError("a 2019 vehicle control needs at least one (control type, parameter) item")
    out = bytearray(_WORD.pack(_check_word("control item count", len(body.items))))
    for control_type, param in _pairs(body.items, "a control item is a (type, parameter) pair"):
        out += _WORD.pack(_check_word("control type", control_type)) + _byte("control parameter", param)
    return bytes(out)


def _encode_position_answer(body: PositionAnswer | ControlAnswer, v2019: bool) -> bytes:
    if not isinstance(body.location, Location):
        raise EncodeError(f"{type(body).__name__}.location must be a Location, got {type(body.location).__name__}")
    return _WORD.pack(_check_word("reply serial", body.reply_serial)) + _encode_location(body.location)


_ENCODERS = {
    TerminalResponse: _encode_general,
    PlatformResponse: _encode_general,
    Heartbeat: _encode_empty,
    Logout: _encode_empty,
    Register: _encode_register,
    RegisterResponse: _encode_register_response,
    Authenticate: _encode_authenticate,
    Location: _encode_location,
    LocationBatch: _encode_batch,
    TextMessage: _encode_text_message,
    PositionQuery: _encode_empty,
    TemporaryTracking: _encode_tracking,
    SetParams: _encode_set_params,
    QueryAllParams: _encode_empty,
    QueryParams: _encode_query_params,
    TerminalParams: _encode_terminal_params,
    CallBack: _encode_call_back,
    VehicleControl: _encode_vehicle_control,
    PositionAnswer: _encode_position_answer,
    ControlAnswer: _encode_position_answer,
}


def encode_body(body: Body, *, v2019: bool = False) -> bytes:
    """Body bytes (unescaped, no header) for a body dataclass; ``v2019`` selects the 2019 field widths."""
    if isinstance(body, RawBody):
        return bytes(body.data)
    encoder = _ENCODERS.get(type(body))
    if encoder is None:
        raise EncodeError(f"no encoder for {type(body).__name__}")
    try:
        return encoder(body, v2019)
    except JT808Error:
        raise
    except (struct.error, TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise EncodeError(f"cannot encode {type(body).__name__}: {exc}") from exc


# ------------------------------------------------------------------------------------------- frames


def encode_frame(header: Header, body: Body | bytes = b"") -> bytes:
    """Wire bytes ``7e … 7e`` for one message: header (body length filled in) + body + checksum, escaped.

    A body dataclass must belong to ``header.msg_id`` (0x0001 and 0x8001 share a layout, so the check
    catches replies sent with the wrong id); raw bytes / ``RawBody`` go with any id.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
    elif isinstance(body, RawBody):
        data = bytes(body.data)
    else:
        msg_id = getattr(type(body), "MSG_ID", None)
        if msg_id is None:
            raise EncodeError(f"cannot encode a body of type {type(body).__name__}")
        if header.msg_id != msg_id:
            raise EncodeError(
                f"header message id 0x{header.msg_id:04x} does not match {type(body).__name__} (0x{msg_id:04x})"
            )
        data = encode_body(body, v2019=header.version is not None)
    payload = _encode_header(header, len(data)) + data
    return b"\x7e" + escape(payload + bytes((checksum(payload),))) + b"\x7e"


def decode_frame(frame: bytes, *, verify_checksum: bool = True, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> Message:
    """Check and parse one frame (with its 7e flags, as ``FrameSplitter`` yields it, or without them).

    Order matters: un-escape, then the checksum over everything (a corrupted frame is refused before any
    field is trusted), then header, body length, body. Bodies of unknown ids, subpackage fragments and
    encrypted bodies come back as ``RawBody`` so the server can still answer "unsupported" to the sender.
    ``verify_checksum=False`` exists for field devices known to send wrong checksums; keep it off otherwise.
    """
    if type(frame) is not bytes:
        frame = bytes(frame)
    n = len(frame)
    if n > max_size:
        raise FrameTooLargeError(f"frame is {n} bytes; the limit is {max_size}")
    if n and frame[0] == FLAG:
        if n < 2 or frame[-1] != FLAG:
            raise TruncatedFrameError("frame has no closing 0x7e flag")
        inner = frame[1:-1]
    elif n and frame[-1] == FLAG:
        raise TruncatedFrameError("frame has no opening 0x7e flag")
    else:
        inner = frame
    if b"\x7e" in inner:
        raise FrameError("0x7e inside the frame: frames glued together? split the stream with FrameSplitter")
    payload = unescape(inner)
    size = len(payload) - 1  # header + body, without the checksum byte
    if size < _HEADER_2013:
        raise TruncatedFrameError(
            f"frame is {size + 1} bytes after un-escaping; the shortest message is {_HEADER_2013 + 1}"
        )
    if verify_checksum:
        check = checksum(payload)  # XOR over the checksum byte too: zero when it matches
        if check:
            raise BadChecksumError(check ^ payload[-1], payload[-1])
    header, off = _decode_header(payload, size)
    if size - off != header.body_length:
        raise BodyLengthMismatchError(header.body_length, size - off)
    data = payload[off:size]
    msg_id = header.msg_id
    if header.packet_total is not None or header.encryption or msg_id not in _DECODERS:
        return Message(header, RawBody(data))
    return Message(header, decode_body(msg_id, data, v2019=header.version is not None))


def platform_response(request: Header, serial: int, result: int = GeneralResult.SUCCESS) -> bytes:
    """Encoded 0x8001 acknowledging ``request`` (its serial and id), in the request's header form."""
    return encode_frame(
        response_header(request, MsgId.PLATFORM_RESPONSE, serial),
        PlatformResponse(request.serial, request.msg_id, result),
    )
