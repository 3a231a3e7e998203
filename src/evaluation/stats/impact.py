"""What can be attributed to the plan: difference-in-differences and synthetic control.

The plan asks to "mesurer à l'horizon 2021 l'impact global" of the policy on the residents of the
priority neighbourhoods. A change in the QPV's indicators is not an impact: national trends, the
2020 health crisis and other policies move them too. This module compares the MEL's QPV with
territories the plan did not cover, over the same years, with two standard designs:

* **Difference-in-differences** (:func:`did`, :func:`event_study`): a two-way fixed-effects
  regression on a panel of territories (several treated units, e.g. the 26 MEL QPV one by one,
  against comparison QPV or aggregates), with standard errors robust to any correlation within a
  territory over time (clustered by territory). The event-study version gives one coefficient per
  year relative to 2017, the last year before the plan, so that diverging trends *before* the plan
  (which would make the comparison unfit) can be seen and tested.
* **Synthetic control** (:func:`synthetic_control`, :func:`placebo`), for a *single* treated unit
  (the 26 QPV together): a weighted average of comparison territories, weights non-negative and
  summing to 1, that reproduces the treated unit's path before the plan; the gap after 2017 is the
  estimated effect. Its inference is by permutation (each comparison unit in turn treated as if it
  had had the plan), the only honest inference with one treated unit (Abadie, Diamond & Hainmueller
  2010, *J. Am. Stat. Assoc.* 105(490), 493-505).

**Credibility guard** (:data:`MIN_CLUSTERS`, :data:`MIN_TREATED_CLUSTERS`): cluster-robust
standard errors are justified as the number of clusters grows, and they are too small when few
clusters are treated (Conley & Taber 2011, *Rev. Econ. Stat.* 93(1); Cameron & Miller 2015,
*J. Human Resources* 50(2); MacKinnon & Webb 2017, *J. Appl. Econometrics* 32(2)). The functions
therefore **refuse** (:class:`~evaluation.errors.UsageError`) when fewer than 2 clusters are treated
or fewer than 2 are not (one treated territory: use :func:`synthetic_control` and :func:`placebo`),
and return the estimate with a ``warning`` in French, to be printed next to it, when there are
fewer than :data:`MIN_CLUSTERS` clusters in all or fewer than :data:`MIN_TREATED_CLUSTERS` treated
(or comparison) clusters. The thresholds are conventions of this package, not theorems: the cited
simulations show over-rejection that grows as these counts fall.

**Cautions** (:data:`CAUTIONS`, :func:`cautions`): what the methods cannot say with the sources of
the barometer (census vintages pooling five years, the 2024 change of the QPV perimeter,
composition effects...), as typed records with French text to be shown in the reports.

The functions work for any indicator column (employment rate, jobseekers per 1 000, business
creations per 1 000, poverty rate): the effect is in the indicator's unit (points for a rate).
The tests compare :func:`did` and :func:`event_study` with statsmodels' OLS with dummies and
``cov_type="cluster"``, and the synthetic-control fit with an independent Frank-Wolfe solver.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from evaluation.errors import EvaluationError, UsageError

__all__ = [
    "MIN_CLUSTERS",
    "MIN_TREATED_CLUSTERS",
    "PLAN_START_YEAR",
    "REFERENCE_YEAR",
    "EVENT_STUDY_COLUMNS",
    "SYNTHETIC_PATH_COLUMNS",
    "PLACEBO_COLUMNS",
    "DidResult",
    "PretrendTest",
    "EventStudyResult",
    "SyntheticControlResult",
    "PlaceboResult",
    "Caution",
    "CAUTIONS",
    "cautions",
    "census_survey_years",
    "census_publication_year",
    "did",
    "event_study",
    "synthetic_control",
    "placebo",
]

#: Fewer clusters than this in all: the estimate is returned with a ``warning``.
MIN_CLUSTERS = 10
#: Fewer treated (or fewer comparison) clusters than this: the estimate is returned with a ``warning``.
#: Fewer than 2 of either: refused (no cluster-robust inference is possible).
MIN_TREATED_CLUSTERS = 5
#: First year of the plan ("2018-2021"): the post period of the demo and of the reports.
PLAN_START_YEAR = 2018
#: Last year before the plan: the reference of the event study.
REFERENCE_YEAR = 2017

#: Columns of :attr:`EventStudyResult.coefficients`, in order.
EVENT_STUDY_COLUMNS = ("year", "estimate", "stderr", "ci_lower", "ci_upper", "pvalue", "reference")
#: Columns of :attr:`SyntheticControlResult.path`, in order.
SYNTHETIC_PATH_COLUMNS = ("year", "period", "treated", "synthetic", "gap")
#: Columns of :attr:`PlaceboResult.table`, in order.
PLACEBO_COLUMNS = ("unit", "is_treated", "pre_rmspe", "post_rmspe", "rmspe_ratio", "rank")

# Relative tolerance under which two RMSPE ratios are a tie (rounding of equal fits).
_TIE_RTOL = 1e-9
# A pre-period RMSPE at most this share of the largest absolute value fitted is an exact fit.
_EXACT_FIT_RTOL = 1e-6
# A regressor whose norm falls below this share of its norm once the fixed effects are removed is
# collinear with them (not identified).
_COLLINEAR_RTOL = 1e-9


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Cautions
# --------------------------------------------------------------------------------------------------


def census_survey_years(vintage: int) -> tuple[int, ...]:
    """The annual census surveys a vintage pools: vintage ``N`` covers ``N-2 .. N+2`` (INSEE)."""
    return tuple(range(int(vintage) - 2, int(vintage) + 3))


def census_publication_year(vintage: int) -> int:
    """Year INSEE publishes a census vintage ``N``: ``N + 3`` (after its last survey, ``N + 2``)."""
    return int(vintage) + 3


@dataclass(frozen=True)
class Caution:
    """A limit of the impact estimates, to be shown next to them.

    ``code`` identifies it, ``title`` and ``text`` are French prose for the reader, ``methods``
    the estimators it concerns (``"did"``, ``"synthetic"``).
    """

    code: str
    title: str
    text: str
    methods: frozenset[str] = frozenset({"did", "synthetic"})


def _census_text() -> str:
    before = REFERENCE_YEAR
    first_clean = PLAN_START_YEAR + 2  # the first vintage whose five surveys all follow 2017
    last = first_clean + 2
    b0, b1 = census_survey_years(before)[0], census_survey_years(before)[-1]
    c0, c1 = census_survey_years(first_clean)[0], census_survey_years(first_clean)[-1]
    return (
        "Les taux d'emploi viennent du recensement : un millésime N regroupe les cinq enquêtes annuelles "
        f"de N-2 à N+2 et paraît en N+3. Le millésime {before}, année d'avant le plan, mêle déjà les "
        f"enquêtes {b0} à {b1}, dont deux années du plan ; le premier dont toutes les enquêtes suivent {REFERENCE_YEAR}, le millésime "
        f"{first_clean} (enquêtes {c0} à {c1}), paraît en {census_publication_year(first_clean)}. Les années "
        f"du plan n'entrent vraiment dans la série qu'avec les millésimes {first_clean} à {last}, publiés de "
        f"{census_publication_year(first_clean)} à {census_publication_year(last)} : un écart mesuré plus tôt "
        "est lissé sur cinq ans et en partie antérieur au plan."
    )


#: The cautions of the impact estimates, in the order the reports show them.
CAUTIONS: tuple[Caution, ...] = (
    Caution(
        "census_vintages",
        "Recensement : cinq années d'enquêtes par millésime",
        _census_text(),
    ),
    Caution(
        "yearly_sources_first",
        "Les sources annuelles d'abord",
        "Les demandeurs d'emploi (France Travail, ex-Pôle emploi), les créations d'entreprises (Sirene) et "
        "les allocataires de la CAF sont comptés chaque année pour l'année même : ce sont eux qui peuvent "
        "montrer un effet pendant le plan. Le taux de pauvreté (Filosofi) paraît avec retard et le taux "
        "d'emploi dépend du recensement.",
    ),
    Caution(
        "perimeter_2024",
        "Le périmètre des QPV a changé en 2024",
        "La liste des quartiers prioritaires a été révisée au 1er janvier 2024 (décret 2023-1314) : les "
        "séries antérieures portent sur les quartiers de 2015, les suivantes sur ceux de 2024. Une comparaison "
        "dans le temps doit se faire à périmètre constant, ou signaler la rupture.",
    ),
    Caution(
        "composition",
        "Le quartier n'est pas ses habitants",
        "Les habitants qui trouvent un emploi quittent souvent le quartier et sont remplacés par des ménages "
        "plus fragiles : le taux d'un QPV mesure le quartier, pas le parcours des personnes, et sous-estime "
        "leurs gains. Un effet nul sur le quartier ne prouve pas un effet nul sur les personnes ; le suivi "
        "des cohortes de bénéficiaires répond à cette autre question.",
    ),
    Caution(
        "parallel_trends",
        "Une hypothèse : des évolutions parallèles sans le plan",
        "La double différence attribue au plan tout l'écart d'évolution entre les QPV de la MEL et les "
        f"territoires de comparaison après {REFERENCE_YEAR}. Elle suppose que, sans le plan, ils auraient "
        f"évolué en parallèle : les coefficients des années avant {PLAN_START_YEAR} (étude d'événement) "
        "permettent de le vérifier en partie, pas de le prouver. D'autres politiques lancées au même moment "
        "sur une partie seulement des territoires se confondent avec l'effet du plan.",
        frozenset({"did"}),
    ),
    Caution(
        "few_clusters",
        "Peu de territoires : une inférence fragile",
        "Les intervalles de la double différence supposent de nombreux territoires, dont plusieurs traités "
        f"(ici au moins {MIN_CLUSTERS} groupes, dont {MIN_TREATED_CLUSTERS} traités et {MIN_TREATED_CLUSTERS} "
        "de comparaison) ; en dessous ils sont trop étroits. Avec un seul territoire traité (les 26 QPV pris "
        "ensemble), seul le contrôle synthétique avec inférence par permutation convient, et sa plus petite "
        "p-valeur possible est 1 / (nombre de territoires de comparaison + 1) : il en faut au moins 19 pour "
        "atteindre 5 %.",
    ),
    Caution(
        "synthetic_fit",
        "Le contrôle synthétique ne vaut que par son ajustement",
        f"Le territoire synthétique doit reproduire les QPV de la MEL avant {PLAN_START_YEAR} : un écart "
        "après le plan n'a de sens que comparé à l'écart d'avant (RMSPE). Si les QPV de la MEL sont hors de "
        "l'éventail des territoires de comparaison (plus bas ou plus haut que tous), aucune pondération ne "
        "les reproduit et l'écart mesuré n'est pas un effet. À l'inverse, avec plus de territoires de comparaison "
        "que d'années avant le plan, l'ajustement peut être parfait sans rien prouver (surajustement).",
        frozenset({"synthetic"}),
    ),
    Caution(
        "contamination",
        "Des territoires de comparaison à l'abri du plan",
        "L'ensemble des QPV de France comprend ceux de la MEL, et les quartiers de veille active de la MEL "
        "peuvent profiter d'actions du plan : un effet qui déborde sur les territoires de comparaison réduit "
        "l'effet mesuré. Les choisir hors de la MEL quand c'est possible.",
    ),
)


def cautions(method: str | None = None) -> tuple[Caution, ...]:
    """The cautions that concern ``method`` (``"did"`` or ``"synthetic"``), or all of them (``None``)."""
    known = {"did", "synthetic"}
    if method is None:
        return CAUTIONS
    if method not in known:
        raise UsageError(f"unknown method {method!r} (use 'did' or 'synthetic')")
    return tuple(c for c in CAUTIONS if method in c.methods)


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Two-way fixed effects with cluster-robust covariance
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Synthetic control
# --------------------------------------------------------------------------------------------------


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
