"""The section « Ce qui peut être attribué au plan » of the yearly report and of the 2021 synthesis.

The plan asks to "mesurer à l'horizon 2021 l'impact global" of the policy. This module compares the
MEL's QPV with the comparison territories of the data directory (``comparison/``, read by
:func:`evaluation.intake.load_comparison`) with the two designs of :mod:`evaluation.stats.impact`, and
publishes the result once (:class:`ImpactPublication`), rendered three times from the same objects:
the report section (:func:`impact_section`), the exported tables (:func:`impact_tables`) and the
command ``evaluation impact``.

**Who is compared with whom.** The treated units are the territories of the role
:attr:`~evaluation.intake.comparison.GroupRole.TREATED` (the MEL's QPV one by one) for the
difference-in-differences, and the single territory of the role ``TREATED_AGGREGATE`` (the 26
together) for the synthetic control. The comparison units are those of the role ``DONOR`` (other
metropoles' QPV, the MEL's quartiers de veille active): the national aggregates are shown nowhere
as comparison units (France's QPV contain the MEL's). A synthetic-control donor needs a value in
every year used; a donor with a gap is left out of the synthetic control (and named), not of the
difference-in-differences (unbalanced panels are fine there).

**Years.** The report of year ``Y`` uses the values up to ``Y``: the years before
:data:`~evaluation.stats.impact.PLAN_START_YEAR` are the pre-period, 2018 to ``Y`` the post-period; the
event study is relative to :data:`~evaluation.stats.impact.REFERENCE_YEAR` (2017). The difference-in-
differences estimates the mean effect over the post years; the synthetic control gives the gap of
each year, and its mean over the post years is put beside the first in the tables.

**Reading.** Each estimate comes with its interval or its permutation p-value, the pre-trend test,
the pre-period fit, the warnings of :mod:`evaluation.stats.impact` and the cautions (:func:`evaluation.stats.impact.cautions`):
for the census employment rate the caution about five-year pooled vintages is printed next to the
estimate. Figures are printed to 0.1 in the indicator's unit and p-values in percent to 0.1, as the
exported tables round them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes


from evaluation.formatting import (
    format_change,
    format_count,
    format_number,
    format_ordinal,
    format_pct,
    html_table,
)
from evaluation.intake.comparison import (
    COMPARISON_FOLDER,
    COMPARISON_GROUPS,
    COMPARISON_INDICATORS,
    DECLARATION_FILE,
    ComparisonIndicator,
)
from evaluation.io import Dataset
from evaluation.present.blocks import (
    CHART_WIDTH_IN,
    MIN_FONT_PT,
    Chart,
    Html,
    _year_ticks,
    chars_per_line,
    data_problems_block,
    enumerate_fr,
    wrap,
)
from evaluation.present.impact_publication import (
    _ALPHA,
    METHODS,
    SECTION_INDICATORS,
    ImpactPublication,
    IndicatorImpact,
    _years_text,
    check_indicator,
    impact_publication,
)
from evaluation.present.impact_tables import (
    IMPACT_SHEET_NAMES,
    IMPACT_TABLE_TITLES,
    _event_years,
    impact_export_columns,
    impact_export_spec,
    impact_tables,
)
from evaluation.stats import impact
from evaluation.stats.employment_gap import PLAN_BASELINE_GAP_PP, PLAN_REDUCTION_SHARE

__all__ = [
    "SECTION_INDICATORS",
    "METHODS",
    "IMPACT_TABLE_TITLES",
    "IMPACT_SHEET_NAMES",
    "impact_export_columns",
    "IndicatorImpact",
    "ImpactPublication",
    "ImpactSection",
    "check_indicator",
    "impact_publication",
    "impact_section",
    "impact_tables",
    "impact_export_spec",
    "impact_json",
    "impact_text",
]
_TREATED_COLOUR, _SYNTHETIC_COLOUR, _MEAN_COLOUR, _PLACEBO_COLOUR = "#c05621", "#2b6cb0", "#4a5568", "#a0aec0"


# --------------------------------------------------------------------------------------------------
# French figures


def _effect(value: float, spec: ComparisonIndicator, signed: bool = True) -> str:
    """``+1,1 point``, ``-5,0 pour 1 000``: 0.1 in the indicator's unit."""
    text = format_change(value, 1) if signed else format_number(value, 1)
    if spec.effect_unit == "point":
        return f"{text}\u00a0{'point' if abs(round(value, 1)) < 2 else 'points'}"
    return f"{text}\u00a0{spec.effect_unit}"


def _level(value: float, spec: ComparisonIndicator) -> str:
    return format_pct(value, 1) if spec.unit == "%" else f"{format_number(value, 1)}\u00a0{spec.unit}"


