"""Disclosure control: frequency and dominance rules, secondary suppression audited by linear programming,
rates, coarsened Kaplan-Meier curves.

Every expected number is worked out by hand in the test's docstring; the linear-programming audit is
checked against a second, cell-by-cell implementation written here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaluation.errors import UsageError
from evaluation.formatting import NBSP
from evaluation.stats.disclosure import (
    DEFAULT_RULE,
    INTERVAL_COLUMNS,
    KM_COLUMNS,
    LEGEND_FR,
    LOG_COLUMNS,
    PRESETS,
    TOTAL,
    Flag,
    Protected,
    Rule,
    coarsen_km,
    dominance,
    feasible_intervals,
    format_cell,
    get_rule,
    legend_fr,
    primary_counts,
    protect_rates,
    protect_table,
    suppression_log,
)

P, S, PUB = Flag.PRIMARY, Flag.SECONDARY, Flag.PUBLISHED

#: Outcomes by QPV: one small cell (4), everything else at least 16. Margins: rows 54, 83, 73;
#: columns 45, 60, 105; grand total 210.
ONE_SMALL = pd.DataFrame(
    [[4, 20, 30], [25, 18, 40], [16, 22, 35]],
    index=["QPV A", "QPV B", "QPV C"],
    columns=["CDI", "CDD", "Aucun"],
)


def flag_grid(protected: Protected) -> list[list[Flag]]:
    return protected.flags.to_numpy().tolist()


def intervals_by_cell(protected: Protected) -> dict[tuple[object, object], tuple[float, float]]:
    frame = feasible_intervals(protected)
    return {(r.row, r.column): (r.lower, r.upper) for r in frame.itertuples()}


def hand_protected(table: pd.DataFrame, hidden: list[tuple[str, str]]) -> Protected:
    """A naive protection made by hand: the table with its margins, the listed cells hidden, nothing else."""
    values = table.astype(float).copy()
    values[TOTAL] = values.sum(axis=1)
    values.loc[TOTAL] = values.sum(axis=0)
    flags = pd.DataFrame(PUB, index=values.index, columns=values.columns, dtype=object)
    for cell in hidden:
        values.loc[cell] = np.nan
        flags.loc[cell] = P
    return Protected(values, flags, pd.DataFrame(columns=list(LOG_COLUMNS)), name="naive")


# --- rules ------------------------------------------------------------------------------------------


def test_presets_and_default():
    """The issue's presets: insee_entreprises 3 units / 85 %, fiscal 11 / 85 %, acro 10; acro by default."""
    assert PRESETS["insee_entreprises"] == Rule("insee_entreprises", 3, 1, 85.0)
    assert PRESETS["fiscal"] == Rule("fiscal", 11, 1, 85.0)
    assert PRESETS["acro"] == Rule("acro", 10)
    assert DEFAULT_RULE is PRESETS["acro"]
    assert get_rule("fiscal") is PRESETS["fiscal"]
    custom = Rule("cnis", 5)
    assert get_rule(custom) is custom


def test_unknown_preset_names_the_presets():
    with pytest.raises(UsageError) as caught:
        get_rule("insee")
    assert str(caught.value) == "unknown disclosure rule 'insee' (presets: acro, fiscal, insee_entreprises)"


def test_rule_validation_messages():
    with pytest.raises(UsageError) as caught:
        Rule("bad", 0)
    assert str(caught.value) == "disclosure rule 'bad': threshold 0 must be an integer >= 1"
    with pytest.raises(UsageError) as caught:
        Rule("half", 3, dominance_n=1)
    assert str(caught.value) == (
        "disclosure rule 'half': give both dominance_n and dominance_pct, or neither (got 1 and None)"
    )


