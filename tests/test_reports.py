"""The batch end to end: one real engagement report, and a failing report that does not stop the others."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from evaluation.cli import main
from evaluation.config import NOTEBOOKS_DIR
from evaluation.io import load_dataset
from evaluation.plan import load_plan
from evaluation.reports import REPORT_KINDS, plan_jobs, run_reports


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    assert main(["run", "--only", "annuel", "engagements/12", "--year", "2020", "--jobs", "2", "--out", str(out)]) == 0
    return out / "2020"


def test_outputs_written(report_dir):
    assert (report_dir / "engagements" / "12.html").is_file()
    assert (report_dir / "engagements" / "12.ipynb").is_file()
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="engagements/12.html"' in index
    assert 'href="annuel/rapport.html"' in index
    assert "non produit" in index  # the 22 other sheets of this partial run
    assert "Données de démonstration" in index


def test_html_is_for_readers(report_dir):
    page = (report_dir / "engagements" / "12.html").read_text(encoding="utf-8")
    assert (
        "Engagement 12 : L&#x27;insertion professionnelle des NEETS" in page
        or "Engagement 12 : L'insertion professionnelle des NEETS" in page
    )
    assert "Données de démonstration" in page  # the demo banner
    assert "403\u00a0420\u00a0€" in page  # total cost in French typography
    assert "data:image/png;base64" in page  # the chart is embedded
    assert "Réalisations et situation au regard des cibles en 2020" in page
    assert "Exécution budgétaire" in page
    # No code, no parameters cell, no third-party scripts.
    assert "engagement_id" not in page
    assert "views.budget_chart" not in page
    assert not re.search(r"<script[^>]+src=\"https?://", page)


def test_executed_notebook_keeps_the_parameters(report_dir):
    notebook = nbformat.read(report_dir / "engagements" / "12.ipynb", as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'engagement_id = "12"' in injected[0].source
    assert "year = 2020" in injected[0].source


def test_failing_report_is_isolated(tmp_path):
    """A notebook that raises is kept, with an HTML page showing the error; the other report completes."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    cells = [
        new_code_cell('engagement_id = "1"\nyear = 2021\ndata_dir = ""', metadata={"tags": ["parameters"]}),
        new_code_cell(
            'if engagement_id == "2":\n    raise ValueError("données manquantes")\nprint("fiche", engagement_id)'
        ),
    ]
    nbformat.write(
        new_notebook(
            cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
        ),
        notebooks / "engagement.ipynb",
    )
    jobs = plan_jobs(
        load_plan(),
        year=2021,
        out_dir=tmp_path / "out",
        only=["engagements/1", "engagements/2"],
        notebooks_dir=notebooks,
    )
    results = run_reports(jobs, n_jobs=2)
    assert [(r.job.key, r.status) for r in results] == [("1", "ok"), ("2", "failed")]
    assert results[1].error == "ValueError: données manquantes"
    assert results[1].failing_cell == 2  # 1-based in the source notebook, papermill's own cells not counted
    failed_page = (tmp_path / "out" / "2021" / "engagements" / "2.html").read_text(encoding="utf-8")
    assert "données manquantes" in failed_page
    assert (tmp_path / "out" / "2021" / "engagements" / "1.html").is_file()


def test_notebook_parameters_match_run_parameters():
    """Papermill only warns on unknown parameters: every parameter the batch passes must be declared."""
    import papermill

    jobs = plan_jobs(load_plan(), year=2021, out_dir=Path("unused"), data_dir=load_dataset().path)
    for kind in REPORT_KINDS.values():
        declared = set(papermill.inspect_notebook(str(NOTEBOOKS_DIR / kind.notebook)))
        passed = {name for job in jobs if job.notebook.name == kind.notebook for name in job.parameters}
        assert passed == declared, kind.notebook
    assert [job.name for job in jobs][:2] == ["annuel/rapport", "engagements/1"]
    assert len(jobs) == 1 + 23


def test_html_does_not_leak_local_paths(report_dir):
    page = (report_dir / "engagements" / "12.html").read_text(encoding="utf-8")
    assert str(load_dataset().path) not in page


def test_annual_report(report_dir):
    """The 2020 report stops its series at 2020 and shows the gap, the barometer and the plan's monitoring."""
    page = (report_dir / "annuel" / "rapport.html").read_text(encoding="utf-8")
    assert "En 2020, le taux d&#x27;emploi des 15-64 ans" in page or "En 2020, le taux d'emploi des 15-64 ans" in page
    assert "Baromètre 2020 par quartier" in page and "Baromètre 2020 par commune" in page
    assert "Pont de Bois-Hôtel de ville" in page  # real QPV names from the reference list
    assert "geographie 2024" in page  # the reference list's provenance is shown
    assert "Nombre d&#x27;indicateurs par statut" in page or "Nombre d'indicateurs par statut" in page
    assert "Suivi de tous les indicateurs en 2020" in page
    assert "year = 2020" not in page  # no parameters cell
