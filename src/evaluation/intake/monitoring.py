"""Realised values (``monitoring/``) and spending (``spending/``): columns, schemas, typed rows, loaders."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.config import PLAN_YEARS
from evaluation.intake._cache import _remembered
from evaluation.intake.cells import (
    _blank,
    _fold,
    _is_number,
    _is_year,
    _non_negative,
    _number_or_nan,
    _parse_year,
    _year_or_none,
    distinct_map,
    mapped,
    parse_number,
)
from evaluation.intake.folders import _checked_tables, _cross_file_duplicates
from evaluation.intake.problems import Phrase, Problem
from evaluation.intake.raw_tables import RawTable, TableSpec
from evaluation.intake.schema import NOT_A_NUMBER, NOT_A_YEAR, Check, ColumnCache, Message, Schema, _run_schema
from evaluation.io import Dataset, Limits
from evaluation.referential.plan import Measure, Plan, normalize_engagement_id

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


#: Shared by the two schemas of this module: their years are years of the plan.
_YEAR_OUTSIDE_PLAN = Message(
    "year",
    "is outside the plan's horizon",
    "use a year from 2018 to 2021",
    "est hors de la période du plan",
    "indiquer une année de 2018 à 2021",
)


def _monitoring_keys(frame: pd.DataFrame) -> pd.Series:
    """``indicator|year`` of each row, the year as read (``2019``, ``2019,0`` and ``2 019`` are one year)."""
    years = mapped(frame["year"], lambda v: str(_year_or_none(v)))
    return mapped(frame["indicator_id"], lambda v: str(v).strip()) + "|" + years


def _spending_keys(frame: pd.DataFrame) -> pd.Series:
    """``engagement|year|funder`` of each row, on canonical ids, years and folded funder names."""
    return (
        mapped(frame["engagement"], lambda v: normalize_engagement_id(str(v)))
        + "|"
        + mapped(frame["year"], lambda v: str(_year_or_none(v)))
        + "|"
        + mapped(frame["funder"], lambda v: "" if _blank(v) else _fold(str(v)))
    )


def _monitoring_schema(plan: Plan) -> Schema:
    indicators = {i.id: i for i in plan.indicators()}
    cache = ColumnCache()

    def measure(value: object) -> Measure | None:
        return (
            indicators[str(value).strip()].measure if not _blank(value) and str(value).strip() in indicators else None
        )

    def measures(frame: pd.DataFrame) -> np.ndarray:
        return cache.get(frame, "indicator_id", measure)

    def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
        return cache.get(frame, column, _number_or_nan).astype(float)

    def effective_values(frame: pd.DataFrame) -> np.ndarray:
        """The value, or 100 x numerator / denominator when the value is blank (what the reports will use)."""
        values = numbers(frame, "value")
        denominators = numbers(frame, "denominator")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = 100 * numbers(frame, "numerator") / np.where(denominators > 0, denominators, np.nan)
        return np.where(np.isnan(values), ratio, values)

    def value_ok(
        frame: pd.DataFrame, kinds: tuple[Measure, ...], rule: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        concerned = np.array([m in kinds for m in measures(frame)], dtype=bool)
        values = effective_values(frame)
        with np.errstate(invalid="ignore"):
            return ~concerned | np.isnan(values) | rule(values)

    def not_duplicated(frame: pd.DataFrame) -> np.ndarray:
        # A row whose year cannot be read is reported for that; it is nobody's duplicate.
        readable = distinct_map(frame["year"], lambda v: _year_or_none(v) is not None).astype(bool)
        return ~(_monitoring_keys(frame).duplicated(keep="first").to_numpy() & readable)

    def blank(frame: pd.DataFrame, column: str) -> np.ndarray:
        return cache.get(frame, column, _blank).astype(bool)

    def ratio_complete(frame: pd.DataFrame) -> np.ndarray:
        has_num, has_den = ~blank(frame, "numerator"), ~blank(frame, "denominator")
        return ~((has_num ^ has_den) & blank(frame, "value"))

    def qualitative_commented(frame: pd.DataFrame) -> np.ndarray:
        qualitative = np.array([m is Measure.QUALITATIVE for m in measures(frame)], dtype=bool)
        return ~(qualitative & ~blank(frame, "value") & blank(frame, "comment"))

    def ratio_consistent(frame: pd.DataFrame) -> np.ndarray:
        den = numbers(frame, "denominator")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = 100 * numbers(frame, "numerator") / np.where(den > 0, den, np.nan)
            return ~(np.abs(ratio - numbers(frame, "value")) > 0.05)

    def positive_denominator(frame: pd.DataFrame) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return ~(numbers(frame, "denominator") <= 0)

    def check(fn: Callable, key: str, message: Message) -> Check:
        return Check(fn, key, message, element_wise=False)

    counts, percentage = (Measure.COUNT, Measure.AMOUNT), (Measure.PERCENTAGE,)
    return Schema(
        {
            "indicator_id": [
                Check(
                    lambda v: not _blank(v),
                    "missing_indicator",
                    Message(
                        "indicator_id",
                        "is missing",
                        "give the indicator code, e.g. 1.1 (see 'evaluation plan')",
                        "cellule vide",
                        "indiquer le code de l'indicateur, par exemple 1.1 (voir « evaluation plan »)",
                    ),
                    ignore_na=False,
                ),
                Check(
                    lambda v: _blank(v) or isinstance(v, str),
                    "indicator_not_text",
                    Message(
                        "indicator_id",
                        "is a number in the spreadsheet, not a code (5.10 would read 5.1)",
                        "format the cell as text and type the code again",
                        "est un nombre dans le tableur, pas un code (5.10 serait lu 5.1)",
                        "mettre la cellule au format texte et saisir à nouveau le code",
                    ),
                ),
                Check(
                    lambda v: _blank(v) or str(v).strip() in indicators,
                    "unknown_indicator",
                    Message(
                        "indicator_id",
                        "is not an indicator of the plan",
                        "{suggestion}",
                        "n'est pas un indicateur du plan",
                        "{suggestion}",
                    ),
                ),
            ],
            # ignore_na=False: an empty Excel cell (or a formula without a cached value) is None,
            # and the row would otherwise reach the typed table yearless.
            "year": [
                Check(_is_year, "not_a_year", NOT_A_YEAR, ignore_na=False),
                Check(_in_horizon, "year_outside_plan", _YEAR_OUTSIDE_PLAN),
            ],
            "value": [Check(_is_number, "not_a_number", NOT_A_NUMBER)],
            "numerator": [
                Check(
                    _is_number,
                    "numerator_not_a_number",
                    Message(
                        "numerator",
                        "is not a number",
                        "use digits, e.g. 45",
                        "n'est pas un nombre",
                        "écrire des chiffres, par exemple 45",
                    ),
                )
            ],
            "denominator": [
                Check(
                    _is_number,
                    "denominator_not_a_number",
                    Message(
                        "denominator",
                        "is not a number",
                        "use digits, e.g. 120",
                        "n'est pas un nombre",
                        "écrire des chiffres, par exemple 120",
                    ),
                )
            ],
            "status": [
                Check(
                    lambda v: _status_key(v) != "?",
                    "unknown_status",
                    Message(
                        "status",
                        "is not a known status",
                        "use provisoire, estimé or définitif (provisional, estimated, final)",
                        "n'est pas un statut connu",
                        "écrire provisoire, estimé ou définitif",
                    ),
                )
            ],
        },
        checks=[
            check(
                lambda f: value_ok(f, counts, lambda v: v >= 0),
                "negative_count",
                Message(
                    "value",
                    "is negative, and this indicator counts",
                    "a count is 0 or more",
                    "est négatif, alors que l'indicateur est un comptage",
                    "un comptage vaut 0 ou plus",
                ),
            ),
            check(
                lambda f: value_ok(f, percentage, lambda v: (v >= 0) & (v <= 100)),
                "percentage_out_of_range",
                Message(
                    "value",
                    "is not a percentage between 0 and 100",
                    "give the percentage between 0 and 100, e.g. 15 for 15 % (or check the numerator and denominator)",
                    "n'est pas un pourcentage compris entre 0 et 100",
                    "indiquer le pourcentage entre 0 et 100, par exemple 15 pour 15 % (ou vérifier le numérateur et "
                    "le dénominateur)",
                ),
            ),
            check(
                lambda f: value_ok(f, (Measure.MILESTONE,), lambda v: (v == 0) | (v == 1)),
                "milestone_not_binary",
                Message(
                    "value",
                    "is not 0 or 1 for a milestone",
                    "write 1 the year the milestone was reached, 0 before",
                    "ne vaut ni 0 ni 1 pour un jalon",
                    "écrire 1 l'année où le jalon est atteint, 0 avant",
                ),
            ),
            check(
                qualitative_commented,
                "qualitative_without_comment",
                Message(
                    "comment",
                    "is missing: the indicator is qualitative and a value was given",
                    "describe what was achieved in the comment column",
                    "commentaire absent, alors que l'indicateur est qualitatif et qu'une valeur est donnée",
                    "décrire ce qui a été réalisé dans la colonne des commentaires",
                ),
            ),
            check(
                ratio_complete,
                "ratio_incomplete",
                Message(
                    "numerator",
                    "is given without its denominator (or the reverse) and without a value",
                    "give both numerator and denominator, or the value",
                    "est donné sans son dénominateur (ou l'inverse), et sans valeur",
                    "indiquer le numérateur et le dénominateur, ou la valeur",
                ),
            ),
            check(
                not_duplicated,
                "duplicate_row",
                Message(
                    "indicator_id",
                    "appears twice for this year in this file (first at line {first})",
                    "keep one row per indicator and year",
                    "figure deux fois pour cette année dans ce fichier (première occurrence à la ligne {first})",
                    "garder une ligne par indicateur et par année",
                ),
            ),
            check(
                positive_denominator,
                "zero_denominator",
                Message(
                    "denominator",
                    "is zero or negative",
                    "give the number of people the rate is computed on",
                    "est nul ou négatif",
                    "indiquer le nombre de personnes sur lequel le taux est calculé",
                ),
            ),
            check(
                ratio_consistent,
                "ratio_mismatch",
                Message(
                    "value",
                    "differs from 100 × numerator / denominator = {ratio}",
                    "correct the value, or leave it blank to compute it",
                    "diffère de 100 × numérateur / dénominateur = {ratio}",
                    "corriger la valeur, ou la laisser vide pour qu'elle soit calculée",
                ),
            ),
        ],
    )


def _spending_schema(plan: Plan) -> Schema:
    sheets = {s.id for s in plan.engagements}

    def known(value: object) -> bool:
        return _blank(value) or normalize_engagement_id(str(value)) in sheets

    return Schema(
        {
            "engagement": [
                Check(
                    lambda v: not _blank(v),
                    "missing_engagement",
                    Message(
                        "engagement",
                        "is missing",
                        "give the sheet id, e.g. 5a (see 'evaluation plan')",
                        "cellule vide",
                        "indiquer le numéro de la fiche, par exemple 5a (voir « evaluation plan »)",
                    ),
                    ignore_na=False,
                ),
                Check(
                    known,
                    "unknown_engagement",
                    Message(
                        "engagement",
                        "is not a sheet of the plan",
                        "{suggestion}",
                        "n'est pas une fiche du plan",
                        "{suggestion}",
                    ),
                ),
            ],
            "year": [
                Check(_is_year, "not_a_year", NOT_A_YEAR, ignore_na=False),
                Check(_in_horizon, "year_outside_plan", _YEAR_OUTSIDE_PLAN),
            ],
            "amount_eur": [
                Check(
                    _is_number,
                    "amount_not_a_number",
                    Message(
                        "amount_eur",
                        "is not a number",
                        "use digits, decimal comma allowed, e.g. 70 000",
                        "n'est pas un nombre",
                        "écrire des chiffres, virgule décimale admise, par exemple 70 000",
                    ),
                ),
                Check(
                    _non_negative,
                    "negative_amount",
                    Message(
                        "amount_eur",
                        "is negative",
                        "give the amount spent, in euros, 0 or more",
                        "est négatif",
                        "indiquer le montant dépensé, en euros, 0 ou plus",
                    ),
                ),
            ],
        },
        checks=[
            Check(
                lambda f: ~_spending_keys(f).duplicated(keep="first").to_numpy(),
                "duplicate_spending",
                Message(
                    "engagement",
                    "appears twice for this year and funder in this file (first at line {first})",
                    "add the amounts into one row",
                    "figure deux fois pour cette année et ce financeur dans ce fichier (première occurrence à la ligne {first})",
                    "additionner les montants sur une seule ligne",
                ),
                element_wise=False,
            )
        ],
    )


def _monitoring_rows(table: RawTable, plan: Plan) -> pd.DataFrame:
    indicators = {i.id: i for i in plan.indicators()}
    rows = []
    for line, cells in zip(table.frame.index, table.frame.to_dict("records"), strict=True):
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
    for line, cells in zip(table.frame.index, table.frame.to_dict("records"), strict=True):
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
    keys = _monitoring_keys if spec.kind == "monitoring" else _spending_keys
    tables, problems = _checked_tables(
        folder, spec, lambda table: _run_schema(schema, table, choices, duplicate_keys=keys), limits
    )
    frames = [_monitoring_rows(t, plan) if spec.kind == "monitoring" else _spending_rows(t) for t in tables]
    columns = MONITORING_COLUMNS if spec.kind == "monitoring" else SPENDING_COLUMNS
    kept = [f for f in frames if len(f)] or frames[:1]  # an empty file's frame has no say in the dtypes
    frame = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=columns)
    keys = ["indicator_id", "year"] if spec.kind == "monitoring" else ["engagement", "year", "funder"]
    what = Phrase("value", "la valeur") if spec.kind == "monitoring" else Phrase("amount", "le montant")
    duplicates, conflicting = _cross_file_duplicates(frame, keys, folder, what)
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
