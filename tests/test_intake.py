"""Intake of partners' files: encodings, French numbers, every problem reported with its place, template round trip."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from evaluation.cli import main
from evaluation.intake import Problem, load_monitoring, load_spending, parse_number, validate_dataset
from evaluation.intake.template import HEADERS, write_template
from evaluation.io import load_dataset
from evaluation.referential.plan import load_plan

FIXTURES = Path(__file__).parent / "data" / "intake"


@pytest.fixture(scope="module")
def plan():
    return load_plan()


def make_dataset(tmp_path: Path, monitoring: list[str] = (), spending: list[str] = ()) -> Path:
    root = tmp_path / "data"
    for folder, names in (("monitoring", monitoring), ("spending", spending)):
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(FIXTURES / name, root / folder / name)
    (root / "dataset.yaml").write_text("name: test\ndemo: true\nprovenance: tests\n", encoding="utf-8")
    return root


def rows(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows as lists, missing values as None (pandas may hold them as NaN)."""
    return [[None if pd.isna(v) else v for v in row] for row in frame[columns].astype(object).values.tolist()]


def messages(problems: list[Problem]) -> list[str]:
    return [str(p).split("/data/", 1)[-1] for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 250,5", 1250.5),
        ("1\u00a0250,5", 1250.5),
        ("1\u202f250", 1250.0),
        ("1.250,5", 1250.5),
        ("1250.5", 1250.5),
        ("12,5", 12.5),
        ("15 %", 15.0),
        ("70 000 €", 70000.0),
        ("1.250.000", 1250000.0),
        ("", None),
        (None, None),
        (42, 42.0),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1 2O0", "abc", "1,2,3", "1.2.3", "--1"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_french_cp1252_csv_reads_like_utf8_csv(tmp_path, plan):
    """Same four rows: ';' / decimal comma / non-breaking thousands / French headers and statuses / cp1252."""
    utf8, p1 = load_monitoring(load_dataset(make_dataset(tmp_path / "a", ["monitoring_utf8.csv"])), plan)
    french, p2 = load_monitoring(load_dataset(make_dataset(tmp_path / "b", ["monitoring_fr_cp1252.csv"])), plan)
    assert p1 == [] and p2 == []
    columns = ["indicator_id", "engagement", "year", "value", "status", "source", "comment", "line"]
    pd.testing.assert_frame_equal(utf8[columns], french[columns])
    assert utf8["value"].tolist() == [310.0, 55.5, 1250.5, 100.0]
    assert rows(french, ["source"]) == [["Pôle emploi"], ["MEL"], [None], [None]]


def test_utf8_bom_and_french_headers(tmp_path, plan):
    frame, problems = load_monitoring(load_dataset(make_dataset(tmp_path, ["monitoring_bom.csv"])), plan)
    assert problems == []
    assert frame[["indicator_id", "year", "value"]].values.tolist() == [["1.1", 2018, 310.0]]


def test_every_problem_is_reported_with_its_place(tmp_path, plan):
    frame, problems = load_monitoring(load_dataset(make_dataset(tmp_path, ["monitoring_problems.csv"])), plan)
    assert messages(problems) == [
        "monitoring/monitoring_problems.csv, line 3, column 'value': '1 2O0' is not a number (use digits, decimal comma allowed, e.g. 1 250,5; write 1250 or 1,25 rather than 1.250)",
        "monitoring/monitoring_problems.csv, line 4, column 'indicator_id': '1.9' is not an indicator of the plan (sheet 1 has the indicators 1.1, 1.2, 1.3, 1.4)",
        "monitoring/monitoring_problems.csv, line 5, column 'year': '2025' is outside the plan's horizon (use a year from 2018 to 2021)",
        "monitoring/monitoring_problems.csv, line 6, column 'value': '140' is not a percentage between 0 and 100 (give the percentage between 0 and 100, e.g. 15 for 15 % (or check the numerator and denominator))",
        "monitoring/monitoring_problems.csv, line 7, column 'value': '-4' is negative, and this indicator counts (a count is 0 or more)",
        "monitoring/monitoring_problems.csv, line 8, column 'comment': is missing: the indicator is qualitative and a value was given (describe what was achieved in the comment column)",
        "monitoring/monitoring_problems.csv, line 9, column 'indicator_id': '1.1' appears twice for this year in this file (first at line 2) (keep one row per indicator and year)",
        "monitoring/monitoring_problems.csv, line 10, column 'status': 'perhaps' is not a known status (use provisoire, estimé or définitif (provisional, estimated, final))",
        "monitoring/monitoring_problems.csv, line 11, column 'value': '2' is not 0 or 1 for a milestone (write 1 the year the milestone was reached, 0 before)",
        "monitoring/monitoring_problems.csv, line 12, column 'value': '40' differs from 100 × numerator / denominator = 50,00 (correct the value, or leave it blank to compute it)",
        "monitoring/monitoring_problems.csv, line 14, column 'indicator_id': is missing (give the indicator code, e.g. 1.1 (see 'evaluation plan'))",
        "monitoring/monitoring_problems.csv, line 15, column 'year': '20l9' is not a year (write the year with 4 digits, e.g. 2019)",
    ]
    # Rows with a problem are left out; a rate given as numerator/denominator gets its value (100 x 30 / 60).
    assert frame[["indicator_id", "year", "value"]].values.tolist() == [["1.1", 2018, 310.0], ["12.3", 2020, 50.0]]


def test_duplicates_across_files_name_both_places(tmp_path, plan):
    _frame, problems = load_monitoring(
        load_dataset(make_dataset(tmp_path, ["monitoring_utf8.csv", "monitoring_bom.csv"])), plan
    )
    assert messages(problems) == [
        "monitoring/monitoring_utf8.csv, line 2, column 'indicator_id': '1.1 / 2018' is also given in monitoring_bom.csv, line 2; both rows are left out (keep the value in one file only)"
    ]


@pytest.mark.parametrize(
    ("name", "expected", "fatal"),
    [
        (
            "empty.csv",
            "monitoring/empty.csv: is empty (fill it with a header line (indicator_id, year, value) and data, or remove it)",
            False,
        ),
        ("header_only.csv", "monitoring/header_only.csv: has a header but no data (fill it or remove it)", False),
        (
            "binary.csv",
            "monitoring/binary.csv: is not a text CSV file (an Excel workbook must be named .xlsx) (save it as CSV or rename it .xlsx)",
            True,
        ),
        (
            "damaged.xlsx",
            "monitoring/damaged.xlsx: is not a readable Excel workbook (BadZipFile) (open it in Excel and save it again as .xlsx)",
            True,
        ),
    ],
)
def test_unusable_files(tmp_path, plan, name, expected, fatal):
    _frame, problems = load_monitoring(load_dataset(make_dataset(tmp_path, [name])), plan)
    assert messages(problems) == [expected]
    assert problems[0].fatal is fatal


def test_wrong_columns(tmp_path, plan):
    _frame, problems = load_monitoring(load_dataset(make_dataset(tmp_path, ["wrong_columns.csv"])), plan)
    assert messages(problems) == [
        "monitoring/wrong_columns.csv, line 1, column 'anne': unknown column (did you mean 'annee'?)",
        "monitoring/wrong_columns.csv, line 1, column 'couleur': unknown column (expected columns: indicator_id, year, value, status, source, comment, numerator, denominator)",
        "monitoring/wrong_columns.csv, line 1, column 'year': required column is missing (add a column 'year' (or its French name 'année'))",
    ]


def test_spending_problems(tmp_path, plan):
    frame, problems = load_spending(load_dataset(make_dataset(tmp_path, spending=["spending_problems.csv"])), plan)
    assert messages(problems) == [
        "spending/spending_problems.csv, line 4, column 'engagement': '99' is not a sheet of the plan (did you mean '9'?)",
        "spending/spending_problems.csv, line 5, column 'engagement': '1' appears twice for this year and funder in this file (first at line 2) (add the amounts into one row)",
        "spending/spending_problems.csv, line 6, column 'amount_eur': '-5' is negative (give the amount spent, in euros, 0 or more)",
    ]
    assert frame[["engagement", "year", "amount_eur"]].values.tolist() == [["1", 2018, 63000.0], ["5a", 2019, 12000.5]]


def test_input_files_are_never_modified(tmp_path, plan):
    root = make_dataset(tmp_path, ["monitoring_problems.csv", "monitoring_fr_cp1252.csv"], ["spending_problems.csv"])
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
    validate_dataset(load_dataset(root), plan)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
    assert before == after


def test_validate_command_exit_statuses(tmp_path, capsys):
    clean = make_dataset(tmp_path / "clean", ["monitoring_utf8.csv"])
    assert main(["validate", "--data", str(clean)]) == 0
    findings = make_dataset(tmp_path / "findings", ["monitoring_problems.csv"])
    assert main(["validate", "--data", str(findings)]) == 1
    unreadable = make_dataset(tmp_path / "unreadable", ["binary.csv"])
    assert main(["validate", "--data", str(unreadable)]) == 2
    out = capsys.readouterr().out
    assert out.count("monitoring_problems.csv, line") == 12


def test_template_round_trip(tmp_path, plan):
    """A partner fills the template; the reader gives back exactly what was typed."""
    path = write_template(plan, "5-A", tmp_path / "5a.xlsx")
    book = load_workbook(path)
    sheet = book["Saisie"]
    assert tuple(c.value for c in sheet[1]) == HEADERS
    assert sheet.max_row == 1 + 3 * 4  # three indicators of sheet 5-A, four years
    assert [v.sqref for v in sheet.data_validations.dataValidation if v.type == "decimal"]
    # Rows: 2-5 are 5a.1 for 2018-2021, 6-9 are 5a.2, 10-13 are 5a.3.
    typed = {2: (3, "définitif", "Anis"), 7: ("52,5", "provisoire", None), 12: (16, None, None)}
    for row, (value, status, source) in typed.items():
        sheet.cell(row, 7).value, sheet.cell(row, 8).value, sheet.cell(row, 9).value = value, status, source
    book.save(path)
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True)
    shutil.copy(path, root / "monitoring" / "5a.xlsx")
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    frame, problems = load_monitoring(load_dataset(root), plan)
    assert problems == []
    assert rows(frame, ["indicator_id", "year", "value", "status", "source", "line"]) == [
        ["5a.1", 2018, 3.0, "final", "Anis", 2],
        ["5a.2", 2019, 52.5, "provisional", None, 7],
        ["5a.3", 2020, 16.0, None, None, 12],
    ]


