"""The impact tables exported with the year's tables (estimates by method and indicator, event study, synthetic control path and weights) and their column descriptions."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from evaluation.present.tables import ExportColumn, TableContext

from evaluation.intake.comparison import (
    COMPARISON_INDICATORS,
)
from evaluation.present.impact_publication import METHODS, ImpactPublication, IndicatorImpact
from evaluation.stats import impact

# --------------------------------------------------------------------------------------------------
# The exported tables (the section's summary table renders the first one)

#: French caption of each impact table.
IMPACT_TABLE_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "impact_estimations": "Ce qui peut être attribué au plan : estimations par méthode et par indicateur",
        "impact_etude_evenement": "Ce qui peut être attribué au plan : double différence année par année",
        "impact_controle_synthetique": "Ce qui peut être attribué au plan : QPV de la MEL et contrôle synthétique",
        "impact_poids": "Ce qui peut être attribué au plan : poids du contrôle synthétique",
    }
)
#: Sheet of each impact table in ``tables.xlsx`` (at most 31 characters).
IMPACT_SHEET_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "impact_estimations": "Impact – estimations",
        "impact_etude_evenement": "Impact – étude d'événement",
        "impact_controle_synthetique": "Impact – contrôle synthétique",
        "impact_poids": "Impact – poids",
    }
)


def _pct(p: float) -> float:
    return 100.0 * p if p == p else math.nan


def _estimate_rows(result: IndicatorImpact) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    base = {"indicator": result.indicator, "unit": result.spec.effect_unit}
    if result.did is not None:
        d = result.did
        post = [y for y in sorted(_event_years(result)) if y >= impact.PLAN_START_YEAR] or list(result.post_years)
        pretrend = result.event.pretrend if result.event is not None else None
        rows.append(
            base
            | {
                "method": "did",
                "first_post_year": post[0] if post else pd.NA,
                "last_post_year": post[-1] if post else pd.NA,
                "estimate": d.estimate,
                "ci_lower": d.ci_lower,
                "ci_upper": d.ci_upper,
                "stderr": d.stderr,
                "pvalue_pct": _pct(d.pvalue),
                "last_year_gap": math.nan,
                "pre_rmspe": math.nan,
                "pretrend_pvalue_pct": _pct(pretrend.pvalue) if pretrend is not None else math.nan,
                "placebo_rank": pd.NA,
                "placebo_units": pd.NA,
                "treated_units": d.treated_clusters,
                "comparison_units": d.control_clusters,
                "warning": d.warning or "",
            }
        )
    if result.placebo is not None:
        p, s = result.placebo, result.synthetic
        assert s is not None
        rows.append(
            base
            | {
                "method": "synthetic",
                "first_post_year": result.post_years[0],
                "last_post_year": result.post_years[-1],
                "estimate": result.mean_post_gap,
                "ci_lower": math.nan,
                "ci_upper": math.nan,
                "stderr": math.nan,
                "pvalue_pct": _pct(p.p_value),
                "last_year_gap": float(s.path["gap"].iloc[-1]),
                "pre_rmspe": s.pre_rmspe,
                "pretrend_pvalue_pct": math.nan,
                "placebo_rank": p.rank,
                "placebo_units": p.units,
                "treated_units": 1,
                "comparison_units": len(result.donors),
                "warning": p.warning or "",
            }
        )
    return rows


def _event_years(result: IndicatorImpact) -> list[int]:
    if result.event is None:
        return []
    return [int(y) for y in result.event.coefficients["year"]]


_ESTIMATE_COLUMNS = (
    "indicator",
    "method",
    "first_post_year",
    "last_post_year",
    "estimate",
    "ci_lower",
    "ci_upper",
    "unit",
    "stderr",
    "pvalue_pct",
    "last_year_gap",
    "pre_rmspe",
    "pretrend_pvalue_pct",
    "placebo_rank",
    "placebo_units",
    "treated_units",
    "comparison_units",
    "warning",
)


def impact_tables(publication: ImpactPublication) -> dict[str, pd.DataFrame]:
    """The impact tables of :data:`IMPACT_TABLE_TITLES` (machine column names; :func:`impact_export_columns`
    describes them in French). Empty dict when the data directory has no comparison territories.

    ``impact_estimations``: one row per indicator and method: the difference-in-differences (mean
    effect over the post years, its 95 % t interval, CR1 standard error, p-value, pre-trend test) and
    the synthetic control (mean gap over the post years, last year's gap, pre-period RMSPE, placebo
    rank and p-value); ``impact_etude_evenement``: the event-study coefficients; ``impact_controle_synthetique``:
    per year the treated aggregate, its synthetic control, the gap and the comparison group's mean;
    ``impact_poids``: the synthetic control's weights (in percent) per donor.
    """
    if not publication.results:
        return {}
    names = publication.comparison.names()
    estimates, events, paths, weights = [], [], [], []
    for result in publication.results.values():
        estimates += _estimate_rows(result)
        if result.event is not None:
            coefficients = result.event.coefficients
            events.append(
                pd.DataFrame(
                    {
                        "indicator": result.indicator,
                        "year": coefficients["year"].astype(int),
                        "estimate": coefficients["estimate"],
                        "ci_lower": coefficients["ci_lower"],
                        "ci_upper": coefficients["ci_upper"],
                        "stderr": coefficients["stderr"],
                        "pvalue_pct": 100 * coefficients["pvalue"],
                        "reference": coefficients["reference"],
                    }
                )
            )
        synthetic = result.synthetic
        if synthetic is not None:
            path = synthetic.path
            paths.append(
                pd.DataFrame(
                    {
                        "indicator": result.indicator,
                        "year": path["year"].astype(int),
                        "period": path["period"],
                        "treated": path["treated"],
                        "synthetic": path["synthetic"],
                        "gap": path["gap"],
                        "comparison_mean": path["year"].map(result.comparison_mean).astype(float),
                    }
                )
            )
            w = synthetic.weights.sort_values(ascending=False, kind="stable")
            weights.append(
                pd.DataFrame(
                    {
                        "indicator": result.indicator,
                        "territory": list(w.index),
                        "name": [names.get(c, c) for c in w.index],
                        "weight_pct": 100 * w.to_numpy(),
                    }
                )
            )

    def concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))

    return {
        "impact_estimations": pd.DataFrame(estimates, columns=list(_ESTIMATE_COLUMNS)),
        "impact_etude_evenement": concat(
            events, ("indicator", "year", "estimate", "ci_lower", "ci_upper", "stderr", "pvalue_pct", "reference")
        ),
        "impact_controle_synthetique": concat(
            paths, ("indicator", "year", "period", "treated", "synthetic", "gap", "comparison_mean")
        ),
        "impact_poids": concat(weights, ("indicator", "territory", "name", "weight_pct")),
    }


@functools.cache
def impact_export_columns(name: str) -> tuple[ExportColumn, ...]:
    """The French description of every column of the impact table ``name`` (for ``tables.xlsx`` and its
    ``Lisez-moi``), in the order of :func:`impact_tables`' columns. Built on first use: importing
    :mod:`evaluation.present.tables` here, not at the top, lets that module import this one lazily."""
    from evaluation.present.tables import ExportColumn, Kind

    indicator = ExportColumn(
        "indicator",
        "Indicateur",
        "Indicateur des séries de comparaison",
        Kind.CODE,
        labels={code: spec.label for code, spec in COMPARISON_INDICATORS.items()},
    )
    in_unit = "unité de l'indicateur : points pour un taux en %, pour 1 000 sinon"
    bound = "Borne {side} de l'intervalle de confiance à 95\u00a0% (loi de Student à G - 1 degrés de liberté, G territoires)"
    columns = {
        "impact_estimations": (
            indicator,
            ExportColumn("method", "Méthode", "Méthode d'estimation", Kind.CODE, labels=dict(METHODS)),
            ExportColumn(
                "first_post_year", "Première année du plan", "Première année de la période estimée", Kind.YEAR
            ),
            ExportColumn("last_post_year", "Dernière année", "Dernière année de la période estimée", Kind.YEAR),
            ExportColumn(
                "estimate",
                "Effet estimé",
                "Double différence : écart moyen d'évolution des QPV de la MEL par rapport aux territoires de "
                "comparaison sur la période ; contrôle synthétique : écart moyen au territoire synthétique",
                Kind.RATIO,
                in_unit,
            ),
            ExportColumn("ci_lower", "Borne basse", bound.format(side="basse"), Kind.RATIO, in_unit),
            ExportColumn("ci_upper", "Borne haute", bound.format(side="haute"), Kind.RATIO, in_unit),
            ExportColumn("unit", "Unité", "Unité de l'effet estimé"),
            ExportColumn(
                "stderr",
                "Erreur type",
                "Erreur type robuste aux corrélations par territoire (CR1)",
                Kind.RATIO,
                in_unit,
            ),
            ExportColumn(
                "pvalue_pct",
                "Probabilité critique (%)",
                "Probabilité d'un écart au moins aussi grand sans effet du plan (double différence : loi de Student ; "
                "contrôle synthétique : rang parmi les placebos)",
                Kind.PCT,
                "%",
            ),
            ExportColumn(
                "last_year_gap",
                "Écart la dernière année",
                "Contrôle synthétique : écart de la dernière année",
                Kind.RATIO,
                in_unit,
            ),
            ExportColumn(
                "pre_rmspe",
                "Ajustement avant le plan (RMSPE)",
                "Contrôle synthétique : racine de l'écart quadratique moyen avant 2018",
                Kind.RATIO,
                in_unit,
            ),
            ExportColumn(
                "pretrend_pvalue_pct",
                "Test des tendances avant le plan (%)",
                "Double différence : probabilité critique du test joint des années d'avant le plan (nulle : "
                "évolutions parallèles)",
                Kind.PCT,
                "%",
            ),
            ExportColumn("placebo_rank", "Rang parmi les placebos", "1 = le plus grand rapport des RMSPE", Kind.COUNT),
            ExportColumn(
                "placebo_units", "Territoires classés", "QPV de la MEL et placebos", Kind.COUNT, "territoires"
            ),
            ExportColumn(
                "treated_units",
                "Territoires traités",
                "Territoires du plan dans l'estimation",
                Kind.COUNT,
                "territoires",
            ),
            ExportColumn(
                "comparison_units",
                "Territoires de comparaison",
                "Territoires de comparaison",
                Kind.COUNT,
                "territoires",
            ),
            ExportColumn("warning", "Avertissement", "Pourquoi l'estimation est fragile (vide sinon)"),
        ),
        "impact_etude_evenement": (
            indicator,
            ExportColumn("year", "Année", "Année", Kind.YEAR),
            ExportColumn(
                "estimate",
                "Écart par rapport à 2017",
                "Écart QPV de la MEL - comparaison de l'année, moins le même écart en 2017",
                Kind.RATIO,
                in_unit,
            ),
            ExportColumn("ci_lower", "Borne basse", bound.format(side="basse"), Kind.RATIO, in_unit),
            ExportColumn("ci_upper", "Borne haute", bound.format(side="haute"), Kind.RATIO, in_unit),
            ExportColumn("stderr", "Erreur type", "Erreur type robuste (CR1)", Kind.RATIO, in_unit),
            ExportColumn("pvalue_pct", "Probabilité critique (%)", "Test de l'écart nul", Kind.PCT, "%"),
            ExportColumn(
                "reference", "Année de référence", "Année de référence (écart nul par construction)", Kind.FLAG
            ),
        ),
        "impact_controle_synthetique": (
            indicator,
            ExportColumn("year", "Année", "Année", Kind.YEAR),
            ExportColumn(
                "period",
                "Période",
                "Avant le plan (ajustement) ou pendant le plan (effet)",
                Kind.CODE,
                labels={"pre": "avant le plan", "post": "pendant le plan"},
            ),
            ExportColumn(
                "treated",
                "QPV de la MEL",
                "Valeur de l'ensemble des QPV de la MEL",
                Kind.RATIO,
                "unité de l'indicateur",
            ),
            ExportColumn(
                "synthetic",
                "Contrôle synthétique",
                "Moyenne pondérée des territoires de comparaison",
                Kind.RATIO,
                "unité de l'indicateur",
            ),
            ExportColumn("gap", "Écart", "QPV de la MEL moins contrôle synthétique", Kind.RATIO, in_unit),
            ExportColumn(
                "comparison_mean",
                "Moyenne des territoires de comparaison",
                "Moyenne simple des territoires de comparaison du contrôle synthétique",
                Kind.RATIO,
                "unité de l'indicateur",
            ),
        ),
        "impact_poids": (
            indicator,
            ExportColumn("territory", "Code", "Code du territoire de comparaison"),
            ExportColumn("name", "Territoire", "Nom du territoire de comparaison"),
            ExportColumn("weight_pct", "Poids (%)", "Poids dans le contrôle synthétique", Kind.PCT, "%"),
        ),
    }
    if name not in columns:
        raise ValueError(f"no impact table {name!r} (known: {', '.join(columns)})")
    return columns[name]


def impact_export_spec(
    name: str,
) -> Callable[[pd.DataFrame, TableContext], tuple[list[ExportColumn], pd.DataFrame]]:
    """The export spec of the impact table ``name``, in the form of :mod:`evaluation.present.tables`' specs."""

    def spec(frame: pd.DataFrame, _ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
        return list(impact_export_columns(name)), frame

    return spec
