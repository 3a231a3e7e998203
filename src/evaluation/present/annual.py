"""Report blocks of the yearly report (``notebooks/annual.ipynb``): the employment-rate gap, the
barometer of the 26 QPV, and the plan's monitoring for the year. French for the reader; no logic
beyond choosing and formatting what :mod:`evaluation.stats.employment_gap`, :mod:`evaluation.stats.barometer`
and :mod:`evaluation.stats.monitoring` compute.

**Disclosure control.** Every figure of a single QPV goes through the barometer's protection
(:func:`evaluation.publish.barometer_disclosure.protect_barometer`, under the data directory's rule), the
same as the exported ``barometre`` table, so that report and export agree: the heatmap and the table
per QPV show ``s`` for a hidden level or change, with ranks among the QPV whose level is published;
the small multiples leave out the hidden years of a QPV's employment rate; the contributions leave
out the QPV whose employment rate is hidden in either year; a commune's figure is hidden when it
includes a QPV whose figure is hidden (the commune table is linked to the QPV table: its figure
and the published QPV would give the hidden one back). The legend of ``s`` is printed under every
table that has a hidden cell.

The figures of all the QPV together and of the comparator (headline, gap chart, reduction) are those
of :func:`evaluation.publish.gap_publication.published_gap`, the object the exported ``ecart_taux_emploi``
table and ``evaluation employment-gap`` publish too: each year of the series is hidden the way that
year's protected barometer hides the QPV aggregate or the comparator (sums over thousands of
residents on real data, never hidden there; on partial data they can be). The decomposition by age
band is not shown when the QPV aggregate or the comparator of either year is hidden, the
contributions when the QPV aggregate of either year is.

**Reading the gap.** The intervals are orders of magnitude (census counts from a sample, an
approximate design effect, sources that overlap): the headline says so, says what the gap measures
and what it does not (the plan's effect), and presents the reduction, the distance to the required
path and the projected year with their ranges.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from evaluation.errors import UsageError
from evaluation.formatting import (
    NBSP,
    format_change,
    format_count,
    format_number,
    format_ordinal,
    format_pct,
    html_table,
    sort_key_fr,
)
from evaluation.intake import Problem, load_barometer
from evaluation.io import Dataset
from evaluation.present.blocks import (
    _LINE_IN,
    CHART_WIDTH_IN,
    MIN_FONT_PT,
    Chart,
    Html,
    _year_ticks,
    chars_per_line,
    enumerate_fr,
    wrap,
)
from evaluation.present.engagement import until_year
from evaluation.present.parameters import _check_year, check_parameter_names, dataset_parameter, parameter_error
from evaluation.present.plan_status import draw_grid
from evaluation.publish.barometer_disclosure import ProtectedBarometer, hidden_levels, protect_barometer
from evaluation.publish.gap_publication import PublishedGap, published_gap
from evaluation.referential.plan import Plan, load_plan
from evaluation.referential.territories import communes_frame, load_qpv
from evaluation.stats import disclosure as dc
from evaluation.stats import employment_gap as eg
from evaluation.stats.barometer import INDICATORS, commune_table
from evaluation.stats.employment_gap import QPV_AGGREGATE
from evaluation.stats.monitoring import MonitoringData, load_monitoring_data

__all__ = [
    "AnnualContext",
    "annual_context",
    "build_annual_context",
    "headline_block",
    "gap_chart",
    "decomposition_block",
    "contributions_block",
    "barometer_heatmap",
    "qpv_small_multiples",
    "qpv_table_block",
    "commune_table_block",
    "reference_block",
]


@dataclass(frozen=True)
class AnnualContext:
    """What the yearly report shows, loaded once from its parameters."""

    plan: Plan
    dataset: Dataset
    year: int
    comparator: str
    baseline_year: int
    barometer: pd.DataFrame
    barometer_problems: tuple[Problem, ...]
    #: The published gap series (protected, :attr:`PublishedGap.series`) and its reduction (None when
    #: the baseline's or the latest year's gap is hidden), the cautions of the computation.
    series: pd.DataFrame
    reduction: eg.GapReduction | None
    guards: tuple[str, ...]
    data: MonitoringData
    gaps: pd.DataFrame
    names: dict[str, str]
    #: The dataset's disclosure rule, and the year's barometer protected under it.
    rule: dc.Rule
    protection: ProtectedBarometer
    #: The levels hidden in the protected barometer of each earlier year (small multiples, changes).
    hidden_by_year: Mapping[int, frozenset[tuple[str, str]]]
    #: The employment-rate gap as published (the same object as the export and the command).
    gap: PublishedGap

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "année": self.year,
            "comparaison": eg.COMPARATORS[self.comparator],
            "année de référence": self.baseline_year,
        }

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.barometer_problems + self.data.problems


def annual_context(
    year: int,
    data_dir: str = "",
    comparator: str = eg.PLAN_COMPARATOR,
    baseline_year: int = 0,
    design_effect: float = eg.DEFAULT_CENSUS_DESIGN_EFFECT,
) -> AnnualContext:
    """Validate the parameters of ``annual.ipynb`` and compute the year's gap, barometer and monitoring.

    ``baseline_year`` 0 means the first year of the barometer series. The gap series stops at
    ``year``: a report of 2019 does not show 2020. ``design_effect``: the census counts' (default
    :data:`evaluation.stats.employment_gap.DEFAULT_CENSUS_DESIGN_EFFECT`, as the export and the command).
    A wrong parameter raises :class:`UsageError` with one French line naming it, the value and the
    accepted values; a name of the parameters cell that the notebook does not declare is warned about.
    The monitoring data stop at ``year`` too.
    """
    check_parameter_names(("year", "data_dir", "comparator", "baseline_year"))
    return build_annual_context(year, data_dir, comparator, baseline_year, design_effect)


def build_annual_context(
    year: int,
    data_dir: str = "",
    comparator: str = eg.PLAN_COMPARATOR,
    baseline_year: int = 0,
    design_effect: float = eg.DEFAULT_CENSUS_DESIGN_EFFECT,
) -> AnnualContext:
    """:func:`annual_context` without the check of the parameters cell's names (the synthesis checks its own)."""
    _check_year(year)
    if comparator not in eg.COMPARATORS:
        accepted = " ou ".join(f"« {key} » ({label})" for key, label in eg.COMPARATORS.items())
        raise parameter_error("comparator", comparator, accepted)
    plan = load_plan()
    dataset = dataset_parameter(data_dir)
    barometer, problems = load_barometer(dataset, plan)
    barometer = barometer[barometer["year"] <= year]
    if barometer.empty:
        raise UsageError(f"no barometer data up to {year} in {dataset.path / 'barometer'}")
    series_years = sorted(int(y) for y in barometer["year"].unique())
    if baseline_year and (isinstance(baseline_year, bool) or baseline_year not in series_years):
        raise parameter_error(
            "baseline_year",
            baseline_year,
            f"0 (première année de la série, {series_years[0]}) ou une année de la série, de {series_years[0]} à {series_years[-1]}",
        )
    data = until_year(load_monitoring_data(plan, dataset), year)
    rule = dc.get_rule(dataset.disclosure or dc.DEFAULT_RULE)
    # Every earlier year's protection once: the changes, the contributions, the small multiples and
    # the gap series all depend on what those years hide.
    earlier = {int(y): hidden_levels(barometer, int(y), rule) for y in sorted(barometer["year"].unique()) if y < year}
    gap = published_gap(
        barometer,
        year,
        comparator,
        rule,
        baseline_year=baseline_year or None,
        design_effect=design_effect,
        hidden_by_year=earlier,
    )
    baseline = gap.baseline_year
    names = (
        {q.code: q.name for q in load_qpv()}
        | {QPV_AGGREGATE: "Ensemble des 26 QPV"}
        | {str(k): v for k, v in eg.COMPARATORS.items()}
    )
    return AnnualContext(
        plan,
        dataset,
        year,
        comparator,
        baseline,
        barometer,
        tuple(problems),
        gap.series,
        gap.reduction,
        gap.cautions,
        data,
        data.gaps(plan, year),
        names,
        rule,
        protect_barometer(barometer, year, rule, baseline, hidden_by_year=earlier),
        earlier,
        gap,
    )


