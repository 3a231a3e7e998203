"""What a cell of a partner's file holds: numbers, years, dates, codes folded for matching.

The parsers (:func:`parse_number`, :func:`parse_date`...) turn a cell into a value or raise
``ValueError``; the predicates built on them (``_is_number``, ``_is_year``, :func:`_valid`...) are
the element-wise checks of the schemas (:mod:`evaluation.intake.schema`), and :func:`distinct_map`
runs any of them once per distinct cell of a column. Kept apart from the readers and the schema
runner: every kind of input parses its cells with these, and they depend on nothing of the intake.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------------
# Numbers, years and text


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


def _blank(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )


def _integer_text(value: object) -> str:
    """A cell as text, a whole number read from a workbook (``9.0``) without its decimals."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------------------------------
# Element-wise checks


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


def _non_negative(value: object) -> bool:
    """True for a number 0 or more, and for a cell that is not a number (reported by another check)."""
    number = _number_or_nan(value)
    return math.isnan(number) or number >= 0


def _year_or_none(value: object) -> int | None:
    try:
        return _parse_year(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# Whole columns


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


def mapped(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """``series.map(fn)`` computed once per distinct cell (see :func:`distinct_map`)."""
    return pd.Series(distinct_map(series, fn), index=series.index, dtype=object)


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


def _dmy_date(value: object) -> date | None:
    """The date ``31/12/2020`` would be if it is day/month/year (None if it cannot be one)."""
    match = _DMY_DATE.fullmatch(str(value).strip())
    if match and len(match.group(3)) == 4:
        try:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            return None
    return None


def _dmy_hint(value: object) -> str:
    """``2020-12-31 if it is day/month/year`` for ``31/12/2020``, else an example."""
    day = _dmy_date(value)
    return f"{day.isoformat()} if it is day/month/year" if day else "e.g. 2020-12-31"


def _dmy_hint_fr(value: object) -> str:
    """:func:`_dmy_hint` in French."""
    day = _dmy_date(value)
    return f"{day.isoformat()} s'il s'agit de jour/mois/année" if day else "par exemple 2020-12-31"


def _serial_dates(value: object) -> list[tuple[int, date]]:
    """``(date system, date)`` of an Excel serial in each date system (none when it is not a serial)."""
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return []
    if not 61 <= number < 2_958_466:
        return []
    days = timedelta(days=int(number))
    return [(system, epoch + days) for system, epoch in _EXCEL_EPOCHS]


def _serial_hint(value: object) -> str:
    """What an Excel serial would be in each date system: the file cannot tell which one holds."""
    dates = _serial_dates(value)
    if not dates:
        return ""
    text = ", ".join(f"{day.isoformat()} in the {system} date system" for system, day in dates)
    return f"; as a serial it would be {text}"


def _serial_hint_fr(value: object) -> str:
    """:func:`_serial_hint` in French."""
    dates = _serial_dates(value)
    if not dates:
        return ""
    text = ", ".join(f"le {day.isoformat()} dans le système de dates {system}" for system, day in dates)
    return f" ; comme numéro de série, ce serait {text}"
