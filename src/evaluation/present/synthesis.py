"""Report blocks of the 2021 global evaluation (``notebooks/evaluation_2021.ipynb``).

The plan: "2021 : Évaluation globale de ce plan d'actions à travers chaque fiche action". The
synthesis reuses the yearly report's computations (:mod:`evaluation.present.annual`) and adds the
plan-wide views: statuses by priority and engagement, progress toward every quantified target,
budget, the plan's internal audit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from evaluation.formatting import format_count, format_number, format_pct, html_table
from evaluation.present.annual import AnnualContext, build_annual_context
from evaluation.present.blocks import _LINE_IN, CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html, chars_per_line, wrap
from evaluation.present.engagement import CHECK_FR, SEVERITY_FR
from evaluation.present.parameters import check_parameter_names
from evaluation.present.plan_status import INCOMPLETE_FR, NO_DATA_COUNT_FR, is_lower_bound, progress_text, sheet_label
from evaluation.referential.audit import Finding, audit_plan
from evaluation.referential.labels import glossary_text
from evaluation.referential.plan import Plan
from evaluation.stats.targets import STATUS_FR, Status

__all__ = [
    "SynthesisContext",
    "synthesis_context",
    "priority_summary_block",
    "progress_chart",
    "findings_summary_block",
]

_STATUS_COLOURS = {
    Status.ACHIEVED.value: "#2f855a",
    Status.ON_TRACK.value: "#68d391",
    Status.BEHIND.value: "#e53e3e",
    Status.NO_DATA.value: "#a0aec0",
}
#: The statuses after a count, singular and plural: « 3 atteints, 1 incomplet ».
_COUNTED_FR = {
    Status.ACHIEVED.value: ("atteint", "atteints"),
    Status.ON_TRACK.value: ("en bonne voie", "en bonne voie"),
    Status.BEHIND.value: ("en retard", "en retard"),
    Status.NO_DATA.value: (INCOMPLETE_FR, f"{INCOMPLETE_FR}s"),
}
#: The legend of the progress chart: a ``no_data`` bar is an incomplete sum (a bar needs a value).
_LEGEND_FR = {s: STATUS_FR[Status(s)] for s in _STATUS_COLOURS} | {Status.NO_DATA.value: f"{INCOMPLETE_FR} (minimum)"}


@dataclass(frozen=True)
class SynthesisContext:
    """The yearly report's context of the final year, and the plan audit."""

    annual: AnnualContext
    findings: tuple[Finding, ...]

    @property
    def parameters(self) -> dict[str, object]:
        return self.annual.parameters


def synthesis_context(
    year: int = 2021, data_dir: str = "", comparator: str = "MEL", baseline_year: int = 0
) -> SynthesisContext:
    """Validate the parameters of ``evaluation_2021.ipynb`` (as :func:`~evaluation.present.annual.annual_context`)."""
    check_parameter_names(("year", "data_dir", "comparator", "baseline_year"))
    annual = build_annual_context(year, data_dir, comparator, baseline_year)
    return SynthesisContext(annual, tuple(audit_plan(annual.plan)))


def priority_summary_block(ctx: SynthesisContext) -> Html:
    """One table per priority: each sheet's indicators by status, and its share achieved among those with a figure."""
    plan, gaps = ctx.annual.plan, ctx.annual.gaps
    statuses = [
        Status.ACHIEVED,
        Status.ON_TRACK,
        Status.BEHIND,
        Status.NO_DATA,
        Status.NOT_DUE,
        Status.QUALITATIVE,
        Status.NO_TARGET,
    ]
    groups = [(p.id, f"Priorité {p.id[1:]} : {p.title}") for p in plan.priorities] + [(None, plan.transversal.title)]
    parts = []
    for priority_id, heading in groups:
        rows = []
        for sheet in (s for s in plan.engagements if s.priority == priority_id):
            mine = gaps[gaps["engagement"] == sheet.id]["status"].value_counts()
            judged = sum(
                mine.get(s.value, 0) for s in (Status.ACHIEVED, Status.ON_TRACK, Status.BEHIND, Status.NO_DATA)
            )
            achieved = mine.get(Status.ACHIEVED.value, 0)
            row = {"Fiche": sheet_label(sheet)}
            row |= {_heading(s): str(mine.get(s.value, 0)) for s in statuses}
            row["Part atteinte"] = format_pct(100 * achieved / judged, 0) if judged else "–"
            rows.append(row)
        numeric = [_heading(s) for s in statuses] + ["Part atteinte"]
        parts.append(html_table(pd.DataFrame(rows), numeric=numeric, caption=heading))
    note = (
        "<p><em>Part atteinte : indicateurs atteints parmi ceux qui ont une cible chiffrée ou un jalon "
        "(une valeur manquante compte comme non atteinte).</em></p>"
    )
    glossary = glossary_text([heading for _, heading in groups] + [sheet_label(s) for s in plan.engagements], ("MEL",))
    note += f"<p><em>{html.escape(glossary)}</em></p>" if glossary else ""
    return Html("".join(parts) + note, "synthèse par priorité")


def _heading(status: Status) -> str:
    return NO_DATA_COUNT_FR if status is Status.NO_DATA else STATUS_FR[status]