def test_frequency_rule_on_a_small_table():
    """0 < x < 10 is sensitive: 3 and 9 are; 0 (nobody, not a small count) and 10 (the threshold) are not.

    Under insee_entreprises (threshold 3) only 1 and 2 would be: here no cell.
    """
    table = pd.DataFrame([[3, 12, 0], [10, 9, 20]], index=["QPV A", "QPV B"], columns=["CDI", "CDD", "Aucun"])
    expected = pd.DataFrame([[True, False, False], [False, True, False]], index=table.index, columns=table.columns)
    pd.testing.assert_frame_equal(primary_counts(table), expected)
    assert not primary_counts(table, "insee_entreprises").to_numpy().any()


# --- secondary suppression and its audit ------------------------------------------------------------


def test_single_small_cell_gets_the_cheapest_rectangle():
    """QPV A x CDI = 4 is primary; alone in its row it could be recomputed (54 - 20 - 30), so the row,
    and its column, get a second hidden cell.

    Zeros are never hidden, so anyone knows a hidden count is at least 1: the audit bounds hidden
    cells by 1, not 0.

    Hand reasoning (hypercube): the rectangles through (A, CDI) of interior cells have corners
    (A, j), (i, CDI), (i, j); 4 can rise until min((A, j), (i, CDI)) >= 16 falls to 1 and fall
    until it is 1 itself: a width >= 15 + 3 = 18, enough for the threshold 10. Their cost (sum of
    the cells newly hidden):
    (B, CDD): 20 + 25 + 18 = 63; (B, Aucun): 30 + 25 + 40 = 95; (C, CDD): 20 + 16 + 22 = 58;
    (C, Aucun): 30 + 16 + 35 = 81; any rectangle through a margin costs more (margins >= 45). The
    cheapest is (C, CDD): hide (A, CDD) = 20, (C, CDI) = 16, (C, CDD) = 22.

    Attacker's view, with a = (A, CDI), b = (A, CDD), c = (C, CDI), d = (C, CDD), all >= 1:
    a + b = 54 - 30 = 24, a + c = 45 - 25 = 20, b + d = 60 - 18 = 42, c + d = 73 - 35 = 38.
    a = 1 gives b = 23, c = 19, d = 19; a = 19 gives c = 1, b = 5, d = 37; so a in [1, 19],
    b in [5, 23], c in [1, 19], d in [19, 37].
    """
    protected = protect_table(ONE_SMALL, name="sorties")
    assert all(isinstance(flag, Flag) for flag in protected.flags.to_numpy().ravel())
    assert flag_grid(protected) == [
        [P, S, PUB, PUB],
        [PUB, PUB, PUB, PUB],
        [S, S, PUB, PUB],
        [PUB, PUB, PUB, PUB],
    ]
    assert intervals_by_cell(protected) == {
        ("QPV A", "CDI"): (1.0, 19.0),
        ("QPV A", "CDD"): (5.0, 23.0),
        ("QPV C", "CDI"): (1.0, 19.0),
        ("QPV C", "CDD"): (19.0, 37.0),
    }
    assert list(protected.log.columns) == list(LOG_COLUMNS)
    assert protected.log[["row", "column", "flag"]].values.tolist() == [
        ["QPV A", "CDI", "primary"],
        ["QPV A", "CDD", "secondary"],
        ["QPV C", "CDI", "secondary"],
        ["QPV C", "CDD", "secondary"],
    ]
    assert protected.log["reason"].tolist() == [
        "effectif non nul inférieur à 10 (règle acro)",
        "secret secondaire : protège « QPV A × CDI »",
        "secret secondaire : protège « QPV A × CDI »",
        "secret secondaire : protège « QPV A × CDI »",
    ]


