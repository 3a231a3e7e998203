"""The package's one cache: results kept per state of the files they were computed from.

What a run or a warm kernel would otherwise compute again and again goes through :func:`remember`:
the plan read from its YAML files, each kind of checked input, the monitoring data, the year's cohort
release and its impact estimates. A caller's key names everything the result depends on, the content
hash of its files included (:func:`files_digest`): a corrected file gives a new key, never a stale
result. Nothing else in the package keeps results between calls.

Two places:

- **memory**, in each process: the :data:`MAX_ENTRIES` most recent results;
- **a run's shared folder**, when one is set explicitly with :func:`share_through`: ``evaluation
  run`` creates a private folder for the run (mode 0700, removed at its end), uses it itself and
  hands it to each report kernel when the kernel starts (:mod:`evaluation.batch.kernels`). A result
  given a ``shared_key`` (a key that means the same in every process: hashes, never ``id()``) is
  pickled there, so that one process computes it and the others read it. With ``wait=True`` the
  others wait while it is being computed (a lock file per result, released by the system if the
  process dies) instead of computing it at the same time: on a two-core machine, three processes
  protecting the same cohort release at once take three times the time of one.

Only aggregate results are shared (counts per indicator or territory, protected releases, estimates);
person-level records never are: their callers give no ``shared_key``. Pickles are code: a folder is
only used if this user owns it and nobody else may write in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import stat
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["MAX_ENTRIES", "clear", "files_digest", "forget", "remember", "share_through", "shared_folder", "sharing"]

T = TypeVar("T")

#: Results kept in memory by a process (most recent last). A result is a few MB at most.
MAX_ENTRIES = 32

_memory: OrderedDict[Hashable, tuple[Any, tuple[object, ...]]] = OrderedDict()
_shared: Path | None = None
#: Shared results this process is computing (names of their files).
_computing: set[str] = set()


def share_through(folder: Path | str | None) -> Path | None:
    """Also keep shared results in ``folder`` (None: stop sharing); returns the folder set before.

    Set by ``evaluation run`` in its own process and in each report kernel it starts.
    """
    global _shared
    before, _shared = _shared, (Path(folder) if folder else None)
    return before


def shared_folder() -> Path | None:
    """The folder set by :func:`share_through`, if this user owns it and nobody else may write in it."""
    if _shared is None:
        return None
    try:
        info = os.stat(_shared)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return _shared


@contextlib.contextmanager
def sharing(folder: Path | str | None) -> Iterator[None]:
    """:func:`share_through` ``folder`` for the duration of the block, then back to what was set."""
    before = share_through(folder)
    try:
        yield
    finally:
        share_through(before)


def forget(key: Hashable) -> None:
    """Forget the result kept in memory under ``key`` (if any)."""
    _memory.pop(key, None)


def clear() -> None:
    """Forget every result kept in memory (the shared folder is the run's: it is left alone)."""
    _memory.clear()


def files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """SHA-256 of the files' names (relative to ``root`` when given) and contents, in the order given.

    The content, not the modification time: file times tick at the clock's resolution (a few
    milliseconds), so a file rewritten at once with the same size could look unchanged.
    """
    digest = hashlib.sha256()
    for path in paths:
        name = path.relative_to(root).as_posix() if root is not None else str(path)
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def remember(
    key: Hashable,
    compute: Callable[[], T],
    *,
    keep: tuple[object, ...] = (),
    shared_key: tuple[object, ...] | None = None,
    wait: bool = False,
) -> T:
    """``compute()``, or what it returned for the same ``key`` (callers must not modify the result).

    ``key`` must name every input of the result. ``keep``: objects kept alive as long as the entry
    (a plan whose ``id`` is part of the key, so that the ``id`` cannot be reused meanwhile).
    ``shared_key``: the result is also looked for in, and kept in, the run's shared folder under a
    name derived from it (with the package version); ``wait``: while another process computes it,
    wait for its result rather than compute it too. Without a shared folder, both are ignored.
    """
    if key in _memory:
        _memory.move_to_end(key)
        return _memory[key][0]
    folder = shared_folder() if shared_key is not None else None
    if folder is None:
        value = compute()
    else:
        value = _shared_value(folder, shared_key, compute, wait)  # type: ignore[arg-type]
    _memory[key] = (value, keep)
    while len(_memory) > MAX_ENTRIES:
        _memory.popitem(last=False)
    return value


def _shared_value(folder: Path, shared_key: tuple[object, ...], compute: Callable[[], T], wait: bool) -> T:
    from evaluation import __version__
    from evaluation.io import atomic_write_bytes

    name = hashlib.sha256(repr((shared_key, __version__)).encode()).hexdigest()
    path = folder / f"{name}.pickle"
    # A computation asking for its own result again would wait for itself (flock locks per open file).
    waiting = wait and name not in _computing
    with _lock(folder / f"{name}.lock") if waiting else contextlib.nullcontext(), _marked(name):
        with contextlib.suppress(Exception):  # missing or unreadable: computed here instead
            return pickle.loads(_read_no_follow(path))  # noqa: S301 - written by this run, private folder
        value = compute()
        with contextlib.suppress(Exception):  # not kept: the other processes compute it themselves
            atomic_write_bytes(path, _dumps(value))
        return value


class _Pickler(pickle.Pickler):
    """Pickles read-only mappings too (``MappingProxyType``, which the frozen records use), as read-only mappings."""

    def reducer_override(self, obj: object) -> object:
        if type(obj) is MappingProxyType:
            return _read_only, (dict(obj),)
        return NotImplemented


def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


def _dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


@contextlib.contextmanager
def _marked(name: str) -> Iterator[None]:
    """``name`` is being computed by this process (see :func:`_shared_value`)."""
    _computing.add(name)
    try:
        yield
    finally:
        _computing.discard(name)


def _read_no_follow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created, never through a link); no lock where locks are missing."""
    try:
        import fcntl
    except ImportError:  # not on Unix: the processes may compute the same result at once
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
