"""Report-ready views of the referential, in French: the blocks the notebooks display.

Each function takes library records and returns either a :class:`pandas.DataFrame` with French
column labels (machine-readable, for export), an :class:`Html` block or a :class:`Chart` (for the
reader). Notebooks call these and display the result; they hold no logic of their own.

**Charts** are drawn at most :data:`CHART_WIDTH_IN` wide (an A4 page's text width) with fonts of
:data:`MIN_FONT_PT` points or more, shown at their drawn size, names and titles in full (wrapped,
never cut), each with a French text alternative saying what it shows.

**Notebook parameters.** The context functions (:func:`engagement_context` and those of
:mod:`evaluation.views_annual`, :mod:`~evaluation.views_cohort`, :mod:`~evaluation.views_synthesis`)
check every parameter: a wrong value raises :class:`~evaluation.errors.UsageError` whose message is
one French line naming the parameter, the value and the accepted values (:func:`parameter_error`);
a name of the parameters cell the notebook does not declare is warned about in the output
(:func:`check_parameter_names`). Imported in a kernel, this module makes IPython show such an error
as that one line, without a traceback, while the cell still fails (papermill and the batch see it).
"""

from __future__ import annotations

import ast
import base64
import difflib
import html
import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable

from evaluation.audit import Finding, audit_plan, findings_for
from evaluation.budget import cost_per_outcome, execution_rate_pct, execution_table, execution_totals
from evaluation.config import PLAN_YEARS
from evaluation.errors import EvaluationError, UsageError, _display_path
from evaluation.formatting import (
    NBSP,
    format_count,
    format_eur,
    format_number,
    format_pct,
    format_period,
    html_list,
    html_table,
)
from evaluation.intake import Problem
from evaluation.io import Dataset, load_dataset
from evaluation.labels import CUMULATION_FR, DIRECTION_FR, MEASURE_FR, glossary_text, target_text, with_unit
from evaluation.monitoring import MonitoringData, load_monitoring_data, on_track_share, status_counts
from evaluation.plan import Cumulation, Engagement, Indicator, Measure, Plan, load_plan
from evaluation.targets import STATUS_FR, Status, expected_value

__all__ = [
    "plan_execution_block",
    "status_counts_block",
    "status_heatmap",
    "monitoring_table_block",
    "realisations_block",
    "realisations_frame",
    "trajectory_chart",
    "execution_block",
    "data_problems_block",
    "EngagementContext",
    "engagement_context",
    "Html",
    "MEASURE_FR",
    "CUMULATION_FR",
    "DIRECTION_FR",
    "demo_banner",
    "run_header",
    "sheet_header",
    "indicators_frame",
    "indicators_block",
    "milestones_block",
    "budget_frame",
    "budget_block",
    "budget_chart",
    "Chart",
    "CHART_WIDTH_IN",
    "MIN_FONT_PT",
    "findings_block",
    "target_text",
    "status_text",
    "progress_text",
    "realised_text",
    "until_year",
    "NOTEBOOK_PARAMETERS",
    "parameter_error",
    "check_parameter_names",
    "unknown_parameters",
    "engagement_parameter",
    "dataset_parameter",
]

SEVERITY_FR = {"error": "incohérence", "warning": "point d'attention"}
CHECK_FR = {
    "financing_vs_total": "Financement et coût global",
    "cofinancing_share": "Parts de co-financement",
    "total_vs_parts": "Total et composantes",
    "announced_count": "Dénombrements annoncés",
    "announced_indicators": "Indicateurs annoncés",
    "priority_order": "Ordre des priorités",
    "title_mismatch": "Intitulés",
}


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


@dataclass(frozen=True)
class EngagementContext:
    """Everything an engagement report shows, checked once from the notebook's parameters."""

    plan: Plan
    sheet: Engagement
    dataset: Dataset
    year: int
    findings: tuple[Finding, ...]
    data: MonitoringData
    gaps: pd.DataFrame

    @property
    def parameters(self) -> dict[str, object]:
        return {"fiche": self.sheet.id, "année": self.year}


def engagement_context(engagement_id: str, year: int, data_dir: str = "") -> EngagementContext:
    """Validate the parameters of ``engagement.ipynb`` and load what the report needs.

    A wrong parameter raises :class:`UsageError` with one French line naming it, the value given and
    the accepted values (:func:`parameter_error`); a name of the parameters cell that the notebook does
    not declare is warned about (:func:`check_parameter_names`). The data stop at ``year``: a report
    of 2019 shows neither the values nor the spending of 2020 and 2021.
    """
    check_parameter_names(("engagement_id", "year", "data_dir"))
    _check_year(year)
    plan = load_plan()
    sheet = engagement_parameter(plan, engagement_id)
    dataset = dataset_parameter(data_dir)
    data = until_year(load_monitoring_data(plan, dataset), year)
    gaps = data.gaps(plan, year)
    return EngagementContext(
        plan,
        sheet,
        dataset,
        year,
        tuple(findings_for(audit_plan(plan), sheet)),
        data,
        gaps[gaps["engagement"] == sheet.id],
    )


def until_year(data: MonitoringData, year: int) -> MonitoringData:
    """The values and spending of the years up to ``year`` only (the report of a year does not see later ones)."""
    return replace(
        data,
        realised=data.realised[data.realised["year"] <= year],
        spending=data.spending[data.spending["year"] <= year],
    )


# --------------------------------------------------------------------------------------------------
# Notebook parameters: a wrong value is one French line, an unknown name a visible warning

#: The parameter names of the report notebooks (their ``parameters`` cells).
NOTEBOOK_PARAMETERS = frozenset(
    {"engagement_id", "year", "data_dir", "comparator", "baseline_year", "programme", "rule", "survey"}
)


def _value_fr(value: object) -> str:
    return f"« {value} »" if isinstance(value, str) else repr(value)