def test_margins_are_published_and_hidden_values_are_nan():
    """The margins are the table's sums (54, 83, 73 / 45, 60, 105 / 210), all at least 10: published."""
    protected = protect_table(ONE_SMALL)
    assert list(protected.values.index) == ["QPV A", "QPV B", "QPV C", TOTAL]
    assert list(protected.values.columns) == ["CDI", "CDD", "Aucun", TOTAL]
    assert protected.values[TOTAL].tolist() == [54, 83, 73, 210]
    assert protected.values.loc[TOTAL].tolist() == [45, 60, 105, 210]
    hidden = protected.flags.isin([P, S])
    assert protected.values.isna().equals(hidden)
    published = protected.values.iloc[:3, :3].to_numpy()
    assert np.array_equal(
        published[~hidden.iloc[:3, :3].to_numpy()], ONE_SMALL.to_numpy()[~hidden.iloc[:3, :3].to_numpy()]
    )


def test_without_margins_the_protection_is_the_same():
    """margins=False only hides the Total row and column from display: the totals are assumed known
    elsewhere, so the suppression pattern and the attacker's intervals are those with margins."""
    shown = protect_table(ONE_SMALL)
    bare = protect_table(ONE_SMALL, margins=False)
    assert bare.values.shape == (3, 3)
    assert TOTAL not in bare.values.index and TOTAL not in bare.values.columns
    pd.testing.assert_frame_equal(bare.flags, shown.flags.iloc[:3, :3])
    pd.testing.assert_frame_equal(feasible_intervals(bare), feasible_intervals(shown))


def test_a_small_total_is_primary_and_cannot_be_recomputed():
    """Row QPV A = 2, 3, 1: all three cells and the row total 6 are below 10, hence primary.

    Margins: rows 6, 65, 55; columns 34, 43, 49; grand total 126. Hidden counts are >= 1.
    Hand reasoning: every rectangle through (A, CDI) = 2 with an interior corner in row A must lower
    that corner (3 or 1) to 1 at most: up <= 2, down 1, too narrow. The cheapest wide one uses the
    hidden row total: corners (A, Total) = 6 (moves with the cell), (C, CDI) = 12 and
    (C, Total) = 55 (move against it): up 12 - 1, down 2 - 1, width 12, cost 12 + 55 = 67 (against
    20 + 65 = 85 through QPV B). The same for CDD (adds (C, CDD) = 25) and Aucun (adds
    (C, Aucun) = 18); the row total, sharing a column with (C, Total) hidden in the same round,
    is audited again and found protected. Rows A and C are hidden, row B and the column totals are
    published.

    Attacker's view: tA + tC = 126 - 65 = 61 and each column pair sums to its total minus row B:
    (A, CDI) + (C, CDI) = 34 - 20 = 14, CDD 43 - 15 = 28, Aucun 49 - 30 = 19, every hidden cell
    >= 1. So each row total is at least 3 (three cells) and tA is in [3, 61 - 3] = [3, 58]; the
    cells of row A are in [1, 13], [1, 27], [1, 18].
    """
    table = pd.DataFrame(
        [[2, 3, 1], [20, 15, 30], [12, 25, 18]], index=["QPV A", "QPV B", "QPV C"], columns=["CDI", "CDD", "Aucun"]
    )
    protected = protect_table(table)
    assert protected.flags.loc["QPV A", TOTAL] == P
    assert math.isnan(protected.values.loc["QPV A", TOTAL])
    assert flag_grid(protected) == [
        [P, P, P, P],
        [PUB, PUB, PUB, PUB],
        [S, S, S, S],
        [PUB, PUB, PUB, PUB],
    ]
    bounds = intervals_by_cell(protected)
    assert bounds[("QPV A", TOTAL)] == (3.0, 58.0)
    assert bounds[("QPV A", "CDI")] == (1.0, 13.0)
    assert bounds[("QPV A", "CDD")] == (1.0, 27.0)
    assert bounds[("QPV A", "Aucun")] == (1.0, 18.0)