def _p(p: float) -> str:
    """A p-value in percent to 0.1 (``5,6 %``); below 0.05 % ``moins de 0,1 %``."""
    if 100 * p < 0.05:
        return "moins de 0,1\u00a0%"
    return format_pct(100 * p, 1)


def _more_or_less(value: float) -> str:
    """``de plus`` or ``de moins``, for a difference written without its sign."""
    return "de moins" if round(value, 1) < 0 else "de plus"


def _above_or_below(value: float) -> str:
    return "au-dessous" if round(value, 1) < 0 else "au-dessus"


def _reading(value: float, spec: ComparisonIndicator) -> str:
    """Whether a positive change of this indicator is good news for the residents."""
    if round(value, 1) == 0:
        return "nul à 0,1 près"
    favourable = (value > 0) == spec.higher_is_better
    return "favorable aux QPV" if favourable else "défavorable aux QPV"


def _name(publication: ImpactPublication, code: str) -> str:
    return publication.comparison.names().get(code, code)


def _comparison_groups_text(publication: ImpactPublication, result: IndicatorImpact) -> str:
    counts: dict[str, int] = {}
    for code in result.control_units:
        group = publication.comparison.territory(code).group
        counts[group] = counts.get(group, 0) + 1
    return enumerate_fr(
        [f"{format_count(n, 'territoire')} du groupe « {COMPARISON_GROUPS[g].label} »" for g, n in counts.items()]
    )


# --------------------------------------------------------------------------------------------------
# The section


@dataclass(frozen=True, eq=False)
class ImpactSection:
    """The blocks of the section, in order (``Html`` and ``Chart``); shown whole when displayed in a notebook."""

    blocks: tuple[Html | Chart, ...]
    publication: ImpactPublication | None = None

    def __iter__(self) -> Iterator[Html | Chart]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> Html | Chart:
        return self.blocks[index]

    def html(self) -> str:
        return "".join(b.html() if isinstance(b, Chart) else b.markup for b in self.blocks)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        text = "\n".join(b.alt if isinstance(b, Chart) else repr(b) for b in self.blocks)
        return {"text/html": self.html(), "text/plain": text}

    def __repr__(self) -> str:
        return "[section : ce qui peut être attribué au plan]"


_BOX = "background:#f6f8fa;border-left:4px solid #2b6cb0;padding:6px 12px;margin:8px 0"
_WARN = "background:#fff3cd;border:2px solid #d39e00;padding:6px 12px;margin:8px 0"


def impact_section(
    year: int, data_dir: str | Path | Dataset = "", publication: ImpactPublication | None = None
) -> ImpactSection:
    """The section « Ce qui peut être attribué au plan » of the report of ``year`` (2018-2021).

    Blocks: a heading with what the section does and the demonstration warning when the comparison
    series are synthetic; the problems of ``comparison/`` if any; the table of the estimates (the
    indicators of ``publication``, by default :data:`SECTION_INDICATORS`); for each indicator of :data:`SECTION_INDICATORS`, the reading in French,
    the chart (MEL QPV, synthetic control and comparison mean; event study; gaps against the
    placebos), the warnings, and the caution on its source; then what the estimates cannot say
    (:data:`evaluation.stats.impact.CAUTIONS`) and what was checked against which independent
    implementation. ``publication``: an :func:`impact_publication` already computed for that year.
    """
    pub = publication if publication is not None else impact_publication(year, data_dir, SECTION_INDICATORS)
    blocks: list[Html | Chart] = [_intro_block(pub)]
    if pub.problems:
        blocks.append(data_problems_block(pub.problems, pub.dataset))
    if not pub.results:
        blocks.append(_absent_block(pub))
        return ImpactSection(tuple(blocks), pub)
    blocks.append(_summary_block(pub))
    for indicator in SECTION_INDICATORS:
        result = pub.results.get(indicator)
        if result is None:
            continue
        blocks.append(_indicator_block(pub, result))
        if result.synthetic is not None or result.event is not None:
            blocks.append(_indicator_chart(pub, result))
    blocks.append(_cautions_block())
    return ImpactSection(tuple(blocks), pub)


