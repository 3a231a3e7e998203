"""Realised values against the plan's targets: achievement, linear path, status.

:func:`assess` compares the values reported for one indicator with its target at a year ``Y``;
:func:`gap_table` does it for every indicator of the plan. No I/O: the values come from the caller,
already validated (:mod:`evaluation.io`). ``values`` maps a year to the value reported for that year;
a year that is absent, None or NaN is *missing*. The rules, each one the definition:

1. **Kinds without a target figure.** A ``qualitative`` indicator gets the status ``qualitative``
   (``realised`` = the value of ``Y`` if any; nothing else is computed). A count, percentage or
   amount whose target has no figure (no value, no range) gets ``no_target``; ``realised`` (and
   ``realised_cumulated``) are still filled by rule 2, nothing else is computed.
2. **Realised value at Y.** ``cumulative``: the sum of the values present for the years
   ``plan_start..min(Y, target.year)`` (a target "by 2019" is judged on what was done by 2019, also
   in later years). ``per_year``: the value of ``Y``, and ``realised_cumulated`` = the sum of the
   values present for ``plan_start..Y``. ``level``: the value of ``Y``. A sum with missing years is
   a *lower bound* of the true sum (a year's value is a count or an amount, never negative: the
   intake refuses negative ones); the note names the missing years. For ``per_year`` and ``level``
   indicators, a missing value of ``Y`` makes the status ``no_data``, unless rule 7 makes it
   ``not_due``. For a ``cumulative`` indicator with missing years (``Y`` among them or not), the
   status judged on the lower bound (rule 5) is kept only when the true sum, which can only be
   higher, gets it too:

   * ``increase``: ``achieved`` (the true sum meets the target too) or ``on_track`` (it is at least
     on the path);
   * ``decrease``: ``behind`` (the true sum is above the target or its path too), never
     ``achieved`` nor ``on_track``: the missing years may hold what puts the sum above the target;
   * ``maintain``: ``behind`` when the bound is already above the band (``> t + tolerance * |t|``,
     or the range's max), never ``achieved``.

   Otherwise the status is ``no_data`` (or ``not_due``, rule 7). The lower bound is still reported
   as ``realised``; what it gives under rule 4 follows the same logic: for ``increase``,
   ``achievement_pct`` and ``gap_to_expected`` are lower bounds of the true ones and are given; for
   ``decrease`` they would *overstate* the progress (upper bounds) and for ``maintain`` say nothing
   of the distance to the band, so both are None, and ``range_position`` is kept only when it is
   ``above_max`` (the true sum is above the max too).
3. **Linear path.** Start point: ``(baseline.year, baseline.value)``, with :data:`REFERENCE_YEAR` when
   the baseline has no year. Without a baseline: ``(plan_start - 1, 0)`` for cumulative indicators and
   for increasing count or amount ``level`` indicators (nothing done before the plan); no start point
   for ``per_year`` indicators, for percentage ``level`` indicators and for ``maintain`` and
   ``decrease`` indicators (the target applies from the start: the expected value is the target
   every year). End point: ``(target.year, t)`` where ``t`` is
   the target value, or the range's min. ``expected(Y) = s + (t - s) * (Y - s_year) / (target.year -
   s_year)``, equal to ``t`` once ``Y >= target.year`` and to ``s`` while ``Y <= s_year`` (no
   extrapolation before the start point). None for qualitative, milestone and no-target indicators.
4. **Achievement (%).** With a baseline ``b``: ``(realised - b) / (t - b) * 100`` (progress from the
   baseline, which also handles decreasing indicators where ``t < b``); None when ``t == b``.
   Without a baseline: ``increase`` and ``maintain``: ``realised / t * 100``; ``decrease``:
   ``t / realised * 100`` (100 when ``realised == 0``); None when ``t == 0``. None when ``realised``
   is None. For ``per_year`` indicators it is the achievement of the year ``Y`` alone. On a lower
   bound (rule 2), given for ``increase`` indicators only.
5. **Status when the value of Y is there.** ``achieved`` when the target is met: ``increase``:
   ``realised >= t``; ``decrease``: ``realised <= t``; ``maintain``: ``|realised - t| <= tolerance *
   |t|``. Otherwise ``behind`` when ``Y >= target.year``. Otherwise (before the deadline)
   ``on_track`` when the shortfall against the path is at most ``tolerance`` times the total planned
   change ``|t - s|`` (``|t|`` when there is no start point): ``increase``: ``realised >= expected -
   tolerance * |t - s|``; ``decrease``: ``realised <= expected + tolerance * |t - s|``; a
   ``maintain`` target has no path to be on: a year outside its band is ``behind``. For ``per_year``
   indicators the year's value is compared with the final ``t`` (met) and with ``expected(Y)``. A
   ``cumulative`` ``decrease`` target (a ceiling on a total) is not ``achieved`` before its deadline,
   whatever the sum so far: the sum to date is a lower bound of the sum at the deadline (the years to
   come can only raise it), so it is at best ``on_track``.
6. **Ranges** ("50 à 100"): ``t`` is the min for an increasing indicator, the max for a decreasing
   one; a ``maintain`` range is met by any value within [min, max]. ``range_position`` is
   ``below_min`` (realised < min), ``within`` or ``above_max`` (realised > max). Above the max is still
   ``achieved`` for an increasing indicator; the note says so.
7. **Not due.** When the value of ``Y`` is missing, ``Y < target.year`` and nothing is expected yet
   (``expected(Y)`` is None or equals the start value), the status is ``not_due`` instead of
   ``no_data``.
8. **Milestones** (values 1 = done that year, 0 = not done). ``done_year`` = the first year ``<= Y``
   with the value 1. Done: ``achieved``, ``late_years = max(0, done_year - target.year)``. Not done
   and ``Y < target.year``: ``not_due`` (even when a 0 was reported). Not done and ``Y >=
   target.year``: ``no_data`` when no value was reported up to ``Y``, else ``behind`` with
   ``late_years = Y - target.year``. ``realised`` is 1 when done, 0 when only zeros were reported.
   A ``per_year`` milestone (a deliverable due every year from ``target.year``, e.g. an annual
   barometer) is judged on the value of ``Y`` alone: 1 ``achieved``, 0 ``behind``, missing
   ``no_data``; ``not_due`` before ``target.year``.
9. Targets beyond the plan (e.g. 2024) follow the same rules, on a path that ends at their year.

``tolerance`` defaults to :data:`DEFAULT_TOLERANCE` (10 % of the planned change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

import pandas as pd

from evaluation.referential.plan import Cumulation, Direction, Indicator, Measure, Plan

__all__ = [
    "Status",
    "STATUS_FR",
    "DEFAULT_TOLERANCE",
    "REFERENCE_YEAR",
    "TargetGap",
    "GAP_COLUMNS",
    "path_start",
    "expected_value",
    "assess",
    "gap_table",
]

#: Share of the planned change (or of the target, for ``maintain``) a value may miss and still count.
DEFAULT_TOLERANCE = 0.10
#: Baseline year assumed when the plan gives a baseline without a year: the plan, adopted in June 2018,
#: describes the situation before it.
REFERENCE_YEAR = 2017


class Status(StrEnum):
    """Where an indicator stands at a year (rules 1, 2, 5, 7 and 8 of the module docstring)."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_DATA = "no_data"
    NOT_DUE = "not_due"
    QUALITATIVE = "qualitative"
    NO_TARGET = "no_target"


