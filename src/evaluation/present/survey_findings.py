"""What the synthesis (``notebooks/evaluation_2021.ipynb``) cites of the perception surveys: one
sentence and its figures per survey indicator, for the sheets the surveys measure (17, 4a).

The figures are those of the survey report of the same year (:func:`~evaluation.present.survey_context.survey_context`'s
computation, :class:`~evaluation.present.survey_context.SurveyContext`), never computed again. Its own
file: the synthesis reads typed :class:`SurveyFinding` records, not the survey report's blocks.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from evaluation.formatting import format_count
from evaluation.present.blocks import Html
from evaluation.present.parameters import _check_year, dataset_parameter
from evaluation.present.survey_context import IndicatorResults, SurveyContext, _build, _waves_by_survey
from evaluation.present.survey_phrases import (
    _baseline_text,
    _interval_text,
    _points,
    _points_interval,
    _share_text,
    _sheet_title,
    _verdict,
)
from evaluation.present.survey_tables import _pct

__all__ = ["SurveyFinding", "survey_findings", "survey_findings_block"]


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