def _intro_block(pub: ImpactPublication) -> Html:
    parts = ["<h2>Ce qui peut être attribué au plan</h2>"]
    if pub.synthetic_data:
        # The declaration's own description first (the demo's says what is synthetic), then what it implies here.
        description = (pub.comparison.description or "").strip()
        lead = html.escape(description) if description else "<b>Données de démonstration.</b>"
        parts.append(
            f'<div style="{_WARN}">{lead} Les noms de territoires réels (métropoles, QPV) y portent des valeurs '
            "inventées ; un effet du plan de taille connue y est intégré pour montrer à quoi ressemble un effet réel. "
            "Ces séries sont tirées indépendamment du baromètre : les niveaux des QPV de la MEL diffèrent de ceux "
            "des autres sections. Aucun chiffre de cette section ne doit être cité.</div>"
        )
    parts.append(
        "<p>Le plan veut « mesurer à l'horizon 2021 l'impact global » de la politique métropolitaine sur les "
        "habitants des quartiers prioritaires. Une évolution des QPV n'est pas, à elle seule, un effet du plan : la "
        "conjoncture, la crise sanitaire de 2020 et d'autres politiques les font bouger aussi. On compare donc les QPV "
        "de la MEL à des territoires qui n'ont pas eu ce plan, sur les mêmes années, par deux méthodes :</p><ul>"
        f"<li><b>la double différence</b> : de combien les QPV de la MEL ont-ils évolué de plus (ou de moins) que les "
        f"territoires de comparaison après {impact.REFERENCE_YEAR}, par rapport à avant ? L'étude d'événement donne "
        "cet écart année par année et vérifie qu'il était nul avant le plan ;</li>"
        "<li><b>le contrôle synthétique</b> : une moyenne pondérée de territoires de comparaison qui suit les QPV de "
        f"la MEL avant {impact.PLAN_START_YEAR} ; l'écart qui s'ouvre ensuite estime l'effet, et on le compare aux "
        "écarts obtenus en faisant comme si chaque territoire de comparaison avait eu le plan (placebos).</li></ul>"
    )
    if pub.comparison.present:
        sources = sorted({t.source for t in pub.comparison.territories if t.declared})
        parts.append(
            f"<p><em>Territoires et sources : {html.escape(COMPARISON_FOLDER)}/{html.escape(DECLARATION_FILE)} "
            f"({format_count(len(pub.comparison.territories), 'territoire')} ; "
            f"{html.escape(enumerate_fr(sources[:3]))}{' ...' if len(sources) > 3 else ''}). Valeurs jusqu'à {pub.year}.</em></p>"
        )
    return Html("".join(parts), "impact : présentation")


def _absent_block(pub: ImpactPublication) -> Html:
    return Html(
        f"<p><em>Le jeu de données « {html.escape(pub.dataset.name)} » n'a pas de territoires de comparaison avec "
        f"des séries (dossier {COMPARISON_FOLDER}/, déclarés dans {DECLARATION_FILE}) : cette section n'est pas "
        "produite. Voir le README, « Ce qui peut être attribué au plan ».</em></p>",
        "impact : pas de territoires de comparaison",
    )


def _summary_block(pub: ImpactPublication) -> Html:
    """The table ``impact_estimations`` of :func:`impact_tables`, as the reader sees it."""
    table = impact_tables(pub)["impact_estimations"]
    rows = []
    for row in table.itertuples(index=False):
        spec = COMPARISON_INDICATORS[row.indicator]
        period = (
            f"{row.first_post_year}-{row.last_post_year}"
            if row.first_post_year != row.last_post_year
            else str(row.first_post_year)
        )
        if row.method == "did":
            interval = f"{format_change(row.ci_lower, 1)} à {format_change(row.ci_upper, 1)}"
            check = (
                f"tendances avant le plan : {_p(row.pretrend_pvalue_pct / 100)}"
                if row.pretrend_pvalue_pct == row.pretrend_pvalue_pct
                else ""
            )
            units = f"{row.treated_units} traités, {row.comparison_units} de comparaison"
        else:
            interval = "–"
            check = f"ajustement avant le plan (RMSPE) : {_effect(row.pre_rmspe, spec, signed=False)}"
            units = f"1 traité, {row.comparison_units} de comparaison"
        rows.append(
            {
                "Indicateur": spec.label,
                "Méthode": METHODS[row.method] + (" (écart moyen)" if row.method == "synthetic" else ""),
                "Période": period,
                "Effet estimé": _effect(row.estimate, spec),
                "Intervalle à 95\u00a0%": interval,
                "Probabilité critique": _p(row.pvalue_pct / 100),
                "Vérification": check + (" ; avertissement" if row.warning else ""),
                "Territoires": units,
            }
        )
    markup = html_table(
        pd.DataFrame(rows),
        numeric=["Effet estimé", "Intervalle à 95\u00a0%", "Probabilité critique"],
        caption=f"Ce qui peut être attribué au plan : estimations, valeurs jusqu'à {pub.year}",
    )
    markup += (
        "<p><em>Effet estimé : en points pour un taux en %, en nombre pour 1 000 habitants sinon. Double "
        "différence : écart moyen d'évolution sur la période ; contrôle synthétique : écart moyen à la moyenne "
        "pondérée des territoires de comparaison. Probabilité critique : probabilité d'observer un écart au moins "
        "aussi grand si le plan n'avait eu aucun effet (par les placebos pour le contrôle synthétique).</em></p>"
    )
    return Html(markup, "impact : tableau des estimations")


