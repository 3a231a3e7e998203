"""The intake of ``surveys/`` (:mod:`evaluation.intake.surveys`) and the synthetic demo waves (:mod:`evaluation_demo.survey`).

Expected values: the demo's frames as generated (read back through the files, the indicator
recomputed here from the raw codes); problems written out in full (file, line, column, value,
message, fix); the demo's properties from its documented rules (populations of the reference list
times 0.75, QPV under 1 300 inhabitants with one cluster).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.intake.surveys import SURVEY_AGE_BANDS, WAVE_COLUMNS, load_surveys, read_surveys
from evaluation.io import Dataset, Limits
from evaluation.referential.territories import load_qpv
from evaluation.stats.survey import compare_to_baseline, compare_waves, proportion, rake
from evaluation_demo.survey import (
    ADULT_SHARE,
    POPULATION_AGE,
    SURVEY_COLUMNS,
    SURVEY_NAME,
    population_margins,
    survey_descriptions,
    survey_waves,
    write_surveys,
)

# --------------------------------------------------------------------------------------------------
# Demo waves


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "surveys"
    write_surveys(folder)
    return folder


def test_demo_files_read_back_without_problems(demo_folder):
    waves, problems = read_surveys(demo_folder)
    assert problems == []
    assert [(w.description.name, w.year) for w in waves] == [(SURVEY_NAME, 2020), (SURVEY_NAME, 2021)]
    generated = survey_waves()
    for wave in waves:
        frame = generated[wave.year]
        got = wave.respondents
        assert wave.description.synthetic and "SYNTHÉTIQUE" in wave.description.title
        assert wave.description.sheets == ("17", "4a")
        assert list(got.columns) == [
            *WAVE_COLUMNS,
            "image_quartier",
            "mauvaise_image",
            "discrimination_emploi",
            "discrimination_ressentie",
        ]
        assert len(got) == len(frame)
        assert got["respondent_id"].tolist() == frame["respondent_id"].tolist()
        assert np.allclose(got["weight"], frame["weight"], rtol=0, atol=1e-9)
        assert got["cluster"].tolist() == frame["cluster"].astype(str).tolist()
        for column in ("stratum", "qpv", "commune", "sex", "age_band"):
            assert got[column].tolist() == frame[column].tolist(), column
        # Codes read back; 9 (ne sait pas / refus) and blanks are no answer.
        raw = frame["image_quartier"].astype("float")
        answered = raw.where(raw != 9)
        assert got["image_quartier"].astype("float").equals(answered.rename("image_quartier"))
        expected = np.where(answered.isna(), np.nan, (answered >= 3).astype(float))
        assert np.array_equal(got["mauvaise_image"].to_numpy(), expected, equal_nan=True)
        raw = frame["discrimination_emploi"].astype("float")
        expected = np.where(raw.isna() | (raw == 9), np.nan, (raw <= 2).astype(float))
        assert np.array_equal(got["discrimination_ressentie"].to_numpy(), expected, equal_nan=True)


def test_demo_waves_follow_their_rules():
    first, again = survey_waves(), survey_waves()
    qpv = load_qpv()
    for year, frame in first.items():
        pd.testing.assert_frame_equal(frame, again[year])
        assert list(frame.columns) == list(SURVEY_COLUMNS)
        assert frame["respondent_id"].tolist() == [f"R{i:04d}" for i in range(1, len(frame) + 1)]
        assert 700 <= len(frame) <= 900
        # Each QPV's weights add up to its adults (0.75 x population), up to the 4-decimal rounding.
        sums = frame.groupby("stratum")["weight"].sum()
        for area in qpv:
            assert sums[area.code] == pytest.approx(ADULT_SHARE * area.population, abs=1e-4 * 100)
        clusters = frame.groupby("stratum")["cluster"].nunique()
        lonely = {q.code for q in qpv if q.population < 1300}
        assert lonely == {"QN05976M", "QN05977M"}  # Clémenceau-Kiener 1 192, La Briquetterie 1 289
        assert set(clusters[clusters == 1].index) == lonely
        assert (frame["weight"] > 0).all()
        # Item non-response: 9 or blank, a few per cent.
        missing = frame["image_quartier"].isna() | (frame["image_quartier"] == 9)
        assert 0.02 < missing.mean() < 0.09
    assert tuple(POPULATION_AGE) == SURVEY_AGE_BANDS


def test_demo_built_in_improvement_is_seen_by_the_comparison(demo_folder):
    """The model's bad-image share falls by 5.4 points on average (seeds 0-39, module docstring):
    the default seed's interval of the change contains that fall and lies below 0."""
    waves, _ = read_surveys(demo_folder)
    tables = [
        proportion(
            w.respondents["mauvaise_image"], w.respondents["weight"], w.respondents["stratum"], w.respondents["cluster"]
        )
        for w in waves
    ]
    change = compare_waves(*tables).iloc[0]
    assert change["ci_lower"] < -0.054 < change["ci_upper"] < 0
    baseline = compare_to_baseline(tables[1], 0.56, year=2015).iloc[0]
    assert baseline["difference"] < 0 and baseline["pvalue"] < 0.05