def parameter_error(name: str, value: object, accepted: str, reason: str = "") -> UsageError:
    """The error of a wrong notebook parameter, in one French line: the name, the value given, why, what is accepted.

    ``Paramètre year = 2030 refusé : valeurs acceptées 2018, 2019, 2020, 2021.``
    """
    why = f" ({reason})" if reason else ""
    return UsageError(f"Paramètre {name} = {_value_fr(value)} refusé{why} : valeurs acceptées {accepted}.")


def _check_year(year: object, name: str = "year") -> None:
    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        reason = "" if isinstance(year, int) and not isinstance(year, bool) else "un nombre entier est attendu"
        raise parameter_error(name, year, ", ".join(map(str, PLAN_YEARS)) + " (années du plan)", reason)


def _ids_text(ids: Sequence[str]) -> str:
    """``« 1 » à « 17 », « 4a », « gouvernance »``: the numbered ids as a range when they follow each other."""
    numbers = sorted(int(i) for i in ids if i.isdigit())
    others = [i for i in ids if not i.isdigit()]
    if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        head = [f"« {numbers[0]} » à « {numbers[-1]} »"]
    else:
        head = [f"« {n} »" for n in numbers]
    return ", ".join(head + [f"« {i} »" for i in others])


def engagement_parameter(plan: Plan, engagement_id: object, name: str = "engagement_id") -> Engagement:
    """The sheet named by a notebook parameter, or :func:`parameter_error` with the closest ids."""
    try:
        return plan.engagement(str(engagement_id))
    except UsageError as err:
        ids = [s.id for s in plan.engagements]
        close = difflib.get_close_matches(str(engagement_id).strip().lower(), ids, n=1, cutoff=0.5)
        reason = "ce n'est pas une fiche du plan" + (f" ; la plus proche : « {close[0]} »" if close else "")
        raise parameter_error(name, engagement_id, _ids_text(ids), reason) from err


def dataset_parameter(data_dir: object, name: str = "data_dir") -> Dataset:
    """The dataset of the ``data_dir`` parameter (empty: the embedded demo data)."""
    accepted = "« » (jeu de démonstration) ou un dossier de données contenant dataset.yaml"
    if not isinstance(data_dir, str):
        raise parameter_error(name, data_dir, accepted, "un chemin de dossier, entre guillemets, est attendu")
    if data_dir and not Path(data_dir).is_dir():
        raise parameter_error(name, data_dir, accepted, "dossier introuvable")
    if data_dir and not (Path(data_dir) / "dataset.yaml").is_file():
        raise parameter_error(name, data_dir, accepted, "le dossier n'a pas de fichier dataset.yaml")
    return load_dataset(data_dir or None)


