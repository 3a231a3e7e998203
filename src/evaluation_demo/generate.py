"""Seeded generator of the SYNTHETIC demo dataset (``data/demo/``): monitoring values, spending, the
barometer series of the QPV and the cohort records of programme beneficiaries.

**Nothing this module produces is real.** The plan referential and the list of the QPV are real;
every value, status, source, comment, amount and count written here is drawn at random, to exercise
the reports and the tests, and must never be quoted as a fact about the MEL plan or its
neighbourhoods. ``data/demo/dataset.yaml`` declares the folder ``demo: true``.

Run ``python -m evaluation_demo [--out DIR]`` to rewrite the files (default: the package's
``data/demo/``). The output depends only on the plan, the reference list of the QPV
(``data/reference/qpv_mel_2024.csv``) and the seed (:data:`DEMO_SEED`): one
``numpy.random.default_rng(seed)`` per table, drawn in plan (or file) order, so two runs write the
same bytes.

Monitoring (``indicator_id, year, value, status, source, comment``), years 2018-2021
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
    ``source``: a partner chosen by the engagement (:data:`SOURCES`). ``comment``: empty, except
    for estimated values, a few 2020 values (the health crisis) and :data:`QUALITATIVE_ROWS`
    qualitative indicators that get one 2021 row with no value and a French comment.

    **Programme indicators come from the cohort records**, so that a programme's engagement report
    and its cohort report speak of the same people: the indicators of :data:`COHORT_INDICATORS`
    (people entering a followed programme, people returning to work or training through it, the
    share of its entrants in a job; sheets 1, 3, 9, 10 and 12) are not drawn but counted in the
    synthetic beneficiaries of :func:`generate_cohorts` (same seed, same people, same dates), by
    :func:`cohort_monitoring`. Their scenario is still drawn (so that the other indicators keep
    their values) and ignored. The definitions (:class:`CohortStatistic`): entrants of a calendar
    year (possibly only those living in a QPV, or one age band standing for a strand of sheet 10),
    the share of a year's entrants living in a QPV, first events of some kinds (a job, a training)
    dated in the year, and the share of the entrants of the previous year whose first event was a
    job within 12 months of entry, all entrants in the denominator. The cohort file holds the
    entries of 2018-2020, followed until the end of 2021: 2021 counts of entrants (and shares of
    them) have no value and a French comment saying so; 2021 first events are those of the
    2018-2020 entrants, said in a comment. These rows are ``final`` before 2021, ``provisional`` in
    2021 (follow-up until the extraction), with the engagement's source.

Spending (``engagement, year, amount_eur, funder``)
    For each sheet and year where the plan gives a MEL financing figure above 0: one ``MEL`` row of
    the planned amount times an execution factor (85 % of the rows 60-110 %, 10 % 30-60 %, 5 %
    110-125 %), rounded to the euro. 2021 is not yet reported for about a third of the sheets, an
    earlier year for about 1 in 20. A co-financer the plan quantifies (an amount or a share) gets a
    row in the same years: its counterpart is taken proportional to the MEL's yearly financing
    (amount x yearly MEL / MEL total, or yearly MEL x share / (100 - share)), times its own factor.

Barometer (``territory, year, indicator, sex, age_band, value, source, vintage, sampled``), 2015-2021
    Counts (never rates) for the 26 real QPV (:func:`evaluation.referential.territories.load_qpv`), ``MEL``
    (the whole Métropole, QPV included) and ``MEL_HORS_QPV``, all ages and sexes together
    (``sex`` is ``ensemble``). Indicators: ``population_15_64`` and ``employed_15_64`` per age band
    15-24, 25-54, 55-64 and ``total`` (the exact sum of the bands), ``population``,
    ``jobseekers``, ``poor_population`` and ``fiscal_population``, ``caf_recipients`` and
    ``caf_fully_dependent``, ``business_creations``. All values are whole numbers.

    - Population: a QPV starts from its real ``popMuniQPV`` (taken as its 2015 level) and changes
      by N(-0.2 %, 0.4 %) a year; the MEL starts at 1 150 000 and grows 0.3 % a year (noise 0.2 %).
      The 15-64 are about 63 % of a QPV's population (N(63 %, 1.2 points)) and 65 % of the MEL's;
      their age structure is younger in the QPV (15-24 / 25-54 / 55-64: 25 / 61 / 14 %, each
      share times 0.92-1.08) than in the MEL (21 / 61 / 18 %), and ages by 0.2 point a year
      towards the 55-64.
    - Employment (15-64): a QPV's rate starts from its real ``taux_d_emploi``, moves by its
      yearly trend (3 smaller QPV gain 0.8-1.2 point a year, 2 lose 0.1-0.4, the others about
      0.4, the population-weighted mean trend being exactly 0.4) plus noise of
      0.1 + 15 / sqrt(population 15-64) points; then every QPV rate is moved by the same number
      of points so that the QPV's aggregate rate of 2015 is the plan's 44 %
      (``plan.headline``), and the rounding residual of 2015 goes to the largest QPV, so that
      employed / population 15-64 over the 26 QPV is 44.0 % to the first decimal. The MEL's rate
      is the plan's 59 % in 2015 (exactly, the same way) and gains 0.2 point a year (noise 0.05).
      Band rates are the overall rate times a relative rate (QPV 0.50 / 1.22 / 0.78, MEL 0.50 /
      1.24 / 0.80), rescaled so that the bands average to the overall rate.
    - Jobseekers (cat. A, B, C): 22 % of the 15-64 in a QPV (more where the employment rate is
      low: times (mean rate / rate) ^ 1.5), 13 % in the MEL, times a common yearly profile
      (:data:`_JOBSEEKER_FACTORS`, with a rise in 2020) and 2 % noise.
    - Poverty: ``fiscal_population`` is 94-98 % of a QPV's population (97 % in the MEL);
      ``poor_population`` applies a rate that starts from the QPV's real ``taux_pauvrete_60``,
      moved so that the QPV's aggregate of 2015 is the plan's 44 %, gaining N(0.2, 0.1) point a
      year (noise 0.5); the MEL's is the plan's 18 % (+0.05 point a year).
    - CAF: ``caf_recipients`` keeps the real ratio of ``allocataires_CAF`` to the population of
      each QPV (21.5 % in the MEL), +0.5 % a year; ``caf_fully_dependent`` applies a share that
      follows the poverty rate (30 % x (poverty / 44) ^ 0.8, within 18-42 %), moved so that the
      QPV's aggregate of 2015 is the plan's 30 %; the MEL's is the plan's 20 %.
    - Business creations: Poisson counts of 6.5 per 1 000 inhabitants in a QPV (times 0.7-1.3),
      10.5 in the MEL, times a common growth profile (:data:`_CREATION_FACTORS`, x1.85 by 2021).
    - ``MEL_HORS_QPV`` is the MEL minus the sum of the 26 QPV, for every count, so the three are
      consistent (the generator checks that every difference is 0 or more and that the employed
      stay within the population).

    Census counts (population, population_15_64, employed_15_64): ``vintage`` = the year,
    ``sampled`` true, source ``INSEE, recensement (SYNTHÉTIQUE)``; the others: no vintage,
    ``sampled`` false, sources ``Pôle emploi``, ``INSEE Filosofi``, ``CAF``, ``INSEE Sirene``, each
    followed by ``(SYNTHÉTIQUE)`` (:data:`BAROMETER_SOURCES`).

Cohorts (``person_id, programme, entry_date, observation_start, qpv, sex, age_band, qualification,
first_employment_date, employment_kind, last_contact_date``), entries 2018-2020
    3 000 synthetic beneficiaries (:data:`COHORT_ROWS`) of five programmes that count people on
    their way to work (:data:`COHORT_PROGRAMMES`): 1 clause d'insertion (34 % of the rows), 3
    Invest in city people (14 %), 9 Start-up Emploi (22 %, mostly 16-25), 10 Emploi connect /
    Sport pour l'emploi (20 %), 12 EYES NEETs (10 %, all 16-25). About two thirds live in a QPV
    (a real QPV, drawn in proportion to its population), the rest ``hors QPV``. The first
    employment comes after a piecewise-exponential time whose monthly hazard is the programme's
    (4.0 % to 7.0 % for the reference person: QPV, man, 26-49, bac) times group ratios (hors QPV
    1.25, women 0.9, 50+ 0.6, 26-49 1.05, infra-bac 0.75, bac+2 et plus 1.3) and a calendar factor
    (0.3 during the first lockdown, 0.7 until the end of August 2020). 5 % late entries
    (observation 2-8 weeks after entry), 10 % lost from follow-up (last contact 1-18 months after
    the start of observation, by 2021-06-30 at the latest), follow-up censored at the extraction
    2021-12-31; kinds of first employment: CDI 25 %, CDD of 6 months or more 25 %, short contracts
    30 %, training 15 %, business creation 5 %. 3 % of the rows are a person also drawn in another
    programme. The rules are in :func:`generate_cohorts`, which also makes a million rows for the
    benchmark (never committed).

Files written by :func:`write_demo` (header on line 1, no comment line):
``monitoring/priorite_1_2.csv`` (sheets of P1 and P2: UTF-8, ``,``, decimal point, English headers
and statuses), ``monitoring/priorites_3_a_6.csv`` (the other sheets: Windows-1252, ``;``, decimal
comma, French headers and statuses), ``spending/depenses_mel.csv`` (UTF-8 with BOM, ``;``,
decimal comma, French headers), ``barometer/barometre_2015_2021.csv`` (UTF-8, ``,``, whole
counts, English headers, ``sampled`` as ``true``/``false``) and
``cohorts/beneficiaires_2018_2020.csv`` (UTF-8, ``,``, ISO dates, English headers, blank cells
for a missing date or kind).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.config import DEMO_DATA_DIR, PLAN_YEARS
from evaluation.intake import BAROMETER_INDICATORS, COHORT_AGE_BANDS, COHORT_COLUMNS, HORS_QPV, QUALIFICATIONS
from evaluation.io import atomic_write_bytes
from evaluation.referential.plan import (
    Cofinancing,
    Cumulation,
    Direction,
    Engagement,
    Indicator,
    Measure,
    Plan,
    Target,
    load_plan,
)
from evaluation.referential.territories import Qpv, load_qpv
from evaluation.stats.cohorts import OUTCOMES, TARGET_HORIZON_MONTHS

__all__ = [
    "DEMO_SEED",
    "Scenario",
    "SCENARIO_SHARES",
    "SOURCES",
    "QUALITATIVE_ROWS",
    "MONITORING_COLUMNS",
    "SPENDING_COLUMNS",
    "MonitoringFile",
    "MONITORING_FILES",
    "SPENDING_FILE",
    "BAROMETER_FILE",
    "BAROMETER_DEMO_YEARS",
    "BAROMETER_DEMO_COLUMNS",
    "BAROMETER_SOURCES",
    "assign_scenarios",
    "generate_monitoring",
    "generate_spending",
    "generate_barometer",
    "CohortProgramme",
    "COHORT_PROGRAMMES",
    "COHORT_HAZARD_RATIOS",
    "COHORT_CALENDAR_FACTORS",
    "COHORT_KIND_SHARES",
    "COHORT_ROWS",
    "COHORT_YEARS",
    "COHORT_EXTRACTION",
    "COHORT_LATE_SHARE",
    "COHORT_LOST_SHARE",
    "COHORT_TWICE_SHARE",
    "COHORT_FILE",
    "COHORT_DEMO_COLUMNS",
    "generate_cohorts",
    "CohortStatistic",
    "CohortIndicator",
    "COHORT_INDICATORS",
    "cohort_monitoring",
    "write_demo",
    "main",
]

#: The seed of the committed demo files (the date the Conseil métropolitain voted the plan).
DEMO_SEED = 20180615

FIRST_YEAR, LAST_YEAR = PLAN_YEARS[0], PLAN_YEARS[-1]
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

#: The partner who reports an engagement's values (plausible names, synthetic attribution).
SOURCES = MappingProxyType(
    {
        "1": "MEL - facilitateurs clause d'insertion",
        "2": "Pôle emploi",
        "3": "CCI Grand Lille",
        "4": "PDEC",
        "4a": "MEL - service emploi",
        "5": "Fabrique MEL Entreprendre (opérateurs)",
        "5a": "Anis (opérateur)",
        "5b": "MEL - service développement économique",
        "5c": "Ville de Lille",
        "6": "Comité local Territoire zéro chômeur",
        "7": "Lille's Agency",
        "8": "Éducation nationale",
        "9": "Mission locale",
        "10": "Opérateurs (Nes & Cité, Sport dans la Ville)",
        "11": "Opérateur mobilité (marché public)",
        "12": "MEL - projet EYES",
        "13": "MEL - service renouvellement urbain",
        "14": "MEL - service développement économique",
        "15": "MEL - service développement économique",
        "16": "MEL - service emploi",
        "17": "MEL - marketing territorial",
        "gouvernance": "MEL - service emploi",
        "evaluation": "MEL - mission évaluation",
    }
)
_DEFAULT_SOURCE = "MEL - service emploi"

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
SPENDING_COLUMNS = ("engagement", "year", "amount_eur", "funder")
_MONITORING_HEADERS_FR = ("indicateur", "année", "valeur", "statut", "source", "commentaire")
_SPENDING_HEADERS_FR = ("engagement", "année", "montant_eur", "financeur")
_STATUS_FR = MappingProxyType({"provisional": "provisoire", "estimated": "estimé", "final": "définitif"})


@dataclass(frozen=True)
class MonitoringFile:
    """A monitoring file of the demo: its path under the data folder, the priorities of the sheets it
    holds (None: the transversal sheets gouvernance and evaluation) and whether it is a French CSV."""

    path: str
    priorities: tuple[str | None, ...]
    french: bool


MONITORING_FILES = (
    MonitoringFile("monitoring/priorite_1_2.csv", ("P1", "P2"), french=False),
    MonitoringFile("monitoring/priorites_3_a_6.csv", ("P3", "P4", "P5", "P6", None), french=True),
)
SPENDING_FILE = "spending/depenses_mel.csv"
BAROMETER_FILE = "barometer/barometre_2015_2021.csv"

#: Years of the synthetic barometer series.
BAROMETER_DEMO_YEARS = tuple(range(2015, 2022))
BAROMETER_DEMO_COLUMNS = ("territory", "year", "indicator", "sex", "age_band", "value", "source", "vintage", "sampled")
#: Source of each barometer indicator (plausible producers, flagged synthetic in the value itself).
BAROMETER_SOURCES = MappingProxyType(
    {
        "population_15_64": "INSEE, recensement (SYNTHÉTIQUE)",
        "employed_15_64": "INSEE, recensement (SYNTHÉTIQUE)",
        "population": "INSEE, recensement (SYNTHÉTIQUE)",
        "jobseekers": "Pôle emploi (SYNTHÉTIQUE)",
        "poor_population": "INSEE Filosofi (SYNTHÉTIQUE)",
        "fiscal_population": "INSEE Filosofi (SYNTHÉTIQUE)",
        "caf_recipients": "CAF (SYNTHÉTIQUE)",
        "caf_fully_dependent": "CAF (SYNTHÉTIQUE)",
        "business_creations": "INSEE Sirene (SYNTHÉTIQUE)",
    }
)
_DEMO_BANDS = ("15-24", "25-54", "55-64")
#: Indicators written per age band (and their total).
_BANDED = ("population_15_64", "employed_15_64")
#: Calibration of the barometer (see the module docstring); shares and relative rates per band 15-24, 25-54, 55-64.
_MEL_POPULATION = 1_150_000.0
_QPV_SHARE_15_64, _MEL_SHARE_15_64 = 0.63, 0.65
_QPV_BAND_SHARES, _MEL_BAND_SHARES = (0.25, 0.61, 0.14), (0.21, 0.61, 0.18)
#: Yearly change of the band shares (ageing): the 55-64 gain what the 15-24 and 25-54 lose.
_BAND_DRIFT = (-0.001, -0.001, 0.002)
_QPV_RELATIVE_RATES, _MEL_RELATIVE_RATES = (0.50, 1.22, 0.78), (0.50, 1.24, 0.80)
_QPV_EMPLOYMENT_TREND_PP, _MEL_EMPLOYMENT_TREND_PP = 0.4, 0.2
#: How many QPV move faster than the others, and how many move backwards.
_QPV_FAST, _QPV_BACKWARDS = 3, 2
_QPV_JOBSEEKER_SHARE, _MEL_JOBSEEKER_SHARE = 0.22, 0.13
_JOBSEEKER_FACTORS = (1.00, 1.01, 1.02, 1.00, 0.97, 1.02, 0.98)
_QPV_POVERTY_PCT, _MEL_POVERTY_PCT = 44.0, 18.0
_QPV_CAF_RATIO, _MEL_CAF_RATIO = 0.35, 0.215
_QPV_FULLY_DEPENDENT_PCT, _MEL_FULLY_DEPENDENT_PCT = 30.0, 20.0
_QPV_CREATIONS_PER_1000, _MEL_CREATIONS_PER_1000 = 6.5, 10.5
_CREATION_FACTORS = (1.00, 1.05, 1.12, 1.30, 1.50, 1.58, 1.85)
_NO_SHIFT = MappingProxyType({"employment": 0.0, "poverty": 0.0, "dependent": 0.0})


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


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


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


# --------------------------------------------------------------------------------------------------
# Spending


def _execution_factor(rng: np.random.Generator) -> float:
    """Spent / planned: 60-110 % for 85 % of the rows, 30-60 % for 10 %, 110-125 % for 5 %."""
    draw = rng.random()
    if draw < 0.85:
        return _uniform(rng, (0.60, 1.10))
    if draw < 0.95:
        return _uniform(rng, (0.30, 0.60))
    return _uniform(rng, (1.10, 1.25))


def _reported_years(years: Sequence[int], rng: np.random.Generator) -> list[int]:
    """The years reported: 2021 missing for a third of the sheets, an earlier year for 1 in 20; at least one."""
    last_missing = bool(rng.random() < 1 / 3)
    reported = []
    for year in years:
        missing = last_missing if year == LAST_YEAR else bool(rng.random() < 0.05)
        if not missing:
            reported.append(year)
    return reported or [years[0]]


def _cofinancer_planned(cofinancing: Cofinancing, planned: dict[int, float]) -> dict[int, float]:
    """A co-financer's yearly counterpart, proportional to the MEL's yearly financing; empty when not quantified."""
    total = sum(planned.values())
    if cofinancing.amount_eur is not None:
        return {y: cofinancing.amount_eur * v / total for y, v in planned.items()}
    if cofinancing.share_pct is not None and cofinancing.share_pct < 100:
        return {y: v * cofinancing.share_pct / (100 - cofinancing.share_pct) for y, v in planned.items()}
    return {}


def _sheet_spending(sheet: Engagement, rng: np.random.Generator) -> list[tuple[str, int, float, str]]:
    planned = {y: float(v) for y, v in sheet.budget.mel_financing_eur.items() if v}
    if not planned:
        return []
    reported = _reported_years(sorted(planned), rng)
    rows = [(sheet.id, y, float(round(planned[y] * _execution_factor(rng))), "MEL") for y in reported]
    for cofinancing in sheet.budget.cofinancing:
        counterpart = _cofinancer_planned(cofinancing, planned)
        rows += [
            (sheet.id, y, float(round(counterpart[y] * _execution_factor(rng))), cofinancing.funder)
            for y in reported
            if counterpart
        ]
    return sorted(rows, key=lambda row: (row[1], row[3] != "MEL"))


def generate_spending(plan: Plan, seed: int = DEMO_SEED) -> pd.DataFrame:
    """SYNTHETIC spending: ``engagement, year, amount_eur, funder`` (plan order, then year, MEL first).

    Deterministic for a given plan and seed (see the module docstring for the rules).
    """
    rng = np.random.default_rng(seed)
    rows = [row for sheet in plan.engagements for row in _sheet_spending(sheet, rng)]
    frame = pd.DataFrame(rows, columns=list(SPENDING_COLUMNS))
    return frame.astype({"year": "int64", "amount_eur": "float64"})


# --------------------------------------------------------------------------------------------------
# Barometer


@dataclass(frozen=True)
class _Profile:
    """Parameters of one territory's synthetic series (levels are those of 2015).

    Rates in %, trends in points a year, noises as standard deviations in points; ``band_shares``
    and ``relative_rates`` are per age band 15-24, 25-54, 55-64 (see the module docstring).
    """

    population: float
    growth: float
    share_15_64: float
    band_shares: tuple[float, float, float]
    relative_rates: tuple[float, float, float]
    employment_rate_pct: float
    employment_trend_pp: float
    employment_noise_pp: float
    jobseeker_share: float
    fiscal_coverage: float
    poverty_rate_pct: float
    poverty_trend_pp: float
    poverty_noise_pp: float
    caf_ratio: float
    fully_dependent_pct: float
    fully_dependent_noise_pp: float
    creations_per_1000: float


#: Counts of one territory: (indicator, age band) -> values for the years of :data:`BAROMETER_DEMO_YEARS`.
_Counts = dict[tuple[str, str], np.ndarray]


def _years_since_start() -> np.ndarray:
    """0, 1, ... for the years of :data:`BAROMETER_DEMO_YEARS` (as floats, for trends)."""
    return np.arange(len(BAROMETER_DEMO_YEARS), dtype=float)


def _qpv_trends(qpv: Sequence[Qpv], rng: np.random.Generator) -> list[float]:
    """Yearly change of each QPV's employment rate, in points.

    :data:`_QPV_FAST` QPV drawn among the smaller half gain 0.8-1.2 point a year and
    :data:`_QPV_BACKWARDS` others lose 0.1-0.4; the rest draw N(0.4, 0.12), then move together so
    that the mean trend weighted by the 2015 population is exactly :data:`_QPV_EMPLOYMENT_TREND_PP`.
    """
    weights = np.array([q.population for q in qpv], dtype=float)
    small = np.flatnonzero(weights < np.median(weights))
    chosen = [int(i) for i in rng.choice(small, size=_QPV_FAST + _QPV_BACKWARDS, replace=False)]
    trends = rng.normal(_QPV_EMPLOYMENT_TREND_PP, 0.12, len(qpv))
    trends[chosen[:_QPV_FAST]] = rng.uniform(0.8, 1.2, _QPV_FAST)
    trends[chosen[_QPV_FAST:]] = -rng.uniform(0.1, 0.4, _QPV_BACKWARDS)
    common = np.ones(len(qpv), dtype=bool)
    common[chosen] = False
    missing = _QPV_EMPLOYMENT_TREND_PP * weights.sum() - (weights * trends).sum()
    trends[common] += missing / weights[common].sum()
    return [float(t) for t in trends]


def _qpv_profiles(qpv: Sequence[Qpv], rng: np.random.Generator) -> list[_Profile]:
    """One profile per QPV, guided by its real population and SIG Ville rates (file order)."""
    known = [q for q in qpv if q.employment_rate_pct is not None]
    mean_rate = float(np.average([q.employment_rate_pct for q in known], weights=[q.population for q in known]))
    profiles = []
    for q, trend in zip(qpv, _qpv_trends(qpv, rng), strict=True):
        rate = q.employment_rate_pct if q.employment_rate_pct is not None else mean_rate
        shares = np.array(_QPV_BAND_SHARES) * rng.uniform(0.92, 1.08, 3)
        profiles.append(
            _Profile(
                population=float(q.population),
                growth=float(rng.normal(-0.002, 0.004)),
                share_15_64=float(np.clip(rng.normal(_QPV_SHARE_15_64, 0.012), 0.59, 0.67)),
                band_shares=tuple(float(s) for s in shares / shares.sum()),  # type: ignore[arg-type]
                relative_rates=_QPV_RELATIVE_RATES,
                employment_rate_pct=float(rate),
                employment_trend_pp=trend,
                employment_noise_pp=0.0,  # set from the size below
                jobseeker_share=_QPV_JOBSEEKER_SHARE * (mean_rate / rate) ** 1.5 * _uniform(rng, (0.95, 1.05)),
                fiscal_coverage=_uniform(rng, (0.94, 0.98)),
                poverty_rate_pct=float(q.poverty_rate_pct if q.poverty_rate_pct is not None else _QPV_POVERTY_PCT),
                poverty_trend_pp=float(rng.normal(0.2, 0.1)),
                poverty_noise_pp=0.5,
                caf_ratio=(q.caf_recipients or _QPV_CAF_RATIO * q.population) / q.population,
                fully_dependent_pct=0.0,  # set from the poverty rate below
                fully_dependent_noise_pp=0.8,
                creations_per_1000=_QPV_CREATIONS_PER_1000 * _uniform(rng, (0.7, 1.3)),
            )
        )
    return [_with_derived(p) for p in profiles]


def _with_derived(profile: _Profile) -> _Profile:
    """Noise of a small QPV's employment rate is larger (0.1 + 15 / sqrt(population 15-64) points);
    its share of fully dependent CAF recipients follows its poverty rate (30 % x (rate / 44) ^ 0.8)."""
    people = profile.population * profile.share_15_64
    dependent = _QPV_FULLY_DEPENDENT_PCT * (profile.poverty_rate_pct / _QPV_POVERTY_PCT) ** 0.8
    return replace(
        profile, employment_noise_pp=0.1 + 15 / math.sqrt(people), fully_dependent_pct=float(np.clip(dependent, 18, 42))
    )


def _mel_profile(rate_pct: float) -> _Profile:
    """The whole Métropole (QPV included): fixed parameters, the employment rate of the plan."""
    return _Profile(
        population=_MEL_POPULATION,
        growth=0.003,
        share_15_64=_MEL_SHARE_15_64,
        band_shares=_MEL_BAND_SHARES,
        relative_rates=_MEL_RELATIVE_RATES,
        employment_rate_pct=rate_pct,
        employment_trend_pp=_MEL_EMPLOYMENT_TREND_PP,
        employment_noise_pp=0.05,
        jobseeker_share=_MEL_JOBSEEKER_SHARE,
        fiscal_coverage=0.97,
        poverty_rate_pct=_MEL_POVERTY_PCT,
        poverty_trend_pp=0.05,
        poverty_noise_pp=0.1,
        caf_ratio=_MEL_CAF_RATIO,
        fully_dependent_pct=_MEL_FULLY_DEPENDENT_PCT,
        fully_dependent_noise_pp=0.3,
        creations_per_1000=_MEL_CREATIONS_PER_1000,
    )


@dataclass(frozen=True)
class _Draw:
    """Random paths of one territory before calibration: counts that do not depend on a rate level
    (integers) and rate paths in % (floats), by year."""

    population: np.ndarray
    population_bands: np.ndarray  # (3 bands, years)
    employment_rate_pct: np.ndarray
    jobseekers: np.ndarray
    fiscal_population: np.ndarray
    poverty_rate_pct: np.ndarray
    caf_recipients: np.ndarray
    fully_dependent_pct: np.ndarray
    business_creations: np.ndarray


def _draw(profile: _Profile, rng: np.random.Generator) -> _Draw:
    """The random paths of one territory (see the module docstring for the rules)."""
    t = _years_since_start()
    size = len(t)
    population = np.rint(profile.population * (1 + profile.growth) ** t * rng.normal(1, 0.002, size))
    shares = np.array(profile.band_shares)[:, None] + np.outer(_BAND_DRIFT, t)
    bands = np.rint(population * profile.share_15_64 * shares)
    rate = (
        profile.employment_rate_pct + profile.employment_trend_pp * t + rng.normal(0, profile.employment_noise_pp, size)
    )
    jobseekers = bands.sum(axis=0) * profile.jobseeker_share * np.array(_JOBSEEKER_FACTORS) * rng.normal(1, 0.02, size)
    poverty = profile.poverty_rate_pct + profile.poverty_trend_pp * t + rng.normal(0, profile.poverty_noise_pp, size)
    caf = population * profile.caf_ratio * (1 + 0.005 * t) * rng.normal(1, 0.015, size)
    dependent = profile.fully_dependent_pct + rng.normal(0, profile.fully_dependent_noise_pp, size)
    creations = rng.poisson(population / 1000 * profile.creations_per_1000 * np.array(_CREATION_FACTORS))
    return _Draw(
        population=population.astype(np.int64),
        population_bands=bands.astype(np.int64),
        employment_rate_pct=rate,
        jobseekers=np.rint(jobseekers).astype(np.int64),
        fiscal_population=np.rint(population * profile.fiscal_coverage).astype(np.int64),
        poverty_rate_pct=poverty,
        caf_recipients=np.rint(caf).astype(np.int64),
        fully_dependent_pct=dependent,
        business_creations=creations.astype(np.int64),
    )


def _shift(target_pct: float, rates: Sequence[float], weights: Sequence[float]) -> float:
    """Points to add to every rate so that their weighted mean is ``target_pct``."""
    return target_pct - float(np.average(rates, weights=weights))


def _counts(draw: _Draw, relative_rates: Sequence[float], shifts: Mapping[str, float]) -> _Counts:
    """Integer counts of a territory from its draw, rates moved by ``shifts`` (points, by rate name).

    Employed by band = population of the band x band rate, where the band rates are the overall
    rate x the band's relative rate / (sum over bands of share x relative rate): the bands' rates
    average to the overall rate. Totals are the exact sums of the bands.
    """
    bands = draw.population_bands
    shares = bands / bands.sum(axis=0)
    relative = np.array(relative_rates)[:, None]
    overall = draw.employment_rate_pct + shifts["employment"]
    employed = np.rint(bands * np.clip(overall * relative / (shares * relative).sum(axis=0), 0, 100) / 100)
    employed = np.minimum(employed, bands).astype(np.int64)
    poverty = np.clip(draw.poverty_rate_pct + shifts["poverty"], 0, 100)
    dependent = np.clip(draw.fully_dependent_pct + shifts["dependent"], 0, 100)
    series: _Counts = {}
    for name, counts in (("population_15_64", bands), ("employed_15_64", employed)):
        series[(name, "total")] = counts.sum(axis=0)
        series.update({(name, band): counts[i] for i, band in enumerate(_DEMO_BANDS)})
    series[("population", "total")] = draw.population
    series[("jobseekers", "total")] = draw.jobseekers
    series[("poor_population", "total")] = np.rint(draw.fiscal_population * poverty / 100).astype(np.int64)
    series[("fiscal_population", "total")] = draw.fiscal_population
    series[("caf_recipients", "total")] = draw.caf_recipients
    series[("caf_fully_dependent", "total")] = np.rint(draw.caf_recipients * dependent / 100).astype(np.int64)
    series[("business_creations", "total")] = draw.business_creations
    return series


def _set_employed_total(series: _Counts, wanted: int) -> None:
    """Make the first year's employed 15-64 total ``wanted``: the residual (a few persons from the
    rounding of the bands) goes to the first year of the 25-54 band, and the total is summed again."""
    residual = wanted - int(series[("employed_15_64", "total")][0])
    band = series[("employed_15_64", "25-54")].copy()
    band[0] = min(max(int(band[0]) + residual, 0), int(series[("population_15_64", "25-54")][0]))
    series[("employed_15_64", "25-54")] = band
    series[("employed_15_64", "total")] = sum(series[("employed_15_64", b)] for b in _DEMO_BANDS)


def _qpv_counts(qpv: Sequence[Qpv], rate_pct: float, rng: np.random.Generator) -> dict[str, _Counts]:
    """Counts of every QPV, the aggregate rates of the first year calibrated (employment exactly)."""
    draws = [_draw(profile, rng) for profile in _qpv_profiles(qpv, rng)]
    people = [d.population_bands[:, 0].sum() for d in draws]
    shifts = {
        "employment": _shift(rate_pct, [d.employment_rate_pct[0] for d in draws], people),
        "poverty": _shift(
            _QPV_POVERTY_PCT, [d.poverty_rate_pct[0] for d in draws], [d.fiscal_population[0] for d in draws]
        ),
        "dependent": _shift(
            _QPV_FULLY_DEPENDENT_PCT, [d.fully_dependent_pct[0] for d in draws], [d.caf_recipients[0] for d in draws]
        ),
    }
    series = {q.code: _counts(d, _QPV_RELATIVE_RATES, shifts) for q, d in zip(qpv, draws, strict=True)}
    _calibrate_total(series, rate_pct, largest=max(qpv, key=lambda q: q.population).code)
    return series


def _calibrate_total(series: dict[str, _Counts], rate_pct: float, largest: str) -> None:
    """The QPV's aggregate employed of the first year made exactly round(rate % x their population
    15-64): the rounding residual goes to the largest QPV (its 25-54 band)."""
    population = sum(int(s[("population_15_64", "total")][0]) for s in series.values())
    employed = sum(int(s[("employed_15_64", "total")][0]) for s in series.values())
    own = int(series[largest][("employed_15_64", "total")][0])
    _set_employed_total(series[largest], own + round(rate_pct / 100 * population) - employed)


def _outside(mel: _Counts, qpv: dict[str, _Counts]) -> _Counts:
    """MEL_HORS_QPV = MEL minus the sum of the QPV, for every count (checked: 0 or more, employed
    within the population)."""
    outside = {key: values - sum(s[key] for s in qpv.values()) for key, values in mel.items()}
    for key, values in outside.items():
        if (values < 0).any():
            raise ValueError(f"synthetic MEL outside QPV: negative {key} (change the calibration constants)")
    for band in ("total", *_DEMO_BANDS):
        if (outside[("employed_15_64", band)] > outside[("population_15_64", band)]).any():
            raise ValueError(f"synthetic MEL outside QPV: employed above population ({band})")
    return outside


def _barometer_rows(territory: str, series: _Counts) -> list[dict[str, object]]:
    """Long rows of one territory: by year, indicator, then age band (total first) for the banded ones."""
    rows = []
    for index, year in enumerate(BAROMETER_DEMO_YEARS):
        for indicator, spec in BAROMETER_INDICATORS.items():
            bands = ("total", *_DEMO_BANDS) if indicator in _BANDED else ("total",)
            for band in bands:
                rows.append(
                    {
                        "territory": territory,
                        "year": year,
                        "indicator": indicator,
                        "sex": "ensemble",
                        "age_band": band,
                        "value": float(series[(indicator, band)][index]),
                        "source": BAROMETER_SOURCES[indicator],
                        "vintage": year if spec.census else None,
                        "sampled": spec.census,
                    }
                )
    return rows


def generate_barometer(plan: Plan | None = None, seed: int = DEMO_SEED) -> pd.DataFrame:
    """SYNTHETIC barometer counts, 2015-2021, for the 26 real QPV, ``MEL`` and ``MEL_HORS_QPV``.

    Columns ``territory, year, indicator, sex, age_band, value, source, vintage, sampled`` (the
    columns of :func:`evaluation.intake.load_barometer` without ``file`` and ``line``): ``value``
    a float holding a whole count, ``vintage`` Int64 (the year for census counts, missing
    otherwise), ``sampled`` bool (true for census counts). Rows by territory (QPV in the reference
    file's order, then MEL, MEL_HORS_QPV), year, indicator (order of
    :data:`~evaluation.intake.BAROMETER_INDICATORS`) and age band (total first). The employment
    rates of the first year are the plan's headline figures (``plan.headline``: 44 % in the QPV,
    59 % in the MEL); ``plan`` defaults to the package's referential. Deterministic for a given
    plan, reference file and seed (see the module docstring for the rules).
    """
    plan = plan if plan is not None else load_plan()
    qpv_rate = float(plan.headline["qpv_employment_rate_pct"])
    mel_rate = float(plan.headline["comparator_employment_rate_pct"])
    rng = np.random.default_rng(seed)
    qpv = load_qpv()
    series = _qpv_counts(qpv, qpv_rate, rng)
    mel = _counts(_draw(_mel_profile(mel_rate), rng), _MEL_RELATIVE_RATES, _NO_SHIFT)
    _set_employed_total(mel, round(mel_rate / 100 * int(mel[("population_15_64", "total")][0])))
    series["MEL"] = mel
    series["MEL_HORS_QPV"] = _outside(mel, {q.code: series[q.code] for q in qpv})
    rows = [row for territory, values in series.items() for row in _barometer_rows(territory, values)]
    frame = pd.DataFrame(rows, columns=list(BAROMETER_DEMO_COLUMNS))
    return frame.astype({"year": "int64", "value": "float64", "vintage": "Int64", "sampled": "bool"})


# --------------------------------------------------------------------------------------------------
# Cohorts


@dataclass(frozen=True)
class CohortProgramme:
    """How the synthetic beneficiaries of one programme are drawn.

    ``share``: of the rows; ``monthly_hazard``: of a first employment for the reference person
    (living in a QPV, a man, 26-49, bac), before the ratios of :data:`COHORT_HAZARD_RATIOS` and the
    calendar factors of :data:`COHORT_CALENDAR_FACTORS`; ``qpv_share``, ``women_share``;
    ``age_shares`` (16-25, 26-49, 50+) and ``qualification_shares`` (infra-bac, bac, bac+2 et plus).
    """

    share: float
    monthly_hazard: float
    qpv_share: float
    women_share: float
    age_shares: tuple[float, float, float]
    qualification_shares: tuple[float, float, float]


#: Programmes of the synthetic cohorts (plan sheets that count people on their way to work).
COHORT_PROGRAMMES = MappingProxyType(
    {
        "1": CohortProgramme(0.34, 0.070, 0.60, 0.30, (0.30, 0.55, 0.15), (0.60, 0.30, 0.10)),
        "3": CohortProgramme(0.14, 0.050, 0.70, 0.50, (0.15, 0.65, 0.20), (0.35, 0.35, 0.30)),
        "9": CohortProgramme(0.22, 0.045, 0.85, 0.45, (0.90, 0.10, 0.00), (0.50, 0.35, 0.15)),
        "10": CohortProgramme(0.20, 0.040, 0.65, 0.40, (0.35, 0.50, 0.15), (0.50, 0.35, 0.15)),
        "12": CohortProgramme(0.10, 0.065, 0.60, 0.45, (1.00, 0.00, 0.00), (0.70, 0.25, 0.05)),
    }
)
#: Hazard ratios of a first employment by group (1 for the reference group of each variable).
COHORT_HAZARD_RATIOS = MappingProxyType(
    {
        "qpv": MappingProxyType({"QPV": 1.0, "hors QPV": 1.25}),
        "sex": MappingProxyType({"F": 0.9, "M": 1.0}),
        "age_band": MappingProxyType({"16-25": 1.0, "26-49": 1.05, "50+": 0.6}),
        "qualification": MappingProxyType({"infra-bac": 0.75, "bac": 1.0, "bac+2 et plus": 1.3}),
    }
)
#: Hiring slowed by the health crisis: hazard factor over calendar periods (first day, last day, factor).
COHORT_CALENDAR_FACTORS = (("2020-03-17", "2020-05-10", 0.3), ("2020-05-11", "2020-08-31", 0.7))
#: Kinds of first employment (keys of :data:`evaluation.intake.EMPLOYMENT_KINDS`) and their shares.
COHORT_KIND_SHARES = MappingProxyType(
    {"cdi": 0.25, "cdd_6m_plus": 0.25, "short_contract": 0.30, "training": 0.15, "business_creation": 0.05}
)
#: Rows of the committed cohort file, entry years, extraction date (end of follow-up).
COHORT_ROWS = 3000
COHORT_YEARS = (2018, 2019, 2020)
COHORT_EXTRACTION = "2021-12-31"
#: Late entries (observation starts 2 to 8 weeks after entry), persons lost from follow-up (last
#: contact 1 to 18 months after the start of observation, no later than 6 months before the
#: extraction), rows of a person already drawn in another programme.
COHORT_LATE_SHARE, COHORT_LOST_SHARE, COHORT_TWICE_SHARE = 0.05, 0.10, 0.03
_LATE_DAYS, _LOST_DAYS, _LOST_LAST = (14, 56), (30, 540), "2021-06-30"
#: Days between a first employment and the last contact (not lost), and before the extraction
#: for a person not in work.
_NEWS_AFTER_EVENT_DAYS, _NEWS_BEFORE_EXTRACTION_DAYS = (0, 120), (0, 60)
_DAYS_PER_MONTH = 365.25 / 12
COHORT_FILE = "cohorts/beneficiaires_2018_2020.csv"
#: The canonical columns of a ``cohorts/`` file: the intake's, with the pseudonymous key and without
#: what the intake derives (cohort year) or adds (file, line).
COHORT_DEMO_COLUMNS = ("person_id", *(c for c in COHORT_COLUMNS if c not in ("cohort_year", "file", "line")))


def _sizes(shares: Sequence[float], count: int) -> list[int]:
    """``count`` split in the proportions ``shares`` (largest remainder, ties to the first)."""
    total = sum(shares)
    exact = [share / total * count for share in shares]
    sizes = [math.floor(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: (sizes[i] - exact[i], i))[: count - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _day(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


def _entry_days(count: int, rng: np.random.Generator) -> np.ndarray:
    """Entry dates over the cohort years, fewer during the first lockdown (weight 0.2)."""
    days = np.arange(_day(f"{COHORT_YEARS[0]}-01-01"), _day(f"{COHORT_YEARS[-1] + 1}-01-01"))
    weights = np.where((days >= _day("2020-03-17")) & (days <= _day("2020-05-10")), 0.2, 1.0)
    return rng.choice(days, size=count, p=weights / weights.sum())


def _programme_block(
    rank: int, sheet: str, spec: CohortProgramme, count: int, qpv: Sequence[Qpv], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Entry, late entry and attributes of ``count`` beneficiaries of one programme (``rank``: its place)."""
    entry = _entry_days(count, rng)
    late = rng.random(count) < COHORT_LATE_SHARE
    delay = rng.integers(_LATE_DAYS[0], _LATE_DAYS[1] + 1, size=count)
    weights = np.array([q.population for q in qpv], dtype=float)
    codes = np.array([q.code for q in qpv], dtype=object)[rng.choice(len(qpv), size=count, p=weights / weights.sum())]
    inside = rng.random(count) < spec.qpv_share
    return {
        "programme": np.full(count, sheet, dtype=object),
        "rank": np.full(count, rank),
        "entry": entry,
        "start": np.where(late, entry + delay.astype("timedelta64[D]"), entry),
        "late": late,
        "qpv": np.where(inside, codes, HORS_QPV),
        "sex": np.where(rng.random(count) < spec.women_share, "F", "M").astype(object),
        "age_band": np.array(list(COHORT_AGE_BANDS), dtype=object)[rng.choice(3, size=count, p=spec.age_shares)],
        "qualification": np.array(list(QUALIFICATIONS), dtype=object)[
            rng.choice(3, size=count, p=spec.qualification_shares)
        ],
    }


