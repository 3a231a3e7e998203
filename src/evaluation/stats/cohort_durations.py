"""From cohort records to durations: event kinds, outcomes, and the follow-up of each person in months.

**Input** (``cohort``): one row per person and programme, columns ``programme`` (sheet id, ``"12"``),
``entry_date`` (programme entry: the time origin), ``observation_start`` (>= ``entry_date``: late
entry into observation, usually equal to it), ``qpv``, ``sex``, ``age_band``, ``qualification``,
``first_employment_date`` (NaT when no event), ``employment_kind`` (an :class:`EventKind` value or
None), ``last_contact_date`` (censoring date when no event) and ``cohort_year``. Dates are
``datetime64``.

**Time.** Durations are in months since programme entry: ``days / 30.4375`` (:data:`DAYS_PER_MONTH`,
the mean month of the Gregorian calendar, 365.25 / 12).

:func:`survival_data` gives the input of the Kaplan-Meier estimator and the log-rank test (another
first event censors), :func:`competing_data` the input of the cumulative incidence (another first
event competes). Its own file: the rules that turn dates into durations and events are one idea, used
by every estimator; re-exported by :mod:`evaluation.stats.cohorts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.stats.cohort_inputs import _require_columns, _timestamp

__all__ = [
    "DAYS_PER_MONTH",
    "EventKind",
    "OUTCOMES",
    "SURVIVAL_COLUMNS",
    "COMPETING_COLUMNS",
    "survival_data",
    "competing_data",
]

#: Days in a month: 365.25 / 12. Durations in months are ``days / DAYS_PER_MONTH``.
DAYS_PER_MONTH = 30.4375


class EventKind(StrEnum):
    """The kind of the first event after programme entry (column ``employment_kind``)."""

    CDI = "cdi"
    CDD_6M_PLUS = "cdd_6m_plus"
    SHORT_CONTRACT = "short_contract"
    TRAINING = "training"
    BUSINESS_CREATION = "business_creation"


#: The outcomes: which first events count as a success.
#:
#: * ``employment`` (retour à l'emploi): any job, i.e. CDI, CDD of 6 months or more, shorter
#:   contract, or business creation (the plan counts it with employment: "retour à l'emploi ou
#:   création d'activités", indicator 12.3);
#: * ``sustainable`` (emploi durable): CDI or CDD of 6 months or more, the DARES definition the
#:   cohort issue uses. **Business creation is not counted**: the record gives its date, not whether
#:   the business lasted (a creation says nothing of its durability the way a contract's length does),
#:   so counting it would mix a durable status with a start. Conventions that count it (the
#:   "sorties dynamiques" of insertion structures) can pass ``outcome=("cdi", "cdd_6m_plus",
#:   "business_creation")``;
#: * ``positive`` (sortie positive): employment or training.
OUTCOMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "employment": (
            EventKind.CDI.value,
            EventKind.CDD_6M_PLUS.value,
            EventKind.SHORT_CONTRACT.value,
            EventKind.BUSINESS_CREATION.value,
        ),
        "sustainable": (EventKind.CDI.value, EventKind.CDD_6M_PLUS.value),
        "positive": (
            EventKind.CDI.value,
            EventKind.CDD_6M_PLUS.value,
            EventKind.SHORT_CONTRACT.value,
            EventKind.BUSINESS_CREATION.value,
            EventKind.TRAINING.value,
        ),
    }
)

#: Columns of :func:`survival_data`, in order.
SURVIVAL_COLUMNS = ("duration_months", "event", "entry_months")
#: Columns of :func:`competing_data`, in order.
COMPETING_COLUMNS = ("duration_months", "event", "entry_months")
#: At most this many row labels are named in an error message; the rest are counted.
_MAX_LISTED = 5
_DATE_COLUMNS = ("entry_date", "observation_start", "first_employment_date", "last_contact_date")
_FOLLOW_UP_COLUMNS = (*_DATE_COLUMNS, "employment_kind")


def _outcome_kinds(outcome: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(outcome, str):
        if outcome not in OUTCOMES:
            raise UsageError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)}, or a tuple of event kinds)")
        return OUTCOMES[outcome]
    kinds = tuple(str(kind) for kind in outcome)
    known = {kind.value for kind in EventKind}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown or not kinds:
        raise UsageError(f"unknown event kind(s) {unknown!r} in outcome (known: {', '.join(sorted(known))})")
    return kinds


def _row_labels(index: pd.Index, mask: np.ndarray) -> str:
    labels = index[mask]
    shown = ", ".join(str(label) for label in labels[:_MAX_LISTED])
    more = f" and {labels.size - _MAX_LISTED} more" if labels.size > _MAX_LISTED else ""
    return f"{shown}{more}"


def survival_data(
    cohort: pd.DataFrame,
    outcome: str | Iterable[str] = "employment",
    as_of: Any = None,
) -> pd.DataFrame:
    """Durations, events and entry times of the cohort for one outcome, in months since programme entry.

    Columns :data:`SURVIVAL_COLUMNS`, on the index of ``cohort`` (rows left out by ``as_of`` are
    absent: take group labels as ``cohort.loc[d.index, column]``), ready for
    ``kaplan_meier(d.duration_months, d.event, entry=d.entry_months)`` and :func:`logrank`:

    * ``event`` is True when the person's first event is of the ``outcome`` (a key of
      :data:`OUTCOMES`, or a tuple of :class:`EventKind` values) and ``duration_months`` is then
      ``(first_employment_date - entry_date)`` in months;
    * **a first event of another kind ends observation** (censored at its date): e.g. a training
      first, when the outcome is employment. The records hold the *first* event only, so whether that
      person found a job later is unknown. This treats the other kinds as independent censoring, which
      they are not (a competing event): the curve is the time to the outcome *as first event*, and
      ``1 - S`` is not the share who ever reach it. Use ``outcome="positive"`` for a curve without
      competing kinds;
    * without an event: censored at ``last_contact_date``;
    * ``entry_months`` = ``(observation_start - entry_date)`` in months (0 when observed from entry);
    * ``as_of`` (a date, optional): the state of knowledge at that date. Rows whose observation starts
      after it are left out; events after it are ignored and follow-up is cut at it (last contact
      ``min(last_contact_date, as_of)``).

    Time is in whole days; an event or censoring **on the day observation starts** is placed half a
    day after it (``duration = entry + 0.5 day``), so that the person is in the risk set at their
    own time: R refuses ``Surv(start, stop)`` with ``start == stop``, and a day-0 event would otherwise
    have nobody at risk.

    Raises :class:`~evaluation.errors.UsageError` for missing columns, date columns that are not
    dates, unknown event kinds, a person without event nor last contact, an event or last contact
    before the start of observation (the intake refuses these; rows are named by their index label).
    """
    follow = _follow_up(cohort, _outcome_kinds(outcome), as_of)
    return pd.DataFrame(
        {
            "duration_months": follow.end_days / DAYS_PER_MONTH,
            "event": follow.outcome,
            "entry_months": follow.entry_days / DAYS_PER_MONTH,
        },
        index=cohort.index if follow.rows is None else cohort.index[follow.rows],
    )


def competing_data(
    cohort: pd.DataFrame,
    outcome: str | Iterable[str] = "employment",
    as_of: Any = None,
) -> pd.DataFrame:
    """Durations, event codes and entry times for a competing-risks estimate of ``outcome``.

    Columns :data:`COMPETING_COLUMNS`, on the index of ``cohort`` (rows left out by ``as_of`` are
    absent), ready for ``cumulative_incidence(d.duration_months, d.event, entry=d.entry_months)``.
    The rules of :func:`survival_data`, except that a first event of another kind is not a censoring:

    * ``event`` = 1 when the person's first event is of the ``outcome``, 2 when it is of another kind
      (a training first, when the outcome is a job: a *competing* event: after it the records say
      nothing more, and that person did not reach the outcome *as a first event*), 0 when there is
      no event by ``as_of`` (censored at the last contact, cut at ``as_of``);
    * ``duration_months`` is the time from entry to that event or censoring, ``entry_months`` the
      time from entry to the start of observation (late entry), in months of :data:`DAYS_PER_MONTH`.

    The cumulative incidence of code 1 at ``h`` months is then the share of the entrants whose first
    event is the outcome within ``h`` months, accounting for censoring, late entry and the other
    first events (Aalen-Johansen). ``1 - S(h)`` from :func:`survival_data` answers another question
    (the outcome in a world without the other events) and is larger.
    """
    follow = _follow_up(cohort, _outcome_kinds(outcome), as_of)
    codes = np.where(follow.outcome, 1, np.where(follow.any_event, 2, 0)).astype(np.int64)
    return pd.DataFrame(
        {
            "duration_months": follow.end_days / DAYS_PER_MONTH,
            "event": codes,
            "entry_months": follow.entry_days / DAYS_PER_MONTH,
        },
        index=cohort.index if follow.rows is None else cohort.index[follow.rows],
    )


@dataclass(frozen=True)
class _FollowUp:
    """Per-person follow-up of the rows kept (``rows``: boolean mask on the cohort, None = all)."""

    rows: np.ndarray | None
    end_days: np.ndarray
    entry_days: np.ndarray
    outcome: np.ndarray
    #: A first event of any kind (by ``as_of``): the outcome or a competing one.
    any_event: np.ndarray


def _dates(cohort: pd.DataFrame, column: str) -> np.ndarray:
    values = cohort[column]
    if not pd.api.types.is_datetime64_any_dtype(values) or isinstance(values.dtype, pd.DatetimeTZDtype):
        raise UsageError(
            f"cohort column {column!r} must hold dates (datetime64 without time zone), got {values.dtype} "
            "(read the cohort with evaluation.io, or convert with pd.to_datetime)"
        )
    return values.to_numpy()


def _follow_up(cohort: pd.DataFrame, kinds: tuple[str, ...], as_of: Any) -> _FollowUp:
    """The rules of :func:`survival_data` on numpy arrays (whole days, NaT as NaN)."""
    _require_columns(cohort, _FOLLOW_UP_COLUMNS, "the cohort")
    origin, start, event_date, contact = (_dates(cohort, column) for column in _DATE_COLUMNS)
    # One hashing pass over the kinds: codes -1 for missing, a lookup table for the outcome.
    kind_codes, uniques = pd.factorize(cohort["employment_kind"])
    known = {k.value for k in EventKind}
    unknown = sorted(str(v) for v in uniques if v not in known)
    if unknown:
        raise UsageError(
            f"cohort column 'employment_kind' has unknown value(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(known))}, or empty when no event)"
        )
    index = cohort.index
    has_date = ~np.isnat(event_date)
    has_kind = kind_codes >= 0
    problems = []
    for mask, text in (
        (has_date & ~has_kind, "first_employment_date without employment_kind"),
        (has_kind & ~has_date, "employment_kind without first_employment_date"),
    ):
        if mask.any():
            problems.append(f"{text} at row(s) {_row_labels(index, mask)}")
    if problems:
        raise UsageError("cohort: " + "; ".join(problems) + " (the intake should refuse these records)")
    in_outcome = np.append(np.isin(np.asarray(uniques, dtype=object), np.asarray(kinds, dtype=object)), False)
    outcome = in_outcome[kind_codes]  # code -1 reads the final False
    has_event = has_date
    rows = None
    if as_of is not None:
        stamp = _timestamp(as_of, "as_of").to_datetime64()
        rows = start <= stamp
        origin, start, event_date, contact = origin[rows], start[rows], event_date[rows], contact[rows]
        has_event, outcome, index = has_event[rows], outcome[rows], index[rows]
        has_event = has_event & (event_date <= stamp)
        contact = np.where(contact > stamp, stamp, contact)  # NaT compares False and stays NaT
    end = np.where(has_event, event_date, contact)
    outcome = outcome & has_event
    day = np.timedelta64(1, "D")
    end_days = (end - origin) / day
    entry_days = (start - origin) / day
    no_end = np.isnan(end_days)
    if no_end.any():
        problems.append(f"no event and no last_contact_date at row(s) {_row_labels(index, no_end)}")
    bad_start = np.isnan(entry_days) | (entry_days < 0)
    if bad_start.any():
        problems.append(f"observation_start missing or before entry_date at row(s) {_row_labels(index, bad_start)}")
    early = ~no_end & ~bad_start & (end_days < entry_days)
    if early.any():
        problems.append(f"event or last contact before observation_start at row(s) {_row_labels(index, early)}")
    if problems:
        raise UsageError("cohort: " + "; ".join(problems) + " (the intake should refuse these records)")
    end_days = np.where(end_days == entry_days, end_days + 0.5, end_days)
    return _FollowUp(rows=rows, end_days=end_days, entry_days=entry_days, outcome=outcome, any_event=has_event)
