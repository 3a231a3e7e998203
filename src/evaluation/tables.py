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
    (level, changes since the previous year and since the first year, rank among the 26 QPV).
    Left out when the barometer has no data for the year.
``ecart_taux_emploi``
    :func:`evaluation.employment_gap.gap_series` against the whole MEL (the plan's comparator), for
    the years up to the year, with the intervals. Left out when the barometer is empty.

:func:`write_tables` writes each as ``<name>.csv`` (UTF-8 with BOM, ``;`` separator, decimal comma:
what Excel opens correctly in French) and all of them as the sheets of ``tables.xlsx``. Columns keep
the library's names, whose suffix carries the unit (``_eur``, ``_pct``, ``_pp``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from evaluation.io import Dataset, atomic_write_bytes
from evaluation.plan import Plan

__all__ = ["TABLE_TITLES", "WORKBOOK_NAME", "build_tables", "write_tables", "to_french_csv"]

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


def build_tables(plan: Plan, dataset: Dataset, year: int) -> dict[str, pd.DataFrame]:
    """The year's tables (see the module docstring), keyed by name, in :data:`TABLE_TITLES` order."""
    from evaluation.barometer import barometer_table
    from evaluation.budget import execution_table, execution_totals
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
    if (barometer["year"] == year).any():
        tables["barometre"] = barometer_table(barometer, year)
    if not barometer.empty:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvaluationWarning)  # the cautions are in the yearly report
            tables["ecart_taux_emploi"] = gap_series(barometer, str(PLAN_COMPARATOR))
    return tables


def to_french_csv(frame: pd.DataFrame) -> bytes:
    """CSV as French Excel reads it: UTF-8 with BOM, ``;`` between fields, decimal comma."""
    return frame.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")


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
