"""The address parser on a table of address forms: no database."""

import pytest

from gis.geocoding import chinese_number, parse, road_key, search_text

FORMS = [
    # text, expected elements (only those named; the others must be empty)
    (
        "广东省深圳市福田区福保街道莲花社区福华一路12号3栋2单元501室",
        dict(province="广东省", city="深圳市", district="福田区", street="福保街道", community="莲花社区",
             road="福华一路", number=12, building="3", unit="2", room="501"),
    ),
    ("深圳市福田区福华一路12号", dict(city="深圳市", district="福田区", road="福华一路", number=12)),
    ("福田区福华一路12号", dict(district="福田区", road="福华一路", number=12)),
    ("福华一路12号", dict(road="福华一路", number=12)),
    ("福华一路12", dict(road="福华一路", number=12)),
    ("福华一路十二号", dict(road="福华一路", number=12)),
    ("深南大道一百零五号", dict(road="深南大道", number=105)),
    ("福华一路１２号", dict(road="福华一路", number=12)),
    ("福华1路12号", dict(road="福华1路", number=12)),
    ("  深圳市 福田区，福华一路 12 号 ", dict(city="深圳市", district="福田区", road="福华一路", number=12)),
    ("福华一路12号（近地铁站）", dict(road="福华一路", number=12)),
    ("福华一路12号A座", dict(road="福华一路", number=12, building="A")),
    ("福华一路12号3号楼2单元", dict(road="福华一路", number=12, building="3", unit="2")),
    ("福华一路12号三栋二单元五零一", dict(road="福华一路", number=12, building="3", unit="2", room="501")),
    ("福华一路12号501室", dict(road="福华一路", number=12, room="501")),
    ("莲花社区福华一路12号", dict(community="莲花社区", road="福华一路", number=12)),
    ("福田区福华一路", dict(district="福田区", road="福华一路")),
    ("北京市朝阳区建国路88号", dict(province="北京市", city="北京市", district="朝阳区", road="建国路", number=88)),
    ("广西壮族自治区南宁市青秀区民族大道1号", dict(province="广西壮族自治区", city="南宁市", district="青秀区",
                                                  road="民族大道", number=1)),
    ("乐乡一路5号", dict(road="乐乡一路", number=5)),  # 乐乡 is no 乡 (town): it would leave no road
    ("园区路3号", dict(road="园区路", number=3)),  # nor is 园区 a district
    ("福华一道12号", dict(road="福华一道", number=12)),
    ("", dict()),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[text or "empty" for text, _ in FORMS])
def test_parse(text, expected):
    elements = parse(text).as_dict()
    assert elements == {name: expected.get(name, None if name == "number" else "") for name in elements}


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("一百零五", 105), ("五零一", 501)],
)
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


def test_road_key_drops_the_suffix_and_writes_ordinals_in_chinese():
    assert road_key("福华1路") == road_key("福华一道") == road_key("福华一路") == "福华一"
    assert road_key("深南大道") == "深南"
    assert road_key("路") == "路"
    assert search_text("清厦路") == "清厦路 清 厦"
