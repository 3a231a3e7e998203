"""The vectorised intake (issue 11): whole-column checks give the same problems as cell-by-cell ones,
every problem once with its line, at a scale where a per-row loop would show.

The expected values are computed in the tests from the generated rows, by plain Python loops
written independently of the intake (no pandas grouping, no distinct-value memo).
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pytest

from evaluation.intake import validate_dataset
from evaluation.intake.cells import _blank, distinct_map
from evaluation.intake.grids import DEFAULT_LIMITS, _grid, _parse_csv, _unquoted_grid
from evaluation.intake.raw_tables import RawTable
from evaluation.intake.schema import Check, Message, Schema, _run_schema
from evaluation.io import Limits, load_dataset
from evaluation.referential.plan import Measure, load_plan

YAML = "name: test\ndemo: true\nprovenance: tests\n"


def _data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True)
    (root / "spending").mkdir()
    (root / "dataset.yaml").write_text(YAML, encoding="utf-8")
    return root


def test_every_problem_once_with_its_line_and_its_first_line(tmp_path):
    """20,000 monitoring rows, most repeating an (indicator, year) key, 1 % with a planted mistake.

    Expected, by a loop over the rows: one problem per planted mistake, and for each row whose key
    was seen before, one "appears twice" problem naming the first line of that key."""
    rng = random.Random(11)
    plan = load_plan()
    counts = [i.id for i in plan.indicators() if i.measure is Measure.COUNT]
    root = _data(tmp_path)
    lines = ["indicateur;année;valeur"]
    planted: dict[int, str] = {}
    first: dict[tuple[str, str], int] = {}
    duplicates: dict[int, int] = {}
    for row in range(20_000):
        line = row + 2
        indicator, year, value = rng.choice(counts), str(rng.choice([2018, 2019, 2020, 2021])), str(rng.randint(0, 900))
        kind = rng.random()
        if kind < 0.005:
            value = "n.c."
            planted[line] = "is not a number"
        elif kind < 0.01:
            indicator = indicator + "9"
            planted[line] = "is not an indicator of the plan"
        lines.append(f"{indicator};{year};{value}")
        key = (indicator, year)
        if key in first:
            duplicates[line] = first[key]
        else:
            first[key] = line
    (root / "monitoring" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    problems, counts_ = validate_dataset(load_dataset(root), plan)

    assert len(problems) == len(planted) + len(duplicates)
    seen = {(p.line, p.message.split(" (first")[0]) for p in problems}
    assert len(seen) == len(problems)  # no (line, message) twice
    for problem in problems:
        if "appears twice" in problem.message:
            assert problem.message.endswith(f"(first at line {duplicates[problem.line]})")
        else:
            assert problem.message == planted[problem.line]
    # Rows without any problem are the keys' first rows without a mistake.
    assert counts_["monitoring_rows"] == len([line for line in first.values() if line not in planted])


def test_spending_duplicate_names_the_first_row_of_the_same_canonical_key(tmp_path):
    """``5-A`` and ``5a`` are one sheet, ``MEL`` and ``mel`` one funder: lines 3 and 4 repeat line 2.
    (The cell-by-cell lookup this replaces compared the cells' folded text, and named line 3 as its
    own first line.)"""
    root = _data(tmp_path)
    (root / "spending" / "s.csv").write_text(
        "fiche;année;montant;financeur\n5-A;2019;10;MEL\n5a;2019;20;mel\n5A;2019;30;MEL\n5a;2020;5;MEL\n",
        encoding="utf-8",
    )
    problems, _ = validate_dataset(load_dataset(root), load_plan())
    assert [(p.line, p.message) for p in problems] == [
        (3, "appears twice for this year and funder in this file (first at line 2)"),
        (4, "appears twice for this year and funder in this file (first at line 2)"),
    ]


def _random_csv(rng: random.Random, rows: int) -> str:
    cells = ["", " ", "a", "1,5", "2019", "é", "x y", "  ", "12"]
    out = []
    for _ in range(rows):
        width = rng.choice([0, 1, 2, 3, 5, 7])
        out.append(";".join(rng.choice(cells) for _ in range(width)))
    ending = rng.choice(["\n", "\r\n", "\r"])
    return ending.join(out) + rng.choice(["", ending])


@pytest.mark.parametrize("seed", range(12))
def test_unquoted_fast_path_reads_what_the_csv_module_reads(seed):
    """Random quote-free texts (ragged rows, blank lines, the three line endings): the C-parser path
    gives each line the csv module's cells, by line number (blank and absent cells alike blank)."""
    rng = random.Random(seed)
    text = _random_csv(rng, rng.randint(1, 60))
    fast = _unquoted_grid(text, ";", DEFAULT_LIMITS)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    reference = _grid([(number, row) for number, row in enumerate(rows, start=1)])
    assert list(fast.index) == list(reference.index)

    def cells(grid, line):
        values = list(grid.loc[line]) if line in grid.index else []
        while values and _blank(values[-1]) and not (isinstance(values[-1], str) and values[-1].strip()):
            values.pop()
        return ["" if v is None else v for v in values]

    for line in reference.index:
        assert cells(fast, line) == cells(reference, line), (seed, line)


