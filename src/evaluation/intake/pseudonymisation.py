"""Pseudonymisation of the cohort files at intake: direct identifiers turned into a keyed hash, then dropped.

A cohort file may name persons (NIR, nom, prénom, date de naissance, courriel...) instead of a
pseudonymous ``person_id``: :func:`_pseudonymise` replaces them by HMAC-SHA256 of the normalised
identity, keyed by the secret of :data:`PSEUDONYM_KEY_ENV`, and drops the identifier columns before
anything else reads the table. Its own module: what identifies a person, and the one place where
identifiers are read, are reviewed apart from the schema of the cohort records
(:mod:`evaluation.intake.cohorts`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from types import MappingProxyType

from evaluation.intake.cells import _blank, _integer_text, parse_date
from evaluation.intake.problems import MASKED, Problem
from evaluation.intake.raw_tables import RawTable

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


#: Why a person's key cannot be made: message, hint and their French.
_IDENTITY_PROBLEMS = MappingProxyType(
    {
        "bad_nir": (
            "is not a valid NIR",
            "check the social security number (13 characters, or 15 with its key), or leave it blank to "
            "use the name, first name and birth date",
            "n'est pas un NIR valide",
            "vérifier le numéro de sécurité sociale (13 caractères, ou 15 avec sa clé), ou le laisser vide "
            "pour utiliser le nom, le prénom et la date de naissance",
        ),
        "bad_birth_date": (
            "is not a date",
            "write it year-month-day (ISO 8601), e.g. 1987-10-24",
            "n'est pas une date",
            "l'écrire année-mois-jour (ISO 8601), par exemple 1987-10-24",
        ),
        "incomplete_identity": (
            "are not enough to pseudonymise the person",
            "give the NIR, or the nom, prénom and date de naissance (or courriel)",
            "identité insuffisante pour pseudonymiser la personne",
            "indiquer le NIR, ou le nom, le prénom et la date de naissance (ou le courriel)",
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
        hint_fr = (
            "ajouter une colonne « person_id » (ou son nom français « identifiant »), ou les identifiants "
            "directs (NIR, ou nom, prénom et date de naissance), qui seront pseudonymisés à la lecture"
        )
        problem = Problem(
            table.path,
            None,
            "person_id",
            None,
            "required column is missing",
            hint,
            message_fr="colonne obligatoire absente",
            hint_fr=hint_fr,
        )
        return None, [problem], {}
    words = ", ".join(_IDENTIFIER_WORDS[c] for c in present)
    if not secret or len(secret) < _MIN_KEY_LENGTH:
        state = "is not set" if not secret else f"is shorter than {_MIN_KEY_LENGTH} characters"
        state_fr = "n'est pas définie" if not secret else f"fait moins de {_MIN_KEY_LENGTH} caractères"
        command = f"export {PSEUDONYM_KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')"
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
                    f"every run (e.g. {command}), kept out of the data folder and of any repository",
                    fatal=True,
                    message_fr=f"contient des identifiants directs ({words}) et la variable d'environnement "
                    f"{PSEUDONYM_KEY_ENV} {state_fr} : ils ne peuvent pas être pseudonymisés, le fichier n'est pas lu",
                    hint_fr=f"donner à {PSEUDONYM_KEY_ENV} un secret de {_MIN_KEY_LENGTH} caractères ou plus, le même "
                    f"à chaque exécution (par exemple {command}), gardé hors du dossier de données et de tout dépôt",
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
            message, hint, message_fr, hint_fr = _IDENTITY_PROBLEMS[problem]
            value = None if problem == "incomplete_identity" else MASKED
            problems.append(
                Problem(table.path, int(line), column, value, message, hint, message_fr=message_fr, hint_fr=hint_fr)
            )
            persons.append(f"unkeyed:{line}")  # left out below; still checked for its other cells
        else:
            persons.append("hmac:" + hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest())
    frame = table.frame.drop(columns=[c for c in DIRECT_IDENTIFIERS if c in table.frame.columns])
    frame["person_id"] = persons
    columns = tuple(c for c in table.columns if c not in DIRECT_IDENTIFIERS) + ("person_id",)
    return RawTable(table.path, frame, tuple(dict.fromkeys(columns))), problems, basis
