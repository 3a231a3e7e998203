"""The machine-readable tables of a deliverable year: CSV files for French Excel and one workbook.

:func:`build_tables` computes, once per run and in the parent process of ``evaluation run``, the
tables the reports are built on, from the same validated inputs (rows with a problem left out, as in
the reports):

``ecarts_cibles``
    :func:`evaluation.targets.gap_table` for the year: one row per indicator of the plan (realised,
    target, achievement, expected value on the linear path, gap, status).
``statuts_par_priorite``
    :func:`evaluation.monitoring.status_counts` of that table: number of indicators per priority and
    status, with a ``total`` row (the plan-wide counts of the index page).
``execution_budgetaire``
    :func:`evaluation.budget.execution_table`: planned MEL financing, spending (all funders) and
    execution rate per engagement and year 2018-2021.
``execution_cumulee``
    :func:`evaluation.budget.execution_totals` for 2018 to the year: execution to date per engagement.
``barometre``
    :func:`evaluation.barometer.barometer_table` of the year: one row per territory and indicator
    (level, changes since the previous year and since the first year, rank, numerator and
    denominator), **through disclosure control** (:func:`evaluation.barometer_disclosure.protect_barometer`
    under the data directory's rule, ``disclosure:`` in ``dataset.yaml``, default ``acro``): a rate
    resting on a count below the threshold, or hidden so that such a count cannot be recomputed from
    the published totals, is left empty with its changes, rank and counts; so is a change whose
    earlier level is hidden. The column ``secret`` names the hidden cells of each row (an empty cell
    there is secret, not missing data); ``rank`` is among the ``ranked_qpv`` QPV whose level is
    published. Left out when the barometer has no data for the year.
``ecart_taux_emploi``
    :func:`evaluation.employment_gap.gap_series` against the whole MEL (the plan's comparator), for
    the years up to the year, with the intervals. Left out when the barometer is empty.

**Disclosure control** (:mod:`evaluation.disclosure`) applies to the tables that count people by
place: here ``barometre`` only, for the reasons below.

* ``ecart_taux_emploi`` is not suppressed: its counts are sums over the 26 QPV (about 150 000
  residents of 15-64, of whom some 70 000 in work) and over the whole MEL (some 760 000 residents of
  15-64), by year, with no breakdown by QPV, sex or age: with the frequency rule
  ``0 < x < threshold`` and thresholds of 3 to 11, none of its numerators, denominators or
  complements can be small (``tests/test_barometer_disclosure.py`` applies
  :func:`evaluation.disclosure.protect_rates` to it on the demo data and finds nothing to hide).
  The same sums are the ``QPV`` and ``MEL`` rows of ``barometre``, which its protection hides only
  when a sum over the QPV is itself small, or a small QPV count has no other QPV to be hidden with.
* ``ecarts_cibles`` and ``statuts_par_priorite`` (counts of those indicators) hold the programme
  outputs the partners report for a whole programme (milestones, numbers of beneficiaries or of
  companies, shares among them), one figure per indicator and year, not crossed by any personal
  attribute, and published in the partners' own activity reports; ``execution_budgetaire`` and
  ``execution_cumulee`` are amounts of public money, public by nature. They are published as given,
  by documented choice, as in the engagement reports.

The suppression log of the run (every hidden cell of ``barometre`` with its flag, primary or
secondary, and its reason, then the logs of the count tables) is :attr:`YearTables.suppression_log`,
written by :func:`write_suppression_log` to ``logs/secret_statistique.csv`` beside the run's other
logs, never to ``tables/``: it tells which cells hide a small count, it is not for publication.

:func:`write_tables` writes each as ``<name>.csv`` (UTF-8 with BOM, ``;`` separator, decimal comma:
what Excel opens correctly in French) and all of them as the sheets of ``tables.xlsx``. Columns keep
the library's names, whose suffix carries the unit (``_eur``, ``_pct``, ``_pp``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from evaluation.io import Dataset, atomic_write_bytes
from evaluation.plan import Plan

if TYPE_CHECKING:
    from evaluation.barometer_disclosure import ProtectedBarometer

__all__ = [
    "TABLE_TITLES",
    "WORKBOOK_NAME",
    "SUPPRESSION_LOG_NAME",
    "YearTables",
    "build_tables",
    "write_tables",
    "write_suppression_log",
    "to_french_csv",
]

#: French caption of each table, in the order of the workbook.
TABLE_TITLES: dict[str, str] = {
    "ecarts_cibles": "Écarts aux cibles de chaque indicateur",
    "statuts_par_priorite": "Nombre d'indicateurs par priorité et par statut",
    "execution_budgetaire": "Exécution budgétaire par engagement et par année",
    "execution_cumulee": "Exécution budgétaire cumulée depuis 2018",
    "barometre": "Baromètre des 26 quartiers prioritaires",
    "ecart_taux_emploi": "Écart de taux d'emploi entre les quartiers prioritaires et la MEL",
}
WORKBOOK_NAME = "tables.xlsx"
#: The run's suppression log, in the run's ``logs/`` folder (internal, not published).
SUPPRESSION_LOG_NAME = "secret_statistique.csv"


class YearTables(dict[str, pd.DataFrame]):
    """The year's tables by name, and the suppression log of the protected ones.

    ``suppression_log`` has the columns :data:`evaluation.disclosure.LOG_COLUMNS`, one row per hidden
    cell; it is not one of the tables (:func:`write_tables` does not write it).
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], suppression_log: pd.DataFrame) -> None:
        super().__init__(tables)
        self.suppression_log = suppression_log


