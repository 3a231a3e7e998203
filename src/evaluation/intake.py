"""Intake of partners' files: reading and validation (the Excel template is in :mod:`evaluation.template`).

Partners send realised values and spending as Excel workbooks (``.xlsx``, often our own template) or
CSV exports. The readers accept UTF-8 (with or without BOM) and Windows-1252, ``,`` ``;`` or tab
separators, decimal commas and thousands separators (``1 250,5``, non-breaking spaces too), and
French headers (``indicateur``, ``année``, ``valeur``...). Input files are never modified.

Every file is checked against a declarative pandera schema, lazily: **all** problems are reported at
once, each with the file, the line (as a spreadsheet shows it), the column, the value and what to do.
A file that cannot be read at all is *unreadable* (exit status 2); other problems are *findings*
(exit status 1).

Folders of a data directory (see :mod:`evaluation.io`):

``monitoring/``
    ``indicator_id, year, value`` and optional ``status`` (provisional, estimated, final), ``source``,
    ``comment``, ``numerator``, ``denominator`` (for a rate, ``value = 100 * numerator / denominator``
    when the value is left blank). Milestones are reported as 1 (done that year) or 0; qualitative
    indicators by a ``comment`` (a value without a comment is refused).
``spending/``
    ``engagement, year, amount_eur`` and optional ``funder``.
``barometer/``
    The yearly barometer of the QPV, long format: ``territory, year, indicator, value, source`` and
    optional ``sex``, ``age_band``, ``vintage``, ``sampled`` (see :func:`load_barometer`). Counts,
    not rates: a rate is computed from its numerator and denominator rows (e.g. ``employed_15_64``
    over ``population_15_64``).

Several files per folder are allowed (one per partner or per year); the same (indicator, year), or
(engagement, year, funder), or (territory, year, indicator, sex, age band), in two places is an
error naming both.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.errors import EvaluationError, _display_path
from evaluation.io import Dataset
from evaluation.plan import Measure, Plan, normalize_engagement_id
from evaluation.territories import AGGREGATES, load_qpv, territory_names

__all__ = [
    "Problem",
    "ValidationFindings",
    "STATUS_VALUES",
    "parse_number",
    "read_raw",
    "load_monitoring",
    "load_spending",
    "load_barometer",
    "validate_dataset",
    "format_problems",
    "MONITORING",
    "SPENDING",
    "BAROMETER",
    "BarometerCount",
    "BAROMETER_INDICATORS",
    "BAROMETER_COLUMNS",
    "BAROMETER_YEARS",
    "SEX_VALUES",
    "AGE_BANDS",
]

#: Canonical status values and the words partners use for them.
STATUS_VALUES = {
    "provisional": ("provisional", "provisoire"),
    "estimated": ("estimated", "estime", "estimation"),
    "final": ("final", "definitif", "definitive", "consolide"),
}

#: Largest number of problems printed before "... and N more".
MAX_PRINTED = 200


@dataclass(frozen=True)
class Problem:
    """One problem of an input file; ``fatal`` when the file cannot be read at all."""

    path: Path
    line: int | None
    column: str | None
    value: object
    message: str
    hint: str | None = None
    fatal: bool = False

    def __str__(self) -> str:
        where = [_display_path(self.path)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": "
        if not _blank(self.value):
            text += f"{_show(self.value)} "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ValidationFindings(EvaluationError):
    """Input files with problems; ``exit_code`` 2 when one is unreadable, 1 otherwise."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        self.exit_code = 2 if any(p.fatal for p in problems) else 1
        super().__init__(f"{len(problems)} problem(s) in the input files (run 'evaluation validate' to list them)")


def _show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def format_problems(problems: Sequence[Problem], limit: int = MAX_PRINTED) -> list[str]:
    """One line per problem, capped at ``limit`` with a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more problem(s)")
    return lines


# --------------------------------------------------------------------------------------------------
# Numbers and headers


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")


def parse_number(value: object) -> float | None:
    """A number from a cell: ``1 250,5`` / ``1.250,5`` / ``1250.5`` / ``15 %`` -> float; blank -> None.

    Raises ``ValueError`` for anything else. The decimal separator is the comma, or the dot when
    there is no comma; spaces (also non-breaking), apostrophes and, beside a decimal comma, dots are
    thousands separators. A trailing ``%`` or ``€`` is ignored. ``1.250`` and ``1,250`` are refused
    as ambiguous (1 250 written the English or German way, or 1,25): a count divided by 1 000 by
    mistake would pass every other check.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError("infinite")
        return float(value)
    text = _SPACES.sub("", str(value)).rstrip("%€").strip()
    if not text:
        return None
    if re.fullmatch(r"-?[1-9]\d{0,2}[.,]\d{3}", text):
        raise ValueError("ambiguous: a thousands separator or a decimal mark")
    if "," in text:
        if text.count(",") > 1:
            raise ValueError("several decimal commas")
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1:
        if not re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
            raise ValueError("several dots")
        text = text.replace(".", "")
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
        raise ValueError("not a number")
    return float(text)


def _parse_year(value: object) -> int | None:
    number = parse_number(value)
    if number is None or not float(number).is_integer():
        raise ValueError("not a year")
    return int(number)


def _fold(text: str) -> str:
    """Header folded for matching: lower case, no accents, single spaces, no unit in parentheses."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    text = re.sub(r"\(.*?\)", "", text.lower())
    return re.sub(r"[\s_\-]+", " ", text).strip()


@dataclass(frozen=True)
class TableSpec:
    """Columns of one kind of input file: canonical name -> accepted headers (folded)."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    #: Columns of our own template that only help the partner (label, target...): read and ignored.
    ignored: tuple[str, ...] = field(default=())
    #: French header suggested when a required column is missing (default: the third alias, or the first).
    french: dict[str, str] = field(default_factory=dict)

    def canonical(self, header: str) -> str | None:
        folded = _fold(header)
        for name, names in self.aliases.items():
            if folded == _fold(name) or folded in names:
                return name
        return None

    @property
    def known_headers(self) -> list[str]:
        return [h for names in self.aliases.values() for h in names]


