"""Benchmark of :mod:`evaluation.stats.cohorts` on one million synthetic beneficiaries, against lifelines.

The cohort issue asks for 1 million beneficiaries in under a second for Kaplan-Meier + log-rank +
the rates at 6/12/24 months, with results equal to an independent implementation. The rates are the
cumulative incidence of a job as first event, training competing (Aalen-Johansen,
:mod:`evaluation.stats.incidence`). This script:

1. generates a seeded synthetic cohort (``--rows``, default 1,000,000): 5 programmes, entry dates over
   2018-2020 at the second (so that nearly every duration is distinct: the worst case for the
   estimators; real records in whole days have a few thousand distinct times and run faster), about
   30 % censored, 20 % late entries into observation;
2. times our ``kaplan_meier`` (with late entry), ``logrank`` (5 programmes, with late entry),
   ``cumulative_incidence_curve`` (all rows, event codes 1 = a job, 2 = a training first, 0 =
   censored, late entry) and ``cumulative_incidence`` at 6/12/24 months by programme (a loop over the
   programmes): median of ``--repeat`` runs each, ``time.perf_counter``. The cumulative incidence runs
   on the durations plus a seeded offset below 0.25 second, so that no two times tie: lifelines'
   ``AalenJohansenFitter`` jitters tied times of different kinds at random, which would make the
   comparison meaningless;
3. times lifelines in the same run on the same data: ``KaplanMeierFitter().fit(..., entry=...)``,
   ``multivariate_logrank_test`` (lifelines has no late entry for the log-rank test, so that pair is
   timed without it, ours too) and ``AalenJohansenFitter`` with ``entry``, and prints the ratio
   lifelines / ours. lifelines' Aalen-Johansen variance is a Python loop over the rows (about a
   minute on 1M rows): it is timed **once on a subsample** (``--aj-rows``, default 100,000), against
   ours on the same subsample, and its time is also extrapolated linearly to all rows (printed as
   such); its estimate without the variance (``calculate_variance=False``) is timed on all rows;
4. checks the results agree (max absolute difference): survival and interval arrays against
   lifelines, the log-rank statistic against lifelines (without entry) and statsmodels ``survdiff``
   (with entry), the cumulative incidence against lifelines (estimate on all rows; estimate and
   interval on the subsample, where lifelines' interval is defined: it is NaN where the estimate is 0
   and once the risk set has emptied),
   the values at 6/12/24 months by programme against lifelines on the subsample, and their numbers
   at risk against a direct count. Exit status 1 if any difference exceeds 1e-9 (relative for the
   statistic).

Run from the repository root: ``python benchmarks/bench_cohorts.py`` (lifelines and statsmodels are in
the ``test`` extra: ``pip install -e ".[test]"``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.survfunc import survdiff

from evaluation.stats.cohorts import (
    DAYS_PER_MONTH,
    EventKind,
    kaplan_meier,
    logrank,
    survival_data,
)
from evaluation.stats.incidence import cumulative_incidence, cumulative_incidence_curve

PROGRAMMES = ("1", "4a", "12", "13", "17")
#: Mean time to the first event (months) per programme: plausible differences between programmes.
MEAN_MONTHS = (10.0, 14.0, 8.0, 20.0, 12.0)
KINDS = tuple(kind.value for kind in EventKind)
KIND_SHARES = (0.25, 0.20, 0.30, 0.15, 0.10)
OUTCOME = "positive"  # every kind is an event: the censored share is the ~30 % without any event
#: For the cumulative incidence: a job is the outcome (code 1), a training first competes (code 2).
COMPETING_KIND = EventKind.TRAINING.value
TOLERANCE = 1e-9


def synthetic_cohort(rows: int, seed: int) -> pd.DataFrame:
    """Cohort records in the intake's format, seeded; durations at the second (nearly all distinct)."""
    rng = np.random.default_rng(seed)
    second = np.timedelta64(1, "s")
    programme_code = rng.integers(0, len(PROGRAMMES), rows)
    entry = np.datetime64("2018-01-01T00:00:00", "ms") + rng.integers(0, 3 * 365 * 86400, rows) * second
    mean_seconds = np.asarray(MEAN_MONTHS)[programme_code] * DAYS_PER_MONTH * 86400
    to_event = np.maximum(np.rint(rng.exponential(mean_seconds)), 2).astype(np.int64)
    censored = rng.random(rows) < 0.30
    # The censored are last seen before their would-be event.
    follow = np.where(censored, np.maximum(np.rint(to_event * rng.uniform(0.05, 1.0, rows)), 2), to_event)
    follow = follow.astype(np.int64)
    late = rng.random(rows) < 0.20
    # Late starts at half seconds: never equal to anybody's event time (whole seconds), where R's
    # at-risk convention (entry < t) and lifelines' (entry <= t) would differ.
    start = np.where(late, np.floor(follow * rng.uniform(0.0, 0.9, rows)) * 1000 + 500, 0).astype(np.int64)
    end = entry + follow * second
    kinds = np.asarray(KINDS, dtype=object)[rng.choice(len(KINDS), rows, p=KIND_SHARES)]
    sex = np.asarray(["F", "M"], dtype=object)[rng.integers(0, 2, rows)]
    return pd.DataFrame(
        {
            "programme": np.asarray(PROGRAMMES, dtype=object)[programme_code],
            "entry_date": entry,
            "observation_start": entry + start * np.timedelta64(1, "ms"),
            "qpv": np.where(rng.random(rows) < 0.7, "QN05985M", "hors QPV"),
            "sex": sex,
            "age_band": np.asarray(["16-25", "26-49", "50+"], dtype=object)[rng.integers(0, 3, rows)],
            "qualification": np.asarray(["V", "IV", "III"], dtype=object)[rng.integers(0, 3, rows)],
            "first_employment_date": pd.Series(end).where(~censored),
            "employment_kind": pd.Series(kinds).where(~censored),
            "last_contact_date": end,
            "cohort_year": pd.DatetimeIndex(entry).year,
        }
    )


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs (seconds) and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def incidence_by_programme(
    durations: np.ndarray, event_codes: np.ndarray, entry: np.ndarray, groups: np.ndarray, horizons: tuple[int, ...]
) -> dict[str, pd.DataFrame]:
    """Cumulative incidence at the horizons, one programme at a time (labels hashed once)."""
    group_codes, labels = pd.factorize(groups, sort=True)
    tables = {}
    for j, programme in enumerate(labels):
        rows = group_codes == j
        tables[programme] = cumulative_incidence(
            durations[rows], event_codes[rows], entry=entry[rows], horizons=horizons
        )
    return tables


