"""Cohort follow-up of programme beneficiaries: time to employment, outcome rates, attrition.

The plan asks for it in 2021 ("Renforcer l'évaluation par un suivi de cohorte"): what became of the
people who went through a programme (clause d'insertion, EYES, Territoire zéro chômeur...), how fast,
for whom it worked better, who was lost from follow-up. No I/O: the records come from the caller,
already validated and pseudonymised by the intake (no person key reaches this module), and every
table published from here goes through :mod:`evaluation.stats.disclosure` first.

**Input** (``cohort``): one row per person and programme, columns ``programme`` (sheet id, ``"12"``),
``entry_date`` (programme entry: the time origin), ``observation_start`` (>= ``entry_date``: late
entry into observation, usually equal to it), ``qpv``, ``sex``, ``age_band``, ``qualification``,
``first_employment_date`` (NaT when no event), ``employment_kind`` (an :class:`EventKind` value or
None), ``last_contact_date`` (censoring date when no event) and ``cohort_year``. Dates are
``datetime64``.

**Time.** Durations are in months since programme entry: ``days / 30.4375`` (:data:`DAYS_PER_MONTH`,
the mean month of the Gregorian calendar, 365.25 / 12).

**Estimators** (formulas in each docstring):

* :func:`kaplan_meier`: Kaplan & Meier (1958) product-limit estimate with Greenwood's (1926) variance
  and the log-log interval (Kalbfleisch & Prentice 2002; R ``survfit(..., conf.type = "log-log")``;
  lifelines' default "exponential Greenwood" interval), left truncation as R's
  ``Surv(entry, time, event)``;
* :func:`km_median`: the median with R's rule (``quantile.survfit``: midpoint of a flat segment at
  0.5) and its interval read on the confidence curves (Brookmeyer & Crowley 1982);
* :func:`logrank`: the log-rank test for k >= 2 groups (Mantel 1966; Peto & Peto 1972), as R
  ``survdiff(..., rho = 0)``: full variance-covariance matrix, chi-square on k - 1 degrees of freedom;
* :func:`proportion_ci`: Wilson's (1927) score interval, delegated to
  :func:`evaluation.stats.employment_gap.wilson_ci`;
* :func:`cumulative_incidence` (module :mod:`evaluation.stats.incidence`, re-exported here): the
  Aalen-Johansen estimate of the share of entrants whose first event is the outcome within ``h``
  months, other first events competing, with censoring and late entry. **This is the published
  rate** ("part des bénéficiaires ayant accédé à un emploi dans les h mois"): :func:`competing_data`
  gives its input. An earlier share of the people "observable" at ``h`` counted a success whatever
  the follow-up but a failure only after ``h`` months of follow-up, and so was biased upwards (57 %
  published for a true 40 % on a constructed case); it is gone.

Everything is vectorised with numpy (sorts, ``bincount``, cumulative sums, ``searchsorted``): one
million beneficiaries take well under a second (``benchmarks/bench_cohorts.py``). The tests compare
every estimator with lifelines and statsmodels, on hand data, textbook data and a 1M-row random set.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from evaluation.errors import UsageError
from evaluation.referential.plan import Measure, Plan, normalize_engagement_id
from evaluation.stats.employment_gap import EvaluationWarning, _critical_value, wilson_ci
from evaluation.stats.survival_inputs import _entry_array, _float_array, _listed, _sort_with_flags

__all__ = [
    "DAYS_PER_MONTH",
    "EventKind",
    "OUTCOMES",
    "KM_COLUMNS",
    "SURVIVAL_COLUMNS",
    "RATE_COLUMNS",
    "ATTRITION_COLUMNS",
    "TARGET_COLUMNS",
    "TARGET_HORIZON_MONTHS",
    "LogrankResult",
    "kaplan_meier",
    "km_median",
    "logrank",
    "proportion_ci",
    "survival_data",
    "competing_data",
    "COMPETING_COLUMNS",
    "lost_to_follow_up",
    "cumulative_incidence",
    "cumulative_incidence_curve",
    "attrition",
    "target_comparison",
]

#: Days in a month: 365.25 / 12. Durations in months are ``days / DAYS_PER_MONTH``.
DAYS_PER_MONTH = 30.4375


class EventKind(StrEnum):
    """The kind of the first event after programme entry (column ``employment_kind``)."""

    CDI = "cdi"
    CDD_6M_PLUS = "cdd_6m_plus"
    SHORT_CONTRACT = "short_contract"
    TRAINING = "training"
    BUSINESS_CREATION = "business_creation"


#: The outcomes: which first events count as a success.
#:
#: * ``employment`` (retour à l'emploi): any job, i.e. CDI, CDD of 6 months or more, shorter
#:   contract, or business creation (the plan counts it with employment: "retour à l'emploi ou
#:   création d'activités", indicator 12.3);
#: * ``sustainable`` (emploi durable): CDI or CDD of 6 months or more, the DARES definition the
#:   cohort issue uses. **Business creation is not counted**: the record gives its date, not whether
#:   the business lasted (a creation says nothing of its durability the way a contract's length does),
#:   so counting it would mix a durable status with a start. Conventions that count it (the
#:   "sorties dynamiques" of insertion structures) can pass ``outcome=("cdi", "cdd_6m_plus",
#:   "business_creation")``;
#: * ``positive`` (sortie positive): employment or training.
OUTCOMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "employment": (
            EventKind.CDI.value,
            EventKind.CDD_6M_PLUS.value,
            EventKind.SHORT_CONTRACT.value,
            EventKind.BUSINESS_CREATION.value,
        ),
        "sustainable": (EventKind.CDI.value, EventKind.CDD_6M_PLUS.value),
        "positive": (
            EventKind.CDI.value,
            EventKind.CDD_6M_PLUS.value,
            EventKind.SHORT_CONTRACT.value,
            EventKind.BUSINESS_CREATION.value,
            EventKind.TRAINING.value,
        ),
    }
)

#: Columns of :func:`kaplan_meier`, in order.
KM_COLUMNS = ("time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper")
#: Columns of :func:`survival_data`, in order.
SURVIVAL_COLUMNS = ("duration_months", "event", "entry_months")
#: Columns of :func:`competing_data`, in order.
COMPETING_COLUMNS = ("duration_months", "event", "entry_months")
#: Columns of a published rates table (:mod:`evaluation.publish.cohort_release`) read by :func:`target_comparison`.
RATE_COLUMNS = ("programme", "outcome", "horizon_months", "entrants", "estimate_pct", "ci_low_pct", "ci_high_pct")
#: Columns of :func:`attrition` after the ``by`` columns, in order.
ATTRITION_COLUMNS = ("entrants", "lost", "lost_pct")
#: Columns of :func:`target_comparison`.
TARGET_COLUMNS = (
    "indicator_id",
    "programme",
    "indicator_label",
    "outcome",
    "horizon_months",
    "target_pct",
    "entrants",
    "estimate_pct",
    "ci_low_pct",
    "ci_high_pct",
    "gap_pp",
    "verdict",
)
#: Horizon at which the plan's return-to-employment targets are judged (the plan states none).
TARGET_HORIZON_MONTHS = 12

#: R's tolerance for a survival curve "exactly" at a quantile (``quantile.survfit``: sqrt(eps)).
_QUANTILE_TOLERANCE = math.sqrt(np.finfo(float).eps)
#: Largest groups x distinct event times table of :func:`logrank` (8 bytes each: 2 GB).
_MAX_LOGRANK_CELLS = 250_000_000
#: At most this many row labels are named in an error message; the rest are counted.
_MAX_LISTED = 5
_DATE_COLUMNS = ("entry_date", "observation_start", "first_employment_date", "last_contact_date")
_FOLLOW_UP_COLUMNS = (*_DATE_COLUMNS, "employment_kind")
#: Plan wordings of a return-to-work percentage and the outcome each one measures, most specific
#: first (text lower-cased, typographic apostrophes straightened).
_TARGET_WORDINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"emplois? durables?"), "sustainable"),
    (re.compile(r"sorties? positives?"), "positive"),
    (re.compile(r"(retour|accès|acces|reprise|mise) (à|a) l'emploi|reprises? d'emploi|en emploi"), "employment"),
)


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _z(conf_level: float) -> float:
    """Two-sided standard normal quantile ``Phi^-1(1 - (1 - conf_level) / 2)``."""
    return _critical_value(conf_level)


def _event_array(values: ArrayLike, size: int) -> np.ndarray:
    """Events as booleans from True/False or 1/0; UsageError for anything else."""
    array = _float_array(values, "events")
    if array.size != size:
        raise UsageError(f"events has {array.size} values but durations has {size} (one per person)")
    bad = np.flatnonzero((array != 0) & (array != 1))
    if bad.size:
        raise UsageError(
            f"events must be True/False or 1/0, got {float(array[bad[0]])!r} at position(s) {_listed(bad)} "
            "(1 = the event was observed, 0 = censored)"
        )
    return array == 1


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


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UsageError(
            f"{what} lacks the column(s) {', '.join(repr(c) for c in missing)} "
            f"(it has: {', '.join(map(str, frame.columns))})"
        )


def _outcome_kinds(outcome: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(outcome, str):
        if outcome not in OUTCOMES:
            raise UsageError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)}, or a tuple of event kinds)")
        return OUTCOMES[outcome]
    kinds = tuple(str(kind) for kind in outcome)
    known = {kind.value for kind in EventKind}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown or not kinds:
        raise UsageError(f"unknown event kind(s) {unknown!r} in outcome (known: {', '.join(sorted(known))})")
    return kinds


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{name} must be a date such as '2021-12-31', got {value!r}") from err
    if pd.isna(stamp):
        raise UsageError(f"{name} must be a date such as '2021-12-31', got {value!r}")
    return stamp


# --------------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Log-rank test
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Proportions
# --------------------------------------------------------------------------------------------------


def proportion_ci(successes: ArrayLike, trials: ArrayLike, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials``, vectorised: ``(low, high)`` as proportions.

    Delegates to :func:`evaluation.stats.employment_gap.wilson_ci` (formula and edge cases there: 0
    successes give ``low = 0``, all successes ``high = 1``, 0 trials NaN). Returns float arrays of the
    broadcast shape of the inputs (0-dimensional for two scalars).
    """
    low, high = wilson_ci(successes, trials, conf_level)
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


