"""The reports of a run: what the reader gets in the HTML, what the audit trail keeps (year 2020, two reports).

The whole batch, the cache, the manifest, failures and warm kernels are tested in test_batch.py."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from evaluation.cli import main
from evaluation.io import load_dataset


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
