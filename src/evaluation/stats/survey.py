"""Design-based estimates from perception surveys: shares with their intervals, raking, comparisons.

The plan measures two engagements by surveys of the residents of the 26 QPV: sheet 17 (the image of
the neighbourhoods; baseline "Selon une étude de 2015, 56 % des habitants des quartiers ont une
mauvaise image de leur lieu de vie", first survey in 2020) and sheet 4a (a yearly diversity
barometer). Survey institutes deliver one row per respondent with a weight and, for an area sample,
the stratum (here the QPV) and the cluster (a block of addresses) the respondent was drawn in.
An unweighted share of such a file is biased (the QPV are not sampled in proportion to their size)
and its textbook standard error is too small (neighbours answer alike): the estimates below use the
weights and the design.

**Estimator** (:func:`proportion`, :func:`mean`). For a domain ``d`` (a QPV, a sex, an age band, or
the whole population), with ``w_i`` the weight of respondent ``i`` and ``delta_i = 1`` when ``i``
belongs to ``d`` *and* answered the item (0 otherwise), the share is the ratio estimator::

    p_d = sum_i w_i delta_i y_i / N_d,        N_d = sum_i w_i delta_i

**Variance**: Taylor linearisation of the ratio (Woodruff 1971; Wolter 2007, *Introduction to
Variance Estimation*, ch. 6), with the first-stage clusters (PSU) taken as sampled with replacement
within strata (the "ultimate cluster" approximation of R ``survey::svymean`` and samplics). The
linearised score of each respondent, its total per cluster ``c`` of stratum ``h``, and the
variance::

    z_i  = w_i delta_i (y_i - p_d) / N_d
    Z_hc = sum_{i in cluster c of stratum h} z_i
    V(p_d) = sum_h n_h / (n_h - 1) * sum_c (Z_hc - mean_c Z_hc)^2

where ``n_h`` is the number of clusters of stratum ``h`` **in the design** (every cluster of the
sample, also those without any respondent of the domain, whose total is 0). Consequences:

- *domains are estimated on the full design*, never by cutting the sample down to the domain: a
  cluster with no respondent of the domain still counts, with a score of 0 (R ``svyby`` /
  ``subset(design, ...)``, samplics ``domain=``);
- *item non-response* (``y`` missing) is a further restriction of the domain: the non-respondent's
  weight enters neither numerator nor denominator (``delta_i = 0``), but his cluster and stratum
  stay in the design (R ``svymean(..., na.rm=TRUE)``, which subsets the design object, not the
  data). The share is thus the share *among those who answered*, which assumes the item's
  non-respondents answer like the respondents of the same domain;
- *finite population corrections are ignored* (sampling with replacement): with a few hundred
  respondents out of the 26 QPV's 250 000 residents the factor ``1 - n/N`` is above 0.99, and the
  variance errs on the safe side;
- clusters are *nested in strata*: a cluster is identified by its (stratum, cluster) pair, so
  clusters numbered 1, 2, 3... within each QPV are different clusters (R ``nest=TRUE``);
- without ``psu`` every respondent is his own cluster; without ``strata`` there is one stratum.

**A stratum with a single cluster** in the design ("lonely PSU") has no within-stratum variance.
The rule here is R's ``options(survey.lonely.psu = "adjust")``: its cluster total is centred at the
grand mean of the cluster totals of the whole design instead of its stratum's mean, with factor 1::

    V_h = (Z_h1 - sum_{all clusters} Z / number of clusters)^2

For a ratio the scores sum to zero, so the grand mean is 0 and the lonely cluster contributes
``Z_h1^2``: conservative, where dropping the stratum (R's ``"remove"``) would understate the
variance. A stratum that has several clusters in the design, of which only one holds respondents of
the domain, is *not* lonely: the zero totals of the other clusters count (R's default
``survey.adjust.domain.lonely = FALSE``).

**Interval**: Student's t with ``clusters - strata`` degrees of freedom, counted over the clusters
and strata where the domain has at least one answer (as R's ``svyciprop`` with ``degf`` of the
design subset to the domain; R's subset design also keeps the domain's non-respondents, so R may
count a few more clusters: the count here is never larger, the interval never narrower). With
``df <= 0`` (a domain inside one cluster) the bounds are NaN. :func:`proportion` gives the **logit
interval** of R's ``svyciprop(method = "logit")``, which stays within 0-1 and is asymmetric near 0
or 1::

    se_logit = se(p) / (p (1 - p))
    [lower, upper] = expit(logit(p) -/+ t_{df, 1 - alpha/2} se_logit)

with ``expit(x) = 1 / (1 + exp(-x))``. At ``p = 0`` or ``1`` the logit interval does not exist: the
bounds are NaN (with a warning). :func:`mean` gives the symmetric interval ``m -/+ t se``.

**Raking** (:func:`rake`): iterative proportional fitting of the weights to population margins (the
census counts of the 26 QPV by sex and by age band) when a survey arrives without final weights.

**Comparisons**: :func:`compare_waves` (two independent waves: variances add, Welch-Satterthwaite
degrees of freedom) and :func:`compare_to_baseline` (the 2015 figure of 56 %, a published constant
whose sampling error is unknown: the test is of the estimate against a fixed value).

**Small domains**: no estimate is published on fewer than :data:`MIN_RESPONDENTS` respondents
(:func:`suppress_small_domains` hides it, :func:`merge_small_domains` pools small domains first).

The tests compare every estimate and standard error with a separate loop-based implementation of
the closed-form variance of a domain ratio, to 1e-9, on random stratified cluster samples.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from evaluation.errors import UsageError

__all__ = [
    "ESTIMATE_COLUMNS",
    "WAVE_COMPARISON_COLUMNS",
    "BASELINE_COMPARISON_COLUMNS",
    "MIN_RESPONDENTS",
    "OTHER_DOMAINS",
    "proportion",
    "mean",
    "rake",
    "compare_waves",
    "compare_to_baseline",
    "suppress_small_domains",
    "merge_small_domains",
]

#: Columns of :func:`proportion` and :func:`mean`, in order (``estimate``, ``stderr`` and the bounds
#: are fractions for a proportion; ``degrees_of_freedom`` is the t interval's).
ESTIMATE_COLUMNS = ("domain", "estimate", "stderr", "ci_lower", "ci_upper", "respondents", "degrees_of_freedom")
#: Columns of :func:`compare_waves`, in order.
WAVE_COMPARISON_COLUMNS = (
    "domain",
    "estimate_a",
    "estimate_b",
    "difference",
    "stderr",
    "ci_lower",
    "ci_upper",
    "degrees_of_freedom",
    "statistic",
    "pvalue",
)
#: Columns of :func:`compare_to_baseline`, in order.
BASELINE_COMPARISON_COLUMNS = (
    "domain",
    "estimate",
    "baseline",
    "baseline_year",
    "difference",
    "ci_lower",
    "ci_upper",
    "statistic",
    "pvalue",
)

#: Fewest respondents (with an answer to the item) behind a published estimate. Why 30: below it,
#: (1) the linearised variance rests on too few clusters and the interval's coverage falls short
#: of its nominal level (the logit interval needs roughly 30 answers to behave near 20 % or 80 %);
#: (2) a share over a handful of respondents, crossed with the other published domains, comes close
#: to revealing how identifiable people answered. 30 is the usual floor of the French survey
#: institutes' tables; a stricter one may be passed to the functions below.
MIN_RESPONDENTS = 30

#: Label of the pooled domain made by :func:`merge_small_domains`.
OTHER_DOMAINS = "Autres (regroupés)"

#: At most this many positions are named in an error message; the rest are counted.
_MAX_LISTED = 5


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _listed(positions: np.ndarray) -> str:
    shown = ", ".join(str(p) for p in positions[:_MAX_LISTED])
    more = f" and {positions.size - _MAX_LISTED} more" if positions.size > _MAX_LISTED else ""
    return f"{shown}{more}"


def _numbers(values: ArrayLike, name: str) -> np.ndarray:
    """A 1-D float array (missing values as NaN); UsageError for text or a table."""
    if isinstance(values, pd.Series | pd.Index):
        try:
            array = values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise UsageError(f"{name} must be numbers ({err})") from err
    else:
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise UsageError(f"{name} must be numbers ({err})") from err
    if array.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _answers(y: ArrayLike, binary: bool) -> np.ndarray:
    """The item: 0/1 (``binary``) or any finite number, NaN for item non-response."""
    array = _numbers(y, "y")
    if array.size == 0:
        raise UsageError("y is empty: there is no respondent to estimate from")
    bad = np.flatnonzero(np.isinf(array))
    if bad.size:
        raise UsageError(f"y has {bad.size} infinite value(s) at position(s) {_listed(bad)}")
    if binary:
        bad = np.flatnonzero(~np.isnan(array) & (array != 0) & (array != 1))
        if bad.size:
            raise UsageError(
                f"y must be 0 or 1 (or missing for no answer), got {float(array[bad[0]])!r} at position(s) "
                f"{_listed(bad)} (recode the answers first, e.g. 1 for 'mauvaise image' and 0 for the other answers)"
            )
    return array


def _weights(weights: ArrayLike, size: int) -> np.ndarray:
    array = _numbers(weights, "weights")
    if array.size != size:
        raise UsageError(f"weights has {array.size} values but y has {size} (one per respondent)")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise UsageError(
            f"weights has {bad.size} missing or infinite value(s) at position(s) {_listed(bad)} "
            "(every respondent needs a weight: ask the institute, or rake the weights with rake())"
        )
    bad = np.flatnonzero(array <= 0)
    if bad.size:
        raise UsageError(
            f"weights must be above 0, got {float(array[bad[0]])!r} at position(s) {_listed(bad)} "
            "(a respondent who should not count is left out of the file, not given a weight of 0)"
        )
    return array


def _codes(labels: ArrayLike, name: str, size: int, missing_allowed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 of ``labels`` (sorted when the labels sort) and the distinct labels.

    Missing labels get code -1; they are an error unless ``missing_allowed``.
    """
    series = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels, dtype=object))
    if series.ndim != 1 or len(series) != size:
        raise UsageError(f"{name} has {len(series)} values but y has {size} (one per respondent)")
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # labels of mixed types (numbers and text) do not sort
        codes, uniques = pd.factorize(series, sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    if not missing_allowed:
        bad = np.flatnonzero(codes < 0)
        if bad.size:
            raise UsageError(
                f"{name} has {bad.size} missing value(s) at position(s) {_listed(bad)} "
                "(every respondent belongs to a stratum and a cluster of the design)"
            )
    return codes, np.asarray(uniques, dtype=object)


class _Design:
    """The design of a sample: weights, stratum and cluster codes of each respondent."""

    def __init__(self, weights: np.ndarray, strata: ArrayLike | None, psu: ArrayLike | None) -> None:
        size = weights.size
        self.weights = weights
        if strata is None:
            self.stratum = np.zeros(size, dtype=np.int64)
        else:
            self.stratum = _codes(strata, "strata", size)[0]
        if psu is None:
            self.cluster = np.arange(size, dtype=np.int64)
        else:
            psu_codes = _codes(psu, "psu", size)[0]
            # Clusters are nested in strata: cluster 1 of two QPV are two clusters.
            pairs = self.stratum * (int(psu_codes.max()) + 1) + psu_codes
            self.cluster = np.asarray(pd.factorize(pairs)[0], dtype=np.int64)
        self.n_clusters = int(self.cluster.max()) + 1
        self.n_strata = int(self.stratum.max()) + 1
        self.cluster_stratum = np.zeros(self.n_clusters, dtype=np.int64)
        self.cluster_stratum[self.cluster] = self.stratum
        #: Clusters of each stratum in the design (``n_h``), all respondents counted.
        self.clusters_per_stratum = np.bincount(self.cluster_stratum, minlength=self.n_strata)


def _critical_t(df: np.ndarray, conf_level: float) -> np.ndarray:
    """Two-sided Student quantile ``t_{df, 1 - (1 - conf_level)/2}``; NaN where ``df <= 0``."""
    if not 0 < conf_level < 1:
        raise UsageError(f"conf_level must be strictly between 0 and 1, got {conf_level!r} (e.g. 0.95)")
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        quantile = special.stdtrit(np.where(df > 0, df, 1.0), 1 - (1 - conf_level) / 2)
    return np.where(df > 0, quantile, np.nan)


# --------------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------------


def _estimate(
    y: np.ndarray, design: _Design, domain_codes: np.ndarray, domains: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratio estimates, their linearised variances, respondents and degrees of freedom, one per domain.

    Vectorised over domains: the scores of all domains are accumulated into one (cluster x domain)
    table of totals by a single ``bincount``.
    """
    used = ~np.isnan(y) & (domain_codes >= 0)
    dom = domain_codes[used]
    w = design.weights[used]
    answers = y[used]
    weight_sums = np.bincount(dom, weights=w, minlength=domains)
    respondents = np.bincount(dom, minlength=domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimates = np.bincount(dom, weights=w * answers, minlength=domains) / weight_sums
        scores = w * (answers - estimates[dom]) / weight_sums[dom]

    clusters, strata = design.n_clusters, design.n_strata
    cell = design.cluster[used] * domains + dom
    totals = np.bincount(cell, weights=scores, minlength=clusters * domains).reshape(clusters, domains)
    of_stratum = design.cluster_stratum
    n_h = design.clusters_per_stratum
    stratum_sums = np.zeros((strata, domains))
    np.add.at(stratum_sums, of_stratum, totals)
    grand_mean = totals.sum(axis=0) / clusters
    lonely = (n_h == 1)[of_stratum]
    centres = np.where(lonely[:, None], grand_mean[None, :], (stratum_sums / n_h[:, None])[of_stratum])
    scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)[of_stratum]
    variances = ((totals - centres) ** 2 * scale[:, None]).sum(axis=0)

    answered = np.bincount(cell, minlength=clusters * domains).reshape(clusters, domains) > 0
    strata_answered = np.zeros((strata, domains), dtype=np.int64)
    np.add.at(strata_answered, of_stratum, answered.astype(np.int64))
    df = answered.sum(axis=0) - (strata_answered > 0).sum(axis=0)
    variances = np.where(respondents > 0, variances, np.nan)
    return estimates, variances, respondents, df


def _logit_interval(
    estimate: np.ndarray, stderr: np.ndarray, df: np.ndarray, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """``expit(logit(p) -/+ t se / (p (1 - p)))``; NaN at ``p`` 0 or 1 and where ``df <= 0``."""
    t = _critical_t(df, conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(estimate / (1 - estimate))
        half = t * stderr / (estimate * (1 - estimate))
        lower = special.expit(centre - half)
        upper = special.expit(centre + half)
    inside = (estimate > 0) & (estimate < 1)
    return np.where(inside, lower, np.nan), np.where(inside, upper, np.nan)


def _frame(
    labels: list[Any],
    estimates: np.ndarray,
    stderr: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    respondents: np.ndarray,
    df: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "domain": pd.Series(labels, dtype=object),
            "estimate": estimates,
            "stderr": stderr,
            "ci_lower": bounds[0],
            "ci_upper": bounds[1],
            "respondents": respondents.astype(np.int64),
            "degrees_of_freedom": df.astype(np.int64),
        },
        columns=list(ESTIMATE_COLUMNS),
    )


def _domain_codes(domain: ArrayLike | None, size: int) -> tuple[np.ndarray, list[Any]]:
    if domain is None:
        return np.zeros(size, dtype=np.int64), [None]
    codes, uniques = _codes(domain, "domain", size, missing_allowed=True)
    if uniques.size == 0:
        raise UsageError("domain has no value: give each respondent's domain (QPV, sex...), or domain=None")
    return codes, list(uniques)


def _design_estimates(
    y: ArrayLike,
    weights: ArrayLike,
    strata: ArrayLike | None,
    psu: ArrayLike | None,
    domain: ArrayLike | None,
    binary: bool,
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    answers = _answers(y, binary)
    design = _Design(_weights(weights, answers.size), strata, psu)
    codes, labels = _domain_codes(domain, answers.size)
    estimates, variances, respondents, df = _estimate(answers, design, codes, len(labels))
    return labels, estimates, np.sqrt(variances), respondents, df


def proportion(
    y: ArrayLike,
    weights: ArrayLike,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    domain: ArrayLike | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Design-based share of respondents with ``y = 1``, per domain, with a logit interval.

    Parameters
    ----------
    y:
        The item recoded 0/1 (e.g. 1 for "plutôt" or "très mauvaise image"), one value per
        respondent; missing (NaN, None) for an item non-response, which is left out of the share
        but keeps its cluster and stratum in the design (see the module docstring).
    weights:
        Final weights, finite and above 0.
    strata, psu:
        Stratum and first-stage cluster of each respondent (any labels; clusters are nested in
        strata). ``None``: one stratum; each respondent his own cluster.
    domain:
        Domain of each respondent (QPV, sex, age band...); a missing label puts the respondent in no
        domain (still in the design). ``None``: one row for the whole population.
    conf_level:
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per domain (sorted labels; ``domain`` is None without domains), columns
        :data:`ESTIMATE_COLUMNS`: ``estimate`` ``p_d`` (a fraction), ``stderr`` its linearised
        standard error, ``ci_lower``/``ci_upper`` the logit interval with ``df`` degrees of freedom
        (NaN when ``p_d`` is 0 or 1, or ``df <= 0``), ``respondents`` the respondents of the domain
        with an answer, ``degrees_of_freedom`` clusters minus strata where the domain answered. A
        domain whose members all left the item blank has NaN estimates and 0 respondents.

    All arguments are read by position (one value per respondent, in the same order), never
    aligned on a pandas index. Formulas in the module docstring. Publish only rows with at least
    :data:`MIN_RESPONDENTS` respondents (:func:`suppress_small_domains`).
    """
    labels, estimates, stderr, respondents, df = _design_estimates(y, weights, strata, psu, domain, binary=True)
    degenerate = [labels[i] for i in np.flatnonzero((estimates == 0) | (estimates == 1))]
    if degenerate:
        warnings.warn(
            f"estimate 0 or 1 for domain(s) {degenerate[:_MAX_LISTED]}: the logit interval does not exist, "
            "its bounds are left blank (NaN)",
            UserWarning,
            stacklevel=2,
        )
    bounds = _logit_interval(estimates, stderr, df, conf_level)
    return _frame(labels, estimates, stderr, bounds, respondents, df)


def mean(
    y: ArrayLike,
    weights: ArrayLike,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    domain: ArrayLike | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Design-based mean of ``y`` per domain, with the symmetric interval ``m -/+ t_{df} se``.

    Same estimator, variance, domains and non-response as :func:`proportion` (``y`` any finite
    number, NaN for no answer), in the unit of ``y``; same columns (:data:`ESTIMATE_COLUMNS`).
    """
    labels, estimates, stderr, respondents, df = _design_estimates(y, weights, strata, psu, domain, binary=False)
    half = _critical_t(df, conf_level) * stderr
    return _frame(labels, estimates, stderr, (estimates - half, estimates + half), respondents, df)


# --------------------------------------------------------------------------------------------------
# Raking
# --------------------------------------------------------------------------------------------------


def _margin_codes(frame: pd.DataFrame, key: Hashable, counts: Mapping[Any, float]) -> tuple[np.ndarray, np.ndarray]:
    """Each respondent's category index in the margin ``key`` and the margin's population counts."""
    columns = list(key) if isinstance(key, tuple) else [key]
    missing_columns = [c for c in columns if c not in frame.columns]
    if missing_columns:
        raise UsageError(
            f"margin {key!r}: no column {missing_columns[0]!r} in the respondents' table "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    if not isinstance(counts, Mapping) or not counts:
        raise UsageError(
            f"margin {key!r} must map each category to its population count, e.g. {{'F': 1250, 'M': 1180}}"
        )
    cells = frame[columns]
    blank = np.flatnonzero(cells.isna().any(axis=1).to_numpy())
    if blank.size:
        raise UsageError(
            f"margin {key!r}: {blank.size} respondent(s) without a value, at position(s) {_listed(blank)} "
            "(raking needs every respondent's category: leave them out or impute the category first)"
        )
    values = list(cells.itertuples(index=False, name=None)) if len(columns) > 1 else cells.iloc[:, 0].tolist()
    categories = list(counts)
    index = {category: position for position, category in enumerate(categories)}
    try:
        codes = np.array([index.get(v, -1) for v in values], dtype=np.int64)
    except TypeError as err:
        raise UsageError(f"margin {key!r}: categories must be plain labels ({err})") from err
    unknown = np.flatnonzero(codes < 0)
    if unknown.size:
        raise UsageError(
            f"margin {key!r}: category {values[unknown[0]]!r} of {unknown.size} respondent(s) has no population "
            f"count (the margin gives {', '.join(map(repr, categories))}); recode the respondents or complete the margin"
        )
    targets = np.array([counts[c] for c in categories], dtype=float)
    bad = [c for c, t in zip(categories, targets, strict=True) if not (math.isfinite(t) and t > 0)]
    if bad:
        raise UsageError(f"margin {key!r}: the population count of {bad[0]!r} must be a number above 0")
    empty = [c for c, n in zip(categories, np.bincount(codes, minlength=len(categories)), strict=True) if n == 0]
    if empty:
        raise UsageError(
            f"margin {key!r}: no respondent in category {empty[0]!r}, so no weight can be raised to its count "
            "(merge it with a neighbouring category in the margin and in the respondents' table)"
        )
    return codes, targets


def rake(
    frame: pd.DataFrame,
    margins: Mapping[Hashable, Mapping[Any, float]],
    weight: str | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> pd.Series:
    """Weights raked to population margins by iterative proportional fitting (Deming & Stephan 1940).

    Starting from the design weights ``d_i`` (column ``weight`` of ``frame``, or 1 for everyone),
    each cycle takes the margins in turn; for margin ``m`` with categories ``k`` and population
    counts ``T_mk``, every respondent of category ``k`` has his weight multiplied by::

        T_mk / sum_{i in k} w_i

    so that the margin is met exactly, then the next margin is fitted, and so on. The cycles stop
    when every margin is met within ``tol`` (relative: ``max_mk |sum_{i in k} w_i - T_mk| / T_mk``).
    The result is the minimum of the raking distance ``sum_i w_i log(w_i / d_i) - w_i + d_i`` under
    the margin constraints (Deville & Särndal 1992, the "raking ratio" calibration of INSEE's Calmar).

    ``margins`` maps a column of ``frame`` to ``{category: population count}``, e.g. the census
    counts of the 26 QPV ``{"sex": {"F": ..., "M": ...}, "age_band": {"18-29": ..., ...}}``. A key
    may be a tuple of columns for a crossed margin (``("sex", "age_band")`` with keys
    ``("F", "18-29")``...): raking on the one crossed margin of sex x age band is post-stratification,
    met in one cycle. All margins must describe the same population (equal totals).

    Returns the raked weights (a float Series named ``weight``, on ``frame``'s index). Raises
    :class:`~evaluation.errors.UsageError` for a respondent without a category or with a category
    the margin lacks, a margin category without respondents (no weight could reach its count),
    margins with different totals, and when ``max_iter`` cycles do not meet the margins (a
    combination of categories the margins need is absent from the sample).
    """
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"rake() needs the respondents as a pandas DataFrame, got {type(frame).__name__}")
    if not isinstance(margins, Mapping) or not margins:
        raise UsageError(
            "margins must map at least one column to its population counts, e.g. {'sex': {'F': 1250, 'M': 1180}}"
        )
    if not (isinstance(max_iter, int) and max_iter > 0):
        raise UsageError(f"max_iter must be a whole number above 0, got {max_iter!r}")
    if not (isinstance(tol, int | float) and tol > 0):
        raise UsageError(f"tol must be a number above 0, got {tol!r}")
    if len(frame) == 0:
        raise UsageError("rake() got no respondent")
    if weight is None:
        weights = np.ones(len(frame))
    else:
        if weight not in frame.columns:
            raise UsageError(f"no weight column {weight!r} in the respondents' table")
        weights = _weights(frame[weight], len(frame)).copy()
    fitted = [(key, *_margin_codes(frame, key, counts)) for key, counts in margins.items()]
    totals = [float(targets.sum()) for _, _, targets in fitted]
    if max(totals) - min(totals) > 1e-9 * max(totals):
        described = ", ".join(f"{key!r}: {total:,.0f}" for (key, _, _), total in zip(fitted, totals, strict=True))
        raise UsageError(
            f"the margins describe populations of different sizes ({described}); raking cannot meet them all "
            "(take them from the same source and year, or scale them to the same total)"
        )
    for _cycle in range(max_iter):
        for _key, codes, targets in fitted:
            weights *= (targets / np.bincount(codes, weights=weights, minlength=targets.size))[codes]
        gap = max(
            float(np.max(np.abs(np.bincount(codes, weights=weights, minlength=targets.size) - targets) / targets))
            for _key, codes, targets in fitted
        )
        if gap <= tol:
            return pd.Series(weights, index=frame.index, name="weight")
    raise UsageError(
        f"raking did not meet the margins after {max_iter} cycles (largest relative gap {gap:.2e}): "
        "the sample lacks a combination of categories the margins require (e.g. no man aged 60 or more); "
        "merge categories, or raise max_iter if the gap is still shrinking"
    )


# --------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------


def _estimate_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    needed = {"domain", "estimate", "stderr", "degrees_of_freedom"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise UsageError(
            f"{name} must be a table returned by proportion() or mean() (columns {', '.join(sorted(needed))})"
        )
    if table["domain"].duplicated().any():
        raise UsageError(f"{name} has the same domain twice: pass one table of proportion() per wave")
    return table


def _domain_key(value: object) -> tuple[object, ...]:
    """A hashable key of a domain label; None (no domain) and NaN match each other."""
    return ("no domain",) if value is None or (isinstance(value, float) and math.isnan(value)) else ("domain", value)


def compare_waves(a: pd.DataFrame, b: pd.DataFrame, conf_level: float = 0.95) -> pd.DataFrame:
    """Change between two waves, ``b - a``, per domain present in both, with its interval.

    ``a`` and ``b`` are tables of :func:`proportion` (or :func:`mean`) for two **independent**
    samples (two waves drawn separately): the variances add::

        difference = p_b - p_a,       se = sqrt(se_a^2 + se_b^2)
        df = se^4 / (se_a^4 / df_a + se_b^4 / df_b)        (Welch-Satterthwaite)
        [ci_lower, ci_upper] = difference -/+ t_{df, 1 - alpha/2} se
        statistic = difference / se,  pvalue = 2 P(T_df > |statistic|)

    The difference is a fraction for proportions (x 100 for percentage points). If the second wave
    revisits the first wave's clusters or respondents (a panel), the samples are not independent
    and this interval is wrong (too wide when answers are positively correlated). Domains given in
    one table only are left out. Columns :data:`WAVE_COMPARISON_COLUMNS`.
    """
    a = _estimate_table(a, "a")
    b = _estimate_table(b, "b")
    rows_b = {_domain_key(v): i for i, v in enumerate(b["domain"])}
    pairs = [(i, rows_b[_domain_key(v)]) for i, v in enumerate(a["domain"]) if _domain_key(v) in rows_b]
    if not pairs:
        raise UsageError("a and b have no domain in common: compare the same domains (e.g. both without domain)")
    first = a.iloc[[i for i, _ in pairs]].reset_index(drop=True)
    second = b.iloc[[j for _, j in pairs]].reset_index(drop=True)
    merged = first.join(second, lsuffix="_a", rsuffix="_b")
    va = merged["stderr_a"].to_numpy(dtype=float) ** 2
    vb = merged["stderr_b"].to_numpy(dtype=float) ** 2
    dfa = merged["degrees_of_freedom_a"].to_numpy(dtype=float)
    dfb = merged["degrees_of_freedom_b"].to_numpy(dtype=float)
    difference = merged["estimate_b"].to_numpy(dtype=float) - merged["estimate_a"].to_numpy(dtype=float)
    variance = va + vb
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where((dfa > 0) & (dfb > 0) & (variance > 0), variance**2 / (va**2 / dfa + vb**2 / dfb), np.nan)
        stderr = np.sqrt(variance)
        half = _critical_t(df, conf_level) * stderr
        statistic = difference / stderr
    pvalue = 2 * special.stdtr(np.where(np.isnan(df), 1.0, df), -np.abs(statistic))
    return pd.DataFrame(
        {
            "domain": merged["domain_a"].to_numpy(dtype=object),
            "estimate_a": merged["estimate_a"].to_numpy(dtype=float),
            "estimate_b": merged["estimate_b"].to_numpy(dtype=float),
            "difference": difference,
            "stderr": stderr,
            "ci_lower": difference - half,
            "ci_upper": difference + half,
            "degrees_of_freedom": df,
            "statistic": statistic,
            "pvalue": np.where(np.isnan(df), np.nan, pvalue),
        },
        columns=list(WAVE_COMPARISON_COLUMNS),
    )


def compare_to_baseline(estimates: pd.DataFrame, baseline: float, year: int, conf_level: float = 0.95) -> pd.DataFrame:
    """Each domain's share against a published constant, e.g. ``compare_to_baseline(est, 0.56, year=2015)``.

    The baseline of sheet 17 ("Selon une étude de 2015, 56 % des habitants des quartiers ont une
    mauvaise image de leur lieu de vie") is a **published figure whose sampling error, sample,
    question wording and geography are not known**: it is treated as a fixed number, so only the
    new estimate's uncertainty enters. The comparison is then the estimate's logit interval
    shifted by the baseline, and a t test of ``logit(p) = logit(baseline)`` on the same scale (so
    that the baseline lies outside the interval exactly when ``pvalue < 1 - conf_level``)::

        difference = p - baseline                         (a fraction)
        [ci_lower, ci_upper] = logit interval of p - baseline
        statistic = (logit(p) - logit(baseline)) / (se / (p (1 - p)))
        pvalue = 2 P(T_df > |statistic|)

    A difference in the wording or population of the 2015 study would bias this comparison in a
    way no interval shows; say so wherever it is published. ``estimates`` is a table of
    :func:`proportion`; ``baseline`` a fraction in (0, 1) (0.56, not 56). Columns
    :data:`BASELINE_COMPARISON_COLUMNS`.
    """
    estimates = _estimate_table(estimates, "estimates")
    if isinstance(baseline, bool) or not isinstance(baseline, int | float) or not 0 < baseline < 1:
        raise UsageError(f"baseline must be a fraction strictly between 0 and 1, got {baseline!r} (e.g. 0.56 for 56 %)")
    if isinstance(year, bool) or not isinstance(year, int):
        raise UsageError(f"year must be the baseline's year as a whole number, got {year!r} (e.g. 2015)")
    p = estimates["estimate"].to_numpy(dtype=float)
    se = estimates["stderr"].to_numpy(dtype=float)
    df = estimates["degrees_of_freedom"].to_numpy(dtype=float)
    lower, upper = _logit_interval(p, se, df, conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = (special.logit(p) - special.logit(baseline)) / (se / (p * (1 - p)))
    valid = (p > 0) & (p < 1) & (df > 0) & (se > 0)
    statistic = np.where(valid, statistic, np.nan)
    pvalue = np.where(valid, 2 * special.stdtr(np.where(valid, df, 1.0), -np.abs(np.nan_to_num(statistic))), np.nan)
    return pd.DataFrame(
        {
            "domain": estimates["domain"].to_numpy(dtype=object),
            "estimate": p,
            "baseline": float(baseline),
            "baseline_year": int(year),
            "difference": p - baseline,
            "ci_lower": lower - baseline,
            "ci_upper": upper - baseline,
            "statistic": statistic,
            "pvalue": pvalue,
        },
        columns=list(BASELINE_COMPARISON_COLUMNS),
    )


# --------------------------------------------------------------------------------------------------
# Small domains
# --------------------------------------------------------------------------------------------------


def _minimum(min_respondents: int) -> int:
    if isinstance(min_respondents, bool) or not isinstance(min_respondents, int) or min_respondents < 1:
        raise UsageError(f"min_respondents must be a whole number above 0, got {min_respondents!r}")
    return min_respondents


def suppress_small_domains(estimates: pd.DataFrame, min_respondents: int = MIN_RESPONDENTS) -> pd.DataFrame:
    """A copy of ``estimates`` where domains under ``min_respondents`` respondents are hidden.

    Hidden rows keep their domain and respondent count, and have NaN ``estimate``, ``stderr``,
    ``ci_lower`` and ``ci_upper``; a boolean column ``suppressed`` says which. Hiding one domain of
    a partition (the QPV, the two sexes) while publishing the total and the others lets a reader
    work the hidden share out approximately: for a partition, pool the small domains first with
    :func:`merge_small_domains`, and use this function as the last safeguard.
    """
    estimates = _estimate_table(estimates, "estimates")
    minimum = _minimum(min_respondents)
    if "respondents" not in estimates.columns:
        raise UsageError("estimates needs its 'respondents' column (a table returned by proportion())")
    out = estimates.copy()
    small = out["respondents"].to_numpy() < minimum
    out.loc[small, ["estimate", "stderr", "ci_lower", "ci_upper"]] = np.nan
    out["suppressed"] = small
    return out


def merge_small_domains(
    domain: ArrayLike,
    y: ArrayLike | None = None,
    min_respondents: int = MIN_RESPONDENTS,
    label: str = OTHER_DOMAINS,
) -> pd.Series:
    """Domain labels where the domains under ``min_respondents`` respondents are pooled under ``label``.

    Respondents are counted per domain (with an answer to ``y`` when it is given, NaN meaning no
    answer). The domains below the minimum are pooled; if the pool itself stays below the
    minimum, the smallest remaining domains join it, one at a time, until it reaches the minimum
    (or everything is pooled). So no published domain, the pool included, rests on fewer than
    ``min_respondents`` answers, and the pool cannot be worked out by difference from the total
    and the other domains into one of its small members. Respondents without a domain stay
    without one. Returns a Series of labels (on ``domain``'s index when it is a Series).
    """
    minimum = _minimum(min_respondents)
    series = domain.copy() if isinstance(domain, pd.Series) else pd.Series(np.asarray(domain, dtype=object))
    series = series.astype(object)
    if y is not None:
        answers = _numbers(y, "y")
        if answers.size != len(series):
            raise UsageError(f"y has {answers.size} values but domain has {len(series)} (one per respondent)")
        counted = series[~np.isnan(answers)]
    else:
        counted = series
    counts = counted.value_counts(dropna=True)
    for missing_label in series.dropna().unique():
        if missing_label not in counts.index:
            counts[missing_label] = 0
    if label in counts.index:
        raise UsageError(f"a domain is already called {label!r}: choose another label for the pooled domains")
    counts = counts.sort_values(kind="stable")
    pooled = list(counts.index[counts < minimum])
    if not pooled:
        return series
    remaining = [d for d in counts.index if d not in pooled]
    while counts[pooled].sum() < minimum and remaining:
        pooled.append(remaining.pop(0))
    return series.where(~series.isin(pooled), label)
