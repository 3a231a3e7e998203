"""Targets: each rule of evaluation.stats.targets on hand-built indicators, then the gap table of the real plan.

Every expected number is computed by hand in the test's docstring or comment, from the rule numbers of
the module docstring (rule 3: linear path; rule 4: achievement; rule 5: status; ...).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.referential.plan import Baseline, Cumulation, Direction, Indicator, Measure, Section, Target, load_plan
from evaluation.stats.targets import (
    DEFAULT_TOLERANCE,
    GAP_COLUMNS,
    REFERENCE_YEAR,
    STATUS_FR,
    Status,
    assess,
    expected_value,
    gap_table,
)


def make_indicator(
    *,
    measure: Measure = Measure.COUNT,
    direction: Direction = Direction.INCREASE,
    cumulation: Cumulation = Cumulation.CUMULATIVE,
    value: float | None = None,
    low: float | None = None,
    high: float | None = None,
    year: int = 2021,
    baseline: Baseline | None = None,
) -> Indicator:
    return Indicator(
        id="x.1",
        engagement="x",
        label="Indicateur de test",
        unit=None,
        measure=measure,
        direction=direction,
        cumulation=cumulation,
        baseline=baseline,
        target=Target(year=year, year_stated=True, value=value, min=low, max=high),
        section=Section.RESULTS,
        source="test",
    )


def milestone(deadline: int) -> Indicator:
    return make_indicator(measure=Measure.MILESTONE, cumulation=Cumulation.LEVEL, year=deadline)


#: Sheet 1.1, "passer de 300 à 400 bénéficiaires par an": per_year, baseline without a year.
CLAUSE = make_indicator(cumulation=Cumulation.PER_YEAR, value=400, baseline=Baseline(300, None))
#: Sheet 1.3, "de 5 % à 15 %": percentage level, baseline without a year.
SHARE = make_indicator(measure=Measure.PERCENTAGE, cumulation=Cumulation.LEVEL, value=15, baseline=Baseline(5, None))
#: Sheet 3.1, 300 people by 2021: cumulative count without baseline.
PEOPLE = make_indicator(value=300)
#: Sheet 7.1, "50 à 100 entreprises par an": per_year range without baseline.
COMPANIES = make_indicator(cumulation=Cumulation.PER_YEAR, low=50, high=100)
#: Sheet 17.6 with a target: 56 % in 2015 down to 40 % in 2021.
BAD_IMAGE = make_indicator(
    measure=Measure.PERCENTAGE,
    direction=Direction.DECREASE,
    cumulation=Cumulation.LEVEL,
    value=40,
    baseline=Baseline(56, 2015),
)
#: Sheet 5b.2, mean support of 12 500 € per project: amount level to maintain.
SUPPORT = make_indicator(measure=Measure.AMOUNT, direction=Direction.MAINTAIN, cumulation=Cumulation.LEVEL, value=12500)
#: Sheet 12.3, 50 % return to employment: percentage level without baseline.
RETURN_RATE = make_indicator(measure=Measure.PERCENTAGE, cumulation=Cumulation.LEVEL, value=50)


def test_status_labels():
    assert REFERENCE_YEAR == 2017 and DEFAULT_TOLERANCE == 0.10
    assert [s.value for s in Status] == [
        "achieved",
        "on_track",
        "behind",
        "no_data",
        "not_due",
        "qualitative",
        "no_target",
    ]
    assert STATUS_FR == {
        Status.ACHIEVED: "atteint",
        Status.ON_TRACK: "en bonne voie",
        Status.BEHIND: "en retard",
        Status.NO_DATA: "non renseigné",
        Status.NOT_DUE: "pas encore dû",
        Status.QUALITATIVE: "qualitatif",
        Status.NO_TARGET: "sans cible chiffrée",
    }


# --------------------------------------------------------------------------------------------------
# Rule 3: the linear path


def test_path_from_a_baseline_without_year_starts_in_2017():
    """Start (2017, 300), end (2021, 400): 300 + 100 * (Y - 2017) / 4, i.e. 25 a year; 400 from 2021 on."""
    assert [expected_value(CLAUSE, y) for y in (2017, 2018, 2019, 2020, 2021, 2022)] == [
        300,
        325,
        350,
        375,
        400,
        400,
    ]


def test_path_of_a_cumulative_count_starts_from_zero_the_year_before_the_plan():
    """Start (2017, 0), end (2021, 300): 300 * (Y - 2017) / 4 = 75, 150, 225, 300."""
    assert [expected_value(PEOPLE, y) for y in (2018, 2019, 2020, 2021)] == [75, 150, 225, 300]


def test_path_without_start_point_is_the_target_every_year():
    """Per-year range (min 50) and percentage level without baseline (50 %): the target from the start."""
    assert [expected_value(COMPANIES, y) for y in (2018, 2019, 2020, 2021)] == [50, 50, 50, 50]
    assert [expected_value(RETURN_RATE, y) for y in (2018, 2019, 2020, 2021)] == [50, 50, 50, 50]


def test_path_of_a_decreasing_indicator_from_a_dated_baseline():
    """Start (2015, 56), end (2021, 40): 56 - 16 * (Y - 2015) / 6; 2019: 56 - 64/6 = 45.333..."""
    assert expected_value(BAD_IMAGE, 2015) == 56
    assert expected_value(BAD_IMAGE, 2019) == pytest.approx(45.3333333)
    assert expected_value(BAD_IMAGE, 2021) == 40


def test_path_is_none_without_a_target_figure():
    qualitative = make_indicator(measure=Measure.QUALITATIVE, cumulation=Cumulation.LEVEL)
    assert expected_value(qualitative, 2019) is None
    assert expected_value(milestone(2021), 2019) is None
    assert expected_value(make_indicator(), 2019) is None  # a count without figure (sheet 5c)


# --------------------------------------------------------------------------------------------------
# Rules 2, 4 and 5 on the plan's indicator kinds


def test_per_year_with_baseline_300_to_400():
    """2019: expected 300 + 100 * 2/4 = 350; realised 342 (the 2019 value), cumulated 320 + 342 = 662.

    Achievement (342 - 300) / (400 - 300) = 42 %; on track since 342 >= 350 - 0.10 * |400 - 300| = 340.
    """
    gap = assess(CLAUSE, {2018: 320, 2019: 342}, 2019)
    assert (gap.realised, gap.realised_cumulated, gap.target, gap.expected) == (342, 662, 400, 350)
    assert gap.gap_to_expected == -8  # 342 - 350
    assert gap.achievement_pct == pytest.approx(42.0)
    assert gap.status is Status.ON_TRACK
    assert (gap.target_max, gap.range_position, gap.late_years, gap.note) == (None, None, None, None)


def test_tolerance_turns_on_track_into_behind():
    """Same 342 in 2019 with tolerance 5 %: 342 < 350 - 0.05 * 100 = 345, behind."""
    assert assess(CLAUSE, {2018: 320, 2019: 342}, 2019, tolerance=0.05).status is Status.BEHIND


def test_per_year_target_is_met_on_the_year_value():
    """2021: 410 >= 400, achieved; (410 - 300) / 100 = 110 %; cumulated 320 + 342 + 380 + 410 = 1452."""
    gap = assess(CLAUSE, {2018: 320, 2019: 342, 2020: 380, 2021: 410}, 2021)
    assert (gap.status, gap.realised, gap.realised_cumulated) == (Status.ACHIEVED, 410, 1452)
    assert gap.achievement_pct == pytest.approx(110.0)


def test_per_year_before_the_deadline_can_be_achieved():
    """Sheet 4.1 pattern, 300 a year without baseline; 2020: 310 >= 300, achieved, 310/300 = 103.33 %.

    2018 is missing, so the cumulated 280 + 310 = 590 is a lower bound (note).
    """
    per_year = make_indicator(cumulation=Cumulation.PER_YEAR, value=300)
    gap = assess(per_year, {2019: 280, 2020: 310}, 2020)
    assert (gap.status, gap.realised, gap.realised_cumulated) == (Status.ACHIEVED, 310, 590)
    assert gap.achievement_pct == pytest.approx(103.3333333)
    assert gap.note == "no value for 2018: the sum over 2018-2020 is a lower bound"


def test_per_year_missing_year_is_no_data_with_the_cumulated_sum():
    """2019 missing: no realised value; cumulated = 290 (2018 only); expected 300 (no start point)."""
    gap = assess(make_indicator(cumulation=Cumulation.PER_YEAR, value=300), {2018: 290}, 2019)
    assert (gap.status, gap.realised, gap.realised_cumulated, gap.achievement_pct) == (Status.NO_DATA, None, 290, None)
    assert gap.note == "no value for 2019: the sum over 2018-2019 is a lower bound"


@pytest.mark.parametrize(
    ("year", "value", "status", "achievement"),
    [
        (2019, 9.5, Status.ON_TRACK, 45.0),  # expected 5 + 10 * 2/4 = 10; 9.5 >= 10 - 0.1 * 10 = 9; (9.5-5)/10
        (2019, 8.5, Status.BEHIND, 35.0),  # 8.5 < 9; (8.5 - 5) / 10
        (2021, 15.0, Status.ACHIEVED, 100.0),  # 15 >= 15; (15 - 5) / 10
        (2021, 14.0, Status.BEHIND, 90.0),  # deadline reached, 14 < 15; (14 - 5) / 10
    ],
)
def test_percentage_from_5_to_15(year, value, status, achievement):
    gap = assess(SHARE, {year: value}, year)
    assert gap.status is status
    assert gap.achievement_pct == pytest.approx(achievement)


def test_percentage_from_5_to_15_gap_to_path():
    """2019: expected 10 (see above), realised 9.5: gap -0.5 point."""
    gap = assess(SHARE, {2019: 9.5}, 2019)
    assert gap.expected == 10 and gap.gap_to_expected == pytest.approx(-0.5)


def test_cumulative_count_without_baseline():
    """2019: realised 60 + 80 = 140; expected 300 * 2/4 = 150; on track, 140 >= 150 - 0.1 * 300 = 120.

    Achievement 140 / 300 = 46.67 %; gap 140 - 150 = -10.
    """
    gap = assess(PEOPLE, {2018: 60, 2019: 80, 2020: 999}, 2019)  # 2020 is after Y: ignored
    assert (gap.realised, gap.realised_cumulated, gap.expected, gap.gap_to_expected) == (140, None, 150, -10)
    assert gap.achievement_pct == pytest.approx(46.6666667)
    assert gap.status is Status.ON_TRACK


def test_cumulative_with_a_missing_earlier_year_is_a_lower_bound():
    """2020 without 2018: realised 80 + 100 = 180 (lower bound); expected 300 * 3/4 = 225.

    180 < 225 - 30 = 195 would be behind, but 2018 is missing and could fill the gap: no_data.
    Achievement 180 / 300 = 60 %.
    """
    gap = assess(PEOPLE, {2019: 80, 2020: 100}, 2020)
    assert (gap.realised, gap.expected, gap.status) == (180, 225, Status.NO_DATA)
    assert gap.achievement_pct == pytest.approx(60.0)
    assert gap.note == "no value for 2018: the sum over 2018-2020 is a lower bound"


def test_cumulative_without_the_value_of_the_year_is_no_data_but_keeps_the_sum():
    """2020 missing: no_data; realised 60 + 80 = 140; expected 225, gap -85; 140 / 300 = 46.67 %."""
    gap = assess(PEOPLE, {2018: 60, 2019: 80}, 2020)
    assert (gap.status, gap.realised, gap.expected, gap.gap_to_expected) == (Status.NO_DATA, 140, 225, -85)
    assert gap.achievement_pct == pytest.approx(46.6666667)
    assert gap.note == "no value for 2020: the sum over 2018-2020 is a lower bound"


def test_nan_counts_as_missing():
    gap = assess(PEOPLE, {2018: math.nan}, 2018)
    assert (gap.status, gap.realised, gap.note) == (Status.NO_DATA, None, "value of 2018 missing")


@pytest.mark.parametrize(
    ("value", "position", "status", "achievement"),
    [
        (40, "below_min", Status.BEHIND, 80.0),  # 40 < 50 at the deadline; 40 / 50
        (70, "within", Status.ACHIEVED, 140.0),  # 70 >= 50; 70 / 50
        (120, "above_max", Status.ACHIEVED, 240.0),  # 120 > 100, still >= 50; 120 / 50
    ],
)
def test_range_50_to_100_per_year_at_the_deadline(value, position, status, achievement):
    gap = assess(COMPANIES, {2021: value}, 2021)
    assert (gap.range_position, gap.status, gap.target, gap.target_max) == (position, status, 50, 100)
    assert gap.achievement_pct == pytest.approx(achievement)


def test_range_above_max_says_so():
    gap = assess(COMPANIES, {2018: 60, 2019: 70, 2020: 80, 2021: 120}, 2021)
    assert gap.note == "above the range's max (100): counted as achieved"
    assert gap.realised_cumulated == 330  # 60 + 70 + 80 + 120


def test_range_below_min_before_the_deadline_can_be_on_track():
    """2019: 46 < 50 (below_min), expected 50 (no start point), 46 >= 50 - 0.1 * 50 = 45: on track; 92 %."""
    gap = assess(COMPANIES, {2019: 46}, 2019)
    assert (gap.range_position, gap.status, gap.expected) == ("below_min", Status.ON_TRACK, 50)
    assert gap.achievement_pct == pytest.approx(92.0)


@pytest.mark.parametrize(
    ("year", "value", "status", "achievement"),
    [
        # expected 45.333 (see the path test); 46 <= 45.333 + 0.1 * |40 - 56| = 46.933; (46-56)/(40-56)
        (2019, 46, Status.ON_TRACK, 62.5),
        (2019, 48, Status.BEHIND, 50.0),  # 48 > 46.933; (48 - 56) / -16
        (2021, 39, Status.ACHIEVED, 106.25),  # 39 <= 40; (39 - 56) / -16
        (2021, 42, Status.BEHIND, 87.5),  # 42 > 40 at the deadline; (42 - 56) / -16
    ],
)
def test_decreasing_from_56_to_40(year, value, status, achievement):
    gap = assess(BAD_IMAGE, {year: value}, year)
    assert gap.status is status
    assert gap.achievement_pct == pytest.approx(achievement)


@pytest.mark.parametrize(
    ("value", "status", "achievement"),
    [
        (20, Status.BEHIND, 50.0),  # 20 > 10 at the deadline; 10 / 20
        (0, Status.ACHIEVED, 100.0),  # 0 <= 10; realised 0 counts as 100 %
    ],
)
def test_decreasing_without_baseline(value, status, achievement):
    rate = make_indicator(
        measure=Measure.PERCENTAGE, direction=Direction.DECREASE, cumulation=Cumulation.LEVEL, value=10
    )
    gap = assess(rate, {2021: value}, 2021)
    assert (gap.status, gap.achievement_pct) == (status, achievement)


@pytest.mark.parametrize(
    ("year", "value", "status", "achievement"),
    [
        (2021, 12000, Status.ACHIEVED, 96.0),  # |12000 - 12500| = 500 <= 0.1 * 12500 = 1250; 12000 / 12500
        (2021, 14000, Status.BEHIND, 112.0),  # |1500| > 1250 at the deadline; 14000 / 12500
        (2019, 13000, Status.ACHIEVED, 104.0),  # |500| <= 1250
        (2019, 11000, Status.BEHIND, 88.0),  # |1500| > 1250: a maintain target has no path to be on
    ],
)
def test_maintain(year, value, status, achievement):
    gap = assess(SUPPORT, {year: value}, year)
    assert gap.status is status
    assert gap.achievement_pct == pytest.approx(achievement)


def test_maintain_has_no_path():
    """A level to hold is expected at the target every year: 12 500 in 2019 too."""
    assert expected_value(SUPPORT, 2019) == 12500


@pytest.mark.parametrize(
    ("value", "tolerance", "status"),
    [
        (46, DEFAULT_TOLERANCE, Status.ON_TRACK),  # 46 >= 50 - 0.10 * 50 = 45
        (44, DEFAULT_TOLERANCE, Status.BEHIND),  # 44 < 45
        (46, 0.05, Status.BEHIND),  # 46 < 50 - 0.05 * 50 = 47.5
    ],
)
def test_percentage_level_without_baseline(value, tolerance, status):
    """Expected 50 every year (no start point); total planned change |t| = 50; 46 / 50 = 92 %."""
    gap = assess(RETURN_RATE, {2019: value}, 2019, tolerance=tolerance)
    assert (gap.expected, gap.status) == (50, status)
    assert gap.achievement_pct == pytest.approx(value / 50 * 100)


def test_target_beyond_the_plan_2024():
    """Sheet 17.2, 26 quarters in 2024, count level: start (2017, 0); 2021 expected 26 * 4/7 = 14.857.

    13 >= 14.857 - 0.1 * 26 = 12.257: on track (the deadline is not reached); 12 < 12.257: behind.
    Achievement 13 / 26 = 50 %.
    """
    quarters = make_indicator(cumulation=Cumulation.LEVEL, value=26, year=2024)
    gap = assess(quarters, {2021: 13}, 2021)
    assert gap.expected == pytest.approx(14.8571429)
    assert (gap.status, gap.achievement_pct) == (Status.ON_TRACK, 50.0)
    assert assess(quarters, {2021: 12}, 2021).status is Status.BEHIND


def test_achievement_is_none_when_the_target_equals_the_baseline():
    """t == b: (realised - b) / 0 is undefined; the level 20 is met (20 >= 20)."""
    flat = make_indicator(cumulation=Cumulation.LEVEL, value=20, baseline=Baseline(20, 2017))
    gap = assess(flat, {2019: 20}, 2019)
    assert (gap.achievement_pct, gap.status) == (None, Status.ACHIEVED)


# --------------------------------------------------------------------------------------------------
# Rules 1, 7 and 8


def test_qualitative():
    qualitative = make_indicator(measure=Measure.QUALITATIVE, direction=Direction.MAINTAIN, cumulation=Cumulation.LEVEL)
    gap = assess(qualitative, {2019: 1.0}, 2019)
    assert (gap.status, gap.realised, gap.expected, gap.achievement_pct, gap.target) == (
        Status.QUALITATIVE,
        1.0,
        None,
        None,
        None,
    )
    assert assess(qualitative, {2018: 1.0}, 2019).realised is None


def test_count_without_figure_is_no_target_and_keeps_the_realised_sum():
    """Sheet 5c pattern: cumulative count without figure; realised 5 + 7 = 12, nothing compared."""
    gap = assess(make_indicator(), {2018: 5, 2019: 7}, 2019)
    assert (gap.status, gap.realised, gap.expected, gap.achievement_pct) == (Status.NO_TARGET, 12, None, None)


def test_not_due_while_nothing_is_expected_then_no_data():
    """Baseline 5 % measured in 2019, target 15 % in 2021: expected(2019) = 5 = the start, nothing due yet.

    expected(2020) = 5 + 10 * 1/2 = 10: a missing 2020 is no_data; a missing 2021 (deadline) too.
    """
    share = make_indicator(
        measure=Measure.PERCENTAGE, cumulation=Cumulation.LEVEL, value=15, baseline=Baseline(5, 2019)
    )
    assert assess(share, {}, 2019).status is Status.NOT_DUE
    gap = assess(share, {}, 2020)
    assert (gap.status, gap.expected, gap.note) == (Status.NO_DATA, 10, "value of 2020 missing")
    assert assess(share, {}, 2021).status is Status.NO_DATA


def test_missing_first_year_of_a_cumulative_is_no_data():
    """expected(2018) = 300 * 1/4 = 75 != 0 (the start): something is due from the first year."""
    assert assess(PEOPLE, {}, 2018).status is Status.NO_DATA


@pytest.mark.parametrize(
    ("deadline", "values", "year", "status", "late", "realised"),
    [
        (2018, {2018: 1}, 2019, Status.ACHIEVED, 0, 1.0),  # done on time
        (2018, {2018: 0, 2019: 0, 2020: 1}, 2021, Status.ACHIEVED, 2, 1.0),  # 2020 - 2018
        (2018, {2018: 0, 2019: 0}, 2020, Status.BEHIND, 2, 0.0),  # still not done: 2020 - 2018
        (2021, {2021: 0}, 2021, Status.BEHIND, 0, 0.0),  # not done in the deadline year: 2021 - 2021
        (2018, {}, 2020, Status.NO_DATA, None, None),  # nothing reported after the deadline
        (2021, {}, 2019, Status.NOT_DUE, None, None),  # before the deadline
        (2021, {2018: 0}, 2019, Status.NOT_DUE, None, 0.0),  # a 0 before the deadline: still not due
        (2021, {2020: 1}, 2019, Status.NOT_DUE, None, None),  # done after Y: not seen at Y
    ],
)
def test_milestones(deadline, values, year, status, late, realised):
    gap = assess(milestone(deadline), values, year)
    assert (gap.status, gap.late_years, gap.realised) == (status, late, realised)
    assert (gap.target, gap.expected, gap.achievement_pct) == (None, None, None)


def test_milestone_notes():
    assert assess(milestone(2018), {2020: 1}, 2021).note == "done in 2020, 2 year(s) after the 2018 deadline"
    assert assess(milestone(2018), {2018: 0}, 2019).note == "not done by the 2018 deadline"
    assert assess(milestone(2018), {2018: 1}, 2019).note is None


# --------------------------------------------------------------------------------------------------
# gap_table on the real plan


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture(scope="module")
def table(plan):
    realised = pd.DataFrame(
        [
            ("1.1", 2018, 320.0),
            ("1.1", 2019, 342.0),
            ("3.1", 2018, 60.0),
            ("3.1", 2019, 80.0),
            ("7.1", 2019, 120.0),
            ("12.3", 2019, math.nan),
            ("15.1", 2018, 1.0),
            ("99.9", 2019, 5.0),  # not an indicator of the plan: ignored
        ],
        columns=["indicator_id", "year", "value"],
    ).assign(comment="ignored column")
    return gap_table(plan, realised, 2019)


def test_gap_table_has_one_row_per_indicator_in_plan_order(plan, table):
    assert list(table.columns) == list(GAP_COLUMNS)
    assert list(GAP_COLUMNS[:9]) == [
        "indicator_id",
        "engagement",
        "year",
        "realised",
        "target",
        "achievement_pct",
        "expected",
        "gap_to_expected",
        "status",
    ]
    assert list(table["indicator_id"]) == [i.id for i in plan.indicators()]
    assert len(table) == 98
    assert (table["year"] == 2019).all()
    assert str(table["late_years"].dtype) == "Int64"


def test_gap_table_rows_of_reported_indicators(table):
    """1.1: 342 vs 350, 42 %, on track (per-year test above); 3.1: 140 vs 150, on track (cumulative test);
    7.1: 120 > 100 in 2019, achieved above the range; 15.1 (deadline December 2018) done in 2018."""
    rows = table.set_index("indicator_id")
    assert rows.loc["1.1", ["realised", "realised_cumulated", "expected", "status"]].tolist() == [
        342,
        662,
        350,
        "on_track",
    ]
    assert rows.loc["1.1", "achievement_pct"] == pytest.approx(42.0)
    assert rows.loc["3.1", ["realised", "expected", "gap_to_expected", "status"]].tolist() == [
        140,
        150,
        -10,
        "on_track",
    ]
    assert rows.loc["7.1", ["target", "target_max", "range_position", "status"]].tolist() == [
        50,
        100,
        "above_max",
        "achieved",
    ]
    assert rows.loc["7.1", "note"] == (
        "no value for 2018: the sum over 2018-2019 is a lower bound; above the range's max (100): counted as achieved"
    )
    assert rows.loc["15.1", ["status", "late_years"]].tolist() == ["achieved", 0]
    assert rows.loc["12.3", "status"] == "no_data"  # NaN is missing
    assert rows.loc["1.1", ["label", "measure", "cumulation", "direction"]].tolist() == [
        "Bénéficiaires de la clause d'insertion par an",
        "count",
        "per_year",
        "increase",
    ]


def test_gap_table_statuses_of_untouched_indicators(table):
    """98 indicators: 16 qualitative; 5 counts/percentages without figure (5c.1-5c.4, 17.6); 9 milestones,
    of which 4 due in 2021 (4a.9, 14.3, evaluation.4, evaluation.5: not due in 2019) and 5 due in 2018
    (15.1 reported done; gouvernance.4-6 and evaluation.3 with nothing reported: no_data); 68 quantified
    indicators, 3 assessed (1.1, 3.1, 7.1), the other 65 without a 2019 value (12.3's is NaN): no_data,
    none not due since every path moves from its start before 2019. 16 + 5 + 4 + (4 + 65) + 4 = 98.
    """
    counts = table["status"].value_counts().to_dict()
    assert counts == {"no_data": 69, "qualitative": 16, "no_target": 5, "not_due": 4, "on_track": 2, "achieved": 2}
    statuses = table.set_index("indicator_id")["status"]
    assert statuses[["4a.9", "14.3", "evaluation.4", "evaluation.5"]].tolist() == ["not_due"] * 4
    assert statuses[["gouvernance.4", "gouvernance.5", "gouvernance.6", "evaluation.3"]].tolist() == ["no_data"] * 4
    assert statuses[["5c.1", "5c.2", "5c.3", "5c.4", "17.6"]].tolist() == ["no_target"] * 5
    assert table.loc[table["status"] == "no_data", "note"].notna().all()


def test_gap_table_tolerance_is_passed_on(plan):
    """1.1 in 2019 with tolerance 5 %: 342 < 350 - 5 = 345, behind."""
    realised = pd.DataFrame({"indicator_id": ["1.1", "1.1"], "year": [2018, 2019], "value": [320.0, 342.0]})
    table = gap_table(plan, realised, 2019, tolerance=0.05).set_index("indicator_id")
    assert table.loc["1.1", "status"] == "behind"


def test_lower_bound_that_meets_the_target_is_enough():
    """2018 missing, 2019 + 2020 = 200 + 120 = 320 >= 300: achieved whatever 2018 was."""
    gap = assess(PEOPLE, {2019: 200, 2020: 120}, 2020)
    assert (gap.status, gap.realised) == (Status.ACHIEVED, 320)


def test_lower_bound_on_the_path_is_enough():
    """2018 missing; 2019 + 2020 = 100 + 110 = 210 >= 225 - 0.1 * 300 = 195: on track."""
    gap = assess(PEOPLE, {2019: 100, 2020: 110}, 2020)
    assert gap.status is Status.ON_TRACK


# --------------------------------------------------------------------------------------------------
# Rule 2: what a lower bound proves depends on the direction

#: A ceiling on a total, "no more than 100 over 2018-2021": cumulative count to decrease, no baseline,
#: so no start point and expected(Y) = 100 every year (rule 3).
CEILING = make_indicator(direction=Direction.DECREASE, value=100)
#: "Hold the total at 100", cumulative count to maintain: band 100 +- 0.10 * 100 = [90, 110] (rule 5).
HELD_TOTAL = make_indicator(direction=Direction.MAINTAIN, value=100)
#: 2019 missing: the partial sum 20 + 30 + 25 = 75 is a lower bound of the 2018-2021 total.
PARTIAL = {2018: 20, 2020: 30, 2021: 25}
LOWER_BOUND_NOTE = "no value for 2019: the sum over 2018-2021 is a lower bound"
NOT_GIVEN_NOTE = "achievement not given: the missing years can only raise the sum"


def test_lower_bound_under_a_ceiling_is_not_achieved():
    """75 <= 100, but the missing 2019 may hold 26 or more and put the total above 100: no_data.

    Before the fix: achieved, with achievement 100 / 75 = 133.3 % (rule 4 without baseline) and gap
    75 - 100 = -25, both overstating the progress: now None.
    """
    gap = assess(CEILING, PARTIAL, 2021)
    assert (gap.status, gap.realised, gap.target, gap.expected) == (Status.NO_DATA, 75, 100, 100)
    assert (gap.achievement_pct, gap.gap_to_expected) == (None, None)
    assert gap.note == f"{LOWER_BOUND_NOTE}; {NOT_GIVEN_NOTE}"


def test_lower_bound_above_a_ceiling_is_behind():
    """2018 + 2020 = 60 + 50 = 110 > 100 at the deadline: the true total is at least 110, behind for sure."""
    gap = assess(CEILING, {2018: 60, 2020: 50}, 2021)
    assert (gap.status, gap.realised, gap.achievement_pct) == (Status.BEHIND, 110, None)
    assert gap.note == f"no value for 2019, 2021: the sum over 2018-2021 is a lower bound; {NOT_GIVEN_NOTE}"


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({2018: 120}, Status.BEHIND),  # 120 > expected 100 + 0.10 * |100| = 110: above the path for sure
        ({2018: 105}, Status.NO_DATA),  # 105 <= 110 is on the path, but 2019 may push it above
    ],
)
def test_lower_bound_under_a_ceiling_before_its_deadline(values, status):
    """2019, 2019 missing: the 2018 value alone is a lower bound; expected(2019) = 100 (no start point)."""
    assert assess(CEILING, values, 2019).status is status


def test_ceiling_met_before_its_deadline_is_only_on_track():
    """Complete 2018-2019, 30 + 40 = 70 <= 100; yet 2020-2021 can only raise the total: on_track
    (70 <= expected 100 + 10), not achieved. At the deadline, complete 70 + 10 + 15 = 95 <= 100: achieved."""
    assert assess(CEILING, {2018: 30, 2019: 40}, 2019).status is Status.ON_TRACK
    assert assess(CEILING, {2018: 30, 2019: 40, 2020: 10, 2021: 15}, 2021).status is Status.ACHIEVED


def test_lower_bound_within_a_decreasing_range_has_no_position():
    """Cumulative decrease "50 to 100": t = the max, 100 (rule 6); 75 is within, but the true total may
    be above 100: no_data, and no range position (above_max alone would be proven)."""
    falling = make_indicator(direction=Direction.DECREASE, low=50, high=100)
    gap = assess(falling, PARTIAL, 2021)
    assert (gap.status, gap.target, gap.range_position) == (Status.NO_DATA, 100, None)
    above = assess(falling, {2018: 60, 2020: 50}, 2021)  # 110 > 100
    assert (above.status, above.range_position) == (Status.BEHIND, "above_max")


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({2018: 50, 2020: 55}, Status.NO_DATA),  # 105 is within [90, 110], but 2019 and 2021 may add more
        ({2018: 50, 2020: 70}, Status.BEHIND),  # 120 > 110: above the band for sure
        ({2018: 50, 2020: 30}, Status.NO_DATA),  # 80 < 90: the missing years may bring it into the band
    ],
)
def test_lower_bound_of_a_total_to_maintain(values, status):
    gap = assess(HELD_TOTAL, values, 2021)
    assert gap.status is status
    assert (gap.achievement_pct, gap.gap_to_expected) == (None, None)


def test_lower_bound_above_a_band_to_maintain():
    """Range "90 to 110" to maintain: 50 + 70 = 120 > 110 is above the max for sure: behind, above_max."""
    band = make_indicator(direction=Direction.MAINTAIN, low=90, high=110)
    gap = assess(band, {2018: 50, 2020: 70}, 2021)
    assert (gap.status, gap.range_position) == (Status.BEHIND, "above_max")
    assert assess(band, {2018: 50, 2020: 50}, 2021).status is Status.NO_DATA  # 100, within: not proven


def test_lower_bound_of_an_increase_still_proves_it_met():
    """The same partial sum 75 against an increase target of 70 by 2021: 75 >= 70 whatever 2019 was:
    achieved, achievement 75 / 70 = 107.14 % (a lower bound of the true one), gap 75 - 70 = 5."""
    gap = assess(make_indicator(value=70), PARTIAL, 2021)
    assert (gap.status, gap.realised, gap.gap_to_expected) == (Status.ACHIEVED, 75, 5)
    assert gap.achievement_pct == pytest.approx(107.1428571)
    assert gap.note == LOWER_BOUND_NOTE


def test_cumulative_after_its_deadline_is_judged_at_the_deadline():
    """'300 by 2019': 100 + 150 = 250 by 2019 < 300: behind in 2021 too, whatever was done in 2020-2021."""
    by_2019 = make_indicator(value=300, year=2019)
    gap = assess(by_2019, {2018: 100, 2019: 150, 2020: 500}, 2021)
    assert (gap.realised, gap.status) == (250, Status.BEHIND)
    assert gap.note == "judged on 2018-2019, the target's deadline"
    assert assess(by_2019, {2018: 100, 2019: 250}, 2021).status is Status.ACHIEVED  # 350 >= 300


def test_yearly_milestone_is_judged_each_year():
    """An annual barometer due from 2018: 1 in 2018, 0 in 2019, nothing in 2020."""
    yearly = make_indicator(measure=Measure.MILESTONE, cumulation=Cumulation.PER_YEAR, year=2018)
    values = {2018: 1, 2019: 0}
    assert assess(yearly, values, 2018).status is Status.ACHIEVED
    assert assess(yearly, values, 2019).status is Status.BEHIND
    assert assess(yearly, values, 2020).status is Status.NO_DATA
    late_start = make_indicator(measure=Measure.MILESTONE, cumulation=Cumulation.PER_YEAR, year=2020)
    assert assess(late_start, {}, 2019).status is Status.NOT_DUE


def test_decreasing_range_uses_its_max():
    """'between 50 and 60' for a decreasing level: 55 <= 60 is achieved; 65 at the deadline is behind."""
    falling = make_indicator(
        measure=Measure.PERCENTAGE, direction=Direction.DECREASE, cumulation=Cumulation.LEVEL, low=50, high=60
    )
    assert assess(falling, {2021: 55}, 2021).status is Status.ACHIEVED
    assert assess(falling, {2021: 65}, 2021).status is Status.BEHIND
    assert assess(falling, {2021: 55}, 2021).target == 60


def test_maintain_range_is_met_within_its_bounds():
    band = make_indicator(direction=Direction.MAINTAIN, cumulation=Cumulation.LEVEL, low=50, high=60)
    assert assess(band, {2019: 58}, 2019).status is Status.ACHIEVED
    assert assess(band, {2019: 61}, 2019).status is Status.BEHIND


def test_decreasing_without_baseline_has_no_path():
    """Nothing says where a decrease starts from: the target applies every year (expected = 40)."""
    falling = make_indicator(measure=Measure.COUNT, direction=Direction.DECREASE, cumulation=Cumulation.LEVEL, value=40)
    assert expected_value(falling, 2019) == 40
    assert assess(falling, {2019: 60}, 2019).status is Status.BEHIND  # 60 > 40 + 0.1 * 40
