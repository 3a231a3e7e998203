"""Report-ready views of the referential, in French: the blocks the notebooks display.

Each function takes library records and returns either a :class:`pandas.DataFrame` with French
column labels (machine-readable, for export) or an :class:`Html` block (for the reader). Notebooks
call these and display the result; they hold no logic of their own.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from evaluation.audit import Finding, audit_plan, findings_for
from evaluation.budget import cost_per_outcome, execution_rate_pct, execution_table, execution_totals
from evaluation.config import PLAN_YEARS
from evaluation.errors import UsageError, _display_path
from evaluation.formatting import (
    NBSP,
    format_eur,
    format_number,
    format_pct,
    format_period,
    html_list,
    html_table,
)
from evaluation.intake import Problem
from evaluation.io import Dataset, load_dataset
from evaluation.labels import CUMULATION_FR, DIRECTION_FR, MEASURE_FR, target_text, with_unit
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
    "findings_block",
    "target_text",
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

    Raises :class:`UsageError` for an unknown engagement id or a year outside 2018-2021, and
    :class:`~evaluation.errors.InputError` for a missing data directory.
    """
    _check_year(year)
    plan = load_plan()
    sheet = plan.engagement(str(engagement_id))
    dataset = load_dataset(data_dir or None)
    data = load_monitoring_data(plan, dataset)
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


def _check_year(year: object) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        raise UsageError(f"year must be one of {', '.join(map(str, PLAN_YEARS))}, got {year!r}")


def _shorten(text: str, width: int) -> str:
    """Cut at a word boundary with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: text.rfind(" ", 0, width - 1)].rstrip(" ,–:") + "…"


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


def warm_up() -> None:
    """Do once what the first chart of a process does: import seaborn (scipy.stats with it) and
    render a PNG (matplotlib's font cache and Agg renderer). No global state is changed.

    ``evaluation run`` calls it in each kernel at start-up, while the kernel waits for the inputs
    to be checked, so that the first report of a kernel does not pay for it.
    """
    import seaborn  # noqa: F401

    figure = Figure(figsize=(1, 1), dpi=40)
    figure.subplots().set_title("Écart 1 250,5 %", fontsize=8)
    Chart(figure, "préchauffage")._repr_png_()


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
    more = f"<li>… et {len(problems) - 5} autre(s)</li>" if len(problems) > 5 else ""
    return Html(
        f'<div class="ev-banner">Attention : {len(problems)} problème(s) dans les fichiers de données ; '
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


def progress_text(achievement_pct: float, status: str) -> str:
    """Progress toward the target in %, never rounded up to 100 % for a target not met."""
    if pd.isna(achievement_pct):
        return "–"
    if status != Status.ACHIEVED.value:
        return format_pct(math.floor(achievement_pct), 0)
    return format_pct(achievement_pct, 0)


def sheet_label(sheet: Engagement) -> str:
    """``'5-A – L'intelligence collective…'``; the transversal sheets by their title alone."""
    return f"{sheet.number} – {sheet.title}" if sheet.number else sheet.title


def realised_text(value: float, ind: Indicator, note: object = None) -> str:
    """The realised value of a gap row: '≥' when it is a lower bound, '(cumul)' for a sum of years."""
    if pd.isna(value):
        return "–"
    text = _value_text(value, ind)
    if isinstance(note, str) and "lower bound" in note and ind.cumulation is Cumulation.CUMULATIVE:
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


def realisations_frame(ctx: EngagementContext) -> pd.DataFrame:
    """One row per indicator: the values reported each year ((p) provisional, (e) estimated), the target and the year's status."""
    realised = ctx.data.realised
    gaps = ctx.gaps.set_index("indicator_id")
    rows = []
    for ind in ctx.sheet.indicators:
        mine = realised[realised["indicator_id"] == ind.id].set_index("year")
        row = {"Code": ind.id, "Résultat attendu": ind.label}
        for year in PLAN_YEARS:
            if year in mine.index and not pd.isna(mine.at[year, "value"]):
                row[str(year)] = _value_text(mine.at[year, "value"], ind) + _STATUS_MARK.get(
                    str(mine.at[year, "status"]), ""
                )
            elif year in mine.index:
                row[str(year)] = "commentaire"
            else:
                row[str(year)] = "–"
        gap = gaps.loc[ind.id]
        row["Cible"] = target_text(ind) + (f" ({ind.target.year})" if ind.measure is not Measure.QUALITATIVE else "")
        row[f"Progression {ctx.year}"] = progress_text(gap["achievement_pct"], gap["status"])
        row[f"Attendu {ctx.year}"] = "–" if pd.isna(gap["expected"]) else _value_text(gap["expected"], ind)
        row["Statut"] = STATUS_FR[Status(gap["status"])]
        rows.append(row)
    return pd.DataFrame(rows)


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
    return Html(
        html_table(frame, numeric=[str(y) for y in PLAN_YEARS] + [f"Progression {ctx.year}"], caption=caption) + notes,
        "réalisations",
    )


def trajectory_chart(ctx: EngagementContext) -> Chart | Html:
    """For each quantified indicator: the values reported (cumulated for cumulative ones) against the expected linear path."""
    indicators = [i for i in ctx.sheet.indicators if i.is_quantitative]
    if not indicators:
        return Html("<p><em>Aucun indicateur chiffré : pas de trajectoire à représenter.</em></p>", "trajectoires")
    columns = min(3, len(indicators))
    rows = -(-len(indicators) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows), dpi=90)
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    realised = ctx.data.realised
    for axes, ind in zip(axes_grid.flat, indicators, strict=False):
        mine = realised[realised["indicator_id"] == ind.id].set_index("year")["value"].dropna().sort_index()
        if ind.cumulation is Cumulation.CUMULATIVE:
            mine = mine.cumsum()
        last = max(PLAN_YEARS[-1], ind.target.year)
        years = list(range(PLAN_YEARS[0] - 1, last + 1))
        path = [expected_value(ind, y) for y in years]
        axes.plot(years, path, linestyle="--", color="#888888", label="trajectoire attendue")
        axes.plot(
            mine.index,
            mine.values,
            marker="o",
            color="#2b6cb0",
            label="réalisé" + (" (cumul)" if ind.cumulation is Cumulation.CUMULATIVE else ""),
        )
        axes.set_title(f"{ind.id} – {ind.label[:45]}{'…' if len(ind.label) > 45 else ''}", fontsize=8)
        axes.axvline(ctx.year, color="#d39e00", linewidth=0.8)
        axes.tick_params(labelsize=7)
        axes.set_xticks(years[1:])
        axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
    for axes in list(axes_grid.flat)[len(indicators) :]:
        axes.set_visible(False)
    axes_grid.flat[0].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return Chart(figure, "graphique : trajectoires")


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
    mine = table[table["engagement"] == ctx.sheet.id]
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
    counts = status_counts(plan, gaps)
    labels = {p.id: f"Priorité {p.id[1:]}" for p in plan.priorities} | {
        "transversal": "Gouvernance et évaluation",
        "total": "Total",
    }
    frame = counts.rename(index=labels, columns={s.value: STATUS_FR[s] for s in Status}).reset_index(names="")
    frame = frame.astype({c: str for c in frame.columns})
    return Html(
        html_table(frame, numeric=[c for c in frame.columns if c], caption="Nombre d'indicateurs par statut"),
        "statuts par priorité",
    )