def test_only_small_cells_publish_the_grand_total_alone():
    """Every cell (1 to 4) and every margin (6, 7, 8) is below 10; the grand total 21 is not.

    With all the rest hidden, each of the 9 cells is at least 1, so any cell can hold from 1 to
    21 - 8 = 13; a row or column total (three cells) from 3 to 21 - 6 = 15. Widths 12 >= 10: the
    audit passes without hiding the grand total.
    """
    table = pd.DataFrame([[1, 2, 3], [2, 1, 4], [3, 4, 1]])
    protected = protect_table(table)
    assert protected.values.loc[TOTAL, TOTAL] == 21
    assert protected.values.isna().sum().sum() == 15
    frame = feasible_intervals(protected)
    margin = (frame["row"] == TOTAL) | (frame["column"] == TOTAL)
    assert frame.loc[~margin, ["lower", "upper"]].drop_duplicates().values.tolist() == [[1.0, 13.0]]
    assert frame.loc[margin, ["lower", "upper"]].drop_duplicates().values.tolist() == [[3.0, 15.0]]


def test_weighted_counts_are_bounded_by_zero_only():
    """Non-whole numbers (weighted counts): a hidden value is only known to be > 0, so the floor is 0.

    Halving ONE_SMALL gives 2 (primary), 10, 15 / 12.5, 9 (primary), 20 / 8 (primary), 11, 17.5.
    Whatever the pattern, the audit with floor 0 must clear every hidden cell.
    """
    protected = protect_table(ONE_SMALL / 2)
    assert protected.floor == 0 and protect_table(ONE_SMALL).floor == 1
    assert protected.flags.loc["QPV A", "CDI"] == P and protected.flags.loc["QPV B", "CDD"] == P
    frame = feasible_intervals(protected)
    assert (frame.loc[frame["flag"] == "primary", "width"] >= 10).all()
    assert (frame["width"] > 0).all()


def test_naive_suppression_is_recoverable_by_the_audit():
    """The audit can fail. Hiding only (A, CDI) = 4: 54 - 20 - 30 = 4, min == max == 4.

    Hiding (A, CDI) and (A, CDD), two cells in the row but alone in their columns, is no better:
    45 - 25 - 16 = 4 and 60 - 18 - 22 = 20.
    """
    single = feasible_intervals(hand_protected(ONE_SMALL, [("QPV A", "CDI")]))
    assert single[["lower", "upper"]].values.tolist() == [[4.0, 4.0]]
    assert (single["width"] == 0).all()
    pair = intervals_by_cell(hand_protected(ONE_SMALL, [("QPV A", "CDI"), ("QPV A", "CDD")]))
    assert pair == {("QPV A", "CDI"): (4.0, 4.0), ("QPV A", "CDD"): (20.0, 20.0)}


def test_audit_reports_unbounded_cells():
    """Hiding (A, CDI) = a, its row total, its column total and the grand total: a is free, and then
    row A = a + 20 + 30, column CDI = a + 25 + 16, grand total = row A + 83 + 73 = a + 206.
    Each is unbounded above; the lowest values are at a = 0: 0, 50, 41, 206."""
    protected = hand_protected(ONE_SMALL, [("QPV A", "CDI"), ("QPV A", TOTAL), (TOTAL, "CDI"), (TOTAL, TOTAL)])
    frame = feasible_intervals(protected)
    assert list(frame.columns) == list(INTERVAL_COLUMNS)
    assert frame[["row", "column"]].values.tolist() == [
        ["QPV A", "CDI"],
        ["QPV A", TOTAL],
        [TOTAL, "CDI"],
        [TOTAL, TOTAL],
    ]
    assert frame["lower"].tolist() == [0.0, 50.0, 41.0, 206.0]
    assert np.isinf(frame["upper"]).all()


