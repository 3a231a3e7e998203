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
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evaluation.intake._common import DEFAULT_LIMITS, Limits, Problem, TableSpec, _input_files, read_raw, read_yaml
from evaluation.io import Dataset
from evaluation.referential.plan import load_plan, normalize_engagement_id
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

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_WAVE_FILE = re.compile(r"(?P<name>.+)_(?P<year>\d{4})")
_YEARS = (2015, 2030)
_MAX_YAML_BYTES = 64 * 1024
_TOP_KEYS = ("name", "title", "institute", "synthetic", "years", "population", "method", "weights", "questions")
_QUESTION_KEYS = ("column", "sheet", "label", "answers", "non_response", "indicator", "baseline")
_INDICATOR_KEYS = ("name", "label", "answers")
_BASELINE_KEYS = ("value", "year", "source")


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Indicator:
    """The 0/1 variable made from a question: ``answers`` count as 1, the question's other answers as 0."""

    name: str
    label: str
    answers: tuple[int, ...]


@dataclass(frozen=True)
class Baseline:
    """A published figure the indicator is compared with (a fraction; no sampling error known)."""

    value: float
    year: int
    source: str


@dataclass(frozen=True)
class Question:
    """A question of a survey: its column, the plan's sheet it serves, its answer codes and labels."""

    column: str
    sheet: str
    label: str
    answers: Mapping[int, str]
    non_response: Mapping[int, str]
    indicator: Indicator | None = None
    baseline: Baseline | None = None


@dataclass(frozen=True)
class SurveyDescription:
    """A survey as ``surveys/<name>.yaml`` describes it."""

    name: str
    title: str
    questions: tuple[Question, ...]
    path: Path
    institute: str | None = None
    synthetic: bool = False
    years: tuple[int, ...] | None = None
    population: str | None = None
    method: str | None = None
    weighted: bool = True

    @property
    def sheets(self) -> tuple[str, ...]:
        """The plan's sheets the survey serves, in the order of the questions."""
        return tuple(dict.fromkeys(q.sheet for q in self.questions))


@dataclass(frozen=True, eq=False)
class SurveyWave:
    """One wave of a survey: the respondents of ``year`` read from ``path``, rows without problems only."""

    description: SurveyDescription
    year: int
    path: Path
    respondents: pd.DataFrame = field(repr=False)


# --------------------------------------------------------------------------------------------------
# Cells


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


# --------------------------------------------------------------------------------------------------
# Descriptions (YAML)


def _node_lines(node: yaml.Node, path: str = "", lines: dict[str, int] | None = None) -> dict[str, int]:
    """Key path (``questions[0].indicator.answers``) -> 1-based line of its value."""
    lines = {} if lines is None else lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _node_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, f"{path}[{index}]", lines)
    return lines


