"""Report blocks of the 2021 global evaluation (``notebooks/evaluation_2021.ipynb``).

The plan: "2021 : Évaluation globale de ce plan d'actions à travers chaque fiche action". The
synthesis reuses the yearly report's computations (:mod:`evaluation.views_annual`) and adds the
plan-wide views: statuses by priority and engagement, progress toward every quantified target,
budget, the plan's internal audit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from evaluation.audit import Finding, audit_plan
from evaluation.formatting import format_number, format_pct, html_table
from evaluation.targets import STATUS_FR, Status
from evaluation.views import CHECK_FR, SEVERITY_FR, Chart, Html, sheet_label
from evaluation.views_annual import AnnualContext, annual_context

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
    annual = annual_context(year, data_dir, comparator, baseline_year)
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
            row |= {STATUS_FR[s]: str(mine.get(s.value, 0)) for s in statuses}
            row["Part atteinte"] = format_pct(100 * achieved / judged, 0) if judged else "–"
            rows.append(row)
        numeric = [STATUS_FR[s] for s in statuses] + ["Part atteinte"]
        parts.append(html_table(pd.DataFrame(rows), numeric=numeric, caption=heading))
    note = (
        "<p><em>Part atteinte : indicateurs atteints parmi ceux qui ont une cible chiffrée ou un jalon "
        "(une valeur manquante compte comme non atteinte).</em></p>"
    )
    return Html("".join(parts) + note, "synthèse par priorité")


def progress_chart(ctx: SynthesisContext) -> Chart:
    """Progress toward each quantified target in the final year, by priority (bars capped at 150 %)."""
    plan, gaps = ctx.annual.plan, ctx.annual.gaps
    rows = gaps[gaps["achievement_pct"].notna() & gaps["status"].isin(list(_STATUS_COLOURS))]
    order = {s.id: i for i, s in enumerate(plan.engagements)}
    rows = rows.assign(_order=rows["engagement"].map(order)).sort_values(["_order", "indicator_id"], kind="stable")
    figure = Figure(figsize=(8, max(4, 0.19 * len(rows) + 1)), dpi=90)
    axes = figure.subplots()
    positions = range(len(rows))[::-1]
    values = rows["achievement_pct"].clip(lower=0, upper=150)
    axes.barh(list(positions), values, color=[_STATUS_COLOURS[s] for s in rows["status"]])
    axes.set_yticks(list(positions))
    axes.set_yticklabels(rows["indicator_id"], fontsize=6)
    axes.axvline(100, color="#2d3748", linewidth=0.8)
    axes.set_xlabel("Progression vers la cible (%, limitée à 150)")
    axes.xaxis.set_major_formatter(lambda value, _pos: format_number(value))
    handles = [axes.bar(0, 0, color=c, label=STATUS_FR[Status(s)]) for s, c in _STATUS_COLOURS.items()]
    axes.legend(handles=handles, fontsize=7, loc="lower right")
    axes.set_title(f"Progression de chaque indicateur chiffré en {ctx.annual.year}", fontsize=10)
    figure.tight_layout()
    return Chart(figure, "graphique : progression vers les cibles")


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
