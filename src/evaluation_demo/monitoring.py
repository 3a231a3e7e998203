"""Seeded generator of the SYNTHETIC monitoring values of the demo (``monitoring/``), years 2018-2021.

**Nothing this module produces is real**: every value, status, source and comment is drawn at
random (see :mod:`evaluation_demo.generate`). Columns ``indicator_id, year, value, status, source,
comment``; :mod:`evaluation_demo.generate` splits the rows into the two monitoring files. Its own
file: the scenarios and the semantics of an indicator's values (cumulative, per year, level,
milestone) are the whole of it; the spending, the barometer and the cohorts have their own
generators.

Every indicator with a quantified target (``Indicator.is_quantitative``) and every milestone gets
a *scenario* (:class:`Scenario`), by a random permutation of fixed quotas (:data:`SCENARIO_SHARES`):

- ``on_track``: at its target year the indicator covers 95-115 % of the way from its start value
  to its target (a range's target is drawn within the range); a milestone is done in its year.
- ``behind``: 45-85 % of the way (a range is measured against its min); a milestone is done one
  or two years late, or not done when that falls after 2021.
- ``gaps``: 60-105 % of the way, and one or two years are not reported (at least one is); a
  milestone is not done (0) and some years are not reported.
- ``silent``: nothing reported.

The values follow the indicator's semantics. ``cumulative``: yearly increments (integers for
counts) whose running total reaches the scenario's figure at the target year; after the target
year a smaller yearly increment continues. ``per_year`` and ``level``: a straight path from a
start value to the scenario's figure at the target year (flat afterwards, with noise), where the
start value is the baseline when the plan gives one ("passer de 300 à 400" starts near 300), else
0 for counts and amounts at a ``level``, 50-80 % of the target for percentages and ``per_year``
counts, 130-160 % of it for a decreasing indicator, and the figure itself for ``maintain``. A
target beyond 2021 (17.2, 2024) is approached on a path ending at its year. Counts are
non-negative integers (stochastic rounding), stocks of a ``level`` count do not go down, a
``level`` count of communes or quartiers never exceeds its target, percentages stay within
0-100 (one decimal), amounts are rounded to the euro. Milestones: 1 the year done, 0 the years
before; a ``level`` milestone is not reported after it is done, a ``per_year`` one (an annual
barometer) is 1 every year from then on.

``status``: 2021 values are ``provisional`` for about half the indicators (one draw per
indicator), ``final`` otherwise; earlier years are ``final``, about 1 in 20 ``estimated``.
``source``: a partner chosen by the engagement (:data:`~evaluation_demo.partners.SOURCES`).
``comment``: empty, except for estimated values, a few 2020 values (the health crisis) and
:data:`QUALITATIVE_ROWS` qualitative indicators that get one 2021 row with no value and a French
comment.

Programme indicators come from the cohort records (:mod:`evaluation_demo.cohort_indicators`), so
that a programme's engagement report and its cohort report speak of the same people: the
indicators of :data:`~evaluation_demo.cohort_indicators.COHORT_INDICATORS` are not drawn but
counted in the synthetic beneficiaries of :func:`~evaluation_demo.cohorts.generate_cohorts` (same
seed, same people, same dates). Their scenario is still drawn (so that the other indicators keep
their values) and ignored.
"""

from __future__ import annotations

import math
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.referential.plan import Cumulation, Direction, Indicator, Measure, Plan, Target
from evaluation_demo.cohort_indicators import cohort_monitoring
from evaluation_demo.cohorts import COHORT_PROGRAMMES, generate_cohorts
from evaluation_demo.draws import DEMO_SEED, FIRST_YEAR, LAST_YEAR, _uniform
from evaluation_demo.partners import _DEFAULT_SOURCE, SOURCES

__all__ = [
    "Scenario",
    "SCENARIO_SHARES",
    "QUALITATIVE_ROWS",
    "MONITORING_COLUMNS",
    "assign_scenarios",
    "generate_monitoring",
]

#: The year before the plan: where a path without a baseline year starts.
_START_YEAR = FIRST_YEAR - 1


class Scenario(StrEnum):
    """How a synthetic indicator behaves (see the module docstring)."""

    ON_TRACK = "on_track"
    BEHIND = "behind"
    GAPS = "gaps"
    SILENT = "silent"


#: Share of the indicators given each scenario (quotas by largest remainder, then shuffled).
SCENARIO_SHARES: tuple[tuple[Scenario, float], ...] = (
    (Scenario.ON_TRACK, 0.50),
    (Scenario.BEHIND, 0.25),
    (Scenario.GAPS, 0.15),
    (Scenario.SILENT, 0.10),
)

