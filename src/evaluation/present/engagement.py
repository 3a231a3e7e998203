"""Report-ready views of the referential, in French: the blocks the notebooks display.

Each function takes library records and returns either a :class:`pandas.DataFrame` with French
column labels (machine-readable, for export), an :class:`Html` block or a :class:`Chart` (for the
reader). Notebooks call these and display the result; they hold no logic of their own.

**Charts** are drawn at most :data:`CHART_WIDTH_IN` wide (an A4 page's text width) with fonts of
:data:`MIN_FONT_PT` points or more, shown at their drawn size, names and titles in full (wrapped,
never cut), each with a French text alternative saying what it shows.

**Notebook parameters.** The context functions (:func:`engagement_context` and those of
:mod:`evaluation.present.annual`, :mod:`~evaluation.present.cohort`, :mod:`~evaluation.present.synthesis`)
check every parameter: a wrong value raises :class:`~evaluation.errors.UsageError` whose message is
one French line naming the parameter, the value and the accepted values (:func:`parameter_error`);
a name of the parameters cell the notebook does not declare is warned about in the output
(:func:`check_parameter_names`). Imported in a kernel, this module makes IPython show such an error
as that one line, without a traceback, while the cell still fails (papermill and the batch see it).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from evaluation.config import PLAN_YEARS
from evaluation.formatting import (
    format_eur,
    format_number,
    format_pct,
    format_period,
    html_list,
    html_table,
)
from evaluation.io import Dataset
from evaluation.present.blocks import (
    _LINE_IN,
    CHART_WIDTH_IN,
    MIN_FONT_PT,
    Chart,
    Html,
    _year_ticks,
    chars_per_line,
    data_problems_block,
    demo_banner,
    enumerate_fr,
    run_header,
    wrap,
)
from evaluation.present.parameters import (
    NOTEBOOK_PARAMETERS,
    _check_year,
    check_parameter_names,
    dataset_parameter,
    engagement_parameter,
    parameter_error,
    unknown_parameters,
)
from evaluation.present.plan_status import (
    _EXECUTION_NOTE,
    _EXECUTION_NUMERIC,
    _STATUS_MARK,
    _execution_row,
    _monitoring_notes,
    _value_text,
    _years_text,
    is_lower_bound,
    monitoring_table_block,
    plan_execution_block,
    progress_text,
    realised_text,
    status_counts_block,
    status_heatmap,
    status_text,
)
from evaluation.referential.audit import Finding, audit_plan, findings_for
from evaluation.referential.labels import CUMULATION_FR, DIRECTION_FR, MEASURE_FR, glossary_text, target_text, with_unit
from evaluation.referential.plan import Cumulation, Engagement, Indicator, Measure, Plan, load_plan
from evaluation.stats.budget import cost_per_outcome, execution_table, execution_totals
from evaluation.stats.monitoring import MonitoringData, load_monitoring_data
from evaluation.stats.targets import expected_value

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