def independent_bounds(view: np.ndarray, floor: float) -> dict[tuple[int, int], tuple[float, float]]:
    """A second audit: two plain linear programs per hidden cell, relations written cell by cell."""
    n_rows, n_cols = view.shape
    unknown = [(i, j) for i in range(n_rows) for j in range(n_cols) if np.isnan(view[i, j])]
    number = {cell: k for k, cell in enumerate(unknown)}
    equations, rhs = [], []
    lines = [[(i, j) for j in range(n_cols)] for i in range(n_rows)] + [
        [(i, j) for i in range(n_rows)] for j in range(n_cols)
    ]
    for line in lines:
        *parts, total = line
        row = np.zeros(len(unknown))
        constant = 0.0
        for cell, sign in [(c, 1.0) for c in parts] + [(total, -1.0)]:
            if cell in number:
                row[number[cell]] += sign
            else:
                constant += sign * view[cell]
        if row.any():
            equations.append(row)
            rhs.append(-constant)
    result = {}
    for cell, k in number.items():
        objective = np.zeros(len(unknown))
        objective[k] = 1.0
        low = linprog(objective, A_eq=equations, b_eq=rhs, bounds=(floor, None))
        high = linprog(-objective, A_eq=equations, b_eq=rhs, bounds=(floor, None))
        assert low.status == 0 and high.status in (0, 3)
        result[cell] = (low.fun, math.inf if high.status == 3 else -high.fun)
    return result


def random_tables(count: int, seed: int, max_shape: tuple[int, int] = (8, 6)) -> list[pd.DataFrame]:
    """Seeded tables of 2x2 to ``max_shape`` counts, many small: a third of the cells 0-9, the rest 0-40."""
    rng = np.random.default_rng(seed)
    tables = []
    for _ in range(count):
        shape = (int(rng.integers(2, max_shape[0] + 1)), int(rng.integers(2, max_shape[1] + 1)))
        small = rng.random(shape) < 1 / 3
        counts = np.where(small, rng.integers(0, 10, shape), rng.integers(0, 41, shape))
        tables.append(pd.DataFrame(counts))
    return tables


def test_audit_matches_an_independent_implementation():
    """feasible_intervals (all cells in two batched programs) equals two linear programs per cell."""
    for table in random_tables(12, seed=7, max_shape=(5, 4)):
        protected = protect_table(table)
        view = protected.values.to_numpy(dtype=float)
        assert protected.floor == 1
        expected = independent_bounds(view, protected.floor)
        frame = feasible_intervals(protected)
        got = {
            (protected.values.index.get_loc(r.row), protected.values.columns.get_loc(r.column)): (r.lower, r.upper)
            for r in frame.itertuples()
        }
        assert got.keys() == expected.keys()
        for cell, (low, high) in expected.items():
            assert got[cell][0] == pytest.approx(low, abs=1e-6)
            assert got[cell][1] == pytest.approx(high, abs=1e-6) or (math.isinf(high) and math.isinf(got[cell][1]))


def test_random_tables_pass_the_audit():
    """200 seeded tables: nothing published is small, published cells are the true ones, every primary
    cell ranges over at least the threshold (10) and no secondary cell is recomputable."""
    for number, table in enumerate(random_tables(200, seed=2026)):
        protected = protect_table(table, name=f"t{number}")
        truth = table.astype(float).copy()
        truth[TOTAL] = truth.sum(axis=1)
        truth.loc[TOTAL] = truth.sum(axis=0)
        shown = protected.values.to_numpy()
        published = ~np.isnan(shown)
        assert np.array_equal(shown[published], truth.to_numpy()[published]), number
        assert not ((shown[published] > 0) & (shown[published] < 10)).any(), number
        frame = feasible_intervals(protected)
        assert len(frame) == (~published).sum()
        primary = frame[frame["flag"] == "primary"]
        secondary = frame[frame["flag"] == "secondary"]
        assert (primary["width"] >= 10).all(), (number, primary)
        assert (secondary["width"] > 0).all(), (number, secondary)


# --- dominance ------------------------------------------------------------------------------------------