def _borrow_persons(rows: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Person numbers (1..n in row order), some rows given the person of a row of another programme.

    :data:`COHORT_TWICE_SHARE` of the rows are paired with as many other rows (disjoint sets); a
    pair in two different programmes becomes one person: the second row takes the first one's
    number, QPV, sex, age band and qualification. No person is twice in a programme.
    """
    count = len(rows["programme"])
    persons = np.arange(1, count + 1)
    pairs = round(COHORT_TWICE_SHARE * count)
    order = rng.permutation(count)
    takers, givers = order[:pairs], order[pairs : 2 * pairs]
    differ = rows["programme"][takers] != rows["programme"][givers]
    takers, givers = takers[differ], givers[differ]
    persons[takers] = persons[givers]
    for column in ("qpv", "sex", "age_band", "qualification"):
        rows[column][takers] = rows[column][givers]
    return persons


def _hazards(rows: dict[str, np.ndarray], programmes: Mapping[str, CohortProgramme]) -> np.ndarray:
    """Monthly hazard of each row: the programme's, times the ratio of each of its groups."""
    hazard = np.array([spec.monthly_hazard for spec in programmes.values()])[rows["rank"]]
    for column, ratios in COHORT_HAZARD_RATIOS.items():
        values = rows[column]
        if column == "qpv":
            values = np.where(values == HORS_QPV, HORS_QPV, "QPV")
        for group, ratio in ratios.items():
            hazard = np.where(values == group, hazard * ratio, hazard)
    return hazard


def _event_days(start: np.ndarray, hazard: np.ndarray, end: np.datetime64, rng: np.random.Generator) -> np.ndarray:
    """Day of the first employment, strictly after ``start``, or NaT when it falls after ``end``.

    The hazard is ``hazard`` per month times the calendar factor of each day
    (:data:`COHORT_CALENDAR_FACTORS`): the day is where the cumulative factor since ``start``
    reaches an Exp(1) draw divided by the daily hazard (inversion of the cumulative hazard).
    """
    first = start.min() if len(start) else end
    days = np.arange(first, end + 1)
    factor = np.ones(len(days))
    for low, high, value in COHORT_CALENDAR_FACTORS:
        factor[(days >= _day(low)) & (days <= _day(high))] = value
    cumulative = np.concatenate([[0.0], np.cumsum(factor)])  # cumulative[k]: factor of the days before days[k]
    offset = (start - first).astype(np.int64)
    target = cumulative[offset] + rng.exponential(size=len(start)) / (hazard / _DAYS_PER_MONTH)
    # The event falls during day index - 1 (on or after start) and is dated the next day, the first
    # whole day after it: the time from the start of observation is at least one day.
    index = np.searchsorted(cumulative, target, side="left")
    event = first + index.astype("timedelta64[D]")
    return np.where(index < len(cumulative), event, np.datetime64("NaT"))


def generate_cohorts(plan: Plan | None = None, seed: int = DEMO_SEED, n: int | None = None) -> pd.DataFrame:
    """SYNTHETIC cohort records: ``n`` rows (default :data:`COHORT_ROWS`), one per person and programme.

    Columns :data:`COHORT_DEMO_COLUMNS`: the canonical columns of a ``cohorts/`` file, with a
    synthetic ``person_id`` (``P000123``); dates as ``datetime64[ns]``, ``observation_start``
    NaT unless the entry is late, ``first_employment_date`` NaT and ``employment_kind`` None for a
    person not in work at the last contact. Rules:

    - programmes: the sheets of :data:`COHORT_PROGRAMMES` that ``plan`` has (default: the
      package's referential), rows split by their shares (largest remainder); entries uniform over
      2018-2020, at a fifth of the rate during the first lockdown (2020-03-17 to 2020-05-10);
    - groups per programme: QPV (then a real QPV drawn with weights its population) or hors QPV,
      sex, age band, qualification (:class:`CohortProgramme`); :data:`COHORT_TWICE_SHARE` of the
      rows are a person drawn in another programme too (same person_id and groups);
    - late entry for :data:`COHORT_LATE_SHARE` of the rows: observation starts 14-56 days after entry;
    - first employment: a piecewise-exponential time from the start of observation with the
      programme's monthly hazard times the group ratios (:data:`COHORT_HAZARD_RATIOS`) and the
      calendar factors (:data:`COHORT_CALENDAR_FACTORS`), kind drawn with
      :data:`COHORT_KIND_SHARES`;
    - follow-up ends at the extraction, :data:`COHORT_EXTRACTION`, or, for the
      :data:`COHORT_LOST_SHARE` lost from follow-up, 30-540 days after the start of observation
      and no later than 2021-06-30; a first employment after the end of follow-up is not seen;
    - last contact: 0-120 days after the first employment (not after the end of follow-up); the
      end of follow-up for a person lost without a job; 0-60 days before the extraction otherwise.

    Rows sorted by programme (plan order), entry date and draw. Deterministic for a plan, the
    reference list of the QPV, a seed and ``n``; vectorised (a million rows in a few seconds).
    """
    plan = plan if plan is not None else load_plan()
    count = COHORT_ROWS if n is None else int(n)
    sheets = {s.id for s in plan.engagements}
    programmes = {sheet: spec for sheet, spec in COHORT_PROGRAMMES.items() if sheet in sheets}
    if not programmes:
        raise ValueError(f"the plan has none of the cohort programmes {', '.join(COHORT_PROGRAMMES)}")
    rng = np.random.default_rng(seed)
    qpv = load_qpv()
    sizes = _sizes([spec.share for spec in programmes.values()], count)
    blocks = [
        _programme_block(rank, sheet, spec, size, qpv, rng)
        for rank, ((sheet, spec), size) in enumerate(zip(programmes.items(), sizes, strict=True))
    ]
    rows = {key: np.concatenate([block[key] for block in blocks]) for key in blocks[0]}
    order = np.lexsort((rows["entry"], rows["rank"]))
    rows = {key: values[order] for key, values in rows.items()}
    persons = _borrow_persons(rows, rng)

    extraction = _day(COHORT_EXTRACTION)
    lost = rng.random(count) < COHORT_LOST_SHARE
    lost_day = np.minimum(
        rows["start"] + rng.integers(_LOST_DAYS[0], _LOST_DAYS[1] + 1, size=count).astype("timedelta64[D]"),
        _day(_LOST_LAST),
    )
    end = np.where(lost, lost_day, extraction)
    event = _event_days(rows["start"], _hazards(rows, programmes), extraction, rng)
    seen = ~np.isnat(event) & (event <= end)
    news = rng.integers(_NEWS_AFTER_EVENT_DAYS[0], _NEWS_AFTER_EVENT_DAYS[1] + 1, size=count)
    quiet = rng.integers(_NEWS_BEFORE_EXTRACTION_DAYS[0], _NEWS_BEFORE_EXTRACTION_DAYS[1] + 1, size=count)
    contact = np.where(
        seen,
        np.minimum(np.where(seen, event, end) + news.astype("timedelta64[D]"), end),
        np.where(lost, end, extraction - quiet.astype("timedelta64[D]")),
    )
    kinds = np.array(list(COHORT_KIND_SHARES), dtype=object)[
        rng.choice(len(COHORT_KIND_SHARES), size=count, p=list(COHORT_KIND_SHARES.values()))
    ]
    width = max(6, len(str(count)))
    return pd.DataFrame(
        {
            "person_id": np.char.add("P", np.char.zfill(persons.astype(str), width)).astype(object),
            "programme": rows["programme"],
            "entry_date": rows["entry"].astype("datetime64[ns]"),
            "observation_start": np.where(rows["late"], rows["start"], np.datetime64("NaT")).astype("datetime64[ns]"),
            "qpv": rows["qpv"],
            "sex": rows["sex"],
            "age_band": rows["age_band"],
            "qualification": rows["qualification"],
            "first_employment_date": np.where(seen, event, np.datetime64("NaT")).astype("datetime64[ns]"),
            "employment_kind": np.where(seen, kinds, None),
            "last_contact_date": contact.astype("datetime64[ns]"),
        },
        columns=list(COHORT_DEMO_COLUMNS),
    )


# --------------------------------------------------------------------------------------------------
# Monitoring derived from the cohorts


class CohortStatistic(StrEnum):
    """What a programme indicator counts in the cohort records, for a plan year ``Y``.

    - ``entrants``: people who entered the programme in ``Y`` (``entry_date`` in ``Y``);
    - ``qpv_share``: 100 x the entrants of ``Y`` living in a QPV / the entrants of ``Y`` (one decimal);
    - ``first_events``: people whose first event after entry (``first_employment_date``) is of the
      indicator's kinds and dated in ``Y``, whatever their year of entry;
    - ``share_within``: 100 x the entrants of ``Y - 1`` whose first event is of the indicator's kinds
      within ``horizon_months`` of entry / all the entrants of ``Y - 1`` (one decimal), reported in
      ``Y``, the year their horizon (12 months at most) ends. People lost from follow-up without
      news of a job count as not in work: the share is a lower bound of the cumulative incidence the
      cohort report publishes, which corrects for them (censoring) and pools the entry years.
    """

    ENTRANTS = "entrants"
    QPV_SHARE = "qpv_share"
    FIRST_EVENTS = "first_events"
    SHARE_WITHIN = "share_within"


@dataclass(frozen=True)
class CohortIndicator:
    """How the yearly values of one programme indicator are counted in the cohort records.

    The programme is the indicator's sheet. ``kinds``: the first events counted
    (``employment_kind`` values, for ``first_events`` and ``share_within``); ``age_bands``: only
    these entrants (a strand of the programme), None for all; ``qpv_only``: only the entrants living
    in a QPV; ``horizon_months``: of ``share_within``; ``years``: only these plan years (None: all).
    """

    statistic: CohortStatistic
    kinds: tuple[str, ...] = ()
    age_bands: tuple[str, ...] | None = None
    qpv_only: bool = False
    horizon_months: float | None = None
    years: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.statistic in (CohortStatistic.FIRST_EVENTS, CohortStatistic.SHARE_WITHIN) and not self.kinds:
            raise ValueError(f"a {self.statistic} indicator needs the kinds of first event it counts")
        if self.statistic is CohortStatistic.SHARE_WITHIN and not 0 < (self.horizon_months or 0) <= 12:
            raise ValueError("a share_within indicator needs a horizon of 12 months at most (reported the next year)")


_JOB = tuple(OUTCOMES["employment"])  # any job or a business creation (not a training)
#: Sheet 10's cohort has no strand column: its 16-25 stand for "Sport pour l'emploi" (the plan's
#: "jeunes"), the older entrants for the "Médiation" strand of Emploi connect.
_SPORT, _MEDIATION = ("16-25",), ("26-49", "50+")

#: Programme indicators counted in the cohort records (:func:`cohort_monitoring`), by indicator id.
COHORT_INDICATORS: Mapping[str, CohortIndicator] = MappingProxyType(
    {
        # "Bénéficiaires de la clause d'insertion par an": the year's entrants.
        "1.1": CohortIndicator(CohortStatistic.ENTRANTS),
        # "Part des bénéficiaires de la clause résidant en QPV": the share of the year's entrants.
        "1.2": CohortIndicator(CohortStatistic.QPV_SHARE),
        # "Personnes accompagnées" (running total): entrants by year.
        "3.1": CohortIndicator(CohortStatistic.ENTRANTS),
        # "Mises à l'emploi" (running total): first jobs by the year they start.
        "3.2": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=_JOB),
        # "Jeunes des QPV identifiés, préparés et orientés": entrants living in a QPV, by year.
        "9.1": CohortIndicator(CohortStatistic.ENTRANTS, qpv_only=True),
        # "Retours à l'emploi et/ou en formation par an": first jobs or trainings of the year.
        "9.2": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=tuple(OUTCOMES["positive"])),
        # "Médiation : personnes accompagnées et remises à l'emploi en 2018": first jobs of 2018.
        "10.1": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=_JOB, age_bands=_MEDIATION, years=(2018,)),
        # "... d'ici 2020" (running total from 2018, 10.1 included): first jobs by year.
        "10.2": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=_JOB, age_bands=_MEDIATION),
        # "Sport : jeunes participants" (running total): entrants of the strand by year.
        "10.3": CohortIndicator(CohortStatistic.ENTRANTS, age_bands=_SPORT),
        # "Sport : jeunes insérés professionnellement" (running total): first jobs by year.
        "10.4": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=_JOB, age_bands=_SPORT),
        # "Sport : retours en études et formation par an": first trainings of the year.
        "10.5": CohortIndicator(CohortStatistic.FIRST_EVENTS, kinds=("training",), age_bands=_SPORT),
        # "NEETS formés" (running total): entrants by year.
        "12.2": CohortIndicator(CohortStatistic.ENTRANTS),
        # "Taux de retour à l'emploi ou de création d'activités": the plan gives no horizon; the
        # cohort report compares this target with its 12-month rate, so 12 months here too.
        "12.3": CohortIndicator(CohortStatistic.SHARE_WITHIN, kinds=_JOB, horizon_months=TARGET_HORIZON_MONTHS),
    }
)


