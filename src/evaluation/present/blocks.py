"""The pieces every report shares: HTML blocks, charts sized for print with their text alternative, the
demonstration banner, the run header, the data problems block."""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from evaluation.formatting import (
    NBSP,
    format_count,
)
from evaluation.intake import Problem
from evaluation.io import Dataset


class Html:
    """An HTML fragment for notebooks (rich display) with a short plain-text form."""

    def __init__(self, markup: str, label: str) -> None:
        self.markup = markup
        self.label = label

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return f"[{self.label}]"

    def __str__(self) -> str:
        return self.markup


class Chart:
    """One or several matplotlib figures (the parts of one chart), for notebooks and the HTML reports.

    Each part is embedded as a PNG in an ``<img>`` whose ``alt`` says what it shows (the same text is
    the output's plain-text form, for screen readers and text front-ends), and whose ``width`` is the
    figure's own width at 96 CSS pixels per inch: a figure drawn :data:`CHART_WIDTH_IN` wide with
    fonts of :data:`MIN_FONT_PT` points or more is shown, on screen and on an A4 page, at the size it
    was drawn, so its fonts keep their size. Rendering does not depend on the kernel's backend.
    """

    def __init__(self, figures: Figure | Sequence[Figure], label: str, alt: str | Sequence[str]) -> None:
        self.figures = (figures,) if isinstance(figures, Figure) else tuple(figures)
        self.alts = (alt,) if isinstance(alt, str) else tuple(alt)
        if len(self.alts) != len(self.figures) or not all(a.strip() for a in self.alts):
            raise ValueError(f"{label}: one non-empty text alternative per figure is required")
        self.label = label

    @property
    def figure(self) -> Figure:
        """The first (often the only) figure."""
        return self.figures[0]

    @property
    def alt(self) -> str:
        """The text alternative of the whole chart."""
        return " ".join(self.alts)

    def png(self, index: int = 0) -> bytes:
        buffer = io.BytesIO()
        self.figures[index].savefig(buffer, format="png", dpi=_PNG_DPI, metadata={"Software": None})
        return buffer.getvalue()

    def html(self) -> str:
        images = []
        for index, (figure, alt) in enumerate(zip(self.figures, self.alts, strict=True)):
            width, height = (round(v * _CSS_PX_PER_IN) for v in figure.get_size_inches())
            data = base64.b64encode(self.png(index)).decode("ascii")
            images.append(
                f'<img class="ev-chart-img" src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
                f'width="{width}" height="{height}" style="max-width:100%;height:auto;display:block;margin:0.4em 0">'
            )
        return f'<figure class="ev-chart" style="margin:0.5em 0">{"".join(images)}</figure>'

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": self.alt}

    def __repr__(self) -> str:
        return f"[{self.label}]"


#: Width of the charts: the text width of an A4 page with margins of 2.5 cm (21 - 2 x 2.5 cm).
CHART_WIDTH_IN = 16 / 2.54
#: Smallest font of a chart, in points at the size the chart is shown (see :class:`Chart`).
MIN_FONT_PT = 9
#: Line height of a 9-point label, in inches (1.25 times the font size).
_LINE_IN = MIN_FONT_PT * 1.25 / 72
_CSS_PX_PER_IN = 96
#: Rendering resolution: sharp on screens and on paper; the display size is set by the ``<img>`` width.
_PNG_DPI = 150