#: Fraction of the way from the start value to the target covered at the target year (uniform bounds).
_PROGRESS = MappingProxyType(
    {Scenario.ON_TRACK: (0.95, 1.15), Scenario.BEHIND: (0.45, 0.85), Scenario.GAPS: (0.60, 1.05)}
)

#: How many qualitative indicators get a commented 2021 row.
QUALITATIVE_ROWS = 5
_QUALITATIVE_COMMENTS = (
    "Démarche engagée avec 3 communes",
    "Premières réunions tenues avec les partenaires ; bilan attendu en 2022",
    "Action reportée en raison de la crise sanitaire",
    "Travail en cours, pas de résultat mesurable à ce stade",
    "Deux comités de pilotage tenus dans l'année",
    "Retours qualitatifs recueillis lors d'entretiens avec les opérateurs",
)
_ESTIMATED_COMMENT = "Estimation du service, bilan de l'opérateur non reçu"
_CRISIS_COMMENT = "Activité réduite pendant les confinements (crise sanitaire)"

#: Territory units of ``level`` counts capped at their target: 21 communes with a QPV and 26 quartiers
#: are whole sets that cannot be exceeded (the cap also applies to smaller targets of these units).
_CAPPED_UNITS = ("communes", "quartiers")

MONITORING_COLUMNS = ("indicator_id", "year", "value", "status", "source", "comment")


# --------------------------------------------------------------------------------------------------
# Scenarios


def _quotas(count: int) -> list[Scenario]:
    """``count`` scenarios in the proportions of :data:`SCENARIO_SHARES` (largest remainder)."""
    exact = [share * count for _, share in SCENARIO_SHARES]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (sizes[i] - exact[i], i))
    for i in by_remainder[: count - sum(sizes)]:
        sizes[i] += 1
    return [scenario for (scenario, _), size in zip(SCENARIO_SHARES, sizes, strict=True) for _ in range(size)]


def _generated(plan: Plan) -> tuple[list[Indicator], list[Indicator]]:
    """The indicators that get values: quantitative ones, and milestones (plan order)."""
    indicators = list(plan.indicators())
    quantitative = [i for i in indicators if i.is_quantitative]
    milestones = [i for i in indicators if i.measure is Measure.MILESTONE]
    return quantitative, milestones


def _assign(plan: Plan, rng: np.random.Generator) -> dict[str, Scenario]:
    """Scenario per indicator id: quotas shuffled among quantitative indicators, then among milestones."""
    assigned: dict[str, Scenario] = {}
    for group in _generated(plan):
        quotas = _quotas(len(group))
        order = rng.permutation(len(group))
        assigned.update({group[int(k)].id: quotas[n] for n, k in enumerate(order)})
    return assigned


def assign_scenarios(plan: Plan, seed: int = DEMO_SEED) -> pd.DataFrame:
    """The scenario of every generated indicator, as :func:`generate_monitoring` draws it.

    Columns ``indicator_id``, ``kind`` (``quantitative`` or ``milestone``), ``scenario`` (plan order).
    """
    assigned = _assign(plan, np.random.default_rng(seed))
    quantitative, milestones = _generated(plan)
    rows = [(i.id, "quantitative", str(assigned[i.id])) for i in quantitative]
    rows += [(i.id, "milestone", str(assigned[i.id])) for i in milestones]
    order = {i.id: n for n, i in enumerate(plan.indicators())}
    rows.sort(key=lambda row: order[row[0]])
    return pd.DataFrame(rows, columns=["indicator_id", "kind", "scenario"])


# --------------------------------------------------------------------------------------------------
# Values of one indicator


def _round_count(value: float, rng: np.random.Generator) -> int:
    """Stochastic rounding of a non-negative count: 2.3 -> 3 with probability 0.3, else 2."""
    value = max(0.0, value)
    floor = math.floor(value)
    return floor + int(rng.random() < value - floor)


def _reference(target: Target, scenario: Scenario, rng: np.random.Generator) -> float:
    """The target figure the scenario aims at: the value, or a point of the range (its min when behind)."""
    if not target.is_range:
        return float(target.value)  # type: ignore[arg-type]
    low, high = float(target.min), float(target.max)  # type: ignore[arg-type]
    return low if scenario is Scenario.BEHIND else _uniform(rng, (low, high))


def _start(indicator: Indicator, reference: float, rng: np.random.Generator) -> tuple[int, float]:
    """Start point ``(year, value)`` of a per_year or level path (see the module docstring)."""
    if indicator.baseline is not None:
        year = indicator.baseline.year if indicator.baseline.year is not None else _START_YEAR
        return min(year, _START_YEAR), indicator.baseline.value
    if indicator.direction is Direction.DECREASE:
        value = reference * _uniform(rng, (1.3, 1.6))
        return _START_YEAR, min(value, 100.0) if indicator.measure is Measure.PERCENTAGE else value
    if indicator.measure is Measure.PERCENTAGE or indicator.cumulation is Cumulation.PER_YEAR:
        return _START_YEAR, reference * _uniform(rng, (0.5, 0.8))
    return _START_YEAR, 0.0