STATUS_FR: dict[Status, str] = {
    Status.ACHIEVED: "atteint",
    Status.ON_TRACK: "en bonne voie",
    Status.BEHIND: "en retard",
    Status.NO_DATA: "non renseigné",
    Status.NOT_DUE: "pas encore dû",
    Status.QUALITATIVE: "qualitatif",
    Status.NO_TARGET: "sans cible chiffrée",
}


@dataclass(frozen=True)
class TargetGap:
    """One indicator against its target at ``year``, in the indicator's unit.

    ``realised``: the value compared with the target (rule 2); ``realised_cumulated``: for
    ``per_year`` indicators, the sum of the yearly values ``plan_start..year`` (else None);
    ``target``: the target value or the range's min; ``target_max``: the range's max;
    ``achievement_pct``: rule 4; ``expected``: the value on the linear path at ``year`` (rule 3);
    ``gap_to_expected``: ``realised - expected``; ``range_position``: rule 6; ``late_years``:
    milestones' delay (rule 8); ``note``: a short English explanation when a rule needed one.
    """

    indicator_id: str
    engagement: str
    year: int
    realised: float | None
    realised_cumulated: float | None
    target: float | None
    target_max: float | None
    achievement_pct: float | None
    expected: float | None
    gap_to_expected: float | None
    status: Status
    range_position: str | None
    late_years: int | None
    note: str | None


