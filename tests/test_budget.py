"""Budget execution and cost per outcome, on hand-made spending against the real plan, then on the demo data.

Planned figures come from the plan's yearly MEL lines (``evaluation plan``): sheet 1 "2018 : 70 000
euros ; 2019 : 70 000 euros ; ...", sheet 2 "15 000 € ; 0 ; 0 ; 0", sheet 6 15 000 € a year,
sheet 5-A 20 000 € in 2018, sheet 5c "2018 : 27 000 euros ; 2019 : 27 000 euros ; 2020 : 0 euros ;
2021 : 0 euros", sheet 13 "non chiffré". Every expected number below is computed by hand from these
and the fixture rows (or the demo's spending file, quoted where used).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.errors import InputError, UsageError
from evaluation.io import load_dataset
from evaluation.present import engagement as views
from evaluation.present.tables import build_tables
from evaluation.referential.plan import load_plan
from evaluation.stats.budget import (
    EXECUTION_COLUMNS,
    MEL_FUNDER,
    TOTALS_COLUMNS,
    cost_per_outcome,
    counts_persons_or_jobs,
    execution_rate_pct,
    execution_table,
    execution_totals,
    planned_frame,
)


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
    assert list(frame.columns) == ["engagement", "year", "planned_mel_eur"]
    assert len(frame) == 23 * 4
    assert list(frame["engagement"].drop_duplicates()) == [s.id for s in plan.engagements]
    assert list(frame.loc[frame["engagement"] == "1", "planned_mel_eur"]) == [70_000.0] * 4
    # Sheet 12: "2018 : 33 765 € ; 2019 : 61 875 € ; 2020 : 34 125 € ; 2021 : 31 603 €".
    assert list(frame.loc[frame["engagement"] == "12", "planned_mel_eur"]) == [
        33_765.0,
        61_875.0,
        34_125.0,
        31_603.0,
    ]


def test_planned_frame_keeps_zero_apart_from_no_figure(plan):
    frame = planned_frame(plan)
    assert list(frame.loc[frame["engagement"] == "2", "planned_mel_eur"]) == [15_000.0, 0.0, 0.0, 0.0]
    assert frame.loc[frame["engagement"] == "13", "planned_mel_eur"].isna().all()


# --------------------------------------------------------------------------------------------------
# execution_rate_pct


@pytest.mark.parametrize(
    ("spent", "planned", "rate"),
    [
        (63_000.0, 70_000.0, 90.0),  # 63 000 / 70 000
        (1_000.0, 0.0, math.nan),  # nothing planned: no rate, not infinity
        (math.nan, 70_000.0, math.nan),  # not reported
        (5_000.0, math.nan, math.nan),  # "non chiffré"
        (0.0, 20_000.0, 0.0),  # a reported 0 is a rate of 0
    ],
)
def test_execution_rate_of_numbers(spent, planned, rate):
    result = execution_rate_pct(spent, planned)
    assert isinstance(result, float)
    assert result == pytest.approx(rate, nan_ok=True)


def test_execution_rate_of_series_keeps_the_index():
    rates = execution_rate_pct(pd.Series([35.0, 1.0], index=[7, 9]), pd.Series([70.0, 0.0], index=[7, 9]))
    assert list(rates.index) == [7, 9]
    assert rates[7] == pytest.approx(50.0) and math.isnan(rates[9])  # 35 / 70; planned 0


# --------------------------------------------------------------------------------------------------
# execution_table


def test_execution_table_shape(plan, spending):
    table = execution_table(plan, spending)
    assert list(table.columns) == list(EXECUTION_COLUMNS)
    assert list(EXECUTION_COLUMNS) == [
        "engagement",
        "year",
        "planned_mel_eur",
        "spent_mel_eur",
        "execution_pct",
        "spent_all_funders_eur",
    ]
    assert len(table) == 23 * 4
    assert sorted(table["year"].unique()) == [2018, 2019, 2020, 2021]  # the 2022 row is not counted


def test_execution_rate_by_hand(plan, spending):
    table = execution_table(plan, spending)
    first = _row(table, "1", 2018)
    assert (first["planned_mel_eur"], first["spent_mel_eur"], first["spent_all_funders_eur"]) == (
        70_000.0,
        63_000.0,
        63_000.0,
    )
    assert first["execution_pct"] == pytest.approx(90.0)  # 63 000 / 70 000


def test_cofinancing_does_not_raise_the_rate(plan, spending):
    """Sheet 1 in 2019: 35 000 € from the MEL and 14 000 € from the Région against 70 000 € of MEL plan.

    The rate is the MEL's 35 000 / 70 000 = 50 %; every funder's 49 000 € is beside it, not divided by
    the MEL's plan (that was 49 000 / 70 000 = 70 % before).
    """
    both_funders = _row(execution_table(plan, spending), "1", 2019)
    assert (both_funders["spent_mel_eur"], both_funders["spent_all_funders_eur"]) == (35_000.0, 49_000.0)
    assert both_funders["execution_pct"] == pytest.approx(50.0)


def test_execution_nan_cases(plan, spending):
    table = execution_table(plan, spending)
    not_reported = _row(table, "1", 2020)
    assert math.isnan(not_reported["spent_mel_eur"]) and math.isnan(not_reported["execution_pct"])
    assert math.isnan(not_reported["spent_all_funders_eur"])
    nothing_planned = _row(table, "2", 2019)  # planned 0, spent 1 000: no rate, not infinity
    assert (nothing_planned["planned_mel_eur"], nothing_planned["spent_mel_eur"]) == (0.0, 1_000.0)
    assert math.isnan(nothing_planned["execution_pct"])
    no_figure = _row(table, "13", 2018)  # "non chiffré", 5 000 spent by no named funder
    assert math.isnan(no_figure["planned_mel_eur"]) and math.isnan(no_figure["spent_mel_eur"])
    assert no_figure["spent_all_funders_eur"] == 5_000.0  # counted among all funders, never as the MEL's
    assert math.isnan(no_figure["execution_pct"])
    assert math.isnan(_row(table, "1", 2021)["spent_mel_eur"])  # the 2022 row does not leak into 2021


def test_mel_rows_are_matched_ignoring_case_and_spaces(plan):
    """' mel ' is the MEL's (6 000 + 1 500 = 7 500 / 15 000 = 50 %); 'Métropole' is not (all funders only)."""
    assert MEL_FUNDER == "MEL"
    spending = pd.DataFrame(
        [("6", 2018, 6_000.0, " mel "), ("6", 2018, 1_500.0, "MEL"), ("6", 2018, 2_000.0, "Métropole")],
        columns=["engagement", "year", "amount_eur", "funder"],
    )
    row = _row(execution_table(plan, spending), "6", 2018)
    assert (row["spent_mel_eur"], row["spent_all_funders_eur"]) == (7_500.0, 9_500.0)
    assert row["execution_pct"] == pytest.approx(50.0)


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
    """Sheet 1, 2018-2019: MEL 63 000 + 35 000 = 98 000 against 2 x 70 000 = 140 000: 70 %; every
    funder 98 000 + 14 000 (Région) = 112 000 beside (that was 112 000 / 140 000 = 80 % before)."""
    totals = execution_totals(plan, spending, 2019)
    assert list(totals.columns) == list(TOTALS_COLUMNS)
    assert list(TOTALS_COLUMNS) == [
        "engagement",
        "planned_mel_to_date_eur",
        "spent_mel_to_date_eur",
        "execution_pct",
        "years_reported",
        "spent_all_funders_to_date_eur",
    ]
    assert list(totals["engagement"]) == [s.id for s in plan.engagements]
    first = _row(totals, "1")
    assert (first["planned_mel_to_date_eur"], first["spent_mel_to_date_eur"]) == (140_000.0, 98_000.0)
    assert first["spent_all_funders_to_date_eur"] == 112_000.0
    assert first["execution_pct"] == pytest.approx(70.0)
    assert first["years_reported"] == 2
    second = _row(totals, "2")  # planned 15 000 + 0, MEL spent 1 000
    assert second["execution_pct"] == pytest.approx(100 * 1_000 / 15_000)


