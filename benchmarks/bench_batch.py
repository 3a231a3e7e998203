"""Benchmark of `evaluation run` against the naive loop it replaces (issue 6). Not a test.

The same reports (by default every report of the 2021 run plan, demo data) are produced four ways,
each into its own temporary folder, and timed from the outside (wall clock, command start to exit):

(a) the naive loop: for each report, `papermill` then `jupyter nbconvert --to html --no-input`, one
    command-line call each (a fresh interpreter and a fresh kernel per report), with the parameters
    the run plan gives that report;
(b) `evaluation run --jobs 1 --force`;
(c) `evaluation run --jobs 2 --force`;
(d) `evaluation run --jobs 2` again on (c)'s folder, nothing changed (every report cached).

(b), (c) and (d) are repeated (`--repeat`, each time into an empty folder for (b) and (c)) and their
medians are used; the naive loop, by far the longest, runs once unless `--repeat-naive` is given.
Targets of the issue: (a)/(c) >= 8, (b)/(c) >= 1.7, (d) < 3 s.

    python benchmarks/bench_batch.py                      # the whole 2021 run plan (31 reports)
    python benchmarks/bench_batch.py --quick              # annual 2021 + 8 engagement reports
    python benchmarks/bench_batch.py --only annuel engagements/1 --repeat 1 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
BIN = Path(sys.executable).parent
QUICK = ["annuel", *(f"engagements/{e}" for e in ("1", "2", "3", "4", "4a", "5", "5a", "5b"))]


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def _timed(command: list[str]) -> float:
    clock = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - clock


def reports_of(only: list[str] | None) -> list[tuple[str, Path, dict]]:
    """(name, notebook, parameters) of the 2021 run plan's reports, as `evaluation run` runs them."""
    sys.path.insert(0, str(ROOT / "src"))
    from evaluation.batch.jobs import plan_jobs
    from evaluation.batch.runplan import load_run_plan
    from evaluation.config import PARAMS_DIR
    from evaluation.referential.plan import load_plan

    plan = load_plan()
    run_plan = load_run_plan(PARAMS_DIR / "2021.yaml", plan)
    selected = run_plan.select(only, plan)
    jobs = plan_jobs(run_plan, out_dir=Path("unused"), data_dir=DEMO, reports=selected)
    return [(job.name, job.notebook, dict(job.parameters)) for job in jobs]


def naive_loop(reports: list[tuple[str, Path, dict]], out: Path) -> float:
    """(a): papermill + nbconvert command lines, one pair per report."""
    clock = time.perf_counter()
    for name, notebook, parameters in reports:
        executed = out / f"{name.replace('/', '_')}.ipynb"
        subprocess.run(
            [
                _tool("papermill"),
                str(notebook),
                str(executed),
                "-y",
                json.dumps(parameters),  # JSON is YAML: the parameters with their types
                "--cwd",
                str(notebook.parent),
                "--no-progress-bar",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        subprocess.run(
            [_tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - clock


def evaluation_run(only: list[str] | None, out: Path, jobs: int, force: bool) -> float:
    command = [_tool("evaluation"), "run", "--year", "2021", "--out", str(out), "--jobs", str(jobs)]
    command += ["--only", *only] if only else []
    return _timed([*command, "--force"] if force else command)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--only", nargs="+", metavar="NAME", help="reports of the run plan (as `evaluation run --only`)")
    group.add_argument("--quick", action="store_true", help="annual report + 8 engagement reports")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (b), (c), (d), median used (default 3)")
    parser.add_argument("--repeat-naive", type=int, default=1, help="runs of (a) (default 1)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.repeat_naive < 1:
        parser.error("--repeat and --repeat-naive must be at least 1")

    only = QUICK if args.quick else args.only
    reports = reports_of(only)
    base = Path(tempfile.mkdtemp(prefix="bench-batch-")) if args.keep is None else args.keep
    print(
        f"{len(reports)} reports of params/2021.yaml ({'all' if not only else ' '.join(only)}), demo data, {os.cpu_count()} CPU(s)"
    )
    print(f"load average before: {_load()}")
    times: dict[str, list[float]] = {"a": [], "b": [], "c": [], "d": []}
    try:
        for _ in range(args.repeat_naive):
            times["a"].append(naive_loop(reports, _fresh(base / "a_naive")))
            print(
                f"(a) papermill + nbconvert loop      {times['a'][-1]:7.1f} s  ({times['a'][-1] / len(reports):.1f} s per report)"
            )
        for run in range(1, args.repeat + 1):
            times["b"].append(evaluation_run(only, _fresh(base / "b_jobs1"), jobs=1, force=True))
            times["c"].append(evaluation_run(only, _fresh(base / "c_jobs2"), jobs=2, force=True))
            times["d"].append(evaluation_run(only, base / "c_jobs2", jobs=2, force=False))
            print(
                f"run {run}: (b) --jobs 1 {times['b'][-1]:6.1f} s   (c) --jobs 2 {times['c'][-1]:6.1f} s   "
                f"(d) re-run {times['d'][-1]:5.1f} s   (load {_load()})"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    a, b, c, d = (statistics.median(times[k]) for k in "abcd")
    print(f"load average after: {_load()}")
    print(f"medians: (a) {a:.1f} s   (b) {b:.1f} s   (c) {c:.1f} s   (d) {d:.1f} s")
    print(f"(a)/(c) = {a / c:.1f}   (target >= 8)")
    paired = ", ".join(f"{x / y:.2f}" for x, y in zip(times["b"], times["c"], strict=True))
    print(f"(b)/(c) = {b / c:.2f}  (target >= 1.7; run by run: {paired})")
    print(f"(d)     = {d:.1f} s  (target < 3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