def _indicator_block(pub: ImpactPublication, result: IndicatorImpact) -> Html:
    spec = result.spec
    parts = [f"<h3>{html.escape(spec.label)}</h3>"]
    parts += [f'<div style="{_WARN}">{html.escape(note)}</div>' for note in result.notes]
    if result.did is not None:
        parts.append(_did_text(pub, result))
        if result.did.warning:
            parts.append(f'<div style="{_WARN}">{html.escape(result.did.warning)}</div>')
    if result.event is not None:
        parts.append(_pretrend_text(result))
    if result.synthetic is not None:
        parts.append(_synthetic_text(pub, result))
        if result.placebo is not None and result.placebo.warning:
            # The warning names the unit by its code: the reader knows it by its name.
            warning = result.placebo.warning.replace(
                result.placebo.treated_unit, _name(pub, result.placebo.treated_unit)
            )
            parts.append(f'<div style="{_WARN}">{html.escape(warning)}</div>')
    if result.indicator == "employment_rate_pct":
        target = PLAN_BASELINE_GAP_PP * PLAN_REDUCTION_SHARE
        parts.append(
            f"<p>Le contrat de ville vise à réduire de moitié l'écart de {format_number(PLAN_BASELINE_GAP_PP, 0)} points "
            f"entre le taux d'emploi des QPV et celui de la MEL, soit {format_number(target, 1)} points. L'effet estimé "
            "ici porte sur le taux des QPV : si le plan n'a pas changé celui du reste de la métropole, il réduit "
            "l'écart d'autant (d'un peu moins, les QPV faisant partie de la MEL).</p>"
        )
    caution_code = "census_vintages" if spec.census else "yearly_sources_first"
    caution = next(c for c in impact.CAUTIONS if c.code == caution_code)
    parts.append(f'<div style="{_BOX}"><b>{html.escape(caution.title)}.</b> {html.escape(caution.text)}</div>')
    return Html("".join(parts), f"impact : {spec.label}")


def _did_text(pub: ImpactPublication, result: IndicatorImpact) -> str:
    d, spec = result.did, result.spec
    assert d is not None
    post = [y for y in _event_years(result) if y >= impact.PLAN_START_YEAR] or list(result.post_years)
    pre = [y for y in _event_years(result) if y < impact.PLAN_START_YEAR] or list(result.pre_years)
    significant = d.ci_lower > 0 or d.ci_upper < 0
    verdict = (
        f"Cet écart d'évolution, {_reading(d.estimate, spec)}, est trop net pour tenir aux seules fluctuations des "
        "séries (l'intervalle ne contient pas 0)."
        if significant
        else "L'intervalle contient 0 : cet écart d'évolution ne se distingue pas des fluctuations ordinaires des "
        "séries ; on ne peut conclure ni à un effet du plan ni à son absence."
    )
    return (
        f"<p><b>Double différence.</b> De {_years_text(post)}, les {d.treated_clusters} QPV de la MEL ont évolué en "
        f"moyenne de {_effect(abs(d.estimate), spec, signed=False)} {_more_or_less(d.estimate)} que les "
        f"{d.control_clusters} territoires de comparaison "
        f"({html.escape(_comparison_groups_text(pub, result))}), par rapport aux années {_years_text(pre)} "
        f"(intervalle de confiance à 95\u00a0% : {format_change(d.ci_lower, 1)} à {_effect(d.ci_upper, spec)} ; "
        f"probabilité critique : {_p(d.pvalue)}). {verdict}</p>"
    )


def _pretrend_text(result: IndicatorImpact) -> str:
    event = result.event
    assert event is not None
    test = event.pretrend
    if test is None:
        return (
            f"<p><b>Avant le plan.</b> Pas de test des années d'avant {impact.PLAN_START_YEAR} : trop peu d'années ou de "
            "territoires pour l'estimer.</p>"
        )
    years = _years_text(test.years)
    if test.pvalue >= _ALPHA:
        return (
            f"<p><b>Avant le plan.</b> Les écarts de {years}, mesurés par rapport à {event.reference_year}, sont "
            f"ensemble compatibles avec des évolutions parallèles (test joint : probabilité critique {_p(test.pvalue)}) : "
            "rien n'indique que les QPV de la MEL s'écartaient déjà des territoires de comparaison. Ce test ne prouve "
            "pas que les évolutions seraient restées parallèles sans le plan.</p>"
        )
    return (
        f"<p><b>Avant le plan.</b> Les QPV de la MEL s'écartaient déjà des territoires de comparaison de {years} "
        f"(test joint : probabilité critique {_p(test.pvalue)}) : la double différence risque d'attribuer au plan "
        "une tendance antérieure ; la lire avec une grande prudence.</p>"
    )