#: Columns of :func:`gap_table`, in order.
GAP_COLUMNS = (
    "indicator_id",
    "engagement",
    "year",
    "realised",
    "target",
    "achievement_pct",
    "expected",
    "gap_to_expected",
    "status",
    "realised_cumulated",
    "target_max",
    "range_position",
    "late_years",
    "note",
    "label",
    "measure",
    "cumulation",
    "direction",
)
_OPTIONAL = tuple(f.name for f in fields(TargetGap) if f.name not in ("indicator_id", "engagement", "year", "status"))
_FLOAT_COLUMNS = (
    "realised",
    "target",
    "achievement_pct",
    "expected",
    "gap_to_expected",
    "realised_cumulated",
    "target_max",
)


def path_start(indicator: Indicator, *, plan_start: int = 2018) -> tuple[int, float] | None:
    """Start point ``(year, value)`` of the linear path (rule 3), None when the target applies from the start."""
    if indicator.baseline is not None:
        year = indicator.baseline.year if indicator.baseline.year is not None else REFERENCE_YEAR
        return year, indicator.baseline.value
    if indicator.direction in (Direction.MAINTAIN, Direction.DECREASE):
        return None  # a level to hold, or to bring down from an unknown start: the target applies from the start
    if indicator.cumulation is Cumulation.CUMULATIVE or (
        indicator.cumulation is Cumulation.LEVEL and indicator.measure in (Measure.COUNT, Measure.AMOUNT)
    ):
        return plan_start - 1, 0.0
    return None


def _target_value(indicator: Indicator) -> float | None:
    """The figure to reach: the target value, or the range's min."""
    target = indicator.target
    if not target.is_range:
        return target.value
    return target.max if indicator.direction is Direction.DECREASE else target.min


def expected_value(indicator: Indicator, year: int, *, plan_start: int = 2018) -> float | None:
    """Value expected at ``year`` on the linear path from :func:`path_start` to the target (rule 3).

    ``s + (t - s) * (year - s_year) / (target.year - s_year)``, clamped to ``t`` from the target year on
    and to ``s`` up to the start year; ``t`` every year when there is no start point. None for
    qualitative, milestone and no-target indicators.
    """
    if not indicator.is_quantitative:
        return None
    end = _target_value(indicator)
    assert end is not None  # is_quantitative
    start = path_start(indicator, plan_start=plan_start)
    if start is None or year >= indicator.target.year:
        return end
    start_year, start_value = start
    if year <= start_year:
        return start_value
    return start_value + (end - start_value) * (year - start_year) / (indicator.target.year - start_year)


