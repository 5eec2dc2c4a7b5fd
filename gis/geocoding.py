"""Chinese address text → its elements (GA/T 2000.32 levels: 省/市/区县/街道镇/社区村/街路巷/门牌号/楼栋/单元/户室).

Plain Python, no Django: the geocoder (gis/geocoder.py) matches the elements against the address layer.

The text is normalised first (NFKC turns full-width digits and letters into ASCII; spaces and punctuation go;
Chinese numerals before 号/栋/单元/室 become digits, so 十二号 → 12号).  The house part is peeled off the end
(room, unit, building, number), the administrative levels off the start (each only when it leaves a road of at
least two characters), and what remains is the road.  A road whose name the parser cannot see (a typo in its
suffix, or none) is still the remainder: the trigram ranking of the geocoder copes with wrong or missing
characters, so the parser never has to be exact.
"""

import re
import unicodedata
from dataclasses import asdict, dataclass

# GB/T 2260 province-level divisions: the first two digits of a division code → the name.
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip
_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")
# Longest first, so 广西壮族自治区 is taken whole before 广西.
_PROVINCE_NAMES = sorted(
    {name for full in PROVINCES.values() for name in (full, _PROVINCE_SUFFIX.sub("", full))}, key=len, reverse=True
)
# Municipalities are province and city at once: 北京市朝阳区 names no separate city.
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})

# Generic road suffixes, longest first (大道 before 道). 路 and 道 are often confused: the geocoder compares the
# specific part of the name (the road key) and the suffix separately.
ROAD_SUFFIXES = ("大道", "大街", "胡同", "路", "街", "道", "巷", "弄", "里")
_ROAD_SUFFIX = re.compile("(" + "|".join(ROAD_SUFFIXES) + ")$")

_LEVELS = (  # (element, pattern at the start of the text), in the order they appear in an address
    ("city", re.compile(r"^(.{2,6}?(?:自治州|地区|盟|市))")),
    ("district", re.compile(r"^(.{1,6}?(?:新区|(?<!社)区|县|旗|市))")),
    ("street", re.compile(r"^(.{1,8}?(?:街道办事处|街道办|街道|镇|乡))")),
    ("community", re.compile(r"^(.{1,8}?(?:社区居委会|社区|居委会|村委会|村))")),
)
_MIN_ROAD_KEY = 2  # an administrative level is only taken off when a road key this long is left (乐乡一路 is a road)

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CHINESE_NUMBER = re.compile(
    r"[零〇一二两三四五六七八九十百千]+(?=号|栋|座|幢|单元|室|楼|层|#)|(?<=单元)[零〇一二两三四五六七八九十百千]+$"
)
_ORDINAL_DIGITS = "〇一二三四五六七八九"

_ROOM = re.compile(r"(?:(?<=单元)|(?<=[栋座幢]))(\d+)(?:室|房|号)?$|(\d+)(?:室|房)$")
_UNIT = re.compile(r"(\d+)单元$")
_BUILDING = re.compile(r"([0-9]+|[A-Z]\d*|\d+[A-Z])(?:号楼|栋|座|幢)$")
_NUMBER = re.compile(r"(\d+)(?:号院|号|#)?$")
_NOISE = re.compile(r"[^\w#]|_")  # spaces and punctuation; NFKC has made full-width forms ASCII already
_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")  # (近地铁站) and the like: remarks, not elements


@dataclass(frozen=True)
class AddressElements:
    """The elements of one address text; empty strings and None where the text names none."""

    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    community: str = ""
    road: str = ""
    number: int | None = None
    building: str = ""
    unit: str = ""
    room: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def chinese_number(text: str) -> int:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105, 五零一 → 501 (digit by digit when there is no 十/百/千)."""
    if not any(c in _UNITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[c]
            digit = None
        else:
            digit = _DIGITS[c]
    return total + (digit or 0)


def normalise(text: str) -> str:
    """Full-width → ASCII, upper-case letters, no spaces, punctuation or bracketed remarks, Chinese numerals before
    a house-part marker as digits.  The same function normalises the address layer's search text."""
    text = unicodedata.normalize("NFKC", text).upper()
    text = _NOISE.sub("", _BRACKETED.sub("", text))
    return _CHINESE_NUMBER.sub(lambda m: str(chinese_number(m.group())), text)


def road_name(road: str) -> str:
    """A road name as the layer writes it: Arabic ordinals in Chinese (福华1路 → 福华一路)."""
    return re.sub(r"\d", lambda m: _ORDINAL_DIGITS[int(m.group())], road)


def road_key(road: str) -> str:
    """The specific part of a road name, which is what tells roads apart: the generic suffix dropped, ordinals in
    Chinese (福华1路 → 福华一, 深南大道 → 深南); the whole name when it is nothing but a suffix."""
    name = road_name(road)
    return _ROAD_SUFFIX.sub("", name) or name


def search_text(road: str) -> str:
    """What the trigram index of the address layer holds for a road: its name, then the characters of its key one by
    one. pg_trgm pads each word, so the single characters add one trigram pair each: a two-character key with one
    wrong character still shares one of them (清夏路 finds 清厦路), which the bare name would not."""
    return f"{road_name(road)} {' '.join(road_key(road))}"


def _leaves_road(rest: str) -> bool:
    return len(road_key(rest)) >= _MIN_ROAD_KEY


def _peel(pattern: re.Pattern, text: str) -> tuple[str, str]:
    match = pattern.search(text)
    if not match:
        return "", text
    return next(g for g in match.groups() if g is not None), text[: match.start()]


def parse(text: str) -> AddressElements:
    """The elements of an address text (see the module docstring); never fails, at worst everything is the road."""
    rest = normalise(text)
    room, rest = _peel(_ROOM, rest)
    unit, rest = _peel(_UNIT, rest)
    building, rest = _peel(_BUILDING, rest)
    number_text, rest = _peel(_NUMBER, rest)
    found = {"province": ""}
    for name in _PROVINCE_NAMES:
        if rest.startswith(name) and _leaves_road(rest[len(name) :]):
            found["province"] = next(full for full in PROVINCES.values() if full.startswith(name))
            rest = rest[len(name) :]
            break
    for element, pattern in _LEVELS:
        match = pattern.match(rest)
        found[element] = ""
        if match and _leaves_road(rest[match.end() :]):
            found[element], rest = match.group(1), rest[match.end() :]
    if found["province"] in MUNICIPALITIES and not found["city"]:
        found["city"] = found["province"]
    return AddressElements(
        **found,
        road=rest,
        number=int(number_text) if number_text else None,
        building=building,
        unit=unit,
        room=room,
    )
