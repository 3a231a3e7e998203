"""The exported tables' names, their context, and what each column is: kind, unit, rounding as in the reports, Excel format, French notes."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import pandas as pd

from evaluation.formatting import NBSP, format_number
from evaluation.io import Dataset
from evaluation.referential.plan import Measure, Plan

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    pass


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
    # Written out here (the same as evaluation.present.impact.IMPACT_TABLE_TITLES, checked by a test)
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
#: The tables of "Ce qui peut être attribué au plan" (evaluation.present.impact).
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

    ``suppression_log`` has the columns :data:`evaluation.stats.disclosure.LOG_COLUMNS`, one row per hidden
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
    """Decimals of a value of ``ecarts_cibles`` in its indicator's unit (as :mod:`evaluation.referential.labels` prints it).

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
    from evaluation.stats.targets import Status

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


#: The forms of the notes of :mod:`evaluation.stats.targets` and :mod:`evaluation.stats.employment_gap`, in French.
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
    """A note of :func:`evaluation.stats.targets.assess` or of the gap series (``interval_note``), in French.

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
            warnings.warn(f"note not translated, add it to evaluation.present.tables: {clause!r}", stacklevel=2)
            clauses.append(f"(non traduit) {clause}")
    return " ; ".join(clauses)
