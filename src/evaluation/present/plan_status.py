"""Plan-wide follow-up blocks (yearly report and synthesis) and the status texts they share with the
engagement report: status counts, the status heatmap, the indicator table, the budget execution."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable

from evaluation.config import PLAN_YEARS
from evaluation.formatting import (
    NBSP,
    format_count,
    format_eur,
    format_number,
    format_pct,
    html_table,
)
from evaluation.present.blocks import _LINE_IN, CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html, chars_per_line, wrap
from evaluation.referential.labels import glossary_text, target_text, with_unit
from evaluation.referential.plan import Cumulation, Engagement, Indicator, Measure, Plan
from evaluation.stats.budget import execution_rate_pct, execution_totals
from evaluation.stats.monitoring import on_track_share, status_counts
from evaluation.stats.targets import STATUS_FR, Status

# --------------------------------------------------------------------------------------------------
# Monitoring: realised values, target gaps, budget execution


_STATUS_MARK = {"provisional": " (p)", "estimated": " (e)"}


#: The reader's word for a cumulative indicator whose sum misses some years: its sum is shown (a
#: minimum, with ``≥``) but no status can be given (rule 2 of :mod:`evaluation.stats.targets`, status
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
    :mod:`evaluation.stats.targets`, whose note says so)."""
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


def _monitoring_notes(frame: pd.DataFrame, texts: Iterable[str]) -> str:
    """The notes under a table of statuses: what « incomplet » means (when shown), the acronyms met."""
    notes = []
    if (frame["Statut"] == INCOMPLETE_FR).any():
        notes.append(_INCOMPLETE_NOTE)
    glossary = glossary_text(texts, skip=("MEL",))
    if glossary:
        notes.append(glossary)
    return "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)


def _execution_row(
    label: str, planned: float, spent_mel: float, rate: float, spent_all: float, years_reported: str = ""
) -> dict[str, str]:
    """One row of the execution tables: figures and rate of :mod:`evaluation.stats.budget`, rendered."""
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
