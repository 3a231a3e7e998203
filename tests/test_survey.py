"""Design-based survey estimates (:mod:`evaluation.stats.survey`) against independent computations.

Sources of the expected numbers, test by test:

* :func:`_reference_domain_ratio`: a separate implementation of the closed-form variance of a
  domain ratio (Cochran 1977, *Sampling Techniques*, 6.11; Wolter 2007, 6.5), written with plain
  Python loops over strata and clusters of dictionaries: cluster totals ``Y_hc`` and ``X_hc`` of
  the domain's weighted answers and weights, residual totals ``e_hc = Y_hc - R X_hc``, then
  ``V = sum_h n_h/(n_h-1) sum_c (e_hc - mean_h e)^2 / X^2`` (the library accumulates scores with
  ``bincount`` on a cluster x domain table instead). Lonely strata: ``(e_h1 - mean of all e)^2``.
  Compared to 1e-9 on random stratified cluster samples with unequal weights, domains missing from
  some clusters, item non-response (a whole cluster without an answer included) and a stratum with
  a single cluster; the interval recomputed from the textbook logit formula with
  ``scipy.stats.t.ppf``;
* hand computations shown in the tests (a tiny design; simple random sampling, where the variance
  is ``p (1 - p) / (n - 1)``; the toy design of a mean whose R ``svymean`` output is printed);
* :func:`_reference_ipf`: raking written as a pandas ``groupby`` loop, compared to 1e-8.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.errors import UsageError
from evaluation.stats.survey import (
    BASELINE_COMPARISON_COLUMNS,
    ESTIMATE_COLUMNS,
    MIN_RESPONDENTS,
    OTHER_DOMAINS,
    WAVE_COMPARISON_COLUMNS,
    compare_to_baseline,
    compare_waves,
    mean,
    merge_small_domains,
    proportion,
    rake,
    suppress_small_domains,
)
from evaluation_demo.survey import survey_waves

TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------------
# Independent implementations
# --------------------------------------------------------------------------------------------------


def _reference_domain_ratio(y, w, strata, psu, domain, target):
    """Estimate, standard error, respondents and degrees of freedom of domain ``target`` (loops only).

    ``target`` None means the whole sample. A respondent counts when he is in the domain and his
    answer is not NaN; every cluster of the sample is in the design.
    """
    clusters_of = defaultdict(set)  # stratum -> clusters of the design
    y_tot = defaultdict(float)  # (stratum, cluster) -> sum of w y over counted respondents
    x_tot = defaultdict(float)  # (stratum, cluster) -> sum of w over counted respondents
    answered = set()
    respondents = 0
    for yi, wi, h, c, d in zip(y, w, strata, psu, domain, strict=True):
        clusters_of[h].add((h, c))
        if (target is not None and d != target) or math.isnan(yi):
            continue
        respondents += 1
        y_tot[(h, c)] += wi * yi
        x_tot[(h, c)] += wi
        answered.add((h, c))
    x_all = sum(x_tot.values())
    ratio = sum(y_tot.values()) / x_all
    residual = {key: y_tot[key] - ratio * x_tot[key] for h in clusters_of for key in clusters_of[h]}
    all_clusters = [key for h in clusters_of for key in clusters_of[h]]
    grand = sum(residual[key] for key in all_clusters) / len(all_clusters)
    variance = 0.0
    for keys in clusters_of.values():
        n_h = len(keys)
        if n_h == 1:
            (key,) = keys
            variance += (residual[key] - grand) ** 2
            continue
        mean_h = sum(residual[k] for k in keys) / n_h
        variance += n_h / (n_h - 1) * sum((residual[k] - mean_h) ** 2 for k in keys)
    df = len(answered) - len({h for h, _ in answered})
    return ratio, math.sqrt(variance) / x_all, respondents, df


def _textbook_logit_interval(p, se, df, conf_level=0.95):
    t = stats.t.ppf(1 - (1 - conf_level) / 2, df)
    centre = math.log(p / (1 - p))
    half = t * se / (p * (1 - p))
    return 1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half)))


def _random_design(seed, binary=True):
    """A stratified cluster sample: 7 strata (the last with one cluster), 2-6 clusters each, 2-12
    respondents per cluster, weights 0.3-5, three domains (C absent from most clusters), 10 % item
    non-response and one cluster where nobody answered."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(7):
        clusters = 1 if h == 6 else int(rng.integers(2, 7))
        for c in range(clusters):
            for _ in range(int(rng.integers(2, 13))):
                domain = rng.choice(["A", "B", "C"], p=[0.45, 0.35, 0.2]) if c % 3 == 0 else rng.choice(["A", "B"])
                value = float(rng.random() < 0.15 + 0.1 * h) if binary else float(rng.normal(3 + h, 2))
                rows.append((f"S{h}", c + 1, float(rng.uniform(0.3, 5)), str(domain), value))
    frame = pd.DataFrame(rows, columns=["stratum", "cluster", "weight", "domain", "y"])
    frame.loc[rng.random(len(frame)) < 0.1, "y"] = np.nan
    frame.loc[(frame["stratum"] == "S0") & (frame["cluster"] == 1), "y"] = np.nan
    return frame


