"""The barometer table: ratios of summed counts, changes, ranks among the QPV, the commune table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.stats.barometer import barometer_table, commune_table


def _rows(territory: str, year: int, **counts: float) -> list[dict]:
    return [
        {
            "territory": territory,
            "year": year,
            "indicator": k,
            "sex": "ensemble",
            "age_band": "total",
            "value": v,
            "source": "test",
            "vintage": year,
            "sampled": True,
        }
        for k, v in counts.items()
    ]


@pytest.fixture
def frame() -> pd.DataFrame:
    """Two QPV of hand-picked counts, and the MEL; 2018 and 2019."""
    rows = []
    rows += _rows(
        "QN00001M", 2018, employed_15_64=400, population_15_64=1000, poor_population=450, fiscal_population=1000
    )
    rows += _rows(
        "QN00002M", 2018, employed_15_64=1000, population_15_64=2000, poor_population=800, fiscal_population=2000
    )
    rows += _rows(
        "QN00001M", 2019, employed_15_64=420, population_15_64=1000, poor_population=440, fiscal_population=1000
    )
    rows += _rows(
        "QN00002M", 2019, employed_15_64=1000, population_15_64=2000, poor_population=820, fiscal_population=2000
    )
    rows += _rows("MEL", 2018, employed_15_64=59000, population_15_64=100000)
    rows += _rows("MEL", 2019, employed_15_64=59500, population_15_64=100000)
    # An age band row must not be counted in the totals.
    rows.append({**_rows("QN00001M", 2019, employed_15_64=999)[0], "age_band": "15-24"})
    return pd.DataFrame(rows)


def test_levels_changes_and_ranks(frame):
    table = barometer_table(frame, 2019).set_index(["territory", "indicator"])
    # QN00001M: 420 / 1000 = 42 %; 2018: 40 % -> +2 points.
    assert table.at[("QN00001M", "employment_rate_pct"), "level"] == pytest.approx(42.0)
    assert table.at[("QN00001M", "employment_rate_pct"), "change_prev"] == pytest.approx(2.0)
    # QPV aggregate = sum of counts: (420 + 1000) / (1000 + 2000) = 47.33 %, not the mean of 42 and 50.
    assert table.at[("QPV", "employment_rate_pct"), "level"] == pytest.approx(1420 / 3000 * 100)
    # Ranks: employment, higher is better (50 % first); poverty, lower is better (41 % first, 44 % second).
    assert table.at[("QN00002M", "employment_rate_pct"), "rank"] == 1
    assert table.at[("QN00001M", "employment_rate_pct"), "rank"] == 2
    assert table.at[("QN00002M", "poverty_rate_pct"), "rank"] == 1  # 820 / 2000 = 41 %
    assert math.isnan(table.at[("MEL", "employment_rate_pct"), "rank"])
    assert table.at[("MEL", "employment_rate_pct"), "level"] == pytest.approx(59.5)
    # Indicators without counts are NaN, not errors.
    assert math.isnan(table.at[("MEL", "poverty_rate_pct"), "level"])


def test_unknown_year(frame):
    with pytest.raises(ValueError, match="no barometer data for 2025"):
        barometer_table(frame, 2025)


def test_commune_table_counts_intercommunal_qpv_in_each_commune(frame):
    communes = pd.DataFrame(
        {
            "code": ["QN00001M", "QN00002M", "QN00002M"],
            "insee": ["59350", "59350", "59512"],
            "commune": ["Lille", "Lille", "Roubaix"],
        }
    )
    table = commune_table(frame, communes, 2019).set_index("commune")
    # Lille: both QPV, (420 + 1000) / 3000; Roubaix: QN00002M alone, counted in full: 50 %.
    assert table.at["Lille", "employment_rate_pct"] == pytest.approx(1420 / 3000 * 100)
    assert table.at["Roubaix", "employment_rate_pct"] == pytest.approx(50.0)
    assert table.at["Roubaix", "intercommunal"] == "QN00002M"
    assert table.at["Lille", "qpv_count"] == 2


def test_the_qpv_aggregate_sums_one_common_set_of_qpv():
    """QN00001M: 463 employed of 1 000 aged 15-64; QN00002M: 297 aged 15-64, its number of employed
    missing. Summing each count over the QPV that have it would give 463 / (1 000 + 297) = 35.7 %;
    over the QPV with both counts, 463 / 1 000 = 46.3 %, the same as the gap series. The aggregate row
    says so: 1 QPV summed, QN00002M left out. Jobseekers (50 and 40) have both counts in both QPV:
    (50 + 40) / (1 000 + 297), nothing left out. Expected values: the arithmetic above."""
    import warnings

    from evaluation.stats.barometer import LEFT_OUT_COLUMN, SUMMED_COLUMN
    from evaluation.stats.employment_gap import gap_series

    rows = _rows("QN00001M", 2021, employed_15_64=463, population_15_64=1000, jobseekers=50)
    rows += _rows("QN00002M", 2021, population_15_64=297, jobseekers=40)
    rows += _rows("MEL", 2021, employed_15_64=59000, population_15_64=100000)
    frame = pd.DataFrame(rows)
    table = barometer_table(frame, 2021).set_index(["territory", "indicator"])
    employment = table.loc[("QPV", "employment_rate_pct")]
    assert 100 * 463 / 1297 == pytest.approx(35.698, abs=1e-3)  # the old, mixed-set aggregate
    assert employment["level"] == pytest.approx(46.3, abs=1e-12)
    assert (employment["numerator"], employment["denominator"]) == (463, 1000)
    assert (employment[SUMMED_COLUMN], employment[LEFT_OUT_COLUMN]) == (1, "QN00002M")
    jobseekers = table.loc[("QPV", "jobseekers_per_100")]
    assert jobseekers["level"] == pytest.approx(100 * 90 / 1297, abs=1e-12)
    assert (jobseekers[SUMMED_COLUMN], jobseekers[LEFT_OUT_COLUMN]) == (2, "")
    # Only the aggregate row carries the two columns.
    assert math.isnan(table.loc[("QN00001M", "employment_rate_pct"), SUMMED_COLUMN])
    assert table.loc[("MEL", "employment_rate_pct"), LEFT_OUT_COLUMN] == ""
    # The gap series sums the same set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped incomplete QPV is warned about
        series = gap_series(frame).iloc[0]
    assert series["qpv_rate_pct"] == pytest.approx(employment["level"], abs=1e-12)
    assert series["qpv_left_out"] == "QN00002M" and series["qpv_count"] == 1


def test_the_commune_table_sums_the_qpv_with_both_counts(frame):
    """Lille holds QN00001M and QN00002M; without QN00002M's 2019 employed count, Lille's employment
    rate is QN00001M's alone (420 / 1 000 = 42 %), not (420) / (1 000 + 2 000) = 14 %."""
    partial = frame[
        ~((frame["territory"] == "QN00002M") & (frame["year"] == 2019) & (frame["indicator"] == "employed_15_64"))
    ]
    communes = pd.DataFrame(
        {"code": ["QN00001M", "QN00002M"], "insee": ["59350", "59350"], "commune": ["Lille", "Lille"]}
    )
    table = commune_table(partial, communes, 2019).set_index("commune")
    assert table.at["Lille", "employment_rate_pct"] == pytest.approx(42.0)
    # Poverty has both counts in both QPV: (440 + 820) / 3 000.
    assert table.at["Lille", "poverty_rate_pct"] == pytest.approx(100 * 1260 / 3000)