def progress_chart(ctx: SynthesisContext) -> Chart:
    """Progress toward each quantified target in the final year (bars capped at 150 %), one figure per priority.

    Bars named by the indicator's code and label in full (wrapped), the progress written at their end.
    """
    plan, gaps = ctx.annual.plan, ctx.annual.gaps
    rows = gaps[gaps["achievement_pct"].notna() & gaps["status"].isin(list(_STATUS_COLOURS))]
    order = {ind.id: i for i, ind in enumerate(plan.indicators())}  # the plan's order: 5.2 before 5.10
    rows = rows.assign(_order=rows["indicator_id"].map(order)).sort_values("_order", kind="stable")
    priority_of = {s.id: s.priority for s in plan.engagements}
    indicators = {i.id: i for i in plan.indicators()}
    groups = [(p.id, f"Priorité {p.id[1:]} : {p.title}") for p in plan.priorities] + [(None, plan.transversal.title)]
    figures, alts = [], []
    for priority_id, heading in groups:
        mine = rows[rows["engagement"].map(priority_of) == priority_id]
        if mine.empty:
            continue
        figure, alt = _progress_figure(plan, mine, indicators, heading, ctx.annual.year)
        figures.append(figure)
        alts.append(alt)
    return Chart(figures, "graphique : progression vers les cibles", alts)


def _progress_figure(plan: Plan, rows: pd.DataFrame, indicators: dict, heading: str, year: int) -> tuple[Figure, str]:
    width, label_w, right = CHART_WIDTH_IN, 3.4, 0.15
    bars_w = width - label_w - right
    labels = [wrap(f"{r.indicator_id} – {r.label}", chars_per_line(label_w - 0.15)) for r in rows.itertuples()]
    heights = [(label.count("\n") + 1) * _LINE_IN + 0.1 for label in labels]
    title = wrap(f"{heading} : progression vers la cible en {year}", chars_per_line(width, 10))
    title_h = (title.count("\n") + 1) * 10 * 1.3 / 72 + 0.1
    legend_h, bottom = 0.35, 0.75
    bars_h = sum(heights)
    height = title_h + legend_h + bars_h + bottom
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((label_w / width, bottom / height, bars_w / width, bars_h / height))
    centres = [sum(heights[:i]) + h / 2 for i, h in enumerate(heights)]
    values = rows["achievement_pct"].clip(lower=0, upper=150)
    axes.barh(
        centres,
        values,
        height=[min(h - 0.06, 0.2) for h in heights],
        color=[_STATUS_COLOURS[s] for s in rows["status"]],
    )
    texts = [
        progress_text(r.achievement_pct, r.status, is_lower_bound(indicators[r.indicator_id], r.note))
        for r in rows.itertuples()
    ]
    for centre, value, text in zip(centres, values, texts, strict=True):
        axes.text(value + 2, centre, text, va="center", fontsize=MIN_FONT_PT)
    axes.set_ylim(bars_h, 0)
    axes.set_xlim(0, 195)  # room for the figures written after the longest bars
    axes.set_xticks([0, 50, 100, 150])
    axes.set_yticks(centres, labels)
    axes.tick_params(labelsize=MIN_FONT_PT)
    axes.axvline(100, color="#2d3748", linewidth=0.8)
    axes.set_xlabel("Progression vers la cible (%)", fontsize=MIN_FONT_PT)
    figure.text(
        0.02, 0.05 / height, "Barres limitées à 150 % ; trait vertical : cible atteinte (100 %).", fontsize=MIN_FONT_PT
    )
    axes.xaxis.set_major_formatter(lambda value, _pos: format_number(value))
    handles = [Patch(color=c, label=_LEGEND_FR[s]) for s, c in _STATUS_COLOURS.items()]
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - title_h / height),
        ncols=4,
        fontsize=MIN_FONT_PT,
        frameon=False,
    )
    figure.text(0.5, 1 - 0.05 / height, title, ha="center", va="top", fontsize=10)
    counts = rows["status"].value_counts()
    summary = ", ".join(format_count(int(counts[s]), *_COUNTED_FR[s]) for s in _STATUS_COLOURS if counts.get(s, 0))
    detail = " ; ".join(
        f"{r.indicator_id} {r.label} : {t} ({_COUNTED_FR[r.status][0]})"
        for r, t in zip(rows.itertuples(), texts, strict=True)
    )
    alt = (
        f"{heading} : progression vers leur cible en {year} de {format_count(len(rows), 'indicateur chiffré', 'indicateurs chiffrés')} "
        f"({summary}). {detail}."
    )
    return figure, alt


def findings_summary_block(ctx: SynthesisContext) -> Html:
    """The plan audit: counts per check, then the numeric contradictions in full."""
    frame = pd.DataFrame([f.to_dict() for f in ctx.findings])
    if frame.empty:
        return Html("<p>L'audit ne relève aucune incohérence dans le plan.</p>", "audit")
    counts = frame.groupby(["check", "severity"]).size().unstack(fill_value=0)
    rows = [
        {
            "Contrôle": CHECK_FR.get(check, check),
            **{
                SEVERITY_FR[s].capitalize(): str(int(counts.at[check, s])) if s in counts.columns else "0"
                for s in ("error", "warning")
            },
        }
        for check in counts.index
    ]
    markup = html_table(
        pd.DataFrame(rows), numeric=["Incohérence", "Point d'attention"], caption="Constats de l'audit du plan"
    )
    errors = "".join(f"<li>{html.escape(f.message)}</li>" for f in ctx.findings if f.severity == "error")
    markup += f"<p><b>Contradictions chiffrées du document</b></p><ul>{errors}</ul>"
    return Html(markup, "audit du plan")
