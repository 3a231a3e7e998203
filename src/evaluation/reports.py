"""The batch: run the report notebooks of a run plan and write the deliverables of a year.

``evaluation run --year Y`` reads the run plan ``params/Y.yaml`` (:mod:`evaluation.runplan`),
checks every selected report's parameters against its notebook before any kernel starts, and writes
under ``OUT/<year>/``:

- ``<kind>/<key>.html``: the report for readers (no code, no parameters cell, images embedded, no
  third-party script), ``<kind>/<key>.ipynb``: the executed notebook (audit trail, with papermill's
  ``injected-parameters`` cell and metadata), ``logs/<kind>/<key>.log``: what happened;
- ``tables/``: the year's tables as French CSV files and ``tables.xlsx`` (:mod:`evaluation.tables`);
- ``index.html``: every report of the year with its status, and the plan-wide status counts;
- ``manifest.json``: the record of the run (below).

Every file is written to a temporary file beside it and renamed over it, so that an interrupted batch
(Ctrl-C, kill) never leaves a truncated report in place of a good one. A report that fails keeps its
executed notebook and an HTML page that shows the error in French; the others complete.

**Warm kernels.** Starting a Jupyter kernel and importing pandas, matplotlib and the package costs
several seconds, more than a small report's own work. :class:`KernelPool` runs ``jobs`` workers;
each is a thread of this process that owns one long-lived ``python3`` kernel (a separate process,
so the reports of different workers run in parallel), started once by a
:class:`jupyter_client.AsyncKernelManager` and handed to papermill's
:class:`~papermill.clientwrap.PapermillNotebookClient` (``km=...``, with the worker's kernel client)
through a papermill engine registered as ``evaluation-warm``. Parameters are injected by
:func:`papermill.execute_notebook` itself, so the executed notebooks are papermill's. At start-up
each kernel imports what the notebooks import (their top-level ``import`` statements) and records
the state a report could change; before every report, silently (no cell, no execution count):
``get_ipython().reset(new_session=True)`` (what ``%reset -f`` does, plus a new history session and
the execution counter back to 1), the working directory set to the notebook's folder, ``sys.path``,
environment variables, warning filters (and the "already shown" registries), locale, matplotlib's
``rcParams`` and pandas' options restored, every pyplot figure closed. Imported modules stay
imported: the second report of a kernel starts at once. Module-level caches of the package
(``load_plan``'s, keyed on the folder) may then serve several reports of one run; kernels live for
one run only. A test checks that a report's outputs equal those of a fresh kernel
(``papermill.execute_notebook``), also when it is the second report of a kernel. A kernel that dies
is restarted and the report retried once in the fresh kernel. The workers are threads, not
processes: the work of this process per report is small (papermill's bookkeeping, the HTML export),
and one process means one import of nbformat, papermill and nbconvert instead of one per worker.

**Checked inputs, once.** The kernels start while this process checks the input files; no report
starts before that check is over (an unreadable file stops the run). The check's result (monitoring,
spending and barometer rows, already validated) is kept, pickled, in a private folder of the run
(:class:`_SharedInputs`: ``OUT/<year>/.entrees-verifiees``, mode 0700, removed at the end) whose
path the kernels inherit: they read it instead of checking the same files again. Cohort records,
which are about persons, are never written there. See :func:`evaluation.intake._cache._remembered`.

**One run per folder.** A run holds an ``flock`` on ``OUT/<year>/.verrou`` (:class:`_RunLock`); a
second run into the same folder stops at once (exit status 2) naming the first. The system drops
the lock when the process ends, even killed: it never goes stale.

**A folder of its own.** ``--out`` may not be a filesystem root, a system folder or the home folder
itself, and ``OUT/<year>`` may not hold files that no run of this tool wrote (no ``manifest.json`` of
ours) nor a symbolic link anywhere (:func:`_check_year_folder`). What the run creates there is
created without following links: the lock with ``O_NOFOLLOW`` (a plain file only), the shared-inputs
folder by ``mkdir`` (a link in its place is removed by its name), temporary files by ``mkstemp``.
A write refused by the system (full disk) stops the run with a message naming the file. Kernel
folders left in the temporary folder by killed runs are removed at the next start
(:func:`remove_stale_kernel_folders`).

**Cache.** A report is not run again when its *cache key* equals the one recorded in the previous
manifest with status ``ok`` (or ``cached``) and its HTML and notebook are still there. The key is the
SHA-256 of: the notebook's code cells (:func:`evaluation.runplan.notebook_code_sha256`; outputs and
metadata do not count), the parameters (``data_dir`` included), the content hash of every file under
the data folder plus the referential ``data/plan/`` and the reference files ``data/reference/`` (read
by the yearly report), and the package (:func:`package_fingerprint`: its version and the hash of its
source files, so that an edited editable install counts as a change). ``--force`` runs every report
and rebuilds the tables. The tables are cached on the inputs and the package, and the check of the
input files is skipped when the previous run checked the same files. A fully unchanged run hashes
the inputs, reads the previous manifest, and rewrites the manifest and the index: it starts no
kernel and imports neither papermill nor pandas.

**Manifest.** ``OUT/<year>/manifest.json`` is the journal of the run, written atomically: when the
run starts (the reports about to run are written with status ``running`` and no key, so that a
killed run cannot leave a half-made report looking current: the next run makes it again), after
every report (with that report's cache key: a killed run resumes after the reports it finished),
and at the end; the index is written too when the run stops part-way. It holds the run
(``started``, ``finished``, ``duration_s``, ``jobs``,
``only``, ``force``, ``counts`` per status), the package (``version``, ``fingerprint``), the run plan,
the data folder (``path``, ``name``, ``demo``), ``inputs``: the SHA-256 of every input file and of
all of them, the check of the inputs (``validation``), the tables written (``tables``), the plan-wide
status counts of the index (``status_counts``), papermill's reading of each notebook's parameters
(``notebook_parameters``, keyed by the hash of its code), and per report: ``name``, ``kind``, ``key``,
``title``, ``notebook``, ``parameters``, ``status`` (``ok``, ``failed``, ``cached``, ``not produced``),
``reason`` (why it ran: ``first run``, which input changed, ``--force``...), ``duration_s`` (in this
run), ``started``, ``finished``, ``produced`` and ``production_s`` (when and in how long its current
outputs were made), ``outputs`` (``html``, ``ipynb``, ``log``, relative to ``OUT/<year>/``),
``cache_key`` and ``key_parts``, ``error`` and ``failing_cell`` (1-based in the source notebook),
``kernel`` (worker number and position of the report in that kernel), ``kernel_restarts``, and
``in_this_run`` (False for a report left out by ``--only``: its entry is carried over).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as dt
import errno
import hashlib
import html
import json
import logging
import os
import queue
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from evaluation import __version__
from evaluation._imports import spare_iri_checker
from evaluation.config import DATA_DIR, NOTEBOOKS_DIR, PARAMS_DIR, PLAN_DIR, ROOT
from evaluation.errors import UsageError, _display_path
from evaluation.io import Dataset, atomic_write_text
from evaluation.plan import Plan
from evaluation.runplan import (
    PlannedReport,
    RunPlan,
    RunPlanError,
    RunPlanErrors,
    check_reports,
    load_run_plan,
    notebook_code_sha256,
    run_plan_path,
)

if TYPE_CHECKING:
    import nbformat

__all__ = [
    "ReportKind",
    "ReportJob",
    "ReportResult",
    "BatchResult",
    "KernelPool",
    "ProgressBar",
    "plan_jobs",
    "run_reports",
    "run_batch",
    "export_html",
    "write_index",
    "input_hashes",
    "package_fingerprint",
    "default_jobs",
    "remove_stale_kernel_folders",
]

_HIDDEN_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag"}
_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
#: nbconvert templates of the package (``report``: the lab template without CDN scripts).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MANIFEST_NAME = "manifest.json"
_ENGINE_NAME = "evaluation-warm"
_KERNEL_NAME = "python3"
_STATUS_ORDER = ("ok", "cached", "failed", "not produced")
_INTERRUPTED = "interrompu avant la fin"


# --------------------------------------------------------------------------------------------------
# Report kinds (from the run plans) and jobs


@dataclass(frozen=True)
class ReportKind:
    """A family of reports of the run plans: one notebook, run once per item."""

    notebook: str


def report_kinds() -> dict[str, ReportKind]:
    """Every report kind of the run plans in ``params/`` (later years last), with its notebook."""
    import yaml

    kinds: dict[str, ReportKind] = {}
    for path in sorted(PARAMS_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, entry in (raw.get("reports") or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("notebook"), str):
                kinds[str(name)] = ReportKind(entry["notebook"])
    return kinds


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
    heading: str = ""
    group: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True)
class ReportResult:
    """What became of a job: ``status`` is ``ok``, ``failed``, ``cached`` or ``interrupted``."""

    job: ReportJob
    status: str
    duration_s: float
    error: str | None = None
    failing_cell: int | None = None
    started: str | None = None
    finished: str | None = None
    #: Worker number (1-based) and position of the report among that worker's reports.
    kernel: tuple[int, int] | None = None
    restarts: int = 0


def plan_jobs(
    run_plan: RunPlan,
    *,
    out_dir: Path,
    data_dir: Path | str | None = None,
    reports: Iterable[PlannedReport] | None = None,
) -> list[ReportJob]:
    """The jobs of ``reports`` (default: all of the run plan), with ``data_dir`` added to their parameters."""
    root = out_dir / str(run_plan.year)
    jobs = []
    for report in run_plan.reports if reports is None else reports:
        jobs.append(
            ReportJob(
                kind=report.kind,
                key=report.key,
                title=report.title,
                notebook=report.notebook,
                parameters={**report.parameters, "data_dir": str(data_dir or "")},
                html_path=root / report.kind / f"{report.key}.html",
                ipynb_path=root / report.kind / f"{report.key}.ipynb",
                log_path=root / "logs" / report.kind / f"{report.key}.log",
                heading=report.heading,
                group=report.group,
            )
        )
    return jobs


def default_jobs() -> int:
    """Default worker count: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------------