#: Amounts (€) of an aid by QPV and year, with each recipient's share.
CONTRIBUTIONS = {
    ("QPV A", "2019"): [90_000, 5_000, 5_000],  # one recipient holds 90 % > 85 %
    ("QPV A", "2020"): [40_000, 35_000, 25_000],
    ("QPV B", "2019"): [50_000, 30_000, 20_000, 10_000],
    ("QPV B", "2020"): [60_000, 60_000, 0],  # two recipients (the 0 is nobody's money) < 3
    ("QPV C", "2019"): [30_000, 30_000, 30_000],
    ("QPV C", "2020"): [20_000, 25_000, 35_000],
}


def test_dominance_rule():
    """insee_entreprises (3 units, 85 %): A 2019 is dominated (90 000 / 100 000 = 90 % > 85 %);
    B 2020 has 2 contributors < 3. Others: top shares 40 %, 45 %, 33 %, 44 %.

    fiscal (11 units): every cell has fewer than 11 contributors. acro has no dominance part:
    12 contributors with one at 95 % pass it, fail insee_entreprises.
    """
    mask = dominance(CONTRIBUTIONS, "insee_entreprises")
    assert mask.to_dict() == {
        ("QPV A", "2019"): True,
        ("QPV A", "2020"): False,
        ("QPV B", "2019"): False,
        ("QPV B", "2020"): True,
        ("QPV C", "2019"): False,
        ("QPV C", "2020"): False,
    }
    assert dominance(CONTRIBUTIONS, "fiscal").all()
    one_big = {"cell": [95_000] + [5_000 / 11] * 11}
    assert not dominance(one_big, "acro")["cell"]
    assert dominance(one_big, "insee_entreprises")["cell"]
    assert not dominance({"empty": [0, 0]}, "insee_entreprises")["empty"]


def test_dominance_mask_drives_protect_table():
    """Amounts: A 100 000 / 100 000, B 110 000 / 120 000, C 90 000 / 80 000; hidden by the mask:
    (A, 2019) and (B, 2020); margins 200 000, 230 000, 170 000 / 300 000, 300 000 / 600 000.

    Hand reasoning: for (A, 2019) the cheapest rectangle wide enough (protection 20 000 €) is the
    one through (B, 2020), already hidden: add (A, 2020) = 100 000 and (B, 2019) = 110 000 (cost
    210 000, against 270 000 through QPV C). (B, 2020) is then protected by the same rectangle.
    Attacker (whole euros, so a hidden amount is at least 1 €): a + b = 200 000,
    a + c = 300 000 - 90 000 = 210 000, b + d = 300 000 - 80 000 = 220 000, c + d = 230 000;
    a = 1 is feasible (b = 199 999, c = 209 999, d = 20 001) and so is a = 199 999 (b = 1,
    c = 10 001, d = 219 999): a in [1, 199 999], d in [20 001, 219 999].
    """
    amounts = pd.Series({cell: sum(values) for cell, values in CONTRIBUTIONS.items()}).unstack()
    mask = dominance(CONTRIBUTIONS, "insee_entreprises").unstack()
    protected = protect_table(amounts, "insee_entreprises", sensitive=mask, protection=20_000, name="aides")
    assert flag_grid(protected) == [
        [P, S, PUB],
        [S, P, PUB],
        [PUB, PUB, PUB],
        [PUB, PUB, PUB],
    ]
    bounds = intervals_by_cell(protected)
    assert bounds[("QPV A", "2019")] == (1.0, 199_999.0)
    assert bounds[("QPV B", "2020")] == (20_001.0, 219_999.0)
    assert (
        protected.log["reason"].iloc[0]
        == "cellule sensible (masque fourni, p. ex. règle de dominance insee_entreprises)"
    )


# --- input errors -------------------------------------------------------------------------------------


def test_table_errors_name_the_cell():
    bad = pd.DataFrame([[3, -1]], index=["QPV A"], columns=["CDI", "CDD"])
    with pytest.raises(UsageError) as caught:
        protect_table(bad, name="sorties")
    assert str(caught.value) == (
        "table 'sorties', row 'QPV A', column 'CDD': '-1' is not a count or amount >= 0 "
        "(disclosure control needs numbers, no gaps)"
    )
    with_total = pd.DataFrame([[3, 12]], index=["QPV A"], columns=["CDI", TOTAL])
    with pytest.raises(UsageError) as caught:
        protect_table(with_total, name="sorties")
    assert str(caught.value) == (
        "table 'sorties': columns already contain 'Total' (pass the table without margins; protect_table adds them)"
    )