# --------------------------------------------------------------------------------------------------
# proportion and mean against the independent implementation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_proportion_matches_the_closed_form_of_the_domain_ratio(seed):
    frame = _random_design(seed)
    # Clusters are numbered within strata (1, 2, ...): the reference keys them by (stratum, cluster).
    args = (frame["y"], frame["weight"], frame["stratum"], frame["cluster"])
    by_domain = proportion(*args, domain=frame["domain"]).set_index("domain")
    whole = proportion(*args)
    assert list(whole.columns) == list(ESTIMATE_COLUMNS)
    assert whole["domain"].tolist() == [None]
    assert by_domain.index.tolist() == ["A", "B", "C"]
    checks = [(d, by_domain.loc[d]) for d in "ABC"] + [(None, whole.iloc[0])]
    for target, row in checks:
        p, se, n, df = _reference_domain_ratio(
            frame["y"], frame["weight"], frame["stratum"], frame["cluster"], frame["domain"], target
        )
        assert row["estimate"] == pytest.approx(p, abs=TOLERANCE)
        assert row["stderr"] == pytest.approx(se, abs=TOLERANCE)
        assert (row["respondents"], row["degrees_of_freedom"]) == (n, df)
        if df <= 0:  # domain C of seed 5 has one cluster in each of its strata: no t quantile
            assert math.isnan(row["ci_lower"]) and math.isnan(row["ci_upper"])
            continue
        lower, upper = _textbook_logit_interval(p, se, df)
        assert row["ci_lower"] == pytest.approx(lower, abs=TOLERANCE)
        assert row["ci_upper"] == pytest.approx(upper, abs=TOLERANCE)


@pytest.mark.parametrize("seed", [11, 12])
def test_mean_matches_the_closed_form_with_a_t_interval(seed):
    frame = _random_design(seed, binary=False)
    result = mean(frame["y"], frame["weight"], frame["stratum"], frame["cluster"], frame["domain"])
    for row in result.itertuples(index=False):
        m, se, n, df = _reference_domain_ratio(
            frame["y"], frame["weight"], frame["stratum"], frame["cluster"], frame["domain"], row.domain
        )
        assert (row.estimate, row.stderr) == pytest.approx((m, se), abs=TOLERANCE)
        assert (row.respondents, row.degrees_of_freedom) == (n, df)
        if df <= 0:  # domain C of seed 11 has one cluster in each of its strata
            assert math.isnan(row.ci_lower) and math.isnan(row.ci_upper)
            continue
        t = stats.t.ppf(0.975, df)
        assert (row.ci_lower, row.ci_upper) == pytest.approx((m - t * se, m + t * se), abs=TOLERANCE)


