"""Report blocks of the perception surveys (``notebooks/survey.ipynb``), and what the others cite.

The plan measures two engagements by surveys of the residents of the 26 QPV: sheet 17, the image of
the neighbourhoods ("il s'agira de mener une enquête sur l'image perçue des quartiers"; baseline
"Selon une étude de 2015, 56 % des habitants des quartiers ont une mauvaise image de leur lieu de
vie"), and sheet 4a, a yearly diversity barometer. This module turns one wave of a survey
(:mod:`evaluation.intake.surveys`) into the published figures, **computed once** by
:func:`survey_context` with the design-based estimators of :mod:`evaluation.stats.survey`:

- for each question with an indicator (the 0/1 variable of the description, e.g. "mauvaise
  image"): the share in the whole population of the QPV with its logit interval, for this wave
  and every earlier one (:attr:`IndicatorResults.history`);
- the same share by commune, by sex and by age band (domains estimated on the full design), after
  the disclosure rule: a domain with fewer than :data:`~evaluation.stats.survey.MIN_RESPONDENTS`
  respondents who answered is pooled with the other small ones in "Autres (regroupés)"
  (:func:`~evaluation.stats.survey.merge_small_domains`), then any domain still under the minimum is
  hidden (:func:`~evaluation.stats.survey.suppress_small_domains`). Shares by QPV are not published:
  most QPV have fewer than 30 respondents a wave;
- the change since the previous wave (independent samples: :func:`~evaluation.stats.survey.compare_waves`),
  overall and by sex and age band where both waves have enough respondents;
- the comparison with a published baseline (the 56 % of 2015), a fixed figure whose sampling error,
  question and population are not known (:func:`~evaluation.stats.survey.compare_to_baseline`).

The blocks below only render these figures in French; :func:`published_estimates`,
:func:`published_changes` and :func:`published_baselines` give them as tables (``evaluation
survey``), and :func:`survey_findings` as sentences for the synthesis (sheets 17 and 4a).
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluation.config import PLAN_YEARS
from evaluation.errors import UsageError
from evaluation.formatting import (
    NBSP,
    format_change,
    format_count,
    format_number,
    format_pct,
    html_table,
    sort_key_fr,
)
from evaluation.intake import Problem, SurveyDescription, SurveyWave, load_surveys
from evaluation.intake.surveys import Indicator, Question
from evaluation.io import Dataset
from evaluation.present.blocks import CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html, chars_per_line, enumerate_fr, wrap
from evaluation.present.parameters import _check_year, check_parameter_names, dataset_parameter, parameter_error
from evaluation.present.plan_status import sheet_label
from evaluation.referential.plan import load_plan
from evaluation.stats import survey as sv

__all__ = [
    "DOMAIN_VARIABLES",
    "ESTIMATE_COLUMNS",
    "CHANGE_COLUMNS",
    "BASELINE_COLUMNS",
    "IndicatorResults",
    "SurveyContext",
    "SurveyFinding",
    "survey_context",
    "survey_contexts",
    "survey_block",
    "headline_block",
    "headline_chart",
    "domains_block",
    "domains_chart",
    "change_block",
    "method_block",
    "published_estimates",
    "published_changes",
    "published_baselines",
    "survey_findings",
]

#: The domains published, in the order of the report: respondent column -> French heading.
DOMAIN_VARIABLES: Mapping[str, str] = {"commune": "Commune", "sex": "Sexe", "age_band": "Tranche d'âge"}
#: Domains compared between waves (the communes are pooled differently from one wave to the next).
_CHANGE_VARIABLES = ("sex", "age_band")
#: The table names of :func:`published_estimates` (machine-readable, in French like the exports).
_TABLE_NAMES = {None: "ensemble", "commune": "commune", "sex": "sexe", "age_band": "tranche_age"}
_LEVELS_FR = {
    "F": "Femmes",
    "M": "Hommes",
    "18-29": "18-29 ans",
    "30-44": "30-44 ans",
    "45-59": "45-59 ans",
    "60+": "60 ans et plus",
}
_TOTAL_FR = "Ensemble des quartiers"
_HIDDEN_FR = "non publié"
_CONF_LEVEL = 0.95

#: Columns of :func:`published_estimates`, :func:`published_changes` and :func:`published_baselines`.
ESTIMATE_COLUMNS = (
    "survey",
    "year",
    "sheet",
    "indicator",
    "table",
    "domain",
    "estimate_pct",
    "stderr_pp",
    "ci_lower_pct",
    "ci_upper_pct",
    "respondents",
    "suppressed",
)
CHANGE_COLUMNS = (
    "survey",
    "sheet",
    "indicator",
    "table",
    "domain",
    "year_a",
    "year_b",
    "estimate_a_pct",
    "estimate_b_pct",
    "change_pp",
    "ci_lower_pp",
    "ci_upper_pp",
    "pvalue",
    "respondents_a",
    "respondents_b",
    "suppressed",
)
BASELINE_COLUMNS = (
    "survey",
    "year",
    "sheet",
    "indicator",
    "estimate_pct",
    "baseline_pct",
    "baseline_year",
    "difference_pp",
    "ci_lower_pp",
    "ci_upper_pp",
    "pvalue",
    "source",
)


def _level(value: object) -> str:
    return _TOTAL_FR if value is None else _LEVELS_FR.get(str(value), str(value))


# --------------------------------------------------------------------------------------------------
# The figures, computed once


@dataclass(frozen=True)
class IndicatorResults:
    """The published figures of one indicator of one wave (fractions, as :mod:`evaluation.stats.survey` gives them).

    ``history``: one row per wave up to the report's (column ``year`` and the columns of
    :func:`~evaluation.stats.survey.proportion`); ``domains``: per variable of :data:`DOMAIN_VARIABLES`,
    the table after pooling and suppression (column ``suppressed``, plus ``clusters``: clusters
    with an answer in the domain); ``pooled``: the labels pooled in "Autres (regroupés)" per
    variable; ``change``: :func:`~evaluation.stats.survey.compare_waves` rows with ``variable``,
    ``respondents_a``, ``respondents_b`` and ``suppressed`` (None for a first wave);
    ``baseline``: :func:`~evaluation.stats.survey.compare_to_baseline` of the headline (None without a
    published baseline).
    """

    question: Question
    indicator: Indicator
    year: int
    history: pd.DataFrame
    domains: Mapping[str, pd.DataFrame]
    pooled: Mapping[str, tuple[str, ...]]
    change: pd.DataFrame | None
    previous_year: int | None
    baseline: pd.DataFrame | None
    asked: int
    small_qpv: int
    qpv_count: int

    @property
    def headline(self) -> pd.Series:
        """The row of the report's wave in :attr:`history`."""
        return self.history[self.history["year"] == self.year].iloc[0]

    @property
    def answered(self) -> int:
        return int(self.headline["respondents"])


