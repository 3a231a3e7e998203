"""The year's index page: every report with its status, grouped as in the run plan."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.batch.export import TEMPLATES_DIR, _css_string
from evaluation.batch.jobs import MANIFEST_NAME, _write_output
from evaluation.referential.plan import Plan

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------------
# Index page


def _when(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        return dt.datetime.fromisoformat(stamp).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return stamp


def _index_status(entry: Mapping[str, Any], root: Path) -> tuple[str, str]:
    """CSS class and French text of a report's state on the index page."""
    html_file = root / entry["outputs"]["html"]
    status = entry.get("status")
    if status in ("ok", "cached") and not html_file.is_file():
        return "missing", "non produit (fichier absent)"
    if status == "failed":
        cell = f" (cellule {entry['failing_cell']})" if entry.get("failing_cell") else ""
        when = "" if entry.get("in_this_run", True) else f", passage du {_when(entry.get('finished'))}"
        return "failed", f"en échec{cell}{when} : {html.escape(str(entry.get('error') or ''))}"
    if status == "cached":
        return "cached", f"inchangé depuis le {_when(entry.get('produced'))} (données, carnet et paramètres identiques)"
    if status == "ok":
        if entry.get("in_this_run", True):
            return "ok", "produit"
        return "earlier", f"produit le {_when(entry.get('produced') or entry.get('finished'))} (hors de ce passage)"
    return "missing", "non produit"


def _index_other_formats(entry: Mapping[str, Any], root: Path) -> str:
    """The index's links to a report's other files: its executed notebook, and its PDF when one lies
    beside the HTML page (``<kind>/<key>.pdf``). Each link names its report for screen readers."""
    html_rel = str(entry["outputs"]["html"])
    context = f'<span class="sr-only"> de « {html.escape(entry["title"])} »</span>'
    links = [f'<a href="{html.escape(entry["outputs"]["ipynb"])}">carnet exécuté{context}</a>']
    pdf_rel = Path(html_rel).with_suffix(".pdf").as_posix()
    if (root / pdf_rel).is_file():
        links.append(f'<a href="{html.escape(pdf_rel)}">PDF{context}</a>')
    return " · ".join(links)


def _publication_css() -> str:
    """The stylesheet the reports share with the index (``templates/report/publication.css.j2``)."""
    return (TEMPLATES_DIR / "report" / "publication.css.j2").read_text(encoding="utf-8")