# Reader-facing HTML


@dataclass(frozen=True)
class NavLink:
    """A link of a report's navigation bar: the linked report's title and its address from the page."""

    title: str
    href: str


@dataclass(frozen=True)
class ReportNavigation:
    """The navigation bar of a report page: the year's index, and the reports before and after it
    among those of its kind, in the order of the run plan (``None`` at either end)."""

    year: int
    index_href: str
    previous: NavLink | None = None
    next: NavLink | None = None


def report_navigation(job: ReportJob) -> ReportNavigation | None:
    """The navigation of ``job``'s page, from the run's manifest (``OUT/<year>/manifest.json``).

    The manifest is written before any report starts and lists every report of the run plan in its
    order (:func:`_run_locked`), so it is where the batch's ordering is known to a worker. A
    neighbour that no run has produced (left out by ``--only``) is skipped: no link leads nowhere.
    ``None`` (no bar) when there is no manifest of this year, as for a report run outside a batch.
    """
    root = job.html_path.parent.parent
    manifest = _read_manifest(root / MANIFEST_NAME)
    entries = [e for e in manifest.get("reports", []) if isinstance(e, Mapping)]
    if not isinstance(manifest.get("year"), int) or not any(e.get("name") == job.name for e in entries):
        return None
    here = job.html_path.parent

    def link(entry: Mapping[str, Any]) -> NavLink:
        target = root / str((entry.get("outputs") or {}).get("html", f"{entry['kind']}/{entry['key']}.html"))
        return NavLink(str(entry.get("title") or entry["name"]), Path(os.path.relpath(target, here)).as_posix())

    siblings = [
        e
        for e in entries
        if e.get("kind") == job.kind and (e.get("name") == job.name or e.get("status") != "not produced")
    ]
    position = next(i for i, e in enumerate(siblings) if e.get("name") == job.name)
    return ReportNavigation(
        year=manifest["year"],
        index_href=Path(os.path.relpath(root / "index.html", here)).as_posix(),
        previous=link(siblings[position - 1]) if position > 0 else None,
        next=link(siblings[position + 1]) if position + 1 < len(siblings) else None,
    )


def _css_string(text: str) -> str:
    """``text`` as the inside of a double-quoted CSS string (for ``content:``), safe in a ``<style>``
    element: quotes, backslashes, line breaks and ``<`` written as CSS escapes."""
    out = []
    for char in " ".join(text.split()):
        out.append(f"\\{ord(char):x} " if char in '"\\<>&' else char)
    return "".join(out)


#: Print layout estimate (publication.css.j2: tables at 8 pt, cells padded 4 px a side): the width of
#: an average character of the text font at 8 pt and of a cell's padding and border, in CSS pixels,
#: and the width of an A4 page's text (210 mm less two 15 mm margins, at 96 px per inch).
_PRINT_CHAR_PX = 6.2
_PRINT_CELL_PX = 9.0
_PRINT_TEXT_WIDTH_PX = 180 / 25.4 * 96
#: Where a line may break in a table cell: spaces other than the no-break ones, and after a hyphen.
_BREAKABLE = re.compile(r"[ \t\r\n]+|(?<=-)")


def _min_print_width(rows: list[list[Any]]) -> float:
    """The narrowest a table can be printed without cutting a word, in CSS pixels (estimate): per
    column, the longest run of text without a break opportunity among its cells (a number and its
    unit are joined by a no-break space: "10\u00a0établissements" does not wrap), bold headers 10 %
    wider, plus each cell's padding."""
    widths: dict[int, float] = {}
    for row in rows:
        for i, cell in enumerate(row):
            longest = max((len(word) for word in _BREAKABLE.split(cell.get_text())), default=0)
            width = longest * _PRINT_CHAR_PX * (1.1 if cell.name == "th" else 1.0) + _PRINT_CELL_PX
            widths[i] = max(widths.get(i, 0.0), width)
    return sum(widths.values())