class _Description:
    """Reads one description, collecting its problems (all of them) before building the records."""

    def __init__(self, path: Path, lines: dict[str, int], sheets: frozenset[str]) -> None:
        self.path = path
        self.lines = lines
        self.sheets = sheets
        self.problems: list[Problem] = []

    def problem(self, key: str, value: object, message: str, hint: str) -> None:
        line = self.lines.get(key)
        shown = value if isinstance(value, str | int | float) and not isinstance(value, bool) else None
        self.problems.append(Problem(self.path, line, key or None, shown, message, hint))

    def keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                self.problem(f"{prefix}{key}", None, "unknown key", hint)

    def text(self, data: Mapping[str, Any], key: str, prefix: str, optional: bool = False) -> str | None:
        value = data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
            self.problem(
                f"{prefix}{key}" if key in data else prefix.rstrip("."),
                None,
                f"'{key}' is missing or not a text",
                f"write {key}: followed by a text",
            )
            return None
        return str(value).strip()

    def codes(self, data: Mapping[str, Any], key: str, prefix: str, optional: bool = False) -> dict[int, str]:
        """A mapping of whole-number codes to labels (``{1: Très bonne, ...}``)."""
        value = data.get(key)
        where = f"{prefix}{key}"
        if value is None and optional:
            return {}
        if not isinstance(value, Mapping) or not value:
            self.problem(
                where if key in data else prefix.rstrip("."),
                None,
                f"'{key}' must map answer codes to labels",
                "e.g. {1: Très bonne, 2: Plutôt bonne}",
            )
            return {}
        codes: dict[int, str] = {}
        for code, label in value.items():
            number = _code(code)
            if number is None:
                self.problem(
                    where, str(code), "is not a whole-number answer code", "codes are whole numbers, e.g. 1, 2, 9"
                )
            elif not isinstance(label, str) or not label.strip():
                self.problem(where, number, "has no label", "give each code its French label")
            else:
                codes[number] = label.strip()
        return codes

    def question(self, data: object, index: int, columns: set[str]) -> Question | None:
        prefix = f"questions[{index}]."
        if not isinstance(data, Mapping):
            self.problem(prefix[:-1], None, "is not a mapping", "give column, sheet, label and answers")
            return None
        self.keys(data, _QUESTION_KEYS, prefix)
        column = self.text(data, "column", prefix)
        if column is not None:
            folded = _fold(column)
            if folded in {_fold(c) for c in columns}:
                self.problem(f"{prefix}column", column, "is given to two questions", "each question has its own column")
            elif any(folded == _fold(n) or folded in words for n, words in _DESIGN_ALIASES.items()):
                self.problem(
                    f"{prefix}column",
                    column,
                    "is the name of a design column (identifiant, poids, sexe...)",
                    "rename the question's column",
                )
            columns.add(column)
        sheet = self.text(data, "sheet", prefix)
        if sheet is not None and normalize_engagement_id(sheet) not in self.sheets:
            close = difflib.get_close_matches(normalize_engagement_id(sheet), sorted(self.sheets), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "see the sheets with 'evaluation plan'"
            self.problem(f"{prefix}sheet", sheet, "is not a sheet of the plan", hint)
            sheet = None
        label = self.text(data, "label", prefix)
        answers = self.codes(data, "answers", prefix)
        non_response = self.codes(data, "non_response", prefix, optional=True)
        both = sorted(set(answers) & set(non_response))
        if both:
            self.problem(
                f"{prefix}non_response",
                both[0],
                "is both an answer and a non-response code",
                "keep it in one of the two",
            )
        indicator = self.indicator(data.get("indicator"), prefix, answers, columns) if "indicator" in data else None
        baseline = self.baseline(data.get("baseline"), prefix) if "baseline" in data else None
        if baseline is not None and indicator is None:
            self.problem(
                f"{prefix}baseline",
                None,
                "a baseline needs an indicator to compare with",
                "add the question's indicator",
            )
        if None in (column, sheet, label) or not answers:
            return None
        return Question(
            column=column,  # type: ignore[arg-type]
            sheet=normalize_engagement_id(sheet),  # type: ignore[arg-type]
            label=label,  # type: ignore[arg-type]
            answers=MappingProxyType(answers),
            non_response=MappingProxyType(non_response),
            indicator=indicator,
            baseline=baseline,
        )

    def indicator(self, data: object, prefix: str, answers: dict[int, str], columns: set[str]) -> Indicator | None:
        prefix = f"{prefix}indicator."
        if not isinstance(data, Mapping):
            self.problem(prefix[:-1], None, "is not a mapping", "give name, label and answers")
            return None
        self.keys(data, _INDICATOR_KEYS, prefix)
        name = self.text(data, "name", prefix)
        if name is not None and not _NAME.fullmatch(name):
            self.problem(
                f"{prefix}name", name, "is not a column name", "lower-case letters, digits and _, e.g. mauvaise_image"
            )
            name = None
        elif name is not None and _fold(name) in {_fold(c) for c in columns} | {_fold(c) for c in WAVE_COLUMNS}:
            self.problem(f"{prefix}name", name, "is already the name of a column", "give the indicator its own name")
            name = None
        elif name is not None:
            columns.add(name)
        label = self.text(data, "label", prefix)
        chosen = data.get("answers")
        if not isinstance(chosen, list) or not chosen:
            self.problem(
                f"{prefix}answers" if "answers" in data else prefix[:-1],
                None,
                "'answers' must list the answer codes counted as 1",
                "e.g. [3, 4]",
            )
            return None
        codes = []
        for code in chosen:
            number = _code(code)
            if number is None or (answers and number not in answers):
                self.problem(
                    f"{prefix}answers",
                    str(code),
                    "is not one of the question's answer codes",
                    f"use codes of 'answers': {', '.join(map(str, answers))}",
                )
            else:
                codes.append(number)
        if name is None or label is None or len(codes) != len(chosen):
            return None
        return Indicator(name, label, tuple(sorted(set(codes))))

    def baseline(self, data: object, prefix: str) -> Baseline | None:
        prefix = f"{prefix}baseline."
        if not isinstance(data, Mapping):
            self.problem(prefix[:-1], None, "is not a mapping", "give value (a fraction), year and source")
            return None
        self.keys(data, _BASELINE_KEYS, prefix)
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            self.problem(f"{prefix}value", value, "is not a fraction between 0 and 1", "write 0.56 for 56 %")
            value = None
        year = data.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= _YEARS[1]:
            self.problem(f"{prefix}year", year, "is not a year", "write the year of the published figure, e.g. 2015")
            year = None
        source = self.text(data, "source", prefix)
        if value is None or year is None or source is None:
            return None
        return Baseline(float(value), int(year), source)


def _code(value: object) -> int | None:
    """A whole-number answer code from YAML (``3``, ``"3"``) or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def _read_description(path: Path, sheets: frozenset[str]) -> tuple[SurveyDescription | None, list[Problem]]:
    def fatal(message: str, hint: str, line: int | None = None) -> tuple[None, list[Problem]]:
        return None, [Problem(path, line, None, None, message, hint, fatal=True)]

    content, node, problems = read_yaml(
        path,
        _MAX_YAML_BYTES,
        "a survey description is a few lines: check the file",
        "start with 'name:', 'title:' and 'questions:'",
    )
    if problems:
        return None, problems
    reader = _Description(path, _node_lines(node), sheets)
    reader.keys(content, _TOP_KEYS, "")
    name = reader.text(content, "name", "")
    if name is not None and name != path.stem:
        reader.problem(
            "name", name, f"differs from the file's name '{path.stem}'", f"write name: {path.stem}, or rename the file"
        )
    title = reader.text(content, "title", "")
    institute = reader.text(content, "institute", "", optional=True)
    population = reader.text(content, "population", "", optional=True)
    method = reader.text(content, "method", "", optional=True)
    flags = {}
    for key, default in (("synthetic", False), ("weights", True)):
        value = content.get(key, default)
        if not isinstance(value, bool):
            reader.problem(key, value, "is not true or false", f"write {key}: true or {key}: false")
        flags[key] = value if isinstance(value, bool) else default
    years = content.get("years")
    if years is not None:
        valid = (
            isinstance(years, list)
            and years
            and all(isinstance(y, int) and not isinstance(y, bool) and _YEARS[0] <= y <= _YEARS[1] for y in years)
        )
        if not valid:
            reader.problem(
                "years", None, f"must list the waves' years ({_YEARS[0]}-{_YEARS[1]})", "e.g. years: [2020, 2021]"
            )
            years = None
    questions_data = content.get("questions")
    questions: list[Question] = []
    if not isinstance(questions_data, list) or not questions_data:
        reader.problem(
            "questions" if "questions" in content else "",
            None,
            "'questions' must list the survey's questions",
            "see the format in the intake documentation",
        )
    else:
        columns: set[str] = set()
        for index, item in enumerate(questions_data):
            question = reader.question(item, index, columns)
            if question is not None:
                questions.append(question)
    if reader.problems:
        return None, reader.problems
    return (
        SurveyDescription(
            name=name,  # type: ignore[arg-type]
            title=title,  # type: ignore[arg-type]
            questions=tuple(questions),
            path=path,
            institute=institute,
            synthetic=flags["synthetic"],
            years=tuple(years) if years else None,
            population=population,
            method=method,
            weighted=flags["weights"],
        ),
        [],
    )


def _description_files(folder: Path) -> list[Path]:
    """The ``.yaml`` / ``.yml`` regular files of ``folder`` (links are reported by :func:`_input_files`)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith((".", "~$")) or entry.is_symlink():
            continue
        if Path(entry.name).suffix.lower() in (".yaml", ".yml") and stat.S_ISREG(
            entry.stat(follow_symlinks=False).st_mode
        ):
            found.append(folder / entry.name)
    return found


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

    def add(self, mask: pd.Series, column: str, values: pd.Series | None, message: str, hint: str | pd.Series) -> None:
        """A problem for each line where ``mask`` is true (``values`` shown unless None)."""
        lines = mask.index[mask.to_numpy(dtype=bool)]
        self.bad |= mask
        for line in lines:
            value = None if values is None else values[line]
            text = hint if isinstance(hint, str) else str(hint[line])
            self.problems.append(Problem(self.path, int(line), column, value or None, message, text))


def _check_ids(checks: _Checks, ids: pd.Series) -> None:
    blank = ids.eq("")
    checks.add(
        blank, "respondent_id", None, "respondent id is missing", "give every respondent an anonymous id, e.g. R0001"
    )
    duplicated = ids.duplicated(keep="first") & ~blank
    if duplicated.any():
        first = pd.Series(ids.index, index=ids.index).groupby(ids).transform("min")
        hints = first.map(lambda line: f"same id as line {line}: give each respondent one row and his own id")
        checks.add(duplicated, "respondent_id", None, "respondent id given twice (id not shown)", hints)


def _check_closed(
    checks: _Checks, text: pd.Series, column: str, lookup: Mapping[str, str], normal: Any, hint: str | pd.Series
) -> pd.Series:
    """Canonical values of a closed list (None for a blank cell); a problem for each unknown value."""
    values = text.map(lambda t: lookup.get(normal(t)) if t else None)
    unknown = text.ne("") & values.isna()
    checks.add(unknown, column, text, "is not a known value", hint)
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


def _suggestions(text: pd.Series, unknown_choices: Mapping[str, str], fallback: str) -> pd.Series:
    def one(value: str) -> str:
        close = _closest(value, unknown_choices)
        return f"did you mean '{close}'?" if close else fallback

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
            text["weight"].eq(""), "weight", None, "weight is missing", "every respondent needs his final weight"
        )
        checks.add(
            text["weight"].ne("") & weight.isna(),
            "weight",
            text["weight"],
            "is not a number",
            "use digits, decimal comma allowed, e.g. 12,53",
        )
        checks.add(
            weight.le(0),
            "weight",
            text["weight"],
            "is not above 0",
            "a respondent who should not count is removed from the file, not weighted 0",
        )
    for column in ("stratum", "cluster"):
        if column in table.columns:
            checks.add(
                text[column].eq(""),
                column,
                None,
                f"{column} is missing",
                "every respondent belongs to a stratum and a cluster of the design",
            )

    qpv_lookup, commune_lookup = _territories()
    qpv_codes = sorted(set(qpv_lookup.values()))
    qpv_hint = _suggestions(text["qpv"], qpv_lookup, f"use a QPV code of the reference list, e.g. {qpv_codes[0]}")
    qpv = _check_closed(checks, text["qpv"], "qpv", qpv_lookup, _fold, qpv_hint)
    commune_hint = _suggestions(
        text["commune"], commune_lookup, "use the name or INSEE code of a commune of the 26 QPV"
    )
    commune = _check_closed(
        checks, text["commune"], "commune", commune_lookup, lambda t: t if t.isdigit() else _fold(t), commune_hint
    )
    sex = _check_closed(
        checks, text["sex"], "sex", _SEX_LOOKUP, _fold, "write F or M (femme, homme); numeric codes are not accepted"
    )
    age = _check_closed(
        checks, text["age_band"], "age_band", _AGE_LOOKUP, _age_normal, f"use one of {', '.join(SURVEY_AGE_BANDS)}"
    )

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
            "is not an answer code of the question",
            f"use {allowed}, or leave blank for no answer",
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
                )
            )
            continue
        name, year = match["name"], int(match["year"])
        if name not in descriptions:
            message = (
                "has a description with problems, it is not read"
                if name in described
                else "has no description, it is not read"
            )
            problems.append(
                Problem(
                    path, None, None, None, message, f"describe the survey in {name}.yaml (see 'evaluation validate')"
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
