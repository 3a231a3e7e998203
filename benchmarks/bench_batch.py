"""Benchmark of `evaluation run` against the naive loop it replaces (issue 6). Not a test.

The same reports (the annual report of 2021 and 8 engagement reports, demo data) are produced four
ways, each into its own temporary folder, and timed from the outside (wall clock, command start to
exit):

(a) the naive loop: for each report, `papermill` then `jupyter nbconvert --to html --no-input`, one
    command-line call each (a fresh interpreter and a fresh kernel per report);
(b) `evaluation run --jobs 1 --force`;
(c) `evaluation run --jobs 2 --force`;
(d) `evaluation run --jobs 2` again on (c)'s folder, nothing changed (every report cached).

Targets of the issue: (a)/(c) >= 8, (b)/(c) >= 1.7, (d) < 3 s.

    python benchmarks/bench_batch.py              # from the repository root
    python benchmarks/bench_batch.py --engagements 4 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEMO = ROOT / "data" / "demo"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def _timed(command: list[str], *, quiet: bool = True) -> float:
    clock = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - clock


def naive_loop(engagements: list[str], out: Path) -> float:
    """(a): papermill + nbconvert command lines, one pair per report."""
    reports: list[tuple[str, str, list[str]]] = [
        (
            "annual.ipynb",
            "annuel",
            ["-p", "year", "2021", "-r", "comparator", "MEL", "-p", "baseline_year", "0"],
        )
    ] + [("engagement.ipynb", f"engagement_{e}", ["-r", "engagement_id", e, "-p", "year", "2021"]) for e in engagements]
    clock = time.perf_counter()
    for notebook, name, parameters in reports:
        executed = out / f"{name}.ipynb"
        subprocess.run(
            [
                _tool("papermill"),
                str(NOTEBOOKS / notebook),
                str(executed),
                *parameters,
                "-r",
                "data_dir",
                str(DEMO),
                "--cwd",
                str(NOTEBOOKS),
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


def evaluation_run(engagements: list[str], out: Path, jobs: int, force: bool) -> float:
    only = ["annuel"] + [f"engagements/{e}" for e in engagements]
    command = [_tool("evaluation"), "run", "--year", "2021", "--out", str(out), "--jobs", str(jobs), "--only", *only]
    return _timed([*command, "--force"] if force else command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engagements", type=int, default=8, help="number of engagement reports (default 8)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "src"))
    from evaluation.plan import load_plan

    engagements = [s.id for s in load_plan().engagements][: args.engagements]
    base = Path(tempfile.mkdtemp(prefix="bench-batch-")) if args.keep is None else args.keep
    folders = {name: base / name for name in ("a_naive", "b_jobs1", "c_jobs2")}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    reports = 1 + len(engagements)
    print(f"{reports} reports (annual 2021 + engagements {', '.join(engagements)}), demo data, {os.cpu_count()} CPU(s)")
    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    try:
        a = naive_loop(engagements, folders["a_naive"])
        print(f"(a) papermill + nbconvert loop      {a:7.1f} s  ({a / reports:.1f} s per report)")
        b = evaluation_run(engagements, folders["b_jobs1"], jobs=1, force=True)
        print(f"(b) evaluation run --jobs 1 --force {b:7.1f} s")
        c = evaluation_run(engagements, folders["c_jobs2"], jobs=2, force=True)
        print(f"(c) evaluation run --jobs 2 --force {c:7.1f} s")
        d = evaluation_run(engagements, folders["c_jobs2"], jobs=2, force=False)
        print(f"(d) unchanged re-run of (c)         {d:7.1f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"(a)/(c) = {a / c:.1f}   (target >= 8)")
    print(f"(b)/(c) = {b / c:.2f}  (target >= 1.7)")
    print(f"(d)     = {d:.1f} s  (target < 3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
