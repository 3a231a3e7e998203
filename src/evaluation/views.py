"""Report-ready views of the referential, in French: the blocks the notebooks display.

Each function takes library records and returns either a :class:`pandas.DataFrame` with French
column labels (machine-readable, for export) or an :class:`Html` block (for the reader). Notebooks
call these and display the result; they hold no logic of their own.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from evaluation.audit import Finding, audit_plan, findings_for
from evaluation.config import PLAN_YEARS
from evaluation.errors import UsageError
from evaluation.formatting import (
    NBSP,
    format_date,
    format_eur,
    format_number,
    format_pct,
    format_period,
    html_list,
    html_table,
)
from evaluation.io import Dataset, load_dataset
from evaluation.plan import Cumulation, Direction, Engagement, Indicator, Measure, Plan, load_plan

__all__ = [
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
    "findings_block",
    "target_text",
]

MEASURE_FR = {
    Measure.COUNT: "effectif",
    Measure.PERCENTAGE: "pourcentage",
    Measure.AMOUNT: "montant",
    Measure.MILESTONE: "jalon",
    Measure.QUALITATIVE: "qualitatif",
}
CUMULATION_FR = {
    Cumulation.CUMULATIVE: "cumul sur la période",
    Cumulation.PER_YEAR: "chaque année",
    Cumulation.LEVEL: "niveau à l'échéance",
}
DIRECTION_FR = {Direction.INCREASE: "hausse", Direction.DECREASE: "baisse", Direction.MAINTAIN: "maintien"}
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

    @property
    def parameters(self) -> dict[str, object]:
        return {"fiche": self.sheet.id, "année": self.year}


def engagement_context(engagement_id: str, year: int, data_dir: str = "") -> EngagementContext:
    """Validate the parameters of ``engagement.ipynb`` and load what the report needs.

    Raises :class:`UsageError` for an unknown engagement id or a year outside 2018-2021, and
    :class:`~evaluation.errors.InputError` for a missing data directory.
    """
    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        raise UsageError(f"year must be one of {', '.join(map(str, PLAN_YEARS))}, got {year!r}")
    plan = load_plan()
    sheet = plan.engagement(str(engagement_id))
    dataset = load_dataset(data_dir or None)
    return EngagementContext(plan, sheet, dataset, year, tuple(findings_for(audit_plan(plan), sheet)))


class Chart:
    """A matplotlib figure rendered as PNG for notebooks, independent of the kernel's backend."""

    def __init__(self, figure: Figure, label: str) -> None:
        self.figure = figure
        self.label = label

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.figure.dpi, metadata={"Software": None})
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"[{self.label}]"


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
    """Title, priority, objectives, public, territories and steering of a sheet."""
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
    markup = (
        f"<h2>{html.escape(_sheet_name(sheet))}</h2>"
        f"<p><b>{html.escape(place)}</b></p>{parent}"
        f"<h3>Objectifs</h3>{html_list(sheet.objectives)}"
        f"<h3>Public et territoires ciblés</h3>{html_list(list(sheet.target_public) + list(sheet.territories))}"
        f"<h3>Pilotage et partenaires</h3><p>{pilot}</p>{html_list(sheet.partners, 'Aucun partenaire nommé par le plan.')}"
    )
    return Html(markup, f"fiche {sheet.id}")


def _sheet_name(sheet: Engagement) -> str:
    if sheet.number is None:
        return sheet.title
    return f"Engagement {sheet.number} : {sheet.title}"


def _with_unit(value: float, ind: Indicator) -> str:
    if ind.measure is Measure.PERCENTAGE:
        return format_pct(value)
    if ind.measure is Measure.AMOUNT:
        return format_eur(value)
    unit = f"{NBSP}{ind.unit}" if ind.unit else ""
    return f"{format_number(value)}{unit}"


def target_text(ind: Indicator) -> str:
    """The target as a reader says it: ``'400 bénéficiaires'``, ``'50 à 100 entreprises'``, ``'jalon : décembre 2018'``."""
    target = ind.target
    if ind.measure is Measure.MILESTONE:
        return f"jalon : {format_date(target.date) if target.date else target.year}"
    if ind.measure is Measure.QUALITATIVE:
        return "qualitatif, sans cible chiffrée"
    if target.is_range:
        assert target.min is not None and target.max is not None
        low = format_pct(target.min) if ind.measure is Measure.PERCENTAGE else format_number(target.min)
        return f"{low} à {_with_unit(target.max, ind)}"
    if target.value is None:
        return "pas de cible chiffrée"
    return _with_unit(target.value, ind)


def _deadline_text(ind: Indicator) -> str:
    return str(ind.target.year) if ind.target.year_stated else f"{ind.target.year} (déduite)"


def _baseline_text(ind: Indicator) -> str:
    if ind.baseline is None:
        return "–"
    year = str(ind.baseline.year) if ind.baseline.year is not None else "année non précisée"
    return f"{_with_unit(ind.baseline.value, ind)} ({year})"


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
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    axes = figure.subplots()
    plotted = frame.fillna({"mel_financing_eur": 0.0})
    sns.barplot(data=plotted, x="year", y="mel_financing_eur", color="#2b6cb0", ax=axes)
    for patch, value in zip(axes.patches, frame["mel_financing_eur"], strict=False):
        text = "non chiffré" if pd.isna(value) else format_eur(value)
        axes.annotate(
            text, (patch.get_x() + patch.get_width() / 2, patch.get_height()), ha="center", va="bottom", fontsize=9
        )
    axes.set_xlabel("Année")
    axes.set_ylabel("Financement MEL (€)")
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
    axes.set_title(f"{sheet.budget.mel_financing_label or 'Financement MEL'} par année")
    axes.margins(y=0.15)
    figure.tight_layout()
    return Chart(figure, "graphique : financement MEL par année")


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
