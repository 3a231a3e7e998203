"""Cumulative incidence of an outcome under competing risks: the Aalen-Johansen estimator.

A beneficiary's *first* event after a programme can be a job (the outcome) or something else that
ends the wait for it: a training, for instance. ``1 - S`` of a Kaplan-Meier curve that treats the
training as a censoring answers "what share would have found a job if nobody could go to training"
and overstates the share who found a job (the trainees are assumed to behave like those still
waiting). The cumulative incidence function ``F1(t)`` answers the question asked: the probability
of a job as first event by time ``t``, with training as a *competing* event. Example (the cohort
issue): 100 people, 30 trainings at month 2, 40 permanent contracts at month 3, 30 censored at
month 24 without event: ``F1(12) = 0.40``, while ``1 - KM`` with the trainings censored gives
``40 / 70 = 0.571``.

**Event codes**: 0 censored, 1 the outcome, any integer >= 2 a competing event (several kinds may
be coded 2, 3, 5, ...: the cumulative incidence of cause 1 depends on the others only through the
all-cause survival, so they are pooled).

**Estimators** (formulas in each docstring): :func:`cumulative_incidence_curve`, the Aalen-Johansen
(1978) estimate with the delta-method variance of Collett (2015, *Modelling Survival Data in Medical
Research*, 3rd ed., p. 411; Marubini & Valsecchi 1995; SAS ``PROC LIFETEST``, lifelines'
``AalenJohansenFitter``) and a log(-log) interval, with left truncation as R's
``Surv(entry, time, event)``; :func:`cumulative_incidence`, its values at horizons (6, 12, 24
months). Vectorised with numpy (one sort, ``bincount``, cumulative sums, ``searchsorted``): one
million people take well under a second (``benchmarks/bench_cohorts.py``). The tests compare with
lifelines, with :func:`evaluation.stats.cohorts.kaplan_meier` (no competing event: ``F1 = 1 - S``) and with
a loop-based implementation of the definitions.

This module imports nothing from :mod:`evaluation.stats.cohorts`, which re-exports
:func:`cumulative_incidence`: no import cycle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evaluation.errors import UsageError
from evaluation.stats.intervals import _critical_value
from evaluation.stats.survival_inputs import _entry_array, _float_array, _listed, _sort_with_flags

__all__ = [
    "INCIDENCE_CURVE_COLUMNS",
    "INCIDENCE_COLUMNS",
    "cumulative_incidence_curve",
    "cumulative_incidence",
]

#: Columns of :func:`cumulative_incidence_curve`, in order.
INCIDENCE_CURVE_COLUMNS = ("time", "at_risk", "events", "competing", "censored", "estimate", "ci_lower", "ci_upper")
#: Columns of :func:`cumulative_incidence`, in order.
INCIDENCE_COLUMNS = ("horizon_months", "estimate", "ci_lower", "ci_upper", "at_risk")

# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _kind_array(values: ArrayLike, size: int) -> np.ndarray:
    """Event codes reduced to 0 (censored), 1 (outcome), 2 (any competing event), as ``uint8``."""
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "biu" and values.size == size:
        # Integer codes (competing_data's int64): nothing can be missing or fractional.
        if values.size == 0 or values.min() >= 0:
            return np.minimum(values, 2).astype(np.uint8)
    array = _float_array(values, "events")
    if array.size != size:
        raise UsageError(f"events has {array.size} values but durations has {size} (one per person)")
    bad = np.flatnonzero((array < 0) | (array != np.floor(array)))
    if bad.size:
        raise UsageError(
            f"events must be integer codes, got {float(array[bad[0]])!r} at position(s) {_listed(bad)} "
            "(0 = censored, 1 = the outcome, 2, 3, ... = a competing event)"
        )
    return np.minimum(array, 2).astype(np.uint8)


def _inputs(
    durations: ArrayLike, events: ArrayLike, entry: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    t = _float_array(durations, "durations")
    kinds = _kind_array(events, t.size)
    entries = None if entry is None else _entry_array(entry, t)
    return t, kinds, entries


def _horizon_array(horizons: Sequence[float]) -> np.ndarray:
    try:
        hs = np.array([float(h) for h in horizons], dtype=float)
    except (TypeError, ValueError) as err:
        raise UsageError(f"horizons must be numbers of months, got {horizons!r} (e.g. (6, 12, 24))") from err
    if hs.size == 0 or not np.all(np.isfinite(hs) & (hs >= 0)):
        raise UsageError(f"horizons must be non-negative numbers of months, got {list(horizons)!r} (e.g. (6, 12, 24))")
    return hs


# --------------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------------


def _loglog_interval(estimate: np.ndarray, variance: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Log(-log) interval of a cumulative incidence; ``[0, 0]`` where ``F = 0``, NaN where ``F = 1``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_f = np.log(estimate)
        factor = np.exp(z * np.sqrt(variance) / (estimate * np.abs(log_f)))
        lower = np.exp(log_f * factor)
        upper = np.exp(log_f / factor)
    zero = estimate <= 0
    lower[zero] = 0.0
    upper[zero] = 0.0
    one = estimate >= 1
    lower[one] = np.nan
    upper[one] = np.nan
    return lower, upper


@dataclass(frozen=True)
class _Curve:
    """The arrays of :func:`cumulative_incidence_curve`, one value per distinct time.

    The variance is kept as the three cumulative sums of its expansion in powers of ``F``
    (see :func:`_curve`): ``Var = F (F quadratic - 2 linear) + constant``. The interval is computed
    only at the rows asked for (all of them for the curve, a few for the horizons).
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    competing: np.ndarray
    censored: np.ndarray
    estimate: np.ndarray
    quadratic: np.ndarray
    linear: np.ndarray
    constant: np.ndarray

    def interval(self, rows: np.ndarray | slice, z: float) -> tuple[np.ndarray, np.ndarray]:
        f = self.estimate[rows]
        variance = f * (f * self.quadratic[rows] - 2.0 * self.linear[rows]) + self.constant[rows]
        np.maximum(variance, 0.0, out=variance)  # rounding of the expanded sums near 0
        return _loglog_interval(f, variance, z)

    def frame(self, z: float) -> pd.DataFrame:
        lower, upper = self.interval(slice(None), z)
        return pd.DataFrame(
            {
                "time": self.times,
                "at_risk": self.at_risk,
                "events": self.events,
                "competing": self.competing,
                "censored": self.censored,
                "estimate": self.estimate,
                "ci_lower": lower,
                "ci_upper": upper,
            },
            copy=False,  # fresh arrays
        )


