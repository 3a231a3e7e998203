"""Paths of the project's folders (plan, data, notebooks, run plans), in one place; the plan's years."""

from __future__ import annotations

from pathlib import Path

#: What marks a project folder: the plan as data.
_MARKER = Path("data") / "plan" / "plan.yaml"


def project_root(package_file: Path | str = __file__, cwd: Path | str | None = None) -> Path:
    """The project folder (``data/``, ``notebooks/``, ``params/``): where the referential is.

    The checkout this package runs from (an editable install, the documented set-up); else, for a
    regular install (the package in ``site-packages``), the working folder or its nearest parent
    holding ``data/plan/plan.yaml``, if it is the user's own and nobody else may write in it: run the
    commands from within a copy of the project. When none
    is found, the checkout's place is returned and the first read names the missing file.
    """
    checkout = Path(package_file).resolve().parents[2]
    if (checkout / _MARKER).is_file():
        return checkout
    try:
        here = Path(cwd if cwd is not None else Path.cwd()).resolve()
    except OSError:  # the working folder was removed
        return checkout
    for folder in (here, *here.parents):
        if (folder / _MARKER).is_file() and _own(folder):
            return folder
    return checkout


def _own(folder: Path) -> bool:
    """Whether ``folder`` is this user's and nobody else may write in it: a project planted by another
    user in a shared parent (``/tmp``) must not have its notebooks run."""
    import os

    try:
        info = folder.stat()
    except OSError:
        return False
    return not info.st_mode & 0o022 and (not hasattr(os, "getuid") or info.st_uid == os.getuid())


#: The project folder (see :func:`project_root`).
ROOT = project_root()
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