def wrap(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, cut between words only: nothing is shortened.

    French quotation marks stay with the words they enclose.
    """
    text = text.replace("« ", f"«{NBSP}").replace(" »", f"{NBSP}»")
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def chars_per_line(width_in: float, size_pt: float = MIN_FONT_PT) -> int:
    """How many characters of ``size_pt`` text fit on ``width_in`` inches (0.58 em per character: a
    margin over DejaVu Sans' average, so that wrapped text stays within its box)."""
    return max(8, int(width_in * 72 / (0.58 * size_pt)))


def _year_ticks(axes: Axes, years: Sequence[int], *, most: int = 6) -> None:
    """Years on the x axis, as integers; every other year when there are more than ``most``, the last one kept."""
    shown = list(years)
    if len(shown) > most:
        shown = shown[::-2][::-1]
    axes.set_xticks(shown, [str(y) for y in shown])
    axes.set_xlim(min(years) - 0.4, max(years) + 0.4)


def warm_up() -> None:
    """Do once what the first chart of a process does: import seaborn (scipy.stats with it) and
    render a PNG (matplotlib's font cache and Agg renderer). No global state is changed.

    ``evaluation run`` calls it in each kernel at start-up, while the kernel waits for the inputs
    to be checked, so that the first report of a kernel does not pay for it.
    """
    import seaborn  # noqa: F401

    figure = Figure(figsize=(1, 1), dpi=40)
    figure.subplots().set_title("Écart 1 250,5 %", fontsize=8)
    Chart(figure, "préchauffage", "préchauffage").png()


_STYLE = (
    "<style>"
    "table.ev-table{border-collapse:collapse;margin:0.5em 0;font-size:0.92em}"
    "table.ev-table th,table.ev-table td{border:1px solid #ccc;padding:4px 8px;text-align:left !important;vertical-align:top}"
    "table.ev-table th{background:#f0f3f7}table.ev-table td.num{text-align:right !important;white-space:nowrap}"
    "table.ev-table caption{caption-side:top;text-align:left;font-weight:bold;padding:4px 0}"
    ".ev-banner{background:#fff3cd;border:2px solid #d39e00;padding:8px 12px;margin:8px 0;font-weight:bold}"
    ".ev-meta{background:#f6f8fa;border-left:4px solid #2b6cb0;padding:6px 12px;margin:8px 0}"
    "</style>"
)


def demo_banner(dataset: Dataset) -> Html:
    """A visible warning when the dataset is synthetic; an empty block otherwise."""
    if not dataset.demo:
        return Html(_STYLE, "données réelles")
    text = (
        f"Données de démonstration : ce rapport est produit sur le jeu « {html.escape(dataset.name)} », "
        "dont les valeurs de suivi sont synthétiques : elles ne décrivent pas la réalité et ne doivent pas être citées. "
        "Le contenu du plan (engagements, cibles, budgets) est, lui, celui du document adopté."
    )
    return Html(f'{_STYLE}<div class="ev-banner">{text}</div>', "bandeau données de démonstration")


def run_header(parameters: dict[str, object], dataset: Dataset) -> Html:
    """The run's parameters as a readable header."""
    rows = "".join(f"<li><b>{html.escape(k)}</b>{NBSP}: {html.escape(str(v))}</li>" for k, v in parameters.items())
    source = f"<li><b>données</b>{NBSP}: {html.escape(dataset.name)}</li>"
    return Html(f'<div class="ev-meta">Paramètres du rapport<ul>{rows}{source}</ul></div>', "paramètres")


def enumerate_fr(items: Sequence[str]) -> str:
    """``['a', 'b', 'c']`` -> ``'a, b et c'``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def data_problems_block(problems: Iterable[Problem], dataset: Dataset | None = None) -> Html:
    """A warning when rows of the data files were left out; nothing otherwise.

    The first five problems are listed in French (:meth:`Problem.french`), their files named
    relative to the data folder (no local path in a report)."""
    problems = list(problems)
    if not problems:
        return Html("", "aucun problème de données")
    root = dataset.path if dataset is not None else None
    shown = "".join(f"<li>{html.escape(p.french(root))}</li>" for p in problems[:5])
    others = len(problems) - 5
    more = f"<li>… et {format_count(others, 'autre')}</li>" if others > 0 else ""
    return Html(
        f'<div class="ev-banner">Attention : {format_count(len(problems), "problème")} dans les fichiers de données ; '
        f"les lignes concernées sont écartées de ce rapport.<ul>{shown}{more}</ul></div>",
        "problèmes de données",
    )
