"""The employment-rate gap between the 26 priority neighbourhoods (QPV) and the Métropole.

The plan's headline objective: the employment rate of the 15-64 year-olds is 44 % in the QPV against
59 % in the whole Métropole (MEL, QPV included); the contrat de ville aims to **halve this 15-point
gap** (target 7.5 points). This module measures that gap from the barometer long table and says how far
it has closed, whether the change exceeds the sampling noise, whether it comes from employment or from
a changing age structure, and which QPV move. No I/O: the table comes from the caller, already
validated (:mod:`evaluation.io`).

**Input** (the barometer long table): columns ``territory`` (a QPV code ``QN...``, ``"MEL"`` or
``"MEL_HORS_QPV"``), ``year``, ``indicator``, ``sex``, ``age_band``, ``value`` (a count), ``source``,
``vintage`` (census vintage N, pooling the annual surveys N-2..N+2; NaN for other sources) and
``sampled`` (True when the count comes from a sample survey). The functions here read the indicators
``population_15_64`` and ``employed_15_64`` for sex ``"ensemble"``, age band ``"total"`` and the bands
``15-24``, ``25-54``, ``55-64``.

**Definitions.**

* Employment rate (%) = ``100 * employed_15_64 / population_15_64``; NaN when the population is 0.
* QPV aggregate: the *sum* of the counts of the QPV of a year that have both counts (a
  population-weighted rate, not a mean of the QPV rates), the same set as the ``QPV`` row of the
  barometer (:func:`evaluation.stats.barometer.barometer_table`); ``qpv_left_out`` names the others.
* Gap (points) = comparator rate - QPV rate: positive when the QPV lag behind.
* Comparator: :data:`COMPARATORS`. The plan's 15 points are against the **whole MEL**
  (:data:`PLAN_COMPARATOR`); the MEL outside QPV gives a larger gap (the QPV pull the MEL's rate
  down). A result always names its comparator, and a series never mixes two.

**Sampling precision.** Census counts are estimates from a sample, not sample sizes: the intervals
use an effective sample size ``count / design_effect`` (:func:`wilson_ci`), by default
:data:`DEFAULT_CENSUS_DESIGN_EFFECT` (1.5, derived from INSEE's census sampling fraction, see there);
every function that computes an interval takes ``design_effect`` as a parameter (and the command
``evaluation employment-gap`` as ``--design-effect``). The intervals are orders of magnitude: the
design effect is approximate and the sources are not independent (see :func:`gap_series` and
:func:`gap_change`); reports present them so.

**Caveats, as warnings** (:class:`EvaluationWarning`, see :func:`check_guards`): census vintages less
than 5 years apart share survey years; a series spanning the 2015 change of the census collection
method; counts below INSEE's caution threshold of 200.

**Layout.** This module computes the gap and how far it has closed (:func:`gap_series`,
:func:`gap_change`, :func:`gap_reduction`) and re-exports the public names of its parts, so that
``evaluation.stats.employment_gap`` (formerly ``evaluation.employment_gap``) stays the one entry
point: :mod:`~evaluation.stats.gap_counts` (the territories compared, the reading of the
barometer's counts), :mod:`~evaluation.stats.intervals` (Wilson, Newcombe, MOVER),
:mod:`~evaluation.stats.census` (design effect, vintages, :func:`check_guards`),
:mod:`~evaluation.stats.gap_decomposition` (standardisation, decomposition, contributions, on the
generic tools of :mod:`~evaluation.stats.standardisation`) and :mod:`~evaluation.stats.caveats`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.stats.caveats import Caveat, CaveatKind, EvaluationWarning, caveats_of
from evaluation.stats.census import (
    CAUTION_COUNT,
    CENSUS_METHOD_CHANGE_YEAR,
    CENSUS_SAMPLING_FRACTION,
    DEFAULT_CENSUS_DESIGN_EFFECT,
    VINTAGE_OVERLAP_YEARS,
    _vintage_messages,
    _vintages_overlap,
    check_guards,
)
from evaluation.stats.gap_counts import (
    _TOTAL_BAND,
    AGE_BANDS,
    COMPARATORS,
    PLAN_COMPARATOR,
    QPV_AGGREGATE,
    Comparator,
    _check_comparator,
    _employment_counts,
    _is_qpv,
    _qpv_universe,
    _rate,
)
from evaluation.stats.gap_decomposition import decompose_gap_change, qpv_contributions, standardised_rates
from evaluation.stats.intervals import (
    _check_design_effect,
    _critical_value,  # also imported from here by the survival modules (its home: intervals)
    _difference_ci,
    rate_difference_ci,
    wilson_ci,
)
from evaluation.stats.standardisation import direct_standardise, kitagawa

__all__ = [
    "Comparator",
    "COMPARATORS",
    "PLAN_COMPARATOR",
    "PLAN_BASELINE_GAP_PP",
    "PLAN_REDUCTION_SHARE",
    "CAUTION_COUNT",
    "CENSUS_METHOD_CHANGE_YEAR",
    "VINTAGE_OVERLAP_YEARS",
    "QPV_AGGREGATE",
    "AGE_BANDS",
    "EXHAUSTIVE_NOTE",
    "GAP_SERIES_COLUMNS",
    "CENSUS_SAMPLING_FRACTION",
    "DEFAULT_CENSUS_DESIGN_EFFECT",
    "EvaluationWarning",
    "Caveat",
    "CaveatKind",
    "caveats_of",
    "PathStatus",
    "GapChange",
    "GapReduction",
    "wilson_ci",
    "rate_difference_ci",
    "direct_standardise",
    "kitagawa",
    "gap_series",
    "gap_change",
    "gap_reduction",
    "standardised_rates",
    "decompose_gap_change",
    "qpv_contributions",
    "check_guards",
]


#: The plan's baseline gap, 59 - 44 points (introduction of the plan).
PLAN_BASELINE_GAP_PP = 15.0
#: The plan halves the gap: target gap = baseline gap * (1 - 0.5) = 7.5 points.
PLAN_REDUCTION_SHARE = 0.5
#: ``interval_note`` of a year whose counts all come from exhaustive sources.
EXHAUSTIVE_NOTE = "exhaustive source, no interval"

#: Columns of :func:`gap_series`, in order.
GAP_SERIES_COLUMNS = (
    "year",
    "comparator",
    "qpv_count",
    "qpv_employed",
    "qpv_population",
    "qpv_rate_pct",
    "qpv_low_pct",
    "qpv_high_pct",
    "comparator_employed",
    "comparator_population",
    "comparator_rate_pct",
    "comparator_low_pct",
    "comparator_high_pct",
    "gap_pp",
    "gap_low_pp",
    "gap_high_pp",
    "sampled",
    "vintage",
    "interval_note",
    "design_effect",
    "qpv_left_out",
)


def gap_series(
    barometer: pd.DataFrame,
    comparator: str = PLAN_COMPARATOR,
    conf_level: float = 0.95,
    design_effect: float = DEFAULT_CENSUS_DESIGN_EFFECT,
) -> pd.DataFrame:
    """The QPV-comparator employment-rate gap per year, in points, with intervals for sampled counts.

    One row per year present in the ``total`` rows (columns :data:`GAP_SERIES_COLUMNS`):

    * ``qpv_employed``, ``qpv_population``: sums over the QPV of the year with both counts
      (``qpv_count`` of them; ``qpv_left_out``: the codes of the other QPV of the data, any year,
      comma-separated, empty when none); ``qpv_rate_pct = 100 * qpv_employed / qpv_population``;
      same for the ``comparator_*`` columns;
    * ``gap_pp = comparator_rate_pct - qpv_rate_pct`` (positive when the QPV lag behind);
    * ``*_low_pct``, ``*_high_pct``: Wilson intervals (:func:`wilson_ci`); ``gap_low_pp``,
      ``gap_high_pp``: Newcombe's hybrid score interval (:func:`rate_difference_ci`), all at
      ``conf_level`` with ``design_effect``;
    * ``sampled``: True when any count of the year comes from a sample survey; otherwise all
      intervals are NaN and ``interval_note`` is :data:`EXHAUSTIVE_NOTE`. A year mixing sampled and
      exhaustive counts treats all as sampled (a wider interval than needed);
    * ``vintage``: the census vintage of the year's counts (NaN when none, or when they disagree: a
      warning then names them).

    **The gap interval against the whole MEL is conservative.** Newcombe's method assumes independent
    samples, but the QPV are part of the MEL (the 26 QPV of the 2024 geography hold 242 231
    inhabitants, roughly a fifth of the Métropole). With ``s`` the QPV share, ``p_MEL = s p_QPV +
    (1 - s) p_out``, so ``p_MEL - p_QPV = (1 - s)(p_out - p_QPV)``, whose variance ``(1 - s)^2 (V_out +
    V_QPV)`` is smaller, by ``2 s V_QPV``, than the ``V_MEL + V_QPV`` assumed by independence. The
    interval is therefore approximate and wider than needed; ``interval_note`` says so. Against the
    MEL outside QPV the territories are disjoint.

    **Design effect.** Census counts are weighted estimates, not sample sizes: with
    ``design_effect = 1`` the interval would treat a count as a simple random sample of that size,
    which is too narrow. The default, :data:`DEFAULT_CENSUS_DESIGN_EFFECT` (1.5), accounts for the
    census sampling fraction (40 % of the dwellings over a vintage in communes of 10 000 inhabitants
    or more), not for the clustering of people in dwellings: an order of magnitude. The column
    ``design_effect`` and ``interval_note`` carry the value used.

    Raises :class:`~evaluation.errors.UsageError` for an unknown comparator (naming the known ones).
    Warns (:class:`EvaluationWarning`) when the number of QPV summed changes between years (the
    aggregate then covers different territories) and when rows lack a count. Call
    :func:`check_guards` for the census caveats.
    """
    comparator = _check_comparator(comparator)
    _critical_value(conf_level)
    _check_design_effect(design_effect)
    counts = _employment_counts(barometer, [_TOTAL_BAND])
    qpv_rows = counts[_is_qpv(counts["territory"])]
    comparator_rows = counts[counts["territory"] == comparator.value].set_index("year")
    universe = _qpv_universe(barometer)
    years = sorted(set(qpv_rows["year"]) | set(comparator_rows.index))
    if not years:
        return pd.DataFrame(columns=list(GAP_SERIES_COLUMNS))

    records = []
    for year in years:
        qpv = qpv_rows[qpv_rows["year"] == year]
        comp = comparator_rows.loc[[year]] if year in comparator_rows.index else comparator_rows.iloc[0:0]
        vintages = sorted(set(pd.concat([qpv["vintage"], comp["vintage"]]).dropna().astype(int)))
        if len(vintages) > 1:
            warnings.warn(
                Caveat(
                    f"year {year} mixes census vintages {vintages}: the gap compares different survey periods",
                    CaveatKind.MIXED_VINTAGES,
                ),
                EvaluationWarning,
                stacklevel=2,
            )
        records.append(
            {
                "year": year,
                "comparator": comparator.value,
                "qpv_count": int(qpv["territory"].nunique()),
                "qpv_employed": float(qpv["employed"].sum()) if len(qpv) else np.nan,
                "qpv_population": float(qpv["population"].sum()) if len(qpv) else np.nan,
                "comparator_employed": float(comp["employed"].iloc[0]) if len(comp) else np.nan,
                "comparator_population": float(comp["population"].iloc[0]) if len(comp) else np.nan,
                "sampled": bool(qpv["sampled"].any() or comp["sampled"].any()),
                "vintage": float(vintages[0]) if len(vintages) == 1 else np.nan,
                "qpv_left_out": ", ".join(c for c in universe if c not in set(qpv["territory"])),
            }
        )
    table = pd.DataFrame.from_records(records)

    present = table.loc[table["qpv_count"] > 0, ["year", "qpv_count"]]
    if present["qpv_count"].nunique() > 1:
        detail = ", ".join(f"{r.qpv_count} in {r.year}" for r in present.itertuples())
        warnings.warn(
            Caveat(
                f"the QPV aggregate does not sum the same number of QPV every year ({detail}): its rate covers different territories",
                CaveatKind.CHANGING_PERIMETER,
            ),
            EvaluationWarning,
            stacklevel=2,
        )

    table["qpv_rate_pct"] = 100 * _rate(table["qpv_employed"], table["qpv_population"])
    table["comparator_rate_pct"] = 100 * _rate(table["comparator_employed"], table["comparator_population"])
    table["gap_pp"] = table["comparator_rate_pct"] - table["qpv_rate_pct"]

    qpv_low, qpv_high = wilson_ci(table["qpv_employed"], table["qpv_population"], conf_level, design_effect)
    comp_low, comp_high = wilson_ci(
        table["comparator_employed"], table["comparator_population"], conf_level, design_effect
    )
    _, gap_low, gap_high = rate_difference_ci(
        table["comparator_employed"],
        table["comparator_population"],
        table["qpv_employed"],
        table["qpv_population"],
        conf_level,
        design_effect,
    )
    sampled = table["sampled"].to_numpy(dtype=bool)
    for column, values in (
        ("qpv_low_pct", qpv_low),
        ("qpv_high_pct", qpv_high),
        ("comparator_low_pct", comp_low),
        ("comparator_high_pct", comp_high),
        ("gap_low_pp", gap_low),
        ("gap_high_pp", gap_high),
    ):
        table[column] = np.where(sampled, 100 * np.asarray(values), np.nan)

    level = f"{100 * conf_level:g} %"
    if comparator is Comparator.MEL:
        gap_note = "gap by Newcombe's hybrid score method as if the samples were independent: conservative, the QPV are part of the MEL"
    else:
        gap_note = "gap by Newcombe's hybrid score method (disjoint territories)"
    sampled_note = f"{level} Wilson intervals, design effect {design_effect:g}; {gap_note}"
    table["interval_note"] = np.where(sampled, sampled_note, EXHAUSTIVE_NOTE)
    table["design_effect"] = float(design_effect)
    return table[list(GAP_SERIES_COLUMNS)]


class PathStatus(StrEnum):
    """Where the latest gap stands against the required path, sampling uncertainty included."""

    #: The whole interval of the distance to the path is at or below 0: on the path (or ahead).
    ON_PATH = "on_path"
    #: The whole interval is above 0: behind the path, beyond the sampling uncertainty.
    BEHIND = "behind"
    #: The interval contains 0: the data cannot tell.
    UNDETERMINED = "undetermined"


def _half_widths(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(gap - gap_low, gap_high - gap)`` of a series row in points; None without an interval."""
    low, high = row.get("gap_low_pp", np.nan), row.get("gap_high_pp", np.nan)
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return None
    return float(row["gap_pp"]) - float(low), float(high) - float(row["gap_pp"])


