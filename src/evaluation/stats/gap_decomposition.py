"""Why the gap is what it is and how it moved: the age structure, and the QPV one by one.

* :func:`standardised_rates`: crude and age-standardised rates of the QPV aggregate and the
  comparators in a year: the gap that remains once the QPV's younger age structure is set aside;
* :func:`decompose_gap_change`: Kitagawa's split of the change of each rate, and of the gap, between
  two years into an age-structure effect and a rate effect;
* :func:`qpv_contributions`: each QPV's contribution to the change of the aggregate QPV rate.

Apart from :mod:`evaluation.stats.employment_gap` (the gap itself and its reduction against the
target) because these explain the headline figures rather than produce them, and read the age bands
as well as the totals.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.stats.caveats import Caveat, CaveatKind, EvaluationWarning
from evaluation.stats.census import _vintage_messages, _vintages_of
from evaluation.stats.gap_counts import (
    _TOTAL_BAND,
    PLAN_COMPARATOR,
    QPV_AGGREGATE,
    Comparator,
    _bands_of,
    _check_comparator,
    _employment_counts,
    _group_bands,
    _is_qpv,
    _rate,
)
from evaluation.stats.standardisation import direct_standardise, kitagawa

__all__ = ["standardised_rates", "decompose_gap_change", "qpv_contributions"]


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
