"""The reports of a run: report kinds (from the run plans), jobs and their results."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.batch.runplan import (
    PlannedReport,
    RunPlan,
)
from evaluation.config import PARAMS_DIR
from evaluation.errors import UsageError, _display_path
from evaluation.io import atomic_write_text

if TYPE_CHECKING:
    pass

MANIFEST_NAME = "manifest.json"
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
