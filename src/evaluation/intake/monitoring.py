"""Realised values (``monitoring/``) and spending (``spending/``): columns, schemas, typed rows, loaders."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.intake._cache import _remembered
from evaluation.intake._common import (
    _MESSAGES,
    Limits,
    Problem,
    RawTable,
    TableSpec,
    _blank,
    _checked_tables,
    _cross_file_duplicates,
    _fold,
    _is_number,
    _is_year,
    _non_negative,
    _number_or_nan,
    _parse_year,
    _run_schema,
    _year_or_none,
    parse_number,
)
from evaluation.io import Dataset
from evaluation.plan import Measure, Plan, normalize_engagement_id

#: Canonical status values and the words partners use for them.
STATUS_VALUES = {
    "provisional": ("provisional", "provisoire"),
    "estimated": ("estimated", "estime", "estimation"),
    "final": ("final", "definitif", "definitive", "consolide"),
}


MONITORING = TableSpec(
    kind="monitoring",
    required=("indicator_id", "year", "value"),
    optional=("status", "source", "comment", "numerator", "denominator"),
    aliases={
        "indicator_id": ("indicator id", "indicator", "indicateur", "code indicateur", "id indicateur", "code"),
        "year": ("year", "annee", "an", "exercice"),
        "value": ("value", "valeur", "realise", "valeur realisee", "realisation"),
        "status": ("status", "statut", "etat"),
        "source": ("source", "producteur"),
        "comment": ("comment", "commentaire", "commentaires", "remarque"),
        "numerator": ("numerator", "numerateur"),
        "denominator": ("denominator", "denominateur"),
        "_label": ("libelle", "label", "resultat attendu"),
        "_unit": ("unite", "unit"),
        "_target": ("cible", "target"),
        "_deadline": ("echeance", "deadline"),
        "_engagement": ("engagement", "fiche"),
    },
    ignored=("_label", "_unit", "_target", "_deadline", "_engagement"),
)

SPENDING = TableSpec(
    kind="spending",
    required=("engagement", "year", "amount_eur"),
    optional=("funder", "comment"),
    aliases={
        "engagement": ("engagement", "fiche", "fiche action", "engagement id"),
        "year": ("year", "annee", "an", "exercice"),
        "amount_eur": ("amount eur", "amount", "montant", "montant eur", "montant en euros", "depense", "depenses"),
        "funder": ("funder", "financeur"),
        "comment": ("comment", "commentaire", "remarque"),
    },
)


def _in_horizon(value: object) -> bool:
    try:
        return _parse_year(value) in PLAN_YEARS
    except ValueError:
        return True  # reported by the year check


def _status_key(value: object) -> str | None:
    if _blank(value):
        return None
    folded = _fold(str(value))
    for key, words in STATUS_VALUES.items():
        if folded in words:
            return key
    return "?"


_MESSAGES.update(
    {
        "missing_indicator": (
            "indicator_id",
            "is missing",
            "give the indicator code, e.g. 1.1 (see 'evaluation plan')",
        ),
        "unknown_indicator": ("indicator_id", "is not an indicator of the plan", "{suggestion}"),
        "numerator_not_a_number": ("numerator", "is not a number", "use digits, e.g. 45"),
        "denominator_not_a_number": ("denominator", "is not a number", "use digits, e.g. 120"),
        "unknown_status": (
            "status",
            "is not a known status",
            "use provisoire, estimé or définitif (provisional, estimated, final)",
        ),
        "negative_count": ("value", "is negative, and this indicator counts", "a count is 0 or more"),
        "percentage_out_of_range": (
            "value",
            "is not a percentage between 0 and 100",
            "give the percentage between 0 and 100, e.g. 15 for 15 % (or check the numerator and denominator)",
        ),
        "indicator_not_text": (
            "indicator_id",
            "is a number in the spreadsheet, not a code (5.10 would read 5.1)",
            "format the cell as text and type the code again",
        ),
        "ratio_incomplete": (
            "numerator",
            "is given without its denominator (or the reverse) and without a value",
            "give both numerator and denominator, or the value",
        ),
        "milestone_not_binary": (
            "value",
            "is not 0 or 1 for a milestone",
            "write 1 the year the milestone was reached, 0 before",
        ),
        "qualitative_without_comment": (
            "comment",
            "is missing: the indicator is qualitative and a value was given",
            "describe what was achieved in the comment column",
        ),
        "duplicate_row": (
            "indicator_id",
            "appears twice for this year in this file (first at line {first})",
            "keep one row per indicator and year",
        ),
        "ratio_mismatch": (
            "value",
            "differs from 100 × numerator / denominator = {ratio}",
            "correct the value, or leave it blank to compute it",
        ),
        "zero_denominator": ("denominator", "is zero or negative", "give the number of people the rate is computed on"),
        "missing_engagement": ("engagement", "is missing", "give the sheet id, e.g. 5a (see 'evaluation plan')"),
        "unknown_engagement": ("engagement", "is not a sheet of the plan", "{suggestion}"),
        "negative_amount": ("amount_eur", "is negative", "give the amount spent, in euros, 0 or more"),
        "amount_not_a_number": ("amount_eur", "is not a number", "use digits, decimal comma allowed, e.g. 70 000"),
        "duplicate_spending": (
            "engagement",
            "appears twice for this year and funder in this file (first at line {first})",
            "add the amounts into one row",
        ),
    }
)


def _monitoring_schema(plan: Plan):  # noqa: ANN202 - pandera type imported lazily
    import pandera.pandas as pa

    indicators = {i.id: i for i in plan.indicators()}

    def measure_of(ids: pd.Series) -> pd.Series:
        return ids.map(
            lambda v: indicators[str(v).strip()].measure if not _blank(v) and str(v).strip() in indicators else None
        )

    def effective_values(frame: pd.DataFrame) -> pd.Series:
        """The value, or 100 x numerator / denominator when the value is blank (what the reports will use)."""
        values = frame["value"].map(_number_or_nan)
        ratio = (
            100
            * frame["numerator"].map(_number_or_nan)
            / frame["denominator"].map(_number_or_nan).where(lambda d: d > 0)
        )
        return values.where(values.notna(), ratio)

    def value_ok(frame: pd.DataFrame, rule: Callable[[Measure | None, float], bool]) -> pd.Series:
        measures = measure_of(frame["indicator_id"])
        values = effective_values(frame)
        return pd.Series(
            [math.isnan(v) or rule(m, v) for m, v in zip(measures, values, strict=True)], index=frame.index
        )

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        years = frame["year"].map(_year_or_none)
        keys = frame["indicator_id"].map(lambda v: str(v).strip()) + "|" + years.map(str)
        # A row whose year cannot be read is reported for that; it is nobody's duplicate.
        return ~(keys.duplicated(keep="first") & years.notna().to_numpy())

    def ratio_complete(frame: pd.DataFrame) -> pd.Series:
        has_num = ~frame["numerator"].map(_blank)
        has_den = ~frame["denominator"].map(_blank)
        has_value = ~frame["value"].map(_blank)
        return ~((has_num ^ has_den) & ~has_value)

    def qualitative_commented(frame: pd.DataFrame) -> pd.Series:
        measures = measure_of(frame["indicator_id"])
        has_value = ~frame["value"].map(_blank)
        has_comment = ~frame["comment"].map(_blank)
        return ~((measures == Measure.QUALITATIVE) & has_value & ~has_comment)

    def ratio_consistent(frame: pd.DataFrame) -> pd.Series:
        num = frame["numerator"].map(_number_or_nan)
        den = frame["denominator"].map(_number_or_nan)
        val = frame["value"].map(_number_or_nan)
        ratio = 100 * num / den.where(den > 0)
        return ~((ratio - val).abs() > 0.05)

    def positive_denominator(frame: pd.DataFrame) -> pd.Series:
        den = frame["denominator"].map(_number_or_nan)
        return ~(den <= 0)

    def check(fn: Callable, key: str, element_wise: bool = False) -> pa.Check:
        return pa.Check(fn, error=key, element_wise=element_wise)

    return pa.DataFrameSchema(
        {
            "indicator_id": pa.Column(
                object,
                [
                    pa.Check(lambda v: not _blank(v), error="missing_indicator", element_wise=True, ignore_na=False),
                    check(lambda v: _blank(v) or isinstance(v, str), "indicator_not_text", element_wise=True),
                    check(lambda v: _blank(v) or str(v).strip() in indicators, "unknown_indicator", element_wise=True),
                ],
                nullable=True,
            ),
            "year": pa.Column(
                object,
                # ignore_na=False: an empty Excel cell (or a formula without a cached value) is None,
                # which pandera would otherwise skip, and the row would reach the typed table yearless.
                [
                    pa.Check(_is_year, error="not_a_year", element_wise=True, ignore_na=False),
                    check(_in_horizon, "year_outside_plan", True),
                ],
                nullable=True,
            ),
            "value": pa.Column(object, [check(_is_number, "not_a_number", True)], nullable=True),
            "numerator": pa.Column(object, [check(_is_number, "numerator_not_a_number", True)], nullable=True),
            "denominator": pa.Column(object, [check(_is_number, "denominator_not_a_number", True)], nullable=True),
            "status": pa.Column(
                object, [check(lambda v: _status_key(v) != "?", "unknown_status", True)], nullable=True
            ),
        },
        checks=[
            check(
                lambda f: value_ok(f, lambda m, v: m not in (Measure.COUNT, Measure.AMOUNT) or v >= 0), "negative_count"
            ),
            check(
                lambda f: value_ok(f, lambda m, v: m is not Measure.PERCENTAGE or 0 <= v <= 100),
                "percentage_out_of_range",
            ),
            check(
                lambda f: value_ok(f, lambda m, v: m is not Measure.MILESTONE or v in (0, 1)), "milestone_not_binary"
            ),
            check(qualitative_commented, "qualitative_without_comment"),
            check(ratio_complete, "ratio_incomplete"),
            check(not_duplicated, "duplicate_row"),
            check(positive_denominator, "zero_denominator"),
            check(ratio_consistent, "ratio_mismatch"),
        ],
        strict=False,
    )


def _spending_schema(plan: Plan):  # noqa: ANN202
    import pandera.pandas as pa

    sheets = {s.id for s in plan.engagements}

    def known(value: object) -> bool:
        return _blank(value) or normalize_engagement_id(str(value)) in sheets

    def not_duplicated(frame: pd.DataFrame) -> pd.Series:
        keys = (
            frame["engagement"].map(lambda v: normalize_engagement_id(str(v)))
            + "|"
            + frame["year"].map(lambda v: str(_year_or_none(v)))
            + "|"
            + frame["funder"].map(lambda v: "" if _blank(v) else _fold(str(v)))
        )
        return ~keys.duplicated(keep="first")

    return pa.DataFrameSchema(
        {
            "engagement": pa.Column(
                object,
                [
                    pa.Check(lambda v: not _blank(v), error="missing_engagement", element_wise=True),
                    pa.Check(known, error="unknown_engagement", element_wise=True),
                ],
                nullable=True,
            ),
            "year": pa.Column(
                object,
                [
                    pa.Check(_is_year, error="not_a_year", element_wise=True, ignore_na=False),
                    pa.Check(_in_horizon, error="year_outside_plan", element_wise=True),
                ],
                nullable=True,
            ),
            "amount_eur": pa.Column(
                object,
                [
                    pa.Check(_is_number, error="amount_not_a_number", element_wise=True),
                    pa.Check(_non_negative, error="negative_amount", element_wise=True),
                ],
                nullable=True,
            ),
        },
        checks=[pa.Check(not_duplicated, error="duplicate_spending")],
        strict=False,
    )


def _monitoring_rows(table: RawTable, plan: Plan) -> pd.DataFrame:
    indicators = {i.id: i for i in plan.indicators()}
    rows = []
    for line, cells in table.frame.iterrows():
        value = parse_number(cells["value"])
        numerator, denominator = parse_number(cells["numerator"]), parse_number(cells["denominator"])
        if value is None and numerator is not None and denominator:
            value = 100 * numerator / denominator
        comment = None if _blank(cells["comment"]) else str(cells["comment"]).strip()
        indicator = indicators[str(cells["indicator_id"]).strip()]
        if value is None and comment is None:
            continue  # a row left blank (e.g. a year not yet filled in the template)
        rows.append(
            {
                "indicator_id": indicator.id,
                "engagement": indicator.engagement,
                "year": _parse_year(cells["year"]),
                "value": math.nan if value is None else value,
                "numerator": math.nan if numerator is None else numerator,
                "denominator": math.nan if denominator is None else denominator,
                "status": _status_key(cells["status"]),
                "source": None if _blank(cells["source"]) else str(cells["source"]).strip(),
                "comment": comment,
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=MONITORING_COLUMNS)


MONITORING_COLUMNS = [
    "indicator_id",
    "engagement",
    "year",
    "value",
    "numerator",
    "denominator",
    "status",
    "source",
    "comment",
    "file",
    "line",
]
SPENDING_COLUMNS = ["engagement", "year", "amount_eur", "funder", "comment", "file", "line"]


def _spending_rows(table: RawTable) -> pd.DataFrame:
    rows = []
    for line, cells in table.frame.iterrows():
        amount = parse_number(cells["amount_eur"])
        if amount is None:
            continue
        rows.append(
            {
                "engagement": normalize_engagement_id(str(cells["engagement"])),
                "year": _parse_year(cells["year"]),
                "amount_eur": amount,
                "funder": None if _blank(cells["funder"]) else str(cells["funder"]).strip(),
                "comment": None if _blank(cells["comment"]) else str(cells["comment"]).strip(),
                "file": table.path.name,
                "line": int(line),
            }
        )
    return pd.DataFrame(rows, columns=SPENDING_COLUMNS)


def _load(folder: Path, spec: TableSpec, plan: Plan, limits: Limits | None) -> tuple[pd.DataFrame, list[Problem]]:
    if spec.kind == "monitoring":
        schema, choices = _monitoring_schema(plan), [i.id for i in plan.indicators()]
    else:
        schema, choices = _spending_schema(plan), [s.id for s in plan.engagements]
    tables, problems = _checked_tables(folder, spec, lambda table: _run_schema(schema, table, choices), limits)
    frames = [_monitoring_rows(t, plan) if spec.kind == "monitoring" else _spending_rows(t) for t in tables]
    columns = MONITORING_COLUMNS if spec.kind == "monitoring" else SPENDING_COLUMNS
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    keys = ["indicator_id", "year"] if spec.kind == "monitoring" else ["engagement", "year", "funder"]
    duplicates, conflicting = _cross_file_duplicates(
        frame, keys, folder, "value" if spec.kind == "monitoring" else "amount"
    )
    problems += duplicates
    if conflicting:
        row_keys = [tuple("" if pd.isna(v) else v for v in row) for row in frame[keys].itertuples(index=False)]
        frame = frame[[k not in conflicting for k in row_keys]].reset_index(drop=True)
    frame = frame.astype({"year": "int64"}) if not frame.empty else frame
    return frame, problems


def load_monitoring(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Realised values of every file of ``monitoring/``, and the problems found (rows with a problem are left out).

    Columns: indicator_id, engagement, year, value (float; NaN for a qualitative comment), numerator,
    denominator, status (provisional / estimated / final / None), source, comment, file, line.
    """
    folder = dataset.path / "monitoring"
    return _remembered(
        "monitoring", folder, plan, (dataset.limits,), lambda: _load(folder, MONITORING, plan, dataset.limits)
    )


def load_spending(dataset: Dataset, plan: Plan) -> tuple[pd.DataFrame, list[Problem]]:
    """Spending of every file of ``spending/``: engagement, year, amount_eur, funder, comment, file, line."""
    folder = dataset.path / "spending"
    return _remembered(
        "spending", folder, plan, (dataset.limits,), lambda: _load(folder, SPENDING, plan, dataset.limits)
    )
