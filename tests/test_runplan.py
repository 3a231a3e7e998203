"""Run plans (params/<year>.yaml): expansion, and every problem stopped before a kernel starts.

Error tests pin the whole message: the file, the line, the entry, the parameter and the fix.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from evaluation.batch import runner as reports
from evaluation.batch.runplan import (
    RunPlanError,
    RunPlanErrors,
    check_reports,
    load_run_plan,
    notebook_code_sha256,
    notebook_parameters,
)
from evaluation.cli import main
from evaluation.config import PARAMS_DIR, PLAN_YEARS
from evaluation.referential.plan import load_plan

PLAN = load_plan()


def _notebook(folder: Path, name: str, parameters: str, body: str = "print(year)") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]}), new_code_cell(body)]
    kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = folder / name
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), path)
    return path


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    _notebook(
        folder,
        "fiche.ipynb",
        'engagement_id: str = "1"  # fiche\nyear: int = 2021  # année\ndata_dir: str = ""  # données\n'
        "ratio: float = 0.5  # part\nshow: bool = True  # afficher",
    )
    _notebook(folder, "cohort.ipynb", 'programme: str  # sans défaut\nyear: int = 2021\ndata_dir: str = ""')
    _notebook(folder, "sans_donnees.ipynb", "year: int = 2021  # année")
    return folder


def _plan_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "2021.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _problems(tmp_path: Path, notebooks: Path, text: str) -> list[str]:
    path = _plan_file(tmp_path, text)
    run_plan = load_run_plan(path, PLAN, notebooks_dir=notebooks)
    return [str(p) for p in check_reports(run_plan, run_plan.reports)]


def _load_error(tmp_path: Path, notebooks: Path, text: str) -> str:
    path = _plan_file(tmp_path, text)
    with pytest.raises(RunPlanError) as info:
        load_run_plan(path, PLAN, notebooks_dir=notebooks)
    return str(info.value)


# --------------------------------------------------------------------------------------------------
# Expansion


def test_for_each_engagements_gives_one_report_per_sheet_grouped_by_priority(tmp_path, notebooks):
    path = _plan_file(
        tmp_path,
        """
        year: 2021
        parameters: {year: 2021}
        reports:
          engagements:
            heading: Fiches action
            notebook: fiche.ipynb
            for_each: engagements
            parameter: engagement_id
        """,
    )
    run_plan = load_run_plan(path, PLAN, notebooks_dir=notebooks)
    assert [r.key for r in run_plan.reports] == [s.id for s in PLAN.engagements]
    assert len(run_plan.reports) == 23
    first = run_plan.reports[0]
    assert first.name == "engagements/1"
    assert first.title == "Engagement 1 : Clause d'insertion"
    assert first.parameters == {"year": 2021, "engagement_id": "1"}
    assert first.group == "Priorité 1 : Impliquer l'entreprise comme partenaire de l'emploi"
    assert run_plan.reports[-1].group == PLAN.transversal.title
    assert check_reports(run_plan, run_plan.reports) == []


def test_for_each_list_titles_and_selection(tmp_path, notebooks):
    path = _plan_file(
        tmp_path,
        """
        year: 2021
        parameters: {year: 2021}
        reports:
          cohortes:
            notebook: cohort.ipynb
            title: "Cohorte de l'engagement {item}"
            titles: {all: Tous les programmes}
            for_each: ["1", "12", "all"]
            parameter: programme
        """,
    )
    run_plan = load_run_plan(path, PLAN, notebooks_dir=notebooks)
    assert [(r.name, r.title) for r in run_plan.reports] == [
        ("cohortes/1", "Cohorte de l'engagement 1"),
        ("cohortes/12", "Cohorte de l'engagement 12"),
        ("cohortes/all", "Tous les programmes"),
    ]
    assert [r.key for r in run_plan.select(["cohortes/all", "cohortes/1"], PLAN)] == ["1", "all"]
    with pytest.raises(
        Exception, match=r"^unknown report 'cohortes/7' \(known: cohortes/1, cohortes/12, cohortes/all\)$"
    ):
        run_plan.select(["cohortes/7"], PLAN)
    assert check_reports(run_plan, run_plan.reports) == []


def test_the_shipped_run_plans_match_their_notebooks():
    """Every parameter of params/*.yaml is declared by its notebook, with its type (papermill only warns)."""
    for year in PLAN_YEARS:
        run_plan = load_run_plan(PARAMS_DIR / f"{year}.yaml", PLAN)
        assert run_plan.year == year
        kinds = [r.kind for r in run_plan.reports]
        assert kinds[0] == "annuel" and kinds.count("engagements") == 23
        present = [r for r in run_plan.reports if r.notebook.is_file()]
        assert check_reports(run_plan, present) == []
        assert all(r.parameters["year"] == year for r in run_plan.reports)
    run_plan = load_run_plan(PARAMS_DIR / "2021.yaml", PLAN)
    assert [r.key for r in run_plan.reports if r.kind == "cohortes"] == ["1", "3", "9", "10", "12", "all"]
    assert [r.name for r in run_plan.reports if r.kind == "synthese"] == ["synthese/rapport"]


def test_inspection_reads_papermill_types_and_undefaulted_parameters(notebooks):
    found = notebook_parameters(notebooks / "cohort.ipynb")
    assert {n: (p.type_name, p.default) for n, p in found.items()} == {
        "programme": ("str", None),
        "year": ("int", "2021"),
        "data_dir": ("str", '""'),
    }
    cache: dict = {}
    notebook_parameters(notebooks / "fiche.ipynb", cache)
    assert list(cache) == [notebook_code_sha256(notebooks / "fiche.ipynb")]
    assert notebook_parameters(notebooks / "fiche.ipynb", cache)["ratio"].type_name == "float"


# --------------------------------------------------------------------------------------------------
# Problems found against the notebook


def test_unknown_parameter(tmp_path, notebooks):
    problems = _problems(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters:
              yeer: 2021
        """,
    )
    assert problems == [
        f"{tmp_path}/2021.yaml, line 6, entry 'fiche', parameter 'yeer': not a parameter of "
        f"{notebooks}/fiche.ipynb (did you mean 'year'?)"
    ]


def test_missing_value(tmp_path, notebooks):
    problems = _problems(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          cohorte:
            notebook: cohort.ipynb
        """,
    )
    assert problems == [
        f"{tmp_path}/2021.yaml, line 3, entry 'cohorte', parameter 'programme': {notebooks}/cohort.ipynb "
        "declares it without a default and the run plan gives no value (add it under 'parameters')"
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "year: '2021'",
            "parameter 'year': expected an integer (int), found str '2021' (the notebook declares year: int)",
        ),
        (
            "ratio: oui",
            "parameter 'ratio': expected a number (float), found str 'oui' (the notebook declares ratio: float)",
        ),
        ("show: 1", "parameter 'show': expected true or false (bool), found int 1 (the notebook declares show: bool)"),
        (
            "year: true",
            "parameter 'year': expected an integer (int), found bool True (the notebook declares year: int)",
        ),
    ],
)
def test_wrong_type(tmp_path, notebooks, given, message):
    problems = _problems(
        tmp_path,
        notebooks,
        f"""
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters:
              {given}
        """,
    )
    assert problems == [f"{tmp_path}/2021.yaml, line 6, entry 'fiche', {message}"]


def test_notebook_without_data_dir(tmp_path, notebooks):
    problems = _problems(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: sans_donnees.ipynb
        """,
    )
    assert problems == [
        f"{tmp_path}/2021.yaml, line 3, entry 'fiche', parameter 'data_dir': {notebooks}/sans_donnees.ipynb does "
        "not declare 'data_dir': the run could not pass it the --data folder (add `data_dir: str = \"\"` to its "
        "parameters cell)"
    ]


def test_missing_notebook(tmp_path, notebooks):
    problems = _problems(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          synthese:
            notebook: evaluation_2021.ipynb
        """,
    )
    assert problems == [
        f"{tmp_path}/2021.yaml, line 3, entry 'synthese': notebook {notebooks}/evaluation_2021.ipynb not found "
        "(restore it, or leave this report out with --only)"
    ]


def test_every_problem_is_reported_once_per_entry(tmp_path, notebooks):
    path = _plan_file(
        tmp_path,
        """
        year: 2021
        parameters: {yeer: 2021}
        reports:
          engagements:
            notebook: fiche.ipynb
            for_each: engagements
            parameter: engagement_id
          synthese:
            notebook: absent.ipynb
        """,
    )
    run_plan = load_run_plan(path, PLAN, notebooks_dir=notebooks)
    problems = check_reports(run_plan, run_plan.reports)
    assert [(p.entry, p.parameter) for p in problems] == [("engagements", "yeer"), ("synthese", None)]
    text = str(RunPlanErrors(problems))
    assert len(text.splitlines()) == 2


# --------------------------------------------------------------------------------------------------
# Problems found in the file itself


def test_unknown_engagement(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters:
              engagement_id: "18"
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 6, entry 'fiche', parameter 'engagement_id': unknown engagement id '18' "
        "(did you mean 1, 8, 16, 17?)"
    )


def test_unknown_programme_in_a_list(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          cohortes:
            notebook: cohort.ipynb
            for_each: ["1", "99", "all"]
            parameter: programme
        """,
    )
    assert message.startswith(
        f"{tmp_path}/2021.yaml, line 5, entry 'cohortes', parameter 'programme': unknown engagement id '99'"
    )


def test_engagement_written_as_a_number(tmp_path, notebooks):
    problems = _problems(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters: {engagement_id: 12}
        """,
    )
    assert problems == [
        f"{tmp_path}/2021.yaml, line 5, entry 'fiche', parameter 'engagement_id': expected text (str), found int 12 "
        "(quote it in the YAML)"
    ]


def test_engagement_in_its_printed_form(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters: {engagement_id: "5-A"}
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 5, entry 'fiche', parameter 'engagement_id': write the sheet id '5a', "
        "found '5-A' (the id names the report's file)"
    )


def test_year_outside_the_plan(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        parameters:
          year: 2017
        reports:
          fiche:
            notebook: fiche.ipynb
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 3, entry 'fiche', parameter 'year': year 2017 is outside the plan "
        "(2018-2021) (write a year of the plan)"
    )


def test_deliverable_year_outside_the_plan(tmp_path, notebooks):
    message = _load_error(tmp_path, notebooks, "year: 2022\nreports: {fiche: {notebook: fiche.ipynb}}\n")
    assert message == (
        f"{tmp_path}/2021.yaml, line 1: 'year' must be one of 2018, 2019, 2020, 2021, found 2022 "
        "(the deliverable year of this run plan)"
    )


def test_data_dir_is_given_by_the_run(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters: {data_dir: /tmp}
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 5, entry 'fiche', parameter 'data_dir': set by the run, not by the run plan "
        "(remove it; the run passes the folder of --data)"
    )


def test_misspelt_field(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          engagements:
            notebook: fiche.ipynb
            foreach: engagements
        """,
    )
    assert (
        message
        == f"{tmp_path}/2021.yaml, line 5, entry 'engagements': unknown field 'foreach' (did you mean 'for_each'?)"
    )


def test_for_each_without_parameter(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          engagements:
            notebook: fiche.ipynb
            for_each: engagements
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 5, entry 'engagements': 'for_each' needs 'parameter': the notebook "
        "parameter that receives each item (e.g. parameter: engagement_id)"
    )


def test_invalid_yaml(tmp_path, notebooks):
    message = _load_error(tmp_path, notebooks, 'year: 2021\nreports:\n  fiche: {notebook: "fiche.ipynb}\n')
    assert message.startswith(f"{tmp_path}/2021.yaml, line 4: invalid YAML")


# --------------------------------------------------------------------------------------------------
# The command


def test_run_stops_before_any_kernel_with_exit_2(tmp_path, notebooks, capsys, monkeypatch):
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", notebooks)  # run plans run only its notebooks
    path = _plan_file(
        tmp_path,
        """
        year: 2021
        reports:
          fiche:
            notebook: fiche.ipynb
            parameters: {yeer: 2021}
        """,
    )
    plan_text = path.read_text(encoding="utf-8").replace("fiche.ipynb", str(notebooks / "fiche.ipynb"))
    path.write_text(plan_text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--run-plan", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"evaluation: error: {path}, line 5, entry 'fiche', parameter 'yeer': not a parameter of "
        f"{notebooks}/fiche.ipynb (did you mean 'year'?)"
    )
    assert not out.exists()


def test_missing_notebook_of_the_year_names_it(tmp_path, capsys, monkeypatch):
    text = (PARAMS_DIR / "2021.yaml").read_text(encoding="utf-8").replace("annual.ipynb", "annuel_absent.ipynb")
    path = tmp_path / "2021.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", "--run-plan", str(path), "--only", "annuel", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "entry 'annuel': notebook notebooks/annuel_absent.ipynb not found" in err


def test_title_with_an_unknown_placeholder(tmp_path, notebooks):
    message = _load_error(
        tmp_path,
        notebooks,
        """
        year: 2021
        reports:
          cohortes:
            notebook: cohort.ipynb
            title: "Cohorte {programme}"
            for_each: ["1"]
            parameter: programme
        """,
    )
    assert message == (
        f"{tmp_path}/2021.yaml, line 5, entry 'cohortes': 'title' 'Cohorte {{programme}}' cannot be filled "
        "(KeyError: 'programme') (use {item} for the item, {title} for a sheet's title; double other braces)"
    )
