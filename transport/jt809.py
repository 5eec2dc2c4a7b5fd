"""JT/T 809 (2011 and 2019) frames and the message bodies a city supervision platform exchanges with the
monitoring platforms below it (it is their 上级: main-link server, sub-link client). Plain module, no Django.

Frame: ``5B | MSG_LENGTH u32 | MSG_SN u32 | MSG_ID u16 | access code u32 | version 3B | encrypt flag u8 |
key u32 | [2019: UTC time u64] | body | CRC u16 | 5D``, big-endian; MSG_LENGTH counts the whole unescaped
frame. Sending: build, encrypt the body, CRC (CRC-16/CCITT-FALSE over MSG_LENGTH…body), escape 5A/5B/5D/5E.
Receiving is the reverse. The two header versions cannot be told apart on the wire, so the version is a
per-peer setting (``V2011``/``V2019``). Texts are GBK (decoded as GB 18030, its superset); fixed-width
fields are right-padded with 0x00.

Bodies are dataclasses; ``encode_body(body, version) -> (msg_id, bytes)`` and ``decode_body(msg_id, data,
version)`` convert them. Vehicle messages of 0x1200/0x1600/0x9600 (and 0x1400 in 2011) start with the plate
prefix ``VEHICLE_NO 21 | VEHICLE_COLOR u8 | DATA_TYPE u16 | DATA_LENGTH u32``; 2019's 0x1400 and 0x9200/0x9201
carry only ``DATA_TYPE | DATA_LENGTH``.
"""

import binascii
import enum
import secrets
import struct
from dataclasses import astuple, dataclass, field, make_dataclass
from datetime import UTC, datetime, timedelta, timezone

from dispatch import jt808

V2011, V2019 = 2011, 2019
VERSIONS = (V2011, V2019)
HEAD, TAIL = 0x5B, 0x5D
DEFAULT_MAX_FRAME = 8192  # unescaped bytes; the largest message met here (an alarm with 1 KiB text) is ~1.1 KiB
BEIJING = timezone(timedelta(hours=8))  # the 2011 GNSS block's date and time are local (Beijing) time

_HEAD_2011 = struct.Struct(">IIHI3sBI")  # length, sn, msg id, access code, version, encrypt flag, key
_TIME = struct.Struct(">Q")
_CRC = struct.Struct(">H")
_PLATE_PREFIX = struct.Struct(">21sBHI")
_DATA_PREFIX = struct.Struct(">HI")
_GNSS_2011 = struct.Struct(">BBBHBBBIIHHIHHII")  # 36 B: encrypt, day, month, year, h, m, s, lon, lat, …


class JT809Error(ValueError):
    """A frame or body that cannot be read; the message says what was wrong."""


class BadCrcError(JT809Error):
    pass


class FrameTooLargeError(JT809Error):
    pass


class MsgId(enum.IntEnum):
    UP_CONNECT_REQ = 0x1001
    UP_CONNECT_RSP = 0x1002
    UP_DISCONNECT_REQ = 0x1003
    UP_DISCONNECT_RSP = 0x1004
    UP_LINKTEST_REQ = 0x1005
    UP_LINKTEST_RSP = 0x1006
    UP_DISCONNECT_INFORM = 0x1007
    UP_CLOSELINK_INFORM = 0x1008
    UP_EXG_MSG = 0x1200
    UP_WARN_MSG = 0x1400
    UP_BASE_MSG = 0x1600
    DOWN_CONNECT_REQ = 0x9001
    DOWN_CONNECT_RSP = 0x9002
    DOWN_DISCONNECT_REQ = 0x9003
    DOWN_DISCONNECT_RSP = 0x9004
    DOWN_LINKTEST_REQ = 0x9005
    DOWN_LINKTEST_RSP = 0x9006
    DOWN_DISCONNECT_INFORM = 0x9007
    DOWN_CLOSELINK_INFORM = 0x9008
    DOWN_EXG_MSG = 0x9200
    DOWN_BASE_MSG = 0x9600


class SubId(enum.IntEnum):
    REGISTER = 0x1201  # UP_EXG_MSG_REGISTER
    REAL_LOCATION = 0x1202  # UP_EXG_MSG_REAL_LOCATION
    HISTORY_LOCATION = 0x1203  # UP_EXG_MSG_HISTORY_LOCATION
    WARN_REPORT = 0x1402  # UP_WARN_MSG_ADPT_INFO
    STATIC_INFO = 0x1601  # UP_BASE_MSG_VEHICLE_ADDED_ACK
    REGISTER_ACK = 0x9201  # DOWN_EXG_MSG_REGISTER_ACK (2019)
    STATIC_INFO_REQUEST = 0x9601  # DOWN_BASE_MSG_VEHICLE_ADDED


