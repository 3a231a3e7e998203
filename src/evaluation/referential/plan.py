"""The plan referential: the MEL plan 2018-2021 as frozen, typed records.

The data lives in ``data/plan/`` (``plan.yaml`` for the document, ``sheets/<id>.yaml`` for each
action sheet; schema in ``data/plan/README.md``). :func:`load_plan` reads and validates it: any
problem raises :class:`~evaluation.errors.PlanError` naming the file, the line and the field.

Figures are encoded as the plan writes them, never corrected; :mod:`evaluation.referential.audit` reports the
plan's internal discrepancies.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from evaluation.config import PLAN_DIR, PLAN_YEARS
from evaluation.errors import PlanError, UsageError

__all__ = [
    "Measure",
    "Direction",
    "Cumulation",
    "Section",
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
    "load_plan",
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
    }


# --------------------------------------------------------------------------------------------------
# Loading and validation


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember the line of each key (for error messages)."""


class _Node(dict):
    """A YAML mapping with ``lines[key]`` (1-based) and its own ``line``."""

    line: int
    lines: dict[str, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_MISSING = object()


class _Reader:
    """Typed access to one YAML mapping, raising :class:`PlanError` with file, line and field."""

    def __init__(self, node: Any, path: Path, where: str, line: int | None = None) -> None:
        self.path = path
        self.where = where
        if not isinstance(node, dict):
            raise PlanError(
                f"expected a mapping, found {type(node).__name__}",
                path=path,
                line=line,
                column=where or None,
                value=node,
                hint="check the indentation against data/plan/README.md",
            )
        self.node = node

    def only(self, *allowed: str) -> _Reader:
        """Reject keys the schema does not know (a typo would otherwise be silently ignored)."""
        for key in self.node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(allowed)}"
                raise self.fail(str(key), "unknown field", key, hint)
        return self

    def _field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _line(self, key: str) -> int | None:
        lines = getattr(self.node, "lines", {})
        return lines.get(key, getattr(self.node, "line", None))

    def fail(self, key: str, message: str, value: object = None, hint: str | None = None) -> PlanError:
        return PlanError(message, path=self.path, line=self._line(key), column=self._field(key), value=value, hint=hint)

    def get(self, key: str, default: object = _MISSING) -> Any:
        if key not in self.node:
            if default is _MISSING:
                raise PlanError(
                    "required field is missing",
                    path=self.path,
                    line=getattr(self.node, "line", None),
                    column=self._field(key),
                    hint="see the schema in data/plan/README.md",
                )
            return default
        return self.node[key]

    def text(self, key: str, *, optional: bool = False) -> str | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected non-empty text, found {value!r}", value, "quote it in double quotes")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of texts, found {value!r}", value)
        return tuple(value)

    def number(self, key: str, *, optional: bool = False, minimum: float | None = 0) -> float | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None:
            if optional:
                return None
            raise self.fail(key, "expected a number, found null", value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(
                key, f"expected a number, found {value!r}", value, "write digits without spaces, e.g. 210000"
            )
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum}, found {value!r}", value)
        return float(value)

    def year(self, key: str, *, optional: bool = False) -> int | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2040:
            raise self.fail(key, f"expected a year (2000-2040), found {value!r}", value)
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, found {value!r}", value)
        return value

    def date(self, key: str) -> str | None:
        value = self.get(key, None)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            raise self.fail(key, f"expected an ISO date YYYY, YYYY-MM or YYYY-MM-DD in quotes, found {value!r}", value)
        return value

    def choice(self, key: str, enum: type[Enum]) -> Any:
        value = self.get(key)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
            raise self.fail(key, f"unknown value {value!r}", value, f"use one of: {allowed}") from None

    def child(self, key: str, *, optional: bool = False) -> _Reader | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        return _Reader(value, self.path, self._field(key), self._line(key))

    def children(self, key: str) -> list[_Reader]:
        value = self.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, found {value!r}", value)
        return [_Reader(v, self.path, f"{self._field(key)}[{i}]", self._line(key)) for i, v in enumerate(value)]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError("file not found", path=path, hint="restore it from the repository") from None
    except UnicodeDecodeError as err:
        raise PlanError(f"not UTF-8 text ({err.reason})", path=path, hint="save the file as UTF-8") from err
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise PlanError(
            f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check quotes and indentation",
        ) from err


