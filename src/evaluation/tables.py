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
* codes beside names: QPV and their communes (INSEE codes and names, :mod:`evaluation.territories`),
  engagements and their titles, priorities; the closed sets (status, measure, direction,
  outcome...) keep their code in the CSV and show their French label in the sheet (the status labels
  are :data:`evaluation.targets.STATUS_FR`, the cohort labels those of :mod:`evaluation.views_cohort`);
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

import datetime as dt
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from evaluation.formatting import NBSP, format_date, format_number
from evaluation.io import Dataset, atomic_write_bytes
from evaluation.plan import Indicator, Measure, Plan

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    from openpyxl.worksheet.worksheet import Worksheet

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
    # Written out here (the same as evaluation.views_impact.IMPACT_TABLE_TITLES, checked by a test)
    # so that importing this module does not import the impact statistics.
    "impact_estimations": "Ce qui peut être attribué au plan : estimations par méthode et par indicateur",
    "impact_etude_evenement": "Ce qui peut être attribué au plan : double différence année par année",
    "impact_controle_synthetique": "Ce qui peut être attribué au plan : QPV de la MEL et contrôle synthétique",
    "impact_poids": "Ce qui peut être attribué au plan : poids du contrôle synthétique",
}
#: Sheet of each table in ``tables.xlsx`` (at most 31 characters, Excel's limit).
SHEET_NAMES: dict[str, str] = {
    "ecarts_cibles": "Écarts aux cibles",
    "statuts_par_priorite": "Statuts par priorité",
    "execution_budgetaire": "Exécution budgétaire",
    "execution_cumulee": "Exécution cumulée",
    "barometre": "Baromètre des QPV",
    "ecart_taux_emploi": "Écart de taux d'emploi",
    "cohortes_taux": "Cohortes – accès à l'emploi",
    "cohortes_entrees": "Cohortes – entrées",
    "cohortes_perdus_de_vue": "Cohortes – perdus de vue",
    "impact_estimations": "Impact – estimations",
    "impact_etude_evenement": "Impact – étude d'événement",
    "impact_controle_synthetique": "Impact – contrôle synthétique",
    "impact_poids": "Impact – poids",
}
#: The tables of "Ce qui peut être attribué au plan" (evaluation.views_impact).
IMPACT_TABLES = ("impact_estimations", "impact_etude_evenement", "impact_controle_synthetique", "impact_poids")
#: The workbook's first sheet: what each sheet and each column holds.
README_SHEET = "Lisez-moi"
WORKBOOK_NAME = "tables.xlsx"
#: The run's suppression log, in the run's ``logs/`` folder (internal, not published).
SUPPRESSION_LOG_NAME = "secret_statistique.csv"


@dataclass(frozen=True)
class TableContext:
    """What the export of a year's tables needs beside them.

    ``barometer_base_year``: the year the barometer's ``change_base`` starts from (the first year of
    the barometer data), None without a barometer.
    """

    plan: Plan
    dataset: Dataset
    year: int
    barometer_base_year: int | None = None