MONITORING = TableSpec(
    kind="monitoring",
    required=("indicator_id", "year", "value"),
    optional=("status", "source", "comment", "numerator", "denominator"),
    aliases={
        "indicator_id": ("indicator id", "indicator", "indicateur", "code indicateur", "id indicateur", "code"),
        "year": ("year", "annee", "an", "exercice"),
        "value": ("value", "valeur", "realise", "valeur realisee", "realisation"),
        "status": ("status", "statut", "etat"),
        "source": ("source", "producteur"),
        "comment": ("comment", "commentaire", "commentaires", "remarque"),
        "numerator": ("numerator", "numerateur"),
        "denominator": ("denominator", "denominateur"),
        "_label": ("libelle", "label", "resultat attendu"),
        "_unit": ("unite", "unit"),
        "_target": ("cible", "target"),
        "_deadline": ("echeance", "deadline"),
        "_engagement": ("engagement", "fiche"),
    },
    ignored=("_label", "_unit", "_target", "_deadline", "_engagement"),
)

SPENDING = TableSpec(
    kind="spending",
    required=("engagement", "year", "amount_eur"),
    optional=("funder", "comment"),
    aliases={
        "engagement": ("engagement", "fiche", "fiche action", "engagement id"),
        "year": ("year", "annee", "an", "exercice"),
        "amount_eur": ("amount eur", "amount", "montant", "montant eur", "montant en euros", "depense", "depenses"),
        "funder": ("funder", "financeur"),
        "comment": ("comment", "commentaire", "remarque"),
    },
)


BAROMETER = TableSpec(
    kind="barometer",
    required=("territory", "year", "indicator", "value", "source"),
    optional=("sex", "age_band", "vintage", "sampled"),
    aliases={
        "territory": ("territory", "territoire", "code", "code qp", "code qpv", "code territoire"),
        "year": ("year", "annee", "an"),
        "indicator": ("indicator", "indicateur", "code indicateur"),
        "sex": ("sex", "sexe"),
        "age_band": (
            "age band",
            "tranche d'age",
            "tranche age",
            "tranche d age",
            "tranche dage",
            "classe d'age",
            "age",
        ),
        "value": ("value", "valeur"),
        "source": ("source", "producteur"),
        "vintage": ("vintage", "millesime"),
        "sampled": ("sampled", "echantillon", "sondage"),
    },
    french={
        "territory": "territoire",
        "year": "année",
        "indicator": "indicateur",
        "value": "valeur",
        "source": "source",
    },
)


@dataclass(frozen=True)
class BarometerCount:
    """An indicator of the barometer: a count of persons, recipients or businesses.

    ``label`` is the French label shown in reports, ``unit`` what is counted, ``census`` whether the
    count comes from the census (a sample: ``sampled`` defaults to true for it).
    """

    label: str
    unit: str
    census: bool = False


#: The barometer's indicators (closed list), all counts: rates are ratios of two of them
#: (employment rate = employed_15_64 / population_15_64, poverty rate = poor_population /
#: fiscal_population, share of fully dependent recipients = caf_fully_dependent / caf_recipients).
BAROMETER_INDICATORS = MappingProxyType(
    {
        "population_15_64": BarometerCount("Population de 15 à 64 ans", "personnes", census=True),
        "employed_15_64": BarometerCount("Personnes de 15 à 64 ans en emploi", "personnes", census=True),
        "population": BarometerCount("Population municipale", "personnes", census=True),
        "jobseekers": BarometerCount("Demandeurs d'emploi inscrits en catégories A, B, C", "demandeurs d'emploi"),
        "poor_population": BarometerCount(
            "Personnes sous le seuil de pauvreté (60 % du niveau de vie médian)", "personnes"
        ),
        "fiscal_population": BarometerCount(
            "Population couverte par Filosofi (dénominateur du taux de pauvreté)", "personnes"
        ),
        "caf_recipients": BarometerCount("Allocataires CAF", "allocataires"),
        "caf_fully_dependent": BarometerCount(
            "Allocataires dont les revenus sont à 100 % des prestations", "allocataires"
        ),
        "business_creations": BarometerCount("Créations d'entreprises", "entreprises"),
    }
)

#: Canonical sex values and the words partners use for them (folded); blank means ``ensemble``.
SEX_VALUES = MappingProxyType(
    {
        "ensemble": ("ensemble", "total", "tous", "les deux"),
        "F": ("f", "femmes", "femme"),
        "M": ("m", "hommes", "homme"),
    }
)

#: Age bands of the 15-64 population (``total``: every age of the indicator); blank means ``total``.
AGE_BANDS = ("total", "15-24", "25-54", "55-64")

#: Years a barometer row may have (first and last, inclusive).
BAROMETER_YEARS = (2006, 2030)

#: A census vintage N pools the surveys of N-2 to N+2: a value for year Y needs |Y - N| <= 2.
_VINTAGE_SPAN = 2

BAROMETER_COLUMNS = [
    "territory",
    "year",
    "indicator",
    "sex",
    "age_band",
    "value",
    "source",
    "vintage",
    "sampled",
    "file",
    "line",
]
_BAROMETER_KEY = ["territory", "year", "indicator", "sex", "age_band"]


# --------------------------------------------------------------------------------------------------
# Raw reading


@dataclass(frozen=True)
class RawTable:
    """Cells of a file by canonical column, indexed by the line number a spreadsheet shows."""

    path: Path
    frame: pd.DataFrame


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _csv_rows(path: Path) -> Iterable[tuple[int, list[str]]]:
    data = path.read_bytes()
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise _Unreadable(
            "is not a text CSV file (an Excel workbook must be named .xlsx)", "save it as CSV or rename it .xlsx"
        )
    try:
        text = _decode(data)
    except UnicodeDecodeError as err:
        raise _Unreadable(
            f"has an unknown text encoding ({err.reason})", "save it as UTF-8 or Windows-1252 CSV"
        ) from err
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as err:
        raise _Unreadable(
            f"is not valid CSV near line {reader.line_num} ({err})", "check the quotes of that line"
        ) from err