def test_demo_margins_rake_the_demo_weights():
    margins = population_margins()
    totals = {key: sum(counts.values()) for key, counts in margins.items()}
    adults = ADULT_SHARE * sum(q.population for q in load_qpv())
    assert totals == pytest.approx({"sex": adults, "age_band": adults}, rel=1e-12)
    frame = survey_waves()[2021]
    raked = rake(frame, margins, weight="weight")
    assert raked.groupby(frame["sex"]).sum().to_dict() == pytest.approx(margins["sex"], rel=1e-8)


def test_demo_description_is_the_yaml_written(demo_folder):
    import yaml

    text = (demo_folder / f"{SURVEY_NAME}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC")
    assert yaml.safe_load(text) == survey_descriptions()[SURVEY_NAME]


# --------------------------------------------------------------------------------------------------
# Problems


DESCRIPTION = """\
name: enquete
title: Enquête test
questions:
  - column: image
    sheet: "17"
    label: Image du quartier ?
    answers: {1: Très bonne, 2: Plutôt bonne, 3: Plutôt mauvaise, 4: Très mauvaise}
    non_response: {9: Ne sait pas}
    indicator: {name: mauvaise_image, label: Mauvaise image, answers: [3, 4]}
"""


def _folder(tmp_path: Path, description: str = DESCRIPTION, **files: str) -> Path:
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "enquete.yaml").write_text(description, encoding="utf-8")
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def _rows(problems):
    return [(p.path.name, p.line, p.column, p.value, p.message, p.hint) for p in problems]


def test_respondent_file_problems_are_all_reported(tmp_path):
    folder = _folder(
        tmp_path,
        enquete_2021__csv="""\
        identifiant;poids;strate;grappe;qpv;commune;sexe;tranche_age;image
        R1;12,5;A;1;QN05972M;Lille;F;18-29;3
        R2;-1;A;1;Secteur Sud;59350;femme;60 ans et plus;Plutôt mauvaise
        R2;abc;A;2;QN05972;Lile;X;12-17;5
        ;3;;2;;;;;
        R5;4;B;1;;;H;;9
        """,
    )
    waves, problems = read_surveys(folder)
    assert _rows(problems) == [
        (
            "enquete_2021.csv",
            3,
            "weight",
            "-1",
            "is not above 0",
            "a respondent who should not count is removed from the file, not weighted 0",
        ),
        ("enquete_2021.csv", 4, "age_band", "12-17", "is not a known value", "use one of 18-29, 30-44, 45-59, 60+"),
        ("enquete_2021.csv", 4, "commune", "Lile", "is not a known value", "did you mean 'Lille'?"),
        (
            "enquete_2021.csv",
            4,
            "image",
            "5",
            "is not an answer code of the question",
            "use 1 Très bonne, 2 Plutôt bonne, 3 Plutôt mauvaise, 4 Très mauvaise, 9 Ne sait pas, or leave blank for no answer",
        ),
        ("enquete_2021.csv", 4, "qpv", "QN05972", "is not a known value", "did you mean 'QN05972M'?"),
        (
            "enquete_2021.csv",
            4,
            "respondent_id",
            None,
            "respondent id given twice (id not shown)",
            "same id as line 3: give each respondent one row and his own id",
        ),
        (
            "enquete_2021.csv",
            4,
            "sex",
            "X",
            "is not a known value",
            "write F or M (femme, homme); numeric codes are not accepted",
        ),
        ("enquete_2021.csv", 4, "weight", "abc", "is not a number", "use digits, decimal comma allowed, e.g. 12,53"),
        (
            "enquete_2021.csv",
            5,
            "respondent_id",
            None,
            "respondent id is missing",
            "give every respondent an anonymous id, e.g. R0001",
        ),
        (
            "enquete_2021.csv",
            5,
            "stratum",
            None,
            "stratum is missing",
            "every respondent belongs to a stratum and a cluster of the design",
        ),
    ]
    # Rows 2 and 6 are kept; a label, a QPV name, an INSEE code and "60 ans et plus" are read.
    (wave,) = waves
    frame = wave.respondents
    assert frame["line"].tolist() == [2, 6]
    assert frame["weight"].tolist() == [12.5, 4.0]
    assert frame["qpv"].tolist() == ["QN05972M", None]
    assert frame["sex"].tolist() == ["F", "M"]
    assert frame["image"].tolist() == [3, pd.NA]
    assert frame["mauvaise_image"].iloc[0] == 1.0 and math.isnan(frame["mauvaise_image"].iloc[1])


