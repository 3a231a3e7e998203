"""The Kaplan-Meier estimator and its median: the survival curve of a cohort with censoring and late entry.

* :func:`kaplan_meier`: Kaplan & Meier (1958) product-limit estimate with Greenwood's (1926) variance
  and the log-log interval (Kalbfleisch & Prentice 2002; R ``survfit(..., conf.type = "log-log")``;
  lifelines' default "exponential Greenwood" interval), left truncation as R's
  ``Surv(entry, time, event)``;
* :func:`km_median`: the median with R's rule (``quantile.survfit``: midpoint of a flat segment at
  0.5) and its interval read on the confidence curves (Brookmeyer & Crowley 1982).

One file per estimator (as lifelines): the formulas are in the docstrings. Part of the interface of
:mod:`evaluation.stats.cohorts`, which re-exports both (``evaluation.cohorts.kaplan_meier``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evaluation.stats.cohort_inputs import _event_array, _require_columns
from evaluation.stats.intervals import _critical_value
from evaluation.stats.survival_inputs import _entry_array, _float_array, _sort_with_flags

__all__ = ["KM_COLUMNS", "kaplan_meier", "km_median"]

#: Columns of :func:`kaplan_meier`, in order.
KM_COLUMNS = ("time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper")
#: R's tolerance for a survival curve "exactly" at a quantile (``quantile.survfit``: sqrt(eps)).
_QUANTILE_TOLERANCE = math.sqrt(np.finfo(float).eps)


def _z(conf_level: float) -> float:
    """Two-sided standard normal quantile ``Phi^-1(1 - (1 - conf_level) / 2)``."""
    return _critical_value(conf_level)


def _greenwood_sum(at_risk: np.ndarray, events: np.ndarray) -> np.ndarray:
    """``sum_{t_i <= t} d_i / (n_i (n_i - d_i))``; infinite from the first time everyone left had the event."""
    n = at_risk.astype(float)
    d = events.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
    return np.cumsum(terms)


def _loglog_interval(survival: np.ndarray, greenwood: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-log interval; ``[1, 1]`` where ``S = 1`` and NaN where ``S = 0`` (see :func:`kaplan_meier`).

    ``exp(-exp(log(-log S) -/+ r))`` with ``r = z sqrt(c) / log S`` is written ``exp(log S * exp(-/+ r))``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        factor = np.exp(z * np.sqrt(greenwood) / log_s)
        lower = np.exp(log_s / factor)
        upper = np.exp(log_s * factor)
    one = survival >= 1
    lower[one] = 1.0
    upper[one] = 1.0
    zero = survival <= 0
    lower[zero] = np.nan
    upper[zero] = np.nan
    return lower, upper


def _empty_km() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": np.array([], dtype=float),
            "at_risk": np.array([], dtype=np.int64),
            "events": np.array([], dtype=np.int64),
            "censored": np.array([], dtype=np.int64),
            "survival": np.array([], dtype=float),
            "ci_lower": np.array([], dtype=float),
            "ci_upper": np.array([], dtype=float),
        }
    )


def kaplan_meier(
    durations: ArrayLike,
    events: ArrayLike,
    conf_level: float = 0.95,
    entry: ArrayLike | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier survival curve with Greenwood variance and log-log confidence interval.

    One row per distinct time ``t_i`` at which someone has the event or is censored, sorted, with
    the columns :data:`KM_COLUMNS`:

    * ``at_risk`` ``n_i``: the people really at risk at ``t_i``: ``duration >= t_i`` and, with
      ``entry``, ``entry < t_i`` (R's counting-process convention ``Surv(entry, time, event)``: a
      person entering at ``t_i`` is not at risk at ``t_i``; lifelines counts them, so the two differ
      only when an entry time equals an event time);
    * ``events`` ``d_i`` and ``censored`` at ``t_i``; at a tie, events happen before censorings (the
      people censored at ``t_i`` are in ``n_i``);
    * ``survival`` ``S(t_i) = prod_{t_j <= t_i} (1 - d_j / n_j)``;
    * ``ci_lower``, ``ci_upper``: with ``z`` the two-sided normal quantile of ``conf_level`` and
      Greenwood's ``c(t) = sum_{t_j <= t} d_j / (n_j (n_j - d_j))`` (the variance of ``log S``), the
      interval of ``log(-log S)`` is ``log(-log S) -/+ z sqrt(c) / |log S|``, i.e.
      ``S ** exp(+z sqrt(c) / |log S|)`` (lower) and ``S ** exp(-z sqrt(c) / |log S|)`` (upper). This is
      R's ``conf.type = "log-log"`` and lifelines' exponential Greenwood interval.

    ``durations``: time from the origin to the event or censoring (any unit; months here).
    ``events``: True/1 when the event was observed, False/0 when censored. ``entry`` (optional):
    time each person entered observation (left truncation), strictly before their duration.

    Edge cases: **S = 1** (before the first event, and everywhere when all are censored): interval
    ``[1, 1]`` (lifelines; R 3.x gives NA). **S = 0** (the last people at risk all had the event):
    interval NaN, as R (``survfit_confint`` sets NA where ``p == 0``; lifelines gives ``[0, 0]``).
    Zero-length input: an empty frame with the columns. Raises
    :class:`~evaluation.errors.UsageError` for missing values, lengths that differ, events other
    than 0/1, an ``entry`` not strictly before its duration, a ``conf_level`` outside (0, 1).
    ``attrs["conf_level"]`` records the level.
    """
    z = _z(conf_level)
    t = _float_array(durations, "durations")
    d_flags = _event_array(events, t.size)
    entries = None if entry is None else _entry_array(entry, t)
    if t.size == 0:
        table = _empty_km()
        table.attrs["conf_level"] = conf_level
        return table
    n = t.size
    sorted_t, sorted_events = _sort_with_flags(t, d_flags)
    is_first = np.empty(n, dtype=bool)
    is_first[0] = True
    np.not_equal(sorted_t[1:], sorted_t[:-1], out=is_first[1:])
    first = np.flatnonzero(is_first)
    times = sorted_t[first]
    leaving = np.diff(np.append(first, n))
    event_counts = np.add.reduceat(sorted_events.astype(np.int64), first)
    at_risk = n - first  # duration >= t_i
    if entries is not None:
        # Subtract those not entered yet (entry >= t_i). Only entries at or after the first time matter;
        # k = number of times <= entry, and entry >= t_i exactly when i < k.
        late = np.sort(entries[entries >= times[0]])
        if late.size:
            k = np.searchsorted(times, late, side="right")
            entered_by = np.cumsum(np.bincount(k, minlength=times.size + 1))[: times.size]
            at_risk = at_risk - (late.size - entered_by)
    survival = np.cumprod(1.0 - event_counts / at_risk)
    lower, upper = _loglog_interval(survival, _greenwood_sum(at_risk, event_counts), z)
    table = pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(np.int64),
            "events": event_counts,
            "censored": leaving - event_counts,
            "survival": survival,
            "ci_lower": lower,
            "ci_upper": upper,
        },
        copy=False,  # fresh arrays
    )
    table.attrs["conf_level"] = conf_level
    return table


