"""The machine-readable tables of a deliverable year: CSV files for French Excel and one workbook.

:func:`build_tables` computes, once per run and in the parent process of ``evaluation run``, the
tables the reports are built on, from the same validated inputs (rows with a problem left out, as in
the reports):

``ecarts_cibles``
    :func:`evaluation.stats.targets.gap_table` for the year: one row per indicator of the plan (realised,
    target, achievement, expected value on the linear path, gap, status).
``statuts_par_priorite``
    :func:`evaluation.stats.monitoring.status_counts` of that table: number of indicators per priority and
    status, with a ``total`` row (the plan-wide counts of the index page).
``execution_budgetaire``
    :func:`evaluation.stats.budget.execution_table`: planned MEL financing, the MEL's spending and the
    execution rate (MEL against MEL, the rate of the reports) per engagement and year 2018-2021, with
    every funder's spending beside (``spent_all_funders_eur``, not divided by the MEL's plan).
``execution_cumulee``
    :func:`evaluation.stats.budget.execution_totals` for 2018 to the year: the same, to date, per engagement.
``barometre``
    :func:`evaluation.stats.barometer.barometer_table` of the year: one row per territory and indicator
    (level, changes since the previous year and since the first year, rank, numerator and
    denominator), **through disclosure control** (:func:`evaluation.publish.barometer_disclosure.protect_barometer`
    under the data directory's rule, ``disclosure:`` in ``dataset.yaml``, default ``acro``): a rate
    resting on a count below the threshold, or hidden so that such a count cannot be recomputed from
    the published totals, is left empty with its changes, rank and counts; so is a change whose
    earlier level is hidden. The column ``secret`` names the hidden cells of each row (an empty cell
    there is secret, not missing data); ``rank`` is among the ``ranked_qpv`` QPV whose level is
    published. Left out when the barometer has no data for the year.
``ecart_taux_emploi``
    The series of :func:`evaluation.publish.gap_publication.published_gap` against the whole MEL (the plan's
    comparator), for the years up to the year, with the intervals (default census design effect,
    :data:`evaluation.stats.employment_gap.DEFAULT_CENSUS_DESIGN_EFFECT`): the same object the yearly
    report renders. Every year is hidden the way that year's protected barometer hides the QPV
    aggregate or the comparator (columns ``secret``, as in ``barometre``). Left out when the
    barometer is empty.

``cohortes_taux``, ``cohortes_entrees``, ``cohortes_perdus_de_vue``
    :func:`evaluation.publish.cohort_release.release_tables` of the year's cohort release, the very object
    the cohort reports render (protected as one release with them: hidden values empty, column
    ``secret``). Left out without cohort files.

**Disclosure control** (:mod:`evaluation.stats.disclosure`) applies to the tables that count people by
place: here ``barometre`` only, for the reasons below.

* ``ecart_taux_emploi`` repeats sums over the 26 QPV (about 150 000 residents of 15-64, of whom
  some 70 000 in work) and over the whole MEL (some 760 000 residents of 15-64), by year, with no
  breakdown by QPV, sex or age: on real data none of its numerators, denominators or complements
  can be small (``tests/test_barometer_disclosure.py`` applies
  :func:`evaluation.stats.disclosure.protect_rates` to it on the demo data and finds nothing to hide).
  The same sums are the ``QPV`` and ``MEL`` rows of each year's ``barometre``, whose protection
  hides them when a sum over the QPV is itself small or a small QPV count has no other QPV to be
  hidden with (partial data): :mod:`evaluation.publish.gap_publication` then hides them in the series too.
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

**Exported for people** (:func:`export_table`, :func:`write_tables`). The tables above keep the
library's column names and raw values (other modules and the yearly index read them). What is
written is their *export*, one :class:`ExportTable` each, built from them and nothing else:

* every column described by an :class:`ExportColumn`: machine name (the CSV header, stable), French
  header (the sheet's), meaning and unit, all listed in the workbook's first sheet ``Lisez-moi``;
* numbers rounded as the reports print them, with Python's ``format`` (the reports' rounding):
  counts, years, ranks and euros to whole numbers, percentages, points and ratios to 1 decimal; the
  values of ``ecarts_cibles`` in each indicator's unit (1 decimal for a percentage, whole euros, a
  count whole or to 1 decimal for a value on the linear path). The progress toward a target not met
  is rounded **down** (never 100 % for a target missed), after the float noise of its division is
  removed (``(59.4 - 50) / (60 - 50) * 100`` is ``93.99999999999999``: 94.0, not 93.9);
* codes beside names: QPV and their communes (INSEE codes and names, :mod:`evaluation.referential.territories`),
  engagements and their titles, priorities; the closed sets (status, measure, direction,
  outcome...) keep their code in the CSV and show their French label in the sheet (the status labels
  are :data:`evaluation.stats.targets.STATUS_FR`, the cohort labels those of :mod:`evaluation.present.cohort`);
* the notes of the computations in French;
* ``secret`` (tables under disclosure control): the CSV names of the row's hidden columns, comma-
  separated (empty when nothing is hidden; the sheet gives their French headers). A hidden cell is
  empty: an empty cell named there is secret statistique, not missing data.

:func:`write_tables` writes, for each table, ``<name>.csv``: UTF-8 with BOM, ``;`` between fields,
decimal comma, the machine names as header, codes as values, numbers rounded as in the sheet (a
whole number without decimals: ``26``, never ``26,0``); and ``tables.xlsx``: ``Lisez-moi`` (dataset,
demonstration warning, year, date of production, each sheet and each column) then one sheet per
table with French headers, bold and frozen, typed numbers with Excel number formats (``#,##0`` for
counts, ``0.0`` under a ``(%)`` header for percentages, ``#,##0 "€"`` for euros; the mixed-unit
columns of ``ecarts_cibles`` carry the row's unit in the cell's format), and fitted column widths.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from evaluation.io import Dataset, atomic_write_bytes
from evaluation.present.table_columns import (
    README_SHEET,
    SHEET_NAMES,
    SUPPRESSION_LOG_NAME,
    TABLE_TITLES,
    WORKBOOK_NAME,
    ExportColumn,
    ExportTable,
    Kind,
    TableContext,
    YearTables,
    french_note,
)
from evaluation.present.table_specs import export_table, export_tables
from evaluation.present.workbook import workbook_bytes, write_tables
from evaluation.referential.plan import Plan

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    pass

__all__ = [
    "TABLE_TITLES",
    "SHEET_NAMES",
    "README_SHEET",
    "WORKBOOK_NAME",
    "SUPPRESSION_LOG_NAME",
    "Kind",
    "ExportColumn",
    "ExportTable",
    "TableContext",
    "YearTables",
    "build_tables",
    "export_table",
    "export_tables",
    "french_note",
    "workbook_bytes",
    "write_tables",
    "write_suppression_log",
    "to_french_csv",
]


def build_tables(plan: Plan, dataset: Dataset, year: int) -> YearTables:
    """The year's tables (see the module docstring), keyed by name, in :data:`TABLE_TITLES` order."""
    from evaluation.intake import load_barometer
    from evaluation.publish.barometer_disclosure import protect_barometer
    from evaluation.publish.gap_publication import published_gap
    from evaluation.stats.budget import execution_table, execution_totals
    from evaluation.stats.disclosure import DEFAULT_RULE, get_rule, suppression_log
    from evaluation.stats.employment_gap import PLAN_COMPARATOR
    from evaluation.stats.monitoring import load_monitoring_data, status_counts

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
    rule = get_rule(dataset.disclosure or DEFAULT_RULE)
    known: dict[int, frozenset[tuple[str, str]]] = {}
    if (barometer["year"] == year).any():
        protected = protect_barometer(barometer, year, rule)
        tables["barometre"] = protected.table
        log = protected.log
        known[year] = protected.hidden_levels
    if not barometer.empty:
        # The cautions of the computation are in the yearly report (the same object's).
        tables["ecart_taux_emploi"] = published_gap(barometer, year, PLAN_COMPARATOR, rule, hidden_by_year=known).series
    release = _cohort_release(plan, dataset, year)
    if release is not None:
        from evaluation.publish.cohort_release import release_tables

        tables.update(release_tables(release))
        log = pd.concat([log, release.log], ignore_index=True) if not log.empty else release.log
    from evaluation.present.impact_publication import impact_publication
    from evaluation.present.impact_tables import impact_tables

    impact = impact_publication(year, dataset)
    if impact.results:
        tables.update(impact_tables(impact))
    base_year = int(barometer["year"].min()) if not barometer.empty else None
    return YearTables(tables, log, TableContext(plan, dataset, year, base_year))