class ConnectResult(enum.IntEnum):
    """0x1002 RESULT (2019 writes OTHER as 0xFF; both are read as OTHER)."""

    OK = 0
    BAD_ADDRESS = 1
    BAD_ACCESS_CODE = 2
    USER_NOT_REGISTERED = 3
    BAD_PASSWORD = 4
    BUSY = 5
    OTHER = 6


class DownConnectResult(enum.IntEnum):
    OK = 0
    BAD_VERIFY_CODE = 1
    BUSY = 2
    OTHER = 3


class RegisterResult(enum.IntEnum):
    """2019 0x9201 result."""

    REGISTERED_WITH_REMARKS = 0
    REGISTERED = 1
    INFO_ERROR = 2
    NOT_APPROVED = 3


# Alarm types of 0x1402 (2011 table; 2019 adds 0x0010-0x0014 and non-position 0xA0xx): the console's words.
WARN_TYPES = {
    0x0001: "超速报警",
    0x0002: "疲劳驾驶报警",
    0x0003: "紧急报警",
    0x0004: "进入指定区域报警",
    0x0005: "离开指定区域报警",
    0x0006: "路段堵塞报警",
    0x0007: "危险路段报警",
    0x0008: "越界报警",
    0x0009: "盗警",
    0x000A: "劫警",
    0x000B: "偏离路线报警",
    0x000C: "车辆移动报警",
    0x000D: "超时驾驶报警",
    0x0010: "违规行驶报警",
    0x0011: "前撞报警",
    0x0012: "车道偏离报警",
    0x0013: "胎压异常报警",
    0x0014: "动态信息异常报警",
    0x00FF: "其他报警",
}
PLATE_COLOURS = {1: "蓝色", 2: "黄色", 3: "黑色", 4: "白色", 9: "其他"}


def warn_type_label(warn_type: int) -> str:
    return WARN_TYPES.get(warn_type, f"报警类型 0x{warn_type:04X}")


# ------------------------------------------------------------------------------- frame: escape, CRC, crypt


def escape(data: bytes) -> bytes:
    """5A → 5A 02 and 5E → 5E 02 first (the escape bytes themselves), then 5B → 5A 01, 5D → 5E 01."""
    return (data.replace(b"\x5a", b"\x5a\x02").replace(b"\x5e", b"\x5e\x02").replace(b"\x5b", b"\x5a\x01")).replace(
        b"\x5d", b"\x5e\x01"
    )


def unescape(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b in (0x5A, 0x5E):
            if i + 1 >= n or data[i + 1] not in (1, 2):
                following = "the end" if i + 1 >= n else f"0x{data[i + 1]:02x}"
                raise JT809Error(f"bad escape at byte {i}: 0x{b:02x} followed by {following}")
            out.append({(0x5A, 1): 0x5B, (0x5A, 2): 0x5A, (0x5E, 1): 0x5D, (0x5E, 2): 0x5E}[(b, data[i + 1])])
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR)."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Keys:
    """The per-peer encryption constants the upper platform hands out with the access code."""

    m1: int
    ia1: int
    ic1: int


def crypt(data: bytes, key: int, keys: Keys) -> bytes:
    """The standard's body cipher (its own inverse): a linear congruential stream XORed onto the bytes."""
    m1 = keys.m1 or 1
    k = key or 1
    out = bytearray(data)
    for i in range(len(out)):
        k = (keys.ia1 * (k % m1) + keys.ic1) & 0xFFFFFFFF
        out[i] ^= (k >> 20) & 0xFF
    return bytes(out)


# ------------------------------------------------------------------------------------------ frame


@dataclass(frozen=True)
class Header:
    msg_id: int
    access_code: int
    sn: int = 0
    version_flag: tuple[int, int, int] = (1, 0, 0)
    encrypted: bool = False
    key: int = 0
    time: int | None = None  # 2019: send time, Unix seconds (UTC); None in 2011


@dataclass(frozen=True)
class Frame:
    header: Header
    body: bytes  # decrypted


def header_size(version: int) -> int:
    return _HEAD_2011.size + (_TIME.size if version == V2019 else 0)


def encode_frame(header: Header, body: bytes, version: int, keys: Keys | None = None) -> bytes:
    """The escaped wire frame; the body is encrypted when ``header.encrypted`` (``keys`` then required)."""
    if header.encrypted:
        if keys is None:
            raise JT809Error("an encrypted frame needs the peer's keys")
        body = crypt(body, header.key, keys)
    length = 1 + header_size(version) + len(body) + 3
    head = _HEAD_2011.pack(
        length,
        header.sn & 0xFFFFFFFF,
        header.msg_id,
        header.access_code,
        bytes(header.version_flag),
        1 if header.encrypted else 0,
        header.key,
    )
    if version == V2019:
        head += _TIME.pack(header.time if header.time is not None else 0)
    content = head + body
    return bytes([HEAD]) + escape(content + _CRC.pack(crc16(content))) + bytes([TAIL])


