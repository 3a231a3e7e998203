"""Employment gap: intervals against statsmodels and a published table, hand-computed tables.

Sources of the expected numbers, test by test:

* intervals: statsmodels 0.15 as the independent implementation,
  ``proportion_confint(x, n, alpha, method="wilson")`` and
  ``confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=alpha)``
  (tolerance 1e-9), and Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10;
* the change of the gap and the reduction: hand-computed MOVER bounds (arithmetic in the docstrings)
  and, for large samples, the Wald interval of the difference of two independent differences of
  proportions written here from the binomial variances (``z * sqrt(sum p (1 - p) / n)``);
* the per-QPV contributions on the demo data: their sum against the aggregate change computed here
  with pandas from ``data/demo/barometer/barometre_2015_2021.csv`` (no library code);
* everything else: small hand-built barometers whose arithmetic is written in the docstring or
  comment of the test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from evaluation.errors import UsageError
from evaluation.stats.employment_gap import (
    CAUTION_COUNT,
    CENSUS_SAMPLING_FRACTION,
    COMPARATORS,
    DEFAULT_CENSUS_DESIGN_EFFECT,
    EXHAUSTIVE_NOTE,
    GAP_SERIES_COLUMNS,
    PLAN_BASELINE_GAP_PP,
    PLAN_COMPARATOR,
    PLAN_REDUCTION_SHARE,
    QPV_AGGREGATE,
    Comparator,
    EvaluationWarning,
    GapChange,
    GapReduction,
    PathStatus,
    check_guards,
    decompose_gap_change,
    direct_standardise,
    gap_change,
    gap_reduction,
    gap_series,
    kitagawa,
    qpv_contributions,
    rate_difference_ci,
    standardised_rates,
    wilson_ci,
)

TOL = 1e-9
Z95 = 1.959963984540054  # Phi^-1(0.975)


def barometer(rows: list[tuple]) -> pd.DataFrame:
    """A barometer long table from ``(territory, year, age_band, population, employed[, sampled, vintage])``.

    Each tuple gives the two rows ``population_15_64`` and ``employed_15_64`` (sex ``ensemble``).
    Defaults: exhaustive (``sampled=False``), no vintage.
    """
    records = []
    for row in rows:
        territory, year, band, population, employed, *rest = row
        sampled = rest[0] if rest else False
        vintage = rest[1] if len(rest) > 1 else np.nan
        for indicator, value in (("population_15_64", population), ("employed_15_64", employed)):
            records.append(
                {
                    "territory": territory,
                    "year": year,
                    "indicator": indicator,
                    "sex": "ensemble",
                    "age_band": band,
                    "value": float(value),
                    "source": "RP" if sampled else "test",
                    "vintage": float(vintage),
                    "sampled": sampled,
                }
            )
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------


def test_plan_constants() -> None:
    """The plan's introduction: 44 % in the QPV against 59 % in the Métropole, a 15-point gap to halve."""
    assert PLAN_COMPARATOR == "MEL" and PLAN_COMPARATOR in COMPARATORS
    assert set(COMPARATORS) == {"MEL", "MEL_HORS_QPV"}
    assert COMPARATORS["MEL"] == "ensemble de la Métropole"
    assert PLAN_BASELINE_GAP_PP == 59 - 44
    assert PLAN_BASELINE_GAP_PP * (1 - PLAN_REDUCTION_SHARE) == 7.5
    assert CAUTION_COUNT == 200


def test_default_design_effect_from_the_census_sampling_fraction() -> None:
    """INSEE surveys 8 % of the dwellings a year in communes of 10 000 inhabitants or more, 40 % over
    the five surveys of a vintage: f = 0.40, deff = (1 - f) / f = 0.6 / 0.4 = 1.5."""
    assert CENSUS_SAMPLING_FRACTION == pytest.approx(5 * 0.08)
    assert DEFAULT_CENSUS_DESIGN_EFFECT == pytest.approx(1.5, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Wilson
# --------------------------------------------------------------------------------------------------

EDGE_CASES = [
    (0, 1),
    (1, 1),
    (0, 10),
    (10, 10),
    (1, 10),
    (5, 10),
    (0, 2),
    (1, 2),
    (3, 7),
    (81, 263),
    (2200, 5000),
    (59000, 100000),
    (0, 1_000_000_000),
    (1_000_000_000, 1_000_000_000),
    (1, 1_000_000_000),
    (440_000_000, 1_000_000_000),
    (12.5, 40.25),  # weighted census counts are not integers
]


@pytest.mark.parametrize("conf_level", [0.90, 0.95, 0.99])
@pytest.mark.parametrize(("x", "n"), EDGE_CASES)
def test_wilson_matches_statsmodels(x: float, n: float, conf_level: float) -> None:
    """statsmodels ``proportion_confint(x, n, alpha=1 - conf_level, method="wilson")``, 1e-9."""
    low, high = wilson_ci(x, n, conf_level)
    expected_low, expected_high = proportion_confint(x, n, alpha=1 - conf_level, method="wilson")
    assert isinstance(low, float) and isinstance(high, float)
    assert low == pytest.approx(expected_low, abs=TOL)
    assert high == pytest.approx(expected_high, abs=TOL)


def test_wilson_zero_and_all_successes_by_hand() -> None:
    """With x = 0 the Wilson bounds are 0 and z^2 / (n + z^2); with x = n, 1 - z^2 / (n + z^2) and 1.

    For n = 10 at 95 %: 1.959964^2 / (10 + 1.959964^2) = 3.841459 / 13.841459 = 0.277533.
    """
    low, high = wilson_ci(0, 10)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (10 + Z95**2), abs=1e-12)
    assert high == pytest.approx(0.277533, abs=1e-6)
    low, high = wilson_ci(10, 10)
    assert high == 1.0
    assert low == pytest.approx(1 - Z95**2 / (10 + Z95**2), abs=1e-12)


def test_wilson_vectorised_at_scale() -> None:
    """5 000 random cases in one call (n log-uniform from 1 to 1e9, a fifth at 0 or n) against statsmodels."""
    rng = np.random.default_rng(20180601)
    n = np.floor(10 ** rng.uniform(0, 9, 5000))
    x = np.floor(rng.uniform(0, 1, 5000) * (n + 1))
    x[:500] = 0
    x[500:1000] = n[500:1000]
    low, high = wilson_ci(x, n)
    expected_low, expected_high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert low.shape == (5000,)
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=TOL)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=TOL)
    assert np.all(low <= x / n) and np.all(x / n <= high)


def test_wilson_design_effect_is_a_smaller_sample() -> None:
    """deff = 2 on (x, n) is the plain interval on (x / 2, n / 2): the effective sample halves."""
    x = np.array([0, 3, 40, 2200, 100])
    n = np.array([10, 7, 100, 5000, 100])
    low, high = wilson_ci(x, n, design_effect=2.0)
    plain_low, plain_high = wilson_ci(x / 2, n / 2)
    np.testing.assert_allclose(low, plain_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, plain_high, rtol=0, atol=1e-12)
    # ... and statsmodels on the halved counts, the independent check.
    expected_low, expected_high = proportion_confint(x / 2, n / 2, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=TOL)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=TOL)
    # A larger design effect widens the interval (both bounds are clipped at x = 0 and x = n).
    plain_width = np.subtract(*wilson_ci(x, n)[::-1])
    assert np.all(high - low > plain_width)