def test_totals_nan_cases(plan, spending):
    totals = execution_totals(plan, spending, 2019)
    silent = _row(totals, "3")  # 2 x 5 000 planned, nothing reported
    assert silent["planned_mel_to_date_eur"] == 10_000.0
    assert math.isnan(silent["spent_mel_to_date_eur"]) and math.isnan(silent["execution_pct"])
    assert math.isnan(silent["spent_all_funders_to_date_eur"])
    assert silent["years_reported"] == 0
    unfigured = _row(totals, "13")  # "non chiffré"; 5 000 spent, no funder named: not the MEL's
    assert math.isnan(unfigured["planned_mel_to_date_eur"]) and math.isnan(unfigured["spent_mel_to_date_eur"])
    assert unfigured["spent_all_funders_to_date_eur"] == 5_000.0
    assert math.isnan(unfigured["execution_pct"]) and unfigured["years_reported"] == 0
    zero_planned = _row(execution_totals(plan, spending, 2018), "4")  # sheet 4 plans 0 in 2018
    assert zero_planned["planned_mel_to_date_eur"] == 0.0 and math.isnan(zero_planned["execution_pct"])


def test_totals_first_year(plan, spending):
    assert _row(execution_totals(plan, spending, 2018), "1")["execution_pct"] == pytest.approx(90.0)  # 63 / 70


