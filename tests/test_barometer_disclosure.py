"""Disclosure control of the published barometer (export ``barometre`` and the yearly report).

Sources of the expected values:

* hand-built tables: the suppressions and intervals are worked out by hand in each test's docstring,
  following :func:`evaluation.stats.disclosure.protect_table`'s rules (frequency rule, cheapest 2x2
  rectangle, hidden counts >= 1);
* the demo data: the small counts are read here straight from
  ``data/demo/barometer/barometre_2015_2021.csv`` (pandas, no library code): the only counts of the
  26 QPV below 12 are business creations (3 to 11, in 2015-2020; 12 and more in 2021);
* "cannot be recomputed": an attacker's linear program written here (:class:`Attacker`,
  scipy's ``linprog``) from the **published** table only (counts, levels, and the relations
  QPV = sum of the 26 QPV, MEL = QPV + MEL_HORS_QPV, denominator - numerator >= 1 for a share),
  independent of the library's audit, and :func:`evaluation.stats.disclosure.feasible_intervals` on the
  library's count tables.
"""

from __future__ import annotations

import math
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaluation.batch import runner as reports
from evaluation.intake import load_barometer
from evaluation.io import load_dataset
from evaluation.present.tables import SUPPRESSION_LOG_NAME, build_tables, write_suppression_log
from evaluation.publish.barometer_disclosure import (
    PROTECTED_COLUMNS,
    RANKED_COLUMN,
    SECRET_COLUMN,
    hidden_levels,
    protect_barometer,
    protect_barometer_table,
)
from evaluation.referential.plan import load_plan
from evaluation.stats.barometer import INDICATORS, barometer_table
from evaluation.stats.disclosure import LOG_COLUMNS, PRESETS, Flag, feasible_intervals, protect_rates

PLAN = load_plan()
DEMO = load_dataset()
DEMO_CSV = DEMO.path / "barometer" / "barometre_2015_2021.csv"
BY_KEY = {ind.key: ind for ind in INDICATORS}
BC = "business_creations_per_1000"
P, S, PUB = Flag.PRIMARY, Flag.SECONDARY, Flag.PUBLISHED


@pytest.fixture(scope="module")
def demo_barometer() -> pd.DataFrame:
    return load_barometer(DEMO, PLAN)[0]


def demo_small_counts(year: int, threshold: int) -> set[str]:
    """The QPV whose business creations of ``year`` are below ``threshold``, read from the demo CSV."""
    raw = pd.read_csv(DEMO_CSV)
    rows = raw[
        (raw["year"] == year)
        & (raw["indicator"] == "business_creations")
        & (raw["sex"] == "ensemble")
        & (raw["age_band"] == "total")
        & raw["territory"].str.startswith("QN")
    ]
    return set(rows.loc[(rows["value"] > 0) & (rows["value"] < threshold), "territory"])


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
            "sampled": False,
        }
        for k, v in counts.items()
    ]


def long_table(year_counts: dict[int, dict[str, dict[str, float]]]) -> pd.DataFrame:
    """A barometer long table from ``{year: {territory: {count: value}}}``."""
    rows = []
    for year, territories in year_counts.items():
        for territory, counts in territories.items():
            rows += _rows(territory, year, **counts)
    return pd.DataFrame(rows)


def hidden(protected, column: str = "level") -> dict[tuple[str, str], Flag]:
    flags = protected.flags[column]
    table = protected.table
    return {(t, i): Flag(f) for t, i, f in zip(table["territory"], table["indicator"], flags, strict=True) if f != PUB}


# ---------------------------------------------------------------------------------------------------
# The attacker's linear program, from the published table only