def test_wilson_empty_sample_is_nan() -> None:
    low, high = wilson_ci(np.array([0, 1]), np.array([0, 2]))
    assert math.isnan(low[0]) and math.isnan(high[0])
    assert not math.isnan(low[1])


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(UsageError) as caught:
        wilson_ci(12, 10)
    assert str(caught.value) == (
        "successes must lie between 0 and trials: got 12.0 successes out of 10.0 "
        "(check that numerator and denominator are not swapped)"
    )
    with pytest.raises(UsageError, match="conf_level must be strictly between 0 and 1, got 95"):
        wilson_ci(1, 10, conf_level=95)
    with pytest.raises(UsageError, match="design_effect must be a positive number, got 0"):
        wilson_ci(1, 10, design_effect=0)


# --------------------------------------------------------------------------------------------------
# Newcombe
# --------------------------------------------------------------------------------------------------


def test_newcombe_published_example() -> None:
    """Newcombe (1998), Table II, example (a) 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339."""
    difference, low, high = rate_difference_ci(56, 70, 48, 80)
    assert difference == pytest.approx(0.2, abs=1e-12)
    assert round(low, 4) == 0.0524
    assert round(high, 4) == 0.3339


def test_newcombe_second_published_example() -> None:
    """Newcombe (1998), Table II, example (b) 9/10 - 3/10 = 0.6, method 10: 0.1705 to 0.8090.

    The same two rows are checked by the R package propint's test "results reported in Newcombe1998".
    """
    difference, low, high = rate_difference_ci(9, 10, 3, 10)
    assert difference == pytest.approx(0.6, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)


PAIRS = [
    (56, 70, 48, 80),
    (9, 10, 3, 10),
    (6, 7, 2, 7),
    (5, 56, 0, 29),
    (0, 10, 0, 20),
    (10, 10, 0, 20),
    (0, 1, 1, 1),
    (1, 1, 1, 1),
    (59000, 100000, 2200, 5000),
    (1_000_000_000, 1_000_000_000, 0, 1_000_000_000),
    (440_000_000, 1_000_000_000, 3, 17),
]


@pytest.mark.parametrize("conf_level", [0.90, 0.95, 0.99])
@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PAIRS)
def test_newcombe_matches_statsmodels(x1: int, n1: int, x2: int, n2: int, conf_level: float) -> None:
    """statsmodels ``confint_proportions_2indep(..., method="newcomb", compare="diff")``, 1e-9."""
    difference, low, high = rate_difference_ci(x1, n1, x2, n2, conf_level)
    expected_low, expected_high = confint_proportions_2indep(
        x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - conf_level
    )
    assert difference == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)
    assert low == pytest.approx(expected_low, abs=TOL)
    assert high == pytest.approx(expected_high, abs=TOL)


def test_newcombe_vectorised_at_scale() -> None:
    """5 000 random pairs in one call, 0 and n successes included, against statsmodels."""
    rng = np.random.default_rng(59)
    n1 = np.floor(10 ** rng.uniform(0, 8, 5000))
    n2 = np.floor(10 ** rng.uniform(0, 8, 5000))
    x1 = np.floor(rng.uniform(0, 1, 5000) * (n1 + 1))
    x2 = np.floor(rng.uniform(0, 1, 5000) * (n2 + 1))
    x1[:400], x2[400:800], x1[800:1200] = 0, 0, n1[800:1200]
    difference, low, high = rate_difference_ci(x1, n1, x2, n2)
    expected_low, expected_high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    np.testing.assert_allclose(difference, x1 / n1 - x2 / n2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=TOL)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=TOL)
    assert np.all(low <= difference) and np.all(difference <= high)


def test_newcombe_design_effect_on_both_samples() -> None:
    """deff = 2 equals statsmodels' Newcombe interval on the halved counts of both samples."""
    _, low, high = rate_difference_ci(59000, 100000, 2200, 5000, design_effect=2.0)
    expected_low, expected_high = confint_proportions_2indep(29500, 50000, 1100, 2500, method="newcomb", compare="diff")
    assert low == pytest.approx(expected_low, abs=TOL)
    assert high == pytest.approx(expected_high, abs=TOL)


# --------------------------------------------------------------------------------------------------
# Standardisation and Kitagawa
# --------------------------------------------------------------------------------------------------


def test_direct_standardise_by_hand() -> None:
    """QPV band rates 20 %, 60 %, 40 % on the MEL structure 20 000 / 60 000 / 20 000 (shares 0.2 / 0.6 / 0.2).

    (20 000 * 20 + 60 000 * 60 + 20 000 * 40) / 100 000 = (400 000 + 3 600 000 + 800 000) / 100 000 = 48.
    """
    rates = {"15-24": 20.0, "25-54": 60.0, "55-64": 40.0}
    standard = {"15-24": 20_000, "25-54": 60_000, "55-64": 20_000}
    assert direct_standardise(rates, standard) == pytest.approx(48.0, abs=1e-12)
    # Shares instead of counts give the same rate; extra bands of `rates` are ignored.
    assert direct_standardise({**rates, "65+": 5.0}, {"15-24": 0.2, "25-54": 0.6, "55-64": 0.2}) == pytest.approx(48.0)


def test_direct_standardise_errors() -> None:
    with pytest.raises(UsageError) as caught:
        direct_standardise({"15-24": 0.2}, {"15-24": 1, "25-54": 2})
    assert str(caught.value) == "no rate for the age band(s) '25-54' of the standard population"
    with pytest.raises(UsageError, match="weights must be >= 0 with a positive sum"):
        direct_standardise({"15-24": 0.2}, {"15-24": 0})


def test_kitagawa_by_hand() -> None:
    """A: shares 0.2 / 0.6 / 0.2, rates 0.20 / 0.60 / 0.40, mean 0.04 + 0.36 + 0.08 = 0.48.

    B: shares 0.3 / 0.5 / 0.2, rates 0.25 / 0.60 / 0.50, mean 0.075 + 0.30 + 0.10 = 0.475. Total -0.005.
    Composition: 0.1 * 0.225 - 0.1 * 0.60 + 0 * 0.45 = -0.0375.
    Rate: 0.05 * 0.25 + 0 * 0.55 + 0.10 * 0.20 = 0.0325. And -0.0375 + 0.0325 = -0.005.
    Weights are given as counts (1 000 / 3 000 / 1 000 and 1 500 / 2 500 / 1 000): normalised to shares.
    """
    total, composition, rate = kitagawa(
        {"15-24": 0.20, "25-54": 0.60, "55-64": 0.40},
        {"15-24": 1000, "25-54": 3000, "55-64": 1000},
        {"15-24": 0.25, "25-54": 0.60, "55-64": 0.50},
        {"15-24": 1500, "25-54": 2500, "55-64": 1000},
    )
    assert total == pytest.approx(-0.005, abs=1e-15)
    assert composition == pytest.approx(-0.0375, abs=1e-15)
    assert rate == pytest.approx(0.0325, abs=1e-15)
    assert composition + rate == pytest.approx(total, abs=1e-12)


def test_kitagawa_adds_up_exactly_on_random_cases() -> None:
    """1 000 random decompositions (3 to 30 groups): composition + rate - total below 1e-12 every time."""
    rng = np.random.default_rng(1955)
    for _ in range(1000):
        k = int(rng.integers(3, 31))
        ra, rb = rng.uniform(0, 1, k), rng.uniform(0, 1, k)
        wa, wb = rng.uniform(0, 1e5, k), rng.uniform(0, 1e5, k)
        total, composition, rate = kitagawa(ra, wa, rb, wb)
        assert abs(composition + rate - total) < 1e-12
        assert total == pytest.approx(np.sum(wb * rb) / wb.sum() - np.sum(wa * ra) / wa.sum(), abs=1e-12)


