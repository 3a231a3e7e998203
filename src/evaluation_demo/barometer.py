"""Seeded generator of the SYNTHETIC barometer series of the demo (``barometer/``): counts of the QPV and the MEL.

**Nothing this module produces is real**: the 26 QPV and their populations of the reference list
are real, every count of the series is drawn at random around them (see
:mod:`evaluation_demo.generate`). Its own file: the barometer is calibrated on the plan's headline
figures and the real QPV, by territory profiles that no other generator uses.

Columns ``territory, year, indicator, sex, age_band, value, source, vintage, sampled``, 2015-2021.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake import BAROMETER_INDICATORS
from evaluation.referential.plan import Plan, load_plan
from evaluation.referential.territories import Qpv, load_qpv
from evaluation_demo.draws import DEMO_SEED, _uniform

__all__ = ["BAROMETER_DEMO_YEARS", "BAROMETER_DEMO_COLUMNS", "BAROMETER_SOURCES", "generate_barometer"]

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
