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
``cohorts/``
    The follow-up of programme beneficiaries, one row per person and programme: a pseudonymous
    ``person_id`` (or direct identifiers, pseudonymised at intake), ``programme``, ``entry_date``,
    ``qpv``, ``sex``, ``age_band``, ``qualification``, ``last_contact_date`` and optional
    ``observation_start``, ``first_employment_date``, ``employment_kind`` (see
    :func:`load_cohorts`). Dates are written year-month-day (``2020-12-31``) or are real Excel
    date cells.

Several files per folder are allowed (one per partner or per year); the same (indicator, year), or
(engagement, year, funder), or (territory, year, indicator, sex, age band), or (person, programme),
in two places is an error naming both.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import hashlib
import hmac
import io
import math
import os
import pickle
import re
import stat
import unicodedata
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation import __version__
from evaluation.config import PLAN_YEARS
from evaluation.errors import EvaluationError, _display_path
from evaluation.io import Dataset, atomic_write_bytes
from evaluation.plan import Measure, Plan, load_plan, normalize_engagement_id
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
    "load_cohorts",
    "COHORTS",
    "COHORT_COLUMNS",
    "COHORT_SEX_VALUES",
    "COHORT_AGE_BANDS",
    "QUALIFICATIONS",
    "EMPLOYMENT_KINDS",
    "HORS_QPV",
    "DIRECT_IDENTIFIERS",
    "PSEUDONYM_KEY_ENV",
    "MASKED",
    "parse_date",
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


