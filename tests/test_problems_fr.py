"""The intake's problems in French for the reports, in English for the command line.

Every problem carries its French text beside its English one (:class:`evaluation.intake.Problem`:
``message_fr``, ``hint_fr``; a schema check's :class:`~evaluation.intake.schema.Message`: ``text_fr``,
``fix_fr``), and :meth:`Problem.french` is the one place that renders it. Checked here:

- a problem or a message cannot be made without its French (refused when it is made);
- every message of every schema has a French text and fix, with the same fields (``{suggestion}``...)
  as the English, and no English word;
- every place of the intake that builds a problem, a French phrase or an unreadable-file error is run
  by the small bad files below (line coverage of those places, traced while they are read), and every
  problem they give renders in French without an English word;
- a few French renderings written out by hand, the English one unchanged beside them;
- the reports' banner of data problems (:func:`data_problems_block`) on a dataset with bad rows is French.

The English texts themselves are pinned word for word by the intake's own tests (``test_intake*.py``,
``test_cohort_intake.py``, ``test_barometer_intake.py``, ``test_survey_intake.py``, ``test_impact_report.py``).
"""

from __future__ import annotations

import ast
import errno
import html
import io
import re
import string
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

import evaluation.intake
from evaluation.intake import MASKED, PSEUDONYM_KEY_ENV, Problem, load_cohorts, validate_dataset
from evaluation.intake.barometer import _barometer_schema
from evaluation.intake.cohorts import _cohort_schema
from evaluation.intake.comparison import _schema as _comparison_schema
from evaluation.intake.folders import _input_files
from evaluation.intake.grids import _csv_grid, _Unreadable
from evaluation.intake.monitoring import MONITORING, _monitoring_schema, _spending_schema
from evaluation.intake.problems import Phrase, _cannot_open
from evaluation.intake.raw_tables import read_raw
from evaluation.intake.schema import Message
from evaluation.intake.yaml_input import read_yaml
from evaluation.io import load_dataset
from evaluation.present.blocks import data_problems_block
from evaluation.referential.plan import load_plan
from evaluation.referential.territories import load_qpv

TESTS = Path(__file__).parent
INTAKE = Path(evaluation.intake.__file__).parent
NBSP = "\u00a0"
KEY = "a-test-key-of-32-characters-long"

#: Words of the English texts that French never uses (codes such as ``employment_rate_pct`` or the
#: YAML keys ``name:``, ``column``, ``answers`` are written as they are in both languages).
ENGLISH = re.compile(
    r"\b(is|are|not|the|line|use|give|write|missing|did|mean|e\.g|or|and|of|with|from|to|cannot|must|see|keep"
    r"|check|add|has|have|its|this|which|file|folder|unknown)\b",
    re.IGNORECASE,
)


def english_words(text: str) -> list[str]:
    """English words of a French text, leaving out what is quoted from the input (« ... »)."""
    return ENGLISH.findall(re.sub(r"«[^»]*»", "", text))


def test_the_english_detector_sees_english():
    """The checks below are only as good as this detector: it must flag the command line's texts."""
    assert english_words("'abc' is not a number (use digits, e.g. 1 250,5)") == ["is", "not", "use", "e.g"]
    assert english_words("is missing (give the code, see 'evaluation plan')") == ["is", "missing", "give", "the", "see"]
    assert english_words("« is » n'est pas un nombre (écrire des chiffres)") == []


@pytest.fixture(scope="module")
def plan():
    return load_plan()


# --------------------------------------------------------------------------------------------------
# A problem cannot exist without its French


