"""The columns of a cohort file (:data:`COHORTS`), their closed lists, and the parsers of their cells.

What a cell of ``cohorts/`` may hold: a programme (a sheet of the plan, printed forms accepted), a
QPV code or :data:`HORS_QPV`, the sex, the age band, the qualification and the kind of first
employment, each a closed list with the words partners use for its values. Kept apart from the
schema and the loader (:mod:`evaluation.intake.cohorts`), which check and type the rows with these
parsers, and from the pseudonymisation (:mod:`evaluation.intake.pseudonymisation`), whose
identifier columns the file's headers accept as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from evaluation.intake.cells import _blank, _fold, _integer_text
from evaluation.intake.pseudonymisation import DIRECT_IDENTIFIERS
from evaluation.intake.raw_tables import TableSpec
from evaluation.referential.plan import normalize_engagement_id

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
# Cells


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