def decode_frame(raw: bytes, version: int, keys: Keys | None = None, max_size: int = DEFAULT_MAX_FRAME) -> Frame:
    """One wire frame (``5B … 5D``, escaped) → header and plain body; ``JT809Error`` says why not."""
    if len(raw) > max_size * 2 + 2:
        raise FrameTooLargeError(f"frame of {len(raw)} bytes exceeds {max_size}")
    if len(raw) < 2 or raw[0] != HEAD or raw[-1] != TAIL:
        raise JT809Error("a frame starts with 0x5B and ends with 0x5D")
    inner = _content(raw)
    size = header_size(version)
    if len(inner) < size + 2:
        raise JT809Error(f"frame of {len(inner) + 2} bytes is shorter than a {version} header and CRC")
    if len(inner) + 2 > max_size:
        raise FrameTooLargeError(f"frame of {len(inner) + 2} bytes exceeds {max_size}")
    content, (received,) = inner[:-2], _CRC.unpack(inner[-2:])
    expected = crc16(content)
    if expected != received:
        raise BadCrcError(f"CRC 0x{received:04X} does not match the frame's 0x{expected:04X}")
    length, sn, msg_id, access_code, version_flag, encrypt, key = _HEAD_2011.unpack_from(content)
    if length != len(inner) + 2:
        raise JT809Error(f"MSG_LENGTH says {length} bytes, the frame has {len(inner) + 2}")
    time = _TIME.unpack_from(content, _HEAD_2011.size)[0] if version == V2019 else None
    body = content[size:]
    if encrypt:
        if keys is None:
            raise JT809Error("the frame is encrypted and no keys are configured for this peer")
        body = crypt(body, key, keys)
    return Frame(Header(msg_id, access_code, sn, tuple(version_flag), bool(encrypt), key, time), body)


def frame_access_code(raw: bytes) -> int | None:
    """The access code in a wire frame's header, the same place in both versions (to find the peer's settings
    before its frame can be read); None when the frame is too short or badly escaped."""
    try:
        content = _content(raw)
    except JT809Error:
        return None
    return int.from_bytes(content[10:14], "big") if len(content) >= 14 else None


def _content(raw: bytes) -> bytes:
    """The unescaped bytes between the flags. Some platforms do not escape at all (a real capture has a bare 0x5A
    in its body): a frame whose wire length is exactly its MSG_LENGTH and that does not unescape to that length is
    read as sent; its CRC still has to match."""
    declared = int.from_bytes(raw[1:5], "big") if len(raw) >= 5 else -1
    try:
        inner = unescape(raw[1:-1])
    except JT809Error:
        if declared != len(raw):
            raise
        return raw[1:-1]
    if len(inner) + 2 != declared and declared == len(raw):
        return raw[1:-1]
    return inner


class FrameSplitter:
    """Cuts a TCP byte stream into escaped frames ``5B … 5D``. Bytes outside frames are dropped; a frame growing
    past ``max_size`` (escaped bytes count double at most) is dropped up to its end, so a peer cannot make the
    server buffer without bound."""

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self.limit = max_size * 2
        self.oversized = 0
        self._buf = bytearray()
        self._in_frame = False
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        for b in data:  # frames are small and few per second per platform: a byte loop is simple and enough
            if b == HEAD:
                self._buf = bytearray([HEAD])
                self._in_frame, self._skipping = True, False
            elif not self._in_frame:
                continue
            elif b == TAIL:
                if not self._skipping:
                    frames.append(bytes(self._buf) + bytes([TAIL]))
                self._buf.clear()
                self._in_frame = False
            elif not self._skipping:
                self._buf.append(b)
                if len(self._buf) > self.limit:
                    self._skipping = True
                    self.oversized += 1
                    self._buf.clear()
        return frames


# ------------------------------------------------------------------------------------------- texts


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("gb18030", errors="replace")


def _octets(value: str, width: int, what: str) -> bytes:
    raw = value.encode("gb18030")
    if len(raw) > width:
        raise JT809Error(f"{what} {value!r} is {len(raw)} bytes in GBK; the field holds {width}")
    return raw.ljust(width, b"\x00")


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise JT809Error(f"{what} needs {size} bytes, the body has {len(data)}")


# ------------------------------------------------------------------------------------ link management


