"""Budget execution: the MEL's planned yearly financing against the MEL's spending, and costs per outcome.

No I/O: the spending and realised values come from the caller, already validated
(:mod:`evaluation.intake`). Definitions used by every function of this module:

``planned_mel_eur``
    The plan's yearly MEL financing line of the sheet (``Budget.mel_financing_eur``: "Financement
    MEL", "Financement mobilisable MEL" ...), in euros, as the plan writes it. It is the MEL's
    financing only: never the sheet's total cost, nor the co-financers' shares. NaN when the plan
    gives no figure for that year (sheets 13, 15, gouvernance: "non chiffré"); 0 when it writes 0.
``spent_mel_eur``
    The sum of ``amount_eur`` over the spending rows of that engagement and year whose ``funder`` is
    the MEL (:data:`MEL_FUNDER`, ignoring case and surrounding spaces; rows without a funder are not
    the MEL's). NaN when no such row ("not reported"), which is not the same as a reported 0.
``execution_pct``
    :func:`execution_rate_pct`: ``spent_mel_eur / planned_mel_eur * 100``, the MEL's money against
    the MEL's plan, like for like. NaN when ``planned_mel_eur`` is NaN or 0 (no planned MEL money:
    no rate, even when something was spent) or when ``spent_mel_eur`` is NaN. This is the rate of the
    engagement and yearly reports and of the exported tables: one computation.
``spent_all_funders_eur``
    The sum of ``amount_eur`` over every spending row of that engagement and year, whatever the
    funder (MEL, FEDER, Région ..., or none named). NaN when no row. Shown beside the MEL figures,
    never divided by the MEL's plan: with co-financing it would overstate the execution (sheet 5c of
    the demo data, 2018-2021: 175 933 € from every funder against 54 000 € of MEL plan would read
    325.8 %, while the MEL spent 44 831 €, 83.0 %).

Spending rows name the engagement by its sheet id (printed forms such as ``"5-A"`` are accepted);
rows of years outside 2018-2021 are not counted; other columns (comment, file, line ...) are ignored.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import pandas as pd

from evaluation.config import PLAN_YEARS, check_year
from evaluation.errors import InputError
from evaluation.referential.plan import Cumulation, Indicator, Measure, Plan, normalize_engagement_id

__all__ = [
    "MEL_FUNDER",
    "PERSON_OR_JOB_UNITS",
    "EXECUTION_COLUMNS",
    "TOTALS_COLUMNS",
    "planned_frame",
    "execution_rate_pct",
    "execution_table",
    "execution_totals",
    "counts_persons_or_jobs",
    "cost_per_outcome",
]

#: The funder whose spending the execution rate compares with the plan's MEL lines.
MEL_FUNDER = "MEL"

#: Units (lower case, as the plan writes them) of the count indicators that count people or jobs,
#: the outcomes a cost per outcome makes sense for. A unit matches when it equals a word of this
#: list or starts with it followed by a space ("retours à l'emploi et/ou formation" matches
#: "retours"). Left out on purpose: "contrats" (sheet 2's MEL money pays a communication campaign,
#: not the emplois francs contracts), organisations (entreprises, signataires, associations),
#: places (communes, quartiers, sites) and products (projets, prêts, études, guides ...).
PERSON_OR_JOB_UNITS: tuple[str, ...] = (
    "personnes",
    "bénéficiaires",
    "jeunes",
    "demandeurs d'emploi",
    "neets",
    "emplois",
    "etp",
    "habitants",
    "participants",
    "porteurs de projets",
    "familles monoparentales",
    "mises à l'emploi",
    "retours",
)

#: Columns of :func:`execution_table`, in order: the MEL's figures, then every funder's spending.
EXECUTION_COLUMNS = ("engagement", "year", "planned_mel_eur", "spent_mel_eur", "execution_pct", "spent_all_funders_eur")
#: Columns of :func:`execution_totals`, in order.
TOTALS_COLUMNS = (
    "engagement",
    "planned_mel_to_date_eur",
    "spent_mel_to_date_eur",
    "execution_pct",
    "years_reported",
    "spent_all_funders_to_date_eur",
)
COST_COLUMNS = (
    "indicator_id",
    "engagement",
    "label",
    "unit",
    "spent_to_date_eur",
    "outcomes_to_date",
    "cost_per_outcome_eur",
)


def planned_frame(plan: Plan) -> pd.DataFrame:
    """The MEL's planned yearly financing: one row per sheet (plan order) and year 2018-2021.

    Columns ``engagement`` (sheet id), ``year`` (int), ``planned_mel_eur`` (float: the plan's yearly
    MEL line; NaN where the plan gives no figure, 0 where it writes 0).
    """
    rows = [
        (sheet.id, year, _float(sheet.budget.mel_financing_eur.get(year)))
        for sheet in plan.engagements
        for year in PLAN_YEARS
    ]
    frame = pd.DataFrame(rows, columns=["engagement", "year", "planned_mel_eur"])
    return frame.astype({"year": "int64", "planned_mel_eur": "float64"})


@overload
def execution_rate_pct(spent_mel_eur: float, planned_mel_eur: float) -> float: ...
@overload
def execution_rate_pct(spent_mel_eur: pd.Series, planned_mel_eur: pd.Series) -> pd.Series: ...
def execution_rate_pct(spent_mel_eur: float | pd.Series, planned_mel_eur: float | pd.Series) -> float | pd.Series:
    """The execution rate, in %: ``spent_mel_eur / planned_mel_eur * 100`` (module docstring).

    NaN where the planned amount is NaN or 0 or the spending is NaN. Takes two numbers, or two
    Series on the same index (compared position by position).
    """
    spent = np.asarray(spent_mel_eur, dtype="float64")
    planned = np.asarray(planned_mel_eur, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(planned != 0, spent / planned * 100, np.nan)
    if isinstance(spent_mel_eur, pd.Series):
        return pd.Series(rate, index=spent_mel_eur.index, dtype="float64")
    return float(rate)


def execution_table(plan: Plan, spending: pd.DataFrame) -> pd.DataFrame:
    """Planned MEL financing, the MEL's spending and the execution rate per engagement and year; every funder beside.

    One row per sheet of the plan (plan order) and year 2018-2021, whether or not anything was spent.
    Columns :data:`EXECUTION_COLUMNS`: ``engagement``, ``year``, ``planned_mel_eur``,
    ``spent_mel_eur``, ``execution_pct``, ``spent_all_funders_eur``, as defined in the module docstring.

    Raises :class:`InputError` when a spending row names an engagement the plan does not have.
    """
    table = (
        planned_frame(plan)
        .merge(_spent(plan, spending, MEL_FUNDER, "spent_mel_eur"), on=["engagement", "year"], how="left")
        .merge(_spent(plan, spending, None, "spent_all_funders_eur"), on=["engagement", "year"], how="left")
    )
    table["execution_pct"] = execution_rate_pct(table["spent_mel_eur"], table["planned_mel_eur"])
    return table[list(EXECUTION_COLUMNS)]


def execution_totals(plan: Plan, spending: pd.DataFrame, year: int) -> pd.DataFrame:
    """Execution to date: one row per sheet (plan order), over the years 2018..``year``.

    Columns :data:`TOTALS_COLUMNS`:

    ``planned_mel_to_date_eur``
        Sum of ``planned_mel_eur`` for 2018..``year``; NaN when the plan gives no figure for any of them.
    ``spent_mel_to_date_eur``
        Sum of ``spent_mel_eur`` for 2018..``year``; NaN when no year was reported. A year not
        reported counts as nothing spent, so the rate to date is a lower bound when
        ``years_reported`` is below the number of years.
    ``execution_pct``
        :func:`execution_rate_pct` of the two: ``spent_mel_to_date_eur / planned_mel_to_date_eur * 100``;
        NaN when either is NaN or the planned amount is 0.
    ``years_reported``
        How many of the years 2018..``year`` have at least one spending row of the MEL.
    ``spent_all_funders_to_date_eur``
        Sum of ``spent_all_funders_eur`` for 2018..``year`` (every funder); NaN when no row. Not
        divided by the MEL's plan.

    Raises :class:`UsageError` when ``year`` is not one of 2018-2021.
    """
    _check_year(year)
    table = execution_table(plan, spending)
    grouped = table[table["year"] <= year].groupby("engagement", sort=False)
    totals = pd.DataFrame(
        {
            "planned_mel_to_date_eur": grouped["planned_mel_eur"].sum(min_count=1),
            "spent_mel_to_date_eur": grouped["spent_mel_eur"].sum(min_count=1),
            "years_reported": grouped["spent_mel_eur"].count().astype("int64"),
            "spent_all_funders_to_date_eur": grouped["spent_all_funders_eur"].sum(min_count=1),
        }
    ).reset_index()
    totals["execution_pct"] = execution_rate_pct(totals["spent_mel_to_date_eur"], totals["planned_mel_to_date_eur"])
    return totals[list(TOTALS_COLUMNS)]


def counts_persons_or_jobs(indicator: Indicator) -> bool:
    """True for a ``count`` indicator whose unit is one of :data:`PERSON_OR_JOB_UNITS`."""
    if indicator.measure is not Measure.COUNT or not indicator.unit:
        return False
    unit = indicator.unit.strip().lower()
    return any(unit == word or unit.startswith(word + " ") for word in PERSON_OR_JOB_UNITS)


def cost_per_outcome(
    plan: Plan, spending: pd.DataFrame, realised: pd.DataFrame, year: int, funder: str | None = None
) -> pd.DataFrame:
    """Spending to date per person or job reported, for the indicators that count people or jobs.

    One row per indicator of the plan (plan order) for which :func:`counts_persons_or_jobs` is true,
    with or without a target figure. Columns:

    ``spent_to_date_eur``
        The engagement's spending of 2018..``year``: every funder by default (the
        ``spent_all_funders_to_date_eur`` of :func:`execution_totals`), or only the rows whose
        ``funder`` is ``funder`` (ignoring case and surrounding spaces: ``"MEL"`` gives
        ``spent_mel_to_date_eur``). NaN when no row.
    ``outcomes_to_date``
        From ``realised`` (columns ``indicator_id``, ``year``, ``value``: one row per indicator and
        year, a cumulative indicator's value being the year's increment): the sum of the values of
        2018..``year`` for ``cumulative`` and ``per_year`` indicators (a person counted in two years
        counts twice), the value of ``year`` itself for ``level`` indicators (a stock, e.g. ETP in
        CDI). NaN when nothing was reported.
    ``cost_per_outcome_eur``
        ``spent_to_date_eur / outcomes_to_date``, in euros; NaN when there is no outcome (NaN or 0:
        no division by zero) or no spending.

    The several indicators of one engagement share the engagement's whole spending: each cost is
    that spending divided by one kind of outcome, so the costs of one engagement must not be added
    up (nor compared as if the money were split between them).

    Raises :class:`UsageError` when ``year`` is not one of 2018-2021.
    """
    _check_year(year)
    spent = _spent(plan, spending, funder, "spent_eur")
    spent = spent[(spent["year"] >= PLAN_YEARS[0]) & (spent["year"] <= year)]
    spent_by_sheet = spent.groupby("engagement")["spent_eur"].sum(min_count=1).to_dict()
    window = realised[(realised["year"] >= PLAN_YEARS[0]) & (realised["year"] <= year)]
    rows = []
    for indicator in plan.indicators():
        if not counts_persons_or_jobs(indicator):
            continue
        spent_eur = spent_by_sheet.get(indicator.engagement, math.nan)
        outcomes = _outcomes_to_date(indicator, window, year)
        cost = spent_eur / outcomes if outcomes and not math.isnan(outcomes) else math.nan
        rows.append((indicator.id, indicator.engagement, indicator.label, indicator.unit, spent_eur, outcomes, cost))
    frame = pd.DataFrame(rows, columns=list(COST_COLUMNS))
    return frame.astype(
        {"spent_to_date_eur": "float64", "outcomes_to_date": "float64", "cost_per_outcome_eur": "float64"}
    )


# --------------------------------------------------------------------------------------------------


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _check_year(year: int) -> None:
    check_year(year)


def _spent(plan: Plan, spending: pd.DataFrame, funder: str | None, column: str) -> pd.DataFrame:
    """``engagement, year, <column>``: the sum of ``amount_eur`` per (engagement, year) pair with spending rows.

    Every row when ``funder`` is None, else the rows whose ``funder`` equals it (case and surrounding
    spaces ignored; a row without a funder never matches).
    """
    rows = spending.assign(engagement=spending["engagement"].map(lambda v: normalize_engagement_id(str(v))))
    _check_engagements(plan, rows["engagement"])
    if funder is not None:
        wanted = funder.strip().casefold()
        mask = rows["funder"].map(lambda v: isinstance(v, str) and v.strip().casefold() == wanted)
        rows = rows[mask.astype(bool).to_numpy()]  # a boolean array keeps the columns of an empty frame
    rows = rows.astype({"year": "int64", "amount_eur": "float64"})
    grouped = rows.groupby(["engagement", "year"], as_index=False)["amount_eur"].sum(min_count=1)
    return grouped.rename(columns={"amount_eur": column})


def _check_engagements(plan: Plan, engagements: pd.Series) -> None:
    known = [sheet.id for sheet in plan.engagements]
    unknown = sorted(set(engagements) - set(known))
    if unknown:
        raise InputError(
            f"spending names engagement(s) the plan does not have: {', '.join(map(repr, unknown))}",
            column="engagement",
            hint=f"use the sheet ids {', '.join(known)}",
        )


def _outcomes_to_date(indicator: Indicator, window: pd.DataFrame, year: int) -> float:
    """Sum of 2018..year (cumulative, per_year) or the value of ``year`` (level); NaN when none."""
    rows = window[window["indicator_id"] == indicator.id]
    if indicator.cumulation is Cumulation.LEVEL:
        rows = rows[rows["year"] == year]
    return float(rows["value"].astype("float64").sum(min_count=1))
