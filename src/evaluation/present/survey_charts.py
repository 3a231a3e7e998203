"""The charts of the survey report: the share of each wave with its interval, and the shares by group.

Each chart comes with a French text alternative giving every plotted figure (:class:`Chart`). Its
own file: the figures are drawn with matplotlib, which only these two functions need.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from evaluation.formatting import format_number, format_pct
from evaluation.present.blocks import CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html, chars_per_line, wrap
from evaluation.present.survey_context import SurveyContext
from evaluation.present.survey_phrases import _baseline_text, _level, _none_for_sheet

__all__ = ["headline_chart", "domains_chart"]


def headline_chart(ctx: SurveyContext) -> Chart | Html:
    """One panel per indicator: the share of each wave up to the report's with its 95 % interval, and the baseline."""
    if not ctx.results:
        return Html("<p><em>Aucun indicateur défini pour cette enquête : pas de graphique.</em></p>", "graphique")
    columns = min(2, len(ctx.results))
    width = CHART_WIDTH_IN
    height = 3.4
    figure = Figure(figsize=(width, height))
    alts = []
    for index, result in enumerate(ctx.results):
        axes = figure.add_subplot(1, columns, index + 1)
        labels, values, lower, upper = [], [], [], []
        for _, r in result.history.iterrows():
            labels.append(str(int(r["year"])))
            values.append(100 * r["estimate"])
            lower.append(100 * r["ci_lower"])
            upper.append(100 * r["ci_upper"])
        baseline = result.question.baseline
        offset = 1 if baseline is not None else 0
        if baseline is not None:
            axes.plot([0], [100 * baseline.value], marker="D", color="#888888", linestyle="none")
            axes.annotate(
                _baseline_text(baseline.value),
                (0, 100 * baseline.value),
                textcoords="offset points",
                xytext=(8, 0),
                va="center",
                fontsize=MIN_FONT_PT,
            )
        positions = list(range(offset, offset + len(values)))
        errors = np.array(
            [
                [v - lo if np.isfinite(lo) else 0 for v, lo in zip(values, lower, strict=True)],
                [hi - v if np.isfinite(hi) else 0 for v, hi in zip(values, upper, strict=True)],
            ]
        )
        axes.errorbar(positions, values, yerr=errors, fmt="o", color="#2b6cb0", capsize=4)
        for x, value in zip(positions, values, strict=True):
            axes.annotate(
                format_pct(value, 1),
                (x, value),
                textcoords="offset points",
                xytext=(8, 0),
                va="center",
                fontsize=MIN_FONT_PT,
            )
        ticks = ([f"{baseline.year}\n(étude publiée)"] if baseline is not None else []) + labels
        axes.set_xticks(range(len(ticks)), ticks)
        axes.set_xlim(-0.5, len(ticks) - 0.5 + 0.7)  # room for the last point's label
        top = max([*(u for u in upper if np.isfinite(u)), *values, 100 * baseline.value if baseline else 0])
        axes.set_ylim(0, min(100, top * 1.2 + 2))
        axes.set_ylabel("% des répondants", fontsize=MIN_FONT_PT)
        axes.tick_params(labelsize=MIN_FONT_PT)
        axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
        panel_chars = chars_per_line(width / columns - 0.5)
        axes.set_title(wrap(result.indicator.label, panel_chars), fontsize=MIN_FONT_PT, loc="left")
        waves = "; ".join(
            f"{label} : {format_pct(v, 1)} (intervalle de {format_number(lo, 1)} à {format_pct(hi, 1)})"
            for label, v, lo, hi in zip(labels, values, lower, upper, strict=True)
        )
        reference = (
            f"; chiffre publié de {baseline.year} : {_baseline_text(baseline.value)}, sans marge d'erreur connue"
            if baseline is not None
            else ""
        )
        alts.append(f"{result.indicator.label}, par vague, avec l'intervalle de confiance à 95 % : {waves}{reference}.")
    figure.tight_layout()
    return Chart(figure, "graphique : parts par vague", " ".join(alts))


def domains_chart(ctx: SurveyContext, sheet: str) -> Chart | Html:
    """The published shares of the sheet's indicator by sex, age band and commune, with their intervals."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "graphique par groupe")
    figures, alts = [], []
    for result in results:
        labels, values, lower, upper, breaks = [], [], [], [], []
        for variable in ("sex", "age_band", "commune"):
            table = result.domains.get(variable)
            if table is None:
                continue
            if labels:
                breaks.append(len(labels))
            for _, r in table[~table["suppressed"]].iterrows():
                labels.append(_level(r["domain"]))
                values.append(100 * r["estimate"])
                lower.append(100 * r["ci_lower"])
                upper.append(100 * r["ci_upper"])
        if not labels:
            continue
        row_in = 0.26
        height = 0.9 + row_in * len(labels)
        figure = Figure(figsize=(CHART_WIDTH_IN, height))
        axes = figure.add_axes(
            (2.0 / CHART_WIDTH_IN, 0.5 / height, (CHART_WIDTH_IN - 2.3) / CHART_WIDTH_IN, (height - 0.9) / height)
        )
        positions = np.arange(len(labels))[::-1]
        errors = np.array(
            [
                [v - lo if np.isfinite(lo) else 0 for v, lo in zip(values, lower, strict=True)],
                [hi - v if np.isfinite(hi) else 0 for v, hi in zip(values, upper, strict=True)],
            ]
        )
        axes.errorbar(values, positions, xerr=errors, fmt="o", color="#2b6cb0", capsize=3)
        overall = 100 * result.headline["estimate"]
        axes.axvline(overall, color="#d39e00", linestyle="--", linewidth=1.2)
        for position in breaks:  # a line between the sexes, the age bands and the communes
            axes.axhline(len(labels) - position - 0.5, color="#aaaaaa", linewidth=0.8)
        axes.set_yticks(positions, labels)
        axes.set_ylim(-0.7, len(labels) - 0.3)
        axes.set_xlim(0, 100)
        axes.set_xlabel(f"% des répondants (tiretés : ensemble, {format_pct(overall, 1)})", fontsize=MIN_FONT_PT)
        axes.tick_params(labelsize=MIN_FONT_PT)
        axes.xaxis.set_major_formatter(lambda value, _pos: format_number(value))
        title = wrap(
            f"{result.indicator.label} en {ctx.year}, par sexe, âge et commune", chars_per_line(CHART_WIDTH_IN, 10)
        )
        figure.text(0.02, 1 - 0.08 / height, title, ha="left", va="top", fontsize=10)
        figures.append(figure)
        shown = "; ".join(
            f"{label} : {format_pct(v, 1)} ({format_number(lo, 1)} à {format_pct(hi, 1)})"
            for label, v, lo, hi in zip(labels, values, lower, upper, strict=True)
        )
        alts.append(
            f"{result.indicator.label} en {ctx.year} par groupe, avec l'intervalle de confiance à 95 % "
            f"(ensemble : {format_pct(overall, 1)}) : {shown}."
        )
    if not figures:
        return Html("<p><em>Aucun groupe publiable : pas de graphique.</em></p>", "graphique par groupe")
    return Chart(figures, "graphique : parts par groupe", alts)
