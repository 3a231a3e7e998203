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


def check_year(year: object, name: str = "year") -> int:
    """``year`` when it is a year of the plan; else a :class:`~evaluation.errors.UsageError` with the one
    message every command uses: ``--year 2030 is outside the plan (2018-2021)``. ``name``: how the
    user wrote it (``--year``, ``year``). The notebooks render the same check in French
    (:func:`evaluation.present.parameters._check_year`); a run plan's year is a file error with its line.
    """
    from evaluation.errors import UsageError

    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        raise UsageError(f"{name} {year} is outside the plan ({PLAN_YEARS[0]}-{PLAN_YEARS[-1]})")
    return year
