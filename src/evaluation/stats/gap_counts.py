"""The employment counts the gap is computed from, read from the barometer long table.

Which territories are compared (:class:`Comparator`, :data:`COMPARATORS`, the plan's
:data:`PLAN_COMPARATOR`; the QPV aggregate's label :data:`QPV_AGGREGATE`; the age bands
:data:`AGE_BANDS`) and the readers that turn the long table into counts: one row per territory, year
and age band with ``population`` and ``employed`` (the indicators ``population_15_64`` and
``employed_15_64``, sex ``ensemble``), checked (a duplicated key or more employed than people is an
error, a missing count a caveat), and summed over the QPV per age band. Apart from the computations
(:mod:`evaluation.stats.employment_gap`, :mod:`evaluation.stats.gap_decomposition`), which trust
what these readers return.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.stats.caveats import Caveat, CaveatKind, EvaluationWarning

__all__ = ["Comparator", "COMPARATORS", "PLAN_COMPARATOR", "QPV_AGGREGATE", "AGE_BANDS"]


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
#: Territory label of the QPV aggregate in the result tables.
QPV_AGGREGATE = "QPV"
#: The age bands of the 15-64 year-olds used for standardisation and decomposition.
AGE_BANDS = ("15-24", "25-54", "55-64")

_POPULATION = "population_15_64"
_EMPLOYED = "employed_15_64"
_ALL_SEXES = "ensemble"
_TOTAL_BAND = "total"
_QPV_PREFIX = "QN"


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
