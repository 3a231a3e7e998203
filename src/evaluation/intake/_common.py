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
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from evaluation.errors import EvaluationError, _display_path

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


def _csv_rows(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, list[str]]]:
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
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    # Checked on the raw line, before the csv module splits it: a line of 10 million separators
    # would otherwise become 10 million cells (a quoted separator counts here too: a bound).
    if first.count(delimiter) >= limits.max_columns:
        line = text[: text.find(first)].count("\n") + 1
        raise _Unreadable(
            f"has more than {limits.max_columns} cells on this line", _limit_hint("max_columns"), line=line
        )
    try:
        return _parse_csv(text, delimiter, limits, strict=True)
    except _OpenQuote as err:
        raise _Unreadable(
            'opens a quote (") that is never closed: every later line would be read into one cell',
            "close the quote, or remove it",
            line=err.line,
        ) from None
    except csv.Error:
        pass  # a stray quote inside a cell ('"abc"d'): read as the spreadsheet programs do
    return _parse_csv(text, delimiter, limits, strict=False)


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


def _xlsx_rows(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, list[object]]]:
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
            return rows
        finally:
            book.close()


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
        rows = _xlsx_rows(path, limits) if path.suffix.lower() == ".xlsx" else _csv_rows(path, limits)
    except _Unreadable as err:
        return None, [Problem(path, err.line, None, None, str(err), err.hint, fatal=True)]
    except OSError as err:
        return None, [_cannot_open(path, err)]
    rows = [(line, cells) for line, cells in rows if not all(_blank(c) for c in cells)]
    if not rows:
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
    header_line, header = rows[0]
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
    for line, cells in rows[1:]:
        extra = [c for c in cells[width:] if not _blank(c)]
        if extra:
            problems.append(
                Problem(
                    path,
                    line,
                    None,
                    None if private else ", ".join(str(c) for c in extra),
                    f"has {len(extra)} cell(s) more than the header",
                    "a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number",
                )
            )
    records = {
        line: {name: (cells[pos] if pos < len(cells) else None) for pos, name in columns.items()}
        for line, cells in rows[1:]
        if not any(not _blank(c) for c in cells[width:])
    }
    frame = pd.DataFrame.from_dict(
        records, orient="index", columns=[n for n in columns.values() if n not in spec.ignored], dtype=object
    )
    for name in spec.required + spec.optional:
        if name not in frame.columns:
            frame[name] = None
    if frame.empty:
        problems.append(Problem(path, None, None, None, "has a header but no data", "fill it or remove it"))
        return None, problems
    frame.index.name = "line"
    return RawTable(path, frame, tuple(columns.values())), problems


# --------------------------------------------------------------------------------------------------
# Schemas (pandera, lazy): every check has a key, rendered as a message and a fix below.


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


def _check(fn: Callable, key: str, element_wise: bool = True, ignore_na: bool = True):  # noqa: ANN202
    """A pandera check whose error is the key of :data:`_MESSAGES` (element-wise by default)."""
    import pandera.pandas as pa

    return pa.Check(fn, error=key, element_wise=element_wise, ignore_na=ignore_na)


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


def _run_schema(  # noqa: ANN001
    schema,
    table: RawTable,
    choices: Iterable[str],
    suggest: Callable[[str, object], str] | None = None,
    duplicate_keys: Callable[[pd.DataFrame], pd.Series] | None = None,
    details: Callable[[str, int, object], dict[str, str]] | None = None,
    masked: Collection[str] = (),
) -> list[Problem]:
    """Problems of one table, sorted by line. ``suggest(check key, value)`` replaces the suggestion
    among ``choices`` of an ``unknown_`` check; ``duplicate_keys`` gives each row's key when a
    duplicate's first line must be found on canonical values rather than on the cells' text;
    ``details(check key, line, value)`` gives more fields for the message and hint; the value of a
    column of ``masked`` (a person key) is never copied into a problem: :data:`MASKED` stands for it."""
    import pandera.pandas as pa

    try:
        schema.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    problems = []
    seen: set[tuple[int, str]] = set()
    choices = list(choices)
    keys = duplicate_keys(table.frame) if duplicate_keys is not None else None
    for case in cases.itertuples(index=False):
        key = str(case.check)
        line = case.index
        if key not in _MESSAGES or line is None or (line, key) in seen:
            continue
        seen.add((line, key))
        column, message, hint = _MESSAGES[key]
        value = table.frame.at[line, column] if column in table.frame.columns else None
        if column in masked:
            value = MASKED if not _blank(value) else None
        extra = {"suggestion": "", "first": "", "ratio": ""}
        if key.startswith("unknown_"):
            extra["suggestion"] = suggest(key, value) if suggest else _suggest(value, choices)
        if key.startswith("duplicate_") and keys is not None:
            extra["first"] = str(int(keys.index[keys == keys[line]][0]))
        elif key.startswith("duplicate_"):
            extra["first"] = str(_first_duplicate(table.frame, line, key))
        if key == "ratio_mismatch":
            num = _number_or_nan(table.frame.at[line, "numerator"])
            den = _number_or_nan(table.frame.at[line, "denominator"])
            extra["ratio"] = f"{100 * num / den:.2f}".replace(".", ",")
        if details is not None:
            extra.update(details(key, int(line), value))
        problems.append(Problem(table.path, int(line), column, value, message.format(**extra), hint.format(**extra)))
    problems.sort(key=lambda p: (p.line or 0, p.column or ""))
    return problems


def _first_duplicate(frame: pd.DataFrame, line: int, key: str) -> int:
    columns = ["indicator_id", "year"] if key == "duplicate_row" else ["engagement", "year", "funder"]

    def normal(row: int, column: str) -> object:
        value = frame.at[row, column]
        return _year_or_none(value) if column == "year" else _fold(str(value)) if not _blank(value) else ""

    target = tuple(normal(line, c) for c in columns)
    for other in frame.index:
        if tuple(normal(other, c) for c in columns) == target:
            return int(other)
    return line


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
        bad_lines = {p.line for p in file_problems}
        tables.append(RawTable(table.path, table.frame.loc[[i for i in table.frame.index if i not in bad_lines]]))
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