@dataclass(frozen=True)
class ConnectRequest:
    """0x1001 UP_CONNECT_REQ (main link): the lower platform logs in and names its sub-link server."""

    MSG_ID = MsgId.UP_CONNECT_REQ
    user_id: int
    password: str
    down_link_ip: str
    down_link_port: int
    gnss_center_id: int = 0  # 2019 only

    def encode(self, version: int) -> bytes:
        center = struct.pack(">I", self.gnss_center_id) if version == V2019 else b""
        return (
            struct.pack(">I", self.user_id)
            + _octets(self.password, 8, "PASSWORD")
            + center
            + _octets(self.down_link_ip, 32, "DOWN_LINK_IP")
            + struct.pack(">H", self.down_link_port)
        )

    @classmethod
    def decode(cls, data: bytes, version: int) -> "ConnectRequest":
        size = 50 if version == V2019 else 46
        _need(data, size, "0x1001")
        user_id = struct.unpack_from(">I", data)[0]
        password = _text(data[4:12])
        pos, center = 12, 0
        if version == V2019:
            center, pos = struct.unpack_from(">I", data, 12)[0], 16
        ip = _text(data[pos : pos + 32])
        port = struct.unpack_from(">H", data, pos + 32)[0]
        return cls(user_id, password, ip, port, center)


@dataclass(frozen=True)
class ConnectResponse:
    """0x1002 UP_CONNECT_RSP: the result and the verify code the upper will send back on the sub link."""

    MSG_ID = MsgId.UP_CONNECT_RSP
    result: int
    verify_code: int

    def encode(self, version: int) -> bytes:
        result = 0xFF if version == V2019 and self.result == ConnectResult.OTHER else self.result
        return struct.pack(">BI", result, self.verify_code)

    @classmethod
    def decode(cls, data: bytes, version: int) -> "ConnectResponse":
        _need(data, 5, "0x1002")
        result, code = struct.unpack_from(">BI", data)
        return cls(ConnectResult.OTHER if result == 0xFF else result, code)


@dataclass(frozen=True)
class DisconnectRequest:
    """0x1003 UP_DISCONNECT_REQ: the lower platform logs out (same credentials as the login)."""

    MSG_ID = MsgId.UP_DISCONNECT_REQ
    user_id: int
    password: str

    def encode(self, version: int) -> bytes:
        return struct.pack(">I", self.user_id) + _octets(self.password, 8, "PASSWORD")

    @classmethod
    def decode(cls, data: bytes, version: int) -> "DisconnectRequest":
        _need(data, 12, "0x1003")
        return cls(struct.unpack_from(">I", data)[0], _text(data[4:12]))


def _link_message(msg_id: int, name: str, field_name: str = "", code: str = ""):
    """A link-management message whose body is empty or one big-endian integer named ``field_name`` (``code``: its
    struct code, ``B`` or ``I``)."""
    layout = struct.Struct(">" + code)

    def encode(self, version: int) -> bytes:
        return layout.pack(*astuple(self))

    def decode(cls, data: bytes, version: int):
        _need(data, layout.size, f"0x{msg_id:04x}")
        return cls(*layout.unpack_from(data))

    namespace = {"MSG_ID": msg_id, "encode": encode, "decode": classmethod(decode), "__module__": __name__}
    return make_dataclass(name, [(field_name, int)] if field_name else [], namespace=namespace, frozen=True)


DisconnectResponse = _link_message(MsgId.UP_DISCONNECT_RSP, "DisconnectResponse")
LinkTest = _link_message(MsgId.UP_LINKTEST_REQ, "LinkTest")
LinkTestResponse = _link_message(MsgId.UP_LINKTEST_RSP, "LinkTestResponse")
# DisconnectInform: 0 main link broken, 1 other; CloseLinkInform: 0 gateway restart, 1 other
DisconnectInform = _link_message(MsgId.UP_DISCONNECT_INFORM, "DisconnectInform", "value", "B")
CloseLinkInform = _link_message(MsgId.UP_CLOSELINK_INFORM, "CloseLinkInform", "value", "B")
DownConnectRequest = _link_message(MsgId.DOWN_CONNECT_REQ, "DownConnectRequest", "verify_code", "I")
DownConnectResponse = _link_message(MsgId.DOWN_CONNECT_RSP, "DownConnectResponse", "value", "B")
DownDisconnectRequest = _link_message(MsgId.DOWN_DISCONNECT_REQ, "DownDisconnectRequest", "verify_code", "I")
DownDisconnectResponse = _link_message(MsgId.DOWN_DISCONNECT_RSP, "DownDisconnectResponse")
DownLinkTest = _link_message(MsgId.DOWN_LINKTEST_REQ, "DownLinkTest")
DownLinkTestResponse = _link_message(MsgId.DOWN_LINKTEST_RSP, "DownLinkTestResponse")
# DownDisconnectInform: 0 the lower platform unreachable
DownDisconnectInform = _link_message(MsgId.DOWN_DISCONNECT_INFORM, "DownDisconnectInform", "value", "B")
DownCloseLinkInform = _link_message(MsgId.DOWN_CLOSELINK_INFORM, "DownCloseLinkInform", "value", "B")


# ----------------------------------------------------------------------------------------- positions