@dataclass(frozen=True)
class SurveyContext:
    """One wave of one survey, its figures, and the problems met reading the survey's files."""

    dataset: Dataset
    description: SurveyDescription
    year: int
    wave: SurveyWave
    earlier: tuple[SurveyWave, ...]
    problems: tuple[Problem, ...]
    results: tuple[IndicatorResults, ...]

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "enquête": f"{self.description.title} ({self.description.name})",
            "vague": self.year,
            "seuil de publication": f"{sv.MIN_RESPONDENTS} répondants",
        }

    @property
    def clustered(self) -> bool:
        return bool(self.wave.respondents["cluster"].notna().any())

    @property
    def stratified(self) -> bool:
        return bool(self.wave.respondents["stratum"].notna().any())

    def for_sheet(self, sheet: str) -> tuple[IndicatorResults, ...]:
        return tuple(r for r in self.results if r.question.sheet == sheet)


def _design(respondents: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None]:
    """Strata and clusters of a wave; None when the file does not give them (the intake fills every row or none)."""
    strata = respondents["stratum"] if respondents["stratum"].notna().all() else None
    psu = respondents["cluster"] if respondents["cluster"].notna().all() else None
    return strata, psu


def _proportion(respondents: pd.DataFrame, column: str, domain: pd.Series | None = None) -> pd.DataFrame:
    strata, psu = _design(respondents)
    with warnings.catch_warnings():
        # A share of 0 or 1 has no logit interval: its bounds are NaN and shown as « non calculable ».
        warnings.simplefilter("ignore", UserWarning)
        return sv.proportion(respondents[column], respondents["weight"], strata, psu, domain, _CONF_LEVEL)


def _clusters_with_answers(respondents: pd.DataFrame, column: str, domain: pd.Series) -> pd.Series:
    """Per domain label: the clusters (or respondents, without clusters) holding at least one answer."""
    answered = respondents[column].notna() & domain.notna()
    key = respondents["stratum"].astype(str) + "\x00" + respondents["cluster"].astype(str)
    if respondents["cluster"].isna().all():
        key = respondents["respondent_id"]
    return key[answered].groupby(domain[answered]).nunique()