def test_labels_names_and_codes_are_accepted(tmp_path):
    folder = _folder(
        tmp_path,
        enquete_2021__csv="""\
        identifiant;poids;qpv;commune;sexe;tranche_age;image
        R1;1,5;Secteur Sud;59350;femme;60 ans et plus;Plutôt mauvaise
        R2;2;qn05972m;LILLE;Homme;de 18 à 29 ans;très bonne
        """,
    )
    (wave,), problems = read_surveys(folder)
    assert problems == []
    frame = wave.respondents
    assert frame["qpv"].tolist() == ["QN05972M", "QN05972M"]
    assert frame["commune"].tolist() == ["Lille", "Lille"]
    assert frame["age_band"].tolist() == ["60+", "18-29"]
    assert frame["image"].tolist() == [3, 1]
    assert frame["mauvaise_image"].tolist() == [1.0, 0.0]


def test_headers_missing_and_unknown(tmp_path):
    folder = _folder(
        tmp_path,
        enquete_2021__csv="""\
        identifiant;nom;image
        R1;Dupont;3
        """,
    )
    waves, problems = read_surveys(folder)
    assert waves == []
    assert [(p.line, p.column, p.message) for p in problems] == [
        (1, "n°2", "unknown column (heading not shown)"),
        (1, "weight", "required column is missing"),
    ]
    assert problems[1].hint == "add a column 'weight' (or its French name 'poids')"
    assert all("Dupont" not in str(p) for p in problems)


def test_unweighted_survey_needs_no_weight_column(tmp_path):
    folder = _folder(
        tmp_path,
        DESCRIPTION.replace("title: Enquête test", "title: Enquête test\nweights: false"),
        enquete_2021__csv="identifiant;sexe;image\nR1;F;3\nR2;M;\n",
    )
    (wave,), problems = read_surveys(folder)
    assert problems == [] and not wave.description.weighted
    assert wave.respondents["weight"].isna().all()


def test_excel_wave_is_read(tmp_path):
    from openpyxl import Workbook

    folder = _folder(tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["identifiant", "poids", "strate", "grappe", "image"])
    sheet.append(["R1", 12.25, "A", 1, 4])
    sheet.append(["R2", 3, "A", 2.0, None])
    book.save(folder / "enquete_2020.xlsx")
    (wave,), problems = read_surveys(folder)
    assert problems == []
    assert wave.year == 2020
    assert wave.respondents["weight"].tolist() == [12.25, 3.0]
    assert wave.respondents["cluster"].tolist() == ["1", "2"]
    assert wave.respondents["image"].tolist() == [4, pd.NA]


def test_file_level_problems(tmp_path):
    folder = _folder(
        tmp_path,
        DESCRIPTION.replace("title: Enquête test", "title: Enquête test\nyears: [2020, 2021]"),
        enquete__csv="identifiant;poids;image\nR1;1;3\n",
        autre_2021__csv="identifiant;poids;image\nR1;1;3\n",
        enquete_2019__csv="identifiant;poids;image\nR1;1;3\n",
        enquete_2021__csv="identifiant;poids;image\nR1;1;3\n",
    )
    (folder / "enquete_2021.xlsx").write_bytes(b"")
    secret = tmp_path / "secret.csv"
    secret.write_text("identifiant;poids;image\nR1;1;3\n", encoding="utf-8")
    (folder / "enquete_2020.csv").symlink_to(secret)
    waves, problems = read_surveys(folder)
    assert waves == []
    assert sorted((p.path.name, p.value, p.message) for p in problems) == [
        ("autre_2021.csv", None, "has no description, it is not read"),
        ("enquete.csv", None, "is not named <survey>_<year>, it is not read"),
        ("enquete_2019.csv", 2019, "is not a year of the survey's waves, the file is not read"),
        ("enquete_2020.csv", None, "is a symbolic link: links are not followed, the file it points to is not read"),
        (
            "enquete_2021.csv",
            None,
            "is one of 2 files of the wave 2021 (enquete_2021.csv, enquete_2021.xlsx); none is read",
        ),
        (
            "enquete_2021.xlsx",
            None,
            "is one of 2 files of the wave 2021 (enquete_2021.csv, enquete_2021.xlsx); none is read",
        ),
    ]


def test_missing_folder_is_no_problem(tmp_path):
    assert read_surveys(tmp_path / "surveys") == ([], [])
    dataset = Dataset(path=tmp_path, name="test", demo=False, provenance="tests")
    assert load_surveys(dataset) == ([], [])