def status_heatmap(plan: Plan, realised: pd.DataFrame) -> Chart:
    """Engagements × years: share of indicators with a target achieved or on track (seaborn heatmap)."""
    import seaborn as sns

    share = on_track_share(plan, realised)
    names = {s.id: _shorten(sheet_label(s), 52) for s in plan.engagements}
    share = share.rename(index=names)
    figure = Figure(figsize=(7.5, 8.5), dpi=90)
    axes = figure.subplots()
    sns.heatmap(
        share,
        annot=share.map(lambda v: "" if pd.isna(v) else format_number(v, 0)),
        fmt="",
        cmap="RdYlGn",
        vmin=0,
        vmax=100,
        cbar_kws={"label": "% atteints ou en bonne voie"},
        ax=axes,
        linewidths=0.5,
    )
    axes.set_xlabel("Année")
    axes.set_ylabel("")
    axes.tick_params(labelsize=8)
    axes.set_title("Indicateurs avec une cible (chiffre ou jalon) atteints ou en bonne voie, en %", fontsize=9)
    figure.tight_layout()
    return Chart(figure, "carte de chaleur des statuts")


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
                "Progression vers la cible": progress_text(r.achievement_pct, r.status),
                "Statut": STATUS_FR[Status(r.status)],
            }
        )
    return Html(
        html_table(
            pd.DataFrame(rows),
            numeric=[f"Réalisé {year}", "Progression vers la cible"],
            caption=f"Suivi de tous les indicateurs en {year}",
        ),
        "tableau de suivi",
    )


def plan_execution_block(plan: Plan, spending: pd.DataFrame, year: int) -> Html:
    """Planned MEL financing against the MEL's reported spending to date, per engagement, with the plan's total."""
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
    return Html(
        html_table(frame, numeric=_EXECUTION_NUMERIC, caption=f"Exécution budgétaire cumulée 2018-{year}")
        + _EXECUTION_NOTE,
        "exécution du plan",
    )
