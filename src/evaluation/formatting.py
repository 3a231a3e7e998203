"""French typography for reports: ``1 250,5``, ``44 %``, ``210 000 €``, and deterministic HTML tables.

Numbers use a non-breaking space as thousands separator and before ``%`` and ``€`` so that a figure
never breaks across lines; a figure that rounds to zero carries no sign (``0,0``, never ``-0,0``).
Counted nouns agree with their number (:func:`format_count`: ``1 personne``, ``0 case``, ``3 cases``:
French puts 0 and 1 in the singular), ordinals are written ``1er``, ``2e`` (:func:`format_ordinal`),
and names sort as a French reader expects (:func:`sort_key_fr`: accents and case do not decide the
order). HTML tables are rendered here rather than by pandas' Styler, whose generated ids change
between runs and versions (nbval compares the stored outputs).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is heavy: `evaluation plan` and report kernels should not wait for it here
    import pandas as pd

__all__ = [
    "NBSP",
    "format_number",
    "format_change",
    "format_pct",
    "format_count",
    "plural",
    "format_ordinal",
    "sort_key_fr",
    "format_eur",
    "format_date",
    "format_period",
    "html_table",
    "html_list",
]

NBSP = "\u00a0"

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: float | None, decimals: int | None = None, missing: str = "–") -> str:
    """``1250.5`` -> ``'1 250,5'``; integers lose their decimals unless ``decimals`` is given.

    A value that rounds to zero is written without a sign: ``-0.04`` -> ``'0,0'`` with one decimal.
    """
    if _missing(value):
        return missing
    number = float(value)  # type: ignore[arg-type]
    if decimals is None:
        decimals = 0 if number.is_integer() else 1
    text = f"{number:,.{decimals}f}"
    if text.startswith("-") and not text.strip("-0.,"):  # "-0", "-0.0": a negative zero after rounding
        text = text[1:]
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", NBSP)


def format_change(value: float | None, decimals: int = 1, missing: str = "–") -> str:
    """A change with its sign: ``1.42`` -> ``'+1,4'``, ``-0.3`` -> ``'-0,3'``; ``0,0`` (no sign) when it rounds to zero."""
    text = format_number(value, decimals, missing)
    if text == missing or text.startswith("-") or not text.strip("0,"):
        return text
    return f"+{text}"


def format_pct(value: float | None, decimals: int | None = None, missing: str = "–") -> str:
    """``44`` -> ``'44 %'`` (the value is already in percent)."""
    if _missing(value):
        return missing
    return f"{format_number(value, decimals)}{NBSP}%"


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """The noun agreeing with ``count``: singular below 2 in absolute value (French: ``0 case``,
    ``1 case``, ``1,5 million``), else ``plural_form`` (default: ``singular + 's'``)."""
    if abs(count) < 2:
        return singular
    return plural_form if plural_form is not None else f"{singular}s"


def format_count(count: float, singular: str, plural_form: str | None = None) -> str:
    """``format_count(1, 'personne')`` -> ``'1 personne'``; ``3`` -> ``'3 personnes'``; ``0`` -> ``'0 personne'``."""
    return f"{format_number(count)}{NBSP}{plural(count, singular, plural_form)}"


def format_ordinal(rank: int) -> str:
    """French ordinal: ``1`` -> ``'1er'``, ``2`` -> ``'2e'``, ``21`` -> ``'21e'``."""
    return "1er" if rank == 1 else f"{rank}e"


def sort_key_fr(text: str) -> tuple[str, str]:
    """Sort key for French names: letters without accents and case first (``Écully`` between ``Croix``
    and ``Faches``), the exact text to break ties; spaces, hyphens and apostrophes are ignored."""
    decomposed = unicodedata.normalize("NFD", text)
    letters = "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and c not in " -'’")
    return letters.casefold(), text


def format_eur(value: float | None, missing: str = "non chiffré") -> str:
    """``210000`` -> ``'210 000 €'``."""
    if _missing(value):
        return missing
    return f"{format_number(value, 0)}{NBSP}€"


def format_date(iso: str | None, missing: str = "non datée") -> str:
    """ISO partial date in French: ``'2018-12'`` -> ``'décembre 2018'``, ``'2018-06-15'`` -> ``'15 juin 2018'``."""
    if not iso:
        return missing
    parts = iso.split("-")
    if len(parts) == 1:
        return parts[0]
    month = _MONTHS[int(parts[1]) - 1]
    if len(parts) == 2:
        return f"{month} {parts[0]}"
    day = int(parts[2])
    return f"{'1er' if day == 1 else day} {month} {parts[0]}"


def format_period(start: str | None, end: str | None = None) -> str:
    """A date or a period in French: ``du 1er juin 2018 au 31 mai 2021``, ``d'avril 2018 à décembre 2019``."""
    if not end:
        return format_date(start)
    first, last = format_date(start), format_date(end)
    if start and start.count("-") == 2:
        return f"du {first} au {last}"
    article = "d'" if first[:1] in "aeiouyéèêàâô" else "de "
    return f"{article}{first} à {last}"


def html_table(frame: pd.DataFrame, *, numeric: Iterable[str] = (), caption: str | None = None) -> str:
    """A plain, escaped HTML table of already formatted cells; ``numeric`` columns align right."""
    right = set(numeric)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            css = ' class="num"' if column in right else ""
            text = "" if _missing(value) else str(value)
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="ev-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def html_list(items: Iterable[str], empty: str = "Non précisé par le plan.") -> str:
    """An escaped bullet list, or a sentence when there is nothing to list."""
    values = [html.escape(i) for i in items]
    if not values:
        return f"<p><em>{html.escape(empty)}</em></p>"
    return "<ul>" + "".join(f"<li>{v}</li>" for v in values) + "</ul>"