class _Masked:
    """Stands for a person's identifier or key in a problem: the value itself is never shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(identifiant masqué)"


#: The value of a problem about a person's identifier or key (printed ``(identifiant masqué)``).
MASKED = _Masked()


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


@functools.lru_cache(maxsize=16_384)
def _fold(text: str) -> str:
    """Header folded for matching: lower case, no accents, single spaces, no unit in parentheses.

    Cached: cells of closed lists (sex, QPV, programme...) repeat on every row of a file."""
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
# Cohorts: columns and closed lists

#: Environment variable holding the secret key of the pseudonymisation (never written anywhere).
PSEUDONYM_KEY_ENV = "EVALUATION_PSEUDONYM_KEY"
#: Shortest key accepted: a short secret could be guessed, and every pseudonym recomputed with it.
_MIN_KEY_LENGTH = 16

#: Direct identifiers of a person (canonical name -> accepted headers, folded). A cohort file that
#: has any of these columns is pseudonymised at intake (see :func:`load_cohorts`), then the columns
#: are dropped. Only ``nir``, ``last_name``, ``first_name``, ``birth_date`` and ``email`` make the
#: key; ``phone`` and ``address`` are dropped unused (a phone or an address changes and is shared).
DIRECT_IDENTIFIERS = MappingProxyType(
    {
        "nir": (
            "nir",
            "numero de securite sociale",
            "n de securite sociale",
            "no de securite sociale",
            "numero securite sociale",
            "securite sociale",
            "numero secu",
            "n secu",
            "num secu",
            "nss",
        ),
        "last_name": (
            "nom",
            "name",
            "last name",
            "nom de famille",
            "nom de naissance",
            "nom d'usage",
            "nom usage",
            "surname",
            "family name",
        ),
        "first_name": ("prenom", "prenoms", "first name", "given name"),
        "birth_date": ("date de naissance", "date naissance", "birth date", "date of birth", "naissance", "ddn"),
        "email": (
            "email",
            "e mail",
            "courriel",
            "mail",
            "adresse mail",
            "adresse email",
            "adresse e mail",
            "adresse electronique",
        ),
        "phone": (
            "telephone",
            "phone",
            "tel",
            "portable",
            "mobile",
            "telephone portable",
            "numero de telephone",
            "n de telephone",
        ),
        "address": ("adresse", "address", "adresse postale"),
    }
)
#: French words of the identifiers, for messages.
_IDENTIFIER_WORDS = MappingProxyType(
    {
        "nir": "NIR",
        "last_name": "nom",
        "first_name": "prénom",
        "birth_date": "date de naissance",
        "email": "courriel",
        "phone": "téléphone",
        "address": "adresse",
    }
)

COHORTS = TableSpec(
    kind="cohorts",
    required=("programme", "entry_date", "qpv", "sex", "age_band", "qualification", "last_contact_date"),
    optional=("person_id", "observation_start", "first_employment_date", "employment_kind"),
    aliases={
        "person_id": (
            "person id",
            "identifiant",
            "id",
            "id personne",
            "identifiant personne",
            "identifiant beneficiaire",
            "id beneficiaire",
            "pseudonyme",
            "cle",
            "cle personne",
        ),
        "programme": ("programme", "program", "dispositif", "fiche", "fiche action", "engagement", "action"),
        "entry_date": (
            "entry date",
            "date entree",
            "date d'entree",
            "date d entree",
            "date entree dispositif",
            "entree",
        ),
        "observation_start": (
            "observation start",
            "debut observation",
            "debut d'observation",
            "date debut observation",
            "debut suivi",
            "debut de suivi",
        ),
        "qpv": ("qpv", "quartier", "code qpv", "code qp", "quartier prioritaire", "qp"),
        "sex": ("sex", "sexe", "genre"),
        "age_band": ("age band", "tranche age", "tranche d'age", "tranche d age", "classe d'age", "age"),
        "qualification": (
            "qualification",
            "niveau",
            "niveau de qualification",
            "niveau de formation",
            "niveau de diplome",
            "diplome",
        ),
        "first_employment_date": (
            "first employment date",
            "date premier emploi",
            "date du premier emploi",
            "date de premier emploi",
            "premier emploi",
        ),
        "employment_kind": (
            "employment kind",
            "type sortie",
            "type de sortie",
            "nature emploi",
            "nature de l'emploi",
            "nature de l emploi",
            "type emploi",
            "type de contrat",
        ),
        "last_contact_date": (
            "last contact date",
            "date dernier contact",
            "date du dernier contact",
            "date de dernier contact",
            "dernier contact",
        ),
        **DIRECT_IDENTIFIERS,
    },
    french={
        "person_id": "identifiant",
        "programme": "dispositif",
        "entry_date": "date_entree",
        "qpv": "quartier",
        "sex": "sexe",
        "age_band": "tranche_age",
        "qualification": "niveau",
        "last_contact_date": "date_dernier_contact",
    },
)

#: Canonical ``qpv`` value of a person living outside the priority neighbourhoods.
HORS_QPV = "hors QPV"
#: Words for :data:`HORS_QPV` (folded).
_HORS_QPV_WORDS = (
    "hors qpv",
    "hqpv",
    "hors qp",
    "hors quartier",
    "hors quartier prioritaire",
    "hors quartiers prioritaires",
    "non qpv",
    "non",
    "mel hors qpv",
)

#: Sex of a beneficiary (no ``ensemble``: a person is one or the other as recorded).
COHORT_SEX_VALUES = MappingProxyType(
    {"F": ("f", "femme", "femmes", "feminin"), "M": ("m", "h", "homme", "hommes", "masculin")}
)

#: Age bands at entry (closed list) and their accepted forms, folded, without ``ans`` and ``à``.
COHORT_AGE_BANDS = MappingProxyType(
    {
        "16-25": ("16 25", "de 16 25", "moins de 26"),
        "26-49": ("26 49", "de 26 49"),
        "50+": ("50+", "50 +", "50 et plus", "50 ou plus", "de 50 et plus", "plus de 50", "50 plus"),
    }
)

#: Levels of qualification (closed list) and their accepted forms (folded, spaces and slashes removed).
#: The numbered "niveaux" are refused: level 3 is a CAP in the 2019 nomenclature and bac+2 in the 1969 one.
QUALIFICATIONS = MappingProxyType(
    {
        "infra-bac": (
            "infra-bac",
            "infra bac",
            "infrabac",
            "inferieur au bac",
            "sans diplome",
            "aucun diplome",
            "cap",
            "bep",
            "cap bep",
            "brevet",
        ),
        "bac": ("bac", "baccalaureat", "niveau bac", "bac pro", "bac professionnel", "bac general", "bac techno"),
        "bac+2 et plus": (
            "bac+2 et plus",
            "bac+2 ou plus",
            "bac+2",
            "bac+3",
            "bac+4",
            "bac+5",
            "superieur au bac",
            "etudes superieures",
            "superieur",
            "bts",
            "dut",
            "licence",
            "master",
        ),
    }
)


@dataclass(frozen=True)
class EmploymentKind:
    """A kind of first employment: its French ``label`` and the words partners use for it (folded)."""

    label: str
    words: tuple[str, ...]
    #: CDI and CDD of 6 months or more: "emploi durable" in the French statistics.
    sustainable: bool = False


#: Kinds of first employment (closed list; ``training`` and ``business_creation`` are positive
#: outcomes counted with employment, as the plan's "retour à l'emploi ou création d'activités").
EMPLOYMENT_KINDS = MappingProxyType(
    {
        "cdi": EmploymentKind("CDI", ("cdi", "contrat a duree indeterminee"), sustainable=True),
        "cdd_6m_plus": EmploymentKind(
            "CDD de 6 mois ou plus",
            (
                "cdd 6m plus",
                "cdd de 6 mois ou plus",
                "cdd 6 mois ou plus",
                "cdd de 6 mois et plus",
                "cdd 6 mois et plus",
                "cdd >= 6 mois",
                "cdd long",
            ),
            sustainable=True,
        ),
        "short_contract": EmploymentKind(
            "Contrat court (moins de 6 mois)",
            (
                "short contract",
                "contrat court",
                "cdd court",
                "cdd de moins de 6 mois",
                "cdd < 6 mois",
                "interim",
                "mission d'interim",
            ),
        ),
        "training": EmploymentKind(
            "Formation", ("training", "formation", "formation qualifiante", "entree en formation")
        ),
        "business_creation": EmploymentKind(
            "Création d'entreprise",
            (
                "business creation",
                "creation d'entreprise",
                "creation d entreprise",
                "creation",
                "creation d'activite",
                "auto entrepreneur",
                "micro entreprise",
            ),
        ),
    }
)

#: Date columns of a cohort file, in the file's order.
_COHORT_DATES = ("entry_date", "observation_start", "first_employment_date", "last_contact_date")

COHORT_COLUMNS = [
    "programme",
    "entry_date",
    "observation_start",
    "qpv",
    "sex",
    "age_band",
    "qualification",
    "first_employment_date",
    "employment_kind",
    "last_contact_date",
    "cohort_year",
    "file",
    "line",
]


# --------------------------------------------------------------------------------------------------
# Raw reading


@dataclass(frozen=True)
class RawTable:
    """Cells of a file by canonical column, indexed by the line number a spreadsheet shows.

    ``columns``: the canonical columns the file's header really has (the frame also holds the
    missing optional ones, filled with None).
    """

    path: Path
    frame: pd.DataFrame
    columns: tuple[str, ...] = ()


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


def read_raw(path: Path, spec: TableSpec, private: bool = False) -> tuple[RawTable | None, list[Problem]]:
    """Read a file's cells without interpreting them; problems for unreadable, empty or badly headed files.

    ``private``: the file describes persons, so no cell is copied into a problem: an unknown column
    is named by its position (a file without a header line would show a person's data as headings)
    and cells beyond the header are not shown.
    """
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
            if private:
                problems.append(
                    Problem(path, header_line, f"n°{position + 1}", None, "unknown column (heading not shown)", hint)
                )
            else:
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
                    None if private else ", ".join(str(c) for c in extra),
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
    return RawTable(path, frame, tuple(columns.values())), problems


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
    details: Callable[[str, int, object], dict[str, str]] | None = None,
    masked: Collection[str] = (),
) -> list[Problem]:
    """Problems of one table, sorted by line. ``suggest(check key, value)`` replaces the suggestion
    among ``choices`` of an ``unknown_`` check; ``duplicate_keys`` gives each row's key when a
    duplicate's first line must be found on canonical values rather than on the cells' text;
    ``details(check key, line, value)`` gives more fields for the message and hint; the value of a
    column of ``masked`` (a person key) is never copied into a problem: :data:`MASKED` stands for it."""
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
        if column in masked:
            value = MASKED if not _blank(value) else None
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
        if details is not None:
            extra.update(details(key, int(line), value))
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


def folder_state(folder: Path) -> tuple[tuple[str, str], ...] | None:
    """Name and SHA-256 of each input file of ``folder``; None when a file cannot be read.

    The content, not the modification time: file times tick at the kernel's clock resolution (a few
    milliseconds), so a file rewritten at once with the same size could look unchanged. Hashing the
    demo inputs takes about a millisecond. An unreadable file (permissions, a file locked by Excel)
    gives None: nothing is cached, and the reader reports the file as a problem.
    """
    state = []
    for path in _files(folder):
        try:
            state.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()))
        except OSError:
            return None
    return tuple(state)


#: Loaded inputs by (kind, folder, plan, extra key, state of the files), most recent last.
_LOADED: dict[tuple[object, ...], tuple[pd.DataFrame, tuple[Problem, ...], Plan | None]] = {}
_LOADED_MAX = 16

#: Environment variable naming a private folder where the loaded inputs are also kept, for the
#: other processes of a run: ``evaluation run`` checks the inputs once, and its report kernels read
#: the result instead of checking the same files again (see :func:`_remembered`).
SHARED_INPUTS_ENV = "EVALUATION_SHARED_INPUTS"
#: What may be shared through that folder: counts per indicator, engagement or territory, never a
#: record about a person. Cohort records are about persons: they are never written to disk, each
#: process reads and pseudonymises them itself.
_SHARED_KINDS = frozenset({"monitoring", "spending", "barometer"})


def _plan_digest(plan_dir: Path) -> str:
    """SHA-256 of the referential's YAML files: a plan's identity across processes."""
    digest = hashlib.sha256()
    for path in sorted(plan_dir.rglob("*.yaml")):
        digest.update(path.relative_to(plan_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _reference_state() -> str | None:
    """SHA-256 of the QPV reference list the barometer and cohort checks use (None: unreadable)."""
    from evaluation import territories

    try:
        return hashlib.sha256(Path(territories.REFERENCE_FILE).read_bytes()).hexdigest()
    except OSError:
        return None


def _private_folder(path: str | None) -> Path | None:
    """``path`` if it is a folder of this user that nobody else may write (pickles are code)."""
    if not path:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return Path(path)


def _shared_path(
    kind: str, folder: Path, plan: Plan | None, extra: tuple[object, ...], state: tuple[tuple[str, str], ...]
) -> Path | None:
    shared = _private_folder(os.environ.get(SHARED_INPUTS_ENV))
    if shared is None or kind not in _SHARED_KINDS:
        return None
    plan_id = None
    if plan is not None:
        if not plan.path.is_dir():
            return None
        plan_id = _plan_digest(plan.path)
    name = hashlib.sha256(repr((kind, str(folder.resolve()), plan_id, extra, state, __version__)).encode()).hexdigest()
    return shared / f"{kind}-{name}.pickle"


def _shared_load(path: Path | None) -> tuple[pd.DataFrame, tuple[Problem, ...]] | None:
    if path is None or not path.is_file():
        return None
    try:
        frame, problems = pickle.loads(path.read_bytes())  # noqa: S301 - written by this run, private folder
    except Exception:  # noqa: BLE001 - unreadable: read the inputs instead
        return None
    return frame, tuple(problems)


def _shared_store(path: Path | None, frame: pd.DataFrame, problems: tuple[Problem, ...]) -> None:
    if path is None or path.exists():
        return
    with contextlib.suppress(Exception):  # not kept: the other processes read the files themselves
        atomic_write_bytes(path, pickle.dumps((frame, problems), protocol=pickle.HIGHEST_PROTOCOL))


def _remembered(
    kind: str,
    folder: Path,
    plan: Plan | None,
    extra: tuple[object, ...],
    load: Callable[[], tuple[pd.DataFrame, list[Problem]]],
) -> tuple[pd.DataFrame, list[Problem]]:
    """``load()``, or a copy of what it returned for the same files in the same state.

    ``evaluation run`` checks every input before the reports, then computes the tables from the same
    inputs, and a warm kernel runs many reports on them: reading and checking a folder once per state
    of its files spares a second or more each time. The key holds each file's name and content hash
    (a corrected file is read again), and the plan by identity: the entry keeps a
    reference to it, so its ``id`` cannot be reused while the entry lives. Callers get a copy of the
    frame, so changing it cannot alter what later callers get.

    When the environment names a shared folder (:data:`SHARED_INPUTS_ENV`), aggregate inputs are
    also kept there, pickled, under a name derived from the same key (the plan by the hash of its
    files, the package version): another process of the run finds them instead of reading and
    checking the files again. ``evaluation run`` creates that folder private (mode 0700) for the
    run and removes it at the end.
    """
    state = folder_state(folder)
    if state is None:  # a file cannot be read: the loader says which, and nothing is kept
        frame, problems = load()
        return frame, problems
    key = (kind, str(folder.resolve()), id(plan), extra, state)
    hit = _LOADED.pop(key, None)
    if hit is None:
        shared = _shared_path(kind, folder, plan, extra, state)
        loaded = _shared_load(shared)
        if loaded is None:
            frame, problems = load()
            loaded = (frame, tuple(problems))
            _shared_store(shared, *loaded)
        hit = (*loaded, plan)
        while len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = hit
    return hit[0].copy(), list(hit[1])


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
    return _remembered(
        "barometer", dataset.path / "barometer", None, (_reference_state(),), lambda: _load_barometer(dataset)
    )


def _load_barometer(dataset: Dataset) -> tuple[pd.DataFrame, list[Problem]]:
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


# --------------------------------------------------------------------------------------------------
# Cohorts: cells


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
_SERIAL_TEXT = re.compile(r"\d{5}(?:[.,]\d+)?")
#: Day 0 of Excel's two date systems (the 1900 one counts the fictitious 1900-02-29, hence the 30th).
_EXCEL_EPOCHS = ((1900, date(1899, 12, 30)), (1904, date(1904, 1, 1)))


class _DateError(ValueError):
    """A cell that is not a date; ``kind`` is ``dmy`` (``31/12/2020``), ``serial`` (``44196``) or ``bad``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def parse_date(value: object) -> date | None:
    """A date from a cell: ISO text ``2020-12-31`` or a real Excel date cell; blank -> None.

    Raises ``ValueError`` for anything else, in particular ``31/12/2020`` (day/month/year and
    month/day/year cannot be told apart: ``01/02/2020``) and bare numbers such as ``44196`` (an
    Excel serial: its date depends on the workbook's 1900 or 1904 date system, which a CSV export
    or a number cell no longer tells).
    """
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _DateError("bad")
    if isinstance(value, int | float):
        raise _DateError("serial")
    text = str(value).strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError as err:
            raise _DateError("bad") from err
    if _DMY_DATE.fullmatch(text):
        raise _DateError("dmy")
    if _SERIAL_TEXT.fullmatch(text):
        raise _DateError("serial")
    raise _DateError("bad")