def _synthetic_text(pub: ImpactPublication, result: IndicatorImpact) -> str:
    s, p, spec = result.synthetic, result.placebo, result.spec
    assert s is not None and p is not None
    weights = s.weights[s.weights >= 0.005].sort_values(ascending=False, kind="stable")
    shown = [f"{html.escape(_name(pub, c))} {format_pct(100 * w, 0)}" for c, w in weights.head(4).items()]
    more = len(weights) - len(shown)
    listed = f"{', '.join(shown)} et {format_count(more, 'autre')}" if more > 0 else enumerate_fr(shown)
    last_year, last_gap = int(s.path["year"].iloc[-1]), float(s.path["gap"].iloc[-1])
    placebos = p.units - 1
    smallest = 1 / p.units
    if p.p_value < _ALPHA and p.rank == 1:
        verdict = "aucun placebo ne s'écarte autant : l'écart se distingue de ce que donne le hasard"
    elif p.p_value < _ALPHA:
        verdict = (
            f"l'écart ne se retrouve que chez {format_count(p.rank - 1, 'placebo')} sur {placebos} : il se "
            "distingue de ce que donne le hasard"
        )
    elif p.rank == 1:
        verdict = (
            f"l'écart des QPV de la MEL est le plus marqué de tous, mais avec {placebos} territoires de comparaison la "
            f"probabilité critique ne peut pas descendre sous {_p(smallest)}"
        )
    else:
        verdict = "des placebos font aussi bien ou mieux : l'écart ne se distingue pas de ce que donne le hasard"
    return (
        f"<p><b>Contrôle synthétique.</b> Une moyenne pondérée de {format_count(len(weights), 'territoire')} de "
        f"comparaison ({listed}) reproduit les QPV de la MEL de {_years_text(result.pre_years)} avec un écart "
        f"quadratique moyen (RMSPE) de {_effect(s.pre_rmspe, spec, signed=False)}. En {last_year}, les QPV de la MEL "
        f"sont {_effect(abs(last_gap), spec, signed=False)} {_above_or_below(last_gap)} de ce territoire synthétique "
        f"(écart moyen de {_years_text(result.post_years)} : {_effect(result.mean_post_gap, spec)}). Placebos : en faisant comme si chacun des {placebos} territoires de "
        "comparaison avait eu le plan, l'écart des QPV de la MEL après 2017, rapporté à leur ajustement d'avant, se "
        f"classe {format_ordinal(p.rank)} sur {p.units} : probabilité critique {_p(p.p_value)} ({verdict}).</p>"
        + (
            f"<p><em>Territoires de comparaison laissés hors du contrôle synthétique faute de valeur chaque année : "
            f"{html.escape(enumerate_fr([_name(pub, c) for c in result.left_out]))}.</em></p>"
            if result.left_out
            else ""
        )
    )


def _cautions_block() -> Html:
    items = "".join(f"<li><b>{html.escape(c.title)}.</b> {html.escape(c.text)}</li>" for c in impact.CAUTIONS)
    return Html(
        "<h3>Ce que ces estimations ne peuvent pas dire</h3>"
        f"<ul>{items}</ul>"
        "<p><em>Vérifications : les doubles différences, l'étude d'événement et leurs erreurs types sont celles de "
        "statsmodels (moindres carrés avec indicatrices de territoire et d'année, erreurs types groupées par territoire) "
        "à 10<sup>-9</sup> près sur des panels construits, déséquilibrés ; les poids du contrôle synthétique atteignent "
        "le même ajustement qu'un solveur exact indépendant (recherche de tous les supports) à 10<sup>-6</sup> près ; "
        "les probabilités critiques des placebos sont vérifiées sur un cas calculé à la main ; l'effet intégré aux "
        "données de démonstration est retrouvé dans l'intervalle (tests/test_impact.py, "
        "tests/test_impact_report.py).</em></p>",
        "impact : précautions et vérifications",
    )


# --------------------------------------------------------------------------------------------------
# Charts