# --------------------------------------------------------------------------------------------------
# From cohort records to durations
# --------------------------------------------------------------------------------------------------


def _row_labels(index: pd.Index, mask: np.ndarray) -> str:
    labels = index[mask]
    shown = ", ".join(str(label) for label in labels[:_MAX_LISTED])
    more = f" and {labels.size - _MAX_LISTED} more" if labels.size > _MAX_LISTED else ""
    return f"{shown}{more}"


def survival_data(
    cohort: pd.DataFrame,
    outcome: str | Iterable[str] = "employment",
    as_of: Any = None,
) -> pd.DataFrame:
    """Durations, events and entry times of the cohort for one outcome, in months since programme entry.

    Columns :data:`SURVIVAL_COLUMNS`, on the index of ``cohort`` (rows left out by ``as_of`` are
    absent: take group labels as ``cohort.loc[d.index, column]``), ready for
    ``kaplan_meier(d.duration_months, d.event, entry=d.entry_months)`` and :func:`logrank`:

    * ``event`` is True when the person's first event is of the ``outcome`` (a key of
      :data:`OUTCOMES`, or a tuple of :class:`EventKind` values) and ``duration_months`` is then
      ``(first_employment_date - entry_date)`` in months;
    * **a first event of another kind ends observation** (censored at its date): e.g. a training
      first, when the outcome is employment. The records hold the *first* event only, so whether that
      person found a job later is unknown. This treats the other kinds as independent censoring, which
      they are not (a competing event): the curve is the time to the outcome *as first event*, and
      ``1 - S`` is not the share who ever reach it. Use ``outcome="positive"`` for a curve without
      competing kinds;
    * without an event: censored at ``last_contact_date``;
    * ``entry_months`` = ``(observation_start - entry_date)`` in months (0 when observed from entry);
    * ``as_of`` (a date, optional): the state of knowledge at that date. Rows whose observation starts
      after it are left out; events after it are ignored and follow-up is cut at it (last contact
      ``min(last_contact_date, as_of)``).

    Time is in whole days; an event or censoring **on the day observation starts** is placed half a
    day after it (``duration = entry + 0.5 day``), so that the person is in the risk set at their
    own time: R refuses ``Surv(start, stop)`` with ``start == stop``, and a day-0 event would otherwise
    have nobody at risk.

    Raises :class:`~evaluation.errors.UsageError` for missing columns, date columns that are not
    dates, unknown event kinds, a person without event nor last contact, an event or last contact
    before the start of observation (the intake refuses these; rows are named by their index label).
    """
    follow = _follow_up(cohort, _outcome_kinds(outcome), as_of)
    return pd.DataFrame(
        {
            "duration_months": follow.end_days / DAYS_PER_MONTH,
            "event": follow.outcome,
            "entry_months": follow.entry_days / DAYS_PER_MONTH,
        },
        index=cohort.index if follow.rows is None else cohort.index[follow.rows],
    )


