"""The trend forecast and anomaly flags against values computed by hand (no database)."""

import pytest

from leader import forecast as fc


def test_short_history_forecasts_the_trailing_four_week_mean():
    # (20 + 30 + 40 + 50) / 4 = 35, the same for every coming week: no year-ago week to blend in.
    assert fc.forecast([10, 20, 30, 40, 50], 2).tolist() == [35.0, 35.0]


def test_a_year_of_history_blends_the_same_week_last_year_half_and_half():
    history = list(range(52))  # week i had i cases
    # level = mean(48, 49, 50, 51) = 49.5; week 52 is one year after week 0 (0 cases), week 53 after week 1.
    assert fc.forecast(history, 3).tolist() == [0.5 * 0 + 0.5 * 49.5, 0.5 * 1 + 0.5 * 49.5, 0.5 * 2 + 0.5 * 49.5]


def test_backtest_hides_the_last_weeks_and_measures_mae_and_mape():
    result = fc.backtest([10, 10, 10, 10, 12, 8], holdout=2)
    assert result.predicted == [10.0, 10.0]
    assert result.actual == [12.0, 8.0]
    assert result.mae == pytest.approx(2.0)
    assert result.mape == pytest.approx((2 / 12 + 2 / 8) / 2)


def test_mape_leaves_out_weeks_with_nothing_and_is_none_when_all_are_empty():
    result = fc.backtest([5, 5, 5, 5, 0, 10], holdout=2)
    assert result.mae == pytest.approx(5.0)
    assert result.mape == pytest.approx(0.5)  # only the week with 10: |10 - 5| / 10
    assert fc.backtest([5, 5, 0, 0], holdout=2).mape is None


def test_robust_z_uses_the_median_absolute_deviation():
    # median 3, absolute deviations 2 1 0 1 97 → MAD 1; z = 0.6745 · (r − 3)
    z = fc.robust_z([1, 2, 3, 4, 100])
    assert z.tolist() == pytest.approx([-1.349, -0.6745, 0, 0.6745, 65.4265])


def test_robust_z_falls_back_to_the_mean_deviation_when_mad_is_zero():
    # median 0, MAD 0, mean absolute deviation 8 / 5 = 1.6 → z(8) = 8 / (1.253314 · 1.6)
    z = fc.robust_z([0, 0, 0, 0, 8])
    assert z[-1] == pytest.approx(8 / (1.253314 * 1.6))
    assert fc.robust_z([3, 3, 3]).tolist() == [0, 0, 0]


def test_one_burst_week_is_flagged_and_the_weeks_after_it_are_not():
    series = [10] * 8 + [40] + [10] * 3
    checks = fc.anomalies(series)
    assert [c.index for c in checks] == list(range(4, 12))
    # residuals: 0 0 0 0 30 −7.5 −7.5 −7.5 → median 0, MAD 3.75 → z(30) = 0.6745 · 30 / 3.75
    burst = checks[4]
    assert burst.expected == 10
    assert burst.z == pytest.approx(0.6745 * 30 / 3.75)
    assert [c.index for c in checks if c.anomaly] == [8]
    assert checks[5].expected == pytest.approx(17.5)  # mean(10, 10, 10, 40)


def test_too_short_for_anomalies_gives_nothing():
    assert fc.anomalies([1, 2, 3, 4]) == []


@pytest.mark.parametrize(
    ("history", "horizon"),
    [([], 1), ([1, 2], 0), ([1, float("nan")], 1), ([[1, 2]], 1)],
)
def test_bad_series_are_refused(history, horizon):
    with pytest.raises(ValueError):
        fc.forecast(history, horizon)


@pytest.mark.parametrize("holdout", [0, 4, 9])
def test_holdout_must_leave_some_history(holdout):
    with pytest.raises(ValueError):
        fc.backtest([1, 2, 3, 4], holdout)
