"""Reading the data directory (``--data DIR``) and writing outputs atomically.

A data directory holds ``dataset.yaml`` (``name``, ``demo: true|false``, ``provenance``) and one
sub-folder per kind of input. The default is the embedded, synthetic demo dataset ``data/demo/``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from evaluation.config import DEMO_DATA_DIR
from evaluation.errors import InputError

__all__ = ["Dataset", "load_dataset", "atomic_write_text", "atomic_write_bytes"]


@dataclass(frozen=True)
class Limits:
    """Largest input the intake reads, checked before parsing (see the ``limits:`` keys in :mod:`evaluation.intake`).

    ``max_file_mb``: size of a file on disk, and of an Excel workbook's sheets once unzipped (a
    small workbook can expand a thousandfold); ``max_rows``: lines of a file (blank ones included);
    ``max_columns``: cells of a line, the header included; ``max_cell_chars``: characters of a cell.
    """

    max_file_mb: int = 200
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cell_chars: int = 10_000

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Dataset:
    """A data directory and its declared nature (``demo`` data is synthetic)."""

    path: Path
    name: str
    demo: bool
    provenance: str
    #: Disclosure-control preset for this dataset's published tables (``acro``, ``fiscal``,
    #: ``insee_entreprises``); None means the package default (:data:`evaluation.stats.disclosure.DEFAULT_RULE`).
    disclosure: str | None = None
    #: Largest input files read (``limits:`` in dataset.yaml, see :mod:`evaluation.intake`); None: the defaults.
    limits: Limits | None = None


def load_dataset(data_dir: Path | str | None = None) -> Dataset:
    """Read ``DIR/dataset.yaml``; ``None`` or ``""`` means the embedded demo dataset.

    Raises :class:`InputError` (exit status 2) when the folder or its ``dataset.yaml`` is missing or
    malformed.
    """
    directory = Path(data_dir) if data_dir else DEMO_DATA_DIR
    if not directory.is_dir():
        raise InputError(
            "data directory not found",
            path=directory,
            hint="pass --data with an existing folder, or omit it to use the demo data",
        )
    meta = directory / "dataset.yaml"
    if meta.is_symlink():
        raise InputError(
            "is a symbolic link: links are not followed", path=meta, hint="copy the file itself into the folder"
        )
    if not meta.is_file():
        raise InputError(
            "dataset.yaml not found",
            path=meta,
            hint="create it with 'name', 'demo: true|false' and 'provenance' (see data/demo/dataset.yaml)",
        )
    try:
        fd = os.open(meta, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(_MAX_META_BYTES + 1)
    except OSError as err:
        raise InputError(f"cannot be opened ({err.strerror})", path=meta, hint="check the file's permissions") from err
    if len(data) > _MAX_META_BYTES:
        raise InputError(
            f"is over {_MAX_META_BYTES // 1024} KB",
            path=meta,
            hint="it only holds name, demo, provenance and a few settings: keep the data in the input folders",
        )
    try:
        text = data.decode("utf-8")
        _refuse_aliases(text, meta)
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"unreadable ({err.__class__.__name__})",
            path=meta,
            line=mark.line + 1 if mark else None,
            hint="save it as UTF-8 YAML",
        ) from err
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with name, demo, provenance", path=meta)
    for key in ("name", "demo", "provenance"):
        if key not in raw:
            raise InputError("required field is missing", path=meta, column=key, hint="see data/demo/dataset.yaml")
    if not isinstance(raw["demo"], bool):
        raise InputError(f"expected true or false, found {raw['demo']!r}", path=meta, column="demo", value=raw["demo"])
    disclosure = raw.get("disclosure")
    if disclosure is not None and disclosure not in ("acro", "fiscal", "insee_entreprises"):
        raise InputError(
            f"unknown disclosure preset {disclosure!r}",
            path=meta,
            column="disclosure",
            value=disclosure,
            hint="use acro, fiscal or insee_entreprises, or remove the line for the default (acro)",
        )
    return Dataset(
        path=directory.resolve(),
        name=str(raw["name"]),
        demo=raw["demo"],
        provenance=str(raw["provenance"]).strip(),
        disclosure=disclosure,
        limits=_limits(raw.get("limits"), meta),
    )


#: Largest ``dataset.yaml`` read (it holds a few fields, never data).
_MAX_META_BYTES = 64 * 1024


def _refuse_aliases(text: str, meta: Path) -> None:
    """Refuse YAML anchors and aliases before building anything: nested aliases of a 1 KB file
    (a "billion laughs") expand to gigabytes, and dataset.yaml has no use for them."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise InputError(
                "uses a YAML anchor or alias (& or *), which is not accepted",
                path=meta,
                line=event.start_mark.line + 1,
                hint="write each value in full",
            )


def _limits(raw: object, meta: Path) -> Limits | None:
    """The ``limits:`` mapping of dataset.yaml: known keys, each a whole number above 0."""

    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InputError(
            "expected a mapping of limits", path=meta, column="limits", hint=f"keys: {', '.join(Limits.keys())}"
        )
    values = {}
    for key, value in raw.items():
        if key not in Limits.keys():
            raise InputError(
                "unknown limit", path=meta, column=f"limits.{key}", hint=f"use one of {', '.join(Limits.keys())}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(
                f"expected a whole number above 0, found {value!r}",
                path=meta,
                column=f"limits.{key}",
                value=value,
                hint="e.g. max_rows: 2000000",
            )
        values[key] = value
    return Limits(**values)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    An interrupted write never leaves a truncated file in place of a good one.
    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs are shared like any file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


#: The process's umask, read once at import: setting it to read it again while other threads of
#: the batch create files could leave it at 0 (world-writable outputs) if two reads interleaved.
_UMASK = _read_umask()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