def _tables_for_readers(page: str) -> str:
    """Every table of the page (views, pandas) made readable by assistive technologies and on paper.

    - Headers: ``scope="col"`` on the header cells of a ``thead``, ``scope="row"`` on those of a body
      row; an empty header cell (pandas' corner above the index) becomes a data cell: it heads nothing.
    - Print: a simple table (one header row, no merged cell) that cannot fit the width of an A4 page
      even with every cell wrapped (:func:`_min_print_width`) is marked ``ev-stack``, and each of its
      body cells gets its column's header as ``data-label``: the print stylesheet then prints each row
      as a block of "header : value" pairs instead of cutting columns off.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, features="html.parser")
    for cell in soup.select("table th"):
        if not cell.get_text(strip=True) and not cell.find(["img", "svg"]):
            cell.name = "td"
            continue
        if cell.get("scope") or cell.get("headers") is not None:
            continue
        cell["scope"] = "col" if cell.find_parent("thead") is not None else "row"
    for table in soup.find_all("table"):
        head_rows = table.select(":scope > thead > tr")
        body_rows = table.select(":scope > tbody > tr")
        if len(head_rows) != 1 or not body_rows or table.select("[colspan], [rowspan]"):
            continue
        labels = [c.get_text(" ", strip=True) for c in head_rows[0].find_all(["th", "td"], recursive=False)]
        rows = [r.find_all(["th", "td"], recursive=False) for r in [*head_rows, *body_rows]]
        if any(len(r) != len(labels) for r in rows) or _min_print_width(rows) <= _PRINT_TEXT_WIDTH_PX:
            continue
        table["class"] = [*table.get("class", []), "ev-stack"]
        for row in rows[1:]:
            for label, cell in zip(labels, row, strict=True):
                cell["data-label"] = label
    return str(soup)


def export_html(
    notebook: nbformat.NotebookNode,
    title: str,
    failure: str | None = None,
    *,
    navigation: ReportNavigation | None = None,
) -> str:
    """Reader-facing HTML: no code, no prompts, no parameters or papermill cells; images embedded.

    With ``failure`` (the error, in one line), a French notice opens the page and each error output
    is replaced by a short French box; the full traceback stays in the executed notebook and the log.
    With ``navigation`` (:func:`report_navigation`), a bar at the top links to the year's index and
    to the neighbouring reports. The page is in French (``lang="fr"``), prints on A4 with ``title``
    and the page numbers in the margins, every table header has its ``scope``, and every image a
    text alternative (the template ``templates/report/index.html.j2``).
    """
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_markdown_cell, new_output

    shown = copy.deepcopy(notebook)
    shown.cells = [c for c in shown.cells if not _HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))]
    if failure is not None:
        for cell in shown.cells:
            for i, output in enumerate(cell.get("outputs", [])):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename')} : {output.get('evalue')}"
                    cell.outputs[i] = new_output(
                        "display_data",
                        data={
                            "text/html": '<div style="background:#fde8e8;border:2px solid #c53030;padding:8px 12px">'
                            "<strong>Le calcul s'est arrêté ici.</strong> "
                            f"Erreur : <code>{html.escape(message)}</code></div>",
                            "text/plain": message,
                        },
                    )
        shown.cells.insert(0, new_markdown_cell(_failure_notice(failure)))
    exporter = _exporter(HTMLExporter)
    resources = {"metadata": {"name": title}, "navigation": navigation, "print_title_css": _css_string(title)}
    body, _resources = exporter.from_notebook_node(shown, resources=resources)
    body = _tables_for_readers(body)
    return re.sub(r"<html(\s+lang=\"[^\"]*\")?>", '<html lang="fr">', body, count=1)


_local = threading.local()


def _exporter(cls: Any) -> Any:
    """One HTML exporter per thread (building one loads the templates)."""
    exporter = getattr(_local, "exporter", None)
    if exporter is None:
        exporter = cls(
            optimistic_validation=True,  # validate once after the preprocessors, not after each
            template_name="report",
            extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
        _local.exporter = exporter
    return exporter


def _failure_notice(error: str) -> str:
    return (
        '<div style="background:#fde8e8;border:2px solid #c53030;padding:8px 12px;margin:8px 0">'
        "<strong>Ce rapport est incomplet : sa production a échoué.</strong><br>"
        f"Erreur : <code>{html.escape(error)}</code><br>"
        "Les sections ci-dessous s'arrêtent à l'endroit de l'erreur. Le carnet exécuté (.ipynb) et le "
        "journal de production (logs/) donnent le détail technique.</div>"
    )


def _error_page(title: str, message: str) -> str:
    """A page for a report that produced no notebook at all (kernel lost, notebook unreadable...)."""
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family:sans-serif;max-width:60em;margin:2em auto"><h1>{html.escape(title)}</h1>'
        f"{_failure_notice(message)}</body></html>"
    )


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


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------------------------------
# Warm kernels

#: Installed in each kernel as the module ``_evaluation_warm_kernel`` (see the module docstring).
_KERNEL_MODULE = r"""
import gc, locale, os, sys, time, warnings

_saved = {}


def _pandas_options(pd):
    try:
        keys = list(pd._config.config._registered_options)
    except AttributeError:
        return None
    values = {}
    for key in keys:
        try:
            values[key] = pd.get_option(key)
        except Exception:
            pass
    return values


def snapshot():
    _saved["path"] = list(sys.path)
    _saved["environ"] = dict(os.environ)
    _saved["filters"] = list(warnings.filters)
    try:
        _saved["locale"] = locale.setlocale(locale.LC_ALL)
    except locale.Error:
        _saved["locale"] = None
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        rc = dict(mpl.rcParams.copy())  # as matplotlib.rc_context does
        rc.pop("backend", None)
        _saved["rc"] = rc
    else:
        _saved["rc"] = None
    pd = sys.modules.get("pandas")
    _saved["pandas"] = _pandas_options(pd) if pd is not None else None


def reset(cwd):
    os.chdir(cwd)
    sys.path[:] = _saved["path"]
    if dict(os.environ) != _saved["environ"]:
        os.environ.clear()
        os.environ.update(_saved["environ"])
        time.tzset()
    warnings.resetwarnings()  # also forgets which warnings were already shown
    warnings.filters[:] = _saved["filters"]
    if _saved["locale"] is not None:
        try:
            if locale.setlocale(locale.LC_ALL) != _saved["locale"]:
                locale.setlocale(locale.LC_ALL, _saved["locale"])
        except locale.Error:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
        mpl = sys.modules.get("matplotlib")
        if mpl is not None:
            if _saved["rc"] is not None:
                dict.update(mpl.rcParams, _saved["rc"])
            else:
                mpl.rc_file_defaults()
        pd = sys.modules.get("pandas")
        if pd is not None:
            if _saved["pandas"] is not None:
                for key, value in _saved["pandas"].items():
                    try:
                        if pd.get_option(key) != value:
                            pd.set_option(key, value)
                    except Exception:
                        pass
            else:
                pd.reset_option("all")
    from IPython import get_ipython

    shell = get_ipython()
    # The report's names first, so that the full collection IPython's reset runs (display hook
    # flush) also frees the report's reference cycles (figures): one gc.collect instead of two.
    for name in [k for k in shell.user_ns if k not in ("__builtin__", "__builtins__", "__name__")]:
        del shell.user_ns[name]
    shell.reset(new_session=True)
    if not shell.displayhook.do_full_cache:
        gc.collect()
"""


def _preload_source(notebooks: Iterable[Path]) -> str:
    """The top-level ``import`` statements of the notebooks' code cells, each guarded."""
    statements: dict[str, None] = {}
    for path in notebooks:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in document.get("cells", []):
            if cell.get("cell_type") != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse("".join(source) if isinstance(source, list) else source)
            except SyntaxError:
                continue  # IPython syntax (magics): left to the report itself
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    statements[ast.unparse(node)] = None
    # Then what the first chart of a report would do (seaborn's import, the font cache): the kernels
    # wait for the inputs to be checked anyway.
    statements["from evaluation.views import warm_up; warm_up()"] = None
    return "\n".join(f"try:\n    exec({s!r}, {{}})\nexcept Exception:\n    pass" for s in statements)


def _setup_source(preload: str) -> str:
    return (
        "import sys as _sys, types as _types\n"
        "_module = _types.ModuleType('_evaluation_warm_kernel')\n"
        f"exec({_KERNEL_MODULE!r}, _module.__dict__)\n"
        "_sys.modules[_module.__name__] = _module\n"
        f"{preload}\n"
        "_module.snapshot()\n"
    )