def test_template_command(tmp_path, capsys):
    assert main(["template", "12", "--out", str(tmp_path / "t.xlsx")]) == 0
    assert (tmp_path / "t.xlsx").is_file()
    assert main(["template", "12", "--out", str(tmp_path / "t.csv")]) == 2
    assert main(["template", "42", "--out", str(tmp_path / "u.xlsx")]) == 2
    assert "unknown engagement id '42'" in capsys.readouterr().err


# -- mistakes that would otherwise pass silently (review findings) -----------------------------------


def write_monitoring(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True, exist_ok=True)
    (root / "monitoring" / name).write_text(text, encoding="utf-8")
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    return root


def test_decimal_comma_in_a_comma_separated_file(tmp_path, plan):
    """'12.3,2019,38,8' means 38,8 split in two cells: refused, not read as 38."""
    root = write_monitoring(tmp_path, "indicator_id,year,value\n12.3,2019,38,8\n1.4,2019,5\n")
    frame, problems = load_monitoring(load_dataset(root), plan)
    assert messages(problems) == [
        "monitoring/m.csv, line 2: '8' has 1 cell(s) more than the header (a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number)"
    ]
    assert frame["indicator_id"].tolist() == ["1.4"]


@pytest.mark.parametrize("text", ["1.250", "1,250", "12.500"])
def test_ambiguous_thousands_are_refused(text):
    with pytest.raises(ValueError, match="ambiguous"):
        parse_number(text)