def test_totals_year_outside_plan(plan, spending):
    with pytest.raises(UsageError, match=r"^year 2017 is outside the plan \(2018-2021\)$"):
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
    table = execution_table(plan, empty)
    assert table["spent_mel_eur"].isna().all() and table["spent_all_funders_eur"].isna().all()
    assert execution_totals(plan, empty, 2021)["spent_mel_to_date_eur"].isna().all()


# --------------------------------------------------------------------------------------------------
# The demo data: the exported rate is the report's


def test_exported_rate_of_sheet_5c_is_the_reports():
    """Sheet 5c, 2018-2021, from data/demo/spending/depenses_mel.csv (lines 19-22: MEL 18 957 and 25 874, FEDER
    81 350 and 49 752) and the plan's 27 000 € a year in 2018-2019, 0 after.

    MEL 18 957 + 25 874 = 44 831 against 54 000: 83.02 %, the rate of the engagement report; every
    funder 44 831 + 81 350 + 49 752 = 175 933, which the export divided by 54 000 before (325.8 %).
    Per year: 18 957 / 27 000 = 70.21 %, 25 874 / 27 000 = 95.83 %.
    """
    tables = build_tables(load_plan(), load_dataset(), 2021)
    total = _row(tables["execution_cumulee"], "5c")
    assert (total["planned_mel_to_date_eur"], total["spent_mel_to_date_eur"]) == (54_000.0, 44_831.0)
    assert total["spent_all_funders_to_date_eur"] == 175_933.0
    assert total["execution_pct"] == pytest.approx(83.0203704)
    yearly = tables["execution_budgetaire"]
    assert _row(yearly, "5c", 2018)["execution_pct"] == pytest.approx(70.2111111)
    assert _row(yearly, "5c", 2019)["execution_pct"] == pytest.approx(95.8296296)
    assert _row(yearly, "5c", 2019)["spent_all_funders_eur"] == 75_626.0  # 25 874 + 49 752
    # The engagement report renders the same row: 83 % (0 decimals), every funder's 175 933 € beside.
    markup = views.execution_block(views.engagement_context("5c", 2021)).markup
    row = markup[markup.index("<td>2018-2021</td>") :].split("</tr>")[0]
    cells = [cell.removesuffix("</td>") for cell in row.split('<td class="num">')[1:]]
    cells = [cell.replace("\u202f", " ").replace("\xa0", " ") for cell in cells]  # the formats' thin spaces
    assert cells == ["54 000 €", "44 831 €", "83 %", "175 933 €", "2 sur 4"]