def _hidden_levels(ctx: AnnualContext, year: int) -> frozenset[tuple[str, str]]:
    """The (territory, indicator) levels hidden in the protected barometer of ``year``."""
    if year == ctx.year:
        return ctx.protection.hidden_levels
    return ctx.hidden_by_year.get(year, frozenset())  # every year of the data before ``ctx.year``


def _legend(ctx: AnnualContext) -> str:
    return f"<p><em>{html.escape(dc.legend_fr(ctx.rule))}</em></p>"


#: The indicator of the per-QPV employment figures (contributions, small multiples).
_RATE = "employment_rate_pct"


#: The French sentence of each kind of caveat (:class:`evaluation.stats.employment_gap.CaveatKind`);
#: ``{count}`` is the number of counts a caveat stands for. The small counts are summed in one sentence.
CAVEATS_FR: dict[eg.CaveatKind, str] = {
    eg.CaveatKind.OVERLAPPING_VINTAGES: (
        "Des millésimes du recensement distants de moins de 5 ans sont comparés : ils partagent des enquêtes "
        "annuelles, leur différence n'est pas une évolution entre échantillons indépendants."
    ),
    eg.CaveatKind.METHOD_CHANGE: (
        "La série couvre le changement de méthode de collecte du recensement de 2015 : une partie de l'évolution "
        "peut tenir à la méthode."
    ),
    eg.CaveatKind.CHANGING_PERIMETER: (
        "L'ensemble des quartiers prioritaires ne réunit pas les mêmes quartiers chaque année (données manquantes) : "
        "une partie de l'évolution de son taux peut tenir à ce changement de périmètre."
    ),
    eg.CaveatKind.SMALL_COUNT: (
        "{count} effectifs issus du recensement sont inférieurs à 200, le seuil de prudence de l'INSEE "
        "(surtout par tranche d'âge dans les plus petits quartiers) : les taux qui en dépendent sont fragiles."
    ),
    eg.CaveatKind.MISSING_COUNTS: (
        "Des quartiers ou des années sans effectif de population ou d'actifs occupés de 15 à 64 ans sont écartés "
        "du calcul : les taux de ces années ne portent pas sur tous les quartiers."
    ),
    eg.CaveatKind.MIXED_VINTAGES: (
        "Une même année réunit des millésimes différents du recensement : l'écart compare des périodes d'enquête "
        "différentes."
    ),
    eg.CaveatKind.NOTHING_TO_HALVE: (
        "L'année de référence ne montre pas de retard des quartiers prioritaires : l'objectif de réduire l'écart "
        "de moitié n'y a pas de sens."
    ),
    eg.CaveatKind.PARTIAL_AGE_BANDS: (
        "Des quartiers auxquels manque une tranche d'âge certaines années sont écartés de l'ensemble standardisé "
        "de ces années."
    ),
    eg.CaveatKind.CONTRIBUTIONS_LEFT_OUT: (
        "Des quartiers sans effectifs aux deux années comparées sont écartés du calcul des contributions."
    ),
}


