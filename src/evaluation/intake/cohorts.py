"""Cohort records (``cohorts/``): the schema with its messages, typed rows and the loader (:func:`load_cohorts`).

The columns and closed lists are in :mod:`evaluation.intake.cohort_columns`, the pseudonymisation
of direct identifiers in :mod:`evaluation.intake.pseudonymisation`; their public names are
importable from here as well.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake._cache import _reference_state, _remembered
from evaluation.intake.cells import (
    _blank,
    _date_kind,
    _date_or_none,
    _dmy_hint,
    _dmy_hint_fr,
    _fold,
    _integer_text,
    _or_text,
    _serial_hint,
    _serial_hint_fr,
    _valid,
    mapped,
    parse_date,
)
from evaluation.intake.cohort_columns import (
    _COHORT_DATES,
    COHORT_AGE_BANDS,
    COHORT_COLUMNS,
    COHORT_SEX_VALUES,
    COHORTS,
    EMPLOYMENT_KINDS,
    HORS_QPV,
    QUALIFICATIONS,
    EmploymentKind,
    _parse_cohort_age_band,
    _parse_cohort_sex,
    _parse_employment_kind,
    _parse_programme,
    _parse_qpv,
    _parse_qualification,
    _person_text,
)
from evaluation.intake.folders import _input_files
from evaluation.intake.grids import DEFAULT_LIMITS
from evaluation.intake.problems import MASKED, Phrase, Problem, did_you_mean
from evaluation.intake.pseudonymisation import DIRECT_IDENTIFIERS, PSEUDONYM_KEY_ENV, _pseudonymise
from evaluation.intake.raw_tables import RawTable, read_raw
from evaluation.intake.schema import Check, Message, Schema, _closest_code, _run_schema
from evaluation.io import Dataset
from evaluation.referential.plan import Plan, load_plan, normalize_engagement_id
from evaluation.referential.territories import load_qpv

#: The names of the cohort intake, also those of :mod:`.cohort_columns` and :mod:`.pseudonymisation`
#: (importable from here, where they were first defined).
__all__ = [
    "COHORTS",
    "COHORT_COLUMNS",
    "COHORT_SEX_VALUES",
    "COHORT_AGE_BANDS",
    "QUALIFICATIONS",
    "EMPLOYMENT_KINDS",
    "EmploymentKind",
    "HORS_QPV",
    "DIRECT_IDENTIFIERS",
    "PSEUDONYM_KEY_ENV",
    "load_cohorts",
]


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
_DATE_WORDS_FR = MappingProxyType(
    {
        "entry_date": "la date d'entrée dans le dispositif",
        "observation_start": "le début de l'observation",
        "first_employment_date": "la date du premier emploi",
        "last_contact_date": "la date du dernier contact",
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
    """The checks of a cohort table, each with its message; ``{entry}``, ``{event}``, ``{contact}``,
    ``{today}``, ``{programme}``, ``{iso}`` and ``{serial}`` are filled in by :func:`_load_cohorts`."""

    def present(key: str, message: Message) -> Check:
        return Check(lambda v: not _blank(v), key, message, ignore_na=False)

    def dates(column: str) -> list[Check]:
        return [
            Check(
                lambda v: _date_kind(v) != "dmy",
                f"date_dmy_{column}",
                Message(
                    column,
                    "is written day/month/year, which can be read two ways",
                    "write dates year-month-day (ISO 8601): {iso}",
                    "est écrit jour/mois/année, ce qui peut se lire de deux façons",
                    "écrire les dates année-mois-jour (ISO 8601) : {iso}",
                ),
            ),
            Check(
                lambda v: _date_kind(v) != "serial",
                f"date_serial_{column}",
                Message(
                    column,
                    "is an Excel serial number, not a date",
                    "format the cell as a date in Excel, or write it year-month-day (ISO 8601){serial}",
                    "est un numéro de série Excel, pas une date",
                    "mettre la cellule au format date dans Excel, ou l'écrire année-mois-jour (ISO 8601){serial}",
                ),
            ),
            Check(
                lambda v: _date_kind(v) != "bad",
                f"not_a_date_{column}",
                Message(
                    column,
                    "is not a date",
                    f"write the {_DATE_WORDS[column]} year-month-day (ISO 8601), e.g. 2020-12-31",
                    "n'est pas une date",
                    f"écrire {_DATE_WORDS_FR[column]} année-mois-jour (ISO 8601), par exemple 2020-12-31",
                ),
            ),
            Check(
                lambda v: (_date_or_none(v) or today) <= today,
                f"future_{column}",
                Message(
                    column,
                    "is after today ({today})",
                    "a date cannot be in the future: check the year",
                    "est postérieur à aujourd'hui ({today})",
                    "une date ne peut pas être dans le futur : vérifier l'année",
                ),
            ),
        ]

    def rows(rule: Callable[[date | None, date | None, date | None, date | None], bool]) -> Callable:
        def ok(frame: pd.DataFrame) -> pd.Series:
            return pd.Series([not rule(*dates_) for dates_ in _row_dates(frame)], index=frame.index)

        return ok

    def both(frame: pd.DataFrame, has: str, lacks: str) -> pd.Series:
        return ~(~mapped(frame[has], _blank).astype(bool) & mapped(frame[lacks], _blank).astype(bool))

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_cohort_keys(frame, sheets).duplicated(keep="first")

    def bad(rule: Callable[..., bool], key: str, message: Message) -> Check:
        return Check(rows(rule), key, message, element_wise=False)

    return Schema(
        {
            "person_id": [
                present(
                    "missing_person_id",
                    Message(
                        "person_id",
                        "is missing",
                        "give the person's pseudonymous key, the same in every file and programme",
                        "cellule vide",
                        "indiquer la clé pseudonyme de la personne, la même dans tous les fichiers et dispositifs",
                    ),
                )
            ],
            "programme": [
                present(
                    "missing_programme",
                    Message(
                        "programme",
                        "is missing",
                        "give the sheet id of the programme, e.g. 9 (see 'evaluation plan')",
                        "cellule vide",
                        "indiquer le numéro de la fiche du dispositif, par exemple 9 (voir « evaluation plan »)",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(lambda x: _parse_programme(x, sheets))(v),
                    "unknown_programme",
                    Message(
                        "programme",
                        "is not a sheet of the plan",
                        "{suggestion}",
                        "n'est pas une fiche du plan",
                        "{suggestion}",
                    ),
                ),
            ],
            "entry_date": [
                present(
                    "missing_entry_date",
                    Message(
                        "entry_date",
                        "is missing",
                        "give the date of entry into the programme, year-month-day, e.g. 2019-03-01",
                        "cellule vide",
                        "indiquer la date d'entrée dans le dispositif, année-mois-jour, par exemple 2019-03-01",
                    ),
                ),
                *dates("entry_date"),
            ],
            "observation_start": dates("observation_start"),
            "qpv": [
                present(
                    "missing_qpv",
                    Message(
                        "qpv",
                        "is missing",
                        "give the QPV code of the person's address (e.g. QN05972M), or 'hors QPV'",
                        "cellule vide",
                        "indiquer le code du QPV de l'adresse de la personne (par exemple QN05972M), ou « hors QPV »",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(lambda x: _parse_qpv(x, codes))(v),
                    "unknown_qpv",
                    Message(
                        "qpv", "is not a QPV of the MEL", "{suggestion}", "n'est pas un QPV de la MEL", "{suggestion}"
                    ),
                ),
            ],
            "sex": [
                present(
                    "missing_sex",
                    Message(
                        "sex",
                        "is missing",
                        "write F or M (femme, homme)",
                        "cellule vide",
                        "écrire F ou M (femme, homme)",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(_parse_cohort_sex)(v),
                    "bad_cohort_sex",
                    Message(
                        "sex",
                        "is not F or M",
                        "write F or M (femme, homme)",
                        "n'est ni F ni M",
                        "écrire F ou M (femme, homme)",
                    ),
                ),
            ],
            "age_band": [
                present(
                    "missing_cohort_age_band",
                    Message(
                        "age_band",
                        "is missing",
                        f"give the age band at entry: {', '.join(COHORT_AGE_BANDS)}",
                        "cellule vide",
                        f"indiquer la tranche d'âge à l'entrée : {', '.join(COHORT_AGE_BANDS)}",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(_parse_cohort_age_band)(v),
                    "bad_cohort_age_band",
                    Message(
                        "age_band",
                        "is not a known age band",
                        f"use {', '.join(COHORT_AGE_BANDS)} (age at entry)",
                        "n'est pas une tranche d'âge connue",
                        f"écrire {', '.join(COHORT_AGE_BANDS)} (âge à l'entrée)",
                    ),
                ),
            ],
            "qualification": [
                present(
                    "missing_qualification",
                    Message(
                        "qualification",
                        "is missing",
                        f"give the level of qualification: {', '.join(QUALIFICATIONS)}",
                        "cellule vide",
                        f"indiquer le niveau de qualification : {', '.join(QUALIFICATIONS)}",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(_parse_qualification)(v),
                    "bad_qualification",
                    Message(
                        "qualification",
                        "is not a known level of qualification",
                        f"use {', '.join(QUALIFICATIONS)}",
                        "n'est pas un niveau de qualification connu",
                        f"écrire {', '.join(QUALIFICATIONS)}",
                    ),
                ),
            ],
            "first_employment_date": dates("first_employment_date"),
            "employment_kind": [
                Check(
                    _valid(_parse_employment_kind),
                    "bad_employment_kind",
                    Message(
                        "employment_kind",
                        "is not a known kind of employment",
                        f"use {', '.join(EMPLOYMENT_KINDS)} ({', '.join(k.label for k in EMPLOYMENT_KINDS.values())})",
                        "n'est pas un type d'emploi connu",
                        f"écrire {', '.join(EMPLOYMENT_KINDS)} ({', '.join(k.label for k in EMPLOYMENT_KINDS.values())})",
                    ),
                )
            ],
            "last_contact_date": [
                present(
                    "missing_last_contact_date",
                    Message(
                        "last_contact_date",
                        "is missing",
                        "give the date of the latest news of the person, year-month-day: it ends the follow-up",
                        "cellule vide",
                        "indiquer la date des dernières nouvelles de la personne, année-mois-jour : elle clôt le suivi",
                    ),
                ),
                *dates("last_contact_date"),
            ],
        },
        checks=[
            Check(
                lambda f: both(f, "first_employment_date", "employment_kind"),
                "kind_missing",
                Message(
                    "employment_kind",
                    "is missing while a first employment date is given",
                    f"give the kind: {', '.join(EMPLOYMENT_KINDS)}",
                    "cellule vide, alors qu'une date de premier emploi est donnée",
                    f"indiquer le type : {', '.join(EMPLOYMENT_KINDS)}",
                ),
                element_wise=False,
            ),
            Check(
                lambda f: both(f, "employment_kind", "first_employment_date"),
                "employment_date_missing",
                Message(
                    "first_employment_date",
                    "is missing while a kind of employment is given",
                    "give the date of the first employment, or leave the kind blank if the person has not found work",
                    "cellule vide, alors qu'un type d'emploi est donné",
                    "indiquer la date du premier emploi, ou laisser le type vide si la personne n'a pas trouvé d'emploi",
                ),
                element_wise=False,
            ),
            bad(
                lambda entry, start, event, contact: bool(start and entry and start < entry),
                "observation_before_entry",
                Message(
                    "observation_start",
                    "is before the entry date ({entry})",
                    "observation starts at entry or later (late entry): leave it blank to start at entry",
                    "est antérieur à la date d'entrée ({entry})",
                    "l'observation commence à l'entrée ou plus tard (entrée retardée) : laisser vide pour la faire "
                    "commencer à l'entrée",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(start and event and start >= event),
                "observation_not_before_event",
                Message(
                    "observation_start",
                    "is not before the first employment ({event})",
                    "a person enters observation before the event (entry < event time): check both dates",
                    "n'est pas antérieur au premier emploi ({event})",
                    "une personne entre en observation avant l'événement (entrée < date de l'événement) : vérifier "
                    "les deux dates",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(start and contact and start > contact),
                "observation_after_contact",
                Message(
                    "observation_start",
                    "is after the last contact ({contact})",
                    "check both dates",
                    "est postérieur au dernier contact ({contact})",
                    "vérifier les deux dates",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(event and entry and event < entry),
                "employment_before_entry",
                Message(
                    "first_employment_date",
                    "is before the entry date ({entry})",
                    "a job held before entry is not an outcome of the programme: check both dates",
                    "est antérieur à la date d'entrée ({entry})",
                    "un emploi occupé avant l'entrée n'est pas un résultat du dispositif : vérifier les deux dates",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(event and entry and start is None and event == entry),
                "employment_on_entry",
                Message(
                    "first_employment_date",
                    "is the entry date: the first employment must come after entry (entry < event time)",
                    "a job that starts the day of entry is not an outcome of the programme: check both dates",
                    "est la date d'entrée : le premier emploi doit venir après l'entrée (entrée < date de l'événement)",
                    "un emploi qui commence le jour de l'entrée n'est pas un résultat du dispositif : vérifier les "
                    "deux dates",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(event and contact and event > contact),
                "employment_after_contact",
                Message(
                    "first_employment_date",
                    "is after the last contact ({contact})",
                    "the last contact is the latest news of the person, on or after the first employment: "
                    "check both dates",
                    "est postérieur au dernier contact ({contact})",
                    "le dernier contact donne les dernières nouvelles de la personne, le jour du premier emploi ou "
                    "après : vérifier les deux dates",
                ),
            ),
            bad(
                lambda entry, start, event, contact: bool(contact and entry and contact < entry),
                "contact_before_entry",
                Message(
                    "last_contact_date",
                    "is before the entry date ({entry})",
                    "check both dates",
                    "est antérieur à la date d'entrée ({entry})",
                    "vérifier les deux dates",
                ),
            ),
            Check(
                not_duplicated,
                "duplicate_cohort",
                Message(
                    "person_id",
                    "appears twice in programme {programme} in this file (first at line {first})",
                    "keep one row per person and programme",
                    "figure deux fois pour le dispositif {programme} dans ce fichier (première occurrence à la ligne "
                    "{first})",
                    "garder une ligne par personne et par dispositif",
                ),
                element_wise=False,
            ),
        ],
    )


def _suggest_programme(value: object, sheets: dict[str, str]) -> Phrase:
    """The closest sheet, by its title (``Start-up emploi`` -> 9) or by its id (``5d`` -> 5)."""
    titles = {_fold(title): sheet for sheet, title in sheets.items()}
    close = difflib.get_close_matches(_fold(str(value)), list(titles), n=1, cutoff=0.6)
    if close:
        sheet = titles[close[0]]
    else:
        text = normalize_engagement_id(_fold(_integer_text(value)))
        ids = difflib.get_close_matches(text, list(sheets), n=1, cutoff=0.6)
        if not ids:
            return Phrase(
                "give the sheet id of the programme (see 'evaluation plan')",
                "indiquer le numéro de la fiche du dispositif (voir « evaluation plan »)",
            )
        sheet = ids[0]
    return did_you_mean(sheet, sheets[sheet])


def _suggest_qpv(value: object, names: dict[str, str]) -> Phrase:
    """The closest QPV by code or name; a code of the 2015 geography (QP059...) is named as such."""
    text = str(value).strip()
    if re.fullmatch(r"QP\d{6}", text.upper()):
        return Phrase(
            "this is a code of the 2015 geography: give the 2024 code (QN...) of the same neighbourhood, "
            "see data/reference/qpv_mel_2024.csv",
            "c'est un code de la géographie de 2015 : indiquer le code de 2024 (QN...) du même quartier, "
            "voir data/reference/qpv_mel_2024.csv",
        )
    code = _closest_code(text, names)
    if code is not None:
        return did_you_mean(code, names[code])
    return Phrase(
        "use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), or 'hors QPV'",
        "indiquer un code de QPV de data/reference/qpv_mel_2024.csv (par exemple QN05972M), ou « hors QPV »",
    )


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
                    message_fr=f"figure aussi dans le dispositif {programme} du fichier {other_file}, ligne {other_line} ; "
                    "les deux lignes sont écartées",
                    hint_fr="garder une ligne par personne et par dispositif, dans un seul fichier",
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
    return _remembered(
        "cohorts",
        dataset.path / "cohorts",
        plan,
        cohort_load_key(dataset, today),
        lambda: _load_cohorts(dataset, plan, today),
    )


def cohort_load_key(dataset: Dataset, today: date | None = None) -> tuple[object, ...]:
    """What :func:`load_cohorts` depends on besides the plan and the files' content: the day (later
    dates are refused), the pseudonymisation key (by its digest: the key itself is never kept; a file
    with direct identifiers is refused without it), the QPV reference list and the limits. A cache of
    anything computed from the cohort records must hold it in its key."""
    secret = os.environ.get(PSEUDONYM_KEY_ENV)
    key_digest = hashlib.sha256(secret.encode("utf-8")).hexdigest() if secret else None
    return (today if today is not None else date.today(), key_digest, _reference_state(), dataset.limits)


def _load_cohorts(dataset: Dataset, plan: Plan, today: date) -> tuple[pd.DataFrame, list[Problem]]:
    folder = dataset.path / "cohorts"
    qpv = load_qpv()
    codes = frozenset(q.code for q in qpv)
    names = {q.code: q.name for q in qpv}
    sheets = {s.id: s.title for s in plan.engagements}
    schema = _cohort_schema(frozenset(sheets), codes, today)
    secret = os.environ.get(PSEUDONYM_KEY_ENV)

    def suggest(key: str, value: object) -> Phrase:
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

        def details(key: str, line: int, value: object, frame: pd.DataFrame = frame) -> dict[str, str | Phrase]:
            entry, _start, event, contact = (_date_or_none(frame.at[line, c]) for c in _COHORT_DATES)
            return {
                "entry": entry.isoformat() if entry else "",
                "event": event.isoformat() if event else "",
                "contact": contact.isoformat() if contact else "",
                "today": today.isoformat(),
                "programme": str(_or_text(lambda v: _parse_programme(v, sheets), frame.at[line, "programme"])),
                "iso": Phrase(_dmy_hint(value), _dmy_hint_fr(value)) if key.startswith("date_dmy") else "",
                "serial": Phrase(_serial_hint(value), _serial_hint_fr(value)) if key.startswith("date_serial") else "",
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
