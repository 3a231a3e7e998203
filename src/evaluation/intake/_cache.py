"""Loaded inputs, remembered per state of their files through the package's one cache (:mod:`evaluation.cache`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from evaluation import cache
from evaluation.intake.folders import _input_files
from evaluation.intake.problems import Problem
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


#: What may be shared with the other processes of a run (:func:`evaluation.cache.share_through`):
#: counts per indicator, engagement or territory, never a record about a person. Cohort records are
#: about persons: they are never written to disk, each process reads and pseudonymises them itself.
_SHARED_KINDS = frozenset({"monitoring", "spending", "barometer"})


def plan_digest(plan: Plan) -> str | None:
    """SHA-256 of the plan's YAML files (its identity across processes); None for a plan not read from a folder."""
    try:
        if not plan.path.is_dir():
            return None
        return cache.files_digest(sorted(plan.path.rglob("*.yaml")), plan.path)
    except OSError:  # unreadable now: not shared
        return None


def _reference_state() -> str | None:
    """SHA-256 of the QPV reference list the barometer and cohort checks use (None: unreadable)."""
    from evaluation.referential import territories

    try:
        return hashlib.sha256(Path(territories.REFERENCE_FILE).read_bytes()).hexdigest()
    except OSError:
        return None


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
    (a corrected file is read again), and the plan by identity (the entry keeps it alive, so that its
    ``id`` cannot be reused while the entry lives). Callers get a copy of the frame, so changing it
    cannot alter what later callers get.

    Aggregate inputs (:data:`_SHARED_KINDS`) are also kept in the run's shared folder when one is set,
    under a key that means the same in every process (the plan by the hash of its files): the report
    kernels of ``evaluation run`` find what the run checked instead of checking the same files again.
    """
    state = folder_state(folder)
    if state is None:  # a file cannot be read: the loader says which, and nothing is kept
        return load()
    where = str(folder.resolve())
    shared_key = None
    if kind in _SHARED_KINDS:
        plan_id = None if plan is None else plan_digest(plan)
        if plan is None or plan_id is not None:
            shared_key = ("inputs", kind, where, plan_id, extra, state)

    def checked() -> tuple[pd.DataFrame, tuple[Problem, ...]]:
        frame, problems = load()
        return frame, tuple(problems)

    key = ("inputs", kind, where, id(plan), extra, state)
    frame, problems = cache.remember(key, checked, keep=(plan,), shared_key=shared_key)
    if folder_state(folder) != state:  # a file was saved while it was read: what was read is not kept
        cache.forget(key)
    return frame.copy(), list(problems)