def test_unambiguous_decimals_still_read():
    assert parse_number("0,125") == 0.125
    assert parse_number("1,25") == 1.25
    assert parse_number("1250,000") == 1250.0


def test_percentage_from_numerator_and_denominator_is_checked(tmp_path, plan):
    """12.3 is a percentage: 100 x 150 / 100 = 150 is refused; a numerator without denominator too."""
    root = write_monitoring(
        tmp_path, "indicator_id,year,value,numerator,denominator\n12.3,2019,,150,100\n12.3,2020,,45,\n1.2,2019,-5,,\n"
    )
    _frame, problems = load_monitoring(load_dataset(root), plan)
    assert [(p.line, p.column, p.message) for p in problems] == [
        (2, "value", "is not a percentage between 0 and 100"),
        (3, "numerator", "is given without its denominator (or the reverse) and without a value"),
        (4, "value", "is not a percentage between 0 and 100"),
    ]


def test_unreadable_years_are_not_duplicates(tmp_path, plan):
    root = write_monitoring(tmp_path, "indicator_id,year,value\n8.1,deux mille,5\n8.1,2O19,6\n")
    _frame, problems = load_monitoring(load_dataset(root), plan)
    assert [p.message for p in problems] == ["is not a year", "is not a year"]


def test_duplicates_across_files_leave_both_rows_out(tmp_path, plan):
    frame, _problems = load_monitoring(
        load_dataset(make_dataset(tmp_path, ["monitoring_utf8.csv", "monitoring_bom.csv"])), plan
    )
    assert "1.1" not in frame["indicator_id"].tolist()  # 310 in one file, 310 in the other: neither is kept
    assert len(frame) == 3