def test_domain_is_not_a_subset_of_the_sample():
    """Cutting the sample down to domain C (absent from most clusters) loses the design's clusters
    where C has nobody; the estimate is the same but the standard error is not. The library must
    give the full-design value (the reference), not the subset's."""
    frame = _random_design(3)
    full = proportion(frame["y"], frame["weight"], frame["stratum"], frame["cluster"], frame["domain"])
    row = full.set_index("domain").loc["C"]
    subset = frame[frame["domain"] == "C"]
    cut = proportion(subset["y"], subset["weight"], subset["stratum"], subset["cluster"]).iloc[0]
    assert row["estimate"] == pytest.approx(cut["estimate"], abs=1e-12)
    assert abs(row["stderr"] - cut["stderr"]) > 1e-4


def test_demo_headline_matches_the_closed_form():
    """The demo's bad-image share per wave, overall and per QPV (26 strata, two with one cluster),
    equals the reference to 1e-9: the figures a report would publish are checked this way."""
    for frame in survey_waves().values():
        code = frame["image_quartier"].astype(float)
        bad = (code >= 3).astype(float).where(code.notna() & (code != 9))
        args = (bad, frame["weight"], frame["stratum"], frame["cluster"])
        rows = [(None, proportion(*args).iloc[0])]
        rows += list(proportion(*args, domain=frame["qpv"]).set_index("domain").iterrows())
        assert len(rows) == 27
        for target, row in rows:
            p, se, n, df = _reference_domain_ratio(*args, frame["qpv"], target)
            assert (row["estimate"], row["stderr"]) == pytest.approx((p, se), abs=TOLERANCE)
            assert (row["respondents"], row["degrees_of_freedom"]) == (n, df)


# --------------------------------------------------------------------------------------------------
# Hand computations
# --------------------------------------------------------------------------------------------------


def test_tiny_design_by_hand():
    """Stratum A: cluster A1 = (w 1, y 1), (w 1, y 0); cluster A2 = (w 2, y 1).
    Stratum B (one cluster, lonely): B1 = (w 2, y 0), (w 2, no answer).

    N = 1 + 1 + 2 + 2 = 6 (the non-answer is left out), p = (1 + 2) / 6 = 1/2.
    Scores z = w (y - 1/2) / 6: A1 totals 1/12 - 1/12 = 0; A2 = 2 (1/2) / 6 = 1/6; B1 = -1/6.
    Stratum A: mean 1/12, deviations -1/12 and 1/12, 2/(2-1) x 2/144 = 1/36.
    Stratum B, lonely: grand mean (0 + 1/6 - 1/6) / 3 = 0, (-1/6 - 0)^2 = 1/36.
    V = 1/18, se = sqrt(1/18) = 0.23570226039551584; df = 3 clusters - 2 strata = 1,
    t_{1, 0.975} = tan(0.475 pi) = 12.706204736174705 (Cauchy quantile); logit(1/2) = 0, so the
    interval is expit(-/+ t se / (1/4)).
    """
    result = proportion(
        [1, 0, 1, 0, np.nan], [1, 1, 2, 2, 2], strata=["A", "A", "A", "B", "B"], psu=[1, 1, 2, 1, 1]
    ).iloc[0]
    se = math.sqrt(1 / 18)
    t = math.tan(0.475 * math.pi)
    assert t == pytest.approx(12.706204736174705, abs=1e-12)
    assert result["estimate"] == pytest.approx(0.5, abs=1e-15)
    assert result["stderr"] == pytest.approx(se, abs=1e-15)
    assert (result["respondents"], result["degrees_of_freedom"]) == (4, 1)
    half = t * se / 0.25
    assert result["ci_lower"] == pytest.approx(1 / (1 + math.exp(half)), rel=1e-9)
    assert result["ci_upper"] == pytest.approx(1 / (1 + math.exp(-half)), rel=1e-9)