class YearTables(dict[str, pd.DataFrame]):
    """The year's tables by name, the suppression log of the protected ones, and their context.

    ``suppression_log`` has the columns :data:`evaluation.disclosure.LOG_COLUMNS`, one row per hidden
    cell; it is not one of the tables (:func:`write_tables` does not write it). ``context``: the
    plan, dataset and year they were built from (:func:`write_tables` needs it for the export).
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        suppression_log: pd.DataFrame,
        context: TableContext | None = None,
    ) -> None:
        super().__init__(tables)
        self.suppression_log = suppression_log
        self.context = context


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
    from evaluation.views_impact import impact_publication, impact_tables

    impact = impact_publication(year, dataset)
    if impact.results:
        tables.update(impact_tables(impact))
    base_year = int(barometer["year"].min()) if not barometer.empty else None
    return YearTables(tables, log, TableContext(plan, dataset, year, base_year))


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


# --------------------------------------------------------------------------------------------------
# The export for people: columns described, numbers rounded, codes beside names, French


class Kind(StrEnum):
    """How a column is rounded, written in the CSV and formatted in the sheet."""

    #: Free text (names, notes), the same in the CSV and the sheet.
    TEXT = "text"
    #: A closed set: its code in the CSV, its French label in the sheet.
    CODE = "code"
    #: True/False in the CSV, ``oui``/``non`` in the sheet.
    FLAG = "flag"
    #: A year: whole number, no thousands separator.
    YEAR = "year"
    #: A count, a rank, a number of years: whole number.
    COUNT = "count"
    #: Euros: whole number.
    EUR = "eur"
    #: A percentage (0-100), 1 decimal; the header says ``(%)``.
    PCT = "pct"
    #: Percentage points or another difference of levels, 1 decimal.
    POINTS = "points"
    #: A rate per 100 or per 1 000, a level in its indicator's unit, a design effect: 1 decimal.
    RATIO = "ratio"
    #: In the unit of the row's indicator (column ``measure``): ``ecarts_cibles`` only.
    MEASURE = "measure"
    #: The CSV names of the row's hidden columns; their French headers in the sheet.
    SECRET = "secret"


#: Decimals of each numeric kind (:data:`Kind.MEASURE` depends on the row: :func:`_measure_decimals`).
_DECIMALS = {Kind.YEAR: 0, Kind.COUNT: 0, Kind.EUR: 0, Kind.PCT: 1, Kind.POINTS: 1, Kind.RATIO: 1}
#: Excel number formats (stored in Excel's neutral syntax: ``,`` is the thousands separator, shown as a
#: space by a French Excel; a quoted text is shown as is).
_EXCEL_FORMATS = {
    Kind.YEAR: "0",
    Kind.COUNT: "#,##0",
    Kind.EUR: '#,##0\\ "€"',
    Kind.PCT: "0.0",
    Kind.POINTS: "0.0",
    Kind.RATIO: "0.0",
}


@dataclass(frozen=True)
class ExportColumn:
    """One column of an exported table.

    ``name``: the CSV header (stable, machine-readable); ``header``: the sheet's French header;
    ``meaning`` and ``unit``: what the ``Lisez-moi`` sheet says of it; ``labels``: for
    :attr:`Kind.CODE`, code -> French label (a code without a label is shown as is).
    """

    name: str
    header: str
    meaning: str
    kind: Kind = Kind.TEXT
    unit: str = ""
    labels: Mapping[str, str] | None = None


@dataclass(frozen=True, eq=False)
class ExportTable:
    """A table as published: ``frame`` has the columns ``columns`` (machine names), values rounded.

    Empty cells are missing values (NA). Numbers are the rounded values the sheet shows and the CSV
    holds: whole-number kinds as ``Int64``, the others as floats already rounded.
    """

    name: str
    sheet: str
    title: str
    columns: tuple[ExportColumn, ...]
    frame: pd.DataFrame

    def decimals(self, column: ExportColumn) -> list[int | None]:
        """Decimals of each cell of a numeric column (None for an empty cell)."""
        values = self.frame[column.name]
        if column.kind is Kind.MEASURE:
            return [
                None if pd.isna(v) else _measure_decimals(str(m), float(v))
                for v, m in zip(values, self.frame["measure"], strict=True)
            ]
        return [None if pd.isna(v) else _DECIMALS[column.kind] for v in values]

    def csv_bytes(self) -> bytes:
        """The table as French CSV: UTF-8 with BOM, ``;``, decimal comma, machine names as header.

        Numbers are written with the decimals of their cell (``26``, ``44,0``, ``14,9``); codes as
        codes; ``secret`` with the CSV names of the hidden columns.
        """
        text = pd.DataFrame(index=self.frame.index)
        for column in self.columns:
            values = self.frame[column.name]
            if column.kind in _DECIMALS or column.kind is Kind.MEASURE:
                text[column.name] = [
                    "" if d is None else _number_text(float(v), d)
                    for v, d in zip(values, self.decimals(column), strict=True)
                ]
            else:
                text[column.name] = ["" if _is_missing(v) else str(v) for v in values]
        return text.to_csv(index=False, sep=";").encode("utf-8-sig")

    def sheet_value(self, column: ExportColumn, value: object) -> object:
        """A cell as the sheet holds it: the French label of a code, ``oui``/``non``, a number or None."""
        if _is_missing(value):
            return None
        if column.kind is Kind.CODE:
            return (column.labels or {}).get(str(value), str(value))
        if column.kind is Kind.FLAG:
            return "oui" if bool(value) else "non"
        if column.kind is Kind.SECRET:
            headers = {c.name: c.header for c in self.columns}
            return ", ".join(headers.get(name, name) for name in str(value).split(", "))
        if column.kind in (Kind.YEAR, Kind.COUNT, Kind.EUR):
            return int(value)  # type: ignore[call-overload]
        if column.kind in _DECIMALS or column.kind is Kind.MEASURE:
            number = float(value)  # type: ignore[arg-type]
            return int(number) if number.is_integer() else number
        return str(value)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number_text(value: float, decimals: int) -> str:
    """``26.0, 0`` -> ``'26'``; ``44.0, 1`` -> ``'44,0'``: the CSV's numbers, decimal comma, no separator."""
    return f"{value:.{decimals}f}".replace(".", ",")


def _rounded(value: float, decimals: int) -> float:
    """``value`` rounded as the reports print it (Python's ``format``, so ``0.15`` -> ``0.1``, like them).

    A negative value rounded to zero is zero (``-0.0 + 0.0``): never ``-0,0``.
    """
    return float(f"{value:.{decimals}f}") + 0.0


def _measure_decimals(measure: str, value: float) -> int:
    """Decimals of a value of ``ecarts_cibles`` in its indicator's unit (as :mod:`evaluation.labels` prints it).

    Percentages 1; amounts 0 (whole euros); milestones 0 (1 done, 0 not done); counts and the rest
    0 when whole, else 1 (a value on the linear path, ``14,9``).
    """
    if measure == Measure.PERCENTAGE:
        return 1
    if measure in (Measure.AMOUNT, Measure.MILESTONE):
        return 0
    return 0 if _rounded(value, 1).is_integer() else 1


def _measure_format(measure: str, decimals: int) -> str:
    """Excel format of a value of ``ecarts_cibles``: the row's unit in the cell (the column mixes units)."""
    if measure == Measure.PERCENTAGE:
        return '0.0\\ "%"'
    if measure == Measure.AMOUNT:
        return _EXCEL_FORMATS[Kind.EUR]
    if measure == Measure.MILESTONE:
        return "0"
    return "#,##0" if decimals == 0 else "#,##0.0"


def _round_column(values: pd.Series, kind: Kind, measures: pd.Series | None) -> pd.Series:
    """The column's values rounded for its kind (whole-number kinds as ``Int64``)."""
    if kind in (Kind.YEAR, Kind.COUNT, Kind.EUR):
        numbers = pd.to_numeric(values, errors="raise").astype("Float64")
        return numbers.map(lambda v: pd.NA if pd.isna(v) else int(_rounded(float(v), 0))).astype("Int64")
    if kind in (Kind.PCT, Kind.POINTS, Kind.RATIO):
        numbers = pd.to_numeric(values, errors="raise").astype("float64")
        return numbers.map(lambda v: v if math.isnan(v) else _rounded(v, _DECIMALS[kind]))
    if kind is Kind.MEASURE:
        assert measures is not None
        numbers = pd.to_numeric(values, errors="raise").astype("float64")
        return pd.Series(
            [
                v if math.isnan(v) else _rounded(v, _measure_decimals(str(m), v))
                for v, m in zip(numbers, measures, strict=True)
            ],
            index=values.index,
            dtype="float64",
        )
    if kind is Kind.FLAG:
        return values.astype("boolean")
    return values.map(lambda v: pd.NA if _is_missing(v) or v == "" else str(v)).astype(object)