# --- rates --------------------------------------------------------------------------------------------


def test_protect_rates_with_the_complement_rule():
    """Threshold 10; each pair (x, n):
    (0, 50) published: no one, in a group of 50 (zeros are published);
    (3, 50) primary: numerator 3;
    (12, 50) published;
    (48, 50) primary: complement 2 ("all but 2");
    (50, 50) published: complement 0, everyone in a group of 50;
    (5, 8) primary: denominator 8 (numerator 5 and complement 3 too);
    (9, 9) primary: denominator 9;
    (0, 0) published: no rate, nobody.
    """
    numerators = [0, 3, 12, 48, 50, 5, 9, 0]
    denominators = [50, 50, 50, 50, 50, 8, 9, 0]
    flags = protect_rates(numerators, denominators)
    assert flags.tolist() == [PUB, P, PUB, P, PUB, P, P, PUB]
    assert all(isinstance(f, Flag) for f in flags)
    # fiscal (11): 12 / 50 still fine, 48 / 60 (complement 12) fine, 10 / 50 not.
    assert protect_rates([12, 48, 10], [50, 60, 50], "fiscal").tolist() == [PUB, PUB, P]


def test_protect_rates_rejects_impossible_counts():
    with pytest.raises(UsageError) as caught:
        protect_rates([3, 12], [50, 10])
    assert (
        str(caught.value) == "rate 1: numerator 12 and denominator 10 must be counts with 0 <= numerator <= denominator"
    )


# --- Kaplan-Meier -----------------------------------------------------------------------------------