def _assigned_names(source: str) -> list[str] | None:
    """The names a parameters-like cell assigns (only assignments of literal values to names), else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            return None
        try:
            ast.literal_eval(value)
        except ValueError:
            return None
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names or None


def unknown_parameters(history: Sequence[str], expected: Iterable[str]) -> list[str]:
    """Names set by the notebook's parameters cells that are not among ``expected``, in order.

    ``history``: the sources of the cells run so far, oldest first (IPython's ``In`` without the running
    cell). The parameters cells are the latest cell made only of literal assignments that sets one of
    ``expected``, with the cells of that kind run just before and after it (papermill's injected cell
    follows the notebook's own; a typo may sit in a cell of its own). Names starting with ``_`` are ignored.
    """
    wanted = set(expected)
    cells = [_assigned_names(source) for source in history]
    latest = max((i for i, names in enumerate(cells) if names and wanted & set(names)), default=None)
    if latest is None:
        return []
    first = latest
    while first > 0 and cells[first - 1]:
        first -= 1
    last = latest
    while last + 1 < len(cells) and cells[last + 1]:
        last += 1
    names = dict.fromkeys(n for group in cells[first : last + 1] for n in group or ())
    return [n for n in names if n not in wanted and not n.startswith("_")]


def _shell() -> object | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' dependencies
        return None
    return get_ipython()


def check_parameter_names(expected: Sequence[str]) -> list[str]:
    """In a notebook: warn, visibly and in French, about names of the parameters cell the report does not use.

    Papermill and Python accept any name: ``anne = 2019`` (for ``year``) would silently leave the report on
    its default year. The warning names the unknown name, its value, the closest parameter and the value
    the report uses instead. Returns the unknown names; does nothing outside IPython.
    """
    shell = _shell()
    namespace = getattr(shell, "user_ns", None)
    if not isinstance(namespace, dict):
        return []
    history = list(namespace.get("In", []))[:-1]  # the running cell is the last one
    unknown = unknown_parameters(history, expected)
    if unknown:
        from IPython.display import display

        items = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(expected), n=1, cutoff=0.5)
            used = f" ; le rapport utilise {close[0]} = {_value_fr(namespace.get(close[0]))}" if close else ""
            hint = f" : vouliez-vous dire {close[0]}{used} ?" if close else ""
            items.append(
                f"<li>{html.escape(name)} = {html.escape(_value_fr(namespace.get(name)))}{html.escape(hint)}</li>"
            )
        what = (
            "ce nom n'est pas un paramètre de ce rapport, il est ignoré"
            if len(unknown) == 1
            else "ces noms ne sont pas des paramètres de ce rapport, ils sont ignorés"
        )
        display(
            Html(
                f'{_STYLE}<div class="ev-banner" role="alert">Attention : {what} :<ul>{"".join(items)}</ul>'
                f"Paramètres de ce rapport : {html.escape(', '.join(expected))}.</div>",
                "paramètre inconnu",
            )
        )
    return unknown


def _show_user_error(
    shell: object, etype: type, value: BaseException, tb: object, tb_offset: int | None = None
) -> list[str]:
    """IPython's display of a user's mistake: the error's one-line message, no traceback.

    Registered for :class:`~evaluation.errors.EvaluationError` (a wrong parameter, unusable data) and for
    the :class:`NameError` of a notebook parameter (its line deleted or misspelt in the parameters cell).
    The cell still fails: papermill and the batch see an error whose ``ename`` and ``evalue`` are the
    exception's. Any other :class:`NameError` keeps IPython's usual traceback.
    """
    if isinstance(value, NameError) and getattr(value, "name", None) not in NOTEBOOK_PARAMETERS:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)  # type: ignore[attr-defined]
        return []
    if isinstance(value, NameError):
        text = (
            f"Paramètre {value.name} non défini : la cellule des paramètres (la première du carnet) doit le "
            "définir ; exécutez-la d'abord, sans changer le nom du paramètre."
        )
    else:
        text = str(value)
    stb = [f"\x1b[1;31m{text}\x1b[0m"]
    # IPython leaves the display to the handler: this sends the kernel's error message (the cell's error
    # output, its ename and evalue), with this one line as the whole traceback.
    shell._showtraceback(etype, value, stb)  # type: ignore[attr-defined]
    return stb


def _register_error_display() -> None:
    """Make IPython show a user's mistake as :func:`_show_user_error` does, when this runs in a kernel.

    Done when the notebooks import this module (their first code cell), before any parameter is checked.
    """
    shell = _shell()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((EvaluationError, NameError), _show_user_error)


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


def sheet_header(plan: Plan, sheet: Engagement) -> Html:
    """Title, priority, the acronyms the sheet uses spelt out, objectives, public, territories and steering."""
    if sheet.priority is not None:
        priority = plan.priority(sheet.priority)
        place = f"Priorité {priority.id[1:]} : {priority.title}"
    else:
        place = plan.transversal.title
    parent = ""
    if sheet.parent is not None:
        parent_sheet = plan.engagement(sheet.parent)
        parent = f"<p>Fiche rattachée à l'engagement {html.escape(parent_sheet.number or parent_sheet.id)} « {html.escape(parent_sheet.title)} ».</p>"
    pilot = html.escape(sheet.pilot) if sheet.pilot else "<em>non précisé par le plan</em>"
    texts = [
        sheet.title,
        place,
        *sheet.objectives,
        *sheet.target_public,
        *sheet.territories,
        sheet.pilot or "",
        *sheet.partners,
        *(i.label for i in sheet.indicators),
        *(m.label for m in sheet.milestones),
    ]
    glossary = glossary_text(texts, skip=("MEL",))
    glossary = f"<p><em>{html.escape(glossary)}</em></p>" if glossary else ""
    markup = (
        f"<h1>{html.escape(_sheet_name(sheet))}</h1>"
        f"<p><b>{html.escape(place)}</b></p>{parent}{glossary}"
        f"<h2>Objectifs</h2>{html_list(sheet.objectives)}"
        f"<h2>Public et territoires ciblés</h2>{html_list(list(sheet.target_public) + list(sheet.territories))}"
        f"<h2>Pilotage et partenaires</h2><p>{pilot}</p>{html_list(sheet.partners, 'Aucun partenaire nommé par le plan.')}"
    )
    return Html(markup, f"fiche {sheet.id}")


def _sheet_name(sheet: Engagement) -> str:
    if sheet.number is None:
        return sheet.title
    return f"Engagement {sheet.number} : {sheet.title}"


def _deadline_text(ind: Indicator) -> str:
    return str(ind.target.year) if ind.target.year_stated else f"{ind.target.year} (déduite)"


def _baseline_text(ind: Indicator) -> str:
    if ind.baseline is None:
        return "–"
    year = str(ind.baseline.year) if ind.baseline.year is not None else "année non précisée"
    return f"{with_unit(ind.baseline.value, ind)} ({year})"


def indicators_frame(sheet: Engagement) -> pd.DataFrame:
    """One row per expected result: label, kind, baseline, target, deadline, cumulation, plan's words."""
    return pd.DataFrame(
        [
            {
                "Code": ind.id,
                "Résultat attendu": ind.label,
                "Nature": MEASURE_FR[ind.measure],
                "Situation de départ": _baseline_text(ind),
                "Cible": target_text(ind),
                "Échéance": _deadline_text(ind),
                "Mode de calcul": CUMULATION_FR[ind.cumulation],
                "Sens": DIRECTION_FR[ind.direction],
                "Texte du plan": ind.source,
            }
            for ind in sheet.indicators
        ],
        columns=[
            "Code",
            "Résultat attendu",
            "Nature",
            "Situation de départ",
            "Cible",
            "Échéance",
            "Mode de calcul",
            "Sens",
            "Texte du plan",
        ],
    )


def indicators_block(sheet: Engagement) -> Html:
    frame = indicators_frame(sheet)
    if frame.empty:
        return Html("<p><em>Le plan ne fixe aucun résultat attendu pour cette fiche.</em></p>", "indicateurs")
    return Html(html_table(frame, caption=f"Résultats attendus ({len(frame)})"), "indicateurs")


def milestones_block(sheet: Engagement) -> Html:
    """The sheet's calendar, in the plan's order."""
    if not sheet.milestones:
        return Html("<p><em>Le plan ne donne pas de calendrier daté pour cette fiche.</em></p>", "calendrier")
    rows = []
    for m in sheet.milestones:
        rows.append({"Date": format_period(m.date, m.end), "Étape": m.label})
    return Html(html_table(pd.DataFrame(rows), caption="Calendrier"), "calendrier")


def budget_frame(sheet: Engagement) -> pd.DataFrame:
    """MEL financing per year in euros (NaN where the plan gives no figure)."""
    return pd.DataFrame(
        {
            "year": list(sheet.budget.mel_financing_eur),
            "mel_financing_eur": [float("nan") if v is None else v for v in sheet.budget.mel_financing_eur.values()],
        }
    )


def budget_block(sheet: Engagement) -> Html:
    """Total cost, yearly MEL financing, co-financing and other envelopes, with the plan's wording."""
    budget = sheet.budget
    label = budget.mel_financing_label or "Financement MEL"
    rows = [{"Poste": "Coût global estimé de l'action", "Montant": format_eur(budget.total_cost_eur)}]
    for year, value in budget.mel_financing_eur.items():
        rows.append({"Poste": f"{label} {year}", "Montant": format_eur(value)})
    total = budget.mel_financing_sum
    rows.append({"Poste": f"{label} 2018-2021 (somme)", "Montant": format_eur(total)})
    if budget.mel_total is not None:
        share = f" ({format_pct(budget.mel_total.share_pct)})" if budget.mel_total.share_pct is not None else ""
        rows.append({"Poste": f"Part MEL annoncée{share}", "Montant": format_eur(budget.mel_total.amount_eur)})
    for cofin in budget.cofinancing:
        share = f" ({format_pct(cofin.share_pct)})" if cofin.share_pct is not None else ""
        rows.append(
            {
                "Poste": f"Co-financement : {cofin.funder}{share}",
                "Montant": format_eur(cofin.amount_eur, missing="montant non précisé"),
            }
        )
    for envelope in budget.envelopes:
        rows.append({"Poste": envelope.label, "Montant": format_eur(envelope.amount_eur)})
    notes = "".join(f"<p><em>Le plan : « {html.escape(n)} »</em></p>" for n in budget.notes)
    return Html(html_table(pd.DataFrame(rows), numeric=["Montant"], caption="Volet financier") + notes, "budget")


def budget_chart(sheet: Engagement) -> Chart | Html:
    """Bar chart of the MEL financing per year (seaborn); a sentence when the plan gives no figure."""
    import seaborn as sns

    frame = budget_frame(sheet)
    if frame["mel_financing_eur"].isna().all():
        return Html(
            "<p><em>Pas de financement annuel chiffré dans le plan : pas de graphique.</em></p>", "graphique budget"
        )
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.0))
    axes = figure.subplots()
    plotted = frame.fillna({"mel_financing_eur": 0.0})
    sns.barplot(data=plotted, x="year", y="mel_financing_eur", color="#2b6cb0", ax=axes)
    amounts = ["non chiffré" if pd.isna(v) else format_eur(v) for v in frame["mel_financing_eur"]]
    for patch, text in zip(axes.patches, amounts, strict=False):
        axes.annotate(
            text, (patch.get_x() + patch.get_width() / 2, patch.get_height()), ha="center", va="bottom", fontsize=9
        )
    label = sheet.budget.mel_financing_label or "Financement MEL"
    axes.set_xlabel("Année", fontsize=MIN_FONT_PT)
    axes.set_ylabel("Montant (€)", fontsize=MIN_FONT_PT)
    axes.tick_params(labelsize=MIN_FONT_PT)
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
    axes.set_title(wrap(f"{label} par année, selon le plan", chars_per_line(CHART_WIDTH_IN, 10)), fontsize=10)
    axes.margins(y=0.15)
    figure.tight_layout()
    alt = f"{label} prévu par le plan, par année : " + enumerate_fr(
        [f"{amount} en {year}" for amount, year in zip(amounts, frame["year"], strict=True)]
    )
    return Chart(figure, "graphique : financement MEL par année", alt + ".")