def _finish(indicator: Indicator, value: float, rng: np.random.Generator) -> float:
    """A raw value as the measure requires: a percentage (0-100, one decimal), an amount, or a count."""
    if indicator.measure is Measure.PERCENTAGE:
        return round(min(100.0, max(0.0, value)), 1)
    if indicator.measure is Measure.AMOUNT:
        return float(round(max(0.0, value)))
    return float(_round_count(value, rng))


def _noisy(indicator: Indicator, expected: float, rng: np.random.Generator) -> float:
    """The expected value with noise: +-1.5 points for a percentage, +-7 % otherwise."""
    if indicator.measure is Measure.PERCENTAGE:
        return expected + float(rng.normal(0.0, 1.5))
    return expected * _uniform(rng, (0.93, 1.07))


def _path_series(indicator: Indicator, scenario: Scenario, rng: np.random.Generator) -> dict[int, float]:
    """Yearly values of a ``per_year`` or ``level`` indicator (or a percentage of any kind)."""
    reference = _reference(indicator.target, scenario, rng)
    progress = _uniform(rng, _PROGRESS[scenario])
    start_year, start = _start(indicator, reference, rng)
    if indicator.direction is Direction.MAINTAIN and indicator.baseline is None:
        start = reference * progress
    final = start + (reference - start) * progress
    deadline = indicator.target.year
    series = {}
    for year in PLAN_YEARS:
        share = min(1.0, (year - start_year) / (deadline - start_year))
        expected = start + (final - start) * share
        series[year] = _finish(indicator, _noisy(indicator, expected, rng), rng)
    return _bounded(indicator, series)


def _bounded(indicator: Indicator, series: dict[int, float]) -> dict[int, float]:
    """Stocks (increasing level counts) never go down; whole-set territory counts stay at the target."""
    if indicator.measure is not Measure.COUNT or indicator.cumulation is not Cumulation.LEVEL:
        return series
    values = list(series.values())
    if indicator.direction is Direction.INCREASE:
        values = list(np.maximum.accumulate(values))
    unit = (indicator.unit or "").lower()
    if indicator.target.value is not None and unit.startswith(_CAPPED_UNITS):
        values = [min(v, indicator.target.value) for v in values]
    return {year: float(v) for year, v in zip(series, values, strict=True)}


def _cumulative_series(indicator: Indicator, scenario: Scenario, rng: np.random.Generator) -> dict[int, float]:
    """Yearly increments of a cumulative count or amount; their sum to the target year is the scenario's figure."""
    reference = _reference(indicator.target, scenario, rng)
    total = reference * _uniform(rng, _PROGRESS[scenario])
    active = [year for year in PLAN_YEARS if year <= indicator.target.year]
    weights = rng.uniform(0.7, 1.3, len(active)) * (1 + 0.5 * np.arange(len(active)))
    weights = weights / weights.sum()
    if indicator.measure is Measure.COUNT:
        increments = [float(n) for n in rng.multinomial(_round_count(total, rng), weights)]
    else:
        increments = [float(round(total * w)) for w in weights]
    series = dict(zip(active, increments, strict=True))
    pace = total / len(active)
    for year in PLAN_YEARS:
        if year not in series:
            series[year] = _finish(indicator, pace * _uniform(rng, (0.2, 0.7)), rng)
    return series


def _milestone_series(indicator: Indicator, scenario: Scenario, rng: np.random.Generator) -> dict[int, float]:
    """1 the year a milestone is done, 0 the years before (see the module docstring)."""
    done: int | None = None
    if scenario is Scenario.ON_TRACK:
        done = indicator.target.year
    elif scenario is Scenario.BEHIND:
        done = indicator.target.year + int(rng.integers(1, 3))
    if done is not None and done > LAST_YEAR:
        done = None
    if indicator.cumulation is Cumulation.PER_YEAR:
        return {year: float(done is not None and year >= done) for year in PLAN_YEARS}
    return {year: float(year == done) for year in PLAN_YEARS if done is None or year <= done}


def _series(indicator: Indicator, scenario: Scenario, rng: np.random.Generator) -> dict[int, float]:
    """The reported values of one indicator, by year (years not reported are absent)."""
    if indicator.measure is Measure.MILESTONE:
        series = _milestone_series(indicator, scenario, rng)
    elif indicator.cumulation is Cumulation.CUMULATIVE and indicator.measure is not Measure.PERCENTAGE:
        series = _cumulative_series(indicator, scenario, rng)
    else:
        series = _path_series(indicator, scenario, rng)
    return _drop_years(series, rng) if scenario is Scenario.GAPS else series