def test_kitagawa_rejects_mismatched_groups() -> None:
    with pytest.raises(UsageError, match="rates_b must have the same groups as weights_a"):
        kitagawa({"a": 0.1, "b": 0.2}, {"a": 1, "b": 1}, {"a": 0.1}, {"a": 1, "b": 1})


# --------------------------------------------------------------------------------------------------
# Gap series
# --------------------------------------------------------------------------------------------------

#: Two QPV and the MEL, exhaustive counts (hand arithmetic in test_gap_series_by_hand).
SERIES_ROWS = [
    ("QN05901A", 2017, "total", 3000, 1300),
    ("QN05902B", 2017, "total", 2000, 900),
    ("MEL", 2017, "total", 100_000, 59_000),
    ("MEL_HORS_QPV", 2017, "total", 95_000, 56_800),
    ("QN05901A", 2018, "total", 3000, 1400),
    ("QN05902B", 2018, "total", 2100, 1000),
    ("MEL", 2018, "total", 100_000, 59_500),
    ("MEL_HORS_QPV", 2018, "total", 94_900, 57_100),
]


def test_gap_series_by_hand() -> None:
    """2017: QPV (1 300 + 900) / (3 000 + 2 000) = 2 200 / 5 000 = 44 %, MEL 59 000 / 100 000 = 59 %: gap 15.

    Not the mean of the QPV rates ((43.33 + 45) / 2 = 44.17). 2018: QPV 2 400 / 5 100 = 47.0588 %,
    MEL 59.5 %: gap 59.5 - 47.0588 = 12.4412. Exhaustive counts: no interval.
    """
    table = gap_series(barometer(SERIES_ROWS))
    assert tuple(table.columns) == GAP_SERIES_COLUMNS
    assert table["year"].tolist() == [2017, 2018]
    assert table["comparator"].tolist() == ["MEL", "MEL"]
    assert table["qpv_count"].tolist() == [2, 2]
    assert table["qpv_employed"].tolist() == [2200, 2400]
    assert table["qpv_population"].tolist() == [5000, 5100]
    assert table["qpv_rate_pct"].tolist() == pytest.approx([44.0, 100 * 2400 / 5100], abs=1e-12)
    assert table["comparator_rate_pct"].tolist() == pytest.approx([59.0, 59.5], abs=1e-12)
    assert table["gap_pp"].tolist() == pytest.approx([15.0, 59.5 - 100 * 2400 / 5100], abs=1e-12)
    assert table["gap_pp"].iloc[1] == pytest.approx(12.4412, abs=1e-4)
    assert table["interval_note"].tolist() == [EXHAUSTIVE_NOTE] * 2
    assert not table["sampled"].any()
    interval_columns = [c for c in table.columns if c.endswith(("_low_pct", "_high_pct", "_low_pp", "_high_pp"))]
    assert len(interval_columns) == 6
    assert table[interval_columns].isna().all().all()


def test_gap_series_other_comparator() -> None:
    """Against the MEL outside QPV, 2017: 56 800 / 95 000 = 59.7895 %, gap 59.7895 - 44 = 15.7895."""
    table = gap_series(barometer(SERIES_ROWS), comparator="MEL_HORS_QPV")
    assert table["comparator"].tolist() == ["MEL_HORS_QPV"] * 2
    assert table["gap_pp"].iloc[0] == pytest.approx(100 * 56_800 / 95_000 - 44, abs=1e-12)
    assert table["comparator_population"].iloc[0] == 95_000


def test_gap_series_intervals_for_sampled_counts() -> None:
    """Sampled counts, design effect 1: Wilson and Newcombe intervals equal statsmodels on the aggregate counts, in %."""
    rows = [(*row, True, 2017) for row in SERIES_ROWS if row[1] == 2017]
    table = gap_series(barometer(rows), design_effect=1.0)
    row = table.iloc[0]
    qpv_low, qpv_high = proportion_confint(2200, 5000, alpha=0.05, method="wilson")
    mel_low, mel_high = proportion_confint(59000, 100000, alpha=0.05, method="wilson")
    gap_low, gap_high = confint_proportions_2indep(59000, 100000, 2200, 5000, method="newcomb", compare="diff")
    assert row["qpv_low_pct"] == pytest.approx(100 * qpv_low, abs=1e-7)
    assert row["qpv_high_pct"] == pytest.approx(100 * qpv_high, abs=1e-7)
    assert row["comparator_low_pct"] == pytest.approx(100 * mel_low, abs=1e-7)
    assert row["comparator_high_pct"] == pytest.approx(100 * mel_high, abs=1e-7)
    assert row["gap_low_pp"] == pytest.approx(100 * gap_low, abs=1e-7)
    assert row["gap_high_pp"] == pytest.approx(100 * gap_high, abs=1e-7)
    assert row["sampled"] and row["vintage"] == 2017
    assert row["interval_note"] == (
        "95 % Wilson intervals, design effect 1; gap by Newcombe's hybrid score method as if the samples "
        "were independent: conservative, the QPV are part of the MEL"
    )
    assert row["design_effect"] == 1.0
    outside = gap_series(barometer(rows), comparator="MEL_HORS_QPV").iloc[0]
    assert outside["interval_note"].endswith("(disjoint territories)")
    # A design effect of 2 widens the gap interval to the one of the halved counts.
    wide = gap_series(barometer(rows), design_effect=2.0).iloc[0]
    gap_low, gap_high = confint_proportions_2indep(29500, 50000, 1100, 2500, method="newcomb", compare="diff")
    assert wide["gap_low_pp"] == pytest.approx(100 * gap_low, abs=1e-7)
    assert "design effect 2" in wide["interval_note"]


def test_gap_series_default_design_effect_is_the_census_one() -> None:
    """Without ``design_effect`` the intervals are statsmodels' on the counts divided by 1.5 (the
    effective sample of a 40 % census sample): 2 200 / 1.5 of 5 000 / 1.5, 59 000 / 1.5 of 100 000 / 1.5."""
    rows = [(*row, True, 2017) for row in SERIES_ROWS if row[1] == 2017]
    row = gap_series(barometer(rows)).iloc[0]
    qpv_low, qpv_high = proportion_confint(2200 / 1.5, 5000 / 1.5, alpha=0.05, method="wilson")
    gap_low, gap_high = confint_proportions_2indep(
        59000 / 1.5, 100000 / 1.5, 2200 / 1.5, 5000 / 1.5, method="newcomb", compare="diff"
    )
    assert row["qpv_low_pct"] == pytest.approx(100 * qpv_low, abs=1e-7)
    assert row["qpv_high_pct"] == pytest.approx(100 * qpv_high, abs=1e-7)
    assert row["gap_low_pp"] == pytest.approx(100 * gap_low, abs=1e-7)
    assert row["gap_high_pp"] == pytest.approx(100 * gap_high, abs=1e-7)
    assert row["design_effect"] == 1.5 and "design effect 1.5" in row["interval_note"]


def test_gap_series_names_the_qpv_left_out() -> None:
    """QN05902B lacks its number of employed in 2018: the 2018 aggregate is QN05901A alone
    (1 400 / 3 000 = 46.667 %, not 2 400 / 5 100) and ``qpv_left_out`` names QN05902B."""
    frame = barometer(SERIES_ROWS)
    frame = frame[
        ~((frame["territory"] == "QN05902B") & (frame["year"] == 2018) & (frame["indicator"] == "employed_15_64"))
    ]
    with pytest.warns(EvaluationWarning):
        table = gap_series(frame).set_index("year")
    assert table.loc[2017, "qpv_left_out"] == "" and table.loc[2018, "qpv_left_out"] == "QN05902B"
    assert table.loc[2018, "qpv_count"] == 1
    assert table.loc[2018, "qpv_rate_pct"] == pytest.approx(100 * 1400 / 3000, abs=1e-12)


