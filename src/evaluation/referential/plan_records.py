"""The plan referential's records: frozen, typed values for the sheets, indicators, targets and budget.

What :func:`evaluation.referential.plan.load_plan` returns, apart from how it is read: the closed sets
(:class:`Measure`, :class:`Direction`, :class:`Cumulation`, :class:`Section`, :class:`CohortOutcome`),
the records (:class:`Indicator`, :class:`Engagement`, :class:`Plan`...), the canonical sheet id
(:func:`normalize_engagement_id`) and the JSON shape of ``evaluation plan --format json``
(:meth:`Plan.to_dict`). Its own file so that code which only reads the records (the French labels,
the statistics) does not depend on the YAML reader; :mod:`evaluation.referential.plan` re-exports
every name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from evaluation.errors import UsageError

__all__ = [
    "Measure",
    "Direction",
    "Cumulation",
    "Section",
    "CohortOutcome",
    "Baseline",
    "Target",
    "Indicator",
    "Milestone",
    "Cofinancing",
    "Envelope",
    "MelTotal",
    "Budget",
    "Engagement",
    "ListedEngagement",
    "Priority",
    "Transversal",
    "TocEntry",
    "ArithmeticClaim",
    "Plan",
    "normalize_engagement_id",
]


class Measure(StrEnum):
    """What kind of quantity an indicator is."""

    COUNT = "count"
    PERCENTAGE = "percentage"
    AMOUNT = "amount"
    MILESTONE = "milestone"
    QUALITATIVE = "qualitative"


class Direction(StrEnum):
    """Which way is better."""

    INCREASE = "increase"
    DECREASE = "decrease"
    MAINTAIN = "maintain"


class Cumulation(StrEnum):
    """How yearly values relate to the target.

    ``cumulative``: the target is a total to date (sum of the yearly values); ``per_year``: each year
    must reach the target; ``level``: the value observed at a date (a rate, a stock).
    """

    CUMULATIVE = "cumulative"
    PER_YEAR = "per_year"
    LEVEL = "level"


class Section(StrEnum):
    """The part of the sheet an indicator was read from."""

    RESULTS = "results"
    OBJECTIVES = "objectives"
    CALENDAR = "calendar"
    PUBLIC = "public"
    CONTEXT = "context"


class CohortOutcome(StrEnum):
    """The cohort outcome a return-to-work percentage of the plan measures (field ``cohort_outcome``).

    Set on the indicators whose target is a share of a programme's beneficiaries who reached an
    outcome, judged against the cohort follow-up (:func:`evaluation.stats.cohorts.target_comparison`).
    The values are the outcomes of :data:`evaluation.stats.cohorts.OUTCOMES`:

    * ``employment``: "retour / accès à l'emploi", "reprise d'emploi", "en emploi": any job, business
      creation included (12.3: "50% de retour à l'emploi ou création d'activités");
    * ``sustainable``: "emploi durable": a CDI or a CDD of 6 months or more;
    * ``positive``: "sortie positive": a job or a training.

    None (the default) for every other indicator, e.g. 5.2 ("70% de création effective" among project
    holders), a percentage that is not a return to work.
    """

    EMPLOYMENT = "employment"
    SUSTAINABLE = "sustainable"
    POSITIVE = "positive"


@dataclass(frozen=True)
class Baseline:
    """Starting value the plan gives ("passer de 300 à 400"); ``year`` is None when not stated."""

    value: float
    year: int | None


@dataclass(frozen=True)
class Target:
    """Target value (or ``min``-``max`` range) and its deadline year.

    ``year_stated`` is False when the plan gives no deadline and the plan's horizon (2021) is used,
    or when the year was inferred from context. ``date`` is the ISO date of a milestone.
    ``value`` and the range are all None for qualitative expectations and for counts the plan lists
    without a figure.
    """

    year: int
    year_stated: bool
    value: float | None = None
    min: float | None = None
    max: float | None = None
    date: str | None = None

    @property
    def is_range(self) -> bool:
        return self.min is not None or self.max is not None

    @property
    def is_quantified(self) -> bool:
        return self.value is not None or self.is_range


@dataclass(frozen=True)
class Indicator:
    """One expected result of a sheet."""

    id: str
    engagement: str
    label: str
    unit: str | None
    measure: Measure
    direction: Direction
    cumulation: Cumulation
    baseline: Baseline | None
    target: Target
    section: Section
    source: str
    note: str | None = None
    #: The cohort outcome a return-to-work percentage measures (:class:`CohortOutcome`), else None.
    cohort_outcome: CohortOutcome | None = None

    @property
    def is_quantitative(self) -> bool:
        """Counts, percentages and amounts with a target figure."""
        return self.measure in _QUANTITATIVE and self.target.is_quantified


_QUANTITATIVE = (Measure.COUNT, Measure.PERCENTAGE, Measure.AMOUNT)


@dataclass(frozen=True)
class Milestone:
    """A dated step of the sheet's calendar (ISO partial dates: YYYY, YYYY-MM or YYYY-MM-DD)."""

    date: str | None
    end: str | None
    label: str
    source: str


