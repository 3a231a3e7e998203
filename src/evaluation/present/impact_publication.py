"""What « Ce qui peut être attribué au plan » publishes for a year, computed once: the difference-in-differences, event study, synthetic control and placebos of each indicator on the comparison territories; the section, the tables and evaluation impact render it."""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from evaluation import cache
from evaluation.errors import UsageError
from evaluation.intake import Problem, load_comparison
from evaluation.intake.cells import _fold
from evaluation.intake.comparison import (
    COMPARISON_FOLDER,
    COMPARISON_INDICATORS,
    DECLARATION_FILE,
    ComparisonData,
    ComparisonIndicator,
    GroupRole,
)
from evaluation.io import Dataset
from evaluation.present.parameters import _check_year, dataset_parameter
from evaluation.stats import impact

#: The indicators the report section details: the census employment rate and one yearly source.
SECTION_INDICATORS = ("employment_rate_pct", "jobseekers_per_1000")
#: Method code -> French name.
METHODS = MappingProxyType({"did": "Double différence", "synthetic": "Contrôle synthétique"})
#: A p-value below this is "significant" in the reading (the 95 % intervals' level).
_ALPHA = 0.05


# --------------------------------------------------------------------------------------------------
# The publication: every estimate computed once


@dataclass(frozen=True, eq=False)
class IndicatorImpact:
    """The estimates of one indicator.

    ``treated_units`` and ``control_units``: the territories of the difference-in-differences;
    ``did`` and ``event`` its results (None when not computed: ``notes`` says why, in French);
    ``treated_aggregate``, ``donors`` (complete series), ``left_out`` (donors with a missing
    year) and ``placebo`` (whose ``fits[treated_aggregate]`` is the synthetic control) for the
    synthetic control; ``comparison_mean``: the donors' unweighted mean per year (the chart's
    "comparison group"); ``pre_years`` and ``post_years``: the years of the synthetic control
    (of the treated aggregate's series; those of the difference-in-differences when there is none).
    """

    indicator: str
    spec: ComparisonIndicator
    pre_years: tuple[int, ...]
    post_years: tuple[int, ...]
    treated_units: tuple[str, ...]
    control_units: tuple[str, ...]
    did: impact.DidResult | None
    event: impact.EventStudyResult | None
    treated_aggregate: str | None
    donors: tuple[str, ...]
    left_out: tuple[str, ...]
    placebo: impact.PlaceboResult | None
    comparison_mean: pd.Series
    treated_path: pd.Series
    notes: tuple[str, ...] = ()

    @property
    def synthetic(self) -> impact.SyntheticControlResult | None:
        """The synthetic control of the treated aggregate (computed with the placebos)."""
        return None if self.placebo is None else self.placebo.fits[self.placebo.treated_unit]

    @property
    def mean_post_gap(self) -> float:
        """Mean of the synthetic control's gap over the post years (NaN without a synthetic control)."""
        if self.synthetic is None:
            return math.nan
        path = self.synthetic.path
        return float(path.loc[path["period"] == "post", "gap"].mean())


@dataclass(frozen=True, eq=False)
class ImpactPublication:
    """What the impact section, the tables and ``evaluation impact`` publish for a year."""

    dataset: Dataset
    year: int
    comparison: ComparisonData
    problems: tuple[Problem, ...]
    results: Mapping[str, IndicatorImpact]

    @property
    def synthetic_data(self) -> bool:
        """The dataset is a demo or its comparison series are declared synthetic."""
        return self.dataset.demo or self.comparison.synthetic