def test_gap_series_unknown_comparator() -> None:
    with pytest.raises(UsageError) as caught:
        gap_series(barometer(SERIES_ROWS), comparator="France")
    assert str(caught.value) == (
        "unknown comparator 'France': use one of 'MEL' (ensemble de la Métropole), "
        "'MEL_HORS_QPV' (Métropole hors quartiers prioritaires)"
    )


def test_gap_series_warns_when_the_qpv_set_changes() -> None:
    """2018 lacks QN05902B: the aggregate sums 2 QPV in 2017 and 1 in 2018."""
    rows = [row for row in SERIES_ROWS if not (row[0] == "QN05902B" and row[1] == 2018)]
    with pytest.warns(
        EvaluationWarning, match=r"does not sum the same number of QPV every year \(2 in 2017, 1 in 2018\)"
    ):
        table = gap_series(barometer(rows))
    assert table["qpv_count"].tolist() == [2, 1]


def test_gap_series_warns_on_a_missing_count() -> None:
    frame = barometer(SERIES_ROWS)
    frame = frame[~((frame["territory"] == "QN05902B") & (frame["indicator"] == "employed_15_64"))]
    with pytest.warns(EvaluationWarning, match="lacking population_15_64 or employed_15_64: QN05902B 2017"):
        gap_series(frame)


# --------------------------------------------------------------------------------------------------
# Gap reduction
# --------------------------------------------------------------------------------------------------


def series(gaps: dict[int, float], comparator: str = "MEL") -> pd.DataFrame:
    return pd.DataFrame(
        {"year": list(gaps), "comparator": comparator, "gap_pp": list(gaps.values()), "vintage": np.nan}
    )


def test_gap_reduction_by_hand() -> None:
    """Baseline 15 points in 2017, 13 in 2021 (4 years later), halving target.

    Target gap 15 * 0.5 = 7.5; reduction 15 - 13 = 2; target reduction 7.5; share 2 / 7.5 = 26.667 %.
    Pace 2 / 4 = 0.5 point a year: the 7.5 points take 7.5 / 0.5 = 15 years, so 2017 + 15 = 2032.
    Required path 2017 -> 2021: 15 - 7.5 * k / 4 = 15, 13.125, 11.25, 9.375, 7.5; 13 > 7.5: not on path.
    """
    result = gap_reduction(series({2017: 15.0, 2018: 14.0, 2019: 14.5, 2020: 13.5, 2021: 13.0}))
    assert isinstance(result, GapReduction)
    assert result.comparator == "MEL"
    assert (result.baseline_year, result.latest_year) == (2017, 2021)
    assert result.baseline_gap_pp == 15.0 and result.latest_gap_pp == 13.0
    assert result.target_gap_pp == 7.5
    assert result.reduction_pp == 2.0
    assert result.target_reduction_pp == 7.5
    assert result.share_of_target_pct == pytest.approx(100 * 2 / 7.5, abs=1e-12)
    assert round(result.share_of_target_pct, 2) == 26.67
    assert result.pace_pp_per_year == 0.5
    assert result.projected_year == 2032
    assert result.required_path == ((2017, 15.0), (2018, 13.125), (2019, 11.25), (2020, 9.375), (2021, 7.5))
    assert result.on_path is False


def test_gap_reduction_on_path_before_the_horizon() -> None:
    """Baseline 15 in 2017, 11 in 2019; required 15 - 7.5 * 2 / 4 = 11.25 >= 11: on path.

    Pace 4 / 2 = 2 points a year: 7.5 / 2 = 3.75 years, rounded up: 2017 + 4 = 2021.
    """
    result = gap_reduction(series({2017: 15.0, 2019: 11.0}))
    assert result.on_path is True
    assert result.projected_year == 2021
    assert result.share_of_target_pct == pytest.approx(100 * 4 / 7.5)


def test_gap_reduction_target_met_and_widening_gap() -> None:
    """Met: 15 -> 9 (2018) -> 7 (2019) -> 7.2 (2020): the target 7.5 was first met in 2019.

    Widening: 15 -> 16, reduction -1, share -1 / 7.5 = -13.33 %, no projected year.
    """
    met = gap_reduction(series({2017: 15.0, 2018: 9.0, 2019: 7.0, 2020: 7.2}))
    assert met.projected_year == 2019 and met.on_path
    widening = gap_reduction(series({2017: 15.0, 2019: 16.0}))
    assert widening.reduction_pp == -1.0
    assert widening.share_of_target_pct == pytest.approx(-100 / 7.5)
    assert widening.projected_year is None and widening.on_path is False
    single = gap_reduction(series({2017: 15.0}))
    assert single.projected_year is None and single.pace_pp_per_year is None and single.reduction_pp == 0


def test_gap_reduction_baseline_year_and_errors() -> None:
    """An explicit baseline 2018 (14 points), latest 2021 (13): reduction 1, share 1 / 7 = 14.29 %."""
    result = gap_reduction(series({2017: 15.0, 2018: 14.0, 2021: 13.0}), baseline_year=2018)
    assert result.target_gap_pp == 7.0
    assert result.share_of_target_pct == pytest.approx(100 / 7)
    with pytest.raises(UsageError) as caught:
        gap_reduction(series({2017: 15.0, 2018: 14.0}), baseline_year=2016)
    assert str(caught.value) == "no gap for the baseline year 2016: the series has [2017, 2018]"
    mixed = pd.concat([series({2017: 15.0}), series({2018: 16.0}, comparator="MEL_HORS_QPV")])
    with pytest.raises(UsageError, match=r"the series mixes comparators \['MEL', 'MEL_HORS_QPV'\]"):
        gap_reduction(mixed)
    with pytest.raises(UsageError, match=r"the horizon \(2017\) must come after the baseline year \(2017\)"):
        gap_reduction(series({2017: 15.0}), horizon=2017)


def test_gap_reduction_from_gap_series() -> None:
    """End to end on SERIES_ROWS: 15 -> 12.4412 in one year, share (15 - 12.4412) / 7.5 = 34.12 %."""
    result = gap_reduction(gap_series(barometer(SERIES_ROWS)))
    assert result.reduction_pp == pytest.approx(15 - (59.5 - 100 * 2400 / 5100), abs=1e-12)
    assert round(result.share_of_target_pct, 2) == 34.12
    # Pace 2.5588 a year: 7.5 / 2.5588 = 2.93 years -> 2017 + 3.
    assert result.projected_year == 2020
    assert result.on_path  # required in 2018: 15 - 7.5 / 4 = 13.125 >= 12.44


def test_gap_reduction_warns_on_overlapping_vintages() -> None:
    frame = series({2017: 15.0, 2019: 14.0})
    frame["vintage"] = [2017.0, 2019.0]
    with pytest.warns(EvaluationWarning, match=r"2017 vs 2019 \(3 of 5 surveys shared\)"):
        gap_reduction(frame)


def with_intervals(rows: dict[int, tuple[float, float, float]], comparator: str = "MEL") -> pd.DataFrame:
    """A series from ``{year: (gap, low, high)}``, vintages equal to the years."""
    return pd.DataFrame(
        {
            "year": list(rows),
            "comparator": comparator,
            "gap_pp": [r[0] for r in rows.values()],
            "gap_low_pp": [r[1] for r in rows.values()],
            "gap_high_pp": [r[2] for r in rows.values()],
            "vintage": [float(y) for y in rows],
        }
    )