def enumerate_fr(items: Sequence[str]) -> str:
    """``['a', 'b', 'c']`` -> ``'a, b et c'``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def findings_block(
    findings: Iterable[Finding], empty: str = "L'audit ne relève aucune incohérence pour cette fiche."
) -> Html:
    """Audit findings as a table: check, nature, message."""
    rows = [
        {
            "Contrôle": CHECK_FR.get(f.check, f.check),
            "Nature": SEVERITY_FR.get(f.severity, f.severity),
            "Constat": f.message,
        }
        for f in findings
    ]
    if not rows:
        return Html(f"<p><em>{html.escape(empty)}</em></p>", "audit")
    return Html(html_table(pd.DataFrame(rows), caption=f"Constats de l'audit du plan ({len(rows)})"), "audit")


# --------------------------------------------------------------------------------------------------
# Monitoring: realised values, target gaps, budget execution


_STATUS_MARK = {"provisional": " (p)", "estimated": " (e)"}


def data_problems_block(problems: Iterable[Problem], dataset: Dataset | None = None) -> Html:
    """A warning when rows of the data files were left out; nothing otherwise. Paths relative to the data folder."""
    problems = list(problems)
    if not problems:
        return Html("", "aucun problème de données")
    root = dataset.path if dataset is not None else None
    shown = "".join(f"<li>{html.escape(_problem_text(p, root))}</li>" for p in problems[:5])
    others = len(problems) - 5
    more = f"<li>… et {format_count(others, 'autre')}</li>" if others > 0 else ""
    return Html(
        f'<div class="ev-banner">Attention : {format_count(len(problems), "problème")} dans les fichiers de données ; '
        f"les lignes concernées sont écartées de ce rapport.<ul>{shown}{more}</ul></div>",
        "problèmes de données",
    )


def _problem_text(problem: Problem, root: Path | None) -> str:
    """The problem's message with its file named relative to the data folder (no local paths in reports)."""
    text = str(problem)
    if root is not None:
        try:
            relative = problem.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = problem.path.name
        text = text.replace(_display_path(problem.path), relative, 1)
    return text


