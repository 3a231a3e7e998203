"""Paths of the package's data, in one place (built from this file's location)."""

from __future__ import annotations

from pathlib import Path

#: Repository root (the package is installed in editable mode from a checkout).
ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
PLAN_DIR = DATA_DIR / "plan"
#: The embedded, synthetic demo dataset (default of ``--data``).
DEMO_DATA_DIR = DATA_DIR / "demo"
NOTEBOOKS_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
#: Default output folder of ``evaluation run`` (not committed).
REPORTS_DIR = ROOT / "reports"

#: Years of the plan (2018-2021), the horizon of its targets.
PLAN_YEARS = (2018, 2019, 2020, 2021)