@dataclass(frozen=True)
class Gnss:
    """One position, whichever block carried it. Time is aware UTC; speeds km/h; mileage km.

    2011: the 36-byte GNSS_DATA (longitude first, whole km/h, Beijing date and time). 2019: ``ENCRYPT |
    DATA_LENGTH | GNSS_DATA | 3 × (PLATFORM_ID 11, ALARM u32)`` where GNSS_DATA is a JT/T 808 0x0200 body, or, as
    some platforms send, a 35-byte 2011 block without its ENCRYPT byte (told apart by length). ``raw`` keeps a
    received 2019 GNSS_DATA so that it is re-encoded byte for byte; empty: built from the fields.
    """

    time: datetime
    longitude: float
    latitude: float
    speed_kmh: float = 0.0
    recorder_speed_kmh: float = 0.0
    mileage_km: float = 0.0
    direction: int = 0
    altitude: int = 0
    state: int = 0
    alarm: int = 0
    encrypt: int = 0  # 1: coordinates went through the map-secrecy offset plug-in (not frame encryption)
    platforms: tuple[
        tuple[bytes, int], ...
    ] = ()  # 2019: (PLATFORM_ID, ALARM) of monitoring, city, province; () unfilled
    raw: bytes = field(default=b"", compare=False)


_NO_PLATFORMS = ((b"\x00" * 11, 0),) * 3


def _pack_2011_position(g: Gnss) -> bytes:
    """The 2011 block after its ENCRYPT byte (35 B)."""
    local = g.time.astimezone(BEIJING)
    return _GNSS_2011.pack(
        0,
        local.day,
        local.month,
        local.year,
        local.hour,
        local.minute,
        local.second,
        round(g.longitude * 1e6),
        round(g.latitude * 1e6),
        round(g.speed_kmh),
        round(g.recorder_speed_kmh),
        round(g.mileage_km),
        g.direction,
        g.altitude,
        g.state,
        g.alarm,
    )[1:]


def _unpack_2011_position(data: bytes, encrypt: int) -> Gnss:
    _, day, month, year, hour, minute, second, lon, lat, v1, v2, v3, direction, alt, state, alarm = _GNSS_2011.unpack(
        b"\x00" + data[:35]
    )
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=BEIJING)
    except ValueError:
        raise JT809Error(f"GNSS time {year}-{month}-{day} {hour}:{minute}:{second} is not a date") from None
    return Gnss(local.astimezone(UTC), lon / 1e6, lat / 1e6, v1, v2, v3, direction, alt, state, alarm, encrypt)


def _gnss_808(g: Gnss) -> bytes:
    status = jt808.Status(g.state)
    location = jt808.Location(
        jt808.Alarm(g.alarm),
        status,
        g.latitude,
        g.longitude,
        g.altitude,
        g.speed_kmh,
        g.direction,
        g.time,
        mileage_km=g.mileage_km or None,
        recorder_speed_kmh=g.recorder_speed_kmh or None,
    )
    return jt808.encode_body(location, v2019=True)


def _from_808(data: bytes, encrypt: int) -> Gnss:
    try:
        loc = jt808.decode_body(jt808.MsgId.LOCATION, data, v2019=True)
    except jt808.MalformedBodyError:
        # Some platforms pad the block (a real capture ends in a lone 0xFF): read the 28-byte base only.
        try:
            loc = jt808.decode_body(jt808.MsgId.LOCATION, data[:28], v2019=True)
        except jt808.JT808Error as exc:
            raise JT809Error(f"GNSS_DATA is not a JT/T 808 position: {exc}") from None
    except jt808.JT808Error as exc:
        raise JT809Error(f"GNSS_DATA is not a JT/T 808 position: {exc}") from None
    return Gnss(
        loc.time,
        loc.longitude,
        loc.latitude,
        loc.speed_kmh,
        loc.recorder_speed_kmh or 0.0,
        loc.mileage_km or 0.0,
        loc.direction,
        loc.altitude,
        int(loc.status),
        int(loc.alarm),
        encrypt,
    )


def encode_gnss(g: Gnss, version: int) -> bytes:
    if version == V2011:
        return bytes([g.encrypt]) + _pack_2011_position(g)
    data = g.raw or _gnss_808(g)
    platforms = g.platforms or _NO_PLATFORMS
    tail = b"".join(pid.ljust(11, b"\x00")[:11] + struct.pack(">I", alarm) for pid, alarm in platforms)
    return bytes([g.encrypt]) + struct.pack(">I", len(data)) + data + tail


