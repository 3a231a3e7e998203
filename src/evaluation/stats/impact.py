"""What can be attributed to the plan: difference-in-differences and synthetic control.

The plan asks to "mesurer à l'horizon 2021 l'impact global" of the policy on the residents of the
priority neighbourhoods. A change in the QPV's indicators is not an impact: national trends, the
2020 health crisis and other policies move them too. This module compares the MEL's QPV with
territories the plan did not cover, over the same years, with two standard designs:

* **Difference-in-differences** (:func:`did`, :func:`event_study`): a two-way fixed-effects
  regression on a panel of territories (several treated units, e.g. the 26 MEL QPV one by one,
  against comparison QPV or aggregates), with standard errors robust to any correlation within a
  territory over time (clustered by territory). The event-study version gives one coefficient per
  year relative to 2017, the last year before the plan, so that diverging trends *before* the plan
  (which would make the comparison unfit) can be seen and tested.
* **Synthetic control** (:func:`synthetic_control`, :func:`placebo`), for a *single* treated unit
  (the 26 QPV together): a weighted average of comparison territories, weights non-negative and
  summing to 1, that reproduces the treated unit's path before the plan; the gap after 2017 is the
  estimated effect. Its inference is by permutation (each comparison unit in turn treated as if it
  had had the plan), the only honest inference with one treated unit (Abadie, Diamond & Hainmueller
  2010, *J. Am. Stat. Assoc.* 105(490), 493-505).

**Credibility guard** (:data:`MIN_CLUSTERS`, :data:`MIN_TREATED_CLUSTERS`): cluster-robust
standard errors are justified as the number of clusters grows, and they are too small when few
clusters are treated (Conley & Taber 2011, *Rev. Econ. Stat.* 93(1); Cameron & Miller 2015,
*J. Human Resources* 50(2); MacKinnon & Webb 2017, *J. Appl. Econometrics* 32(2)). The functions
therefore **refuse** (:class:`~evaluation.errors.UsageError`) when fewer than 2 clusters are treated
or fewer than 2 are not (one treated territory: use :func:`synthetic_control` and :func:`placebo`),
and return the estimate with a ``warning`` in French, to be printed next to it, when there are
fewer than :data:`MIN_CLUSTERS` clusters in all or fewer than :data:`MIN_TREATED_CLUSTERS` treated
(or comparison) clusters. The thresholds are conventions of this package, not theorems: the cited
simulations show over-rejection that grows as these counts fall.

**Cautions** (:data:`CAUTIONS`, :func:`cautions`): what the methods cannot say with the sources of
the barometer (census vintages pooling five years, the 2024 change of the QPV perimeter,
composition effects...), as typed records with French text to be shown in the reports.

The functions work for any indicator column (employment rate, jobseekers per 1 000, business
creations per 1 000, poverty rate): the effect is in the indicator's unit (points for a rate).
The tests compare :func:`did` and :func:`event_study` with statsmodels' OLS with dummies and
``cov_type="cluster"``, and the synthetic-control fit with an independent Frank-Wolfe solver.

**Layout.** This module is the entry point (formerly ``evaluation.impact``): it re-exports the
public names of :mod:`~evaluation.stats.difference_in_differences` (:func:`did`,
:func:`event_study`), :mod:`~evaluation.stats.synthetic_control` (:func:`synthetic_control`,
:func:`placebo`), :mod:`~evaluation.stats.impact_cautions` (:data:`CAUTIONS`) and
:mod:`~evaluation.stats.impact_panel` (the plan's dates and the checks of the input panel); the
census calendar (:func:`census_survey_years`, :func:`census_publication_year`) lives in
:mod:`~evaluation.stats.census`.
"""

from __future__ import annotations

from evaluation.stats.census import census_publication_year, census_survey_years
from evaluation.stats.difference_in_differences import (
    EVENT_STUDY_COLUMNS,
    MIN_CLUSTERS,
    MIN_TREATED_CLUSTERS,
    DidResult,
    EventStudyResult,
    PretrendTest,
    did,
    event_study,
)
from evaluation.stats.impact_cautions import CAUTIONS, Caution, cautions
from evaluation.stats.impact_panel import PLAN_START_YEAR, REFERENCE_YEAR
from evaluation.stats.synthetic_control import (
    PLACEBO_COLUMNS,
    SYNTHETIC_PATH_COLUMNS,
    PlaceboResult,
    SyntheticControlResult,
    placebo,
    synthetic_control,
)

__all__ = [
    "MIN_CLUSTERS",
    "MIN_TREATED_CLUSTERS",
    "PLAN_START_YEAR",
    "REFERENCE_YEAR",
    "EVENT_STUDY_COLUMNS",
    "SYNTHETIC_PATH_COLUMNS",
    "PLACEBO_COLUMNS",
    "DidResult",
    "PretrendTest",
    "EventStudyResult",
    "SyntheticControlResult",
    "PlaceboResult",
    "Caution",
    "CAUTIONS",
    "cautions",
    "census_survey_years",
    "census_publication_year",
    "did",
    "event_study",
    "synthetic_control",
    "placebo",
]