def test_simple_random_sample_has_the_textbook_variance():
    """Without strata or clusters, n = 40, 10 with y = 1: p = 0.25 and the linearised variance is
    n/(n-1) sum (y - p)^2 / n^2 = p (1 - p) / (n - 1) = 0.1875 / 39; df = 40 - 1 = 39 and
    t_{39, 0.975} = 2.0227 (Student table). Logit interval: logit(0.25) = -ln 3,
    se_logit = se / 0.1875."""
    result = proportion([1] * 10 + [0] * 30, [3.0] * 40).iloc[0]
    se = math.sqrt(0.1875 / 39)
    assert (result["estimate"], result["stderr"]) == pytest.approx((0.25, se), abs=1e-15)
    assert result["degrees_of_freedom"] == 39
    t = stats.t.ppf(0.975, 39)
    assert t == pytest.approx(2.0227, abs=1e-4)
    half = t * se / 0.1875
    expected = (1 / (1 + 3 * math.exp(half)), 1 / (1 + 3 * math.exp(-half)))
    assert (result["ci_lower"], result["ci_upper"]) == pytest.approx(expected, abs=1e-12)
    # Asymmetric around p, as a logit interval is.
    assert result["ci_upper"] - 0.25 > 0.25 - result["ci_lower"]


_TOY = pd.DataFrame(
    {
        "strata": [1, 1, 1, 2, 2, 3, 3, 3, 3],
        "psu": [11, 11, 12, 21, 21, 31, 32, 33, 33],
        "w": [1.0, 2.0, 1.5, 1.0, 0.5, 2.0, 1.0, 1.0, 0.5],
        "y": [3.0, 5, 4, 10, 8, 1, 2, 6, 4],
        "g": ["a", "a", "a", "a", "a", "a", "b", "b", "b"],
    }
)


def test_mean_of_a_toy_design_by_hand():
    """Mean = sum w y / sum w = 45 / 10.5 = 30/7. Scores z = w (y - 30/7) / 10.5, in units of
    1/73.5 they are w (7y - 30): cluster totals 11: -9 + 10 = 1, 12: -3 (stratum 1); 21: 40 + 13
    = 53 (stratum 2, lonely); 31: -46, 32: -16, 33: 12 - 1 = 11 (stratum 3). They sum to 0 (the
    grand mean of the lonely rule). V x 73.5^2 = 2 (2^2 + 2^2) + 53^2 + 3/2 (29^2 + 1^2 + 28^2)
    = 16 + 2809 + 2439 = 5264, se = sqrt(5264) / 73.5 = 0.987121477399568. An independent public
    test suite quotes the same figure as R survey 4.5's
    ``svymean(~y, svydesign(ids=~psu, strata=~strata, weights=~w))`` with
    ``options(survey.lonely.psu = "adjust")`` (not rerun here: no R on this machine), and 1.385640646055102
    for domain b. df = 6 clusters - 3 strata = 3.

    Domain b (rows 7-9): mean (2 + 6 + 2) / 2.5 = 4, cluster totals of w (y - 4) / 2.5:
    31: 0 (no member of b), 32: -0.8, 33: 0.8; stratum 3 keeps its three clusters:
    3/2 (0.64 + 0.64) = 1.92, se = sqrt(1.92) = 1.3856406460551018 (R: 1.385640646055102); df = 2 - 1 = 1.
    """
    whole = mean(_TOY["y"], _TOY["w"], _TOY["strata"], _TOY["psu"]).iloc[0]
    assert whole["estimate"] == pytest.approx(30 / 7, abs=1e-14)
    assert whole["stderr"] == pytest.approx(math.sqrt(5264) / 73.5, abs=1e-14)
    assert whole["stderr"] == pytest.approx(0.987121477399568, abs=1e-14)
    assert whole["degrees_of_freedom"] == 3
    b = mean(_TOY["y"], _TOY["w"], _TOY["strata"], _TOY["psu"], _TOY["g"]).set_index("domain").loc["b"]
    assert (b["estimate"], b["stderr"], b["degrees_of_freedom"]) == pytest.approx((4.0, math.sqrt(1.92), 1), abs=1e-14)
    assert b["stderr"] == pytest.approx(1.385640646055102, abs=1e-14)


