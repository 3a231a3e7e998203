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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from evaluation.errors import UsageError

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


class Comparator(StrEnum):
    """The territory a QPV rate is compared with (a closed set: never mix them in one series)."""

    MEL = "MEL"
    MEL_HORS_QPV = "MEL_HORS_QPV"


#: The comparators and their French labels. Keys are :class:`Comparator` members, equal to their strings.
COMPARATORS: dict[Comparator, str] = {
    Comparator.MEL: "ensemble de la Métropole",
    Comparator.MEL_HORS_QPV: "Métropole hors quartiers prioritaires",
}
#: The plan's comparator: "44 % dans les quartiers prioritaires contre 59 % dans la Métropole".
PLAN_COMPARATOR = Comparator.MEL
#: The plan's baseline gap, 59 - 44 points (introduction of the plan).
PLAN_BASELINE_GAP_PP = 15.0
#: The plan halves the gap: target gap = baseline gap * (1 - 0.5) = 7.5 points.
PLAN_REDUCTION_SHARE = 0.5
#: INSEE's caution threshold: census counts below 200 are too imprecise to be interpreted alone.
CAUTION_COUNT = 200
#: First census vintage of the new collection method; a series with vintages on both sides spans it.
CENSUS_METHOD_CHANGE_YEAR = 2015
#: A census vintage N pools the surveys N-2..N+2: two vintages less than 5 years apart share surveys.
VINTAGE_OVERLAP_YEARS = 5
#: Territory label of the QPV aggregate in the result tables.
QPV_AGGREGATE = "QPV"
#: The age bands of the 15-64 year-olds used for standardisation and decomposition.
AGE_BANDS = ("15-24", "25-54", "55-64")
#: ``interval_note`` of a year whose counts all come from exhaustive sources.
EXHAUSTIVE_NOTE = "exhaustive source, no interval"
#: Share of the dwellings a census vintage surveys in communes of 10 000 inhabitants or more: INSEE
#: surveys a sample of about 8 % of the dwellings each year, about 40 % over the five annual surveys
#: pooled in a vintage (INSEE's description of the census method; smaller communes are enumerated in
#: full, one fifth each year). Every QPV of the MEL lies in such a commune.
CENSUS_SAMPLING_FRACTION = 0.40
#: Default design effect of a rate computed on census counts: ``(1 - f) / f`` with ``f`` =
#: :data:`CENSUS_SAMPLING_FRACTION`, i.e. 1.5. A rate ``p`` estimated on a population count ``N`` from
#: a sample of a fraction ``f`` of it has the variance ``(1 - f) p (1 - p) / (f N)`` (simple random
#: sampling of ``f N`` people without replacement), ``(1 - f) / f`` times the ``p (1 - p) / N`` of
#: a simple random sample of size ``N``: the census counts are weighted up from that sample. It
#: leaves out what INSEE does not publish as a single factor: the clustering of people in dwellings
#: and addresses (wider), the calibration of the weights on the dwelling counts and the exhaustive
#: enumeration of the small communes of the MEL (narrower). An assumption, configurable
#: (``design_effect`` parameters, ``evaluation employment-gap --design-effect``): the intervals it
#: gives are orders of magnitude.
#: (Rounded: 1.5, not the 1.4999... of binary floats.)
DEFAULT_CENSUS_DESIGN_EFFECT = round((1 - CENSUS_SAMPLING_FRACTION) / CENSUS_SAMPLING_FRACTION, 10)

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

_POPULATION = "population_15_64"
_EMPLOYED = "employed_15_64"
_ALL_SEXES = "ensemble"
_TOTAL_BAND = "total"
_QPV_PREFIX = "QN"
#: At most this many small counts are named one by one by :func:`check_guards`; the rest are counted.
_MAX_LISTED = 20


class EvaluationWarning(UserWarning):
    """A statistical caveat: the result is computed, but must be read with care."""


class CaveatKind(StrEnum):
    """What a statistical caveat is about: the reports render each kind in French from its kind, never from its words."""

    MISSING_COUNTS = "missing_counts"
    MIXED_VINTAGES = "mixed_vintages"
    CHANGING_PERIMETER = "changing_perimeter"
    NOTHING_TO_HALVE = "nothing_to_halve"
    OVERLAPPING_VINTAGES = "overlapping_vintages"
    METHOD_CHANGE = "method_change"
    SMALL_COUNT = "small_count"
    MORE_SMALL_COUNTS = "more_small_counts"
    PARTIAL_AGE_BANDS = "partial_age_bands"
    CONTRIBUTIONS_LEFT_OUT = "contributions_left_out"


class Caveat(str):
    """A statistical caveat: its English text (the string itself, as the command line and JSON print it)
    with its :class:`CaveatKind` and, for :attr:`CaveatKind.MORE_SMALL_COUNTS`, how many it stands for.

    Warned as the message of an :class:`EvaluationWarning` (``warning.message.args[0]`` is the caveat).
    """

    kind: CaveatKind
    count: int

    def __new__(cls, text: str, kind: CaveatKind, count: int = 1) -> Caveat:
        caveat = super().__new__(cls, text)
        caveat.kind = CaveatKind(kind)
        caveat.count = int(count)
        return caveat

    def __reduce__(self) -> tuple[type, tuple[str, CaveatKind, int]]:
        return (Caveat, (str(self), self.kind, self.count))


