"""The figures of one wave of a perception survey, **computed once** (:func:`survey_context`).

This module reads the survey's waves (:mod:`evaluation.intake.surveys`), checks the report's
parameters and computes, with the design-based estimators of :mod:`evaluation.stats.survey`, the
figures that :mod:`evaluation.present.survey` lists (what the plan asks of sheets 17 and 4a): the
share of each indicator with its interval, for this wave and the earlier ones; the shares by
commune, sex and age band after the small-domain rule; the change since the previous wave; the
comparison with the published 2015 baseline.

Its own file: every rendering of the survey (the report's sections, its charts, the tables of
``evaluation survey``, the synthesis' sentences) reads the same :class:`SurveyContext`, so that a
published figure is computed in one place only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.config import check_year
from evaluation.errors import UsageError
from evaluation.formatting import sort_key_fr
from evaluation.intake import Problem, SurveyDescription, SurveyWave, load_surveys
from evaluation.intake.surveys import Indicator, Question
from evaluation.io import Dataset
from evaluation.present.parameters import _check_year, check_parameter_names, dataset_parameter, parameter_error
from evaluation.stats import survey as sv

__all__ = ["DOMAIN_VARIABLES", "IndicatorResults", "SurveyContext", "survey_context", "survey_contexts"]

#: The domains published, in the order of the report: respondent column -> French heading.
DOMAIN_VARIABLES: Mapping[str, str] = {"commune": "Commune", "sex": "Sexe", "age_band": "Tranche d'âge"}
#: Domains compared between waves (the communes are pooled differently from one wave to the next).
_CHANGE_VARIABLES = ("sex", "age_band")
_LEVELS_FR = {
    "F": "Femmes",
    "M": "Hommes",
    "18-29": "18-29 ans",
    "30-44": "30-44 ans",
    "45-59": "45-59 ans",
    "60+": "60 ans et plus",
}
_TOTAL_FR = "Ensemble des quartiers"
_CONF_LEVEL = 0.95


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


def survey_contexts(
    dataset: Dataset, year: int, survey: str | None = None, skipped: list[str] | None = None
) -> list[SurveyContext]:
    """The contexts of ``evaluation survey``: one survey, or every survey with a wave in ``year``.

    Errors are the command line's: in English like those of the other commands, naming the option
    (``--survey``, ``--year``), the value given and the accepted values. Without ``survey``, a
    survey that cannot be estimated that year (no weights, no usable respondent) is left out and
    the reason appended to ``skipped``; an error only when none can be.
    """
    check_year(year, "--year")
    by_survey, problems = _waves_by_survey(dataset)
    if survey is not None:
        if not by_survey:
            raise UsageError(
                f"--survey {survey!r}: the data directory's surveys/ folder holds no readable survey "
                "(add surveys/<name>.yaml and its wave files; see evaluation validate)"
            )
        if survey not in by_survey:
            raise UsageError(
                f"--survey {survey!r} is not a survey of the data directory (surveys: {', '.join(sorted(by_survey))})"
            )
        waves = by_survey[survey]
        if year not in {w.year for w in waves}:
            raise UsageError(f"--year {year}: survey {survey!r} has no wave that year (waves: {_years_text(waves)})")
        chosen = [w for w in waves if w.year <= year]
        why = _unusable(chosen, year)
        if why:
            raise UsageError(f"--survey {survey!r}, --year {year}: {why}")
        return [_build(dataset, chosen, problems, year)]
    chosen = {name: [w for w in waves if w.year <= year] for name, waves in by_survey.items()}
    chosen = {name: waves for name, waves in chosen.items() if year in {w.year for w in waves}}
    if not chosen:
        known = "; ".join(f"{name}: {_years_text(waves)}" for name, waves in sorted(by_survey.items()))
        raise UsageError(
            f"--year {year}: no survey has a wave that year ({known or 'the data directory holds no survey'})"
        )
    usable = {name: waves for name, waves in chosen.items() if not _unusable(waves, year)}
    for name, waves in sorted(chosen.items()):
        if name not in usable and skipped is not None:
            skipped.append(f"survey {name!r} left out: {_unusable(waves, year)}")
    if not usable:
        reasons = "; ".join(f"{name}: {_unusable(waves, year)}" for name, waves in sorted(chosen.items()))
        raise UsageError(f"--year {year}: no survey of that year can be estimated ({reasons})")
    return [_build(dataset, waves, problems, year) for _, waves in sorted(usable.items())]


def _unusable(waves: Sequence[SurveyWave], year: int) -> str | None:
    """Why the wave of ``year`` cannot be estimated, in English for the command (None: it can)."""
    wave = next(w for w in waves if w.year == year)
    if not wave.description.weighted:
        return (
            "the survey comes without weights (weights: false); raking needs the neighbourhoods' population "
            "by sex and age band, which the data directory does not hold: ask the institute for the final "
            "weights and set weights: true"
        )
    if wave.respondents.empty:
        return "no usable respondent (see the problems listed by evaluation validate)"
    return None
