"""Difference-in-differences and the event study: two-way fixed effects, cluster-robust inference.

:func:`did` estimates the average change of the treated territories relative to the comparison
territories after the plan's start; :func:`event_study` gives one such coefficient per year relative
to :data:`~evaluation.stats.impact_panel.REFERENCE_YEAR`, with a joint test of the years before the
plan (parallel pre-trends). Both solve the same regression (:func:`_twfe_cluster`,
Frisch-Waugh-Lovell) with statsmodels' CR1 covariance and a Student's t interval with ``G - 1``
degrees of freedom, and share the credibility guard on the number of clusters
(:data:`MIN_CLUSTERS`, :data:`MIN_TREATED_CLUSTERS`; the references are in
:mod:`evaluation.stats.impact`). Results are frozen records: :class:`DidResult` (also readable as a
mapping), :class:`EventStudyResult` and its :class:`PretrendTest`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from evaluation.errors import UsageError
from evaluation.stats.impact_panel import REFERENCE_YEAR, _check_conf_level, _Panel, _panel

__all__ = [
    "MIN_CLUSTERS",
    "MIN_TREATED_CLUSTERS",
    "EVENT_STUDY_COLUMNS",
    "DidResult",
    "PretrendTest",
    "EventStudyResult",
    "did",
    "event_study",
]


#: Fewer clusters than this in all: the estimate is returned with a ``warning``.
MIN_CLUSTERS = 10
#: Fewer treated (or fewer comparison) clusters than this: the estimate is returned with a ``warning``.
#: Fewer than 2 of either: refused (no cluster-robust inference is possible).
MIN_TREATED_CLUSTERS = 5

#: Columns of :attr:`EventStudyResult.coefficients`, in order.
EVENT_STUDY_COLUMNS = ("year", "estimate", "stderr", "ci_lower", "ci_upper", "pvalue", "reference")

# A regressor whose norm falls below this share of its norm once the fixed effects are removed is
# collinear with them (not identified).
_COLLINEAR_RTOL = 1e-9


class _RecordMapping(Mapping[str, Any]):
    """Read a frozen dataclass as a mapping of its fields (``result["estimate"]``, ``dict(result)``)."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class DidResult(_RecordMapping):
    """The difference-in-differences estimate of :func:`did`, also readable as a mapping.

    Attributes
    ----------
    estimate:
        Coefficient of ``treated x post``, in the outcome's unit (points for a rate).
    stderr:
        Its cluster-robust (CR1) standard error.
    ci_lower, ci_upper:
        ``estimate -/+ t(df, 1 - (1 - conf_level) / 2) x stderr``, Student's t with ``df`` degrees of freedom.
    pvalue:
        Two-sided p-value of ``estimate = 0`` from the same t distribution.
    clusters, df:
        Number of clusters ``G`` and the interval's degrees of freedom ``G - 1``.
    conf_level, observations, units:
        The interval's level, the rows used (outcome not missing) and the territories.
    treated_clusters, control_clusters:
        Clusters holding a treated unit, and clusters holding a comparison unit.
    warning:
        ``None``, or a French sentence saying why the interval is fragile and what to use instead.
    """

    estimate: float
    stderr: float
    ci_lower: float
    ci_upper: float
    pvalue: float
    clusters: int
    df: int
    conf_level: float
    observations: int
    units: int
    treated_clusters: int
    control_clusters: int
    warning: str | None = None


@dataclass(frozen=True)
class PretrendTest:
    """Joint Wald test that every pre-period event-study coefficient is 0.

    ``statistic = b' V^-1 b / q`` with ``b`` the ``q`` coefficients of the years before the
    reference year and ``V`` their cluster-robust covariance; ``pvalue`` from Fisher's F with
    ``(q, G - 1)`` degrees of freedom (as Stata's ``test`` after ``regress, vce(cluster)``). A small
    p-value says the treated and comparison units already diverged before the plan.
    """

    years: tuple[int, ...]
    statistic: float
    df_num: int
    df_denom: int
    pvalue: float