def _baseline(reader: _Reader) -> Baseline | None:
    node = reader.child("baseline", optional=True)
    if node is None:
        return None
    node.only("value", "year")
    return Baseline(value=node.number("value", minimum=None), year=node.year("year", optional=True))


def _target(reader: _Reader, measure: Measure) -> Target:
    node = reader.child("target")
    assert node is not None
    node.only("value", "min", "max", "year", "year_stated", "date")
    value = node.number("value", optional=True, minimum=None)
    low = node.number("min", optional=True, minimum=None)
    high = node.number("max", optional=True, minimum=None)
    if value is not None and (low is not None or high is not None):
        raise node.fail("value", "give either value or min/max, not both", value)
    if (low is None) != (high is None):
        raise node.fail("min", "a range needs both min and max", low if low is not None else high)
    if low is not None and high is not None and low > high:
        raise node.fail("min", f"min {low} is above max {high}", low)
    if measure is Measure.PERCENTAGE:
        for key, number in (("value", value), ("min", low), ("max", high)):
            if number is not None and not 0 <= number <= 100:
                raise node.fail(key, f"a percentage must be within 0-100, found {number}", number)
    if measure in (Measure.QUALITATIVE, Measure.MILESTONE) and (value is not None or low is not None):
        raise node.fail("value", f"a {measure.value} indicator has no target figure", value, "use value: null")
    return Target(
        year=node.year("year"),  # type: ignore[arg-type]
        year_stated=node.flag("year_stated"),
        value=value,
        min=low,
        max=high,
        date=node.date("date"),
    )


def _indicator(reader: _Reader, sheet_id: str, index: int) -> Indicator:
    reader.only(
        "id", "label", "unit", "measure", "direction", "cumulation", "baseline", "target", "section", "source", "note"
    )
    ind_id = reader.text("id")
    assert ind_id is not None
    expected = f"{sheet_id}.{index}"
    if ind_id != expected:
        raise reader.fail(
            "id", f"indicator id {ind_id!r} should be {expected!r}", ind_id, "number indicators 1, 2, ... in order"
        )
    measure = reader.choice("measure", Measure)
    cumulation = reader.choice("cumulation", Cumulation)
    baseline = _baseline(reader)
    if cumulation is Cumulation.CUMULATIVE and baseline is not None:
        raise reader.fail(
            "baseline",
            "a cumulative indicator adds up yearly values and cannot start from a baseline level",
            baseline.value,
            "use cumulation: level (or per_year) for a 'passer de X à Y' target",
        )
    return Indicator(
        id=ind_id,
        engagement=sheet_id,
        label=reader.text("label"),  # type: ignore[arg-type]
        unit=reader.text("unit", optional=True),
        measure=measure,
        direction=reader.choice("direction", Direction),
        cumulation=cumulation,
        baseline=baseline,
        target=_target(reader, measure),
        section=reader.choice("section", Section),
        source=reader.text("source"),  # type: ignore[arg-type]
        note=reader.text("note", optional=True),
    )