def _curve(t: np.ndarray, kinds: np.ndarray, entries: np.ndarray | None) -> _Curve:
    """The estimate of :func:`cumulative_incidence_curve` from checked arrays."""
    n = t.size
    if n == 0:
        empty_counts = np.array([], dtype=np.int64)
        empty = np.array([], dtype=float)
        return _Curve(empty, empty_counts, empty_counts, empty_counts, empty_counts, empty, empty, empty, empty)
    # One sort carries the flag of the more frequent event kind (outcome or competing); the events of
    # the other kind are sorted on their own and placed among the distinct times by searchsorted.
    outcome_flags = kinds == 1
    competing_flags = kinds == 2
    n_outcome = int(np.count_nonzero(outcome_flags))
    carried, searched = (1, 2) if 2 * n_outcome >= np.count_nonzero(kinds) else (2, 1)
    sorted_t, sorted_flag = _sort_with_flags(t, outcome_flags if carried == 1 else competing_flags)
    is_first = np.empty(n, dtype=bool)
    is_first[0] = True
    np.not_equal(sorted_t[1:], sorted_t[:-1], out=is_first[1:])
    first = np.flatnonzero(is_first)
    times = sorted_t[first]
    size = times.size
    leaving = np.diff(np.append(first, n))
    counted = {
        carried: np.add.reduceat(sorted_flag.astype(np.int64), first),
        # Every event time is one of ``times``: searchsorted (left) finds its exact index.
        searched: np.bincount(np.searchsorted(times, np.sort(t[kinds == searched])), minlength=size),
    }
    outcome_events, competing_events = counted[1], counted[2]
    all_events = outcome_events + competing_events
    at_risk = n - first  # duration >= t_i
    if entries is not None:
        # Subtract those not entered yet (entry >= t_i), as kaplan_meier: with k = number of times
        # <= entry, entry >= t_i exactly when i < k.
        late = np.sort(entries[entries >= times[0]])
        if late.size:
            k = np.searchsorted(times, late, side="right")
            entered_by = np.cumsum(np.bincount(k, minlength=size + 1))[:size]
            at_risk = at_risk - (late.size - entered_by)

    n_i = at_risk.astype(float)  # >= 1: the person leaving at t_i is at risk at t_i
    d = all_events.astype(float)
    d1 = outcome_events.astype(float)
    survival = np.cumprod(1.0 - d / n_i)
    lagged = np.empty(size)  # S(t_i-)
    lagged[0] = 1.0
    lagged[1:] = survival[:-1]
    step = lagged * d1 / n_i
    estimate = np.cumsum(step)
    emptied = np.flatnonzero(survival == 0)
    if emptied.size and competing_events[: emptied[0] + 1].sum() == 0:
        # Nobody left and every event so far was the outcome: F1 = 1 - S - F2 = 1 exactly (the sum of
        # the increments would give 1 to rounding). Later increments are all S(t_i-) = 0.
        estimate[emptied[0] :] = 1.0

    # The delta-method variance, expanded in powers of F = F1(t) so that it takes cumulative sums:
    #   sum a_i (F - F_i)^2 + sum b_i - 2 sum c_i (F - F_i)
    #   = F^2 sum a_i - 2 F sum (a_i F_i + c_i) + sum (a_i F_i^2 + b_i + 2 c_i F_i)
    # with a_i = d_i / (n_i (n_i - d_i)), b_i = S(t_i-)^2 d1_i (n_i - d1_i) / n_i^3 = c_i S(t_i-) (1 - d1_i / n_i)
    # and c_i = S(t_i-) d1_i / n_i^2 = step_i / n_i.
    with np.errstate(divide="ignore"):
        a = d / (n_i * (n_i - d))
    # d_i = n_i empties the risk set: S and F1 are then flat, F(t) - F(t_i) = 0 for every t >= t_i,
    # and the term (infinite times zero) is zero.
    a[d == n_i] = 0.0
    f = estimate
    c = step / n_i
    af = a * f
    return _Curve(
        times=times,
        at_risk=at_risk.astype(np.int64),
        events=outcome_events.astype(np.int64),
        competing=competing_events.astype(np.int64),
        censored=(leaving - all_events).astype(np.int64),
        estimate=estimate,
        quadratic=np.cumsum(a),
        linear=np.cumsum(af + c),
        constant=np.cumsum(af * f + c * (lagged * (1.0 - d1 / n_i) + 2.0 * f)),
    )


