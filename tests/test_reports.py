"""The reports of a run: what the reader gets in the HTML, what the audit trail keeps (year 2020, two reports).

The whole batch, the cache, the manifest, failures and warm kernels are tested in test_batch.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from evaluation.batch.export import NavLink, ReportNavigation, _error_page, export_html, report_navigation
from evaluation.batch.index import write_index
from evaluation.batch.jobs import ReportJob
from evaluation.cli import main
from evaluation.io import load_dataset
from evaluation.referential.plan import load_plan


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
    assert "géographie 2024" in page  # the reference list's provenance is shown, in French
    assert "Nombre d&#x27;indicateurs par statut" in page or "Nombre d'indicateurs par statut" in page
    assert "Suivi de tous les indicateurs en 2020" in page
    assert "year = 2020" not in page  # no parameters cell


# --------------------------------------------------------------------------------------------------
# Fit to print and publish: navigation, print layout, accessibility (issue 12)

# A 1×1 white PNG: the export embeds whatever image a view displays.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


def _job(root: Path, kind: str, key: str) -> ReportJob:
    return ReportJob(
        kind=kind,
        key=key,
        title=f"Titre {kind} {key}",
        notebook=Path("n.ipynb"),
        parameters={},
        html_path=root / kind / f"{key}.html",
        ipynb_path=root / kind / f"{key}.ipynb",
        log_path=root / "logs" / kind / f"{key}.log",
    )


def test_report_links_back_to_the_index(report_dir):
    page = (report_dir / "engagements" / "12.html").read_text(encoding="utf-8")
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert 'aria-label="Navigation entre les rapports"' in nav
    assert '<a href="../index.html">Sommaire de l\'année 2020</a>' in nav
    # Its neighbours (engagements 11 and 13) were left out of this partial run: no link leads nowhere.
    assert "Rapport précédent" not in nav and "Rapport suivant" not in nav
    assert page.index("</nav>") < page.index("<main>")
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    assert index.count("<main>") == 1 and index.count("<h1>") == 1


def test_navigation_follows_the_run_plan_and_skips_reports_never_produced(tmp_path):
    """The manifest lists the reports in run plan order; the bar links the neighbours of the same kind."""
    root = tmp_path / "2021"
    root.mkdir()
    plan_order = [
        ("annuel", "rapport", "ok"),
        ("engagements", "1", "ok"),
        ("engagements", "2", "not produced"),
        ("engagements", "3", "failed"),  # a failed report has its page (the error in French): linked
        ("engagements", "4", "cached"),
        ("cohortes", "1", "ok"),
    ]
    reports = [
        {
            "name": f"{k}/{key}",
            "kind": k,
            "key": key,
            "title": f"Titre {k} {key}",
            "status": s,
            "outputs": {"html": f"{k}/{key}.html"},
        }
        for k, key, s in plan_order
    ]
    (root / "manifest.json").write_text(json.dumps({"year": 2021, "reports": reports}), encoding="utf-8")

    # Engagements in order: 1, 2 (never produced: skipped), 3, 4.
    assert report_navigation(_job(root, "engagements", "3")) == ReportNavigation(
        2021, "../index.html", NavLink("Titre engagements 1", "1.html"), NavLink("Titre engagements 4", "4.html")
    )
    first = report_navigation(_job(root, "engagements", "1"))
    assert first.previous is None and first.next == NavLink("Titre engagements 3", "3.html")
    last = report_navigation(_job(root, "engagements", "4"))
    assert last.previous == NavLink("Titre engagements 3", "3.html") and last.next is None
    alone = report_navigation(_job(root, "annuel", "rapport"))
    assert (alone.index_href, alone.previous, alone.next) == ("../index.html", None, None)
    # A report outside a batch (no manifest, or not listed in it) has no bar.
    assert report_navigation(_job(tmp_path / "2020", "engagements", "3")) is None
    assert report_navigation(_job(root, "engagements", "99")) is None


def test_export_for_print_and_assistive_technologies():
    wide_header = "".join(f"<th>Colonne {i}</th>" for i in range(10))
    wide_row = "".join("<td>10\u00a0établissements</td>" for _ in range(10))
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Titre du rapport\n\nTexte."),
            new_code_cell(
                "views.tables()",
                outputs=[
                    new_output(  # pandas' shape: an empty corner cell, the index as row headers
                        "display_data",
                        data={
                            "text/html": "<table><thead><tr><th></th><th>Valeur</th></tr></thead>"
                            "<tbody><tr><th>a</th><td>1</td></tr></tbody></table>"
                        },
                    ),
                    new_output(
                        "display_data",
                        data={
                            "text/html": f'<table class="ev-table"><thead><tr>{wide_header}</tr></thead>'
                            f"<tbody><tr>{wide_row}</tr></tbody></table>"
                        },
                    ),
                ],
            ),
            new_code_cell(
                "views.chart()",
                outputs=[
                    new_output(
                        "display_data",
                        data={"image/png": _PNG},
                        metadata={"image/png": {"alt": "Évolution du taux, 2015-2021"}},
                    ),
                    new_output("display_data", data={"image/png": _PNG}),
                ],
            ),
        ]
    )
    navigation = ReportNavigation(
        2021,
        "../index.html",
        NavLink("Engagement 11 : Mobile", "11.html"),
        NavLink("Engagement 13 : <NPRU>", "13.html"),
    )
    page = export_html(notebook, 'Rapport "test" <2021>', navigation=navigation)

    assert page.startswith("<!DOCTYPE html>") and re.findall(r"<html[^>]*>", page) == ['<html lang="fr">']
    assert '<a href="../index.html">Sommaire de l\'année 2021</a>' in page
    assert '<a href="11.html" rel="prev">Rapport précédent : Engagement 11 : Mobile</a>' in page
    assert '<a href="13.html" rel="next">Rapport suivant : Engagement 13 : &lt;NPRU&gt;</a>' in page
    # Print: A4, page numbers, the title in the top margin as a CSS string: '"', '<' and '>' written
    # as CSS escapes (backslash, hexadecimal code 22, 3c, 3e, one space) so that no title can close
    # the string or the <style> element.
    assert "size: A4;" in page and 'content: "Page " counter(page) " / " counter(pages);' in page
    assert '@page { @top-left { content: "Rapport \\22 test\\22  \\3c 2021\\3e "; } }' in page
    # Table headers: scope on every header cell; pandas' empty corner is no header.
    assert '<thead><tr><td></td><th scope="col">Valeur</th></tr></thead>' in page
    assert '<tr><th scope="row">a</th><td>1</td></tr>' in page
    # A table no A4 page can hold (10 columns of "10 établissements": 10 × (17 characters × 6.2 px
    # + 9 px) = 1 144 px for 680 px of text width) prints stacked, each cell labelled by its column.
    assert '<table class="ev-table ev-stack">' in page
    assert '<td data-label="Colonne 0">10\u00a0établissements</td>' in page
    assert len(re.findall(r"<table[^>]*ev-stack", page)) == 1  # the narrow table is not marked
    # Images: the view's text alternative, else a French placeholder (never nbconvert's English one).
    assert 'alt="Évolution du taux, 2015-2021"' in page
    assert 'alt="Graphique (description textuelle non fournie)"' in page
    assert "No description has been provided" not in page


def test_index_links_each_report_and_its_pdf(tmp_path):
    root = tmp_path / "2021"
    for name in ("12.html", "12.ipynb", "12.pdf", "13.html", "13.ipynb"):
        (root / "engagements").mkdir(parents=True, exist_ok=True)
        (root / "engagements" / name).write_text("x", encoding="utf-8")

    def entry(key: str, title: str) -> dict:
        outputs = {ext: f"engagements/{key}.{ext}" for ext in ("html", "ipynb")} | {"log": f"logs/{key}.log"}
        return {
            "name": f"engagements/{key}",
            "kind": "engagements",
            "key": key,
            "title": title,
            "heading": "Fiches action",
            "group": None,
            "status": "ok",
            "in_this_run": True,
            "outputs": outputs,
        }

    manifest = {
        "year": 2021,
        "reports": [entry("12", "Engagement 12 : NEETS"), entry("13", "Engagement 13 : NPRU")],
        "data": {"name": "Démonstration", "demo": True},
        "package": {"version": "0.1.0"},
        "finished": "2021-12-31T10:00:00+01:00",
    }
    page = write_index(manifest, out_dir=tmp_path, plan=load_plan()).read_text(encoding="utf-8")
    assert '<th scope="row"><a href="engagements/12.html">Engagement 12 : NEETS</a></th>' in page
    assert '<a href="engagements/12.pdf">PDF<span class="sr-only"> de « Engagement 12 : NEETS »</span></a>' in page
    assert "engagements/13.pdf" not in page  # no PDF beside report 13
    assert (
        '<a href="engagements/13.ipynb">carnet exécuté<span class="sr-only"> de « Engagement 13 : NPRU »</span></a>'
        in page
    )
    assert page.count("<main>") == page.count("</main>") == 1 and page.count("<h1>") == 1
    assert page.index("Données de démonstration") > page.index("<main>")  # every text in a landmark
    assert "size: A4;" in page and '@page{@top-left{content:"Évaluation du plan économie et emploi – 2021"}}' in page


def test_index_escapes_the_manifest_and_shows_the_status_counts(tmp_path):
    """Every manifest value is text on the page, never markup (autoescaped template), and the status
    counts table has one header per status column and a bold total row."""
    root = tmp_path / "2021"
    (root / "annuel").mkdir(parents=True)
    (root / "annuel" / "rapport.html").write_text("x", encoding="utf-8")
    (root / "annuel" / "rapport.ipynb").write_text("{}", encoding="utf-8")
    (root / "tables").mkdir()
    (root / "tables" / "tables.xlsx").write_bytes(b"x")
    hostile = "<img src=x onerror=alert(1)>"
    manifest = {
        "year": 2021,
        "reports": [
            {
                "name": "annuel/rapport",
                "kind": "annuel",
                "key": "rapport",
                "title": f"Rapport {hostile}",
                "heading": "Rapport annuel",
                "group": None,
                "status": "failed",
                "failing_cell": 4,
                "error": f"ValueError: {hostile}",
                "in_this_run": False,
                "finished": hostile,  # not a date: shown as it is, escaped
                "outputs": {"html": "annuel/rapport.html", "ipynb": "annuel/rapport.ipynb", "log": "logs/r.log"},
            }
        ],
        "data": {"name": f"Données {hostile}", "demo": False},
        "package": {"version": "0.1.0"},
        "finished": "2021-12-31T10:00:00+01:00",
        "status_counts": {
            "columns": ["atteint", "en_retard"],
            "labels": {"atteint": "Atteint", "en_retard": "En retard"},
            "rows": {"P1": [1, 2], "total": [3, 4]},
        },
        "tables": {"files": ["tables/tables.xlsx"]},
    }
    page = write_index(manifest, out_dir=tmp_path, plan=load_plan()).read_text(encoding="utf-8")
    # 5 places: the title (link and the screen-reader text of the notebook link), error, date, data name
    assert "<img" not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") == 5
    assert (
        '<tr class="failed"><th scope="row"><a href="annuel/rapport.html">Rapport &lt;img src=x onerror=alert(1)&gt;'
        "</a></th><td>en échec (cellule 4), passage du &lt;img src=x onerror=alert(1)&gt; : ValueError: "
        "&lt;img src=x onerror=alert(1)&gt;</td>" in page
    )
    assert "Données de démonstration" not in page
    assert "<p>1 rapports : 1 en échec. Passage du 31/12/2021 10:00.</p>" in page
    assert '<th scope="col">Priorité</th><th scope="col">Atteint</th><th scope="col">En retard</th>' in page
    assert (
        '<tr><th scope="row">Priorité 1 : Impliquer l&#39;entreprise comme partenaire de l&#39;emploi</th>'
        '<td class="num">1</td><td class="num">2</td></tr>' in page
    )
    assert (
        '<tr class="total"><th scope="row">Ensemble du plan</th><td class="num">3</td><td class="num">4</td></tr>'
        in page
    )
    assert '<li><a href="tables/tables.xlsx">tables.xlsx</a></li>' in page
    assert "<footer><p>Données : Données &lt;img src=x onerror=alert(1)&gt;. Paquet evaluation 0.1.0 ;" in page


def test_the_index_links_only_the_files_a_stopped_run_wrote(tmp_path):
    """A report that failed before its page and notebook were written (a run stopped part-way) is
    listed with its state, without links to files that are not there; nor are tables that are gone."""
    root = tmp_path / "2021"
    root.mkdir()
    entry = {
        "name": "engagements/3",
        "kind": "engagements",
        "key": "3",
        "title": "Engagement 3 : Invest in city people",
        "heading": "Fiches action",
        "group": None,
        "status": "failed",
        "error": "passage arrêté : interrompu",
        "outputs": {"html": "engagements/3.html", "ipynb": "engagements/3.ipynb", "log": "logs/3.log"},
    }
    manifest = {
        "year": 2021,
        "reports": [entry],
        "data": {"name": "d", "demo": False},
        "package": {"version": "0"},
        "tables": {"files": ["tables/tables.xlsx"]},  # kept from an earlier run, then removed
    }
    page = write_index(manifest, out_dir=tmp_path, plan=load_plan()).read_text(encoding="utf-8")
    assert "Engagement 3 : Invest in city people" in page and "en échec" in page
    assert "engagements/3.html" not in page and "engagements/3.ipynb" not in page
    assert "tables.xlsx" not in page
    (root / "engagements").mkdir()
    for name in ("3.html", "3.ipynb"):
        (root / "engagements" / name).write_text("{}", encoding="utf-8")
    page = write_index(manifest, out_dir=tmp_path, plan=load_plan()).read_text(encoding="utf-8")
    assert '<a href="engagements/3.html">' in page and '<a href="engagements/3.ipynb">' in page


def test_error_page_is_a_french_page_with_the_publication_stylesheet():
    """The page of a report that produced no notebook: its title, the failure notice, the print
    layout of the reports (A4, page numbers, the title in the top margin as a CSS string)."""
    page = _error_page('Rapport "test" <2021>', "KeyError: 'x' <script>alert(1)</script>")
    assert page.startswith("<!DOCTYPE html>") and re.findall(r"<html[^>]*>", page) == ['<html lang="fr">']
    assert "<title>Rapport &#34;test&#34; &lt;2021&gt;</title>" in page
    assert "<main><h1>Rapport &#34;test&#34; &lt;2021&gt;</h1>" in page and page.count("</main>") == 1
    assert '<div class="ev-failure"><strong>Ce rapport est incomplet : sa production a échoué.</strong>' in page
    # No section follows on this page: the notice does not point to any.
    assert "Aucune section n'a pu être produite." in page and "ci-dessous" not in page
    assert "<script>" not in page and "<code>KeyError: &#39;x&#39; &lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    assert "size: A4;" in page and 'content: "Page " counter(page) " / " counter(pages);' in page
    # '"', '<' and '>' as CSS escapes (backslash, hexadecimal code, one space): see _css_string.
    assert '@page{@top-left{content:"Rapport \\22 test\\22  \\3c 2021\\3e "}}' in page
    assert ".ev-failure,\n.ev-stopped {\n  background: #fde8e8;" in page  # the notice's style, shared


def test_a_failed_report_opens_with_the_notice_and_marks_where_it_stopped():
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Titre"),
            new_code_cell(
                "1/0",
                outputs=[
                    new_output(
                        "error", ename="ZeroDivisionError", evalue="division <x>", traceback=["Traceback: trace-xyz"]
                    )
                ],
            ),
        ]
    )
    page = export_html(notebook, "Rapport", failure="ZeroDivisionError: division <x>")
    notice = page.index('<div class="ev-failure"><strong>Ce rapport est incomplet : sa production a échoué.</strong>')
    assert notice < page.index('>Titre<a class="anchor-link"')  # before the first cell
    assert "Erreur : <code>ZeroDivisionError: division &lt;x&gt;</code>" in page
    assert (
        '<div class="ev-stopped"><strong>Le calcul s\'est arrêté ici.</strong> Erreur : '
        "<code>ZeroDivisionError : division &lt;x&gt;</code></div>" in page
    )
    assert "trace-xyz" not in page  # the traceback stays in the executed notebook