def _budget(reader: _Reader) -> Budget:
    node = reader.child("budget")
    assert node is not None
    node.only(
        "total_cost_eur",
        "total_cost_source",
        "mel_financing_eur",
        "mel_financing_source",
        "mel_financing_label",
        "mel_total",
        "cofinancing",
        "envelopes",
        "notes",
    )
    financing = node.get("mel_financing_eur")
    if not isinstance(financing, dict) or sorted(financing) != list(PLAN_YEARS):
        raise node.fail(
            "mel_financing_eur",
            f"expected the years {', '.join(map(str, PLAN_YEARS))}, found {financing!r}",
            financing,
            "write {2018: n, 2019: n, 2020: n, 2021: n}, null for a year the plan leaves blank",
        )
    years = node.child("mel_financing_eur")
    assert years is not None
    mel_financing = {year: years.number(year, optional=True) for year in PLAN_YEARS}  # type: ignore[arg-type]
    mel_total_node = node.child("mel_total", optional=True)
    mel_total = None
    if mel_total_node is not None:
        mel_total = MelTotal(
            amount_eur=mel_total_node.number("amount_eur", optional=True),
            share_pct=mel_total_node.number("share_pct", optional=True),
            source=mel_total_node.text("source"),  # type: ignore[arg-type]
        )
    return Budget(
        total_cost_eur=node.number("total_cost_eur", optional=True),
        total_cost_source=node.text("total_cost_source", optional=True),
        mel_financing_eur=MappingProxyType(mel_financing),
        mel_financing_source=node.text("mel_financing_source", optional=True),
        mel_financing_label=node.text("mel_financing_label", optional=True),
        mel_total=mel_total,
        cofinancing=tuple(
            Cofinancing(
                funder=c.text("funder"),  # type: ignore[arg-type]
                amount_eur=c.number("amount_eur", optional=True),
                share_pct=c.number("share_pct", optional=True),
                source=c.text("source"),  # type: ignore[arg-type]
            )
            for c in node.children("cofinancing")
        ),
        envelopes=tuple(
            Envelope(
                label=e.text("label"),  # type: ignore[arg-type]
                amount_eur=e.number("amount_eur"),  # type: ignore[arg-type]
                source=e.text("source"),  # type: ignore[arg-type]
            )
            for e in node.children("envelopes")
        ),
        notes=node.texts("notes"),
    )


def _sheet(path: Path, priority_ids: set[str], sheet_ids: set[str]) -> Engagement:
    reader = _Reader(_read_yaml(path), path, "").only(
        "id",
        "number",
        "title",
        "priority",
        "parent",
        "objectives",
        "target_public",
        "territories",
        "pilot",
        "partners",
        "milestones",
        "budget",
        "indicators",
    )
    sheet_id = reader.text("id")
    assert sheet_id is not None
    if path.stem != sheet_id:
        raise reader.fail(
            "id",
            f"id {sheet_id!r} does not match the file name {path.name!r}",
            sheet_id,
            f"rename the file {sheet_id}.yaml or fix the id",
        )
    priority = reader.text("priority", optional=True)
    if priority is not None and priority not in priority_ids:
        raise reader.fail(
            "priority",
            f"unknown priority {priority!r}",
            priority,
            f"use one of {', '.join(sorted(priority_ids))} or null",
        )
    parent = reader.text("parent", optional=True)
    if parent is not None and parent not in sheet_ids:
        raise reader.fail("parent", f"unknown parent sheet {parent!r}", parent, "use the id of another sheet, or null")
    indicators = tuple(_indicator(r, sheet_id, i) for i, r in enumerate(reader.children("indicators"), start=1))
    return Engagement(
        id=sheet_id,
        number=reader.text("number", optional=True),
        title=reader.text("title"),  # type: ignore[arg-type]
        priority=priority,
        parent=parent,
        objectives=reader.texts("objectives"),
        target_public=reader.texts("target_public"),
        territories=reader.texts("territories"),
        pilot=reader.text("pilot", optional=True),
        partners=reader.texts("partners"),
        milestones=tuple(
            Milestone(date=m.date("date"), end=m.date("end"), label=m.text("label"), source=m.text("source"))  # type: ignore[arg-type]
            for m in reader.children("milestones")
        ),
        budget=_budget(reader),
        indicators=indicators,
        path=path,
    )


def _priority(reader: _Reader) -> Priority:
    return Priority(
        id=reader.text("id"),  # type: ignore[arg-type]
        title=reader.text("title"),  # type: ignore[arg-type]
        toc_title=reader.text("toc_title"),  # type: ignore[arg-type]
        intro_rank=int(reader.number("intro_rank")),  # type: ignore[arg-type]
        intro_title=reader.text("intro_title"),  # type: ignore[arg-type]
        announced_engagements=int(reader.number("announced_engagements")),  # type: ignore[arg-type]
        listed_engagements=_listed(reader),
        source=reader.text("source"),  # type: ignore[arg-type]
    )


def _listed(reader: _Reader) -> tuple[ListedEngagement, ...]:
    return tuple(
        ListedEngagement(ref=str(r.get("ref")), title=r.text("title"))  # type: ignore[arg-type]
        for r in reader.children("listed_engagements")
    )