@dataclass(frozen=True)
class EventStudyResult:
    """The event study of :func:`event_study`.

    Attributes
    ----------
    coefficients:
        One row per year (:data:`EVENT_STUDY_COLUMNS`): ``year``, ``estimate`` (coefficient of
        ``treated x 1{year}``, the treated-minus-comparison difference of that year minus the
        same difference in the reference year), ``stderr``, ``ci_lower``, ``ci_upper``, ``pvalue``,
        ``reference`` (True on the reference year's row, whose estimate is 0 by construction and
        whose other columns are NaN).
    pretrend:
        The joint test of the years before ``reference_year``; ``None`` when there are none, or
        when their covariance is singular (more such years than clusters - 1).
    reference_year, clusters, df, conf_level, observations, units, treated_clusters, control_clusters, warning:
        As in :class:`DidResult`.
    """

    coefficients: pd.DataFrame
    pretrend: PretrendTest | None
    reference_year: int
    clusters: int
    df: int
    conf_level: float
    observations: int
    units: int
    treated_clusters: int
    control_clusters: int
    warning: str | None = None


def _credibility(panel: _Panel) -> str | None:
    """Refuse when fewer than 2 treated or comparison clusters; a French warning when few (see module)."""
    treated, control, total = panel.treated_clusters, panel.control_clusters, panel.n_clusters
    if treated < 2 or control < 2:
        raise UsageError(
            f"cluster-robust inference needs at least 2 treated and 2 comparison clusters, got {treated} treated "
            f"and {control} comparison: with a single treated territory use synthetic_control() and placebo() "
            "(permutation inference) instead"
        )
    if total >= MIN_CLUSTERS and treated >= MIN_TREATED_CLUSTERS and control >= MIN_TREATED_CLUSTERS:
        return None
    return (
        f"Inférence fragile : {total} groupes de territoires, dont {treated} traités et {control} de comparaison "
        f"(il en faudrait au moins {MIN_CLUSTERS}, dont {MIN_TREATED_CLUSTERS} traités et "
        f"{MIN_TREATED_CLUSTERS} de comparaison). Avec si peu de groupes, l'intervalle de confiance est trop "
        "étroit : lire plutôt le contrôle synthétique et son inférence par permutation (placebos)."
    )


def _demean(values: np.ndarray, codes: np.ndarray, count: int) -> np.ndarray:
    """Each column minus its mean within the group given by ``codes`` (the projection off group dummies)."""
    sizes = np.bincount(codes, minlength=count).astype(float)
    means = np.empty((count, values.shape[1]))
    for j in range(values.shape[1]):
        means[:, j] = np.bincount(codes, weights=values[:, j], minlength=count) / sizes
    return values - means[codes]


@dataclass(frozen=True)
class _Fit:
    coef: np.ndarray
    cov: np.ndarray
    rank: int
    observations: int


def _twfe_cluster(panel: _Panel, regressors: np.ndarray, names: Sequence[str]) -> _Fit:
    """OLS of ``y`` on ``regressors`` + unit and year dummies; CR1 covariance of the regressors' coefficients.

    Frisch-Waugh-Lovell: the unit dummies are removed exactly by demeaning within unit, then the
    demeaned year dummies (all years but the first) by least squares (``numpy.linalg.lstsq``).
    With ``W~`` and ``y~`` the regressors and the outcome so residualised, ``b = (W~'W~)^-1 W~'y~``
    and the residuals ``e = y~ - W~ b`` are those of the full regression. The covariance is
    statsmodels' ``cov_type="cluster"`` (CR1)::

        V = G / (G - 1) x (N - 1) / (N - K) x (W~'W~)^-1 [sum_g s_g s_g'] (W~'W~)^-1,  s_g = sum_{i in g} W~_i e_i

    ``N`` rows, ``G`` clusters, ``K`` the rank of the full design (units + rank of the demeaned year
    dummies + regressors). The ``W`` block of the full sandwich equals this one because the
    corresponding rows of ``(X'X)^-1 X'`` are ``(W~'W~)^-1 W~'``.
    """
    n = panel.y.size
    stacked = np.column_stack([panel.y, regressors])
    within = _demean(stacked, panel.unit_codes, panel.n_units)
    years = np.zeros((n, panel.time_levels.size - 1))
    later = panel.time_codes > 0
    years[np.flatnonzero(later), panel.time_codes[later] - 1] = 1.0
    rank_years = 0
    if years.shape[1]:
        years = _demean(years, panel.unit_codes, panel.n_units)
        coef, _, rank_years, _ = np.linalg.lstsq(years, within, rcond=None)
        within = within - years @ coef
    y_t, w_t = within[:, 0], within[:, 1:]
    scale = np.linalg.norm(regressors, axis=0)
    collinear = np.linalg.norm(w_t, axis=0) <= _COLLINEAR_RTOL * np.maximum(scale, 1.0)
    if collinear.any():
        raise UsageError(
            f"{names[int(np.flatnonzero(collinear)[0])]} is not identified: once unit and year effects are removed "
            "nothing varies (treated and comparison units must both be observed before and after the plan's start)"
        )
    singular = np.linalg.svd(w_t, compute_uv=False)
    if singular[-1] <= _COLLINEAR_RTOL * singular[0]:
        raise UsageError(f"the regressors {', '.join(names)} are collinear once unit and year effects are removed")
    gram_inv = np.linalg.inv(w_t.T @ w_t)
    coef = gram_inv @ (w_t.T @ y_t)
    residuals = y_t - w_t @ coef
    rank = panel.n_units + int(rank_years) + w_t.shape[1]
    if n <= rank:
        raise UsageError(
            f"{n} observations for {rank} parameters (units, years and effects): no residual left to estimate a variance"
        )
    scores = np.zeros((panel.n_clusters, w_t.shape[1]))
    np.add.at(scores, panel.cluster_codes, w_t * residuals[:, None])
    g = panel.n_clusters
    factor = g / (g - 1) * (n - 1) / (n - rank)
    cov = factor * gram_inv @ (scores.T @ scores) @ gram_inv
    return _Fit(coef=coef, cov=cov, rank=rank, observations=n)