def _default_cohorts(plan: Plan, seed: int) -> pd.DataFrame | None:
    """The cohort records of the demo for ``plan`` and ``seed``, None when the plan follows no programme."""
    if not {s.id for s in plan.engagements} & set(COHORT_PROGRAMMES):
        return None
    return generate_cohorts(plan, seed)


def _cohort_values(
    spec: CohortIndicator, records: pd.DataFrame, entry_years: range, event_years: range
) -> dict[int, float]:
    """Value by year of one indicator from the records of its programme (:class:`CohortStatistic`).

    ``entry_years``: the years of entry the records cover (a year without entrant counts 0);
    ``event_years``: the years of their follow-up (a year without event counts 0).
    """
    if spec.age_bands is not None:
        records = records[records["age_band"].isin(spec.age_bands)]
    if spec.qpv_only:
        records = records[records["qpv"] != HORS_QPV]
    entry_year = records["entry_date"].dt.year
    entrants = entry_year.value_counts()
    if spec.statistic is CohortStatistic.ENTRANTS:
        return {y: float(entrants.get(y, 0)) for y in entry_years}
    if spec.statistic is CohortStatistic.QPV_SHARE:
        shares = 100 * (records["qpv"] != HORS_QPV).groupby(entry_year).mean()
        return {int(y): round(float(v), 1) for y, v in shares.items()}
    counted = records["employment_kind"].isin(spec.kinds)
    if spec.statistic is CohortStatistic.FIRST_EVENTS:
        events = records.loc[counted, "first_employment_date"].dt.year.value_counts()
        return {y: float(events.get(y, 0)) for y in event_years}
    days = (records["first_employment_date"] - records["entry_date"]).dt.days
    within = counted & (days <= float(spec.horizon_months or 0) * _DAYS_PER_MONTH)
    shares = 100 * within.groupby(entry_year).mean()
    return {int(y) + 1: round(float(v), 1) for y, v in shares.items() if int(y) + 1 in event_years}


