"""The plan's return-to-work targets against the cohort rates a year publishes.

:func:`target_comparison` reads which indicators are return-to-work percentages, and which outcome
each measures, from the referential (``cohort_outcome`` on the indicator,
:class:`~evaluation.referential.plan.CohortOutcome`), and compares their target with the published
cumulative incidence and its interval. Its own file: it joins the plan and the published rates, where
the other cohort modules only know the records; re-exported by :mod:`evaluation.stats.cohorts`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.referential.plan import Measure, Plan, normalize_engagement_id
from evaluation.stats.caveats import EvaluationWarning
from evaluation.stats.cohort_inputs import _require_columns

__all__ = ["RATE_COLUMNS", "TARGET_COLUMNS", "TARGET_HORIZON_MONTHS", "target_comparison"]

#: Columns of a published rates table (:mod:`evaluation.publish.cohort_release`) read by :func:`target_comparison`.
RATE_COLUMNS = ("programme", "outcome", "horizon_months", "entrants", "estimate_pct", "ci_low_pct", "ci_high_pct")
#: Columns of :func:`target_comparison`.
TARGET_COLUMNS = (
    "indicator_id",
    "programme",
    "indicator_label",
    "outcome",
    "horizon_months",
    "target_pct",
    "entrants",
    "estimate_pct",
    "ci_low_pct",
    "ci_high_pct",
    "gap_pp",
    "verdict",
)
#: Horizon at which the plan's return-to-employment targets are judged (the plan states none).
TARGET_HORIZON_MONTHS = 12


def target_comparison(
    plan: Plan,
    rates: pd.DataFrame,
    *,
    horizon_months: float = TARGET_HORIZON_MONTHS,
) -> pd.DataFrame:
    """The plan's return-to-work percentage targets against the published cumulative incidence.

    **Which indicators**: measure ``percentage``, with a target value, of a sheet that is a
    ``programme`` in ``rates``, that the referential marks as a return to work with its
    ``cohort_outcome`` (:class:`~evaluation.referential.plan.CohortOutcome`; e.g. 12.3, "50% de retour
    à l'emploi ou création d'activités": ``employment``, which includes business creation, as "ou
    création d'activités" asks). That field gives the outcome: "emploi durable" -> ``sustainable``,
    "sortie positive" -> ``positive``, "retour / accès à l'emploi", "reprise d'emploi", "en emploi" ->
    ``employment``. Indicator 5.2 ("70% de création effective" among project holders) is not a
    return-to-work rate and has none.

    **Which rate**: ``rates`` has the columns :data:`RATE_COLUMNS` (the published rates of
    :mod:`evaluation.publish.cohort_release`: the cumulative incidence of the outcome as first event, other
    first events competing, in % of the entrants, already through disclosure control: NaN where
    hidden); rows with a ``group_variable`` column are read at ``"all"``. The row of the indicator's
    programme and outcome at ``horizon_months``, default :data:`TARGET_HORIZON_MONTHS` = 12: the plan
    gives no horizon, and 12 months is the middle of the 6/12/24 follow-up, long enough for a job
    search after a programme of a few months. An indicator whose outcome ``rates`` does not hold
    (``positive``) is skipped with an :class:`~evaluation.stats.employment_gap.EvaluationWarning`.

    **Verdict**, from the interval ``[ci_low_pct, ci_high_pct]`` and the target ``T``: ``above`` when
    ``ci_low_pct > T``, ``below`` when ``ci_high_pct < T``, ``compatible`` when ``T`` lies inside the
    interval (the data cannot tell), ``hidden`` when the rate is secret, ``not_measured`` when nobody
    has been followed that long yet (a ``hidden`` column False with a NaN estimate). An estimate of 0 %
    or 100 % has no log-log interval: it is compared as it is. ``gap_pp = estimate_pct - T`` (points).

    Columns: :data:`TARGET_COLUMNS`; one row per indicator.
    """
    _require_columns(rates, RATE_COLUMNS, "the rates table")
    if "group_variable" in rates.columns:
        rates = rates[rates["group_variable"] == "all"]
    at_horizon = rates[np.isclose(rates["horizon_months"].to_numpy(dtype=float), horizon_months)]
    if at_horizon.empty:
        available = sorted(set(rates["horizon_months"].tolist()))
        raise UsageError(
            f"the rates table has no horizon of {horizon_months} months (it has {available}): "
            f"publish the cumulative incidence at {horizon_months:g} months"
        )
    programmes = at_horizon["programme"].map(lambda p: str(p) if p == "all" else normalize_engagement_id(str(p)))
    outcomes = set(at_horizon["outcome"])
    rows = []
    skipped = []
    for indicator in plan.indicators():
        outcome = indicator.cohort_outcome
        if outcome is None or indicator.measure != Measure.PERCENTAGE or indicator.target.value is None:
            continue
        mine = (programmes == indicator.engagement).to_numpy()
        if not mine.any():
            continue
        wanted = outcome.value
        if wanted not in outcomes:
            skipped.append(f"{indicator.id} ({wanted})")
            continue
        target = float(indicator.target.value)
        for _, rate in at_horizon[mine & (at_horizon["outcome"] == wanted).to_numpy()].iterrows():
            estimate, low, high = (float(rate[c]) for c in ("estimate_pct", "ci_low_pct", "ci_high_pct"))
            if math.isfinite(estimate) and not (math.isfinite(low) and math.isfinite(high)):
                low = high = estimate  # 0 % or 100 %: the log-log interval is undefined at the bounds
            if not math.isfinite(estimate):
                verdict = "not_measured" if not bool(rate.get("hidden", True)) else "hidden"
            elif low > target:
                verdict = "above"
            elif high < target:
                verdict = "below"
            else:
                verdict = "compatible"
            rows.append(
                {
                    "indicator_id": indicator.id,
                    "programme": rate["programme"],
                    "indicator_label": indicator.label,
                    "outcome": wanted,
                    "horizon_months": float(rate["horizon_months"]),
                    "target_pct": target,
                    "entrants": rate["entrants"],
                    "estimate_pct": estimate,
                    "ci_low_pct": low,
                    "ci_high_pct": high,
                    "gap_pp": estimate - target,
                    "verdict": verdict,
                }
            )
    if skipped:
        warnings.warn(
            f"target_comparison: the rates table has no rate for indicator(s) {', '.join(skipped)} "
            "(the cohort reports publish the outcomes 'employment' and 'sustainable')",
            EvaluationWarning,
            stacklevel=2,
        )
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))