def _xlsx_rows(path: Path) -> Iterable[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise _Unreadable(
            f"is not a readable Excel workbook ({type(err).__name__})", "open it in Excel and save it again as .xlsx"
        ) from err
    try:
        if "Saisie" in book.sheetnames:
            sheet = book["Saisie"]
        elif len(book.sheetnames) == 1:
            sheet = book.worksheets[0]
        else:
            raise _Unreadable(
                f"has several sheets ({', '.join(book.sheetnames)}) and none named 'Saisie'",
                "name the sheet holding the data 'Saisie', or keep only that sheet",
            )
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


class _Unreadable(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _blank(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    )


#: The French header shown in hints, for the columns of every kind of file.
_FRENCH_HEADERS = {
    "indicator_id": "indicateur",
    "year": "année",
    "value": "valeur",
    "engagement": "fiche",
    "amount_eur": "montant",
}


def _french_header(spec: TableSpec, name: str) -> str:
    if name in spec.french:
        return spec.french[name]
    return _FRENCH_HEADERS.get(name, spec.aliases[name][0])


def read_raw(path: Path, spec: TableSpec) -> tuple[RawTable | None, list[Problem]]:
    """Read a file's cells without interpreting them; problems for unreadable, empty or badly headed files."""
    try:
        rows = list(_xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path))
    except _Unreadable as err:
        return None, [Problem(path, None, None, None, str(err), err.hint, fatal=True)]
    except OSError as err:
        return None, [
            Problem(
                path, None, None, None, f"cannot be opened ({err.strerror})", "check the file's permissions", fatal=True
            )
        ]
    rows = [(line, cells) for line, cells in rows if not all(_blank(c) for c in cells)]
    if not rows:
        return None, [
            Problem(
                path,
                None,
                None,
                None,
                "is empty",
                f"fill it with a header line ({', '.join(spec.required)}) and data, or remove it",
            )
        ]
    header_line, header = rows[0]
    problems: list[Problem] = []
    columns: dict[int, str] = {}
    for position, cell in enumerate(header):
        if _blank(cell):
            continue
        name = spec.canonical(str(cell))
        if name is None:
            close = difflib.get_close_matches(_fold(str(cell)), spec.known_headers, n=1, cutoff=0.8)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"expected columns: {', '.join(spec.required + spec.optional)}"
            )
            problems.append(Problem(path, header_line, str(cell), None, "unknown column", hint))
        elif name in columns.values():
            problems.append(Problem(path, header_line, str(cell), None, "column given twice", "keep one of them"))
        else:
            columns[position] = name
    missing = [c for c in spec.required if c not in columns.values()]
    for name in missing:
        problems.append(
            Problem(
                path,
                header_line,
                name,
                None,
                "required column is missing",
                f"add a column '{name}' (or its French name '{_french_header(spec, name)}')",
            )
        )
    if missing:
        return None, problems
    width = max(len(header) - next((i for i, c in enumerate(reversed(header)) if not _blank(c)), 0), 1)
    for line, cells in rows[1:]:
        extra = [c for c in cells[width:] if not _blank(c)]
        if extra:
            problems.append(
                Problem(
                    path,
                    line,
                    None,
                    ", ".join(str(c) for c in extra),
                    f"has {len(extra)} cell(s) more than the header",
                    "a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number",
                )
            )
    records = {
        line: {name: (cells[pos] if pos < len(cells) else None) for pos, name in columns.items()}
        for line, cells in rows[1:]
        if not any(not _blank(c) for c in cells[width:])
    }
    frame = pd.DataFrame.from_dict(
        records, orient="index", columns=[n for n in columns.values() if n not in spec.ignored], dtype=object
    )
    for name in spec.required + spec.optional:
        if name not in frame.columns:
            frame[name] = None
    if frame.empty:
        problems.append(Problem(path, None, None, None, "has a header but no data", "fill it or remove it"))
        return None, problems
    frame.index.name = "line"
    return RawTable(path, frame), problems


# --------------------------------------------------------------------------------------------------
# Schemas (pandera, lazy): every check has a key, rendered as a message and a fix below.


def _is_number(value: object) -> bool:
    try:
        parse_number(value)
    except ValueError:
        return False
    return True


def _number_or_nan(value: object) -> float:
    try:
        number = parse_number(value)
    except ValueError:
        return math.nan
    return math.nan if number is None else number


def _is_year(value: object) -> bool:
    try:
        _parse_year(value)
    except ValueError:
        return False
    return True


def _in_horizon(value: object) -> bool:
    try:
        return _parse_year(value) in PLAN_YEARS
    except ValueError:
        return True  # reported by the year check


def _status_key(value: object) -> str | None:
    if _blank(value):
        return None
    folded = _fold(str(value))
    for key, words in STATUS_VALUES.items():
        if folded in words:
            return key
    return "?"


