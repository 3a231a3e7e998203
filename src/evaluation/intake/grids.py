"""A CSV or Excel file's cells as a grid, read as hostile input and held to the limits.

Before anything is parsed: no symbolic link is followed, the size (and an ``.xlsx``'s unzipped
size and row count) is checked against :class:`evaluation.io.Limits`; a CSV's text encoding
(UTF-8 or Windows-1252, never both) and separator are found, quotes opened and never closed are
reported at their line. A file that cannot be read raises :class:`_Unreadable` (message, hint,
line, and the French of the message and hint), which the callers turn into a fatal problem. Apart
from the header logic (:mod:`evaluation.intake.raw_tables`): this module knows nothing of columns.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.formatting import format_number
from evaluation.intake.cells import _blank
from evaluation.io import Limits

#: The limits when ``dataset.yaml`` sets none.
DEFAULT_LIMITS = Limits()


class _Unreadable(Exception):
    def __init__(self, message: str, hint: str, line: int | None = None, *, message_fr: str, hint_fr: str) -> None:
        super().__init__(message)
        self.hint = hint
        self.line = line
        self.message_fr = message_fr
        self.hint_fr = hint_fr


def _limit_hint(key: str) -> str:
    return f"split the file, or raise '{key}' under 'limits:' in dataset.yaml if the file is right"


def _limit_hint_fr(key: str) -> str:
    return f"découper le fichier, ou relever « {key} » sous « limits: » dans dataset.yaml si le fichier est correct"


def _over_limit(message: str, message_fr: str, key: str, line: int | None = None) -> _Unreadable:
    """A file over one of the limits of :class:`evaluation.io.Limits` (``key``)."""
    return _Unreadable(message, _limit_hint(key), line, message_fr=message_fr, hint_fr=_limit_hint_fr(key))


def _symbolic_link() -> _Unreadable:
    return _Unreadable(
        "is a symbolic link: links are not followed",
        "copy the file itself into the folder",
        message_fr="est un lien symbolique : les liens ne sont pas suivis",
        hint_fr="copier le fichier lui-même dans le dossier",
    )


# --------------------------------------------------------------------------------------------------
# CSV


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
                message_fr=f"mélange deux encodages de texte : cette ligne n'est pas en UTF-8, la ligne {good} l'est",
                hint_fr="enregistrer à nouveau tout le fichier en UTF-8 (CSV UTF-8 dans Excel)",
            ) from err
        return body.decode("cp1252")


def _open_input(path: Path, limits: Limits) -> io.BufferedReader:
    """``path`` opened for reading without following a symbolic link, after the size check."""
    if path.is_symlink():  # O_NOFOLLOW below closes the race where the platform has it
        raise _symbolic_link()
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _symbolic_link() from err
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # a folder, a device...: checked before fdopen, which refuses a folder
        os.close(fd)
        raise _Unreadable(
            "is not a regular file",
            "put a CSV or Excel file in its place",
            message_fr="n'est pas un fichier ordinaire",
            hint_fr="mettre à sa place un fichier CSV ou Excel",
        )
    handle = os.fdopen(fd, "rb")
    if info.st_size > limits.max_file_mb * 1_000_000:
        handle.close()
        size = f"{info.st_size / 1_000_000:.0f}"
        raise _over_limit(
            f"is {size} MB, over the limit of {limits.max_file_mb} MB",
            f"fait {size} Mo, au-delà de la limite de {limits.max_file_mb} Mo",
            "max_file_mb",
        )
    return handle


def _check_cells(line: int, cells: Sequence[object], limits: Limits) -> None:
    if len(cells) > limits.max_columns and any(not _blank(c) for c in cells[limits.max_columns :]):
        raise _too_many_cells(limits, line)
    for cell in cells:
        if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
            raise _over_limit(
                f"has a cell of {len(cell)} characters, over the limit of {limits.max_cell_chars}",
                f"a une cellule de {format_number(len(cell))} caractères, au-delà de la limite de {format_number(limits.max_cell_chars)}",
                "max_cell_chars",
                line,
            )


def _too_many_cells(limits: Limits, line: int) -> _Unreadable:
    return _over_limit(
        f"has more than {limits.max_columns} cells on this line",
        f"a plus de {format_number(limits.max_columns)} cellules sur cette ligne",
        "max_columns",
        line,
    )


def _too_many_rows(limits: Limits, line: int | None = None) -> _Unreadable:
    return _over_limit(
        f"has more than {limits.max_rows} lines", f"a plus de {format_number(limits.max_rows)} lignes", "max_rows", line
    )


def _csv_grid(path: Path, limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The cells of a CSV file as a grid (see :func:`_grid`), after the limits' checks."""
    with _open_input(path, limits) as handle:
        data = handle.read()
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise _Unreadable(
            "is not a text CSV file (an Excel workbook must be named .xlsx)",
            "save it as CSV or rename it .xlsx",
            message_fr="n'est pas un fichier CSV texte (un classeur Excel doit être nommé .xlsx)",
            hint_fr="l'enregistrer en CSV ou le renommer en .xlsx",
        )
    if data.count(b"\n") > limits.max_rows:
        raise _too_many_rows(limits)
    try:
        text = _decode(data)
    except UnicodeDecodeError as err:
        raise _Unreadable(
            f"has an unknown text encoding ({err.reason})",
            "save it as UTF-8 or Windows-1252 CSV",
            message_fr="a un encodage de texte inconnu",
            hint_fr="l'enregistrer en CSV UTF-8 ou Windows-1252",
        ) from err
    del data
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    # Checked on the raw line, before any parser splits it: a line of 10 million separators
    # would otherwise become 10 million cells (a quoted separator counts here too: a bound).
    if first.count(delimiter) >= limits.max_columns:
        raise _too_many_cells(limits, text[: text.find(first)].count("\n") + 1)
    if '"' not in text and "\x00" not in text:
        return _unquoted_grid(text, delimiter, limits)
    try:
        return _grid(_parse_csv(text, delimiter, limits, strict=True))
    except _OpenQuote as err:
        raise _Unreadable(
            'opens a quote (") that is never closed: every later line would be read into one cell',
            "close the quote, or remove it",
            line=err.line,
            message_fr='ouvre un guillemet (") jamais fermé : toutes les lignes suivantes seraient lues dans une seule cellule',
            hint_fr="fermer le guillemet, ou le supprimer",
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
            raise _too_many_cells(limits, int(position) + 1)
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
        raise _Unreadable(
            "could not be split into its lines",
            "save it again as CSV",
            message_fr="n'a pas pu être découpé en lignes",
            hint_fr="l'enregistrer à nouveau en CSV",
        )
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
            raise _over_limit(
                f"has a cell over the limit of {limits.max_cell_chars} characters",
                f"a une cellule au-delà de la limite de {format_number(limits.max_cell_chars)} caractères",
                "max_cell_chars",
                started,
            ) from err
        if strict:
            raise
        raise _Unreadable(
            f"is not valid CSV ({err})",
            "check the quotes of that line",
            line=started,
            message_fr="n'est pas un CSV valide",
            hint_fr="vérifier les guillemets de cette ligne",
        ) from err
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
                message_fr=f'ouvre un guillemet (") fermé seulement à la ligne {ended} : les lignes entre les deux '
                "seraient lues dans une seule cellule",
                hint_fr="fermer le guillemet sur sa propre ligne, ou le supprimer",
            )