def assess(
    indicator: Indicator,
    values: Mapping[int, float],
    year: int,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    plan_start: int = 2018,
) -> TargetGap:
    """The indicator against its target at ``year``, from the values reported per year (rules 1-9)."""
    present = {int(y): float(v) for y, v in values.items() if v is not None and not math.isnan(float(v))}
    if indicator.measure is Measure.MILESTONE:
        return _assess_milestone(indicator, present, year)
    if indicator.measure is Measure.QUALITATIVE:
        return _gap(indicator, year, Status.QUALITATIVE, realised=present.get(year))

    cumulative = indicator.cumulation is Cumulation.CUMULATIVE
    last = min(year, indicator.target.year) if cumulative else year
    window = range(plan_start, last + 1)
    summed = [present[y] for y in window if y in present]
    total = float(sum(summed)) if summed else None
    missing = [y for y in window if y not in present]
    notes = []
    if summed and missing and indicator.cumulation is not Cumulation.LEVEL:
        notes.append(f"no value for {', '.join(map(str, missing))}: the sum over {plan_start}-{last} is a lower bound")
    if cumulative and last < year:
        notes.append(f"judged on {plan_start}-{last}, the target's deadline")
    realised = total if indicator.cumulation is Cumulation.CUMULATIVE else present.get(year)
    cumulated = total if indicator.cumulation is Cumulation.PER_YEAR else None
    if not indicator.target.is_quantified:
        return _gap(
            indicator, year, Status.NO_TARGET, realised=realised, realised_cumulated=cumulated, note=_join(notes)
        )

    target = _target_value(indicator)
    assert target is not None
    start = path_start(indicator, plan_start=plan_start)
    expected = expected_value(indicator, year, plan_start=plan_start)
    position = None
    if indicator.target.is_range and realised is not None:
        position = _range_position(realised, indicator.target.min, indicator.target.max)  # type: ignore[arg-type]
        if position == "above_max":
            counted = ": counted as achieved" if indicator.direction is Direction.INCREASE else ""
            notes.append(f"above the range's max ({indicator.target.max:g}){counted}")

    span = abs(target - start[1]) if start is not None else abs(target)
    judged = _status(indicator, realised, target, expected, span, year, tolerance) if realised is not None else None
    complete = not missing if cumulative else year in present
    lower_bound = cumulative and not complete and realised is not None
    achievement = _achievement(indicator, realised, target)
    gap = None if realised is None or expected is None else realised - expected
    if lower_bound and indicator.direction is not Direction.INCREASE:
        # A lower bound bounds a decrease's (or a band's) progress the wrong way: not given.
        achievement, gap = None, None
        position = position if position == "above_max" else None
        notes.append("achievement not given: the missing years can only raise the sum")
    settled = lower_bound and _settled_by_lower_bound(indicator, judged, realised, target, tolerance)
    if judged is not None and (complete or settled):
        status = judged
    else:
        nothing_expected = expected is None or (start is not None and expected == start[1])
        status = (
            Status.NOT_DUE
            if year < indicator.target.year and nothing_expected and year not in present
            else Status.NO_DATA
        )
        if status is Status.NO_DATA and not notes:
            notes.append(f"value of {year} missing")

    return _gap(
        indicator,
        year,
        status,
        realised=realised,
        realised_cumulated=cumulated,
        target=target,
        target_max=indicator.target.max,
        achievement_pct=achievement,
        expected=expected,
        gap_to_expected=gap,
        range_position=position,
        note=_join(notes),
    )


