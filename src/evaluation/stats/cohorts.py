"""Cohort follow-up of programme beneficiaries: time to employment, outcome rates, attrition.

The plan asks for it in 2021 ("Renforcer l'évaluation par un suivi de cohorte"): what became of the
people who went through a programme (clause d'insertion, EYES, Territoire zéro chômeur...), how fast,
for whom it worked better, who was lost from follow-up. No I/O: the records come from the caller,
already validated and pseudonymised by the intake (no person key reaches this module), and every
table published from here goes through :mod:`evaluation.stats.disclosure` first.

**Input** (``cohort``): one row per person and programme, with the programme's entry date (the time
origin), the start of observation, the first event's date and kind, the last contact and the
person's groups (QPV, sex, age band, qualification); columns and rules in
:mod:`evaluation.stats.cohort_durations`. Durations are in months since programme entry: ``days /
30.4375`` (:data:`DAYS_PER_MONTH`, the mean month of the Gregorian calendar, 365.25 / 12).

**Estimators** (formulas in each docstring):

* :func:`kaplan_meier`: Kaplan & Meier (1958) product-limit estimate with Greenwood's (1926) variance
  and the log-log interval (Kalbfleisch & Prentice 2002; R ``survfit(..., conf.type = "log-log")``;
  lifelines' default "exponential Greenwood" interval), left truncation as R's
  ``Surv(entry, time, event)``;
* :func:`km_median`: the median with R's rule (``quantile.survfit``: midpoint of a flat segment at
  0.5) and its interval read on the confidence curves (Brookmeyer & Crowley 1982);
* :func:`logrank`: the log-rank test for k >= 2 groups (Mantel 1966; Peto & Peto 1972), as R
  ``survdiff(..., rho = 0)``: full variance-covariance matrix, chi-square on k - 1 degrees of freedom;
* :func:`proportion_ci`: Wilson's (1927) score interval, delegated to
  :func:`evaluation.stats.employment_gap.wilson_ci`;
* :func:`cumulative_incidence` (module :mod:`evaluation.stats.incidence`, re-exported here): the
  Aalen-Johansen estimate of the share of entrants whose first event is the outcome within ``h``
  months, other first events competing, with censoring and late entry. **This is the published
  rate** ("part des bénéficiaires ayant accédé à un emploi dans les h mois"): :func:`competing_data`
  gives its input. An earlier share of the people "observable" at ``h`` counted a success whatever
  the follow-up but a failure only after ``h`` months of follow-up, and so was biased upwards (57 %
  published for a true 40 % on a constructed case); it is gone.

Everything is vectorised with numpy (sorts, ``bincount``, cumulative sums, ``searchsorted``): one
million beneficiaries take well under a second (``benchmarks/bench_cohorts.py``). The tests compare
every estimator with lifelines and statsmodels, on hand data, textbook data and a 1M-row random set.

**Where each part lives** (one idea per file; this module is the interface and re-exports them all,
as listed in the design: ``evaluation.cohorts.kaplan_meier`` and the rest):

* :mod:`evaluation.stats.cohort_durations`: event kinds, outcomes, :func:`survival_data`,
  :func:`competing_data`;
* :mod:`evaluation.stats.kaplan_meier`: :func:`kaplan_meier`, :func:`km_median`;
* :mod:`evaluation.stats.logrank`: :func:`logrank`;
* :mod:`evaluation.stats.incidence`: :func:`cumulative_incidence`, :func:`cumulative_incidence_curve`;
* :mod:`evaluation.stats.attrition`: :func:`lost_to_follow_up`, :func:`attrition`;
* :mod:`evaluation.stats.cohort_targets`: :func:`target_comparison` (the plan's return-to-work targets,
  marked in the referential by the indicators' ``cohort_outcome``);
* here: :func:`proportion_ci`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from evaluation.stats.attrition import ATTRITION_COLUMNS, attrition, lost_to_follow_up
from evaluation.stats.cohort_durations import (
    COMPETING_COLUMNS,
    DAYS_PER_MONTH,
    OUTCOMES,
    SURVIVAL_COLUMNS,
    EventKind,
    competing_data,
    survival_data,
)
from evaluation.stats.cohort_targets import RATE_COLUMNS, TARGET_COLUMNS, TARGET_HORIZON_MONTHS, target_comparison
from evaluation.stats.incidence import cumulative_incidence, cumulative_incidence_curve
from evaluation.stats.intervals import wilson_ci
from evaluation.stats.kaplan_meier import KM_COLUMNS, kaplan_meier, km_median
from evaluation.stats.logrank import LogrankResult, logrank

__all__ = [
    "DAYS_PER_MONTH",
    "EventKind",
    "OUTCOMES",
    "KM_COLUMNS",
    "SURVIVAL_COLUMNS",
    "RATE_COLUMNS",
    "ATTRITION_COLUMNS",
    "TARGET_COLUMNS",
    "TARGET_HORIZON_MONTHS",
    "LogrankResult",
    "kaplan_meier",
    "km_median",
    "logrank",
    "proportion_ci",
    "survival_data",
    "competing_data",
    "COMPETING_COLUMNS",
    "lost_to_follow_up",
    "cumulative_incidence",
    "cumulative_incidence_curve",
    "attrition",
    "target_comparison",
]


def proportion_ci(successes: ArrayLike, trials: ArrayLike, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials``, vectorised: ``(low, high)`` as proportions.

    Delegates to :func:`evaluation.stats.employment_gap.wilson_ci` (formula and edge cases there: 0
    successes give ``low = 0``, all successes ``high = 1``, 0 trials NaN). Returns float arrays of the
    broadcast shape of the inputs (0-dimensional for two scalars).
    """
    low, high = wilson_ci(successes, trials, conf_level)
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)