def _progress_pct(achievement: pd.Series, status: pd.Series) -> pd.Series:
    """Progress toward the target, 1 decimal, rounded **down** for a target not met (as the reports do).

    The float noise of the division is removed first (9 decimals): ``93.99999999999999`` is 94.0.
    """
    from evaluation.targets import Status

    def one(value: float, state: str) -> float:
        if math.isnan(value):
            return value
        if state == Status.ACHIEVED:
            return _rounded(value, 1)
        return math.floor(round(value, 9) * 10) / 10

    return pd.Series([one(float(v), str(s)) for v, s in zip(achievement, status, strict=True)], index=achievement.index)


# --------------------------------------------------------------------------------------------------
# French notes (the computations write short English notes: rendered here, one place)


def _years_fr(text: str) -> str:
    """``'2018, 2020'`` -> ``'2018 et 2020'``."""
    years = [y.strip() for y in text.split(",")]
    return years[0] if len(years) == 1 else f"{', '.join(years[:-1])} et {years[-1]}"


def _span_fr(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


def _plural(count: str, word: str) -> str:
    return f"{count} {word}{'s' if int(count) >= 2 else ''}"


#: The forms of the notes of :mod:`evaluation.targets` and :mod:`evaluation.employment_gap`, in French.
_NOTE_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"no value for (?P<years>\d{4}(?:, \d{4})*): the sum over (?P<a>\d{4})-(?P<b>\d{4}) is a lower bound"
        ),
        lambda m: (
            f"pas de valeur pour {_years_fr(m['years'])} : la somme sur {_span_fr(m['a'], m['b'])} est un minimum"
        ),
    ),
    (
        re.compile(r"judged on (?P<a>\d{4})-(?P<b>\d{4}), the target's deadline"),
        lambda m: f"jugé sur {_span_fr(m['a'], m['b'])}, jusqu'à l'échéance de la cible",
    ),
    (
        re.compile(r"above the range's max \((?P<max>[^)]+)\)(?P<counted>: counted as achieved)?"),
        lambda m: (
            f"au-dessus du maximum de la fourchette ({format_number(float(m['max']))})"
            + (" : compté comme atteint" if m["counted"] else "")
        ),
    ),
    (
        re.compile(r"achievement not given: the missing years can only raise the sum"),
        lambda m: "progression non calculée : les années manquantes ne peuvent qu'augmenter la somme",
    ),
    (re.compile(r"value of (?P<year>\d{4}) missing"), lambda m: f"valeur {m['year']} manquante"),
    (
        re.compile(r"a deliverable due every year: judged on this year's value"),
        lambda m: "livrable attendu chaque année : jugé sur la valeur de l'année",
    ),
    (
        re.compile(r"done in (?P<done>\d{4}), (?P<late>\d+) year\(s\) after the (?P<deadline>\d{4}) deadline"),
        lambda m: f"franchi en {m['done']}, {_plural(m['late'], 'an')} après l'échéance de {m['deadline']}",
    ),
    (re.compile(r"no value reported up to (?P<year>\d{4})"), lambda m: f"aucune valeur déclarée jusqu'en {m['year']}"),
    (re.compile(r"not done by the (?P<year>\d{4}) deadline"), lambda m: f"non franchi à l'échéance de {m['year']}"),
    (
        re.compile(r"(?P<level>\d+(?:\.\d+)?) % Wilson intervals, design effect (?P<deff>\d+(?:\.\d+)?)"),
        lambda m: (
            f"intervalles de Wilson à {format_number(float(m['level']))}{NBSP}%, "
            f"effet de plan de {format_number(float(m['deff']))}"
        ),
    ),
    (
        re.compile(
            r"gap by Newcombe's hybrid score method as if the samples were independent: "
            r"conservative, the QPV are part of the MEL"
        ),
        lambda m: (
            "écart par la méthode hybride du score de Newcombe, comme si les échantillons étaient "
            "indépendants : intervalle prudent, les QPV faisant partie de la MEL"
        ),
    ),
    (
        re.compile(r"gap by Newcombe's hybrid score method \(disjoint territories\)"),
        lambda m: "écart par la méthode hybride du score de Newcombe (territoires disjoints)",
    ),
    (re.compile(r"exhaustive source, no interval"), lambda m: "source exhaustive, sans intervalle"),
)


def french_note(note: object) -> str | None:
    """A note of :func:`evaluation.targets.assess` or of the gap series (``interval_note``), in French.

    The notes are clauses joined by ``'; '``; each is matched whole against the known forms. A form
    not known here (a new note in the computations) is kept, marked ``(non traduit)``, with a warning:
    visible, never silently English.
    """
    if _is_missing(note) or not str(note).strip():
        return None
    clauses = []
    for clause in str(note).split("; "):
        for pattern, render in _NOTE_RULES:
            match = pattern.fullmatch(clause)
            if match:
                clauses.append(render(match))
                break
        else:
            warnings.warn(f"note not translated, add it to evaluation.tables: {clause!r}", stacklevel=2)
            clauses.append(f"(non traduit) {clause}")
    return " ; ".join(clauses)


# --------------------------------------------------------------------------------------------------
# The columns of each table

_Spec = Callable[[pd.DataFrame, TableContext], tuple[list[ExportColumn], pd.DataFrame]]

_ENGAGEMENT = ExportColumn(
    "engagement",
    "Fiche action",
    "Numéro de la fiche action (engagement) du plan ; « gouvernance » et « evaluation » : fiches transversales",
)
_ENGAGEMENT_TITLE = ExportColumn(
    "engagement_title", "Intitulé de la fiche action", "Titre de la fiche action dans le plan"
)
_QPV_LEFT_OUT = ExportColumn(
    "qpv_left_out",
    "QPV écartés (codes)",
    "Codes des QPV des données laissés hors de la somme des QPV cette année-là, faute d'un des deux effectifs",
)
_QPV_LEFT_OUT_NAMES = ExportColumn("qpv_left_out_names", "QPV écartés", "Noms des mêmes QPV")


