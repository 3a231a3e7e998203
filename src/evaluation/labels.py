"""French labels of the referential's records, shared by the reports, the command line and the template.

Kept free of heavy imports (no pandas, no matplotlib): ``evaluation plan`` and ``evaluation template``
use it.
"""

from __future__ import annotations

from evaluation.formatting import NBSP, format_date, format_eur, format_number, format_pct
from evaluation.plan import Cumulation, Direction, Indicator, Measure

__all__ = ["MEASURE_FR", "CUMULATION_FR", "DIRECTION_FR", "target_text", "with_unit"]

MEASURE_FR = {
    Measure.COUNT: "effectif",
    Measure.PERCENTAGE: "pourcentage",
    Measure.AMOUNT: "montant",
    Measure.MILESTONE: "jalon",
    Measure.QUALITATIVE: "qualitatif",
}
CUMULATION_FR = {
    Cumulation.CUMULATIVE: "cumul sur la période",
    Cumulation.PER_YEAR: "chaque année",
    Cumulation.LEVEL: "niveau à l'échéance",
}
DIRECTION_FR = {Direction.INCREASE: "hausse", Direction.DECREASE: "baisse", Direction.MAINTAIN: "maintien"}


def with_unit(value: float, ind: Indicator) -> str:
    if ind.measure is Measure.PERCENTAGE:
        return format_pct(value)
    if ind.measure is Measure.AMOUNT:
        return format_eur(value)
    unit = f"{NBSP}{ind.unit}" if ind.unit else ""
    return f"{format_number(value)}{unit}"


def target_text(ind: Indicator) -> str:
    """The target as a reader says it: ``'400 bénéficiaires'``, ``'50 à 100 entreprises'``, ``'jalon : décembre 2018'``."""
    target = ind.target
    if ind.measure is Measure.MILESTONE:
        return f"jalon : {format_date(target.date) if target.date else target.year}"
    if ind.measure is Measure.QUALITATIVE:
        return "qualitatif, sans cible chiffrée"
    if target.is_range:
        assert target.min is not None and target.max is not None
        low = format_pct(target.min) if ind.measure is Measure.PERCENTAGE else format_number(target.min)
        return f"{low} à {with_unit(target.max, ind)}"
    if target.value is None:
        return "pas de cible chiffrée"
    return with_unit(target.value, ind)
