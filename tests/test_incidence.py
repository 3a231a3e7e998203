"""Aalen-Johansen cumulative incidence against independent implementations and hand computations.

Sources of the expected numbers, test by test:

* lifelines 0.30 ``AalenJohansenFitter(calculate_variance=True)`` (same estimator, same delta-method
  variance, same log(-log) interval; its ``..._upper_...`` column holds the *lower* bound and vice
  versa), on data **without ties** (lifelines jitters tied times of different kinds at random) and
  with entry times that equal no event time (lifelines counts ``entry <= t`` at risk, R and we
  ``entry < t``), tolerance 1e-9. Lifelines gives NaN where ``F = 0`` and where the risk set
  empties (``d_i = n_i``): those rows are compared with the brute force instead;
* :func:`_brute_force`: the definitions in plain Python loops over the sorted distinct times, the
  risk set recomputed person by person, in exact rational arithmetic (``fractions.Fraction``), the
  variance term by term without expansion, the interval in its textbook form
  ``exp(-exp(log(-log F) +/- z se))`` with ``z`` from :class:`statistics.NormalDist`; used for ties,
  left truncation with entries equal to event times, the edge cases, tolerance 1e-9;
* :func:`evaluation.stats.cohorts.kaplan_meier`: without competing events ``F1 = 1 - S``, tolerance 1e-12;
* one million rows: :func:`_vectorised_reference`, a second vectorised formulation (pandas
  ``groupby`` event table, risk sets from ``searchsorted`` on sorted durations and entries, ``S``
  from a sum of ``log1p``, the variance evaluated *directly* term by term at 200 checkpoints), and
  lifelines' estimate (``calculate_variance=False``: its variance loop takes ~1 minute on 1M rows);
* the cohort issue's example, computed by hand in the test's docstring.
"""

from __future__ import annotations

import math
import statistics
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter

from evaluation.errors import UsageError
from evaluation.stats.cohorts import kaplan_meier
from evaluation.stats.incidence import (
    INCIDENCE_COLUMNS,
    INCIDENCE_CURVE_COLUMNS,
    cumulative_incidence,
    cumulative_incidence_curve,
)

TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------------
# Independent implementations
# --------------------------------------------------------------------------------------------------


def _textbook_interval(f: float, variance: float, z: float) -> tuple[float, float]:
    if f == 0:
        return 0.0, 0.0
    if f == 1:
        return math.nan, math.nan
    se = math.sqrt(variance) / (f * abs(math.log(f)))
    centre = math.log(-math.log(f))
    return math.exp(-math.exp(centre + z * se)), math.exp(-math.exp(centre - z * se))


def _brute_force(durations, events, entry=None, conf_level=0.95) -> pd.DataFrame:
    """The definitions, loop by loop, in exact arithmetic (see the module docstring)."""
    z = statistics.NormalDist().inv_cdf(1 - (1 - conf_level) / 2)
    starts = entry if entry is not None else [-math.inf] * len(durations)
    people = list(zip(durations, events, starts, strict=True))
    rows = []
    survival = Fraction(1)
    estimate = Fraction(0)
    history = []  # (F_i, n_i, d_i, d1_i, S(t_i-)) of the times so far
    for time in sorted({t for t, _, _ in people}):
        n = sum(1 for t, _, start in people if start < time <= t)
        d1 = sum(1 for t, e, _ in people if t == time and e == 1)
        d2 = sum(1 for t, e, _ in people if t == time and e >= 2)
        censored = sum(1 for t, e, _ in people if t == time and e == 0)
        lagged = survival
        estimate += lagged * Fraction(d1, n)
        survival *= 1 - Fraction(d1 + d2, n)
        history.append((estimate, n, d1 + d2, d1, lagged))
        variance = Fraction(0)
        for f_i, n_i, d_i, d1_i, lagged_i in history:
            gap = estimate - f_i
            if gap != 0:  # when d_i = n_i, F stays equal to F_i: the infinite factor is never used
                variance += gap * gap * Fraction(d_i, n_i * (n_i - d_i))
                variance -= 2 * gap * lagged_i * Fraction(d1_i, n_i * n_i)
            variance += lagged_i * lagged_i * Fraction(d1_i * (n_i - d1_i), n_i**3)
        lower, upper = _textbook_interval(float(estimate), float(variance), z)
        rows.append((float(time), n, d1, d2, censored, float(estimate), lower, upper))
    return pd.DataFrame(rows, columns=list(INCIDENCE_CURVE_COLUMNS))