def _drop_years(series: dict[int, float], rng: np.random.Generator) -> dict[int, float]:
    """Leave out one or two years, keeping at least one."""
    count = min(int(rng.integers(1, 3)), len(series) - 1)
    dropped = {int(y) for y in rng.choice(sorted(series), size=count, replace=False)} if count > 0 else set()
    return {year: value for year, value in series.items() if year not in dropped}


def _rows(indicator: Indicator, series: dict[int, float], rng: np.random.Generator) -> list[dict[str, object]]:
    """Monitoring rows of one indicator, with status, source and comment."""
    provisional = bool(rng.random() < 0.5)
    source = SOURCES.get(indicator.engagement, _DEFAULT_SOURCE)
    rows = []
    for year, value in sorted(series.items()):
        if year == LAST_YEAR:
            status = "provisional" if provisional else "final"
        else:
            status = "estimated" if rng.random() < 0.05 else "final"
        comment = None
        if status == "estimated":
            comment = _ESTIMATED_COMMENT
        elif year == 2020 and rng.random() < 0.1:
            comment = _CRISIS_COMMENT
        rows.append(
            {
                "indicator_id": indicator.id,
                "year": year,
                "value": value,
                "status": status,
                "source": source,
                "comment": comment,
            }
        )
    return rows


def _qualitative_rows(plan: Plan, rng: np.random.Generator) -> list[dict[str, object]]:
    """One 2021 row, without value and with a French comment, for a few qualitative indicators."""
    qualitative = [i for i in plan.indicators() if i.measure is Measure.QUALITATIVE]
    count = min(QUALITATIVE_ROWS, len(qualitative), len(_QUALITATIVE_COMMENTS))
    chosen = sorted(int(k) for k in rng.choice(len(qualitative), size=count, replace=False))
    comments = rng.permutation(len(_QUALITATIVE_COMMENTS))[:count]
    return [
        {
            "indicator_id": qualitative[k].id,
            "year": LAST_YEAR,
            "value": math.nan,
            "status": "provisional",
            "source": SOURCES.get(qualitative[k].engagement, _DEFAULT_SOURCE),
            "comment": _QUALITATIVE_COMMENTS[int(c)],
        }
        for k, c in zip(chosen, comments, strict=True)
    ]


def generate_monitoring(plan: Plan, seed: int = DEMO_SEED, cohorts: pd.DataFrame | None = None) -> pd.DataFrame:
    """SYNTHETIC realised values: ``indicator_id, year, value, status, source, comment``.

    Rows in plan order of the indicators, then by year; ``value`` is a float (NaN for the commented
    qualitative rows and for the commented rows of :func:`cohort_monitoring`), ``status`` one of
    provisional / estimated / final, ``comment`` None when empty. The indicators of
    :data:`COHORT_INDICATORS` are counted in ``cohorts`` (:func:`cohort_monitoring`; default:
    :func:`generate_cohorts` with the same plan and seed, none when the plan has no followed
    programme); a programme without rows in ``cohorts`` leaves its indicators to their scenario.
    Deterministic for a given plan, seed and cohort records (see the module docstring for the rules).
    """
    if cohorts is None:
        cohorts = _default_cohorts(plan, seed)
    derived = cohort_monitoring(plan, cohorts)
    rng = np.random.default_rng(seed)
    scenarios = _assign(plan, rng)
    rows: list[dict[str, object]] = []
    for indicator in plan.indicators():
        scenario = scenarios.get(indicator.id, Scenario.SILENT)
        drawn = []
        if scenario is not Scenario.SILENT:
            # Drawn even when the cohorts replace them: the other indicators keep their draws.
            drawn = _rows(indicator, _series(indicator, scenario, rng), rng)
        rows += derived.get(indicator.id, drawn)
    rows += _qualitative_rows(plan, rng)
    order = {i.id: n for n, i in enumerate(plan.indicators())}
    rows.sort(key=lambda row: (order[str(row["indicator_id"])], str(row["year"])))
    frame = pd.DataFrame(rows, columns=list(MONITORING_COLUMNS))
    return frame.astype({"year": "int64", "value": "float64"})


def _default_cohorts(plan: Plan, seed: int) -> pd.DataFrame | None:
    """The cohort records of the demo for ``plan`` and ``seed``, None when the plan follows no programme."""
    if not {s.id for s in plan.engagements} & set(COHORT_PROGRAMMES):
        return None
    return generate_cohorts(plan, seed)