#: check key -> (column reported, message, fix). ``{years}`` and friends are filled in.
_MESSAGES: dict[str, tuple[str | None, str, str]] = {
    "missing_indicator": ("indicator_id", "is missing", "give the indicator code, e.g. 1.1 (see 'evaluation plan')"),
    "unknown_indicator": ("indicator_id", "is not an indicator of the plan", "{suggestion}"),
    "not_a_year": ("year", "is not a year", "write the year with 4 digits, e.g. 2019"),
    "year_outside_plan": ("year", "is outside the plan's horizon", "use a year from 2018 to 2021"),
    "not_a_number": (
        "value",
        "is not a number",
        "use digits, decimal comma allowed, e.g. 1 250,5; write 1250 or 1,25 rather than 1.250",
    ),
    "numerator_not_a_number": ("numerator", "is not a number", "use digits, e.g. 45"),
    "denominator_not_a_number": ("denominator", "is not a number", "use digits, e.g. 120"),
    "unknown_status": (
        "status",
        "is not a known status",
        "use provisoire, estimé or définitif (provisional, estimated, final)",
    ),
    "negative_count": ("value", "is negative, and this indicator counts", "a count is 0 or more"),
    "percentage_out_of_range": (
        "value",
        "is not a percentage between 0 and 100",
        "give the percentage between 0 and 100, e.g. 15 for 15 % (or check the numerator and denominator)",
    ),
    "indicator_not_text": (
        "indicator_id",
        "is a number in the spreadsheet, not a code (5.10 would read 5.1)",
        "format the cell as text and type the code again",
    ),
    "ratio_incomplete": (
        "numerator",
        "is given without its denominator (or the reverse) and without a value",
        "give both numerator and denominator, or the value",
    ),
    "milestone_not_binary": (
        "value",
        "is not 0 or 1 for a milestone",
        "write 1 the year the milestone was reached, 0 before",
    ),
    "qualitative_without_comment": (
        "comment",
        "is missing: the indicator is qualitative and a value was given",
        "describe what was achieved in the comment column",
    ),
    "duplicate_row": (
        "indicator_id",
        "appears twice for this year in this file (first at line {first})",
        "keep one row per indicator and year",
    ),
    "ratio_mismatch": (
        "value",
        "differs from 100 × numerator / denominator = {ratio}",
        "correct the value, or leave it blank to compute it",
    ),
    "zero_denominator": ("denominator", "is zero or negative", "give the number of people the rate is computed on"),
    "missing_engagement": ("engagement", "is missing", "give the sheet id, e.g. 5a (see 'evaluation plan')"),
    "unknown_engagement": ("engagement", "is not a sheet of the plan", "{suggestion}"),
    "negative_amount": ("amount_eur", "is negative", "give the amount spent, in euros, 0 or more"),
    "amount_not_a_number": ("amount_eur", "is not a number", "use digits, decimal comma allowed, e.g. 70 000"),
    "duplicate_spending": (
        "engagement",
        "appears twice for this year and funder in this file (first at line {first})",
        "add the amounts into one row",
    ),
    "missing_territory": ("territory", "is missing", "give the QPV code (e.g. QN05972M), MEL or MEL_HORS_QPV"),
    "unknown_territory": ("territory", "is not a territory of the barometer", "{suggestion}"),
    "year_outside_barometer": (
        "year",
        "is outside the barometer's years",
        f"use a year from {BAROMETER_YEARS[0]} to {BAROMETER_YEARS[1]}",
    ),
    "missing_barometer_indicator": ("indicator", "is missing", "give the indicator code, e.g. jobseekers"),
    "unknown_barometer_indicator": ("indicator", "is not an indicator of the barometer", "{suggestion}"),
    "bad_sex": ("sex", "is not a known sex value", "use ensemble, F or M (total, femmes, hommes), or leave it blank"),
    "bad_age_band": (
        "age_band",
        "is not a known age band",
        f"use {', '.join(AGE_BANDS)}, or leave it blank for total",
    ),
    "missing_value": (
        "value",
        "is missing",
        "give the count, or remove the row (a value withheld by statistical secrecy is left out)",
    ),
    "negative_value": ("value", "is negative", "a count is 0 or more"),
    "missing_source": ("source", "is missing", "name the producer of the value, e.g. INSEE, recensement"),
    "vintage_not_a_year": (
        "vintage",
        "is not a year",
        "give the census vintage with 4 digits, e.g. 2017, or leave it blank",
    ),
    "vintage_too_far": (
        "vintage",
        f"is more than {_VINTAGE_SPAN} years away from the row's year",
        "a census vintage N pools the surveys of N-2 to N+2: use a vintage within 2 years of the year",
    ),
    "bad_sampled": ("sampled", "is not oui or non", "write oui (a sample survey such as the census) or non"),
    "duplicate_barometer": (
        "territory",
        "appears twice for this year, indicator, sex and age band in this file (first at line {first})",
        "keep one row per territory, year, indicator, sex and age band",
    ),
}


def _monitoring_schema(plan: Plan):  # noqa: ANN202 - pandera type imported lazily
    import pandera.pandas as pa

    indicators = {i.id: i for i in plan.indicators()}

    def measure_of(ids: pd.Series) -> pd.Series:
        return ids.map(
            lambda v: indicators[str(v).strip()].measure if not _blank(v) and str(v).strip() in indicators else None
        )

    def effective_values(frame: pd.DataFrame) -> pd.Series:
        """The value, or 100 x numerator / denominator when the value is blank (what the reports will use)."""
        values = frame["value"].map(_number_or_nan)
        ratio = (
            100
            * frame["numerator"].map(_number_or_nan)
            / frame["denominator"].map(_number_or_nan).where(lambda d: d > 0)
        )
        return values.where(values.notna(), ratio)

    def value_ok(frame: pd.DataFrame, rule: Callable[[Measure | None, float], bool]) -> pd.Series:
        measures = measure_of(frame["indicator_id"])
        values = effective_values(frame)
        return pd.Series(
            [math.isnan(v) or rule(m, v) for m, v in zip(measures, values, strict=True)], index=frame.index
        )

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        years = frame["year"].map(_year_or_none)
        keys = frame["indicator_id"].map(lambda v: str(v).strip()) + "|" + years.map(str)
        # A row whose year cannot be read is reported for that; it is nobody's duplicate.
        return ~(keys.duplicated(keep="first") & years.notna().to_numpy())

    def ratio_complete(frame: pd.DataFrame) -> pd.Series:
        has_num = ~frame["numerator"].map(_blank)
        has_den = ~frame["denominator"].map(_blank)
        has_value = ~frame["value"].map(_blank)
        return ~((has_num ^ has_den) & ~has_value)

    def qualitative_commented(frame: pd.DataFrame) -> pd.Series:
        measures = measure_of(frame["indicator_id"])
        has_value = ~frame["value"].map(_blank)
        has_comment = ~frame["comment"].map(_blank)
        return ~((measures == Measure.QUALITATIVE) & has_value & ~has_comment)

    def ratio_consistent(frame: pd.DataFrame) -> pd.Series:
        num = frame["numerator"].map(_number_or_nan)
        den = frame["denominator"].map(_number_or_nan)
        val = frame["value"].map(_number_or_nan)
        ratio = 100 * num / den.where(den > 0)
        return ~((ratio - val).abs() > 0.05)

    def positive_denominator(frame: pd.DataFrame) -> pd.Series:
        den = frame["denominator"].map(_number_or_nan)
        return ~(den <= 0)

    def check(fn: Callable, key: str, element_wise: bool = False) -> pa.Check:
        return pa.Check(fn, error=key, element_wise=element_wise)

    return pa.DataFrameSchema(
        {
            "indicator_id": pa.Column(
                object,
                [
                    pa.Check(lambda v: not _blank(v), error="missing_indicator", element_wise=True, ignore_na=False),
                    check(lambda v: _blank(v) or isinstance(v, str), "indicator_not_text", element_wise=True),
                    check(lambda v: _blank(v) or str(v).strip() in indicators, "unknown_indicator", element_wise=True),
                ],
                nullable=True,
            ),
            "year": pa.Column(
                object,
                [check(_is_year, "not_a_year", True), check(_in_horizon, "year_outside_plan", True)],
                nullable=True,
            ),
            "value": pa.Column(object, [check(_is_number, "not_a_number", True)], nullable=True),
            "numerator": pa.Column(object, [check(_is_number, "numerator_not_a_number", True)], nullable=True),
            "denominator": pa.Column(object, [check(_is_number, "denominator_not_a_number", True)], nullable=True),
            "status": pa.Column(
                object, [check(lambda v: _status_key(v) != "?", "unknown_status", True)], nullable=True
            ),
        },
        checks=[
            check(
                lambda f: value_ok(f, lambda m, v: m not in (Measure.COUNT, Measure.AMOUNT) or v >= 0), "negative_count"
            ),
            check(
                lambda f: value_ok(f, lambda m, v: m is not Measure.PERCENTAGE or 0 <= v <= 100),
                "percentage_out_of_range",
            ),
            check(
                lambda f: value_ok(f, lambda m, v: m is not Measure.MILESTONE or v in (0, 1)), "milestone_not_binary"
            ),
            check(qualitative_commented, "qualitative_without_comment"),
            check(ratio_complete, "ratio_incomplete"),
            check(not_duplicated, "duplicate_row"),
            check(positive_denominator, "zero_denominator"),
            check(ratio_consistent, "ratio_mismatch"),
        ],
        strict=False,
    )


