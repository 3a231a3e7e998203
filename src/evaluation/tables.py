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
    :func:`evaluation.budget.execution_table`: planned MEL financing, the MEL's spending and the
    execution rate (MEL against MEL, the rate of the reports) per engagement and year 2018-2021, with
    every funder's spending beside (``spent_all_funders_eur``, not divided by the MEL's plan).
``execution_cumulee``
    :func:`evaluation.budget.execution_totals` for 2018 to the year: the same, to date, per engagement.
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
    The series of :func:`evaluation.gap_publication.published_gap` against the whole MEL (the plan's
    comparator), for the years up to the year, with the intervals (default census design effect,
    :data:`evaluation.employment_gap.DEFAULT_CENSUS_DESIGN_EFFECT`): the same object the yearly
    report renders. Every year is hidden the way that year's protected barometer hides the QPV
    aggregate or the comparator (columns ``secret``, as in ``barometre``). Left out when the
    barometer is empty.

``cohortes_taux``, ``cohortes_entrees``, ``cohortes_perdus_de_vue``
    :func:`evaluation.cohort_release.release_tables` of the year's cohort release, the very object
    the cohort reports render (protected as one release with them: hidden values empty, column
    ``secret``). Left out without cohort files.

**Disclosure control** (:mod:`evaluation.disclosure`) applies to the tables that count people by
place: here ``barometre`` only, for the reasons below.

* ``ecart_taux_emploi`` repeats sums over the 26 QPV (about 150 000 residents of 15-64, of whom
  some 70 000 in work) and over the whole MEL (some 760 000 residents of 15-64), by year, with no
  breakdown by QPV, sex or age: on real data none of its numerators, denominators or complements
  can be small (``tests/test_barometer_disclosure.py`` applies
  :func:`evaluation.disclosure.protect_rates` to it on the demo data and finds nothing to hide).
  The same sums are the ``QPV`` and ``MEL`` rows of each year's ``barometre``, whose protection
  hides them when a sum over the QPV is itself small or a small QPV count has no other QPV to be
  hidden with (partial data): :mod:`evaluation.gap_publication` then hides them in the series too.
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
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from evaluation.io import Dataset, atomic_write_bytes
from evaluation.plan import Plan

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
    "cohortes_taux": "Suivi de cohorte : part des entrants en emploi dans les 6, 12 et 24 mois",
    "cohortes_entrees": "Suivi de cohorte : entrées par année, résidence, âge et sexe",
    "cohortes_perdus_de_vue": "Suivi de cohorte : perdus de vue",
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
    from evaluation.employment_gap import PLAN_COMPARATOR
    from evaluation.gap_publication import published_gap
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
        from evaluation.cohort_release import release_tables

        tables.update(release_tables(release))
        log = pd.concat([log, release.log], ignore_index=True) if not log.empty else release.log
    return YearTables(tables, log)


def _cohort_release(plan: Plan, dataset: Dataset, year: int):  # noqa: ANN202 - CohortRelease, imported lazily
    """The year's cohort release (the one the cohort reports render), or None without cohort files."""
    from evaluation.cohort_release import build_release
    from evaluation.disclosure import DEFAULT_RULE, get_rule
    from evaluation.errors import UsageError
    from evaluation.intake import load_cohorts

    if not (dataset.path / "cohorts").is_dir():
        return None
    cohort, _problems = load_cohorts(dataset, plan)
    if cohort.empty:
        return None
    try:
        return build_release(plan, cohort, year, get_rule(dataset.disclosure or DEFAULT_RULE))
    except UsageError:  # nobody entered by the end of the year
        return None


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