def build_tables(plan: Plan, dataset: Dataset, year: int) -> YearTables:
    """The year's tables (see the module docstring), keyed by name, in :data:`TABLE_TITLES` order."""
    from evaluation.barometer_disclosure import protect_barometer
    from evaluation.budget import execution_table, execution_totals
    from evaluation.disclosure import DEFAULT_RULE, get_rule, suppression_log
    from evaluation.employment_gap import PLAN_COMPARATOR, EvaluationWarning, gap_series
    from evaluation.intake import load_barometer
    from evaluation.monitoring import load_monitoring_data, status_counts

    data = load_monitoring_data(plan, dataset)
    gaps = data.gaps(plan, year)
    tables = {
        "ecarts_cibles": gaps,
        "statuts_par_priorite": status_counts(plan, gaps).reset_index(names="priority"),
        "execution_budgetaire": execution_table(plan, data.spending),
        "execution_cumulee": execution_totals(plan, data.spending, year),
    }
    barometer, _problems = load_barometer(dataset, plan)
    barometer = barometer[barometer["year"] <= year]
    log = suppression_log()
    if (barometer["year"] == year).any():
        protected = protect_barometer(barometer, year, get_rule(dataset.disclosure or DEFAULT_RULE))
        tables["barometre"] = protected.table
        log = protected.log
    if not barometer.empty:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvaluationWarning)  # the cautions are in the yearly report
            series = gap_series(barometer, str(PLAN_COMPARATOR))
        if "barometre" in tables:
            series = hide_linked_gap(series, protected, year)
        tables["ecart_taux_emploi"] = series
    return YearTables(tables, log)


#: The employment rate, whose counts of the QPV aggregate and the comparator the gap series repeats.
_EMPLOYMENT = "employment_rate_pct"


def hide_linked_gap(series: pd.DataFrame, protected: ProtectedBarometer, year: int) -> pd.DataFrame:
    """``series`` with the figures of ``year`` hidden when the protected barometer hides them.

    The gap series repeats the employment counts of the QPV aggregate and of the plan's comparator.
    They are thousands of residents and never hidden on real data, but on partial data (a few QPV
    filled in) the barometer may hide the aggregate as a margin: publishing it here would give the
    hidden cell back. Then the year's counts, rates, intervals and gap are left blank.
    """
    from evaluation.disclosure import Flag
    from evaluation.employment_gap import PLAN_COMPARATOR, QPV_AGGREGATE

    hidden = any(
        protected.flag(territory, _EMPLOYMENT, column) != Flag.PUBLISHED
        for territory in (QPV_AGGREGATE, str(PLAN_COMPARATOR))
        for column in ("numerator", "denominator", "level")
    )
    if not hidden:
        return series
    out = series.copy()
    columns = [c for c in out.columns if c.startswith(("qpv_", "comparator_", "gap_")) and c != "qpv_count"]
    out[columns] = out[columns].astype("float64")
    out.loc[out["year"] == year, columns] = float("nan")
    return out


def to_french_csv(frame: pd.DataFrame) -> bytes:
    """CSV as French Excel reads it: UTF-8 with BOM, ``;`` between fields, decimal comma."""
    return frame.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")


def write_suppression_log(log: pd.DataFrame, folder: Path) -> Path:
    """Write the suppression log as ``folder/``:data:`SUPPRESSION_LOG_NAME` (French CSV, atomically).

    ``folder`` is the run's ``logs/`` folder: the log is the evaluation team's audit trail, not a
    table to publish. Written even when nothing is hidden (a header only), so that every run has one.
    """
    path = folder / SUPPRESSION_LOG_NAME
    atomic_write_bytes(path, to_french_csv(log))
    return path


def write_tables(tables: Mapping[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write ``<name>.csv`` for each table and :data:`WORKBOOK_NAME` with one sheet per table.

    Every file is written atomically. Returns the paths written, the workbook last.
    """
    written = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        atomic_write_bytes(path, to_french_csv(frame))
        written.append(path)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for cells in sheet.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in cells[:200])
                sheet.column_dimensions[cells[0].column_letter].width = min(max(10, width + 2), 60)
    path = folder / WORKBOOK_NAME
    atomic_write_bytes(path, buffer.getvalue())
    written.append(path)
    return written