def _spending_schema(plan: Plan):  # noqa: ANN202
    import pandera.pandas as pa

    sheets = {s.id for s in plan.engagements}

    def known(value: object) -> bool:
        return _blank(value) or normalize_engagement_id(str(value)) in sheets

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        keys = (
            frame["engagement"].map(lambda v: normalize_engagement_id(str(v)))
            + "|"
            + frame["year"].map(lambda v: str(_year_or_none(v)))
            + "|"
            + frame["funder"].map(lambda v: "" if _blank(v) else _fold(str(v)))
        )
        return ~keys.duplicated(keep="first")

    def non_negative(value: object) -> bool:
        number = _number_or_nan(value)
        return math.isnan(number) or number >= 0

    return pa.DataFrameSchema(
        {
            "engagement": pa.Column(
                object,
                [
                    pa.Check(lambda v: not _blank(v), error="missing_engagement", element_wise=True),
                    pa.Check(known, error="unknown_engagement", element_wise=True),
                ],
                nullable=True,
            ),
            "year": pa.Column(
                object,
                [
                    pa.Check(_is_year, error="not_a_year", element_wise=True),
                    pa.Check(_in_horizon, error="year_outside_plan", element_wise=True),
                ],
                nullable=True,
            ),
            "amount_eur": pa.Column(
                object,
                [
                    pa.Check(_is_number, error="amount_not_a_number", element_wise=True),
                    pa.Check(non_negative, error="negative_amount", element_wise=True),
                ],
                nullable=True,
            ),
        },
        checks=[pa.Check(not_duplicated, error="duplicate_spending")],
        strict=False,
    )


# Barometer cells: each parser returns the canonical value or raises ValueError.


def _parse_territory(value: object, codes: frozenset[str]) -> str:
    """A QPV code (any case) of ``codes``, or an aggregate of :data:`AGGREGATES` (``mel hors qpv`` too)."""
    if _blank(value):
        raise ValueError("missing")
    text = str(value).strip()
    if text.upper() in codes:
        return text.upper()
    aggregates = {_fold(code): code for code in AGGREGATES}
    if _fold(text) in aggregates:
        return aggregates[_fold(text)]
    raise ValueError("unknown territory")


def _parse_indicator(value: object) -> str:
    """A code of :data:`BAROMETER_INDICATORS`, in any case, with spaces or dashes for underscores."""
    if _blank(value):
        raise ValueError("missing")
    text = str(value).strip()
    if text in BAROMETER_INDICATORS:
        return text
    folded = {_fold(code): code for code in BAROMETER_INDICATORS}
    if _fold(text) in folded:
        return folded[_fold(text)]
    raise ValueError("unknown indicator")


def _parse_sex(value: object) -> str:
    """``ensemble`` (also blank), ``F`` or ``M`` from the words of :data:`SEX_VALUES`."""
    if _blank(value):
        return "ensemble"
    if value in SEX_VALUES:
        return str(value)
    folded = _fold(str(value))
    for key, words in SEX_VALUES.items():
        if folded in words:
            return key
    raise ValueError("unknown sex")


def _parse_age_band(value: object) -> str:
    """An age band of :data:`AGE_BANDS`: ``15-24``, ``15 - 24 ans``, ``15 à 24 ans``...; blank or ``ensemble`` is total."""
    if _blank(value):
        return "total"
    if value in AGE_BANDS:
        return str(value)
    folded = re.sub(r"\b(ans?|a)\b", " ", _fold(str(value)))
    folded = " ".join(folded.split())
    if folded in ("total", "ensemble", "tous ages"):
        return "total"
    for band in AGE_BANDS:
        if folded == _fold(band):
            return band
    raise ValueError("unknown age band")


def _parse_sampled(value: object) -> bool | None:
    """``oui``/``true``/``1`` -> True, ``non``/``false``/``0`` -> False, blank -> None (the indicator's default)."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    folded = _fold(str(value))
    if folded in ("oui", "true", "vrai", "yes", "1"):
        return True
    if folded in ("non", "false", "faux", "no", "0"):
        return False
    raise ValueError("not oui or non")


def _valid(parser: Callable[[object], object]) -> Callable[[object], bool]:
    """An element-wise check from a parser: True when the parser accepts the cell."""

    def check(value: object) -> bool:
        try:
            parser(value)
        except ValueError:
            return False
        return True

    return check


def _or_text(parser: Callable[[object], object], value: object) -> object:
    """The parsed value, or the cell's text when the parser refuses it (for keys of bad rows)."""
    try:
        return parser(value)
    except ValueError:
        return str(value).strip()


def _barometer_keys(frame: pd.DataFrame, codes: frozenset[str]) -> pd.Series:
    """Key of each row (territory, year, indicator, sex, age band), on canonical values."""
    parsers = {
        "territory": lambda v: _parse_territory(v, codes),
        "year": _parse_year,
        "indicator": _parse_indicator,
        "sex": _parse_sex,
        "age_band": _parse_age_band,
    }
    parts = [frame[column].map(lambda v, p=parser: str(_or_text(p, v))) for column, parser in parsers.items()]
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "|" + part
    return keys