def _cohort_release(plan: Plan, dataset: Dataset, year: int):  # noqa: ANN202 - CohortRelease, imported lazily
    """The year's cohort release (the very object the cohort reports render), or None without cohort files."""
    from evaluation.errors import UsageError
    from evaluation.present.cohort import load_release

    if not (dataset.path / "cohorts").is_dir():
        return None
    try:
        release, _problems = load_release(plan, dataset, year)
    except UsageError:  # no cohort record, or nobody entered by the end of the year
        return None
    return release


# --------------------------------------------------------------------------------------------------
# Writing: the machine CSV files, the log


def to_french_csv(frame: pd.DataFrame) -> bytes:
    """CSV as French Excel reads it: UTF-8 with BOM, ``;`` between fields, decimal comma.

    Writes the values as they are (no rounding): for the published tables use
    :meth:`ExportTable.csv_bytes`, which rounds them as the reports do.
    """
    return frame.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")


def write_suppression_log(log: pd.DataFrame, folder: Path) -> Path:
    """Write the suppression log as ``folder/``:data:`SUPPRESSION_LOG_NAME` (French CSV, atomically).

    ``folder`` is the run's ``logs/`` folder: the log is the evaluation team's audit trail, not a
    table to publish. Written even when nothing is hidden (a header only), so that every run has one.
    """
    path = folder / SUPPRESSION_LOG_NAME
    atomic_write_bytes(path, to_french_csv(log))
    return path
