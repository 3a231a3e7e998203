"""Perception surveys (``surveys/``): survey descriptions, respondent files, checks, typed waves.

A data directory's ``surveys/`` folder holds, for each survey, **one description** and **one
respondent file per wave**:

``surveys/<name>.yaml``
    The survey's description (UTF-8, under 64 KB, no YAML anchor or alias)::

        name: perception_quartiers          # the file's name without .yaml (letters, digits, _)
        title: Enquête sur l'image des quartiers et la diversité
        institute: Institut X               # optional
        synthetic: false                    # optional: true for invented data (the demo's)
        years: [2020, 2021]                 # optional: the waves expected (a file of another year is refused)
        population: Habitants de 18 ans et plus des 26 QPV   # optional, shown in the reports
        method: Échantillon stratifié par QPV, tiré par grappes d'adresses...   # optional, idem
        weights: true                       # optional (default true): the files carry final weights;
                                            # false: no weight column, the weights are raked
                                            # (evaluation.stats.survey.rake) before any estimate
        questions:                          # one entry per question column of the respondent files
          - column: image_quartier          # the column's header in the files
            sheet: "17"                     # the plan's sheet the question serves
            label: Quelle image avez-vous de votre quartier comme lieu de vie ?
            answers: {1: Très bonne, 2: Plutôt bonne, 3: Plutôt mauvaise, 4: Très mauvaise}
            non_response: {9: Ne sait pas / refus}   # optional: codes that mean no answer
            indicator:                      # optional: the 0/1 variable estimated
              name: mauvaise_image          # its column in the typed wave
              label: Part des habitants ayant une mauvaise image de leur quartier
              answers: [3, 4]               # answers that count as 1; the other answers are 0
            baseline: {value: 0.56, year: 2015, source: "Selon une étude de 2015, 56 % ..."}  # optional

``surveys/<name>_<year>.csv`` (or ``.xlsx``)
    One row per respondent: an anonymous ``respondent_id`` (``identifiant``), the ``weight``
    (``poids``, above 0; required unless ``weights: false``), one column per question (the code of
    the answer, or its label as written in ``answers``; blank or a ``non_response`` code for no
    answer) and the optional columns ``stratum`` (``strate``), ``cluster`` (``grappe``, the
    first-stage sampling unit, numbered within its stratum or not), ``qpv`` (a QPV code or name of
    the reference list), ``commune`` (name or INSEE code of a commune of the 26 QPV), ``sex``
    (``sexe``: F/M, femme/homme) and ``age_band`` (``tranche_age``: :data:`SURVEY_AGE_BANDS`).
    Any other column is reported as a problem and not read (the file describes persons: keep only
    what the estimates use).

:func:`load_surveys` returns one :class:`SurveyWave` per respondent file: its description, its
year and a typed table (:data:`WAVE_COLUMNS` plus one column per question, the answer code as
``Int64`` with ``<NA>`` for no answer, and one per indicator, 1.0 / 0.0 / NaN for no answer).
Every problem of every file is reported at once, with the file, line, column and fix, and a
respondent row with a problem is left out. A file whose name is not ``<name>_<year>`` of a
described survey is not read, nor are two files for the same wave (which one is right cannot be
guessed).

The description's records and reader are in :mod:`evaluation.intake.survey_descriptions`, the
respondent file's columns and cell readers in :mod:`evaluation.intake.survey_columns`; their public
names are importable from here as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.intake.folders import _input_files
from evaluation.intake.grids import DEFAULT_LIMITS
from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.raw_tables import TableSpec, read_raw
from evaluation.intake.survey_columns import (
    _AGE_LOOKUP,
    _DESIGN_ALIASES,
    _FRENCH,
    _SEX_LOOKUP,
    SURVEY_AGE_BANDS,
    SURVEY_SEX_VALUES,
    WAVE_COLUMNS,
    _age_normal,
    _closest,
    _fold,
    _numbers,
    _text,
)
from evaluation.intake.survey_descriptions import (
    _YEARS,
    Baseline,
    Indicator,
    Question,
    SurveyDescription,
    _description_files,
    _read_description,
)
from evaluation.io import Dataset, Limits
from evaluation.referential.plan import load_plan
from evaluation.referential.territories import load_qpv

__all__ = [
    "SURVEY_AGE_BANDS",
    "SURVEY_SEX_VALUES",
    "WAVE_COLUMNS",
    "Indicator",
    "Baseline",
    "Question",
    "SurveyDescription",
    "SurveyWave",
    "load_surveys",
    "read_surveys",
]

_WAVE_FILE = re.compile(r"(?P<name>.+)_(?P<year>\d{4})")


@dataclass(frozen=True, eq=False)
class SurveyWave:
    """One wave of a survey: the respondents of ``year`` read from ``path``, rows without problems only."""

    description: SurveyDescription
    year: int
    path: Path
    respondents: pd.DataFrame = field(repr=False)


# --------------------------------------------------------------------------------------------------
# Respondent files


def _spec(description: SurveyDescription) -> TableSpec:
    question_columns = tuple(q.column for q in description.questions)
    required = ("respondent_id", "weight") if description.weighted else ("respondent_id",)
    optional = tuple(c for c in _DESIGN_ALIASES if c not in required)
    return TableSpec(
        kind="surveys",
        required=required + question_columns,
        optional=optional,
        aliases={**_DESIGN_ALIASES, **{c: (_fold(c),) for c in question_columns}},
        french={**_FRENCH, **{c: c for c in question_columns}},
    )


class _Checks:
    """The vectorised checks of one respondent file: each adds its problems and its bad lines."""

    def __init__(self, path: Path, frame: pd.DataFrame) -> None:
        self.path = path
        self.frame = frame
        self.problems: list[Problem] = []
        self.bad = pd.Series(False, index=frame.index)

    def add(
        self, mask: pd.Series, column: str, values: pd.Series | None, message: Phrase, hint: Phrase | pd.Series
    ) -> None:
        """A problem for each line where ``mask`` is true (``values`` shown unless None); ``hint``: one
        for every line, or a Series of them by line."""
        lines = mask.index[mask.to_numpy(dtype=bool)]
        self.bad |= mask
        for line in lines:
            value = None if values is None else values[line]
            text = hint if isinstance(hint, Phrase) else hint[line]
            self.problems.append(
                Problem(
                    self.path,
                    int(line),
                    column,
                    value or None,
                    message.en,
                    text.en,
                    message_fr=message.fr,
                    hint_fr=text.fr,
                )
            )


def _check_ids(checks: _Checks, ids: pd.Series) -> None:
    blank = ids.eq("")
    checks.add(
        blank,
        "respondent_id",
        None,
        Phrase("respondent id is missing", "identifiant du répondant manquant"),
        Phrase(
            "give every respondent an anonymous id, e.g. R0001",
            "donner à chaque répondant un identifiant anonyme, par exemple R0001",
        ),
    )
    duplicated = ids.duplicated(keep="first") & ~blank
    if duplicated.any():
        first = pd.Series(ids.index, index=ids.index).groupby(ids).transform("min")
        hints = first.map(
            lambda line: Phrase(
                f"same id as line {line}: give each respondent one row and his own id",
                f"même identifiant qu'à la ligne {line} : une seule ligne par répondant, avec son propre identifiant",
            )
        )
        checks.add(
            duplicated,
            "respondent_id",
            None,
            Phrase(
                "respondent id given twice (id not shown)",
                "identifiant du répondant donné deux fois (identifiant masqué)",
            ),
            hints,
        )


def _check_closed(
    checks: _Checks, text: pd.Series, column: str, lookup: Mapping[str, str], normal: Any, hint: Phrase | pd.Series
) -> pd.Series:
    """Canonical values of a closed list (None for a blank cell); a problem for each unknown value."""
    values = text.map(lambda t: lookup.get(normal(t)) if t else None)
    unknown = text.ne("") & values.isna()
    checks.add(unknown, column, text, Phrase("is not a known value", "n'est pas une valeur connue"), hint)
    return values


def _territories() -> tuple[dict[str, str], dict[str, str]]:
    """QPV (folded code or name -> code) and communes (folded name or INSEE code -> name)."""
    qpv, communes = {}, {}
    for area in load_qpv():
        qpv[_fold(area.code)] = area.code
        qpv[_fold(area.name)] = area.code
        for commune in area.communes:
            communes[_fold(commune.name)] = commune.name
            communes[commune.insee] = commune.name
    return qpv, communes


def _suggestions(text: pd.Series, unknown_choices: Mapping[str, str], fallback: Phrase) -> pd.Series:
    def one(value: str) -> Phrase:
        close = _closest(value, unknown_choices)
        return did_you_mean(close) if close else fallback

    return text.map(one)


def _wave(
    description: SurveyDescription, year: int, path: Path, limits: Limits
) -> tuple[SurveyWave | None, list[Problem]]:
    table, problems = read_raw(path, _spec(description), private=True, limits=limits)
    if table is None:
        return None, problems
    raw = table.frame
    text = {column: _text(raw[column]) for column in raw.columns}
    checks = _Checks(path, raw)
    _check_ids(checks, text["respondent_id"])

    weight = pd.Series(np.nan, index=raw.index)
    if "weight" in table.columns:
        weight = _numbers(text["weight"])
        checks.add(
            text["weight"].eq(""),
            "weight",
            None,
            Phrase("weight is missing", "poids manquant"),
            Phrase("every respondent needs his final weight", "chaque répondant doit avoir son poids final"),
        )
        checks.add(
            text["weight"].ne("") & weight.isna(),
            "weight",
            text["weight"],
            Phrase("is not a number", "n'est pas un nombre"),
            Phrase(
                "use digits, decimal comma allowed, e.g. 12,53",
                "écrire des chiffres, virgule décimale admise, par exemple 12,53",
            ),
        )
        checks.add(
            weight.le(0),
            "weight",
            text["weight"],
            Phrase("is not above 0", "n'est pas supérieur à 0"),
            Phrase(
                "a respondent who should not count is removed from the file, not weighted 0",
                "un répondant qui ne doit pas compter est retiré du fichier, et non pondéré par 0",
            ),
        )
    for column, missing_fr in (("stratum", "strate manquante"), ("cluster", "grappe manquante")):
        if column in table.columns:
            checks.add(
                text[column].eq(""),
                column,
                None,
                Phrase(f"{column} is missing", missing_fr),
                Phrase(
                    "every respondent belongs to a stratum and a cluster of the design",
                    "chaque répondant appartient à une strate et à une grappe du plan de sondage",
                ),
            )

    qpv_lookup, commune_lookup = _territories()
    qpv_codes = sorted(set(qpv_lookup.values()))
    qpv_hint = _suggestions(
        text["qpv"],
        qpv_lookup,
        Phrase(
            f"use a QPV code of the reference list, e.g. {qpv_codes[0]}",
            f"indiquer un code de QPV de la liste de référence, par exemple {qpv_codes[0]}",
        ),
    )
    qpv = _check_closed(checks, text["qpv"], "qpv", qpv_lookup, _fold, qpv_hint)
    commune_hint = _suggestions(
        text["commune"],
        commune_lookup,
        Phrase(
            "use the name or INSEE code of a commune of the 26 QPV",
            "indiquer le nom ou le code INSEE d'une commune des 26 QPV",
        ),
    )
    commune = _check_closed(
        checks, text["commune"], "commune", commune_lookup, lambda t: t if t.isdigit() else _fold(t), commune_hint
    )
    sex_hint = Phrase(
        "write F or M (femme, homme); numeric codes are not accepted",
        "écrire F ou M (femme, homme) ; les codes numériques ne sont pas acceptés",
    )
    sex = _check_closed(checks, text["sex"], "sex", _SEX_LOOKUP, _fold, sex_hint)
    bands = ", ".join(SURVEY_AGE_BANDS)
    age_hint = Phrase(f"use one of {bands}", f"indiquer l'une des tranches {bands}")
    age = _check_closed(checks, text["age_band"], "age_band", _AGE_LOOKUP, _age_normal, age_hint)

    respondents = pd.DataFrame(
        {
            "respondent_id": text["respondent_id"],
            "weight": weight.astype(float),
            "stratum": text["stratum"].where(text["stratum"].ne(""), None),
            "cluster": text["cluster"].where(text["cluster"].ne(""), None),
            "qpv": qpv,
            "commune": commune,
            "sex": sex,
            "age_band": age,
            "line": raw.index.to_numpy(dtype=np.int64),
        },
        index=raw.index,
    )
    for question in description.questions:
        lookup = {str(code): code for code in (*question.answers, *question.non_response)}
        lookup.update(
            {_fold(label): code for code, label in (*question.answers.items(), *question.non_response.items())}
        )
        cells = text[question.column]
        codes = cells.map(lambda t, lk=lookup: lk.get(t, lk.get(_fold(t))) if t else None)
        allowed = ", ".join(f"{c} {label}" for c, label in (*question.answers.items(), *question.non_response.items()))
        checks.add(
            cells.ne("") & codes.isna(),
            question.column,
            cells,
            Phrase("is not an answer code of the question", "n'est pas un code de réponse de la question"),
            Phrase(
                f"use {allowed}, or leave blank for no answer",
                f"indiquer {allowed}, ou laisser vide en l'absence de réponse",
            ),
        )
        answer = codes.where(~codes.isin(list(question.non_response)), None)
        respondents[question.column] = pd.array(answer.tolist(), dtype="Int64")
        if question.indicator is not None:
            counted = set(question.indicator.answers)
            respondents[question.indicator.name] = answer.map(
                lambda c, k=counted: np.nan if c is None or pd.isna(c) else float(c in k)
            ).astype(float)
    respondents = respondents[~checks.bad.to_numpy()].reset_index(drop=True)
    return SurveyWave(description, year, path, respondents), problems + sorted(
        checks.problems, key=lambda p: (p.line or 0, p.column or "")
    )


# --------------------------------------------------------------------------------------------------
# Loader


def read_surveys(folder: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[list[SurveyWave], list[Problem]]:
    """Every wave of the surveys of ``folder`` (a ``surveys/`` folder), and every problem found.

    Waves are sorted by survey name and year. A missing folder gives no wave and no problem.
    """
    folder = Path(folder)
    files, problems = _input_files(folder)
    sheets = frozenset(sheet.id for sheet in load_plan().engagements)
    descriptions: dict[str, SurveyDescription] = {}
    described: set[str] = set()
    for path in _description_files(folder):
        described.add(path.stem)
        description, found = _read_description(path, sheets)
        problems += found
        if description is not None:
            descriptions[description.name] = description

    by_wave: dict[tuple[str, int], list[Path]] = {}
    for path in files:
        match = _WAVE_FILE.fullmatch(path.stem)
        if match is None:
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    None,
                    "is not named <survey>_<year>, it is not read",
                    "e.g. perception_quartiers_2021.csv",
                    message_fr="n'est pas nommé <enquête>_<année> : il n'est pas lu",
                    hint_fr="par exemple perception_quartiers_2021.csv",
                )
            )
            continue
        name, year = match["name"], int(match["year"])
        if name not in descriptions:
            message = (
                Phrase(
                    "has a description with problems, it is not read",
                    "sa description comporte des problèmes : il n'est pas lu",
                )
                if name in described
                else Phrase("has no description, it is not read", "n'a pas de description : il n'est pas lu")
            )
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    None,
                    message.en,
                    f"describe the survey in {name}.yaml (see 'evaluation validate')",
                    message_fr=message.fr,
                    hint_fr=f"décrire l'enquête dans {name}.yaml (voir « evaluation validate »)",
                )
            )
            continue
        allowed = descriptions[name].years
        if not _YEARS[0] <= year <= _YEARS[1] or (allowed is not None and year not in allowed):
            expected = ", ".join(map(str, allowed)) if allowed else f"{_YEARS[0]}-{_YEARS[1]}"
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    year,
                    "is not a year of the survey's waves, the file is not read",
                    f"expected {expected} (years: in {name}.yaml)",
                    message_fr="n'est pas une année des vagues de l'enquête : le fichier n'est pas lu",
                    hint_fr=f"années attendues : {expected} (years: dans {name}.yaml)",
                )
            )
            continue
        by_wave.setdefault((name, year), []).append(path)

    waves = []
    for (name, year), paths in sorted(by_wave.items()):
        if len(paths) > 1:
            others = ", ".join(p.name for p in paths)
            problems += [
                Problem(
                    p,
                    None,
                    None,
                    None,
                    f"is one of {len(paths)} files of the wave {year} ({others}); none is read",
                    "keep one file per wave",
                    message_fr=f"est l'un des {len(paths)} fichiers de la vague {year} ({others}) ; aucun n'est lu",
                    hint_fr="garder un seul fichier par vague",
                )
                for p in paths
            ]
            continue
        wave, found = _wave(descriptions[name], year, paths[0], limits)
        problems += found
        if wave is not None:
            waves.append(wave)
    return waves, problems


def load_surveys(dataset: Dataset) -> tuple[list[SurveyWave], list[Problem]]:
    """The waves of ``dataset``'s ``surveys/`` folder and the problems found (see :func:`read_surveys`)."""
    return read_surveys(dataset.path / "surveys", dataset.limits or DEFAULT_LIMITS)
