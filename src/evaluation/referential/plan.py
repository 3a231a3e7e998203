"""The plan referential: the MEL plan 2018-2021 as frozen, typed records.

The data lives in ``data/plan/`` (``plan.yaml`` for the document, ``sheets/<id>.yaml`` for each
action sheet; schema in ``data/plan/README.md``). :func:`load_plan` reads and validates it: any
problem raises :class:`~evaluation.errors.PlanError` naming the file, the line and the field.

Figures are encoded as the plan writes them, never corrected; :mod:`evaluation.referential.audit` reports the
plan's internal discrepancies.

This module is the schema of those files and the loader; the records live in
:mod:`evaluation.referential.plan_records` and the line-aware YAML reader in
:mod:`evaluation.referential.plan_yaml`. Every record name is re-exported here.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

from evaluation import cache
from evaluation.config import PLAN_DIR, PLAN_YEARS
from evaluation.errors import PlanError
from evaluation.referential.plan_records import (
    ArithmeticClaim,
    Baseline,
    Budget,
    Cofinancing,
    CohortOutcome,
    Cumulation,
    Direction,
    Engagement,
    Envelope,
    Indicator,
    ListedEngagement,
    Measure,
    MelTotal,
    Milestone,
    Plan,
    Priority,
    Section,
    Target,
    TocEntry,
    Transversal,
    normalize_engagement_id,
)
from evaluation.referential.plan_yaml import _read_yaml, _Reader

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
    "load_plan",
    "normalize_engagement_id",
]


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
        "id",
        "label",
        "unit",
        "measure",
        "direction",
        "cumulation",
        "baseline",
        "target",
        "section",
        "source",
        "note",
        "cohort_outcome",
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
        cohort_outcome=_cohort_outcome(reader, measure),
    )


def _cohort_outcome(reader: _Reader, measure: Measure) -> CohortOutcome | None:
    """The optional ``cohort_outcome``: only a percentage (a share of a programme's entrants) has one."""
    if reader.get("cohort_outcome", None) is None:
        return None
    outcome = reader.choice("cohort_outcome", CohortOutcome)
    if measure is not Measure.PERCENTAGE:
        raise reader.fail(
            "cohort_outcome",
            f"a {measure.value} indicator has no cohort outcome: only a percentage (a share of a programme's "
            "entrants) has one",
            outcome.value,
            "remove it, or check the indicator's measure",
        )
    return outcome


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


def _load_cached(plan_dir: Path) -> Plan:
    """The plan of ``plan_dir``, read once per content of its YAML files (:mod:`evaluation.cache`).

    The same files give the same :class:`Plan` object (other caches key on it); an edited sheet gives
    a new one, also in a JupyterLab session that has read the plan before.
    """
    try:
        digest = cache.files_digest(sorted(plan_dir.rglob("*.yaml")), plan_dir)
    except OSError:  # unreadable: the reader names the file
        return _read_plan(plan_dir)
    return cache.remember(("plan", str(plan_dir), digest), lambda: _read_plan(plan_dir))


def _read_plan(plan_dir: Path) -> Plan:
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