@functools.lru_cache(maxsize=65_536)
def _date_cell(value: object) -> tuple[date | None, str | None]:
    """``(date, None)`` for a date or a blank cell (date None), ``(None, kind)`` for a bad one; cached
    because every check of a file reads the same dates."""
    try:
        return parse_date(value), None
    except _DateError as err:
        return None, err.kind


def _date_kind(value: object) -> str | None:
    """None for a date or a blank cell, else the kind of :class:`_DateError`."""
    return _date_cell(value)[1]


def _date_or_none(value: object) -> date | None:
    return _date_cell(value)[0]


def _dmy_hint(value: object) -> str:
    """``2020-12-31 if it is day/month/year`` for ``31/12/2020``, else an example."""
    match = _DMY_DATE.fullmatch(str(value).strip())
    if match and len(match.group(3)) == 4:
        try:
            day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            pass
        else:
            return f"{day.isoformat()} if it is day/month/year"
    return "e.g. 2020-12-31"


def _serial_hint(value: object) -> str:
    """What an Excel serial would be in each date system: the file cannot tell which one holds."""
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return ""
    if not 61 <= number < 2_958_466:
        return ""
    days = timedelta(days=int(number))
    text = ", ".join(f"{(epoch + days).isoformat()} in the {system} date system" for system, epoch in _EXCEL_EPOCHS)
    return f"; as a serial it would be {text}"


