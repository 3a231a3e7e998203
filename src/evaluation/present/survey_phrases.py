"""The French phrasing of one survey figure: a share, its interval, a change in points, its reading.

Shared by the report's sections (:mod:`evaluation.present.survey_sections`), its charts
(:mod:`evaluation.present.survey_charts`) and the synthesis' sentences
(:mod:`evaluation.present.survey_findings`), so that a figure reads the same wherever it is cited
(``46,2 %``, ``+1,4 point``, « non calculable » for an interval that cannot be computed).
"""

from __future__ import annotations

import html

import pandas as pd

from evaluation.errors import UsageError
from evaluation.formatting import NBSP, format_change, format_number, format_pct
from evaluation.present.blocks import Html
from evaluation.present.plan_status import sheet_label
from evaluation.present.survey_context import _LEVELS_FR, _TOTAL_FR, SurveyContext
from evaluation.referential.plan import load_plan


def _level(value: object) -> str:
    return _TOTAL_FR if value is None else _LEVELS_FR.get(str(value), str(value))


def _share_text(estimate: float) -> str:
    return format_pct(100 * estimate, 1)


def _baseline_text(value: float) -> str:
    """A published figure as published: ``56 %`` (0.56 times 100 is 56.00000000000001 in floating point)."""
    return format_pct(round(100 * value, 6))


def _interval_text(lower: float, upper: float) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    return f"{format_number(100 * lower, 1)} à {format_pct(100 * upper, 1)}"


def _points(value: float) -> str:
    return f"{format_change(100 * value, 1)}{NBSP}{'point' if abs(round(100 * value, 1)) < 2 else 'points'}"


def _points_interval(lower: float, upper: float) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    return f"{format_change(100 * lower, 1)} à {format_change(100 * upper, 1)}{NBSP}points"


def _verdict(lower: float, upper: float, rise: str, fall: str, same: str) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "non calculable"
    if lower > 0:
        return rise
    if upper < 0:
        return fall
    return same


def _sheet_title(sheet: str) -> str:
    try:
        return sheet_label(load_plan().engagement(sheet))
    except UsageError:
        return f"fiche {sheet}"


def _none_for_sheet(ctx: SurveyContext, sheet: str, what: str) -> Html:
    return Html(
        f"<p><em>L'enquête « {html.escape(ctx.description.title)} » ne porte sur aucune question de la fiche "
        f"{html.escape(sheet)} : pas de {html.escape(what)}.</em></p>",
        what,
    )