def test_a_problem_or_a_message_without_french_is_refused():
    with pytest.raises(TypeError, match="message_fr"):
        Problem(Path("m.csv"), 2, "value", "x", "is not a number")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="French text"):
        Problem(Path("m.csv"), 2, "value", "x", "is not a number", message_fr=" ")
    with pytest.raises(TypeError, match="hint_fr"):
        Problem(Path("m.csv"), 2, "value", "x", "is not a number", "use digits", message_fr="n'est pas un nombre")
    with pytest.raises(TypeError, match="text_fr"):
        Message("year", "is not a year", "write it with 4 digits")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="French text and fix"):
        Message("year", "is not a year", "write it with 4 digits", "n'est pas une année", "")
    with pytest.raises(TypeError, match="message_fr"):
        _Unreadable("is empty", "fill it")  # type: ignore[call-arg]


def _calls(kinds: frozenset[str]) -> list[tuple[Path, ast.Call, str]]:
    """Each call in the intake's source that builds a problem (``Problem``, or a helper that makes one:
    ``self.problem``, ``checks.add``, ``fatal``...), a message, a phrase or an unreadable-file error:
    ``(file, call, source of the call)``."""
    found = []
    for path in sorted(INTAKE.glob("*.py")):
        if path.name in ("_cache.py", "template.py"):  # no problem is built there
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if name in kinds or (name == "add" and owner == "checks") or (name == "problem" and owner in kinds):
                found.append((path, node, ast.get_source_segment(source, node) or name))
    return found


def test_every_problem_message_and_error_is_given_its_french_where_it_is_built():
    """Static: a ``Problem(...)`` names ``message_fr`` (and ``hint_fr`` with a hint), a ``Message(...)``
    has five texts, an ``_Unreadable(...)`` names both French texts. (Making one without them fails
    at once, see above; this also covers the places no test file reaches.)"""
    offences, counted = [], {"Problem": 0, "Message": 0, "_Unreadable": 0}
    for path, node, _source in _calls(frozenset(counted)):
        if not isinstance(node.func, ast.Name):
            continue  # checks.add(...): its messages are phrases, checked when they are run
        keywords = {k.arg for k in node.keywords}
        name = node.func.id
        counted[name] += 1
        if name == "Message":
            ok = len(node.args) + len(keywords & {"column", "text", "fix", "text_fr", "fix_fr"}) == 5
        elif name == "Problem":
            has_hint = len(node.args) >= 6 or "hint" in keywords
            ok = "message_fr" in keywords and (not has_hint or "hint_fr" in keywords)
        else:
            ok = {"message_fr", "hint_fr"} <= keywords
        if not ok:
            offences.append(f"{path.name}:{node.lineno}")
    assert offences == []
    assert all(counted.values()), counted  # the scan finds them (a renamed class would make it vacuous)


# --------------------------------------------------------------------------------------------------
# The schemas' messages


def _schemas(plan):
    qpv = frozenset(q.code for q in load_qpv())
    sheets = frozenset(s.id for s in plan.engagements)
    return {
        "monitoring": _monitoring_schema(plan),
        "spending": _spending_schema(plan),
        "barometer": _barometer_schema(qpv),
        "cohorts": _cohort_schema(sheets, qpv, date(2022, 1, 15)),
        "comparison": _comparison_schema(qpv | {"QPV_LYON"}, True),
    }


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def test_every_message_of_every_schema_has_its_french(plan):
    checked = 0
    for kind, schema in _schemas(plan).items():
        for key, message in schema.messages().items():
            where = f"{kind}/{key}"
            assert message.text_fr.strip() and message.fix_fr.strip(), where
            # The same fields in both languages: a French text cannot lose the suggestion or the line.
            assert _fields(message.text_fr) == _fields(message.text), where
            assert _fields(message.fix_fr) == _fields(message.fix), where
            assert english_words(message.text_fr + " " + message.fix_fr) == [], where
            assert message.text_fr != message.text, where
            checked += 1
    # Checks counted in the schemas' definitions: monitoring 9 column checks + 8 across columns,
    # spending 6 + 1, barometer 14 + 2, cohorts 30 (4 for each of the 4 date columns) + 10, comparison 9 + 2.
    assert checked == 17 + 7 + 16 + 40 + 11