def _vectorised_reference(t, codes, entry, conf_level, checkpoints):
    """A second vectorised formulation; the interval only at the rows ``checkpoints`` (direct sums)."""
    z = statistics.NormalDist().inv_cdf(1 - (1 - conf_level) / 2)
    frame = pd.DataFrame({"t": t, "one": codes == 1, "other": codes >= 2, "none": codes == 0})
    table = frame.groupby("t").agg(d1=("one", "sum"), d2=("other", "sum"), censored=("none", "sum"))
    times = table.index.to_numpy()
    # entry < t_i <= duration: #(entry < t_i) - #(duration < t_i), as entry < duration for everyone.
    at_risk = np.searchsorted(np.sort(entry), times, side="left") - np.searchsorted(np.sort(t), times, side="left")
    n = at_risk.astype(float)
    d1 = table["d1"].to_numpy(dtype=float)
    d = d1 + table["d2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        survival = np.exp(np.cumsum(np.log1p(-d / n)))
    lagged = np.r_[1.0, survival[:-1]]
    f = np.cumsum(lagged * d1 / n)
    lower, upper = [], []
    for j in checkpoints:
        gap = f[j] - f[: j + 1]
        nn, dd, ee, ss = n[: j + 1], d[: j + 1], d1[: j + 1], lagged[: j + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            first = np.where(gap != 0, gap * gap * dd / (nn * (nn - dd)), 0.0)
        variance = first.sum() + (ss * ss * ee * (nn - ee) / nn**3).sum() - 2 * (gap * ss * ee / nn**2).sum()
        low, high = _textbook_interval(float(f[j]), max(float(variance), 0.0), z)
        lower.append(low)
        upper.append(high)
    counts = pd.DataFrame(
        {"time": times, "at_risk": at_risk, "events": table["d1"].to_numpy(), "competing": table["d2"].to_numpy()}
    )
    counts["censored"] = table["censored"].to_numpy()
    return counts, f, np.array(lower), np.array(upper)


def _lifelines(durations, events, entry=None, conf_level=0.95, variance=True):
    """lifelines' estimate, lower and upper bound (its two interval columns swapped back), by time."""
    assert np.unique(np.asarray(durations)[np.asarray(events) > 0]).size == np.count_nonzero(np.asarray(events) > 0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Tied event times")  # a jitter would change the data
        fitter = AalenJohansenFitter(calculate_variance=variance, alpha=1 - conf_level)
        fitter.fit(durations, events, event_of_interest=1, entry=entry)
    estimate = fitter.cumulative_density_.iloc[:, 0]
    if not variance:
        return estimate, None, None
    interval = fitter.confidence_interval_
    upper_label = next(c for c in interval.columns if "_upper_" in c)
    lower_label = next(c for c in interval.columns if "_lower_" in c)
    return estimate, interval[upper_label], interval[lower_label]


def _assert_frames_close(ours: pd.DataFrame, reference: pd.DataFrame, tolerance: float = TOLERANCE) -> None:
    assert list(ours.columns) == list(INCIDENCE_CURVE_COLUMNS)
    assert len(ours) == len(reference)
    for column in ("at_risk", "events", "competing", "censored"):
        np.testing.assert_array_equal(ours[column].to_numpy(), reference[column].to_numpy(), err_msg=column)
    for column in ("time", "estimate", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(
            ours[column].to_numpy(), reference[column].to_numpy(), rtol=0, atol=tolerance, err_msg=column
        )


def _tied_sample(seed: int, size: int = 150, kinds=(0, 1, 2, 3, 5)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-month durations (many ties of every kind), a quarter of late entries at whole months."""
    rng = np.random.default_rng(seed)
    durations = rng.integers(1, 25, size).astype(float)
    events = rng.choice(np.asarray(kinds), size)
    entry = np.where(rng.random(size) < 0.25, np.floor(durations * rng.uniform(0, 1, size)), 0.0)
    entry = np.minimum(entry, durations - 1)
    return durations, events, entry


# --------------------------------------------------------------------------------------------------
# Hand computation
# --------------------------------------------------------------------------------------------------


def test_issue_example_by_hand():
    """The issue's cohort: 30 trainings at month 2, 40 CDI at month 3, 30 censored at month 24.

    By hand (code 2 = training, 1 = CDI)::

        t = 2:  n = 100, d1 = 0,  d2 = 30   S(2-) = 1,    S(2) = 0.70, F1(2) = 1 * 0 / 100 = 0
        t = 3:  n = 70,  d1 = 40, d2 = 0    S(3-) = 0.70, S(3) = 0.30, F1(3) = 0 + 0.70 * 40 / 70 = 0.40
        t = 24: n = 30,  censored 30        F1(24) = 0.40

    So F1(12) = 0.40, while 1 - KM with the trainings censored is 1 - (1 - 40 / 70) = 4 / 7 = 0.571.
    Variance at t = 3 (F = 0.4; the first term of t = 3 and the third of both times are 0)::

        (0.4 - 0)^2 * 30 / (100 * 70) + 0.7^2 * 40 * 30 / 70^3 - 0 = 0.48 / 700 + 588 / 343000 = 0.0024

    (= 0.4 * 0.6 / 100, the binomial variance: nobody is censored before t = 3). Interval:
    se = sqrt(0.0024) / (0.4 * |log 0.4|), [0.4 ** exp(z se), 0.4 ** exp(-z se)].
    At risk just after 12 months: the 30 followed to 24; just after 24: nobody.
    """
    durations = [2.0] * 30 + [3.0] * 40 + [24.0] * 30
    events = [2] * 30 + [1] * 40 + [0] * 30
    table = cumulative_incidence(durations, events, horizons=(1, 12, 24))
    assert list(table.columns) == list(INCIDENCE_COLUMNS)
    np.testing.assert_allclose(table["estimate"], [0.0, 0.4, 0.4], rtol=0, atol=1e-15)
    z = statistics.NormalDist().inv_cdf(0.975)
    se = math.sqrt(0.0024) / (0.4 * abs(math.log(0.4)))
    np.testing.assert_allclose(table["ci_lower"], [0.0, 0.4 ** math.exp(z * se), 0.4 ** math.exp(z * se)], atol=1e-12)
    np.testing.assert_allclose(table["ci_upper"], [0.0, 0.4 ** math.exp(-z * se), 0.4 ** math.exp(-z * se)], atol=1e-12)
    assert table["at_risk"].tolist() == [100, 30, 0]
    assert table["horizon_months"].tolist() == [1.0, 12.0, 24.0]
    # The biased alternative the estimator replaces: 1 - KM with training as a censoring.
    km = kaplan_meier(durations, [e == 1 for e in events])
    assert 1 - km.loc[km["time"] == 3.0, "survival"].item() == pytest.approx(40 / 70, abs=1e-15)
    curve = cumulative_incidence_curve(durations, events)
    assert curve[["time", "at_risk", "events", "competing", "censored"]].values.tolist() == [
        [2.0, 100, 0, 30, 0],
        [3.0, 70, 40, 0, 0],
        [24.0, 30, 0, 0, 30],
    ]


# --------------------------------------------------------------------------------------------------
# Against lifelines (no ties)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("conf_level", [0.95, 0.9])
@pytest.mark.parametrize("with_entry", [False, True])
def test_matches_lifelines_without_ties(conf_level, with_entry):
    """lifelines ``AalenJohansenFitter(calculate_variance=True).fit(T, E, event_of_interest=1, entry=...)``."""
    rng = np.random.default_rng(11)
    size = 400
    durations = rng.exponential(12.0, size)
    events = rng.choice([0, 1, 2, 3, 5], size, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    entry = None
    if with_entry:  # continuous draws: no entry equals an event time
        entry = np.where(rng.random(size) < 0.3, durations * rng.uniform(0, 0.9, size), 0.0)
    assert np.unique(durations).size == size
    ours = cumulative_incidence_curve(durations, events, entry=entry, conf_level=conf_level)
    estimate, lower, upper = _lifelines(durations, events, entry, conf_level)
    times = ours["time"].to_numpy()
    np.testing.assert_allclose(ours["estimate"], estimate.reindex(times), rtol=0, atol=TOLERANCE)
    ll_lower = lower.reindex(times).to_numpy()
    ll_upper = upper.reindex(times).to_numpy()
    finite = np.isfinite(ll_lower)
    # lifelines' NaN: where F = 0 (we give [0, 0]) and from the time the risk set empties.
    f = ours["estimate"].to_numpy()
    emptied = np.cumsum(ours["at_risk"] == ours["events"] + ours["competing"]) > 0
    np.testing.assert_array_equal(~finite, (f == 0) | emptied)
    assert finite.sum() > 0.8 * size
    np.testing.assert_allclose(ours["ci_lower"].to_numpy()[finite], ll_lower[finite], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(ours["ci_upper"].to_numpy()[finite], ll_upper[finite], rtol=0, atol=TOLERANCE)
    assert (ours["ci_lower"].to_numpy()[f == 0] == 0).all() and (ours["ci_upper"].to_numpy()[f == 0] == 0).all()
    assert ours.attrs["conf_level"] == conf_level


# --------------------------------------------------------------------------------------------------
# Against the brute force (ties, left truncation, edge cases)
# --------------------------------------------------------------------------------------------------


def test_brute_force_reference_agrees_with_lifelines():
    """The brute force itself, checked once against lifelines on untied data with late entries."""
    rng = np.random.default_rng(5)
    durations = rng.exponential(10.0, 120)
    events = rng.choice([0, 1, 2], 120)
    entry = np.where(rng.random(120) < 0.3, durations * rng.uniform(0, 0.9, 120), 0.0)
    reference = _brute_force(durations.tolist(), events.tolist(), entry.tolist())
    estimate, lower, _ = _lifelines(durations, events, entry)
    times = reference["time"].to_numpy()
    np.testing.assert_allclose(reference["estimate"], estimate.reindex(times), atol=TOLERANCE)
    finite = np.isfinite(lower.reindex(times).to_numpy())
    np.testing.assert_allclose(reference["ci_lower"][finite], lower.reindex(times)[finite], atol=TOLERANCE)


@pytest.mark.parametrize("conf_level", [0.95, 0.9])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ties_and_left_truncation_match_brute_force(seed, conf_level):
    """Events of several causes and censorings at the same whole months; entries equal to event times."""
    durations, events, entry = _tied_sample(seed)
    assert np.isin(entry[entry > 0], durations[events > 0]).any()  # R's convention matters here
    ours = cumulative_incidence_curve(durations, events, entry=entry, conf_level=conf_level)
    _assert_frames_close(ours, _brute_force(durations.tolist(), events.tolist(), entry.tolist(), conf_level))
    no_entry = cumulative_incidence_curve(durations, events, conf_level=conf_level)
    _assert_frames_close(no_entry, _brute_force(durations.tolist(), events.tolist(), None, conf_level))


@pytest.mark.parametrize("kinds", [(0, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3, 5), (1, 7)])
def test_competing_kinds_are_pooled(kinds):
    """Codes 2, 3, 5, 7 all count as competing: same table as with every competing code set to 2."""
    durations, events, entry = _tied_sample(8, kinds=kinds)
    ours = cumulative_incidence_curve(durations, events, entry=entry)
    pooled = cumulative_incidence_curve(durations, np.minimum(events, 2), entry=entry)
    pd.testing.assert_frame_equal(ours, pooled)
    _assert_frames_close(ours, _brute_force(durations.tolist(), events.tolist(), entry.tolist()))


def test_without_competing_events_equals_one_minus_kaplan_meier():
    """No code >= 2: F1 = 1 - S of ``kaplan_meier`` (same counts), ties and late entries included."""
    durations, events, entry = _tied_sample(4, kinds=(0, 1))
    ours = cumulative_incidence_curve(durations, events, entry=entry)
    km = kaplan_meier(durations, events, entry=entry)
    np.testing.assert_array_equal(ours["time"], km["time"])
    for column in ("at_risk", "events", "censored"):
        np.testing.assert_array_equal(ours[column], km[column])
    assert (ours["competing"] == 0).all()
    np.testing.assert_allclose(ours["estimate"], 1 - km["survival"], rtol=0, atol=1e-12)


def test_all_censored():
    """Nobody has the outcome: estimate 0 everywhere, variance 0, interval [0, 0] (lifelines: NaN)."""
    durations = [1.0, 2.0, 2.0, 5.0, 7.0]
    for events in ([0, 0, 0, 0, 0], [0, 2, 0, 3, 0]):
        curve = cumulative_incidence_curve(durations, events)
        assert (curve["estimate"] == 0).all()
        assert (curve["ci_lower"] == 0).all() and (curve["ci_upper"] == 0).all()
        table = cumulative_incidence(durations, events, horizons=(0, 3, 10))
        assert table["estimate"].tolist() == [0.0, 0.0, 0.0]
        assert table["ci_lower"].tolist() == [0.0, 0.0, 0.0]
        assert table["ci_upper"].tolist() == [0.0, 0.0, 0.0]
        assert table["at_risk"].tolist() == [5, 2, 0]


def test_single_person():
    """One person: outcome at 4 -> F = 1 from 4, interval NaN (as kaplan_meier at S = 0); else 0, [0, 0]."""
    curve = cumulative_incidence_curve([4.0], [1])
    assert curve[["time", "at_risk", "events", "competing", "censored", "estimate"]].values.tolist() == [
        [4.0, 1, 1, 0, 0, 1.0]
    ]
    assert curve[["ci_lower", "ci_upper"]].isna().all().all()
    table = cumulative_incidence([4.0], [1], horizons=(3, 4, 5))
    assert table["estimate"].tolist() == [0.0, 1.0, 1.0]
    assert table["at_risk"].tolist() == [1, 0, 0]
    for code in (0, 2):
        curve = cumulative_incidence_curve([4.0], [code])
        assert curve[["estimate", "ci_lower", "ci_upper"]].values.tolist() == [[0.0, 0.0, 0.0]]


def test_empty_input():
    curve = cumulative_incidence_curve([], [])
    assert list(curve.columns) == list(INCIDENCE_CURVE_COLUMNS) and len(curve) == 0
    assert curve["at_risk"].dtype == np.int64 and curve["estimate"].dtype == float
    assert curve.attrs["conf_level"] == 0.95
    table = cumulative_incidence([], [], entry=[], horizons=(6, 12))
    assert list(table.columns) == list(INCIDENCE_COLUMNS)
    assert table["horizon_months"].tolist() == [6.0, 12.0]
    assert table["at_risk"].tolist() == [0, 0]
    assert table[["estimate", "ci_lower", "ci_upper"]].isna().all().all()


def test_last_people_at_risk_all_have_an_event():
    """The risk set empties at the last time (d = n) with both kinds: the variance stays finite.

    Brute force: the term (F - F_i)^2 d_i / (n_i (n_i - d_i)) of that time is never used, F staying
    equal to F_i; lifelines returns NaN there (its expanded sum gives inf - inf).
    """
    durations = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0]
    events = [2, 1, 0, 1, 1, 2, 1]
    curve = cumulative_incidence_curve(durations, events)
    _assert_frames_close(curve, _brute_force(durations, events))
    last = curve.iloc[-1]
    assert (last["at_risk"], last["events"], last["competing"]) == (3, 2, 1)
    assert 0 < last["ci_lower"] < last["estimate"] < last["ci_upper"] < 1
    # Only the outcome in the end and no competing event at all: F = 1 exactly, interval NaN.
    durations = [1.0, 2.0, 3.0, 3.0]
    events = [0, 1, 1, 1]
    curve = cumulative_incidence_curve(durations, events)
    assert curve["estimate"].iloc[-1] == 1.0
    assert curve[["ci_lower", "ci_upper"]].iloc[-1].isna().all()
    _assert_frames_close(curve, _brute_force(durations, events))


def test_risk_set_emptied_then_late_entries():
    """With late entries the risk set can empty and refill: F stays flat after S = 0 (brute force)."""
    durations = [1.0, 2.0, 6.0, 7.0, 8.0]
    events = [2, 1, 1, 2, 0]
    entry = [0.0, 0.0, 3.0, 3.0, 4.0]
    curve = cumulative_incidence_curve(durations, events, entry=entry)
    _assert_frames_close(curve, _brute_force(durations, events, entry))
    assert curve["estimate"].tolist() == [0.0, 0.5, 0.5, 0.5, 0.5]


# --------------------------------------------------------------------------------------------------
# Horizons
# --------------------------------------------------------------------------------------------------


def test_horizons_read_the_curve_and_count_those_still_at_risk():
    """Estimate: the curve's row at the last time <= h; at_risk: #(entry <= h < duration), counted by hand."""
    durations, events, entry = _tied_sample(6)
    horizons = (12, 0.5, 6, 24, 30, 6.5)
    table = cumulative_incidence(durations, events, entry=entry, horizons=horizons, conf_level=0.9)
    curve = cumulative_incidence_curve(durations, events, entry=entry, conf_level=0.9)
    assert table["horizon_months"].tolist() == [float(h) for h in horizons]
    for (_, row), h in zip(table.iterrows(), horizons, strict=True):
        before = curve[curve["time"] <= h]
        expected = before.iloc[-1] if len(before) else pd.Series({"estimate": 0.0, "ci_lower": 0.0, "ci_upper": 0.0})
        for column in ("estimate", "ci_lower", "ci_upper"):
            assert row[column] == expected[column]
        assert row["at_risk"] == sum(1 for t, s in zip(durations, entry, strict=True) if s <= h < t)
    assert table.loc[table["horizon_months"] == 0.5, "estimate"].item() == 0.0  # before the first time
    assert table.attrs["conf_level"] == 0.9
    assert table["at_risk"].dtype == np.int64


# --------------------------------------------------------------------------------------------------
# One million rows
# --------------------------------------------------------------------------------------------------


def test_one_million_rows():
    """1,000,000 seeded rows, ~all times distinct, late entries: the second vectorised formulation
    (every row's counts and estimate, the interval at 200 checkpoints) and lifelines' estimate."""
    rng = np.random.default_rng(2021)
    size = 1_000_000
    durations = rng.exponential(12.0, size)
    events = rng.choice([0, 1, 2, 3], size, p=[0.3, 0.4, 0.2, 0.1])
    entry = np.where(rng.random(size) < 0.2, durations * rng.uniform(0, 0.9, size), 0.0)
    ours = cumulative_incidence_curve(durations, events, entry=entry)
    rows = len(ours)
    checkpoints = np.unique(np.r_[np.linspace(0, rows - 1, 190).astype(int), np.arange(rows - 10, rows)])
    counts, estimate, lower, upper = _vectorised_reference(durations, events, entry, 0.95, checkpoints)
    pd.testing.assert_frame_equal(ours[list(counts.columns)], counts, check_dtype=False)
    np.testing.assert_allclose(ours["estimate"], estimate, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(ours["ci_lower"].to_numpy()[checkpoints], lower, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(ours["ci_upper"].to_numpy()[checkpoints], upper, rtol=0, atol=TOLERANCE)
    ll_estimate, _, _ = _lifelines(durations, events, entry, variance=False)
    np.testing.assert_allclose(ours["estimate"], ll_estimate.reindex(ours["time"]), rtol=0, atol=TOLERANCE)


# --------------------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [0, 1, -1, 2],
            "events must be integer codes, got -1.0 at position(s) 2 "
            "(0 = censored, 1 = the outcome, 2, 3, ... = a competing event)",
        ),
        (
            [0, 1.5, 2, 0.5],
            "events must be integer codes, got 1.5 at position(s) 1, 3 "
            "(0 = censored, 1 = the outcome, 2, 3, ... = a competing event)",
        ),
        (
            [0, 1, float("nan"), 2],
            "events has 1 missing or infinite value(s) at position(s) 2 (drop those rows or fill them before the estimate)",
        ),
        ([0, 1, 2], "events has 3 values but durations has 4 (one per person)"),
    ],
)
def test_bad_event_codes(events, message):
    for function in (cumulative_incidence_curve, cumulative_incidence):
        with pytest.raises(UsageError) as caught:
            function([1.0, 2.0, 3.0, 4.0], events)
        assert str(caught.value) == message


def test_other_input_errors():
    with pytest.raises(UsageError) as caught:
        cumulative_incidence_curve([1.0, float("nan")], [0, 1])
    assert str(caught.value) == (
        "durations has 1 missing or infinite value(s) at position(s) 1 (drop those rows or fill them before the estimate)"
    )
    with pytest.raises(
        UsageError, match=r"entry must be strictly before the duration: 1 row\(s\) at position\(s\) 1, "
    ):
        cumulative_incidence_curve([1.0, 2.0], [0, 1], entry=[0.0, 2.0])
    with pytest.raises(UsageError, match=r"conf_level must be strictly between 0 and 1, got 95"):
        cumulative_incidence_curve([1.0], [1], conf_level=95)
    with pytest.raises(UsageError) as caught:
        cumulative_incidence([1.0], [1], horizons=(6, -1))
    assert str(caught.value) == "horizons must be non-negative numbers of months, got [6, -1] (e.g. (6, 12, 24))"
    with pytest.raises(UsageError, match="horizons must be non-negative numbers of months, got \\[\\]"):
        cumulative_incidence([1.0], [1], horizons=())
    with pytest.raises(UsageError, match="horizons must be numbers of months, got"):
        cumulative_incidence([1.0], [1], horizons=("six",))