def _t_quantile(conf_level: float, df: int) -> float:
    """``t(df, 1 - (1 - conf_level) / 2)``, Student's quantile (``scipy.special.stdtrit``, as ``stats.t.ppf``)."""
    return float(special.stdtrit(df, 1 - (1 - conf_level) / 2))


def _two_sided_p(estimate: np.ndarray, stderr: np.ndarray, df: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2 * special.stdtr(df, -np.abs(estimate / stderr))


def did(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated: str,
    post: str,
    cluster: str | None = None,
    conf_level: float = 0.95,
) -> DidResult:
    """Difference-in-differences: two-way fixed effects, cluster-robust (CR1) standard error.

    Model, one row per unit ``i`` and year ``t`` (unbalanced panels allowed)::

        y_it = a_i + l_t + b x treated_i x post_t + e_it

    ``a_i`` unit effects, ``l_t`` year effects, ``treated_i`` the unit's group (constant within a
    unit), ``post_t`` the years after the plan's start (constant within a year). ``b`` (``estimate``)
    is the average change of the treated units relative to the comparison units after the start,
    in the outcome's unit. Solved by least squares (``numpy.linalg.lstsq``, see
    :func:`_twfe_cluster` for the Frisch-Waugh-Lovell steps).

    **Standard error**: CR1, clustered by ``cluster`` (default: ``unit``), exactly statsmodels'
    ``OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g})`` with its default small-sample
    factor ``G / (G - 1) x (N - 1) / (N - K)`` (``G`` clusters, ``N`` rows, ``K`` the rank of the
    design: units + years - 1 + 1).

    **Interval**: ``estimate -/+ t(G - 1, 1 - (1 - conf_level) / 2) x stderr``, Student's t with
    ``G - 1`` degrees of freedom (Stata's choice after ``vce(cluster)``, and statsmodels' with
    ``use_t=True``; its default, ``use_t=False``, uses the normal quantile, narrower with few
    clusters). ``pvalue`` from the same distribution.

    Rows with a missing outcome are dropped; a missing unit, year, group or cluster is an error.
    **Credibility guard**: refuses (:class:`~evaluation.errors.UsageError`) with fewer than 2 treated
    or 2 comparison clusters (use :func:`synthetic_control` and :func:`placebo`); sets ``warning``
    (French) below :data:`MIN_CLUSTERS` clusters or :data:`MIN_TREATED_CLUSTERS` treated or
    comparison clusters.
    """
    _check_conf_level(conf_level)
    panel = _panel(frame, y, unit, time, treated, cluster, extra=(post,))
    warning = _credibility(panel)
    regressor = (panel.treated & panel.extra[post]).astype(float)
    fit = _twfe_cluster(panel, regressor[:, None], [f"{treated} x {post}"])
    estimate = float(fit.coef[0])
    stderr = float(math.sqrt(fit.cov[0, 0]))
    df = panel.n_clusters - 1
    half = _t_quantile(conf_level, df) * stderr
    return DidResult(
        estimate=estimate,
        stderr=stderr,
        ci_lower=estimate - half,
        ci_upper=estimate + half,
        pvalue=float(_two_sided_p(np.array(estimate), np.array(stderr), df)),
        clusters=panel.n_clusters,
        df=df,
        conf_level=conf_level,
        observations=fit.observations,
        units=panel.n_units,
        treated_clusters=panel.treated_clusters,
        control_clusters=panel.control_clusters,
        warning=warning,
    )


def _pretrend(coef: np.ndarray, cov: np.ndarray, years: Sequence[int], df_denom: int) -> PretrendTest | None:
    q = len(years)
    if q == 0:
        return None
    eigen = np.linalg.eigvalsh(cov)
    if eigen[0] <= 1e-12 * max(eigen[-1], 0.0):
        return None  # singular: q exceeds what G - 1 clusters can identify
    statistic = float(coef @ np.linalg.solve(cov, coef)) / q
    return PretrendTest(
        years=tuple(int(t) for t in years),
        statistic=statistic,
        df_num=q,
        df_denom=df_denom,
        pvalue=float(special.fdtrc(q, df_denom, statistic)),
    )


def event_study(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated: str,
    reference_year: int = REFERENCE_YEAR,
    cluster: str | None = None,
    conf_level: float = 0.95,
) -> EventStudyResult:
    """One difference-in-differences coefficient per year relative to ``reference_year``, and a pre-trend test.

    Model (same fixed effects, solver, CR1 covariance, t interval and credibility guard as :func:`did`)::

        y_it = a_i + l_t + sum_{s != reference_year} b_s x treated_i x 1{t = s} + e_it

    ``b_s`` is the treated-minus-comparison difference in year ``s`` minus the same difference in
    the reference year (2017, the last year before the plan). Before the plan the ``b_s`` should be
    close to 0 (parallel pre-trends); :class:`PretrendTest` tests them jointly (Wald F with the
    cluster-robust covariance, ``F(q, G - 1)``). After the plan they trace the effect year by year.
    ``time`` must hold years (numbers).
    """
    _check_conf_level(conf_level)
    panel = _panel(frame, y, unit, time, treated, cluster)
    if not pd.api.types.is_numeric_dtype(panel.time_levels):
        raise UsageError(f"column '{time}' must hold years (numbers) for an event study")
    levels = [int(t) if float(t).is_integer() else float(t) for t in panel.time_levels]
    if reference_year not in levels:
        raise UsageError(f"reference_year {reference_year!r} is not a year of the data ({levels[0]}-{levels[-1]})")
    warning = _credibility(panel)
    years = [t for t in levels if t != reference_year]
    codes = [levels.index(t) for t in years]
    regressors = np.column_stack([panel.treated & (panel.time_codes == c) for c in codes]).astype(float)
    fit = _twfe_cluster(panel, regressors, [f"{treated} x year {t}" for t in years])
    stderr = np.sqrt(np.diag(fit.cov))
    df = panel.n_clusters - 1
    half = _t_quantile(conf_level, df) * stderr
    table = pd.DataFrame(
        {
            "year": years,
            "estimate": fit.coef,
            "stderr": stderr,
            "ci_lower": fit.coef - half,
            "ci_upper": fit.coef + half,
            "pvalue": _two_sided_p(fit.coef, stderr, df),
            "reference": False,
        }
    )
    reference_row = {"year": reference_year, "estimate": 0.0, "reference": True}
    reference_frame = pd.DataFrame([reference_row]).reindex(columns=list(EVENT_STUDY_COLUMNS))
    table = pd.concat([table, reference_frame], ignore_index=True).sort_values("year", ignore_index=True)
    table["reference"] = table["reference"].astype(bool)
    pre = [i for i, t in enumerate(years) if t < reference_year]
    return EventStudyResult(
        coefficients=table[list(EVENT_STUDY_COLUMNS)],
        pretrend=_pretrend(fit.coef[pre], fit.cov[np.ix_(pre, pre)], [years[i] for i in pre], df),
        reference_year=reference_year,
        clusters=panel.n_clusters,
        df=df,
        conf_level=conf_level,
        observations=fit.observations,
        units=panel.n_units,
        treated_clusters=panel.treated_clusters,
        control_clusters=panel.control_clusters,
        warning=warning,
    )