# --------------------------------------------------------------------------------------------------
# Every problem of the intake, from small bad files


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

#: A description with one problem of each kind the reader finds (the comment below says which).
BAD_DESCRIPTION = """\
name: autre_nom
titel: x
synthetic: peut-être
years: [1990]
questions:
  - une phrase
  - column: q1
    sheet: "99x"
    label: Q1
    answers: {1: Oui, x: Non, 3: ""}
    non_response: {1: NSP}
    indicator: 5
    baseline: 3
  - column: q1
    sheet: "17"
    label: Q2
    answers: [1, 2]
  - column: poids
    sheet: "17"
    label: Q3
    answers: {1: Oui, 2: Non}
    indicator: {name: Mauvais-Nom, label: x, answers: [1]}
    baseline: {value: 2, year: 1800, source: étude}
  - column: q4
    sheet: zzzzzz
    label: Q4
    answers: {1: Oui, 2: Non}
    indicator: {name: q1, label: x}
  - column: q5
    sheet: "17"
    label: Q5
    answers: {1: Oui, 2: Non}
    indicator: {name: ind5, label: x, answers: [7], autre: 1}
    baseline: {value: 0.5, year: 2015, source: étude, sorce: x}
"""
# name differs from the file's; titel unknown, title missing; synthetic not true/false; years out of
# range; a question that is not a mapping; q1: a sheet not in the plan, a code not whole, a code
# without label, a code both answer and non-response, an indicator and a baseline not mappings; q1
# again; poids: a design column, an indicator name not a column name, a baseline value and year out
# of range and no indicator to compare with; q4: a sheet with no close one, answers not a mapping, an
# indicator named like a column and without answers; q5: an answer not of the question, unknown keys.

RESPONDENTS = """\
identifiant;poids;strate;grappe;qpv;commune;sexe;tranche_age;image
R1;12,5;A;1;QN05972M;Lille;F;18-29;3
R2;-1;A;1;Secteur Sud;59350;femme;60 ans et plus;Plutôt mauvaise
R2;abc;A;;QN05972;Lile;X;12-17;5
;;;2;Zzzzzzzz;Zzzzzzzz;;;
"""

BAD_DECLARATION = """\
synthetic: peut-être
description: [a, b]
autre: 1
territories:
  - code: QPV_LYON
    name: QPV de la Métropole de Lyon
    group: QPV d'autres métropoles
    source: ONPV
  - code: QPV_NANTES
    name: QPV de Nantes Métropole
    group: qpv_metropole
    source: ONPV
  - code: qpv_lyon
    name: Lyon encore
    group: qpv_metropoles
    source: ONPV
  - code: QPV_MEL
    name: QPV de la MEL (ensemble)
    group: qpv_mel
    source: ONPV
  - code: QN05972M
    name: Secteur Sud
    group: qpv_metropoles
    source: ONPV
  - code: QVA MEL
    name: [Veille active]
    group: zzzzzz
    sources: ONPV
    caveats: [1]
  - une phrase
  - code: ENS1
    name: Ensemble
    group: qpv_mel_ensemble
    source: ONPV
  - code: ENS2
    name: Ensemble bis
    group: qpv_mel_ensemble
    source: ONPV
  - code: SANS_GROUPE
    name: Sans groupe
    source: ONPV
"""