#: 2015: 15 [14.6, 15.3] (half-widths 0.4 below, 0.3 above); 2021: 13 [12.5, 13.6] (0.5, 0.6).
INTERVAL_ROWS = {2015: (15.0, 14.6, 15.3), 2021: (13.0, 12.5, 13.6)}


def test_gap_change_by_hand() -> None:
    """change = 13 - 15 = -2; MOVER: low = -2 - sqrt(0.5^2 + 0.3^2) = -2 - sqrt(0.34) = -2.583095,
    high = -2 + sqrt(0.6^2 + 0.4^2) = -2 + sqrt(0.52) = -1.278890. Vintages 6 years apart: no overlap."""
    result = gap_change(with_intervals(INTERVAL_ROWS), 2015, 2021)
    assert isinstance(result, GapChange)
    assert (result.gap_a_pp, result.gap_b_pp, result.change_pp) == (15.0, 13.0, -2.0)
    assert result.change_low_pp == pytest.approx(-2 - math.sqrt(0.34), abs=1e-12)
    assert result.change_high_pp == pytest.approx(-2 + math.sqrt(0.52), abs=1e-12)
    assert round(result.change_low_pp, 6) == -2.583095 and round(result.change_high_pp, 6) == -1.27889
    assert result.vintages_overlap is False
    # 2017 vs 2019 share 3 survey years: flagged (the interval is conservative).
    assert gap_change(
        with_intervals({2017: INTERVAL_ROWS[2015], 2019: INTERVAL_ROWS[2021]}), 2017, 2019
    ).vintages_overlap
    # Exhaustive sources on both sides: no interval; one side exhaustive counts as exact.
    assert gap_change(series({2015: 15.0, 2021: 13.0}), 2015, 2021).change_low_pp is None
    one_side = with_intervals(INTERVAL_ROWS)
    one_side.loc[0, ["gap_low_pp", "gap_high_pp"]] = np.nan
    half = gap_change(one_side, 2015, 2021)
    assert (half.change_low_pp, half.change_high_pp) == pytest.approx((-2.5, -1.4), abs=1e-12)
    with pytest.raises(UsageError, match=r"no gap for 2018: the series has a gap for \[2015, 2021\]"):
        gap_change(with_intervals(INTERVAL_ROWS), 2015, 2018)


def test_gap_change_matches_the_wald_interval_for_large_samples() -> None:
    """Independent check: four large exhaustive-size samples (design effect 1), QPV and MEL outside
    QPV (disjoint) in two years. The Wald interval of (p_out,b - p_qpv,b) - (p_out,a - p_qpv,a) is
    change +/- z sqrt(sum p (1 - p) / n) over the four samples; Wilson, Newcombe and MOVER converge to
    it as n grows (here within 2e-4 points at n = 2 to 8 million)."""
    counts = {
        2015: {"QN05901A": (2_000_000, 880_000), "MEL_HORS_QPV": (8_000_000, 4_800_000)},
        2021: {"QN05901A": (2_100_000, 966_000), "MEL_HORS_QPV": (8_100_000, 4_900_500)},
    }
    rows = [(t, y, "total", n, x, True, y) for y, territories in counts.items() for t, (n, x) in territories.items()]
    table = gap_series(barometer(rows), comparator="MEL_HORS_QPV", design_effect=1.0)
    result = gap_change(table, 2015, 2021)
    variance, change = 0.0, 0.0
    for year, sign in ((2021, 1), (2015, -1)):
        (nq, xq), (no, xo) = counts[year]["QN05901A"], counts[year]["MEL_HORS_QPV"]
        change += sign * 100 * (xo / no - xq / nq)
        variance += (xq / nq) * (1 - xq / nq) / nq + (xo / no) * (1 - xo / no) / no
    half = 100 * Z95 * math.sqrt(variance)
    assert result.change_pp == pytest.approx(change, abs=1e-9)
    assert result.change_low_pp == pytest.approx(change - half, abs=2e-4)
    assert result.change_high_pp == pytest.approx(change + half, abs=2e-4)


def test_gap_reduction_intervals_by_hand() -> None:
    """INTERVAL_ROWS, horizon 2021: reduction 15 - 13 = 2, interval the change's reversed:
    [1.278890, 2.583095]. Required gap in 2021: 7.5 = 0.5 * 15 (c = 0.5); distance 13 - 7.5 = 5.5;
    low 5.5 - sqrt(0.5^2 + (0.5 * 0.3)^2) = 5.5 - sqrt(0.2725) = 4.977985, high 5.5 + sqrt(0.6^2 +
    (0.5 * 0.4)^2) = 5.5 + sqrt(0.4) = 6.132456 > 0: behind. Projected: pace 2 / 6, 7.5 / (1/3) =
    22.5 years -> 2015 + 23 = 2038; at the upper pace 7.5 * 6 / 2.583095 = 17.42 -> 2033; at the lower
    7.5 * 6 / 1.278890 = 35.19 -> 2051."""
    result = gap_reduction(with_intervals(INTERVAL_ROWS))
    assert result.reduction_pp == 2.0
    assert result.reduction_low_pp == pytest.approx(2 - math.sqrt(0.52), abs=1e-12)
    assert result.reduction_high_pp == pytest.approx(2 + math.sqrt(0.34), abs=1e-12)
    assert result.distance_to_path_pp == pytest.approx(5.5, abs=1e-12)
    assert result.distance_to_path_low_pp == pytest.approx(5.5 - math.sqrt(0.2725), abs=1e-12)
    assert result.distance_to_path_high_pp == pytest.approx(5.5 + math.sqrt(0.4), abs=1e-12)
    assert result.path_status is PathStatus.BEHIND and result.on_path is False
    assert (result.projected_year, result.projected_year_earliest, result.projected_year_latest) == (2038, 2033, 2051)
    assert result.vintages_overlap is False


def test_gap_reduction_path_status_undetermined_on_path_and_no_end() -> None:
    """Horizon 2021, baseline 2015 at 15 +/- 1.

    * 2018 at 11.5 +/- 1: required 15 * (1 - 0.5 * 3 / 6) = 11.25 (c = 0.75); distance 0.25, half-width
      sqrt(1 + 0.75^2) = 1.25: [-1, 1.5] contains 0: undetermined (the point says behind).
    * 2018 at 9 +/- 0.5: distance -2.25, upper bound -2.25 + sqrt(0.25 + 0.5625) = -1.348612 <= 0: on path.
    * 2021 at 14.5 +/- 1: reduction 0.5, interval 0.5 -/+ sqrt(2) = [-0.914214, 1.914214]: at the low
      end the gap widens, no latest year; earliest 2015 + ceil(7.5 * 6 / 1.914214) = 2015 + 24 = 2039.
    """
    with pytest.warns(EvaluationWarning, match="2015 vs 2018"):
        undetermined = gap_reduction(with_intervals({2015: (15.0, 14.0, 16.0), 2018: (11.5, 10.5, 12.5)}))
    assert undetermined.distance_to_path_pp == pytest.approx(0.25, abs=1e-12)
    assert (undetermined.distance_to_path_low_pp, undetermined.distance_to_path_high_pp) == pytest.approx((-1.0, 1.5))
    assert undetermined.path_status is PathStatus.UNDETERMINED and undetermined.on_path is False
    assert undetermined.vintages_overlap is True  # 2015 and 2018 share the surveys 2016 and 2017
    with pytest.warns(EvaluationWarning, match="2015 vs 2018"):
        ahead = gap_reduction(with_intervals({2015: (15.0, 14.0, 16.0), 2018: (9.0, 8.5, 9.5)}))
    assert ahead.distance_to_path_high_pp == pytest.approx(-2.25 + math.sqrt(0.8125), abs=1e-12)
    assert ahead.path_status is PathStatus.ON_PATH
    slow = gap_reduction(with_intervals({2015: (15.0, 14.0, 16.0), 2021: (14.5, 13.5, 15.5)}))
    assert (slow.reduction_low_pp, slow.reduction_high_pp) == pytest.approx((0.5 - math.sqrt(2), 0.5 + math.sqrt(2)))
    assert (slow.projected_year_earliest, slow.projected_year_latest) == (2039, None)
    assert slow.projected_year == 2015 + 90  # 7.5 / (0.5 / 6) = 90 years
    # Without intervals (exhaustive sources): no bounds, the status is the point's.
    exact = gap_reduction(series({2015: 15.0, 2021: 13.0}))
    assert exact.reduction_low_pp is None and exact.projected_year_earliest is None
    assert exact.path_status is PathStatus.BEHIND