#: The reader's word for a cumulative indicator whose sum misses some years: its sum is shown (a
#: minimum, with ``≥``) but no status can be given (rule 2 of :mod:`evaluation.targets`, status
#: ``no_data``). Calling it « non renseigné » beside a value would contradict the legend.
INCOMPLETE_FR = "incomplet"
#: The heading of the ``no_data`` count, which holds both the missing values and the incomplete sums.
NO_DATA_COUNT_FR = "non renseigné ou incomplet"
_INCOMPLETE_NOTE = (
    "« incomplet » : la valeur d'au moins une année manque ; la somme des années renseignées, précédée de ≥, "
    "est un minimum, qui ne suffit pas à dire si la cible est atteinte ou en bonne voie."
)


def is_lower_bound(ind: Indicator, note: object) -> bool:
    """True when a gap row's realised value is a sum with missing years (a lower bound; rule 2 of
    :mod:`evaluation.targets`, whose note says so)."""
    return ind.cumulation is Cumulation.CUMULATIVE and isinstance(note, str) and "lower bound" in note


def status_text(status: str, realised: float) -> str:
    """The status as the reader sees it: :data:`INCOMPLETE_FR` for a ``no_data`` status beside a value."""
    if status == Status.NO_DATA.value and not pd.isna(realised):
        return INCOMPLETE_FR
    return STATUS_FR[Status(status)]


def progress_text(achievement_pct: float, status: str, lower_bound: bool = False) -> str:
    """Progress toward the target in %, never rounded up to 100 % for a target not met; ``≥`` on a lower bound."""
    if pd.isna(achievement_pct):
        return "–"
    if status != Status.ACHIEVED.value:
        # Float noise first: 59.4 of a 50 -> 60 target is 93.99999999999999 %, which is 94 %, not 93.
        text = format_pct(math.floor(round(achievement_pct, 9)), 0)
    else:
        text = format_pct(achievement_pct, 0)
    return f"≥{NBSP}{text}" if lower_bound else text


def sheet_label(sheet: Engagement) -> str:
    """``'5-A – L'intelligence collective…'``; the transversal sheets by their title alone."""
    return f"{sheet.number} – {sheet.title}" if sheet.number else sheet.title


def realised_text(value: float, ind: Indicator, note: object = None) -> str:
    """The realised value of a gap row: '≥' when it is a lower bound, '(cumul)' for a sum of years."""
    if pd.isna(value):
        return "–"
    text = _value_text(value, ind)
    if is_lower_bound(ind, note):
        text = f"≥{NBSP}{text}"
    if ind.cumulation is Cumulation.CUMULATIVE and ind.measure is not Measure.MILESTONE:
        text += " (cumul)"
    return text


def _value_text(value: float, ind: Indicator) -> str:
    if ind.measure is Measure.MILESTONE:
        return "franchi" if value == 1 else "non franchi"
    return (
        with_unit(value, ind)
        if ind.measure is not Measure.PERCENTAGE
        else format_pct(value, 1 if not float(value).is_integer() else 0)
    )


def _report_years(year: int) -> list[int]:
    return [y for y in PLAN_YEARS if y <= year]


def realisations_frame(ctx: EngagementContext) -> pd.DataFrame:
    """One row per indicator: the values reported each year up to the report's ((p) provisional, (e)
    estimated), the value judged that year (a sum for cumulative indicators, ``≥`` when years are
    missing), the target and the year's progress and status."""
    realised = ctx.data.realised
    gaps = ctx.gaps.set_index("indicator_id")
    rows = []
    for ind in ctx.sheet.indicators:
        mine = realised[realised["indicator_id"] == ind.id].set_index("year")
        row = {"Code": ind.id, "Résultat attendu": ind.label}
        for year in _report_years(ctx.year):
            if year in mine.index and not pd.isna(mine.at[year, "value"]):
                row[str(year)] = _value_text(mine.at[year, "value"], ind) + _STATUS_MARK.get(
                    str(mine.at[year, "status"]), ""
                )
            elif year in mine.index:
                row[str(year)] = "commentaire"
            else:
                row[str(year)] = "–"
        gap = gaps.loc[ind.id]
        lower = is_lower_bound(ind, gap["note"])
        row[f"Réalisé {ctx.year}"] = realised_text(gap["realised"], ind, gap["note"])
        row["Cible"] = target_text(ind) + (f" ({ind.target.year})" if ind.measure is not Measure.QUALITATIVE else "")
        row[f"Progression {ctx.year}"] = progress_text(gap["achievement_pct"], gap["status"], lower)
        row[f"Attendu {ctx.year}"] = "–" if pd.isna(gap["expected"]) else _value_text(gap["expected"], ind)
        row["Statut"] = status_text(gap["status"], gap["realised"])
        rows.append(row)
    return pd.DataFrame(rows)


def _monitoring_notes(frame: pd.DataFrame, texts: Iterable[str]) -> str:
    """The notes under a table of statuses: what « incomplet » means (when shown), the acronyms met."""
    notes = []
    if (frame["Statut"] == INCOMPLETE_FR).any():
        notes.append(_INCOMPLETE_NOTE)
    glossary = glossary_text(texts, skip=("MEL",))
    if glossary:
        notes.append(glossary)
    return "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)


def realisations_block(ctx: EngagementContext) -> Html:
    frame = realisations_frame(ctx)
    comments = ctx.data.realised[
        (ctx.data.realised["engagement"] == ctx.sheet.id) & ctx.data.realised["comment"].notna()
    ]
    notes = "".join(
        f"<li>{html.escape(r.indicator_id)} ({r.year}) : {html.escape(str(r.comment))}</li>"
        for r in comments.itertuples()
    )
    notes = f"<p><b>Commentaires des partenaires</b></p><ul>{notes}</ul>" if notes else ""
    caption = f"Réalisations et situation au regard des cibles en {ctx.year}"
    numeric = [str(y) for y in _report_years(ctx.year)] + [f"Réalisé {ctx.year}", f"Progression {ctx.year}"]
    return Html(
        html_table(frame, numeric=numeric, caption=caption) + _monitoring_notes(frame, []) + notes,
        "réalisations",
    )


