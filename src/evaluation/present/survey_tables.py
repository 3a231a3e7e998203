"""The perception surveys' published figures as tables (``evaluation survey``), in percent.

:func:`published_estimates` (every share the report publishes), :func:`published_changes` (the
changes since the previous wave) and :func:`published_baselines` (the headline against the
published baselines) give the figures of a :class:`~evaluation.present.survey_context.SurveyContext`
as machine-readable rows, with the same pooling and suppression as the report. Its own file: these
tables are the export of the figures, not their French rendering.
"""

from __future__ import annotations

import pandas as pd

from evaluation.present.survey_context import SurveyContext

__all__ = [
    "ESTIMATE_COLUMNS",
    "CHANGE_COLUMNS",
    "BASELINE_COLUMNS",
    "published_estimates",
    "published_changes",
    "published_baselines",
]

#: The table names of :func:`published_estimates` (machine-readable, in French like the exports).
_TABLE_NAMES = {None: "ensemble", "commune": "commune", "sex": "sexe", "age_band": "tranche_age"}
#: Columns of :func:`published_estimates`, :func:`published_changes` and :func:`published_baselines`.
ESTIMATE_COLUMNS = (
    "survey",
    "year",
    "sheet",
    "indicator",
    "table",
    "domain",
    "estimate_pct",
    "stderr_pp",
    "ci_lower_pct",
    "ci_upper_pct",
    "respondents",
    "suppressed",
)
CHANGE_COLUMNS = (
    "survey",
    "sheet",
    "indicator",
    "table",
    "domain",
    "year_a",
    "year_b",
    "estimate_a_pct",
    "estimate_b_pct",
    "change_pp",
    "ci_lower_pp",
    "ci_upper_pp",
    "pvalue",
    "respondents_a",
    "respondents_b",
    "suppressed",
)
BASELINE_COLUMNS = (
    "survey",
    "year",
    "sheet",
    "indicator",
    "estimate_pct",
    "baseline_pct",
    "baseline_year",
    "difference_pp",
    "ci_lower_pp",
    "ci_upper_pp",
    "pvalue",
    "source",
)


def _pct(value: float) -> float:
    return float("nan") if pd.isna(value) else 100 * float(value)


def published_estimates(ctx: SurveyContext) -> pd.DataFrame:
    """Every share the report publishes, in percent: the whole population, then by commune, sex and age band.

    Columns ``survey, year, sheet, indicator, table, domain, estimate_pct, stderr_pp, ci_lower_pct,
    ci_upper_pct, respondents, suppressed``; a hidden domain keeps its respondent count and has
    blank figures; ``domain`` is empty for the whole population.
    """
    rows = []
    for result in ctx.results:
        head = result.headline
        tables: list[tuple[str | None, pd.DataFrame]] = [(None, pd.DataFrame([head]).assign(suppressed=False))]
        tables += list(result.domains.items())
        for variable, table in tables:
            for record in table.itertuples(index=False):
                rows.append(
                    {
                        "survey": ctx.description.name,
                        "year": ctx.year,
                        "sheet": result.question.sheet,
                        "indicator": result.indicator.name,
                        "table": _TABLE_NAMES[variable],
                        "domain": None if variable is None else str(record.domain),
                        "estimate_pct": _pct(record.estimate),
                        "stderr_pp": _pct(record.stderr),
                        "ci_lower_pct": _pct(record.ci_lower),
                        "ci_upper_pct": _pct(record.ci_upper),
                        "respondents": int(record.respondents),
                        "suppressed": bool(record.suppressed),
                    }
                )
    return pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))


def published_changes(ctx: SurveyContext) -> pd.DataFrame:
    """The changes since the previous wave, in percentage points (empty for a first wave).

    Columns ``survey, sheet, indicator, table, domain, year_a, year_b, estimate_a_pct,
    estimate_b_pct, change_pp, ci_lower_pp, ci_upper_pp, pvalue, respondents_a, respondents_b,
    suppressed``.
    """
    rows = []
    for result in ctx.results:
        if result.change is None:
            continue
        for record in result.change.itertuples(index=False):
            rows.append(
                {
                    "survey": ctx.description.name,
                    "sheet": result.question.sheet,
                    "indicator": result.indicator.name,
                    "table": _TABLE_NAMES[record.variable],
                    "domain": None if record.variable is None else str(record.domain),
                    "year_a": result.previous_year,
                    "year_b": ctx.year,
                    "estimate_a_pct": _pct(record.estimate_a),
                    "estimate_b_pct": _pct(record.estimate_b),
                    "change_pp": _pct(record.difference),
                    "ci_lower_pp": _pct(record.ci_lower),
                    "ci_upper_pp": _pct(record.ci_upper),
                    "pvalue": float(record.pvalue),
                    "respondents_a": int(record.respondents_a),
                    "respondents_b": int(record.respondents_b),
                    "suppressed": bool(record.suppressed),
                }
            )
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def published_baselines(ctx: SurveyContext) -> pd.DataFrame:
    """The headline against the published baselines (fixed figures: only the survey's uncertainty counts).

    Columns ``survey, year, sheet, indicator, estimate_pct, baseline_pct, baseline_year,
    difference_pp, ci_lower_pp, ci_upper_pp, pvalue, source``.
    """
    rows = []
    for result in ctx.results:
        if result.baseline is None:
            continue
        record = result.baseline.iloc[0]
        rows.append(
            {
                "survey": ctx.description.name,
                "year": ctx.year,
                "sheet": result.question.sheet,
                "indicator": result.indicator.name,
                "estimate_pct": _pct(record["estimate"]),
                "baseline_pct": round(_pct(record["baseline"]), 10),  # 56, not 56.00000000000001
                "baseline_year": int(record["baseline_year"]),
                "difference_pp": _pct(record["difference"]),
                "ci_lower_pp": _pct(record["ci_lower"]),
                "ci_upper_pp": _pct(record["ci_upper"]),
                "pvalue": float(record["pvalue"]),
                "source": result.question.baseline.source if result.question.baseline else "",
            }
        )
    return pd.DataFrame(rows, columns=list(BASELINE_COLUMNS))
