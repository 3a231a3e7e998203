"""The cache of loaded inputs: per state of the files, in memory, and in a run's private shared folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from evaluation import __version__
from evaluation.intake._common import Problem, _input_files
from evaluation.io import atomic_write_bytes
from evaluation.referential.plan import Plan


def folder_state(folder: Path) -> tuple[tuple[str, str], ...] | None:
    """Name and SHA-256 of each input file of ``folder``; None when a file cannot be read.

    The content, not the modification time: file times tick at the kernel's clock resolution (a few
    milliseconds), so a file rewritten at once with the same size could look unchanged. Hashing the
    demo inputs takes about a millisecond. An unreadable file (permissions, a file locked by Excel)
    gives None: nothing is cached, and the reader reports the file as a problem; so does a
    symbolic link in the folder, or a file in place of the folder (reported at each load).
    """
    files, problems = _input_files(folder)
    if problems:  # a link, or a file in place of the folder: read again each time, so reported each time
        return None
    state = []
    for path in files:
        try:
            state.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()))
        except OSError:
            return None
    return tuple(state)


#: Loaded inputs by (kind, folder, plan, extra key, state of the files), most recent last.
_LOADED: dict[tuple[object, ...], tuple[pd.DataFrame, tuple[Problem, ...], Plan | None]] = {}
_LOADED_MAX = 16

#: Environment variable naming a private folder where the loaded inputs are also kept, for the
#: other processes of a run: ``evaluation run`` checks the inputs once, and its report kernels read
#: the result instead of checking the same files again (see :func:`_remembered`).
SHARED_INPUTS_ENV = "EVALUATION_SHARED_INPUTS"
#: What may be shared through that folder: counts per indicator, engagement or territory, never a
#: record about a person. Cohort records are about persons: they are never written to disk, each
#: process reads and pseudonymises them itself.
_SHARED_KINDS = frozenset({"monitoring", "spending", "barometer"})


def _plan_digest(plan_dir: Path) -> str:
    """SHA-256 of the referential's YAML files: a plan's identity across processes."""
    digest = hashlib.sha256()
    for path in sorted(plan_dir.rglob("*.yaml")):
        digest.update(path.relative_to(plan_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _reference_state() -> str | None:
    """SHA-256 of the QPV reference list the barometer and cohort checks use (None: unreadable)."""
    from evaluation.referential import territories

    try:
        return hashlib.sha256(Path(territories.REFERENCE_FILE).read_bytes()).hexdigest()
    except OSError:
        return None


def _private_folder(path: str | None) -> Path | None:
    """``path`` if it is a folder of this user that nobody else may write (pickles are code)."""
    if not path:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return Path(path)


def _shared_path(
    kind: str, folder: Path, plan: Plan | None, extra: tuple[object, ...], state: tuple[tuple[str, str], ...]
) -> Path | None:
    shared = _private_folder(os.environ.get(SHARED_INPUTS_ENV))
    if shared is None or kind not in _SHARED_KINDS:
        return None
    plan_id = None
    if plan is not None:
        if not plan.path.is_dir():
            return None
        plan_id = _plan_digest(plan.path)
    name = hashlib.sha256(repr((kind, str(folder.resolve()), plan_id, extra, state, __version__)).encode()).hexdigest()
    return shared / f"{kind}-{name}.pickle"


def _shared_load(path: Path | None) -> tuple[pd.DataFrame, tuple[Problem, ...]] | None:
    if path is None or not path.is_file():
        return None
    try:
        frame, problems = pickle.loads(path.read_bytes())  # noqa: S301 - written by this run, private folder
    except Exception:  # noqa: BLE001 - unreadable: read the inputs instead
        return None
    return frame, tuple(problems)


def _shared_store(path: Path | None, frame: pd.DataFrame, problems: tuple[Problem, ...]) -> None:
    if path is None or path.exists():
        return
    with contextlib.suppress(Exception):  # not kept: the other processes read the files themselves
        atomic_write_bytes(path, pickle.dumps((frame, problems), protocol=pickle.HIGHEST_PROTOCOL))


def _remembered(
    kind: str,
    folder: Path,
    plan: Plan | None,
    extra: tuple[object, ...],
    load: Callable[[], tuple[pd.DataFrame, list[Problem]]],
) -> tuple[pd.DataFrame, list[Problem]]:
    """``load()``, or a copy of what it returned for the same files in the same state.

    ``evaluation run`` checks every input before the reports, then computes the tables from the same
    inputs, and a warm kernel runs many reports on them: reading and checking a folder once per state
    of its files spares a second or more each time. The key holds each file's name and content hash
    (a corrected file is read again), and the plan by identity: the entry keeps a
    reference to it, so its ``id`` cannot be reused while the entry lives. Callers get a copy of the
    frame, so changing it cannot alter what later callers get.

    When the environment names a shared folder (:data:`SHARED_INPUTS_ENV`), aggregate inputs are
    also kept there, pickled, under a name derived from the same key (the plan by the hash of its
    files, the package version): another process of the run finds them instead of reading and
    checking the files again. ``evaluation run`` creates that folder private (mode 0700) for the
    run and removes it at the end.
    """
    state = folder_state(folder)
    if state is None:  # a file cannot be read: the loader says which, and nothing is kept
        return load()
    key = (kind, str(folder.resolve()), id(plan), extra, state)
    hit = _LOADED.pop(key, None)
    if hit is None:
        shared = _shared_path(kind, folder, plan, extra, state)
        loaded = _shared_load(shared)
        if loaded is None:
            frame, problems = load()
            loaded = (frame, tuple(problems))
            _shared_store(shared, *loaded)
        hit = (*loaded, plan)
        while len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = hit
    return hit[0].copy(), list(hit[1])
