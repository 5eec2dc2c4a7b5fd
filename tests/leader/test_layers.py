"""Class breaks of the choropleths (no database)."""

from leader.layers import quantile_breaks


def test_quantile_classes_of_two_areas_are_two():
    assert quantile_breaks([468, 452]) == [452, 468]
    assert quantile_breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == [2, 4, 6, 8, 10]
    assert quantile_breaks([3, 3, 3]) == [3]
    assert quantile_breaks([]) == []
