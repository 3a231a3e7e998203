"""Seeded generator of the SYNTHETIC spending of the demo (``spending/``): what the MEL and its co-financers spent.

**Nothing this module produces is real**: every amount is the plan's planned financing times a
random factor (see :mod:`evaluation_demo.generate`). Its own file: the spending follows the plan's
budget lines, not its indicators.

Columns ``engagement, year, amount_eur, funder``.

For each sheet and year where the plan gives a MEL financing figure above 0: one ``MEL`` row of
the planned amount times an execution factor (85 % of the rows 60-110 %, 10 % 30-60 %, 5 %
110-125 %), rounded to the euro. 2021 is not yet reported for about a third of the sheets, an
earlier year for about 1 in 20. A co-financer the plan quantifies (an amount or a share) gets a
row in the same years: its counterpart is taken proportional to the MEL's yearly financing
(amount x yearly MEL / MEL total, or yearly MEL x share / (100 - share)), times its own factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.referential.plan import Cofinancing, Engagement, Plan
from evaluation_demo.draws import DEMO_SEED, LAST_YEAR, _uniform

__all__ = ["SPENDING_COLUMNS", "generate_spending"]

SPENDING_COLUMNS = ("engagement", "year", "amount_eur", "funder")


def _execution_factor(rng: np.random.Generator) -> float:
    """Spent / planned: 60-110 % for 85 % of the rows, 30-60 % for 10 %, 110-125 % for 5 %."""
    draw = rng.random()
    if draw < 0.85:
        return _uniform(rng, (0.60, 1.10))
    if draw < 0.95:
        return _uniform(rng, (0.30, 0.60))
    return _uniform(rng, (1.10, 1.25))


def _reported_years(years: Sequence[int], rng: np.random.Generator) -> list[int]:
    """The years reported: 2021 missing for a third of the sheets, an earlier year for 1 in 20; at least one."""
    last_missing = bool(rng.random() < 1 / 3)
    reported = []
    for year in years:
        missing = last_missing if year == LAST_YEAR else bool(rng.random() < 0.05)
        if not missing:
            reported.append(year)
    return reported or [years[0]]


def _cofinancer_planned(cofinancing: Cofinancing, planned: dict[int, float]) -> dict[int, float]:
    """A co-financer's yearly counterpart, proportional to the MEL's yearly financing; empty when not quantified."""
    total = sum(planned.values())
    if cofinancing.amount_eur is not None:
        return {y: cofinancing.amount_eur * v / total for y, v in planned.items()}
    if cofinancing.share_pct is not None and cofinancing.share_pct < 100:
        return {y: v * cofinancing.share_pct / (100 - cofinancing.share_pct) for y, v in planned.items()}
    return {}


def _sheet_spending(sheet: Engagement, rng: np.random.Generator) -> list[tuple[str, int, float, str]]:
    planned = {y: float(v) for y, v in sheet.budget.mel_financing_eur.items() if v}
    if not planned:
        return []
    reported = _reported_years(sorted(planned), rng)
    rows = [(sheet.id, y, float(round(planned[y] * _execution_factor(rng))), "MEL") for y in reported]
    for cofinancing in sheet.budget.cofinancing:
        counterpart = _cofinancer_planned(cofinancing, planned)
        rows += [
            (sheet.id, y, float(round(counterpart[y] * _execution_factor(rng))), cofinancing.funder)
            for y in reported
            if counterpart
        ]
    return sorted(rows, key=lambda row: (row[1], row[3] != "MEL"))


def generate_spending(plan: Plan, seed: int = DEMO_SEED) -> pd.DataFrame:
    """SYNTHETIC spending: ``engagement, year, amount_eur, funder`` (plan order, then year, MEL first).

    Deterministic for a given plan and seed (see the module docstring for the rules).
    """
    rng = np.random.default_rng(seed)
    rows = [row for sheet in plan.engagements for row in _sheet_spending(sheet, rng)]
    frame = pd.DataFrame(rows, columns=list(SPENDING_COLUMNS))
    return frame.astype({"year": "int64", "amount_eur": "float64"})
