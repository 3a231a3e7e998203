"""Benchmark of :mod:`evaluation.cohorts` on one million synthetic beneficiaries, against lifelines.

The cohort issue asks for 1 million beneficiaries in under a second for Kaplan-Meier + log-rank +
outcome rates, with results equal to an independent implementation. This script:

1. generates a seeded synthetic cohort (``--rows``, default 1,000,000): 5 programmes, entry dates over
   2018-2020 at the second (so that nearly every duration is distinct: the worst case for the
   estimators; real records in whole days have a few thousand distinct times and run faster), about
   30 % censored, 20 % late entries into observation;
2. times our ``kaplan_meier`` (with late entry), ``logrank`` (5 programmes, with late entry) and
   ``outcome_rates`` (6/12/24 months by programme): median of ``--repeat`` runs each, ``time.perf_counter``;
3. times lifelines in the same run on the same data: ``KaplanMeierFitter().fit(..., entry=...)`` and
   ``multivariate_logrank_test`` (lifelines has no late entry for the log-rank test, so that pair is
   timed without it, ours too), and prints the ratio lifelines / ours;
4. checks the results agree (max absolute difference): survival and interval arrays against
   lifelines, the log-rank statistic against lifelines (without entry) and statsmodels ``survdiff``
   (with entry), the rates' counts against a plain pandas recomputation. Exit status 1 if any
   difference exceeds 1e-9 (relative for the statistic).

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
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.survfunc import survdiff

from evaluation.cohorts import (
    DAYS_PER_MONTH,
    EventKind,
    kaplan_meier,
    logrank,
    outcome_rates,
    survival_data,
)

PROGRAMMES = ("1", "4a", "12", "13", "17")
#: Mean time to the first event (months) per programme: plausible differences between programmes.
MEAN_MONTHS = (10.0, 14.0, 8.0, 20.0, 12.0)
KINDS = tuple(kind.value for kind in EventKind)
KIND_SHARES = (0.25, 0.20, 0.30, 0.15, 0.10)
OUTCOME = "positive"  # every kind is an event: the censored share is the ~30 % without any event
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


def rates_by_pandas(cohort: pd.DataFrame, horizons: tuple[int, ...]) -> pd.DataFrame:
    """The rates' counts the plain way (pandas groupby), from the same survival data."""
    data = survival_data(cohort, OUTCOME)
    data = data[data["entry_months"] == 0]
    frame = pd.DataFrame({"programme": cohort.loc[data.index, "programme"]})
    for h in horizons:
        success = data["event"] & (data["duration_months"] <= h)
        frame[f"observable_{h}"] = success | (data["duration_months"] >= h)
        frame[f"successes_{h}"] = success
    return frame.groupby("programme", sort=True).sum()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of beneficiaries (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing, the median is kept (default 5)")
    parser.add_argument("--seed", type=int, default=2021, help="seed of the synthetic cohort (default 2021)")
    args = parser.parse_args(argv)
    horizons = (6, 12, 24)

    print(f"evaluation.cohorts benchmark: {args.rows:,} beneficiaries, seed {args.seed}, median of {args.repeat} runs")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, {os.cpu_count()} cores"
    )
    cohort = synthetic_cohort(args.rows, args.seed)
    prep_time, data = timed(lambda: survival_data(cohort, OUTCOME), args.repeat)
    durations = data["duration_months"].to_numpy()
    events = data["event"].to_numpy()
    entry = data["entry_months"].to_numpy()
    groups = cohort.loc[data.index, "programme"].to_numpy()
    print(
        f"data: {durations.size:,} rows, {np.unique(durations).size:,} distinct times, "
        f"{100 * (1 - events.mean()):.1f} % censored, {100 * (entry > 0).mean():.1f} % late entries, "
        f"{len(set(groups))} groups"
    )

    km_time, km = timed(lambda: kaplan_meier(durations, events, entry=entry), args.repeat)
    lr_time, lr = timed(lambda: logrank(durations, events, groups, entry=entry), args.repeat)
    rates_time, rates = timed(lambda: outcome_rates(cohort, horizons, OUTCOME), args.repeat)
    lr_plain_time, lr_plain = timed(lambda: logrank(durations, events, groups), args.repeat)

    def lifelines_km() -> KaplanMeierFitter:
        return KaplanMeierFitter().fit(durations, events, entry=entry)

    ll_km_time, kmf = timed(lifelines_km, args.repeat)
    ll_lr_time, ll_lr = timed(lambda: multivariate_logrank_test(durations, groups, events), args.repeat)

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
    reference = rates_by_pandas(cohort, horizons)
    ours = rates.set_index(["programme", "horizon_months"])
    diffs["rates counts vs pandas groupby"] = float(
        max(
            np.abs(
                ours.xs(float(h), level="horizon_months")[column].to_numpy() - reference[f"{column}_{h}"].to_numpy()
            ).max()
            for h in horizons
            for column in ("observable", "successes")
        )
    )

    total = km_time + lr_time + rates_time
    print()
    print(f"{'step':<44}{'ours':>10}{'lifelines':>12}{'ratio':>9}")
    print(f"{'survival_data (preparation)':<44}{prep_time:>9.3f}s")
    print(f"{'kaplan_meier, late entry':<44}{km_time:>9.3f}s{ll_km_time:>11.3f}s{ll_km_time / km_time:>8.1f}x")
    print(
        f"{'logrank, 5 groups, no entry':<44}{lr_plain_time:>9.3f}s{ll_lr_time:>11.3f}s{ll_lr_time / lr_plain_time:>8.1f}x"
    )
    print(f"{'logrank, 5 groups, late entry':<44}{lr_time:>9.3f}s{'(none)':>12}")
    print(f"{'outcome_rates, 6/12/24 months by programme':<44}{rates_time:>9.3f}s{'(none)':>12}")
    print(f"{'KM + log-rank + rates (late entry)':<44}{total:>9.3f}s   {'OK' if total < 1 else 'OVER'} (target < 1 s)")
    print(f"log-rank: chi2 = {lr.statistic:.3f} on {lr.df} df, p = {lr.pvalue:.3g}")
    print()
    print("agreement (max abs diff; relative for the statistic):")
    failed = False
    for label, value in (*diffs.items(), *relative.items()):
        ok = value <= TOLERANCE
        failed |= not ok
        print(f"  {label:<46}{value:.2e}  {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
