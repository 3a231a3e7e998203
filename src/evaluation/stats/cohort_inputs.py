"""Checks of the arguments the cohort functions receive: event flags, a table's columns, a date.

Shared by the estimators (:mod:`evaluation.stats.kaplan_meier`, :mod:`evaluation.stats.logrank`) and
the functions that read cohort records (:mod:`evaluation.stats.cohort_durations`,
:mod:`evaluation.stats.attrition`, :mod:`evaluation.stats.cohort_targets`), beside the numeric checks
of :mod:`evaluation.stats.survival_inputs`. Each raises :class:`~evaluation.errors.UsageError` with
what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evaluation.errors import UsageError
from evaluation.stats.survival_inputs import _float_array, _listed


def _event_array(values: ArrayLike, size: int) -> np.ndarray:
    """Events as booleans from True/False or 1/0; UsageError for anything else."""
    array = _float_array(values, "events")
    if array.size != size:
        raise UsageError(f"events has {array.size} values but durations has {size} (one per person)")
    bad = np.flatnonzero((array != 0) & (array != 1))
    if bad.size:
        raise UsageError(
            f"events must be True/False or 1/0, got {float(array[bad[0]])!r} at position(s) {_listed(bad)} "
            "(1 = the event was observed, 0 = censored)"
        )
    return array == 1


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UsageError(
            f"{what} lacks the column(s) {', '.join(repr(c) for c in missing)} "
            f"(it has: {', '.join(map(str, frame.columns))})"
        )


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{name} must be a date such as '2021-12-31', got {value!r}") from err
    if pd.isna(stamp):
        raise UsageError(f"{name} must be a date such as '2021-12-31', got {value!r}")
    return stamp