def gap_table(plan: Plan, realised: pd.DataFrame, year: int, *, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """:func:`assess` for every indicator of the plan, in plan order, as one row each.

    ``realised`` has the columns ``indicator_id``, ``year`` and ``value`` (NaN = missing; other columns
    are ignored; one row per indicator and year is expected, the last one wins). The path starts from
    the plan's first year (``plan.period[0]``). Columns: :data:`GAP_COLUMNS`; ``status`` holds the
    :class:`Status` value, ``measure``, ``cumulation`` and ``direction`` the plan's enum values.
    """
    observed = realised.loc[realised["value"].notna(), ["indicator_id", "year", "value"]]
    by_indicator: dict[str, dict[int, float]] = {}
    for indicator_id, value_year, value in observed.itertuples(index=False):
        by_indicator.setdefault(str(indicator_id), {})[int(value_year)] = float(value)
    rows = []
    for indicator in plan.indicators():
        gap = assess(
            indicator, by_indicator.get(indicator.id, {}), year, tolerance=tolerance, plan_start=plan.period[0]
        )
        rows.append(
            asdict(gap)
            | {
                "status": gap.status.value,
                "label": indicator.label,
                "measure": indicator.measure.value,
                "cumulation": indicator.cumulation.value,
                "direction": indicator.direction.value,
            }
        )
    table = pd.DataFrame(rows, columns=list(GAP_COLUMNS))
    return table.astype({**dict.fromkeys(_FLOAT_COLUMNS, "float64"), "year": "int64", "late_years": "Int64"})


# --------------------------------------------------------------------------------------------------


def _gap(indicator: Indicator, year: int, status: Status, **given: Any) -> TargetGap:
    """A :class:`TargetGap` whose fields not given are None."""
    optional: dict[str, Any] = dict.fromkeys(_OPTIONAL) | given
    return TargetGap(indicator_id=indicator.id, engagement=indicator.engagement, year=year, status=status, **optional)


def _join(notes: list[str]) -> str | None:
    return "; ".join(notes) or None


def _range_position(realised: float, low: float, high: float) -> str:
    if realised < low:
        return "below_min"
    return "above_max" if realised > high else "within"


def _status(
    indicator: Indicator,
    realised: float,
    target: float,
    expected: float | None,
    span: float,
    year: int,
    tolerance: float,
) -> Status:
    """Rules 5 and 6: met, else behind from the deadline on, else on the path within ``tolerance * span``.

    A cumulative decrease met before its deadline is only on the path (rule 5).
    """
    direction = indicator.direction
    if direction is Direction.MAINTAIN and indicator.target.is_range:
        met = indicator.target.min <= realised <= indicator.target.max  # type: ignore[operator]
    else:
        met = {
            Direction.INCREASE: realised >= target,
            Direction.DECREASE: realised <= target,
            Direction.MAINTAIN: abs(realised - target) <= tolerance * abs(target),
        }[direction]
    ceiling_not_due = (
        direction is Direction.DECREASE
        and indicator.cumulation is Cumulation.CUMULATIVE
        and year < indicator.target.year
    )
    if met and not ceiling_not_due:
        return Status.ACHIEVED
    if year >= indicator.target.year or expected is None:
        return Status.BEHIND
    margin = tolerance * span
    on_track = {
        Direction.INCREASE: realised >= expected - margin,
        Direction.DECREASE: realised <= expected + margin,
        Direction.MAINTAIN: False,
    }[direction]
    return Status.ON_TRACK if on_track else Status.BEHIND


def _settled_by_lower_bound(
    indicator: Indicator, judged: Status | None, realised: float | None, target: float, tolerance: float
) -> bool:
    """Rule 2: True when ``judged``, the status of the lower bound ``realised``, is the status of any higher sum too.

    ``increase``: achieved, or at least on track; ``decrease``: behind; ``maintain``: behind above the band.
    """
    direction = indicator.direction
    if direction is Direction.INCREASE:
        return judged in (Status.ACHIEVED, Status.ON_TRACK)
    if judged is not Status.BEHIND or realised is None:
        return False
    if direction is Direction.DECREASE:
        return True
    top = indicator.target.max if indicator.target.is_range else target + tolerance * abs(target)
    return realised > top  # type: ignore[operator]


def _achievement(indicator: Indicator, realised: float | None, target: float) -> float | None:
    """Rule 4."""
    if realised is None:
        return None
    if indicator.baseline is not None:
        base = indicator.baseline.value
        return None if target == base else (realised - base) / (target - base) * 100
    if target == 0:
        return None
    if indicator.direction is Direction.DECREASE:
        return 100.0 if realised == 0 else target / realised * 100
    return realised / target * 100


def _assess_milestone(indicator: Indicator, present: dict[int, float], year: int) -> TargetGap:
    """Rule 8."""
    deadline = indicator.target.year
    if indicator.cumulation is Cumulation.PER_YEAR:
        value = present.get(year)
        if year < deadline:
            status = Status.NOT_DUE
        elif value is None:
            status = Status.NO_DATA
        else:
            status = Status.ACHIEVED if value == 1 else Status.BEHIND
        note = "a deliverable due every year: judged on this year's value" if year >= deadline else None
        return _gap(indicator, year, status, realised=value, note=note)
    reported = sorted(y for y in present if y <= year)
    done_year = next((y for y in reported if present[y] == 1), None)
    late, note = None, None
    if done_year is not None:
        status, late = Status.ACHIEVED, max(0, done_year - deadline)
        if late:
            note = f"done in {done_year}, {late} year(s) after the {deadline} deadline"
    elif year < deadline:
        status = Status.NOT_DUE
    elif not reported:
        status, note = Status.NO_DATA, f"no value reported up to {year}"
    else:
        status, late, note = Status.BEHIND, year - deadline, f"not done by the {deadline} deadline"
    realised = 1.0 if done_year is not None else (0.0 if reported else None)
    return _gap(indicator, year, status, realised=realised, late_years=late, note=note)