def _series_row(series: pd.DataFrame, year: int) -> dict[str, Any]:
    rows = series[(series["year"] == year) & series["gap_pp"].notna()]
    if rows.empty:
        years = [int(y) for y in series.loc[series["gap_pp"].notna(), "year"]]
        raise UsageError(f"no gap for {year}: the series has a gap for {years}")
    return rows.iloc[0].to_dict()


@dataclass(frozen=True)
class GapChange:
    """The change of the gap between two years, in points, with its interval (see :func:`gap_change`).

    ``change_pp = gap_b_pp - gap_a_pp`` (negative when the gap narrowed); ``change_low_pp``,
    ``change_high_pp``: its interval at the level of the series' intervals (None when both years
    come from exhaustive sources); ``vintages_overlap``: the two census vintages share survey years,
    so the interval is wider than needed (see :func:`gap_change`).
    """

    comparator: str
    year_a: int
    year_b: int
    gap_a_pp: float
    gap_b_pp: float
    change_pp: float
    change_low_pp: float | None
    change_high_pp: float | None
    vintages_overlap: bool


def gap_change(series: pd.DataFrame, year_a: int, year_b: int) -> GapChange:
    """The change of the gap from ``year_a`` to ``year_b`` of a :func:`gap_series` table, with its interval.

    ``change = gap_b - gap_a``. Interval: the method of variance estimates recovery (MOVER, Zou and
    Donner 2008) on the two years' gap intervals (``gap_low_pp``, ``gap_high_pp``, Newcombe's), as
    for a difference of **independent** estimates::

        low  = change - sqrt((gap_b - gap_low_b)^2 + (gap_high_a - gap_a)^2)
        high = change + sqrt((gap_high_b - gap_b)^2 + (gap_a - gap_low_a)^2)

    A year from exhaustive sources (no interval) counts as exact; without any interval the bounds
    are None. The level is that of the series' intervals.

    **Dependence between the two years.** Census vintages 5 or more years apart pool disjoint survey
    years (a vintage N pools the surveys N-2..N+2): their samples are taken as independent. That is
    an approximation: a rotation group of addresses comes back five years later, so some dwellings
    (and the households that stayed) can be surveyed in both. Vintages less than 5 years apart share
    survey years outright. In both cases the shared part makes the two gaps err in the same
    direction (with the whole MEL as comparator the gap's sampling error is ``(1 - s)(e_out -
    e_QPV)``, and each of the two disjoint areas' errors is positively correlated between the two
    vintages), so the variance of their difference is *smaller* than the sum assumed here: the
    interval is conservative (too wide), markedly so when ``vintages_overlap``. The gap intervals
    themselves are conservative against the whole MEL (:func:`gap_series`).

    Raises :class:`~evaluation.errors.UsageError` when the series mixes comparators or lacks a gap
    for one of the years.
    """
    comparators = sorted(set(series["comparator"].dropna()))
    if len(comparators) > 1:
        raise UsageError(f"the series mixes comparators {comparators}: compute one gap_series per comparator")
    row_a, row_b = _series_row(series, year_a), _series_row(series, year_b)
    gap_a, gap_b = float(row_a["gap_pp"]), float(row_b["gap_pp"])
    low, high = _difference_ci(gap_b, _half_widths(row_b), gap_a, _half_widths(row_a))
    if year_a == year_b:
        low, high = (None, None) if low is None else (0.0, 0.0)
    return GapChange(
        comparator=comparators[0] if comparators else "",
        year_a=year_a,
        year_b=year_b,
        gap_a_pp=gap_a,
        gap_b_pp=gap_b,
        change_pp=gap_b - gap_a,
        change_low_pp=low,
        change_high_pp=high,
        vintages_overlap=_vintages_overlap(row_a, row_b),
    )