def test_a_cluster_without_answers_stays_in_the_design():
    """Both respondents of cluster 11 leave the item blank. Cluster 11 stays in stratum 1 with a
    zero total: stratum 1 contributes 2 x ((0 - Z/2)^2 + (Z - Z/2)^2) = Z^2, where Z is cluster
    12's total. Dropping those rows instead makes stratum 1 lonely, and the lonely rule gives
    (Z - 0)^2: the same Z^2, so both variances agree (and differ from a design that ignored
    stratum 1's lost cluster by dividing by n_h - 1 = 0). The estimate is (45 - 13) / 7.5."""
    blank = _TOY.assign(y=_TOY["y"].where(_TOY["psu"] != 11))
    kept = mean(blank["y"], blank["w"], blank["strata"], blank["psu"]).iloc[0]
    dropped = _TOY[_TOY["psu"] != 11]
    alone = mean(dropped["y"], dropped["w"], dropped["strata"], dropped["psu"]).iloc[0]
    assert kept["estimate"] == pytest.approx(32 / 7.5, abs=1e-14)
    assert kept["respondents"] == 7
    assert kept["stderr"] == pytest.approx(alone["stderr"], rel=1e-12)
    p, se, _, _ = _reference_domain_ratio(blank["y"], blank["w"], blank["strata"], blank["psu"], blank["g"], None)
    assert kept["stderr"] == pytest.approx(se, abs=TOLERANCE)


def test_clusters_are_nested_in_strata():
    """Cluster 1 of stratum A and cluster 1 of stratum B are two clusters: the design has 4
    clusters in 2 strata (df 2), as with labels A1, A2, B1, B2."""
    y = [1, 0, 1, 1, 0, 0, 1, 0]
    w = [1, 2, 1, 2, 1, 2, 1, 2]
    s = ["A"] * 4 + ["B"] * 4
    numbered = proportion(y, w, s, [1, 1, 2, 2, 1, 1, 2, 2]).iloc[0]
    labelled = proportion(y, w, s, ["A1", "A1", "A2", "A2", "B1", "B1", "B2", "B2"]).iloc[0]
    assert numbered["degrees_of_freedom"] == 2
    assert numbered["stderr"] == pytest.approx(labelled["stderr"], abs=1e-15)


def test_estimate_of_zero_has_no_logit_interval():
    with pytest.warns(UserWarning, match=r"estimate 0 or 1 for domain\(s\) \['F'\]"):
        result = proportion([0, 0, 1, 0], [1, 1, 1, 1], domain=["F", "F", "M", "M"])
    row = result.set_index("domain").loc["F"]
    assert row["estimate"] == 0 and row["stderr"] == 0
    assert math.isnan(row["ci_lower"]) and math.isnan(row["ci_upper"])


def test_domain_without_any_answer_and_missing_domains():
    """A domain whose only member did not answer gets NaN and 0 respondents; a respondent without a
    domain label is in no domain."""
    result = proportion([1, 0, np.nan, 1, 0], [1, 1, 1, 1, 1], domain=["F", "F", "M", None, "F"])
    assert result["domain"].tolist() == ["F", "M"]
    assert result["respondents"].tolist() == [3, 0]
    assert result.loc[0, "estimate"] == pytest.approx(1 / 3)
    assert math.isnan(result.loc[1, "estimate"]) and math.isnan(result.loc[1, "stderr"])


# --------------------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"y": [1, 2, 0], "weights": [1, 1, 1]},
            "y must be 0 or 1 (or missing for no answer), got 2.0 at position(s) 1 (recode the answers first, "
            "e.g. 1 for 'mauvaise image' and 0 for the other answers)",
        ),
        (
            {"y": [1, 0, 0], "weights": [1, -2, 0]},
            "weights must be above 0, got -2.0 at position(s) 1, 2 (a respondent who should not count is left out "
            "of the file, not given a weight of 0)",
        ),
        (
            {"y": [1, 0, 0], "weights": [1, np.nan, 1]},
            "weights has 1 missing or infinite value(s) at position(s) 1 (every respondent needs a weight: ask the "
            "institute, or rake the weights with rake())",
        ),
        ({"y": [1, 0, 0], "weights": [1, 1]}, "weights has 2 values but y has 3 (one per respondent)"),
        ({"y": [1, 0], "weights": [1, 1], "psu": [1, 2, 3]}, "psu has 3 values but y has 2 (one per respondent)"),
        (
            {"y": [1, 0], "weights": [1, 1], "strata": ["A", None]},
            "strata has 1 missing value(s) at position(s) 1 (every respondent belongs to a stratum and a cluster "
            "of the design)",
        ),
        ({"y": ["oui", "non"], "weights": [1, 1]}, "y must be numbers (could not convert string to float: 'oui')"),
        ({"y": [], "weights": []}, "y is empty: there is no respondent to estimate from"),
        (
            {"y": [1, 0], "weights": [1, 1], "conf_level": 95},
            "conf_level must be strictly between 0 and 1, got 95 (e.g. 0.95)",
        ),
    ],
)
def test_bad_inputs_are_named(kwargs, message):
    with pytest.raises(UsageError) as caught:
        proportion(**kwargs)
    assert str(caught.value) == message