def competing_data(
    cohort: pd.DataFrame,
    outcome: str | Iterable[str] = "employment",
    as_of: Any = None,
) -> pd.DataFrame:
    """Durations, event codes and entry times for a competing-risks estimate of ``outcome``.

    Columns :data:`COMPETING_COLUMNS`, on the index of ``cohort`` (rows left out by ``as_of`` are
    absent), ready for ``cumulative_incidence(d.duration_months, d.event, entry=d.entry_months)``.
    The rules of :func:`survival_data`, except that a first event of another kind is not a censoring:

    * ``event`` = 1 when the person's first event is of the ``outcome``, 2 when it is of another kind
      (a training first, when the outcome is a job: a *competing* event: after it the records say
      nothing more, and that person did not reach the outcome *as a first event*), 0 when there is
      no event by ``as_of`` (censored at the last contact, cut at ``as_of``);
    * ``duration_months`` is the time from entry to that event or censoring, ``entry_months`` the
      time from entry to the start of observation (late entry), in months of :data:`DAYS_PER_MONTH`.

    The cumulative incidence of code 1 at ``h`` months is then the share of the entrants whose first
    event is the outcome within ``h`` months, accounting for censoring, late entry and the other
    first events (Aalen-Johansen). ``1 - S(h)`` from :func:`survival_data` answers another question
    (the outcome in a world without the other events) and is larger.
    """
    follow = _follow_up(cohort, _outcome_kinds(outcome), as_of)
    codes = np.where(follow.outcome, 1, np.where(follow.any_event, 2, 0)).astype(np.int64)
    return pd.DataFrame(
        {
            "duration_months": follow.end_days / DAYS_PER_MONTH,
            "event": codes,
            "entry_months": follow.entry_days / DAYS_PER_MONTH,
        },
        index=cohort.index if follow.rows is None else cohort.index[follow.rows],
    )


