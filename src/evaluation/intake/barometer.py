"""The barometer of the QPV (``barometer/``): indicators, closed lists, schema, typed rows, loader."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake._cache import _reference_state, _remembered
from evaluation.intake.cells import (
    _blank,
    _fold,
    _is_number,
    _is_year,
    _non_negative,
    _or_text,
    _parse_year,
    _valid,
    _year_or_none,
    distinct_map,
    mapped,
    parse_number,
)
from evaluation.intake.folders import _checked_tables, _cross_file_duplicates
from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.raw_tables import RawTable, TableSpec
from evaluation.intake.schema import NOT_A_NUMBER, NOT_A_YEAR, Check, Message, Schema, _closest_code, _run_schema
from evaluation.io import Dataset
from evaluation.referential.plan import Plan
from evaluation.referential.territories import AGGREGATES, load_qpv, territory_names

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


def _barometer_keys(frame: pd.DataFrame, codes: frozenset[str]) -> pd.Series:
    """Key of each row (territory, year, indicator, sex, age band), on canonical values."""
    parsers = {
        "territory": lambda v: _parse_territory(v, codes),
        "year": _parse_year,
        "indicator": _parse_indicator,
        "sex": _parse_sex,
        "age_band": _parse_age_band,
    }
    parts = [mapped(frame[column], lambda v, p=parser: str(_or_text(p, v))) for column, parser in parsers.items()]
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "|" + part
    return keys


def _barometer_schema(codes: frozenset[str]) -> Schema:
    def known_territory(value: object) -> bool:
        return _blank(value) or _valid(lambda v: _parse_territory(v, codes))(value)

    def in_years(value: object) -> bool:
        year = _year_or_none(value)
        return year is None or BAROMETER_YEARS[0] <= year <= BAROMETER_YEARS[1]

    def vintage_close(frame: pd.DataFrame) -> np.ndarray:
        years = distinct_map(frame["year"], _year_or_none)
        vintages = distinct_map(frame["vintage"], _year_or_none)
        return np.array(
            [y is None or v is None or abs(y - v) <= _VINTAGE_SPAN for y, v in zip(years, vintages, strict=True)],
            dtype=bool,
        )

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_barometer_keys(frame, codes).duplicated(keep="first")

    def present(key: str, message: Message) -> Check:
        return Check(lambda v: not _blank(v), key, message, ignore_na=False)

    return Schema(
        {
            "territory": [
                present(
                    "missing_territory",
                    Message(
                        "territory",
                        "is missing",
                        "give the QPV code (e.g. QN05972M), MEL or MEL_HORS_QPV",
                        "cellule vide",
                        "indiquer le code du QPV (par exemple QN05972M), MEL ou MEL_HORS_QPV",
                    ),
                ),
                Check(
                    known_territory,
                    "unknown_territory",
                    Message(
                        "territory",
                        "is not a territory of the barometer",
                        "{suggestion}",
                        "n'est pas un territoire du baromètre",
                        "{suggestion}",
                    ),
                ),
            ],
            "year": [
                Check(_is_year, "not_a_year", NOT_A_YEAR, ignore_na=False),
                Check(
                    in_years,
                    "year_outside_barometer",
                    Message(
                        "year",
                        "is outside the barometer's years",
                        f"use a year from {BAROMETER_YEARS[0]} to {BAROMETER_YEARS[1]}",
                        "est hors des années du baromètre",
                        f"indiquer une année de {BAROMETER_YEARS[0]} à {BAROMETER_YEARS[1]}",
                    ),
                ),
            ],
            "indicator": [
                present(
                    "missing_barometer_indicator",
                    Message(
                        "indicator",
                        "is missing",
                        "give the indicator code, e.g. jobseekers",
                        "cellule vide",
                        "indiquer le code de l'indicateur, par exemple jobseekers",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(_parse_indicator)(v),
                    "unknown_barometer_indicator",
                    Message(
                        "indicator",
                        "is not an indicator of the barometer",
                        "{suggestion}",
                        "n'est pas un indicateur du baromètre",
                        "{suggestion}",
                    ),
                ),
            ],
            "sex": [
                Check(
                    _valid(_parse_sex),
                    "bad_sex",
                    Message(
                        "sex",
                        "is not a known sex value",
                        "use ensemble, F or M (total, femmes, hommes), or leave it blank",
                        "n'est pas une valeur connue du sexe",
                        "écrire ensemble, F ou M (total, femmes, hommes), ou laisser vide",
                    ),
                )
            ],
            "age_band": [
                Check(
                    _valid(_parse_age_band),
                    "bad_age_band",
                    Message(
                        "age_band",
                        "is not a known age band",
                        f"use {', '.join(AGE_BANDS)}, or leave it blank for total",
                        "n'est pas une tranche d'âge connue",
                        f"écrire {', '.join(AGE_BANDS)}, ou laisser vide pour total",
                    ),
                )
            ],
            "value": [
                present(
                    "missing_value",
                    Message(
                        "value",
                        "is missing",
                        "give the count, or remove the row (a value withheld by statistical secrecy is left out)",
                        "cellule vide",
                        "indiquer l'effectif, ou supprimer la ligne (une valeur couverte par le secret statistique "
                        "est omise)",
                    ),
                ),
                Check(_is_number, "not_a_number", NOT_A_NUMBER),
                Check(
                    _non_negative,
                    "negative_value",
                    Message(
                        "value", "is negative", "a count is 0 or more", "est négatif", "un effectif vaut 0 ou plus"
                    ),
                ),
            ],
            "source": [
                present(
                    "missing_source",
                    Message(
                        "source",
                        "is missing",
                        "name the producer of the value, e.g. INSEE, recensement",
                        "cellule vide",
                        "nommer le producteur de la valeur, par exemple INSEE, recensement",
                    ),
                )
            ],
            "vintage": [
                Check(
                    lambda v: _blank(v) or _is_year(v),
                    "vintage_not_a_year",
                    Message(
                        "vintage",
                        "is not a year",
                        "give the census vintage with 4 digits, e.g. 2017, or leave it blank",
                        "n'est pas une année",
                        "indiquer le millésime du recensement sur 4 chiffres, par exemple 2017, ou laisser vide",
                    ),
                )
            ],
            "sampled": [
                Check(
                    _valid(_parse_sampled),
                    "bad_sampled",
                    Message(
                        "sampled",
                        "is not oui or non",
                        "write oui (a sample survey such as the census) or non",
                        "n'est ni oui ni non",
                        "écrire oui (une enquête par sondage, comme le recensement) ou non",
                    ),
                )
            ],
        },
        checks=[
            Check(
                vintage_close,
                "vintage_too_far",
                Message(
                    "vintage",
                    f"is more than {_VINTAGE_SPAN} years away from the row's year",
                    "a census vintage N pools the surveys of N-2 to N+2: use a vintage within 2 years of the year",
                    f"est à plus de {_VINTAGE_SPAN} ans de l'année de la ligne",
                    "un millésime N du recensement regroupe les enquêtes de N-2 à N+2 : indiquer un millésime à "
                    "2 ans au plus de l'année",
                ),
                element_wise=False,
            ),
            Check(
                not_duplicated,
                "duplicate_barometer",
                Message(
                    "territory",
                    "appears twice for this year, indicator, sex and age band in this file (first at line {first})",
                    "keep one row per territory, year, indicator, sex and age band",
                    "figure deux fois pour cette année, cet indicateur, ce sexe et cette tranche d'âge dans ce "
                    "fichier (première occurrence à la ligne {first})",
                    "garder une ligne par territoire, année, indicateur, sexe et tranche d'âge",
                ),
                element_wise=False,
            ),
        ],
    )


def _suggest_territory(value: object, names: dict[str, str]) -> Phrase:
    """The closest territory code, by code or by name (``Secteur Sud`` -> QN05972M)."""
    text = str(value).strip()
    code = _closest_code(text, names)
    if code is not None:
        return did_you_mean(code, names[code])
    return Phrase(
        "use a QPV code of data/reference/qpv_mel_2024.csv (e.g. QN05972M), MEL or MEL_HORS_QPV",
        "indiquer un code de QPV de data/reference/qpv_mel_2024.csv (par exemple QN05972M), MEL ou MEL_HORS_QPV",
    )


def _suggest_indicator(value: object) -> Phrase:
    """The closest barometer indicator, by code or by French label."""
    options = {_fold(code): code for code in BAROMETER_INDICATORS}
    options.update({_fold(i.label): code for code, i in BAROMETER_INDICATORS.items()})
    close = difflib.get_close_matches(_fold(str(value)), list(options), n=1, cutoff=0.5)
    if close:
        return did_you_mean(options[close[0]])
    codes = ", ".join(BAROMETER_INDICATORS)
    return Phrase(f"use one of {codes}", f"indiquer l'un des codes {codes}")


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
        place_fr = (
            f"ligne {pair.line_population}" if same_file else f"{pair.file_population}, ligne {pair.line_population}"
        )
        population = _count_text(pair.value_population)
        problems.append(
            Problem(
                folder / pair.file,
                int(pair.line),
                "value",
                _count_text(pair.value),
                f"is more than population_15_64 for the same territory, year, sex and age band ({population}, {place})",
                "the employed are part of the population: check both values",
                message_fr="dépasse population_15_64 pour le même territoire, la même année, le même sexe et la "
                f"même tranche d'âge ({population}, {place_fr})",
                hint_fr="les personnes en emploi font partie de la population : vérifier les deux valeurs",
            )
        )
        bad.append(pair.index)
    return problems, bad


def load_barometer(dataset: Dataset, plan: Plan | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Barometer counts of every file of ``barometer/``, and the problems found (rows with a problem are left out).

    One row per territory, year, indicator, sex and age band. Columns:

    - ``territory``: a QPV code of :func:`evaluation.referential.territories.load_qpv` (any case in the file),
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
        "barometer",
        dataset.path / "barometer",
        None,
        (_reference_state(), dataset.limits),
        lambda: _load_barometer(dataset),
    )


def _load_barometer(dataset: Dataset) -> tuple[pd.DataFrame, list[Problem]]:
    folder = dataset.path / "barometer"
    qpv = load_qpv()
    codes = frozenset(q.code for q in qpv)
    names = territory_names(qpv)
    schema = _barometer_schema(codes)

    def suggest(key: str, value: object) -> Phrase:
        return _suggest_territory(value, names) if key == "unknown_territory" else _suggest_indicator(value)

    def check(table: RawTable) -> list[Problem]:
        return _run_schema(schema, table, (), suggest, lambda frame: _barometer_keys(frame, codes))

    tables, problems = _checked_tables(folder, BAROMETER, check, dataset.limits)
    types = {"year": "int64", "value": "float64", "vintage": "Int64", "sampled": "bool", "line": "int64"}
    # Typed before the concatenation: a file whose vintage column is blank would otherwise leave its
    # dtype to pandas' guess (deprecated for all-NA columns).
    frames = [f.astype(types) for f in (_barometer_rows(t, codes) for t in tables) if not f.empty]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BAROMETER_COLUMNS)
    duplicates, conflicting = _cross_file_duplicates(frame, _BAROMETER_KEY, folder, Phrase("value", "la valeur"))
    problems += duplicates
    if conflicting:
        row_keys = [
            tuple("" if pd.isna(v) else v for v in row) for row in frame[_BAROMETER_KEY].itertuples(index=False)
        ]
        frame = frame[[k not in conflicting for k in row_keys]]
    employment_problems, bad = _employed_above_population(frame, folder)
    problems += employment_problems
    frame = frame.drop(index=bad).reset_index(drop=True)
    return frame.astype(types), problems