def cohort_monitoring(plan: Plan, cohorts: pd.DataFrame | None) -> dict[str, list[dict[str, object]]]:
    """Monitoring rows of the programme indicators, counted in the cohort records, by indicator id.

    For every indicator of :data:`COHORT_INDICATORS` that ``plan`` has and whose sheet has rows in
    ``cohorts`` (columns of :func:`generate_cohorts`): one row per plan year with a value
    (:class:`CohortStatistic`), ``final`` before the plan's last year and ``provisional`` in it,
    with the sheet's source (:data:`SOURCES`). A count or share of entrants for a plan year after
    the last entry year of the records gets a row without value and a French comment (the follow-up
    does not hold those entrants); first events dated after the last entry year get a comment
    saying they are those of the earlier entrants. ``cohorts`` None: no indicator.
    """
    if cohorts is None or cohorts.empty:
        return {}
    first_entry, last_entry = (int(y) for y in cohorts["entry_date"].dt.year.agg(["min", "max"]))
    extraction = max(int(cohorts["last_contact_date"].dt.year.max()), last_entry)
    entry_years, event_years = range(first_entry, last_entry + 1), range(first_entry, extraction + 1)
    span = f"de {first_entry} à {last_entry}" if first_entry != last_entry else f"de {first_entry}"
    derived: dict[str, list[dict[str, object]]] = {}
    for indicator in plan.indicators():
        spec = COHORT_INDICATORS.get(indicator.id)
        records = cohorts[cohorts["programme"] == indicator.engagement]
        if spec is None or records.empty:
            continue
        wanted = spec.years if spec.years is not None else PLAN_YEARS
        values = {y: v for y, v in _cohort_values(spec, records, entry_years, event_years).items() if y in wanted}
        comments: dict[int, str] = {}
        for year in (y for y in wanted if y > last_entry):
            if spec.statistic in (CohortStatistic.ENTRANTS, CohortStatistic.QPV_SHARE):
                values[year] = math.nan
                comments[year] = (
                    f"Entrées de {year} non encore consolidées : le suivi de cohorte porte sur les entrées {span}"
                )
            elif spec.statistic is CohortStatistic.FIRST_EVENTS and year in values:
                comments[year] = (
                    f"Parmi les personnes entrées {span} (suivi de cohorte) : entrées de {year} non encore consolidées"
                )
        if spec.statistic is CohortStatistic.SHARE_WITHIN:
            for year in values:
                comments[year] = (
                    f"Personnes entrées en {year - 1}, situation {spec.horizon_months:g} mois après l'entrée "
                    "(personnes perdues de vue comptées sans emploi)"
                )
        derived[indicator.id] = [
            {
                "indicator_id": indicator.id,
                "year": year,
                "value": value,
                "status": "provisional" if year == LAST_YEAR else "final",
                "source": SOURCES.get(indicator.engagement, _DEFAULT_SOURCE),
                "comment": comments.get(year),
            }
            for year, value in sorted(values.items())
        ]
    return derived


