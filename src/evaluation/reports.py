"""The batch: run the report notebooks with papermill and export reader-facing HTML.

``evaluation run`` builds one :class:`ReportJob` per report (for now: one per action sheet, from
``notebooks/engagement.ipynb``), executes them in a pool of worker processes, and writes under
``OUT/<year>/``: ``<kind>/<key>.html`` (no code, no parameters cell), ``<kind>/<key>.ipynb`` (the
executed notebook, the audit trail) and ``index.html``. Every file is written atomically; a report
that fails is kept (its notebook and an HTML page showing the error) and does not stop the others.
"""

from __future__ import annotations

import contextlib
import copy
import html
import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from evaluation.config import NOTEBOOKS_DIR, PLAN_YEARS
from evaluation.errors import UsageError
from evaluation.io import Dataset, atomic_write_text
from evaluation.plan import Plan

__all__ = ["REPORT_KINDS", "ReportJob", "ReportResult", "plan_jobs", "run_reports", "export_html", "write_index"]


@dataclass(frozen=True)
class ReportKind:
    """A family of reports: one notebook, run once per entry (key, title, specific parameters)."""

    notebook: str
    entries: Callable[[Plan], list[tuple[str, str, dict[str, object]]]]


def _engagement_entries(plan: Plan) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (s.id, f"Engagement {s.number} : {s.title}" if s.number else s.title, {"engagement_id": s.id})
        for s in plan.engagements
    ]


def _annual_entries(plan: Plan) -> list[tuple[str, str, dict[str, object]]]:
    from evaluation.employment_gap import PLAN_COMPARATOR

    title = "Rapport annuel : écart de taux d'emploi, baromètre des 26 quartiers, suivi du plan"
    return [("rapport", title, {"comparator": str(PLAN_COMPARATOR), "baseline_year": 0})]


#: Report kinds, in the order of the index page.
REPORT_KINDS: dict[str, ReportKind] = {
    "annuel": ReportKind("annual.ipynb", _annual_entries),
    "engagements": ReportKind("engagement.ipynb", _engagement_entries),
}

_HIDDEN_TAGS = {"parameters", "injected-parameters"}
#: nbconvert templates of the package (``report``: the lab template without CDN scripts).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ReportJob:
    """One report to produce: which notebook, with which parameters, to which files."""

    kind: str
    key: str
    title: str
    notebook: Path
    parameters: Mapping[str, object]
    html_path: Path
    ipynb_path: Path
    log_path: Path

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True)
class ReportResult:
    """What became of a job: ``status`` is ``ok`` or ``failed`` (``error`` says why)."""

    job: ReportJob
    status: str
    duration_s: float
    error: str | None = None
    failing_cell: int | None = field(default=None)


def _select(names: Sequence[str] | None, plan: Plan) -> dict[str, list[str] | None]:
    """Map ``--only`` names (a kind, or ``kind/key``) to the keys to run per kind (None: all)."""
    if not names:
        return {kind: None for kind in REPORT_KINDS}
    chosen: dict[str, list[str] | None] = {}
    for name in names:
        kind, _, key = name.partition("/")
        if kind not in REPORT_KINDS:
            raise UsageError(f"unknown report {name!r} (known: {', '.join(REPORT_KINDS)}, or engagements/<id>)")
        if not key:
            chosen[kind] = None
            continue
        keys = [k for k, _title, _params in REPORT_KINDS[kind].entries(plan)]
        if kind == "engagements":
            key = plan.engagement(key).id  # raises UsageError with the closest ids
        elif key not in keys:
            raise UsageError(f"unknown report {name!r} (known: {', '.join(f'{kind}/{k}' for k in keys)})")
        if chosen.get(kind, []) is not None:
            chosen.setdefault(kind, []).append(key)  # type: ignore[union-attr]
    return {kind: chosen[kind] for kind in REPORT_KINDS if kind in chosen}