def _quantile_time(times: np.ndarray, curve: np.ndarray, p: float = 0.5) -> float:
    """R's ``findq`` (survival, ``quantile.survfit``) for a quantile of a survival-type curve.

    With ``tol = sqrt(eps)`` and ``y = 1 - curve``: NaN when the curve never reaches ``p`` (all values
    ``> p``, NaN ignored); otherwise ``i1`` = first time with ``y + tol >= 1 - p`` and ``i2`` = first
    time with ``y - tol >= 1 - p``; the quantile is ``(t[i1] + t[i2]) / 2``, i.e. ``t[i1]`` unless the
    curve sits at ``p`` on a flat segment, whose midpoint it is then. A curve that *ends* at ``p``
    (no NaN at its end) gives ``(t[i1] + last time) / 2``; a flat at ``p`` never left otherwise: NaN.
    A confidence curve can rise slightly at a small risk set; R's ``approx`` then may pick a later
    crossing of ``p``, we keep the first one (the definition: the smallest time).
    """
    q = 1.0 - p
    y = 1.0 - curve
    valid = ~np.isnan(y)
    if not valid.any() or y[valid].max() < q:
        return math.nan
    tol = _QUANTILE_TOLERANCE
    i1 = int(np.argmax(y + tol >= q))  # NaN compares False
    if not np.isnan(y[-1]) and abs(q - y[-1]) < tol:
        return float((times[i1] + times[-1]) / 2)
    reached = y - tol >= q
    if not reached.any():
        return math.nan
    i2 = int(np.argmax(reached))
    return float((times[i1] + times[i2]) / 2)


def km_median(km: pd.DataFrame, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Median survival time and its confidence interval, with R's rules: ``(median, lower, upper)``.

    * Median: the smallest time ``t`` with ``S(t) <= 0.5``; when ``S`` equals 0.5 (within
      ``sqrt(eps)``) on a flat segment, the midpoint of that segment, from the time ``S`` reached 0.5
      to the next event time (R ``print.survfit`` / ``quantile.survfit``; lifelines takes the start of
      the segment). A curve that ends at exactly 0.5 gives the midpoint to the last time of the table.
    * Interval (Brookmeyer & Crowley 1982, as R): the same rule applied to the confidence curves:
      ``lower`` on ``ci_lower`` (the smallest ``t`` with ``ci_lower(t) <= 0.5``), ``upper`` on
      ``ci_upper``. The curves are recomputed from ``at_risk`` and ``events`` at ``conf_level``, so
      the level need not be the one the table was built with.

    Returns **NaN** for a bound the curve never reaches ("not reached": the median, or its upper
    bound, lies beyond the follow-up), like R's NA; lifelines returns ``inf`` there. An empty table
    gives three NaN. ``km`` is a :func:`kaplan_meier` table.
    """
    z = _z(conf_level)
    _require_columns(km, ("time", "at_risk", "events", "survival"), "the Kaplan-Meier table")
    if len(km) == 0:
        return math.nan, math.nan, math.nan
    times = km["time"].to_numpy(dtype=float)
    survival = km["survival"].to_numpy(dtype=float)
    greenwood = _greenwood_sum(km["at_risk"].to_numpy(), km["events"].to_numpy())
    lower, upper = _loglog_interval(survival, greenwood, z)
    return _quantile_time(times, survival), _quantile_time(times, lower), _quantile_time(times, upper)
