"""The output folder: refused when it is a system folder or holds foreign files; the run's lock and the shared folder of checked inputs, created exclusively, never through a link."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from evaluation.batch.jobs import MANIFEST_NAME, _now
from evaluation.errors import UsageError, _display_path

if TYPE_CHECKING:
    pass


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


class _SharedInputs:
    """The run's private folder of shared results (:func:`evaluation.cache.share_through`).

    The parent checks the inputs and computes the tables while the kernels start and run; it uses
    the folder itself and hands it to each kernel when the kernel starts (a parameter of the kernel's
    set-up code, :mod:`evaluation.batch.kernels`, not an environment variable). A process then reads
    what another one already checked or computed instead of doing it again (about a second per kernel
    and input kind, seconds for the cohort release and the impact placebos). The folder is
    ``OUT/<year>/.entrees-verifiees`` (:data:`NAME`), mode 0700, removed at the end of the run; a run
    killed before its end leaves it, and the next run into the folder removes it once it holds the
    lock. It holds copies of the monitoring, spending and barometer inputs (counts per territory,
    before disclosure control: not for publication), the protected cohort release and the impact
    estimates; cohort records, person-level, are never written there (see :mod:`evaluation.intake`).
    """

    NAME = ".entrees-verifiees"

    def __init__(self, root: Path) -> None:
        self.folder = root / self.NAME
        self._open = False
        self._before: Path | None = None

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
        from evaluation import cache

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
        self._before = cache.share_through(self.folder)
        self._open = True

    def close(self) -> None:
        if not self._open:
            return
        from evaluation import cache

        cache.share_through(self._before)
        self.clear()
        self._open = False