def _barometer_schema(codes: frozenset[str]):  # noqa: ANN202
    import pandera.pandas as pa

    def check(fn: Callable, key: str, element_wise: bool = True, ignore_na: bool = True) -> pa.Check:
        return pa.Check(fn, error=key, element_wise=element_wise, ignore_na=ignore_na)

    def known_territory(value: object) -> bool:
        return _blank(value) or _valid(lambda v: _parse_territory(v, codes))(value)

    def in_years(value: object) -> bool:
        year = _year_or_none(value)
        return year is None or BAROMETER_YEARS[0] <= year <= BAROMETER_YEARS[1]

    def non_negative(value: object) -> bool:
        number = _number_or_nan(value)
        return math.isnan(number) or number >= 0

    def vintage_close(frame: pd.DataFrame) -> pd.Series:
        years = [_year_or_none(v) for v in frame["year"]]
        vintages = [_year_or_none(v) for v in frame["vintage"]]
        return pd.Series(
            [y is None or v is None or abs(y - v) <= _VINTAGE_SPAN for y, v in zip(years, vintages, strict=True)],
            index=frame.index,
        )

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_barometer_keys(frame, codes).duplicated(keep="first")

    return pa.DataFrameSchema(
        {
            "territory": pa.Column(
                object,
                [
                    check(lambda v: not _blank(v), "missing_territory", ignore_na=False),
                    check(known_territory, "unknown_territory"),
                ],
                nullable=True,
            ),
            "year": pa.Column(
                object,
                [check(_is_year, "not_a_year", ignore_na=False), check(in_years, "year_outside_barometer")],
                nullable=True,
            ),
            "indicator": pa.Column(
                object,
                [
                    check(lambda v: not _blank(v), "missing_barometer_indicator", ignore_na=False),
                    check(lambda v: _blank(v) or _valid(_parse_indicator)(v), "unknown_barometer_indicator"),
                ],
                nullable=True,
            ),
            "sex": pa.Column(object, [check(_valid(_parse_sex), "bad_sex")], nullable=True),
            "age_band": pa.Column(object, [check(_valid(_parse_age_band), "bad_age_band")], nullable=True),
            "value": pa.Column(
                object,
                [
                    check(lambda v: not _blank(v), "missing_value", ignore_na=False),
                    check(_is_number, "not_a_number"),
                    check(non_negative, "negative_value"),
                ],
                nullable=True,
            ),
            "source": pa.Column(
                object, [check(lambda v: not _blank(v), "missing_source", ignore_na=False)], nullable=True
            ),
            "vintage": pa.Column(
                object, [check(lambda v: _blank(v) or _is_year(v), "vintage_not_a_year")], nullable=True
            ),
            "sampled": pa.Column(object, [check(_valid(_parse_sampled), "bad_sampled")], nullable=True),
        },
        checks=[
            check(vintage_close, "vintage_too_far", element_wise=False),
            check(not_duplicated, "duplicate_barometer", element_wise=False),
        ],
        strict=False,
    )


def _suggest_territory(value: object, names: dict[str, str]) -> str:
    """The closest territory code, by code or by name (``Secteur Sud`` -> QN05972M)."""
    text = str(value).strip()
    close = difflib.get_close_matches(text.upper(), list(names), n=1, cutoff=0.6)
    if not close:
        by_name = {_fold(name): code for code, name in names.items()}
        match = difflib.get_close_matches(_fold(text), list(by_name), n=1, cutoff=0.6)
        close = [by_name[match[0]]] if match else []
    if close:
        return f"did you mean '{close[0]}' ({names[close[0]]})?"
    return "use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), MEL or MEL_HORS_QPV"


def _suggest_indicator(value: object) -> str:
    """The closest barometer indicator, by code or by French label."""
    options = {_fold(code): code for code in BAROMETER_INDICATORS}
    options.update({_fold(i.label): code for code, i in BAROMETER_INDICATORS.items()})
    close = difflib.get_close_matches(_fold(str(value)), list(options), n=1, cutoff=0.5)
    if close:
        return f"did you mean '{options[close[0]]}'?"
    return f"use one of {', '.join(BAROMETER_INDICATORS)}"


def _year_or_none(value: object) -> int | None:
    try:
        return _parse_year(value)
    except ValueError:
        return None


def _suggest(value: object, choices: Iterable[str]) -> str:
    text = str(value).strip()
    choices = list(choices)
    prefix = text.rsplit(".", 1)[0] + "." if "." in text else None
    siblings = [c for c in choices if prefix and c.startswith(prefix)]
    if siblings:
        return f"sheet {prefix[:-1]} has the indicators {', '.join(siblings)}"
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else "see the codes with 'evaluation plan'"


def _run_schema(  # noqa: ANN001
    schema,
    table: RawTable,
    choices: Iterable[str],
    suggest: Callable[[str, object], str] | None = None,
    duplicate_keys: Callable[[pd.DataFrame], pd.Series] | None = None,
) -> list[Problem]:
    """Problems of one table, sorted by line. ``suggest(check key, value)`` replaces the suggestion
    among ``choices`` of an ``unknown_`` check; ``duplicate_keys`` gives each row's key when a
    duplicate's first line must be found on canonical values rather than on the cells' text."""
    import pandera.pandas as pa

    try:
        schema.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    problems = []
    seen: set[tuple[int, str]] = set()
    choices = list(choices)
    keys = duplicate_keys(table.frame) if duplicate_keys is not None else None
    for case in cases.itertuples(index=False):
        key = str(case.check)
        line = case.index
        if key not in _MESSAGES or line is None or (line, key) in seen:
            continue
        seen.add((line, key))
        column, message, hint = _MESSAGES[key]
        value = table.frame.at[line, column] if column in table.frame.columns else None
        extra = {"suggestion": "", "first": "", "ratio": ""}
        if key.startswith("unknown_"):
            extra["suggestion"] = suggest(key, value) if suggest else _suggest(value, choices)
        if key.startswith("duplicate_") and keys is not None:
            extra["first"] = str(int(keys.index[keys == keys[line]][0]))
        elif key.startswith("duplicate_"):
            extra["first"] = str(_first_duplicate(table.frame, line, key))
        if key == "ratio_mismatch":
            num = _number_or_nan(table.frame.at[line, "numerator"])
            den = _number_or_nan(table.frame.at[line, "denominator"])
            extra["ratio"] = f"{100 * num / den:.2f}".replace(".", ",")
        problems.append(Problem(table.path, int(line), column, value, message.format(**extra), hint.format(**extra)))
    problems.sort(key=lambda p: (p.line or 0, p.column or ""))
    return problems


