"""Shared machinery of the intake: problems and their messages, cell parsing (numbers, years, dates,
headers), the CSV/XLSX readers, the schema runner, suggestions, cross-file duplicates.

Each kind of input (:mod:`.monitoring`, :mod:`.barometer`, :mod:`.cohorts`) adds the messages of
its checks to :data:`_MESSAGES` when it is imported (the package imports them all).
"""

from __future__ import annotations

import csv
import difflib
import errno
import functools
import io
import math
import os
import re
import stat
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationError, _display_path
from evaluation.io import Limits

#: Largest number of problems printed before "... and N more".
MAX_PRINTED = 200
#: Unknown headers of a file given a "did you mean" suggestion (the others get the expected columns).
_MAX_SUGGESTED_HEADERS = 20


@dataclass(frozen=True)
class Problem:
    """One problem of an input file; ``fatal`` when the file cannot be read at all."""

    path: Path
    line: int | None
    column: str | None
    value: object
    message: str
    hint: str | None = None
    fatal: bool = False

    def __str__(self) -> str:
        # The folder resolved, not the file: a symbolic link is shown as itself, never as its target.
        where = [str(Path(_display_path(self.path.parent)) / self.path.name)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": "
        if not _blank(self.value):
            text += f"{_show(self.value)} "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class _Masked:
    """Stands for a person's identifier or key in a problem: the value itself is never shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(identifiant masqué)"


#: The value of a problem about a person's identifier or key (printed ``(identifiant masqué)``).
MASKED = _Masked()


class ValidationFindings(EvaluationError):
    """Input files with problems; ``exit_code`` 2 when one is unreadable, 1 otherwise."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        self.exit_code = 2 if any(p.fatal for p in problems) else 1
        super().__init__(f"{len(problems)} problem(s) in the input files (run 'evaluation validate' to list them)")


def _show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def format_problems(problems: Sequence[Problem], limit: int = MAX_PRINTED) -> list[str]:
    """One line per problem, capped at ``limit`` with a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more problem(s)")
    return lines


# --------------------------------------------------------------------------------------------------
# Numbers and headers


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")


def parse_number(value: object) -> float | None:
    """A number from a cell: ``1 250,5`` / ``1.250,5`` / ``1250.5`` / ``15 %`` -> float; blank -> None.

    Raises ``ValueError`` for anything else. The decimal separator is the comma, or the dot when
    there is no comma; spaces (also non-breaking), apostrophes and, beside a decimal comma, dots are
    thousands separators. A trailing ``%`` or ``€`` is ignored. ``1.250`` and ``1,250`` are refused
    as ambiguous (1 250 written the English or German way, or 1,25): a count divided by 1 000 by
    mistake would pass every other check.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError("infinite")
        return float(value)
    text = _SPACES.sub("", str(value)).rstrip("%€").strip()
    if not text:
        return None
    if re.fullmatch(r"-?[1-9]\d{0,2}[.,]\d{3}", text):
        raise ValueError("ambiguous: a thousands separator or a decimal mark")
    if "," in text:
        if text.count(",") > 1:
            raise ValueError("several decimal commas")
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1:
        if not re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
            raise ValueError("several dots")
        text = text.replace(".", "")
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
        raise ValueError("not a number")
    return float(text)


def _parse_year(value: object) -> int | None:
    number = parse_number(value)
    if number is None or not float(number).is_integer():
        raise ValueError("not a year")
    return int(number)


@functools.lru_cache(maxsize=16_384)
def _fold(text: str) -> str:
    """Header folded for matching: lower case, no accents, single spaces, no unit in parentheses.

    Cached: cells of closed lists (sex, QPV, programme...) repeat on every row of a file."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    text = re.sub(r"\(.*?\)", "", text.lower())
    return re.sub(r"[\s_\-]+", " ", text).strip()


@dataclass(frozen=True)
class TableSpec:
    """Columns of one kind of input file: canonical name -> accepted headers (folded)."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    #: Columns of our own template that only help the partner (label, target...): read and ignored.
    ignored: tuple[str, ...] = field(default=())
    #: French header suggested when a required column is missing (default: the third alias, or the first).
    french: dict[str, str] = field(default_factory=dict)

    def canonical(self, header: str) -> str | None:
        folded = _fold(header)
        for name, names in self.aliases.items():
            if folded == _fold(name) or folded in names:
                return name
        return None

    @property
    def known_headers(self) -> list[str]:
        return [h for names in self.aliases.values() for h in names]


# --------------------------------------------------------------------------------------------------
# Raw reading


@dataclass(frozen=True)
class RawTable:
    """Cells of a file by canonical column, indexed by the line number a spreadsheet shows.

    ``columns``: the canonical columns the file's header really has (the frame also holds the
    missing optional ones, filled with None).
    """

    path: Path
    frame: pd.DataFrame
    columns: tuple[str, ...] = ()


#: The limits when ``dataset.yaml`` sets none.
DEFAULT_LIMITS = Limits()


class _Unreadable(Exception):
    def __init__(self, message: str, hint: str, line: int | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.line = line


def _limit_hint(key: str) -> str:
    return f"split the file, or raise '{key}' under 'limits:' in dataset.yaml if the file is right"


#: A UTF-8 encoded character beyond ASCII (two to four bytes).
_UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf8_line(data: bytes) -> int | None:
    """The first line that is UTF-8 with a character beyond ASCII (a Windows-1252 line almost never is)."""
    for match in _UTF8_CHAR.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        try:
            data[start : end if end >= 0 else len(data)].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return _line_of(data, start)
    return None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; a file mixing both is refused with a line of each.

    Decoding such a file as Windows-1252 would turn every accent of its UTF-8 lines into mojibake
    (``rÃ©alisÃ©``) that the reports would publish."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = _line_of(body, err.start)
        good = _utf8_line(body) if not data.startswith(b"\xef\xbb\xbf") else 1
        if good is not None:
            raise _Unreadable(
                f"mixes two text encodings: this line is not UTF-8, line {good} is",
                "save the whole file again as UTF-8 (CSV UTF-8 in Excel)",
                line=bad,
            ) from err
        return body.decode("cp1252")


def _open_input(path: Path, limits: Limits) -> io.BufferedReader:
    """``path`` opened for reading without following a symbolic link, after the size check."""
    if path.is_symlink():  # O_NOFOLLOW below closes the race where the platform has it
        raise _Unreadable("is a symbolic link: links are not followed", "copy the file itself into the folder")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _Unreadable(
                "is a symbolic link: links are not followed", "copy the file itself into the folder"
            ) from err
        raise
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise _Unreadable("is not a regular file", "put a CSV or Excel file in its place")
    if info.st_size > limits.max_file_mb * 1_000_000:
        handle.close()
        raise _Unreadable(
            f"is {info.st_size / 1_000_000:.0f} MB, over the limit of {limits.max_file_mb} MB",
            _limit_hint("max_file_mb"),
        )
    return handle


def _check_cells(line: int, cells: Sequence[object], limits: Limits) -> None:
    if len(cells) > limits.max_columns and any(not _blank(c) for c in cells[limits.max_columns :]):
        raise _Unreadable(
            f"has more than {limits.max_columns} cells on this line", _limit_hint("max_columns"), line=line
        )
    for cell in cells:
        if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
            raise _Unreadable(
                f"has a cell of {len(cell)} characters, over the limit of {limits.max_cell_chars}",
                _limit_hint("max_cell_chars"),
                line=line,
            )


def _too_many_rows(limits: Limits, line: int | None = None) -> _Unreadable:
    return _Unreadable(f"has more than {limits.max_rows} lines", _limit_hint("max_rows"), line=line)


def _csv_grid(path: Path, limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The cells of a CSV file as a grid (see :func:`_grid`), after the limits' checks."""
    with _open_input(path, limits) as handle:
        data = handle.read()
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise _Unreadable(
            "is not a text CSV file (an Excel workbook must be named .xlsx)", "save it as CSV or rename it .xlsx"
        )
    if data.count(b"\n") > limits.max_rows:
        raise _too_many_rows(limits)
    try:
        text = _decode(data)
    except UnicodeDecodeError as err:
        raise _Unreadable(
            f"has an unknown text encoding ({err.reason})", "save it as UTF-8 or Windows-1252 CSV"
        ) from err
    del data
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    # Checked on the raw line, before any parser splits it: a line of 10 million separators
    # would otherwise become 10 million cells (a quoted separator counts here too: a bound).
    if first.count(delimiter) >= limits.max_columns:
        line = text[: text.find(first)].count("\n") + 1
        raise _Unreadable(
            f"has more than {limits.max_columns} cells on this line", _limit_hint("max_columns"), line=line
        )
    if '"' not in text and "\x00" not in text:
        return _unquoted_grid(text, delimiter, limits)
    try:
        return _grid(_parse_csv(text, delimiter, limits, strict=True))
    except _OpenQuote as err:
        raise _Unreadable(
            'opens a quote (") that is never closed: every later line would be read into one cell',
            "close the quote, or remove it",
            line=err.line,
        ) from None
    except csv.Error:
        pass  # a stray quote inside a cell ('"abc"d'): read as the spreadsheet programs do
    return _grid(_parse_csv(text, delimiter, limits, strict=False))


def _unquoted_grid(text: str, delimiter: str, limits: Limits) -> pd.DataFrame:
    """A CSV text without any quote: one physical line per row, split by pandas' C parser.

    Without quotes no cell spans lines, so a row's number is its line's, as the csv module counts
    them (``\\r\\n``, ``\\r`` and ``\\n`` end a line). The limits are checked on the lines first: only
    the lines that could exceed one are split in Python.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return pd.DataFrame(dtype=object)
    if len(lines) > limits.max_rows:  # lines ended by a lone \r escape the byte count of \n
        raise _too_many_rows(limits)
    separators = np.fromiter((line.count(delimiter) for line in lines), dtype=np.int64, count=len(lines))
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    for position in np.flatnonzero(separators >= limits.max_columns):
        # Only blank cells may lie beyond the limit (a spreadsheet's trailing separators): checked on
        # the text, and cut off, without splitting a line of millions of separators into cells.
        line, cut = lines[position], -1
        for _ in range(limits.max_columns):
            cut = lines[position].find(delimiter, cut + 1)
        if line[cut:].replace(delimiter, "").strip():
            raise _Unreadable(
                f"has more than {limits.max_columns} cells on this line",
                _limit_hint("max_columns"),
                line=int(position) + 1,
            )
        lines[position] = line[:cut]
        separators[position] = limits.max_columns - 1
        lengths[position] = cut
    for position in np.flatnonzero(lengths > limits.max_cell_chars):
        _check_cells(int(position) + 1, lines[position].split(delimiter), limits)
    width = min(int(separators.max()) + 1, limits.max_columns)
    grid = pd.read_csv(
        io.StringIO("\n".join(lines) + "\n"),  # each line terminated: a last blank line stays a row
        sep=delimiter,
        header=None,
        names=range(width),
        usecols=range(width),
        dtype=str,
        na_filter=False,
        keep_default_na=False,
        skip_blank_lines=False,
        quoting=csv.QUOTE_NONE,
        engine="c",
    ).astype(object)
    if len(grid) != len(lines):  # never expected: a parser that merged or dropped a line would shift every line number
        raise _Unreadable("could not be split into its lines", "save it again as CSV")
    # A line shorter than the widest has no cell there (None, as the csv module gives no cell).
    short = separators + 1 < width
    if short.any():
        positions = np.arange(width)
        absent = short[:, None] & (positions[None, :] > separators[:, None])
        grid = grid.mask(absent, None)
    grid.index = pd.RangeIndex(1, len(lines) + 1)
    return grid


def _grid(rows: list[tuple[int, list[object]]]) -> pd.DataFrame:
    """Rows ``(line, cells)`` as one frame of objects: index the line numbers, columns the positions
    0, 1... of the widest row; a row shorter than that has None in the cells it lacks."""
    width = max((len(cells) for _line, cells in rows), default=0)
    return pd.DataFrame(
        [cells + [None] * (width - len(cells)) for _line, cells in rows],
        index=pd.Index([line for line, _cells in rows], dtype="int64"),
        columns=range(width),
        dtype=object,
    )


class _OpenQuote(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _parse_csv(text: str, delimiter: str, limits: Limits, strict: bool) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows = []
    started = 1
    try:
        for row in reader:
            _check_cells(reader.line_num, row, limits)
            if reader.line_num > started and rows:
                _check_swallowed(started, reader.line_num, row, delimiter, len(rows[0][1]))
            rows.append((reader.line_num, row))
            started = reader.line_num + 1
    except csv.Error as err:
        if strict and "unexpected end of data" in str(err):
            raise _OpenQuote(started) from err
        if "field larger than field limit" in str(err):
            raise _Unreadable(
                f"has a cell over the limit of {limits.max_cell_chars} characters",
                _limit_hint("max_cell_chars"),
                line=started,
            ) from err
        if strict:
            raise
        raise _Unreadable(f"is not valid CSV ({err})", "check the quotes of that line", line=started) from err
    return rows


def _check_swallowed(started: int, ended: int, row: list[str], delimiter: str, width: int) -> None:
    """Refuse a cell over several lines whose inner lines look like rows of the file: a quote opened
    by mistake and closed by another one lines later (the rows between would vanish into the cell)."""
    for cell in row:
        inner = cell.split("\n")[1:]
        if any(line.count(delimiter) >= max(width - 1, 1) for line in inner):
            raise _Unreadable(
                f'opens a quote (") that is closed only on line {ended}: the lines between would be read into one cell',
                "close the quote on its own line, or remove it",
                line=started,
            )


#: An Excel row element (``<row ...>``, with or without a namespace prefix).
_XLSX_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _check_workbook_zip(handle: io.BufferedReader, limits: Limits) -> None:
    """Refuse a workbook from its zip directory before openpyxl parses it: the sheets' unzipped size
    (as declared: zipfile never inflates a member beyond it) and, streamed, the number of rows."""
    with zipfile.ZipFile(handle) as archive:
        members = [m for m in archive.infolist() if m.filename.lower().endswith(".xml")]
        total = sum(m.file_size for m in members)
        if total > limits.max_file_mb * 1_000_000:
            raise _Unreadable(
                f"unzips to {total / 1_000_000:.0f} MB, over the limit of {limits.max_file_mb} MB",
                _limit_hint("max_file_mb"),
            )
        for member in members:
            if not member.filename.lower().startswith("xl/worksheets/"):
                continue
            count, tail = 0, b""
            with archive.open(member) as stream:
                while chunk := stream.read(1 << 20):
                    block = tail + chunk
                    count += len(_XLSX_ROW.findall(block[:-16])) if len(block) > 16 else 0
                    tail = block[-16:] if len(block) > 16 else block
                    if count > limits.max_rows:
                        raise _too_many_rows(limits)
    handle.seek(0)


def _xlsx_grid(path: Path, limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:
    from openpyxl import load_workbook

    with _open_input(path, limits) as handle:
        try:
            _check_workbook_zip(handle, limits)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                book = load_workbook(handle, read_only=True, data_only=True)
        except _Unreadable:
            raise
        except Exception as err:  # noqa: BLE001 - zipfile and openpyxl raise many types for a damaged file
            raise _Unreadable(
                f"is not a readable Excel workbook ({type(err).__name__})",
                "open it in Excel and save it again as .xlsx",
            ) from err
        try:
            if "Saisie" in book.sheetnames:
                sheet = book["Saisie"]
            elif len(book.sheetnames) == 1:
                sheet = book.worksheets[0]
            else:
                raise _Unreadable(
                    f"has several sheets ({', '.join(book.sheetnames)}) and none named 'Saisie'",
                    "name the sheet holding the data 'Saisie', or keep only that sheet",
                )
            # The declared <dimension> is not trusted: it could pad every row to 16 384 cells.
            sheet.reset_dimensions()
            rows = []
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number > limits.max_rows:
                    raise _too_many_rows(limits, number)
                _check_cells(number, row, limits)
                rows.append((number, list(row)))
            return _grid(rows)
        finally:
            book.close()


def read_yaml(path: Path, max_bytes: int, size_hint: str, mapping_hint: str) -> tuple[Any, Any, list[Problem]]:
    """A small YAML description read as hostile input: ``(content, node, [])`` or ``(None, None, [fatal problem])``.

    Opened without following a link; refused over ``max_bytes`` (``size_hint`` says what the file
    should hold), when not UTF-8, when not valid YAML (with its line), when it uses an anchor or an
    alias (checked on the event stream, before anything is built: a few nested aliases expand to
    gigabytes) and when it is not a mapping (``mapping_hint``: how to start it). ``node`` is the
    composed tree, for the line of each key.
    """
    import yaml

    def fatal(message: str, hint: str, line: int | None = None) -> tuple[None, None, list[Problem]]:
        return None, None, [Problem(path, line, None, None, message, hint, fatal=True)]

    try:
        with _open_input(path, DEFAULT_LIMITS) as handle:
            data = handle.read(max_bytes + 1)
    except _Unreadable as err:
        return fatal(str(err), err.hint)
    except OSError as err:
        return fatal(f"cannot be opened ({err.strerror})", "check the file's permissions")
    if len(data) > max_bytes:
        size = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes // 1024} KB"
        return fatal(f"is larger than {size}", size_hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return fatal("is not UTF-8 text", "save it as UTF-8")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return fatal("uses a YAML anchor or alias (& or *)", "write every value out", event.start_mark.line + 1)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        content = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        reason = getattr(err, "problem", None) or "not valid YAML"
        return fatal(
            f"is not valid YAML ({reason})", "check the indentation and the quotes", mark.line + 1 if mark else None
        )
    if not isinstance(content, dict) or node is None:
        return fatal("is not a YAML mapping", mapping_hint)
    return content, node, []


def _blank(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )


#: The French header shown in hints, for the columns of every kind of file.
_FRENCH_HEADERS = {
    "indicator_id": "indicateur",
    "year": "année",
    "value": "valeur",
    "engagement": "fiche",
    "amount_eur": "montant",
}


def _french_header(spec: TableSpec, name: str) -> str:
    if name in spec.french:
        return spec.french[name]
    return _FRENCH_HEADERS.get(name, spec.aliases[name][0])


def read_raw(
    path: Path, spec: TableSpec, private: bool = False, limits: Limits = DEFAULT_LIMITS
) -> tuple[RawTable | None, list[Problem]]:
    """Read a file's cells without interpreting them; problems for unreadable, empty or badly headed files.

    ``private``: the file describes persons, so no cell is copied into a problem: an unknown column
    is named by its position (a file without a header line would show a person's data as headings)
    and cells beyond the header are not shown.
    """
    try:
        grid = _xlsx_grid(path, limits) if path.suffix.lower() == ".xlsx" else _csv_grid(path, limits)
    except _Unreadable as err:
        return None, [Problem(path, err.line, None, None, str(err), err.hint, fatal=True)]
    except OSError as err:
        return None, [_cannot_open(path, err)]
    blank = {position: distinct_map(grid[position], _blank).astype(bool) for position in grid.columns}
    filled = ~np.logical_and.reduce(list(blank.values())) if blank else np.zeros(len(grid), dtype=bool)
    if not filled.any():
        return None, [
            Problem(
                path,
                None,
                None,
                None,
                "is empty",
                f"fill it with a header line ({', '.join(spec.required)}) and data, or remove it",
            )
        ]
    rows = np.flatnonzero(filled)
    header_line = int(grid.index[rows[0]])
    header = list(grid.iloc[rows[0]])
    problems: list[Problem] = []
    columns: dict[int, str] = {}
    unknown = 0
    for position, cell in enumerate(header):
        if _blank(cell):
            continue
        name = spec.canonical(str(cell))
        if name is None:
            unknown += 1
            # A close-match lookup costs a scan of every known header: a few suffice for the hints.
            close = (
                difflib.get_close_matches(_fold(str(cell)), spec.known_headers, n=1, cutoff=0.8)
                if unknown <= _MAX_SUGGESTED_HEADERS
                else []
            )
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"expected columns: {', '.join(spec.required + spec.optional)}"
            )
            if private:
                problems.append(
                    Problem(path, header_line, f"n°{position + 1}", None, "unknown column (heading not shown)", hint)
                )
            else:
                problems.append(Problem(path, header_line, str(cell), None, "unknown column", hint))
        elif name in columns.values():
            problems.append(Problem(path, header_line, str(cell), None, "column given twice", "keep one of them"))
        else:
            columns[position] = name
    missing = [c for c in spec.required if c not in columns.values()]
    for name in missing:
        problems.append(
            Problem(
                path,
                header_line,
                name,
                None,
                "required column is missing",
                f"add a column '{name}' (or its French name '{_french_header(spec, name)}')",
            )
        )
    if missing:
        return None, problems
    width = max(len(header) - next((i for i, c in enumerate(reversed(header)) if not _blank(c)), 0), 1)
    body = rows[1:]
    beyond = [position for position in grid.columns if position >= width]
    extra = np.logical_or.reduce([~blank[p][body] for p in beyond]) if beyond else np.zeros(len(body), dtype=bool)
    for position in body[extra]:
        cells = [c for c in grid.iloc[position, width:] if not _blank(c)]
        problems.append(
            Problem(
                path,
                int(grid.index[position]),
                None,
                None if private else ", ".join(str(c) for c in cells),
                f"has {len(cells)} cell(s) more than the header",
                "a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number",
            )
        )
    kept = body[~extra]
    names = {position: name for position, name in columns.items() if name not in spec.ignored}
    frame = grid.iloc[kept, list(names)].set_axis(list(names.values()), axis=1).copy()
    frame.index = pd.Index(grid.index[kept], dtype="int64")
    for name in spec.required + spec.optional:
        if name not in frame.columns:
            frame[name] = None
    if frame.empty:
        problems.append(Problem(path, None, None, None, "has a header but no data", "fill it or remove it"))
        return None, problems
    frame.index.name = "line"
    return RawTable(path, frame, tuple(columns.values())), problems


# --------------------------------------------------------------------------------------------------
# Schemas: every check has a key, rendered as a message and a fix (:data:`_MESSAGES`).


@dataclass(frozen=True)
class Check:
    """One check of an input table, named by the key of its message in :data:`_MESSAGES`.

    ``element_wise``: ``fn(cell) -> bool`` (True when the cell is right), called once per distinct
    cell of the column, not once per row (a column of 500,000 cells holds a few hundred distinct
    years, statuses or codes); ``ignore_na``: an empty cell (None or NaN) passes without a call.
    Otherwise ``fn(frame) -> bool Series`` on the whole table (True for a right row), written with
    whole-column operations.
    """

    fn: Callable
    key: str
    element_wise: bool = True
    ignore_na: bool = True


@dataclass(frozen=True)
class Schema:
    """The checks of each column of a kind of table, and the checks across columns."""

    columns: dict[str, list[Check]]
    checks: list[Check] = field(default_factory=list)

    def failures(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Check key -> boolean mask of the rows that fail it (every check run: all problems at once)."""
        failing: dict[str, np.ndarray] = {}
        for column, checks in self.columns.items():
            values = frame[column].to_numpy(dtype=object)
            for check in checks:
                passed = distinct_map(values, check.fn, skip_na=check.ignore_na, na_result=True)
                failing[check.key] = failing.get(check.key, False) | ~passed.astype(bool)
        for check in self.checks:
            passed = np.asarray(check.fn(frame), dtype=bool)
            failing[check.key] = failing.get(check.key, False) | ~passed
        return failing


def distinct_map(
    values: np.ndarray | pd.Series, fn: Callable[[object], object], skip_na: bool = False, na_result: object = None
) -> np.ndarray:
    """``fn`` applied to each cell, computed once per distinct cell (an object array in the cells' order).

    Cells are told apart by type as well as value (``1``, ``1.0`` and ``True`` are three cells: an
    Excel column can hold all three, and the parsers treat them differently). ``skip_na``: empty
    cells (None, NaN) get ``na_result`` without a call.
    """
    values = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    out = np.empty(len(values), dtype=object)
    if not len(values):
        return out
    na = pd.isna(values)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        # Text cells only (every CSV): pandas hashes them in C.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        results = np.empty(len(uniques) + 1, dtype=object)
        for position, unique in enumerate(uniques):
            results[position] = fn(unique)
        results[-1] = na_result if skip_na else None
        out[:] = results[codes]
        if not skip_na and na.any():
            for position in np.flatnonzero(na):
                out[position] = fn(values[position])
        return out
    memo: dict[tuple[type, object], object] = {}
    for position, value in enumerate(values):
        if na[position]:
            out[position] = na_result if skip_na else fn(value)
            continue
        key = (type(value), value)
        if key not in memo:
            memo[key] = fn(value)
        out[position] = memo[key]
    return out


class ColumnCache:
    """What the checks of one schema derive from a column (numbers, measures...), computed once per table.

    The checks across columns of a table need the same parsed columns again and again; the cache
    holds them for the last table seen (it keeps that table alive, and forgets it for the next).
    """

    def __init__(self) -> None:
        self._frame: pd.DataFrame | None = None
        self._values: dict[tuple[str, Callable], np.ndarray] = {}

    def get(self, frame: pd.DataFrame, column: str, fn: Callable[[object], object]) -> np.ndarray:
        """``fn`` of each cell of ``frame[column]`` (see :func:`distinct_map`)."""
        if frame is not self._frame:
            self._frame, self._values = frame, {}
        key = (column, fn)
        if key not in self._values:
            self._values[key] = distinct_map(frame[column], fn)
        return self._values[key]


def mapped(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """``series.map(fn)`` computed once per distinct cell (see :func:`distinct_map`)."""
    return pd.Series(distinct_map(series, fn), index=series.index, dtype=object)


def _is_number(value: object) -> bool:
    try:
        parse_number(value)
    except ValueError:
        return False
    return True


def _number_or_nan(value: object) -> float:
    try:
        number = parse_number(value)
    except ValueError:
        return math.nan
    return math.nan if number is None else number


def _is_year(value: object) -> bool:
    try:
        _parse_year(value)
    except ValueError:
        return False
    return True


#: check key -> (column reported, message, fix). ``{years}`` and friends are filled in.
_MESSAGES: dict[str, tuple[str | None, str, str]] = {
    "not_a_year": ("year", "is not a year", "write the year with 4 digits, e.g. 2019"),
    "year_outside_plan": ("year", "is outside the plan's horizon", "use a year from 2018 to 2021"),
    "not_a_number": (
        "value",
        "is not a number",
        "use digits, decimal comma allowed, e.g. 1 250,5; write 1250 or 1,25 rather than 1.250",
    ),
}


def _valid(parser: Callable[[object], object]) -> Callable[[object], bool]:
    """An element-wise check from a parser: True when the parser accepts the cell."""

    def check(value: object) -> bool:
        try:
            parser(value)
        except ValueError:
            return False
        return True

    return check


def _or_text(parser: Callable[[object], object], value: object) -> object:
    """The parsed value, or the cell's text when the parser refuses it (for keys of bad rows)."""
    try:
        return parser(value)
    except ValueError:
        return str(value).strip()


def _check(fn: Callable, key: str, element_wise: bool = True, ignore_na: bool = True) -> Check:
    """A check whose key names its message in :data:`_MESSAGES` (element-wise by default)."""
    return Check(fn, key, element_wise, ignore_na)


def _non_negative(value: object) -> bool:
    """True for a number 0 or more, and for a cell that is not a number (reported by another check)."""
    number = _number_or_nan(value)
    return math.isnan(number) or number >= 0


def _year_or_none(value: object) -> int | None:
    try:
        return _parse_year(value)
    except ValueError:
        return None


def _suggest(value: object, choices: Iterable[str]) -> str:
    text = str(value).strip()
    choices = list(choices)
    prefix = text.rsplit(".", 1)[0] + "." if "." in text else None
    siblings = [c for c in choices if prefix and c.startswith(prefix)]
    if siblings:
        return f"sheet {prefix[:-1]} has the indicators {', '.join(siblings)}"
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else "see the codes with 'evaluation plan'"


def _closest_code(text: str, names: dict[str, str]) -> str | None:
    """The code of ``names`` (code -> name) closest to ``text``, by code (any case) or else by name; None if none is close."""
    close = difflib.get_close_matches(text.upper(), list(names), n=1, cutoff=0.6)
    if not close:
        by_name = {_fold(name): code for code, name in names.items()}
        match = difflib.get_close_matches(_fold(text), list(by_name), n=1, cutoff=0.6)
        close = [by_name[match[0]]] if match else []
    return close[0] if close else None


def _run_schema(
    schema: Schema,
    table: RawTable,
    choices: Iterable[str],
    suggest: Callable[[str, object], str] | None = None,
    duplicate_keys: Callable[[pd.DataFrame], pd.Series] | None = None,
    details: Callable[[str, int, object], dict[str, str]] | None = None,
    masked: Collection[str] = (),
) -> list[Problem]:
    """Problems of one table, sorted by line, one per failing (line, check). ``suggest(check key,
    value)`` replaces the suggestion among ``choices`` of an ``unknown_`` check; ``duplicate_keys``
    gives each row's key, for a ``duplicate_`` check to name the first line with that key (required
    when the schema has one); ``details(check key, line, value)`` gives more fields for the message
    and hint; the value of a column of ``masked`` (a person key) is never copied into a problem:
    :data:`MASKED` stands for it.

    Whole-column work: the messages' fields are filled per problem, but a suggestion is computed
    once per distinct value and the first line of a duplicate from one grouping of the keys.
    """
    frame = table.frame
    failing = {key: bad for key, bad in schema.failures(frame).items() if bad.any()}
    if not failing:
        return []
    unknown = [key for key in failing if key not in _MESSAGES]
    if unknown:  # a programming error: a check without a message would pass in silence
        raise KeyError(f"checks without a message in _MESSAGES: {', '.join(unknown)}")
    lines = frame.index.to_numpy()
    first_line = None
    if any(key.startswith("duplicate_") for key in failing):
        if duplicate_keys is None:
            raise ValueError("a duplicate check needs the rows' keys (duplicate_keys)")
        keys = np.asarray(duplicate_keys(frame), dtype=object)
        codes, _uniques = pd.factorize(keys)
        firsts = pd.Series(lines).groupby(codes, sort=False).transform("first").to_numpy()
        first_line = firsts
    choices = list(choices)
    suggestions: dict[tuple[str, type, object], str] = {}

    def suggestion(key: str, value: object) -> str:
        memo = (key, type(value), value)
        if memo not in suggestions:
            suggestions[memo] = suggest(key, value) if suggest else _suggest(value, choices)
        return suggestions[memo]

    def ratio(position: int) -> str:
        num = _number_or_nan(frame["numerator"].iat[position])
        den = _number_or_nan(frame["denominator"].iat[position])
        return f"{100 * num / den:.2f}".replace(".", ",")

    problems = []
    for key, bad in failing.items():
        column, message, hint = _MESSAGES[key]
        positions = np.flatnonzero(bad).tolist()
        values = (
            frame[column].to_numpy(dtype=object)[positions]
            if column in frame.columns
            else np.full(len(positions), None, dtype=object)
        )
        shown = [(MASKED if not _blank(v) else None) for v in values] if column in masked else list(values)
        # Only the fields the message and hint name are computed, row by row.
        fields = {name for name in ("suggestion", "first", "ratio") if "{" + name + "}" in message + hint}
        for position, value, show in zip(positions, values, shown, strict=True):
            line = int(lines[position])
            if not fields and details is None:
                problems.append(Problem(table.path, line, column, show, message, hint))
                continue
            extra = {"suggestion": "", "first": "", "ratio": ""}
            if "suggestion" in fields and key.startswith("unknown_"):
                extra["suggestion"] = suggestion(key, value)
            if "first" in fields and first_line is not None:
                extra["first"] = str(int(first_line[position]))
            if "ratio" in fields:
                extra["ratio"] = ratio(position)
            if details is not None:
                extra.update(details(key, line, value))
            problems.append(Problem(table.path, line, column, show, message.format(**extra), hint.format(**extra)))
    problems.sort(key=lambda p: (p.line or 0, p.column or ""))
    return problems


# --------------------------------------------------------------------------------------------------
# Typed tables


def _input_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The CSV and XLSX files of an input folder, and a problem for each entry that is not read.

    Symbolic links are never followed, to a file or a folder alike (a link could publish any file
    of the machine, e.g. ``/etc/passwd``, in a report): each is an unreadable input, named by the
    link, never by its target. The input folder itself must be a real folder: a file with the
    folder's name would otherwise give no rows in silence. A missing folder is no problem (not
    every dataset has every kind of input).
    """
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return [], []
    except OSError as err:
        return [], [_cannot_open(folder, err)]
    if stat.S_ISLNK(info.st_mode):
        return [], [
            Problem(
                folder,
                None,
                None,
                None,
                "is a symbolic link: input folders are not followed, nothing in it is read",
                "put a real folder with the files in its place",
                fatal=True,
            )
        ]
    if not stat.S_ISDIR(info.st_mode):
        return [], [
            Problem(
                folder,
                None,
                None,
                None,
                "is a file, not a folder: no input is read from it",
                f"make '{folder.name}' a folder and put the CSV or Excel files in it",
                fatal=True,
            )
        ]
    files: list[Path] = []
    problems: list[Problem] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        return [], [_cannot_open(folder, err)]
    for entry in entries:
        if entry.name.startswith(("~$", ".")):
            continue
        path = folder / entry.name
        if entry.is_symlink():
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    None,
                    "is a symbolic link: links are not followed, the file it points to is not read",
                    "copy the file itself into the folder",
                    fatal=True,
                )
            )
        elif entry.is_file(follow_symlinks=False) and path.suffix.lower() in (".csv", ".xlsx"):
            files.append(path)
    return files, problems


def _files(folder: Path) -> list[Path]:
    """The CSV and XLSX files of an input folder that are read (see :func:`_input_files`)."""
    return _input_files(folder)[0]


def _cannot_open(path: Path, err: OSError) -> Problem:
    return Problem(
        path, None, None, None, f"cannot be opened ({err.strerror})", "check the file's permissions", fatal=True
    )


def _cross_file_duplicates(
    frame: pd.DataFrame, keys: list[str], folder: Path, what: str
) -> tuple[list[Problem], set[tuple]]:
    """Keys given in two files: a problem at each later place, and the keys, whose rows are all left out.

    Which of two conflicting values is right cannot be guessed: neither reaches the reports.
    """
    problems = []
    first: dict[tuple, tuple[str, int]] = {}
    conflicting: set[tuple] = set()
    for record in frame.itertuples(index=False):
        key = tuple("" if pd.isna(getattr(record, k)) else getattr(record, k) for k in keys)
        place = (record.file, record.line)
        if key in first and first[key][0] != record.file:
            other_file, other_line = first[key]
            conflicting.add(key)
            problems.append(
                Problem(
                    folder / record.file,
                    record.line,
                    keys[0],
                    " / ".join(str(k) for k in key if k != ""),
                    f"is also given in {other_file}, line {other_line}; both rows are left out",
                    f"keep the {what} in one file only",
                )
            )
        first.setdefault(key, place)
    return problems, conflicting


def _checked_tables(
    folder: Path, spec: TableSpec, check: Callable[[RawTable], list[Problem]], limits: Limits | None = None
) -> tuple[list[RawTable], list[Problem]]:
    """Every file of ``folder`` read and checked; each table keeps only its rows without a problem."""
    files, problems = _input_files(folder)
    tables = []
    for path in files:
        table, read_problems = read_raw(path, spec, limits=limits or DEFAULT_LIMITS)
        problems += read_problems
        if table is None:
            continue
        file_problems = check(table)
        problems += file_problems
        bad_lines = [p.line for p in file_problems]
        tables.append(RawTable(table.path, table.frame.loc[~table.frame.index.isin(bad_lines)]))
    return tables, problems


# --------------------------------------------------------------------------------------------------
# Dates


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
_SERIAL_TEXT = re.compile(r"\d{5}(?:[.,]\d+)?")
#: Day 0 of Excel's two date systems (the 1900 one counts the fictitious 1900-02-29, hence the 30th).
_EXCEL_EPOCHS = ((1900, date(1899, 12, 30)), (1904, date(1904, 1, 1)))


class _DateError(ValueError):
    """A cell that is not a date; ``kind`` is ``dmy`` (``31/12/2020``), ``serial`` (``44196``) or ``bad``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def parse_date(value: object) -> date | None:
    """A date from a cell: ISO text ``2020-12-31`` or a real Excel date cell; blank -> None.

    Raises ``ValueError`` for anything else, in particular ``31/12/2020`` (day/month/year and
    month/day/year cannot be told apart: ``01/02/2020``) and bare numbers such as ``44196`` (an
    Excel serial: its date depends on the workbook's 1900 or 1904 date system, which a CSV export
    or a number cell no longer tells).
    """
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _DateError("bad")
    if isinstance(value, int | float):
        raise _DateError("serial")
    text = str(value).strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError as err:
            raise _DateError("bad") from err
    if _DMY_DATE.fullmatch(text):
        raise _DateError("dmy")
    if _SERIAL_TEXT.fullmatch(text):
        raise _DateError("serial")
    raise _DateError("bad")


@functools.lru_cache(maxsize=65_536)
def _date_cell(value: object) -> tuple[date | None, str | None]:
    """``(date, None)`` for a date or a blank cell (date None), ``(None, kind)`` for a bad one; cached
    because every check of a file reads the same dates."""
    try:
        return parse_date(value), None
    except _DateError as err:
        return None, err.kind


def _date_kind(value: object) -> str | None:
    """None for a date or a blank cell, else the kind of :class:`_DateError`."""
    return _date_cell(value)[1]


def _date_or_none(value: object) -> date | None:
    return _date_cell(value)[0]


def _dmy_hint(value: object) -> str:
    """``2020-12-31 if it is day/month/year`` for ``31/12/2020``, else an example."""
    match = _DMY_DATE.fullmatch(str(value).strip())
    if match and len(match.group(3)) == 4:
        try:
            day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            pass
        else:
            return f"{day.isoformat()} if it is day/month/year"
    return "e.g. 2020-12-31"


def _serial_hint(value: object) -> str:
    """What an Excel serial would be in each date system: the file cannot tell which one holds."""
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return ""
    if not 61 <= number < 2_958_466:
        return ""
    days = timedelta(days=int(number))
    text = ", ".join(f"{(epoch + days).isoformat()} in the {system} date system" for system, epoch in _EXCEL_EPOCHS)
    return f"; as a serial it would be {text}"