def known_counts(published: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Every count the published table gives away: shown, or a level times a shown count."""
    known: dict[tuple[str, str], float] = {}
    for r in published.itertuples():
        ind = BY_KEY[r.indicator]
        if not pd.isna(r.numerator):
            known[(r.territory, ind.numerator)] = r.numerator
        if not pd.isna(r.denominator):
            known[(r.territory, ind.denominator)] = r.denominator
    changed = True
    while changed:
        changed = False
        for r in published.itertuples():
            if pd.isna(r.level):
                continue
            ind = BY_KEY[r.indicator]
            num, den = (r.territory, ind.numerator), (r.territory, ind.denominator)
            if num in known and den not in known and r.level > 0:
                known[den], changed = known[num] * ind.scale / r.level, True
            elif den in known and num not in known:
                known[num], changed = r.level * known[den] / ind.scale, True
    return known


def true_counts(truth: pd.DataFrame) -> dict[tuple[str, str], float]:
    counts = {}
    for r in truth.itertuples():
        ind = BY_KEY[r.indicator]
        for name, value in ((ind.numerator, r.numerator), (ind.denominator, r.denominator)):
            if not pd.isna(value):
                counts[(r.territory, name)] = float(value)
    return counts


class Attacker:
    """The linear program of someone who reads the published table and knows how it is built."""

    def __init__(self, published: pd.DataFrame, truth: pd.DataFrame) -> None:
        self.known = known_counts(published)
        self.counts = true_counts(truth)
        self.unknown = sorted(k for k in self.counts if k not in self.known)
        self.index = {k: i for i, k in enumerate(self.unknown)}
        eq, eq_rhs, ub, ub_rhs = [], [], [], []

        def linear(terms: dict[tuple[str, str], float]) -> tuple[np.ndarray, float]:
            row, constant = np.zeros(len(self.unknown)), 0.0
            for key, coef in terms.items():
                if key in self.index:
                    row[self.index[key]] += coef
                else:
                    constant += coef * self.known[key]
            return row, constant

        names = {c for _, c in self.counts}
        qpv = sorted({t for t, _ in self.counts if t.startswith("QN")})
        for name in names:
            relations = []
            if ("QPV", name) in self.counts:
                relations.append({**{(q, name): 1.0 for q in qpv if (q, name) in self.counts}, ("QPV", name): -1.0})
            if all((t, name) in self.counts for t in ("QPV", "MEL", "MEL_HORS_QPV")):
                relations.append({("QPV", name): 1.0, ("MEL_HORS_QPV", name): 1.0, ("MEL", name): -1.0})
            for terms in relations:
                row, constant = linear(terms)
                if row.any():
                    eq.append(row)
                    eq_rhs.append(-constant)
        for r in published.itertuples():
            ind = BY_KEY[r.indicator]
            num, den = (r.territory, ind.numerator), (r.territory, ind.denominator)
            if num not in self.counts or den not in self.counts:
                continue
            if not pd.isna(r.level):  # a published level ties its two counts
                row, constant = linear({num: 1.0, den: -r.level / ind.scale})
                if row.any():
                    eq.append(row)
                    eq_rhs.append(-constant)
            if ind.is_share:  # the complement is a count too, >= 1 when hidden
                row, constant = linear({num: 1.0, den: -1.0})
                if row.any():
                    ub.append(row)
                    ub_rhs.append(-1.0 - constant)
        self.a_eq = np.array(eq).reshape(len(eq), len(self.unknown))
        self.b_eq = np.array(eq_rhs)
        self.a_ub = np.array(ub).reshape(len(ub), len(self.unknown))
        self.b_ub = np.array(ub_rhs)

    def interval(self, terms: dict[tuple[str, str], float]) -> tuple[float, float]:
        """Minimum and maximum of a linear combination of counts, every hidden count >= 1."""
        objective = np.zeros(len(self.unknown))
        constant = 0.0
        for key, coef in terms.items():
            if key in self.index:
                objective[self.index[key]] += coef
            else:
                constant += coef * self.known[key]
        if not objective.any():
            return constant, constant
        bounds = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * objective,
                A_ub=self.a_ub if len(self.a_ub) else None,
                b_ub=self.b_ub if len(self.b_ub) else None,
                A_eq=self.a_eq if len(self.a_eq) else None,
                b_eq=self.b_eq if len(self.b_eq) else None,
                bounds=[(1.0, None)] * len(self.unknown),
                method="highs",
            )
            assert result.status in (0, 3), result.message  # feasible: the truth is a solution
            # status 3: unbounded; minimising -x gives minus the maximum
            bounds.append(sign * (-math.inf if result.status == 3 else result.fun))
        return constant + bounds[0], constant + bounds[1]


def suppressed_counts(protected) -> set[tuple[str, str]]:
    """The counts the protection hides (flag of a numerator or denominator cell, except those hidden
    only with their rate, "masqué avec le taux": not sensitive, and not protected, module docstring)."""
    out = set()
    for r in protected.log[protected.log["table"] == "barometre"].itertuples():
        indicator, column = r.column.split(".")
        if column in ("numerator", "denominator") and not r.reason.startswith("masqué avec le taux"):
            out.add((r.row, getattr(BY_KEY[indicator], column)))
    return out


def assert_safe(protected, truth: pd.DataFrame, threshold: int) -> Attacker:
    """Every small count (and complement of a share) is hidden, at least ``threshold`` wide; every
    count the protection hides has more than one possible value; published counts are 0 or >=
    threshold."""
    published = protected.table
    for r in published.itertuples():
        ind = BY_KEY[r.indicator]
        for value in (r.numerator, r.denominator):
            assert pd.isna(value) or value == 0 or value >= threshold, (r.territory, r.indicator)
        if ind.is_share and not pd.isna(r.numerator) and not pd.isna(r.denominator):
            complement = r.denominator - r.numerator
            assert complement == 0 or complement >= threshold, (r.territory, r.indicator)
    attacker = Attacker(published, truth)
    suppressed = suppressed_counts(protected)
    assert suppressed <= set(attacker.unknown)
    for key in suppressed:
        low, high = attacker.interval({key: 1.0})
        assert high - low > 1e-6, key
        if 0 < attacker.counts[key] < threshold:
            assert high - low >= threshold - 1e-6, (key, low, high)
    for key, value in attacker.counts.items():
        if 0 < value < threshold:
            assert key in suppressed, f"{key}: small count {value} published or derivable"
    for r in truth.itertuples():
        ind = BY_KEY[r.indicator]
        if ind.is_share and 0 < r.denominator - r.numerator < threshold:
            low, high = attacker.interval({(r.territory, ind.denominator): 1.0, (r.territory, ind.numerator): -1.0})
            assert high - low >= threshold - 1e-6, (r.territory, r.indicator)
    return attacker


def assert_count_tables_audited(protected) -> None:
    """The library's own audit: primary intervals >= threshold wide, secondary ones not a point."""
    for table in protected.count_tables:
        for r in feasible_intervals(table).itertuples():
            if r.flag == "primary":
                assert r.width >= protected.rule.threshold, (table.name, r.row, r.column)
            else:
                assert r.width > 0, (table.name, r.row, r.column)


# ---------------------------------------------------------------------------------------------------
# Hand-built tables

#: 4 QPV, their sum, the MEL and the MEL outside QPV; business creations (a ratio) and population.
#: 2021: QA has 3 creations. 2020: nothing below 10.
RATIO_COUNTS = {
    2020: {
        "QN00001A": {"business_creations": 12, "population": 1200},
        "QN00002B": {"business_creations": 14, "population": 1500},
        "QN00003C": {"business_creations": 18, "population": 1800},
        "QN00004D": {"business_creations": 11, "population": 1100},
        "MEL": {"business_creations": 5000, "population": 1_000_000},
        "MEL_HORS_QPV": {"business_creations": 4945, "population": 994_400},
    },
    2021: {
        "QN00001A": {"business_creations": 3, "population": 1200},
        "QN00002B": {"business_creations": 15, "population": 1500},
        "QN00003C": {"business_creations": 20, "population": 1800},
        "QN00004D": {"business_creations": 12, "population": 1100},
        "MEL": {"business_creations": 5000, "population": 1_000_000},
        "MEL_HORS_QPV": {"business_creations": 4950, "population": 994_400},
    },
}


def test_one_small_count_among_four_qpv():
    """QA's 3 business creations (< 10, rule acro) are primary; secondary: QD.

    The count table is the 4 QPV x [business_creations] with a total column (equal to the count) and
    the QPV total 3 + 15 + 20 + 12 = 50. A rectangle through (QA, count) runs through (QA, Total),
    already hidden (3 < 10), and another QPV's count and total, which fall when QA rises: the
    cheapest is QD (12 + 12 = 24, against 30 for QB, 40 for QC, 100 through the QPV total), and its
    width is (12 - 1) + (3 - 1) = 13 >= 10. Attacker: QA + QD = 50 - 15 - 20 = 15, both >= 1:
    QA in [1, 14], QD in [1, 14]. Population: no count below 10, all published.

    In the barometer, QA's and QD's business-creation rows lose level, changes, rank, numerator and
    denominator; the population is hidden with the rate (secondary). QB and QC are ranked among
    themselves: QC 20 / 1 800 = 11,1 per 1 000 first, QB 15 / 1 500 = 10,0 second. The QPV total
    (50), the MEL and the MEL outside QPV stay published.
    """
    barometer = long_table(RATIO_COUNTS)
    protected = protect_barometer(barometer, 2021)
    assert hidden(protected) == {("QN00001A", BC): P, ("QN00004D", BC): S}
    for column in PROTECTED_COLUMNS:
        assert set(hidden(protected, column)) == {("QN00001A", BC), ("QN00004D", BC)}, column
    assert hidden(protected, "numerator") == {("QN00001A", BC): P, ("QN00004D", BC): S}
    assert hidden(protected, "denominator") == {("QN00001A", BC): S, ("QN00004D", BC): S}
    table = protected.table[protected.table["indicator"] == BC].set_index("territory")
    assert table.loc[["QN00001A", "QN00004D"], list(PROTECTED_COLUMNS)].isna().all(axis=None)
    assert table.loc["QN00001A", SECRET_COLUMN] == "level, change_prev, change_base, rank, numerator, denominator"
    assert table.loc["QN00002B", SECRET_COLUMN] == ""
    assert table.loc[["QN00003C", "QN00002B"], "rank"].tolist() == [1.0, 2.0]
    assert table.loc[["QN00002B", "QN00003C"], RANKED_COLUMN].tolist() == [2.0, 2.0]
    assert table.loc[["QPV", "MEL", "MEL_HORS_QPV"], "numerator"].tolist() == [50, 5000, 4950]

    creations = protected.count_tables[0]
    intervals = {(r.row, r.column): (r.lower, r.upper) for r in feasible_intervals(creations).itertuples()}
    assert intervals[("QN00001A", "business_creations")] == (1.0, 14.0)
    assert intervals[("QN00004D", "business_creations")] == (1.0, 14.0)
    population = protected.count_tables[1]
    assert feasible_intervals(population).empty

    attacker = assert_safe(protected, barometer_table(barometer, 2021), 10)
    assert attacker.interval({("QN00001A", "business_creations"): 1.0}) == pytest.approx((1.0, 14.0))
    log = protected.log
    assert list(log.columns) == list(LOG_COLUMNS)
    first = log.iloc[0]
    assert (first["row"], first["column"], first["flag"]) == ("QN00001A", f"{BC}.level", "primary")
    assert first["reason"] == (
        "taux calculé sur un effectif masqué (business_creations : effectif non nul inférieur à 10 (règle acro))"
    )


def test_changes_follow_the_earlier_year():
    """2020 with QA at 3 creations (hidden that year with QD, as in the test above): the 2021 changes
    of QA and QD since 2020 are hidden, their 2021 levels published (2021 counts all >= 10)."""
    barometer = long_table({2020: RATIO_COUNTS[2021], 2021: RATIO_COUNTS[2020]})
    protected = protect_barometer(barometer, 2021)
    assert hidden(protected, "level") == {}
    assert hidden(protected, "change_prev") == {("QN00001A", BC): S, ("QN00004D", BC): S}
    # The baseline is the first year of the data, 2020 here: the same two changes.
    assert hidden(protected, "change_base") == {("QN00001A", BC): S, ("QN00004D", BC): S}
    table = protected.table[protected.table["indicator"] == BC].set_index("territory")
    assert table.loc["QN00001A", SECRET_COLUMN] == "change_prev, change_base"
    assert not pd.isna(table.loc["QN00001A", "level"])


def test_shares_are_judged_on_their_complement():
    """Employment (a share) and CAF dependence (a share) of 4 QPV, one small count in each.

    Employment: employed [3, 400, 500, 450] of [700, 800, 900, 1 000]; the count table is
    [employed, not employed] = [[3, 697], [400, 400], [500, 400], [450, 550]]. (QA, employed) = 3 is
    primary; the cheapest rectangle is (QA, not employed) + QB's two cells, 697 + 800 = 1 497
    (QC 1 597, QD 1 697; through QA's total 700 + 400 + 800 = 1 900). The populations (row totals)
    stay published. Attacker: a = QA employed, a + c = 1 353 - 500 - 450 = 403 with c = QB employed
    >= 1, so a in [1, 402].

    CAF: fully dependent [96, 100, 150, 90] of [100, 400, 500, 300]: the complement of QA is
    100 - 96 = 4 < 10, primary although numerator and denominator are large; the cheapest rectangle
    is (QA, dependent) + QD's two cells, 96 + 300 = 396 (QB 496, QC 596).

    The jobseekers ratio shares its denominator (population 15-64) with employment: it is judged in
    the employment table, where it is published, so the jobseekers rows stay published.
    """
    qpv = {
        "QN00001A": (3, 700, 96, 100, 50),
        "QN00002B": (400, 800, 100, 400, 90),
        "QN00003C": (500, 900, 150, 500, 80),
        "QN00004D": (450, 1000, 90, 300, 120),
    }
    year = {
        code: {
            "employed_15_64": e,
            "population_15_64": p,
            "caf_fully_dependent": d,
            "caf_recipients": r,
            "jobseekers": j,
        }
        for code, (e, p, d, r, j) in qpv.items()
    }
    barometer = long_table({2021: year})
    protected = protect_barometer(barometer, 2021)
    assert hidden(protected) == {
        ("QN00001A", "employment_rate_pct"): P,
        ("QN00002B", "employment_rate_pct"): S,
        ("QN00001A", "caf_dependence_pct"): P,
        ("QN00004D", "caf_dependence_pct"): S,
    }
    # QA's CAF numerator (96) is hidden to protect its complement: secondary in the count table.
    assert hidden(protected, "numerator")[("QN00001A", "caf_dependence_pct")] == S
    employment = protected.count_tables[0]
    assert employment.name == "barometre · employment_rate_pct"
    assert employment.flags.loc["QN00001A"].tolist() == [P, S, PUB]
    assert employment.flags.loc["QN00002B"].tolist() == [S, S, PUB]
    attacker = assert_safe(protected, barometer_table(barometer, 2021), 10)
    assert attacker.interval({("QN00001A", "employed_15_64"): 1.0}) == pytest.approx((1.0, 402.0))
    assert_count_tables_audited(protected)


def test_a_small_qpv_total_hides_the_mel_outside_qpv():
    """Business creations [2, 0, 1] in 3 QPV: the QPV total 3 is small itself (primary).

    Published with MEL 500 and MEL outside QPV 497, it would be 500 - 497: the MEL outside QPV is
    hidden (secondary), the MEL published. The zero is published (a zero describes nobody). Attacker:
    QPV + MEL outside QPV = 500 and QPV = QA + QC, all >= 1: the QPV total lies in [2, 499], QA in
    [1, 498].
    """
    year = {
        "QN00001A": {"business_creations": 2, "population": 1200},
        "QN00002B": {"business_creations": 0, "population": 1500},
        "QN00003C": {"business_creations": 1, "population": 1800},
        "MEL": {"business_creations": 500, "population": 1_000_000},
        "MEL_HORS_QPV": {"business_creations": 497, "population": 995_500},
    }
    barometer = long_table({2021: year})
    protected = protect_barometer(barometer, 2021)
    assert hidden(protected) == {
        ("QN00001A", BC): P,
        ("QN00003C", BC): P,
        ("QPV", BC): P,
        ("MEL_HORS_QPV", BC): S,
    }
    table = protected.table[protected.table["indicator"] == BC].set_index("territory")
    assert table.loc["QN00002B", "numerator"] == 0
    assert table.loc["MEL", "numerator"] == 500
    attacker = assert_safe(protected, barometer_table(barometer, 2021), 10)
    assert attacker.interval({("QPV", "business_creations"): 1.0}) == pytest.approx((2.0, 499.0))
    assert attacker.interval({("QN00001A", "business_creations"): 1.0}) == pytest.approx((1.0, 498.0))


# ---------------------------------------------------------------------------------------------------
# Demo data


def test_demo_2021_acro_hides_only_changes_since_2015(demo_barometer):
    """2021 (rule acro): no count of 2021 is below 10 (the smallest is 12, business creations of
    QN05968M in the demo CSV), so no level is hidden. The 2015 business creations below 10 in the
    CSV (QN05967M 9, QN05968M 8, QN05970M 8, QN05974M 9, QN05977M 7: five counts of sum 41, each of
    them in [1, 37] from the QPV total: no secondary needed) make their 2021 change since 2015
    secondary: 0 primary and 5 secondary cells."""
    assert demo_small_counts(2021, 10) == set()
    small_2015 = demo_small_counts(2015, 10)
    assert small_2015 == {"QN05967M", "QN05968M", "QN05970M", "QN05974M", "QN05977M"}
    tables = build_tables(PLAN, DEMO, 2021)
    published = tables["barometre"]
    protected = protect_barometer(demo_barometer[demo_barometer["year"] <= 2021], 2021)
    pd.testing.assert_frame_equal(published, protected.table)
    flags = protected.flags.to_numpy().ravel()
    assert (flags == P).sum() == 0 and (flags == S).sum() == 5
    assert hidden(protected, "change_base") == {(code, BC): S for code in small_2015}
    assert set(published.loc[published[SECRET_COLUMN] != "", "territory"]) == small_2015
    assert published[RANKED_COLUMN].dropna().eq(26).all()
    log = tables.suppression_log  # the run's log also holds the cohort tables': the barometer's part
    assert log.loc[log["table"].str.startswith("barometre"), "flag"].tolist() == ["secondary"] * 5
    assert_safe(protected, barometer_table(demo_barometer[demo_barometer["year"] <= 2021], 2021), 10)


@pytest.mark.parametrize("year", [2015, 2016, 2017, 2018, 2019, 2020, 2021])
def test_demo_every_year_is_safe(demo_barometer, year):
    """Each year's protected barometer under acro: the small counts of the CSV are exactly the
    primary levels; the attacker's LP finds no hidden count recomputable; the changes are published
    only when both their levels are (each earlier year protected on its own)."""
    barometer = demo_barometer[demo_barometer["year"] <= year]
    protected = protect_barometer(barometer, year)
    primary = {t for (t, _), flag in hidden(protected).items() if flag is P}
    assert primary == demo_small_counts(year, 10)
    assert_safe(protected, barometer_table(barometer, year), 10)
    assert_count_tables_audited(protected)
    levels = {y: hidden(protect_barometer(barometer, y)) for y in (year - 1, 2015) if 2015 <= y < year}
    for r in protected.table.itertuples():
        for column, earlier in (("change_prev", year - 1), ("change_base", 2015)):
            if earlier < year and not pd.isna(getattr(r, column)):
                assert earlier in levels and (r.territory, r.indicator) not in levels[earlier]
    # Ranks: among the QPV whose level is published (1..n, ties sharing the lower rank).
    for key, group in protected.table[protected.table["territory"].str.startswith("QN")].groupby("indicator"):
        shown = group.dropna(subset=["level"])
        expected = shown["level"].rank(ascending=not BY_KEY[key].higher_is_better, method="min")
        assert shown["rank"].tolist() == expected.tolist()
        assert group[RANKED_COLUMN].eq(len(shown)).all()
        assert group.loc[group["level"].isna(), "rank"].isna().all()


def test_presets_change_the_threshold(demo_barometer, tmp_path):
    """2020 in the demo CSV: business creations of QN05977M = 10, QN05968M = 11, QN05976M = 11, all
    others above 11.

    * acro (10): 10 is not below 10, nothing hidden;
    * insee_entreprises (3): nothing either (the smallest count of the whole series is 3, in 2017,
      not below 3);
    * fiscal (11): 10 < 11, QN05977M primary. Its rectangle runs through another QPV's count c and
      total, width (c - 1) + (10 - 1) >= 11 for any c >= 3: the cheapest are QN05968M and
      QN05976M (11 + 11 = 22), tied, QN05968M first by position: secondary. Chosen through
      ``disclosure: fiscal`` in dataset.yaml.
    """
    barometer = demo_barometer[demo_barometer["year"] <= 2020]
    assert demo_small_counts(2020, 10) == set() and demo_small_counts(2020, 11) == {"QN05977M"}
    assert hidden(protect_barometer(barometer, 2020, "acro")) == {}
    for year in range(2015, 2022):
        assert (
            hidden(protect_barometer(demo_barometer[demo_barometer["year"] <= year], year, "insee_entreprises")) == {}
        )

    data = tmp_path / "data"
    shutil.copytree(DEMO.path, data, ignore=shutil.ignore_patterns("cohorts"))
    yaml = (data / "dataset.yaml").read_text(encoding="utf-8")
    (data / "dataset.yaml").write_text(yaml + "disclosure: fiscal\n", encoding="utf-8")
    dataset = load_dataset(data)
    assert dataset.disclosure == "fiscal" and PRESETS["fiscal"].threshold == 11
    tables = build_tables(PLAN, dataset, 2020)
    published = tables["barometre"]
    assert set(published.loc[published["level"].isna(), "territory"]) == {"QN05977M", "QN05968M"}
    log = tables.suppression_log
    level_log = log[log["column"] == f"{BC}.level"]
    assert level_log[["row", "flag"]].values.tolist() == [["QN05968M", "secondary"], ["QN05977M", "primary"]]
    assert "règle fiscal" in level_log["reason"].iloc[1]
    protected = protect_barometer(barometer, 2020, "fiscal")
    pd.testing.assert_frame_equal(published, protected.table)
    assert_safe(protected, barometer_table(barometer, 2020), 11)


def test_employment_gap_table_needs_no_suppression(demo_barometer):
    """The ``ecart_taux_emploi`` table publishes sums over the 26 QPV and the MEL (about 150 000 and
    760 000 residents of 15-64 in the demo): protect_rates finds nothing to hide under any preset."""
    table = build_tables(PLAN, DEMO, 2021)["ecart_taux_emploi"]
    assert table["qpv_population"].min() > 100_000
    for rule in PRESETS:
        for prefix in ("qpv", "comparator"):
            flags = protect_rates(table[f"{prefix}_employed"], table[f"{prefix}_population"], rule)
            assert (flags == PUB).all(), (rule, prefix)


# ---------------------------------------------------------------------------------------------------
# Run outputs and the yearly report


def test_the_run_writes_the_log_beside_its_logs(tmp_path):
    """``_tables`` of the batch writes ``logs/secret_statistique.csv`` (the log of build_tables),
    records it in the manifest, keeps it out of ``tables/``, and writes it again when it is missing
    (2019: three business-creation counts below 10 in the demo CSV)."""
    root = tmp_path / "2019"
    manifest: dict = {}
    batch = reports.BatchResult(2019, [], root / "manifest.json", root / "index.html")
    reports._tables(PLAN, DEMO, 2019, root, manifest, "inputs", "package", batch)
    assert batch.tables_error is None
    path = root / "logs" / SUPPRESSION_LOG_NAME
    log = pd.read_csv(path, sep=";", encoding="utf-8-sig")
    expected = build_tables(PLAN, DEMO, 2019).suppression_log
    assert list(log.columns) == list(LOG_COLUMNS)
    assert log["flag"].tolist() == expected["flag"].tolist() and log["reason"].tolist() == expected["reason"].tolist()
    primary_rows = set(log.loc[(log["flag"] == "primary") & (log["table"] == "barometre"), "row"])
    assert primary_rows == demo_small_counts(2019, 10) == {"QN05968M", "QN05976M", "QN05977M"}
    assert manifest["tables"]["suppression_log"] == f"logs/{SUPPRESSION_LOG_NAME}"
    assert all("secret_statistique" not in f for f in manifest["tables"]["files"])
    exported = (root / "tables" / "barometre.csv").read_text(encoding="utf-8-sig")
    assert "primary" not in exported and "secondary" not in exported

    path.unlink()
    reports._tables(PLAN, DEMO, 2019, root, manifest, "inputs", "package", batch)
    assert path.is_file()
    stamp = path.stat().st_mtime_ns
    reports._tables(PLAN, DEMO, 2019, root, manifest, "inputs", "package", batch)  # cached: not rewritten
    assert path.stat().st_mtime_ns == stamp


def test_write_suppression_log_with_nothing_hidden(tmp_path):
    """A run with nothing hidden still has its log: the header only, French CSV."""
    path = write_suppression_log(pd.DataFrame(columns=list(LOG_COLUMNS)), tmp_path / "logs")
    assert path == tmp_path / "logs" / SUPPRESSION_LOG_NAME
    assert path.read_bytes() == b"\xef\xbb\xbf" + ";".join(LOG_COLUMNS).encode() + b"\n"


def test_the_yearly_report_shows_what_the_export_hides():
    """2019 (acro): the QPV table and the heatmap show ``s`` for the three QPV whose 2019 business
    creations are below 10 in the demo CSV, with the legend; the communes that contain one of them
    hide their business-creation figure; the other figures are those of the export."""
    from evaluation.present.annual import annual_context, commune_table_block, qpv_table_block
    from evaluation.referential.territories import communes_frame

    ctx = annual_context(2019)
    export = build_tables(PLAN, DEMO, 2019)["barometre"]
    small = demo_small_counts(2019, 10)
    assert {t for t, key in ctx.protection.hidden_levels if key == BC} == small
    pd.testing.assert_frame_equal(ctx.protection.table, export)

    markup = qpv_table_block(ctx).markup
    body = re.findall(r"<tr>(.*?)</tr>", markup)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body]
    shown_secret = {row[0] for row in cells if row[-1] == "s"}
    assert shown_secret == {ctx.names[code] for code in small}
    assert "s : secret statistique (effectif inférieur à 10 ou cellule permettant de le retrouver)" in markup

    communes = communes_frame()
    with_hidden = set(communes.loc[communes["code"].isin(small), "commune"])
    markup = commune_table_block(ctx).markup
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", markup)[1:]]
    assert {row[0] for row in rows if row[-1] == "s"} == with_hidden
    assert all(cell != "s" for row in rows for cell in row[:-1])
    assert "secret statistique" in markup


