"""Writes the SYNTHETIC demo dataset (``data/demo/``): monitoring values, spending, the barometer
series of the QPV and the cohort records of programme beneficiaries, in the formats partners use.

**Nothing this module produces is real.** The plan referential and the list of the QPV are real;
every value, status, source, comment, amount and count written here is drawn at random, to exercise
the reports and the tests, and must never be quoted as a fact about the MEL plan or its
neighbourhoods. ``data/demo/dataset.yaml`` declares the folder ``demo: true``.

Run ``python -m evaluation_demo [--out DIR]`` to rewrite the files (default: the package's
``data/demo/``). The output depends only on the plan, the reference list of the QPV
(``data/reference/qpv_mel_2024.csv``) and the seed (:data:`DEMO_SEED`): one
``numpy.random.default_rng(seed)`` per table, drawn in plan (or file) order, so two runs write the
same bytes.

The seeded generators, one module per kind of synthetic input (this module runs them and writes
their files):

- :mod:`evaluation_demo.monitoring`: the monitoring values (scenarios per indicator), with the
  programme indicators counted in the cohort records by :mod:`evaluation_demo.cohort_indicators`;
- :mod:`evaluation_demo.spending`: the spending of the MEL and its co-financers;
- :mod:`evaluation_demo.barometer`: the barometer counts of the 26 QPV, the MEL and the MEL outside the QPV;
- :mod:`evaluation_demo.cohorts`: the cohort records of programme beneficiaries;
- :mod:`evaluation_demo.draws` (the seed and years they share) and :mod:`evaluation_demo.partners`
  (who reports each engagement's values);
- :mod:`evaluation_demo.survey` and :mod:`evaluation_demo.comparison`: the survey waves and the
  comparison territories, each with its own seed.

Every public name of these generators is also importable from here (the module's ``__all__``), as
before the split (issue 13), and under the old name ``evaluation.demo``.

Files written by :func:`write_demo` (header on line 1, no comment line):
``monitoring/priorite_1_2.csv`` (sheets of P1 and P2: UTF-8, ``,``, decimal point, English headers
and statuses), ``monitoring/priorites_3_a_6.csv`` (the other sheets: Windows-1252, ``;``, decimal
comma, French headers and statuses), ``spending/depenses_mel.csv`` (UTF-8 with BOM, ``;``,
decimal comma, French headers), ``barometer/barometre_2015_2021.csv`` (UTF-8, ``,``, whole
counts, English headers, ``sampled`` as ``true``/``false``) and
``cohorts/beneficiaires_2018_2020.csv`` (UTF-8, ``,``, ISO dates, English headers, blank cells
for a missing date or kind).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from evaluation.config import DEMO_DATA_DIR
from evaluation.io import atomic_write_bytes
from evaluation.referential.plan import Indicator, Plan, load_plan
from evaluation_demo.barometer import (
    BAROMETER_DEMO_COLUMNS,
    BAROMETER_DEMO_YEARS,
    BAROMETER_SOURCES,
    generate_barometer,
)
from evaluation_demo.cohort_indicators import COHORT_INDICATORS, CohortIndicator, CohortStatistic, cohort_monitoring
from evaluation_demo.cohorts import (
    COHORT_CALENDAR_FACTORS,
    COHORT_DEMO_COLUMNS,
    COHORT_EXTRACTION,
    COHORT_HAZARD_RATIOS,
    COHORT_KIND_SHARES,
    COHORT_LATE_SHARE,
    COHORT_LOST_SHARE,
    COHORT_PROGRAMMES,
    COHORT_ROWS,
    COHORT_TWICE_SHARE,
    COHORT_YEARS,
    CohortProgramme,
    generate_cohorts,
)
from evaluation_demo.draws import DEMO_SEED
from evaluation_demo.monitoring import (
    MONITORING_COLUMNS,
    QUALITATIVE_ROWS,
    SCENARIO_SHARES,
    Scenario,
    assign_scenarios,
    generate_monitoring,
)
from evaluation_demo.partners import SOURCES
from evaluation_demo.spending import SPENDING_COLUMNS, generate_spending

__all__ = [
    "DEMO_SEED",
    "Scenario",
    "SCENARIO_SHARES",
    "SOURCES",
    "QUALITATIVE_ROWS",
    "MONITORING_COLUMNS",
    "SPENDING_COLUMNS",
    "MonitoringFile",
    "MONITORING_FILES",
    "SPENDING_FILE",
    "BAROMETER_FILE",
    "BAROMETER_DEMO_YEARS",
    "BAROMETER_DEMO_COLUMNS",
    "BAROMETER_SOURCES",
    "assign_scenarios",
    "generate_monitoring",
    "generate_spending",
    "generate_barometer",
    "CohortProgramme",
    "COHORT_PROGRAMMES",
    "COHORT_HAZARD_RATIOS",
    "COHORT_CALENDAR_FACTORS",
    "COHORT_KIND_SHARES",
    "COHORT_ROWS",
    "COHORT_YEARS",
    "COHORT_EXTRACTION",
    "COHORT_LATE_SHARE",
    "COHORT_LOST_SHARE",
    "COHORT_TWICE_SHARE",
    "COHORT_FILE",
    "COHORT_DEMO_COLUMNS",
    "generate_cohorts",
    "CohortStatistic",
    "CohortIndicator",
    "COHORT_INDICATORS",
    "cohort_monitoring",
    "write_demo",
    "main",
]

_MONITORING_HEADERS_FR = ("indicateur", "année", "valeur", "statut", "source", "commentaire")
_SPENDING_HEADERS_FR = ("engagement", "année", "montant_eur", "financeur")
_STATUS_FR = MappingProxyType({"provisional": "provisoire", "estimated": "estimé", "final": "définitif"})


@dataclass(frozen=True)
class MonitoringFile:
    """A monitoring file of the demo: its path under the data folder, the priorities of the sheets it
    holds (None: the transversal sheets gouvernance and evaluation) and whether it is a French CSV."""

    path: str
    priorities: tuple[str | None, ...]
    french: bool


MONITORING_FILES = (
    MonitoringFile("monitoring/priorite_1_2.csv", ("P1", "P2"), french=False),
    MonitoringFile("monitoring/priorites_3_a_6.csv", ("P3", "P4", "P5", "P6", None), french=True),
)
SPENDING_FILE = "spending/depenses_mel.csv"
BAROMETER_FILE = "barometer/barometre_2015_2021.csv"
COHORT_FILE = "cohorts/beneficiaires_2018_2020.csv"


# --------------------------------------------------------------------------------------------------
# Files


def _number_text(value: float, decimal: str, digits: int | None = None) -> str:
    """``value`` as a CSV cell: empty for NaN, no decimals for a whole number unless ``digits`` is given."""
    if math.isnan(value):
        return ""
    if digits is not None:
        text = f"{value:.{digits}f}"
    elif float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{value:.1f}"
    return text.replace(".", decimal)


def _csv_text(frame: pd.DataFrame, sep: str) -> str:
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def _monitoring_bytes(frame: pd.DataFrame, french: bool) -> bytes:
    """Plain (UTF-8, ``,``, decimal point, English) or French (cp1252, ``;``, decimal comma) CSV bytes."""
    decimal = "," if french else "."
    table = frame.assign(value=[_number_text(v, decimal) for v in frame["value"]]).fillna("")
    if not french:
        return _csv_text(table, ",").encode("utf-8")
    table = table.assign(status=table["status"].map(_STATUS_FR))
    table.columns = list(_MONITORING_HEADERS_FR)
    return _csv_text(table, ";").encode("cp1252")


def _spending_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, ``;``, amounts with two decimals and a decimal comma, French headers."""
    table = frame.assign(amount_eur=[_number_text(v, ",", digits=2) for v in frame["amount_eur"]]).fillna("")
    table.columns = list(_SPENDING_HEADERS_FR)
    return _csv_text(table, ";").encode("utf-8-sig")


