"""Difference-in-differences, event study, synthetic control and placebo inference (evaluation.stats.impact).

Sources of the expected numbers, test by test:

* statsmodels 0.14+ ``OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)`` with
  ``X`` = constant, ``treated x post`` (or one ``treated x 1{year}`` per year), unit dummies and
  year dummies (first level dropped, ``pandas.get_dummies(..., drop_first=True)``), on constructed
  panels (several treated units, unbalanced years, missing outcomes, a cluster variable coarser than
  the unit): estimates and standard errors to 1e-9, the t interval and p-value from
  ``scipy.stats.t`` with ``G - 1`` degrees of freedom written out in the test, the pre-trend F from
  ``results.f_test``;
* :func:`_simplex_reference`: an independent, exact solution of ``min ||b - A w||^2`` on the
  simplex by exhaustive search over the supports (equality-constrained least squares on each,
  the feasible ones compared): the objectives agree to 1e-6; and the Frank-Wolfe duality gap of
  our weights (an upper bound of their distance to the optimum) is below 1e-6;
* the placebo p-values of a four-unit case computed by hand in :func:`test_placebo_by_hand`
  (each two-donor fit is the projection of a point onto a segment);
* the demo's built-in effect (:mod:`evaluation_demo.comparison`, ``EFFECT_2021``), recovered by the
  DiD interval and by the synthetic-control gap.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluation.errors import UsageError
from evaluation.referential.territories import load_qpv
from evaluation.stats.impact import (
    CAUTIONS,
    EVENT_STUDY_COLUMNS,
    MIN_CLUSTERS,
    PLACEBO_COLUMNS,
    SYNTHETIC_PATH_COLUMNS,
    cautions,
    census_publication_year,
    census_survey_years,
    did,
    event_study,
    placebo,
    synthetic_control,
)
from evaluation_demo import comparison as demo

TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------------
# Constructed panels and the statsmodels reference
# --------------------------------------------------------------------------------------------------


def _panel(
    seed: int, units: int = 14, treated: int = 6, years: range = range(2012, 2022), drop: float = 0.15
) -> pd.DataFrame:
    """Unit and year effects, unit trends, an effect of 1.2 after 2017 on the treated, 15 % of rows dropped."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(units):
        level, trend = rng.normal(45, 5), rng.normal(0.3, 0.2)
        for t in years:
            if rng.random() < drop and t not in (2017, 2018):  # keep the reference and first post year
                continue
            is_treated = i < treated
            value = level + trend * (t - 2012) + 0.5 * math.sin(t) + (1.2 if is_treated and t >= 2018 else 0.0)
            rows.append(
                {
                    "unit": f"U{i:02d}",
                    "year": t,
                    "region": f"R{i % 7}",
                    "treated": is_treated,
                    "post": t >= 2018,
                    "y": value + rng.normal(0, 0.6),
                }
            )
    return pd.DataFrame(rows)


def _statsmodels_fit(frame: pd.DataFrame, regressors: pd.DataFrame, cluster: str = "unit"):
    """OLS with dummies (statsmodels), CR1 clustered, t inference with G - 1 degrees of freedom."""
    dummies = pd.get_dummies(frame[["unit", "year"]].astype(str), drop_first=True, dtype=float)
    exog = sm.add_constant(pd.concat([regressors, dummies], axis=1))
    groups = pd.factorize(frame[cluster])[0]
    return sm.OLS(frame["y"], exog).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def _did_reference(frame: pd.DataFrame, cluster: str = "unit"):
    regressor = pd.DataFrame({"D": (frame["treated"] & frame["post"]).astype(float)}, index=frame.index)
    return _statsmodels_fit(frame, regressor, cluster)