def test_the_yearly_report_of_2021_has_no_secret():
    """2021 (acro): no level and no one-year change hidden (the demo's 2020 and 2021 counts are all at
    least 10): the report's barometer tables show no ``s`` and no legend."""
    from evaluation.present.annual import annual_context, commune_table_block, qpv_table_block

    ctx = annual_context(2021)
    for block in (qpv_table_block(ctx), commune_table_block(ctx)):
        assert ">s<" not in block.markup and "(s)" not in block.markup
        assert "secret statistique" not in block.markup


def test_protect_barometer_table_without_history():
    """The table-level function alone: levels only, no history, the same hidden cells as above."""
    barometer = long_table({2021: RATIO_COUNTS[2021]})
    protected = protect_barometer_table(barometer_table(barometer, 2021), "acro")
    assert protected.hidden_levels == {("QN00001A", BC), ("QN00004D", BC)}
    assert protected.flag("QN00001A", BC, "level") is P
    assert protected.flag("QN00002B", BC, "level") is PUB


def test_the_gap_series_hides_what_the_barometer_hides():
    """Partial data: employment counts of 3 QPV only, [4, 0, 3] employed of [9, 5, 6] aged 15-64, in
    2020 and 2021. The QPV aggregate (7 employed of 20) is a small margin each year's barometer hides
    (primary: 7 < 10); the published gap series repeats it, so the counts, rates and gap of *both*
    years are blank (the series of 2021 publishes 2020 too: its own barometer decides). The MEL is
    published in the barometer, and stays in the series; the gap goes (gap + MEL rate = QPV rate)."""
    from evaluation.publish.gap_publication import published_gap
    from evaluation.stats.employment_gap import gap_series

    counts = {
        "QN00001A": {"employed_15_64": 4, "population_15_64": 9},
        "QN00002B": {"employed_15_64": 0, "population_15_64": 5},
        "QN00003C": {"employed_15_64": 3, "population_15_64": 6},
        "MEL": {"employed_15_64": 500_000, "population_15_64": 800_000},
        "MEL_HORS_QPV": {"employed_15_64": 499_993, "population_15_64": 799_980},
    }
    barometer = long_table({2020: counts, 2021: counts})
    for year in (2020, 2021):
        protected = protect_barometer(barometer[barometer["year"] <= year], year)
        assert protected.flag("QPV", "employment_rate_pct", "numerator") != PUB
        assert protected.flag("MEL", "employment_rate_pct", "level") == PUB
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small-count cautions: not the point here
        raw = gap_series(barometer, "MEL")
        gap = published_gap(barometer, 2021)
    assert raw.loc[raw["year"] == 2021, "qpv_employed"].item() == 7  # what the series would repeat
    for row in gap.series.itertuples():
        for column in ("qpv_employed", "qpv_population", "qpv_rate_pct", "gap_pp", "gap_low_pp"):
            assert math.isnan(getattr(row, column)), (row.year, column)
        assert row.comparator_employed == 500_000
        assert "qpv_employed" in row.secret and "comparator_employed" not in row.secret
    assert gap.reduction is None
    # Nothing hidden on the demo data: the published series is the computed one, with an empty secret.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        demo = published_gap(load_barometer(load_dataset(), load_plan())[0], 2021)
        computed = gap_series(load_barometer(load_dataset(), load_plan())[0], "MEL")
    pd.testing.assert_frame_equal(demo.series.drop(columns=SECRET_COLUMN), computed)
    assert (demo.series[SECRET_COLUMN] == "").all()