def _barometer_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, ``,``, whole counts without decimals, English headers, ``true``/``false``."""
    table = frame.assign(
        value=[_number_text(v, ".") for v in frame["value"]],
        vintage=["" if pd.isna(v) else str(int(v)) for v in frame["vintage"]],
        sampled=["true" if v else "false" for v in frame["sampled"]],
    )
    return _csv_text(table, ",").encode("utf-8")


def _cohort_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, ``,``, ISO dates, blank cells for a missing date or kind, English headers."""
    table = frame.copy()
    for column in ("entry_date", "observation_start", "first_employment_date", "last_contact_date"):
        table[column] = table[column].dt.strftime("%Y-%m-%d").fillna("")
    table["employment_kind"] = table["employment_kind"].fillna("")
    return _csv_text(table, ",").encode("utf-8")


def write_demo(out_dir: Path, plan: Plan | None = None, seed: int = DEMO_SEED) -> list[Path]:
    """Write the SYNTHETIC demo files under ``out_dir`` and return their paths.

    ``monitoring/priorite_1_2.csv``, ``monitoring/priorites_3_a_6.csv``,
    ``spending/depenses_mel.csv``, ``barometer/barometre_2015_2021.csv`` and
    ``cohorts/beneficiaires_2018_2020.csv`` (formats in the module docstring), the survey waves of
    ``surveys/`` (:func:`evaluation_demo.survey.write_surveys`) and the comparison territories of
    ``comparison/`` (:func:`evaluation_demo.comparison.write_comparison`), each written atomically, and a
    ``dataset.yaml`` declaring the folder synthetic (``demo: true``) when the folder has none (the
    package's own ``data/demo/dataset.yaml`` is kept as it is). ``plan`` defaults to the package's
    referential.
    """
    plan = plan if plan is not None else load_plan()
    out_dir = Path(out_dir)
    cohorts = generate_cohorts(plan, seed)
    monitoring = generate_monitoring(plan, seed, cohorts=cohorts)
    priority = {sheet.id: sheet.priority for sheet in plan.engagements}
    row_priority = [priority[i.engagement] for i in _indicators_of_rows(plan, monitoring)]
    written = []
    for spec in MONITORING_FILES:
        part = monitoring[[p in spec.priorities for p in row_priority]]
        written.append(_write(out_dir / spec.path, _monitoring_bytes(part, spec.french)))
    written.append(_write(out_dir / SPENDING_FILE, _spending_bytes(generate_spending(plan, seed))))
    written.append(_write(out_dir / BAROMETER_FILE, _barometer_bytes(generate_barometer(plan, seed))))
    written.append(_write(out_dir / COHORT_FILE, _cohort_bytes(cohorts)))
    # SYNTHETIC perception survey waves (sheets 17 and 4a) and comparison territories (issue 15),
    # each from its own generator and seed.
    from evaluation_demo.comparison import write_comparison
    from evaluation_demo.survey import write_surveys

    written += write_surveys(out_dir / "surveys")
    written += write_comparison(out_dir / "comparison")
    meta = out_dir / "dataset.yaml"
    if not meta.exists():
        text = (
            'name: "Jeu de démonstration (synthétique)"\ndemo: true\n'
            f"provenance: SYNTHETIC data written by 'python -m evaluation_demo' with the seed {seed}; no value is real.\n"
        )
        written.append(_write(meta, text.encode("utf-8")))
    return written


def _indicators_of_rows(plan: Plan, monitoring: pd.DataFrame) -> list[Indicator]:
    indicators = {i.id: i for i in plan.indicators()}
    return [indicators[i] for i in monitoring["indicator_id"]]


def _write(path: Path, data: bytes) -> Path:
    atomic_write_bytes(path, data)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation_demo [--out DIR] [--seed N]``: write the SYNTHETIC demo files, print their paths."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation_demo",
        description=(
            "Write the SYNTHETIC demo dataset (monitoring values, spending, barometer, cohorts; no value is real)."
        ),
    )
    parser.add_argument("--out", type=Path, default=DEMO_DATA_DIR, help="data directory (default: data/demo/)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
    args = parser.parse_args(argv)
    for path in write_demo(args.out, seed=args.seed):
        own = path.parent.name in ("surveys", "comparison")  # their generators keep their own seeds
        print(f"wrote {path} (SYNTHETIC demo data, {'own seed' if own else f'seed {args.seed}'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