def cumulative_incidence_curve(
    durations: ArrayLike,
    events: ArrayLike,
    entry: ArrayLike | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of the outcome (code 1) under competing risks, with its interval.

    One row per distinct time ``t_i`` at which someone has an event (of any kind) or is censored,
    sorted, with the columns :data:`INCIDENCE_CURVE_COLUMNS`:

    * ``at_risk`` ``n_i``: ``entry < t_i <= duration`` (R's counting-process convention
      ``Surv(entry, time, event)``: a person entering at ``t_i`` is not at risk at ``t_i``; lifelines
      counts them, so the two differ only when an entry time equals an event time). Without
      ``entry``: ``duration >= t_i``;
    * ``events`` ``d1_i`` (code 1), ``competing`` ``d2_i`` (codes >= 2, pooled) and ``censored``
      (code 0) at ``t_i``; ``d_i = d1_i + d2_i``. At a tie, events of all kinds happen before
      censorings (the people censored at ``t_i`` are in ``n_i``);
    * ``estimate``, the Aalen-Johansen estimate (a fraction)::

          S(t)  = prod_{t_i <= t} (1 - d_i / n_i)                (all-cause Kaplan-Meier)
          F1(t) = sum_{t_i <= t} S(t_i-) d1_i / n_i              (S(t_i-): S just before t_i)

      Without competing events ``F1 = 1 - S`` (:func:`evaluation.stats.cohorts.kaplan_meier`).
    * ``ci_lower``, ``ci_upper``: the delta-method (Greenwood-type) variance of Collett (2015, p. 411;
      Marubini & Valsecchi 1995; SAS ``PROC LIFETEST``; lifelines' ``AalenJohansenFitter``), with
      ``F = F1(t)`` and ``F_i = F1(t_i)``::

          Var F1(t) = sum_{t_i <= t} (F - F_i)^2 d_i / (n_i (n_i - d_i))
                    + sum_{t_i <= t} S(t_i-)^2 d1_i (n_i - d1_i) / n_i^3
                    - 2 sum_{t_i <= t} (F - F_i) S(t_i-) d1_i / n_i^2

      and, with ``z`` the two-sided normal quantile of ``conf_level``, the log(-log) transform of
      ``F`` (delta method: ``se = sqrt(Var) / (F |log F|)``), the interval
      ``exp(-exp(log(-log F) +/- z se))``, i.e. ``F ** exp(z se)`` (lower) and ``F ** exp(-z se)``
      (upper), always inside [0, 1]. This is lifelines' interval; lifelines 0.30 labels its two
      columns the other way round (its ``_upper_`` column holds the smaller bound).

    ``durations``: time from the origin to the first event or censoring (any unit; months here).
    ``events``: integer codes, 0 censored, 1 the outcome, 2, 3, ... a competing event. ``entry``
    (optional): time each person entered observation (left truncation), strictly before their
    duration. All inputs are read by position (a pandas index is not aligned).

    Edge cases: **F = 0** (before the first outcome, and everywhere when nobody has it): variance 0
    and interval ``[0, 0]`` (lifelines gives NaN). **F = 1** (the risk set emptied and every event
    was the outcome): interval NaN, as :func:`~evaluation.stats.cohorts.kaplan_meier` gives at S = 0.
    **Risk set emptied** (``d_i = n_i``, e.g. the last people at risk all have an event): the first
    term's ``d_i / (n_i (n_i - d_i))`` is infinite but multiplies ``(F - F_i)^2 = 0`` (F1 stays flat
    once nobody is left), so it counts 0 and the variance stays finite (lifelines returns NaN there).
    Rounding below 0 of the variance is set to 0. Zero-length input: an empty frame with the
    columns. Raises :class:`~evaluation.errors.UsageError` (naming the positions) for missing or
    infinite values, lengths that differ, negative or non-integer event codes, an ``entry`` not
    strictly before its duration, a ``conf_level`` outside (0, 1). ``attrs["conf_level"]`` records
    the level.
    """
    z = _critical_value(conf_level)
    t, kinds, entries = _inputs(durations, events, entry)
    table = _curve(t, kinds, entries).frame(z)
    table.attrs["conf_level"] = conf_level
    return table


def cumulative_incidence(
    durations: ArrayLike,
    events: ArrayLike,
    entry: ArrayLike | None = None,
    horizons: Sequence[float] = (6, 12, 24),
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Cumulative incidence of the outcome at given horizons, with its interval and the number at risk.

    One row per horizon ``h`` (months, in the given order), columns :data:`INCIDENCE_COLUMNS`:

    * ``estimate``, ``ci_lower``, ``ci_upper`` (fractions): the row of
      :func:`cumulative_incidence_curve` at the last time ``t_i <= h`` (the curve is a step function,
      right-continuous); before the first time, ``0`` and ``[0, 0]``;
    * ``at_risk``: the number of people **still at risk just after** ``h``, i.e. under observation
      beyond the horizon: ``entry <= h < duration`` (without ``entry``: ``duration > h``). It is the
      risk set of an event time immediately after ``h``, the people on whom the estimate after ``h``
      rests. R's ``summary(survfit(...), times = h)`` reports the risk set *at* ``h``
      (``entry < h <= duration``); the two differ only by the people whose duration or entry
      equals ``h`` exactly.

    Inputs, definitions and errors as :func:`cumulative_incidence_curve`; ``horizons`` must be
    non-negative numbers. Zero-length input: one row per horizon with ``at_risk`` 0 and NaN
    estimate and interval (nobody to estimate from). ``attrs["conf_level"]`` records the level.
    """
    z = _critical_value(conf_level)
    t, kinds, entries = _inputs(durations, events, entry)
    hs = _horizon_array(horizons)
    curve = _curve(t, kinds, entries)
    if curve.times.size == 0:
        nan = np.full(hs.size, math.nan)
        values = {"estimate": nan, "ci_lower": nan.copy(), "ci_upper": nan.copy()}
        at_risk = np.zeros(hs.size, dtype=np.int64)
    else:
        row = np.searchsorted(curve.times, hs, side="right") - 1  # last time <= h; -1 before the first
        started = row >= 0
        safe = np.maximum(row, 0)
        lower, upper = curve.interval(safe, z)
        values = {
            name: np.where(started, array, 0.0)
            for name, array in (("estimate", curve.estimate[safe]), ("ci_lower", lower), ("ci_upper", upper))
        }
        # duration > h: those not gone by the last time <= h; minus entry > h (who also have duration > h).
        gone = np.cumsum(curve.events + curve.competing + curve.censored)
        at_risk = t.size - np.where(started, gone[safe], 0)
        if entries is not None:
            at_risk = at_risk - np.array([np.count_nonzero(entries > h) for h in hs], dtype=np.int64)
    table = pd.DataFrame({"horizon_months": hs, **values, "at_risk": at_risk.astype(np.int64)})
    table.attrs["conf_level"] = conf_level
    return table