def test_a_sum_over_other_qpv_than_its_count_table_is_hidden_with_its_terms():
    """Employment of 4 QPV: employed [400, 500, 450, 2] of [800, 900, 1 000, 6]; QE's 2 employed, 4
    not employed and 6 residents are primary, QB secondary (its cells protect QE's). Jobseekers
    [80, 90, 12] in QC, QD, QE only (QB has none): the QPV aggregate of the jobseekers ratio sums
    the population of QC, QD and QE, 900 + 1 000 + 6 = 1 906, not the employment table's total
    (2 706). Published with QC's and QD's populations (900, 1 000), it would give QE's 6 back:
    1 906 - 900 - 1 000 = 6. So the aggregate's denominator is hidden (secondary), with its row.
    QF has 4 jobseekers and no population: summed nowhere, the frequency rule alone hides it."""
    year = {
        "QN00002B": {"employed_15_64": 400, "population_15_64": 800},
        "QN00003C": {"employed_15_64": 500, "population_15_64": 900, "jobseekers": 80},
        "QN00004D": {"employed_15_64": 450, "population_15_64": 1000, "jobseekers": 90},
        "QN00005E": {"employed_15_64": 2, "population_15_64": 6, "jobseekers": 12},
        "QN00006F": {"jobseekers": 4},
    }
    protected = protect_barometer(long_table({2021: year}), 2021)
    jobseekers = "jobseekers_per_100"
    assert protected.flag("QN00005E", "employment_rate_pct", "denominator") is P
    assert protected.flag("QPV", jobseekers, "denominator") is S
    assert protected.flag("QPV", jobseekers, "level") is S
    assert protected.flag("QPV", "employment_rate_pct", "level") is PUB  # its own table's total: 2 706
    assert protected.flag("QN00006F", jobseekers, "numerator") is P
    table = protected.table.set_index(["territory", "indicator"])
    assert math.isnan(table.loc[("QPV", jobseekers), "denominator"])
    assert table.loc[("QPV", "employment_rate_pct"), "denominator"] == 2706
    assert table.loc[("QPV", jobseekers), "qpv_left_out"] == "QN00002B, QN00006F"
    reason = protected.log.loc[
        (protected.log["row"] == "QPV") & (protected.log["column"] == f"{jobseekers}.denominator"), "reason"
    ].item()
    assert reason.startswith("population_15_64 : somme sur d'autres quartiers que sa table de comptage")


def test_given_earlier_years_change_nothing(demo_barometer):
    """The yearly report passes every earlier year's hidden levels (computed once): the protected
    barometer must be the one protect_barometer computes on its own."""
    barometer = demo_barometer[demo_barometer["year"] <= 2021]
    earlier = {y: hidden_levels(barometer, y, "fiscal") for y in range(2015, 2021)}
    alone = protect_barometer(barometer, 2021, "fiscal", 2015)
    given = protect_barometer(barometer, 2021, "fiscal", 2015, hidden_by_year=earlier)
    pd.testing.assert_frame_equal(given.table, alone.table)
    pd.testing.assert_frame_equal(given.flags, alone.flags)
    assert earlier[2015]  # the case matters: 2015 hides small business-creation counts
