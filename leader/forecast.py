"""Weekly trend forecast and anomaly flags for the leaders' trends panel — plain numpy, no Django.

Method (a seasonal baseline, chosen because a leader must be able to check it by hand):

* **forecast** for week ``n + h`` (``h`` = 1, 2, … after the last observed week ``n - 1``):
  the mean of the last ``TRAILING_WEEKS`` observed weeks (the current level), blended half and half with
  the same week one year earlier (``SEASON_WEEKS`` back, the seasonal naive forecast) when the history
  reaches back that far. With less than a year of history it is the trailing mean alone.
* **error on past data**: the last ``holdout`` weeks are hidden, forecast from the weeks before them, and
  compared with what happened: MAE (mean absolute error, in the series' unit) and MAPE (mean absolute
  percentage error over the weeks whose actual value is not zero).
* **anomalies**: every week is compared with its one-week-ahead forecast from the weeks before it; the
  residuals get a robust z-score (Iglewicz and Hoaglin's modified z, ``0.6745 · (r − median) / MAD``) and a
  week is flagged when ``|z| > ANOMALY_Z``. A robust score, because one burst week must not hide another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEASON_WEEKS = 52
TRAILING_WEEKS = 4
SEASONAL_WEIGHT = 0.5
ANOMALY_Z = 3.5
# For a MAD of zero (more than half the residuals equal): the mean absolute deviation scaled to match σ.
_MEAN_AD_TO_SIGMA = 1.253314
_MAD_TO_SIGMA = 0.6745

METHOD = (
    f"mean of the last {TRAILING_WEEKS} weeks, blended {SEASONAL_WEIGHT:.0%} with the same week last year "
    "when a year of history exists"
)


def _series(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError("a weekly series is one-dimensional")
    if not np.all(np.isfinite(array)):
        raise ValueError("a weekly series has only finite values")
    return array


def forecast(history: Sequence[float], horizon: int) -> np.ndarray:
    """The baseline forecast for the ``horizon`` weeks after ``history`` (oldest week first)."""
    y = _series(history)
    if horizon < 1:
        raise ValueError("horizon must be at least one week")
    if len(y) == 0:
        raise ValueError("a forecast needs at least one week of history")
    level = y[-TRAILING_WEEKS:].mean()
    out = np.full(horizon, level)
    for step in range(horizon):
        same_week_last_year = len(y) + step - SEASON_WEEKS
        if same_week_last_year >= 0:
            out[step] = SEASONAL_WEIGHT * y[same_week_last_year] + (1 - SEASONAL_WEIGHT) * level
    return out


@dataclass(frozen=True)
class Backtest:
    """The forecast made as if the last ``len(actual)`` weeks were unknown, and its error."""

    predicted: list[float]
    actual: list[float]
    mae: float
    mape: float | None  # None when every held-out week is zero


def backtest(history: Sequence[float], holdout: int) -> Backtest:
    y = _series(history)
    if holdout < 1 or holdout >= len(y):
        raise ValueError(f"holdout must be between 1 and {len(y) - 1} weeks for {len(y)} weeks of history")
    actual = y[-holdout:]
    predicted = forecast(y[:-holdout], holdout)
    errors = np.abs(actual - predicted)
    nonzero = actual != 0
    mape = float((errors[nonzero] / np.abs(actual[nonzero])).mean()) if nonzero.any() else None
    return Backtest(predicted.tolist(), actual.tolist(), float(errors.mean()), mape)


def robust_z(residuals: Sequence[float]) -> np.ndarray:
    """Modified z-scores; all zero when the residuals do not vary at all."""
    r = _series(residuals)
    if len(r) == 0:
        return r
    centre = np.median(r)
    deviation = np.abs(r - centre)
    mad = np.median(deviation)
    if mad > 0:
        return _MAD_TO_SIGMA * (r - centre) / mad
    mean_ad = deviation.mean()
    if mean_ad > 0:
        return (r - centre) / (_MEAN_AD_TO_SIGMA * mean_ad)
    return np.zeros_like(r)


@dataclass(frozen=True)
class WeekCheck:
    index: int  # position in the series
    expected: float  # one-week-ahead forecast from the weeks before
    z: float
    anomaly: bool


def anomalies(history: Sequence[float], threshold: float = ANOMALY_Z, warmup: int = TRAILING_WEEKS) -> list[WeekCheck]:
    """Every week after the first ``warmup`` weeks, with its expected value, robust z and flag."""
    y = _series(history)
    if len(y) <= warmup:
        return []
    expected = np.array([forecast(y[:t], 1)[0] for t in range(warmup, len(y))])
    z = robust_z(y[warmup:] - expected)
    return [WeekCheck(warmup + i, float(expected[i]), float(z[i]), bool(abs(z[i]) > threshold)) for i in range(len(z))]