@pytest.mark.parametrize(
    ("seed", "cluster"),
    [(1, None), (2, None), (3, "unit"), (4, "region"), (5, "region")],
)
def test_did_equals_statsmodels(seed: int, cluster: str | None) -> None:
    frame = _panel(seed)
    assert frame.groupby("unit").size().nunique() > 1  # unbalanced
    result = did(frame, "y", "unit", "year", "treated", "post", cluster=cluster)
    reference = _did_reference(frame, cluster or "unit")
    assert result["estimate"] == pytest.approx(reference.params["D"], abs=TOLERANCE)
    assert result["stderr"] == pytest.approx(reference.bse["D"], abs=TOLERANCE)
    g = frame[cluster or "unit"].nunique()
    assert result["clusters"] == g
    assert result["df"] == g - 1
    # The interval by hand: estimate -/+ t(G - 1, 0.975) x stderr.
    half = stats.t.ppf(0.975, g - 1) * reference.bse["D"]
    assert result["ci_lower"] == pytest.approx(reference.params["D"] - half, abs=TOLERANCE)
    assert result["ci_upper"] == pytest.approx(reference.params["D"] + half, abs=TOLERANCE)
    assert result["pvalue"] == pytest.approx(2 * stats.t.sf(abs(reference.tvalues["D"]), g - 1), abs=TOLERANCE)
    # statsmodels' own t interval (use_t=True: df_resid_inference = G - 1) says the same.
    low, high = reference.conf_int().loc["D"]
    assert (result["ci_lower"], result["ci_upper"]) == pytest.approx((low, high), abs=TOLERANCE)
    assert result["observations"] == len(frame)
    assert result["units"] == frame["unit"].nunique()


def test_did_drops_missing_outcomes_and_other_conf_level() -> None:
    frame = _panel(6, drop=0.0)
    frame.loc[frame.sample(frac=0.1, random_state=1).index, "y"] = np.nan
    result = did(frame, "y", "unit", "year", "treated", "post", conf_level=0.9)
    kept = frame.dropna(subset=["y"])
    reference = _did_reference(kept)
    assert result.observations == len(kept) < len(frame)
    assert result.estimate == pytest.approx(reference.params["D"], abs=TOLERANCE)
    assert result.stderr == pytest.approx(reference.bse["D"], abs=TOLERANCE)
    half = stats.t.ppf(0.95, result.clusters - 1) * result.stderr  # 90 %: the 0.95 quantile
    assert result.ci_upper - result.estimate == pytest.approx(half, abs=TOLERANCE)


def test_did_accepts_zero_one_flags_and_reads_as_a_mapping() -> None:
    frame = _panel(7)
    flags = frame.assign(treated=frame["treated"].astype(int), post=frame["post"].astype(float))
    result = did(flags, "y", "unit", "year", "treated", "post")
    assert result.estimate == pytest.approx(did(frame, "y", "unit", "year", "treated", "post").estimate, abs=1e-12)
    assert {"estimate", "stderr", "ci_lower", "ci_upper", "clusters", "df"} <= set(dict(result))
    assert len(result) == len(dict(result))
    with pytest.raises(KeyError):
        result["nope"]


def _event_reference(frame: pd.DataFrame, years: list[int]):
    regressors = pd.DataFrame(
        {f"y{t}": (frame["treated"] & (frame["year"] == t)).astype(float) for t in years}, index=frame.index
    )
    return _statsmodels_fit(frame, regressors)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_event_study_equals_statsmodels(seed: int) -> None:
    frame = _panel(seed, units=20, treated=8)
    result = event_study(frame, "y", "unit", "year", "treated", reference_year=2017)
    years = [t for t in range(2012, 2022) if t != 2017]
    reference = _event_reference(frame, years)
    table = result.coefficients.set_index("year")
    assert list(result.coefficients.columns) == list(EVENT_STUDY_COLUMNS)
    for t in years:
        assert table.loc[t, "estimate"] == pytest.approx(reference.params[f"y{t}"], abs=TOLERANCE)
        assert table.loc[t, "stderr"] == pytest.approx(reference.bse[f"y{t}"], abs=TOLERANCE)
        low, high = reference.conf_int().loc[f"y{t}"]
        assert (table.loc[t, "ci_lower"], table.loc[t, "ci_upper"]) == pytest.approx((low, high), abs=TOLERANCE)
    assert table.loc[2017, "reference"]
    assert table.loc[2017, "estimate"] == 0.0
    assert math.isnan(table.loc[2017, "stderr"])
    # Pre-trend: Wald F of the five years before 2017 = statsmodels' f_test with the same covariance.
    restriction = np.zeros((5, len(reference.params)))
    for row, t in enumerate(range(2012, 2017)):
        restriction[row, list(reference.params.index).index(f"y{t}")] = 1.0
    f_test = reference.f_test(restriction)
    assert result.pretrend is not None
    assert result.pretrend.years == (2012, 2013, 2014, 2015, 2016)
    assert result.pretrend.statistic == pytest.approx(float(np.squeeze(f_test.fvalue)), rel=1e-9)
    assert (result.pretrend.df_num, result.pretrend.df_denom) == (5, result.clusters - 1) == (5, f_test.df_denom)
    assert result.pretrend.pvalue == pytest.approx(float(f_test.pvalue), abs=TOLERANCE)