def write_index(manifest: Mapping[str, Any], *, out_dir: Path, plan: Plan) -> Path:
    """``OUT/<year>/index.html`` from the run's manifest: the reports grouped as in the run plan (the
    engagement reports by priority), each with its status, and the plan-wide status counts."""
    year = manifest["year"]
    root = out_dir / str(year)
    sections = []
    counts = dict.fromkeys(("ok", "cached", "earlier", "failed", "missing"), 0)
    by_heading: dict[str, list[Mapping[str, Any]]] = {}
    for entry in manifest["reports"]:
        by_heading.setdefault(entry.get("heading") or entry["kind"], []).append(entry)
    for heading, entries in by_heading.items():
        groups: dict[str | None, list[Mapping[str, Any]]] = {}
        for entry in entries:
            groups.setdefault(entry.get("group"), []).append(entry)
        parts = [f"<h2>{html.escape(heading)}</h2>"]
        for group, members in groups.items():
            rows = []
            for entry in members:
                state, text = _index_status(entry, root)
                counts[state] += 1
                title = html.escape(entry["title"])
                outputs = entry["outputs"]
                if state == "missing":
                    link, others = title, ""
                else:
                    link = f'<a href="{html.escape(outputs["html"])}">{title}</a>'
                    others = _index_other_formats(entry, root)
                rows.append(f'<tr class="{state}"><th scope="row">{link}</th><td>{text}</td><td>{others}</td></tr>')
            if group:
                parts.append(f"<h3>{html.escape(group)}</h3>")
            parts.append(
                '<table><thead><tr><th scope="col">Rapport</th><th scope="col">État</th>'
                '<th scope="col">Autres formats</th></tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
            )
        sections.append("".join(parts))
    data = manifest["data"]
    banner = ""
    if data.get("demo"):
        banner = (
            '<div class="banner">Données de démonstration : les valeurs de suivi de ce jeu sont synthétiques '
            "et ne doivent pas être citées.</div>"
        )
    summary = ", ".join(
        text
        for text in (
            f"{counts['ok']} produit(s) par ce passage" if counts["ok"] else "",
            f"{counts['cached']} inchangé(s), repris du passage précédent" if counts["cached"] else "",
            f"{counts['earlier']} produit(s) lors d'un passage précédent" if counts["earlier"] else "",
            f"{counts['failed']} en échec" if counts["failed"] else "",
            f"{counts['missing']} non produit(s)" if counts["missing"] else "",
        )
        if text
    )
    status_block = "<p>Décompte indisponible (les tableaux n'ont pas pu être calculés).</p>"
    status_counts = manifest.get("status_counts")
    if status_counts:
        labels = status_counts.get("labels", {})
        rows_fr = {p.id: f"Priorité {p.id[1:]} : {p.title}" for p in plan.priorities} | {
            "transversal": plan.transversal.title,
            "total": "Ensemble du plan",
        }
        head = "".join(f'<th scope="col">{html.escape(labels.get(c, c))}</th>' for c in status_counts["columns"])
        body = "".join(
            f'<tr class="{"total" if name == "total" else ""}"><th scope="row">{html.escape(rows_fr.get(name, name))}</th>'
            + "".join(f'<td class="num">{v}</td>' for v in values)
            + "</tr>"
            for name, values in status_counts["rows"].items()
        )
        status_block = (
            f"<table><caption>Nombre d'indicateurs par statut en {year}</caption>"
            f'<thead><tr><th scope="col">Priorité</th>{head}</tr></thead><tbody>{body}</tbody></table>'
        )
    tables = (manifest.get("tables") or {}).get("files", [])
    tables_block = (
        "<ul>"
        + "".join(f'<li><a href="{html.escape(f)}">{html.escape(Path(f).name)}</a></li>' for f in tables)
        + "</ul>"
        if tables
        else "<p>Aucun tableau produit.</p>"
    )
    title = f"Évaluation du plan économie et emploi – {year}"
    page = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>{_publication_css()}</style>
<style>@page{{@top-left{{content:"{_css_string(title)}"}}}}
body{{font-family:sans-serif;max-width:64em;margin:2em auto;padding:0 1em;color:#1a1a1a}}table{{border-collapse:collapse;width:100%;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}thead th{{background:#f0f3f7}}tbody th{{font-weight:normal}}td.num{{text-align:right}}
caption{{text-align:left;font-weight:bold;padding:4px 0}}h2{{font-size:1.15em;margin-top:1.6em}}h3{{font-size:1em}}
tr.failed td,tr.failed th{{background:#fde8e8}}tr.missing td,tr.missing th{{color:#595959}}tr.total td,tr.total th{{font-weight:bold}}
.banner{{background:#fff3cd;border:2px solid #d39e00;padding:8px 12px;font-weight:bold}}
.sr-only{{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}}
footer{{margin-top:2em;font-size:0.85em}}</style></head>
<body><main>{banner}
<h1>Plan d'actions économie et emploi des quartiers prioritaires de la MEL – livrables {year}</h1>
<p>{len(manifest["reports"])} rapports : {summary}. Passage du {_when(manifest.get("finished") or manifest.get("started"))}.</p>
<h2>Situation des indicateurs du plan en {year}</h2>
{status_block}
{"".join(sections)}
<h2>Tableaux de données (CSV pour Excel, classeur)</h2>
{tables_block}
</main>
<footer><p>Données : {html.escape(str(data.get("name", "")))}. Paquet evaluation {html.escape(str(manifest["package"]["version"]))} ;
détail du passage dans <a href="{MANIFEST_NAME}">{MANIFEST_NAME}</a>.</p></footer>
</body></html>
"""
    path = root / "index.html"
    _write_output(path, page)
    return path