@dataclass(frozen=True)
class GapReduction:
    """How far the gap has closed against the halving target, in points (see :func:`gap_reduction`).

    ``reduction_pp = baseline_gap_pp - latest_gap_pp`` (positive when the gap shrinks);
    ``target_gap_pp = baseline_gap_pp * (1 - reduction_share)``; ``target_reduction_pp =
    baseline_gap_pp - target_gap_pp``; ``share_of_target_pct = 100 * reduction_pp /
    target_reduction_pp``; ``pace_pp_per_year = reduction_pp / (latest_year - baseline_year)``;
    ``required_path``: ``(year, gap_pp)`` on the straight line from the baseline to the target at the
    horizon; ``projected_year``: the year the target is met at that pace (None when the gap does not
    shrink); ``on_path``: ``latest_gap_pp <= required gap at latest_year``.

    Sampling uncertainty (None when both years come from exhaustive sources, or for a single year):
    ``reduction_low_pp``, ``reduction_high_pp``, the interval of the reduction (:func:`gap_change`,
    sign reversed); ``distance_to_path_pp`` = latest gap - required gap at ``latest_year`` (positive:
    behind) and its interval; ``path_status`` (:class:`PathStatus`) from that interval;
    ``projected_year_earliest`` and ``projected_year_latest``, the years the target is met at the
    paces at the two ends of the reduction's interval (``projected_year_latest`` None: at the low end
    the gap does not shrink, no year); ``vintages_overlap`` as in :class:`GapChange`.
    """

    comparator: str
    baseline_year: int
    baseline_gap_pp: float
    target_gap_pp: float
    latest_year: int
    latest_gap_pp: float
    reduction_pp: float
    target_reduction_pp: float
    share_of_target_pct: float
    pace_pp_per_year: float | None
    required_path: tuple[tuple[int, float], ...]
    projected_year: int | None
    on_path: bool
    reduction_low_pp: float | None = None
    reduction_high_pp: float | None = None
    distance_to_path_pp: float = math.nan
    distance_to_path_low_pp: float | None = None
    distance_to_path_high_pp: float | None = None
    path_status: PathStatus = PathStatus.UNDETERMINED
    projected_year_earliest: int | None = None
    projected_year_latest: int | None = None
    vintages_overlap: bool = False


