"""The yearly economy-and-employment barometer of the 26 QPV (the plan: "à partir de 2018").

Input: the barometer long table of the intake (:func:`evaluation.intake.load_barometer`): counts per
``territory`` (QPV code, ``MEL``, ``MEL_HORS_QPV``), ``year`` and ``indicator``. Each barometer
indicator is a ratio of two counts of the same territory and year (rows with ``sex == "ensemble"``
and ``age_band == "total"``), so that the QPV aggregate and the commune figures are sums of counts,
never means of rates:

======================================  ==========================  ======================  =======  =====
indicator                               numerator                   denominator             scale    share
======================================  ==========================  ======================  =======  =====
``employment_rate_pct``                 employed_15_64              population_15_64        100      yes
``jobseekers_per_100``                  jobseekers                  population_15_64        100      no
``poverty_rate_pct``                    poor_population             fiscal_population       100      yes
``caf_dependence_pct``                  caf_fully_dependent         caf_recipients          100      yes
``business_creations_per_1000``         business_creations          population              1000     no
======================================  ==========================  ======================  =======  =====

A *share* counts people among people: its numerator is a part of its denominator, so that
``denominator - numerator`` counts people too (the residents of 15-64 not in work). Jobseekers are
counted from France Travail's register, not among the census residents of the denominator, and
business creations are not people: those two are ratios, not shares. Disclosure control
(:mod:`evaluation.publish.barometer_disclosure`) judges a share on its numerator, its denominator and that
complement, a ratio on its two counts.

**The QPV aggregate** (territory ``QPV``) of an indicator sums its numerator and its denominator over
**one common set of QPV**: those with both counts that year. Summing each count over the QPV that
have it would divide sums over different territories when a count is missing (a QPV with a
population but no number of employed would lower the rate). The aggregate row says which QPV it
sums: ``qpv_summed`` (how many) and ``qpv_left_out`` (the codes of the QPV of the data, any year,
left out that year for lack of one of the two counts, comma-separated; empty when none). Both are
empty (NaN, ``""``) on the other rows. :func:`evaluation.stats.employment_gap.gap_series` sums the same set
for the employment rate, so the two agree. The commune table sums, per indicator, the QPV of the
commune with both counts.

Changes are differences of levels (points for rates). Ranks are among the 26 QPV only, 1 being the
most favourable (highest employment rate and business creation, lowest jobseeker, poverty and
dependence rates); ties share the lower rank. A QPV that covers several communes is counted in full
in each of its communes in the commune table (the commune rows then do not add up): the table names
those intercommunal QPV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.stats.gap_counts import QPV_AGGREGATE  # the key of the sum of the 26 QPV, shared

__all__ = [
    "BarometerIndicator",
    "INDICATORS",
    "QPV_AGGREGATE",
    "SUMMED_COLUMN",
    "LEFT_OUT_COLUMN",
    "indicator_levels",
    "barometer_table",
    "commune_table",
]

#: Column of :func:`barometer_table`: how many QPV the ``QPV`` aggregate row sums (NaN on other rows).
SUMMED_COLUMN = "qpv_summed"
#: Column of :func:`barometer_table`: the QPV left out of the ``QPV`` aggregate row (``""`` on other rows).
LEFT_OUT_COLUMN = "qpv_left_out"


@dataclass(frozen=True)
class BarometerIndicator:
    key: str
    label: str
    numerator: str
    denominator: str
    scale: float
    higher_is_better: bool
    unit: str
    #: The numerator is a subset of the people of the denominator (module docstring).
    is_share: bool = False


INDICATORS: tuple[BarometerIndicator, ...] = (
    BarometerIndicator(
        "employment_rate_pct",
        "Taux d'emploi des 15-64 ans",
        "employed_15_64",
        "population_15_64",
        100,
        True,
        "%",
        is_share=True,
    ),
    BarometerIndicator(
        "jobseekers_per_100",
        "Demandeurs d'emploi (cat. ABC) pour 100 habitants de 15-64 ans",
        "jobseekers",
        "population_15_64",
        100,
        False,
        "pour 100",
    ),
    BarometerIndicator(
        "poverty_rate_pct",
        "Taux de pauvreté (seuil à 60 %)",
        "poor_population",
        "fiscal_population",
        100,
        False,
        "%",
        is_share=True,
    ),
    BarometerIndicator(
        "caf_dependence_pct",
        "Allocataires CAF dont les revenus sont à 100 % des prestations",
        "caf_fully_dependent",
        "caf_recipients",
        100,
        False,
        "%",
        is_share=True,
    ),
    BarometerIndicator(
        "business_creations_per_1000",
        "Créations d'entreprises pour 1 000 habitants",
        "business_creations",
        "population",
        1000,
        True,
        "pour 1 000",
    ),
)


def _totals(barometer: pd.DataFrame) -> pd.DataFrame:
    """Counts for all sexes and ages: one column per count indicator, indexed by (territory, year).

    The territories of the data only: the ``QPV`` aggregate depends on the indicator
    (:func:`_indicator_counts`).
    """
    rows = barometer[(barometer["sex"] == "ensemble") & (barometer["age_band"] == "total")]
    return rows.pivot_table(index=["territory", "year"], columns="indicator", values="value", aggfunc="sum")


def _qpv_codes(counts: pd.DataFrame) -> list[str]:
    territories = counts.index.get_level_values("territory").unique()
    return sorted(str(t) for t in territories if str(t).startswith("QN"))


def _indicator_counts(counts: pd.DataFrame, ind: BarometerIndicator, codes: list[str]) -> pd.DataFrame:
    """``numerator``, ``denominator``, ``level`` of ``ind`` per (territory, year), with the ``QPV`` rows.

    The ``QPV`` row of a year sums both counts over the QPV that have both (module docstring), and
    carries :data:`SUMMED_COLUMN` and :data:`LEFT_OUT_COLUMN` (among ``codes``, the QPV of the data).
    """
    missing = pd.Series(np.nan, index=counts.index)
    frame = pd.DataFrame(
        {
            "numerator": counts[ind.numerator] if ind.numerator in counts else missing,
            "denominator": counts[ind.denominator] if ind.denominator in counts else missing,
        }
    )
    frame[SUMMED_COLUMN] = np.nan
    frame[LEFT_OUT_COLUMN] = ""
    territories = frame.index.get_level_values("territory").astype(str)
    complete = frame[territories.str.startswith("QN")].dropna(subset=["numerator", "denominator"])
    years = sorted(frame.index.get_level_values("year").unique())
    summed = complete.groupby(level="year")[["numerator", "denominator"]].sum().reindex(years)
    present = complete.index.to_frame(index=False).groupby("year")["territory"].agg(set)
    aggregate = summed.assign(
        **{
            SUMMED_COLUMN: [float(len(present.get(y, ()))) for y in years],
            LEFT_OUT_COLUMN: [", ".join(c for c in codes if c not in present.get(y, set())) for y in years],
        }
    )
    aggregate.index = pd.MultiIndex.from_product([[QPV_AGGREGATE], years], names=["territory", "year"])
    frame = pd.concat([frame, aggregate])
    frame["level"] = frame["numerator"] / frame["denominator"].where(frame["denominator"] > 0) * ind.scale
    return frame


def indicator_levels(counts: pd.DataFrame) -> pd.DataFrame:
    """Ratios of :data:`INDICATORS` from a wide table of counts (NaN when a count is missing or the denominator is 0)."""
    levels = {}
    for ind in INDICATORS:
        if ind.numerator in counts and ind.denominator in counts:
            denominator = counts[ind.denominator].where(counts[ind.denominator] > 0)
            levels[ind.key] = counts[ind.numerator] / denominator * ind.scale
        else:
            levels[ind.key] = np.nan
    return pd.DataFrame(levels, index=counts.index)


def barometer_table(barometer: pd.DataFrame, year: int, baseline_year: int | None = None) -> pd.DataFrame:
    """The barometer of ``year``, long format: one row per territory and indicator.

    Columns: territory, indicator, level, change_prev (level of ``year`` minus that of ``year - 1``),
    change_base (minus that of ``baseline_year``, default the first year of the data), rank (QPV
    only, 1 = most favourable), numerator, denominator, :data:`SUMMED_COLUMN` and
    :data:`LEFT_OUT_COLUMN` (which QPV the ``QPV`` row sums: module docstring). Territories: the 26
    QPV, then ``QPV`` (their sum over the QPV with both counts of the indicator), ``MEL`` and
    ``MEL_HORS_QPV`` when present.
    """
    counts = _totals(barometer)
    years = sorted(counts.index.get_level_values("year").unique())
    if year not in years:
        raise ValueError(f"no barometer data for {year} (years: {', '.join(map(str, years))})")
    base = baseline_year if baseline_year is not None else years[0]
    territories = [*counts.xs(year, level="year").index, QPV_AGGREGATE]
    codes = _qpv_codes(counts)
    counts = counts[counts.index.get_level_values("year").isin([year, year - 1, base])]  # the years shown
    parts = []
    for ind in INDICATORS:
        frame = _indicator_counts(counts, ind, codes)
        level = frame["level"]
        current = frame.xs(year, level="year").reindex(territories)
        previous = level.xs(year - 1, level="year") if year - 1 in years else pd.Series(dtype=float)
        baseline = level.xs(base, level="year") if base in years else pd.Series(dtype=float)
        is_qpv = [_is_qpv_code(t) for t in current.index]
        ranks = current.loc[is_qpv, "level"].rank(ascending=not ind.higher_is_better, method="min")
        parts.append(
            pd.DataFrame(
                {
                    "territory": current.index,
                    "indicator": ind.key,
                    "level": current["level"].to_numpy(dtype=float),
                    "change_prev": (current["level"] - previous.reindex(current.index)).to_numpy(dtype=float),
                    "change_base": (current["level"] - baseline.reindex(current.index)).to_numpy(dtype=float),
                    "rank": ranks.reindex(current.index).to_numpy(dtype=float),
                    "numerator": current["numerator"].to_numpy(dtype=float),
                    "denominator": current["denominator"].to_numpy(dtype=float),
                    SUMMED_COLUMN: current[SUMMED_COLUMN].to_numpy(dtype=float),
                    LEFT_OUT_COLUMN: current[LEFT_OUT_COLUMN].fillna("").to_numpy(dtype=object),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(sorted(t for t in territories if _is_qpv_code(t)))}
    order |= {QPV_AGGREGATE: 1000, "MEL": 1001, "MEL_HORS_QPV": 1002}
    frame["_order"] = frame["territory"].map(order)
    return frame.sort_values(["_order", "indicator"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _is_qpv_code(territory: object) -> bool:
    return str(territory).startswith("QN")


def commune_table(barometer: pd.DataFrame, communes: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per commune: the indicators over the QPV located (wholly or partly) in it, for ``year``.

    ``communes`` has one row per (QPV code, commune) pair (columns ``code``, ``insee``, ``commune``).
    Each indicator sums its two counts over the QPV of the commune that have both that year (module
    docstring, *QPV aggregate*). Columns: insee, commune, qpv_count (QPV of the commune with data
    that year), intercommunal (the QPV of the commune that also cover other communes, counted in
    full here), and one column per indicator key.
    """
    counts = _totals(barometer)
    this_year = counts.xs(year, level="year")
    spans = communes.groupby("code")["insee"].nunique()
    rows = []
    for (insee, name), group in communes.groupby(["insee", "commune"], sort=True):
        codes = [c for c in group["code"] if c in this_year.index]
        levels = {}
        for ind in INDICATORS:
            if ind.numerator not in this_year or ind.denominator not in this_year:
                levels[ind.key] = np.nan
                continue
            pairs = this_year.loc[codes, [ind.numerator, ind.denominator]].dropna()
            numerator, denominator = pairs[ind.numerator].sum(), pairs[ind.denominator].sum()
            levels[ind.key] = numerator / denominator * ind.scale if len(pairs) and denominator > 0 else np.nan
        rows.append(
            {
                "insee": insee,
                "commune": name,
                "qpv_count": len(codes),
                "intercommunal": ", ".join(sorted(c for c in codes if spans[c] > 1)),
                **levels,
            }
        )
    return pd.DataFrame(rows)