def test_limits_are_applied(tmp_path):
    folder = _folder(tmp_path, enquete_2021__csv="identifiant;poids;image\n" + "R1;1;3\n" * 20)
    waves, problems = read_surveys(folder, Limits(max_rows=10))
    assert waves == [] and problems[0].fatal and "max_rows" in problems[0].hint


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("title: Enquête test", "titel: Enquête test"),
            [
                (2, "titel", "unknown key", "did you mean 'title'?"),
                (1, None, "'title' is missing or not a text", "write title: followed by a text"),
            ],
        ),
        (
            ("name: enquete", "name: autre"),
            [(1, "name", "differs from the file's name 'enquete'", "write name: enquete, or rename the file")],
        ),
        (
            ('sheet: "17"', 'sheet: "17x"'),
            [(5, "questions[0].sheet", "is not a sheet of the plan", "did you mean '17'?")],
        ),
        (
            ("answers: [3, 4]", "answers: [3, 5]"),
            [
                (
                    9,
                    "questions[0].indicator.answers",
                    "is not one of the question's answer codes",
                    "use codes of 'answers': 1, 2, 3, 4",
                )
            ],
        ),
        (
            ("non_response: {9: Ne sait pas}", "non_response: {4: Ne sait pas}"),
            [
                (
                    8,
                    "questions[0].non_response",
                    "is both an answer and a non-response code",
                    "keep it in one of the two",
                )
            ],
        ),
        (
            ("column: image", "column: sexe"),
            [
                (
                    4,
                    "questions[0].column",
                    "is the name of a design column (identifiant, poids, sexe...)",
                    "rename the question's column",
                )
            ],
        ),
        (
            ("indicator: {", "baseline: {value: 56, year: 2015, source: étude}\n    indicator: {"),
            [(9, "questions[0].baseline.value", "is not a fraction between 0 and 1", "write 0.56 for 56 %")],
        ),
    ],
)
def test_description_problems(tmp_path, change, expected):
    folder = _folder(tmp_path, DESCRIPTION.replace(*change), enquete_2021__csv="identifiant;poids;image\nR1;1;3\n")
    waves, problems = read_surveys(folder)
    assert waves == []
    description_problems = [p for p in problems if p.path.name == "enquete.yaml"]
    assert [(p.line, p.column, p.message, p.hint) for p in description_problems] == expected
    assert [p.message for p in problems if p.path.name != "enquete.yaml"] == [
        "has a description with problems, it is not read"
    ]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("name: [unclosed\n", "is not valid YAML (expected ',' or ']', but got '<stream end>')", 2),
        ("base: &b {x: 1}\nname: *b\n", "uses a YAML anchor or alias (& or *)", 1),
        ("- a list\n", "is not a YAML mapping", None),
    ],
)
def test_unreadable_descriptions(tmp_path, text, message, line):
    waves, problems = read_surveys(_folder(tmp_path, text))
    assert waves == []
    (problem,) = problems
    assert (problem.message, problem.line, problem.fatal) == (message, line, True)


def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path):
    """Nine levels of nine aliases would expand to 387 420 489 strings: refused from the event stream,
    before any of it is built (the description used to be loaded first, then checked)."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    waves, problems = read_surveys(_folder(tmp_path, "\n".join(levels) + "\n"))
    assert waves == []
    assert [(p.message, p.line, p.fatal) for p in problems] == [("uses a YAML anchor or alias (& or *)", 1, True)]


def test_a_description_that_is_a_link_is_not_read(tmp_path):
    folder = _folder(tmp_path)
    target = tmp_path / "elsewhere.yaml"
    description = next(folder.glob("*.yaml"))
    target.write_bytes(description.read_bytes())
    description.unlink()
    description.symlink_to(target)
    waves, problems = read_surveys(folder)
    assert waves == []
    assert any(p.path == description and p.fatal and p.message.startswith("is a symbolic link") for p in problems), [
        str(p) for p in problems
    ]


def test_a_surveys_folder_that_is_a_link_is_not_read_through(tmp_path, monkeypatch):
    """``surveys/`` itself a link to a folder holding a good survey: the link is a fatal problem and
    nothing is read through it, the descriptions no more than the respondent files."""
    from evaluation.intake import surveys

    real = _folder(tmp_path)
    linked = tmp_path / "data" / "surveys"
    linked.parent.mkdir()
    linked.symlink_to(real, target_is_directory=True)
    opened = []
    original = surveys._read_description
    monkeypatch.setattr(
        surveys, "_read_description", lambda path, sheets: opened.append(path) or original(path, sheets)
    )
    waves, problems = read_surveys(linked)
    assert waves == [] and opened == []
    assert [p.fatal for p in problems] == [True] and "symbolic link" in problems[0].message, [str(p) for p in problems]