def _unit_label(ind: Indicator) -> str:
    if ind.measure is Measure.PERCENTAGE:
        return "%"
    if ind.measure is Measure.AMOUNT:
        return "€"
    unit = ind.unit or "valeur"
    return f"{unit} (cumul)" if ind.cumulation is Cumulation.CUMULATIVE else unit


def _trajectory_sentence(ind: Indicator, values: pd.Series, year: int) -> str:
    """What one panel of :func:`trajectory_chart` shows, in words (its text alternative)."""
    cumul = " en cumul" if ind.cumulation is Cumulation.CUMULATIVE else ""
    target = f"cible {target_text(ind)} en {ind.target.year}"
    if values.empty:
        return f"{ind.id} {ind.label} : aucune valeur transmise jusqu'en {year} ; {target}"
    last = int(values.index[-1])
    expected = expected_value(ind, last)
    shown = "–" if expected is None else _value_text(expected, ind)
    return (
        f"{ind.id} {ind.label} : {_value_text(values.iloc[-1], ind)}{cumul} en {last} "
        f"(trajectoire attendue : {shown}) ; {target}"
    )


def trajectory_chart(ctx: EngagementContext) -> Chart | Html:
    """For each quantified indicator: the values reported (cumulated for cumulative ones) up to the
    report's year, against the expected linear path to the target.

    Two panels a row, six per figure (a figure per page at most); panel titles in full, wrapped;
    years on every panel.
    """
    indicators = [i for i in ctx.sheet.indicators if i.is_quantitative]
    if not indicators:
        return Html("<p><em>Aucun indicateur chiffré : pas de trajectoire à représenter.</em></p>", "trajectoires")
    columns = min(2, len(indicators))
    width = CHART_WIDTH_IN if columns == 2 else CHART_WIDTH_IN * 0.6
    left, right, gap_x = 0.95, 0.15, 0.95  # room for the rate or count ticks and the unit
    panel_w = (width - left - right - gap_x * (columns - 1)) / columns
    title_chars = chars_per_line(panel_w)
    realised = ctx.data.realised
    series = {}
    for ind in indicators:
        values = realised[realised["indicator_id"] == ind.id].set_index("year")["value"].dropna().sort_index()
        series[ind.id] = values.cumsum() if ind.cumulation is Cumulation.CUMULATIVE else values
    pages = [indicators[i : i + 3 * columns] for i in range(0, len(indicators), 3 * columns)]
    figures, alts = [], []
    for number, page in enumerate(pages, start=1):
        rows = [page[i : i + columns] for i in range(0, len(page), columns)]
        titles = {ind.id: wrap(f"{ind.id} – {ind.label}", title_chars) for ind in page}
        heights = [max(titles[i.id].count("\n") + 1 for i in row) * _LINE_IN + 0.1 for row in rows]
        panel_h, below, legend_h = 1.5, 0.45, 0.45
        height = legend_h + sum(h + panel_h + below for h in heights) + 0.1
        figure = Figure(figsize=(width, height))
        top = height - legend_h
        for row, title_h in zip(rows, heights, strict=True):
            bottom = top - title_h - panel_h
            for column, ind in enumerate(row):
                x = left + column * (panel_w + gap_x)
                axes = figure.add_axes((x / width, bottom / height, panel_w / width, panel_h / height))
                _trajectory_panel(axes, ind, series[ind.id], ctx.year, titles[ind.id])
            top = bottom - below
        handles = [
            Line2D([], [], color="#2b6cb0", marker="o", label="réalisé"),
            Line2D([], [], color="#888888", linestyle="--", label="trajectoire attendue"),
            Line2D([], [], color="#d39e00", linewidth=1.2, label=f"{ctx.year}, année du rapport"),
        ]
        figure.legend(handles=handles, loc="upper center", ncols=3, fontsize=MIN_FONT_PT, frameon=False)
        figures.append(figure)
        part = f" (partie {number} sur {len(pages)})" if len(pages) > 1 else ""
        sentences = " ; ".join(_trajectory_sentence(i, series[i.id], ctx.year) for i in page)
        alts.append(f"Trajectoires des indicateurs chiffrés jusqu'en {ctx.year}{part}. {sentences}.")
    return Chart(figures, "graphique : trajectoires", alts)


def _trajectory_panel(axes: Axes, ind: Indicator, values: pd.Series, year: int, title: str) -> None:
    last = max(PLAN_YEARS[-1], ind.target.year)
    years = list(range(PLAN_YEARS[0] - 1, last + 1))
    path = [expected_value(ind, y) for y in years]
    axes.plot(years, path, linestyle="--", color="#888888")
    axes.plot(values.index, values.values, marker="o", color="#2b6cb0")
    axes.axvline(year, color="#d39e00", linewidth=1.2)
    axes.set_title(title, fontsize=MIN_FONT_PT, loc="left")
    axes.set_ylabel(wrap(_unit_label(ind), 22), fontsize=MIN_FONT_PT)
    axes.tick_params(labelsize=MIN_FONT_PT)
    _year_ticks(axes, years[1:], most=5)
    axes.set_xlim(years[0] - 0.2, years[-1] + 0.4)  # the path may start the year before the plan
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4))
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))


def _execution_row(
    label: str, planned: float, spent_mel: float, rate: float, spent_all: float, years_reported: str = ""
) -> dict[str, str]:
    """One row of the execution tables: figures and rate of :mod:`evaluation.budget`, rendered."""
    return {
        "Période": label,
        "Prévu (MEL)": format_eur(planned),
        "Dépensé (MEL)": format_eur(spent_mel, missing="non renseigné"),
        "Taux d'exécution (MEL)": "–" if pd.isna(rate) else format_pct(rate, 0),
        "Dépensé (tous financeurs)": format_eur(spent_all, missing="non renseigné"),
        "Années renseignées": years_reported,
    }