def caveats_of(caught: Iterable[warnings.WarningMessage]) -> tuple[Caveat | str, ...]:
    """The caveats of recorded warnings (``warnings.catch_warnings(record=True)``), in order, once each."""
    found = [
        w.message.args[0] if w.message.args else str(w.message)
        for w in caught
        if issubclass(w.category, EvaluationWarning)
    ]
    return tuple(dict.fromkeys(found))


# --------------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------------


def _critical_value(conf_level: float) -> float:
    """Two-sided standard normal quantile ``z = Phi^-1(1 - (1 - conf_level) / 2)``."""
    if not 0 < conf_level < 1:
        raise UsageError(f"conf_level must be strictly between 0 and 1, got {conf_level!r} (e.g. 0.95)")
    # -ndtri(q) is what scipy.stats.norm.isf(q) computes; scipy.special spares the import of
    # scipy.stats (about 1 s in every process that computes an interval).
    return float(-special.ndtri((1 - conf_level) / 2))


def _check_design_effect(design_effect: float) -> None:
    if not (design_effect > 0 and math.isfinite(design_effect)):
        raise UsageError(
            f"design_effect must be a positive number, got {design_effect!r} (1 for simple random sampling)"
        )


def _scalar_or_array(values: np.ndarray, scalar: bool) -> Any:
    return float(values) if scalar else values


