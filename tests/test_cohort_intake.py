"""Intake of cohort files (``cohorts/``): French and plain CSV, Excel dates, pseudonymisation, every
problem with its place, and no person key or identifier leaving the intake.

Fixtures are the small hand-written files of ``tests/data/cohorts/`` (one per kind of problem); the
expected rows are what those files say, the expected messages are pinned word for word. "Today" is
fixed at 2022-01-15 so that the future-date rule does not depend on the day the tests run. The NIR
of the fixtures are fictitious: 1 85 05 78 006 084 has the key 97 - (1850578006084 mod 97) = 91.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from evaluation.cli import main
from evaluation.intake import (
    COHORT_AGE_BANDS,
    COHORT_COLUMNS,
    COHORT_SEX_VALUES,
    COHORTS,
    DIRECT_IDENTIFIERS,
    EMPLOYMENT_KINDS,
    HORS_QPV,
    MASKED,
    PSEUDONYM_KEY_ENV,
    QUALIFICATIONS,
    Problem,
    _pseudonymise,
    load_cohorts,
    parse_date,
    read_raw,
    validate_dataset,
)
from evaluation.io import load_dataset
from evaluation.referential.plan import load_plan

FIXTURES = Path(__file__).parent / "data" / "cohorts"
TODAY = date(2022, 1, 15)
KEY = "a-test-key-of-32-characters-long"


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    """No test sees a key from the environment unless it sets one."""
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)


def make_dataset(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "data"
    (root / "cohorts").mkdir(parents=True)
    for name in names:
        shutil.copy(FIXTURES / name, root / "cohorts" / name)
    (root / "dataset.yaml").write_text("name: test\ndemo: true\nprovenance: tests\n", encoding="utf-8")
    return root


def load(tmp_path: Path, plan, *names: str) -> tuple[pd.DataFrame, list[Problem]]:
    return load_cohorts(load_dataset(make_dataset(tmp_path, list(names))), plan, today=TODAY)


def messages(problems: list[Problem]) -> list[str]:
    return [str(p).split("/data/", 1)[-1] for p in problems]


def rows(frame: pd.DataFrame) -> list[list]:
    """Rows without file and line, dates as ISO text, missing values as None."""
    columns = [c for c in COHORT_COLUMNS if c not in ("file", "line")]
    table = frame[columns].copy()
    for column in ("entry_date", "observation_start", "first_employment_date", "last_contact_date"):
        table[column] = table[column].dt.strftime("%Y-%m-%d")
    return [[None if pd.isna(v) else v for v in row] for row in table.astype(object).values.tolist()]


#: The five rows of cohorts_utf8.csv and cohorts_fr_cp1252.csv: blank observation start -> the entry
#: date, cohort year = year of entry; no person_id column.
EXPECTED_ROWS = [
    ["9", "2019-03-01", "2019-03-01", "QN05972M", "F", "16-25", "infra-bac", "2019-06-10", "cdi", "2019-07-01", 2019],
    ["5a", "2019-03-04", "2019-04-01", "hors QPV", "M", "26-49", "bac", None, None, "2021-12-01", 2019],
    [
        "12",
        "2020-01-15",
        "2020-01-15",
        "QN05980M",
        "F",
        "16-25",
        "bac+2 et plus",
        "2020-09-30",
        "cdd_6m_plus",
        "2021-01-04",
        2020,
    ],
    ["12", "2020-02-03", "2020-02-03", "QN05972M", "F", "16-25", "infra-bac", None, None, "2020-06-30", 2020],
    [
        "1",
        "2018-11-20",
        "2018-11-20",
        "hors QPV",
        "M",
        "50+",
        "infra-bac",
        "2019-01-07",
        "business_creation",
        "2019-03-01",
        2018,
    ],
]


def test_closed_lists():
    assert list(COHORT_SEX_VALUES) == ["F", "M"]
    assert list(COHORT_AGE_BANDS) == ["16-25", "26-49", "50+"]
    assert list(QUALIFICATIONS) == ["infra-bac", "bac", "bac+2 et plus"]
    assert list(EMPLOYMENT_KINDS) == ["cdi", "cdd_6m_plus", "short_contract", "training", "business_creation"]
    assert [k for k, kind in EMPLOYMENT_KINDS.items() if kind.sustainable] == ["cdi", "cdd_6m_plus"]
    assert HORS_QPV == "hors QPV"
    assert list(DIRECT_IDENTIFIERS) == ["nir", "last_name", "first_name", "birth_date", "email", "phone", "address"]
    assert COHORTS.required == (
        "programme",
        "entry_date",
        "qpv",
        "sex",
        "age_band",
        "qualification",
        "last_contact_date",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-12-31", date(2020, 12, 31)),
        (" 2019-03-01 ", date(2019, 3, 1)),
        (datetime(2020, 12, 31, 0, 0), date(2020, 12, 31)),  # an Excel date cell, as openpyxl reads it
        (date(2020, 12, 31), date(2020, 12, 31)),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value", ["31/12/2020", "12/31/2020", "31.12.2020", "44196", 44196, 44196.0, "2020-02-30", "2020", "demain"]
)
def test_parse_date_refuses(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_utf8_file(tmp_path, plan):
    frame, problems = load(tmp_path, plan, "cohorts_utf8.csv")
    assert problems == []
    assert list(frame.columns) == COHORT_COLUMNS
    assert rows(frame) == EXPECTED_ROWS
    assert frame["line"].tolist() == [2, 3, 4, 5, 6]
    assert set(frame["file"]) == {"cohorts_utf8.csv"}
    dates = ["entry_date", "observation_start", "first_employment_date", "last_contact_date"]
    assert all(str(frame[c].dtype) == "datetime64[ns]" for c in dates)
    assert frame["cohort_year"].dtype == "int64" and frame["line"].dtype == "int64"


def test_french_cp1252_file_reads_like_the_utf8_one(tmp_path, plan):
    """';', French headers (identifiant, dispositif, date_entree, quartier, tranche_age, niveau,
    type_sortie...), printed sheet ids ('fiche 9', '5-A', 'Engagement 1'), lower-case QPV code,
    'HQPV' and 'non' for hors QPV, 'femme'/'homme'/'H', '16 à 25 ans', '50 ans et plus', 'CAP',
    'Baccalauréat', 'sans diplôme', 'CDD de 6 mois ou plus', 'création d'entreprise'; cp1252 bytes."""
    data = (FIXTURES / "cohorts_fr_cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    utf8, p1 = load(tmp_path / "a", plan, "cohorts_utf8.csv")
    french, p2 = load(tmp_path / "b", plan, "cohorts_fr_cp1252.csv")
    assert p1 == [] and p2 == []
    pd.testing.assert_frame_equal(utf8.drop(columns="file"), french.drop(columns="file"))


def test_excel_date_cells_are_read_and_numbers_refused(tmp_path, plan):
    """openpyxl gives real date cells as datetime (accepted); a number cell 44196 is an Excel serial
    and a text cell '31/12/2020' is day/month/year (both refused); the sheet id 9 typed as a number
    is the sheet '9'."""
    root = make_dataset(tmp_path, [])
    book = Workbook()
    sheet = book.active
    sheet.append(list(COHORTS.required) + ["person_id", "first_employment_date", "employment_kind"])
    common = ["QN05972M", "F", "16-25", "bac"]
    sheet.append([9, datetime(2019, 3, 1), *common, datetime(2021, 6, 1), "X1", 44196, "cdi"])
    sheet.append([9, datetime(2019, 3, 1), *common, "31/12/2020", "X2", None, None])
    sheet.append([9, datetime(2019, 3, 1), *common, datetime(2021, 6, 1), 1234, datetime(2019, 9, 2), "CDI"])
    book.save(root / "cohorts" / "beneficiaires.xlsx")
    frame, problems = load_cohorts(load_dataset(root), plan, today=TODAY)
    assert messages(problems) == [
        "cohorts/beneficiaires.xlsx, line 2, column 'first_employment_date': 44196 is an Excel serial number, not a date (format the cell as a date in Excel, or write it year-month-day (ISO 8601); as a serial it would be 2020-12-31 in the 1900 date system, 2025-01-01 in the 1904 date system)",
        "cohorts/beneficiaires.xlsx, line 3, column 'last_contact_date': '31/12/2020' is written day/month/year, which can be read two ways (write dates year-month-day (ISO 8601): 2020-12-31 if it is day/month/year)",
    ]
    assert rows(frame) == [
        ["9", "2019-03-01", "2019-03-01", "QN05972M", "F", "16-25", "bac", "2019-09-02", "cdi", "2021-06-01", 2019]
    ]


def test_empty_folder_gives_an_empty_typed_frame(tmp_path, plan):
    frame, problems = load(tmp_path, plan)
    assert problems == [] and frame.empty
    assert list(frame.columns) == COHORT_COLUMNS


# --------------------------------------------------------------------------------------------------
# One file per kind of problem


def test_date_problems(tmp_path, plan):
    """Missing entry and last contact, day/month/year text (unambiguous 31/12 and ambiguous 01/02),
    an Excel serial as text, an impossible date, a date after today (2022-01-15)."""
    frame, problems = load(tmp_path, plan, "date_problems.csv")
    assert messages(problems) == [
        "cohorts/date_problems.csv, line 2, column 'entry_date': is missing (give the date of entry into the programme, year-month-day, e.g. 2019-03-01)",
        "cohorts/date_problems.csv, line 3, column 'entry_date': '31/12/2020' is written day/month/year, which can be read two ways (write dates year-month-day (ISO 8601): 2020-12-31 if it is day/month/year)",
        "cohorts/date_problems.csv, line 4, column 'entry_date': '44196' is an Excel serial number, not a date (format the cell as a date in Excel, or write it year-month-day (ISO 8601); as a serial it would be 2020-12-31 in the 1900 date system, 2025-01-01 in the 1904 date system)",
        "cohorts/date_problems.csv, line 5, column 'entry_date': '2020-02-30' is not a date (write the date of entry into the programme year-month-day (ISO 8601), e.g. 2020-12-31)",
        "cohorts/date_problems.csv, line 6, column 'first_employment_date': '01/02/2020' is written day/month/year, which can be read two ways (write dates year-month-day (ISO 8601): 2020-02-01 if it is day/month/year)",
        "cohorts/date_problems.csv, line 7, column 'last_contact_date': '2023-01-01' is after today (2022-01-15) (a date cannot be in the future: check the year)",
        "cohorts/date_problems.csv, line 8, column 'last_contact_date': is missing (give the date of the latest news of the person, year-month-day: it ends the follow-up)",
    ]
    assert frame["line"].tolist() == [9]
    assert frame["observation_start"].dt.strftime("%Y-%m-%d").tolist() == ["2019-06-01"]  # a late entry


def test_future_dates_are_judged_against_today(tmp_path, plan):
    """The same file a year later: 2023-01-01 is no longer in the future."""
    _frame, problems = load_cohorts(load_dataset(make_dataset(tmp_path, ["date_problems.csv"])), plan, date(2023, 6, 1))
    assert not any("after today" in m for m in messages(problems))


def test_order_problems(tmp_path, plan):
    """entry <= observation start < first employment <= last contact; entry <= last contact; a first
    employment on the entry date is refused (entry < event time). Line 9: a late entry (2019-05-20)
    and a job the next day, last contact that day: accepted."""
    frame, problems = load(tmp_path, plan, "order_problems.csv")
    assert messages(problems) == [
        "cohorts/order_problems.csv, line 2, column 'first_employment_date': '2019-04-01' is before the entry date (2019-05-02) (a job held before entry is not an outcome of the programme: check both dates)",
        "cohorts/order_problems.csv, line 3, column 'first_employment_date': '2019-05-02' is the entry date: the first employment must come after entry (entry < event time) (a job that starts the day of entry is not an outcome of the programme: check both dates)",
        "cohorts/order_problems.csv, line 4, column 'first_employment_date': '2019-07-01' is after the last contact (2019-06-01) (the last contact is the latest news of the person, on or after the first employment: check both dates)",
        "cohorts/order_problems.csv, line 5, column 'last_contact_date': '2019-04-30' is before the entry date (2019-05-02) (check both dates)",
        "cohorts/order_problems.csv, line 6, column 'observation_start': '2019-04-15' is before the entry date (2019-05-02) (observation starts at entry or later (late entry): leave it blank to start at entry)",
        "cohorts/order_problems.csv, line 7, column 'observation_start': '2019-06-15' is not before the first employment (2019-06-15) (a person enters observation before the event (entry < event time): check both dates)",
        "cohorts/order_problems.csv, line 8, column 'observation_start': '2019-10-01' is after the last contact (2019-09-01) (check both dates)",
    ]
    assert rows(frame) == [
        ["9", "2019-05-02", "2019-05-20", "QN05972M", "F", "16-25", "bac", "2019-05-21", "training", "2019-05-21", 2019]
    ]


def test_category_problems(tmp_path, plan):
    """Closed lists: sex, age band, qualification ('niveau 3' is refused: CAP in the 2019 nomenclature,
    bac+2 in the 1969 one), kind ('CDD' alone says neither 6 months or more nor less); a kind without
    a date and a date without a kind. Line 9: 'Femmes', 'Bac pro', 'contrat court' are accepted."""
    frame, problems = load(tmp_path, plan, "category_problems.csv")
    assert messages(problems) == [
        "cohorts/category_problems.csv, line 2, column 'sex': 'X' is not F or M (write F or M (femme, homme))",
        "cohorts/category_problems.csv, line 3, column 'age_band': '15-24' is not a known age band (use 16-25, 26-49, 50+ (age at entry))",
        "cohorts/category_problems.csv, line 4, column 'qualification': 'niveau 3' is not a known level of qualification (use infra-bac, bac, bac+2 et plus)",
        "cohorts/category_problems.csv, line 5, column 'employment_kind': 'CDD' is not a known kind of employment (use cdi, cdd_6m_plus, short_contract, training, business_creation (CDI, CDD de 6 mois ou plus, Contrat court (moins de 6 mois), Formation, Création d'entreprise))",
        "cohorts/category_problems.csv, line 6, column 'first_employment_date': is missing while a kind of employment is given (give the date of the first employment, or leave the kind blank if the person has not found work)",
        "cohorts/category_problems.csv, line 7, column 'employment_kind': is missing while a first employment date is given (give the kind: cdi, cdd_6m_plus, short_contract, training, business_creation)",
        "cohorts/category_problems.csv, line 8, column 'sex': is missing (write F or M (femme, homme))",
    ]
    assert frame[["sex", "qualification", "employment_kind", "line"]].values.tolist() == [
        ["F", "bac", "short_contract", 9]
    ]


def test_programme_problems(tmp_path, plan):
    """Unknown programmes get the closest sheet, by title or by id; '5-A' and 'fiche 9' are accepted."""
    frame, problems = load(tmp_path, plan, "programme_problems.csv")
    assert messages(problems) == [
        "cohorts/programme_problems.csv, line 2, column 'programme': 'Start-up emploi' is not a sheet of the plan (did you mean '9' (Start-up Emploi)?)",
        "cohorts/programme_problems.csv, line 3, column 'programme': '5-D' is not a sheet of the plan (did you mean '5' (Fabrique MEL Entreprendre)?)",
        "cohorts/programme_problems.csv, line 4, column 'programme': is missing (give the sheet id of the programme, e.g. 9 (see 'evaluation plan'))",
    ]
    assert frame[["programme", "line"]].values.tolist() == [["5a", 5], ["9", 6]]


def test_qpv_problems(tmp_path, plan):
    """A mistyped code and a QPV name get the code; a 2015-geography code (QP059...) is named as such;
    'non' is hors QPV and a lower-case code is accepted."""
    frame, problems = load(tmp_path, plan, "qpv_problems.csv")
    assert messages(problems) == [
        "cohorts/qpv_problems.csv, line 2, column 'qpv': 'QN5972M' is not a QPV of the MEL (did you mean 'QN05972M' (Secteur Sud)?)",
        "cohorts/qpv_problems.csv, line 3, column 'qpv': 'Secteur Sud' is not a QPV of the MEL (did you mean 'QN05972M' (Secteur Sud)?)",
        "cohorts/qpv_problems.csv, line 4, column 'qpv': 'QP059001' is not a QPV of the MEL (this is a code of the 2015 geography: give the 2024 code (QN...) of the same neighbourhood, see data/reference/qpv_mel_2024.csv)",
        "cohorts/qpv_problems.csv, line 5, column 'qpv': is missing (give the QPV code of the person's address (e.g. QN05972M), or 'hors QPV')",
        "cohorts/qpv_problems.csv, line 6, column 'qpv': 'Paris' is not a QPV of the MEL (use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), or 'hors QPV')",
    ]
    assert frame[["qpv", "line"]].values.tolist() == [["hors QPV", 7], ["QN05972M", 8]]


def test_duplicates_in_a_file_compare_canonical_programmes_and_mask_the_person(tmp_path, plan):
    """Line 4 (X1, 'fiche 9') is line 2 (X1, 9); X1 in programme 12 (line 3) is not a duplicate."""
    frame, problems = load(tmp_path, plan, "duplicate_problems.csv")
    assert messages(problems) == [
        "cohorts/duplicate_problems.csv, line 4, column 'person_id': (identifiant masqué) appears twice in programme 9 in this file (first at line 2) (keep one row per person and programme)"
    ]
    assert problems[0].value is MASKED
    assert frame[["programme", "line"]].values.tolist() == [["9", 2], ["12", 3], ["9", 5]]


def test_duplicates_across_files_name_both_places(tmp_path, plan):
    frame, problems = load(tmp_path, plan, "cohorts_utf8.csv", "duplicate_other.csv")
    assert messages(problems) == [
        "cohorts/duplicate_other.csv, line 2, column 'person_id': (identifiant masqué) is also in programme 12 in cohorts_utf8.csv, line 4; both rows are left out (keep one row per person and programme, in one file only)"
    ]
    assert frame[["file", "line"]].values.tolist() == [
        ["cohorts_utf8.csv", 2],
        ["cohorts_utf8.csv", 3],
        ["cohorts_utf8.csv", 5],
        ["cohorts_utf8.csv", 6],
        ["duplicate_other.csv", 3],
    ]  # which of the two rows of A003 in programme 12 is right cannot be guessed: both are left out


def test_a_file_without_person_key_or_identifiers(tmp_path, plan):
    frame, problems = load(tmp_path, plan, "missing_person.csv")
    assert messages(problems) == [
        "cohorts/missing_person.csv, column 'person_id': required column is missing (add a column 'person_id' (or its French name 'identifiant'), or the direct identifiers (NIR, or nom, prénom and date de naissance) to be pseudonymised at intake)"
    ]
    assert not problems[0].fatal and frame.empty


def test_missing_required_column_suggests_the_french_name(tmp_path, plan):
    root = make_dataset(tmp_path, [])
    (root / "cohorts" / "sans_sexe.csv").write_text(
        "identifiant,dispositif,date_entree,quartier,tranche_age,niveau,date_dernier_contact\n"
        "A1,9,2019-05-02,QN05972M,16-25,bac,2021-06-01\n",
        encoding="utf-8",
    )
    frame, problems = load_cohorts(load_dataset(root), plan, today=TODAY)
    assert messages(problems) == [
        "cohorts/sans_sexe.csv, line 1, column 'sex': required column is missing (add a column 'sex' (or its French name 'sexe'))"
    ]
    assert frame.empty


# --------------------------------------------------------------------------------------------------
# Pseudonymisation and privacy


#: Every identifying value of identifiers.csv and identifiers_other.csv (folded to lower case).
IDENTIFYING = [
    "dupont",
    "jean",
    "1990-05-17",
    "1 85 05 78 006 084",
    "1850578006084",
    "185057800608491",
    "example.org",
    "06 12 34 56 78",
    "martin",
    "hélène",
    "helene",
    "1995-02-11",
    "durand",
    "léa",
    "petit",
    "07 00 00 00 00",
    "leroy",
    "paul",
    "1988-01-01",
    "moreau",
    "julie",
    "17/05/1990",
]


def test_direct_identifiers_are_pseudonymised_and_every_problem_masks_them(tmp_path, plan, monkeypatch):
    """identifiers.csv: line 2 NIR with its key (and name, e-mail, phone); 3 name + birth date;
    4 name + e-mail; 5 a name and a phone only (not enough); 6 a NIR with a wrong key (00 for 91);
    7 a birth date written day/month/year; 8 the NIR of line 2 without spaces nor key, in 'fiche 9'
    (the same person and programme as line 2); 9 'MARTIN helene' of line 3 in programme 12 (another
    programme: kept). identifiers_other.csv: the NIR of line 2 again, with its key, in programme 9."""
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    frame, problems = load(tmp_path, plan, "identifiers.csv", "identifiers_other.csv")
    assert messages(problems) == [
        "cohorts/identifiers.csv, line 5, column 'last_name, first_name': are not enough to pseudonymise the person (give the NIR, or the nom, prénom and date de naissance (or courriel))",
        "cohorts/identifiers.csv, line 6, column 'nir': (identifiant masqué) is not a valid NIR (check the social security number (13 characters, or 15 with its key), or leave it blank to use the name, first name and birth date)",
        "cohorts/identifiers.csv, line 7, column 'birth_date': (identifiant masqué) is not a date (write it year-month-day (ISO 8601), e.g. 1987-10-24)",
        "cohorts/identifiers.csv, line 8, column 'nir': (identifiant masqué) appears twice in programme 9 in this file (first at line 2) (keep one row per person and programme)",
        "cohorts/identifiers_other.csv, line 2, column 'nir': (identifiant masqué) is also in programme 9 in identifiers.csv, line 2; both rows are left out (keep one row per person and programme, in one file only)",
    ]
    assert frame[["programme", "qpv", "line"]].values.tolist() == [
        ["9", "hors QPV", 3],
        ["12", "QN05980M", 4],
        ["12", "hors QPV", 9],
    ]
    assert list(frame.columns) == COHORT_COLUMNS  # no person key, no identifier
    published = frame.to_csv(index=False).lower() + "\n".join(messages(problems)).lower()
    assert [value for value in IDENTIFYING if value in published] == []
    assert all(p.value is MASKED or p.value is None for p in problems)
    assert KEY not in published


def test_the_keyed_hash_follows_the_documented_normalisation(monkeypatch):
    """Independent computation with hmac/hashlib of the rule in load_cohorts' docstring: 'nir:' + the
    13 first characters of the NIR, else 'nom:' + folded last name + '|' + folded first name +
    '|naissance:' + ISO birth date, else '|courriel:' + the lower-case e-mail."""
    table, problems = read_raw(FIXTURES / "identifiers.csv", COHORTS, private=True)
    assert problems == []
    pseudonymised, problems, basis = _pseudonymise(table, KEY)

    def keyed(material: str) -> str:
        return "hmac:" + hmac.new(KEY.encode(), material.encode(), hashlib.sha256).hexdigest()

    persons = pseudonymised.frame["person_id"]
    assert persons[2] == keyed("nir:1850578006084") == persons[8]
    assert persons[3] == keyed("nom:martin|helene|naissance:1995-02-11") == persons[9]
    assert persons[4] == keyed("nom:durand|lea|courriel:lea.durand@example.org")
    assert basis[2] == "nir" and basis[3] == "last_name, first_name, birth_date"
    assert not set(DIRECT_IDENTIFIERS) & set(pseudonymised.frame.columns)
    assert not set(DIRECT_IDENTIFIERS) & set(pseudonymised.columns)
    _other, _problems, _basis = _pseudonymise(table, KEY + "x")
    assert _other.frame["person_id"][2] != persons[2]  # another key, another pseudonym


@pytest.mark.parametrize(("key", "state"), [(None, "is not set"), ("short-key", "is shorter than 16 characters")])
def test_identifiers_without_a_key_are_a_fatal_problem(tmp_path, plan, monkeypatch, key, state):
    """Never an unkeyed hash: the file is not read at all, and the problem is fatal (exit status 2)."""
    if key is not None:
        monkeypatch.setenv(PSEUDONYM_KEY_ENV, key)
    frame, problems = load(tmp_path, plan, "identifiers_other.csv")
    assert messages(problems) == [
        f"cohorts/identifiers_other.csv, column 'nir': holds direct identifiers (NIR) and the environment variable EVALUATION_PSEUDONYM_KEY {state}: they cannot be pseudonymised, the file is not read (set EVALUATION_PSEUDONYM_KEY to a secret of 16 characters or more, the same for every run (e.g. export EVALUATION_PSEUDONYM_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')), kept out of the data folder and of any repository)"
    ]
    assert problems[0].fatal and frame.empty


def test_a_file_without_header_line_shows_no_cell(tmp_path, plan):
    """The first row of persons is read as a header: its cells are named by position, never shown."""
    frame, problems = load(tmp_path, plan, "no_header.csv")
    printed = "\n".join(messages(problems))
    assert messages(problems)[0] == (
        "cohorts/no_header.csv, line 1, column 'n°1': unknown column (heading not shown) (expected columns: "
        "programme, entry_date, qpv, sex, age_band, qualification, last_contact_date, person_id, "
        "observation_start, first_employment_date, employment_kind)"
    )
    assert "A001" not in printed and "2019-03-01" not in printed and "QN05972M" not in printed
    assert frame.empty


def test_extra_cells_are_not_shown(tmp_path, plan):
    frame, problems = load(tmp_path, plan, "extra_cells.csv")
    assert messages(problems) == [
        "cohorts/extra_cells.csv, line 2: has 2 cell(s) more than the header (a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number)"
    ]
    assert frame["line"].tolist() == [3]


def test_the_person_key_never_leaves_the_intake(tmp_path, plan):
    frame, problems = load(tmp_path, plan, "cohorts_utf8.csv", "duplicate_problems.csv")
    assert "person_id" not in frame.columns and list(frame.columns) == COHORT_COLUMNS
    published = frame.to_csv(index=False) + "\n".join(messages(problems))
    assert not any(person in published for person in ("A001", "A002", "A003", "A004", "X1", "X2"))


# --------------------------------------------------------------------------------------------------
# Validation of a whole data directory


def test_validate_dataset_counts_cohort_files_and_rows(tmp_path, plan):
    root = make_dataset(tmp_path, ["cohorts_utf8.csv", "order_problems.csv"])
    problems, counts = validate_dataset(load_dataset(root), plan)
    assert counts["cohorts_files"] == 2 and counts["cohorts_rows"] == 5 + 1
    assert counts["monitoring_files"] == 0 and counts["barometer_files"] == 0
    assert len(problems) == 7


def test_validate_command_exit_statuses(tmp_path, capsys, monkeypatch):
    clean = make_dataset(tmp_path / "clean", ["cohorts_utf8.csv"])
    assert main(["validate", "--data", str(clean)]) == 0
    findings = make_dataset(tmp_path / "findings", ["order_problems.csv"])
    assert main(["validate", "--data", str(findings)]) == 1
    assert capsys.readouterr().out.count("order_problems.csv, line") == 7
    unkeyed = make_dataset(tmp_path / "unkeyed", ["identifiers.csv"])
    assert main(["validate", "--data", str(unkeyed)]) == 2
    out = capsys.readouterr().out
    assert "EVALUATION_PSEUDONYM_KEY is not set" in out
    assert not any(value in out.lower() for value in IDENTIFYING)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    assert main(["validate", "--data", str(unkeyed)]) == 1  # keyed: the row problems remain
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err
    assert not any(value in captured.out.lower() for value in IDENTIFYING)


def test_the_cache_of_loaded_inputs_follows_the_key(tmp_path, plan, monkeypatch):
    """Loads are remembered per state of the files (``intake._cache._remembered``): setting the key after
    a refused load must read the file again, and another key must give other pseudonyms."""
    from evaluation import intake

    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    dataset = load_dataset(make_dataset(tmp_path, ["identifiers_other.csv"]))
    frame, problems = load_cohorts(dataset, plan, today=TODAY)
    assert problems[0].fatal and frame.empty
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    frame, problems = load_cohorts(dataset, plan, today=TODAY)
    assert problems == [] and len(frame) == 1

    seen = []
    original = intake.cohorts._pseudonymise

    def spy(table, key):
        seen.append(key)
        return original(table, key)

    monkeypatch.setattr(intake.cohorts, "_pseudonymise", spy)
    load_cohorts(dataset, plan, today=TODAY)
    assert seen == []  # same files, same key: remembered
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY + "x")
    load_cohorts(dataset, plan, today=TODAY)
    assert seen == [KEY + "x"]  # another key: read again