def lifelines_aalen_johansen(
    durations: np.ndarray, event_codes: np.ndarray, entry: np.ndarray, variance: bool
) -> AalenJohansenFitter:
    """lifelines' fit of the cumulative incidence of code 1, refusing its jitter of tied times."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Tied event times")  # a jitter would change the data
        fitter = AalenJohansenFitter(calculate_variance=variance)
        return fitter.fit(durations, event_codes, event_of_interest=1, entry=entry)


def lifelines_bounds(fitter: AalenJohansenFitter) -> tuple[pd.Series, pd.Series]:
    """(lower, upper): lifelines 0.30 puts the smaller bound in its ``_upper_`` column."""
    interval = fitter.confidence_interval_
    smaller = next(c for c in interval.columns if "_upper_" in c)
    larger = next(c for c in interval.columns if "_lower_" in c)
    return interval[smaller], interval[larger]


def at_or_before(series: pd.Series, points: np.ndarray) -> np.ndarray:
    """Values of a step function (sorted index) at the last index <= each point (NaN kept)."""
    return series.to_numpy()[np.searchsorted(series.index.to_numpy(), points, side="right") - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of beneficiaries (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing, the median is kept (default 5)")
    parser.add_argument("--seed", type=int, default=2021, help="seed of the synthetic cohort (default 2021)")
    parser.add_argument(
        "--aj-rows",
        type=int,
        default=100_000,
        help="subsample for lifelines' Aalen-Johansen variance, timed once (default 100,000)",
    )
    args = parser.parse_args(argv)
    horizons = (6, 12, 24)

    print(
        f"evaluation.stats.cohorts benchmark: {args.rows:,} beneficiaries, seed {args.seed}, median of {args.repeat} runs"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, {os.cpu_count()} cores"
    )
    cohort = synthetic_cohort(args.rows, args.seed)
    prep_time, data = timed(lambda: survival_data(cohort, OUTCOME), args.repeat)
    durations = data["duration_months"].to_numpy()
    events = data["event"].to_numpy()
    entry = data["entry_months"].to_numpy()
    groups = cohort.loc[data.index, "programme"].to_numpy()
    # Cumulative incidence: 1 = a job, 2 = a training first (competing), 0 = censored; durations
    # offset by less than 0.25 s (seeded) so that no two times tie (entries stay at half seconds).
    competing = cohort.loc[data.index, "employment_kind"].to_numpy() == COMPETING_KIND
    event_codes = np.where(events, np.where(competing, 2, 1), 0)
    offset = np.random.default_rng(args.seed + 1).uniform(0, 0.25, durations.size) / (86400 * DAYS_PER_MONTH)
    aj_durations = durations + offset
    sub = slice(0, min(args.aj_rows, durations.size))  # the rows are in random order
    print(
        f"data: {durations.size:,} rows, {np.unique(durations).size:,} distinct times, "
        f"{100 * (1 - events.mean()):.1f} % censored, {100 * (entry > 0).mean():.1f} % late entries, "
        f"{len(set(groups))} groups"
    )
    print(
        f"cumulative incidence data: {np.unique(aj_durations).size:,} distinct times, "
        f"{100 * (event_codes == 1).mean():.1f} % jobs, "
        f"{100 * (event_codes == 2).mean():.1f} % trainings first (competing)"
    )

    km_time, km = timed(lambda: kaplan_meier(durations, events, entry=entry), args.repeat)
    lr_time, lr = timed(lambda: logrank(durations, events, groups, entry=entry), args.repeat)
    ci_time, ci_curve = timed(lambda: cumulative_incidence_curve(aj_durations, event_codes, entry=entry), args.repeat)
    ci_by_time, ci_by = timed(
        lambda: incidence_by_programme(aj_durations, event_codes, entry, groups, horizons), args.repeat
    )
    ci_sub_time, ci_sub = timed(
        lambda: cumulative_incidence_curve(aj_durations[sub], event_codes[sub], entry=entry[sub]), args.repeat
    )
    lr_plain_time, lr_plain = timed(lambda: logrank(durations, events, groups), args.repeat)

    def lifelines_km() -> KaplanMeierFitter:
        return KaplanMeierFitter().fit(durations, events, entry=entry)

    ll_km_time, kmf = timed(lifelines_km, args.repeat)
    ll_lr_time, ll_lr = timed(lambda: multivariate_logrank_test(durations, groups, events), args.repeat)
    ll_ci_time, ll_ci = timed(lambda: lifelines_aalen_johansen(aj_durations, event_codes, entry, False), args.repeat)
    ll_ci_sub_time, ll_ci_sub = timed(
        lambda: lifelines_aalen_johansen(aj_durations[sub], event_codes[sub], entry[sub], True), 1
    )

    # Agreement.
    times = km["time"].to_numpy()
    positive = km["survival"].to_numpy() > 0  # where S = 0 we give NaN (as R), lifelines [0, 0]
    diffs = {
        "KM survival vs lifelines": np.abs(
            km["survival"].to_numpy() - kmf.survival_function_.iloc[:, 0].reindex(times).to_numpy()
        ).max(),
        "KM ci_lower vs lifelines": np.abs(
            km["ci_lower"].to_numpy()[positive]
            - kmf.confidence_interval_.iloc[:, 0].reindex(times).to_numpy()[positive]
        ).max(),
        "KM ci_upper vs lifelines": np.abs(
            km["ci_upper"].to_numpy()[positive]
            - kmf.confidence_interval_.iloc[:, 1].reindex(times).to_numpy()[positive]
        ).max(),
        "KM at_risk vs lifelines": float(
            np.abs(km["at_risk"].to_numpy() - kmf.event_table["at_risk"].reindex(times).to_numpy()).max()
        ),
    }
    relative = {
        "log-rank statistic vs lifelines (no entry)": abs(lr_plain.statistic - ll_lr.test_statistic)
        / ll_lr.test_statistic,
    }
    codes = pd.factorize(groups)[0]
    sm_statistic, _ = survdiff(durations, events.astype(float), codes, entry=entry)
    relative["log-rank statistic vs statsmodels (entry)"] = abs(lr.statistic - sm_statistic) / sm_statistic
    ci_times = ci_curve["time"].to_numpy()
    diffs["CIF estimate vs lifelines (all rows)"] = np.abs(
        ci_curve["estimate"].to_numpy() - ll_ci.cumulative_density_.iloc[:, 0].reindex(ci_times).to_numpy()
    ).max()
    sub_times = ci_sub["time"].to_numpy()
    ll_lower, ll_upper = lifelines_bounds(ll_ci_sub)
    # lifelines' interval is NaN where F = 0 (ours [0, 0]) and from a time when the risk set empties
    # (d = n: its expanded variance gives inf - inf; ours is finite, see cumulative_incidence_curve).
    emptied = np.cumsum(ci_sub["at_risk"] == ci_sub["events"] + ci_sub["competing"]).to_numpy() > 0
    defined = (ci_sub["estimate"].to_numpy() > 0) & ~emptied
    diffs["CIF estimate vs lifelines (subsample)"] = np.abs(
        ci_sub["estimate"].to_numpy() - ll_ci_sub.cumulative_density_.iloc[:, 0].reindex(sub_times).to_numpy()
    ).max()
    diffs["CIF ci_lower vs lifelines (subsample)"] = np.abs(
        ci_sub["ci_lower"].to_numpy()[defined] - ll_lower.reindex(sub_times).to_numpy()[defined]
    ).max()
    diffs["CIF ci_upper vs lifelines (subsample)"] = np.abs(
        ci_sub["ci_upper"].to_numpy()[defined] - ll_upper.reindex(sub_times).to_numpy()[defined]
    ).max()
    # By programme at 6/12/24 months, on the subsample: ours against lifelines and a direct count.
    points = np.asarray(horizons, dtype=float)
    by_diff = 0.0
    at_risk_diff = 0
    for programme in PROGRAMMES:
        rows = groups[sub] == programme
        t_p, c_p, e_p = aj_durations[sub][rows], event_codes[sub][rows], entry[sub][rows]
        ours_p = cumulative_incidence(t_p, c_p, entry=e_p, horizons=horizons)
        fitter = lifelines_aalen_johansen(t_p, c_p, e_p, True)
        for column, series in zip(
            ("estimate", "ci_lower", "ci_upper"),
            (fitter.cumulative_density_.iloc[:, 0], *lifelines_bounds(fitter)),
            strict=True,
        ):
            by_diff = max(by_diff, float(np.abs(ours_p[column].to_numpy() - at_or_before(series, points)).max()))
        counted = [np.count_nonzero((e_p <= h) & (h < t_p)) for h in points]
        at_risk_diff = max(at_risk_diff, int(np.abs(ours_p["at_risk"].to_numpy() - counted).max()))
    diffs["CIF 6/12/24 by programme vs lifelines (subsample)"] = by_diff
    diffs["CIF at_risk 6/12/24 by programme vs count (subsample)"] = float(at_risk_diff)

    total = km_time + lr_time + ci_by_time
    n_sub = sub.stop
    ll_ci_extrapolated = ll_ci_sub_time * durations.size / n_sub
    print()
    print(f"{'step':<44}{'ours':>10}{'lifelines':>12}{'ratio':>9}")
    print(f"{'survival_data (preparation)':<44}{prep_time:>9.3f}s")
    print(f"{'kaplan_meier, late entry':<44}{km_time:>9.3f}s{ll_km_time:>11.3f}s{ll_km_time / km_time:>8.1f}x")
    print(
        f"{'logrank, 5 groups, no entry':<44}{lr_plain_time:>9.3f}s{ll_lr_time:>11.3f}s{ll_lr_time / lr_plain_time:>8.1f}x"
    )
    print(f"{'logrank, 5 groups, late entry':<44}{lr_time:>9.3f}s{'(none)':>12}")
    print(
        f"{'cumulative incidence curve, late entry':<44}{ci_time:>9.3f}s{ll_ci_time:>11.3f}s"
        f"{ll_ci_time / ci_time:>8.1f}x   (lifelines without variance)"
    )
    print(
        f"{f'  same, {n_sub:,}-row subsample':<44}{ci_sub_time:>9.3f}s{ll_ci_sub_time:>11.3f}s"
        f"{ll_ci_sub_time / ci_sub_time:>8.1f}x   (lifelines with variance, 1 run)"
    )
    print(
        f"{'  same, all rows, lifelines extrapolated':<44}{ci_time:>9.3f}s{ll_ci_extrapolated:>10.1f}s*"
        f"{ll_ci_extrapolated / ci_time:>8.1f}x   (* {n_sub:,}-row time x {durations.size / n_sub:g}, not measured)"
    )
    print(f"{'cumulative incidence 6/12/24 by programme':<44}{ci_by_time:>9.3f}s{'(loop)':>12}")
    print(
        f"{'KM + log-rank + incidence (late entry)':<44}{total:>9.3f}s   {'OK' if total < 1 else 'OVER'} (target < 1 s)"
    )
    print(f"log-rank: chi2 = {lr.statistic:.3f} on {lr.df} df, p = {lr.pvalue:.3g}")
    print("cumulative incidence of a job (training competing), % [95 % CI]:")
    for programme, table in ci_by.items():
        cells = "  ".join(
            f"{h:g} m {100 * e:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
            for h, e, lo, hi in table[["horizon_months", "estimate", "ci_lower", "ci_upper"]].itertuples(index=False)
        )
        print(f"  {programme:<5}{cells}")
    print()
    print("agreement (max abs diff; relative for the statistic):")
    failed = False
    for label, value in (*diffs.items(), *relative.items()):
        ok = value <= TOLERANCE
        failed |= not ok
        print(f"  {label:<56}{value:.2e}  {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
