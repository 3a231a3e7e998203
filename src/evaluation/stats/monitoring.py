"""The yearly follow-up of the plan: a data directory's validated inputs, and plan-wide summaries.

:func:`load_monitoring_data` reads and validates the ``monitoring/`` and ``spending/`` folders once
(rows with a problem are left out and the problems kept, so that a report can say so). The
summaries count target-gap statuses (:mod:`evaluation.stats.targets`) per priority and per engagement and
year, for the yearly report and the 2021 synthesis.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluation import cache
from evaluation.config import PLAN_YEARS
from evaluation.intake import Problem, folder_state, load_monitoring, load_spending
from evaluation.io import Dataset
from evaluation.referential.plan import Plan
from evaluation.stats.targets import DEFAULT_TOLERANCE, Status, gap_table

__all__ = ["MonitoringData", "load_monitoring_data", "status_counts", "on_track_share"]

#: Statuses that count as "atteint ou en bonne voie" in the summaries.
POSITIVE = (Status.ACHIEVED, Status.ON_TRACK)
#: Statuses judged against a target figure (the denominator of :func:`on_track_share`).
JUDGED = (Status.ACHIEVED, Status.ON_TRACK, Status.BEHIND, Status.NO_DATA)


@dataclass(frozen=True)
class MonitoringData:
    """Validated realised values and spending of a data directory, with the problems found."""

    dataset: Dataset
    realised: pd.DataFrame
    spending: pd.DataFrame
    problems: tuple[Problem, ...]

    def gaps(self, plan: Plan, year: int, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
        return gap_table(plan, self.realised, year, tolerance=tolerance)


def load_monitoring_data(plan: Plan, dataset: Dataset) -> MonitoringData:
    """The validated ``monitoring/`` and ``spending/`` inputs, read once per state of the files.

    A warm report kernel runs many reports on the same data: the result is kept in the package's
    cache (:mod:`evaluation.cache`) on the plan, the data folder and every input file's content hash,
    so that a changed file is read again. Callers must not modify the returned frames.
    """
    stamps = tuple(folder_state(dataset.path / folder) for folder in ("monitoring", "spending"))
    if None in stamps:  # a file cannot be read: the loaders report it, nothing is kept
        return _read(plan, dataset)
    # A Plan holds mappings, so it is not hashable itself: by identity, kept alive with the entry.
    key = ("monitoring-data", id(plan), plan.path, dataset, stamps)
    return cache.remember(key, lambda: _read(plan, dataset), keep=(plan,))


def _read(plan: Plan, dataset: Dataset) -> MonitoringData:
    realised, problems = load_monitoring(dataset, plan)
    spending, spending_problems = load_spending(dataset, plan)
    return MonitoringData(dataset, realised, spending, tuple(problems + spending_problems))


def status_counts(plan: Plan, gaps: pd.DataFrame) -> pd.DataFrame:
    """Number of indicators per priority (rows, plan order, then the transversal sheets) and status (columns)."""
    priority_of = {s.id: (s.priority or "transversal") for s in plan.engagements}
    rows = [p.id for p in plan.priorities] + ["transversal"]
    frame = gaps.assign(priority=gaps["engagement"].map(priority_of))
    table = pd.crosstab(frame["priority"], frame["status"]).reindex(
        index=rows, columns=[s.value for s in Status], fill_value=0
    )
    table.loc["total"] = table.sum()
    return table


def on_track_share(plan: Plan, realised: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Per engagement (rows) and year (columns): % of its indicators with a target that are achieved or on track.

    The denominator is the indicators judged against a figure that year (achieved, on track, behind
    or without data: a missing value counts against); NaN when the sheet has none (qualitative or
    milestone-only sheets before their deadline).
    """
    shares = {}
    for year in PLAN_YEARS:
        gaps = gap_table(plan, realised, year, tolerance=tolerance)
        judged = gaps[gaps["status"].isin([s.value for s in JUDGED])]
        good = judged["status"].isin([s.value for s in POSITIVE]).groupby(judged["engagement"]).mean() * 100
        shares[year] = good
    table = pd.DataFrame(shares).reindex([s.id for s in plan.engagements])
    table.index.name = "engagement"
    return table