def _style(axes: Axes, title: str, width_in: float) -> None:
    """Title wrapped to the panel, fonts of 9 points or more, French numbers, the start of the plan marked."""
    axes.set_title(wrap(title, chars_per_line(width_in, 10)), fontsize=10)
    axes.tick_params(labelsize=MIN_FONT_PT)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5))
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value, 1))
    axes.axvline(impact.PLAN_START_YEAR - 0.5, color="#d39e00", linewidth=1, linestyle="--")


def _paths_figure(pub: ImpactPublication, result: IndicatorImpact) -> tuple[Figure, str]:
    spec = result.spec
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.9))
    axes = figure.subplots()
    treated_label = (
        _name(pub, result.treated_aggregate) if result.treated_aggregate else "QPV de la MEL (moyenne simple)"
    )
    path = result.treated_path
    years = [int(y) for y in path.index]
    axes.plot(years, path.to_numpy(), marker="o", color=_TREATED_COLOUR, linewidth=2, label=wrap(treated_label, 40))
    parts = [
        f"{treated_label} : {_level(path.iloc[0], spec)} en {years[0]}, {_level(path.iloc[-1], spec)} en {years[-1]}"
    ]
    s = result.synthetic
    if s is not None:
        axes.plot(
            s.path["year"],
            s.path["synthetic"],
            linestyle="--",
            color=_SYNTHETIC_COLOUR,
            linewidth=2,
            label="contrôle synthétique",
        )
        parts.append(
            f"contrôle synthétique : {_level(s.path['synthetic'].iloc[0], spec)} puis {_level(s.path['synthetic'].iloc[-1], spec)}"
        )
    mean = result.comparison_mean
    if len(mean):
        count = len(result.donors or result.control_units)
        label = f"moyenne des {count} territoires de comparaison"
        axes.plot(
            [int(y) for y in mean.index], mean.to_numpy(), linestyle=":", color=_MEAN_COLOUR, linewidth=2, label=label
        )
        parts.append(f"{label} : {_level(mean.iloc[0], spec)} puis {_level(mean.iloc[-1], spec)}")
    _style(axes, f"{spec.label} : QPV de la MEL et territoires de comparaison", CHART_WIDTH_IN)
    axes.text(
        impact.PLAN_START_YEAR - 0.4,
        0.03,
        "début du plan",
        transform=axes.get_xaxis_transform(),
        fontsize=MIN_FONT_PT,
        color="#975a16",
    )
    _year_ticks(axes, years, most=10)
    axes.legend(fontsize=MIN_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False, ncol=2)
    figure.tight_layout()
    alt = f"Graphique : {spec.label}, de {years[0]} à {years[-1]}. " + " ; ".join(parts) + "."
    if s is not None:
        alt += f" En {years[-1]}, écart au contrôle synthétique : {_effect(float(s.path['gap'].iloc[-1]), spec)}."
    return figure, alt


