"""Synthetic control of a single treated territory, and its permutation (placebo) inference.

:func:`synthetic_control` reproduces the treated unit's path before the plan as a weighted average
of comparison territories (weights non-negative and summing to 1, fitted on the outcome itself); the
gap after the start is the estimated effect. :func:`placebo` refits each comparison territory as if
it had had the plan and ranks the treated unit's RMSPE ratio among theirs: with one treated unit,
the only honest inference (Abadie, Diamond & Hainmueller 2010, *J. Am. Stat. Assoc.* 105(490),
493-505). Results are frozen records (:class:`SyntheticControlResult`, :class:`PlaceboResult`).
scipy's optimiser is imported only when a fit is computed.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationError, UsageError
from evaluation.stats.impact_panel import _check_frame, _no_duplicates, _no_missing, _outcome, _shown

__all__ = [
    "SYNTHETIC_PATH_COLUMNS",
    "PLACEBO_COLUMNS",
    "SyntheticControlResult",
    "PlaceboResult",
    "synthetic_control",
    "placebo",
]


#: Columns of :attr:`SyntheticControlResult.path`, in order.
SYNTHETIC_PATH_COLUMNS = ("year", "period", "treated", "synthetic", "gap")
#: Columns of :attr:`PlaceboResult.table`, in order.
PLACEBO_COLUMNS = ("unit", "is_treated", "pre_rmspe", "post_rmspe", "rmspe_ratio", "rank")

# Relative tolerance under which two RMSPE ratios are a tie (rounding of equal fits).
_TIE_RTOL = 1e-9
# A pre-period RMSPE at most this share of the largest absolute value fitted is an exact fit.
_EXACT_FIT_RTOL = 1e-6


@dataclass(frozen=True)
class SyntheticControlResult:
    """The synthetic control of :func:`synthetic_control`.

    Attributes
    ----------
    treated_unit:
        The unit reproduced.
    weights:
        One weight per donor (index: donors in the order used), non-negative, summing to 1.
    path:
        One row per pre and post year (:data:`SYNTHETIC_PATH_COLUMNS`): ``period`` (``"pre"`` or
        ``"post"``), ``treated`` (observed), ``synthetic`` (``sum_j w_j x_j,t``), ``gap``
        (treated - synthetic, the estimated effect in the post years).
    pre_rmspe, post_rmspe:
        Root mean squared gap over the pre years (the fit) and over the post years.
    rmspe_ratio:
        ``post_rmspe / pre_rmspe``, the statistic of :func:`placebo`; ``inf`` when the pre fit is
        exact and the post gap is not, ``0`` when both are exact.
    objective:
        The minimised pre-period sum of squared gaps ``sum_t (x_1,t - sum_j w_j x_j,t)^2``.
    exact_fit:
        The pre-period path is reproduced exactly: ``pre_rmspe`` at most 1e-6 times the largest
        absolute value fitted (solver precision; values published to 0.1 cannot do better). It
        happens when the treated unit lies inside the donors' range in every pre year, typically
        when donors outnumber the pre years: the fit then says little (overfitting).
    warning:
        ``None``, or a French sentence about an exact fit.
    """

    treated_unit: str
    weights: pd.Series
    path: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    objective: float
    exact_fit: bool = False
    warning: str | None = None


@dataclass(frozen=True)
class PlaceboResult:
    """The permutation inference of :func:`placebo`.

    Attributes
    ----------
    treated_unit:
        The real treated unit.
    table:
        One row per unit, the treated one first then the donors (:data:`PLACEBO_COLUMNS`), with
        its fit's RMSPE before and after, their ratio and its ``rank`` (1 = largest ratio; a unit's
        rank counts every unit whose ratio is at least as large, itself included, so tied units
        share the *largest* rank).
    rank, units, p_value:
        The treated unit's rank, the number of units ``J + 1`` and ``p_value = rank / (J + 1)``.
        The smallest possible p-value is ``1 / (J + 1)``.
    fits:
        Every unit's :class:`SyntheticControlResult` (for the chart of the placebo gaps).
    warning:
        ``None``, or a French sentence when the treated unit's pre fit is exact (its ratio is then
        infinite and tied with every other exact fit: the p-value is uninformative).
    """

    treated_unit: str
    table: pd.DataFrame
    rank: int
    units: int
    p_value: float
    fits: Mapping[str, SyntheticControlResult]
    warning: str | None = None


def _years(values: Iterable[int], name: str) -> list[int]:
    try:
        years = sorted({int(v) for v in values})
    except (TypeError, ValueError) as err:
        raise UsageError(f"{name} must be years, got {values!r} (e.g. range(2012, 2018))") from err
    if not years:
        raise UsageError(f"{name} is empty (give at least one year)")
    return years


def _outcome_table(
    frame: pd.DataFrame, y: str, unit: str, time: str, units: Sequence[str], years: Sequence[int]
) -> pd.DataFrame:
    """``units x years`` table of the outcome; UsageError naming the first missing cell."""
    _no_missing(frame, [unit, time])
    outcome = _outcome(frame, y)
    _no_duplicates(frame, unit, time)
    table = outcome.groupby([frame[unit].to_numpy(), frame[time].to_numpy()]).first().unstack()
    table = table.reindex(index=list(units), columns=list(years))
    missing = np.argwhere(table.isna().to_numpy())
    if missing.size:
        row, col = missing[0]
        raise UsageError(
            f"unit {_shown(units[row])} has no value of '{y}' in {years[col]} ({len(missing)} missing cell(s)): the "
            "synthetic control needs every pre and post year for the treated unit and each donor "
            "(complete the series, or leave that donor out with donors=...)"
        )
    return table


def _simplex_least_squares(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """``argmin_w ||target - donors @ w||^2`` subject to ``w >= 0``, ``sum(w) = 1`` (SLSQP, deterministic, polished).

    Since the weights sum to 1, subtracting a constant from every value leaves the objective
    unchanged: the values are centred on the target's mean and scaled by their spread before the
    solve, for conditioning. Start: equal weights. The solution is clipped at 0 and renormalised
    (SLSQP may leave ``-1e-17``). When donors outnumber the pre years several weight vectors can
    reach the minimum: the objective is unique, the weights need not be.
    """
    count = donors.shape[1]
    if count == 1:
        return np.ones(1)
    from scipy import optimize  # imported here: about 0.3 s, needed by this function only

    centre = target.mean()
    spread = max(float(np.abs(np.column_stack([target, donors]) - centre).max()), 1e-300)
    a = (donors - centre) / spread
    b = (target - centre) / spread

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        residual = a @ w - b
        return float(residual @ residual), 2.0 * (a.T @ residual)

    result = optimize.minimize(
        objective,
        x0=np.full(count, 1.0 / count),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * count,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones((1, count))}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    if not result.success and result.status != 8:  # 8: line search stalled at the optimum's precision
        raise EvaluationError(f"the synthetic-control weights did not converge ({result.message})")
    weights = np.clip(result.x, 0.0, None)
    weights = weights / weights.sum()
    return _polished(a, b, weights)


def _polished(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The exact optimum on the solver's support, when it is feasible and no worse.

    On the support ``S`` of the optimum the weights solve least squares under ``sum w = 1`` alone:
    the linear KKT system ``[2 A_S'A_S, 1; 1', 0] [w_S; mu] = [2 A_S'b; 1]``. Its solution replaces
    SLSQP's (accurate to its tolerance) when every weight is positive and the objective is not
    larger; otherwise (e.g. a support with affinely dependent donors) SLSQP's is kept.
    """
    support = np.flatnonzero(weights > 1e-9)
    size = support.size
    sub = a[:, support]
    kkt = np.block([[2 * sub.T @ sub, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
    rhs = np.concatenate([2 * sub.T @ b, [1.0]])
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
    if solution.min() <= 0 or not math.isclose(solution.sum(), 1.0, abs_tol=1e-12):
        return weights
    candidate = np.zeros_like(weights)
    candidate[support] = solution / solution.sum()

    def objective(w: np.ndarray) -> float:
        residual = a @ w - b
        return float(residual @ residual)

    return candidate if objective(candidate) <= objective(weights) else weights


def _rmspe(gaps: np.ndarray) -> float:
    return float(math.sqrt(np.mean(gaps**2)))


def _ratio(post: float, pre: float, tolerance: float) -> float:
    """``post / pre``; a pre RMSPE within ``tolerance`` is an exact fit: ``inf`` (or 0 if post is exact too)."""
    if pre > tolerance:
        return post / pre
    return math.inf if post > tolerance else 0.0


def _exact_fit_warning(unit: str, donors: int, pre_years: int) -> str:
    return (
        f"Le territoire synthétique reproduit exactement {unit} avant le plan ({donors} territoires de "
        f"comparaison pour {pre_years} années) : l'ajustement ne prouve rien (surajustement) et le rapport des "
        "RMSPE devient infini, ex aequo avec les autres ajustements parfaits. Garder les territoires de "
        "comparaison les plus semblables, moins nombreux que les années d'avant le plan, ou allonger cette période."
    )


def _synthetic_fit(
    table: pd.DataFrame, treated_unit: str, donors: Sequence[str], pre: Sequence[int], post: Sequence[int]
) -> SyntheticControlResult:
    """Weights, path and RMSPE of one unit fitted on ``donors`` (see :func:`synthetic_control`)."""
    values = table.loc[[treated_unit, *donors]].to_numpy(dtype=float)
    pre_cols = [table.columns.get_loc(t) for t in pre]
    target, pool = values[0], values[1:].T  # pool: years x donors
    weights = _simplex_least_squares(target[pre_cols], pool[pre_cols])
    years = list(pre) + list(post)
    cols = [table.columns.get_loc(t) for t in years]
    synthetic = pool[cols] @ weights
    gap = target[cols] - synthetic
    pre_gap, post_gap = gap[: len(pre)], gap[len(pre) :]
    pre_rmspe, post_rmspe = _rmspe(pre_gap), _rmspe(post_gap)
    tolerance = _EXACT_FIT_RTOL * float(np.abs(values[:, pre_cols]).max())
    exact = pre_rmspe <= tolerance
    path = pd.DataFrame(
        {
            "year": years,
            "period": ["pre"] * len(pre) + ["post"] * len(post),
            "treated": target[cols],
            "synthetic": synthetic,
            "gap": gap,
        }
    )
    return SyntheticControlResult(
        treated_unit=treated_unit,
        weights=pd.Series(weights, index=pd.Index(list(donors), name="donor"), name="weight"),
        path=path,
        pre_rmspe=pre_rmspe,
        post_rmspe=post_rmspe,
        rmspe_ratio=_ratio(post_rmspe, pre_rmspe, tolerance),
        objective=float(pre_gap @ pre_gap),
        exact_fit=exact,
        warning=_exact_fit_warning(str(treated_unit), len(donors), len(pre)) if exact else None,
    )


def _design(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated_unit: str,
    pre_years: Iterable[int],
    post_years: Iterable[int],
    donors: Sequence[str] | None,
) -> tuple[pd.DataFrame, list[str], list[int], list[int]]:
    _check_frame(frame, [y, unit, time])
    pre, post = _years(pre_years, "pre_years"), _years(post_years, "post_years")
    if set(pre) & set(post):
        raise UsageError(f"pre_years and post_years share {sorted(set(pre) & set(post))} (a year is before or after)")
    present = set(frame[unit].dropna())
    if treated_unit not in present:
        close = difflib.get_close_matches(str(treated_unit), [str(u) for u in present], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(f"treated_unit {treated_unit!r} is not in column '{unit}'{hint}")
    if donors is None:
        pool = sorted((u for u in present if u != treated_unit), key=str)
    else:
        pool = list(donors)
        unknown = [d for d in pool if d not in present]
        if unknown:
            raise UsageError(f"donor {unknown[0]!r} is not in column '{unit}'")
        if treated_unit in pool:
            raise UsageError(f"the treated unit {treated_unit!r} cannot be one of its donors")
        if len(set(pool)) != len(pool):
            raise UsageError("donors lists a unit twice")
    if len(pool) < 2:
        raise UsageError(f"a synthetic control needs at least 2 donors, got {len(pool)}")
    table = _outcome_table(frame, y, unit, time, [treated_unit, *pool], pre + post)
    return table, pool, pre, post


def synthetic_control(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated_unit: str,
    pre_years: Iterable[int],
    post_years: Iterable[int],
    donors: Sequence[str] | None = None,
) -> SyntheticControlResult:
    """Synthetic control of one treated unit (Abadie, Diamond & Hainmueller 2010), fitted on the outcome.

    Weights ``w`` over the donors (default: every other unit of ``frame``)::

        w = argmin sum_{t in pre_years} (x_1,t - sum_j w_j x_j,t)^2   subject to w_j >= 0, sum_j w_j = 1

    solved by scipy's SLSQP from equal weights (deterministic; see :func:`_simplex_least_squares`).
    No covariates and no predictor weighting (``V``): the pre-period path of the outcome itself is
    matched. The synthetic path is ``sum_j w_j x_j,t``; the gap ``x_1,t - synthetic_t`` after the
    start estimates the effect in year ``t``. ``pre_rmspe = sqrt(mean pre gap^2)`` measures the fit;
    a post gap is meaningful only when clearly larger than it.

    Every pre and post year must be present for the treated unit and each donor (an error names
    the first missing one). At least 2 donors.
    """
    table, pool, pre, post = _design(frame, y, unit, time, treated_unit, pre_years, post_years, donors)
    return _synthetic_fit(table, treated_unit, pool, pre, post)


def _rank_at_least(ratios: np.ndarray, value: float) -> int:
    """Number of ratios at least ``value`` (ties within a relative 1e-9 count as at least)."""
    return int(sum(1 for r in ratios if r >= value or math.isclose(r, value, rel_tol=_TIE_RTOL)))


def placebo(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated_unit: str,
    pre_years: Iterable[int],
    post_years: Iterable[int],
    donors: Sequence[str] | None = None,
) -> PlaceboResult:
    """Permutation (placebo) inference for :func:`synthetic_control` (Abadie et al. 2010, section 4).

    The treated unit is fitted on the donors; then each donor in turn is fitted on the *other*
    donors (the real treated unit is never a donor). For each unit, the ratio
    ``post_rmspe / pre_rmspe`` says how much its gap grows after the start relative to its fit
    (a poorly fitted placebo does not count as a large effect). With ``J`` donors::

        rank = #{units whose ratio >= the treated unit's ratio}   (itself included, 1 = largest)
        p_value = rank / (J + 1)

    **Ties** count against the treated unit (ratios equal within a relative 1e-9 are ``>=``):
    the p-value is conservative. Every exact pre fit (see :attr:`SyntheticControlResult.exact_fit`)
    has an infinite ratio: they all tie, and ``warning`` says so when the treated unit's is one. The smallest possible p-value is ``1 / (J + 1)``: 19 donors are
    needed to reach 5 %. ``placebo`` needs at least 2 donors (each placebo then has at least one).
    """
    table, pool, pre, post = _design(frame, y, unit, time, treated_unit, pre_years, post_years, donors)
    fits = {treated_unit: _synthetic_fit(table, treated_unit, pool, pre, post)}
    for donor in pool:
        others = [d for d in pool if d != donor]
        fits[donor] = _synthetic_fit(table, donor, others, pre, post)
    names = [treated_unit, *pool]
    ratios = np.array([fits[name].rmspe_ratio for name in names])
    ranks = [_rank_at_least(ratios, r) for r in ratios]
    summary = pd.DataFrame(
        {
            "unit": names,
            "is_treated": [True] + [False] * len(pool),
            "pre_rmspe": [fits[name].pre_rmspe for name in names],
            "post_rmspe": [fits[name].post_rmspe for name in names],
            "rmspe_ratio": ratios,
            "rank": ranks,
        }
    )
    return PlaceboResult(
        treated_unit=treated_unit,
        table=summary,
        rank=ranks[0],
        units=len(names),
        p_value=ranks[0] / len(names),
        fits=fits,
        warning=fits[treated_unit].warning,
    )