@dataclass(frozen=True)
class Cofinancing:
    """A co-financer other than the MEL, with an amount and/or a share when the plan gives them."""

    funder: str
    amount_eur: float | None
    share_pct: float | None
    source: str


@dataclass(frozen=True)
class Envelope:
    """A stated amount that is not yearly financing (e.g. an envelope, a valued contribution)."""

    label: str
    amount_eur: float
    source: str


@dataclass(frozen=True)
class MelTotal:
    """The MEL's share stated as a total (amount and/or share of the cost)."""

    amount_eur: float | None
    share_pct: float | None
    source: str


@dataclass(frozen=True)
class Budget:
    """The sheet's "Volet financier" as written."""

    total_cost_eur: float | None
    total_cost_source: str | None
    mel_financing_eur: Mapping[int, float | None]
    mel_financing_source: str | None
    mel_financing_label: str | None
    mel_total: MelTotal | None
    cofinancing: tuple[Cofinancing, ...]
    envelopes: tuple[Envelope, ...]
    notes: tuple[str, ...]

    @property
    def mel_financing_sum(self) -> float | None:
        """Sum of the yearly MEL financing, None when the plan gives no yearly figure."""
        values = [v for v in self.mel_financing_eur.values() if v is not None]
        return float(sum(values)) if values else None


@dataclass(frozen=True)
class Engagement:
    """One action sheet (an engagement, a sub-sheet such as 5-A, or a transversal sheet)."""

    id: str
    number: str | None
    title: str
    priority: str | None
    parent: str | None
    objectives: tuple[str, ...]
    target_public: tuple[str, ...]
    territories: tuple[str, ...]
    pilot: str | None
    partners: tuple[str, ...]
    milestones: tuple[Milestone, ...]
    budget: Budget
    indicators: tuple[Indicator, ...]
    path: Path = field(compare=False, repr=False)

    @property
    def is_numbered(self) -> bool:
        """True for the 17 numbered engagements (not 4a, 5-A.., nor the transversal sheets)."""
        return self.id.isdigit()


@dataclass(frozen=True)
class ListedEngagement:
    """A name in a priority's list of engagements, with the sheet it designates (``ref``)."""

    ref: str
    title: str


@dataclass(frozen=True)
class Priority:
    """A priority of the plan, with the wording each part of the document uses for it."""

    id: str
    title: str
    toc_title: str
    intro_rank: int
    intro_title: str
    announced_engagements: int
    listed_engagements: tuple[ListedEngagement, ...]
    source: str


@dataclass(frozen=True)
class Transversal:
    """The closing section "Gouvernance et Evaluation", outside the six priorities."""

    title: str
    announced_engagements: int
    listed_engagements: tuple[ListedEngagement, ...]
    source: str


@dataclass(frozen=True)
class TocEntry:
    """A line of the table of contents; ``ref`` is a sheet id, a priority id or a section key."""

    ref: str
    page: int
    title: str
    body_title: str | None = None


@dataclass(frozen=True)
class ArithmeticClaim:
    """A figure the text states together with its parts: ``stated == sum(terms)`` is expected.

    ``stated`` is a number, or a reference ``"sheet:<id>:mel_financing_sum"`` to a derived figure.
    """

    id: str
    engagement: str | None
    label: str
    stated: float | str
    terms: tuple[float, ...]
    tolerance: float
    source: str
    severity: str = "error"