def _secret(ctx: TableContext) -> ExportColumn:
    from evaluation.disclosure import DEFAULT_RULE, get_rule

    threshold = get_rule(ctx.dataset.disclosure or DEFAULT_RULE).threshold
    return ExportColumn(
        "secret",
        "Secret statistique : cellules masquées",
        "Colonnes de la ligne masquées par le secret statistique (effectif inférieur à "
        f"{threshold} personnes, ou cellule qui permettrait de le retrouver) : ces cellules sont vides. "
        "Vide quand rien n'est masqué. Dans le CSV : les noms CSV des colonnes masquées, séparés par une virgule",
        Kind.SECRET,
    )


def _engagement_titles(plan: Plan) -> dict[str, str]:
    return {sheet.id: sheet.title for sheet in plan.engagements}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _indicator_unit(indicator: Indicator) -> str | None:
    """The unit of a row of ``ecarts_cibles``, as the ``Unité`` column says it."""
    measure = indicator.measure
    if measure is Measure.PERCENTAGE:
        return "%"
    if measure is Measure.AMOUNT:
        return "€"
    if measure is Measure.MILESTONE:
        return "jalon : 1 franchi, 0 non franchi"
    if measure is Measure.QUALITATIVE:
        return None
    return indicator.unit or "nombre"


def _gaps_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.labels import CUMULATION_FR, DIRECTION_FR, MEASURE_FR, target_text
    from evaluation.targets import STATUS_FR

    indicators = {i.id: i for i in ctx.plan.indicators()}
    rows = [indicators[i] for i in frame["indicator_id"]]
    start = ctx.plan.period[0]
    out = frame.assign(
        engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)),
        unit=[_indicator_unit(i) for i in rows],
        target_label=[target_text(i) for i in rows],
        target_year=[i.target.year for i in rows],
        achievement_pct=_progress_pct(frame["achievement_pct"], frame["status"]),
        note=frame["note"].map(french_note),
    )
    value = "dans l'unité de l'indicateur (colonne « Unité »)"
    columns = [
        ExportColumn("indicator_id", "Indicateur", "Numéro de l'indicateur : fiche action, point, rang dans la fiche"),
        ExportColumn("label", "Résultat attendu", "Intitulé de l'indicateur dans le plan"),
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn("year", "Année", "Année de la situation décrite", Kind.YEAR),
        ExportColumn(
            "status",
            "Statut",
            "Situation de l'indicateur au regard de sa cible cette année-là (règles de evaluation.targets)",
            Kind.CODE,
            labels={str(k): v for k, v in STATUS_FR.items()},
        ),
        ExportColumn(
            "realised",
            "Réalisé",
            f"Valeur comparée à la cible : somme des années depuis {start} jusqu'à l'année ou à l'échéance "
            "(indicateurs cumulés ; un minimum quand des années manquent, voir « Remarque »), sinon valeur de l'année",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "realised_cumulated",
            f"Réalisé cumulé depuis {start}",
            f"Indicateurs annuels : somme des valeurs de {start} à l'année",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "target",
            "Cible",
            "Valeur à atteindre (le minimum d'une fourchette, son maximum pour un indicateur à faire baisser)",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "target_max", "Cible : maximum de la fourchette", "Maximum d'une cible en fourchette", Kind.MEASURE, value
        ),
        ExportColumn("target_label", "Cible énoncée", "La cible telle que le plan l'énonce"),
        ExportColumn("target_year", "Échéance", "Année à laquelle la cible doit être atteinte", Kind.YEAR),
        ExportColumn(
            "expected",
            "Attendu sur la trajectoire",
            "Valeur attendue cette année sur la trajectoire linéaire de la valeur de départ à la cible",
            Kind.MEASURE,
            value,
        ),
        ExportColumn("gap_to_expected", "Écart à la trajectoire", "Réalisé moins attendu", Kind.MEASURE, value),
        ExportColumn(
            "achievement_pct",
            "Progression vers la cible (%)",
            "Chemin parcouru de la valeur de départ vers la cible ; arrondi à l'inférieur quand la cible "
            "n'est pas atteinte (jamais 100 % pour une cible manquée)",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "range_position",
            "Position dans la fourchette",
            "Cibles en fourchette : réalisé sous le minimum, dans la fourchette ou au-dessus du maximum",
            Kind.CODE,
            labels={
                "below_min": "sous le minimum",
                "within": "dans la fourchette",
                "above_max": "au-dessus du maximum",
            },
        ),
        ExportColumn("late_years", "Retard (années)", "Jalons : années de retard sur l'échéance", Kind.COUNT, "années"),
        ExportColumn("unit", "Unité", "Unité des valeurs de la ligne (réalisé, cible, attendu, écart)"),
        ExportColumn(
            "measure",
            "Nature de l'indicateur",
            "Effectif, pourcentage, montant, jalon ou qualitatif",
            Kind.CODE,
            labels={str(k): v for k, v in MEASURE_FR.items()},
        ),
        ExportColumn(
            "cumulation",
            "Mode de calcul",
            "Cumul sur la période, valeur de chaque année ou niveau à l'échéance",
            Kind.CODE,
            labels={str(k): v for k, v in CUMULATION_FR.items()},
        ),
        ExportColumn(
            "direction",
            "Sens visé",
            "Hausse, baisse ou maintien",
            Kind.CODE,
            labels={str(k): v for k, v in DIRECTION_FR.items()},
        ),
        ExportColumn(
            "note", "Remarque", "Précision du calcul quand une règle l'exige (années manquantes, échéance passée...)"
        ),
    ]
    return columns, out


def _status_counts_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.targets import STATUS_FR, Status

    plan = ctx.plan
    labels = {p.id: f"Priorité {p.id[1:]}" for p in plan.priorities} | {
        "transversal": "Gouvernance et évaluation",
        "total": "Total",
    }
    titles = {p.id: p.title for p in plan.priorities} | {
        "transversal": plan.transversal.title,
        "total": "Ensemble du plan",
    }
    out = frame.assign(priority_title=frame["priority"].map(titles))
    columns = [
        ExportColumn(
            "priority", "Priorité", "Priorité du plan, fiches transversales, total du plan", Kind.CODE, labels=labels
        ),
        ExportColumn("priority_title", "Intitulé", "Intitulé de la priorité dans le plan"),
    ]
    columns += [
        ExportColumn(
            str(status),
            _capitalised(STATUS_FR[status]),
            f"Nombre d'indicateurs au statut « {STATUS_FR[status]} » en {ctx.year}",
            Kind.COUNT,
            "indicateurs",
        )
        for status in Status
        if str(status) in frame.columns
    ]
    return columns, out


