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
(:mod:`evaluation.barometer_disclosure`) judges a share on its numerator, its denominator and that
complement, a ratio on its two counts.

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

from evaluation.employment_gap import QPV_AGGREGATE  # the key of the sum of the 26 QPV, shared

__all__ = ["BarometerIndicator", "INDICATORS", "QPV_AGGREGATE", "indicator_levels", "barometer_table", "commune_table"]


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


def _is_qpv(territory: pd.Series) -> pd.Series:
    return territory.astype(str).str.startswith("QN")


def _totals(barometer: pd.DataFrame) -> pd.DataFrame:
    """Counts for all sexes and ages: one column per count indicator, indexed by (territory, year)."""
    rows = barometer[(barometer["sex"] == "ensemble") & (barometer["age_band"] == "total")]
    wide = rows.pivot_table(index=["territory", "year"], columns="indicator", values="value", aggfunc="sum")
    qpv = wide[_is_qpv(wide.index.get_level_values("territory").to_series(index=wide.index))]
    aggregate = qpv.groupby(level="year").sum(min_count=1)
    aggregate.index = pd.MultiIndex.from_product([[QPV_AGGREGATE], aggregate.index], names=["territory", "year"])
    return pd.concat([wide, aggregate])


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
    only, 1 = most favourable), numerator, denominator. Territories: the 26 QPV, then ``QPV`` (their
    sum), ``MEL`` and ``MEL_HORS_QPV`` when present.
    """
    counts = _totals(barometer)
    levels = indicator_levels(counts)
    years = sorted(levels.index.get_level_values("year").unique())
    if year not in years:
        raise ValueError(f"no barometer data for {year} (years: {', '.join(map(str, years))})")
    base = baseline_year if baseline_year is not None else years[0]
    current = levels.xs(year, level="year")
    previous = levels.xs(year - 1, level="year") if year - 1 in years else current * np.nan
    baseline = levels.xs(base, level="year") if base in years else current * np.nan
    rows = []
    for ind in INDICATORS:
        qpv_levels = current.loc[_is_qpv(current.index.to_series()), ind.key]
        ranks = qpv_levels.rank(ascending=not ind.higher_is_better, method="min")
        for territory in current.index:
            rows.append(
                {
                    "territory": territory,
                    "indicator": ind.key,
                    "level": current.at[territory, ind.key],
                    "change_prev": current.at[territory, ind.key] - previous[ind.key].get(territory, np.nan),
                    "change_base": current.at[territory, ind.key] - baseline[ind.key].get(territory, np.nan),
                    "rank": ranks.get(territory, np.nan),
                    "numerator": counts.at[(territory, year), ind.numerator] if ind.numerator in counts else np.nan,
                    "denominator": counts.at[(territory, year), ind.denominator]
                    if ind.denominator in counts
                    else np.nan,
                }
            )
    frame = pd.DataFrame(rows)
    order = {t: i for i, t in enumerate(sorted(t for t in current.index if str(t).startswith("QN")))}
    order |= {QPV_AGGREGATE: 1000, "MEL": 1001, "MEL_HORS_QPV": 1002}
    frame["_order"] = frame["territory"].map(order)
    return frame.sort_values(["_order", "indicator"], kind="stable").drop(columns="_order").reset_index(drop=True)


def commune_table(barometer: pd.DataFrame, communes: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per commune: the indicators over the QPV located (wholly or partly) in it, for ``year``.

    ``communes`` has one row per (QPV code, commune) pair (columns ``code``, ``insee``, ``commune``).
    Columns: insee, commune, qpv_count, intercommunal (the QPV of the commune that also cover other
    communes, counted in full here), and one column per indicator key.
    """
    counts = _totals(barometer)
    this_year = counts.xs(year, level="year")
    spans = communes.groupby("code")["insee"].nunique()
    rows = []
    for (insee, name), group in communes.groupby(["insee", "commune"], sort=True):
        codes = [c for c in group["code"] if c in this_year.index]
        summed = this_year.loc[codes].sum(min_count=1).to_frame().T
        levels = indicator_levels(summed).iloc[0].to_dict() if codes else {i.key: np.nan for i in INDICATORS}
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