def test_event_study_pretrend_needs_enough_clusters() -> None:
    """Five pre-period coefficients with 4 clusters: their covariance has rank <= 3, no joint test."""
    frame = _panel(14, units=4, treated=2, drop=0.0)
    result = event_study(frame, "y", "unit", "year", "treated")
    assert result.pretrend is None
    assert result.warning is not None


# --------------------------------------------------------------------------------------------------
# Credibility guard and input errors
# --------------------------------------------------------------------------------------------------


def test_one_treated_unit_is_refused() -> None:
    frame = _panel(21, units=12, treated=1)
    message = (
        "cluster-robust inference needs at least 2 treated and 2 comparison clusters, got 1 treated and 11 "
        "comparison: with a single treated territory use synthetic_control() and placebo() (permutation "
        "inference) instead"
    )
    with pytest.raises(UsageError) as caught:
        did(frame, "y", "unit", "year", "treated", "post")
    assert str(caught.value) == message
    with pytest.raises(UsageError, match="single treated territory"):
        event_study(frame, "y", "unit", "year", "treated")


def test_few_clusters_give_a_french_warning_and_the_same_numbers() -> None:
    frame = _panel(22, units=9, treated=3)  # 9 clusters < 10, 3 treated < 5
    result = did(frame, "y", "unit", "year", "treated", "post")
    assert result.warning is not None
    assert result.warning.startswith("Inférence fragile : 9 groupes de territoires, dont 3 traités et 6 de comparaison")
    assert "contrôle synthétique" in result.warning
    reference = _did_reference(frame)
    assert result.estimate == pytest.approx(reference.params["D"], abs=TOLERANCE)
    assert result.stderr == pytest.approx(reference.bse["D"], abs=TOLERANCE)
    enough = did(_panel(23, units=MIN_CLUSTERS, treated=5), "y", "unit", "year", "treated", "post")
    assert enough.warning is None


def test_treated_counted_by_cluster() -> None:
    """Clustering by region: 7 regions, the 6 treated units fall in 6 of them, comparison units in all 7."""
    result = did(_panel(24), "y", "unit", "year", "treated", "post", cluster="region")
    assert (result.clusters, result.treated_clusters, result.control_clusters) == (7, 6, 7)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.rename(columns={"y": "rate"}),
            "column 'y' is not in the frame (columns: unit, year, region, treated",
        ),
        (
            lambda f: f.rename(columns={"treated": "treatd"}),
            "column 'treated' is not in the frame (did you mean 'treatd'?)",
        ),
        (lambda f: f.assign(y=f["y"].astype(str)), "column 'y' must hold numbers"),
        (lambda f: f.assign(y=np.inf), "column 'y' has an infinite value"),
        (lambda f: f.assign(treated=f["year"] > 2015), "column 'treated' changes within unit"),
        (lambda f: f.assign(post=f["unit"] == "U01"), "column 'post' changes within year"),
        (lambda f: f.assign(post="yes"), "column 'post' must be True/False or 1/0, got 'yes'"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "2 rows share a (unit, year) pair, e.g. ('U00', 2012)"),
        (
            lambda f: f.assign(unit=f["unit"].where(f.index != 3)),
            "column 'unit' is missing at 1 row(s), first at row 3",
        ),
        (lambda f: f.assign(post=True), "treated x post is not identified"),
    ],
)
def test_did_input_errors(change, message: str) -> None:
    frame = change(_panel(31, drop=0.0))
    with pytest.raises(UsageError) as caught:
        did(frame, "y", "unit", "year", "treated", "post")
    assert str(caught.value).startswith(message)