def guards_fr(guards: Sequence[str]) -> list[str]:
    """The statistical caveats of the published gap (:class:`~evaluation.stats.employment_gap.Caveat`), in
    French: one sentence per kind, in the order of :data:`CAVEATS_FR`, the small counts added up. Rendered
    from each caveat's kind, never from its English words; a caveat without a kind is an error (it
    would otherwise vanish from the French report)."""
    kinds: dict[eg.CaveatKind, int] = {}
    for guard in guards:
        kind = getattr(guard, "kind", None)
        if kind is None:
            raise TypeError(f"a caveat without a kind cannot be rendered in French: {guard!r}")
        if kind is eg.CaveatKind.MORE_SMALL_COUNTS:
            kind = eg.CaveatKind.SMALL_COUNT
        kinds[kind] = kinds.get(kind, 0) + getattr(guard, "count", 1)
    return [sentence.format(count=format_number(kinds[kind])) for kind, sentence in CAVEATS_FR.items() if kind in kinds]


def _the(label: str) -> str:
    """The label with its article: « l'ensemble de la Métropole », « la Métropole hors ... »."""
    return f"l'{label}" if label[:1].lower() in "aeéèiouy" else f"la {label}"


def _pp(value: float) -> str:
    return f"{format_number(value, 1)}{NBSP}point{'s' if abs(value) >= 2 else ''}"


def _range(low: float | None, high: float | None) -> str:
    """« entre 0,7 et 1,7 point » (the unit once, at the end)."""
    return f"entre {format_number(low, 1)} et {_pp(high if high is not None else float('nan'))}"


def _path_sentence(r: eg.GapReduction, horizon: int) -> str:
    path = f"la trajectoire linéaire qui mène à l'objectif en {horizon}"
    if r.distance_to_path_low_pp is None:
        return f"L'évolution est {'conforme à' if r.on_path else 'en retard sur'} {path}."
    distance = f"{_pp(abs(r.distance_to_path_pp))}, {_range(r.distance_to_path_low_pp, r.distance_to_path_high_pp)}"
    if r.path_status is eg.PathStatus.BEHIND:
        return f"L'écart reste au-dessus de {path} ({distance}) : ce retard dépasse l'imprécision des chiffres."
    if r.path_status is eg.PathStatus.ON_PATH:
        return f"L'écart est au niveau de {path} ou en dessous, au-delà de l'imprécision des chiffres."
    return (
        f"L'écart à {path} ({distance}) est du même ordre que l'imprécision des chiffres : "
        "on ne peut pas dire s'il est en avance ou en retard."
    )


def _pace_sentence(r: eg.GapReduction) -> str:
    if r.projected_year is not None and r.latest_gap_pp <= r.target_gap_pp:
        return f"L'objectif est atteint depuis {r.projected_year}."
    if r.projected_year is None:
        return "Au rythme observé, l'écart ne se réduit pas : l'objectif ne serait pas atteint."
    sentence = f"Au rythme observé depuis {r.baseline_year}, l'objectif serait atteint en {r.projected_year}"
    if r.projected_year_earliest is not None and r.projected_year_latest is not None:
        sentence += (
            f" ; compte tenu de l'imprécision des chiffres, quelque part entre {r.projected_year_earliest} "
            f"et {r.projected_year_latest}"
        )
    elif r.projected_year_earliest is not None:
        sentence += (
            f" ; compte tenu de l'imprécision des chiffres, pas avant {r.projected_year_earliest}, "
            "et peut-être jamais : l'écart pourrait ne pas se réduire"
        )
    return sentence + "."