def decode_gnss(data: bytes, version: int) -> tuple[Gnss, int]:
    """(position, bytes used) of the block at the start of ``data``."""
    if version == V2011:
        _need(data, 36, "GNSS_DATA")
        return _unpack_2011_position(data[1:36], data[0]), 36
    _need(data, 5, "2019 GNSS block")
    encrypt, size = data[0], struct.unpack_from(">I", data, 1)[0]
    end = 5 + size + 45
    _need(data, end, f"2019 GNSS block with {size} bytes of GNSS_DATA")
    gnss_data = data[5 : 5 + size]
    # 35 bytes: a 2011 block without its ENCRYPT byte, as some platforms send; else a JT/T 808 0x0200 body
    position = _unpack_2011_position(gnss_data, encrypt) if size == 35 else _from_808(gnss_data, encrypt)
    platforms = tuple(
        (data[pos : pos + 11], struct.unpack_from(">I", data, pos + 11)[0]) for pos in range(5 + size, end, 15)
    )
    if platforms == _NO_PLATFORMS:
        platforms = ()  # unfilled
    return Gnss(**{**position.__dict__, "platforms": platforms, "raw": gnss_data}), end


# ------------------------------------------------------------------------------ vehicle sub-messages


@dataclass(frozen=True)
class VehicleRegistration:
    """0x1200/0x1201: the terminal fitted to a vehicle (2011 widths 11/11/20/7/12; 2019 11/11/30/IMEI 15/30/13)."""

    MSG_ID = MsgId.UP_EXG_MSG
    DATA_TYPE = SubId.REGISTER
    plate: str
    colour: int
    platform_id: str
    producer_id: str
    terminal_model: str
    terminal_id: str
    sim: str
    imei: str = ""  # 2019 only

    def encode_data(self, version: int) -> bytes:
        if version == V2011:
            return (
                _octets(self.platform_id, 11, "PLATFORM_ID")
                + _octets(self.producer_id, 11, "PRODUCER_ID")
                + _octets(self.terminal_model, 20, "TERMINAL_MODEL_TYPE")
                + _octets(self.terminal_id, 7, "TERMINAL_ID")
                + _octets(self.sim.rjust(12, "0"), 12, "TERMINAL_SIMCODE")
            )
        return (
            _octets(self.platform_id, 11, "PLATFORM_ID")
            + _octets(self.producer_id, 11, "PRODUCER_ID")
            + _octets(self.terminal_model, 30, "TERMINAL_MODEL_TYPE")
            + _octets(self.imei, 15, "IMEI")
            + _octets(self.terminal_id, 30, "TERMINAL_ID")
            + _octets(self.sim, 13, "TERMINAL_SIMCODE")
        )

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "VehicleRegistration":
        widths = (11, 11, 20, 7, 12) if version == V2011 else (11, 11, 30, 15, 30, 13)
        _need(data, sum(widths), "0x1201")
        parts, pos = [], 0
        for width in widths:
            parts.append(_text(data[pos : pos + width]))
            pos += width
        if version == V2011:
            platform_id, producer, model, terminal, sim = parts
            return cls(plate, colour, platform_id, producer, model, terminal, sim.lstrip("0"))
        platform_id, producer, model, imei, terminal, sim = parts
        return cls(plate, colour, platform_id, producer, model, terminal, sim, imei)


@dataclass(frozen=True)
class RealLocation:
    """0x1200/0x1202: a vehicle's real-time position (no answer)."""

    MSG_ID = MsgId.UP_EXG_MSG
    DATA_TYPE = SubId.REAL_LOCATION
    plate: str
    colour: int
    gnss: Gnss

    def encode_data(self, version: int) -> bytes:
        return encode_gnss(self.gnss, version)

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "RealLocation":
        return cls(plate, colour, decode_gnss(data, version)[0])


MAX_BACKFILL = 5  # the standard's 1-5 positions per 0x1203


@dataclass(frozen=True)
class HistoryLocation:
    """0x1200/0x1203: positions the lower platform could not send in time (GNSS_CNT 1-5, time-ordered)."""

    MSG_ID = MsgId.UP_EXG_MSG
    DATA_TYPE = SubId.HISTORY_LOCATION
    plate: str
    colour: int
    positions: tuple[Gnss, ...]

    def encode_data(self, version: int) -> bytes:
        if not 1 <= len(self.positions) <= MAX_BACKFILL:
            raise JT809Error(f"0x1203 carries 1 to {MAX_BACKFILL} positions, not {len(self.positions)}")
        return bytes([len(self.positions)]) + b"".join(encode_gnss(g, version) for g in self.positions)

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "HistoryLocation":
        _need(data, 1, "0x1203 GNSS_CNT")
        count, pos, positions = data[0], 1, []
        if not 1 <= count <= MAX_BACKFILL:
            raise JT809Error(f"0x1203 GNSS_CNT {count} is not between 1 and {MAX_BACKFILL}")
        for _ in range(count):
            g, used = decode_gnss(data[pos:], version)
            positions.append(g)
            pos += used
        return cls(plate, colour, tuple(positions))


MAX_INFO = 1024  # INFO_CONTENT of an alarm


