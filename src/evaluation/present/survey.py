"""Report blocks of the perception surveys (``notebooks/survey.ipynb``), and what the others cite.

The plan measures two engagements by surveys of the residents of the 26 QPV: sheet 17, the image of
the neighbourhoods ("il s'agira de mener une enquête sur l'image perçue des quartiers"; baseline
"Selon une étude de 2015, 56 % des habitants des quartiers ont une mauvaise image de leur lieu de
vie"), and sheet 4a, a yearly diversity barometer. The survey report turns one wave of a survey
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

The figures live in :mod:`evaluation.present.survey_context`; the rest only renders them, one
module per rendering:

- :mod:`evaluation.present.survey_sections`: the report's sections in French (:func:`survey_block`,
  :func:`headline_block`, :func:`domains_block`, :func:`change_block`, :func:`method_block`);
- :mod:`evaluation.present.survey_charts`: its charts (:func:`headline_chart`, :func:`domains_chart`);
- :mod:`evaluation.present.survey_tables`: the figures as tables (``evaluation survey``:
  :func:`published_estimates`, :func:`published_changes`, :func:`published_baselines`);
- :mod:`evaluation.present.survey_findings`: the sentences of the synthesis (sheets 17 and 4a:
  :func:`survey_findings`, :func:`survey_findings_block`);
- :mod:`evaluation.present.survey_phrases`: the French phrasing of a figure they share.

This module gathers their public names: the notebooks call them as
``from evaluation.present import survey as survey_blocks`` (and under the old name
``evaluation.views_survey``).
"""

from __future__ import annotations

from evaluation.present.survey_charts import domains_chart, headline_chart
from evaluation.present.survey_context import (
    DOMAIN_VARIABLES,
    IndicatorResults,
    SurveyContext,
    survey_context,
    survey_contexts,
)
from evaluation.present.survey_findings import SurveyFinding, survey_findings, survey_findings_block
from evaluation.present.survey_sections import change_block, domains_block, headline_block, method_block, survey_block
from evaluation.present.survey_tables import (
    BASELINE_COLUMNS,
    CHANGE_COLUMNS,
    ESTIMATE_COLUMNS,
    published_baselines,
    published_changes,
    published_estimates,
)

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
    "survey_findings_block",
]
