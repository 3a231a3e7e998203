"""A perception survey's description (``surveys/<name>.yaml``): its records and the reader that checks it.

The description says what a survey asks (questions, answer codes, the answers an indicator counts,
a published baseline) and how it was drawn (see :mod:`evaluation.intake.surveys` for the format).
:func:`_read_description` reads one as hostile input (:func:`~evaluation.intake.yaml_input.read_yaml`)
and reports every problem of it at once, each with its line and key, before building the records.
Its own module: the description is checked apart from the respondent files it describes.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.survey_columns import _DESIGN_ALIASES, WAVE_COLUMNS, _fold
from evaluation.intake.yaml_input import DescriptionReader, node_lines, read_yaml
from evaluation.referential.plan import normalize_engagement_id

_NAME = re.compile(r"[a-z][a-z0-9_]*")
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


# --------------------------------------------------------------------------------------------------
# Descriptions (YAML)


class _Description(DescriptionReader):
    """Reads one description, collecting its problems (all of them) before building the records."""

    def __init__(self, path: Path, lines: dict[str, int], sheets: frozenset[str]) -> None:
        super().__init__(path, lines)
        self.sheets = sheets

    def text(self, data: Mapping[str, Any], key: str, prefix: str, optional: bool = False) -> str | None:
        value = data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
            self.problem(
                f"{prefix}{key}" if key in data else prefix.rstrip("."),
                None,
                Phrase(f"'{key}' is missing or not a text", f"la clé « {key} » est absente ou n'est pas un texte"),
                Phrase(f"write {key}: followed by a text", f"écrire {key}: suivi d'un texte"),
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
                Phrase(
                    f"'{key}' must map answer codes to labels",
                    f"la clé « {key} » doit associer des codes de réponse à des libellés",
                ),
                Phrase("e.g. {1: Très bonne, 2: Plutôt bonne}", "par exemple {1: Très bonne, 2: Plutôt bonne}"),
            )
            return {}
        codes: dict[int, str] = {}
        for code, label in value.items():
            number = _code(code)
            if number is None:
                self.problem(
                    where,
                    str(code),
                    Phrase("is not a whole-number answer code", "n'est pas un code de réponse entier"),
                    Phrase(
                        "codes are whole numbers, e.g. 1, 2, 9",
                        "les codes sont des nombres entiers, par exemple 1, 2, 9",
                    ),
                )
            elif not isinstance(label, str) or not label.strip():
                self.problem(
                    where,
                    number,
                    Phrase("has no label", "n'a pas de libellé"),
                    Phrase("give each code its French label", "donner à chaque code son libellé français"),
                )
            else:
                codes[number] = label.strip()
        return codes

    def question(self, data: object, index: int, columns: set[str]) -> Question | None:
        prefix = f"questions[{index}]."
        if not isinstance(data, Mapping):
            self.problem(
                prefix[:-1],
                None,
                Phrase("is not a mapping", "n'est pas un dictionnaire"),
                Phrase("give column, sheet, label and answers", "indiquer column, sheet, label et answers"),
            )
            return None
        self.unknown_keys(data, _QUESTION_KEYS, prefix)
        column = self.text(data, "column", prefix)
        if column is not None:
            folded = _fold(column)
            if folded in {_fold(c) for c in columns}:
                self.problem(
                    f"{prefix}column",
                    column,
                    Phrase("is given to two questions", "est attribuée à deux questions"),
                    Phrase("each question has its own column", "chaque question a sa propre colonne"),
                )
            elif any(folded == _fold(n) or folded in words for n, words in _DESIGN_ALIASES.items()):
                self.problem(
                    f"{prefix}column",
                    column,
                    Phrase(
                        "is the name of a design column (identifiant, poids, sexe...)",
                        "est le nom d'une colonne du plan de sondage (identifiant, poids, sexe...)",
                    ),
                    Phrase("rename the question's column", "renommer la colonne de la question"),
                )
            columns.add(column)
        sheet = self.text(data, "sheet", prefix)
        if sheet is not None and normalize_engagement_id(sheet) not in self.sheets:
            close = difflib.get_close_matches(normalize_engagement_id(sheet), sorted(self.sheets), n=1, cutoff=0.5)
            hint = (
                did_you_mean(close[0])
                if close
                else Phrase("see the sheets with 'evaluation plan'", "voir les fiches avec « evaluation plan »")
            )
            self.problem(
                f"{prefix}sheet", sheet, Phrase("is not a sheet of the plan", "n'est pas une fiche du plan"), hint
            )
            sheet = None
        label = self.text(data, "label", prefix)
        answers = self.codes(data, "answers", prefix)
        non_response = self.codes(data, "non_response", prefix, optional=True)
        both = sorted(set(answers) & set(non_response))
        if both:
            self.problem(
                f"{prefix}non_response",
                both[0],
                Phrase(
                    "is both an answer and a non-response code", "est à la fois un code de réponse et de non-réponse"
                ),
                Phrase("keep it in one of the two", "ne le garder que dans l'une des deux listes"),
            )
        indicator = self.indicator(data.get("indicator"), prefix, answers, columns) if "indicator" in data else None
        baseline = self.baseline(data.get("baseline"), prefix) if "baseline" in data else None
        if baseline is not None and indicator is None:
            self.problem(
                f"{prefix}baseline",
                None,
                Phrase(
                    "a baseline needs an indicator to compare with",
                    "une valeur de référence demande un indicateur auquel la comparer",
                ),
                Phrase("add the question's indicator", "ajouter l'indicateur de la question"),
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
            self.problem(
                prefix[:-1],
                None,
                Phrase("is not a mapping", "n'est pas un dictionnaire"),
                Phrase("give name, label and answers", "indiquer name, label et answers"),
            )
            return None
        self.unknown_keys(data, _INDICATOR_KEYS, prefix)
        name = self.text(data, "name", prefix)
        if name is not None and not _NAME.fullmatch(name):
            self.problem(
                f"{prefix}name",
                name,
                Phrase("is not a column name", "n'est pas un nom de colonne"),
                Phrase(
                    "lower-case letters, digits and _, e.g. mauvaise_image",
                    "lettres minuscules, chiffres et _, par exemple mauvaise_image",
                ),
            )
            name = None
        elif name is not None and _fold(name) in {_fold(c) for c in columns} | {_fold(c) for c in WAVE_COLUMNS}:
            self.problem(
                f"{prefix}name",
                name,
                Phrase("is already the name of a column", "est déjà le nom d'une colonne"),
                Phrase("give the indicator its own name", "donner à l'indicateur son propre nom"),
            )
            name = None
        elif name is not None:
            columns.add(name)
        label = self.text(data, "label", prefix)
        chosen = data.get("answers")
        if not isinstance(chosen, list) or not chosen:
            self.problem(
                f"{prefix}answers" if "answers" in data else prefix[:-1],
                None,
                Phrase(
                    "'answers' must list the answer codes counted as 1",
                    "la clé « answers » doit lister les codes de réponse comptés comme 1",
                ),
                Phrase("e.g. [3, 4]", "par exemple [3, 4]"),
            )
            return None
        codes = []
        for code in chosen:
            number = _code(code)
            if number is None or (answers and number not in answers):
                self.problem(
                    f"{prefix}answers",
                    str(code),
                    Phrase(
                        "is not one of the question's answer codes",
                        "n'est pas l'un des codes de réponse de la question",
                    ),
                    Phrase(
                        f"use codes of 'answers': {', '.join(map(str, answers))}",
                        f"indiquer des codes de « answers » : {', '.join(map(str, answers))}",
                    ),
                )
            else:
                codes.append(number)
        if name is None or label is None or len(codes) != len(chosen):
            return None
        return Indicator(name, label, tuple(sorted(set(codes))))

    def baseline(self, data: object, prefix: str) -> Baseline | None:
        prefix = f"{prefix}baseline."
        if not isinstance(data, Mapping):
            self.problem(
                prefix[:-1],
                None,
                Phrase("is not a mapping", "n'est pas un dictionnaire"),
                Phrase("give value (a fraction), year and source", "indiquer value (une fraction), year et source"),
            )
            return None
        self.unknown_keys(data, _BASELINE_KEYS, prefix)
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            self.problem(
                f"{prefix}value",
                value,
                Phrase("is not a fraction between 0 and 1", "n'est pas une fraction comprise entre 0 et 1"),
                Phrase("write 0.56 for 56 %", "écrire 0.56 pour 56 % (point décimal : c'est un fichier YAML)"),
            )
            value = None
        year = data.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= _YEARS[1]:
            self.problem(
                f"{prefix}year",
                year,
                Phrase("is not a year", "n'est pas une année"),
                Phrase(
                    "write the year of the published figure, e.g. 2015",
                    "écrire l'année du chiffre publié, par exemple 2015",
                ),
            )
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
    content, node, problems = read_yaml(
        path,
        _MAX_YAML_BYTES,
        Phrase(
            "a survey description is a few lines: check the file",
            "une description d'enquête tient en quelques lignes : vérifier le fichier",
        ),
        Phrase(
            "start with 'name:', 'title:' and 'questions:'", "commencer par « name: », « title: » et « questions: »"
        ),
    )
    if problems:
        return None, problems
    reader = _Description(path, node_lines(node), sheets)
    reader.unknown_keys(content, _TOP_KEYS, "")
    name = reader.text(content, "name", "")
    if name is not None and name != path.stem:
        reader.problem(
            "name",
            name,
            Phrase(f"differs from the file's name '{path.stem}'", f"diffère du nom du fichier « {path.stem} »"),
            Phrase(f"write name: {path.stem}, or rename the file", f"écrire name: {path.stem}, ou renommer le fichier"),
        )
    title = reader.text(content, "title", "")
    institute = reader.text(content, "institute", "", optional=True)
    population = reader.text(content, "population", "", optional=True)
    method = reader.text(content, "method", "", optional=True)
    flags = {}
    for key, default in (("synthetic", False), ("weights", True)):
        value = content.get(key, default)
        if not isinstance(value, bool):
            reader.problem(
                key,
                value,
                Phrase("is not true or false", "n'est ni true ni false"),
                Phrase(f"write {key}: true or {key}: false", f"écrire {key}: true ou {key}: false"),
            )
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
                "years",
                None,
                Phrase(
                    f"must list the waves' years ({_YEARS[0]}-{_YEARS[1]})",
                    f"doit lister les années des vagues ({_YEARS[0]}-{_YEARS[1]})",
                ),
                Phrase("e.g. years: [2020, 2021]", "par exemple years: [2020, 2021]"),
            )
            years = None
    questions_data = content.get("questions")
    questions: list[Question] = []
    if not isinstance(questions_data, list) or not questions_data:
        reader.problem(
            "questions" if "questions" in content else "",
            None,
            Phrase(
                "'questions' must list the survey's questions",
                "la clé « questions » doit lister les questions de l'enquête",
            ),
            Phrase(
                "see the format in the intake documentation",
                "voir le format dans la documentation de la lecture des données",
            ),
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
    """The ``.yaml`` / ``.yml`` regular files of ``folder`` (links are reported by :func:`_input_files`).

    None of them when ``folder`` itself is a link (or not a folder): nothing is read through it.
    """
    if folder.is_symlink() or not folder.is_dir():
        return []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith((".", "~$")) or entry.is_symlink():
            continue
        try:
            regular = stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode)
        except OSError:  # removed while the folder was listed
            continue
        if Path(entry.name).suffix.lower() in (".yaml", ".yml") and regular:
            found.append(folder / entry.name)
    return found