def headline_block(ctx: AnnualContext) -> Html:
    """The gap of the year, its range, the reduction against the halving objective, what it means, in sentences."""
    gap, r = ctx.gap, ctx.reduction
    latest = gap.latest_year
    row = gap.row(latest)
    comparator = eg.COMPARATORS[gap.comparator]
    level = f"{format_number(100 * gap.conf_level)}{NBSP}%"
    sentences = []
    if gap.gap_hidden(latest):
        sentences.append(
            f"En {latest}, l'écart de taux d'emploi entre les quartiers prioritaires de la politique de la ville (QPV) et {_the(comparator)} est soumis au "
            "secret statistique : les données de cette année ne couvrent que peu d'habitants, et le publier permettrait "
            "de retrouver des effectifs masqués du baromètre."
        )
    else:
        sentences.append(
            f"En {latest}, le taux d'emploi des 15-64 ans est de {format_pct(row['qpv_rate_pct'], 1)} dans les quartiers prioritaires "
            "de la politique de la ville (QPV) "
            f"et de {format_pct(row['comparator_rate_pct'], 1)} pour la comparaison « {comparator} » : un écart de {_pp(row['gap_pp'])}."
        )
        if pd.isna(row["gap_low_pp"]):
            sentences.append(
                "Ces effectifs viennent de sources exhaustives : ils ne portent pas d'imprécision due au sondage."
            )
        else:
            sentences.append(
                "Le recensement procède par sondage : compte tenu de cette imprécision, l'écart se situe vraisemblablement "
                f"{_range(row['gap_low_pp'], row['gap_high_pp'])} (intervalle de confiance à {level}, un ordre de grandeur)."
            )
    if r is None:
        sentences.append(
            f"L'objectif du contrat de ville est de réduire l'écart de moitié par rapport à {gap.baseline_year}. La réduction "
            "obtenue n'est pas publiée : l'écart de l'année de référence ou celui de la dernière année est soumis au secret "
            "statistique, et la réduction permettrait de le retrouver."
        )
    else:
        reduction = f"La réduction obtenue est de {_pp(r.reduction_pp)}"
        if r.reduction_low_pp is not None:
            reduction += f" ({_range(r.reduction_low_pp, r.reduction_high_pp)})"
        sentences += [
            f"L'objectif du contrat de ville est de réduire l'écart de moitié : de {_pp(r.baseline_gap_pp)} en {r.baseline_year} "
            f"à {_pp(r.target_gap_pp)}. {reduction}, soit {format_pct(r.share_of_target_pct, 0)} de la réduction visée.",
            _path_sentence(r, r.required_path[-1][0]),
            _pace_sentence(r),
        ]
    if not pd.isna(row["gap_low_pp"]) or (r is not None and r.reduction_low_pp is not None):
        sentences.append(
            "Ces fourchettes sont des ordres de grandeur, non des mesures précises. Elles viennent du sondage du recensement "
            "(environ 40 % des logements enquêtés en cinq ans dans les communes de 10 000 habitants ou plus), avec un effet "
            f"de plan de {format_number(gap.design_effect, 1)} qui ne tient pas compte du regroupement des habitants par logement ; "
            "elles traitent comme indépendants des chiffres qui ne le sont pas (les quartiers font partie de la Métropole, "
            "deux millésimes proches partagent des enquêtes), ce qui les élargit ; elles ignorent les autres erreurs "
            "(couverture du recensement, changement de méthode de collecte)."
        )
    sentences += [
        f"Ce que mesure cet écart : la différence, pour un millésime du recensement (cinq années d'enquêtes centrées sur l'année "
        f"affichée), entre la part des habitants de 15 à 64 ans qui ont un emploi dans {_the(comparator)} et dans les quartiers "
        "prioritaires. Ce qu'il ne mesure pas : l'effet du plan d'actions. Il bouge aussi avec la conjoncture, l'âge des "
        "habitants (voir la décomposition ci-dessous) et les déménagements : un habitant qui trouve un emploi puis quitte "
        "son quartier ne compte plus dans le taux du quartier.",
        "Le plan d'actions cite 44 % contre 59 % pour l'ensemble de la Métropole (écart de 15 points), sans préciser l'année de ces chiffres.",
    ]
    left_out = [code for code in str(row["qpv_left_out"]).split(", ") if code]
    if left_out:
        names = ", ".join(html.escape(ctx.names.get(code, code)) for code in left_out)
        sentences.append(
            f"En {latest}, l'ensemble des quartiers prioritaires réunit {format_number(row['qpv_count'])} quartiers : "
            f"{format_number(len(left_out))} en sont écartés faute de données complètes cette année-là ({names})."
        )
    if gap.hidden_years:
        sentences.append(f"<em>{html.escape(dc.legend_fr(ctx.rule))}.</em>")
    guards = "".join(f"<li>{html.escape(g)}</li>" for g in guards_fr(ctx.guards))
    guards = f"<p><b>Précautions de lecture</b></p><ul>{guards}</ul>" if guards else ""
    return Html("".join(f"<p>{s}</p>" for s in sentences) + guards, "écart de taux d'emploi")


def _gap_alt(ctx: AnnualContext) -> str:
    """The gap chart in words: the two rates and the gap, first and last published years, and the objective."""
    s = ctx.series.dropna(subset=["gap_pp"])
    comparator = eg.COMPARATORS[ctx.comparator]
    if s.empty:
        return (
            f"Taux d'emploi des quartiers prioritaires (QPV) et de {_the(comparator)} : "
            "écart soumis au secret statistique toutes les années."
        )
    first, last = s.iloc[0], s.iloc[-1]
    text = (
        f"Taux d'emploi des 15-64 ans des quartiers prioritaires (QPV) et de {_the(comparator)} "
        f"de {int(first['year'])} à {int(last['year'])} : de {format_pct(first['qpv_rate_pct'], 1)} à "
        f"{format_pct(last['qpv_rate_pct'], 1)} dans les QPV, de {format_pct(first['comparator_rate_pct'], 1)} à "
        f"{format_pct(last['comparator_rate_pct'], 1)} pour la comparaison ; l'écart passe de "
        f"{format_number(first['gap_pp'], 1)} à {_pp(last['gap_pp'])}"
    )
    if ctx.reduction is not None:
        horizon = ctx.reduction.required_path[-1][0]
        text += f", pour un objectif de {_pp(ctx.reduction.target_gap_pp)} en {horizon}"
    if ctx.gap.hidden_years:
        text += f" (années soumises au secret statistique : {', '.join(map(str, ctx.gap.hidden_years))})"
    return text + "."