def test_xlsx_number_as_indicator_code_and_empty_code(tmp_path, plan):
    """In Excel, the number 5.10 reads 5.1 (another indicator): refused; an empty code cell too."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Saisie"
    sheet.append(["indicateur", "année", "valeur"])
    sheet.append([5.10, 2019, 1])
    sheet.append([None, 2019, 3])
    sheet.append(["5.10", 2019, 1])
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True)
    book.save(root / "monitoring" / "m.xlsx")
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    frame, problems = load_monitoring(load_dataset(root), plan)
    assert [(p.line, p.message) for p in problems] == [
        (2, "is a number in the spreadsheet, not a code (5.10 would read 5.1)"),
        (3, "is missing"),
    ]
    assert frame["indicator_id"].tolist() == ["5.10"]


def test_misspelt_folder_is_reported(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "monitorng").mkdir(parents=True)
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    assert main(["validate", "--data", str(root)]) == 1
    out = capsys.readouterr().out
    assert "monitorng: is not an input folder: its files are not read (did you mean 'monitoring'?)" in out
    assert "holds no input folder" in out


def test_loads_are_remembered_per_content_of_the_files(tmp_path, plan, monkeypatch):
    """The same files are read and checked once (``intake._cache._remembered``); each caller gets its own
    copy; a file rewritten at once with the same size but another value is read again (its
    modification time may not have moved: file times tick every few milliseconds)."""
    from evaluation import intake

    root = make_dataset(tmp_path)
    path = root / "monitoring" / "m.csv"
    path.write_text("indicator_id;year;value\n1.1;2019;7\n", encoding="utf-8")
    dataset = load_dataset(root)
    calls = []
    original = intake.monitoring._load

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(intake.monitoring, "_load", counting)
    first, _ = load_monitoring(dataset, plan)
    first.loc[0, "value"] = 999.0  # a caller changing its copy
    second, _ = load_monitoring(dataset, plan)
    assert len(calls) == 1 and second["value"].tolist() == [7.0]
    path.write_text("indicator_id;year;value\n1.1;2019;8\n", encoding="utf-8")  # same size, at once
    third, _ = load_monitoring(dataset, plan)
    assert len(calls) == 2 and third["value"].tolist() == [8.0]


def test_an_unreadable_file_is_reported_not_raised(tmp_path, plan, monkeypatch):
    """A file that cannot be read (permissions, a file Excel holds open on a share) is a fatal
    problem naming the file, as before the loads were cached: hashing it for the cache must not
    raise first. The tests run as root, who reads any file: the refusal is simulated."""
    from pathlib import Path as _Path

    root = make_dataset(tmp_path)
    path = root / "monitoring" / "m.csv"
    path.write_text("indicator_id;year;value\n1.1;2019;7\n", encoding="utf-8")
    real = _Path.read_bytes

    def refuse(self):
        if self.name == "m.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    real_open = os.open

    def refuse_open(name, *args, **kwargs):  # the readers open files without following links
        if str(name).endswith("m.csv"):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(_Path, "read_bytes", refuse)
    monkeypatch.setattr(os, "open", refuse_open)
    frame, problems = load_monitoring(load_dataset(root), plan)
    assert frame.empty
    assert messages(problems) == [
        "monitoring/m.csv: cannot be opened (Permission denied) (check the file's permissions)"
    ]
    assert problems[0].fatal