# --------------------------------------------------------------------------------------------------
# Raking
# --------------------------------------------------------------------------------------------------


def _reference_ipf(frame, margins, start):
    """Raking as a pandas loop: each margin's cells rescaled by groupby sums until nothing moves."""
    weights = pd.Series(start, index=frame.index, dtype=float)
    for _ in range(10_000):
        before = weights.copy()
        for column, counts in margins.items():
            sums = weights.groupby(frame[column]).sum()
            factors = pd.Series(counts) / sums
            weights = weights * frame[column].map(factors)
        if (weights - before).abs().max() < 1e-14 * weights.max():
            return weights
    raise AssertionError("the reference IPF did not converge")


def _respondents(seed, size=300):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], size, p=[0.6, 0.4]),
            "age_band": rng.choice(["18-29", "30-44", "45-59", "60+"], size, p=[0.15, 0.25, 0.3, 0.3]),
            "qpv": rng.choice(["Q1", "Q2", "Q3"], size),
            "design_weight": rng.uniform(1, 3, size),
        }
    )


MARGINS = {
    "sex": {"F": 26_400.0, "M": 23_600.0},
    "age_band": {"18-29": 13_000.0, "30-44": 14_000.0, "45-59": 12_500.0, "60+": 10_500.0},
    "qpv": {"Q1": 20_000.0, "Q2": 18_000.0, "Q3": 12_000.0},
}


@pytest.mark.parametrize("seed", [1, 2])
def test_raking_meets_the_margins_and_agrees_with_a_reference_loop(seed):
    frame = _respondents(seed)
    raked = rake(frame, MARGINS, weight="design_weight")
    assert raked.name == "weight" and raked.index.equals(frame.index)
    for column, counts in MARGINS.items():
        sums = raked.groupby(frame[column]).sum()
        for category, count in counts.items():
            assert sums[category] == pytest.approx(count, rel=1e-8)
    reference = _reference_ipf(frame, MARGINS, frame["design_weight"])
    assert np.max(np.abs(raked / reference - 1)) < 1e-8


def test_raking_on_a_crossed_margin_is_post_stratification():
    """One crossed margin sex x age band: each respondent's weight becomes d_i T_cell / sum_cell d
    (hand formula), met in one cycle."""
    frame = _respondents(3, size=200)
    cells = {(s, a): 1000.0 + 100 * i for i, (s, a) in enumerate((s, a) for s in "FM" for a in MARGINS["age_band"])}
    raked = rake(frame, {("sex", "age_band"): cells}, weight="design_weight")
    cell_sums = frame.groupby(["sex", "age_band"])["design_weight"].transform("sum")
    expected = frame["design_weight"] * [cells[(s, a)] for s, a in zip(frame["sex"], frame["age_band"], strict=True)]
    assert np.allclose(raked, expected / cell_sums, rtol=1e-12, atol=0)


def test_raking_errors():
    frame = _respondents(4, size=50)
    with pytest.raises(UsageError, match=r"margin 'age_band': no respondent in category '75\+'"):
        rake(frame, {"age_band": {**MARGINS["age_band"], "75+": 10.0}})
    with pytest.raises(UsageError, match=r"margin 'sex': category 'M' of \d+ respondent\(s\) has no population count"):
        rake(frame, {"sex": {"F": 100.0}})
    with pytest.raises(
        UsageError, match=r"the margins describe populations of different sizes \('sex': 50,000, 'age_band': 50,001\)"
    ):
        rake(frame, {"sex": MARGINS["sex"], "age_band": {**MARGINS["age_band"], "60+": 10_501.0}})
    with pytest.raises(UsageError, match=r"margin 'sex': 1 respondent\(s\) without a value, at position\(s\) 3"):
        rake(frame.assign(sex=frame["sex"].where(frame.index != 3)), {"sex": MARGINS["sex"]})
    with pytest.raises(UsageError, match="margin 'commune': no column 'commune'"):
        rake(frame, {"commune": {"Lille": 1.0}})


