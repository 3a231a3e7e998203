"""The employment-rate gap as published: one computation for the yearly report, the export and the command.

:func:`published_gap` returns what a year's releases publish of the gap between the QPV and the
comparator (:mod:`evaluation.stats.employment_gap`): the series up to the year, every year hidden the way
that year's protected barometer hides it, and the reduction against the halving objective computed
on the published figures only. The yearly report (:mod:`evaluation.present.annual`), the exported
table ``ecart_taux_emploi`` (:func:`evaluation.present.tables.build_tables`) and the command
``evaluation employment-gap`` (:mod:`evaluation.cli`) render this one object: they cannot disagree.

**Why the gap series is linked to the barometer.** The series repeats, for each year, the counts of
the QPV aggregate (``qpv_employed``, ``qpv_population``) and of the comparator
(``comparator_employed``, ``comparator_population``): they are the numerator and denominator of the
``employment_rate_pct`` rows ``QPV`` and ``MEL`` (or ``MEL_HORS_QPV``) of that year's barometer,
summed over the same QPV (those with both counts, :mod:`evaluation.stats.barometer`). On real data they are
thousands of residents and never hidden; on partial data (a few QPV filled in) the barometer may hide
the aggregate as a margin (:mod:`evaluation.publish.barometer_disclosure`), and publishing it in the series
would give the hidden cell back. So, for **every** year of the series (not only the report's year:
the series of 2021 publishes 2015 to 2021), under the dataset's rule:

* the QPV aggregate's level hidden in that year's protected barometer hides ``qpv_employed``,
  ``qpv_population``, ``qpv_rate_pct`` and its interval;
* the comparator's level hidden there hides the ``comparator_*`` columns;
* either hides the gap and its interval (the gap and one rate give the other rate back).

The column ``secret`` names the hidden columns of each row (empty when none: a missing value there is
secret, not missing data). A year's protection depends on that year's counts only, so the series of
a later year hides an earlier year exactly as that year's own releases did.

**The reduction** (:class:`evaluation.stats.employment_gap.GapReduction`) is computed on the published
rows only; it is None when the baseline year's gap or the latest year's gap is hidden (the reduction
and one of the two gaps would give the other back), and then nothing derived from it is published.

**Cautions**: the statistical caveats of the computation (:class:`EvaluationWarning` messages of
:func:`evaluation.stats.employment_gap.gap_series`, :func:`~evaluation.stats.employment_gap.gap_reduction` and
:func:`~evaluation.stats.employment_gap.check_guards` on the baseline and latest years, in that order,
without repeats); a small count is named there without its value when it is below the rule's
threshold.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evaluation.errors import UsageError
from evaluation.publish.barometer_disclosure import SECRET_COLUMN, hidden_levels
from evaluation.stats import disclosure as dc
from evaluation.stats import employment_gap as eg

__all__ = ["PublishedGap", "published_gap", "QPV_COLUMNS", "COMPARATOR_COLUMNS", "GAP_COLUMNS"]

#: The barometer indicator whose QPV and comparator counts the series repeats.
_EMPLOYMENT = "employment_rate_pct"
#: Columns of the series hidden with the QPV aggregate.
QPV_COLUMNS = ("qpv_employed", "qpv_population", "qpv_rate_pct", "qpv_low_pct", "qpv_high_pct")
#: Columns of the series hidden with the comparator.
COMPARATOR_COLUMNS = (
    "comparator_employed",
    "comparator_population",
    "comparator_rate_pct",
    "comparator_low_pct",
    "comparator_high_pct",
)
#: Columns hidden with either.
GAP_COLUMNS = ("gap_pp", "gap_low_pp", "gap_high_pp")


@dataclass(frozen=True, eq=False)
class PublishedGap:
    """The employment-rate gap of a year's releases, protected (module docstring).

    Attributes
    ----------
    year:
        The releases' year: the series stops there.
    comparator, baseline_year, design_effect, conf_level, horizon:
        The parameters of the computation (``baseline_year``: the reduction's, given or the first
        year of the series).
    rule:
        The disclosure rule of the dataset.
    series:
        :func:`evaluation.stats.employment_gap.gap_series` as published: hidden cells NaN, and
        :data:`evaluation.publish.barometer_disclosure.SECRET_COLUMN` last.
    reduction:
        :func:`evaluation.stats.employment_gap.gap_reduction` on the published rows, or None when the
        baseline's or the latest year's gap is hidden.
    cautions:
        The statistical caveats (English messages, module docstring).

    Equality is identity (``eq=False``): frames have no single truth value.
    """

    year: int
    comparator: eg.Comparator
    baseline_year: int
    design_effect: float
    conf_level: float
    horizon: int
    rule: dc.Rule
    series: pd.DataFrame
    reduction: eg.GapReduction | None
    cautions: tuple[str, ...]

    @property
    def latest_year(self) -> int:
        """The last year of the series (the report's year when the data has it)."""
        return int(self.series["year"].max())

    @property
    def hidden_years(self) -> tuple[int, ...]:
        """The years with a hidden cell."""
        return tuple(int(y) for y in self.series.loc[self.series[SECRET_COLUMN] != "", "year"])

    def row(self, year: int) -> pd.Series:
        """The published row of ``year`` (KeyError when the series has no such year)."""
        rows = self.series[self.series["year"] == year]
        if rows.empty:
            raise KeyError(year)
        return rows.iloc[0]

    def gap_hidden(self, year: int) -> bool:
        """True when the gap of ``year`` (and so the QPV aggregate or the comparator) is hidden."""
        rows = self.series[self.series["year"] == year]
        return bool(len(rows)) and "gap_pp" in rows.iloc[0][SECRET_COLUMN].split(", ")

    def qpv_hidden(self, year: int) -> bool:
        """True when the QPV aggregate of ``year`` is hidden."""
        rows = self.series[self.series["year"] == year]
        return bool(len(rows)) and "qpv_rate_pct" in rows.iloc[0][SECRET_COLUMN].split(", ")


def _hide(
    series: pd.DataFrame, hidden_by_year: Mapping[int, frozenset[tuple[str, str]]], comparator: str
) -> pd.DataFrame:
    """``series`` with the cells of each year hidden as its barometer hides them, and ``secret``."""
    out = series.copy()
    numeric = [*QPV_COLUMNS, *COMPARATOR_COLUMNS, *GAP_COLUMNS]
    out[numeric] = out[numeric].astype("float64")
    secret = []
    for i, year in zip(out.index, out["year"], strict=True):
        hidden = hidden_by_year.get(int(year), frozenset())
        columns: list[str] = []
        if (eg.QPV_AGGREGATE, _EMPLOYMENT) in hidden:
            columns += QPV_COLUMNS
        if (comparator, _EMPLOYMENT) in hidden:
            columns += COMPARATOR_COLUMNS
        if columns:
            columns += GAP_COLUMNS
            out.loc[i, columns] = float("nan")
        secret.append(", ".join(c for c in numeric if c in columns))
    out[SECRET_COLUMN] = pd.Series(secret, index=out.index, dtype=object)
    return out


def published_gap(
    barometer: pd.DataFrame,
    year: int,
    comparator: str = eg.PLAN_COMPARATOR,
    rule: str | dc.Rule = dc.DEFAULT_RULE,
    *,
    baseline_year: int | None = None,
    design_effect: float = eg.DEFAULT_CENSUS_DESIGN_EFFECT,
    conf_level: float = 0.95,
    horizon: int = 2021,
    hidden_by_year: Mapping[int, frozenset[tuple[str, str]]] | None = None,
) -> PublishedGap:
    """The gap series up to ``year`` and its reduction, as the year's releases publish them.

    ``barometer``: the intake's long table (rows after ``year`` are ignored). ``rule``: the
    dataset's disclosure rule. ``baseline_year``: the reduction's reference (default: the first year
    of the series). ``design_effect``, ``conf_level``: the intervals' (:func:`evaluation.stats.employment_gap.gap_series`).
    ``horizon``: the year the halving is due. ``hidden_by_year``: the levels hidden in the protected
    barometer of some years (:func:`evaluation.publish.barometer_disclosure.hidden_levels` under the same
    rule) when the caller has them already; the others are computed.

    Raises :class:`~evaluation.errors.UsageError` when there is no barometer data up to ``year``,
    for an unknown comparator, and when ``baseline_year`` has no gap in the data.
    """
    rule = dc.get_rule(rule)
    rows = barometer[barometer["year"] <= year]
    if rows.empty:
        raise UsageError(f"no barometer data up to {year}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", eg.EvaluationWarning)
        raw = eg.gap_series(rows, comparator, conf_level, design_effect)  # checks the comparator
    comparator = eg.Comparator(comparator)
    if raw.empty:
        raise UsageError(f"no population_15_64 and employed_15_64 counts up to {year} in the barometer")
    known = dict(hidden_by_year or {})
    hidden = {int(y): known[int(y)] if int(y) in known else hidden_levels(rows, int(y), rule) for y in raw["year"]}
    series = _hide(raw, hidden, comparator.value)

    baseline = int(baseline_year) if baseline_year else int(series["year"].min())
    if baseline not in set(raw.loc[raw["gap_pp"].notna(), "year"].astype(int)):
        raise UsageError(f"no gap for the baseline year {baseline}: the series has {sorted(raw['year'].astype(int))}")
    published = series[series["gap_pp"].notna()]
    latest = int(series["year"].max())
    reduction = None
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always", eg.EvaluationWarning)
        if {baseline, latest} <= set(published["year"].astype(int)):
            reduction = eg.gap_reduction(published, baseline_year=baseline, horizon=horizon)
        eg.check_guards(rows, [baseline, latest], disclosure_threshold=rule.threshold)
    cautions = eg.caveats_of([*caught, *later])
    return PublishedGap(
        year=year,
        comparator=comparator,
        baseline_year=baseline,
        design_effect=float(design_effect),
        conf_level=conf_level,
        horizon=horizon,
        rule=rule,
        series=series.reset_index(drop=True),
        reduction=reduction,
        cautions=cautions,
    )