@dataclass(frozen=True)
class WarnReport:
    """0x1400/0x1402 alarm report (no answer). 2011: after the plate prefix WARN_SRC, WARN_TYPE, WARN_TIME,
    INFO_ID, INFO_LENGTH, INFO_CONTENT. 2019: no prefix; SOURCE_PLATFORM_ID 11, WARN_TYPE, WARN_TIME, START,
    END, plate 21, colour, DESTINATION_PLATFORM_ID 11, DRV_LINE_ID u32, INFO_LENGTH, INFO_CONTENT."""

    MSG_ID = MsgId.UP_WARN_MSG
    DATA_TYPE = SubId.WARN_REPORT
    plate: str
    colour: int
    warn_type: int
    warn_time: int  # Unix seconds
    content: str = ""
    warn_src: int = 1  # 2011: 1 terminal, 2 enterprise platform, 3 government platform, 9 other
    info_id: int = 0  # 2011
    source_platform: str = ""  # 2019 from here
    start_time: int = 0
    end_time: int = 0
    destination_platform: str = ""
    line_id: int = 0

    def encode_data(self, version: int) -> bytes:
        info = self.content.encode("gb18030")
        if len(info) > MAX_INFO:
            raise JT809Error(f"INFO_CONTENT is {len(info)} bytes; at most {MAX_INFO}")
        if version == V2011:
            head = struct.pack(">BHQI", self.warn_src, self.warn_type, self.warn_time, self.info_id)
        else:
            head = (
                _octets(self.source_platform, 11, "SOURCE_PLATFORM_ID")
                + struct.pack(">HQQQ", self.warn_type, self.warn_time, self.start_time, self.end_time)
                + _octets(self.plate, 21, "VEHICLE_NO")
                + bytes([self.colour])
                + _octets(self.destination_platform, 11, "DESTINATION_PLATFORM_ID")
                + struct.pack(">I", self.line_id)
            )
        return head + struct.pack(">I", len(info)) + info

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "WarnReport":
        if version == V2011:
            _need(data, 19, "0x1402")
            src, warn_type, warn_time, info_id, length = struct.unpack_from(">BHQII", data)
            pos, extra = 19, {"warn_src": src, "info_id": info_id}
        else:
            _need(data, 78, "0x1402")
            source = _text(data[:11])
            warn_type, warn_time, start, end = struct.unpack_from(">HQQQ", data, 11)
            plate, colour = _text(data[37:58]), data[58]
            destination = _text(data[59:70])
            line_id, length = struct.unpack_from(">II", data, 70)
            pos = 78
            extra = {
                "source_platform": source,
                "start_time": start,
                "end_time": end,
                "destination_platform": destination,
                "line_id": line_id,
            }
        if length > MAX_INFO:
            raise JT809Error(f"INFO_LENGTH {length} exceeds {MAX_INFO}")
        _need(data, pos + length, "0x1402 INFO_CONTENT")
        content = data[pos : pos + length].decode("gb18030", errors="replace")
        return cls(plate, colour, warn_type, warn_time, content, **extra)


@dataclass(frozen=True)
class StaticInfo:
    """0x1600/0x1601: the vehicle's static information, ``key:=value;`` pairs in GBK, answering 0x9601."""

    MSG_ID = MsgId.UP_BASE_MSG
    DATA_TYPE = SubId.STATIC_INFO
    plate: str
    colour: int
    car_info: str

    def encode_data(self, version: int) -> bytes:
        return self.car_info.encode("gb18030")

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "StaticInfo":
        return cls(plate, colour, data.decode("gb18030", errors="replace"))

    def fields(self) -> dict[str, str]:
        """The ``key:=value;`` pairs (keys such as VIN, VEHICLE_TYPE, TRANS_TYPE, OWERS_NAME, RTPN…)."""
        pairs = {}
        for item in self.car_info.split(";"):
            key, sep, value = item.partition(":=")
            if sep and key.strip():
                pairs[key.strip()] = value.strip()
        return pairs


@dataclass(frozen=True)
class StaticInfoRequest:
    """0x9600/0x9601: the upper platform asks for a vehicle's static information (empty data)."""

    MSG_ID = MsgId.DOWN_BASE_MSG
    DATA_TYPE = SubId.STATIC_INFO_REQUEST
    plate: str
    colour: int

    def encode_data(self, version: int) -> bytes:
        return b""

    @classmethod
    def decode_data(cls, plate: str, colour: int, data: bytes, version: int) -> "StaticInfoRequest":
        return cls(plate, colour)