# --------------------------------------------------------------------------------------------------
# Standardised rates and decomposition
# --------------------------------------------------------------------------------------------------

#: Year 2017: the QPV (two of them) are younger than the MEL; hand arithmetic in the tests below.
BAND_ROWS_2017 = [
    # QPV aggregate: 1 500 / 3 000 / 500 people, employed 300 / 1 800 / 200 -> 20 % / 60 % / 40 %.
    ("QN05901A", 2017, "15-24", 900, 180),
    ("QN05901A", 2017, "25-54", 1800, 1080),
    ("QN05901A", 2017, "55-64", 300, 120),
    ("QN05902B", 2017, "15-24", 600, 120),
    ("QN05902B", 2017, "25-54", 1200, 720),
    ("QN05902B", 2017, "55-64", 200, 80),
    # MEL: 20 000 / 60 000 / 20 000 people, employed 6 000 / 48 000 / 10 000 -> 30 % / 80 % / 50 %.
    ("MEL", 2017, "15-24", 20_000, 6_000),
    ("MEL", 2017, "25-54", 60_000, 48_000),
    ("MEL", 2017, "55-64", 20_000, 10_000),
    # MEL outside QPV = MEL - QPV.
    ("MEL_HORS_QPV", 2017, "15-24", 18_500, 5_700),
    ("MEL_HORS_QPV", 2017, "25-54", 57_000, 46_200),
    ("MEL_HORS_QPV", 2017, "55-64", 19_500, 9_800),
]


def test_standardised_rates_by_hand() -> None:
    """QPV crude: (300 + 1 800 + 200) / 5 000 = 46 %; on the MEL structure 0.2 / 0.6 / 0.2:
    0.2 * 20 + 0.6 * 60 + 0.2 * 40 = 4 + 36 + 8 = 48 %. MEL: crude = standardised = 64 000 / 100 000 = 64 %.
    Crude gap 64 - 46 = 18 points; standardised gap 64 - 48 = 16 points: 2 of the 18 points come from
    the QPV's younger population. MEL outside QPV: crude 61 700 / 95 000; standardised
    0.2 * 5 700 / 18 500 + 0.6 * 46 200 / 57 000 + 0.2 * 9 800 / 19 500.
    """
    table = standardised_rates(barometer(BAND_ROWS_2017), 2017)
    assert table["territory"].tolist() == [QPV_AGGREGATE, "MEL", "MEL_HORS_QPV"]
    rows = table.set_index("territory")
    assert rows.loc["QPV", "crude_rate_pct"] == pytest.approx(46.0, abs=1e-12)
    assert rows.loc["QPV", "standardised_rate_pct"] == pytest.approx(48.0, abs=1e-12)
    assert rows.loc["MEL", "crude_rate_pct"] == pytest.approx(64.0, abs=1e-12)
    assert rows.loc["MEL", "standardised_rate_pct"] == pytest.approx(64.0, abs=1e-12)
    assert rows.loc["MEL", "crude_gap_pp"] == pytest.approx(18.0, abs=1e-12)
    assert rows.loc["MEL", "standardised_gap_pp"] == pytest.approx(16.0, abs=1e-12)
    assert math.isnan(rows.loc["QPV", "standardised_gap_pp"])
    outside = 100 * (0.2 * 5_700 / 18_500 + 0.6 * 46_200 / 57_000 + 0.2 * 9_800 / 19_500)
    assert rows.loc["MEL_HORS_QPV", "crude_rate_pct"] == pytest.approx(100 * 61_700 / 95_000, abs=1e-12)
    assert rows.loc["MEL_HORS_QPV", "standardised_rate_pct"] == pytest.approx(outside, abs=1e-12)
    assert rows.loc["MEL_HORS_QPV", "standardised_gap_pp"] == pytest.approx(outside - 48.0, abs=1e-12)
    assert (table["standard_territory"] == "MEL").all()


def test_standardised_rates_errors() -> None:
    with pytest.raises(UsageError, match=r"unknown standard territory 'France'"):
        standardised_rates(barometer(BAND_ROWS_2017), 2017, standard_territory="France")
    with pytest.raises(
        UsageError,
        match=r"no population_15_64 and employed_15_64 for the age band\(s\) \['15-24', '25-54', '55-64'\] of MEL in 2016",
    ):
        standardised_rates(barometer(BAND_ROWS_2017), 2016)


#: Year 2018: QPV 1 500 / 2 500 / 1 000 people at 25 % / 60 % / 50 %; MEL unchanged but 25-54 at 82 %.
BAND_ROWS_2018 = [
    ("QN05901A", 2018, "15-24", 900, 225),
    ("QN05901A", 2018, "25-54", 1500, 900),
    ("QN05901A", 2018, "55-64", 600, 300),
    ("QN05902B", 2018, "15-24", 600, 150),
    ("QN05902B", 2018, "25-54", 1000, 600),
    ("QN05902B", 2018, "55-64", 400, 200),
    ("MEL", 2018, "15-24", 20_000, 6_000),
    ("MEL", 2018, "25-54", 60_000, 49_200),
    ("MEL", 2018, "55-64", 20_000, 10_000),
]
#: 2017 for the decomposition: QPV 1 000 / 3 000 / 1 000 people at 20 % / 60 % / 40 %.
BAND_ROWS_2017_DECOMPOSITION = [
    ("QN05901A", 2017, "15-24", 600, 120),
    ("QN05901A", 2017, "25-54", 1800, 1080),
    ("QN05901A", 2017, "55-64", 600, 240),
    ("QN05902B", 2017, "15-24", 400, 80),
    ("QN05902B", 2017, "25-54", 1200, 720),
    ("QN05902B", 2017, "55-64", 400, 160),
    *[row for row in BAND_ROWS_2017 if row[0] == "MEL"],
]