def _execution_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    out = frame.assign(engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)))
    columns = [
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn("year", "Année", "Année budgétaire", Kind.YEAR),
        ExportColumn(
            "planned_mel_eur", "Prévu (MEL)", "Financement de la MEL prévu par le plan pour l'année", Kind.EUR, "€"
        ),
        ExportColumn(
            "spent_mel_eur",
            "Dépensé (MEL)",
            "Dépenses de la MEL déclarées pour l'année (vide : non renseigné)",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "execution_pct",
            "Taux d'exécution MEL (%)",
            "Dépensé par la MEL rapporté au financement MEL prévu",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "spent_all_funders_eur",
            "Dépensé (tous financeurs)",
            "Dépenses de tous les financeurs déclarées pour l'année (non rapportées au financement MEL)",
            Kind.EUR,
            "€",
        ),
    ]
    return columns, out


def _execution_totals_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    start = ctx.plan.period[0]
    span = f"{start}-{ctx.year}"
    out = frame.assign(engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)))
    columns = [
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn(
            "planned_mel_to_date_eur",
            f"Prévu (MEL) {span}",
            f"Financement de la MEL prévu de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "spent_mel_to_date_eur",
            f"Dépensé (MEL) {span}",
            f"Dépenses de la MEL déclarées de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "execution_pct",
            "Taux d'exécution MEL (%)",
            "Dépensé par la MEL rapporté au financement MEL prévu, à date (un minimum quand des années manquent)",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "years_reported",
            f"Années renseignées (sur {ctx.year - start + 1})",
            f"Nombre d'années de {start} à {ctx.year} dont les dépenses sont déclarées",
            Kind.COUNT,
            "années",
        ),
        ExportColumn(
            "spent_all_funders_to_date_eur",
            f"Dépensé (tous financeurs) {span}",
            f"Dépenses de tous les financeurs déclarées de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
    ]
    return columns, out


def _territory_names() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Territory code -> name, -> INSEE codes of its communes, -> names of its communes (QPV only)."""
    from evaluation.employment_gap import QPV_AGGREGATE
    from evaluation.territories import QPV_COUNT, load_qpv, territory_names

    qpv = load_qpv()
    names = territory_names(qpv) | {QPV_AGGREGATE: f"Ensemble des {QPV_COUNT} QPV"}
    insee = {q.code: ", ".join(c.insee for c in q.communes) for q in qpv}
    communes = {q.code: ", ".join(c.name for c in q.communes) for q in qpv}
    return names, insee, communes


def _names_of(codes: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """``'QN05965M, QN05966M'`` -> their names, comma-separated (empty stays empty)."""
    return codes.map(
        lambda text: (
            None
            if _is_missing(text) or not str(text).strip()
            else ", ".join(names.get(c, c) for c in str(text).split(", "))
        )
    )


def _barometer_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.barometer import INDICATORS

    names, insee, communes = _territory_names()
    units = {ind.key: ind.unit for ind in INDICATORS}
    out = frame.assign(
        territory_name=frame["territory"].map(names),
        commune_insee=frame["territory"].map(insee),
        communes=frame["territory"].map(communes),
        indicator_unit=frame["indicator"].map(units),
        qpv_left_out_names=_names_of(frame["qpv_left_out"], names),
    )
    base = ctx.barometer_base_year
    level_unit = "unité de l'indicateur (colonne « Unité »)"
    change_unit = "points pour un taux, sinon unité de l'indicateur"
    columns = [
        ExportColumn(
            "territory",
            "Code du territoire",
            "Code du QPV (géographie 2024), QPV : ensemble des QPV, MEL, MEL_HORS_QPV",
        ),
        ExportColumn("territory_name", "Territoire", "Nom du QPV ou de l'ensemble"),
        ExportColumn("commune_insee", "Code(s) INSEE des communes", "Codes INSEE des communes que couvre le QPV"),
        ExportColumn(
            "communes", "Commune(s)", "Communes que couvre le QPV (ses chiffres ne se répartissent pas entre elles)"
        ),
        ExportColumn(
            "indicator",
            "Indicateur",
            "Indicateur du baromètre",
            Kind.CODE,
            labels={ind.key: ind.label for ind in INDICATORS},
        ),
        ExportColumn("indicator_unit", "Unité", "Unité du niveau : %, pour 100 ou pour 1 000 habitants"),
        ExportColumn(
            "level",
            f"Niveau {ctx.year}",
            "Niveau de l'indicateur : numérateur rapporté au dénominateur",
            Kind.RATIO,
            level_unit,
        ),
        ExportColumn(
            "change_prev",
            f"Évolution depuis {ctx.year - 1}",
            "Niveau de l'année moins celui de l'année précédente",
            Kind.POINTS,
            change_unit,
        ),
        ExportColumn(
            "change_base",
            f"Évolution depuis {base}" if base is not None else "Évolution depuis la première année",
            "Niveau de l'année moins celui de la première année des données du baromètre",
            Kind.POINTS,
            change_unit,
        ),
        ExportColumn(
            "rank",
            "Rang parmi les QPV",
            "Rang du QPV, 1 étant le plus favorable (taux d'emploi et créations les plus hauts, autres indicateurs les plus bas)",
            Kind.COUNT,
        ),
        ExportColumn(
            "ranked_qpv", "QPV classés", "Nombre de QPV classés (ceux dont le niveau est publié)", Kind.COUNT, "QPV"
        ),
        ExportColumn(
            "numerator",
            "Numérateur",
            "Effectif au numérateur de l'indicateur (personnes, entreprises créées)",
            Kind.COUNT,
        ),
        ExportColumn(
            "denominator", "Dénominateur", "Effectif au dénominateur de l'indicateur (population concernée)", Kind.COUNT
        ),
        ExportColumn(
            "qpv_summed",
            "QPV additionnés",
            "Ligne de l'ensemble des QPV : nombre de QPV additionnés",
            Kind.COUNT,
            "QPV",
        ),
        _QPV_LEFT_OUT,
        _QPV_LEFT_OUT_NAMES,
        _secret(ctx),
    ]
    return columns, out


def _gap_series_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.employment_gap import COMPARATORS

    names, _insee, _communes = _territory_names()
    out = frame.assign(
        qpv_left_out_names=_names_of(frame["qpv_left_out"], names),
        interval_note=frame["interval_note"].map(french_note),
    )
    bound = "borne {side} de l'intervalle de confiance à 95 % (vide pour une source exhaustive)"
    columns = [
        ExportColumn("year", "Année", "Année des chiffres", Kind.YEAR),
        ExportColumn(
            "comparator",
            "Comparaison",
            "Territoire comparé aux QPV (le plan compare à l'ensemble de la Métropole)",
            Kind.CODE,
            labels={str(k): _capitalised(v) for k, v in COMPARATORS.items()},
        ),
        ExportColumn(
            "qpv_count", "QPV additionnés", "Nombre de QPV dont les effectifs sont additionnés", Kind.COUNT, "QPV"
        ),
        _QPV_LEFT_OUT,
        _QPV_LEFT_OUT_NAMES,
        ExportColumn(
            "qpv_employed", "En emploi (QPV)", "Habitants des QPV de 15 à 64 ans en emploi", Kind.COUNT, "personnes"
        ),
        ExportColumn("qpv_population", "15-64 ans (QPV)", "Habitants des QPV de 15 à 64 ans", Kind.COUNT, "personnes"),
        ExportColumn("qpv_rate_pct", "Taux d'emploi QPV (%)", "Taux d'emploi des 15-64 ans des QPV", Kind.PCT, "%"),
        ExportColumn(
            "qpv_low_pct", "Taux QPV : borne basse (%)", _capitalised(bound.format(side="basse")), Kind.PCT, "%"
        ),
        ExportColumn(
            "qpv_high_pct", "Taux QPV : borne haute (%)", _capitalised(bound.format(side="haute")), Kind.PCT, "%"
        ),
        ExportColumn(
            "comparator_employed",
            "En emploi (comparaison)",
            "Habitants de 15 à 64 ans en emploi du territoire comparé",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "comparator_population",
            "15-64 ans (comparaison)",
            "Habitants de 15 à 64 ans du territoire comparé",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "comparator_rate_pct",
            "Taux d'emploi comparaison (%)",
            "Taux d'emploi des 15-64 ans du territoire comparé",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "comparator_low_pct",
            "Taux comparaison : borne basse (%)",
            _capitalised(bound.format(side="basse")),
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "comparator_high_pct",
            "Taux comparaison : borne haute (%)",
            _capitalised(bound.format(side="haute")),
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "gap_pp",
            "Écart (points)",
            "Taux du territoire comparé moins taux des QPV (le plan vise à le réduire de moitié)",
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "gap_low_pp",
            "Écart : borne basse (points)",
            _capitalised(bound.format(side="basse")),
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "gap_high_pp",
            "Écart : borne haute (points)",
            _capitalised(bound.format(side="haute")),
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "sampled",
            "Estimé sur échantillon",
            "Oui quand un effectif de l'année vient d'une enquête par sondage (recensement)",
            Kind.FLAG,
        ),
        ExportColumn(
            "vintage",
            "Millésime du recensement",
            "Millésime N du recensement (enquêtes N-2 à N+2) ; vide pour une autre source",
            Kind.YEAR,
        ),
        ExportColumn(
            "design_effect",
            "Effet de plan",
            "Effet de plan appliqué aux effectifs du recensement pour les intervalles",
            Kind.RATIO,
        ),
        ExportColumn("interval_note", "Méthode des intervalles", "Comment les intervalles de confiance sont calculés"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """French labels of the cohort tables, those of the cohort reports: groups, levels, outcomes, tables."""
    from evaluation.cohort_release import ALL
    from evaluation.views_cohort import GROUPS_FR, LEVELS_FR, OUTCOME_FR, TABLE_FR

    groups = {**GROUPS_FR, ALL: "Ensemble"}
    levels = {**LEVELS_FR, ALL: "Ensemble"}
    tables = {name: caption for name, (caption, _row) in TABLE_FR.items()}
    return groups, levels, {key: _capitalised(label) for key, label in OUTCOME_FR.items()}, tables


def _cohort_common(frame: pd.DataFrame, ctx: TableContext, values: Sequence[str]) -> pd.DataFrame:
    """Programme titles, and ``secret`` as the names of the row's hidden (empty) value columns."""
    from evaluation.cohort_release import ALL

    titles = _engagement_titles(ctx.plan) | {ALL: "Ensemble des programmes suivis"}
    secret = [
        ", ".join(c for c in values if pd.isna(row[c])) if bool(row["secret"]) else None for _, row in frame.iterrows()
    ]
    return frame.assign(programme_title=frame["programme"].map(titles), secret=secret)


def _programme_columns() -> list[ExportColumn]:
    return [
        ExportColumn(
            "programme", "Programme", "Fiche action du programme suivi ; « all » : tous les programmes ensemble"
        ),
        ExportColumn("programme_title", "Intitulé du programme", "Titre de la fiche action du programme"),
    ]


def _cohort_rates_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    groups, levels, outcomes, _tables = _cohort_labels()
    values = ("entrants", "estimate_pct", "ci_low_pct", "ci_high_pct")
    out = _cohort_common(frame, ctx, values)
    ci = "Intervalle de confiance à 95 % de la part : borne {side}"
    columns = [
        *_programme_columns(),
        ExportColumn(
            "group_variable",
            "Groupes comparés",
            "Caractéristique selon laquelle les entrants sont répartis",
            Kind.CODE,
            labels=groups,
        ),
        ExportColumn("group", "Groupe", "Groupe d'entrants", Kind.CODE, labels=levels),
        ExportColumn("outcome", "Résultat", "Premier événement suivi après l'entrée", Kind.CODE, labels=outcomes),
        ExportColumn("horizon_months", "Délai (mois)", "Délai depuis l'entrée dans le programme", Kind.COUNT, "mois"),
        ExportColumn(
            "entrants",
            "Entrants",
            f"Personnes entrées dans le programme jusqu'à fin {ctx.year}",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "estimate_pct",
            "Part des entrants (%)",
            "Part des entrants dont le premier événement est ce résultat dans le délai (incidence cumulée, "
            "sorties de suivi et autres premiers événements pris en compte)",
            Kind.PCT,
            "%",
        ),
        ExportColumn("ci_low_pct", "Borne basse (%)", ci.format(side="basse"), Kind.PCT, "%"),
        ExportColumn("ci_high_pct", "Borne haute (%)", ci.format(side="haute"), Kind.PCT, "%"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_entrants_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    _groups, levels, _outcomes, tables = _cohort_labels()
    out = _cohort_common(frame, ctx, ("entrants",))
    columns = [
        *_programme_columns(),
        ExportColumn("table", "Tableau", "Tableau croisé auquel la ligne appartient", Kind.CODE, labels=tables),
        ExportColumn("row", "Ligne", "Année d'entrée ou tranche d'âge (Total : toutes)", Kind.CODE, labels=levels),
        ExportColumn("column", "Colonne", "Lieu de résidence ou sexe (Total : tous)", Kind.CODE, labels=levels),
        ExportColumn("entrants", "Entrants", "Personnes entrées dans le programme", Kind.COUNT, "personnes"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_attrition_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    out = _cohort_common(frame, ctx, ("entrants", "lost", "lost_pct"))
    columns = [
        *_programme_columns(),
        ExportColumn(
            "entrants",
            "Entrants",
            f"Personnes entrées dans le programme jusqu'à fin {ctx.year}",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "lost",
            "Perdus de vue",
            "Entrants dont le suivi s'est interrompu avant la date du rapport",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn("lost_pct", "Part des perdus de vue (%)", "Perdus de vue rapportés aux entrants", Kind.PCT, "%"),
        _secret(ctx),
    ]
    return columns, out


_SPECS: dict[str, _Spec] = {
    "ecarts_cibles": _gaps_spec,
    "statuts_par_priorite": _status_counts_spec,
    "execution_budgetaire": _execution_spec,
    "execution_cumulee": _execution_totals_spec,
    "barometre": _barometer_spec,
    "ecart_taux_emploi": _gap_series_spec,
    "cohortes_taux": _cohort_rates_spec,
    "cohortes_entrees": _cohort_entrants_spec,
    "cohortes_perdus_de_vue": _cohort_attrition_spec,
    **{name: (lambda n: lambda f, c: _impact_spec(n)(f, c))(name) for name in IMPACT_TABLES},
}


def _impact_spec(name: str) -> _Spec:
    from evaluation.views_impact import impact_export_spec

    return impact_export_spec(name)


def export_table(name: str, frame: pd.DataFrame, context: TableContext) -> ExportTable:
    """The table ``name`` of :func:`build_tables` as published (module docstring): columns described,
    names beside codes, French notes, numbers rounded.

    ``frame`` is the library's table (e.g. :func:`evaluation.targets.gap_table` for ``ecarts_cibles``).
    Raises ``ValueError`` for a table or a column this module does not describe: every published
    column is in the ``Lisez-moi`` sheet.
    """
    if name not in _SPECS:
        raise ValueError(f"no export is described for the table {name!r} (known: {', '.join(_SPECS)})")
    source = frame.reset_index(drop=True)
    columns, full = _SPECS[name](source, context)
    described = [c.name for c in columns]
    undescribed = [c for c in source.columns if c not in described]
    if undescribed:
        raise ValueError(f"table {name!r}: the columns {undescribed} are not described in evaluation.tables")
    measures = full["measure"] if "measure" in full.columns else None
    rounded = pd.DataFrame({c.name: _round_column(full[c.name], c.kind, measures) for c in columns})
    return ExportTable(name, SHEET_NAMES[name], TABLE_TITLES[name], tuple(columns), rounded)


def export_tables(tables: YearTables) -> list[ExportTable]:
    """Every table of :func:`build_tables` as published, in its order."""
    if tables.context is None:
        raise ValueError("the tables have no context: export the YearTables that build_tables returns")
    return [export_table(name, frame, tables.context) for name, frame in tables.items()]


# --------------------------------------------------------------------------------------------------
# The workbook

_MAX_WIDTH = 60


def _display_length(value: object, decimals: int | None, kind: Kind) -> int:
    """Characters a cell shows, for the column's width."""
    if value is None:
        return 0
    if isinstance(value, (int, float)) and decimals is not None:
        suffix = 2 if kind in (Kind.EUR, Kind.MEASURE) else 0  # ' €', ' %'
        return len(format_number(float(value), decimals)) + suffix
    return max((len(line) for line in str(value).splitlines()), default=0)


def _write_sheet(ws: Worksheet, table: ExportTable) -> None:
    """One table: French header bold, frozen, filtered; typed numbers with their formats; fitted widths."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append([c.header for c in table.columns])
    frame = table.frame
    for record in frame.itertuples(index=False):
        ws.append([table.sheet_value(c, v) for c, v in zip(table.columns, record, strict=True)])
    for position, column in enumerate(table.columns, start=1):
        letter = get_column_letter(position)
        numeric = column.kind in _DECIMALS or column.kind is Kind.MEASURE
        decimals = table.decimals(column) if numeric else [None] * len(frame)
        # The header wraps: its longest word, and at most 14 characters of it, set the width.
        lengths = [min(len(column.header), max(14, *(len(word) for word in column.header.split())))]
        for row, places in enumerate(decimals, start=2):
            cell = ws.cell(row=row, column=position)
            if places is not None:
                if column.kind is Kind.MEASURE:
                    cell.number_format = _measure_format(str(frame.at[row - 2, "measure"]), places)
                else:
                    cell.number_format = _EXCEL_FORMATS[column.kind]
            lengths.append(_display_length(cell.value, places, column.kind))
        width = min(max(lengths) + 2, _MAX_WIDTH)
        ws.column_dimensions[letter].width = max(width, 8)
        if max(lengths) > _MAX_WIDTH - 2:
            for row in range(2, len(frame) + 2):
                ws.cell(row=row, column=position).alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    last = get_column_letter(len(table.columns))
    ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"


def _codes_text(column: ExportColumn) -> str:
    """The codes of a closed-set column as the CSV writes them, with their labels."""
    if column.kind is Kind.FLAG:
        return "True = oui ; False = non"
    if column.kind is Kind.CODE and column.labels:
        return " ; ".join(f"{code} = {label}" for code, label in column.labels.items())
    return ""


def _write_readme(ws: Worksheet, tables: Sequence[ExportTable], context: TableContext, produced: dt.date) -> None:
    """The ``Lisez-moi`` sheet: the dataset, the year, the date, each sheet and each column."""
    from openpyxl.styles import Alignment, Font

    from evaluation.disclosure import DEFAULT_RULE, get_rule

    dataset = context.dataset
    threshold = get_rule(dataset.disclosure or DEFAULT_RULE).threshold
    nature = (
        "Données de démonstration synthétiques : ces chiffres sont fictifs, ils ne décrivent pas la réalité "
        "et ne doivent pas être cités."
        if dataset.demo
        else "Données réelles transmises par les partenaires."
    )
    facts = [
        ("Plan", context.plan.title),
        ("Année", context.year),
        ("Jeu de données", dataset.name),
        ("Nature des données", nature),
        ("Date de production", format_date(produced.isoformat())),
        (
            "Arrondis",
            "Comme dans les rapports : effectifs, années, rangs et euros entiers ; pourcentages, points et taux "
            "pour 100 ou pour 1 000 à une décimale. La progression vers une cible non atteinte est arrondie à "
            "l'inférieur.",
        ),
        (
            "Secret statistique",
            "Dans les tableaux qui comptent des personnes (baromètre, écart de taux d'emploi, cohortes), une "
            f"cellule qui repose sur un effectif inférieur à {threshold} personnes, ou qui permettrait de le "
            "retrouver, est laissée vide : la colonne « Secret statistique : cellules masquées » les nomme. "
            "Une cellule vide qui n'y figure pas est une donnée manquante.",
        ),
        (
            "Fichiers CSV",
            "Chaque feuille est aussi un fichier CSV du dossier tables/ (nom ci-dessous) : UTF-8 avec BOM, "
            "séparateur point-virgule, virgule décimale, nombres arrondis comme dans la feuille (un nombre entier "
            "sans décimale). En-têtes : les noms CSV ci-dessous, stables d'une année à l'autre. Les colonnes à "
            "valeurs codées (statut, nature...) y gardent le code ; la feuille montre le libellé (table des codes "
            "ci-dessous).",
        ),
    ]
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([f"Tableaux de l'évaluation – année {context.year}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    for key, value in facts:
        ws.append([key, value])
        row = ws.max_row
        ws.cell(row=row, column=1).font = bold
        ws.cell(row=row, column=2).alignment = wrap
        if key == "Nature des données" and dataset.demo:
            ws.cell(row=row, column=2).font = Font(bold=True, color="C00000")

    ws.append([])
    ws.append(["Feuilles"])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
    ws.append(["Feuille", "Fichier CSV", "Contenu", "Lignes"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for table in tables:
        ws.append([table.sheet, f"{table.name}.csv", table.title, len(table.frame)])
        ws.cell(row=ws.max_row, column=3).alignment = wrap

    ws.append([])
    ws.append(["Colonnes"])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
    ws.append(list(_README_COLUMNS))
    for cell in ws[ws.max_row]:
        cell.font = bold
    for table in tables:
        for column in table.columns:
            ws.append([table.sheet, column.header, column.name, column.meaning, column.unit, _codes_text(column)])
            for position in (2, 4, 6):
                ws.cell(row=ws.max_row, column=position).alignment = wrap
    for letter, width in zip("ABCDEF", (30, 40, 30, 70, 16, 50), strict=True):
        ws.column_dimensions[letter].width = width


#: Header of the column list of the ``Lisez-moi`` sheet.
_README_COLUMNS = ("Feuille", "En-tête de colonne", "Nom dans le CSV", "Signification", "Unité", "Codes du CSV")


def workbook_bytes(tables: Sequence[ExportTable], context: TableContext, produced: dt.date) -> bytes:
    """``tables.xlsx``: the ``Lisez-moi`` sheet, then one sheet per table (module docstring)."""
    from openpyxl import Workbook

    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    _write_readme(readme, tables, context, produced)
    for table in tables:
        _write_sheet(book.create_sheet(table.sheet), table)
    book.properties.title = f"Tableaux de l'évaluation – année {context.year}"
    book.properties.language = "fr-FR"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_tables(tables: YearTables, folder: Path, *, produced: dt.date | None = None) -> list[Path]:
    """Write ``<name>.csv`` for each table and :data:`WORKBOOK_NAME` (module docstring), atomically.

    ``tables`` is what :func:`build_tables` returns (its context names the dataset and the year);
    ``produced``: the date of production the ``Lisez-moi`` sheet gives (default today). Returns the
    paths written, the workbook last.
    """
    exported = export_tables(tables)
    assert tables.context is not None  # export_tables checked it
    written = []
    for table in exported:
        path = folder / f"{table.name}.csv"
        atomic_write_bytes(path, table.csv_bytes())
        written.append(path)
    path = folder / WORKBOOK_NAME
    atomic_write_bytes(path, workbook_bytes(exported, tables.context, produced or dt.date.today()))
    written.append(path)
    return written