def test_other_usage_errors() -> None:
    frame = _panel(32)
    with pytest.raises(UsageError, match="conf_level must be strictly between 0 and 1, got 95"):
        did(frame, "y", "unit", "year", "treated", "post", conf_level=95)
    with pytest.raises(UsageError, match=r"reference_year 2030 is not a year of the data \(2012-2021\)"):
        event_study(frame, "y", "unit", "year", "treated", reference_year=2030)
    with pytest.raises(UsageError, match="frame must be a pandas DataFrame, got dict"):
        did({}, "y", "unit", "year", "treated", "post")


# --------------------------------------------------------------------------------------------------
# Synthetic control against an independent solver
# --------------------------------------------------------------------------------------------------


def _duality_gap(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    """Frank-Wolfe gap ``g.w - min_j g_j`` >= f(w) - f*, for f(w) = ||b - A w||^2 on the simplex."""
    gradient = 2 * a.T @ (a @ w - b)
    return float(gradient @ w - gradient.min())


def _simplex_reference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Exhaustive search over supports: the exact minimum of ||b - A w||^2 on the simplex.

    Some optimal ``w`` has affinely independent columns in its support (Carathéodory: at most
    ``T0 + 1`` of them), and on that support it is the unique solution of least squares under
    ``sum w = 1`` alone (KKT system below, no sign constraint). So the minimum, over supports of
    size <= ``T0 + 1``, of the objectives of those solutions that are >= 0 is the optimum; each
    candidate is feasible, so none is below it.
    """
    t0, count = a.shape
    best, best_w = math.inf, None
    for size in range(1, min(count, t0 + 1) + 1):
        for support in itertools.combinations(range(count), size):
            sub = a[:, support]
            kkt = np.block([[2 * sub.T @ sub, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            rhs = np.concatenate([2 * sub.T @ b, [1.0]])
            v = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if v.min() < -1e-12 or abs(v.sum() - 1) > 1e-9:
                continue
            value = float(np.sum((b - sub @ v) ** 2))
            if value < best:
                best, best_w = value, np.zeros(count)
                best_w[list(support)] = v
    assert best_w is not None
    return best_w, best


def _long(values: dict[str, list[float]], years: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"unit": u, "year": t, "y": v} for u, series in values.items() for t, v in zip(years, series, strict=True)]
    )


@pytest.mark.parametrize(("seed", "donors", "pre"), [(41, 8, 6), (42, 5, 6), (43, 12, 6), (44, 15, 4), (45, 3, 4)])
def test_synthetic_control_reaches_the_independent_optimum(seed: int, donors: int, pre: int) -> None:
    rng = np.random.default_rng(seed)
    years = list(range(2010, 2010 + pre + 3))
    pool = {
        f"D{j:02d}": list(40 + rng.normal(0, 4) + np.cumsum(rng.normal(0.3, 0.6, len(years)))) for j in range(donors)
    }
    treated = list(43 + np.cumsum(rng.normal(0.5, 0.6, len(years))))
    frame = _long({"T": treated, **pool}, years)
    result = synthetic_control(frame, "y", "unit", "year", "T", years[:pre], years[pre:])
    weights = result.weights.to_numpy()
    assert (weights >= 0).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    a = np.array([pool[d][:pre] for d in result.weights.index]).T
    b = np.array(treated[:pre])
    reference, optimum = _simplex_reference(a, b)
    assert optimum == pytest.approx(float(np.sum((b - a @ reference) ** 2)), abs=1e-12)
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert result.objective >= optimum - 1e-9  # nobody beats the optimum
    assert _duality_gap(a, b, weights) < 1e-6  # a certificate that needs no other solver
    assert result.objective == pytest.approx(float(np.sum((b - a @ weights) ** 2)), abs=1e-12)
    assert result.pre_rmspe == pytest.approx(math.sqrt(result.objective / pre), abs=1e-12)
    assert list(result.path.columns) == list(SYNTHETIC_PATH_COLUMNS)
    post = result.path[result.path["period"] == "post"]
    expected_gap = np.array(treated[pre:]) - np.array([pool[d][pre:] for d in result.weights.index]).T @ weights
    assert post["gap"].to_numpy() == pytest.approx(expected_gap, abs=1e-12)
    assert result.post_rmspe == pytest.approx(math.sqrt(np.mean(expected_gap**2)), abs=1e-12)


def test_synthetic_control_recovers_exact_weights() -> None:
    """The treated unit is 0.3 x A + 0.7 x B in the pre years (3 generic donors, 5 years: unique weights)."""
    years = [2013, 2014, 2015, 2016, 2017, 2018]
    a, b, c = [40, 41, 43, 42, 44, 45], [50, 49, 52, 53, 53, 54], [30, 35, 31, 36, 32, 37]
    treated = [0.3 * x + 0.7 * y for x, y in zip(a, b, strict=True)]
    treated[-1] += 2.0  # an effect of 2 in 2018
    frame = _long({"T": treated, "A": a, "B": b, "C": c}, years)
    result = synthetic_control(frame, "y", "unit", "year", "T", years[:5], years[5:])
    assert result.weights.to_dict() == pytest.approx({"A": 0.3, "B": 0.7, "C": 0.0}, abs=1e-6)
    assert result.exact_fit
    assert result.warning is not None and result.warning.startswith("Le territoire synthétique reproduit exactement T")
    assert result.rmspe_ratio == math.inf
    assert result.path["gap"].iloc[-1] == pytest.approx(2.0, abs=1e-5)


# --------------------------------------------------------------------------------------------------
# Placebo inference by hand
# --------------------------------------------------------------------------------------------------


def _four_units(treated_post: list[float]) -> pd.DataFrame:
    """Pre years 2016-2017 (a point in the plane), post years 2018-2019.

    Pre: A (treated) (3, 3); B (0, 0); C (4, 0); D (0, 4). Post: B (0, 0); C (4, 4); D (4, 4).
    """
    values = {"A": [3, 3, *treated_post], "B": [0, 0, 0, 0], "C": [4, 0, 4, 4], "D": [0, 4, 4, 4]}
    return _long(values, [2016, 2017, 2018, 2019])


def test_placebo_by_hand() -> None:
    """Every fit is the nearest point of the donors' hull to the unit's pre point, by hand:

    * A on {B, C, D}: nearest point of the triangle to (3, 3) is (2, 2), midpoint of CD:
      w = (0, 1/2, 1/2), pre gaps (1, 1), pre RMSPE 1; post synthetic (4, 4), A post (4, 8):
      gaps (0, 4), post RMSPE sqrt(16 / 2) = 2 sqrt 2, ratio 2 sqrt 2 = 2.828;
    * B on {C, D}: (2, 2) again, pre gaps (-2, -2), RMSPE 2; post gaps (-4, -4), RMSPE 4; ratio 2;
    * C on {B, D}: nearest point of segment BD to (4, 0) is B: pre gaps (4, 0), RMSPE sqrt 8;
      post (4, 4) - (0, 0), RMSPE 4; ratio sqrt 2 = 1.414;
    * D on {B, C}: symmetric to C, ratio sqrt 2.

    Ranks (number of ratios >= one's own): A 1, B 2, C 4, D 4 (tied); p = 1 / 4.
    """
    result = placebo(_four_units([4, 8]), "y", "unit", "year", "A", [2016, 2017], [2018, 2019])
    table = result.table.set_index("unit")
    assert list(result.table.columns) == list(PLACEBO_COLUMNS)
    assert table["rmspe_ratio"].to_dict() == pytest.approx(
        {"A": 2 * math.sqrt(2), "B": 2.0, "C": math.sqrt(2), "D": math.sqrt(2)}, abs=1e-6
    )
    assert table["pre_rmspe"].to_dict() == pytest.approx(
        {"A": 1.0, "B": 2.0, "C": math.sqrt(8), "D": math.sqrt(8)}, abs=1e-6
    )
    assert table["rank"].to_dict() == {"A": 1, "B": 2, "C": 4, "D": 4}
    assert (result.rank, result.units, result.p_value) == (1, 4, 0.25)
    assert result.fits["A"].weights.to_dict() == pytest.approx({"B": 0.0, "C": 0.5, "D": 0.5}, abs=1e-6)
    assert result.fits["C"].weights.to_dict() == pytest.approx({"B": 1.0, "D": 0.0}, abs=1e-6)
    assert "A" not in result.fits["B"].weights.index  # the treated unit is never a placebo's donor
    assert result.warning is None


def test_placebo_ties_count_against_the_treated_unit() -> None:
    """A post (4, 6): gaps (0, 2), post RMSPE sqrt 2, ratio sqrt 2, tied with C and D; B (2) is larger.

    A's rank = #{ratios >= sqrt 2} = 4 (A, B, C, D): p = 4 / 4 = 1.
    """
    result = placebo(_four_units([4, 6]), "y", "unit", "year", "A", [2016, 2017], [2018, 2019])
    assert result.table.set_index("unit")["rank"].to_dict() == {"A": 4, "B": 1, "C": 4, "D": 4}
    assert result.p_value == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"treated_unit": "AA"}, "treated_unit 'AA' is not in column 'unit' (did you mean 'A'?)"),
        ({"donors": ["B", "A"]}, "the treated unit 'A' cannot be one of its donors"),
        ({"donors": ["B"]}, "a synthetic control needs at least 2 donors, got 1"),
        ({"donors": ["B", "Z"]}, "donor 'Z' is not in column 'unit'"),
        ({"post_years": [2017, 2018]}, "pre_years and post_years share [2017]"),
        ({"post_years": []}, "post_years is empty"),
        ({"pre_years": [2015, 2016]}, "unit 'A' has no value of 'y' in 2015 (4 missing cell(s))"),
    ],
)
def test_synthetic_control_errors(kwargs: dict, message: str) -> None:
    arguments = {"treated_unit": "A", "pre_years": [2016, 2017], "post_years": [2018, 2019]} | kwargs
    with pytest.raises(UsageError) as caught:
        synthetic_control(_four_units([4, 8]), "y", "unit", "year", **arguments)
    assert str(caught.value).startswith(message)


def test_missing_donor_value_is_named() -> None:
    frame = _four_units([4, 8])
    frame = frame[~((frame["unit"] == "C") & (frame["year"] == 2018))]
    with pytest.raises(UsageError, match="unit 'C' has no value of 'y' in 2018 .*leave that donor out with donors="):
        placebo(frame, "y", "unit", "year", "A", [2016, 2017], [2018, 2019])


# --------------------------------------------------------------------------------------------------
# The demo's built-in effect
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return demo.comparison_panel()


def test_demo_panel_shape_and_determinism(panel: pd.DataFrame) -> None:
    assert list(panel.columns) == list(demo.PANEL_COLUMNS)
    assert sorted(panel["year"].unique()) == list(range(2012, 2022))
    assert set(panel["group"]) == set(demo.GROUPS)
    assert panel.loc[panel["group"] == demo.TREATED_GROUP, "territory"].nunique() == 26
    assert not panel.duplicated(["territory", "year"]).any()
    assert demo.SYNTHETIC is True and "synthétiques" in demo.DEMO_NOTE
    pd.testing.assert_frame_equal(panel, demo.comparison_panel())
    assert not panel.equals(demo.comparison_panel(seed=1))


def test_demo_aggregate_is_the_population_weighted_mean(panel: pd.DataFrame) -> None:
    """QPV_MEL = sum of p_i x_i / sum p_i over the 26 (populations of the real reference list).

    Each member is rounded to 0.1 and the aggregate is rounded from the unrounded members: the two
    sides differ by at most 0.05 + 0.05 = 0.1.
    """
    population = {q.code: q.population for q in load_qpv()}
    members = panel[panel["group"] == demo.TREATED_GROUP].assign(weight=lambda f: f["territory"].map(population))
    weighted = (members["employment_rate_pct"] * members["weight"]).groupby(members["year"]).sum()
    mean = weighted / members.groupby("year")["weight"].sum()
    aggregate = panel[panel["territory"] == demo.TREATED_AGGREGATE].set_index("year")["employment_rate_pct"]
    assert (aggregate - mean).abs().max() <= 0.1 + 1e-9


def test_built_in_effect_values() -> None:
    # 1.5 points in 2021 reached linearly from 2018: 1.5 x (t - 2017) / 4.
    assert [demo.built_in_effect("employment_rate_pct", t) for t in (2017, 2018, 2019, 2020, 2021)] == [
        0.0,
        0.375,
        0.75,
        1.125,
        1.5,
    ]
    assert demo.average_post_effect("employment_rate_pct") == pytest.approx((0.375 + 0.75 + 1.125 + 1.5) / 4)
    with pytest.raises(UsageError, match="unknown indicator 'taux'"):
        demo.built_in_effect("taux", 2018)


@pytest.mark.parametrize("indicator", list(demo.INDICATORS))
def test_demo_effect_within_the_did_interval(panel: pd.DataFrame, indicator: str) -> None:
    frame = panel[panel["group"].isin([demo.TREATED_GROUP, *demo.DONOR_GROUPS])].assign(
        treated=lambda f: f["group"] == demo.TREATED_GROUP, post=lambda f: f["year"] >= 2018
    )
    result = did(frame, indicator, "territory", "year", "treated", "post")
    assert result.warning is None
    assert result.ci_lower <= demo.average_post_effect(indicator) <= result.ci_upper
    if demo.EFFECT_2021[indicator] != 0:
        assert result.ci_lower > 0 or result.ci_upper < 0  # a real effect is detected
    study = event_study(frame, indicator, "territory", "year", "treated")
    row_2021 = study.coefficients.set_index("year").loc[2021]
    assert row_2021["ci_lower"] <= demo.built_in_effect(indicator, 2021) <= row_2021["ci_upper"]
    assert study.pretrend is not None and study.pretrend.pvalue > 0.05  # parallel by construction


@pytest.mark.parametrize("indicator", list(demo.INDICATORS))
def test_demo_effect_recovered_by_the_synthetic_gap(panel: pd.DataFrame, indicator: str) -> None:
    """Mean post gap vs the mean built-in effect, within 3 sd of its noise plus the pre-period misfit.

    Noise of one year's gap: the treated aggregate's (below the aggregate sd ``s`` of the spec, as the
    mean of 26 members) plus the synthetic's (a weighted mean of donors of sd ``s``): at most
    ``sqrt(2) s``; over the 4 post years at most ``sqrt(2) s / 2``.
    """
    donors = sorted(panel.loc[panel["group"].isin(demo.DONOR_GROUPS), "territory"].unique())
    result = synthetic_control(
        panel, indicator, "territory", "year", demo.TREATED_AGGREGATE, range(2012, 2018), range(2018, 2022), donors
    )
    post = result.path[result.path["period"] == "post"]
    effect = np.mean([demo.built_in_effect(indicator, t) for t in post["year"]])
    noise = demo._SPECS[indicator].noise
    # The treated aggregate's noise sd: noise x sqrt(sum s_i^2 k_i^2), shares s_i, member factors k_i.
    population = np.array([q.population for q in load_qpv()], dtype=float)
    shares, factors = population / population.sum(), 2 + 30 / np.sqrt(0.63 * population)
    assert math.sqrt(np.sum(shares**2 * factors**2)) < 1  # 0.88: below the spec's sd, as stated
    tolerance = 3 * math.sqrt(2) * noise / 2 + result.pre_rmspe
    assert abs(post["gap"].mean() - effect) <= tolerance


# --------------------------------------------------------------------------------------------------
# Cautions
# --------------------------------------------------------------------------------------------------


def test_census_vintages() -> None:
    # INSEE: vintage N pools the surveys N-2..N+2 and is published in N+3.
    assert census_survey_years(2017) == (2015, 2016, 2017, 2018, 2019)
    assert census_publication_year(2020) == 2023
    text = next(c.text for c in CAUTIONS if c.code == "census_vintages")
    assert "millésime 2017" in text and "enquêtes 2015 à 2019" in text
    assert "millésime 2020 (enquêtes 2018 à 2022), paraît en 2023" in text
    assert "publiés de 2023 à 2025" in text


def test_cautions_by_method() -> None:
    codes = {c.code for c in CAUTIONS}
    assert {"census_vintages", "yearly_sources_first", "perimeter_2024", "composition"} <= codes
    assert "synthetic_fit" not in {c.code for c in cautions("did")}
    assert "parallel_trends" not in {c.code for c in cautions("synthetic")}
    assert cautions() == CAUTIONS
    with pytest.raises(UsageError, match="unknown method 'rdd'"):
        cautions("rdd")