def km_table(durations: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Product-limit estimate written here: one row per distinct time, at risk just before it."""
    rows, survival = [], 1.0
    for time in np.unique(durations):
        at_risk = int((durations >= time).sum())
        died = int(((durations == time) & (events == 1)).sum())
        censored = int(((durations == time) & (events == 0)).sum())
        survival *= 1 - died / at_risk
        rows.append((time, at_risk, died, censored, survival, survival * 0.9, min(1.0, survival * 1.1)))
    return pd.DataFrame(rows, columns=list(KM_COLUMNS))


def test_coarsen_km_by_hand():
    """Threshold 3. Times 0.5 (event), 1.2 (censored), 1.7 (e), 2.4 (e), 3.1 (c), 3.3 (e), 4.8 (e).

    KM: 6/7 at 0.5, 24/35 at 1.7, 18/35 at 2.4, 9/35 at 3.3, 0 at 4.8.
    Rounded up to whole months: 1, 2, 2, 3, 4, 4, 5. Exits per month: 1, 2, 1, 2, 1.
    Month 1 + 2 = 3 exits: first step at 2 (at risk 7, 2 events, 1 censored, survival 24/35).
    Months 3 + 4 = 3 exits, then month 5 (1 exit, below 3) is merged into that step: second step
    at 5 (at risk 4, 3 events, 1 censored, survival 0).
    """
    km = km_table(np.array([0.5, 1.2, 1.7, 2.4, 3.1, 3.3, 4.8]), np.array([1, 0, 1, 1, 0, 1, 1]))
    out = coarsen_km(km, 3)
    assert list(out.columns) == [*KM_COLUMNS, "flag"]
    assert out["time"].tolist() == [2.0, 5.0]
    assert out["at_risk"].tolist() == [7, 4]
    assert out["events"].tolist() == [2, 3]
    assert out["censored"].tolist() == [1, 1]
    assert out["survival"].tolist() == pytest.approx([24 / 35, 0.0])
    assert out["flag"].tolist() == [PUB, PUB]


def test_coarsen_km_random_cohort():
    """300 seeded people, durations uniform over 0-24 months (never a whole number), 60 % events.

    No step has fewer than 10 exits, every exit is counted once, published times are whole months
    and none is an individual's time, and every published survival and bound is one of the curve's.
    """
    rng = np.random.default_rng(5)
    durations = rng.uniform(0, 24, 300)
    events = (rng.random(300) < 0.6).astype(int)
    km = km_table(durations, events)
    out = coarsen_km(km, 10)
    exits = out["events"] + out["censored"]
    assert (exits >= 10).all()
    assert exits.sum() == 300
    assert (out["time"] == np.round(out["time"])).all()
    assert not set(out["time"]) & set(durations)
    assert out["time"].is_monotonic_increasing
    for column in ("survival", "ci_lower", "ci_upper"):
        assert set(out[column]) <= set(km[column])
    assert (out["flag"] == PUB).all()
    # The same cohort in days, published on a 30-day grid: same rules, times multiples of 30.
    days = coarsen_km(km_table(durations * 30.4375, events), 10, time_step=30)
    assert ((days["events"] + days["censored"]) >= 10).all()
    assert (days["time"] % 30 == 0).all()
    assert not set(days["time"]) & set(durations * 30.4375)


def test_coarsen_km_withholds_at_risk_revealing_late_entrants():
    """Threshold 3. Steps: months 1-3 (at risk 6, exits 3), months 4-7 (at risk 5, exits 5).
    Between them 5 - (6 - 3) = 2 people entered observation late: a count below 3 that at_risk would
    reveal, so the at_risk column is withheld (flag secondary); the curve itself is published."""
    km = pd.DataFrame(
        {
            "time": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            "at_risk": [6, 5, 4, 5, 4, 3, 2],
            "events": [1, 1, 0, 1, 0, 1, 1],
            "censored": [0, 0, 1, 0, 1, 0, 1],
            "survival": [5 / 6, 4 / 6, 4 / 6, 0.53, 0.53, 0.36, 0.18],
            "ci_lower": [0.5, 0.4, 0.4, 0.3, 0.3, 0.1, 0.0],
            "ci_upper": [0.9, 0.8, 0.8, 0.7, 0.7, 0.6, 0.5],
        }
    )
    out = coarsen_km(km, 3)
    assert out["time"].tolist() == [3.0, 7.0]
    assert out["at_risk"].isna().all()
    assert (out["events"] + out["censored"]).tolist() == [3, 5]
    assert out["survival"].tolist() == pytest.approx([4 / 6, 0.18])
    assert out["flag"].tolist() == [S, S]
    assert all(isinstance(flag, Flag) for flag in out["flag"])


def test_coarsen_km_too_few_exits_publishes_nothing():
    km = km_table(np.array([1.5, 2.5]), np.array([1, 0]))
    assert coarsen_km(km, 10).empty


# --- outputs ------------------------------------------------------------------------------------------


def test_suppression_log_concatenates_without_values():
    first = protect_table(ONE_SMALL, name="sorties")
    second = protect_table(pd.DataFrame([[30, 40]], index=["QPV B"], columns=["CDI", "CDD"]), name="vide")
    log = suppression_log(first, second)
    assert list(log.columns) == list(LOG_COLUMNS)
    assert len(log) == 4 and set(log["table"]) == {"sorties"}
    assert suppression_log().empty


def test_format_cell_and_legend():
    assert format_cell(float("nan"), Flag.PRIMARY) == "s"
    assert format_cell(22.0, "secondary") == "s"
    assert format_cell(1250.0, Flag.PUBLISHED) == f"1{NBSP}250"
    assert format_cell(12.5, "published", decimals=1) == "12,5"
    assert LEGEND_FR == "s : secret statistique (effectif inférieur à 10 ou cellule permettant de le retrouver)"
    assert legend_fr("insee_entreprises").startswith("s : secret statistique (effectif inférieur à 3 ")
