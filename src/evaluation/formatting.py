"""French typography for reports: ``1 250,5``, ``44 %``, ``210 000 €``, and deterministic HTML tables.

Numbers use a non-breaking space as thousands separator and before ``%`` and ``€`` so that a figure
never breaks across lines. HTML tables are rendered here rather than by pandas' Styler, whose
generated ids change between runs and versions (nbval compares the stored outputs).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is heavy: `evaluation plan` and report kernels should not wait for it here
    import pandas as pd

__all__ = [
    "NBSP",
    "format_number",
    "format_pct",
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
    """``1250.5`` -> ``'1 250,5'``; integers lose their decimals unless ``decimals`` is given."""
    if _missing(value):
        return missing
    number = float(value)  # type: ignore[arg-type]
    if decimals is None:
        decimals = 0 if number.is_integer() else 1
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", NBSP)


def format_pct(value: float | None, decimals: int | None = None, missing: str = "–") -> str:
    """``44`` -> ``'44 %'`` (the value is already in percent)."""
    if _missing(value):
        return missing
    return f"{format_number(value, decimals)}{NBSP}%"


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
