"""A report's key: what it depends on (notebook, parameters, input files, package), hashed.

``evaluation run`` skips a report whose key equals the one its last run recorded (the reports'
cache, on disk in the manifest); the results computed while reports run are kept by
:mod:`evaluation.cache`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation import __version__
from evaluation.batch.jobs import _INTERRUPTED, ReportJob
from evaluation.config import DATA_DIR, PLAN_DIR

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
    package = Path(__file__).resolve().parents[1]  # the whole evaluation package
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