@dataclass(frozen=True)
class _FollowUp:
    """Per-person follow-up of the rows kept (``rows``: boolean mask on the cohort, None = all)."""

    rows: np.ndarray | None
    end_days: np.ndarray
    entry_days: np.ndarray
    outcome: np.ndarray
    #: A first event of any kind (by ``as_of``): the outcome or a competing one.
    any_event: np.ndarray


def _dates(cohort: pd.DataFrame, column: str) -> np.ndarray:
    values = cohort[column]
    if not pd.api.types.is_datetime64_any_dtype(values) or isinstance(values.dtype, pd.DatetimeTZDtype):
        raise UsageError(
            f"cohort column {column!r} must hold dates (datetime64 without time zone), got {values.dtype} "
            "(read the cohort with evaluation.io, or convert with pd.to_datetime)"
        )
    return values.to_numpy()


def _follow_up(cohort: pd.DataFrame, kinds: tuple[str, ...], as_of: Any) -> _FollowUp:
    """The rules of :func:`survival_data` on numpy arrays (whole days, NaT as NaN)."""
    _require_columns(cohort, _FOLLOW_UP_COLUMNS, "the cohort")
    origin, start, event_date, contact = (_dates(cohort, column) for column in _DATE_COLUMNS)
    # One hashing pass over the kinds: codes -1 for missing, a lookup table for the outcome.
    kind_codes, uniques = pd.factorize(cohort["employment_kind"])
    known = {k.value for k in EventKind}
    unknown = sorted(str(v) for v in uniques if v not in known)
    if unknown:
        raise UsageError(
            f"cohort column 'employment_kind' has unknown value(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(known))}, or empty when no event)"
        )
    index = cohort.index
    has_date = ~np.isnat(event_date)
    has_kind = kind_codes >= 0
    problems = []
    for mask, text in (
        (has_date & ~has_kind, "first_employment_date without employment_kind"),
        (has_kind & ~has_date, "employment_kind without first_employment_date"),
    ):
        if mask.any():
            problems.append(f"{text} at row(s) {_row_labels(index, mask)}")
    if problems:
        raise UsageError("cohort: " + "; ".join(problems) + " (the intake should refuse these records)")
    in_outcome = np.append(np.isin(np.asarray(uniques, dtype=object), np.asarray(kinds, dtype=object)), False)
    outcome = in_outcome[kind_codes]  # code -1 reads the final False
    has_event = has_date
    rows = None
    if as_of is not None:
        stamp = _timestamp(as_of, "as_of").to_datetime64()
        rows = start <= stamp
        origin, start, event_date, contact = origin[rows], start[rows], event_date[rows], contact[rows]
        has_event, outcome, index = has_event[rows], outcome[rows], index[rows]
        has_event = has_event & (event_date <= stamp)
        contact = np.where(contact > stamp, stamp, contact)  # NaT compares False and stays NaT
    end = np.where(has_event, event_date, contact)
    outcome = outcome & has_event
    day = np.timedelta64(1, "D")
    end_days = (end - origin) / day
    entry_days = (start - origin) / day
    no_end = np.isnan(end_days)
    if no_end.any():
        problems.append(f"no event and no last_contact_date at row(s) {_row_labels(index, no_end)}")
    bad_start = np.isnan(entry_days) | (entry_days < 0)
    if bad_start.any():
        problems.append(f"observation_start missing or before entry_date at row(s) {_row_labels(index, bad_start)}")
    early = ~no_end & ~bad_start & (end_days < entry_days)
    if early.any():
        problems.append(f"event or last contact before observation_start at row(s) {_row_labels(index, early)}")
    if problems:
        raise UsageError("cohort: " + "; ".join(problems) + " (the intake should refuse these records)")
    end_days = np.where(end_days == entry_days, end_days + 0.5, end_days)
    return _FollowUp(rows=rows, end_days=end_days, entry_days=entry_days, outcome=outcome, any_event=has_event)


