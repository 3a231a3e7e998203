"""The log-rank test: do k >= 2 groups of a cohort have the same survival?

:func:`logrank`: Mantel (1966), Peto & Peto (1972), as R ``survdiff(..., rho = 0)``: full
variance-covariance matrix, chi-square on k - 1 degrees of freedom, late entry with the at-risk
convention of :func:`evaluation.stats.kaplan_meier.kaplan_meier`. One file per test (as lifelines'
``statistics``); re-exported by :mod:`evaluation.stats.cohorts` (``evaluation.cohorts.logrank``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from evaluation.errors import UsageError
from evaluation.stats.caveats import EvaluationWarning
from evaluation.stats.cohort_inputs import _event_array
from evaluation.stats.survival_inputs import _entry_array, _float_array, _listed

__all__ = ["LogrankResult", "logrank"]

#: Largest groups x distinct event times table of :func:`logrank` (8 bytes each: 2 GB).
_MAX_LOGRANK_CELLS = 250_000_000


def _group_codes(groups: ArrayLike, size: int) -> tuple[np.ndarray, list[Any]]:
    """Integer codes 0..k-1 and the sorted labels (in order of first appearance if unsortable)."""
    if isinstance(groups, pd.Series | pd.Index):
        values = groups
    else:
        array = groups if isinstance(groups, np.ndarray) else np.asarray(groups, dtype=object)
        if array.ndim != 1:
            raise UsageError(f"groups must be one-dimensional, got shape {array.shape}")
        values = pd.Series(array, copy=False)  # pandas hashes a Series faster than an object array
    if len(values) != size:
        raise UsageError(f"groups has {len(values)} values but durations has {size} (one label per person)")
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:  # labels of mixed types that do not sort
        codes, labels = pd.factorize(values, sort=False)
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise UsageError(
            f"groups has {missing.size} missing value(s) at position(s) {_listed(missing)} "
            "(give them a group, e.g. 'inconnu', or drop them)"
        )
    return codes.astype(np.int64, copy=False), list(labels.tolist())


@dataclass(frozen=True)
class LogrankResult:
    """Result of :func:`logrank`.

    ``statistic``: the chi-square statistic; ``pvalue``: its upper tail probability on ``df`` degrees
    of freedom (NaN when there is nothing to test); ``observed`` and ``expected``: events per group
    (label -> count, label -> expected count under the null of equal hazards).
    """

    statistic: float
    pvalue: float
    df: int
    observed: dict[Any, int]
    expected: dict[Any, float]


def logrank(
    durations: ArrayLike,
    events: ArrayLike,
    groups: ArrayLike,
    entry: ArrayLike | None = None,
) -> LogrankResult:
    """Log-rank test of equal survival in k >= 2 groups (R ``survdiff(Surv(...) ~ group, rho = 0)``).

    At each distinct event time ``t_i``, with ``n_ij`` at risk and ``d_ij`` events in group ``j``
    (at-risk convention of :func:`kaplan_meier`, ``entry`` included), ``n_i = sum_j n_ij`` and
    ``d_i = sum_j d_ij``::

        O_j = sum_i d_ij          E_j = sum_i n_ij d_i / n_i
        V_jl = sum_i d_i (n_i - d_i) / (n_i^2 (n_i - 1)) * (n_i n_ij [j = l] - n_ij n_il)   (n_i > 1)
        statistic = (O - E)' V^- (O - E)   on the groups but one, chi-square on df degrees of freedom

    ``V^-`` is the Moore-Penrose inverse (lifelines; equal to R's ``solve`` when V is regular).
    Degrees of freedom as R's ``print.survdiff``: the number of groups with ``E_j > 0`` minus 1, i.e.
    ``k - 1`` unless a group has nobody at risk at any event time (lifelines keeps ``k - 1`` there;
    the statistic is the same). A group with a single member works. **No event at all** (all
    censored), or a single group with ``E_j > 0``: nothing to test, ``statistic = 0``, ``df = 0``,
    ``pvalue = NaN`` and an :class:`~evaluation.stats.employment_gap.EvaluationWarning` (R prints
    ``chisq = 0`` with an NA/degenerate p-value; lifelines gives p = 1).

    ``groups``: one label per person (any hashable; missing labels are refused). All inputs are read
    by position, in the same order (a pandas index is not aligned). Raises
    :class:`~evaluation.errors.UsageError` for fewer than two groups and for the input errors of
    :func:`kaplan_meier`.
    """
    t = _float_array(durations, "durations")
    d_flags = _event_array(events, t.size)
    codes, labels = _group_codes(groups, t.size)
    entries = None if entry is None else _entry_array(entry, t)
    k = len(labels)
    if k < 2:
        raise UsageError(f"logrank needs at least two groups, got {k} ({labels!r})")
    observed_counts = np.bincount(codes[d_flags], minlength=k)
    if not d_flags.any():
        return _no_test(labels, observed_counts, np.zeros(k))

    # Distinct event times and their event counts, then each group on its own: a person is at risk at
    # the event times of index i with start <= i < upto, where upto (start) is the number of event
    # times <= their time (their entry); at_risk[j] counts, for each i, the group's rows with
    # upto > i minus those with start > i.
    event_times = np.sort(t[d_flags])
    distinct = np.empty(event_times.size, dtype=bool)
    distinct[0] = True
    np.not_equal(event_times[1:], event_times[:-1], out=distinct[1:])
    d_i = np.diff(np.append(np.flatnonzero(distinct), event_times.size)).astype(float)  # events per time
    event_times = event_times[distinct]
    n_times = event_times.size
    if k * n_times > _MAX_LOGRANK_CELLS:
        raise UsageError(
            f"logrank: {k} groups x {n_times} distinct event times is too large a table "
            "(merge small groups, or round the durations, e.g. to whole days)"
        )
    at_risk = np.empty((k, n_times))
    # Rows grouped by a stable radix sort of the (small) group codes: contiguous slices per group.
    narrow = codes.astype(np.uint8 if k <= 256 else np.uint16 if k <= 65536 else np.int64)
    by_group = np.argsort(narrow, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=k))])
    grouped_t = t[by_group]
    grouped_entries = None if entries is None else entries[by_group]
    for j in range(k):
        rows = slice(bounds[j], bounds[j + 1])
        times_j = np.sort(grouped_t[rows])
        left = np.cumsum(np.bincount(np.searchsorted(event_times, times_j, side="right"), minlength=n_times + 1))
        at_risk[j] = times_j.size - left[:n_times]
        if grouped_entries is not None:
            entries_j = grouped_entries[rows]
            late = np.sort(entries_j[entries_j >= event_times[0]])  # earlier entries: at risk throughout
            entered = np.cumsum(np.bincount(np.searchsorted(event_times, late, side="right"), minlength=n_times + 1))
            at_risk[j] -= late.size - entered[:n_times]

    n_i = at_risk.sum(axis=0)  # float: exact for counts below 2**53
    expected = at_risk @ (d_i / n_i)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n_i > 1, d_i * (n_i - d_i) / (n_i * n_i * (n_i - 1)), 0.0)
    # V = diag(W n) - W N' with W = N * weight, one group at a time: no k x T temporary.
    variance = np.empty((k, k))
    for j in range(k):
        weighted = at_risk[j] * weight
        cross = at_risk[: j + 1] @ weighted
        variance[j, : j + 1] = -cross
        variance[: j + 1, j] = -cross
        variance[j, j] += weighted @ n_i

    keep = np.flatnonzero(expected > 0)
    if keep.size < 2:
        return _no_test(labels, observed_counts, expected)
    diff = (observed_counts - expected)[keep][1:]
    sub = variance[np.ix_(keep, keep)][1:, 1:]
    statistic = max(float(diff @ np.linalg.pinv(sub) @ diff), 0.0)
    df = int(keep.size - 1)
    return LogrankResult(
        statistic=statistic,
        pvalue=float(special.chdtrc(df, statistic)),  # what scipy.stats.chi2.sf computes
        df=df,
        observed={label: int(o) for label, o in zip(labels, observed_counts, strict=True)},
        expected={label: float(e) for label, e in zip(labels, expected, strict=True)},
    )


def _no_test(labels: list[Any], observed: np.ndarray, expected: np.ndarray) -> LogrankResult:
    warnings.warn(
        "log-rank test: fewer than two groups have anyone at risk at an event time (or no event at all): "
        "nothing to test, p-value NaN",
        EvaluationWarning,
        stacklevel=3,
    )
    return LogrankResult(
        statistic=0.0,
        pvalue=math.nan,
        df=0,
        observed={label: int(o) for label, o in zip(labels, observed, strict=True)},
        expected={label: float(e) for label, e in zip(labels, expected, strict=True)},
    )