# --------------------------------------------------------------------------------------------------
# Files


def _number_text(value: float, decimal: str, digits: int | None = None) -> str:
    """``value`` as a CSV cell: empty for NaN, no decimals for a whole number unless ``digits`` is given."""
    if math.isnan(value):
        return ""
    if digits is not None:
        text = f"{value:.{digits}f}"
    elif float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{value:.1f}"
    return text.replace(".", decimal)


def _csv_text(frame: pd.DataFrame, sep: str) -> str:
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def _monitoring_bytes(frame: pd.DataFrame, french: bool) -> bytes:
    """Plain (UTF-8, ``,``, decimal point, English) or French (cp1252, ``;``, decimal comma) CSV bytes."""
    decimal = "," if french else "."
    table = frame.assign(value=[_number_text(v, decimal) for v in frame["value"]]).fillna("")
    if not french:
        return _csv_text(table, ",").encode("utf-8")
    table = table.assign(status=table["status"].map(_STATUS_FR))
    table.columns = list(_MONITORING_HEADERS_FR)
    return _csv_text(table, ";").encode("cp1252")


def _spending_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, ``;``, amounts with two decimals and a decimal comma, French headers."""
    table = frame.assign(amount_eur=[_number_text(v, ",", digits=2) for v in frame["amount_eur"]]).fillna("")
    table.columns = list(_SPENDING_HEADERS_FR)
    return _csv_text(table, ";").encode("utf-8-sig")


def _barometer_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, ``,``, whole counts without decimals, English headers, ``true``/``false``."""
    table = frame.assign(
        value=[_number_text(v, ".") for v in frame["value"]],
        vintage=["" if pd.isna(v) else str(int(v)) for v in frame["vintage"]],
        sampled=["true" if v else "false" for v in frame["sampled"]],
    )
    return _csv_text(table, ",").encode("utf-8")


