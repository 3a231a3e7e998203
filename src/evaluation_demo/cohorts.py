"""Seeded generator of the SYNTHETIC cohort records of the demo (``cohorts/``): programme beneficiaries 2018-2020.

**Nothing this module produces is real**: every person, date and outcome is drawn at random (see
:mod:`evaluation_demo.generate`); only the list of the QPV they live in is real. Its own file: the
records are drawn person by person, vectorised (a million rows for the benchmark), by rules that
no other generator shares; the programme indicators of the monitoring are counted in them
(:mod:`evaluation_demo.cohort_indicators`).

Columns ``person_id, programme, entry_date, observation_start, qpv, sex, age_band, qualification,
first_employment_date, employment_kind, last_contact_date``, entries 2018-2020.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake import COHORT_AGE_BANDS, COHORT_COLUMNS, HORS_QPV, QUALIFICATIONS
from evaluation.referential.plan import Plan, load_plan
from evaluation.referential.territories import Qpv, load_qpv
from evaluation_demo.draws import DEMO_SEED

__all__ = [
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
    "COHORT_DEMO_COLUMNS",
    "generate_cohorts",
]


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