BAD_SERIES = """\
territoire;année;indicateur;valeur;source
QPV_LYON;2016;employment_rate_pct;45,2;ONPV
QPV_LION;2016;employment_rate_pct;44,0;ONPV
ZZZZZZ;2016;employment_rate_pct;44,0;ONPV
ENS1;2O16;employment_rate_pct;44,0;ONPV
ENS1;1999;employment_rate_pct;44,0;ONPV
ENS1;2016;taux emploi;44,0;ONPV
ENS1;2016;xqxqxq;44,0;ONPV
ENS1;2016;employment_rate_pct;144,0;ONPV
ENS1;2016;jobseekers_per_1000;2 1O;ONPV
ENS1;2017;employment_rate_pct;44,5;
QPV_LYON;2016;employment_rate_pct;45,3;ONPV
;2017;;;ONPV
"""


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _dataset(root: Path, files: dict[str, str | bytes], limits: str = "") -> Path:
    _write(root, {"dataset.yaml": f"name: test\ndemo: true\nprovenance: tests\n{limits}", **files})
    return root


def _workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """A workbook whose one sheet unzips to 2 MB (of spaces) while the file is a few KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", " " * 2_000_000)
    return buffer.getvalue()


def _bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan) -> list[Problem]:
    """The problems of several small bad datasets, each file holding one or more kinds of problem."""
    intake = TESTS / "data" / "intake"
    problems: list[Problem] = []

    # Monitoring and spending: every reading problem, the schema's, two files giving one key.
    main = tmp_path / "main"
    files: dict[str, str | bytes] = {
        f"monitoring/{name}": (intake / name).read_bytes()
        for name in (
            "monitoring_problems.csv",
            "wrong_columns.csv",
            "empty.csv",
            "header_only.csv",
            "binary.csv",
            "damaged.xlsx",
            "monitoring_utf8.csv",
            "monitoring_bom.csv",
        )
    }
    files.update(
        {
            "monitoring/mixed.csv": "indicateur;année;valeur\n1.1;2019;3\n".encode() + b"1.2;2019;4 \xe9\n",
            "monitoring/encoding.csv": b"indicateur;annee;valeur\n1.1;2019;\x81\x8d\n",
            "monitoring/quote.csv": 'indicateur;année;valeur\n1.1;2019;"3\n1.2;2019;4\n',
            "monitoring/swallowed.csv": 'indicateur;année;valeur\n1.1;2019;"3\n1.2;2019;4\n1.3;2019;5"\n1.4;2019;6\n',
            "monitoring/extra.csv": "indicateur,année,valeur\n1.1,2019,3,5\n",
            "monitoring/twice.csv": "indicateur;année;valeur;value\n1.1;2019;3;3\n",
            "monitoring/ratio.csv": "indicateur;année;valeur;numérateur;dénominateur\n12.3;2019;;3;\n12.3;2020;;x;0\n",
            "monitoring/sheets.xlsx": _workbook(("Feuille1", [["indicateur"]]), ("Feuille2", [["indicateur"]])),
            "monitoring/numbers.xlsx": _workbook(("Saisie", [["indicateur", "année", "valeur"], [5.1, 2019.5, 3]])),
            "spending/a.csv": (intake / "spending_problems.csv").read_text(encoding="utf-8"),
            "spending/b.csv": "fiche;année;montant\n1;2019;10\nzzzzzz;2019;5\n",
            "spending/c.csv": "fiche;année;montant\n1;2019;12\n",
            "barometer": "a file where a folder is expected",
            "monitorng/x.csv": "a;b\n",
            "surveys_target/.keep": "",
            "outside.csv": "indicateur;année;valeur\n1.1;2019;3\n",
        }
    )
    _dataset(main, files)
    (main / "monitoring" / "link.csv").symlink_to(main / "outside.csv")
    (main / "surveys").symlink_to(main / "surveys_target", target_is_directory=True)
    found, _counts = validate_dataset(load_dataset(main), plan)
    problems += found

    # The limits of dataset.yaml, each exceeded by one file.
    limited = tmp_path / "limited"
    limits = "limits:\n  max_file_mb: 1\n  max_rows: 5\n  max_columns: 6\n  max_cell_chars: 100\n"
    _dataset(
        limited,
        {
            "monitoring/rows.csv": "indicateur;année;valeur\n" + "1.1;2019;3\n" * 6,
            "monitoring/columns.csv": "a;b;c;d;e;f;g\n",
            "monitoring/cell.csv": "indicateur;année;valeur\n1.1;2019;" + "x" * 150 + "\n",
            "monitoring/quoted.csv": 'indicateur;année;valeur\n1.1;2019;"' + "x" * 140_000 + '"\n',
            "monitoring/big.csv": "indicateur;année;valeur\n" + "#" * 1_100_000 + "\n",
            "monitoring/bomb.xlsx": _zip_bomb(),
        },
        limits,
    )
    problems += validate_dataset(load_dataset(limited), plan)[0]

    # A data folder without any input folder.
    problems += validate_dataset(load_dataset(_dataset(tmp_path / "bare", {"autre/x.csv": "a\n"})), plan)[0]

    # Barometer: the test fixtures (one kind of problem each, and two files giving one key).
    barometer = {f"barometer/{p.name}": p.read_bytes() for p in (TESTS / "data" / "barometer").glob("*.csv")}
    barometer["barometer/unknown.csv"] = (
        "territoire;année;indicateur;valeur;source\nZzzzzzzzzz;2019;xqxqxq;3;INSEE\n;2019;;;\n"
    )
    problems += validate_dataset(load_dataset(_dataset(tmp_path / "barometer", barometer)), plan)[0]

    # Cohorts: the fixtures with the pseudonymisation key, then direct identifiers without a key or
    # with a short one.
    cohorts = {f"cohorts/{p.name}": p.read_bytes() for p in (TESTS / "data" / "cohorts").glob("*.csv")}
    cohorts["cohorts/suggestions.csv"] = (
        "person_id,programme,entry_date,qpv,sex,age_band,qualification,last_contact_date\n"
        "Z1,zzzzzz,2019-05-02,QN05972M,F,16-25,bac,2021-06-01\n"
    )
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    problems += load_cohorts(load_dataset(_dataset(tmp_path / "cohorts", cohorts)), plan, date(2022, 1, 15))[1]
    identifiers = {"cohorts/identifiers.csv": (TESTS / "data" / "cohorts" / "identifiers.csv").read_bytes()}
    for name, key in (("nokey", None), ("shortkey", "short")):
        if key is None:
            monkeypatch.delenv(PSEUDONYM_KEY_ENV)
        else:
            monkeypatch.setenv(PSEUDONYM_KEY_ENV, key)
        problems += load_cohorts(load_dataset(_dataset(tmp_path / name, identifiers)), plan, date(2022, 1, 15))[1]

    # Surveys: respondents, file names, descriptions with problems, unreadable descriptions.
    surveys = tmp_path / "surveys"
    _dataset(
        surveys,
        {
            "surveys/enquete.yaml": DESCRIPTION,
            "surveys/enquete_2021.csv": RESPONDENTS,
            "surveys/enquete_2020.csv": "identifiant;poids;image\nR1;1;3\n",
            "surveys/enquete_2020.xlsx": _workbook(("Saisie", [["identifiant", "poids", "image"], ["R1", 1, 3]])),
            "surveys/enquete.csv": "identifiant;poids;image\nR1;1;3\n",
            "surveys/autre_2021.csv": "identifiant;poids;image\nR1;1;3\n",
            "surveys/enquete_2035.csv": "identifiant;poids;image\nR1;1;3\n",
            "surveys/bad.yaml": BAD_DESCRIPTION,
            "surveys/bad_2021.csv": "identifiant;poids;q1\nR1;1;1\n",
            "surveys/noquestions.yaml": "name: noquestions\ntitle: x\nquestions: 3\n",
            "surveys/invalid.yaml": "name: [unclosed\n",
            "surveys/anchor.yaml": "base: &b {x: 1}\nname: *b\n",
            "surveys/list.yaml": "- a list\n",
            "surveys/large.yaml": "# " + "x" * 70_000 + "\n",
            "surveys/latin.yaml": b"name: caf\xe9\n",
            "target.yaml": DESCRIPTION,
        },
    )
    (surveys / "surveys" / "link.yaml").symlink_to(surveys / "target.yaml")
    problems += validate_dataset(load_dataset(surveys), plan)[0]

    # Comparison: a declaration and series with one problem of each kind; no declaration; no territory.
    comparison = {
        "comparison/territoires.yaml": BAD_DECLARATION,
        "comparison/a.csv": BAD_SERIES,
        "comparison/b.csv": "territory;year;indicator;value;source\nQPV_LYON;2017;employment_rate_pct;45,7;INSEE\n"
        "QPV_LYON;2017;employment_rate_pct;45,7;INSEE\n",
        "comparison/c.csv": "territory;year;indicator;value;source\nQPV_LYON;2017;employment_rate_pct;45,7;INSEE\n",
    }
    problems += validate_dataset(load_dataset(_dataset(tmp_path / "comparison", comparison)), plan)[0]
    undeclared = {
        "comparison/a.csv": "territoire;année;indicateur;valeur;source\nQN05972M;2016;employment_rate_pct;40;X\n"
    }
    problems += validate_dataset(load_dataset(_dataset(tmp_path / "undeclared", undeclared)), plan)[0]
    empty = {"comparison/territoires.yaml": "territories: []\n"}
    problems += validate_dataset(load_dataset(_dataset(tmp_path / "noterritory", empty)), plan)[0]

    # What the data files cannot show as root (every file can be opened): an error of the system.
    missing = tmp_path / "missing.csv"
    problems.append(_cannot_open(tmp_path / "locked.csv", OSError(errno.EACCES, "Permission denied")))
    problems += read_raw(missing, MONITORING)[1]
    (tmp_path / "a_file").touch()
    problems += _input_files(tmp_path / "a_file" / "monitoring")[1]  # a path through a file: not a folder
    # A description read through a link or in place of a folder (the loaders skip both before reading).
    (tmp_path / "link.yaml").symlink_to(tmp_path / "a_file")
    for path in (missing, tmp_path / "link.yaml", tmp_path):
        problems += read_yaml(path, 1000, Phrase("check it", "le vérifier"), Phrase("a mapping", "un dictionnaire"))[2]
    return problems


#: Places that build a problem or a phrase no file can reach, and why (the static test above still
#: checks that they carry their French).
UNREACHED = {
    "could not be split into its lines": "an invariant of the CSV parser, never expected to fail",
    "is not valid CSV": "the csv module in lenient mode raises nothing but the field limit (reported apart)",
}


@pytest.fixture(scope="module")
def traced(tmp_path_factory, plan):
    """The problems of :func:`_bad_files`, and the lines of the intake run meanwhile."""
    executed: set[tuple[str, int]] = set()
    prefix = str(INTAKE)

    def local(frame, event, arg):
        if event == "line":
            executed.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(prefix) else None

    monkeypatch = pytest.MonkeyPatch()
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        problems = _bad_files(tmp_path_factory.mktemp("bad"), monkeypatch, plan)
    finally:
        sys.settrace(previous)
        monkeypatch.undo()
    return problems, executed


def test_every_place_that_builds_a_problem_is_run_by_a_bad_file(traced):
    """Each call building a problem, a phrase or an unreadable-file error ran (a line of the call was
    executed) while the bad files were read: so every French text below is checked by the next test."""
    _problems, executed = traced
    kinds = frozenset({"Problem", "_Unreadable", "_over_limit", "fatal", "Phrase", "did_you_mean", "self", "reader"})
    unreached = [
        f"{path.name}:{node.lineno}: {source[:70]}"
        for path, node, source in _calls(kinds)
        if not any((str(path), line) in executed for line in range(node.lineno, (node.end_lineno or node.lineno) + 1))
        and not any(reason in source for reason in UNREACHED)
    ]
    assert unreached == [], "\n".join(unreached)


def test_every_problem_of_the_bad_files_renders_in_french(traced):
    problems, _executed = traced
    for problem in problems:
        french = problem.french()
        where, said = french.split(f"{NBSP}: ", 1)  # the place holds the local path, English or not
        assert where.startswith(("fichier /", "dossier /")), french
        assert english_words(said) == [], str(problem)
        assert bool(problem.hint) == bool(problem.hint_fr), str(problem)
        # The person's identifiers of the cohort files are never shown, in French either.
        for secret in ("Dupont", "Hélène", "1 85 05 78 006 084", "jean.dupont"):
            assert secret not in french, french


# --------------------------------------------------------------------------------------------------
# Renderings written out by hand


def _q(text: str) -> str:
    return f"«{NBSP}{text}{NBSP}»"


def _load_one(tmp_path: Path, plan, name: str, text: str | bytes) -> tuple[Path, list[Problem]]:
    root = _dataset(tmp_path / "data", {f"monitoring/{name}": text})
    return root, validate_dataset(load_dataset(root), plan)[0]


def test_a_number_problem_in_french_and_in_english(tmp_path, plan):
    root, (problem,) = _load_one(tmp_path, plan, "m.csv", "indicateur;année;valeur\n1.1;2019;310\n1.1;2020;abc\n")
    assert problem.french(root) == (
        f"fichier monitoring/m.csv, ligne 3, colonne {_q('value')}{NBSP}: {_q('abc')} n'est pas un nombre "
        f"(écrire des chiffres, virgule décimale admise, par exemple 1{NBSP}250,5{NBSP}; écrire 1250 ou 1,25 "
        "plutôt que 1.250)"
    )
    assert str(problem).split("/data/", 1)[1] == (
        "monitoring/m.csv, line 3, column 'value': 'abc' is not a number (use digits, decimal comma allowed, "
        "e.g. 1 250,5; write 1250 or 1,25 rather than 1.250)"
    )


def test_suggestions_in_french(tmp_path, plan):
    # "1.9": sheet 1 has no indicator 9, its indicators are listed; "12": closest code by difflib
    # among the plan's ids, 1.2 (ratio 2 x 2 / (2 + 3) = 0.8, the best with 12.1's 0.8, first listed).
    text = "indicateur;année;valeur\n1.9;2019;5\n12;2019;5\n"
    root, problems = _load_one(tmp_path, plan, "m.csv", text)
    assert [p.french(root).split(f"{NBSP}: ", 1)[1] for p in problems] == [
        f"{_q('1.9')} n'est pas un indicateur du plan (la fiche 1 a les indicateurs 1.1, 1.2, 1.3, 1.4)",
        f"{_q('12')} n'est pas un indicateur du plan (vouliez-vous dire {_q('1.2')}{NBSP}?)",
    ]
    assert [p.hint for p in problems] == ["sheet 1 has the indicators 1.1, 1.2, 1.3, 1.4", "did you mean '1.2'?"]


def test_a_folder_a_duplicate_and_an_excel_number_in_french(tmp_path, plan):
    workbook = _workbook(("Saisie", [["indicateur", "année", "valeur"], ["1.1", 2019.5, 3]]))
    root = _dataset(
        tmp_path / "data",
        {
            "monitoring/a.xlsx": workbook,
            "monitoring/b.csv": "indicateur;année;valeur\n1.1;2019;3\n1.1;2019;4\n",
            "monitorng/x.csv": "a\n",
        },
    )
    problems, _counts = validate_dataset(load_dataset(root), plan)
    assert [p.french(root) for p in problems] == [
        f"dossier monitorng{NBSP}: n'est pas un dossier d'entrée{NBSP}: ses fichiers ne sont pas lus "
        f"(vouliez-vous dire {_q('monitoring')}{NBSP}?)",
        # An Excel number is shown with a decimal comma, without quotes (as the English shows 2019.5).
        f"fichier monitoring/a.xlsx, ligne 2, colonne {_q('year')}{NBSP}: 2019,5 n'est pas une année "
        "(écrire l'année sur 4 chiffres, par exemple 2019)",
        f"fichier monitoring/b.csv, ligne 3, colonne {_q('indicator_id')}{NBSP}: {_q('1.1')} figure deux fois pour "
        "cette année dans ce fichier (première occurrence à la ligne 2) (garder une ligne par indicateur et par "
        "année)",
    ]


def test_a_masked_person_in_french(tmp_path, plan, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    root = _dataset(
        tmp_path / "data",
        {
            "cohorts/c.csv": "person_id;programme;entry_date;qpv;sex;age_band;qualification;last_contact_date\n"
            "P1;9;2019-05-02;QN05972M;F;16-25;bac;2021-06-01\n"
            "P1;9;2019-06-02;QN05972M;F;16-25;bac;2021-06-01\n"
        },
    )
    (problem,) = load_cohorts(load_dataset(root), plan, date(2022, 1, 15))[1]
    assert problem.value is MASKED
    assert problem.french(root) == (
        f"fichier cohorts/c.csv, ligne 3, colonne {_q('person_id')}{NBSP}: (identifiant masqué) figure deux fois "
        "pour le dispositif 9 dans ce fichier (première occurrence à la ligne 2) (garder une ligne par personne "
        "et par dispositif)"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", _q("abc")),
        (12, "12"),
        (2.5, "2,5"),
        (True, "VRAI"),
        (datetime(2030, 1, 2), "2030-01-02"),
        (date(2030, 1, 2), "2030-01-02"),
        (MASKED, "(identifiant masqué)"),
    ],
)
def test_values_in_french(value, shown):
    problem = Problem(Path("/x/m.yaml"), None, "k", value, "is wrong", message_fr="est faux")
    assert problem.french(Path("/x")) == f"fichier m.yaml, clé {_q('k')}{NBSP}: {shown} est faux"


def test_an_unreadable_file_in_french(tmp_path):
    # A folder where a file is read: refused before anything is parsed (the English is pinned elsewhere).
    with pytest.raises(_Unreadable) as caught:
        _csv_grid(tmp_path)
    assert (caught.value.message_fr, caught.value.hint_fr) == (
        "n'est pas un fichier ordinaire",
        "mettre à sa place un fichier CSV ou Excel",
    )


# --------------------------------------------------------------------------------------------------
# The reports' banner


def test_the_reports_banner_of_data_problems_is_french(tmp_path, plan):
    root = _dataset(
        tmp_path / "data", {"monitoring/m.csv": (TESTS / "data" / "intake" / "monitoring_problems.csv").read_text()}
    )
    dataset = load_dataset(root)
    problems, _counts = validate_dataset(dataset, plan)
    assert len(problems) == 12  # one per bad line of the fixture (lines 3 to 15 but 13, see test_intake.py)
    markup = data_problems_block(problems, dataset).markup
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    assert text.strip().startswith(f"Attention : 12{NBSP}problèmes dans les fichiers de données")
    for english in (" is ", " not ", "line ", "column ", "did you mean", "e.g.", " the ", "(s)"):
        assert english not in text, english
    assert english_words(text) == []
    assert str(root) not in text  # paths relative to the data folder
    first = html.unescape(re.search(r"<li>(.*?)</li>", markup).group(1))
    assert first == (
        f"fichier monitoring/m.csv, ligne 3, colonne {_q('value')}{NBSP}: {_q('1 2O0')} n'est pas un nombre "
        f"(écrire des chiffres, virgule décimale admise, par exemple 1{NBSP}250,5{NBSP}; écrire 1250 ou 1,25 "
        "plutôt que 1.250)"
    )
    assert "… et 7\u00a0autres" in text