def _first_duplicate(frame: pd.DataFrame, line: int, key: str) -> int:
    columns = ["indicator_id", "year"] if key == "duplicate_row" else ["engagement", "year", "funder"]

    def normal(row: int, column: str) -> object:
        value = frame.at[row, column]
        return _year_or_none(value) if column == "year" else _fold(str(value)) if not _blank(value) else ""

    target = tuple(normal(line, c) for c in columns)
    for other in frame.index:
        if tuple(normal(other, c) for c in columns) == target:
            return int(other)
    return line


# --------------------------------------------------------------------------------------------------
# Typed tables


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith(("~$", "."))
    )


def _monitoring_rows(table: RawTable, plan: Plan) -> pd.DataFrame:
    indicators = {i.id: i for i in plan.indicators()}
    rows = []
    for line, cells in table.frame.iterrows():
        value = parse_number(cells["value"])
        numerator, denominator = parse_number(cells["numerator"]), parse_number(cells["denominator"])
        if value is None and numerator is not None and denominator:
            value = 100 * numerator / denominator
        comment = None if _blank(cells["comment"]) else str(cells["comment"]).strip()
        indicator = indicators[str(cells["indicator_id"]).strip()]
        if value is None and comment is None:
            continue  # a row left blank (e.g. a year not yet filled in the template)
        rows.append(
            {
                "indicator_id": indicator.id,
                "engagement": indicator.engagement,
                "year": _parse_year(cells["year"]),
                "value": math.nan if value is None else value,
                "numerator": math.nan if numerator is None else numerator,
                "denominator": math.nan if denominator is None else denominator,
                "status": _status_key(cells["status"]),
                "source": None if _blank(cells["source"]) else str(cells["source"]).strip(),
                "comment": comment,
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=MONITORING_COLUMNS)


MONITORING_COLUMNS = [
    "indicator_id",
    "engagement",
    "year",
    "value",
    "numerator",
    "denominator",
    "status",
    "source",
    "comment",
    "file",
    "line",
]
SPENDING_COLUMNS = ["engagement", "year", "amount_eur", "funder", "comment", "file", "line"]


def _spending_rows(table: RawTable) -> pd.DataFrame:
    rows = []
    for line, cells in table.frame.iterrows():
        amount = parse_number(cells["amount_eur"])
        if amount is None:
            continue
        rows.append(
            {
                "engagement": normalize_engagement_id(str(cells["engagement"])),
                "year": _parse_year(cells["year"]),
                "amount_eur": amount,
                "funder": None if _blank(cells["funder"]) else str(cells["funder"]).strip(),
                "comment": None if _blank(cells["comment"]) else str(cells["comment"]).strip(),
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=SPENDING_COLUMNS)


def _cross_file_duplicates(
    frame: pd.DataFrame, keys: list[str], folder: Path, what: str
) -> tuple[list[Problem], set[tuple]]:
    """Keys given in two files: a problem at each later place, and the keys, whose rows are all left out.

    Which of two conflicting values is right cannot be guessed: neither reaches the reports.
    """
    problems = []
    first: dict[tuple, tuple[str, int]] = {}
    conflicting: set[tuple] = set()
    for record in frame.itertuples(index=False):
        key = tuple("" if pd.isna(getattr(record, k)) else getattr(record, k) for k in keys)
        place = (record.file, record.line)
        if key in first and first[key][0] != record.file:
            other_file, other_line = first[key]
            conflicting.add(key)
            problems.append(
                Problem(
                    folder / record.file,
                    record.line,
                    keys[0],
                    " / ".join(str(k) for k in key if k != ""),
                    f"is also given in {other_file}, line {other_line}; both rows are left out",
                    f"keep the {what} in one file only",
                )
            )
        first.setdefault(key, place)
    return problems, conflicting


def _checked_tables(
    folder: Path, spec: TableSpec, check: Callable[[RawTable], list[Problem]]
) -> tuple[list[RawTable], list[Problem]]:
    """Every file of ``folder`` read and checked; each table keeps only its rows without a problem."""
    problems: list[Problem] = []
    tables = []
    for path in _files(folder):
        table, read_problems = read_raw(path, spec)
        problems += read_problems
        if table is None:
            continue
        file_problems = check(table)
        problems += file_problems
        bad_lines = {p.line for p in file_problems}
        tables.append(RawTable(table.path, table.frame.loc[[i for i in table.frame.index if i not in bad_lines]]))
    return tables, problems


def _load(folder: Path, spec: TableSpec, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    if spec.kind == "monitoring":
        schema, choices = _monitoring_schema(plan), [i.id for i in plan.indicators()]
    else:
        schema, choices = _spending_schema(plan), [s.id for s in plan.engagements]
    tables, problems = _checked_tables(folder, spec, lambda table: _run_schema(schema, table, choices))
    frames = [_monitoring_rows(t, plan) if spec.kind == "monitoring" else _spending_rows(t) for t in tables]
    columns = MONITORING_COLUMNS if spec.kind == "monitoring" else SPENDING_COLUMNS
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    keys = ["indicator_id", "year"] if spec.kind == "monitoring" else ["engagement", "year", "funder"]
    duplicates, conflicting = _cross_file_duplicates(
        frame, keys, folder, "value" if spec.kind == "monitoring" else "amount"
    )
    problems += duplicates
    if conflicting:
        row_keys = [tuple("" if pd.isna(v) else v for v in row) for row in frame[keys].itertuples(index=False)]
        frame = frame[[k not in conflicting for k in row_keys]].reset_index(drop=True)
    frame = frame.astype({"year": "int64"}) if not frame.empty else frame
    return frame, problems


def _barometer_rows(table: RawTable, codes: frozenset[str]) -> pd.DataFrame:
    """Typed rows of a checked barometer table (canonical codes, defaults applied)."""
    rows = []
    for line, cells in zip(table.frame.index, table.frame.to_dict("records"), strict=True):
        indicator = _parse_indicator(cells["indicator"])
        sampled = _parse_sampled(cells["sampled"])
        vintage = None if _blank(cells["vintage"]) else _parse_year(cells["vintage"])
        rows.append(
            {
                "territory": _parse_territory(cells["territory"], codes),
                "year": _parse_year(cells["year"]),
                "indicator": indicator,
                "sex": _parse_sex(cells["sex"]),
                "age_band": _parse_age_band(cells["age_band"]),
                "value": parse_number(cells["value"]),
                "source": str(cells["source"]).strip(),
                "vintage": vintage,
                "sampled": BAROMETER_INDICATORS[indicator].census if sampled is None else sampled,
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=BAROMETER_COLUMNS)


def _count_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _employed_above_population(frame: pd.DataFrame, folder: Path) -> tuple[list[Problem], list[int]]:
    """Rows of ``employed_15_64`` above ``population_15_64`` for the same territory, year, sex and age band.

    Returns the problems (reported on the employed row, naming the population row) and the index
    labels of the employed rows to leave out. Works across files.
    """
    key = ["territory", "year", "sex", "age_band"]
    employed = frame[frame["indicator"] == "employed_15_64"].reset_index()
    population = frame[frame["indicator"] == "population_15_64"].drop_duplicates(key)
    pairs = employed.merge(population[[*key, "value", "file", "line"]], on=key, suffixes=("", "_population"))
    problems, bad = [], []
    for pair in pairs[pairs["value"] > pairs["value_population"]].itertuples(index=False):
        same_file = pair.file_population == pair.file
        place = f"line {pair.line_population}" if same_file else f"{pair.file_population}, line {pair.line_population}"
        problems.append(
            Problem(
                folder / pair.file,
                int(pair.line),
                "value",
                _count_text(pair.value),
                "is more than population_15_64 for the same territory, year, sex and age band "
                f"({_count_text(pair.value_population)}, {place})",
                "the employed are part of the population: check both values",
            )
        )
        bad.append(pair.index)
    return problems, bad


def load_barometer(dataset: Dataset, plan: Plan | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Barometer counts of every file of ``barometer/``, and the problems found (rows with a problem are left out).

    One row per territory, year, indicator, sex and age band. Columns:

    - ``territory``: a QPV code of :func:`evaluation.territories.load_qpv` (any case in the file),
      ``MEL`` (the whole Métropole, QPV included) or ``MEL_HORS_QPV``;
    - ``year`` (int, 2006-2030), ``indicator`` (a code of :data:`BAROMETER_INDICATORS`);
    - ``sex``: ``ensemble`` (blank, ``total``), ``F`` (``femmes``) or ``M`` (``hommes``);
    - ``age_band``: ``total`` (blank), ``15-24``, ``25-54`` or ``55-64``;
    - ``value`` (float, a count, 0 or more), ``source`` (required);
    - ``vintage`` (Int64, may be missing): the census vintage N, which pools the surveys N-2..N+2, so
      it must lie within 2 years of ``year``;
    - ``sampled`` (bool): whether the count comes from a sample (``oui``/``non``, ``true``/``false``,
      ``1``/``0``); blank means true for the census counts (population_15_64, employed_15_64,
      population) and false otherwise;
    - ``file``, ``line``: where the row comes from.

    Besides the cell checks, a key given twice (in a file or across files: the later one is left
    out) and an ``employed_15_64`` count above the ``population_15_64`` of the same territory, year,
    sex and age band (the employed row is left out) are reported. ``plan`` is not used (the
    barometer does not depend on the referential); it keeps the signature of the other loaders.
    """
    del plan
    folder = dataset.path / "barometer"
    qpv = load_qpv()
    codes = frozenset(q.code for q in qpv)
    names = territory_names(qpv)
    schema = _barometer_schema(codes)

    def suggest(key: str, value: object) -> str:
        return _suggest_territory(value, names) if key == "unknown_territory" else _suggest_indicator(value)

    def check(table: RawTable) -> list[Problem]:
        return _run_schema(schema, table, (), suggest, lambda frame: _barometer_keys(frame, codes))

    tables, problems = _checked_tables(folder, BAROMETER, check)
    frames = [_barometer_rows(t, codes) for t in tables]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BAROMETER_COLUMNS)
    duplicates, conflicting = _cross_file_duplicates(frame, _BAROMETER_KEY, folder, "value")
    problems += duplicates
    if conflicting:
        row_keys = [
            tuple("" if pd.isna(v) else v for v in row) for row in frame[_BAROMETER_KEY].itertuples(index=False)
        ]
        frame = frame[[k not in conflicting for k in row_keys]]
    employment_problems, bad = _employed_above_population(frame, folder)
    problems += employment_problems
    frame = frame.drop(index=bad).reset_index(drop=True)
    types = {"year": "int64", "value": "float64", "vintage": "Int64", "sampled": "bool", "line": "int64"}
    return frame.astype(types), problems


def load_monitoring(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Realised values of every file of ``monitoring/``, and the problems found (rows with a problem are left out).

    Columns: indicator_id, engagement, year, value (float; NaN for a qualitative comment), numerator,
    denominator, status (provisional / estimated / final / None), source, comment, file, line.
    """
    return _load(dataset.path / "monitoring", MONITORING, plan)


def load_spending(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Spending of every file of ``spending/``: engagement, year, amount_eur, funder, comment, file, line."""
    return _load(dataset.path / "spending", SPENDING, plan)


#: The input folders of a data directory.
INPUT_FOLDERS = ("monitoring", "spending", "barometer", "cohorts")


def _folder_problems(dataset: Dataset) -> list[Problem]:
    """A misspelt folder would otherwise be skipped in silence."""
    problems = []
    folders = [p for p in dataset.path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    for folder in folders:
        if folder.name not in INPUT_FOLDERS:
            close = difflib.get_close_matches(folder.name, INPUT_FOLDERS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"the input folders are {', '.join(INPUT_FOLDERS)}"
            problems.append(Problem(folder, None, None, None, "is not an input folder: its files are not read", hint))
    if not any(f.name in INPUT_FOLDERS for f in folders):
        problems.append(
            Problem(
                dataset.path, None, None, None, "holds no input folder", f"put the files in {', '.join(INPUT_FOLDERS)}/"
            )
        )
    return problems


def validate_dataset(dataset: Dataset, plan: Plan) -> tuple[list[Problem], dict[str, int]]:
    """Every problem of every input file of the data directory, and row counts per folder."""
    monitoring, problems = load_monitoring(dataset, plan)
    spending, spending_problems = load_spending(dataset, plan)
    barometer, barometer_problems = load_barometer(dataset, plan)
    problems = _folder_problems(dataset) + problems
    counts = {
        "monitoring_files": len(_files(dataset.path / "monitoring")),
        "monitoring_rows": len(monitoring),
        "spending_files": len(_files(dataset.path / "spending")),
        "spending_rows": len(spending),
        "barometer_files": len(_files(dataset.path / "barometer")),
        "barometer_rows": len(barometer),
    }
    return problems + spending_problems + barometer_problems, counts