def _effects_figure(pub: ImpactPublication, result: IndicatorImpact) -> tuple[Figure, str]:
    spec = result.spec
    panels = [
        k for k, present in (("event", result.event is not None), ("placebo", result.placebo is not None)) if present
    ]
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.9))
    axes_list = figure.subplots(1, len(panels), squeeze=False)[0]
    width = CHART_WIDTH_IN / len(panels) - 0.3
    alts = []
    unit = "points" if spec.effect_unit == "point" else spec.effect_unit
    for axes, panel in zip(axes_list, panels, strict=True):
        if panel == "event":
            event = result.event
            assert event is not None
            table = event.coefficients
            estimated = table[~table["reference"]]
            years = [int(y) for y in table["year"]]
            axes.errorbar(
                estimated["year"],
                estimated["estimate"],
                yerr=[estimated["estimate"] - estimated["ci_lower"], estimated["ci_upper"] - estimated["estimate"]],
                fmt="o",
                color=_TREATED_COLOUR,
                ecolor=_TREATED_COLOUR,
                capsize=3,
                label="écart et intervalle à 95\u00a0%",
            )
            axes.plot(
                [event.reference_year],
                [0.0],
                marker="o",
                markerfacecolor="white",
                color=_TREATED_COLOUR,
                linestyle="none",
                label=f"référence ({event.reference_year})",
            )
            axes.axhline(0, color="#2d3748", linewidth=0.8)
            test = event.pretrend
            title = f"Double différence année par année (écart à {event.reference_year}, en {unit})"
            _style(axes, title, width)
            _year_ticks(axes, years, most=5)
            axes.legend(fontsize=MIN_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
            pre = estimated[estimated["year"] < impact.PLAN_START_YEAR]
            post = estimated[estimated["year"] >= impact.PLAN_START_YEAR]
            text = (
                "Étude d'événement, écart annuel des QPV de la MEL aux territoires de comparaison par rapport à "
                f"{event.reference_year} ({unit})"
            )
            if len(pre):
                text += f" : avant le plan entre {format_change(pre['estimate'].min(), 1)} et {format_change(pre['estimate'].max(), 1)}"
            if test is not None:
                text += f" (test joint des années d'avant : probabilité critique {_p(test.pvalue)})"
            if len(post):
                last = post.iloc[-1]
                text += (
                    f" ; en {int(last['year'])} {format_change(last['estimate'], 1)}, intervalle "
                    f"{format_change(last['ci_lower'], 1)} à {format_change(last['ci_upper'], 1)}"
                )
            alts.append(text + ".")
        else:
            placebo = result.placebo
            assert placebo is not None
            for unit_code, fit in placebo.fits.items():
                if unit_code == placebo.treated_unit:
                    continue
                axes.plot(fit.path["year"], fit.path["gap"], color=_PLACEBO_COLOUR, linewidth=0.8)
            treated = placebo.fits[placebo.treated_unit]
            axes.plot(treated.path["year"], treated.path["gap"], color=_TREATED_COLOUR, linewidth=2.2)
            axes.axhline(0, color="#2d3748", linewidth=0.8)
            years = [int(y) for y in treated.path["year"]]
            _style(axes, f"Écart au contrôle synthétique ({unit}) : QPV de la MEL et placebos", width)
            _year_ticks(axes, years, most=5)
            handles = [
                Line2D([], [], color=_TREATED_COLOUR, linewidth=2.2, label="QPV de la MEL"),
                Line2D([], [], color=_PLACEBO_COLOUR, linewidth=0.8, label=f"{placebo.units - 1} placebos"),
            ]
            axes.legend(
                handles=handles,
                fontsize=MIN_FONT_PT,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.1),
                frameon=False,
                ncol=2,
            )
            last = [float(f.path["gap"].iloc[-1]) for c, f in placebo.fits.items() if c != placebo.treated_unit]
            alts.append(
                f"Écarts au contrôle synthétique en {years[-1]} : QPV de la MEL {format_change(float(treated.path['gap'].iloc[-1]), 1)}, "
                f"placebos entre {format_change(min(last), 1)} et {format_change(max(last), 1)} ; rang des QPV de la MEL "
                f"{format_ordinal(placebo.rank)} sur {placebo.units} (probabilité critique {_p(placebo.p_value)})."
            )
    figure.tight_layout()
    return figure, " ".join(alts)


def _indicator_chart(pub: ImpactPublication, result: IndicatorImpact) -> Chart:
    figures, alts = [], []
    for build in (_paths_figure, _effects_figure):
        if build is _effects_figure and result.event is None and result.placebo is None:
            continue
        figure, alt = build(pub, result)
        figures.append(figure)
        alts.append(alt)
    return Chart(figures, f"graphique : impact, {result.spec.label}", alts)


# --------------------------------------------------------------------------------------------------
# The command ``evaluation impact``: the same objects as text or JSON