def _cohort_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, ``,``, ISO dates, blank cells for a missing date or kind, English headers."""
    table = frame.copy()
    for column in ("entry_date", "observation_start", "first_employment_date", "last_contact_date"):
        table[column] = table[column].dt.strftime("%Y-%m-%d").fillna("")
    table["employment_kind"] = table["employment_kind"].fillna("")
    return _csv_text(table, ",").encode("utf-8")


def write_demo(out_dir: Path, plan: Plan | None = None, seed: int = DEMO_SEED) -> list[Path]:
    """Write the SYNTHETIC demo files under ``out_dir`` and return their paths.

    ``monitoring/priorite_1_2.csv``, ``monitoring/priorites_3_a_6.csv``,
    ``spending/depenses_mel.csv``, ``barometer/barometre_2015_2021.csv`` and
    ``cohorts/beneficiaires_2018_2020.csv`` (formats in the module docstring), the survey waves of
    ``surveys/`` (:func:`evaluation_demo.survey.write_surveys`) and the comparison territories of
    ``comparison/`` (:func:`evaluation_demo.comparison.write_comparison`), each written atomically, and a
    ``dataset.yaml`` declaring the folder synthetic (``demo: true``) when the folder has none (the
    package's own ``data/demo/dataset.yaml`` is kept as it is). ``plan`` defaults to the package's
    referential.
    """
    plan = plan if plan is not None else load_plan()
    out_dir = Path(out_dir)
    cohorts = generate_cohorts(plan, seed)
    monitoring = generate_monitoring(plan, seed, cohorts=cohorts)
    priority = {sheet.id: sheet.priority for sheet in plan.engagements}
    row_priority = [priority[i.engagement] for i in _indicators_of_rows(plan, monitoring)]
    written = []
    for spec in MONITORING_FILES:
        part = monitoring[[p in spec.priorities for p in row_priority]]
        written.append(_write(out_dir / spec.path, _monitoring_bytes(part, spec.french)))
    written.append(_write(out_dir / SPENDING_FILE, _spending_bytes(generate_spending(plan, seed))))
    written.append(_write(out_dir / BAROMETER_FILE, _barometer_bytes(generate_barometer(plan, seed))))
    written.append(_write(out_dir / COHORT_FILE, _cohort_bytes(cohorts)))
    # SYNTHETIC perception survey waves (sheets 17 and 4a) and comparison territories (issue 15),
    # each from its own generator and seed.
    from evaluation_demo.comparison import write_comparison
    from evaluation_demo.survey import write_surveys

    written += write_surveys(out_dir / "surveys")
    written += write_comparison(out_dir / "comparison")
    meta = out_dir / "dataset.yaml"
    if not meta.exists():
        text = (
            'name: "Jeu de démonstration (synthétique)"\ndemo: true\n'
            f"provenance: SYNTHETIC data written by 'python -m evaluation_demo' with the seed {seed}; no value is real.\n"
        )
        written.append(_write(meta, text.encode("utf-8")))
    return written


def _indicators_of_rows(plan: Plan, monitoring: pd.DataFrame) -> list[Indicator]:
    indicators = {i.id: i for i in plan.indicators()}
    return [indicators[i] for i in monitoring["indicator_id"]]


def _write(path: Path, data: bytes) -> Path:
    atomic_write_bytes(path, data)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation_demo [--out DIR] [--seed N]``: write the SYNTHETIC demo files, print their paths."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation_demo",
        description=(
            "Write the SYNTHETIC demo dataset (monitoring values, spending, barometer, cohorts; no value is real)."
        ),
    )
    parser.add_argument("--out", type=Path, default=DEMO_DATA_DIR, help="data directory (default: data/demo/)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
    args = parser.parse_args(argv)
    for path in write_demo(args.out, seed=args.seed):
        own = path.parent.name in ("surveys", "comparison")  # their generators keep their own seeds
        print(f"wrote {path} (SYNTHETIC demo data, {'own seed' if own else f'seed {args.seed}'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
