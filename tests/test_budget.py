"""Budget execution and cost per outcome, on hand-made spending against the real plan.

Planned figures come from the plan's yearly MEL lines (``evaluation plan``): sheet 1 "2018 : 70 000
euros ; 2019 : 70 000 euros ; ...", sheet 2 "15 000 € ; 0 ; 0 ; 0", sheet 6 15 000 € a year,
sheet 5-A 20 000 € in 2018, sheet 13 "non chiffré". Every expected number below is computed by
hand from these and the fixture rows.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.budget import (
    cost_per_outcome,
    counts_persons_or_jobs,
    execution_table,
    execution_totals,
    planned_frame,
)
from evaluation.errors import InputError, UsageError
from evaluation.plan import load_plan


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture
def spending() -> pd.DataFrame:
    """Eight rows: two funders on sheet 1 in 2019, spending on a sheet with nothing planned (2 in
    2019) or no figure (13, without funder), and a year outside the plan (ignored)."""
    return pd.DataFrame(
        [
            ("1", 2018, 63_000.0, "MEL"),
            ("1", 2019, 35_000.0, "MEL"),
            ("1", 2019, 14_000.0, "Région Hauts-de-France"),
            ("2", 2019, 1_000.0, "MEL"),
            ("13", 2018, 5_000.0, None),
            ("6", 2018, 15_000.0, "MEL"),
            ("6", 2019, 12_000.0, "MEL"),
            ("1", 2022, 9_999.0, "MEL"),
        ],
        columns=["engagement", "year", "amount_eur", "funder"],
    )


def _row(table: pd.DataFrame, engagement: str, year: int | None = None) -> pd.Series:
    selected = table[table["engagement"] == engagement]
    if year is not None:
        selected = selected[selected["year"] == year]
    assert len(selected) == 1
    return selected.iloc[0]


# --------------------------------------------------------------------------------------------------
# planned_frame


def test_planned_frame_has_every_sheet_and_year_in_plan_order(plan):
    frame = planned_frame(plan)
    assert list(frame.columns) == ["engagement", "year", "planned_eur"]
    assert len(frame) == 23 * 4
    assert list(frame["engagement"].drop_duplicates()) == [s.id for s in plan.engagements]
    assert list(frame.loc[frame["engagement"] == "1", "planned_eur"]) == [70_000.0] * 4
    # Sheet 12: "2018 : 33 765 € ; 2019 : 61 875 € ; 2020 : 34 125 € ; 2021 : 31 603 €".
    assert list(frame.loc[frame["engagement"] == "12", "planned_eur"]) == [33_765.0, 61_875.0, 34_125.0, 31_603.0]


def test_planned_frame_keeps_zero_apart_from_no_figure(plan):
    frame = planned_frame(plan)
    assert list(frame.loc[frame["engagement"] == "2", "planned_eur"]) == [15_000.0, 0.0, 0.0, 0.0]
    assert frame.loc[frame["engagement"] == "13", "planned_eur"].isna().all()


# --------------------------------------------------------------------------------------------------
# execution_table


def test_execution_table_shape(plan, spending):
    table = execution_table(plan, spending)
    assert list(table.columns) == ["engagement", "year", "planned_eur", "spent_eur", "execution_pct"]
    assert len(table) == 23 * 4
    assert sorted(table["year"].unique()) == [2018, 2019, 2020, 2021]  # the 2022 row is not counted


def test_execution_rate_by_hand(plan, spending):
    table = execution_table(plan, spending)
    first = _row(table, "1", 2018)
    assert (first["planned_eur"], first["spent_eur"]) == (70_000.0, 63_000.0)
    assert first["execution_pct"] == pytest.approx(90.0)  # 63 000 / 70 000
    both_funders = _row(table, "1", 2019)
    assert both_funders["spent_eur"] == 49_000.0  # 35 000 MEL + 14 000 Région
    assert both_funders["execution_pct"] == pytest.approx(70.0)  # 49 000 / 70 000


def test_execution_nan_cases(plan, spending):
    table = execution_table(plan, spending)
    not_reported = _row(table, "1", 2020)
    assert math.isnan(not_reported["spent_eur"]) and math.isnan(not_reported["execution_pct"])
    nothing_planned = _row(table, "2", 2019)  # planned 0, spent 1 000: no rate, not infinity
    assert (nothing_planned["planned_eur"], nothing_planned["spent_eur"]) == (0.0, 1_000.0)
    assert math.isnan(nothing_planned["execution_pct"])
    no_figure = _row(table, "13", 2018)  # "non chiffré", spent 5 000
    assert math.isnan(no_figure["planned_eur"]) and no_figure["spent_eur"] == 5_000.0
    assert math.isnan(no_figure["execution_pct"])
    assert math.isnan(_row(table, "1", 2021)["spent_eur"])  # the 2022 row does not leak into 2021


def test_funder_filter(plan, spending):
    mel = execution_table(plan, spending, funder="MEL")
    assert _row(mel, "1", 2019)["spent_eur"] == 35_000.0
    assert _row(mel, "1", 2019)["execution_pct"] == pytest.approx(50.0)  # 35 000 / 70 000
    assert math.isnan(_row(mel, "13", 2018)["spent_eur"])  # a row without funder never matches a filter
    region = execution_table(plan, spending, funder=" région hauts-de-france ")  # case and spaces ignored
    assert _row(region, "1", 2019)["execution_pct"] == pytest.approx(20.0)  # 14 000 / 70 000
    assert math.isnan(_row(region, "1", 2018)["spent_eur"])


def test_printed_engagement_ids_are_accepted(plan):
    spending = pd.DataFrame(
        [("5-A", 2018, 20_000.0, "MEL"), (6, 2018, 7_500.0, "MEL")],
        columns=["engagement", "year", "amount_eur", "funder"],
    )
    table = execution_table(plan, spending)
    assert _row(table, "5a", 2018)["execution_pct"] == pytest.approx(100.0)  # 20 000 / 20 000
    assert _row(table, "6", 2018)["execution_pct"] == pytest.approx(50.0)  # 7 500 / 15 000


def test_unknown_engagement_is_an_input_error(plan):
    spending = pd.DataFrame([("99", 2018, 1.0, "MEL")], columns=["engagement", "year", "amount_eur", "funder"])
    with pytest.raises(InputError) as info:
        execution_table(plan, spending)
    assert str(info.value).startswith(
        "field 'engagement': spending names engagement(s) the plan does not have: '99' (use the sheet ids 1, 2, 3,"
    )


# --------------------------------------------------------------------------------------------------
# execution_totals


def test_totals_to_2019_by_hand(plan, spending):
    totals = execution_totals(plan, spending, 2019)
    assert list(totals.columns) == [
        "engagement",
        "planned_to_date_eur",
        "spent_to_date_eur",
        "execution_pct",
        "years_reported",
    ]
    assert list(totals["engagement"]) == [s.id for s in plan.engagements]
    first = _row(totals, "1")
    assert (first["planned_to_date_eur"], first["spent_to_date_eur"]) == (140_000.0, 112_000.0)
    assert first["execution_pct"] == pytest.approx(80.0)  # (63 000 + 49 000) / (2 x 70 000)
    assert first["years_reported"] == 2
    second = _row(totals, "2")  # planned 15 000 + 0, spent 1 000
    assert second["execution_pct"] == pytest.approx(100 * 1_000 / 15_000)


def test_totals_nan_cases(plan, spending):
    totals = execution_totals(plan, spending, 2019)
    silent = _row(totals, "3")  # 2 x 5 000 planned, nothing reported
    assert silent["planned_to_date_eur"] == 10_000.0
    assert math.isnan(silent["spent_to_date_eur"]) and math.isnan(silent["execution_pct"])
    assert silent["years_reported"] == 0
    unfigured = _row(totals, "13")
    assert math.isnan(unfigured["planned_to_date_eur"]) and unfigured["spent_to_date_eur"] == 5_000.0
    assert math.isnan(unfigured["execution_pct"])
    zero_planned = _row(execution_totals(plan, spending, 2018), "4")  # sheet 4 plans 0 in 2018
    assert zero_planned["planned_to_date_eur"] == 0.0 and math.isnan(zero_planned["execution_pct"])


def test_totals_first_year_and_funder(plan, spending):
    assert _row(execution_totals(plan, spending, 2018), "1")["execution_pct"] == pytest.approx(90.0)
    mel = _row(execution_totals(plan, spending, 2019, funder="MEL"), "1")
    assert mel["spent_to_date_eur"] == 98_000.0  # 63 000 + 35 000
    assert mel["execution_pct"] == pytest.approx(70.0)  # 98 000 / 140 000


def test_totals_year_outside_plan(plan, spending):
    with pytest.raises(UsageError, match=r"^year 2017 is outside the plan's years 2018-2021$"):
        execution_totals(plan, spending, 2017)


# --------------------------------------------------------------------------------------------------
# cost_per_outcome


def test_person_and_job_indicators_of_the_plan(plan):
    """Read from the units of ``evaluation plan``: bénéficiaires, personnes, mises à l'emploi, porteurs
    de projets, habitants, emplois, ETP, jeunes, retours ..., demandeurs d'emploi, familles
    monoparentales, NEETS, participants; not contrats (2.1), communes, entreprises, projets ..."""
    selected = [i.id for i in plan.indicators() if counts_persons_or_jobs(i)]
    assert selected == [
        "1.1", "3.1", "3.2", "4.1", "4a.4", "5.1", "5a.2", "5b.3", "5c.3", "5c.4", "6.3", "6.4", "6.5",
        "8.1", "9.1", "9.2", "10.1", "10.2", "10.3", "10.4", "10.5", "11.1", "11.2", "12.1", "12.2", "16.1",
    ]  # fmt: skip


@pytest.fixture
def realised() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("1.1", 2018, 320.0),  # per_year: summed
            ("1.1", 2019, 340.0),
            ("1.4", 2019, 10.0),  # communes: no cost per outcome
            ("6.3", 2018, 40.0),  # level: the value of the year
            ("6.3", 2019, 60.0),
            ("6.4", 2018, 12.0),
            ("6.4", 2019, 0.0),  # level value 0 at the year: no division
            ("6.5", 2018, 100.0),  # cumulative: summed up to the year
            ("6.5", 2019, 50.0),
            ("6.5", 2020, 70.0),  # after the year: not counted
        ],
        columns=["indicator_id", "year", "value"],
    )


def test_cost_per_outcome_by_hand(plan, spending, realised):
    costs = cost_per_outcome(plan, spending, realised, 2019).set_index("indicator_id")
    assert list(costs.reset_index().columns) == [
        "indicator_id",
        "engagement",
        "label",
        "unit",
        "spent_to_date_eur",
        "outcomes_to_date",
        "cost_per_outcome_eur",
    ]
    assert "1.4" not in costs.index and "2.1" not in costs.index
    assert costs.loc["1.1", "outcomes_to_date"] == 660.0  # 320 + 340
    assert costs.loc["1.1", "cost_per_outcome_eur"] == pytest.approx(112_000 / 660)  # 169.70 €
    assert costs.loc["6.3", "outcomes_to_date"] == 60.0
    assert costs.loc["6.3", "cost_per_outcome_eur"] == pytest.approx(450.0)  # (15 000 + 12 000) / 60
    assert costs.loc["6.5", "outcomes_to_date"] == 150.0  # 100 + 50, not the 2020 row
    assert costs.loc["6.5", "cost_per_outcome_eur"] == pytest.approx(180.0)  # 27 000 / 150
    # 6.3 and 6.5 share the whole 27 000 € of sheet 6: costs are not additive.
    assert costs.loc["6.3", "spent_to_date_eur"] == costs.loc["6.5", "spent_to_date_eur"] == 27_000.0


def test_cost_per_outcome_nan_cases(plan, spending, realised):
    costs = cost_per_outcome(plan, spending, realised, 2019).set_index("indicator_id")
    assert costs.loc["6.4", "outcomes_to_date"] == 0.0
    assert math.isnan(costs.loc["6.4", "cost_per_outcome_eur"])  # 27 000 / 0 is not computed
    assert math.isnan(costs.loc["3.1", "outcomes_to_date"])  # nothing reported
    assert math.isnan(costs.loc["3.1", "cost_per_outcome_eur"])
    assert math.isnan(costs.loc["5c.3", "spent_to_date_eur"])  # no spending row for 5c


def test_cost_per_outcome_first_year_and_funder(plan, spending, realised):
    first = cost_per_outcome(plan, spending, realised, 2018).set_index("indicator_id")
    assert first.loc["1.1", "cost_per_outcome_eur"] == pytest.approx(63_000 / 320)  # 196.875
    assert first.loc["6.3", "cost_per_outcome_eur"] == pytest.approx(15_000 / 40)  # level: 2018 value
    mel = cost_per_outcome(plan, spending, realised, 2019, funder="MEL").set_index("indicator_id")
    assert mel.loc["1.1", "cost_per_outcome_eur"] == pytest.approx(98_000 / 660)  # 148.48 €


def test_cost_per_outcome_year_outside_plan(plan, spending, realised):
    with pytest.raises(UsageError, match=r"^year 2022 is outside"):
        cost_per_outcome(plan, spending, realised, 2022)


def test_no_spending_at_all():
    """A first-year dataset may have monitoring values and no spending file yet: nothing spent is NaN, no error."""
    plan = load_plan()
    empty = pd.DataFrame(columns=["engagement", "year", "amount_eur", "funder"])
    table = execution_table(plan, empty, funder="MEL")
    assert table["spent_eur"].isna().all()
    assert execution_totals(plan, empty, 2021, funder="MEL")["spent_to_date_eur"].isna().all()
