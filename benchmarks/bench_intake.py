"""Benchmark of the intake (``evaluation validate``) on a large monitoring file, against ``pandas.read_csv``.

Issue 11 asks ``evaluation validate`` on 500,000 rows to run at least 10 times faster than before
and under 500 MB, with every problem still reported once, with its line. This script:

1. writes a seeded synthetic monitoring CSV (``--rows``, default 500,000) into a temporary data
   directory, in the French format partners send (``;`` separator, decimal comma, Windows-1252):
   the plan's indicator codes in turn, years 2018-2021, values of the right kind, a status, a source;
   one row in a hundred carries a mistake of one of five kinds (an unknown indicator, a value that is
   not a number, a year outside the plan, an unknown status, a percentage above 100). A monitoring
   file has one row per indicator and year, so nearly every row of such a file repeats an earlier
   key: the worst case for the reporting of problems (one "appears twice ... first at line N" per row);
2. times the whole ``evaluation validate --data DIR`` in a child process (median of ``--repeat``
   runs; interpreter start-up and imports included, as a user sees it) and reads its peak memory
   (``ru_maxrss`` of the child). The child imports ``evaluation`` from ``PYTHONPATH`` when set, so
   ``PYTHONPATH=/path/to/old/checkout/src python benchmarks/bench_intake.py`` times an older version
   on the same file (this script itself only needs the plan, which has not changed);
3. times ``pandas.read_csv`` of the same file (C parser, every column as text, the same encoding
   and separator), in the same run, median of ``--repeat``: the floor of any intake that must read
   every cell, and prints the ratio;
4. checks the findings: the number of problems ``validate`` reports equals the number computed
   independently here from the generated rows (one per planted mistake, one per row whose
   (indicator, year) text repeats an earlier row's), and, in this process after the timings, that
   each kind is found that many times and no (line, message) is reported twice.

Run from the repository root with the package installed: ``python benchmarks/bench_intake.py``
(``--rows 50000 --repeat 1`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.referential.plan import Measure, load_plan

#: Kinds of planted mistakes, one row in ``1 / ERROR_RATE`` each.
MISTAKES = ("unknown_indicator", "not_a_number", "year_outside_plan", "unknown_status", "percentage_out_of_range")
ERROR_RATE = 0.01


def write_monitoring(folder: Path, rows: int, seed: int) -> dict[str, int]:
    """The synthetic file in ``folder/monitoring/``; returns the problems expected, by kind."""
    rng = np.random.default_rng(seed)
    plan = load_plan()
    indicators = [i for i in plan.indicators() if i.measure in (Measure.COUNT, Measure.PERCENTAGE)]
    ids = np.array([i.id for i in indicators], dtype=object)
    percentage = np.array([i.measure is Measure.PERCENTAGE for i in indicators])
    which = np.arange(rows) % len(ids)
    years = 2018 + (np.arange(rows) // len(ids)) % 4
    values = np.where(percentage[which], rng.uniform(0, 100, rows).round(1), rng.integers(0, 5000, rows))
    value_text = np.array([f"{v:.1f}".replace(".", ",") for v in values], dtype=object)
    status = rng.choice(np.array(["définitif", "provisoire", "estimé"], dtype=object), rows)
    source = np.array([f"Partenaire n°{k}" for k in rng.integers(1, 40, rows)], dtype=object)
    year_text = years.astype(str).astype(object)
    id_text = ids[which].copy()
    mistake = np.full(rows, "", dtype=object)
    planted = rng.random(rows) < ERROR_RATE
    kinds = rng.integers(0, len(MISTAKES), rows)
    for position in np.flatnonzero(planted):
        kind = MISTAKES[kinds[position]]
        if kind == "percentage_out_of_range" and not percentage[which[position]]:
            kind = "not_a_number"
        mistake[position] = kind
        if kind == "unknown_indicator":
            id_text[position] = f"{ids[which[position]]}9"
        elif kind == "not_a_number":
            value_text[position] = "n.c."
        elif kind == "year_outside_plan":
            year_text[position] = "2031"
        elif kind == "unknown_status":
            status[position] = "validé"
        else:
            value_text[position] = "140,5"
    frame = pd.DataFrame(
        {
            "indicateur": id_text,
            "année": year_text,
            "valeur": value_text,
            "statut": status,
            "source": source,
            "commentaire": "",
        }
    )
    (folder / "monitoring").mkdir(parents=True)
    frame.to_csv(folder / "monitoring" / "gros_fichier.csv", sep=";", index=False, encoding="cp1252")
    (folder / "dataset.yaml").write_text(
        "name: test de vitesse de l'intake\ndemo: true\nprovenance: benchmarks/bench_intake.py (synthétique)\n",
        encoding="utf-8",
    )
    # Expected problems: each planted mistake once, and each row whose (indicator, year) was seen
    # on an earlier row (every year of the file is readable, so every row has a key; a row with a
    # planted mistake can also be a duplicate: that is a second problem of the row).
    expected = {kind: int((mistake == kind).sum()) for kind in MISTAKES}
    keys = pd.Series(id_text.astype(str)) + "|" + pd.Series(year_text.astype(str))
    expected["duplicate_row"] = int(keys.duplicated(keep="first").sum())
    return expected


#: Words of each kind's message (the problems carry their message, not their check's key).
_MESSAGE_OF = {
    "unknown_indicator": "is not an indicator of the plan",
    "not_a_number": "is not a number",
    "year_outside_plan": "is outside the plan's horizon",
    "unknown_status": "is not a known status",
    "percentage_out_of_range": "is not a percentage between 0 and 100",
    "duplicate_row": "appears twice for this year",
}


def _median_run(command: list[str], repeat: int) -> tuple[float, float, subprocess.CompletedProcess]:
    times, peaks, result = [], [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        # ru_maxrss of the children is the largest of any child so far (kilobytes on Linux).
        peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return statistics.median(times), max(peaks), result


def _check_findings(folder: Path, expected: dict[str, int]) -> bool:
    from evaluation.intake import validate_dataset
    from evaluation.io import load_dataset

    problems, _counts = validate_dataset(load_dataset(folder), load_plan())
    found = {kind: sum(words in p.message for p in problems) for kind, words in _MESSAGE_OF.items()}
    places = {(p.line, p.message.split(" (first at")[0]) for p in problems}
    print(f"problems by kind: {found}")
    return found == expected and len(places) == len(problems) == sum(expected.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--no-check", action="store_true", help="skip the in-process check of the findings")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        folder = Path(tmp) / "data"
        expected = write_monitoring(folder, args.rows, args.seed)
        path = folder / "monitoring" / "gros_fichier.csv"
        print(f"{args.rows} rows, {path.stat().st_size / 1e6:.1f} MB; problems planted or repeated: {expected}")
        command = [sys.executable, "-c", "import sys; from evaluation.cli import main; sys.exit(main())"]
        seconds, peak_mb, result = _median_run([*command, "validate", "--data", str(folder)], args.repeat)
        reading = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            pd.read_csv(path, sep=";", dtype=str, encoding="cp1252", keep_default_na=False)
            reading.append(time.perf_counter() - start)
        pandas_seconds = statistics.median(reading)
        print(f"evaluation validate: {seconds:8.2f} s (median of {args.repeat}), peak {peak_mb:.0f} MB")
        print(f"pandas.read_csv:     {pandas_seconds:8.2f} s (median of {args.repeat})")
        print(f"ratio validate / read_csv: {seconds / pandas_seconds:.1f}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
        summary = re.search(r"(\d+) problem\(s\)", result.stderr)
        if summary is None:
            print(f"validate gave no summary (exit {result.returncode}):\n{result.stderr[-2000:]}")
            return 1
        reported = int(summary.group(1))
        print(f"problems reported: {reported}, expected {sum(expected.values())}; exit status {result.returncode}")
        if reported != sum(expected.values()):
            print("MISMATCH: the number of problems differs")
            return 1
        if not args.no_check and not _check_findings(folder, expected):
            print("MISMATCH: a kind of problem is missing or a problem is reported twice")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
