"""Cohort records (``cohorts/``): columns and closed lists, pseudonymisation, schema, typed rows, loader."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake._cache import _reference_state, _remembered
from evaluation.intake._common import (
    _MESSAGES,
    DEFAULT_LIMITS,
    MASKED,
    Check,
    Problem,
    RawTable,
    Schema,
    TableSpec,
    _blank,
    _check,
    _closest_code,
    _date_kind,
    _date_or_none,
    _dmy_hint,
    _fold,
    _input_files,
    _or_text,
    _run_schema,
    _serial_hint,
    _valid,
    mapped,
    parse_date,
    read_raw,
)
from evaluation.io import Dataset
from evaluation.referential.plan import Plan, load_plan, normalize_engagement_id
from evaluation.referential.territories import load_qpv

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
# Cohorts: cells


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
            frame.index, mapped(frame["person_id"], _person_text), frame["programme"], strict=True
        )
    ]
    return pd.Series(keys, index=frame.index)


def _row_dates(frame: pd.DataFrame) -> list[tuple[date | None, date | None, date | None, date | None]]:
    """``(entry, observation start as given, first employment, last contact)`` of each row; None when blank or bad."""
    columns = [mapped(frame[c], _date_or_none) for c in _COHORT_DATES]
    return list(zip(*columns, strict=True))


def _cohort_schema(sheets: Collection[str], codes: frozenset[str], today: date) -> Schema:
    def present(key: str) -> Check:
        return _check(lambda v: not _blank(v), key, ignore_na=False)

    def dates(column: str) -> list[Check]:
        return [
            _check(lambda v: _date_kind(v) != "dmy", f"date_dmy_{column}"),
            _check(lambda v: _date_kind(v) != "serial", f"date_serial_{column}"),
            _check(lambda v: _date_kind(v) != "bad", f"not_a_date_{column}"),
            _check(lambda v: (_date_or_none(v) or today) <= today, f"future_{column}"),
        ]

    def rows(rule: Callable[[date | None, date | None, date | None, date | None], bool]) -> Callable:
        def ok(frame: pd.DataFrame) -> pd.Series:
            return pd.Series([not rule(*dates_) for dates_ in _row_dates(frame)], index=frame.index)

        return ok

    def both(frame: pd.DataFrame, has: str, lacks: str) -> pd.Series:
        return ~(~mapped(frame[has], _blank).astype(bool) & mapped(frame[lacks], _blank).astype(bool))

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_cohort_keys(frame, sheets).duplicated(keep="first")

    def bad(rule: Callable[..., bool], key: str) -> Check:
        return _check(rows(rule), key, element_wise=False)

    return Schema(
        {
            "person_id": [present("missing_person_id")],
            "programme": [
                present("missing_programme"),
                _check(lambda v: _blank(v) or _valid(lambda x: _parse_programme(x, sheets))(v), "unknown_programme"),
            ],
            "entry_date": [present("missing_entry_date"), *dates("entry_date")],
            "observation_start": dates("observation_start"),
            "qpv": [
                present("missing_qpv"),
                _check(lambda v: _blank(v) or _valid(lambda x: _parse_qpv(x, codes))(v), "unknown_qpv"),
            ],
            "sex": [
                present("missing_sex"),
                _check(lambda v: _blank(v) or _valid(_parse_cohort_sex)(v), "bad_cohort_sex"),
            ],
            "age_band": [
                present("missing_cohort_age_band"),
                _check(lambda v: _blank(v) or _valid(_parse_cohort_age_band)(v), "bad_cohort_age_band"),
            ],
            "qualification": [
                present("missing_qualification"),
                _check(lambda v: _blank(v) or _valid(_parse_qualification)(v), "bad_qualification"),
            ],
            "first_employment_date": dates("first_employment_date"),
            "employment_kind": [_check(_valid(_parse_employment_kind), "bad_employment_kind")],
            "last_contact_date": [present("missing_last_contact_date"), *dates("last_contact_date")],
        },
        checks=[
            _check(lambda f: both(f, "first_employment_date", "employment_kind"), "kind_missing", element_wise=False),
            _check(
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
            _check(not_duplicated, "duplicate_cohort", element_wise=False),
        ],
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
    code = _closest_code(text, names)
    if code is not None:
        return f"did you mean '{code}' ({names[code]})?"
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
    - ``qpv`` (``quartier``): a QPV code of :func:`evaluation.referential.territories.load_qpv` (any case) or
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
        (today, key_digest, _reference_state(), dataset.limits),
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

    files, problems = _input_files(folder)
    frames = []
    bases: dict[tuple[str, int], str] = {}
    for path in files:
        table, read_problems = read_raw(path, COHORTS, private=True, limits=dataset.limits or DEFAULT_LIMITS)
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
        bad = [p.line for p in key_problems + file_problems]
        kept = RawTable(table.path, frame.loc[~frame.index.isin(bad)])
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