def plan_jobs(
    plan: Plan,
    *,
    year: int,
    out_dir: Path,
    data_dir: Path | None = None,
    only: Sequence[str] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
) -> list[ReportJob]:
    """The reports to produce for ``year``, restricted to ``only`` when given."""
    if year not in PLAN_YEARS:
        raise UsageError(f"year {year} is outside the plan ({PLAN_YEARS[0]}-{PLAN_YEARS[-1]})")
    jobs = []
    for kind, keys in _select(only, plan).items():
        spec = REPORT_KINDS[kind]
        target = out_dir / str(year) / kind
        for key, title, specific in spec.entries(plan):
            if keys is not None and key not in keys:
                continue
            jobs.append(
                ReportJob(
                    kind=kind,
                    key=key,
                    title=title,
                    notebook=notebooks_dir / spec.notebook,
                    parameters={**specific, "year": year, "data_dir": str(data_dir or "")},
                    html_path=target / f"{key}.html",
                    ipynb_path=target / f"{key}.ipynb",
                    log_path=out_dir / str(year) / "logs" / kind / f"{key}.log",
                )
            )
    return jobs


def export_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """Reader-facing HTML: no code, no prompts, no parameters cells; images embedded."""
    from nbconvert import HTMLExporter

    shown = copy.deepcopy(notebook)
    shown.cells = [c for c in shown.cells if not _HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))]
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _resources = exporter.from_notebook_node(shown, resources={"metadata": {"name": title}})
    return body.replace("<html>", '<html lang="fr">', 1)


_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _failing_cell(notebook: nbformat.NotebookNode) -> tuple[int | None, str | None]:
    """1-based position of the failing cell in the source notebook (papermill's cells not counted)."""
    position = 0
    for cell in notebook.cells:
        if _PAPERMILL_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        position += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return position, f"{output.get('ename')}: {output.get('evalue')}"
    return None, None


