"""The input of the impact estimators: the plan's dates, and the checks of a territory-by-year panel.

:data:`PLAN_START_YEAR` (2018) opens the years after the plan's start, :data:`REFERENCE_YEAR` (2017)
is the last year before it. The checks turn a caller's frame into clear errors
(:class:`~evaluation.errors.UsageError` naming the column, the row and the fix): a missing column
(with the closest name), an outcome that is not a number or is infinite, a missing territory or
year, a group flag that is not 0/1 or changes within a territory, two rows for one territory and
year. :func:`_panel` returns the checked panel, coded for the regression. Shared by the
difference-in-differences (:mod:`evaluation.stats.difference_in_differences`) and the synthetic
control (:mod:`evaluation.stats.synthetic_control`), which then trust their input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.errors import UsageError

__all__ = ["PLAN_START_YEAR", "REFERENCE_YEAR"]


#: First year of the plan ("2018-2021"): the post period of the demo and of the reports.
PLAN_START_YEAR = 2018
#: Last year before the plan: the reference of the event study.
REFERENCE_YEAR = 2017


def _check_frame(frame: object, columns: Iterable[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    for name in columns:
        if name not in frame.columns:
            names = [str(c) for c in frame.columns]
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"columns: {', '.join(names[:12])}"
            raise UsageError(f"column '{name}' is not in the frame ({hint})")
    return frame


def _check_conf_level(conf_level: float) -> None:
    if not (isinstance(conf_level, int | float) and 0 < conf_level < 1):
        raise UsageError(f"conf_level must be strictly between 0 and 1, got {conf_level!r} (e.g. 0.95)")


def _outcome(frame: pd.DataFrame, y: str) -> pd.Series:
    column = frame[y]
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        sample = column.dropna()
        shown = _shown(sample.iloc[0]) if len(sample) else "nothing"
        raise UsageError(
            f"column '{y}' must hold numbers, got {column.dtype} values such as {shown} "
            "(convert it with pd.to_numeric, decimal point not comma)"
        )
    values = column.astype(float)
    infinite = values.index[np.isinf(values.to_numpy())]
    if len(infinite):
        raise UsageError(f"column '{y}' has an infinite value at row {_shown(infinite[0])} (fix or drop that row)")
    return values


def _shown(value: object) -> str:
    """``repr`` of a cell, numpy scalars as plain Python values (``2012``, not ``np.int64(2012)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _no_missing(frame: pd.DataFrame, names: Iterable[str]) -> None:
    for name in names:
        missing = frame.index[frame[name].isna().to_numpy()]
        if len(missing):
            raise UsageError(
                f"column '{name}' is missing at {len(missing)} row(s), first at row {_shown(missing[0])} "
                "(every row needs its territory, year, group and cluster)"
            )


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A 0/1 or boolean column as a boolean array."""
    column = frame[name]
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float)
        bad = ~np.isin(values, (0.0, 1.0))
        if not bad.any():
            return values == 1.0
        shown = values[bad][0]
    else:
        shown = column.iloc[0]
    raise UsageError(f"column '{name}' must be True/False or 1/0, got {_shown(shown)}")


def _constant_within(flags: np.ndarray, keys: pd.Series, name: str, by: str, meaning: str) -> None:
    varying = pd.Series(flags, index=keys.index).groupby(keys.to_numpy()).nunique()
    varying = varying[varying > 1]
    if len(varying):
        raise UsageError(
            f"column '{name}' changes within {by} {_shown(varying.index[0])} ({meaning}); "
            f"it must be constant for each {by}"
        )


def _no_duplicates(frame: pd.DataFrame, unit: str, time: str) -> None:
    duplicated = frame.duplicated([unit, time], keep=False)
    if duplicated.any():
        row = frame.loc[duplicated].iloc[0]
        raise UsageError(
            f"{int(duplicated.sum())} rows share a ({unit}, {time}) pair, e.g. ({_shown(row[unit])}, {_shown(row[time])}): "
            "give one row per territory and year"
        )


@dataclass(frozen=True)
class _Panel:
    """A checked panel, rows with a missing outcome dropped, labels coded as 0-based integers."""

    y: np.ndarray
    treated: np.ndarray
    times: np.ndarray  # the time value of each row
    unit_codes: np.ndarray
    time_codes: np.ndarray
    time_levels: np.ndarray
    cluster_codes: np.ndarray
    n_units: int
    n_clusters: int
    treated_clusters: int
    control_clusters: int
    extra: dict[str, np.ndarray]


def _panel(
    frame: pd.DataFrame, y: str, unit: str, time: str, treated: str, cluster: str | None, extra: Sequence[str] = ()
) -> _Panel:
    cluster = unit if cluster is None else cluster
    _check_frame(frame, [y, unit, time, treated, cluster, *extra])
    _no_missing(frame, dict.fromkeys([unit, time, treated, cluster, *extra]))
    outcome = _outcome(frame, y)
    kept = frame.loc[outcome.notna().to_numpy()]
    if kept.empty:
        raise UsageError(f"column '{y}' has no value (every row is missing)")
    _no_duplicates(kept, unit, time)
    treated_flags = _flag(kept, treated)
    _constant_within(treated_flags, kept[unit], treated, "unit", "the treated group, not the treated years")
    flags = {name: _flag(kept, name) for name in extra}
    for name, values in flags.items():
        _constant_within(values, kept[time], name, "year", "the years after the plan's start, for every unit")
    unit_codes, units = pd.factorize(kept[unit], sort=True)
    time_codes, time_levels = pd.factorize(kept[time], sort=True)
    cluster_codes, clusters = pd.factorize(kept[cluster], sort=True)
    treated_in = np.bincount(cluster_codes, weights=treated_flags, minlength=len(clusters)) > 0
    control_in = np.bincount(cluster_codes, weights=~treated_flags, minlength=len(clusters)) > 0
    return _Panel(
        y=outcome.loc[kept.index].to_numpy(dtype=float),
        treated=treated_flags,
        times=kept[time].to_numpy(),
        unit_codes=unit_codes,
        time_codes=time_codes,
        time_levels=np.asarray(time_levels),
        cluster_codes=cluster_codes,
        n_units=len(units),
        n_clusters=len(clusters),
        treated_clusters=int(treated_in.sum()),
        control_clusters=int(control_in.sum()),
        extra=flags,
    )