def gap_chart(ctx: AnnualContext) -> Chart:
    """Left: the two rates with their intervals; right: the gap, its interval, the path to the target.

    The published series: a hidden year is a hole in the lines; without a published reduction, no path.
    Drawn at the page's width, fonts of 9 points or more, legends under the panels.
    """
    s = ctx.series
    figure = Figure(figsize=(CHART_WIDTH_IN, 4.6))
    left, right = figure.subplots(1, 2)
    for prefix, label, color in (
        ("qpv", "Quartiers prioritaires (QPV)", "#c05621"),
        ("comparator", eg.COMPARATORS[ctx.comparator], "#2b6cb0"),
    ):
        left.plot(s["year"], s[f"{prefix}_rate_pct"], marker="o", color=color, label=wrap(label, 30))
        if s[f"{prefix}_low_pct"].notna().any():
            left.fill_between(s["year"], s[f"{prefix}_low_pct"], s[f"{prefix}_high_pct"], color=color, alpha=0.2)
    right.plot(s["year"], s["gap_pp"], marker="o", color="#2d3748", label="écart observé")
    if s["gap_low_pp"].notna().any():
        right.fill_between(
            s["year"],
            s["gap_low_pp"],
            s["gap_high_pp"],
            color="#2d3748",
            alpha=0.15,
            label="intervalle à 95 %\n(ordre de grandeur)",
        )
    if ctx.reduction is not None:
        path_years, path_gaps = zip(*ctx.reduction.required_path, strict=True)
        right.plot(path_years, path_gaps, linestyle="--", color="#38a169", label="trajectoire vers l'objectif")
        right.axhline(ctx.reduction.target_gap_pp, color="#38a169", linewidth=0.8)
    titles = ("Taux d'emploi des 15-64 ans (%)", "Écart (points) et objectif de réduction de moitié")
    years = [int(y) for y in s["year"]]
    for axes, title in zip((left, right), titles, strict=True):
        axes.set_title(wrap(title, chars_per_line(CHART_WIDTH_IN / 2 - 0.5, 10)), fontsize=10)
        axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value, 1))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5))
        axes.tick_params(labelsize=MIN_FONT_PT)
        axes.axvline(ctx.year, color="#d39e00", linewidth=0.8)
        _year_ticks(axes, years, most=4)
        axes.legend(fontsize=MIN_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    if ctx.gap.hidden_years:
        hidden = ", ".join(str(y) for y in ctx.gap.hidden_years)
        figure.text(0.01, 0.01, f"Années soumises au secret statistique : {hidden}", fontsize=MIN_FONT_PT)
    figure.tight_layout(rect=(0, 0.04 if ctx.gap.hidden_years else 0, 1, 1))
    return Chart(figure, "graphique : écart de taux d'emploi", _gap_alt(ctx))


def decomposition_block(ctx: AnnualContext) -> Html:
    """Kitagawa decomposition of the change since the baseline, and the age-standardised gap."""
    if ctx.baseline_year == ctx.year:
        return Html("<p><em>Année de référence : pas d'évolution à décomposer.</em></p>", "décomposition")
    if any(ctx.gap.gap_hidden(y) for y in (ctx.baseline_year, ctx.year)):
        return Html(
            "<p><em>Décomposition non publiée : l'écart de l'une des deux années est soumis au secret statistique.</em></p>",
            "décomposition",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", eg.EvaluationWarning)  # the guards are shown in the headline block
        parts = eg.decompose_gap_change(ctx.barometer, ctx.baseline_year, ctx.year, ctx.comparator)
        std = eg.standardised_rates(ctx.barometer, ctx.year).set_index("territory")
    labels = {
        "qpv": "Taux d'emploi des QPV",
        str(ctx.comparator): f"Taux d'emploi : {eg.COMPARATORS[ctx.comparator]}",
        "gap": "Écart",
    }
    rows = [
        {
            "": labels.get(r.series, r.series),
            f"Niveau {ctx.baseline_year}": format_number(r.level_a, 1),
            f"Niveau {ctx.year}": format_number(r.level_b, 1),
            "Évolution totale": format_number(r.total_change_pp, 2),
            "Effet de structure par âge": format_number(r.composition_pp, 2),
            "Effet des taux par âge": format_number(r.rate_effect_pp, 2),
        }
        for r in parts.itertuples()
    ]
    numeric = [c for c in rows[0] if c]
    markup = html_table(
        pd.DataFrame(rows),
        numeric=numeric,
        caption=f"Évolution {ctx.baseline_year}-{ctx.year}, en points (décomposition de Kitagawa)",
    )
    # The gaps are on the comparator's row (its rate minus the QPV aggregate's; NaN on the QPV row).
    comparator = std.loc[str(ctx.comparator)]
    standard = eg.COMPARATORS.get(comparator["standard_territory"], comparator["standard_territory"])
    markup += (
        f"<p>À structure par âge identique (celle de {_the(standard)} en {ctx.year}), l'écart entre "
        f"{_the(eg.COMPARATORS[ctx.comparator])} et les quartiers prioritaires serait de "
        f"{_pp(comparator['standardised_gap_pp'])}, contre {_pp(comparator['crude_gap_pp'])} observés "
        "(taux calculés par tranche d'âge).</p>"
        "<p><em>La décomposition dit d'où vient l'évolution (la structure par âge ou les taux de chaque tranche), "
        "pas pourquoi les taux ont bougé. Elle repose sur les mêmes estimations du recensement que l'écart : "
        "des effets de quelques dixièmes de point sont de l'ordre de l'imprécision des chiffres.</em></p>"
    )
    return Html(markup, "décomposition")


def contributions_block(ctx: AnnualContext, top: int = 8) -> Html:
    """The QPV that moved the aggregate rate most since the baseline (contributions add up to the change)."""
    if ctx.baseline_year == ctx.year:
        return Html("", "contributions")
    if any(ctx.gap.qpv_hidden(y) for y in (ctx.baseline_year, ctx.year)):
        return Html(
            "<p><em>Contributions non publiées : le taux d'emploi de l'ensemble des quartiers est soumis au secret "
            "statistique l'une des deux années.</em></p>",
            "contributions",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", eg.EvaluationWarning)
        frame = eg.qpv_contributions(ctx.barometer, ctx.baseline_year, ctx.year, ctx.comparator)
    # A QPV whose rate is hidden either year is left out of the ranking: its rank would bound it.
    hidden = {t for t, key in _hidden_levels(ctx, ctx.baseline_year) | _hidden_levels(ctx, ctx.year) if key == _RATE}
    left_out = frame["territory"].isin(hidden)
    frame = frame[~left_out]
    frame = frame.reindex(frame["contribution_pp"].abs().sort_values(ascending=False).index).head(top)
    rows = [
        {
            "Quartier": ctx.names.get(r.territory, r.territory),
            f"Taux {ctx.baseline_year}": format_pct(r.rate_a_pct, 1),
            f"Taux {ctx.year}": format_pct(r.rate_b_pct, 1),
            "Contribution (points)": format_number(r.contribution_pp, 2),
        }
        for r in frame.itertuples()
    ]
    markup = html_table(
        pd.DataFrame(rows),
        numeric=[f"Taux {ctx.baseline_year}", f"Taux {ctx.year}", "Contribution (points)"],
        caption=f"Les {top} quartiers qui contribuent le plus à l'évolution du taux d'emploi des QPV",
    )
    markup += (
        "<p><em>La contribution d'un quartier additionne l'évolution de son taux, pondérée par son poids dans la "
        "population des quartiers, et l'évolution de son poids, comptée seulement pour l'écart entre son taux et celui "
        f"de l'ensemble des quartiers ({format_pct(frame['aggregate_rate_mean_pct'].iloc[0], 1) if len(frame) else '–'} "
        "en moyenne sur les deux années) : un quartier qui grandit sans que son taux change ne pèse que s'il est "
        "au-dessus ou en dessous de la moyenne. Les contributions des quartiers s'additionnent à l'évolution d'ensemble. "
        "Elles décrivent d'où vient l'évolution du taux, pas l'effet des actions menées dans chaque quartier.</em></p>"
    )
    if left_out.any():
        count = int(left_out.sum())
        markup += (
            f"<p><em>{format_number(count)} quartier{'s' if count > 1 else ''} non classé{'s' if count > 1 else ''} : "
            "taux d'emploi soumis au secret statistique l'une des deux années.</em></p>"
        )
    return Html(markup, "contributions")


#: Column heads of the barometer heatmap: two short lines each (the table that follows gives the full labels).
_HEATMAP_HEADS = {
    "employment_rate_pct": "Taux\nd'emploi (%)",
    "jobseekers_per_100": "Demandeurs\nd'emploi /100",
    "poverty_rate_pct": "Taux de\npauvreté (%)",
    "caf_dependence_pct": "Dépendance\nCAF (%)",
    "business_creations_per_1000": "Entreprises\ncréées /1 000",
}
#: What the short heads and the jargon of the barometer mean, printed under its heatmap and its table.
_BAROMETER_NOTE = (
    "Demandeurs d'emploi : demandeurs d'emploi en fin de mois (DEFM) inscrits à Pôle emploi en catégorie A "
    "(sans emploi) ou B et C (en activité réduite), pour 100 habitants de 15 à 64 ans. Dépendance CAF : part "
    "des allocataires de la caisse d'allocations familiales (CAF) dont les revenus sont faits à 100 % de "
    "prestations. Entreprises créées : pour 1 000 habitants."
)


def barometer_heatmap(ctx: AnnualContext) -> Chart:
    """QPV × indicator, coloured by rank among the 26 (green: most favourable), annotated with the level.

    QPV names in full (wrapped: a long name makes its row taller), fonts of 9 points or more.
    """
    table = ctx.protection.table.assign(hidden=ctx.protection.flags["level"] != dc.Flag.PUBLISHED)
    qpv = table[table["territory"].str.startswith("QN")]
    keys = [i.key for i in INDICATORS]
    ranks = qpv.pivot(index="territory", columns="indicator", values="rank")[keys]
    levels = qpv.pivot(index="territory", columns="indicator", values="level")[keys]
    hidden = qpv.pivot(index="territory", columns="indicator", values="hidden")[keys].astype(bool)
    order = list(dict.fromkeys(qpv["territory"]))  # the barometer's order (the reference list's)
    ranks, levels, hidden = ranks.loc[order], levels.loc[order], hidden.loc[order]
    annotations = levels.map(lambda v: "" if pd.isna(v) else format_number(v, 1)).mask(hidden, dc.SECRET_SYMBOL)
    width = CHART_WIDTH_IN
    grid_w = 0.58 * len(keys)
    label_w = width - grid_w - 0.2
    names = [wrap(ctx.names.get(code, code), chars_per_line(label_w - 0.1)) for code in order]
    row_heights = [(n.count("\n") + 1) * _LINE_IN + 0.08 for n in names]
    secret = bool(hidden.to_numpy().any())
    title = wrap(
        f"Baromètre {ctx.year} : niveau de chaque indicateur, couleur selon le rang", chars_per_line(width, 10)
    )
    title_h = (title.count("\n") + 1) * 10 * 1.3 / 72 + 0.1
    header, bottom = 1.15, 0.8
    grid_h = sum(row_heights)
    height = title_h + header + grid_h + bottom
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((label_w / width, bottom / height, grid_w / width, grid_h / height))
    top_rank = max(2, int(ranks.max().max())) if secret else 26  # ranks among the published QPV
    mesh = draw_grid(axes, ranks, annotations, row_heights, "RdYlGn_r", 1, top_rank)
    centres = [sum(row_heights[:i]) + h / 2 for i, h in enumerate(row_heights)]
    axes.set_yticks(centres, names)
    axes.set_xticks([j + 0.5 for j in range(len(keys))], [_HEATMAP_HEADS[k] for k in keys], rotation=90)
    axes.xaxis.tick_top()
    figure.text(0.5, 1 - 0.05 / height, title, ha="center", va="top", fontsize=10)
    bar = figure.add_axes((label_w / width, 0.4 / height, grid_w / width, 0.12 / height))
    figure.colorbar(mesh, cax=bar, orientation="horizontal")
    bar.set_xticks(sorted({1, *range(5, top_rank, 5), top_rank}))
    bar.tick_params(labelsize=MIN_FONT_PT)
    among = "parmi les QPV publiés" if secret else "parmi les 26 QPV"
    key = f"Rang {among} (1 = le plus favorable)"
    if secret:
        key += f" ; {dc.legend_fr(ctx.rule)}"
    figure.text(
        (label_w - 0.1) / width,
        0.46 / height,
        wrap(key, chars_per_line(label_w - 0.2)),
        ha="right",
        va="center",
        fontsize=MIN_FONT_PT,
    )
    rates = levels["employment_rate_pct"].where(~hidden["employment_rate_pct"]).dropna()
    alt = (
        f"Carte de chaleur du baromètre {ctx.year} : pour chacun des {len(order)} quartiers prioritaires, le niveau de "
        "cinq indicateurs (taux d'emploi, demandeurs d'emploi pour 100 habitants, taux de pauvreté, dépendance aux "
        "prestations de la CAF, entreprises créées pour 1 000 habitants), coloré selon le rang du quartier "
        f"({among}). Le taux d'emploi va de {format_pct(rates.min(), 1)} ({ctx.names.get(rates.idxmin())}) à "
        f"{format_pct(rates.max(), 1)} ({ctx.names.get(rates.idxmax())}). Les mêmes valeurs figurent dans le tableau "
        "qui suit."
    )
    return Chart(figure, "carte de chaleur du baromètre", alt)


def qpv_small_multiples(ctx: AnnualContext) -> Chart:
    """One small panel per QPV: its employment rate over the years against the comparator's.

    Three panels a row, nine per figure (three figures for the 26 QPV); names in full, wrapped; years
    and rates on every panel. Fixed positions rather than a layout engine, which would measure the
    labels of every panel (seconds per report).
    """
    counts = ctx.barometer[(ctx.barometer["sex"] == "ensemble") & (ctx.barometer["age_band"] == "total")]
    wide = counts.pivot_table(index=["territory", "year"], columns="indicator", values="value", aggfunc="sum")
    rate = (wide["employed_15_64"] / wide["population_15_64"] * 100).unstack("year")
    for year in rate.columns:  # the years a QPV's rate is hidden in that year's barometer are left out
        hidden = [t for t, key in _hidden_levels(ctx, int(year)) if key == _RATE and t in rate.index]
        rate.loc[hidden, year] = float("nan")
    in_data = set(rate.index)
    codes = [c for c in ctx.names if str(c).startswith("QN") and c in in_data]  # the reference list's order
    years = [int(y) for y in rate.columns]
    comparator = eg.COMPARATORS[ctx.comparator]
    low = min(rate.loc[codes].min().min(), rate.loc[ctx.comparator].min())
    high = max(rate.loc[codes].max().max(), rate.loc[ctx.comparator].max())
    columns, rows_per_figure = 3, 3
    width = CHART_WIDTH_IN
    left, right, gap_x = 0.45, 0.25, 0.45
    panel_w = (width - left - right - gap_x * (columns - 1)) / columns
    title_chars = chars_per_line(panel_w)
    per_figure = columns * rows_per_figure
    pages = [codes[i : i + per_figure] for i in range(0, len(codes), per_figure)]
    figures, alts = [], []
    for number, page in enumerate(pages, start=1):
        rows = [page[i : i + columns] for i in range(0, len(page), columns)]
        titles = {c: wrap(ctx.names.get(c, c), title_chars) for c in page}
        heights = [max(titles[c].count("\n") + 1 for c in row) * _LINE_IN + 0.08 for row in rows]
        panel_h, below, legend_h = 1.1, 0.42, 0.5
        height = legend_h + sum(h + panel_h + below for h in heights)
        figure = Figure(figsize=(width, height))
        top = height - legend_h
        for row, title_h in zip(rows, heights, strict=True):
            bottom = top - title_h - panel_h
            for column, code in enumerate(row):
                x = left + column * (panel_w + gap_x)
                axes = figure.add_axes((x / width, bottom / height, panel_w / width, panel_h / height))
                axes.plot(years, rate.loc[ctx.comparator], color="#2b6cb0", linewidth=1.2)
                axes.plot(years, rate.loc[code], color="#c05621", marker=".", linewidth=1.4)
                axes.set_title(titles[code], fontsize=MIN_FONT_PT, loc="left", pad=3)
                axes.set_ylim(low - 3, high + 3)
                axes.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
                axes.tick_params(labelsize=MIN_FONT_PT)
                _year_ticks(axes, years, most=4)
            top = bottom - below
        handles = [
            Line2D([], [], color="#c05621", marker=".", linewidth=1.4, label="taux d'emploi du quartier (%)"),
            Line2D([], [], color="#2b6cb0", linewidth=1.2, label=wrap(comparator, 34)),
        ]
        figure.legend(handles=handles, loc="upper center", ncols=2, fontsize=MIN_FONT_PT, frameon=False)
        figures.append(figure)
        alts.append(_small_multiples_alt(ctx, rate, page, years, (number, len(pages))))
    return Chart(figures, "petits multiples par quartier", alts)


def _small_multiples_alt(
    ctx: AnnualContext, rate: pd.DataFrame, codes: list[str], years: list[int], part: tuple[int, int]
) -> str:
    """One figure of :func:`qpv_small_multiples` in words: the quartiers shown, their range, how many rose."""
    first, last = years[0], years[-1]
    latest = rate.loc[codes, last].dropna()
    change = (rate.loc[codes, last] - rate.loc[codes, first]).dropna()
    names = [ctx.names.get(c, c) for c in codes]
    text = (
        f"Taux d'emploi des 15-64 ans de {first} à {last}, un graphique par quartier, comparé à "
        f"{_the(eg.COMPARATORS[ctx.comparator])} ({format_pct(rate.at[ctx.comparator, last], 1)} en {last}) ; "
        f"partie {part[0]} sur {part[1]} : {enumerate_fr(names)}."
    )
    if not latest.empty:
        text += (
            f" En {last}, de {format_pct(latest.min(), 1)} ({ctx.names.get(latest.idxmin())}) à "
            f"{format_pct(latest.max(), 1)} ({ctx.names.get(latest.idxmax())})"
        )
        if not change.empty:
            text += (
                f" ; en hausse depuis {first} dans {format_count(int((change > 0).sum()), 'quartier')} "
                f"sur {len(change)}"
            )
        text += "."
    return text


def qpv_table_block(ctx: AnnualContext) -> Html:
    """The barometer of the year per QPV, with the aggregate and the comparison rows."""
    protection = ctx.protection
    table = protection.table.assign(
        level_hidden=protection.flags["level"] != dc.Flag.PUBLISHED,
        change_hidden=protection.flags["change_prev"] != dc.Flag.PUBLISHED,
    )

    def wide(column: str) -> pd.DataFrame:
        return table.pivot(index="territory", columns="indicator", values=column)

    level, change, rank = wide("level"), wide("change_prev"), wide("rank")
    level_hidden, change_hidden = wide("level_hidden"), wide("change_hidden")
    rows = []
    for code in table["territory"].unique():
        row = {"Quartier": ctx.names.get(code, code)}
        for ind in INDICATORS:
            if level_hidden.at[code, ind.key]:
                row[ind.label] = dc.SECRET_SYMBOL
                continue
            value = level.at[code, ind.key]
            text = "–" if pd.isna(value) else format_number(value, 1)
            delta = change.at[code, ind.key]
            if change_hidden.at[code, ind.key]:
                text += f" ({dc.SECRET_SYMBOL})"
            elif not pd.isna(delta):
                text += f" ({format_change(delta, 1)})"
            if not pd.isna(rank.at[code, ind.key]):
                text += f" [{format_ordinal(int(rank.at[code, ind.key]))}]"
            row[ind.label] = text
        rows.append(row)
    caption = (
        f"Baromètre {ctx.year} par quartier : niveau (évolution sur un an) "
        f"[rang{'' if table['level_hidden'].any() else ' parmi les 26'}]. Les évolutions sur un an "
        "des indicateurs du recensement comparent des millésimes qui partagent 4 enquêtes annuelles sur 5 : elles sont indicatives."
    )
    markup = html_table(pd.DataFrame(rows), numeric=[i.label for i in INDICATORS], caption=caption)
    if table["level_hidden"].any() or table["change_hidden"].any():
        note = (
            " ; les rangs sont calculés parmi les quartiers dont le niveau est publié"
            if table["level_hidden"].any()
            else ""
        )
        markup += f"<p><em>{html.escape(dc.legend_fr(ctx.rule))}{note}.</em></p>"
    markup += f"<p><em>{html.escape(_BAROMETER_NOTE)}</em></p>"
    return Html(markup, "baromètre par quartier")


def commune_table_block(ctx: AnnualContext) -> Html:
    """The barometer per commune, communes in alphabetical order; a commune's figure that includes a hidden
    QPV figure is hidden."""
    communes = communes_frame()
    table = commune_table(ctx.barometer, communes, ctx.year)
    table = table.iloc[sorted(range(len(table)), key=lambda i: sort_key_fr(str(table["commune"].iloc[i])))]
    codes = communes.groupby("insee")["code"].agg(set)
    hidden = ctx.protection.hidden_levels

    def text(insee: str, ind_key: str, value: float) -> str:
        if any((code, ind_key) in hidden for code in codes.get(insee, ())):
            return dc.SECRET_SYMBOL
        return "–" if pd.isna(value) else format_number(value, 1)

    rows = [
        {
            "Commune": r.commune,
            "QPV": str(r.qpv_count),
            "Dont intercommunaux (comptés en entier)": ", ".join(
                ctx.names.get(c, c) for c in r.intercommunal.split(", ") if c
            )
            or "–",
            **{ind.label: text(r.insee, ind.key, getattr(r, ind.key)) for ind in INDICATORS},
        }
        for r in table.itertuples()
    ]
    frame = pd.DataFrame(rows)
    markup = html_table(
        frame,
        numeric=["QPV", *[i.label for i in INDICATORS]],
        caption=f"Baromètre {ctx.year} par commune (quartiers prioritaires de la commune), communes par ordre alphabétique",
    )
    if (frame[[i.label for i in INDICATORS]] == dc.SECRET_SYMBOL).any(axis=None):
        markup += _legend(ctx)
    return Html(markup, "baromètre par commune")


#: The reference list of the QPV (``data/reference/qpv_mel_2024.csv``), described for the reader. Its
#: facts are those of the file's own comment lines (``territories.reference_provenance``; a test keeps
#: the two in step): the geography and its decree, the sources, and the caveat on the year.
REFERENCE_FR = (
    "Liste des 26 quartiers prioritaires de la politique de la ville (QPV) de la Métropole européenne de Lille, "
    "géographie 2024 (décret n° 2023-1314), avec leurs communes et leur population municipale : données réelles.",
    "Source : données publiques du SIG Ville de l'Agence nationale de la cohésion des territoires (ANCT) et de "
    "l'INSEE, dans une extraction publiée par un tiers en octobre 2025.",
    "La source n'indique pas l'année de ses indicateurs (taux d'emploi, taux de pauvreté, allocataires de la CAF) : "
    "à vérifier avant toute publication de ces chiffres.",
)


def reference_block() -> Html:
    """Provenance and caveat of the real reference list of the 26 QPV, in French."""
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in REFERENCE_FR)
    return Html(
        f"<p><b>Référentiel des quartiers (données réelles)</b></p><ul>{lines}</ul>", "provenance du référentiel"
    )