def wilson_ci(
    successes: Any,
    trials: Any,
    conf_level: float = 0.95,
    design_effect: float = 1.0,
) -> tuple[Any, Any]:
    """Wilson score interval for a proportion ``p = x / n``, vectorised.

    With ``z`` the two-sided normal quantile of ``conf_level`` and the effective sample size
    ``m = n / deff`` (``deff`` = ``design_effect``; the effective successes are ``x / deff``, so the
    rate ``p`` is unchanged)::

        centre = (p + z^2 / (2 m)) / (1 + z^2 / m)
        half   = z / (1 + z^2 / m) * sqrt(p (1 - p) / m + z^2 / (4 m^2))
        (low, high) = (centre - half, centre + half), clipped to [0, 1]

    Edge cases: ``x = 0`` gives ``low = 0`` and ``x = n`` gives ``high = 1`` exactly (the interval stays
    non-degenerate, unlike the Wald interval); ``n = 0`` gives NaN; NaN inputs give NaN. Counts may be
    non-integer (weighted census counts). Raises :class:`~evaluation.errors.UsageError` when
    ``x < 0`` or ``x > n``, for a ``conf_level`` outside (0, 1) or a non-positive ``design_effect``.

    Returns ``(low, high)`` as proportions (not percentages): floats for scalar inputs, arrays of the
    broadcast shape otherwise.
    """
    z = _critical_value(conf_level)
    _check_design_effect(design_effect)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    scalar = x.ndim == 0 and n.ndim == 0
    x, n = np.broadcast_arrays(x, n)
    if np.any(x < 0) or np.any(x > n):
        bad = np.flatnonzero((x < 0) | (x > n))[0]
        raise UsageError(
            f"successes must lie between 0 and trials: got {float(x.flat[bad])!r} successes out of {float(n.flat[bad])!r} "
            "(check that numerator and denominator are not swapped)"
        )
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(n > 0, n / design_effect, np.nan)
        p = x / np.where(n > 0, n, np.nan)
        denominator = 1 + z2 / m
        centre = (p + z2 / (2 * m)) / denominator
        half = z * np.sqrt(p * (1 - p) / m + z2 / (4 * m**2)) / denominator
    # The bounds at 0 and n successes are exactly 0 and 1; the formula gives them up to rounding.
    low = np.where((x == 0) & (n > 0), 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where((x == n) & (n > 0), 1.0, np.clip(centre + half, 0.0, 1.0))
    return _scalar_or_array(low, scalar), _scalar_or_array(high, scalar)


def rate_difference_ci(
    x1: Any,
    n1: Any,
    x2: Any,
    n2: Any,
    conf_level: float = 0.95,
    design_effect: float = 1.0,
) -> tuple[Any, Any, Any]:
    """Difference of two proportions ``d = p1 - p2`` with Newcombe's hybrid score interval.

    Newcombe (1998), "Interval estimation for the difference between independent proportions",
    *Statistics in Medicine* 17, method 10. With ``(l1, u1)`` and ``(l2, u2)`` the Wilson intervals of
    ``p1 = x1 / n1`` and ``p2 = x2 / n2`` (:func:`wilson_ci`, same ``conf_level`` and
    ``design_effect``, applied to both samples)::

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    The method assumes **independent samples**. Edge cases as in :func:`wilson_ci`: 0 or all
    successes are fine; an empty sample gives NaN. Returns ``(difference, low, high)`` as proportions:
    floats for scalar inputs, arrays for vector inputs.
    """
    a1 = np.asarray(x1, dtype=float)
    b1 = np.asarray(n1, dtype=float)
    a2 = np.asarray(x2, dtype=float)
    b2 = np.asarray(n2, dtype=float)
    scalar = all(v.ndim == 0 for v in (a1, b1, a2, b2))
    low1, high1 = wilson_ci(a1, b1, conf_level, design_effect)
    low2, high2 = wilson_ci(a2, b2, conf_level, design_effect)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a1 / np.where(b1 > 0, b1, np.nan)
        p2 = a2 / np.where(b2 > 0, b2, np.nan)
    difference = p1 - p2
    low = difference - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return (
        _scalar_or_array(difference, scalar),
        _scalar_or_array(low, scalar),
        _scalar_or_array(high, scalar),
    )


# --------------------------------------------------------------------------------------------------
# Standardisation and decomposition
# --------------------------------------------------------------------------------------------------


def direct_standardise(rates: Mapping[str, float], standard: Mapping[str, float]) -> float:
    """Directly standardised rate: ``sum_a w_a r_a / sum_a w_a`` over the bands ``a`` of ``standard``.

    ``rates`` maps an age band to the territory's rate in that band (any unit: the result has the
    same); ``standard`` maps each band to the standard population's weight (a count or a share).
    The result is the rate the territory would have with the standard's age structure. A territory
    standardised on its own structure gets its crude rate back. Bands of ``rates`` absent from the
    standard are ignored; a NaN rate gives NaN. Raises :class:`~evaluation.errors.UsageError` when a
    band of the standard has no rate, when a weight is negative or when the weights sum to 0.
    """
    missing = [band for band in standard if band not in rates]
    if missing:
        raise UsageError(f"no rate for the age band(s) {', '.join(map(repr, missing))} of the standard population")
    weights = np.array([float(standard[band]) for band in standard])
    values = np.array([float(rates[band]) for band in standard])
    if np.any(weights < 0) or not weights.sum() > 0:
        raise UsageError(f"the standard population's weights must be >= 0 with a positive sum, got {dict(standard)!r}")
    return float(np.sum(weights * values) / np.sum(weights))


def _aligned(values: Mapping[str, float] | Sequence[float], keys: list[str] | None, name: str) -> np.ndarray:
    if keys is not None:
        if not isinstance(values, Mapping) or set(values) != set(keys):
            raise UsageError(f"{name} must have the same groups as weights_a: {keys}")
        return np.array([float(values[k]) for k in keys])
    if isinstance(values, Mapping):
        raise UsageError(f"{name} is a mapping but weights_a is not: pass four mappings or four sequences")
    return np.asarray(values, dtype=float)


def kitagawa(
    rates_a: Mapping[str, float] | Sequence[float],
    weights_a: Mapping[str, float] | Sequence[float],
    rates_b: Mapping[str, float] | Sequence[float],
    weights_b: Mapping[str, float] | Sequence[float],
) -> tuple[float, float, float]:
    """Kitagawa (1955) decomposition of the change of a weighted mean rate from A to B.

    With the weights normalised to shares ``s = w / sum w`` and the mean rate ``R = sum_g s_g r_g``
    over the groups ``g`` (age bands, QPV)::

        total       = R_B - R_A
        composition = sum_g (s_Bg - s_Ag) * (r_Ag + r_Bg) / 2     (the structure changed)
        rate        = sum_g (r_Bg - r_Ag) * (s_Ag + s_Bg) / 2     (the rates changed)

    The symmetric form has no residual: ``composition + rate == total`` algebraically (up to float
    rounding, about 1e-16 for rates in [0, 1]). Pass four mappings keyed by the same groups or four
    aligned sequences. Returns ``(total, composition, rate)`` in the unit of the rates. A NaN rate
    gives NaN; raises :class:`~evaluation.errors.UsageError` when the groups differ, a weight is
    negative or a weight set sums to 0.
    """
    keys = list(weights_a) if isinstance(weights_a, Mapping) else None
    wa = _aligned(weights_a, keys, "weights_a")
    ra = _aligned(rates_a, keys, "rates_a")
    rb = _aligned(rates_b, keys, "rates_b")
    wb = _aligned(weights_b, keys, "weights_b")
    if not (wa.shape == ra.shape == rb.shape == wb.shape and wa.ndim == 1):
        raise UsageError(
            f"rates and weights must be four sequences of the same length, got {[len(v) for v in (ra, wa, rb, wb)]}"
        )
    for name, w in (("weights_a", wa), ("weights_b", wb)):
        if np.any(w < 0) or not w.sum() > 0:
            raise UsageError(f"{name} must be >= 0 with a positive sum, got {w.tolist()}")
    sa = wa / wa.sum()
    sb = wb / wb.sum()
    total = float(np.sum(sb * rb) - np.sum(sa * ra))
    composition = float(np.sum((sb - sa) * (ra + rb) / 2))
    rate = float(np.sum((rb - ra) * (sa + sb) / 2))
    return total, composition, rate


# --------------------------------------------------------------------------------------------------
# Reading the barometer
# --------------------------------------------------------------------------------------------------


def _check_comparator(comparator: str) -> Comparator:
    if comparator not in COMPARATORS:
        known = ", ".join(f"{c.value!r} ({label})" for c, label in COMPARATORS.items())
        raise UsageError(f"unknown comparator {comparator!r}: use one of {known}")
    return Comparator(comparator)


def _is_qpv(territory: pd.Series) -> pd.Series:
    return territory.astype(str).str.startswith(_QPV_PREFIX)


def _employment_counts(barometer: pd.DataFrame, age_bands: Iterable[str]) -> pd.DataFrame:
    """One row per (territory, year, age_band): ``population``, ``employed``, ``sampled``, ``vintage``.

    Rows of sex ``ensemble`` only. Rows lacking one of the two counts (absent or NaN) are dropped with
    a warning naming them: summing an incomplete QPV would bias the aggregate rate. Raises
    :class:`~evaluation.errors.UsageError` on duplicated keys and when employed exceeds population.
    """
    bands = list(age_bands)
    rows = barometer[
        barometer["indicator"].isin([_POPULATION, _EMPLOYED])
        & (barometer["sex"] == _ALL_SEXES)
        & barometer["age_band"].isin(bands)
    ]
    key = ["territory", "year", "age_band"]
    duplicated = rows.duplicated([*key, "indicator"], keep=False)
    if duplicated.any():
        first = rows[duplicated].iloc[0]
        raise UsageError(
            f"{int(duplicated.sum())} duplicated barometer rows, e.g. territory {first['territory']}, year "
            f"{first['year']}, indicator {first['indicator']}, age band {first['age_band']} (keep one row per key)"
        )
    columns = ["territory", "year", "age_band", "population", "employed", "sampled", "vintage"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    wide = rows.pivot(index=key, columns="indicator", values="value").reindex(columns=[_POPULATION, _EMPLOYED])
    wide.columns = ["population", "employed"]
    meta = rows.groupby(key).agg(sampled=("sampled", "any"), vintage=("vintage", "max"))
    counts = wide.join(meta).reset_index()
    incomplete = counts["population"].isna() | counts["employed"].isna()
    if incomplete.any():
        names = ", ".join(f"{r.territory} {r.year} ({r.age_band})" for r in counts[incomplete].itertuples())
        warnings.warn(
            Caveat(
                f"dropped {int(incomplete.sum())} territory-year(s) lacking population_15_64 or employed_15_64: {names}",
                CaveatKind.MISSING_COUNTS,
                int(incomplete.sum()),
            ),
            EvaluationWarning,
            stacklevel=3,
        )
        counts = counts[~incomplete]
    impossible = counts["employed"] > counts["population"]
    if impossible.any():
        first = counts[impossible].iloc[0]
        raise UsageError(
            f"{int(impossible.sum())} territory-year(s) with more employed than people aged 15-64, e.g. "
            f"{first['territory']} {first['year']} ({first['age_band']}): employed_15_64 {first['employed']:g} > "
            f"population_15_64 {first['population']:g} (check that the two indicators are not swapped)"
        )
    counts["year"] = counts["year"].astype(int)
    return counts[columns].reset_index(drop=True)


def _qpv_universe(barometer: pd.DataFrame) -> list[str]:
    """The QPV codes of the data (any indicator, any year, sex ``ensemble``, age band ``total``)."""
    rows = barometer[(barometer["sex"] == _ALL_SEXES) & (barometer["age_band"] == _TOTAL_BAND)]
    return sorted({str(t) for t in rows["territory"] if str(t).startswith(_QPV_PREFIX)})


def _rate(employed: Any, population: Any) -> Any:
    """``employed / population`` elementwise, NaN where the population is not positive."""
    e = np.asarray(employed, dtype=float)
    p = np.asarray(population, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, e / p, np.nan)


# --------------------------------------------------------------------------------------------------
# Gap series and reduction
# --------------------------------------------------------------------------------------------------


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


def _difference_ci(
    estimate_b: float,
    widths_b: tuple[float, float] | None,
    estimate_a: float,
    widths_a: tuple[float, float] | None,
    scale_a: float = 1.0,
) -> tuple[float | None, float | None]:
    """MOVER interval of ``estimate_b - scale_a * estimate_a`` from the two intervals (independent).

    Zou and Donner (2008), "Construction of confidence limits about effect measures: a general
    approach", *Statistics in Medicine* 27:1693-1702 (the method of variance estimates recovery,
    which gives Newcombe's interval when applied to two Wilson intervals). With the half-widths
    ``(lb, ub)`` of B and ``(la, ua)`` of A, ``c = scale_a >= 0`` and ``d = B - c A``::

        low  = d - sqrt(lb^2 + (c ua)^2)
        high = d + sqrt(ub^2 + (c la)^2)

    An estimate without interval (exhaustive source) counts as exact; (None, None) when neither has one.
    """
    if widths_a is None and widths_b is None:
        return None, None
    lb, ub = widths_b or (0.0, 0.0)
    la, ua = widths_a or (0.0, 0.0)
    difference = estimate_b - scale_a * estimate_a
    return (
        difference - math.sqrt(lb**2 + (scale_a * ua) ** 2),
        difference + math.sqrt(ub**2 + (scale_a * la) ** 2),
    )


def _series_row(series: pd.DataFrame, year: int) -> dict[str, Any]:
    rows = series[(series["year"] == year) & series["gap_pp"].notna()]
    if rows.empty:
        years = [int(y) for y in series.loc[series["gap_pp"].notna(), "year"]]
        raise UsageError(f"no gap for {year}: the series has a gap for {years}")
    return rows.iloc[0].to_dict()


def _vintages_overlap(row_a: Mapping[str, Any], row_b: Mapping[str, Any]) -> bool:
    """True when the two rows' census vintages are known, distinct and share survey years."""
    vintages = [row.get("vintage", np.nan) for row in (row_a, row_b)]
    if any(v is None or pd.isna(v) for v in vintages):
        return False
    return 0 < abs(int(vintages[1]) - int(vintages[0])) < VINTAGE_OVERLAP_YEARS


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


# --------------------------------------------------------------------------------------------------
# Age structure
# --------------------------------------------------------------------------------------------------


def _group_bands(barometer: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """Band counts per territory group (QPV aggregate, MEL, MEL_HORS_QPV) and year.

    Returns a frame indexed by (group, year, age_band) with ``population`` and ``employed``. A QPV
    lacking one of the three bands in a year is left out of that year's aggregate, with a warning.
    """
    counts = _employment_counts(barometer, AGE_BANDS)
    counts = counts[counts["year"].isin(list(years))].copy()
    is_qpv = _is_qpv(counts["territory"])
    counts = counts[is_qpv | counts["territory"].isin([c.value for c in Comparator])]
    counts["group"] = np.where(_is_qpv(counts["territory"]), QPV_AGGREGATE, counts["territory"].astype(str))
    bands_present = counts.groupby(["territory", "year"])["age_band"].transform("nunique")
    partial = counts[(bands_present < len(AGE_BANDS)) & (counts["group"] == QPV_AGGREGATE)]
    if not partial.empty:
        names = ", ".join(sorted({f"{r.territory} {r.year}" for r in partial.itertuples()}))
        warnings.warn(
            Caveat(
                f"left out of the QPV aggregate for lack of some age bands {list(AGE_BANDS)}: {names}",
                CaveatKind.PARTIAL_AGE_BANDS,
            ),
            EvaluationWarning,
            stacklevel=3,
        )
        counts = counts.drop(partial.index)
    return counts.groupby(["group", "year", "age_band"])[["population", "employed"]].sum()


def _bands_of(grouped: pd.DataFrame, group: str, year: int) -> pd.DataFrame:
    """The three bands of ``group`` in ``year`` (population, employed), or a UsageError naming the gap."""
    at = (grouped.index.get_level_values("group") == group) & (grouped.index.get_level_values("year") == year)
    bands = grouped[at].droplevel(["group", "year"])
    missing = [band for band in AGE_BANDS if band not in bands.index]
    if missing:
        raise UsageError(
            f"no population_15_64 and employed_15_64 for the age band(s) {missing} of {group} in {year} "
            f"(the standardisation and the decomposition need the bands {list(AGE_BANDS)}, sex 'ensemble')"
        )
    return bands.loc[list(AGE_BANDS)]


def standardised_rates(
    barometer: pd.DataFrame,
    year: int,
    standard_territory: str = PLAN_COMPARATOR,
) -> pd.DataFrame:
    """Crude and age-standardised employment rates of the QPV aggregate, MEL and MEL_HORS_QPV in ``year``.

    For each territory group present (rows in that order, the QPV aggregate labelled
    :data:`QPV_AGGREGATE`), with ``r_a = employed_a / population_a`` in the bands ``a`` of
    :data:`AGE_BANDS` and ``w_a`` the standard territory's ``population_15_64`` in band ``a`` that
    year:

    * ``crude_rate_pct = 100 * sum_a employed_a / sum_a population_a`` (from the bands, so that crude
      and standardised rates differ only by the age structure; it can differ slightly from the
      ``total`` row used by :func:`gap_series` when the census bands do not add up to the total);
    * ``standardised_rate_pct = 100 * sum_a w_a r_a / sum_a w_a`` (:func:`direct_standardise`); the
      standard territory's standardised rate equals its crude rate;
    * ``crude_gap_pp`` and ``standardised_gap_pp``: the comparator's rate minus the QPV aggregate's
      rate (NaN on the QPV row). The standardised gap is the gap that remains once the QPV's younger
      age structure is set aside.

    Columns: ``year``, ``territory``, ``population``, ``employed``, ``crude_rate_pct``,
    ``standardised_rate_pct``, ``crude_gap_pp``, ``standardised_gap_pp``, ``standard_territory``.
    Raises :class:`~evaluation.errors.UsageError` for an unknown standard territory or when the
    standard lacks a band.
    """
    groups = [QPV_AGGREGATE, *(c.value for c in Comparator)]
    if standard_territory not in groups:
        raise UsageError(f"unknown standard territory {standard_territory!r}: use one of {groups}")
    grouped = _group_bands(barometer, [year])
    standard_bands = _bands_of(grouped, str(standard_territory), year)
    standard = standard_bands["population"].to_dict()

    records = []
    present = set(grouped.index.get_level_values(0))
    for group in groups:
        if group not in present:
            continue
        bands = _bands_of(grouped, group, year)
        rates = (bands["employed"] / bands["population"]).to_dict()
        population = float(bands["population"].sum())
        employed = float(bands["employed"].sum())
        records.append(
            {
                "year": year,
                "territory": group,
                "population": population,
                "employed": employed,
                "crude_rate_pct": 100 * employed / population if population > 0 else math.nan,
                "standardised_rate_pct": 100 * direct_standardise(rates, standard),
            }
        )
    table = pd.DataFrame.from_records(records)
    qpv = table[table["territory"] == QPV_AGGREGATE]
    qpv_crude = float(qpv["crude_rate_pct"].iloc[0]) if len(qpv) else math.nan
    qpv_standardised = float(qpv["standardised_rate_pct"].iloc[0]) if len(qpv) else math.nan
    is_comparator = table["territory"] != QPV_AGGREGATE
    table["crude_gap_pp"] = np.where(is_comparator, table["crude_rate_pct"] - qpv_crude, np.nan)
    table["standardised_gap_pp"] = np.where(is_comparator, table["standardised_rate_pct"] - qpv_standardised, np.nan)
    table["standard_territory"] = str(standard_territory)
    return table


def decompose_gap_change(
    barometer: pd.DataFrame,
    year_a: int,
    year_b: int,
    comparator: str = PLAN_COMPARATOR,
) -> pd.DataFrame:
    """Kitagawa decomposition of the change of the QPV rate, the comparator's rate and the gap, in points.

    For the QPV aggregate and the comparator, with ``s_a`` the share of band ``a`` in the 15-64
    population and ``r_a`` the band's employment rate (bands :data:`AGE_BANDS`), :func:`kitagawa`
    splits the change of the rate from ``year_a`` to ``year_b`` into

    * ``composition_pp = 100 * sum_a (s_Ba - s_Aa) (r_Aa + r_Ba) / 2``: the age structure changed;
    * ``rate_effect_pp = 100 * sum_a (r_Ba - r_Aa) (s_Aa + s_Ba) / 2``: the band rates changed;
    * ``total_change_pp = composition_pp + rate_effect_pp`` (exact, up to float rounding).

    The ``gap`` row (gap = comparator - QPV) takes each column as comparator minus QPV, so its parts
    add up too; a negative ``total_change_pp`` there means the gap narrowed. Levels are rebuilt from
    the bands (see :func:`standardised_rates` for why they may differ slightly from the ``total``
    rows).

    Columns: ``series`` (``"qpv"``, the comparator, ``"gap"``), ``year_a``, ``year_b``, ``level_a``,
    ``level_b`` (rates in %, the gap in points: see ``unit``), ``unit``, ``total_change_pp``,
    ``composition_pp``, ``rate_effect_pp``. Raises :class:`~evaluation.errors.UsageError` for an
    unknown comparator or a missing band; warns when the two census vintages overlap.
    """
    comparator = _check_comparator(comparator)
    grouped = _group_bands(barometer, [year_a, year_b])
    records = []
    for label, group in (("qpv", QPV_AGGREGATE), (comparator.value, comparator.value)):
        bands_a = _bands_of(grouped, group, year_a)
        bands_b = _bands_of(grouped, group, year_b)
        rates_a = (bands_a["employed"] / bands_a["population"]).to_dict()
        rates_b = (bands_b["employed"] / bands_b["population"]).to_dict()
        total, composition, rate = kitagawa(
            rates_a, bands_a["population"].to_dict(), rates_b, bands_b["population"].to_dict()
        )
        records.append(
            {
                "series": label,
                "year_a": year_a,
                "year_b": year_b,
                "level_a": 100 * bands_a["employed"].sum() / bands_a["population"].sum(),
                "level_b": 100 * bands_b["employed"].sum() / bands_b["population"].sum(),
                "unit": "%",
                "total_change_pp": 100 * total,
                "composition_pp": 100 * composition,
                "rate_effect_pp": 100 * rate,
            }
        )
    qpv, comp = records
    records.append(
        {
            "series": "gap",
            "year_a": year_a,
            "year_b": year_b,
            "unit": "points",
            **{
                column: comp[column] - qpv[column]
                for column in ("level_a", "level_b", "total_change_pp", "composition_pp", "rate_effect_pp")
            },
        }
    )
    vintages = _vintages_of(barometer, [year_a, year_b])
    for message in _vintage_messages(vintages):
        warnings.warn(message, EvaluationWarning, stacklevel=2)
    columns = [
        "series",
        "year_a",
        "year_b",
        "level_a",
        "level_b",
        "unit",
        "total_change_pp",
        "composition_pp",
        "rate_effect_pp",
    ]
    return pd.DataFrame.from_records(records)[columns]


def qpv_contributions(
    barometer: pd.DataFrame,
    year_a: int,
    year_b: int,
    comparator: str = PLAN_COMPARATOR,
) -> pd.DataFrame:
    """Each QPV's rate, gap and contribution to the change of the aggregate QPV rate, in points.

    For QPV ``i`` with rate ``r_i = employed_i / population_i`` and population share ``s_i`` in the
    aggregate (``total`` rows), the aggregate rate is ``R = sum_i s_i r_i``, and (Kitagawa's symmetric
    form over the QPV, the composition term **centred** on the mean aggregate rate
    ``R_mean = (R_a + R_b) / 2``)::

        rate_effect_pp  = 100 * (s_ia + s_ib) / 2 * (r_ib - r_ia)
        composition_pp  = 100 * ((r_ia + r_ib) / 2 - R_mean) * (s_ib - s_ia)
        contribution_pp = rate_effect_pp + composition_pp

    and ``sum_i contribution_pp = 100 * (R_b - R_a)`` exactly (up to float rounding): the shares sum
    to 1 in both years, so ``sum_i (s_ib - s_ia) = 0`` and the centring term adds up to 0. A QPV
    contributes through its own rate, or because its weight grew or shrank *and* its rate differs
    from the aggregate's: a QPV at the aggregate rate whose weight grows changes nothing (without the
    centring, two QPV at 40 % whose shares go from 50/50 to 60/40 would "contribute" +4 and -4
    points to an aggregate that did not move).

    Only the QPV with counts in both years enter (a QPV present in one year only is named in a
    warning); the contributions then add up to the change of the aggregate over those QPV. Columns:
    ``territory``, ``population_a``, ``population_b``, ``rate_a_pct``, ``rate_b_pct``,
    ``rate_change_pp``, ``gap_a_pp``, ``gap_b_pp`` (comparator rate - QPV rate, NaN without comparator
    counts), ``share_a_pct``, ``share_b_pct``, ``rate_effect_pp``, ``composition_pp``,
    ``contribution_pp``, ``aggregate_rate_mean_pct`` (``100 * R_mean``, the same on every row);
    one row per QPV, by code.
    """
    comparator = _check_comparator(comparator)
    counts = _employment_counts(barometer, [_TOTAL_BAND])
    counts = counts[counts["year"].isin([year_a, year_b])]
    qpv = counts[_is_qpv(counts["territory"])]
    by_year = {year: qpv[qpv["year"] == year].set_index("territory") for year in (year_a, year_b)}
    common = sorted(set(by_year[year_a].index) & set(by_year[year_b].index))
    only_one = sorted(set(by_year[year_a].index) ^ set(by_year[year_b].index))
    if only_one:
        warnings.warn(
            Caveat(
                f"QPV without counts in both {year_a} and {year_b}, left out of the contributions: {', '.join(only_one)}",
                CaveatKind.CONTRIBUTIONS_LEFT_OUT,
            ),
            EvaluationWarning,
            stacklevel=2,
        )
    a = by_year[year_a].loc[common]
    b = by_year[year_b].loc[common]
    comp = counts[counts["territory"] == comparator.value].set_index("year")

    def comparator_rate(year: int) -> float:
        if year not in comp.index:
            return math.nan
        return float(_rate(comp.loc[year, "employed"], comp.loc[year, "population"]))

    rate_a = _rate(a["employed"], a["population"])
    rate_b = _rate(b["employed"], b["population"])
    share_a = a["population"].to_numpy(dtype=float) / a["population"].sum()
    share_b = b["population"].to_numpy(dtype=float) / b["population"].sum()
    # The aggregate rates over the QPV of both years (those the contributions cover).
    mean_rate = (
        _rate(a["employed"].sum(), a["population"].sum()) + _rate(b["employed"].sum(), b["population"].sum())
    ) / 2
    table = pd.DataFrame(
        {
            "territory": common,
            "population_a": a["population"].to_numpy(dtype=float),
            "population_b": b["population"].to_numpy(dtype=float),
            "rate_a_pct": 100 * rate_a,
            "rate_b_pct": 100 * rate_b,
            "rate_change_pp": 100 * (rate_b - rate_a),
            "gap_a_pp": 100 * (comparator_rate(year_a) - rate_a),
            "gap_b_pp": 100 * (comparator_rate(year_b) - rate_b),
            "share_a_pct": 100 * share_a,
            "share_b_pct": 100 * share_b,
            "rate_effect_pp": 100 * (share_a + share_b) / 2 * (rate_b - rate_a),
            "composition_pp": 100 * ((rate_a + rate_b) / 2 - mean_rate) * (share_b - share_a),
        }
    )
    table["contribution_pp"] = table["rate_effect_pp"] + table["composition_pp"]
    table["aggregate_rate_mean_pct"] = 100 * float(mean_rate)
    return table


# --------------------------------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------------------------------


def _vintages_of(barometer: pd.DataFrame, years: Sequence[int] | None) -> list[float]:
    rows = barometer if years is None else barometer[barometer["year"].isin(list(years))]
    return list(rows["vintage"].dropna().unique())


def _vintage_messages(vintages: Iterable[Any]) -> list[Caveat]:
    """Guards (1) and (2) of :func:`check_guards` on a set of compared census vintages."""
    distinct = sorted({int(v) for v in vintages if v is not None and not pd.isna(v)})
    messages = []
    close = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1 :] if b - a < VINTAGE_OVERLAP_YEARS]
    if close:
        pairs = ", ".join(f"{a} vs {b} ({VINTAGE_OVERLAP_YEARS - (b - a)} of 5 surveys shared)" for a, b in close)
        messages.append(
            Caveat(
                f"census vintages less than {VINTAGE_OVERLAP_YEARS} years apart are compared: {pairs}; a vintage N "
                "pools the surveys N-2..N+2, so their difference is not a change between disjoint samples",
                CaveatKind.OVERLAPPING_VINTAGES,
            )
        )
    if distinct and distinct[0] < CENSUS_METHOD_CHANGE_YEAR <= distinct[-1]:
        before = [v for v in distinct if v < CENSUS_METHOD_CHANGE_YEAR]
        after = [v for v in distinct if v >= CENSUS_METHOD_CHANGE_YEAR]
        messages.append(
            Caveat(
                f"the series spans the {CENSUS_METHOD_CHANGE_YEAR} change of the census collection method (vintages "
                f"{before} before, {after} from {CENSUS_METHOD_CHANGE_YEAR}): part of the change may be a method effect",
                CaveatKind.METHOD_CHANGE,
            )
        )
    return messages


def check_guards(
    barometer: pd.DataFrame, years: Sequence[int] | None = None, *, disclosure_threshold: int | None = None
) -> list[Caveat]:
    """The statistical caveats of the barometer rows of ``years`` (default: all), warned and returned.

    1. **Overlapping vintages**: two distinct census vintages less than
       :data:`VINTAGE_OVERLAP_YEARS` (5) years apart among the compared rows. A vintage N pools the
       annual surveys N-2..N+2, so vintages ``d`` years apart share ``5 - d`` survey years: their
       difference is not a change between disjoint samples (and it understates the sampling
       variance of a change). One message lists every such pair.
    2. **Method change**: a vintage before :data:`CENSUS_METHOD_CHANGE_YEAR` (2015) and one from 2015
       on are both present.
    3. **Small counts**: a *sampled* count below :data:`CAUTION_COUNT` (200), INSEE's caution
       threshold for census counts, named by territory, year, indicator (and sex and age band when
       not the totals). The threshold is about sampling imprecision, so exhaustive counts (for
       example registered jobseekers) are not flagged. The first 20 are listed one per message,
       then one message counts the rest. With ``disclosure_threshold`` (the published messages: the
       dataset's disclosure rule), a count ``0 < x < disclosure_threshold`` is named without its
       value, which statistical confidentiality forbids to publish.

    Each message is a :class:`Caveat` (one English line, with its kind) emitted with ``warnings.warn(message, EvaluationWarning)``
    and returned in that order; an empty list means no caveat.
    """
    rows = barometer if years is None else barometer[barometer["year"].isin(list(years))]
    messages = _vintage_messages(_vintages_of(rows, None))
    sampled = rows["sampled"].astype("boolean").fillna(False).astype(bool)
    small = rows[sampled & (rows["value"] < CAUTION_COUNT)]
    small = small.sort_values(["territory", "year", "indicator"], kind="stable")
    for row in small.head(_MAX_LISTED).itertuples():
        detail = "" if (row.sex, row.age_band) == (_ALL_SEXES, _TOTAL_BAND) else f" (sex {row.sex}, age {row.age_band})"
        secret = disclosure_threshold is not None and 0 < row.value < disclosure_threshold
        value = (
            f"a count under {disclosure_threshold} (not shown: statistical confidentiality)"
            if secret
            else f"{row.value:g}"
        )
        messages.append(
            Caveat(
                f"{row.territory} {row.year} {row.indicator}{detail}: {value} is below {CAUTION_COUNT}, "
                "INSEE's caution threshold for census counts",
                CaveatKind.SMALL_COUNT,
            )
        )
    if len(small) > _MAX_LISTED:
        more = len(small) - _MAX_LISTED
        messages.append(
            Caveat(f"... and {more} more sampled counts below {CAUTION_COUNT}", CaveatKind.MORE_SMALL_COUNTS, more)
        )
    for message in messages:
        warnings.warn(message, EvaluationWarning, stacklevel=2)
    return messages