@dataclass(frozen=True)
class RegisterAck:
    """2019 0x9200/0x9201: the upper's answer to 0x1201 (no plate prefix): the request's sub-type and SN."""

    MSG_ID = MsgId.DOWN_EXG_MSG
    DATA_TYPE = SubId.REGISTER_ACK
    source_data_type: int
    source_sn: int
    result: int

    def encode_data(self, version: int) -> bytes:
        return struct.pack(">HIB", self.source_data_type, self.source_sn, self.result)

    @classmethod
    def decode_data(cls, data: bytes, version: int) -> "RegisterAck":
        _need(data, 7, "0x9201")
        return cls(*struct.unpack_from(">HIB", data))


VEHICLE_MESSAGES = {
    cls.DATA_TYPE: cls
    for cls in (VehicleRegistration, RealLocation, HistoryLocation, WarnReport, StaticInfo, StaticInfoRequest)
}
LINK_MESSAGES = {
    cls.MSG_ID: cls
    for cls in (
        ConnectRequest,
        ConnectResponse,
        DisconnectRequest,
        DisconnectResponse,
        LinkTest,
        LinkTestResponse,
        DisconnectInform,
        CloseLinkInform,
        DownConnectRequest,
        DownConnectResponse,
        DownDisconnectRequest,
        DownDisconnectResponse,
        DownLinkTest,
        DownLinkTestResponse,
        DownDisconnectInform,
        DownCloseLinkInform,
    )
}


@dataclass(frozen=True)
class Unsupported:
    """A well-framed message this platform does not handle (its business type and sub-type, if any)."""

    msg_id: int
    data_type: int | None = None


def _plain_prefix(msg_id: int, version: int) -> bool:
    """Whether the body starts with DATA_TYPE/DATA_LENGTH only (2019's alarms and 0x9200 answers)."""
    return version == V2019 and msg_id in (MsgId.UP_WARN_MSG, MsgId.DOWN_EXG_MSG)


def encode_body(body, version: int) -> tuple[int, bytes]:
    """(MSG_ID, body bytes) of a message dataclass."""
    if version not in VERSIONS:
        raise JT809Error(f"version {version} is neither 2011 nor 2019")
    if body.MSG_ID in LINK_MESSAGES:
        return body.MSG_ID, body.encode(version)
    data = body.encode_data(version)
    if isinstance(body, RegisterAck) or _plain_prefix(body.MSG_ID, version):
        return body.MSG_ID, _DATA_PREFIX.pack(body.DATA_TYPE, len(data)) + data
    prefix = _PLATE_PREFIX.pack(_octets(body.plate, 21, "VEHICLE_NO"), body.colour, body.DATA_TYPE, len(data))
    return body.MSG_ID, prefix + data


def decode_body(msg_id: int, data: bytes, version: int):
    """The message dataclass of a decrypted body, or ``Unsupported``; ``JT809Error`` for a malformed one."""
    if msg_id in LINK_MESSAGES:
        return LINK_MESSAGES[msg_id].decode(data, version)
    if msg_id not in (MsgId.UP_EXG_MSG, MsgId.UP_WARN_MSG, MsgId.UP_BASE_MSG, MsgId.DOWN_EXG_MSG, MsgId.DOWN_BASE_MSG):
        return Unsupported(msg_id)
    if _plain_prefix(msg_id, version) or msg_id == MsgId.DOWN_EXG_MSG:
        _need(data, _DATA_PREFIX.size, f"0x{msg_id:04x} prefix")
        data_type, length = _DATA_PREFIX.unpack_from(data)
        plate, colour, pos = "", 0, _DATA_PREFIX.size
    else:
        _need(data, _PLATE_PREFIX.size, f"0x{msg_id:04x} plate prefix")
        raw_plate, colour, data_type, length = _PLATE_PREFIX.unpack_from(data)
        plate, pos = _text(raw_plate), _PLATE_PREFIX.size
    if len(data) - pos != length:
        raise JT809Error(f"DATA_LENGTH says {length} bytes, the body holds {len(data) - pos}")
    payload = data[pos:]
    if msg_id == MsgId.DOWN_EXG_MSG:
        if data_type == SubId.REGISTER_ACK:
            return RegisterAck.decode_data(payload, version)
        return Unsupported(msg_id, data_type)
    cls = VEHICLE_MESSAGES.get(data_type)
    if cls is None or msg_id != cls.MSG_ID:
        return Unsupported(msg_id, data_type)
    return cls.decode_data(plate, colour, payload, version)


def encode_message(body, version: int, access_code: int, sn: int, keys: Keys | None = None, **header) -> bytes:
    """A whole wire frame for a body; with the peer's ``keys`` its body is encrypted, under a fresh random key unless
    ``key`` is given (other header options: version_flag, encrypted, time)."""
    if keys is not None:
        header.setdefault("encrypted", True)
        header.setdefault("key", secrets.randbits(32))
    msg_id, data = encode_body(body, version)
    if version == V2019 and header.get("time") is None:
        header["time"] = int(datetime.now(UTC).timestamp())
    return encode_frame(Header(msg_id, access_code, sn, **header), data, version, keys)
