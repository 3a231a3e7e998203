"""Typed statistical caveats: the warning class and the records the reports render in French.

A caveat says that a result is computed but must be read with care (census vintages sharing survey
years, a count below INSEE's caution threshold, QPV left out of an aggregate...). It travels as the
message of an :class:`EvaluationWarning`: a :class:`Caveat` is its English text (what the command
line and JSON print) carrying a :class:`CaveatKind`, so that the reports render each kind in French
in one place (:mod:`evaluation.present.annual`), never by matching its words. Its own module because
the employment gap, the census guards and the cohort statistics all warn with it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from enum import StrEnum

__all__ = ["EvaluationWarning", "CaveatKind", "Caveat", "caveats_of"]


class EvaluationWarning(UserWarning):
    """A statistical caveat: the result is computed, but must be read with care."""


class CaveatKind(StrEnum):
    """What a statistical caveat is about: the reports render each kind in French from its kind, never from its words."""

    MISSING_COUNTS = "missing_counts"
    MIXED_VINTAGES = "mixed_vintages"
    CHANGING_PERIMETER = "changing_perimeter"
    NOTHING_TO_HALVE = "nothing_to_halve"
    OVERLAPPING_VINTAGES = "overlapping_vintages"
    METHOD_CHANGE = "method_change"
    SMALL_COUNT = "small_count"
    MORE_SMALL_COUNTS = "more_small_counts"
    PARTIAL_AGE_BANDS = "partial_age_bands"
    CONTRIBUTIONS_LEFT_OUT = "contributions_left_out"


class Caveat(str):
    """A statistical caveat: its English text (the string itself, as the command line and JSON print it)
    with its :class:`CaveatKind` and, for :attr:`CaveatKind.MORE_SMALL_COUNTS`, how many it stands for.

    Warned as the message of an :class:`EvaluationWarning` (``warning.message.args[0]`` is the caveat).
    """

    kind: CaveatKind
    count: int

    def __new__(cls, text: str, kind: CaveatKind, count: int = 1) -> Caveat:
        caveat = super().__new__(cls, text)
        caveat.kind = CaveatKind(kind)
        caveat.count = int(count)
        return caveat

    def __reduce__(self) -> tuple[type, tuple[str, CaveatKind, int]]:
        return (Caveat, (str(self), self.kind, self.count))


def caveats_of(caught: Iterable[warnings.WarningMessage]) -> tuple[Caveat | str, ...]:
    """The caveats of recorded warnings (``warnings.catch_warnings(record=True)``), in order, once each."""
    found = [
        w.message.args[0] if w.message.args else str(w.message)
        for w in caught
        if issubclass(w.category, EvaluationWarning)
    ]
    return tuple(dict.fromkeys(found))