def check_indicator(name: object) -> str:
    """``name`` if it is an indicator of the comparison series; else a UsageError naming it, the closest and the accepted ones."""
    if isinstance(name, str) and name in COMPARISON_INDICATORS:
        return name
    # By code or by French label ("taux d'emploi" finds employment_rate_pct).
    options = {code: code for code in COMPARISON_INDICATORS}
    options.update({_fold(spec.label): code for code, spec in COMPARISON_INDICATORS.items()})
    close = difflib.get_close_matches(_fold(str(name)), list(options), n=1, cutoff=0.4)
    hint = f"did you mean '{options[close[0]]}'? " if close else ""
    raise UsageError(f"unknown indicator {str(name)!r} ({hint}accepted: {', '.join(COMPARISON_INDICATORS)})")


def _dataset(data_dir: str | Path | Dataset) -> Dataset:
    if isinstance(data_dir, Dataset):
        return data_dir
    return dataset_parameter(str(data_dir) if isinstance(data_dir, Path) else data_dir)


def impact_publication(
    year: int,
    data_dir: str | Path | Dataset = "",
    indicators: Sequence[str] | None = None,
    methods: Sequence[str] = tuple(METHODS),
) -> ImpactPublication:
    """The impact estimates of the report of ``year`` (2018-2021) on the data directory's ``comparison/``.

    ``indicators``: default, every indicator; those without any value get no result; ``methods``: ``did`` (difference-in-
    differences and event study) and/or ``synthetic`` (synthetic control and placebos). Rows with a
    problem are left out (``problems`` lists them). A wrong year or data folder raises a French
    :class:`~evaluation.errors.UsageError`, an unknown indicator or method an English one.
    """
    _check_year(year)
    dataset = _dataset(data_dir)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UsageError(f"unknown method {unknown[0]!r} (use {' or '.join(METHODS)})")
    data, problems = load_comparison(dataset)
    present = set(data.series["indicator"])
    wanted = list(COMPARISON_INDICATORS) if indicators is None else [check_indicator(i) for i in indicators]
    chosen = [i for i in wanted if i in present]  # an indicator without any value has no result
    results = {i: _remembered_impact(data, i, year, tuple(methods)) for i in chosen} if data.present else {}
    return ImpactPublication(dataset, year, data, tuple(problems), MappingProxyType(results))


def _remembered_impact(data: ComparisonData, indicator: str, year: int, methods: tuple[str, ...]) -> IndicatorImpact:
    """:func:`_indicator_impact`, computed once per content of the comparison data (:mod:`evaluation.cache`).

    The placebos of the synthetic control take seconds: the yearly report, the 2021 synthesis and the
    exported tables of a run need the same estimates, and the processes of ``evaluation run`` share
    them (estimates on aggregate series: nothing about a person), waiting for whichever computes first.
    """
    digest = hashlib.sha256(repr(data.territories).encode())
    digest.update(pd.util.hash_pandas_object(data.series, index=False).to_numpy().tobytes())
    digest.update(repr(tuple(data.series.columns)).encode())
    key = ("impact", digest.hexdigest(), indicator, year, methods)
    return cache.remember(key, lambda: _indicator_impact(data, indicator, year, methods), shared_key=key, wait=True)


def _years_text(years: Sequence[int]) -> str:
    years = list(years)
    if not years:
        return "aucune année"
    return str(years[0]) if len(years) == 1 else f"{years[0]} à {years[-1]}"


