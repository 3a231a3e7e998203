"""Input checks and the sort shared by the survival estimators (:mod:`evaluation.stats.cohorts`, :mod:`evaluation.stats.incidence`).

Durations, event flags and entry times arrive from callers as lists, arrays or pandas objects; each
estimator checks them the same way and names the positions of bad values in its message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evaluation.errors import UsageError

#: At most this many positions are named in an error message; the rest are counted.
_MAX_LISTED = 5


def _listed(positions: np.ndarray) -> str:
    shown = ", ".join(str(p) for p in positions[:_MAX_LISTED])
    more = f" and {positions.size - _MAX_LISTED} more" if positions.size > _MAX_LISTED else ""
    return f"{shown}{more}"


def _float_array(values: ArrayLike, name: str) -> np.ndarray:
    """A 1-D float array of finite values; UsageError naming the positions of the others."""
    if isinstance(values, pd.Series | pd.Index):
        array = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise UsageError(f"{name} must be numbers ({err})") from err
    if array.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise UsageError(
            f"{name} has {bad.size} missing or infinite value(s) at position(s) {_listed(bad)} "
            "(drop those rows or fill them before the estimate)"
        )
    return array


def _entry_array(entry: ArrayLike, durations: np.ndarray) -> np.ndarray:
    """Entry times, each strictly before its duration (R refuses ``Surv(start, stop)`` with start >= stop)."""
    array = _float_array(entry, "entry")
    if array.size != durations.size:
        raise UsageError(f"entry has {array.size} values but durations has {durations.size} (one per person)")
    bad = np.flatnonzero(array >= durations)
    if bad.size:
        first = bad[0]
        raise UsageError(
            f"entry must be strictly before the duration: {bad.size} row(s) at position(s) {_listed(bad)}, "
            f"e.g. entry {float(array[first])!r} >= duration {float(durations[first])!r} "
            "(survival_data places an event on the day observation starts half a day after it)"
        )
    return array


def _sort_with_flags(values: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` sorted, with ``flags`` carried along (the order within ties is irrelevant here).

    For non-negative doubles the IEEE 754 bit patterns sort like the numbers, and their top bit (the
    sign) is 0: shifted left by one bit they leave room for the flag, and one sort of 64-bit integers
    (several times faster than ``argsort`` plus two gathers) does the job. Negative values fall back
    to ``argsort``.
    """
    if values.size and values.min() >= 0:
        keys = np.sort((values.view(np.uint64) << np.uint64(1)) | flags.astype(np.uint64))
        return (keys >> np.uint64(1)).view(np.float64), (keys & np.uint64(1)).astype(bool)
    order = np.argsort(values)
    return values[order], flags[order]
