"""Intake of barometer files (``barometer/``): French and plain CSV, defaults, every problem with its place.

Fixtures are the small hand-written files of ``tests/data/barometer/`` (one per kind of problem); the
expected rows are what those files say, and the expected messages are pinned word for word.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main
from evaluation.intake import (
    AGE_BANDS,
    BAROMETER_COLUMNS,
    BAROMETER_INDICATORS,
    SEX_VALUES,
    Problem,
    load_barometer,
    validate_dataset,
)
from evaluation.io import load_dataset
from evaluation.referential.plan import load_plan

FIXTURES = Path(__file__).parent / "data" / "barometer"


def make_dataset(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "data"
    (root / "barometer").mkdir(parents=True)
    for name in names:
        shutil.copy(FIXTURES / name, root / "barometer" / name)
    (root / "dataset.yaml").write_text("name: test\ndemo: true\nprovenance: tests\n", encoding="utf-8")
    return root


def load(tmp_path: Path, *names: str) -> tuple[pd.DataFrame, list[Problem]]:
    return load_barometer(load_dataset(make_dataset(tmp_path, list(names))))


def messages(problems: list[Problem]) -> list[str]:
    return [str(p).split("/data/", 1)[-1] for p in problems]


def rows(frame: pd.DataFrame) -> list[list]:
    """Rows without file and line, missing values as None."""
    columns = [c for c in BAROMETER_COLUMNS if c not in ("file", "line")]
    return [[None if pd.isna(v) else v for v in row] for row in frame[columns].astype(object).values.tolist()]


#: The five rows of barometer_utf8.csv and barometer_fr_cp1252.csv, with the defaults applied:
#: blank sex -> ensemble, blank age band -> total, blank sampled -> true for census counts only.
EXPECTED_ROWS = [
    ["QN05972M", 2016, "population_15_64", "ensemble", "total", 33512.0, "INSEE, recensement", 2016, True],
    ["QN05972M", 2016, "employed_15_64", "ensemble", "total", 15104.0, "INSEE, recensement", 2016, True],
    ["QN05972M", 2016, "employed_15_64", "F", "25-54", 6120.5, "INSEE, recensement", 2016, True],
    ["MEL", 2016, "jobseekers", "ensemble", "total", 97250.0, "Pôle emploi", None, False],
    ["MEL_HORS_QPV", 2017, "business_creations", "ensemble", "total", 1250.0, "INSEE Sirene", None, False],
]


def test_closed_lists():
    assert list(BAROMETER_INDICATORS) == [
        "population_15_64",
        "employed_15_64",
        "population",
        "jobseekers",
        "poor_population",
        "fiscal_population",
        "caf_recipients",
        "caf_fully_dependent",
        "business_creations",
    ]
    assert [code for code, i in BAROMETER_INDICATORS.items() if i.census] == [
        "population_15_64",
        "employed_15_64",
        "population",
    ]
    assert BAROMETER_INDICATORS["jobseekers"].label == "Demandeurs d'emploi inscrits en catégories A, B, C"
    assert list(SEX_VALUES) == ["ensemble", "F", "M"]
    assert AGE_BANDS == ("total", "15-24", "25-54", "55-64")


def test_utf8_file_and_defaults(tmp_path):
    frame, problems = load(tmp_path, "barometer_utf8.csv")
    assert problems == []
    assert list(frame.columns) == BAROMETER_COLUMNS
    assert rows(frame) == EXPECTED_ROWS
    assert frame["line"].tolist() == [2, 3, 4, 5, 6]
    assert set(frame["file"]) == {"barometer_utf8.csv"}
    assert str(frame["vintage"].dtype) == "Int64" and frame["sampled"].dtype == bool
    assert frame["year"].dtype == "int64" and frame["value"].dtype == "float64"


def test_french_cp1252_file_reads_like_the_utf8_one(tmp_path):
    """';', decimal comma, non-breaking and plain-space thousands, French headers ('tranche d'âge',
    'millésime', 'échantillon') and words ('femmes', '25 - 54 ans', 'oui', 'non', 'MEL hors QPV'),
    lower-case QPV code, Windows-1252 bytes."""
    data = (FIXTURES / "barometer_fr_cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    utf8, p1 = load(tmp_path / "a", "barometer_utf8.csv")
    french, p2 = load(tmp_path / "b", "barometer_fr_cp1252.csv")
    assert p1 == [] and p2 == []
    pd.testing.assert_frame_equal(utf8.drop(columns="file"), french.drop(columns="file"))


def test_empty_folder_gives_an_empty_typed_frame(tmp_path):
    frame, problems = load(tmp_path)
    assert problems == [] and frame.empty
    assert list(frame.columns) == BAROMETER_COLUMNS


# --------------------------------------------------------------------------------------------------
# One file per kind of problem


def test_territory_problems(tmp_path):
    frame, problems = load(tmp_path, "territory_problems.csv")
    assert messages(problems) == [
        "barometer/territory_problems.csv, line 2, column 'territory': 'QN5972M' is not a territory of the barometer (did you mean 'QN05972M' (Secteur Sud)?)",
        "barometer/territory_problems.csv, line 3, column 'territory': 'Secteur Sud' is not a territory of the barometer (did you mean 'QN05972M' (Secteur Sud)?)",
        "barometer/territory_problems.csv, line 4, column 'territory': is missing (give the QPV code (e.g. QN05972M), MEL or MEL_HORS_QPV)",
        "barometer/territory_problems.csv, line 5, column 'territory': 'Paris' is not a territory of the barometer (use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), MEL or MEL_HORS_QPV)",
    ]
    assert frame[["territory", "line"]].values.tolist() == [["MEL", 6]]  # 'mel' is accepted


def test_year_problems(tmp_path):
    frame, problems = load(tmp_path, "year_problems.csv")
    assert messages(problems) == [
        "barometer/year_problems.csv, line 2, column 'year': '20l6' is not a year (write the year with 4 digits, e.g. 2019)",
        "barometer/year_problems.csv, line 3, column 'year': '2035' is outside the barometer's years (use a year from 2006 to 2030)",
        "barometer/year_problems.csv, line 4, column 'year': is not a year (write the year with 4 digits, e.g. 2019)",
    ]
    assert frame["year"].tolist() == [2006]


def test_indicator_problems(tmp_path):
    frame, problems = load(tmp_path, "indicator_problems.csv")
    assert messages(problems) == [
        "barometer/indicator_problems.csv, line 2, column 'indicator': 'jobseeker' is not an indicator of the barometer (did you mean 'jobseekers'?)",
        "barometer/indicator_problems.csv, line 3, column 'indicator': 'demandeurs d'emploi' is not an indicator of the barometer (did you mean 'jobseekers'?)",
        "barometer/indicator_problems.csv, line 4, column 'indicator': 'chiffre d'affaires' is not an indicator of the barometer (use one of population_15_64, employed_15_64, population, jobseekers, poor_population, fiscal_population, caf_recipients, caf_fully_dependent, business_creations)",
        "barometer/indicator_problems.csv, line 5, column 'indicator': is missing (give the indicator code, e.g. jobseekers)",
    ]
    assert frame.empty


def test_sex_and_age_band_problems(tmp_path):
    frame, problems = load(tmp_path, "sex_age_problems.csv")
    assert messages(problems) == [
        "barometer/sex_age_problems.csv, line 2, column 'sex': 'X' is not a known sex value (use ensemble, F or M (total, femmes, hommes), or leave it blank)",
        "barometer/sex_age_problems.csv, line 3, column 'age_band': '15-29' is not a known age band (use total, 15-24, 25-54, 55-64, or leave it blank for total)",
    ]
    assert frame[["sex", "age_band", "line"]].values.tolist() == [["M", "15-24", 4]]  # 'hommes', '15 à 24 ans'


def test_value_problems(tmp_path):
    frame, problems = load(tmp_path, "value_problems.csv")
    assert messages(problems) == [
        "barometer/value_problems.csv, line 2, column 'value': '1 2O0' is not a number (use digits, decimal comma allowed, e.g. 1 250,5; write 1250 or 1,25 rather than 1.250)",
        "barometer/value_problems.csv, line 3, column 'value': '-4' is negative (a count is 0 or more)",
        "barometer/value_problems.csv, line 4, column 'value': is missing (give the count, or remove the row (a value withheld by statistical secrecy is left out))",
    ]
    assert frame[["value", "line"]].values.tolist() == [[0.0, 5]]


def test_vintage_problems(tmp_path):
    """A vintage N pools the surveys N-2..N+2: 2020 for 2018 is accepted, 2012 for 2017 and 2022 for
    2019 are not."""
    frame, problems = load(tmp_path, "vintage_problems.csv")
    assert messages(problems) == [
        "barometer/vintage_problems.csv, line 2, column 'vintage': '2O17' is not a year (give the census vintage with 4 digits, e.g. 2017, or leave it blank)",
        "barometer/vintage_problems.csv, line 3, column 'vintage': '2012' is more than 2 years away from the row's year (a census vintage N pools the surveys of N-2 to N+2: use a vintage within 2 years of the year)",
        "barometer/vintage_problems.csv, line 5, column 'vintage': '2022' is more than 2 years away from the row's year (a census vintage N pools the surveys of N-2 to N+2: use a vintage within 2 years of the year)",
    ]
    assert frame[["year", "vintage", "sampled"]].astype(object).values.tolist() == [[2018, 2020, True]]


def test_missing_source(tmp_path):
    frame, problems = load(tmp_path, "source_problems.csv")
    assert messages(problems) == [
        "barometer/source_problems.csv, line 2, column 'source': is missing (name the producer of the value, e.g. INSEE, recensement)"
    ]
    assert frame["source"].tolist() == ["CAF"]


def test_sampled_problems(tmp_path):
    frame, problems = load(tmp_path, "sampled_problems.csv")
    assert messages(problems) == [
        "barometer/sampled_problems.csv, line 2, column 'sampled': 'peut-être' is not oui or non (write oui (a sample survey such as the census) or non)"
    ]
    assert frame["sampled"].tolist() == [False]  # 'non' overrides the census default


def test_duplicates_in_a_file_compare_canonical_values(tmp_path):
    """Line 4 (qn05972m, Population, ensemble, total) is line 2 (QN05972M, population, blank, blank)."""
    frame, problems = load(tmp_path, "duplicate_problems.csv")
    assert messages(problems) == [
        "barometer/duplicate_problems.csv, line 4, column 'territory': 'qn05972m' appears twice for this year, indicator, sex and age band in this file (first at line 2) (keep one row per territory, year, indicator, sex and age band)"
    ]
    assert frame[["sex", "value"]].values.tolist() == [["ensemble", 53000.0], ["F", 27000.0]]


def test_duplicates_across_files_name_both_places(tmp_path):
    frame, problems = load(tmp_path, "barometer_other.csv", "barometer_utf8.csv")
    assert messages(problems) == [
        "barometer/barometer_utf8.csv, line 5, column 'territory': 'MEL / 2016 / jobseekers / ensemble / total' is also given in barometer_other.csv, line 2; both rows are left out (keep the value in one file only)"
    ]
    jobseekers = frame[frame["indicator"] == "jobseekers"]
    assert jobseekers[["year", "value", "file"]].values.tolist() == [
        [2017, 96800.0, "barometer_other.csv"],
    ]  # which of the two 2016 values is right cannot be guessed: both are left out


def test_employed_above_population_in_a_file_and_across_files(tmp_path):
    """15-24: 11 500 employed for 11 000 people (same file); 25-54: 20 000 employed for 19 000 people
    (population in another file); total: 11 000 <= 48 000 is fine."""
    frame, problems = load(tmp_path, "employed_problems.csv")
    assert messages(problems) == [
        "barometer/employed_problems.csv, line 3, column 'value': '11500' is more than population_15_64 for the same territory, year, sex and age band (11000, line 2) (the employed are part of the population: check both values)"
    ]
    _frame, problems = load(tmp_path / "b", "employed_problems.csv", "employed_population.csv")
    assert messages(problems)[1] == (
        "barometer/employed_problems.csv, line 4, column 'value': '20000' is more than population_15_64 for the same territory, year, sex and age band (19000, employed_population.csv, line 2) (the employed are part of the population: check both values)"
    )
    assert frame[frame["indicator"] == "employed_15_64"][["age_band", "value"]].values.tolist() == [
        ["25-54", 20000.0],
        ["total", 11000.0],
    ]


def test_missing_required_column_suggests_the_french_name(tmp_path):
    frame, problems = load(tmp_path, "missing_columns.csv")
    assert messages(problems) == [
        "barometer/missing_columns.csv, line 1, column 'indicator': required column is missing (add a column 'indicator' (or its French name 'indicateur'))"
    ]
    assert frame.empty


# --------------------------------------------------------------------------------------------------
# Validation of a whole data directory


def test_validate_dataset_counts_barometer_files_and_rows(tmp_path):
    root = make_dataset(tmp_path, ["barometer_utf8.csv", "value_problems.csv"])
    problems, counts = validate_dataset(load_dataset(root), load_plan())
    assert counts["barometer_files"] == 2 and counts["barometer_rows"] == 5 + 1
    assert counts["monitoring_files"] == 0 and counts["spending_files"] == 0
    assert len(problems) == 3


def test_validate_command_exit_statuses(tmp_path, capsys):
    clean = make_dataset(tmp_path / "clean", ["barometer_utf8.csv"])
    assert main(["validate", "--data", str(clean)]) == 0
    findings = make_dataset(tmp_path / "findings", ["year_problems.csv"])
    assert main(["validate", "--data", str(findings)]) == 1
    assert capsys.readouterr().out.count("year_problems.csv, line") == 3