@contextlib.contextmanager
def _stderr_to(path: Path):  # noqa: ANN202
    """Send this process's standard error (and its kernel's, which inherits it) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def execute_report(job: ReportJob) -> ReportResult:
    """Run one notebook and write its outputs atomically; never raises for a failing notebook.

    The kernel's and papermill's messages go to ``job.log_path``, not to the terminal.
    """
    with _stderr_to(job.log_path):
        print(
            f"report {job.name}: {job.notebook.name} {json.dumps(dict(job.parameters), ensure_ascii=False)}",
            file=sys.stderr,
        )
        result = _execute(job)
        print(
            f"status: {result.status} ({result.duration_s:.1f} s){'; ' + result.error if result.error else ''}",
            file=sys.stderr,
        )
    return result


def _execute(job: ReportJob) -> ReportResult:
    import papermill

    start = time.perf_counter()
    job.ipynb_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evaluation-run-") as tmp:
        executed = Path(tmp) / "executed.ipynb"
        error = None
        try:
            papermill.execute_notebook(
                str(job.notebook),
                str(executed),
                parameters=dict(job.parameters),
                cwd=str(job.notebook.parent),
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
            )
        except Exception as err:  # noqa: BLE001 - any failure of the report is recorded, not raised
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        if not executed.exists():
            return ReportResult(job, "failed", time.perf_counter() - start, error or "no notebook produced")
        notebook = nbformat.read(executed, as_version=4)
        cell, cell_error = _failing_cell(notebook)
        if error and cell_error:
            error = cell_error
        atomic_write_text(job.ipynb_path, nbformat.writes(notebook))
        try:
            page = export_html(notebook, job.title)
        except Exception as err:  # noqa: BLE001
            page = _error_page(job, f"Export HTML impossible : {err}")
            error = error or f"HTML export failed: {err}"
        if error and cell is None:
            page = _error_page(job, error)
        atomic_write_text(job.html_path, page)
    status = "failed" if error else "ok"
    return ReportResult(job, status, time.perf_counter() - start, error, cell)


def _error_page(job: ReportJob, message: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(job.title)}</title></head>'
        f"<body><h1>{html.escape(job.title)}</h1><p><strong>Ce rapport n'a pas pu être produit.</strong></p>"
        f"<pre>{html.escape(message)}</pre></body></html>"
    )


def _safe_execute(job: ReportJob) -> ReportResult:
    try:
        return execute_report(job)
    except Exception:  # noqa: BLE001 - a crash of one report must not stop the batch
        return ReportResult(job, "failed", 0.0, traceback.format_exc(limit=3).strip().splitlines()[-1])


def run_reports(
    jobs: Sequence[ReportJob],
    *,
    n_jobs: int = 1,
    on_done: Callable[[ReportResult, int, int], None] | None = None,
) -> list[ReportResult]:
    """Execute ``jobs`` in ``n_jobs`` worker processes; results in the order of ``jobs``."""
    results: dict[str, ReportResult] = {}
    if n_jobs <= 1 or len(jobs) <= 1:
        for job in jobs:
            results[job.name] = _safe_execute(job)
            if on_done:
                on_done(results[job.name], len(results), len(jobs))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context) as pool:
            futures = {pool.submit(_safe_execute, job): job for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - e.g. a worker killed by the system
                    result = ReportResult(job, "failed", 0.0, f"{type(err).__name__}: {err}")
                results[job.name] = result
                if on_done:
                    on_done(result, len(results), len(jobs))
    return [results[job.name] for job in jobs]


def write_index(
    results: Iterable[ReportResult],
    *,
    all_jobs: Sequence[ReportJob],
    out_dir: Path,
    year: int,
    dataset: Dataset,
    plan: Plan,
    n_findings: int,
) -> Path:
    """``OUT/<year>/index.html``: every report of the year, grouped by priority, with its status.

    ``all_jobs`` is the full list of the year's reports: a report this run did not produce is shown
    as produced earlier when its HTML is on disk, as not produced otherwise.
    """
    done = {r.job.name: r for r in results}
    root = out_dir / str(year)
    groups: list[tuple[str, list[ReportJob]]] = [("Rapports annuels", [j for j in all_jobs if j.kind != "engagements"])]
    sheet_jobs = [j for j in all_jobs if j.kind == "engagements"]
    for priority_id, heading in [(p.id, f"Priorité {p.id[1:]} : {p.title}") for p in plan.priorities] + [
        (None, plan.transversal.title)
    ]:
        keys = {s.id for s in plan.engagements if s.priority == priority_id}
        groups.append((heading, [j for j in sheet_jobs if j.key in keys]))
    sections = []
    counts = {"ok": 0, "failed": 0, "earlier": 0, "missing": 0}
    for heading, jobs in groups:
        rows = []
        for job in jobs:
            link = job.html_path.relative_to(root).as_posix()
            result = done.get(job.name)
            if result is not None and result.status == "ok":
                state, status = "ok", "produit"
            elif result is not None:
                state, status = "failed", f"échec : {html.escape(result.error or '')}"
            elif job.html_path.exists():
                state, status = "earlier", "produit lors d'un passage précédent"
            else:
                state, status = "missing", "non produit"
            counts[state] += 1
            title = html.escape(job.title)
            cell = f'<a href="{html.escape(link)}">{title}</a>' if state != "missing" else title
            rows.append(f'<tr class="{state}"><td>{cell}</td><td>{status}</td></tr>')
        if rows:
            sections.append(
                f"<h2>{html.escape(heading)}</h2><table><thead><tr><th>Rapport</th><th>État</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
    banner = ""
    if dataset.demo:
        banner = (
            '<div class="banner">Données de démonstration : les valeurs de suivi de ce jeu sont synthétiques '
            "et ne doivent pas être citées.</div>"
        )
    indicators = sum(len(s.indicators) for s in plan.engagements)
    summary = (
        f"{counts['ok']} rapport(s) produit(s) par ce passage"
        + (f", {counts['failed']} en échec" if counts["failed"] else "")
        + (f", {counts['earlier']} produit(s) lors d'un passage précédent" if counts["earlier"] else "")
        + (f", {counts['missing']} non produit(s)" if counts["missing"] else "")
    )
    page = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Évaluation du plan économie et emploi – {year}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#f0f3f7}}h2{{font-size:1.1em;margin-top:1.5em}}
tr.failed td{{background:#fde8e8}}tr.missing td{{color:#777}}
.banner{{background:#fff3cd;border:2px solid #d39e00;padding:8px 12px;font-weight:bold}}</style></head>
<body>{banner}
<h1>Plan d'actions économie et emploi des quartiers prioritaires de la MEL – rapports {year}</h1>
<p>{len(plan.engagements)} fiches action, {indicators} résultats attendus, {n_findings} constats de l'audit du plan
(<code>evaluation audit</code>). {summary}.</p>
{"".join(sections)}
<p><small>Données : {html.escape(dataset.name)}.</small></p>
</body></html>
"""
    path = root / "index.html"
    atomic_write_text(path, page)
    return path


def default_jobs() -> int:
    """Default worker count: the machine's CPU count."""
    import os

    return max(1, os.cpu_count() or 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the 'evaluation run' command")
