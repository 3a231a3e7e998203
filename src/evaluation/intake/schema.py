"""The schema runner: declarative checks of a table, each carrying its message, run on whole columns.

A :class:`Check` is a rule and the :class:`Message` it reports when a row breaks it (the column
named, the text and the fix, in English and in French); a :class:`Schema` holds the checks of one kind of table, and
:func:`_run_schema` turns its failures into :class:`~evaluation.intake.problems.Problem` s, every
problem of a file at once, sorted by line. The kinds of input (:mod:`.monitoring`,
:mod:`.barometer`, :mod:`.cohorts`, :mod:`.comparison`) build their schemas with their messages:
there is no shared table of messages to fill.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.intake.cells import _blank, _fold, _number_or_nan, distinct_map
from evaluation.intake.problems import MASKED, Phrase, Problem, did_you_mean
from evaluation.intake.raw_tables import RawTable


@dataclass(frozen=True)
class Message:
    """What a failing check reports: the ``column`` named (None: the row), the ``text`` after the
    value and the ``fix`` in parentheses, in English (the command line's) and in French
    (``text_fr``, ``fix_fr``: the reports'), both required.

    ``{suggestion}`` (the closest valid code, for an ``unknown_`` check), ``{first}`` (the first
    line of a duplicate key, for a ``duplicate_`` check), ``{ratio}`` (100 x numerator /
    denominator) and the fields of :func:`_run_schema`'s ``details`` are filled in per problem, in
    each language (a :class:`~evaluation.intake.problems.Phrase` field gives each its own words).
    """

    column: str | None
    text: str
    fix: str
    text_fr: str
    fix_fr: str

    def __post_init__(self) -> None:
        if not self.text_fr.strip() or bool(self.fix) != bool(self.fix_fr):
            raise TypeError(f"message {self.text!r}: its French text and fix are required")


@dataclass(frozen=True)
class Check:
    """One check of an input table and the :class:`Message` it reports for each row that fails it.

    ``key`` names the check: the runner's ``suggest`` and ``details`` functions receive it, and a
    key starting with ``duplicate_`` (``unknown_``) gets the ``{first}`` (``{suggestion}``) field.
    ``element_wise``: ``fn(cell) -> bool`` (True when the cell is right), called once per distinct
    cell of the column, not once per row (a column of 500,000 cells holds a few hundred distinct
    years, statuses or codes); ``ignore_na``: an empty cell (None or NaN) passes without a call.
    Otherwise ``fn(frame) -> bool Series`` on the whole table (True for a right row), written with
    whole-column operations.
    """

    fn: Callable
    key: str
    message: Message
    element_wise: bool = True
    ignore_na: bool = True

    def __post_init__(self) -> None:
        # A check that could fail without saying what to fix would hide the problem it finds.
        if not isinstance(self.message, Message):
            raise TypeError(f"check {self.key!r}: message must be a Message, not {type(self.message).__name__}")


@dataclass(frozen=True)
class Schema:
    """The checks of each column of a kind of table, and the checks across columns.

    Checks given the same key report one problem per row (their failures are merged): they must
    carry the same message.
    """

    columns: dict[str, list[Check]]
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        messages: dict[str, Message] = {}
        for check in [c for checks in self.columns.values() for c in checks] + list(self.checks):
            if messages.setdefault(check.key, check.message) != check.message:
                raise ValueError(f"two checks named {check.key!r} carry different messages")

    def messages(self) -> dict[str, Message]:
        """Check key -> the message its failures report."""
        checks = [c for checks in self.columns.values() for c in checks] + list(self.checks)
        return {check.key: check.message for check in checks}

    def failures(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Check key -> boolean mask of the rows that fail it (every check run: all problems at once)."""
        failing: dict[str, np.ndarray] = {}
        for column, checks in self.columns.items():
            values = frame[column].to_numpy(dtype=object)
            for check in checks:
                passed = distinct_map(values, check.fn, skip_na=check.ignore_na, na_result=True)
                failing[check.key] = failing.get(check.key, False) | ~passed.astype(bool)
        for check in self.checks:
            passed = np.asarray(check.fn(frame), dtype=bool)
            failing[check.key] = failing.get(check.key, False) | ~passed
        return failing


class ColumnCache:
    """What the checks of one schema derive from a column (numbers, measures...), computed once per table.

    The checks across columns of a table need the same parsed columns again and again; the cache
    holds them for the last table seen (it keeps that table alive, and forgets it for the next).
    """

    def __init__(self) -> None:
        self._frame: pd.DataFrame | None = None
        self._values: dict[tuple[str, Callable], np.ndarray] = {}

    def get(self, frame: pd.DataFrame, column: str, fn: Callable[[object], object]) -> np.ndarray:
        """``fn`` of each cell of ``frame[column]`` (see :func:`distinct_map`)."""
        if frame is not self._frame:
            self._frame, self._values = frame, {}
        key = (column, fn)
        if key not in self._values:
            self._values[key] = distinct_map(frame[column], fn)
        return self._values[key]


#: The messages of the checks every kind of table with years and values shares.
NOT_A_YEAR = Message(
    "year",
    "is not a year",
    "write the year with 4 digits, e.g. 2019",
    "n'est pas une année",
    "écrire l'année sur 4 chiffres, par exemple 2019",
)
NOT_A_NUMBER = Message(
    "value",
    "is not a number",
    "use digits, decimal comma allowed, e.g. 1 250,5; write 1250 or 1,25 rather than 1.250",
    "n'est pas un nombre",
    "écrire des chiffres, virgule décimale admise, par exemple 1 250,5 ; écrire 1250 ou 1,25 plutôt que 1.250",
)


# --------------------------------------------------------------------------------------------------
# Suggestions and the runner


def _suggest(value: object, choices: Iterable[str]) -> Phrase:
    text = str(value).strip()
    choices = list(choices)
    prefix = text.rsplit(".", 1)[0] + "." if "." in text else None
    siblings = [c for c in choices if prefix and c.startswith(prefix)]
    if siblings:
        listed = ", ".join(siblings)
        return Phrase(
            f"sheet {prefix[:-1]} has the indicators {listed}",
            f"la fiche {prefix[:-1]} a les indicateurs {listed}",
        )
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.5)
    if close:
        return did_you_mean(close[0])
    return Phrase("see the codes with 'evaluation plan'", "voir les codes avec « evaluation plan »")


def _closest_code(text: str, names: dict[str, str]) -> str | None:
    """The code of ``names`` (code -> name) closest to ``text``, by code (any case) or else by name; None if none is close."""
    close = difflib.get_close_matches(text.upper(), list(names), n=1, cutoff=0.6)
    if not close:
        by_name = {_fold(name): code for code, name in names.items()}
        match = difflib.get_close_matches(_fold(text), list(by_name), n=1, cutoff=0.6)
        close = [by_name[match[0]]] if match else []
    return close[0] if close else None


def _run_schema(
    schema: Schema,
    table: RawTable,
    choices: Iterable[str],
    suggest: Callable[[str, object], Phrase] | None = None,
    duplicate_keys: Callable[[pd.DataFrame], pd.Series] | None = None,
    details: Callable[[str, int, object], dict[str, str | Phrase]] | None = None,
    masked: Collection[str] = (),
) -> list[Problem]:
    """Problems of one table, sorted by line, one per failing (line, check). ``suggest(check key,
    value)`` replaces the suggestion among ``choices`` of an ``unknown_`` check (a
    :class:`~evaluation.intake.problems.Phrase`: English and French); ``duplicate_keys`` gives each
    row's key, for a ``duplicate_`` check to name the first line with that key (required when the
    schema has one); ``details(check key, line, value)`` gives more fields for the message and hint
    (a Phrase for words, a text for a code, a date or a number: the same in both languages); the
    value of a column of ``masked`` (a person key) is never copied into a problem: :data:`MASKED`
    stands for it.

    Whole-column work: the messages' fields are filled per problem, but a suggestion is computed
    once per distinct value and the first line of a duplicate from one grouping of the keys.
    """
    frame = table.frame
    failing = {key: bad for key, bad in schema.failures(frame).items() if bad.any()}
    if not failing:
        return []
    messages = schema.messages()
    lines = frame.index.to_numpy()
    first_line = None
    if any(key.startswith("duplicate_") for key in failing):
        if duplicate_keys is None:
            raise ValueError("a duplicate check needs the rows' keys (duplicate_keys)")
        keys = np.asarray(duplicate_keys(frame), dtype=object)
        codes, _uniques = pd.factorize(keys)
        firsts = pd.Series(lines).groupby(codes, sort=False).transform("first").to_numpy()
        first_line = firsts
    choices = list(choices)
    suggestions: dict[tuple[str, type, object], Phrase] = {}

    def suggestion(key: str, value: object) -> Phrase:
        memo = (key, type(value), value)
        if memo not in suggestions:
            suggestions[memo] = suggest(key, value) if suggest else _suggest(value, choices)
        return suggestions[memo]

    def ratio(position: int) -> str:
        num = _number_or_nan(frame["numerator"].iat[position])
        den = _number_or_nan(frame["denominator"].iat[position])
        return f"{100 * num / den:.2f}".replace(".", ",")

    problems = []
    for key, bad in failing.items():
        column, message, hint = messages[key].column, messages[key].text, messages[key].fix
        message_fr, hint_fr = messages[key].text_fr, messages[key].fix_fr
        positions = np.flatnonzero(bad).tolist()
        values = (
            frame[column].to_numpy(dtype=object)[positions]
            if column in frame.columns
            else np.full(len(positions), None, dtype=object)
        )
        shown = [(MASKED if not _blank(v) else None) for v in values] if column in masked else list(values)
        # Only the fields the message and hint name are computed, row by row.
        texts = message + hint + message_fr + hint_fr
        fields = {name for name in ("suggestion", "first", "ratio") if "{" + name + "}" in texts}
        for position, value, show in zip(positions, values, shown, strict=True):
            line = int(lines[position])
            if not fields and details is None:
                problems.append(
                    Problem(table.path, line, column, show, message, hint, message_fr=message_fr, hint_fr=hint_fr)
                )
                continue
            extra: dict[str, str | Phrase] = {"suggestion": "", "first": "", "ratio": ""}
            if "suggestion" in fields and key.startswith("unknown_"):
                extra["suggestion"] = suggestion(key, value)
            if "first" in fields and first_line is not None:
                extra["first"] = str(int(first_line[position]))
            if "ratio" in fields:
                extra["ratio"] = ratio(position)
            if details is not None:
                extra.update(details(key, line, value))
            english = {name: v.en if isinstance(v, Phrase) else v for name, v in extra.items()}
            french = {name: v.fr if isinstance(v, Phrase) else v for name, v in extra.items()}
            problems.append(
                Problem(
                    table.path,
                    line,
                    column,
                    show,
                    message.format(**english),
                    hint.format(**english),
                    message_fr=message_fr.format(**french),
                    hint_fr=hint_fr.format(**french),
                )
            )
    problems.sort(key=lambda p: (p.line or 0, p.column or ""))
    return problems
