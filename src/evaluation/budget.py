"""Budget execution: the MEL's planned yearly financing against the spending reported, and costs per outcome.

No I/O: the spending and realised values come from the caller, already validated
(:mod:`evaluation.intake`). Definitions used by every function of this module:

``planned_eur``
    The plan's yearly MEL financing line of the sheet (``Budget.mel_financing_eur``: "Financement
    MEL", "Financement mobilisable MEL" ...), in euros, as the plan writes it. It is the MEL's
    financing only: never the sheet's total cost, nor the co-financers' shares. NaN when the plan
    gives no figure for that year (sheets 13, 15, gouvernance: "non chiffré"); 0 when it writes 0.
``spent_eur``
    The sum of ``amount_eur`` over the spending rows of that engagement and year. Every funder is
    summed (MEL, FEDER, Région ...) unless a ``funder`` is given: then only the rows whose ``funder``
    equals it (ignoring case and surrounding spaces; rows without a funder never match). NaN when no
    row is left ("not reported"), which is not the same as a reported 0.
``execution_pct``
    ``spent_eur / planned_eur * 100``. NaN when ``planned_eur`` is NaN or 0 (no planned MEL money: no
    rate, even when something was spent) or when ``spent_eur`` is NaN. Since the planned side is MEL
    money only, ``funder="MEL"`` gives the like-for-like rate; with every funder, co-financing
    pushes the rate up.

Spending rows name the engagement by its sheet id (printed forms such as ``"5-A"`` are accepted);
rows of years outside 2018-2021 are not counted; other columns (comment, file, line ...) are ignored.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.errors import InputError, UsageError
from evaluation.plan import Cumulation, Indicator, Measure, Plan, normalize_engagement_id

__all__ = [
    "PERSON_OR_JOB_UNITS",
    "planned_frame",
    "execution_table",
    "execution_totals",
    "counts_persons_or_jobs",
    "cost_per_outcome",
]

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

EXECUTION_COLUMNS = ("engagement", "year", "planned_eur", "spent_eur", "execution_pct")
TOTALS_COLUMNS = ("engagement", "planned_to_date_eur", "spent_to_date_eur", "execution_pct", "years_reported")
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

    Columns ``engagement`` (sheet id), ``year`` (int), ``planned_eur`` (float: the plan's yearly MEL
    line; NaN where the plan gives no figure, 0 where it writes 0).
    """
    rows = [
        (sheet.id, year, _float(sheet.budget.mel_financing_eur.get(year)))
        for sheet in plan.engagements
        for year in PLAN_YEARS
    ]
    frame = pd.DataFrame(rows, columns=["engagement", "year", "planned_eur"])
    return frame.astype({"year": "int64", "planned_eur": "float64"})


def execution_table(plan: Plan, spending: pd.DataFrame, funder: str | None = None) -> pd.DataFrame:
    """Planned MEL financing, spending and execution rate per engagement and year.

    One row per sheet of the plan (plan order) and year 2018-2021, whether or not anything was spent.
    Columns ``engagement``, ``year``, ``planned_eur``, ``spent_eur``, ``execution_pct`` as defined in
    the module docstring; ``funder`` restricts ``spent_eur`` to one funder (e.g. ``"MEL"``).

    Raises :class:`InputError` when a spending row names an engagement the plan does not have.
    """
    planned = planned_frame(plan)
    spent = _spent(plan, spending, funder)
    table = planned.merge(spent, on=["engagement", "year"], how="left")
    table["execution_pct"] = _rate(table["spent_eur"], table["planned_eur"])
    return table[list(EXECUTION_COLUMNS)]


def execution_totals(plan: Plan, spending: pd.DataFrame, year: int, funder: str | None = None) -> pd.DataFrame:
    """Execution to date: one row per sheet (plan order), over the years 2018..``year``.

    Columns:

    ``planned_to_date_eur``
        Sum of ``planned_eur`` for 2018..``year``; NaN when the plan gives no figure for any of them.
    ``spent_to_date_eur``
        Sum of ``spent_eur`` for 2018..``year`` (with the ``funder`` filter, if any); NaN when no year
        was reported. A year not reported counts as nothing spent, so the rate to date is a lower
        bound when ``years_reported`` is below the number of years.
    ``execution_pct``
        ``spent_to_date_eur / planned_to_date_eur * 100``; NaN when either is NaN or the planned
        amount is 0.
    ``years_reported``
        How many of the years 2018..``year`` have at least one spending row (after the filter).

    Raises :class:`UsageError` when ``year`` is not one of 2018-2021.
    """
    _check_year(year)
    table = execution_table(plan, spending, funder)
    window = table[table["year"] <= year]
    grouped = window.groupby("engagement", sort=False)
    totals = pd.DataFrame(
        {
            "planned_to_date_eur": grouped["planned_eur"].sum(min_count=1),
            "spent_to_date_eur": grouped["spent_eur"].sum(min_count=1),
            "years_reported": grouped["spent_eur"].count().astype("int64"),
        }
    ).reset_index()
    totals["execution_pct"] = _rate(totals["spent_to_date_eur"], totals["planned_to_date_eur"])
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
        The engagement's ``spent_to_date_eur`` of :func:`execution_totals` (2018..``year``, same
        ``funder`` filter).
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
    totals = execution_totals(plan, spending, year, funder)
    spent_by_sheet = dict(zip(totals["engagement"], totals["spent_to_date_eur"], strict=True))
    window = realised[(realised["year"] >= PLAN_YEARS[0]) & (realised["year"] <= year)]
    rows = []
    for indicator in plan.indicators():
        if not counts_persons_or_jobs(indicator):
            continue
        spent = spent_by_sheet[indicator.engagement]
        outcomes = _outcomes_to_date(indicator, window, year)
        cost = spent / outcomes if outcomes and not math.isnan(outcomes) else math.nan
        rows.append((indicator.id, indicator.engagement, indicator.label, indicator.unit, spent, outcomes, cost))
    frame = pd.DataFrame(rows, columns=list(COST_COLUMNS))
    return frame.astype(
        {"spent_to_date_eur": "float64", "outcomes_to_date": "float64", "cost_per_outcome_eur": "float64"}
    )


# --------------------------------------------------------------------------------------------------


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _rate(spent: pd.Series, planned: pd.Series) -> pd.Series:
    """``spent / planned * 100``, NaN where planned is NaN or 0 or spent is NaN."""
    return spent / planned.where(planned != 0) * 100


def _check_year(year: int) -> None:
    if year not in PLAN_YEARS:
        raise UsageError(f"year {year} is outside the plan's years {PLAN_YEARS[0]}-{PLAN_YEARS[-1]}")


def _spent(plan: Plan, spending: pd.DataFrame, funder: str | None) -> pd.DataFrame:
    """``engagement, year, spent_eur`` for the (engagement, year) pairs that have spending rows."""
    rows = spending.assign(engagement=spending["engagement"].map(lambda v: normalize_engagement_id(str(v))))
    _check_engagements(plan, rows["engagement"])
    if funder is not None:
        wanted = funder.strip().casefold()
        mask = rows["funder"].map(lambda v: isinstance(v, str) and v.strip().casefold() == wanted)
        rows = rows[mask.astype(bool).to_numpy()]  # a boolean array keeps the columns of an empty frame
    rows = rows.astype({"year": "int64", "amount_eur": "float64"})
    grouped = rows.groupby(["engagement", "year"], as_index=False)["amount_eur"].sum(min_count=1)
    return grouped.rename(columns={"amount_eur": "spent_eur"})


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