def _domain_table(respondents: pd.DataFrame, column: str, variable: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The published shares by ``variable``: small domains pooled, then any still small hidden."""
    labels = respondents[variable]
    merged = sv.merge_small_domains(labels, respondents[column])
    pooled = tuple(sorted({str(v) for v in labels[merged == sv.OTHER_DOMAINS].dropna()}, key=sort_key_fr))
    table = sv.suppress_small_domains(_proportion(respondents, column, merged))
    table["clusters"] = table["domain"].map(_clusters_with_answers(respondents, column, merged)).fillna(0).astype(int)
    if variable == "commune":
        order = sorted(table["domain"], key=lambda d: (d == sv.OTHER_DOMAINS, sort_key_fr(str(d))))
    else:
        levels = list(_LEVELS_FR)
        order = sorted(table["domain"], key=lambda d: (d == sv.OTHER_DOMAINS, levels.index(d) if d in levels else 99))
    table = table.set_index("domain", drop=False).loc[order].reset_index(drop=True)
    return table, pooled


def _change_table(previous: pd.DataFrame, current: pd.DataFrame, column: str) -> pd.DataFrame:
    """Change since the previous wave, overall and by sex and age band; hidden where a wave is under the minimum."""
    parts = []
    for variable in (None, *_CHANGE_VARIABLES):
        a = _proportion(previous, column, None if variable is None else previous[variable])
        b = _proportion(current, column, None if variable is None else current[variable])
        table = sv.compare_waves(a, b, _CONF_LEVEL)
        counts_a = dict(zip(a["domain"].fillna(_TOTAL_FR), a["respondents"], strict=True))
        counts_b = dict(zip(b["domain"].fillna(_TOTAL_FR), b["respondents"], strict=True))
        table.insert(0, "variable", variable)
        table["respondents_a"] = [int(counts_a[d]) for d in table["domain"].fillna(_TOTAL_FR)]
        table["respondents_b"] = [int(counts_b[d]) for d in table["domain"].fillna(_TOTAL_FR)]
        small = (table["respondents_a"] < sv.MIN_RESPONDENTS) | (table["respondents_b"] < sv.MIN_RESPONDENTS)
        hidden = ["estimate_a", "estimate_b", "difference", "stderr", "ci_lower", "ci_upper", "statistic", "pvalue"]
        table.loc[small, hidden] = np.nan
        table["suppressed"] = small
        if variable is not None:
            levels = list(_LEVELS_FR)
            table = table.iloc[sorted(range(len(table)), key=lambda i: levels.index(table["domain"].iat[i]))]
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _indicator_results(question: Question, wave: SurveyWave, earlier: Sequence[SurveyWave]) -> IndicatorResults:
    indicator = question.indicator
    assert indicator is not None
    column = indicator.name
    respondents = wave.respondents
    history = []
    for part in (*earlier, wave):
        row = _proportion(part.respondents, column)
        row.insert(0, "year", part.year)
        history.append(row)
    history_frame = pd.concat(history, ignore_index=True)
    domains, pooled = {}, {}
    for variable in DOMAIN_VARIABLES:
        if respondents[variable].notna().any():
            domains[variable], pooled[variable] = _domain_table(respondents, column, variable)
    previous = earlier[-1] if earlier else None
    change = _change_table(previous.respondents, respondents, column) if previous is not None else None
    baseline = None
    if question.baseline is not None:
        headline = history_frame[history_frame["year"] == wave.year].drop(columns="year")
        baseline = sv.compare_to_baseline(headline, question.baseline.value, question.baseline.year, _CONF_LEVEL)
    per_qpv = respondents.loc[respondents[column].notna(), "qpv"].value_counts()
    return IndicatorResults(
        question=question,
        indicator=indicator,
        year=wave.year,
        history=history_frame,
        domains=domains,
        pooled=pooled,
        change=change,
        previous_year=previous.year if previous is not None else None,
        baseline=baseline,
        asked=len(respondents),
        small_qpv=int((per_qpv < sv.MIN_RESPONDENTS).sum()),
        qpv_count=int(respondents["qpv"].nunique()),
    )


def _build(dataset: Dataset, waves: Sequence[SurveyWave], problems: Sequence[Problem], year: int) -> SurveyContext:
    wave = next(w for w in waves if w.year == year)
    if not wave.description.weighted:
        raise UsageError(
            f"L'enquête « {wave.description.name} » est livrée sans poids (weights: false) : le calage sur marges "
            "demande les effectifs de la population des quartiers par sexe et tranche d'âge, que le dossier de données "
            "ne fournit pas ; demandez les poids finaux à l'institut et indiquez weights: true."
        )
    if wave.respondents.empty:
        raise UsageError(
            f"L'enquête « {wave.description.name} » n'a aucun répondant utilisable en {year} "
            "(voir les problèmes listés par « evaluation validate »)."
        )
    earlier = tuple(w for w in waves if w.year < year and not w.respondents.empty)
    results = tuple(_indicator_results(q, wave, earlier) for q in wave.description.questions if q.indicator is not None)
    name = wave.description.name
    mine = [p for p in problems if p.path.stem == name or p.path.stem.startswith(f"{name}_")]
    return SurveyContext(dataset, wave.description, year, wave, earlier, tuple(mine), results)


def _waves_by_survey(dataset: Dataset) -> tuple[dict[str, list[SurveyWave]], list[Problem]]:
    waves, problems = load_surveys(dataset)
    by_survey: dict[str, list[SurveyWave]] = {}
    for wave in waves:
        by_survey.setdefault(wave.description.name, []).append(wave)
    return by_survey, problems


def _years_text(waves: Sequence[SurveyWave]) -> str:
    return ", ".join(str(w.year) for w in waves)


def _select(
    by_survey: Mapping[str, Sequence[SurveyWave]], survey: object, year: int, names: tuple[str, str]
) -> Sequence[SurveyWave]:
    """The waves of ``survey`` up to ``year``, or the error naming the value given and the accepted ones."""
    survey_name, year_name = names
    if not by_survey:
        raise parameter_error(
            survey_name, survey, "aucune : le dossier surveys/ du jeu de données ne contient aucune enquête lisible"
        )
    if not isinstance(survey, str) or survey not in by_survey:
        accepted = ", ".join(f"« {n} »" for n in sorted(by_survey))
        raise parameter_error(survey_name, survey, accepted, "ce n'est pas une enquête du jeu de données")
    waves = by_survey[survey]
    if year not in {w.year for w in waves}:
        raise parameter_error(
            year_name, year, f"{_years_text(waves)} (vagues de l'enquête « {survey} »)", "aucune vague cette année"
        )
    return [w for w in waves if w.year <= year]


def survey_context(survey: str = "perception_quartiers", year: int = 2021, data_dir: str = "") -> SurveyContext:
    """Validate the parameters of ``survey.ipynb`` and compute every figure of the survey's wave ``year``.

    A wrong parameter raises :class:`~evaluation.errors.UsageError` with one French line naming it,
    the value and the accepted values (the surveys of the data folder, the years of their waves).
    The report of a year sees the waves up to that year only. Respondent rows with a problem are
    left out (listed by :attr:`SurveyContext.problems`).
    """
    check_parameter_names(("survey", "year", "data_dir"))
    _check_year(year)
    dataset = dataset_parameter(data_dir)
    by_survey, problems = _waves_by_survey(dataset)
    waves = _select(by_survey, survey, year, ("survey", "year"))
    return _build(dataset, waves, problems, year)


def survey_contexts(dataset: Dataset, year: int, survey: str | None = None) -> list[SurveyContext]:
    """The contexts of ``evaluation survey``: one survey, or every survey with a wave in ``year``.

    Errors name the command's options (``--survey``, ``--year``) and the accepted values.
    """
    if year not in PLAN_YEARS:
        raise parameter_error("--year", year, ", ".join(map(str, PLAN_YEARS)) + " (années du plan)")
    by_survey, problems = _waves_by_survey(dataset)
    if survey is not None:
        return [_build(dataset, _select(by_survey, survey, year, ("--survey", "--year")), problems, year)]
    chosen = {name: [w for w in waves if w.year <= year] for name, waves in by_survey.items()}
    chosen = {name: waves for name, waves in chosen.items() if year in {w.year for w in waves}}
    if not chosen:
        known = "; ".join(f"{name} : {_years_text(waves)}" for name, waves in sorted(by_survey.items()))
        raise parameter_error(
            "--year",
            year,
            known or "aucune (pas d'enquête dans le jeu de données)",
            "aucune enquête n'a de vague cette année",
        )
    return [_build(dataset, waves, problems, year) for _, waves in sorted(chosen.items())]


# --------------------------------------------------------------------------------------------------
# Tables of the published figures (``evaluation survey``)


def _pct(value: float) -> float:
    return float("nan") if pd.isna(value) else 100 * float(value)


def published_estimates(ctx: SurveyContext) -> pd.DataFrame:
    """Every share the report publishes, in percent: the whole population, then by commune, sex and age band.

    Columns ``survey, year, sheet, indicator, table, domain, estimate_pct, stderr_pp, ci_lower_pct,
    ci_upper_pct, respondents, suppressed``; a hidden domain keeps its respondent count and has
    blank figures; ``domain`` is empty for the whole population.
    """
    rows = []
    for result in ctx.results:
        head = result.headline
        tables: list[tuple[str | None, pd.DataFrame]] = [(None, pd.DataFrame([head]).assign(suppressed=False))]
        tables += list(result.domains.items())
        for variable, table in tables:
            for record in table.itertuples(index=False):
                rows.append(
                    {
                        "survey": ctx.description.name,
                        "year": ctx.year,
                        "sheet": result.question.sheet,
                        "indicator": result.indicator.name,
                        "table": _TABLE_NAMES[variable],
                        "domain": None if variable is None else str(record.domain),
                        "estimate_pct": _pct(record.estimate),
                        "stderr_pp": _pct(record.stderr),
                        "ci_lower_pct": _pct(record.ci_lower),
                        "ci_upper_pct": _pct(record.ci_upper),
                        "respondents": int(record.respondents),
                        "suppressed": bool(record.suppressed),
                    }
                )
    return pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))


def published_changes(ctx: SurveyContext) -> pd.DataFrame:
    """The changes since the previous wave, in percentage points (empty for a first wave).

    Columns ``survey, sheet, indicator, table, domain, year_a, year_b, estimate_a_pct,
    estimate_b_pct, change_pp, ci_lower_pp, ci_upper_pp, pvalue, respondents_a, respondents_b,
    suppressed``.
    """
    rows = []
    for result in ctx.results:
        if result.change is None:
            continue
        for record in result.change.itertuples(index=False):
            rows.append(
                {
                    "survey": ctx.description.name,
                    "sheet": result.question.sheet,
                    "indicator": result.indicator.name,
                    "table": _TABLE_NAMES[record.variable],
                    "domain": None if record.variable is None else str(record.domain),
                    "year_a": result.previous_year,
                    "year_b": ctx.year,
                    "estimate_a_pct": _pct(record.estimate_a),
                    "estimate_b_pct": _pct(record.estimate_b),
                    "change_pp": _pct(record.difference),
                    "ci_lower_pp": _pct(record.ci_lower),
                    "ci_upper_pp": _pct(record.ci_upper),
                    "pvalue": float(record.pvalue),
                    "respondents_a": int(record.respondents_a),
                    "respondents_b": int(record.respondents_b),
                    "suppressed": bool(record.suppressed),
                }
            )
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def published_baselines(ctx: SurveyContext) -> pd.DataFrame:
    """The headline against the published baselines (fixed figures: only the survey's uncertainty counts).

    Columns ``survey, year, sheet, indicator, estimate_pct, baseline_pct, baseline_year,
    difference_pp, ci_lower_pp, ci_upper_pp, pvalue, source``.
    """
    rows = []
    for result in ctx.results:
        if result.baseline is None:
            continue
        record = result.baseline.iloc[0]
        rows.append(
            {
                "survey": ctx.description.name,
                "year": ctx.year,
                "sheet": result.question.sheet,
                "indicator": result.indicator.name,
                "estimate_pct": _pct(record["estimate"]),
                "baseline_pct": round(_pct(record["baseline"]), 10),  # 56, not 56.00000000000001
                "baseline_year": int(record["baseline_year"]),
                "difference_pp": _pct(record["difference"]),
                "ci_lower_pp": _pct(record["ci_lower"]),
                "ci_upper_pp": _pct(record["ci_upper"]),
                "pvalue": float(record["pvalue"]),
                "source": result.question.baseline.source if result.question.baseline else "",
            }
        )
    return pd.DataFrame(rows, columns=list(BASELINE_COLUMNS))


# --------------------------------------------------------------------------------------------------
# French texts


def _share_text(estimate: float) -> str:
    return format_pct(100 * estimate, 1)


def _baseline_text(value: float) -> str:
    """A published figure as published: ``56 %`` (0.56 times 100 is 56.00000000000001 in floating point)."""
    return format_pct(round(100 * value, 6))


def _interval_text(lower: float, upper: float) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    return f"{format_number(100 * lower, 1)} à {format_pct(100 * upper, 1)}"


def _points(value: float) -> str:
    return f"{format_change(100 * value, 1)}{NBSP}{'point' if abs(round(100 * value, 1)) < 2 else 'points'}"


def _points_interval(lower: float, upper: float) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    return f"{format_change(100 * lower, 1)} à {format_change(100 * upper, 1)}{NBSP}points"


def _verdict(lower: float, upper: float, rise: str, fall: str, same: str) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    if lower > 0:
        return rise
    if upper < 0:
        return fall
    return same


def _sheet_title(sheet: str) -> str:
    try:
        return sheet_label(load_plan().engagement(sheet))
    except UsageError:
        return f"fiche {sheet}"


def _none_for_sheet(ctx: SurveyContext, sheet: str, what: str) -> Html:
    return Html(
        f"<p><em>L'enquête « {html.escape(ctx.description.title)} » ne porte sur aucune question de la fiche "
        f"{html.escape(sheet)} : pas de {html.escape(what)}.</em></p>",
        what,
    )


def survey_block(ctx: SurveyContext) -> Html:
    """What the survey is: its title, institute, population, this wave's respondents; a warning when synthetic."""
    description = ctx.description
    items = [f"<li><b>Enquête</b>{NBSP}: {html.escape(description.title)}</li>"]
    if description.institute:
        items.append(f"<li><b>Institut</b>{NBSP}: {html.escape(description.institute)}</li>")
    if description.population:
        items.append(f"<li><b>Population</b>{NBSP}: {html.escape(description.population)}</li>")
    waves = ", ".join(str(w.year) for w in (*ctx.earlier, ctx.wave))
    items.append(
        f"<li><b>Vague {ctx.year}</b>{NBSP}: {format_count(len(ctx.wave.respondents), 'répondant')} "
        f"(vagues disponibles jusqu'en {ctx.year}{NBSP}: {waves})</li>"
    )
    sheets = enumerate_fr([_sheet_title(s) for s in description.sheets])
    items.append(f"<li><b>Fiches du plan mesurées</b>{NBSP}: {html.escape(sheets)}</li>")
    markup = f'<div class="ev-meta"><ul>{"".join(items)}</ul></div>'
    if description.synthetic:
        markup = (
            '<div class="ev-banner" role="note">Enquête synthétique : aucune réponse de ce fichier n\'est réelle '
            "(jeu de démonstration). Les résultats ci-dessous illustrent la méthode et ne doivent pas être cités.</div>"
            + markup
        )
    return Html(markup, "l'enquête")


def headline_block(ctx: SurveyContext, sheet: str) -> Html:
    """The share of the sheet's indicator(s) in the whole population, its interval, the baseline and the change."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "résultat d'ensemble")
    parts = []
    for result in results:
        head = result.headline
        rows = [
            {
                "Vague": str(int(r["year"])),
                "Part": _share_text(r["estimate"]),
                "Intervalle de confiance à 95 %": _interval_text(r["ci_lower"], r["ci_upper"]),
                "Répondants": format_number(int(r["respondents"])),
            }
            for _, r in result.history.iterrows()
        ]
        baseline = result.question.baseline
        if baseline is not None:
            rows.insert(
                0,
                {
                    "Vague": f"{baseline.year} (étude publiée)",
                    "Part": _baseline_text(baseline.value),
                    "Intervalle de confiance à 95 %": "inconnu",
                    "Répondants": "inconnu",
                },
            )
        table = html_table(
            pd.DataFrame(rows),
            numeric=["Part", "Intervalle de confiance à 95 %", "Répondants"],
            caption=result.indicator.label,
        )
        sentences = [
            f"En {ctx.year}, {_share_text(head['estimate'])} (intervalle de confiance à 95 % : "
            f"{_interval_text(head['ci_lower'], head['ci_upper'])}), estimé sur "
            f"{format_count(result.answered, 'répondant')} ayant répondu à la question "
            f"« {result.question.label} »."
        ]
        if result.baseline is not None and baseline is not None:
            comparison = result.baseline.iloc[0]
            verdict = _verdict(
                comparison["ci_lower"],
                comparison["ci_upper"],
                "au-dessus du chiffre de référence, au-delà de la marge d'erreur de l'enquête",
                "en dessous du chiffre de référence, au-delà de la marge d'erreur de l'enquête",
                "la différence reste dans la marge d'erreur de l'enquête",
            )
            sentences.append(
                f"Chiffre de référence : {_baseline_text(baseline.value)} en {baseline.year} "
                f"(« {baseline.source} »). Écart : {_points(comparison['difference'])} "
                f"({_points_interval(comparison['ci_lower'], comparison['ci_upper'])}) : {verdict}. "
                f"Ce chiffre de {baseline.year} est publié sans marge d'erreur, sans la question posée ni la "
                "définition des quartiers et des habitants interrogés : il est pris comme un nombre fixe, seule "
                "l'incertitude de l'enquête est comptée, et une différence de question ou de champ fausserait la "
                "comparaison sans que l'intervalle le montre."
            )
        if result.change is not None:
            overall = result.change[result.change["variable"].isna()].iloc[0]
            sentences.append(_change_sentence(overall, result.previous_year, ctx.year))
        notes = "".join(f"<p>{html.escape(s)}</p>" for s in sentences)
        parts.append(f"<h3>{html.escape(_sheet_title(sheet))}</h3>{table}{notes}")
    return Html("".join(parts), f"résultat d'ensemble, fiche {sheet}")


def _change_sentence(row: pd.Series, previous_year: int | None, year: int) -> str:
    if row["suppressed"]:
        return (
            f"Évolution depuis {previous_year} non publiée (moins de {sv.MIN_RESPONDENTS} répondants dans une vague)."
        )
    verdict = _verdict(
        row["ci_lower"],
        row["ci_upper"],
        "hausse significative",
        "baisse significative",
        "évolution compatible avec une stabilité (l'intervalle contient 0)",
    )
    return (
        f"Évolution depuis {previous_year} : de {_share_text(row['estimate_a'])} à {_share_text(row['estimate_b'])}, "
        f"soit {_points(row['difference'])} (intervalle de confiance à 95 % : "
        f"{_points_interval(row['ci_lower'], row['ci_upper'])}) : {verdict}."
    )


def _rule_text(result: IndicatorResults) -> str:
    pooled = "; ".join(
        f"{DOMAIN_VARIABLES[variable].lower()} : {enumerate_fr(labels)}"
        for variable, labels in result.pooled.items()
        if labels
    )
    text = (
        f"Règle de publication : un résultat n'est publié que s'il repose sur au moins {sv.MIN_RESPONDENTS} "
        f"répondants ayant répondu à la question ; les groupes plus petits sont réunis dans « {sv.OTHER_DOMAINS} », "
        f"complété au besoin par les plus petits groupes suivants jusqu'à {sv.MIN_RESPONDENTS} répondants. "
    )
    if pooled:
        text += f"Regroupés cette année ({pooled}). "
    if result.qpv_count:
        text += (
            f"Les résultats par quartier prioritaire ne sont pas publiés : {result.small_qpv} des "
            f"{result.qpv_count} quartiers interrogés comptent moins de {sv.MIN_RESPONDENTS} répondants."
        )
    return text


def _domain_rows(table: pd.DataFrame, variable: str) -> list[dict[str, str]]:
    rows = []
    for _, r in table.iterrows():
        hidden = bool(r["suppressed"])
        rows.append(
            {
                DOMAIN_VARIABLES[variable]: _level(r["domain"]),
                "Part": _HIDDEN_FR if hidden else _share_text(r["estimate"]),
                "Intervalle de confiance à 95 %": "–" if hidden else _interval_text(r["ci_lower"], r["ci_upper"]),
                "Répondants": format_number(int(r["respondents"])),
                "Grappes d'adresses": format_number(int(r["clusters"])),
            }
        )
    return rows


def domains_block(ctx: SurveyContext, sheet: str) -> Html:
    """The sheet's indicator(s) by commune, sex and age band, with the publication rule and what it pooled."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "résultat par commune, sexe ou âge")
    parts = []
    for result in results:
        for variable, table in result.domains.items():
            frame = pd.DataFrame(_domain_rows(table, variable))
            if variable != "commune" or not ctx.clustered:
                # The clusters explain the communes' wide intervals; sexes and ages span every cluster.
                frame = frame.drop(columns="Grappes d'adresses")
            caption = f"{result.indicator.label}, par {DOMAIN_VARIABLES[variable].lower()}, en {ctx.year}"
            parts.append(html_table(frame, numeric=[c for c in frame.columns[1:]], caption=caption))
        notes = [_rule_text(result)]
        if "commune" in result.domains and ctx.clustered:
            notes.append(
                "Les intervalles par commune sont larges : les répondants d'une commune viennent de quelques grappes "
                "d'adresses seulement, et des voisins répondent souvent de la même façon ; une différence entre "
                "communes n'est établie que si leurs intervalles ne se recouvrent pas."
            )
        parts.append("".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes))
    return Html("".join(parts), f"résultats par groupe, fiche {sheet}")


def change_block(ctx: SurveyContext, sheet: str) -> Html:
    """Change of the sheet's indicator(s) since the previous wave, overall and by sex and age band."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "évolution")
    parts = []
    for result in results:
        if result.change is None:
            parts.append(
                f"<p><em>{ctx.year} est la première vague de l'enquête : l'évolution sera mesurée à la vague "
                "suivante.</em></p>"
            )
            continue
        previous = result.previous_year
        rows = []
        for _, r in result.change.iterrows():
            variable = r["variable"]
            label = _TOTAL_FR if variable is None or pd.isna(variable) else _level(r["domain"])
            hidden = bool(r["suppressed"])
            rows.append(
                {
                    "Groupe": label,
                    str(previous): _HIDDEN_FR if hidden else _share_text(r["estimate_a"]),
                    str(ctx.year): _HIDDEN_FR if hidden else _share_text(r["estimate_b"]),
                    "Évolution": "–" if hidden else _points(r["difference"]),
                    "Intervalle de confiance à 95 %": "–" if hidden else _points_interval(r["ci_lower"], r["ci_upper"]),
                    "Lecture": "–"
                    if hidden
                    else _verdict(
                        r["ci_lower"], r["ci_upper"], "hausse significative", "baisse significative", "stable"
                    ),
                }
            )
        frame = pd.DataFrame(rows)
        parts.append(
            html_table(
                frame,
                numeric=[str(previous), str(ctx.year), "Évolution", "Intervalle de confiance à 95 %"],
                caption=f"{result.indicator.label} : évolution de {previous} à {ctx.year}",
            )
        )
        parts.append(
            "<p><em>Les deux vagues sont des échantillons tirés séparément : les incertitudes s'additionnent. "
            "« Stable » : l'intervalle de l'évolution contient 0, la différence observée peut relever du hasard du "
            f"tirage. Les communes ne sont pas comparées d'une vague à l'autre : leurs regroupements diffèrent. Un groupe "
            f"de moins de {sv.MIN_RESPONDENTS} répondants dans l'une des vagues n'est pas publié.</em></p>"
        )
    return Html("".join(parts), f"évolution, fiche {sheet}")


def method_block(ctx: SurveyContext) -> Html:
    """The survey's method in plain French: sample, weights, estimates and intervals, non-response, publication rule."""
    description = ctx.description
    paragraphs = []
    method = (description.method or "").rstrip(" .")
    declared = f" Méthode déclarée par l'institut : « {html.escape(method)} »" if method else ""
    if ctx.stratified and ctx.clustered:
        design = (
            "<b>Échantillon.</b> L'échantillon est stratifié par quartier prioritaire (chaque quartier est tiré "
            "séparément) et tiré par grappes : dans chaque quartier, des groupes d'adresses voisines sont tirés, puis "
            "des habitants dans ces groupes. Des voisins se ressemblant, un tel échantillon apporte moins "
            "d'information qu'autant de personnes tirées une à une : les intervalles en tiennent compte."
        )
    elif ctx.stratified:
        design = (
            "<b>Échantillon.</b> L'échantillon est stratifié par quartier prioritaire ; le fichier ne donne pas de "
            "grappes : chaque répondant est traité comme tiré individuellement (si l'institut a tiré des grappes "
            "d'adresses, les intervalles sont trop étroits)."
        )
    else:
        design = (
            "<b>Échantillon.</b> Le fichier ne donne ni strates ni grappes : chaque répondant est traité comme tiré "
            "individuellement dans l'ensemble des quartiers (si le tirage était stratifié ou par grappes, les "
            "intervalles sont approximatifs)."
        )
    paragraphs.append(design + declared + ".")
    paragraphs.append(
        "<b>Poids.</b> Chaque répondant compte pour le nombre d'habitants qu'il représente (son poids) : les "
        "quartiers ne sont pas interrogés en proportion de leur taille, et femmes et personnes âgées répondent plus "
        "souvent. Les poids utilisés sont les poids finaux livrés par l'institut, qui corrigent la non-réponse des "
        "personnes qui n'ont pas voulu ou pu répondre à l'enquête en supposant qu'elles pensent comme les répondants "
        "de même sexe, âge et quartier ; ce rapport ne les recale pas (pas de calage sur marges)."
    )
    paragraphs.append(
        "<b>Estimations et intervalles.</b> Chaque part est le rapport des poids des répondants concernés aux poids "
        "de tous ceux qui ont répondu à la question. Sa marge d'erreur est calculée selon le plan de sondage "
        "(linéarisation de Taylor, grappes supposées tirées avec remise dans chaque quartier, comme le logiciel R "
        "« survey ») ; un quartier où une seule grappe a été tirée compte de façon prudente. L'intervalle de "
        "confiance à 95 % est calculé sur l'échelle logit, qui le garde entre 0 et 100 % et le rend asymétrique près "
        "de ces bornes ; il ne couvre que l'erreur due au tirage, pas les biais de question ou de non-réponse."
    )
    nonresponse = []
    for result in ctx.results:
        missing = result.asked - result.answered
        nonresponse.append(
            f"{format_number(missing)} sur {format_number(result.asked)} à la question « {result.question.label} »"
        )
    paragraphs.append(
        "<b>Non-réponse à une question.</b> Les réponses « ne sait pas », les refus et les questions laissées sans "
        "réponse sont écartés : chaque part est calculée parmi les personnes qui ont répondu à la question, ce qui "
        f"suppose que les autres pensent comme elles. Répondants sans réponse exploitable en {ctx.year} : "
        + html.escape(" ; ".join(nonresponse))
        + "."
    )
    paragraphs.append(
        f"<b>Secret et précision.</b> Aucun résultat n'est publié sur moins de {sv.MIN_RESPONDENTS} répondants : "
        "en dessous, l'intervalle n'est plus fiable et les réponses de personnes identifiables seraient trop proches. "
        "Les communes, sexes ou tranches d'âge trop petits sont regroupés, et les quartiers ne sont pas publiés un à un."
    )
    return Html("".join(f"<p>{p}</p>" for p in paragraphs), "méthode")


# --------------------------------------------------------------------------------------------------
# Charts


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


# --------------------------------------------------------------------------------------------------
# For the synthesis


@dataclass(frozen=True)
class SurveyFinding:
    """What the synthesis cites of one survey indicator for a plan sheet: a French sentence and its figures (in %)."""

    sheet: str
    survey: str
    indicator: str
    label: str
    year: int
    estimate_pct: float
    ci_lower_pct: float
    ci_upper_pct: float
    respondents: int
    baseline_pct: float | None
    baseline_year: int | None
    previous_year: int | None
    change_pp: float | None
    change_ci_lower_pp: float | None
    change_ci_upper_pp: float | None
    synthetic: bool
    sentence: str


def _finding(ctx: SurveyContext, result: IndicatorResults) -> SurveyFinding:
    head = result.headline
    text = (
        f"{result.indicator.label} en {ctx.year} : {_share_text(head['estimate'])} (intervalle de confiance à 95 % : "
        f"{_interval_text(head['ci_lower'], head['ci_upper'])} ; {format_count(result.answered, 'répondant')}, "
        f"enquête « {ctx.description.title} »)"
    )
    baseline = result.question.baseline
    if baseline is not None and result.baseline is not None:
        comparison = result.baseline.iloc[0]
        text += (
            f", contre {_baseline_text(baseline.value)} selon l'étude de {baseline.year} (chiffre publié sans "
            f"marge d'erreur connue ; écart {_points(comparison['difference'])})"
        )
    change = None
    if result.change is not None:
        change = result.change[result.change["variable"].isna()].iloc[0]
        verdict = _verdict(
            change["ci_lower"], change["ci_upper"], "hausse significative", "baisse significative", "stable"
        )
        text += (
            f" ; {_points(change['difference'])} depuis {result.previous_year} "
            f"({_points_interval(change['ci_lower'], change['ci_upper'])}, {verdict})"
        )
    text += "."
    if ctx.description.synthetic or ctx.dataset.demo:
        text += " Données synthétiques de démonstration : à ne pas citer."
    return SurveyFinding(
        sheet=result.question.sheet,
        survey=ctx.description.name,
        indicator=result.indicator.name,
        label=result.indicator.label,
        year=ctx.year,
        estimate_pct=_pct(head["estimate"]),
        ci_lower_pct=_pct(head["ci_lower"]),
        ci_upper_pct=_pct(head["ci_upper"]),
        respondents=result.answered,
        baseline_pct=None if baseline is None else round(100 * baseline.value, 10),
        baseline_year=None if baseline is None else baseline.year,
        previous_year=result.previous_year,
        change_pp=None if change is None else _pct(change["difference"]),
        change_ci_lower_pp=None if change is None else _pct(change["ci_lower"]),
        change_ci_upper_pp=None if change is None else _pct(change["ci_upper"]),
        synthetic=ctx.description.synthetic or ctx.dataset.demo,
        sentence=text,
    )


def survey_findings(year: int, data_dir: str = "") -> list[SurveyFinding]:
    """What the synthesis cites for the sheets the surveys measure (17, 4a): one finding per indicator.

    Every survey of the data folder with a wave in ``year`` counts (none: an empty list, e.g. before
    the first survey of 2020). The figures are those of the survey report of that year (same
    :func:`survey_context` computation). ``data_dir`` empty: the embedded demo data.
    """
    _check_year(year)
    dataset = dataset_parameter(data_dir)
    by_survey, problems = _waves_by_survey(dataset)
    findings = []
    for _name, waves in sorted(by_survey.items()):
        if year not in {w.year for w in waves}:
            continue
        ctx = _build(dataset, [w for w in waves if w.year <= year], problems, year)
        findings += [_finding(ctx, result) for result in ctx.results]
    return sorted(findings, key=lambda f: (f.sheet != "17", f.sheet, f.survey, f.indicator))


def survey_findings_block(year: int, data_dir: str = "") -> Html:
    """The synthesis' paragraph on the sheets measured by surveys (17, 4a): one sentence per indicator
    of :func:`survey_findings`, under the sheet's title; a plain note when no survey has a wave in ``year``."""
    findings = survey_findings(year, data_dir)
    if not findings:
        return Html(
            f"<p><em>Aucune enquête de perception n'a de vague en {year} : les fiches 17 et 4a ne sont pas "
            "mesurées par enquête cette année-là.</em></p>",
            "enquêtes : aucune",
        )
    parts = []
    for sheet in dict.fromkeys(f.sheet for f in findings):
        sentences = "".join(f"<li>{html.escape(f.sentence)}</li>" for f in findings if f.sheet == sheet)
        parts.append(f"<h3>{html.escape(_sheet_title(sheet))}</h3><ul>{sentences}</ul>")
    return Html("".join(parts), f"enquêtes : {len(findings)} indicateur(s)")