# --------------------------------------------------------------------------------------------------
# Excel


#: An Excel row element (``<row ...>``, with or without a namespace prefix).
_XLSX_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _check_workbook_zip(handle: io.BufferedReader, limits: Limits) -> None:
    """Refuse a workbook from its zip directory before openpyxl parses it: the sheets' unzipped size
    (as declared: zipfile never inflates a member beyond it) and, streamed, the number of rows."""
    with zipfile.ZipFile(handle) as archive:
        members = [m for m in archive.infolist() if m.filename.lower().endswith(".xml")]
        total = sum(m.file_size for m in members)
        if total > limits.max_file_mb * 1_000_000:
            size = f"{total / 1_000_000:.0f}"
            raise _over_limit(
                f"unzips to {size} MB, over the limit of {limits.max_file_mb} MB",
                f"fait {size} Mo une fois décompressé, au-delà de la limite de {limits.max_file_mb} Mo",
                "max_file_mb",
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
                message_fr="n'est pas un classeur Excel lisible",
                hint_fr="l'ouvrir dans Excel et l'enregistrer à nouveau en .xlsx",
            ) from err
        try:
            if "Saisie" in book.sheetnames:
                sheet = book["Saisie"]
            elif len(book.sheetnames) == 1:
                sheet = book.worksheets[0]
            else:
                sheets = ", ".join(book.sheetnames)
                raise _Unreadable(
                    f"has several sheets ({sheets}) and none named 'Saisie'",
                    "name the sheet holding the data 'Saisie', or keep only that sheet",
                    message_fr=f"a plusieurs feuilles ({sheets}) et aucune ne s'appelle « Saisie »",
                    hint_fr="nommer « Saisie » la feuille qui contient les données, ou ne garder que cette feuille",
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