def test_raking_that_cannot_converge_says_why():
    """Women are all 18-29 and men all 60+: the margins F 60 / M 40 and 18-29 30 / 60+ 70 cannot
    both hold (the women's weight is the 18-29's), so the cycles oscillate without converging."""
    frame = pd.DataFrame({"sex": ["F", "F", "M", "M"], "age_band": ["18-29", "18-29", "60+", "60+"]})
    with pytest.raises(UsageError, match=r"raking did not meet the margins after 50 cycles \(largest relative gap"):
        rake(frame, {"sex": {"F": 60.0, "M": 40.0}, "age_band": {"18-29": 30.0, "60+": 70.0}}, max_iter=50)


# --------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------


def _table(domain, estimate, stderr, df, respondents=100):
    return pd.DataFrame(
        {
            "domain": [domain],
            "estimate": [estimate],
            "stderr": [stderr],
            "ci_lower": [np.nan],
            "ci_upper": [np.nan],
            "respondents": [respondents],
            "degrees_of_freedom": [df],
        }
    )


def test_compare_waves_by_hand():
    """p_a 0.50 (se 0.03, df 20), p_b 0.42 (se 0.04, df 30): difference -0.08, se sqrt(0.0009 +
    0.0016) = 0.05, Welch-Satterthwaite df = 0.05^4 / (0.03^4 / 20 + 0.04^4 / 30)
    = 6.25e-6 / (4.05e-8 + 8.5333...e-8) = 49.668874..., t = -1.6."""
    result = compare_waves(_table(None, 0.50, 0.03, 20), _table(None, 0.42, 0.04, 30))
    assert list(result.columns) == list(WAVE_COMPARISON_COLUMNS)
    row = result.iloc[0]
    df = 6.25e-6 / (0.03**4 / 20 + 0.04**4 / 30)
    assert df == pytest.approx(49.668874, abs=1e-6)
    t = stats.t.ppf(0.975, df)
    assert (row["difference"], row["stderr"], row["degrees_of_freedom"]) == pytest.approx((-0.08, 0.05, df), abs=1e-12)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((-0.08 - t * 0.05, -0.08 + t * 0.05), abs=1e-12)
    assert row["statistic"] == pytest.approx(-1.6, abs=1e-12)
    assert row["pvalue"] == pytest.approx(2 * stats.t.sf(1.6, df), abs=1e-12)


def test_compare_waves_matches_domains():
    a = pd.concat([_table("F", 0.5, 0.05, 10), _table("M", 0.4, 0.05, 10)], ignore_index=True)
    b = pd.concat([_table("M", 0.3, 0.05, 10), _table("X", 0.2, 0.05, 10)], ignore_index=True)
    result = compare_waves(a, b)
    assert result["domain"].tolist() == ["M"]
    assert result.loc[0, "difference"] == pytest.approx(-0.1)
    with pytest.raises(UsageError, match="a and b have no domain in common"):
        compare_waves(_table("F", 0.5, 0.05, 10), _table("M", 0.5, 0.05, 10))


