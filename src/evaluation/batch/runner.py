"""The batch: run the report notebooks of a run plan and write the deliverables of a year.

``evaluation run --year Y`` reads the run plan ``params/Y.yaml`` (:mod:`evaluation.batch.runplan`),
checks every selected report's parameters against its notebook before any kernel starts, and writes
under ``OUT/<year>/``:

- ``<kind>/<key>.html``: the report for readers (no code, no parameters cell, images embedded, no
  third-party script), ``<kind>/<key>.ipynb``: the executed notebook (audit trail, with papermill's
  ``injected-parameters`` cell and metadata), ``logs/<kind>/<key>.log``: what happened;
- ``tables/``: the year's tables as French CSV files and ``tables.xlsx`` (:mod:`evaluation.present.tables`);
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
(:class:`_SharedInputs`: ``OUT/<year>/.entrees-verifiees``, mode 0700, removed at the end) which
each kernel is given when it starts (:func:`evaluation.cache.share_through`): they read it instead
of checking the same files again. So are the year's protected cohort release and impact estimates,
computed once by whichever process needs them first while the others wait. Cohort records, which
are about persons, are never written there. See :mod:`evaluation.cache`.

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
SHA-256 of: the notebook's code cells (:func:`evaluation.batch.runplan.notebook_code_sha256`; outputs and
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

import contextlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation import __version__
from evaluation._imports import spare_iri_checker
from evaluation.batch.export import export_html
from evaluation.batch.index import write_index
from evaluation.batch.jobs import (
    _INTERRUPTED,
    _STATUS_ORDER,
    MANIFEST_NAME,
    ReportJob,
    ReportKind,
    ReportResult,
    _now,
    _read_manifest,
    _write_manifest,
    default_jobs,
    plan_jobs,
)
from evaluation.batch.kernels import KernelPool, _preload_source, remove_stale_kernel_folders, run_reports
from evaluation.batch.outdir import _check_out_dir, _check_year_folder, _RunLock, _SharedInputs
from evaluation.batch.progress import ProgressBar
from evaluation.batch.report_keys import _digest, _reason, input_hashes, package_fingerprint
from evaluation.batch.runplan import (
    PlannedReport,
    RunPlan,
    RunPlanError,
    RunPlanErrors,
    check_reports,
    load_run_plan,
    notebook_code_sha256,
    run_plan_path,
)
from evaluation.config import NOTEBOOKS_DIR
from evaluation.errors import UsageError, _display_path
from evaluation.io import Dataset
from evaluation.referential.plan import Plan

if TYPE_CHECKING:
    pass

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

    Raises :class:`~evaluation.batch.runplan.RunPlanError` (one problem) or
    :class:`~evaluation.batch.runplan.RunPlanErrors` (several) before any kernel starts, and
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
            shared.open()  # before the kernels start: each is given the folder
            pool = KernelPool(
                n_workers,
                log_dir=root / "logs",
                preload=_preload_source({j.notebook for j in to_run}),
                shared=shared.folder,
            )
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
    (:func:`evaluation.present.tables.write_suppression_log`), beside the run's logs, not in ``tables/``:
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
    from evaluation.present.tables import build_tables, write_suppression_log, write_tables

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
    from evaluation.stats.targets import STATUS_FR

    counts = tables["statuts_par_priorite"].set_index("priority")
    manifest["status_counts"] = {
        "columns": [str(c) for c in counts.columns],
        "labels": {str(status): label for status, label in STATUS_FR.items()},
        "rows": {str(i): [int(v) for v in row] for i, row in zip(counts.index, counts.to_numpy(), strict=True)},
    }