def test_decompose_gap_change_by_hand() -> None:
    """QPV: the numbers of test_kitagawa_by_hand, in points: total -0.5, composition -3.75, rate +3.25.

    MEL: same structure both years (composition 0); 25-54 from 80 % to 82 % on a 0.6 share: rate
    effect 0.6 * 2 = 1.2 = total (64 % -> 65.2 %). Gap (MEL - QPV): total 1.2 - (-0.5) = 1.7,
    composition 0 - (-3.75) = 3.75, rate 1.2 - 3.25 = -2.05; 3.75 - 2.05 = 1.7. The gap widened by
    1.7 points although the QPV's band rates rose: their population aged into lower-rate bands.
    """
    table = decompose_gap_change(barometer(BAND_ROWS_2017_DECOMPOSITION + BAND_ROWS_2018), 2017, 2018)
    assert table["series"].tolist() == ["qpv", "MEL", "gap"]
    assert table["unit"].tolist() == ["%", "%", "points"]
    rows = table.set_index("series")
    expected = {
        "qpv": (48.0, 47.5, -0.5, -3.75, 3.25),
        "MEL": (64.0, 65.2, 1.2, 0.0, 1.2),
        "gap": (16.0, 17.7, 1.7, 3.75, -2.05),
    }
    for name, values in expected.items():
        got = rows.loc[name, ["level_a", "level_b", "total_change_pp", "composition_pp", "rate_effect_pp"]]
        assert got.tolist() == pytest.approx(values, abs=1e-10), name
    parts = table["composition_pp"] + table["rate_effect_pp"]
    assert (parts - table["total_change_pp"]).abs().max() < 1e-12


