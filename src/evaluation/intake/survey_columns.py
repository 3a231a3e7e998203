"""The columns of a survey's respondent file, their closed lists and the readers of their cells.

A respondent file (``surveys/<name>_<year>.csv``, see :mod:`evaluation.intake.surveys`) has design
columns (:data:`WAVE_COLUMNS`: identifier, weight, stratum, cluster, QPV, commune, sex, age band)
under French or English headers, then one column per question. Its own module: the survey
descriptions (:mod:`evaluation.intake.survey_descriptions`) refuse a question named like a design
column, and the wave checks (:mod:`evaluation.intake.surveys`) read the cells with these helpers.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd

#: Age bands of the respondents (adults) and their accepted forms (folded, without ``ans``, ``a``, ``de``).
SURVEY_AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
_AGE_WORDS = MappingProxyType(
    {
        "18-29": ("18 29", "moins de 30"),
        "30-44": ("30 44",),
        "45-59": ("45 59",),
        "60+": ("60+", "60 +", "60 et plus", "60 ou plus", "plus de 60", "60 plus"),
    }
)
#: Sex of a respondent and the accepted words (folded). Numeric codes are refused: 1 is a man in
#: INSEE's files and a woman in others.
SURVEY_SEX_VALUES = MappingProxyType(
    {"F": ("f", "femme", "femmes", "feminin"), "M": ("m", "h", "homme", "hommes", "masculin")}
)

#: Columns of a typed wave before the question and indicator columns.
WAVE_COLUMNS = ("respondent_id", "weight", "stratum", "cluster", "qpv", "commune", "sex", "age_band", "line")

_DESIGN_ALIASES = MappingProxyType(
    {
        "respondent_id": (
            "respondent id",
            "identifiant",
            "id",
            "identifiant repondant",
            "id repondant",
            "numero repondant",
            "numero",
            "ident",
        ),
        "weight": ("weight", "poids", "ponderation", "poids final", "poids redresse", "coefficient", "coef"),
        "stratum": ("stratum", "strate", "strates"),
        "cluster": ("cluster", "grappe", "psu", "unite primaire", "ilot"),
        "qpv": ("qpv", "quartier", "code qpv", "code qp", "quartier prioritaire"),
        "commune": ("commune", "ville", "code commune", "code insee", "insee", "libelle commune"),
        "sex": ("sex", "sexe", "genre"),
        "age_band": ("age band", "tranche age", "tranche d'age", "tranche d age", "classe d'age", "age"),
    }
)
_FRENCH = MappingProxyType(
    {"respondent_id": "identifiant", "weight": "poids", "stratum": "strate", "cluster": "grappe", "sex": "sexe"}
)


def _fold(text: object) -> str:
    """Lower case, no accents, one space for runs of spaces, ``_`` and dashes."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[\s_\-\u2013]+", " ", text).strip()


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text: blank for a missing cell, ``3`` for a workbook's ``3.0``."""

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return series.map(one).astype(object)


def _numbers(text: pd.Series) -> pd.Series:
    """Numbers from text cells (``1 250,5``, ``1.5``, ``2,25``); NaN for blank or not a number."""
    compact = text.str.replace(r"[\s\u00a0\u202f']", "", regex=True)
    both = compact.str.contains(",", regex=False) & compact.str.contains(".", regex=False)
    compact = compact.where(~both, compact.str.replace(".", "", regex=False))
    return pd.to_numeric(compact.str.replace(",", ".", regex=False), errors="coerce")


def _age_normal(text: str) -> str:
    return " ".join(re.sub(r"\b(ans?|a|de)\b", " ", _fold(text)).split())


def _lookup(words: Mapping[str, Iterable[str]], normal: Any) -> dict[str, str]:
    table = {normal(key): key for key in words}
    for key, forms in words.items():
        table.update({normal(form): key for form in forms})
    return table


_SEX_LOOKUP = _lookup(SURVEY_SEX_VALUES, _fold)
_AGE_LOOKUP = _lookup(_AGE_WORDS, _age_normal)


def _closest(text: str, choices: Mapping[str, str]) -> str | None:
    """The value of ``choices`` (folded form -> value) whose key is closest to ``text``."""
    close = difflib.get_close_matches(_fold(text), list(choices), n=1, cutoff=0.6)
    return choices[close[0]] if close else None