def _integer_text(value: object) -> str:
    """A cell as text, a whole number read from a workbook (``9.0``) without its decimals."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_programme(value: object, sheets: Collection[str]) -> str:
    """A sheet id of the plan from its printed form: ``9``, ``5-A``, ``fiche 5a``, ``Engagement 12``."""
    if _blank(value):
        raise ValueError("missing")
    text = re.sub(r"^(fiche|dispositif)( action)?\s*", "", _fold(_integer_text(value)))
    sheet = normalize_engagement_id(text)
    if sheet in sheets:
        return sheet
    raise ValueError("unknown programme")


def _parse_qpv(value: object, codes: frozenset[str]) -> str:
    """A QPV code of ``codes`` (any case) or :data:`HORS_QPV` (``HQPV``, ``hors qpv``, ``non``...)."""
    if _blank(value):
        raise ValueError("missing")
    text = str(value).strip()
    if text.upper() in codes:
        return text.upper()
    if _fold(text) in _HORS_QPV_WORDS:
        return HORS_QPV
    raise ValueError("unknown QPV")


def _lookup(choices: Mapping[str, Iterable[str]], normal: Callable[[object], str]) -> dict[str, str]:
    """Normalised key or accepted word -> canonical value of a closed list."""
    table = {}
    for key, words in choices.items():
        table.update({normal(w): key for w in words})
        table[normal(key)] = key
    return table


def _closed(value: object, lookup: dict[str, str], normal: Callable[[object], str]) -> str:
    """The canonical value of a closed list (``lookup`` from :func:`_lookup`) matching ``normal(value)``."""
    if _blank(value):
        raise ValueError("missing")
    try:
        return lookup[normal(value)]
    except KeyError:
        raise ValueError("not in the list") from None


def _age_normal(value: object) -> str:
    folded = re.sub(r"\b(ans?|a)\b", " ", _fold(str(value)))
    return " ".join(folded.split())


def _qualification_normal(value: object) -> str:
    return re.sub(r"[\s/]+", "", _fold(str(value)))


def _kind_normal(value: object) -> str:
    text = str(value).replace("≥", ">=").replace("≤", "<=")
    return _fold(text)


def _sex_normal(value: object) -> str:
    return _fold(str(value))


_SEX_LOOKUP = _lookup(COHORT_SEX_VALUES, _sex_normal)
_AGE_LOOKUP = _lookup(COHORT_AGE_BANDS, _age_normal)
_QUALIFICATION_LOOKUP = _lookup(QUALIFICATIONS, _qualification_normal)
_KIND_LOOKUP = _lookup({key: kind.words for key, kind in EMPLOYMENT_KINDS.items()}, _kind_normal)


def _parse_cohort_sex(value: object) -> str:
    return _closed(value, _SEX_LOOKUP, _sex_normal)


def _parse_cohort_age_band(value: object) -> str:
    return _closed(value, _AGE_LOOKUP, _age_normal)


def _parse_qualification(value: object) -> str:
    return _closed(value, _QUALIFICATION_LOOKUP, _qualification_normal)


def _parse_employment_kind(value: object) -> str | None:
    """A key of :data:`EMPLOYMENT_KINDS` (``CDI``, ``contrat court``, ``création d'entreprise``...); blank -> None."""
    if _blank(value):
        return None
    return _closed(value, _KIND_LOOKUP, _kind_normal)


def _person_text(value: object) -> str | None:
    return None if _blank(value) else _integer_text(value)


# --------------------------------------------------------------------------------------------------
# Cohorts: pseudonymisation


_NIR = re.compile(r"[1-8]\d{4}(?:\d{2}|2A|2B)\d{6}(?:\d{2})?")


def _normal_nir(value: object) -> str:
    """The 13 characters of a NIR (social security number) without its key; ValueError if it is not one.

    Spaces, dots and dashes are removed and letters put in upper case (Corsica: 2A, 2B); when the
    2-digit key is given (15 characters) it must be right: 97 - (number mod 97), with 2A read 19
    and 2B read 18. The key is then dropped, so that a file with and a file without it agree.
    """
    text = re.sub(r"[\s.\-]", "", _integer_text(value)).upper()
    if not _NIR.fullmatch(text):
        raise ValueError("not a NIR")
    body = text[:13]
    if len(text) == 15:
        number = int(body.replace("2A", "19").replace("2B", "18"))
        if 97 - number % 97 != int(text[13:]):
            raise ValueError("wrong NIR key")
    return body


def _normal_name(value: object) -> str:
    """A name folded for matching: no accents, lower case, any run of non-letters one space."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def _identity(cells: dict[str, object]) -> tuple[str | None, str, str | None]:
    """``(material, basis, problem)``: the text hashed for a person, the columns it comes from, or why it cannot be made.

    Rule: the NIR when the cell is filled; else last name + first name + birth date; else last
    name + first name + e-mail. Names are folded by :func:`_normal_name`, the birth date is an ISO
    date (:func:`parse_date`), the e-mail is trimmed and put in lower case.
    """
    if not _blank(cells.get("nir")):
        try:
            return f"nir:{_normal_nir(cells['nir'])}", "nir", None
        except ValueError:
            return None, "nir", "bad_nir"
    names = [cells.get("last_name"), cells.get("first_name")]
    if any(_blank(n) for n in names) or not any(_normal_name(n) for n in names):
        return None, "last_name, first_name", "incomplete_identity"
    last, first = (_normal_name(n) for n in names)
    if not _blank(cells.get("birth_date")):
        try:
            born = parse_date(cells["birth_date"])
        except ValueError:
            return None, "birth_date", "bad_birth_date"
        return f"nom:{last}|{first}|naissance:{born.isoformat()}", "last_name, first_name, birth_date", None
    if not _blank(cells.get("email")):
        email = str(cells["email"]).strip().lower()
        return f"nom:{last}|{first}|courriel:{email}", "last_name, first_name, email", None
    return None, "last_name, first_name", "incomplete_identity"


_IDENTITY_PROBLEMS = MappingProxyType(
    {
        "bad_nir": (
            "is not a valid NIR",
            "check the social security number (13 characters, or 15 with its key), or leave it blank to "
            "use the name, first name and birth date",
        ),
        "bad_birth_date": ("is not a date", "write it year-month-day (ISO 8601), e.g. 1987-10-24"),
        "incomplete_identity": (
            "are not enough to pseudonymise the person",
            "give the NIR, or the nom, prénom and date de naissance (or courriel)",
        ),
    }
)


def _pseudonymise(table: RawTable, secret: str | None) -> tuple[RawTable | None, list[Problem], dict[int, str]]:
    """The table with ``person_id`` as a keyed hash when the file has direct identifiers, which are dropped.

    Returns the table (None when the file cannot be used), the problems (values :data:`MASKED`)
    and, per line of a pseudonymised file, the identifier columns its key comes from (to name them
    in problems). A file without direct identifiers keeps its ``person_id`` as given.
    """
    present = [c for c in DIRECT_IDENTIFIERS if c in table.columns]
    if not present:
        if "person_id" in table.columns:
            return table, [], {}
        hint = (
            "add a column 'person_id' (or its French name 'identifiant'), or the direct identifiers "
            "(NIR, or nom, prénom and date de naissance) to be pseudonymised at intake"
        )
        return None, [Problem(table.path, None, "person_id", None, "required column is missing", hint)], {}
    words = ", ".join(_IDENTIFIER_WORDS[c] for c in present)
    if not secret or len(secret) < _MIN_KEY_LENGTH:
        state = "is not set" if not secret else f"is shorter than {_MIN_KEY_LENGTH} characters"
        return (
            None,
            [
                Problem(
                    table.path,
                    None,
                    present[0],
                    None,
                    f"holds direct identifiers ({words}) and the environment variable {PSEUDONYM_KEY_ENV} {state}: "
                    "they cannot be pseudonymised, the file is not read",
                    f"set {PSEUDONYM_KEY_ENV} to a secret of {_MIN_KEY_LENGTH} characters or more, the same for "
                    f"every run (e.g. export {PSEUDONYM_KEY_ENV}=$(python -c 'import secrets; "
                    "print(secrets.token_hex(32))')), kept out of the data folder and of any repository",
                    fatal=True,
                )
            ],
            {},
        )
    key = secret.encode("utf-8")
    problems, persons, basis = [], [], {}
    for line, cells in zip(table.frame.index, table.frame[present].to_dict("records"), strict=True):
        material, basis[int(line)], problem = _identity(cells)
        if material is None:
            column = basis[int(line)].split(", ")[-1] if problem != "incomplete_identity" else basis[int(line)]
            message, hint = _IDENTITY_PROBLEMS[problem]
            value = None if problem == "incomplete_identity" else MASKED
            problems.append(Problem(table.path, int(line), column, value, message, hint))
            persons.append(f"unkeyed:{line}")  # left out below; still checked for its other cells
        else:
            persons.append("hmac:" + hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest())
    frame = table.frame.drop(columns=[c for c in DIRECT_IDENTIFIERS if c in table.frame.columns])
    frame["person_id"] = persons
    columns = tuple(c for c in table.columns if c not in DIRECT_IDENTIFIERS) + ("person_id",)
    return RawTable(table.path, frame, tuple(dict.fromkeys(columns))), problems, basis


# --------------------------------------------------------------------------------------------------
# Cohorts: schema


_DATE_WORDS = MappingProxyType(
    {
        "entry_date": "date of entry into the programme",
        "observation_start": "start of observation",
        "first_employment_date": "date of first employment",
        "last_contact_date": "date of the last contact",
    }
)

_MESSAGES.update(
    {
        "missing_person_id": (
            "person_id",
            "is missing",
            "give the person's pseudonymous key, the same in every file and programme",
        ),
        "missing_programme": (
            "programme",
            "is missing",
            "give the sheet id of the programme, e.g. 9 (see 'evaluation plan')",
        ),
        "unknown_programme": ("programme", "is not a sheet of the plan", "{suggestion}"),
        "missing_entry_date": (
            "entry_date",
            "is missing",
            "give the date of entry into the programme, year-month-day, e.g. 2019-03-01",
        ),
        "missing_last_contact_date": (
            "last_contact_date",
            "is missing",
            "give the date of the latest news of the person, year-month-day: it ends the follow-up",
        ),
        "missing_qpv": (
            "qpv",
            "is missing",
            "give the QPV code of the person's address (e.g. QN05972M), or 'hors QPV'",
        ),
        "unknown_qpv": ("qpv", "is not a QPV of the MEL", "{suggestion}"),
        "missing_sex": ("sex", "is missing", "write F or M (femme, homme)"),
        "bad_cohort_sex": ("sex", "is not F or M", "write F or M (femme, homme)"),
        "missing_cohort_age_band": (
            "age_band",
            "is missing",
            f"give the age band at entry: {', '.join(COHORT_AGE_BANDS)}",
        ),
        "bad_cohort_age_band": (
            "age_band",
            "is not a known age band",
            f"use {', '.join(COHORT_AGE_BANDS)} (age at entry)",
        ),
        "missing_qualification": (
            "qualification",
            "is missing",
            f"give the level of qualification: {', '.join(QUALIFICATIONS)}",
        ),
        "bad_qualification": (
            "qualification",
            "is not a known level of qualification",
            f"use {', '.join(QUALIFICATIONS)}",
        ),
        "bad_employment_kind": (
            "employment_kind",
            "is not a known kind of employment",
            f"use {', '.join(EMPLOYMENT_KINDS)} ({', '.join(k.label for k in EMPLOYMENT_KINDS.values())})",
        ),
        "kind_missing": (
            "employment_kind",
            "is missing while a first employment date is given",
            f"give the kind: {', '.join(EMPLOYMENT_KINDS)}",
        ),
        "employment_date_missing": (
            "first_employment_date",
            "is missing while a kind of employment is given",
            "give the date of the first employment, or leave the kind blank if the person has not found work",
        ),
        "observation_before_entry": (
            "observation_start",
            "is before the entry date ({entry})",
            "observation starts at entry or later (late entry): leave it blank to start at entry",
        ),
        "observation_not_before_event": (
            "observation_start",
            "is not before the first employment ({event})",
            "a person enters observation before the event (entry < event time): check both dates",
        ),
        "observation_after_contact": (
            "observation_start",
            "is after the last contact ({contact})",
            "check both dates",
        ),
        "employment_before_entry": (
            "first_employment_date",
            "is before the entry date ({entry})",
            "a job held before entry is not an outcome of the programme: check both dates",
        ),
        "employment_on_entry": (
            "first_employment_date",
            "is the entry date: the first employment must come after entry (entry < event time)",
            "a job that starts the day of entry is not an outcome of the programme: check both dates",
        ),
        "employment_after_contact": (
            "first_employment_date",
            "is after the last contact ({contact})",
            "the last contact is the latest news of the person, on or after the first employment: check both dates",
        ),
        "contact_before_entry": ("last_contact_date", "is before the entry date ({entry})", "check both dates"),
        "duplicate_cohort": (
            "person_id",
            "appears twice in programme {programme} in this file (first at line {first})",
            "keep one row per person and programme",
        ),
    }
)
for _column in _COHORT_DATES:
    _MESSAGES.update(
        {
            f"date_dmy_{_column}": (
                _column,
                "is written day/month/year, which can be read two ways",
                "write dates year-month-day (ISO 8601): {iso}",
            ),
            f"date_serial_{_column}": (
                _column,
                "is an Excel serial number, not a date",
                "format the cell as a date in Excel, or write it year-month-day (ISO 8601){serial}",
            ),
            f"not_a_date_{_column}": (
                _column,
                "is not a date",
                f"write the {_DATE_WORDS[_column]} year-month-day (ISO 8601), e.g. 2020-12-31",
            ),
            f"future_{_column}": (
                _column,
                "is after today ({today})",
                "a date cannot be in the future: check the year",
            ),
        }
    )


def _cohort_keys(frame: pd.DataFrame, sheets: Collection[str]) -> pd.Series:
    """``person|programme`` of each row, on canonical programme ids; a row without a person is nobody's duplicate."""
    keys = [
        f"blank:{line}" if person is None else f"{person}|{_or_text(lambda v: _parse_programme(v, sheets), programme)}"
        for line, person, programme in zip(
            frame.index, frame["person_id"].map(_person_text), frame["programme"], strict=True
        )
    ]
    return pd.Series(keys, index=frame.index)


def _row_dates(frame: pd.DataFrame) -> list[tuple[date | None, date | None, date | None, date | None]]:
    """``(entry, observation start as given, first employment, last contact)`` of each row; None when blank or bad."""
    columns = [frame[c].map(_date_or_none) for c in _COHORT_DATES]
    return list(zip(*columns, strict=True))


def _cohort_schema(sheets: Collection[str], codes: frozenset[str], today: date):  # noqa: ANN202
    import pandera.pandas as pa

    def check(fn: Callable, key: str, element_wise: bool = True, ignore_na: bool = True) -> pa.Check:
        return pa.Check(fn, error=key, element_wise=element_wise, ignore_na=ignore_na)

    def present(key: str) -> pa.Check:
        return check(lambda v: not _blank(v), key, ignore_na=False)

    def dates(column: str) -> list[pa.Check]:
        return [
            check(lambda v: _date_kind(v) != "dmy", f"date_dmy_{column}"),
            check(lambda v: _date_kind(v) != "serial", f"date_serial_{column}"),
            check(lambda v: _date_kind(v) != "bad", f"not_a_date_{column}"),
            check(lambda v: (_date_or_none(v) or today) <= today, f"future_{column}"),
        ]

    def rows(rule: Callable[[date | None, date | None, date | None, date | None], bool]) -> Callable:
        def ok(frame: pd.DataFrame) -> pd.Series:
            return pd.Series([not rule(*dates_) for dates_ in _row_dates(frame)], index=frame.index)

        return ok

    def both(frame: pd.DataFrame, has: str, lacks: str) -> pd.Series:
        return ~(~frame[has].map(_blank) & frame[lacks].map(_blank))

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_cohort_keys(frame, sheets).duplicated(keep="first")

    def bad(rule: Callable[..., bool], key: str) -> pa.Check:
        return check(rows(rule), key, element_wise=False)

    return pa.DataFrameSchema(
        {
            "person_id": pa.Column(object, [present("missing_person_id")], nullable=True),
            "programme": pa.Column(
                object,
                [
                    present("missing_programme"),
                    check(lambda v: _blank(v) or _valid(lambda x: _parse_programme(x, sheets))(v), "unknown_programme"),
                ],
                nullable=True,
            ),
            "entry_date": pa.Column(object, [present("missing_entry_date"), *dates("entry_date")], nullable=True),
            "observation_start": pa.Column(object, dates("observation_start"), nullable=True),
            "qpv": pa.Column(
                object,
                [
                    present("missing_qpv"),
                    check(lambda v: _blank(v) or _valid(lambda x: _parse_qpv(x, codes))(v), "unknown_qpv"),
                ],
                nullable=True,
            ),
            "sex": pa.Column(
                object,
                [present("missing_sex"), check(lambda v: _blank(v) or _valid(_parse_cohort_sex)(v), "bad_cohort_sex")],
                nullable=True,
            ),
            "age_band": pa.Column(
                object,
                [
                    present("missing_cohort_age_band"),
                    check(lambda v: _blank(v) or _valid(_parse_cohort_age_band)(v), "bad_cohort_age_band"),
                ],
                nullable=True,
            ),
            "qualification": pa.Column(
                object,
                [
                    present("missing_qualification"),
                    check(lambda v: _blank(v) or _valid(_parse_qualification)(v), "bad_qualification"),
                ],
                nullable=True,
            ),
            "first_employment_date": pa.Column(object, dates("first_employment_date"), nullable=True),
            "employment_kind": pa.Column(
                object, [check(_valid(_parse_employment_kind), "bad_employment_kind")], nullable=True
            ),
            "last_contact_date": pa.Column(
                object, [present("missing_last_contact_date"), *dates("last_contact_date")], nullable=True
            ),
        },
        checks=[
            check(lambda f: both(f, "first_employment_date", "employment_kind"), "kind_missing", element_wise=False),
            check(
                lambda f: both(f, "employment_kind", "first_employment_date"),
                "employment_date_missing",
                element_wise=False,
            ),
            bad(
                lambda entry, start, event, contact: bool(start and entry and start < entry), "observation_before_entry"
            ),
            bad(
                lambda entry, start, event, contact: bool(start and event and start >= event),
                "observation_not_before_event",
            ),
            bad(
                lambda entry, start, event, contact: bool(start and contact and start > contact),
                "observation_after_contact",
            ),
            bad(
                lambda entry, start, event, contact: bool(event and entry and event < entry), "employment_before_entry"
            ),
            bad(
                lambda entry, start, event, contact: bool(event and entry and start is None and event == entry),
                "employment_on_entry",
            ),
            bad(
                lambda entry, start, event, contact: bool(event and contact and event > contact),
                "employment_after_contact",
            ),
            bad(
                lambda entry, start, event, contact: bool(contact and entry and contact < entry), "contact_before_entry"
            ),
            check(not_duplicated, "duplicate_cohort", element_wise=False),
        ],
        strict=False,
    )


def _suggest_programme(value: object, sheets: dict[str, str]) -> str:
    """The closest sheet, by its title (``Start-up emploi`` -> 9) or by its id (``5d`` -> 5)."""
    titles = {_fold(title): sheet for sheet, title in sheets.items()}
    close = difflib.get_close_matches(_fold(str(value)), list(titles), n=1, cutoff=0.6)
    if close:
        sheet = titles[close[0]]
    else:
        text = normalize_engagement_id(_fold(_integer_text(value)))
        ids = difflib.get_close_matches(text, list(sheets), n=1, cutoff=0.6)
        if not ids:
            return "give the sheet id of the programme (see 'evaluation plan')"
        sheet = ids[0]
    return f"did you mean '{sheet}' ({sheets[sheet]})?"


def _suggest_qpv(value: object, names: dict[str, str]) -> str:
    """The closest QPV by code or name; a code of the 2015 geography (QP059...) is named as such."""
    text = str(value).strip()
    if re.fullmatch(r"QP\d{6}", text.upper()):
        return (
            "this is a code of the 2015 geography: give the 2024 code (QN...) of the same neighbourhood, "
            "see data/reference/qpv_mel_2024.csv"
        )
    close = difflib.get_close_matches(text.upper(), list(names), n=1, cutoff=0.6)
    if not close:
        by_name = {_fold(name): code for code, name in names.items()}
        match = difflib.get_close_matches(_fold(text), list(by_name), n=1, cutoff=0.6)
        close = [by_name[match[0]]] if match else []
    if close:
        return f"did you mean '{close[0]}' ({names[close[0]]})?"
    return "use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), or 'hors QPV'"


# --------------------------------------------------------------------------------------------------
# Cohorts: typed rows


def _cohort_rows(table: RawTable, sheets: Collection[str], codes: frozenset[str]) -> pd.DataFrame:
    """Typed rows of a checked cohort table, with the person key in ``_person`` (dropped by the caller)."""
    rows = []
    for line, cells in zip(table.frame.index, table.frame.to_dict("records"), strict=True):
        entry = parse_date(cells["entry_date"])
        rows.append(
            {
                "_person": _person_text(cells["person_id"]),
                "programme": _parse_programme(cells["programme"], sheets),
                "entry_date": entry,
                "observation_start": parse_date(cells["observation_start"]) or entry,
                "qpv": _parse_qpv(cells["qpv"], codes),
                "sex": _parse_cohort_sex(cells["sex"]),
                "age_band": _parse_cohort_age_band(cells["age_band"]),
                "qualification": _parse_qualification(cells["qualification"]),
                "first_employment_date": parse_date(cells["first_employment_date"]),
                "employment_kind": _parse_employment_kind(cells["employment_kind"]),
                "last_contact_date": parse_date(cells["last_contact_date"]),
                "cohort_year": entry.year,
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=["_person", *COHORT_COLUMNS])


def _cohort_cross_file(
    frame: pd.DataFrame, folder: Path, bases: dict[tuple[str, int], str]
) -> tuple[list[Problem], np.ndarray]:
    """A person in the same programme in two files: a problem at each later place (naming the first),
    and a mask of the rows to leave out (all rows of such a person and programme)."""
    problems = []
    first: dict[tuple[str, str], tuple[str, int]] = {}
    conflicting: set[tuple[str, str]] = set()
    for person, programme, file, line in zip(
        frame["_person"], frame["programme"], frame["file"], frame["line"], strict=True
    ):
        key = (person, programme)
        if key in first and first[key][0] != file:
            other_file, other_line = first[key]
            conflicting.add(key)
            problems.append(
                Problem(
                    folder / file,
                    int(line),
                    bases.get((file, int(line)), "person_id"),
                    MASKED,
                    f"is also in programme {programme} in {other_file}, line {other_line}; both rows are left out",
                    "keep one row per person and programme, in one file only",
                )
            )
        first.setdefault(key, (file, int(line)))
    keep = np.array(
        [(p, g) not in conflicting for p, g in zip(frame["_person"], frame["programme"], strict=True)], dtype=bool
    )
    return problems, keep


def load_cohorts(
    dataset: Dataset, plan: Plan | None = None, today: date | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Cohort records of every file of ``cohorts/``, and the problems found (rows with a problem are left out).

    One row per person and programme. Columns of the files (canonical name, French headers
    accepted, see :data:`COHORTS`):

    - ``person_id`` (``identifiant``): a pseudonymous key, the same for a person in every file;
      or, instead, **direct identifiers** (:data:`DIRECT_IDENTIFIERS`: NIR, nom, prénom, date de
      naissance, courriel, téléphone, adresse), pseudonymised here (see below);
    - ``programme`` (``dispositif``, ``fiche``): a sheet id of the plan, printed forms accepted
      (``5-A``, ``fiche 9``); a sheet that does not count people is accepted as well;
    - ``entry_date`` (``date_entree``), ``last_contact_date`` (``date_dernier_contact``: the
      latest news of the person, which ends the follow-up of a person not in work);
    - ``observation_start`` (``debut_observation``, optional; blank = the entry date): a late
      entry into observation, on or after entry and strictly before the first employment;
    - ``qpv`` (``quartier``): a QPV code of :func:`evaluation.territories.load_qpv` (any case) or
      ``hors QPV`` (``HQPV``, ``hors qpv``, ``non``...);
    - ``sex`` (``F``/``M``, ``femme``/``homme``), ``age_band`` at entry (``16-25``, ``26-49``,
      ``50+``), ``qualification`` (``infra-bac``, ``bac``, ``bac+2 et plus``): closed lists
      :data:`COHORT_SEX_VALUES`, :data:`COHORT_AGE_BANDS`, :data:`QUALIFICATIONS` with their words;
    - ``first_employment_date`` (``date_premier_emploi``) and ``employment_kind`` (``type_sortie``,
      ``nature_emploi``: a key of :data:`EMPLOYMENT_KINDS`), both given or both blank.

    **Dates** are ISO text ``2020-12-31`` or real Excel date cells. ``31/12/2020`` and bare numbers
    such as ``44196`` (Excel serials) are refused with the ISO form to write: day/month order and
    the serial's epoch (1900 or 1904) cannot be known for sure. Dates after ``today`` (default
    :func:`datetime.date.today`) are refused. Order: entry <= observation start < first employment
    <= last contact, entry <= last contact; a first employment on the entry date itself is refused
    (the event must come after entry into observation, entry < event time).

    **Pseudonymisation.** A file with any direct-identifier column gets ``person_id`` = HMAC-SHA256
    (key: the environment variable ``EVALUATION_PSEUDONYM_KEY``, 16 characters or more) of the
    normalised identity: ``nir:`` + the 13 first characters of the NIR (spaces, dots and dashes
    removed, upper case; a 15-character NIR must have the right key) when given; else ``nom:`` +
    last name + ``|`` + first name (accents removed, lower case, non-letters as one space) +
    ``|naissance:`` + the ISO birth date, or ``|courriel:`` + the e-mail in lower case when the
    birth date is blank. The identifier columns are dropped right after hashing (a ``person_id``
    column beside them is replaced by the hash). Without the key, such a file is not read: a fatal
    problem (exit status 2), never an unkeyed hash. A file without direct identifiers keeps its
    ``person_id`` as given. A person is matched across files only when both are keyed the same way
    (both ``person_id``, or both hashed with the same key from the same kind of identity).

    The person key serves only to find duplicates (the same person twice in a programme, in a file:
    the later row is left out; across files: both rows) and **never leaves this function**: the
    returned frame has no key or identifier column, and problems show :data:`MASKED` instead of an
    identifier or key. Returned columns: :data:`COHORT_COLUMNS` (dates as ``datetime64[ns]``,
    ``observation_start`` filled with the entry date, ``first_employment_date`` NaT and
    ``employment_kind`` None for a person not in work, ``cohort_year`` the year of entry).
    """
    plan = plan if plan is not None else load_plan()
    today = today if today is not None else date.today()
    secret = os.environ.get(PSEUDONYM_KEY_ENV)
    # The pseudonyms depend on the key: the cache is keyed on its digest (the key itself is not kept).
    key_digest = hashlib.sha256(secret.encode("utf-8")).hexdigest() if secret else None
    return _remembered(
        "cohorts",
        dataset.path / "cohorts",
        plan,
        (today, key_digest, _reference_state()),
        lambda: _load_cohorts(dataset, plan, today),
    )


def _load_cohorts(dataset: Dataset, plan: Plan, today: date) -> tuple[pd.DataFrame, list[Problem]]:
    folder = dataset.path / "cohorts"
    qpv = load_qpv()
    codes = frozenset(q.code for q in qpv)
    names = {q.code: q.name for q in qpv}
    sheets = {s.id: s.title for s in plan.engagements}
    schema = _cohort_schema(frozenset(sheets), codes, today)
    secret = os.environ.get(PSEUDONYM_KEY_ENV)

    def suggest(key: str, value: object) -> str:
        return _suggest_programme(value, sheets) if key == "unknown_programme" else _suggest_qpv(value, names)

    problems: list[Problem] = []
    frames = []
    bases: dict[tuple[str, int], str] = {}
    for path in _files(folder):
        table, read_problems = read_raw(path, COHORTS, private=True)
        problems += read_problems
        if table is None:
            continue
        table, key_problems, basis = _pseudonymise(table, secret)
        if table is None:
            problems += key_problems
            continue
        frame = table.frame

        def details(key: str, line: int, value: object, frame: pd.DataFrame = frame) -> dict[str, str]:
            entry, _start, event, contact = (_date_or_none(frame.at[line, c]) for c in _COHORT_DATES)
            return {
                "entry": entry.isoformat() if entry else "",
                "event": event.isoformat() if event else "",
                "contact": contact.isoformat() if contact else "",
                "today": today.isoformat(),
                "programme": str(_or_text(lambda v: _parse_programme(v, sheets), frame.at[line, "programme"])),
                "iso": _dmy_hint(value) if key.startswith("date_dmy") else "",
                "serial": _serial_hint(value) if key.startswith("date_serial") else "",
            }

        file_problems = _run_schema(
            schema,
            table,
            (),
            suggest,
            lambda f: _cohort_keys(f, sheets),
            details,
            masked={"person_id"},
        )
        file_problems = [
            replace(p, column=basis[p.line]) if p.column == "person_id" and p.line in basis else p
            for p in file_problems
        ]
        problems += sorted(key_problems + file_problems, key=lambda p: p.line or 0)
        bad = {p.line for p in key_problems + file_problems}
        kept = RawTable(table.path, frame.loc[[i for i in frame.index if i not in bad]])
        frames.append(_cohort_rows(kept, frozenset(sheets), codes))
        bases.update({(path.name, line): label for line, label in basis.items()})
    frames = [f for f in frames if not f.empty]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["_person", *COHORT_COLUMNS])
    duplicates, keep = _cohort_cross_file(frame, folder, bases)
    problems += duplicates
    frame = frame.loc[keep].drop(columns="_person").reset_index(drop=True)
    for column in _COHORT_DATES:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    types = {c: "object" for c in ("programme", "qpv", "sex", "age_band", "qualification", "employment_kind", "file")}
    frame = frame.astype({**types, "cohort_year": "int64", "line": "int64"})
    frame["employment_kind"] = frame["employment_kind"].where(frame["employment_kind"].notna(), None)
    return frame, problems


def load_monitoring(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Realised values of every file of ``monitoring/``, and the problems found (rows with a problem are left out).

    Columns: indicator_id, engagement, year, value (float; NaN for a qualitative comment), numerator,
    denominator, status (provisional / estimated / final / None), source, comment, file, line.
    """
    folder = dataset.path / "monitoring"
    return _remembered("monitoring", folder, plan, (), lambda: _load(folder, MONITORING, plan))


def load_spending(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Spending of every file of ``spending/``: engagement, year, amount_eur, funder, comment, file, line."""
    folder = dataset.path / "spending"
    return _remembered("spending", folder, plan, (), lambda: _load(folder, SPENDING, plan))


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
    cohorts, cohort_problems = load_cohorts(dataset, plan)
    problems = _folder_problems(dataset) + problems
    counts = {
        "monitoring_files": len(_files(dataset.path / "monitoring")),
        "monitoring_rows": len(monitoring),
        "spending_files": len(_files(dataset.path / "spending")),
        "spending_rows": len(spending),
        "barometer_files": len(_files(dataset.path / "barometer")),
        "barometer_rows": len(barometer),
        "cohorts_files": len(_files(dataset.path / "cohorts")),
        "cohorts_rows": len(cohorts),
    }
    return problems + spending_problems + barometer_problems + cohort_problems, counts