# --------------------------------------------------------------------------------------------------
# Outcome rates and attrition
# --------------------------------------------------------------------------------------------------


def _by_columns(cohort: pd.DataFrame, by: Sequence[str] | str) -> list[str]:
    columns = [by] if isinstance(by, str) else list(by)
    _require_columns(cohort, columns, "the cohort")
    return columns


def _factorize_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted uniques, a missing value being the last unique (NaN)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # values of mixed types that do not sort
        codes, uniques = pd.factorize(values, sort=False)
    uniques = pd.Index(uniques)
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(uniques), codes)
        uniques = uniques.append(pd.Index([np.nan]))
    return codes.astype(np.int64, copy=False), uniques


def _group_index(frame: pd.DataFrame, by: list[str], rows: np.ndarray | None) -> tuple[np.ndarray, pd.DataFrame]:
    """Group number of each row kept by ``rows`` (a mask, None = all) and the groups' keys, sorted.

    Groups are the combinations of ``by`` values present among those rows, in lexicographic order of
    the sorted values of each column; a missing value is a group of its own (nobody silently
    disappears from a table). Hashing each column once and combining integer codes avoids pandas'
    groupby machinery, several times slower on a million rows of text.
    """
    n_rows = len(frame) if rows is None else int(np.count_nonzero(rows))
    if not by:
        return np.zeros(n_rows, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1))
    combined = np.zeros(n_rows, dtype=np.int64)
    levels = []
    size = 1
    for column in by:
        codes, uniques = _factorize_sorted(frame[column])
        if rows is not None:
            codes = codes[rows]
        combined = combined * len(uniques) + codes
        levels.append(uniques)
        size *= len(uniques)
    if size <= 4 * n_rows + 1_000_000:
        seen = np.bincount(combined, minlength=size) > 0
        present = np.flatnonzero(seen)
        group_id = (np.cumsum(seen) - 1)[combined]
    else:  # too many combinations for a dense table
        present, group_id = np.unique(combined, return_inverse=True)
    keys = {}
    rest = present
    for column, uniques in zip(reversed(by), reversed(levels), strict=True):
        rest, position = np.divmod(rest, len(uniques))
        keys[column] = uniques.take(position)
    table = pd.DataFrame({column: np.asarray(keys[column]) for column in by})
    return group_id, table