@dataclass(frozen=True)
class Plan:
    """The whole referential."""

    title: str
    period: tuple[int, int]
    headline: Mapping[str, Any]
    announced: Mapping[str, tuple[int, str]]
    priorities: tuple[Priority, ...]
    transversal: Transversal
    toc: tuple[TocEntry, ...]
    arithmetic: tuple[ArithmeticClaim, ...]
    engagements: tuple[Engagement, ...]
    path: Path = field(compare=False, repr=False)

    def engagement(self, engagement_id: str) -> Engagement:
        """The sheet with this id; accepts the printed forms ("5-A", "Engagement 12").

        Raises :class:`UsageError` naming the closest ids when it is unknown.
        """
        wanted = normalize_engagement_id(engagement_id)
        for sheet in self.engagements:
            if sheet.id == wanted:
                return sheet
        ids = [s.id for s in self.engagements]
        close = sorted(difflib.get_close_matches(wanted, ids, n=4, cutoff=0.3), key=ids.index)
        hint = f"did you mean {', '.join(close)}?" if close else "known ids: " + ", ".join(ids)
        raise UsageError(f"unknown engagement id {engagement_id!r} ({hint})")

    def priority(self, priority_id: str) -> Priority:
        for priority in self.priorities:
            if priority.id == priority_id:
                return priority
        raise UsageError(f"unknown priority id {priority_id!r} (known: P1..P{len(self.priorities)})")

    def engagements_of(self, priority_id: str) -> tuple[Engagement, ...]:
        return tuple(s for s in self.engagements if s.priority == priority_id)

    def indicators(self) -> Iterator[Indicator]:
        for sheet in self.engagements:
            yield from sheet.indicators

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``evaluation plan --format json`` (kept stable for other tools)."""
        return {
            "title": self.title,
            "period": {"start": self.period[0], "end": self.period[1]},
            "priorities": [{"id": p.id, "title": p.title} for p in self.priorities],
            "engagements": [_engagement_dict(s) for s in self.engagements],
        }


def normalize_engagement_id(text: str) -> str:
    """Canonical id from a printed form: ``"5-A"`` -> ``"5a"``, ``"Engagement 12"`` -> ``"12"``."""
    value = str(text).strip().lower()
    value = re.sub(r"^engagement\s*", "", value)
    value = value.replace("é", "e")
    return re.sub(r"[\s\-–_]", "", value)


# --------------------------------------------------------------------------------------------------
# Serialisation


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _engagement_dict(sheet: Engagement) -> dict[str, Any]:
    budget = sheet.budget
    return {
        "id": sheet.id,
        "number": sheet.number,
        "title": sheet.title,
        "priority": sheet.priority,
        "parent": sheet.parent,
        "objectives": list(sheet.objectives),
        "target_public": list(sheet.target_public),
        "territories": list(sheet.territories),
        "pilot": sheet.pilot,
        "partners": list(sheet.partners),
        "milestones": [{"date": m.date, "end": m.end, "label": m.label, "source": m.source} for m in sheet.milestones],
        "total_cost_eur": _number(budget.total_cost_eur),
        "mel_financing_eur": {str(y): _number(v) for y, v in budget.mel_financing_eur.items()},
        "mel_total": None
        if budget.mel_total is None
        else {
            "amount_eur": _number(budget.mel_total.amount_eur),
            "share_pct": _number(budget.mel_total.share_pct),
        },
        "cofinancing": [
            {
                "funder": c.funder,
                "amount_eur": _number(c.amount_eur),
                "share_pct": _number(c.share_pct),
                "source": c.source,
            }
            for c in budget.cofinancing
        ],
        "envelopes": [
            {"label": e.label, "amount_eur": _number(e.amount_eur), "source": e.source} for e in budget.envelopes
        ],
        "indicators": [_indicator_dict(i) for i in sheet.indicators],
    }


def _indicator_dict(ind: Indicator) -> dict[str, Any]:
    target: dict[str, Any]
    if ind.target.is_range:
        target = {"min": _number(ind.target.min), "max": _number(ind.target.max)}
    else:
        target = {"value": _number(ind.target.value)}
    target["year"] = ind.target.year
    target["year_stated"] = ind.target.year_stated
    if ind.target.date is not None:
        target["date"] = ind.target.date
    return {
        "id": ind.id,
        "label": ind.label,
        "unit": ind.unit,
        "measure": ind.measure.value,
        "direction": ind.direction.value,
        "cumulation": ind.cumulation.value,
        "baseline": None if ind.baseline is None else {"value": _number(ind.baseline.value), "year": ind.baseline.year},
        "target": target,
        "section": ind.section.value,
        "source": ind.source,
        "note": ind.note,
        "cohort_outcome": None if ind.cohort_outcome is None else ind.cohort_outcome.value,
    }