def _plain(value: object) -> object:
    """A JSON-ready value: NaN and infinities as None, numpy scalars as Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # type: ignore[union-attr]
    if value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [_plain(r) for r in frame.to_dict("records")]  # type: ignore[misc]


def _cautions_for(result: IndicatorImpact, methods: Sequence[str]) -> list[impact.Caution]:
    """The cautions of the methods computed; the census one only for a census indicator."""
    chosen = [c for c in impact.CAUTIONS if any(m in c.methods for m in methods)]
    return [c for c in chosen if result.spec.census or c.code != "census_vintages"]


def impact_json(publication: ImpactPublication, indicator: str) -> dict[str, object]:
    """What ``evaluation impact --format json`` prints for ``indicator`` (raw values, not rounded)."""
    result = publication.results[indicator]
    did_part = None
    if result.did is not None:
        event = result.event
        did_part = dict(result.did) | {
            "event_study": _records(event.coefficients) if event is not None else None,
            "pretrend": None if event is None or event.pretrend is None else vars(event.pretrend),
        }
    synthetic_part = None
    s, p = result.synthetic, result.placebo
    if s is not None and p is not None:
        synthetic_part = {
            "treated_unit": s.treated_unit,
            "pre_years": list(result.pre_years),
            "post_years": list(result.post_years),
            "weights": {str(k): float(v) for k, v in s.weights.items()},
            "path": _records(s.path),
            "pre_rmspe": s.pre_rmspe,
            "post_rmspe": s.post_rmspe,
            "rmspe_ratio": s.rmspe_ratio,
            "mean_post_gap": result.mean_post_gap,
            "last_year_gap": float(s.path["gap"].iloc[-1]),
            "exact_fit": s.exact_fit,
            "left_out": list(result.left_out),
            "placebo": {"rank": p.rank, "units": p.units, "p_value": p.p_value, "table": _records(p.table)},
            "warning": p.warning,
        }
    methods = [m for m, part in (("did", did_part), ("synthetic", synthetic_part)) if part is not None]
    payload = {
        "demo": publication.synthetic_data,
        "dataset": publication.dataset.name,
        "year": publication.year,
        "indicator": indicator,
        "label": result.spec.label,
        "effect_unit": result.spec.effect_unit,
        "treated_units": list(result.treated_units),
        "comparison_units": list(result.control_units),
        "did": did_part,
        "synthetic": synthetic_part,
        "notes": list(result.notes),
        "cautions": [{"code": c.code, "title": c.title, "text": c.text} for c in _cautions_for(result, methods)],
    }
    return _plain(payload)  # type: ignore[return-value]


def impact_text(publication: ImpactPublication, indicator: str) -> str:
    """What ``evaluation impact`` prints for ``indicator``: the estimates in French, rounded as the reports."""
    result, pub = publication.results[indicator], publication
    spec = result.spec
    lines = []
    if pub.synthetic_data:
        lines.append("DONNÉES DE DÉMONSTRATION (séries de comparaison synthétiques : ne pas citer)")
    lines.append(
        f"{spec.label} : valeurs jusqu'à {pub.year} ; {format_count(len(result.treated_units), 'QPV', 'QPV')} de la MEL, "
        f"{format_count(len(result.control_units), 'territoire')} de comparaison"
    )
    lines += [f"note : {n}" for n in result.notes]
    d = result.did
    if d is not None:
        post = [y for y in _event_years(result) if y >= impact.PLAN_START_YEAR] or list(result.post_years)
        lines.append(
            f"Double différence, {_years_text(post).replace(' à ', '-')} : {_effect(d.estimate, spec)} "
            f"(intervalle à 95\u00a0% : {format_change(d.ci_lower, 1)} à {format_change(d.ci_upper, 1)} ; "
            f"probabilité critique : {_p(d.pvalue)})"
        )
        if d.warning:
            lines.append(f"  attention : {d.warning}")
        event = result.event
        if event is not None:
            if event.pretrend is not None:
                lines.append(
                    f"  tendances avant le plan (test joint {_years_text(event.pretrend.years).replace(' à ', '-')}) : "
                    f"probabilité critique {_p(event.pretrend.pvalue)}"
                )
            lines.append(f"  {'année':<7}{'écart':>8}  intervalle à 95\u00a0%")
            for row in event.coefficients.itertuples(index=False):
                interval = (
                    "référence"
                    if row.reference
                    else f"{format_change(row.ci_lower, 1)} à {format_change(row.ci_upper, 1)}"
                )
                lines.append(f"  {int(row.year):<7}{format_change(row.estimate, 1):>8}  {interval}")
    s, p = result.synthetic, result.placebo
    if s is not None and p is not None:
        lines.append(
            f"Contrôle synthétique : {_name(pub, s.treated_unit)} face à {format_count(len(result.donors), 'territoire')} "
            "de comparaison"
        )
        lines.append(
            f"  ajustement avant {impact.PLAN_START_YEAR} (RMSPE) : {_effect(s.pre_rmspe, spec, signed=False)} ; "
            f"écart moyen {_years_text(result.post_years).replace(' à ', '-')} : {_effect(result.mean_post_gap, spec)} ; "
            f"en {int(s.path['year'].iloc[-1])} : {_effect(float(s.path['gap'].iloc[-1]), spec)}"
        )
        lines.append(f"  placebos : rang {p.rank} sur {p.units}, probabilité critique {_p(p.p_value)}")
        if p.warning:
            lines.append(f"  attention : {p.warning.replace(p.treated_unit, _name(pub, p.treated_unit))}")
        lines.append(f"  {'année':<7}{'QPV MEL':>9}{'synthétique':>13}{'écart':>8}")
        for row in s.path.itertuples(index=False):
            lines.append(
                f"  {int(row.year):<7}{format_number(row.treated, 1):>9}{format_number(row.synthetic, 1):>13}"
                f"{format_change(row.gap, 1):>8}"
            )
        weights = s.weights[s.weights >= 0.005].sort_values(ascending=False, kind="stable")
        lines.append("  poids : " + ", ".join(f"{_name(pub, c)} {format_pct(100 * w, 0)}" for c, w in weights.items()))
        if result.left_out:
            lines.append(f"  laissés de côté (série incomplète) : {', '.join(result.left_out)}")
    return "\n".join(lines) + "\n"
