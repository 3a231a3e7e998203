"""Attrition: who was lost from follow-up, per person and per group of a cohort.

:func:`lost_to_follow_up` applies the rule (no event and no contact for more than ``lost_after_months``
months at a date), :func:`attrition` counts it per group with a fast grouping on integer codes. Its
own file: attrition describes the follow-up, not an outcome; re-exported by
:mod:`evaluation.stats.cohorts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.stats.cohort_durations import DAYS_PER_MONTH, _dates
from evaluation.stats.cohort_inputs import _require_columns, _timestamp

__all__ = ["ATTRITION_COLUMNS", "lost_to_follow_up", "attrition"]

#: Columns of :func:`attrition` after the ``by`` columns, in order.
ATTRITION_COLUMNS = ("entrants", "lost", "lost_pct")


def _by_columns(cohort: pd.DataFrame, by: Sequence[str] | str) -> list[str]:
    columns = [by] if isinstance(by, str) else list(by)
    _require_columns(cohort, columns, "the cohort")
    return columns


def _factorize_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted uniques, a missing value being the last unique (NaN)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # values of mixed types that do not sort
        codes, uniques = pd.factorize(values, sort=False)
    uniques = pd.Index(uniques)
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(uniques), codes)
        uniques = uniques.append(pd.Index([np.nan]))
    return codes.astype(np.int64, copy=False), uniques


def _group_index(frame: pd.DataFrame, by: list[str], rows: np.ndarray | None) -> tuple[np.ndarray, pd.DataFrame]:
    """Group number of each row kept by ``rows`` (a mask, None = all) and the groups' keys, sorted.

    Groups are the combinations of ``by`` values present among those rows, in lexicographic order of
    the sorted values of each column; a missing value is a group of its own (nobody silently
    disappears from a table). Hashing each column once and combining integer codes avoids pandas'
    groupby machinery, several times slower on a million rows of text.
    """
    n_rows = len(frame) if rows is None else int(np.count_nonzero(rows))
    if not by:
        return np.zeros(n_rows, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1))
    combined = np.zeros(n_rows, dtype=np.int64)
    levels = []
    size = 1
    for column in by:
        codes, uniques = _factorize_sorted(frame[column])
        if rows is not None:
            codes = codes[rows]
        combined = combined * len(uniques) + codes
        levels.append(uniques)
        size *= len(uniques)
    if size <= 4 * n_rows + 1_000_000:
        seen = np.bincount(combined, minlength=size) > 0
        present = np.flatnonzero(seen)
        group_id = (np.cumsum(seen) - 1)[combined]
    else:  # too many combinations for a dense table
        present, group_id = np.unique(combined, return_inverse=True)
    keys = {}
    rest = present
    for column, uniques in zip(reversed(by), reversed(levels), strict=True):
        rest, position = np.divmod(rest, len(uniques))
        keys[column] = uniques.take(position)
    table = pd.DataFrame({column: np.asarray(keys[column]) for column in by})
    return group_id, table


def _group_sums(
    frame: pd.DataFrame,
    by: list[str],
    rows: np.ndarray | None,
    flags: Mapping[str, np.ndarray],
    among: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per group of ``frame[by]`` over the rows kept by ``rows``, the number of True of each of ``flags``.

    ``flags`` are boolean arrays on the kept rows; ``among`` (a mask on the kept rows) restricts the
    counts without removing groups: a group with no row in ``among`` gets zeros.
    """
    group_id, table = _group_index(frame, by, rows)
    for name, flag in flags.items():
        counted = flag if among is None else flag & among
        table[name] = np.bincount(group_id[counted], minlength=len(table)).astype(np.int64)
    return table


def _lost(cohort: pd.DataFrame, as_of: Any, lost_after_months: float) -> tuple[np.ndarray, np.ndarray]:
    """The rule of :func:`lost_to_follow_up`: (entered on or before ``as_of``, lost among them)."""
    _require_columns(cohort, ("entry_date", "first_employment_date", "last_contact_date"), "the cohort")
    if not (math.isfinite(lost_after_months) and lost_after_months >= 0):
        raise UsageError(f"lost_after_months must be a non-negative number, got {lost_after_months!r} (e.g. 6)")
    stamp = _timestamp(as_of, "as_of").to_datetime64()
    entered = _dates(cohort, "entry_date") <= stamp
    event = _dates(cohort, "first_employment_date")[entered] <= stamp  # NaT compares False
    contact = _dates(cohort, "last_contact_date")[entered]
    contact = np.where(contact > stamp, stamp, contact)
    silent_months = (stamp - contact) / np.timedelta64(1, "D") / DAYS_PER_MONTH
    return entered, ~event & ~(silent_months <= lost_after_months)  # no contact date at all (NaN): lost


def lost_to_follow_up(cohort: pd.DataFrame, as_of: Any, lost_after_months: float = 6) -> pd.Series:
    """Per person who entered on or before ``as_of``: lost from follow-up at ``as_of`` (True/False).

    Lost: no event (of any kind) on or before ``as_of`` and a last contact (on or before ``as_of``)
    more than ``lost_after_months`` months before ``as_of`` (``(as_of - last_contact) / 30.4375 days >
    lost_after_months``); a person without any contact date counts as lost. Indexed like ``cohort``,
    restricted to the entrants.
    """
    entered, lost = _lost(cohort, as_of, lost_after_months)
    return pd.Series(lost, index=cohort.index[entered], name="lost")


def attrition(
    cohort: pd.DataFrame,
    as_of: Any,
    lost_after_months: float = 6,
    by: Sequence[str] | str = ("programme",),
) -> pd.DataFrame:
    """People lost from follow-up at ``as_of``, per group (:func:`lost_to_follow_up`).

    * ``entrants``: people who entered the programme on or before ``as_of``;
    * ``lost``: among them, those lost from follow-up;
    * ``lost_pct = 100 * lost / entrants``.

    Columns: the ``by`` columns, then :data:`ATTRITION_COLUMNS`; groups sorted, a missing group value
    is a group of its own.
    """
    columns = _by_columns(cohort, by)
    entered, lost = _lost(cohort, as_of, lost_after_months)
    table = _group_sums(cohort, columns, entered, {"entrants": np.ones(lost.size, dtype=bool), "lost": lost})
    with np.errstate(divide="ignore", invalid="ignore"):
        table["lost_pct"] = np.where(table["entrants"] > 0, 100.0 * table["lost"] / table["entrants"], np.nan)
    return table[[*columns, *ATTRITION_COLUMNS]]
