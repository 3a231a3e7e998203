"""The programme indicators of the demo's monitoring, counted in the SYNTHETIC cohort records instead of drawn.

**Programme indicators come from the cohort records**, so that a programme's engagement report
and its cohort report speak of the same people: the indicators of :data:`COHORT_INDICATORS`
(people entering a followed programme, people returning to work or training through it, the
share of its entrants in a job; sheets 1, 3, 9, 10 and 12) are not drawn but counted in the
synthetic beneficiaries of :func:`~evaluation_demo.cohorts.generate_cohorts` (same seed, same people, same dates), by
:func:`cohort_monitoring`. Their scenario is still drawn (so that the other indicators keep
their values) and ignored. The definitions (:class:`CohortStatistic`): entrants of a calendar
year (possibly only those living in a QPV, or one age band standing for a strand of sheet 10),
the share of a year's entrants living in a QPV, first events of some kinds (a job, a training)
dated in the year, and the share of the entrants of the previous year whose first event was a
job within 12 months of entry, all entrants in the denominator. The cohort file holds the
entries of 2018-2020, followed until the end of 2021: 2021 counts of entrants (and shares of
them) have no value and a French comment saying so; 2021 first events are those of the
2018-2020 entrants, said in a comment. These rows are ``final`` before 2021, ``provisional`` in
2021 (follow-up until the extraction), with the engagement's source
(:data:`~evaluation_demo.partners.SOURCES`).

Its own file: these definitions tie two synthetic inputs together (the monitoring values of
:mod:`evaluation_demo.monitoring` and the cohort records of :mod:`evaluation_demo.cohorts`); each
is written out in :class:`CohortStatistic` and :data:`COHORT_INDICATORS`. **Nothing counted here is
real**: the records are drawn at random.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.intake import HORS_QPV
from evaluation.referential.plan import Plan
from evaluation.stats.cohorts import OUTCOMES, TARGET_HORIZON_MONTHS
from evaluation_demo.cohorts import _DAYS_PER_MONTH
from evaluation_demo.draws import LAST_YEAR
from evaluation_demo.partners import _DEFAULT_SOURCE, SOURCES

__all__ = ["CohortStatistic", "CohortIndicator", "COHORT_INDICATORS", "cohort_monitoring"]


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
