"""The year's index page: every report with its status, grouped as in the run plan.

The page is the Jinja2 template ``templates/pages/index.html.j2``; this module turns the run's
manifest into what the template shows (rows, states in French, links, counts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.batch.export import render_page
from evaluation.batch.jobs import MANIFEST_NAME, _write_output
from evaluation.referential.plan import Plan

# --------------------------------------------------------------------------------------------------
# Index page


@dataclass(frozen=True)
class _Link:
    """A link of the index: its French label and its address from the index."""

    label: str
    href: str


@dataclass(frozen=True)
class _Row:
    """A report's row of the index: its state (the row's CSS class: ok, cached, earlier, failed,
    missing), title, page (``None`` when there is none), state in French and other formats."""

    state: str
    title: str
    href: str | None
    status: str
    other_formats: tuple[_Link, ...]


def _when(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        return dt.datetime.fromisoformat(stamp).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return stamp


def _index_status(entry: Mapping[str, Any], root: Path) -> tuple[str, str]:
    """CSS class and French text (not escaped) of a report's state on the index page."""
    html_file = root / entry["outputs"]["html"]
    status = entry.get("status")
    if status in ("ok", "cached") and not html_file.is_file():
        return "missing", "non produit (fichier absent)"
    if status == "failed":
        cell = f" (cellule {entry['failing_cell']})" if entry.get("failing_cell") else ""
        when = "" if entry.get("in_this_run", True) else f", passage du {_when(entry.get('finished'))}"
        return "failed", f"en échec{cell}{when} : {entry.get('error') or ''}"
    if status == "cached":
        return "cached", f"inchangé depuis le {_when(entry.get('produced'))} (données, carnet et paramètres identiques)"
    if status == "ok":
        if entry.get("in_this_run", True):
            return "ok", "produit"
        return "earlier", f"produit le {_when(entry.get('produced') or entry.get('finished'))} (hors de ce passage)"
    return "missing", "non produit"


def _index_other_formats(entry: Mapping[str, Any], root: Path) -> tuple[_Link, ...]:
    """The index's links to a report's other files that exist: its executed notebook, and its PDF when one lies
    beside the HTML page (``<kind>/<key>.pdf``). The template names the report in each link for
    screen readers."""
    html_rel = str(entry["outputs"]["html"])
    notebook = str(entry["outputs"]["ipynb"])
    links = [_Link("carnet exécuté", notebook)] if (root / notebook).is_file() else []  # a stopped run wrote none
    pdf_rel = Path(html_rel).with_suffix(".pdf").as_posix()
    if (root / pdf_rel).is_file():
        links.append(_Link("PDF", pdf_rel))
    return tuple(links)


def _index_row(entry: Mapping[str, Any], root: Path) -> _Row:
    state, text = _index_status(entry, root)
    if state == "missing":
        return _Row(state, str(entry["title"]), None, text, ())
    page = str(entry["outputs"]["html"])
    href = page if (root / page).is_file() else None  # a run stopped part-way wrote no page for it
    return _Row(state, str(entry["title"]), href, text, _index_other_formats(entry, root))


def write_index(manifest: Mapping[str, Any], *, out_dir: Path, plan: Plan) -> Path:
    """``OUT/<year>/index.html`` from the run's manifest: the reports grouped as in the run plan (the
    engagement reports by priority), each with its status, and the plan-wide status counts."""
    year = manifest["year"]
    root = out_dir / str(year)
    counts = dict.fromkeys(("ok", "cached", "earlier", "failed", "missing"), 0)
    by_heading: dict[str, list[Mapping[str, Any]]] = {}
    for entry in manifest["reports"]:
        by_heading.setdefault(entry.get("heading") or entry["kind"], []).append(entry)
    sections = []
    for heading, entries in by_heading.items():
        groups: dict[str | None, list[_Row]] = {}
        for entry in entries:
            row = _index_row(entry, root)
            counts[row.state] += 1
            groups.setdefault(entry.get("group"), []).append(row)
        sections.append(
            {"heading": heading, "groups": [{"title": group, "rows": rows} for group, rows in groups.items()]}
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
    status_table = None
    status_counts = manifest.get("status_counts")
    if status_counts:
        labels = status_counts.get("labels", {})
        rows_fr = {p.id: f"Priorité {p.id[1:]} : {p.title}" for p in plan.priorities} | {
            "transversal": plan.transversal.title,
            "total": "Ensemble du plan",
        }
        status_table = {
            "columns": [labels.get(c, c) for c in status_counts["columns"]],
            "rows": [
                {"label": rows_fr.get(name, name), "counts": values, "total": name == "total"}
                for name, values in status_counts["rows"].items()
            ],
        }
    data = manifest["data"]
    tables = (manifest.get("tables") or {}).get("files", [])
    page = render_page(
        "pages/index.html.j2",
        title=f"Évaluation du plan économie et emploi – {year}",
        year=year,
        demo=bool(data.get("demo")),
        report_count=len(manifest["reports"]),
        summary=summary,
        run_at=_when(manifest.get("finished") or manifest.get("started")),
        status_counts=status_table,
        sections=sections,
        tables=[_Link(Path(f).name, f) for f in tables if (root / f).is_file()],  # never a link to a missing file
        data_name=str(data.get("name", "")),
        version=str(manifest["package"]["version"]),
        manifest_name=MANIFEST_NAME,
    )
    path = root / "index.html"
    _write_output(path, page)
    return path