#: Temporary folder of a warm kernel (its connection file and sockets), and the file naming its run.
_KERNEL_FOLDER_PREFIX = "evaluation-kernel-"
_KERNEL_FOLDER_OWNER = "run.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale_kernel_folders(before: float, folder: Path | None = None) -> list[Path]:
    """Remove the kernel folders that killed runs left in the temporary folder; returns them.

    Only ours: folders (not links) named ``evaluation-kernel-*``, owned by this user, last changed
    before ``before`` (a time stamp, the start of this run), and whose run (``run.pid``) is not a
    live process. A run killed with ``kill -9`` cannot remove its own.
    """
    base = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        names = [n for n in os.listdir(base) if n.startswith(_KERNEL_FOLDER_PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = base / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mtime >= before:
            continue
        try:
            pid = int((path / _KERNEL_FOLDER_OWNER).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            pid = None  # a folder of an older version, or of a run killed before it wrote its pid
        if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _no_follow(path: str, flags: int) -> int:
    """``open``'s opener for the run's own files (logs): never through a link planted in their place."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


class KernelLost(RuntimeError):
    """The worker's kernel died or stopped answering."""


class _WarmKernel:
    """One long-lived ``python3`` kernel, driven from a single worker thread."""

    def __init__(self, number: int, log_path: Path, preload: str) -> None:
        self.number = number
        self.log_path = log_path
        self.preload = preload
        self.km: Any = None
        self.kc: Any = None
        self.pid: int | None = None
        self.runs = 0
        self.last_notebook: Any = None
        self._folder: str | None = None
        self._log: TextIO | None = None

    def start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self._folder = tempfile.mkdtemp(prefix=_KERNEL_FOLDER_PREFIX)
        with open(os.path.join(self._folder, _KERNEL_FOLDER_OWNER), "x", encoding="utf-8") as owner:
            owner.write(f"{os.getpid()}\n")  # so that a later run leaves the folder of a live run alone
        options: dict[str, Any] = {"kernel_name": _KERNEL_NAME}
        if os.name == "posix":  # Unix sockets: no port to race for between kernels starting together
            options |= {"transport": "ipc", "ip": os.path.join(self._folder, "kernel")}
        self.km = AsyncKernelManager(**options)
        self.km.connection_file = os.path.join(self._folder, "connection.json")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Open as long as the kernel runs.
        self._log = open(self.log_path, "a", encoding="utf-8", opener=_no_follow)  # noqa: SIM115
        self._log.write(f"{_now()} starting kernel {self.number}\n")
        self._log.flush()
        run_sync(self.km.start_kernel)(
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=self._log,
            stderr=self._log,
            cwd=str(NOTEBOOKS_DIR if NOTEBOOKS_DIR.is_dir() else ROOT),
        )
        self.pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        self._silent(_setup_source(self.preload), timeout=600)
        self.runs = 0

    def _silent(self, code: str, timeout: float = 120) -> None:
        from jupyter_core.utils import run_sync

        messages: list[dict[str, Any]] = []
        try:
            reply = run_sync(self.kc.execute_interactive)(
                code, silent=True, store_history=False, timeout=timeout, output_hook=messages.append
            )
        except TimeoutError as err:
            raise KernelLost(f"the kernel did not answer within {timeout:g} s") from err
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelLost(f"kernel set-up failed: {content.get('ename')}: {content.get('evalue')}")

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def reset(self, cwd: Path) -> None:
        if not self.alive():
            raise KernelLost("the kernel is not running")
        self._silent(f"__import__('sys').modules['_evaluation_warm_kernel'].reset({str(cwd)!r})")

    def execute(self, job: ReportJob) -> nbformat.NotebookNode:
        """Run ``job`` with papermill in this kernel; raises as :func:`papermill.execute_notebook` does."""
        import papermill

        _register_engine()
        self.last_notebook = None
        self.runs += 1
        return papermill.execute_notebook(
            str(job.notebook),
            None,
            parameters=dict(job.parameters),
            engine_name=_ENGINE_NAME,
            kernel_name=_KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            warm_kernel=self,
        )

    def kill(self) -> None:
        """Stop the kernel process at once (from any thread)."""
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def shutdown(self, now: bool = False) -> None:
        from jupyter_core.utils import run_sync

        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=now)
        except Exception:  # noqa: BLE001 - a kernel already gone is fine
            self.kill()
        finally:
            self.km = self.kc = None
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def restart(self) -> None:
        self.kill()
        self.shutdown(now=True)
        self.start()


_engine_lock = threading.Lock()


def _register_engine() -> None:
    """papermill engine ``evaluation-warm``: papermill's nbclient engine on a worker's running kernel."""
    from papermill.engines import NBClientEngine, papermill_engines

    with _engine_lock:
        if _ENGINE_NAME in papermill_engines._engines:
            return

        class WarmKernelEngine(NBClientEngine):
            @classmethod
            def execute_managed_notebook(
                cls,
                nb_man: Any,
                kernel_name: str,
                *,
                warm_kernel: _WarmKernel,
                start_timeout: int = 60,
                execution_timeout: int | None = None,
                **kwargs: Any,
            ) -> Any:
                from papermill.clientwrap import PapermillNotebookClient
                from papermill.log import logger

                warm_kernel.last_notebook = nb_man.nb  # papermill marks the error in this object
                client = PapermillNotebookClient(
                    nb_man,
                    km=warm_kernel.km,
                    kernel_name=kernel_name,
                    log=logger,
                    log_output=False,
                    startup_timeout=start_timeout,
                    timeout=execution_timeout,
                )
                client.kc = warm_kernel.kc  # the worker's client: nbclient neither opens nor closes one
                return client.execute()

        papermill_engines.register(_ENGINE_NAME, WarmKernelEngine)


class _LogRouter(logging.Handler):
    """papermill's log records to the log file of the report the emitting thread is running."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.files: dict[int, TextIO] = {}
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        handle = self.files.get(record.thread or 0)
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.write(self.format(record) + "\n")


class KernelPool:
    """``workers`` threads, each with a warm kernel, executing jobs from a shared queue.

    :meth:`start` returns at once (the kernels start in the background); :meth:`events` yields
    ``("start", job, worker)`` and ``("done", result)`` as they happen, until every job is done.
    """

    def __init__(self, workers: int, *, log_dir: Path, preload: str = "") -> None:
        self.workers = max(1, workers)
        self.log_dir = log_dir
        self.preload = preload
        self._jobs: queue.Queue[ReportJob] = queue.Queue()
        self._events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._stop = threading.Event()
        self._inputs_checked = threading.Event()
        self._kernels: list[_WarmKernel] = []
        self._threads: list[threading.Thread] = []
        self._router = _LogRouter()
        self._total = 0
        self._saved_level = logging.NOTSET

    def start(self, jobs: Sequence[ReportJob]) -> None:
        for job in jobs:
            self._jobs.put(job)
        self._total = len(jobs)
        logger = logging.getLogger("papermill")
        self._saved_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self._router)
        for number in range(1, min(self.workers, len(jobs)) + 1):
            kernel = _WarmKernel(number, self.log_dir / f"noyau-{number}.log", self.preload)
            self._kernels.append(kernel)
            thread = threading.Thread(
                target=self._work, args=(kernel,), name=f"evaluation-kernel-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        # While the kernels start (other processes), import what the workers need, once: a worker
        # importing it would hold the others on the import lock anyway.
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

    def inputs_checked(self) -> None:
        """Let the workers run reports (they wait for it once their kernel has started)."""
        self._inputs_checked.set()

    def events(self) -> Iterator[tuple[Any, ...]]:
        done = exited = 0
        start_error = "no worker started"
        while done < self._total:
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                yield ("tick",)
                continue
            if event[0] == "exit":
                exited += 1
                start_error = event[2] or start_error
                if exited == len(self._threads):  # no kernel left: what remains cannot run
                    while True:
                        try:
                            job = self._jobs.get_nowait()
                        except queue.Empty:
                            break
                        done += 1
                        message = f"aucun noyau Jupyter n'a pu démarrer : {start_error}"
                        yield ("done", ReportResult(job, "failed", 0.0, message, started=_now(), finished=_now()))
                continue
            if event[0] == "done":
                done += 1
            yield event

    def close(self, abort: bool = False) -> None:
        """Wait for the workers (after :meth:`events` is exhausted); ``abort`` kills the kernels first."""
        if abort:
            self._stop.set()
            for kernel in self._kernels:
                kernel.kill()
        for thread in self._threads:
            # After an abort a worker may be blocked until a timeout on its dead kernel: it is a
            # daemon thread, and it writes nothing once the stop is set.
            thread.join(timeout=2 if abort else None)
        if abort:
            for kernel in self._kernels:  # the connection files of killed kernels
                if kernel._folder is not None:
                    shutil.rmtree(kernel._folder, ignore_errors=True)
        logger = logging.getLogger("papermill")
        logger.removeHandler(self._router)
        logger.setLevel(self._saved_level)

    def _work(self, kernel: _WarmKernel) -> None:
        error = None
        try:
            kernel.start()
        except Exception as err:  # noqa: BLE001 - reported with the jobs it cannot run
            error = f"{type(err).__name__}: {err}"
            kernel.shutdown(now=True)
            self._events.put(("exit", kernel.number, error))
            return
        try:
            # No report before the inputs are checked: an unreadable file stops the run, and the
            # kernels then read the checked inputs the run shares instead of checking them again.
            while not self._inputs_checked.wait(0.1) and not self._stop.is_set():
                pass
            while not self._stop.is_set():
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                self._events.put(("start", job, kernel.number))
                self._events.put(("done", self._run(kernel, job)))
        finally:
            kernel.shutdown(now=True)  # nothing to save: no need to wait for a clean exit
            self._events.put(("exit", kernel.number, error))

    def _run(self, kernel: _WarmKernel, job: ReportJob) -> ReportResult:
        started, clock = _now(), time.perf_counter()
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: tail -f works.
        with open(job.log_path, "w", encoding="utf-8", buffering=1, opener=_no_follow) as log:
            self._router.files[threading.get_ident()] = log
            try:
                log.write(
                    f"{started} report {job.name}: {_display_path(job.notebook)} "
                    f"{json.dumps(dict(job.parameters), ensure_ascii=False)}\n"
                    f"kernel {kernel.number} ({self.log_dir.name}/noyau-{kernel.number}.log), report {kernel.runs + 1} of this kernel\n"
                )
                log.flush()
                result = self._attempt(kernel, job, log, started, clock)
                log.write(
                    f"{_now()} status: {result.status} ({result.duration_s:.1f} s)"
                    + (f"; {result.error}" if result.error else "")
                    + "\n"
                )
                return result
            except Exception as err:  # noqa: BLE001 - a crash of one report must not stop the batch
                log.write(f"{_now()} unexpected failure: {type(err).__name__}: {err}\n")
                return ReportResult(
                    job, "failed", time.perf_counter() - clock, f"{type(err).__name__}: {err}", started=started
                )
            finally:
                self._router.files.pop(threading.get_ident(), None)

    def _attempt(self, kernel: _WarmKernel, job: ReportJob, log: TextIO, started: str, clock: float) -> ReportResult:
        from nbclient.exceptions import DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        restarts = 0
        notebook = None
        error: str | None = None
        while True:
            try:
                kernel.reset(job.notebook.parent)
                notebook = kernel.execute(job)
                error = None
            except PapermillExecutionError as err:
                notebook = kernel.last_notebook
                error = f"{err.ename}: {err.evalue}"
                log.write(_ANSI.sub("", "\n".join(err.traceback or [])) + "\n")
            except (DeadKernelError, KernelLost) as err:
                if self._stop.is_set():
                    return ReportResult(job, "interrupted", time.perf_counter() - clock, "interrupted", started=started)
                log.write(f"{_now()} kernel {kernel.number} lost ({err}); restarting it\n")
                restarts += 1
                kernel.restart()
                if restarts == 1:
                    continue  # the state left by earlier reports may be the cause: one more try, fresh
                notebook = kernel.last_notebook
                error = "le noyau Jupyter s'est arrêté pendant l'exécution (mémoire épuisée ou arrêt brutal)"
            except Exception as err:  # noqa: BLE001 - any other failure of the report is recorded
                notebook = kernel.last_notebook
                text = str(err).strip()
                error = f"{type(err).__name__}: {text.splitlines()[-1] if text else ''}"
                log.write(f"{type(err).__name__}: {text}\n")
            break
        if self._stop.is_set():  # interrupted: never replace a good report by a half-made one
            return ReportResult(job, "interrupted", time.perf_counter() - clock, "interrupted", started=started)
        cell = None
        if notebook is not None:
            import nbformat

            cell, cell_error = _failing_cell(notebook)
            error = cell_error if error and cell_error else error
            _write_output(job.ipynb_path, nbformat.writes(notebook))
            try:
                page = export_html(notebook, job.title, failure=error, navigation=report_navigation(job))
            except Exception as err:  # noqa: BLE001
                page = _error_page(job.title, f"export HTML impossible : {err}")
                error = error or f"HTML export failed: {err}"
        else:
            page = _error_page(job.title, error or "aucun carnet produit")
        _write_output(job.html_path, page)
        return ReportResult(
            job,
            "failed" if error else "ok",
            time.perf_counter() - clock,
            error,
            cell,
            started=started,
            finished=_now(),
            kernel=(kernel.number, kernel.runs),
            restarts=restarts,
        )


def run_reports(
    jobs: Sequence[ReportJob],
    *,
    n_jobs: int = 1,
    on_start: Callable[[ReportJob], None] | None = None,
    on_done: Callable[[ReportResult, int, int], None] | None = None,
    log_dir: Path | None = None,
) -> list[ReportResult]:
    """Execute ``jobs`` on ``n_jobs`` warm kernels; results in the order of ``jobs``.

    Kernel logs go to ``log_dir`` (default: a ``logs`` folder beside the first job's log folder).
    """
    if not jobs:
        return []
    folder = log_dir or jobs[0].log_path.parent.parent
    pool = KernelPool(n_jobs, log_dir=folder, preload=_preload_source({j.notebook for j in jobs}))
    results: dict[str, ReportResult] = {}
    pool.start(jobs)
    pool.inputs_checked()  # the reports check their inputs themselves
    try:
        for event in pool.events():
            if event[0] == "start" and on_start:
                on_start(event[1])
            elif event[0] == "done":
                results[event[1].job.name] = event[1]
                if on_done:
                    on_done(event[1], len(results), len(jobs))
    except BaseException:
        pool.close(abort=True)
        raise
    pool.close()
    return [results[job.name] for job in jobs]


# --------------------------------------------------------------------------------------------------
# Cache keys


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def input_hashes(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every input file of a run: ``data/<path>`` under the data folder, ``plan/<path>``
    under the referential, ``reference/<path>`` under the reference data."""
    hashes = {}
    for prefix, folder in (("data", data_dir), ("plan", PLAN_DIR), ("reference", DATA_DIR / "reference")):
        if folder.is_dir():
            for path in _files_under(folder):
                hashes[f"{prefix}/{path.relative_to(folder).as_posix()}"] = _sha256_file(path)
    return hashes


def package_fingerprint() -> str:
    """The package's version and the SHA-256 of its source files and templates."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in _files_under(package):
        if path.suffix in (".py", ".j2", ".json", ".typed"):
            digest.update(path.relative_to(package).as_posix().encode() + b"\x00")
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _changed(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _reason(
    previous: Mapping[str, Any] | None,
    parts: Mapping[str, Any],
    job: ReportJob,
    force: bool,
    inputs: Mapping[str, Any],
    old_inputs: Mapping[str, Any],
) -> str | None:
    """Why ``job`` must run (None: it need not)."""
    if force:
        return "--force"
    if not previous or previous.get("status") == "not produced":
        return "first run"
    if previous.get("status") == "failed":
        return "interrupted last time" if previous.get("error") == _INTERRUPTED else "failed last time"
    if not previous.get("cache_key"):
        return "previous run did not finish"
    if not job.html_path.is_file() or not job.ipynb_path.is_file():
        return "outputs missing"
    old = previous.get("key_parts", {})
    changes = []
    if old.get("notebook") != parts["notebook"]:
        changes.append(f"notebook {job.notebook.name} changed")
    if old.get("parameters") != parts["parameters"]:
        changes.append("parameters changed")
    if old.get("inputs") != parts["inputs"]:
        files = _changed(old_inputs, inputs) if old_inputs else []
        shown = ", ".join(files[:3]) + (f" (+{len(files) - 3})" if len(files) > 3 else "")
        changes.append(f"input files changed: {shown}" if shown else "input files changed")
    if old.get("package") != parts["package"]:
        changes.append("package changed")
    return "; ".join(changes) or None


# --------------------------------------------------------------------------------------------------
# The whole run


@dataclass
class BatchResult:
    """What ``run_batch`` did: this run's results, in run-plan order, and the files written."""

    year: int
    results: list[ReportResult]
    manifest_path: Path
    index_path: Path
    tables: list[Path] = field(default_factory=list)
    tables_error: str | None = None
    problems: int = 0

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if r.status == "failed"]


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_output(path: Path, text: str) -> None:
    """:func:`~evaluation.io.atomic_write_text`, with a failure that names the file.

    A write refused by the system (a full disk, a quota, no permission) otherwise ends in "No space
    left on device" alone: raises :class:`UsageError` (exit status 2) naming ``path`` and the fix.
    """
    try:
        atomic_write_text(path, text)
    except OSError as err:
        fix = (
            "free some space on that disk, or give another --out"
            if err.errno in (errno.ENOSPC, errno.EDQUOT)
            else "check the folder's permissions, or give another --out"
        )
        raise UsageError(f"{_display_path(path)}: cannot be written: {err.strerror or err} ({fix})") from err


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    _write_output(path, json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n")


def _dispatch_order(jobs: Sequence[ReportJob], previous: Mapping[str, Mapping[str, Any]]) -> list[ReportJob]:
    """Longest first (last recorded duration; single reports before families when unknown)."""
    sizes = {j.kind: 0 for j in jobs}
    for job in jobs:
        sizes[job.kind] += 1

    def expected(job: ReportJob) -> tuple[float, int]:
        entry = previous.get(job.name, {})
        duration = entry.get("production_s") or entry.get("duration_s") or 0.0
        return (-float(duration), sizes[job.kind])

    return sorted(jobs, key=expected)


def run_batch(
    plan: Plan,
    dataset: Dataset,
    *,
    year: int,
    out_dir: Path,
    only: Sequence[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    run_plan_file: Path | None = None,
    progress: ProgressBar | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> BatchResult:
    """Produce the deliverables of ``year`` (see the module docstring); raises for a bad run plan.

    Raises :class:`~evaluation.runplan.RunPlanError` (one problem) or
    :class:`~evaluation.runplan.RunPlanErrors` (several) before any kernel starts, and
    :class:`UsageError` when an input file is unreadable.
    """
    clock = time.perf_counter()
    started = _now()
    remove_stale_kernel_folders(time.time())
    spare_iri_checker()  # before anything imports nbformat: 2 s less of start-up
    path = run_plan_file or run_plan_path(year)
    run_plan = load_run_plan(path, plan, notebooks_dir=NOTEBOOKS_DIR)  # read now: tests point it elsewhere
    if run_plan_file is None and run_plan.year != year:
        raise UsageError(f"{_display_path(path)}: its 'year' is {run_plan.year}, not {year}")
    year = run_plan.year
    selected = run_plan.select(only, plan)
    root = out_dir / str(year)
    _check_out_dir(out_dir)
    _check_year_folder(root)
    with _RunLock(root) as lock:
        try:
            return _run_locked(
                plan,
                dataset,
                run_plan,
                selected,
                root,
                only=only,
                jobs=jobs,
                force=force,
                progress=progress,
                say=say,
                clock=clock,
                started=started,
            )
        except (RunPlanError, RunPlanErrors):
            lock.discard_if_empty()
            raise


#: Folders that hold the system: ``--out`` may be none of them, nor anything under the first set.
_SYSTEM_TREES = ("bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys", "usr")
_SYSTEM_FOLDERS = ("home", "media", "mnt", "opt", "root", "run", "srv", "tmp", "var", "Users", "Volumes")
#: What a run leaves in ``OUT/<year>`` before its manifest exists (a run killed at its start).
_RUN_FILES = (".verrou", ".entrees-verifiees")


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an ``--out`` that is a filesystem root, a system folder or the home folder itself.

    ``OUT/<year>`` is made inside ``--out``, and the run then owns that folder: given ``/`` as root,
    it wrote ``/2021``. Raises :class:`UsageError` (exit status 2).
    """
    folder = Path(os.path.abspath(out_dir))
    with contextlib.suppress(OSError):
        folder = folder.resolve()
    parts = folder.parts[1:]
    system = (
        not parts
        or parts[0] in _SYSTEM_TREES
        or (len(parts) == 1 and parts[0] in _SYSTEM_FOLDERS)
        or folder == Path.home().resolve()
        or (folder.is_dir() and os.path.ismount(folder))
    )
    if system:
        raise UsageError(
            f"--out {out_dir}: a filesystem root or system folder; give a folder of its own for the "
            "deliverables (e.g. --out ~/livrables-evaluation)"
        )


def _is_our_manifest(path: Path, year: int | None) -> bool:
    try:
        with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as handle:
            data = json.loads(handle.read(64 << 20))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("format") == 1
        and isinstance(data.get("package"), dict)
        and data["package"].get("name") == "evaluation"
        and (year is None or data.get("year") == year)
    )


def _check_year_folder(root: Path) -> None:
    """Refuse an ``OUT/<year>`` that a run could not write safely (:class:`UsageError`, exit 2).

    - a symbolic link anywhere in it (the folder itself included): a planted ``.verrou`` link made a
      run empty the file it pointed to, a planted ``.entrees-verifiees`` link had its target chmod
      700 and filled; the run never writes through a link;
    - files that no run of this tool wrote (no ``manifest.json`` of ours): the run would mix its
      reports with them and replace those of the same name.
    """
    if os.path.islink(root):
        raise UsageError(
            f"{_display_path(root)}: a symbolic link (to {os.readlink(root)}); the run never writes through "
            "a link: remove it, or give another --out"
        )
    if not os.path.lexists(root):
        return
    if not root.is_dir():
        raise UsageError(f"{_display_path(root)}: not a folder; remove it, or give another --out")
    for folder, dirs, files in os.walk(root, onerror=None, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            if os.path.islink(path):
                raise UsageError(
                    f"{_display_path(path)}: a symbolic link (to {os.readlink(path)}) in the output folder; "
                    "the run never writes through a link: remove it, or give another --out"
                )
    foreign = sorted(p.name for p in root.iterdir() if p.name not in _RUN_FILES)
    if foreign and not _is_our_manifest(root / MANIFEST_NAME, _year_of(root)):
        shown = ", ".join(foreign[:3]) + (f" (+{len(foreign) - 3})" if len(foreign) > 3 else "")
        raise UsageError(
            f"{_display_path(root)}: holds files that no 'evaluation run' wrote ({shown}; no {MANIFEST_NAME} "
            "of this tool); give --out an empty or new folder, or move these files away"
        )


def _year_of(root: Path) -> int | None:
    return int(root.name) if root.name.isdigit() else None


class _RunLock:
    """An exclusive lock on ``OUT/<year>`` for the length of a run.

    Two runs writing the same folder would interleave their manifests and replace each other's
    reports. The lock is an ``flock`` on ``OUT/<year>/.verrou`` (the file names the run holding it):
    the system releases it when the process ends, even killed, so it never goes stale. Where
    ``fcntl`` is missing (Windows) there is no lock.
    """

    NAME = ".verrou"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._created: list[Path] = []
        self._handle: Any = None

    def __enter__(self) -> _RunLock:
        self._created = [d for d in (self.root, *self.root.parents) if not d.exists()]
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        path = self.root / self.NAME
        if self.root.is_symlink():  # made between the check of the folder and now
            raise UsageError(f"{_display_path(self.root)}: a symbolic link; remove it, or give another --out")
        while True:
            handle = self._open(path)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                handle.seek(0)
                holder = handle.read().strip()
                handle.close()
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    # The file system cannot lock (NFS without lockd...): run, but say so.
                    print(
                        f"warning: {_display_path(path)}: cannot be locked ({err.strerror}); "
                        "make sure no other run writes this folder",
                        file=sys.stderr,
                    )
                    return self
                raise UsageError(
                    f"{_display_path(self.root)}: another 'evaluation run' is writing this folder "
                    f"({holder or 'its process is not named'}); wait for it to end, or give another --out"
                ) from None
            try:  # the file may have been removed by the run that held it before: lock the one in place
                if os.fstat(handle.fileno()).st_ino == os.lstat(path).st_ino:
                    break
            except OSError:
                pass
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {_now()}\n")
        handle.flush()
        self._handle = handle
        return self

    def _open(self, path: Path) -> TextIO:
        """The lock file, created if need be, never through a link (``O_NOFOLLOW``), and only a
        plain file of one name (not a device, a pipe, or a hard link to another file)."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise UsageError(
                    f"{_display_path(path)}: a symbolic link where the run keeps its lock; the run never writes "
                    "through a link: remove it, or give another --out"
                ) from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise UsageError(
                f"{_display_path(path)}: not a plain file of the run (its lock); remove it, or give another --out"
            )
        return open(fd, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run

    def discard_if_empty(self) -> None:
        """Remove the folders made for a run stopped before writing anything."""
        if self._created:
            with contextlib.suppress(OSError):
                (self.root / self.NAME).unlink(missing_ok=True)  # while the lock is still held
        self.__exit__(None, None, None)
        if self._created:
            with contextlib.suppress(OSError):
                for folder in self._created:  # the year folder first, then OUT if it was made
                    folder.rmdir()  # only if empty

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
            self._handle.close()  # releases the lock
            self._handle = None


def _run_locked(
    plan: Plan,
    dataset: Dataset,
    run_plan: RunPlan,
    selected: Sequence[PlannedReport],
    root: Path,
    *,
    only: Sequence[str] | None,
    jobs: int | None,
    force: bool,
    progress: ProgressBar | None,
    say: Callable[[str], None],
    clock: float,
    started: str,
) -> BatchResult:
    out_dir = root.parent
    year = run_plan.year
    manifest_path = root / MANIFEST_NAME
    previous = _read_manifest(manifest_path)
    inspected = dict(previous.get("notebook_parameters", {}))
    problems = check_reports(run_plan, selected, inspected)
    if problems:
        raise problems[0] if len(problems) == 1 else RunPlanErrors(problems)

    inputs = input_hashes(dataset.path)
    inputs_sha = _digest(inputs)
    package = package_fingerprint()
    old_inputs = previous.get("inputs", {}).get("files", {})
    previous_reports = {r["name"]: r for r in previous.get("reports", []) if isinstance(r, dict) and "name" in r}
    all_jobs = plan_jobs(run_plan, out_dir=out_dir, data_dir=dataset.path)
    chosen = {r.name for r in selected}
    code_sha = {n: notebook_code_sha256(n) for n in {j.notebook for j in all_jobs} if n.is_file()}
    known_code = set(code_sha.values())

    entries: dict[str, dict[str, Any]] = {}
    to_run: list[ReportJob] = []
    results: dict[str, ReportResult] = {}
    for job in all_jobs:
        before = previous_reports.get(job.name)
        if job.name not in chosen:  # left out by --only: what earlier runs made of it
            if before is None:
                entries[job.name] = _entry(job, root, "not produced")
                continue
            carried = dict(before) | {"title": job.title, "heading": job.heading, "group": job.group}
            if carried.get("status") == "running":  # its run was killed
                carried |= {"status": "failed", "error": _INTERRUPTED, "cache_key": None}
            entries[job.name] = carried | {"in_this_run": False}
            continue
        parts = {
            "notebook": code_sha[job.notebook],
            "parameters": dict(job.parameters),
            "inputs": inputs_sha,
            "package": package,
        }
        key = _digest(parts)
        reason = _reason(before, parts, job, force, inputs, old_inputs)
        if reason is None and before and before.get("cache_key") == key:
            entry = (
                dict(before)
                | _entry(job, root, "cached")
                | {
                    "cache_key": key,
                    "key_parts": parts,
                    "duration_s": 0.0,
                    "started": _now(),
                    "finished": _now(),
                    "reason": None,
                    "produced": before.get("produced") or before.get("finished"),
                    "error": None,
                    "failing_cell": None,
                }
            )
            entries[job.name] = entry
            results[job.name] = ReportResult(job, "cached", 0.0, started=entry["started"], finished=entry["finished"])
            continue
        entries[job.name] = _entry(job, root, "running") | {
            "cache_key": None,  # until it is produced: a killed run leaves nothing that looks current
            "key_parts": parts,
            "pending_key": key,
            "reason": reason or "cache key changed",
            "produced": (before or {}).get("produced"),
        }
        to_run.append(job)

    manifest: dict[str, Any] = {
        "format": 1,
        "year": year,
        "run_plan": _display_path(run_plan.path),
        "package": {"name": "evaluation", "version": __version__, "fingerprint": package},
        "data": {"path": str(dataset.path), "name": dataset.name, "demo": dataset.demo},
        "inputs": {"sha256": inputs_sha, "files": inputs},
        "started": started,
        "finished": None,
        "duration_s": None,
        "jobs": None,
        "only": list(only or []),
        "force": force,
        "validation": previous["validation"]
        if (previous.get("validation") or {}).get("inputs") == inputs_sha
        else None,
        "tables": previous.get("tables", {}),
        "status_counts": previous.get("status_counts"),
        "notebook_parameters": {sha: v for sha, v in inspected.items() if sha in known_code},
        "counts": {},
        "reports": list(entries.values()),
    }
    root.mkdir(parents=True, exist_ok=True)
    batch = BatchResult(year, [], manifest_path, root / "index.html")

    def tell(line: str) -> None:
        if progress is not None:
            progress.message(line)
        else:
            say(line)

    pool = None
    n_workers = min(jobs or default_jobs(), len(to_run))
    manifest["jobs"] = n_workers
    if progress is not None:
        progress.begin(len(to_run), cached=len(results))
    shared = _SharedInputs(root)
    shared.clear()  # a killed run's leftovers (the lock is held)
    try:
        _write_manifest(manifest_path, manifest)  # the journal: the reports to run have lost their key
        if to_run:
            shared.open()  # before the kernels start: they inherit the environment
            pool = KernelPool(n_workers, log_dir=root / "logs", preload=_preload_source({j.notebook for j in to_run}))
            pool.start(_dispatch_order(to_run, previous_reports))
        # While the kernels start: the inputs are checked (an unreadable file stops the run, the
        # kernels are killed; skipped when the previous run checked the same inputs), then the
        # reports may start, and the tables are computed.
        validation = manifest["validation"]
        if validation is None:
            validation = _validate(plan, dataset, tell) | {"inputs": inputs_sha}
            manifest["validation"] = validation
        elif validation.get("problems"):
            _warn_problems(validation["problems"], tell)
        batch.problems = int(validation.get("problems") or 0)
        if pool is not None:
            pool.inputs_checked()
        _tables(plan, dataset, year, root, manifest, inputs_sha, package, batch, force=force)
        if pool is not None:
            for event in pool.events():
                if event[0] == "tick":
                    if progress is not None:
                        progress.tick()
                    continue
                if event[0] == "start":
                    if progress is not None:
                        progress.start(event[1].name)
                    continue
                result: ReportResult = event[1]
                results[result.job.name] = result
                entry = entries[result.job.name]
                entry.update(_result_fields(result, root))
                if result.status == "ok" and entry.get("pending_key"):
                    # its key now, not at the end: a run killed later resumes after this report
                    entry["cache_key"] = entry.pop("pending_key")
                manifest["reports"] = list(entries.values())
                _write_manifest(manifest_path, manifest)
                if progress is not None:
                    progress.done(result)
            pool.close()
    except BaseException:
        if pool is not None:
            pool.close(abort=True)
        stopped = sys.exc_info()[1]
        reason = _INTERRUPTED if isinstance(stopped, KeyboardInterrupt) else f"passage arrêté : {stopped}"
        for entry in entries.values():
            if entry["status"] == "running":
                entry.update(status="failed", error=reason, finished=_now())
        with contextlib.suppress(Exception):  # the disk may be full: the first failure is the one to tell
            _finish(manifest, entries, clock, manifest_path)
        with contextlib.suppress(Exception):  # the index, even for a run stopped part-way
            write_index(manifest, out_dir=out_dir, plan=plan)
        raise
    finally:
        shared.close()
        if progress is not None:
            progress.close()
    _finish(manifest, entries, clock, manifest_path)
    write_index(manifest, out_dir=out_dir, plan=plan)
    batch.results = [results[j.name] for j in all_jobs if j.name in results]
    return batch


class _SharedInputs:
    """The run's private folder of checked inputs (:data:`evaluation.intake.SHARED_INPUTS_ENV`).

    The parent checks the inputs while the kernels start; the kernels, which inherit the
    environment variable, then read the result instead of checking the same files again (about a
    second per kernel and input kind). The folder is ``OUT/<year>/.entrees-verifiees`` (:data:`NAME`),
    mode 0700, removed at the end of the run; a run killed before its end leaves it, and the next
    run into the folder removes it once it holds the lock. It holds copies of the monitoring,
    spending and barometer inputs (counts per territory, before disclosure control: not for
    publication); cohort records, person-level, are never written there (see :mod:`evaluation.intake`).
    """

    NAME = ".entrees-verifiees"

    def __init__(self, root: Path) -> None:
        self.folder = root / self.NAME
        self._open = False
        self._before: str | None = None

    def clear(self) -> None:
        """Remove what a killed run left (call it with the run lock held): a folder with its content,
        anything else (a link planted there) by its name only, never what it points to."""
        try:
            info = os.lstat(self.folder)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(self.folder, ignore_errors=True)  # removes links inside, never follows them
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.folder)

    def open(self) -> None:
        from evaluation.intake import SHARED_INPUTS_ENV

        try:  # created by this run, exclusively: never an existing folder or a link
            os.mkdir(self.folder, 0o700)
        except FileExistsError:
            raise UsageError(
                f"{_display_path(self.folder)}: appeared while the run held its lock; remove it and run again"
            ) from None
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, 0o700)  # whatever the umask
        finally:
            os.close(fd)
        self._before = os.environ.get(SHARED_INPUTS_ENV)
        os.environ[SHARED_INPUTS_ENV] = str(self.folder)
        self._open = True

    def close(self) -> None:
        if not self._open:
            return
        from evaluation.intake import SHARED_INPUTS_ENV

        if self._before is None:
            os.environ.pop(SHARED_INPUTS_ENV, None)
        else:
            os.environ[SHARED_INPUTS_ENV] = self._before
        self.clear()
        self._open = False


def _entry(job: ReportJob, root: Path, status: str) -> dict[str, Any]:
    return {
        "name": job.name,
        "kind": job.kind,
        "key": job.key,
        "title": job.title,
        "heading": job.heading,
        "group": job.group,
        "notebook": _display_path(job.notebook),
        "parameters": dict(job.parameters),
        "status": status,
        "in_this_run": True,
        "outputs": {
            "html": job.html_path.relative_to(root).as_posix(),
            "ipynb": job.ipynb_path.relative_to(root).as_posix(),
            "log": job.log_path.relative_to(root).as_posix(),
        },
    }


def _result_fields(result: ReportResult, root: Path) -> dict[str, Any]:
    ok = result.status == "ok"
    fields: dict[str, Any] = {
        "status": result.status if result.status in ("ok", "failed") else "failed",
        "duration_s": round(result.duration_s, 2),
        "started": result.started,
        "finished": result.finished or _now(),
        "error": result.error,
        "failing_cell": result.failing_cell,
        "kernel": {"worker": result.kernel[0], "order": result.kernel[1]} if result.kernel else None,
        "kernel_restarts": result.restarts,
    }
    if ok:
        fields["produced"] = fields["finished"]
        fields["production_s"] = fields["duration_s"]
    return fields


def _finish(manifest: dict[str, Any], entries: dict[str, dict[str, Any]], clock: float, path: Path) -> None:
    for entry in entries.values():
        pending = entry.pop("pending_key", None)
        if entry["status"] == "ok" and pending:
            entry["cache_key"] = pending
    manifest["reports"] = list(entries.values())
    manifest["finished"] = _now()
    manifest["duration_s"] = round(time.perf_counter() - clock, 2)
    counts = dict.fromkeys(_STATUS_ORDER, 0)
    for entry in entries.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    manifest["counts"] = counts
    _write_manifest(path, manifest)


def _warn_problems(count: int, say: Callable[[str], None]) -> None:
    say(
        f"warning: {count} problem(s) in the input files; the rows concerned are left out of the reports "
        "(evaluation validate lists them)"
    )


def _validate(plan: Plan, dataset: Dataset, say: Callable[[str], None]) -> dict[str, Any]:
    from evaluation.intake import format_problems, validate_dataset

    problems, _counts = validate_dataset(dataset, plan)
    fatal = [p for p in problems if p.fatal]
    if fatal:
        for line in format_problems(fatal):
            say(line)
        raise UsageError("an input file is unreadable: fix it (see above) before producing the reports")
    if problems:
        _warn_problems(len(problems), say)
    return {"problems": len(problems)}


def _tables(
    plan: Plan,
    dataset: Dataset,
    year: int,
    root: Path,
    manifest: dict[str, Any],
    inputs_sha: str,
    package: str,
    batch: BatchResult,
    *,
    force: bool = False,
) -> None:
    """The year's tables and status counts, unless the same inputs and package made them already
    (``force``: in any case).

    The suppression log of the protected tables goes to ``logs/secret_statistique.csv``
    (:func:`evaluation.tables.write_suppression_log`), beside the run's logs, not in ``tables/``:
    it is internal; the manifest records its path under ``tables.suppression_log``."""
    key = _digest({"inputs": inputs_sha, "package": package, "year": year})
    previous = manifest.get("tables") or {}
    folder = root / "tables"
    if (
        not force
        and previous.get("key") == key
        and not previous.get("error")
        and all((root / f).is_file() for f in previous.get("files", []))
        and previous.get("suppression_log")
        and (root / previous["suppression_log"]).is_file()
        and manifest.get("status_counts")
    ):
        batch.tables = [root / f for f in previous["files"]]
        return
    from evaluation.tables import build_tables, write_suppression_log, write_tables

    try:
        tables = build_tables(plan, dataset, year)
        written = write_tables(tables, folder)
        log_path = write_suppression_log(tables.suppression_log, root / "logs")
    except Exception as err:  # noqa: BLE001 - reported as a failure of the run, the reports go on
        batch.tables_error = f"{type(err).__name__}: {err}"
        manifest["tables"] = {"key": None, "files": [], "error": batch.tables_error}
        manifest["status_counts"] = None
        return
    batch.tables = written
    manifest["tables"] = {
        "key": key,
        "files": [p.relative_to(root).as_posix() for p in written],
        "error": None,
        "suppression_log": log_path.relative_to(root).as_posix(),
    }
    from evaluation.targets import STATUS_FR

    counts = tables["statuts_par_priorite"].set_index("priority")
    manifest["status_counts"] = {
        "columns": [str(c) for c in counts.columns],
        "labels": {str(status): label for status, label in STATUS_FR.items()},
        "rows": {str(i): [int(v) for v in row] for i, row in zip(counts.index, counts.to_numpy(), strict=True)},
    }


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


# --------------------------------------------------------------------------------------------------
# Progress


class ProgressBar:
    """One overall progress bar on a terminal: reports done, failures, and the reports running.

    On a terminal the line is redrawn in place; otherwise (a log file, CI) one line is printed per
    finished report.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = self.done_count = self.failed = 0
        self.running: list[str] = []
        self._clock = time.perf_counter()

    def begin(self, total: int, cached: int = 0) -> None:
        self.total = total
        self._clock = time.perf_counter()
        if cached:
            self._print(f"{cached} report(s) unchanged since the last run (cached)")
        self._draw()

    def start(self, name: str) -> None:
        self.running.append(name)
        self._draw()

    def tick(self) -> None:
        """Redraw (the elapsed time)."""
        self._draw()

    def done(self, result: ReportResult) -> None:
        name = result.job.name
        if name in self.running:
            self.running.remove(name)
        self.done_count += 1
        if result.status != "ok":
            self.failed += 1
        if not self.tty:
            mark = "ok" if result.status == "ok" else "FAILED"
            self._print(f"[{self.done_count}/{self.total}] {name}: {mark} ({result.duration_s:.1f} s)")
        elif result.status != "ok":
            self._print(f"FAILED {name}: {result.error}")
        self._draw()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def message(self, line: str) -> None:
        """A line printed above the bar."""
        self._print(line)
        self._draw()

    def _print(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(line + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        if not self.tty or not self.total:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        filled = int(24 * self.done_count / self.total)
        bar = "█" * filled + "░" * (24 - filled)
        failed = f", {self.failed} en échec" if self.failed else ""
        running = ", ".join(self.running) if self.done_count or self.running else "démarrage des noyaux…"
        line = f"{bar} {self.done_count}/{self.total}{failed} {time.perf_counter() - self._clock:.0f} s  {running}"
        self.stream.write("\r\x1b[2K" + line[: width - 1])
        self.stream.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the 'evaluation run' command")