def _indicator_impact(data: ComparisonData, indicator: str, year: int, methods: tuple[str, ...]) -> IndicatorImpact:
    spec = COMPARISON_INDICATORS[indicator]
    series = data.series[(data.series["indicator"] == indicator) & (data.series["year"] <= year)]
    start = impact.PLAN_START_YEAR
    treated = [c for c in data.codes(GroupRole.TREATED) if c in set(series["territory"])]
    controls = [c for c in data.codes(GroupRole.DONOR) if c in set(series["territory"])]
    notes: list[str] = []
    did_result, event = None, None
    if "did" in methods:
        did_result, event, note = _did(series, treated, controls, start)
        notes += note
    aggregate = next(iter(data.codes(GroupRole.TREATED_AGGREGATE)), None)
    table = series.pivot(index="territory", columns="year", values="value")
    if aggregate is not None and aggregate in table.index:
        treated_path = table.loc[aggregate].dropna()
    elif treated:
        treated_path = table.loc[treated].mean(skipna=True)  # no aggregate: the QPV's unweighted mean (chart only)
    else:
        treated_path = pd.Series(dtype=float)
    years = [int(y) for y in treated_path.index] if len(treated_path) else sorted(int(y) for y in table.columns)
    pre = tuple(y for y in years if y < start)
    post = tuple(y for y in years if y >= start)
    donors = [c for c in controls if c in table.index and table.loc[c, list(pre + post)].notna().all()]
    left_out = tuple(c for c in controls if c not in donors)
    placebo_result = None
    if "synthetic" in methods:
        placebo_result, note = _synthetic(series, aggregate, donors, pre, post)
        notes += note
    mean = table.loc[donors or controls, list(pre + post)].mean() if (donors or controls) else pd.Series(dtype=float)
    return IndicatorImpact(
        indicator=indicator,
        spec=spec,
        pre_years=pre,
        post_years=post,
        treated_units=tuple(treated),
        control_units=tuple(controls),
        did=did_result,
        event=event,
        treated_aggregate=aggregate,
        donors=tuple(donors),
        left_out=left_out,
        placebo=placebo_result,
        comparison_mean=mean.astype(float),
        treated_path=treated_path.astype(float),
        notes=tuple(notes),
    )


def _did(
    series: pd.DataFrame, treated: list[str], controls: list[str], start: int
) -> tuple[impact.DidResult | None, impact.EventStudyResult | None, list[str]]:
    """Difference-in-differences and event study, or the French reason why not."""
    frame = series[series["territory"].isin(treated + controls)].assign(
        treated=lambda f: f["territory"].isin(treated), post=lambda f: f["year"] >= start
    )
    groups = {
        "QPV de la MEL": frame[frame["treated"]],
        "territoires de comparaison": frame[~frame["treated"]],
    }
    for name, rows in groups.items():
        if rows["territory"].nunique() < 2:
            return None, None, [f"Double différence non calculée : il faut au moins deux {name} avec une série."]
        if not (rows["year"] < start).any() or not (rows["year"] >= start).any():
            return (
                None,
                None,
                [
                    f"Double différence non calculée : les {name} n'ont pas de valeur avant {start} et après {start - 1}."
                ],
            )
    result = impact.did(frame, "value", "territory", "year", "treated", "post")
    if not (frame["year"] == impact.REFERENCE_YEAR).any():
        return (
            result,
            None,
            [f"Étude d'événement non calculée : pas de valeur en {impact.REFERENCE_YEAR}, l'année de référence."],
        )
    return result, impact.event_study(frame, "value", "territory", "year", "treated"), []


def _synthetic(
    series: pd.DataFrame, aggregate: str | None, donors: list[str], pre: tuple[int, ...], post: tuple[int, ...]
) -> tuple[impact.PlaceboResult | None, list[str]]:
    """Synthetic control with its placebos, or the French reason why not."""
    if aggregate is None:
        return None, [
            "Contrôle synthétique non calculé : l'ensemble des 26 QPV de la MEL n'est pas déclaré "
            f"(groupe « qpv_mel_ensemble » dans {COMPARISON_FOLDER}/{DECLARATION_FILE}, avec ses séries)."
        ]
    if not pre or not post:
        return None, [
            f"Contrôle synthétique non calculé : les QPV de la MEL n'ont pas de valeur avant {impact.PLAN_START_YEAR} "
            f"et à partir de {impact.PLAN_START_YEAR}."
        ]
    if len(donors) < 2:
        return None, [
            "Contrôle synthétique non calculé : il faut au moins deux territoires de comparaison avec une valeur "
            f"chaque année de {pre[0]} à {post[-1]}."
        ]
    return impact.placebo(series, "value", "territory", "year", aggregate, pre, post, donors), []