def test_compare_to_baseline_by_hand():
    """p = 0.48 (se 0.025, df 40) against the 2015 figure 0.56: difference -0.08;
    se_logit = 0.025 / (0.48 x 0.52) = 0.100160...; statistic = (ln(0.48/0.52) - ln(0.56/0.44)) /
    se_logit = (-0.080043 - 0.241162) / 0.100160 = -3.2069...; the interval is the logit interval
    of p shifted by 0.56, and it excludes 0 exactly when pvalue < 0.05."""
    result = compare_to_baseline(_table(None, 0.48, 0.025, 40), 0.56, year=2015)
    assert list(result.columns) == list(BASELINE_COMPARISON_COLUMNS)
    row = result.iloc[0]
    se_logit = 0.025 / (0.48 * 0.52)
    statistic = (math.log(0.48 / 0.52) - math.log(0.56 / 0.44)) / se_logit
    assert statistic == pytest.approx(-3.2069, abs=1e-4)
    lower, upper = _textbook_logit_interval(0.48, 0.025, 40)
    assert (row["baseline"], row["baseline_year"]) == (0.56, 2015)
    assert row["difference"] == pytest.approx(-0.08, abs=1e-15)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lower - 0.56, upper - 0.56), abs=1e-12)
    assert row["statistic"] == pytest.approx(statistic, abs=1e-12)
    assert row["pvalue"] == pytest.approx(2 * stats.t.sf(abs(statistic), 40), abs=1e-12)
    assert row["ci_upper"] < 0 and row["pvalue"] < 0.05


def test_baseline_interval_and_test_agree_at_the_boundary():
    """Choose se so that the baseline sits just inside the interval: the p-value is just above 0.05."""
    t = stats.t.ppf(0.975, 40)
    se_logit = (math.log(0.56 / 0.44) - math.log(0.5 / 0.5)) / t * 1.001
    result = compare_to_baseline(_table(None, 0.5, se_logit * 0.25, 40), 0.56, year=2015).iloc[0]
    assert result["ci_upper"] > 0
    assert 0.05 < result["pvalue"] < 0.0505


def test_compare_to_baseline_refuses_a_percentage():
    with pytest.raises(
        UsageError, match=r"baseline must be a fraction strictly between 0 and 1, got 56 \(e.g. 0.56 for 56 %\)"
    ):
        compare_to_baseline(_table(None, 0.5, 0.02, 40), 56, year=2015)


# --------------------------------------------------------------------------------------------------
# Small domains
# --------------------------------------------------------------------------------------------------


def test_minimum_respondents_value():
    assert MIN_RESPONDENTS == 30


def test_suppress_small_domains_hides_estimates_and_flags_them():
    table = pd.concat([_table("F", 0.5, 0.05, 10, respondents=29), _table("M", 0.4, 0.05, 10, respondents=30)])
    out = suppress_small_domains(table.reset_index(drop=True))
    assert out["suppressed"].tolist() == [True, False]
    assert out.loc[0, ["estimate", "stderr", "ci_lower", "ci_upper"]].isna().all()
    assert out.loc[0, "respondents"] == 29
    assert out.loc[1, "estimate"] == 0.4
    assert table["estimate"].tolist() == [0.5, 0.4]  # the input is left as it was


def test_merge_small_domains_pools_until_the_minimum():
    """Counts: A 50, B 40, C 12, D 10 (with an answer; D has 5 more without). C and D are small;
    pooled they make 22 < 30, so the smallest other domain, B (40), joins: the pool has 62."""
    labels = ["A"] * 50 + ["B"] * 40 + ["C"] * 12 + ["D"] * 15 + [None]
    y = [1.0] * 50 + [0.0] * 40 + [1.0] * 12 + [0.0] * 10 + [np.nan] * 5 + [1.0]
    merged = merge_small_domains(labels, y)
    assert merged.value_counts().to_dict() == {OTHER_DOMAINS: 67, "A": 50}
    assert merged.iloc[-1] is None
    # Nothing small: unchanged.
    assert merge_small_domains(["A"] * 30 + ["B"] * 30).tolist() == ["A"] * 30 + ["B"] * 30
    # One small domain and a large one: the pool takes the large one too (both go into the pool).
    assert set(merge_small_domains(["A"] * 30 + ["B"] * 5)) == {OTHER_DOMAINS}


def test_merge_then_estimate_leaves_no_small_domain():
    frame = _random_design(7)
    pooled = merge_small_domains(frame["domain"], frame["y"], min_respondents=40)
    result = proportion(frame["y"], frame["weight"], frame["stratum"], frame["cluster"], pooled)
    assert (result["respondents"] >= 40).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not suppress_small_domains(result, 40)["suppressed"].any()