def test_unquoted_fast_path_keeps_the_limits():
    with pytest.raises(Exception, match="cells on this line"):
        _unquoted_grid("a;b\n1;2;3;4;5;6\n", ";", Limits(max_columns=4))
    with pytest.raises(Exception, match="characters"):
        _unquoted_grid("a;b\n1;" + "x" * 50 + "\n", ";", Limits(max_cell_chars=20))
    # Blank cells beyond the column limit are no cells (a spreadsheet's trailing separators).
    grid = _unquoted_grid("a;b;;;;;;\n1;2\n", ";", Limits(max_columns=4))
    assert list(grid.loc[2])[:2] == ["1", "2"]
    assert _grid(_parse_csv("a;b\n", ";", DEFAULT_LIMITS, strict=True)).shape == (1, 2)


def test_distinct_cells_are_told_apart_by_type():
    """An Excel column can hold 1, 1.0 and True: three cells, parsed once each, never conflated."""
    calls = []

    def parse(value):
        calls.append(value)
        return type(value).__name__

    values = np.array([1, 1.0, True, 1, "1", None, 1.0], dtype=object)
    assert list(distinct_map(values, parse, skip_na=True, na_result="blank")) == [
        "int",
        "float",
        "bool",
        "int",
        "str",
        "blank",
        "float",
    ]
    assert len(calls) == 4  # 1, 1.0, True, "1": once each
    texts = np.array(["a", "b", "a", None, "a"], dtype=object)
    assert list(distinct_map(texts, str.upper, skip_na=True, na_result="-")) == ["A", "B", "A", "-", "A"]


def test_a_check_cannot_exist_without_its_message():
    """A check that fails without saying what to fix would hide the problem it finds: it is refused
    when it is made, not when a file first fails it."""
    with pytest.raises(TypeError, match="message"):
        Check(lambda v: False, "no_message")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="message must be a Message, not str"):
        Check(lambda v: False, "bare_text", "is not a year")  # type: ignore[arg-type]


def test_each_check_reports_the_message_it_carries(tmp_path):
    """Two schemas may name a check alike and say different things: each problem comes from its own
    check (a shared table of messages keyed by name would give both the same text)."""
    import pandas as pd

    table = RawTable(tmp_path / "x.csv", pd.DataFrame({"year": ["x", "2019"]}, index=[2, 3], dtype=object))
    first = Message("year", "is not a year", "write it with 4 digits", "n'est pas une année", "l'écrire sur 4 chiffres")
    second = Message(
        "year",
        "is not a census vintage",
        "give the vintage, e.g. 2017",
        "n'est pas un millésime",
        "indiquer le millésime, par exemple 2017",
    )
    for message in (first, second):
        schema = Schema({"year": [Check(lambda v: v != "x", "bad_year", message)]})
        problems = _run_schema(schema, table, ())
        # Only line 2 holds "x"; the problem carries the check's column, text and fix as given.
        assert [(p.line, p.column, p.value, p.message, p.hint) for p in problems] == [
            (2, "year", "x", message.text, message.fix)
        ]
        assert [(p.message_fr, p.hint_fr) for p in problems] == [(message.text_fr, message.fix_fr)]


def test_checks_sharing_a_name_share_their_message_and_their_problems(tmp_path):
    """Checks given one key are merged (one problem per failing row): two messages for one key are refused."""
    import pandas as pd

    message = Message(
        "year", "is not a year", "write it with 4 digits", "n'est pas une année", "l'écrire sur 4 chiffres"
    )
    with pytest.raises(ValueError, match="'bad_year' carry different messages"):
        Schema(
            {
                "year": [
                    Check(lambda v: True, "bad_year", message),
                    Check(lambda v: True, "bad_year", Message("year", "is wrong", "fix it", "est faux", "le corriger")),
                ]
            }
        )
    table = RawTable(tmp_path / "x.csv", pd.DataFrame({"year": ["x", "1"]}, index=[2, 3], dtype=object))
    # The first check fails "x" (line 2), the second fails "x" and "1" (lines 2 and 3): merged, line 2
    # is reported once, line 3 once.
    schema = Schema(
        {"year": [Check(lambda v: v != "x", "bad_year", message), Check(lambda v: False, "bad_year", message)]}
    )
    problems = _run_schema(schema, table, ())
    assert [(p.line, p.value) for p in problems] == [(2, "x"), (3, "1")]


def test_lines_ended_by_a_lone_carriage_return_obey_the_row_limit():
    with pytest.raises(Exception, match="more than 3 lines"):
        _unquoted_grid("a;b\r1;2\r3;4\r5;6\r", ";", Limits(max_rows=3))


def test_a_data_line_of_a_million_separators_is_cut_or_refused_without_splitting(tmp_path):
    """Trailing blank cells beyond the column limit are a spreadsheet's habit: the row is kept with its
    cells; a filled cell out there is a problem naming the line. (1,000,000 separators: split into
    cells, each check would build a list of a million.)"""
    root = _data(tmp_path)
    path = root / "monitoring" / "m.csv"
    path.write_text("indicateur;année;valeur\n1.1;2019;3" + ";" * 1_000_000 + "\n1.1;2020;4\n", encoding="utf-8")
    problems, counts = validate_dataset(load_dataset(root), load_plan())
    assert problems == [] and counts["monitoring_rows"] == 2
    path.write_text("indicateur;année;valeur\n1.1;2019;3" + ";" * 1_000_000 + "x\n", encoding="utf-8")
    problems, _ = validate_dataset(load_dataset(root), load_plan())
    assert [(p.line, p.message, p.fatal) for p in problems] == [(2, "has more than 200 cells on this line", True)]