_EXECUTION_NUMERIC = [
    "Prévu (MEL)",
    "Dépensé (MEL)",
    "Taux d'exécution (MEL)",
    "Dépensé (tous financeurs)",
    "Années renseignées",
]
_EXECUTION_NOTE = (
    "<p><em>Taux d'exécution : dépenses de la MEL déclarées rapportées au financement MEL prévu par le plan. "
    "Quand des années ne sont pas renseignées, le taux cumulé est un minimum.</em></p>"
)


def _years_text(reported: float, year: int) -> str:
    expected = year - PLAN_YEARS[0] + 1
    return "–" if pd.isna(reported) else f"{int(reported)} sur {expected}"


def execution_block(ctx: EngagementContext) -> Html:
    """Planned MEL financing against the MEL's reported spending (like for like), per year and to date; all funders beside; costs per outcome.

    The rows of the exported ``execution_budgetaire`` and ``execution_cumulee`` tables for the sheet, rendered.
    """
    table = execution_table(ctx.plan, ctx.data.spending)
    mine = table[(table["engagement"] == ctx.sheet.id) & (table["year"] <= ctx.year)]
    rows = [
        _execution_row(str(r.year), r.planned_mel_eur, r.spent_mel_eur, r.execution_pct, r.spent_all_funders_eur)
        for r in mine.itertuples()
    ]
    total = execution_totals(ctx.plan, ctx.data.spending, ctx.year).set_index("engagement").loc[ctx.sheet.id]
    rows.append(
        _execution_row(
            f"2018-{ctx.year}",
            total["planned_mel_to_date_eur"],
            total["spent_mel_to_date_eur"],
            total["execution_pct"],
            total["spent_all_funders_to_date_eur"],
            _years_text(total["years_reported"], ctx.year),
        )
    )
    markup = (
        html_table(pd.DataFrame(rows), numeric=_EXECUTION_NUMERIC, caption="Exécution budgétaire") + _EXECUTION_NOTE
    )
    costs = cost_per_outcome(ctx.plan, ctx.data.spending, ctx.data.realised, ctx.year)
    costs = costs[costs["engagement"] == ctx.sheet.id]
    if not costs.empty:
        cost_rows = [
            {
                "Indicateur": f"{r.indicator_id} – {r.label}",
                f"Dépensé 2018-{ctx.year}": format_eur(r.spent_to_date_eur, missing="non renseigné"),
                "Résultats": format_number(r.outcomes_to_date),
                "Coût par résultat": format_eur(r.cost_per_outcome_eur, missing="–"),
            }
            for r in costs.itertuples()
        ]
        markup += html_table(
            pd.DataFrame(cost_rows),
            numeric=[f"Dépensé 2018-{ctx.year}", "Résultats", "Coût par résultat"],
            caption="Coût par personne ou emploi (dépense totale de la fiche rapportée à chaque indicateur : ces coûts ne s'additionnent pas)",
        )
    return Html(markup, "exécution budgétaire")


# --------------------------------------------------------------------------------------------------
# Plan-wide monitoring (yearly report)


def status_counts_block(plan: Plan, gaps: pd.DataFrame) -> Html:
    """Number of indicators per priority and status; ``no_data`` counts the missing values and the incomplete sums."""
    counts = status_counts(plan, gaps)
    labels = {p.id: f"Priorité {p.id[1:]}" for p in plan.priorities} | {
        "transversal": "Gouvernance et évaluation",
        "total": "Total",
    }
    headings = {s.value: STATUS_FR[s] for s in Status} | {Status.NO_DATA.value: NO_DATA_COUNT_FR}
    frame = counts.rename(index=labels, columns=headings).reset_index(names="")
    frame = frame.astype({c: str for c in frame.columns})
    return Html(
        html_table(frame, numeric=[c for c in frame.columns if c], caption="Nombre d'indicateurs par statut"),
        "statuts par priorité",
    )