def _required_gap(year: int, baseline_year: int, baseline_gap: float, horizon: int, target_gap: float) -> float:
    """Linear path: ``g0 + (target - g0) * (year - y0) / (horizon - y0)``, clamped to [y0, horizon]."""
    if year >= horizon:
        return target_gap
    if year <= baseline_year:
        return baseline_gap
    return baseline_gap + (target_gap - baseline_gap) * (year - baseline_year) / (horizon - baseline_year)


def gap_reduction(
    series: pd.DataFrame,
    baseline_year: int | None = None,
    horizon: int = 2021,
    reduction_share: float = PLAN_REDUCTION_SHARE,
) -> GapReduction:
    """The reduction of the gap achieved against the target, from a :func:`gap_series` table.

    * Baseline: the row of ``baseline_year`` (default: the first year with a gap); latest: the last
      year with a gap.
    * ``target_gap = baseline_gap * (1 - reduction_share)`` (the plan: 15 -> 7.5 points, but the
      baseline here is the series' own, measured against its comparator).
    * Required path: for each year from the baseline to ``horizon``,
      ``baseline_gap + (target_gap - baseline_gap) * (year - baseline_year) / (horizon - baseline_year)``;
      after the horizon the required gap is the target.
    * ``share_of_target_pct = 100 * (baseline_gap - latest_gap) / (baseline_gap - target_gap)``
      (negative when the gap widened; NaN when the baseline gap is 0).
    * ``projected_year``: when the latest gap already meets the target, the first observed year that
      met it; otherwise, with the pace ``v = (baseline_gap - latest_gap) / (latest_year - baseline_year)``
      > 0, ``baseline_year + ceil((baseline_gap - target_gap) / v)``; None when the gap does not shrink
      (or there is a single year).

    **Sampling uncertainty**, from the series' gap intervals (``gap_low_pp``, ``gap_high_pp``; a
    series without them, or years from exhaustive sources, count as exact):

    * ``reduction_low_pp``, ``reduction_high_pp``: the interval of ``baseline_gap - latest_gap``,
      the sign-reversed interval of :func:`gap_change` (MOVER, the two years' estimates taken as
      independent: true for census vintages 5 or more years apart, conservative for closer ones,
      which share survey years; ``vintages_overlap`` says which);
    * ``distance_to_path_pp = latest_gap - c * baseline_gap`` with ``c = 1 - reduction_share * f``
      and ``f = min(1, (latest_year - baseline_year) / (horizon - baseline_year))`` (the required gap
      is proportional to the baseline gap, which is an estimate too); its interval by MOVER with the
      scaled baseline interval (``c * (gap_low, gap_high)``); ``path_status``:
      :attr:`PathStatus.ON_PATH` when its upper bound is <= 0, :attr:`PathStatus.BEHIND` when its
      lower bound is > 0, :attr:`PathStatus.UNDETERMINED` otherwise (without interval: the sign of
      the distance);
    * ``projected_year_earliest`` / ``projected_year_latest``: the formula of ``projected_year`` with
      the pace at the upper / lower bound of the reduction's interval (None when that pace is not
      positive: at the low end, the gap does not shrink and no year can be given), while the target is
      not met; the target (half the baseline gap) is taken as fixed there, so the range is an order
      of magnitude.

    Raises :class:`~evaluation.errors.UsageError` when the series mixes comparators, has no gap, lacks
    ``baseline_year``, when ``horizon <= baseline_year`` or ``reduction_share`` is outside (0, 1].
    Warns when the baseline gap is not positive (nothing to halve) and when the baseline and latest
    census vintages overlap or straddle the 2015 method change (:func:`check_guards`).
    """
    comparators = sorted(set(series["comparator"].dropna()))
    if len(comparators) > 1:
        raise UsageError(f"the series mixes comparators {comparators}: compute one gap_series per comparator")
    if not 0 < reduction_share <= 1:
        raise UsageError(f"reduction_share must be in (0, 1], got {reduction_share!r} (0.5 halves the gap)")
    rows = series[series["gap_pp"].notna()].sort_values("year")
    if rows.empty:
        raise UsageError("the series has no year with a gap (no QPV or comparator counts)")
    years = [int(y) for y in rows["year"]]
    gaps = dict(zip(years, rows["gap_pp"].astype(float), strict=True))
    vintages = dict(zip(years, rows["vintage"] if "vintage" in rows else [np.nan] * len(years), strict=True))
    if baseline_year is None:
        baseline_year = years[0]
    if baseline_year not in gaps:
        raise UsageError(f"no gap for the baseline year {baseline_year}: the series has {years}")
    if horizon <= baseline_year:
        raise UsageError(f"the horizon ({horizon}) must come after the baseline year ({baseline_year})")
    latest_year = years[-1]
    baseline_gap = gaps[baseline_year]
    latest_gap = gaps[latest_year]
    if baseline_gap <= 0:
        warnings.warn(
            Caveat(
                f"the baseline gap is {baseline_gap:.2f} points in {baseline_year}: the QPV do not lag behind, nothing to halve",
                CaveatKind.NOTHING_TO_HALVE,
            ),
            EvaluationWarning,
            stacklevel=2,
        )
    for message in _vintage_messages([vintages[baseline_year], vintages[latest_year]]):
        warnings.warn(message, EvaluationWarning, stacklevel=2)

    target_gap = baseline_gap * (1 - reduction_share)
    target_reduction = baseline_gap - target_gap
    reduction = baseline_gap - latest_gap
    share = 100 * reduction / target_reduction if target_reduction != 0 else math.nan
    elapsed = latest_year - baseline_year
    pace = reduction / elapsed if elapsed > 0 else None

    projected: int | None = None
    if baseline_gap > 0 and latest_gap <= target_gap:
        projected = next(y for y in years if y >= baseline_year and gaps[y] <= target_gap)
    elif baseline_gap > 0 and pace is not None and pace > 0:
        # The tolerance keeps an exact whole number of years (7.5 / 0.5 = 15) from rounding up.
        projected = baseline_year + math.ceil(target_reduction / pace - 1e-9)

    path = tuple(
        (year, _required_gap(year, baseline_year, baseline_gap, horizon, target_gap))
        for year in range(baseline_year, horizon + 1)
    )
    required_latest = _required_gap(latest_year, baseline_year, baseline_gap, horizon, target_gap)

    row_base = rows[rows["year"] == baseline_year].iloc[0].to_dict()
    row_latest = rows[rows["year"] == latest_year].iloc[0].to_dict()
    widths_base, widths_latest = _half_widths(row_base), _half_widths(row_latest)
    scale = 1 - reduction_share * min(1.0, max(0.0, elapsed / (horizon - baseline_year)))
    distance = latest_gap - required_latest
    reduction_low = reduction_high = distance_low = distance_high = None
    if elapsed > 0:
        change_low, change_high = _difference_ci(latest_gap, widths_latest, baseline_gap, widths_base)
        if change_low is not None and change_high is not None:
            reduction_low, reduction_high = -change_high, -change_low
        distance_low, distance_high = _difference_ci(latest_gap, widths_latest, baseline_gap, widths_base, scale)
    if distance_low is None or distance_high is None:
        status = PathStatus.ON_PATH if distance <= 1e-12 else PathStatus.BEHIND
    elif distance_high <= 1e-12:
        status = PathStatus.ON_PATH
    elif distance_low > 1e-12:
        status = PathStatus.BEHIND
    else:
        status = PathStatus.UNDETERMINED
    earliest = latest = None
    if baseline_gap > 0 and latest_gap > target_gap and reduction_low is not None and reduction_high is not None:
        if reduction_high > 0:
            earliest = baseline_year + math.ceil(target_reduction * elapsed / reduction_high - 1e-9)
        if reduction_low > 0:
            latest = baseline_year + math.ceil(target_reduction * elapsed / reduction_low - 1e-9)

    return GapReduction(
        comparator=comparators[0] if comparators else "",
        baseline_year=baseline_year,
        baseline_gap_pp=baseline_gap,
        target_gap_pp=target_gap,
        latest_year=latest_year,
        latest_gap_pp=latest_gap,
        reduction_pp=reduction,
        target_reduction_pp=target_reduction,
        share_of_target_pct=share,
        pace_pp_per_year=pace,
        required_path=path,
        projected_year=projected,
        on_path=bool(latest_gap <= required_latest + 1e-12),
        reduction_low_pp=reduction_low,
        reduction_high_pp=reduction_high,
        distance_to_path_pp=distance,
        distance_to_path_low_pp=distance_low,
        distance_to_path_high_pp=distance_high,
        path_status=status,
        projected_year_earliest=earliest,
        projected_year_latest=latest,
        vintages_overlap=_vintages_overlap(row_base, row_latest),
    )
