"""Comparison territories (``comparison/``): their declaration, their series, the checks, typed data.

What the plan did can only be told from what happened *elsewhere* over the same years
(:mod:`evaluation.stats.impact`). A data directory's ``comparison/`` folder holds:

``comparison/territoires.yaml``
    The comparison territories, one entry each (UTF-8, under 1 MB, no YAML anchor or alias)::

        synthetic: false            # optional: true for invented figures (the demo's)
        description: Séries de l'ONPV et de l'INSEE, extraites en 2022   # optional, shown in the reports
        territories:
          - code: QPV_LYON          # letters, digits, _ or - (any case in the series files)
            name: QPV de la Métropole de Lyon
            group: qpv_metropoles   # a code of COMPARISON_GROUPS, or its French name
            source: ONPV, fiches QPV, agrégat des 30 QPV de la métropole
            caveats: Périmètre 2015 des QPV          # optional

    Groups (:data:`COMPARISON_GROUPS`): ``qpv_mel`` (a QPV of the MEL, one by one: the 26 codes
    of ``data/reference/qpv_mel_2024.csv`` are known without being declared), ``qpv_mel_ensemble``
    (the 26 together, one territory at most), ``qpv_metropoles`` (the QPV of another metropole,
    together or one by one), ``veille_active_mel`` (the MEL's former priority areas),
    ``france_qpv`` and ``france_hors_qpv`` (national references, never comparison units: the first
    contains the MEL's QPV, the second is another world). The French names are accepted too
    (``QPV MEL``, ``QPV d'autres métropoles``, ``quartiers de veille active``, ``France QPV``,
    ``France hors QPV``).

``comparison/*.csv`` or ``*.xlsx``
    The series, long format: ``territory`` (``territoire``, ``code``), ``year`` (``année``),
    ``indicator`` (``indicateur``: a code of :data:`COMPARISON_INDICATORS`, or its French label),
    ``value`` (``valeur``: the rate in the indicator's unit, 0 to 100 for a percentage, 0 to 1 000
    for a rate per 1 000) and ``source``; a ``name`` (``nom``) column is read and ignored. For the
    census employment rate, ``year`` is the census vintage N (which pools the surveys N-2 to N+2).

Every problem of every file is reported at once, with the file, line, column and fix (as the other
inputs: :mod:`evaluation.intake`); a series row with a problem is left out, a declaration with a
problem too. :func:`load_comparison` returns a :class:`ComparisonData`.

The groups, the territories' records and the reader of their declaration are in
:mod:`evaluation.intake.comparison_territories`; their public names are importable from here as well.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.intake.cells import (
    _blank,
    _fold,
    _is_number,
    _is_year,
    _number_or_nan,
    _or_text,
    _parse_year,
    _valid,
    _year_or_none,
    distinct_map,
    mapped,
    parse_number,
)
from evaluation.intake.comparison_territories import (
    COMPARISON_GROUPS,
    DECLARATION_FILE,
    ComparisonGroup,
    ComparisonTerritory,
    GroupRole,
    _one_of,
    _read_declaration,
)
from evaluation.intake.folders import _checked_tables, _cross_file_duplicates
from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.raw_tables import RawTable, TableSpec
from evaluation.intake.schema import NOT_A_NUMBER, NOT_A_YEAR, Check, Message, Schema, _closest_code, _run_schema
from evaluation.io import Dataset
from evaluation.referential.plan import Plan
from evaluation.referential.territories import load_qpv

__all__ = [
    "COMPARISON",
    "COMPARISON_FOLDER",
    "DECLARATION_FILE",
    "COMPARISON_YEARS",
    "COMPARISON_COLUMNS",
    "COMPARISON_INDICATORS",
    "COMPARISON_GROUPS",
    "GroupRole",
    "ComparisonGroup",
    "ComparisonIndicator",
    "ComparisonTerritory",
    "ComparisonData",
    "load_comparison",
]

#: The input folder.
COMPARISON_FOLDER = "comparison"
#: Years a series row may have (first and last, inclusive).
COMPARISON_YEARS = (2000, 2030)


@dataclass(frozen=True)
class ComparisonIndicator:
    """An indicator of the comparison series: a rate, in ``unit``, within ``low`` and ``high``.

    ``effect_unit``: the unit of a difference (``point`` for a percentage: pluralised by the
    reports; ``pour 1 000`` otherwise); ``higher_is_better``: whether a rise is good news for the
    residents; ``census``: the figure comes from the census (5-year pooled vintages); ``source``:
    the usual producer, in French.
    """

    label: str
    unit: str
    effect_unit: str
    low: float
    high: float
    higher_is_better: bool
    census: bool
    source: str


#: The indicators of the comparison series (closed list), in the order the reports show them.
COMPARISON_INDICATORS: Mapping[str, ComparisonIndicator] = MappingProxyType(
    {
        "employment_rate_pct": ComparisonIndicator(
            "Taux d'emploi des 15-64 ans (%)", "%", "point", 0.0, 100.0, True, True, "INSEE, recensement"
        ),
        "jobseekers_per_1000": ComparisonIndicator(
            "Demandeurs d'emploi (cat. A, B, C) pour 1 000 habitants de 15-64 ans",
            "pour 1 000",
            "pour 1 000",
            0.0,
            1000.0,
            False,
            False,
            "France Travail (ex-Pôle emploi)",
        ),
        "business_creations_per_1000": ComparisonIndicator(
            "Créations d'entreprises pour 1 000 habitants",
            "pour 1 000",
            "pour 1 000",
            0.0,
            1000.0,
            True,
            False,
            "INSEE, Sirene",
        ),
        "poverty_rate_pct": ComparisonIndicator(
            "Taux de pauvreté (%)", "%", "point", 0.0, 100.0, False, False, "INSEE, Filosofi"
        ),
    }
)


COMPARISON = TableSpec(
    kind="comparison",
    required=("territory", "year", "indicator", "value", "source"),
    optional=(),
    aliases={
        "territory": ("territory", "territoire", "code", "code territoire"),
        "year": ("year", "annee", "an", "millesime"),
        "indicator": ("indicator", "indicateur", "code indicateur"),
        "value": ("value", "valeur", "taux"),
        "source": ("source", "producteur"),
        "name": ("name", "nom", "libelle", "nom du territoire"),
    },
    ignored=("name",),
    french={"territory": "territoire", "year": "année", "indicator": "indicateur", "value": "valeur"},
)

#: Columns of :attr:`ComparisonData.series`, in order.
COMPARISON_COLUMNS = ("territory", "group", "year", "indicator", "value", "source", "file", "line")
_KEY = ["territory", "year", "indicator"]


@dataclass(frozen=True, eq=False)
class ComparisonData:
    """The checked ``comparison/`` folder.

    ``territories``: the declared territories (file order), then the QPV of the MEL that have a
    series without a declaration; ``series``: one row per territory, year and indicator
    (:data:`COMPARISON_COLUMNS`; rows with a problem left out); ``synthetic`` and ``description``:
    as declared; ``folder``: where they come from (None when the data directory has no such folder).
    """

    territories: tuple[ComparisonTerritory, ...]
    series: pd.DataFrame
    synthetic: bool = False
    description: str | None = None
    folder: Path | None = None

    @property
    def present(self) -> bool:
        """Whether the data directory declares comparison territories with series."""
        return bool(self.territories) and not self.series.empty

    def territory(self, code: str) -> ComparisonTerritory:
        return {t.code: t for t in self.territories}[code]

    def names(self) -> dict[str, str]:
        """Territory code -> French name."""
        return {t.code: t.name for t in self.territories}

    def codes(self, *roles: GroupRole) -> list[str]:
        """The codes of the territories of ``roles`` that have a series, in declaration order."""
        present = set(self.series["territory"])
        return [t.code for t in self.territories if t.role in roles and t.code in present]

    def panel(self) -> pd.DataFrame:
        """One row per territory and year, one column per indicator (NaN where there is no value):
        ``territory, name, group, year`` then the indicators of :data:`COMPARISON_INDICATORS` that
        have a value, in that order; territories in declaration order, years ascending."""
        wide = self.series.pivot(index=["territory", "year"], columns="indicator", values="value")
        indicators = [i for i in COMPARISON_INDICATORS if i in wide.columns]
        order = {t.code: position for position, t in enumerate(self.territories)}
        frame = wide.reindex(columns=indicators).reset_index()
        frame.columns.name = None
        frame.insert(1, "name", frame["territory"].map(self.names()))
        frame.insert(2, "group", frame["territory"].map({t.code: t.group for t in self.territories}))
        frame = frame.assign(_order=frame["territory"].map(order)).sort_values(["_order", "year"], kind="stable")
        return frame.drop(columns="_order").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# The series


def _parse_indicator(value: object) -> str:
    """A code of :data:`COMPARISON_INDICATORS` (any case, spaces or dashes for underscores) or its French label."""
    if _blank(value):
        raise ValueError("missing")
    text = str(value).strip()
    if text in COMPARISON_INDICATORS:
        return text
    folded = {_fold(code): code for code in COMPARISON_INDICATORS}
    folded.update({_fold(i.label): code for code, i in COMPARISON_INDICATORS.items()})
    if _fold(text) in folded:
        return folded[_fold(text)]
    raise ValueError("unknown indicator")


def _suggest_indicator(value: object) -> Phrase:
    options = {_fold(code): code for code in COMPARISON_INDICATORS}
    options.update({_fold(i.label): code for code, i in COMPARISON_INDICATORS.items()})
    close = difflib.get_close_matches(_fold(str(value)), list(options), n=1, cutoff=0.5)
    if close:
        return did_you_mean(options[close[0]])
    return _one_of(COMPARISON_INDICATORS)


def _parse_territory(value: object, codes: frozenset[str]) -> str:
    if _blank(value):
        raise ValueError("missing")
    text = str(value).strip().upper()
    if text in codes:
        return text
    raise ValueError("unknown territory")


def _keys(frame: pd.DataFrame, codes: frozenset[str]) -> pd.Series:
    parsers = {
        "territory": lambda v: _parse_territory(v, codes),
        "year": _parse_year,
        "indicator": _parse_indicator,
    }
    parts = [mapped(frame[column], lambda v, p=parser: str(_or_text(p, v))) for column, parser in parsers.items()]
    return parts[0] + "|" + parts[1] + "|" + parts[2]


def _schema(codes: frozenset[str], check_territories: bool) -> Schema:
    def known_territory(value: object) -> bool:
        return not check_territories or _blank(value) or _valid(lambda v: _parse_territory(v, codes))(value)

    def in_years(value: object) -> bool:
        year = _year_or_none(value)
        return year is None or COMPARISON_YEARS[0] <= year <= COMPARISON_YEARS[1]

    def in_range(frame: pd.DataFrame) -> np.ndarray:
        indicators = distinct_map(frame["indicator"], lambda v: _or_text(_parse_indicator, v))
        values = distinct_map(frame["value"], _number_or_nan)
        inside = []
        for indicator, value in zip(indicators, values, strict=True):
            spec = COMPARISON_INDICATORS.get(str(indicator))
            inside.append(spec is None or math.isnan(value) or spec.low <= value <= spec.high)
        return np.array(inside, dtype=bool)

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        return ~_keys(frame, codes).duplicated(keep="first")

    def present(key: str, message: Message) -> Check:
        return Check(lambda v: not _blank(v), key, message, ignore_na=False)

    return Schema(
        {
            "territory": [
                present(
                    "missing_comparison_territory",
                    Message(
                        "territory",
                        "is missing",
                        f"give the territory's code, as declared in {DECLARATION_FILE}",
                        "cellule vide",
                        f"indiquer le code du territoire, tel que déclaré dans {DECLARATION_FILE}",
                    ),
                ),
                Check(
                    known_territory,
                    "unknown_comparison_territory",
                    Message(
                        "territory",
                        "is not a declared comparison territory",
                        "{suggestion}",
                        "n'est pas un territoire de comparaison déclaré",
                        "{suggestion}",
                    ),
                ),
            ],
            "year": [
                Check(_is_year, "not_a_year", NOT_A_YEAR, ignore_na=False),
                Check(
                    in_years,
                    "comparison_year_outside",
                    Message(
                        "year",
                        "is outside the comparison years",
                        f"use a year from {COMPARISON_YEARS[0]} to {COMPARISON_YEARS[1]}",
                        "est hors des années de comparaison",
                        f"indiquer une année de {COMPARISON_YEARS[0]} à {COMPARISON_YEARS[1]}",
                    ),
                ),
            ],
            "indicator": [
                present(
                    "missing_comparison_indicator",
                    Message(
                        "indicator",
                        "is missing",
                        "give the indicator code, e.g. employment_rate_pct",
                        "cellule vide",
                        "indiquer le code de l'indicateur, par exemple employment_rate_pct",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or _valid(_parse_indicator)(v),
                    "unknown_comparison_indicator",
                    Message(
                        "indicator",
                        "is not an indicator of the comparison series",
                        "{suggestion}",
                        "n'est pas un indicateur des séries de comparaison",
                        "{suggestion}",
                    ),
                ),
            ],
            "value": [
                present(
                    "missing_comparison_value",
                    Message(
                        "value",
                        "is missing",
                        "give the rate, or remove the row (a value withheld by statistical secrecy is left out)",
                        "cellule vide",
                        "indiquer le taux, ou supprimer la ligne (une valeur couverte par le secret statistique est "
                        "omise)",
                    ),
                ),
                Check(_is_number, "not_a_number", NOT_A_NUMBER),
            ],
            "source": [
                present(
                    "missing_comparison_source",
                    Message(
                        "source",
                        "is missing",
                        "name the producer of the value, e.g. ONPV, INSEE recensement, France Travail",
                        "cellule vide",
                        "nommer le producteur de la valeur, par exemple ONPV, INSEE recensement, France Travail",
                    ),
                )
            ],
        },
        checks=[
            Check(
                in_range,
                "comparison_value_out_of_range",
                Message(
                    "value",
                    "is out of range for its indicator",
                    "a rate in % lies from 0 to 100 (44 for 44 %, not 0,44), a rate per 1 000 from 0 to 1 000",
                    "sort des bornes de son indicateur",
                    "un taux en % va de 0 à 100 (44 pour 44 %, et non 0,44), un taux pour 1 000 de 0 à 1 000",
                ),
                element_wise=False,
            ),
            Check(
                not_duplicated,
                "duplicate_comparison",
                Message(
                    "territory",
                    "appears twice for this year and indicator in this file (first at line {first})",
                    "keep one row per territory, year and indicator",
                    "figure deux fois pour cette année et cet indicateur dans ce fichier (première occurrence à la "
                    "ligne {first})",
                    "garder une ligne par territoire, année et indicateur",
                ),
                element_wise=False,
            ),
        ],
    )


def _rows(table: RawTable, codes: frozenset[str], groups: Mapping[str, str]) -> pd.DataFrame:
    rows = []
    for line, cells in zip(table.frame.index, table.frame.to_dict("records"), strict=True):
        territory = _parse_territory(cells["territory"], codes)
        rows.append(
            {
                "territory": territory,
                "group": groups[territory],
                "year": _parse_year(cells["year"]),
                "indicator": _parse_indicator(cells["indicator"]),
                "value": parse_number(cells["value"]),
                "source": str(cells["source"]).strip(),
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _empty_series() -> pd.DataFrame:
    return pd.DataFrame(columns=list(COMPARISON_COLUMNS)).astype(_TYPES)


_TYPES = {"year": "int64", "value": "float64", "line": "int64"}


def load_comparison(dataset: Dataset, plan: Plan | None = None) -> tuple[ComparisonData, list[Problem]]:
    """The comparison territories and series of ``comparison/``, and every problem found.

    Declarations (``territoires.yaml``): each entry needs a ``code`` (letters, digits, ``_``, ``-``;
    read in upper case), a ``name``, a ``group`` of :data:`COMPARISON_GROUPS` (code or French name)
    and a ``source``; ``caveats`` is optional. A code declared twice, a ``qpv_mel`` code outside the
    reference list (or a QPV of the MEL in another group), a second ``qpv_mel_ensemble``, an unknown
    key, a declared territory without any series row are problems; an entry with a problem is left
    out. The QPV of the reference list need no declaration (group ``qpv_mel``, their reference name).

    Series (every ``.csv``/``.xlsx`` of the folder): ``territory`` (a declared code or a QPV of the
    MEL, any case), ``year`` (2000-2030), ``indicator`` (code or French label of
    :data:`COMPARISON_INDICATORS`), ``value`` (a number within the indicator's range), ``source``;
    a key (territory, year, indicator) given twice in a file or across files is a problem (across
    files both rows are left out). Rows with a problem are left out.

    No ``comparison/`` folder: an empty :class:`ComparisonData` and no problem. A folder without
    ``territoires.yaml``: one problem; the series' territories are then not checked, and only the
    QPV of the MEL are kept. ``plan`` is not used (signature of the other loaders).
    """
    del plan
    folder = dataset.path / COMPARISON_FOLDER
    qpv = load_qpv()
    qpv_codes = frozenset(q.code for q in qpv)
    if not folder.exists() and not folder.is_symlink():
        return ComparisonData((), _empty_series()), []
    declaration = folder / DECLARATION_FILE
    problems: list[Problem] = []
    declared: list[ComparisonTerritory] = []
    synthetic, description, lines, read = False, None, {}, False
    real_folder = folder.is_dir() and not folder.is_symlink()  # a link or a file: _input_files reports it
    if declaration.is_symlink():
        pass  # never followed; _input_files reports every link of the folder
    elif real_folder and declaration.exists():
        declared, synthetic, description, yaml_problems, lines, read = _read_declaration(declaration, qpv_codes)
        problems += yaml_problems
    elif real_folder:
        problems.append(
            Problem(
                declaration,
                None,
                None,
                None,
                "is missing: the comparison territories are not declared",
                "list each territory with code:, name:, group: and source: (see data/demo/comparison/territoires.yaml)",
                message_fr="est absent : les territoires de comparaison ne sont pas déclarés",
                hint_fr="lister chaque territoire avec code:, name:, group: et source: (voir "
                "data/demo/comparison/territoires.yaml)",
            )
        )
    groups = {q.code: "qpv_mel" for q in qpv} | {t.code: t.group for t in declared}
    codes = frozenset(groups)
    names = {q.code: q.name for q in qpv} | {t.code: t.name for t in declared}
    schema = _schema(codes, check_territories=read)

    def suggest(key: str, value: object) -> Phrase:
        if key == "unknown_comparison_territory":
            code = _closest_code(str(value).strip(), names)
            if code is not None:
                return did_you_mean(code, names[code])
            return Phrase(
                f"declare it in {DECLARATION_FILE}, or use a QPV code of data/reference/qpv_mel_2024.csv",
                f"le déclarer dans {DECLARATION_FILE}, ou indiquer un code de QPV de data/reference/qpv_mel_2024.csv",
            )
        return _suggest_indicator(value)

    def check(table: RawTable) -> list[Problem]:
        return _run_schema(schema, table, (), suggest, lambda frame: _keys(frame, codes))

    tables, table_problems = _checked_tables(folder, COMPARISON, check, dataset.limits)
    problems += table_problems
    frames = [f.astype(_TYPES) for f in (_rows_known(t, codes, groups) for t in tables) if not f.empty]
    series = pd.concat(frames, ignore_index=True) if frames else _empty_series()
    duplicates, conflicting = _cross_file_duplicates(series, _KEY, folder, Phrase("value", "la valeur"))
    problems += duplicates
    if conflicting:
        keys = list(series[_KEY].itertuples(index=False, name=None))
        series = series[[k not in conflicting for k in keys]].reset_index(drop=True)
    present = set(series["territory"])
    for territory in declared:
        if territory.code not in present:
            problems.append(
                Problem(
                    declaration,
                    lines.get(territory.code) or None,
                    "code",
                    territory.code,
                    "is declared but no series file has a value for it",
                    "add its series to a file of the folder, or remove its declaration",
                    message_fr="est déclaré, mais aucun fichier de séries n'a de valeur pour lui",
                    hint_fr="ajouter ses séries à un fichier du dossier, ou supprimer sa déclaration",
                )
            )
    undeclared = [
        ComparisonTerritory(q.code, q.name, "qpv_mel", "", declared=False)
        for q in sorted(qpv, key=lambda q: q.code)
        if q.code in present and q.code not in {t.code for t in declared}
    ]
    data = ComparisonData(
        tuple(declared) + tuple(undeclared), series.astype(_TYPES), synthetic, description, folder.resolve()
    )
    return data, problems


def _rows_known(table: RawTable, codes: frozenset[str], groups: Mapping[str, str]) -> pd.DataFrame:
    """Typed rows; without a declaration, the rows of territories other than the QPV are left out."""
    known = distinct_map(table.frame["territory"], _valid(lambda v: _parse_territory(v, codes))).astype(bool)
    return _rows(RawTable(table.path, table.frame.loc[known]), codes, groups)