def _text_colour(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba`` (relative luminance)."""
    red, green, blue = rgba[:3]
    return "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.45 else "white"


def draw_grid(
    axes: Axes,
    values: pd.DataFrame,
    annotations: pd.DataFrame,
    row_heights: Sequence[float],
    cmap: str,
    vmin: float,
    vmax: float,
) -> ScalarMappable:
    """A heatmap whose rows have their own heights (a wrapped name sets its row's height), first row on top.

    Missing values are left light grey; every cell shows its annotation, in black or white after its colour.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    edges = [0.0]
    for height in row_heights:
        edges.append(edges[-1] + height)
    norm = Normalize(vmin=vmin, vmax=vmax)
    colours = colormaps[cmap]
    mesh = axes.pcolormesh(
        range(values.shape[1] + 1),
        edges,
        values.to_numpy(dtype=float),
        cmap=colours,
        norm=norm,
        edgecolors="white",
        linewidth=0.8,
    )
    axes.set_facecolor("#eeeeee")
    axes.set_ylim(edges[-1], 0)
    axes.set_xlim(0, values.shape[1])
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = annotations.iat[i, j]
            if not text:
                continue
            value = values.iat[i, j]
            colour = "black" if pd.isna(value) else _text_colour(colours(norm(value)))
            axes.text(
                j + 0.5,
                (edges[i] + edges[i + 1]) / 2,
                text,
                ha="center",
                va="center",
                fontsize=MIN_FONT_PT,
                color=colour,
            )
    axes.tick_params(length=0, labelsize=MIN_FONT_PT)
    for spine in axes.spines.values():
        spine.set_visible(False)
    return mesh


def status_heatmap(plan: Plan, realised: pd.DataFrame, year: int | None = None) -> Chart:
    """Engagements × years up to ``year``: share of indicators with a target achieved or on track.

    ``year`` defaults to the latest year of ``realised`` (pass the report's year: a report of 2019 stops at 2019).
    Sheet names in full (wrapped); the numbers are in the cells, the colour repeats them.
    """
    share = on_track_share(plan, realised)
    last = year if year is not None else int(realised["year"].max()) if len(realised) else PLAN_YEARS[-1]
    share = share[[y for y in share.columns if y <= last]]
    width = CHART_WIDTH_IN
    grid_w = 0.65 * share.shape[1]
    label_w = width - grid_w - 0.25
    names = [wrap(sheet_label(s), chars_per_line(label_w - 0.1)) for s in plan.engagements]
    row_heights = [(n.count("\n") + 1) * _LINE_IN + 0.1 for n in names]
    title = wrap(
        "Part des indicateurs avec une cible (chiffre ou jalon) atteints ou en bonne voie, par fiche et par année, en %",
        chars_per_line(width, 10),
    )
    title_h = (title.count("\n") + 1) * 10 * 1.3 / 72 + 0.1
    top, header, bottom = title_h, 0.3, 0.75
    grid_h = sum(row_heights)
    height = top + header + grid_h + bottom
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((label_w / width, bottom / height, grid_w / width, grid_h / height))
    annotations = share.map(lambda v: "" if pd.isna(v) else format_number(v, 0))
    mesh = draw_grid(axes, share, annotations, row_heights, "RdYlGn", 0, 100)
    centres = [sum(row_heights[:i]) + h / 2 for i, h in enumerate(row_heights)]
    axes.set_yticks(centres, names)
    axes.set_xticks([j + 0.5 for j in range(share.shape[1])], [str(y) for y in share.columns])
    axes.xaxis.tick_top()
    figure.text(0.5, 1 - 0.05 / height, title, ha="center", va="top", fontsize=10)
    bar = figure.add_axes((label_w / width, 0.35 / height, grid_w / width, 0.12 / height))
    figure.colorbar(mesh, cax=bar, orientation="horizontal")
    bar.tick_params(labelsize=MIN_FONT_PT)
    key = wrap(
        "% atteints ou en bonne voie ; case grise : aucun indicateur avec une cible", chars_per_line(label_w - 0.2)
    )
    figure.text((label_w - 0.1) / width, 0.41 / height, key, ha="right", va="center", fontsize=MIN_FONT_PT)
    latest = share[last] if last in share.columns else pd.Series(dtype=float)
    judged = latest.dropna()
    alt = (
        f"Carte de chaleur : pour chacune des {len(share)} fiches et chaque année de {share.columns[0]} à {last}, "
        "part des indicateurs avec une cible atteints ou en bonne voie. "
        f"En {last}, {format_count(int((judged == 100).sum()), 'fiche')} à 100 %, "
        f"{format_count(int((judged == 0).sum()), 'fiche')} à 0 %, "
        f"{format_count(int(latest.isna().sum()), 'fiche')} sans indicateur avec une cible ; "
        f"médiane des fiches : {format_pct(judged.median(), 0)}."
    )
    return Chart(figure, "carte de chaleur des statuts", alt)


def monitoring_table_block(plan: Plan, gaps: pd.DataFrame, year: int) -> Html:
    """Every indicator of the plan with its realised value, target, achievement and status for ``year``."""
    indicators = {i.id: i for i in plan.indicators()}
    rows = []
    for r in gaps.itertuples():
        ind = indicators[r.indicator_id]
        rows.append(
            {
                "Code": r.indicator_id,
                "Résultat attendu": ind.label,
                f"Réalisé {year}": realised_text(r.realised, ind, r.note),
                "Cible": target_text(ind),
                "Échéance": str(ind.target.year),
                "Progression vers la cible": progress_text(r.achievement_pct, r.status, is_lower_bound(ind, r.note)),
                "Statut": status_text(r.status, r.realised),
            }
        )
    frame = pd.DataFrame(rows)
    return Html(
        html_table(
            frame,
            numeric=[f"Réalisé {year}", "Progression vers la cible"],
            caption=f"Suivi de tous les indicateurs en {year}",
        )
        + _monitoring_notes(frame, frame["Résultat attendu"]),
        "tableau de suivi",
    )


def plan_execution_block(plan: Plan, spending: pd.DataFrame, year: int) -> Html:
    """Planned MEL financing against the MEL's reported spending to date, per engagement, with the plan's total."""
    spending = spending[spending["year"] <= year]
    totals = execution_totals(plan, spending, year)
    rows = [
        _execution_row(
            sheet_label(sheet),
            t.planned_mel_to_date_eur,
            t.spent_mel_to_date_eur,
            t.execution_pct,
            t.spent_all_funders_to_date_eur,
            _years_text(t.years_reported, year),
        )
        for sheet, t in zip(plan.engagements, totals.itertuples(), strict=True)
    ]
    # The total rate compares like with like: only the sheets with planned MEL money.
    funded = totals[totals["planned_mel_to_date_eur"] > 0]
    planned = funded["planned_mel_to_date_eur"].sum(min_count=1)
    spent_mel = funded["spent_mel_to_date_eur"].sum(min_count=1)
    rows.append(
        _execution_row(
            "Total des fiches financées par la MEL",
            planned,
            spent_mel,
            execution_rate_pct(spent_mel, planned),
            funded["spent_all_funders_to_date_eur"].sum(min_count=1),
        )
    )
    frame = pd.DataFrame(rows).rename(columns={"Période": "Fiche"})
    glossary = glossary_text(frame["Fiche"], skip=("MEL",))
    return Html(
        html_table(frame, numeric=_EXECUTION_NUMERIC, caption=f"Exécution budgétaire cumulée 2018-{year}")
        + _EXECUTION_NOTE
        + (f"<p><em>{html.escape(glossary)}</em></p>" if glossary else ""),
        "exécution du plan",
    )


# The notebooks import this module in their first code cell: from then on a wrong parameter is one line.
_register_error_display()