def _group_sums(
    frame: pd.DataFrame,
    by: list[str],
    rows: np.ndarray | None,
    flags: Mapping[str, np.ndarray],
    among: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per group of ``frame[by]`` over the rows kept by ``rows``, the number of True of each of ``flags``.

    ``flags`` are boolean arrays on the kept rows; ``among`` (a mask on the kept rows) restricts the
    counts without removing groups: a group with no row in ``among`` gets zeros.
    """
    group_id, table = _group_index(frame, by, rows)
    for name, flag in flags.items():
        counted = flag if among is None else flag & among
        table[name] = np.bincount(group_id[counted], minlength=len(table)).astype(np.int64)
    return table


def _lost(cohort: pd.DataFrame, as_of: Any, lost_after_months: float) -> tuple[np.ndarray, np.ndarray]:
    """The rule of :func:`lost_to_follow_up`: (entered on or before ``as_of``, lost among them)."""
    _require_columns(cohort, ("entry_date", "first_employment_date", "last_contact_date"), "the cohort")
    if not (math.isfinite(lost_after_months) and lost_after_months >= 0):
        raise UsageError(f"lost_after_months must be a non-negative number, got {lost_after_months!r} (e.g. 6)")
    stamp = _timestamp(as_of, "as_of").to_datetime64()
    entered = _dates(cohort, "entry_date") <= stamp
    event = _dates(cohort, "first_employment_date")[entered] <= stamp  # NaT compares False
    contact = _dates(cohort, "last_contact_date")[entered]
    contact = np.where(contact > stamp, stamp, contact)
    silent_months = (stamp - contact) / np.timedelta64(1, "D") / DAYS_PER_MONTH
    return entered, ~event & ~(silent_months <= lost_after_months)  # no contact date at all (NaN): lost


def lost_to_follow_up(cohort: pd.DataFrame, as_of: Any, lost_after_months: float = 6) -> pd.Series:
    """Per person who entered on or before ``as_of``: lost from follow-up at ``as_of`` (True/False).

    Lost: no event (of any kind) on or before ``as_of`` and a last contact (on or before ``as_of``)
    more than ``lost_after_months`` months before ``as_of`` (``(as_of - last_contact) / 30.4375 days >
    lost_after_months``); a person without any contact date counts as lost. Indexed like ``cohort``,
    restricted to the entrants.
    """
    entered, lost = _lost(cohort, as_of, lost_after_months)
    return pd.Series(lost, index=cohort.index[entered], name="lost")


def attrition(
    cohort: pd.DataFrame,
    as_of: Any,
    lost_after_months: float = 6,
    by: Sequence[str] | str = ("programme",),
) -> pd.DataFrame:
    """People lost from follow-up at ``as_of``, per group (:func:`lost_to_follow_up`).

    * ``entrants``: people who entered the programme on or before ``as_of``;
    * ``lost``: among them, those lost from follow-up;
    * ``lost_pct = 100 * lost / entrants``.

    Columns: the ``by`` columns, then :data:`ATTRITION_COLUMNS`; groups sorted, a missing group value
    is a group of its own.
    """
    columns = _by_columns(cohort, by)
    entered, lost = _lost(cohort, as_of, lost_after_months)
    table = _group_sums(cohort, columns, entered, {"entrants": np.ones(lost.size, dtype=bool), "lost": lost})
    with np.errstate(divide="ignore", invalid="ignore"):
        table["lost_pct"] = np.where(table["entrants"] > 0, 100.0 * table["lost"] / table["entrants"], np.nan)
    return table[[*columns, *ATTRITION_COLUMNS]]


# --------------------------------------------------------------------------------------------------
# The plan's targets
# --------------------------------------------------------------------------------------------------


def _target_outcome(text: str) -> str | None:
    normalised = text.lower().replace("\u2019", "'")
    for pattern, outcome in _TARGET_WORDINGS:
        if pattern.search(normalised):
            return outcome
    return None


def target_comparison(
    plan: Plan,
    rates: pd.DataFrame,
    *,
    horizon_months: float = TARGET_HORIZON_MONTHS,
) -> pd.DataFrame:
    """The plan's return-to-work percentage targets against the published cumulative incidence.

    **Which indicators**: measure ``percentage``, with a target value, of a sheet that is a
    ``programme`` in ``rates``, whose label or source wording names a return to work (e.g. 12.3,
    "50% de retour à l'emploi ou création d'activités"). The wording gives the outcome:
    "emploi durable" -> ``sustainable``, "sortie positive" -> ``positive``, "retour / accès à
    l'emploi", "reprise d'emploi", "en emploi" -> ``employment`` (which includes business creation,
    as 12.3's "ou création d'activités" asks). Indicator 5.2 ("70% de création effective" among
    project holders) is not a return-to-work rate and is left out.

    **Which rate**: ``rates`` has the columns :data:`RATE_COLUMNS` (the published rates of
    :mod:`evaluation.publish.cohort_release`: the cumulative incidence of the outcome as first event, other
    first events competing, in % of the entrants, already through disclosure control: NaN where
    hidden); rows with a ``group_variable`` column are read at ``"all"``. The row of the indicator's
    programme and outcome at ``horizon_months``, default :data:`TARGET_HORIZON_MONTHS` = 12: the plan
    gives no horizon, and 12 months is the middle of the 6/12/24 follow-up, long enough for a job
    search after a programme of a few months. An indicator whose outcome ``rates`` does not hold
    (``positive``) is skipped with an :class:`~evaluation.stats.employment_gap.EvaluationWarning`.

    **Verdict**, from the interval ``[ci_low_pct, ci_high_pct]`` and the target ``T``: ``above`` when
    ``ci_low_pct > T``, ``below`` when ``ci_high_pct < T``, ``compatible`` when ``T`` lies inside the
    interval (the data cannot tell), ``hidden`` when the rate is secret, ``not_measured`` when nobody
    has been followed that long yet (a ``hidden`` column False with a NaN estimate). An estimate of 0 %
    or 100 % has no log-log interval: it is compared as it is. ``gap_pp = estimate_pct - T`` (points).

    Columns: :data:`TARGET_COLUMNS`; one row per indicator.
    """
    _require_columns(rates, RATE_COLUMNS, "the rates table")
    if "group_variable" in rates.columns:
        rates = rates[rates["group_variable"] == "all"]
    at_horizon = rates[np.isclose(rates["horizon_months"].to_numpy(dtype=float), horizon_months)]
    if at_horizon.empty:
        available = sorted(set(rates["horizon_months"].tolist()))
        raise UsageError(
            f"the rates table has no horizon of {horizon_months} months (it has {available}): "
            f"publish the cumulative incidence at {horizon_months:g} months"
        )
    programmes = at_horizon["programme"].map(lambda p: str(p) if p == "all" else normalize_engagement_id(str(p)))
    outcomes = set(at_horizon["outcome"])
    rows = []
    skipped = []
    for indicator in plan.indicators():
        if indicator.measure != Measure.PERCENTAGE or indicator.target.value is None:
            continue
        mine = (programmes == indicator.engagement).to_numpy()
        if not mine.any():
            continue
        wanted = _target_outcome(f"{indicator.label} {indicator.source}")
        if wanted is None:
            continue
        if wanted not in outcomes:
            skipped.append(f"{indicator.id} ({wanted})")
            continue
        target = float(indicator.target.value)
        for _, rate in at_horizon[mine & (at_horizon["outcome"] == wanted).to_numpy()].iterrows():
            estimate, low, high = (float(rate[c]) for c in ("estimate_pct", "ci_low_pct", "ci_high_pct"))
            if math.isfinite(estimate) and not (math.isfinite(low) and math.isfinite(high)):
                low = high = estimate  # 0 % or 100 %: the log-log interval is undefined at the bounds
            if not math.isfinite(estimate):
                verdict = "not_measured" if not bool(rate.get("hidden", True)) else "hidden"
            elif low > target:
                verdict = "above"
            elif high < target:
                verdict = "below"
            else:
                verdict = "compatible"
            rows.append(
                {
                    "indicator_id": indicator.id,
                    "programme": rate["programme"],
                    "indicator_label": indicator.label,
                    "outcome": wanted,
                    "horizon_months": float(rate["horizon_months"]),
                    "target_pct": target,
                    "entrants": rate["entrants"],
                    "estimate_pct": estimate,
                    "ci_low_pct": low,
                    "ci_high_pct": high,
                    "gap_pp": estimate - target,
                    "verdict": verdict,
                }
            )
    if skipped:
        warnings.warn(
            f"target_comparison: the rates table has no rate for indicator(s) {', '.join(skipped)} "
            "(the cohort reports publish the outcomes 'employment' and 'sustainable')",
            EvaluationWarning,
            stacklevel=2,
        )
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))


# The estimator lives in its own module (one file per estimator); it is part of this module's interface.
from evaluation.stats.incidence import cumulative_incidence, cumulative_incidence_curve  # noqa: E402