def _claim(reader: _Reader) -> ArithmeticClaim:
    stated = reader.get("stated")
    if isinstance(stated, str):
        if not re.match(r"^sheet:[0-9a-z]+:mel_financing_sum$", stated):
            raise reader.fail(
                "stated", f"unknown reference {stated!r}", stated, "use a number or sheet:<id>:mel_financing_sum"
            )
    else:
        stated = reader.number("stated", minimum=None)
    terms = reader.get("terms")
    if not isinstance(terms, list) or not terms or not all(isinstance(t, int | float) for t in terms):
        raise reader.fail("terms", f"expected a non-empty list of numbers, found {terms!r}", terms)
    return ArithmeticClaim(
        id=reader.text("id"),  # type: ignore[arg-type]
        engagement=reader.text("engagement", optional=True),
        label=reader.text("label"),  # type: ignore[arg-type]
        stated=stated,  # type: ignore[arg-type]
        terms=tuple(float(t) for t in terms),
        tolerance=reader.number("tolerance", optional=True) or 0.0,
        source=reader.text("source"),  # type: ignore[arg-type]
        severity=_severity(reader),
    )


def _severity(reader: _Reader) -> str:
    value = reader.get("severity", "error")
    if value not in ("error", "warning"):
        raise reader.fail("severity", f"unknown severity {value!r}", value, "use error or warning")
    return value


@functools.lru_cache(maxsize=8)
def _load_cached(plan_dir: Path) -> Plan:
    plan_file = plan_dir / "plan.yaml"
    reader = _Reader(_read_yaml(plan_file), plan_file, "")
    period = reader.child("period")
    assert period is not None
    priorities = tuple(_priority(r) for r in reader.children("priorities"))
    transversal = reader.child("transversal")
    assert transversal is not None
    toc = tuple(
        TocEntry(
            ref=str(r.get("ref")),
            page=int(r.number("page")),  # type: ignore[arg-type]
            title=r.text("title"),  # type: ignore[arg-type]
            body_title=r.text("body_title", optional=True),
        )
        for r in reader.children("toc")
    )
    announced_node = reader.child("announced")
    assert announced_node is not None
    announced = {}
    for key in announced_node.node:
        item = announced_node.child(key)
        assert item is not None
        announced[key] = (int(item.number("value")), item.text("source"))  # type: ignore[arg-type]

    sheet_dir = plan_dir / "sheets"
    if not sheet_dir.is_dir():
        raise PlanError("folder of action sheets not found", path=sheet_dir, hint="restore data/plan/sheets/")
    files = sorted(sheet_dir.glob("*.yaml"))
    priority_ids = {p.id for p in priorities}
    sheets = {p.stem: _sheet(p, priority_ids, {f.stem for f in files}) for p in files}
    # Sheets in the order of the document (the table of contents), then any sheet it lacks.
    order = [e.ref for e in toc if e.ref in sheets]
    ordered = [sheets[i] for i in order] + [s for i, s in sheets.items() if i not in order]

    return Plan(
        title=reader.text("title"),  # type: ignore[arg-type]
        period=(period.year("start"), period.year("end")),  # type: ignore[arg-type]
        headline=MappingProxyType(dict(reader.get("headline"))),
        announced=MappingProxyType(announced),
        priorities=priorities,
        transversal=Transversal(
            title=transversal.text("title"),  # type: ignore[arg-type]
            announced_engagements=int(transversal.number("announced_engagements")),  # type: ignore[arg-type]
            listed_engagements=_listed(transversal),
            source=transversal.text("source"),  # type: ignore[arg-type]
        ),
        toc=toc,
        arithmetic=tuple(_claim(r) for r in reader.children("arithmetic")),
        engagements=tuple(ordered),
        path=plan_dir,
    )


def load_plan(plan_dir: Path | str | None = None) -> Plan:
    """Read and validate the plan referential (default: the package's ``data/plan/``).

    Raises
    ------
    PlanError
        When a file is missing, is not valid YAML, or breaks the schema; the message names the file,
        the line and the field.
    """
    directory = Path(plan_dir) if plan_dir is not None else PLAN_DIR
    if not directory.is_dir():
        raise PlanError("plan folder not found", path=directory, hint="pass the folder that holds plan.yaml")
    return _load_cached(directory.resolve())