def test_decompose_gap_change_adds_up_on_random_barometers() -> None:
    """Random band counts for 5 QPV and the MEL: every row's parts add up to its total within 1e-12."""
    rng = np.random.default_rng(2021)
    for _ in range(50):
        rows = []
        for year in (2016, 2021):
            for territory in ["MEL", *(f"QN0590{i}X" for i in range(5))]:
                for band in ("15-24", "25-54", "55-64"):
                    population = float(rng.integers(200, 50_000))
                    rows.append((territory, year, band, population, float(rng.integers(0, population + 1))))
        table = decompose_gap_change(barometer(rows), 2016, 2021)
        parts = table["composition_pp"] + table["rate_effect_pp"]
        assert (parts - table["total_change_pp"]).abs().max() < 1e-12
        levels = table["level_b"] - table["level_a"]
        assert levels.tolist() == pytest.approx(table["total_change_pp"].tolist(), abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Per-QPV contributions
# --------------------------------------------------------------------------------------------------

CONTRIBUTION_ROWS = [
    *SERIES_ROWS,
    ("QN05903C", 2017, "total", 1000, 300),
    ("QN05903C", 2018, "total", 900, 330),
]


def test_qpv_contributions_by_hand() -> None:
    """2017: QPV 3 000 / 2 000 / 1 000 people (shares 1/2, 1/3, 1/6), rates 43.33 / 45 / 30 %.

    2018: 3 000 / 2 100 / 900 (shares 1/2, 0.35, 0.15), rates 46.67 / 47.62 / 36.67 %.
    Aggregate: 2 500 / 6 000 = 41.667 % -> 2 730 / 6 000 = 45.5 %, change 3.8333; mean aggregate rate
    R_mean = (41.667 + 45.5) / 2 = 43.583 %.
    QN05901A: share unchanged (1/2), rate +3.333 points: contribution 0.5 * 3.3333 = 1.6667.
    QN05903C: rate effect (1/6 + 0.15) / 2 * 6.6667 = 1.0556; composition, centred,
    ((30 + 36.667) / 2 - 43.583) * (0.15 - 1/6) = (33.333 - 43.583) * (-0.016667) = +0.17083 (a small
    QPV with a low rate lost weight: the aggregate rate gains); contribution 1.0556 + 0.1708 = 1.2264.
    The contributions add up to 3.8333.
    """
    table = qpv_contributions(barometer(CONTRIBUTION_ROWS), 2017, 2018)
    assert table["territory"].tolist() == ["QN05901A", "QN05902B", "QN05903C"]
    rows = table.set_index("territory")
    assert rows.loc["QN05901A", "rate_change_pp"] == pytest.approx(100 * (1400 / 3000 - 1300 / 3000), abs=1e-12)
    assert rows.loc["QN05901A", "composition_pp"] == pytest.approx(0.0, abs=1e-12)
    assert rows.loc["QN05901A", "contribution_pp"] == pytest.approx(0.5 * 100 / 30, abs=1e-12)
    assert rows.loc["QN05903C", "rate_effect_pp"] == pytest.approx(
        (1 / 6 + 0.15) / 2 * 100 * (330 / 900 - 0.3), abs=1e-12
    )
    mean_rate = (2500 / 6000 + 2730 / 6000) / 2
    assert rows.loc["QN05903C", "aggregate_rate_mean_pct"] == pytest.approx(100 * mean_rate, abs=1e-12)
    assert rows.loc["QN05903C", "composition_pp"] == pytest.approx(
        100 * ((0.3 + 330 / 900) / 2 - mean_rate) * (0.15 - 1 / 6), abs=1e-12
    )
    assert rows.loc["QN05903C", "composition_pp"] == pytest.approx(0.17083, abs=1e-5)
    assert rows.loc["QN05903C", "contribution_pp"] == pytest.approx(1.2264, abs=1e-4)
    assert rows.loc["QN05902B", "share_b_pct"] == pytest.approx(35.0, abs=1e-12)
    # Gap to the MEL: 59 - 43.333 = 15.667 in 2017, 59.5 - 46.667 = 12.833 in 2018.
    assert rows.loc["QN05901A", "gap_a_pp"] == pytest.approx(59 - 100 * 1300 / 3000, abs=1e-12)
    assert rows.loc["QN05901A", "gap_b_pp"] == pytest.approx(59.5 - 100 * 1400 / 3000, abs=1e-12)
    assert table["contribution_pp"].sum() == pytest.approx(100 * (2730 / 6000 - 2500 / 6000), abs=1e-12)


def test_qpv_contributions_sum_to_the_aggregate_change() -> None:
    """Random counts for 26 QPV: the contributions add up to gap_series' change of the QPV rate (1e-12)."""
    rng = np.random.default_rng(26)
    rows = []
    for i in range(26):
        for year in (2017, 2021):
            population = float(rng.integers(300, 12_000))
            rows.append((f"QN059{i:02d}Z", year, "total", population, float(rng.integers(0, population + 1))))
    rows += [("MEL", 2017, "total", 700_000, 413_000), ("MEL", 2021, "total", 710_000, 420_000)]
    frame = barometer(rows)
    table = qpv_contributions(frame, 2017, 2021)
    rates = gap_series(frame).set_index("year")["qpv_rate_pct"]
    assert len(table) == 26
    assert table["contribution_pp"].sum() == pytest.approx(rates[2021] - rates[2017], abs=1e-12)
    assert table["share_a_pct"].sum() == pytest.approx(100, abs=1e-12)


def test_qpv_contributions_are_centred() -> None:
    """The issue's case: two QPV at 40 % both years, populations 1 000 / 1 000 -> 1 200 / 800 (shares
    50/50 -> 60/40). The aggregate is 40 % both years: nothing moved. Rate effects 0 (rates unchanged);
    composition ((0.4 + 0.4) / 2 - 0.4) * (+/-0.1) = 0: contributions 0 and 0 (uncentred, 100 * 0.4 *
    0.1 = +4 and -4 points)."""
    rows = [
        ("QN05901A", 2018, "total", 1000, 400),
        ("QN05902B", 2018, "total", 1000, 400),
        ("QN05901A", 2019, "total", 1200, 480),
        ("QN05902B", 2019, "total", 800, 320),
    ]
    table = qpv_contributions(barometer(rows), 2018, 2019).set_index("territory")
    assert table["share_b_pct"].tolist() == pytest.approx([60.0, 40.0], abs=1e-12)
    assert table["rate_effect_pp"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert table["composition_pp"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert table["contribution_pp"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert table["aggregate_rate_mean_pct"].tolist() == pytest.approx([40.0, 40.0], abs=1e-12)


@pytest.mark.parametrize(("year_a", "year_b"), [(2015, 2021), (2015, 2019), (2020, 2021), (2017, 2018)])
def test_qpv_contributions_add_up_on_the_demo_data(year_a: int, year_b: int) -> None:
    """Demo CSV read with pandas here: the aggregate rate of each year is the sum of the 26 QPV's
    employed over the sum of their population (``total`` rows); the contributions add up to its
    change to 1e-9, and the composition terms add up to ``sum_i (r_ia + r_ib) / 2 * (s_ib - s_ia)``
    (the centring adds nothing in total)."""
    from evaluation.config import DEMO_DATA_DIR

    raw = pd.read_csv(DEMO_DATA_DIR / "barometer" / "barometre_2015_2021.csv")
    rows = raw[(raw["sex"] == "ensemble") & (raw["age_band"] == "total") & raw["territory"].str.startswith("QN")]
    wide = rows.pivot_table(index=["year", "territory"], columns="indicator", values="value")
    rate = {y: wide.loc[y, "employed_15_64"].sum() / wide.loc[y, "population_15_64"].sum() for y in (year_a, year_b)}
    frame = raw.assign(vintage=raw["vintage"].astype(float), sampled=raw["sampled"].astype(bool))
    table = qpv_contributions(frame, year_a, year_b)
    assert len(table) == 26
    assert table["contribution_pp"].sum() == pytest.approx(100 * (rate[year_b] - rate[year_a]), abs=1e-9)
    uncentred = (table["rate_a_pct"] + table["rate_b_pct"]) / 2 * (table["share_b_pct"] - table["share_a_pct"]) / 100
    assert table["composition_pp"].sum() == pytest.approx(uncentred.sum(), abs=1e-9)


def test_qpv_contributions_warns_on_a_qpv_missing_a_year() -> None:
    rows = [row for row in CONTRIBUTION_ROWS if not (row[0] == "QN05903C" and row[1] == 2018)]
    with pytest.warns(
        EvaluationWarning, match="QPV without counts in both 2017 and 2018, left out of the contributions: QN05903C"
    ):
        table = qpv_contributions(barometer(rows), 2017, 2018)
    assert table["territory"].tolist() == ["QN05901A", "QN05902B"]


# --------------------------------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------------------------------


def test_guards_overlapping_vintages_method_change_and_small_counts() -> None:
    """Vintages 2013 and 2016 (3 years apart: surveys 2011-2015 and 2014-2018 share 2014 and 2015)
    straddle 2015; QN05902B has 150 employed in 2016 (sampled, below 200)."""
    frame = barometer(
        [
            ("QN05901A", 2013, "total", 3000, 1300, True, 2013),
            ("QN05901A", 2016, "total", 3000, 1350, True, 2016),
            ("QN05902B", 2016, "total", 400, 150, True, 2016),
            ("MEL", 2013, "total", 100_000, 59_000, True, 2013),
            ("MEL", 2016, "total", 100_000, 59_000, True, 2016),
        ]
    )
    with pytest.warns(EvaluationWarning) as record:
        messages = check_guards(frame)
    assert messages == [
        "census vintages less than 5 years apart are compared: 2013 vs 2016 (2 of 5 surveys shared); a vintage N "
        "pools the surveys N-2..N+2, so their difference is not a change between disjoint samples",
        "the series spans the 2015 change of the census collection method (vintages [2013] before, [2016] from "
        "2015): part of the change may be a method effect",
        "QN05902B 2016 employed_15_64: 150 is below 200, INSEE's caution threshold for census counts",
    ]
    assert [str(w.message) for w in record] == messages


def test_guards_restricted_to_years_and_quiet_when_clean() -> None:
    """Vintages 2012 and 2017 are 5 years apart: disjoint surveys (2010-2014, 2015-2019); but they straddle 2015."""
    frame = barometer(
        [
            ("MEL", 2012, "total", 100_000, 59_000, True, 2012),
            ("MEL", 2016, "total", 100_000, 59_000, True, 2016),
            ("MEL", 2017, "total", 100_000, 59_000, True, 2017),
        ]
    )
    with pytest.warns(EvaluationWarning) as record:
        messages = check_guards(frame, years=[2012, 2017])
    assert len(messages) == 1 and messages[0].startswith("the series spans the 2015 change")
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_guards(frame, years=[2016]) == []


def test_guards_ignore_small_exhaustive_counts_and_cap_the_list() -> None:
    """An exhaustive count of 50 is not flagged (the threshold is about sampling); 25 small sampled
    counts give 20 named messages and one counting the 5 others."""
    exhaustive = barometer([("QN05901A", 2019, "total", 50, 20)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_guards(exhaustive) == []
    sampled = barometer([(f"QN059{i:02d}Z", 2019, "15-24", 150, 60, True, 2019) for i in range(13)])[:25]
    with pytest.warns(EvaluationWarning):
        messages = check_guards(sampled)
    assert len(messages) == 21
    assert messages[0] == (
        "QN05900Z 2019 employed_15_64 (sex ensemble, age 15-24): 60 is below 200, INSEE's caution threshold for census counts"
    )
    assert messages[-1] == "... and 5 more sampled counts below 200"


def test_guards_hide_the_value_of_a_count_below_the_disclosure_threshold() -> None:
    """A published caution must not print a count that disclosure control would hide: 7 employed
    (sampled) under the threshold 10 is named without its value; 150 keeps it."""
    frame = barometer(
        [("QN05901A", 2019, "15-24", 150, 7, True, 2019), ("QN05902B", 2019, "15-24", 180, 150, True, 2019)]
    )
    with pytest.warns(EvaluationWarning):
        messages = check_guards(frame, disclosure_threshold=10)
    assert messages[0] == (
        "QN05901A 2019 employed_15_64 (sex ensemble, age 15-24): a count under 10 (not shown: statistical "
        "confidentiality) is below 200, INSEE's caution threshold for census counts"
    )
    assert "7" not in messages[0].replace("2019", "").replace("15-24", "")
    assert messages[2].startswith("QN05902B 2019 employed_15_64 (sex ensemble, age 15-24): 150 is below 200")


def test_gap_series_rejects_more_employed_than_people() -> None:
    rows = [*SERIES_ROWS, ("QN05903C", 2018, "total", 100, 120)]
    with pytest.raises(UsageError) as caught:
        gap_series(barometer(rows))
    assert str(caught.value) == (
        "1 territory-year(s) with more employed than people aged 15-64, e.g. QN05903C 2018 (total): "
        "employed_15_64 120 > population_15_64 100 (check that the two indicators are not swapped)"
    )


def test_intake_dtypes() -> None:
    """The intake gives ``vintage`` as nullable Int64 and ``sampled`` as bool; a nullable boolean works too."""
    frame = barometer(
        [(*row, True, 2017) for row in SERIES_ROWS if row[1] == 2017] + [("QN05903C", 2017, "total", 150, 60)]
    )
    frame["vintage"] = frame["vintage"].astype("Int64")
    frame["sampled"] = frame["sampled"].astype("boolean")
    frame.loc[frame["territory"] == "QN05903C", "sampled"] = pd.NA
    table = gap_series(frame)
    assert table["vintage"].iloc[0] == 2017 and table["sampled"].iloc[0]
    assert table["qpv_employed"].iloc[0] == 2260
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_guards(frame) == []  # the counts of QN05903C are small but not sampled


def test_comparator_enum_is_the_string() -> None:
    assert Comparator("MEL_HORS_QPV") == "MEL_HORS_QPV"
    assert (
        gap_series(barometer(SERIES_ROWS), comparator=Comparator.MEL_HORS_QPV)["comparator"].iloc[0] == "MEL_HORS_QPV"
    )
