"""What a year's cohort reports publish: computed once, protected as one release.

The cohort follow-up of a year publishes, for every programme with a follow-up and for all of them
together, the entrants by cohort year and residence and by age band and sex, the share of entrants
who reached a job (and a sustainable job) within 6, 12 and 24 months for the whole programme and for
each group (sex, age band, qualification, residence), the people lost from follow-up, the curve of
access to a first job, and the plan's targets against those shares. The reports of the year
(``cohort.ipynb`` for each programme and for ``all``), the exported tables (``tables/cohortes_*``)
and ``evaluation cohorts`` all render the one :class:`CohortRelease` built here: nothing published is
computed twice, and disclosure control holds for the release as a whole.

**The rates** are cumulative incidences (:func:`evaluation.stats.cohorts.cumulative_incidence`,
Aalen-Johansen): the share of the entrants whose *first* event after entry is the outcome within
``h`` months, with censoring (people still looking, or lost, at the date of the report), late entry
into observation and the other first events (a training first, when the outcome is a job) competing.
``employment``: any job or business creation; ``sustainable``: a CDI or a CDD of 6 months or more
(:data:`evaluation.stats.cohorts.OUTCOMES`). ``entrants`` is the number of people who entered by the end of
the year, the denominator the reader sees.

**Disclosure control of the release** (:mod:`evaluation.stats.disclosure_linked`), under the data
directory's rule (threshold ``T``):

1. *Entrants.* Every published count of entrants (each programme's and the all-programme tables by
   year x residence and age x sex with their margins, and the group sizes by sex, age band,
   qualification and residence) is a cell of one linked system over the microcells programme x
   cohort year x residence x sex x age band x qualification. Counts ``0 < n < T`` are hidden, and
   enough other cells that no hidden count can be recomputed from all the published ones (the
   all-programme table is the sum of the programmes' tables: subtracting gives nothing back).
2. *Rates.* For each outcome and horizon, the number ``d`` of entrants of a group whose first event
   was the outcome within ``h`` months is, without censoring, ``estimate x entrants``: the rates are
   audited as if ``d`` were published with them (the worst case). A group's rates are hidden when its
   entrants are, when ``0 < d < T`` or ``0 < n - d < T``, or when the estimate times the entrants
   rounds to a small count or a small complement; then enough other groups' rates (same programme,
   other group, or same group, other programme) that no hidden ``d`` follows from the published
   ones, audited jointly with the entrants. A group whose rate is hidden for one outcome or horizon is
   hidden for all (the horizons are nested and a sustainable job is a job: a published neighbour
   could bound the hidden one). The interval goes with its rate.
3. *Lost from follow-up*: the same, with the number lost per programme.
4. *Curves* of access to a first job are published in steps of at least ``T`` people, at whole months
   (:func:`evaluation.stats.disclosure.coarsen_incidence`); the median is read on that coarsened curve.

The suppression log (which cells are primary) is :attr:`CohortRelease.log`: internal, never written
with the published tables. No person key reaches this module.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.referential.plan import Plan
from evaluation.stats import cohorts as co
from evaluation.stats import disclosure as dc
from evaluation.stats.caveats import EvaluationWarning
from evaluation.stats.disclosure_linked import incidence_matrix, protect_linked

__all__ = [
    "ALL",
    "GROUP_VARIABLES",
    "PUBLISHED_OUTCOMES",
    "HORIZONS_MONTHS",
    "RATE_ROW_COLUMNS",
    "ENTRANT_COLUMNS",
    "ATTRITION_COLUMNS",
    "TEST_COLUMNS",
    "CohortRelease",
    "build_release",
    "release_tables",
    "TABLE_NAMES",
]

#: The programme value of the all-programme rows.
ALL = "all"
#: Groups compared within each programme: the attribute of the release and the cohort column it comes from.
GROUP_VARIABLES: Mapping[str, str] = MappingProxyType(
    {"sex": "sex", "age_band": "age_band", "qualification": "qualification", "qpv": "qpv"}
)
#: Outcomes published (keys of :data:`evaluation.stats.cohorts.OUTCOMES`).
PUBLISHED_OUTCOMES = ("employment", "sustainable")
#: Horizons of the published rates, in months since entry.
HORIZONS_MONTHS = (6, 12, 24)
#: Columns of :attr:`CohortRelease.rates` (then ``hidden``); percentages, NaN where hidden.
RATE_ROW_COLUMNS = (
    "programme",
    "group_variable",
    "group",
    "outcome",
    "horizon_months",
    "entrants",
    "estimate_pct",
    "ci_low_pct",
    "ci_high_pct",
)
#: Columns of :attr:`CohortRelease.entrants` (then ``hidden``).
ENTRANT_COLUMNS = ("programme", "table", "row", "column", "entrants")
#: Columns of :attr:`CohortRelease.attrition` (then ``hidden``).
ATTRITION_COLUMNS = ("programme", "entrants", "lost", "lost_pct")
#: Columns of :attr:`CohortRelease.tests`.
TEST_COLUMNS = ("programme", "group_variable", "statistic", "df", "pvalue")
#: The two-way entrant tables: name -> (row attribute, column attribute).
ENTRANT_TABLES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"year_residence": ("cohort_year", "qpv"), "age_sex": ("age_band", "sex")}
)
#: Label of a margin in the entrant tables.
TOTAL = dc.TOTAL

_ATTRIBUTES = ("programme", "cohort_year", "qpv", "sex", "age_band", "qualification")
_UNKNOWN = "inconnu"


@dataclass(frozen=True, eq=False)
class CohortRelease:
    """Everything the cohort reports of a year publish, after disclosure control.

    ``rates``: :data:`RATE_ROW_COLUMNS` and ``hidden``; one row per programme (then ``"all"``), group
    variable (``"all"`` first, then :data:`GROUP_VARIABLES`), group, outcome and horizon.
    ``entrants``: :data:`ENTRANT_COLUMNS` and ``hidden``, the two-way tables of
    :data:`ENTRANT_TABLES` in long form, margins labelled :data:`TOTAL`. ``attrition``: one row per
    programme then ``"all"``. ``curves``: per programme (and ``"all"``), the coarsened curve of
    access to a first job (``time`` in whole months, ``estimate``, ``ci_lower``, ``ci_upper`` as
    fractions), empty when too few people. ``tests``: log-rank tests of each group variable within
    each programme. ``log``: the suppression log (internal). Hidden values are NaN everywhere.
    """

    year: int
    rule: dc.Rule
    programmes: tuple[str, ...]
    rates: pd.DataFrame
    entrants: pd.DataFrame
    attrition: pd.DataFrame
    curves: Mapping[str, pd.DataFrame]
    tests: pd.DataFrame
    log: pd.DataFrame

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 12, 31)

    def for_programme(self, programme: str) -> CohortRelease:
        """The part of the release one programme's report shows (``"all"``: every programme and the total)."""
        if programme == ALL:
            return self
        if programme not in self.programmes:
            raise UsageError(
                f"programme {programme!r} has no beneficiary in the cohort files by {self.year} "
                f"(followed: {', '.join(self.programmes)})"
            )

        def mine(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["programme"] == programme].reset_index(drop=True)

        return CohortRelease(
            year=self.year,
            rule=self.rule,
            programmes=(programme,),
            rates=mine(self.rates),
            entrants=mine(self.entrants),
            attrition=mine(self.attrition),
            curves={programme: self.curves[programme]},
            tests=mine(self.tests),
            log=self.log,
        )


# --------------------------------------------------------------------------------------------------
# Building the release
# --------------------------------------------------------------------------------------------------


def _attributes(cohort: pd.DataFrame) -> pd.DataFrame:
    """The release's attributes per person, as text (a missing value is the group ``inconnu``)."""
    frame = pd.DataFrame(index=cohort.index)
    frame["programme"] = cohort["programme"].astype(str)
    frame["cohort_year"] = cohort["entry_date"].dt.year.astype(str)
    frame["qpv"] = np.where(cohort["qpv"].astype(str) == "hors QPV", "hors QPV", "QPV")
    for column in ("sex", "age_band", "qualification"):
        frame[column] = cohort[column].astype(object).where(cohort[column].notna(), _UNKNOWN).astype(str)
    return frame


def _levels(attributes: pd.DataFrame) -> dict[str, list[str]]:
    return {name: sorted(attributes[name].unique()) for name in attributes.columns}


def _microcells(levels: Mapping[str, Sequence[Hashable]]) -> pd.DataFrame:
    """Every combination of the levels (the attacker's unknowns), in a fixed order."""
    return pd.DataFrame(list(product(*levels.values())), columns=list(levels))


def _micro_counts(microcells: pd.DataFrame, attributes: pd.DataFrame) -> np.ndarray:
    keys = list(microcells.columns)
    counted = attributes.groupby(keys, sort=False).size()
    index = pd.MultiIndex.from_frame(microcells[keys])
    return counted.reindex(index, fill_value=0).to_numpy(dtype=float)


def _key(cell: Mapping[str, Hashable]) -> tuple[tuple[str, Hashable], ...]:
    return tuple(sorted(cell.items()))


def _base(programme: str) -> dict[str, str]:
    return {} if programme == ALL else {"programme": programme}


def _entrant_cells(programmes: Sequence[str], levels: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every published entrant count: the two-way tables with margins and the group sizes, deduplicated."""
    cells: dict[tuple[tuple[str, Hashable], ...], dict[str, str]] = {}

    def add(cell: dict[str, str]) -> None:
        cells.setdefault(_key(cell), cell)

    for programme in (*programmes, ALL):
        base = _base(programme)
        add(base)
        for row_attr, col_attr in ENTRANT_TABLES.values():
            for row in levels[row_attr]:
                add({**base, row_attr: row})
                for column in levels[col_attr]:
                    add({**base, row_attr: row, col_attr: column})
            for column in levels[col_attr]:
                add({**base, col_attr: column})
        for attribute in GROUP_VARIABLES:
            for group in levels[attribute]:
                add({**base, attribute: group})
    return list(cells.values())


def _groups(programmes: Sequence[str], levels: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str]]:
    """Every rate row's (programme, group variable, group), in publication order."""
    out = []
    for programme in (*programmes, ALL):
        out.append((programme, ALL, ALL))
        for attribute in GROUP_VARIABLES:
            out.extend((programme, attribute, group) for group in levels[attribute])
    return out


def _group_cell(programme: str, variable: str, group: str) -> dict[str, str]:
    return {**_base(programme), **({} if variable == ALL else {variable: group})}


#: Cost of hiding a programme's overall figure, or an all-programme one, against a group's (x per person).
_MARGIN_WEIGHT = 20.0


def _weight(cell: Mapping[str, Hashable]) -> float:
    """Hide a group's figure rather than a programme's total or an all-programme figure (the headline ones)."""
    attributes = set(cell) - {"path"}
    return _MARGIN_WEIGHT if attributes <= {"programme"} or "programme" not in attributes else 1.0


def _small(value: float, threshold: int) -> bool:
    return 0 < value < threshold


def _protect_entrants(
    attributes: pd.DataFrame, programmes: Sequence[str], levels: Mapping[str, Sequence[str]], rule: dc.Rule
) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 1 of the module docstring: (cells, values, hidden, primary, short)."""
    microcells = _microcells(levels)
    counts = _micro_counts(microcells, attributes)
    cells = _entrant_cells(programmes, levels)
    values = incidence_matrix(microcells, cells) @ counts
    primary = (values > 0) & (values < rule.threshold)
    result = protect_linked(
        microcells,
        counts,
        cells,
        primary,
        np.full(len(cells), float(math.ceil(rule.threshold / 2))),
        np.ones(len(cells), dtype=bool),
        weights=np.array([_weight(cell) for cell in cells]),
    )
    return cells, values, result.hidden, result.primary, result.short


#: Levels of the ``path`` attribute: the first job within 6, 12 or 24 months, sustainable (``S``) or
#: not (``E``: a shorter contract or a business creation), else lost from follow-up (``L``) or other
#: (``O``: still looking, a first event of another kind, a first job after 24 months).
_PATHS = ("S6", "S12", "S24", "E6", "E12", "E24", "L", "O")
#: The path levels counted by each published rate: (outcome, horizon) -> levels.
_REACHED: Mapping[tuple[str, int], frozenset[str]] = MappingProxyType(
    {
        ("employment", 6): frozenset({"S6", "E6"}),
        ("employment", 12): frozenset({"S6", "E6", "S12", "E12"}),
        ("employment", 24): frozenset({"S6", "E6", "S12", "E12", "S24", "E24"}),
        ("sustainable", 6): frozenset({"S6"}),
        ("sustainable", 12): frozenset({"S6", "S12"}),
        ("sustainable", 24): frozenset({"S6", "S12", "S24"}),
    }
)


#: Counts never published but derivable from published ones when nothing is hidden, and sensitive when
#: small: jobs that were not sustainable by each horizon (jobs minus sustainable jobs), and the first
#: jobs (sustainable or not) found between two horizons (a rate at 12 months minus the one at 6).
#: Per programme also ``O``: entrants minus jobs within 24 months minus people lost.
_DERIVED: tuple[frozenset[str], ...] = (
    frozenset({"E6"}),
    frozenset({"E6", "E12"}),
    frozenset({"E6", "E12", "E24"}),
    frozenset({"S12"}),
    frozenset({"E12"}),
    frozenset({"S12", "E12"}),
    frozenset({"S24"}),
    frozenset({"E24"}),
    frozenset({"S24", "E24"}),
)


def _paths(flags: Mapping[tuple[str, int], np.ndarray], lost: np.ndarray) -> np.ndarray:
    """Each person's ``path`` level (:data:`_PATHS`) from the outcome flags per horizon and the lost flag."""
    path = np.where(lost, "L", "O").astype(object)
    for h in reversed(HORIZONS_MONTHS):  # the earliest horizon reached wins
        path = np.where(flags[("employment", h)], f"E{h}", path)
        path = np.where(flags[("sustainable", h)], f"S{h}", path)
    return path


def _mask(attributes: pd.DataFrame, group: tuple[str, str, str]) -> np.ndarray:
    mask = np.ones(len(attributes), dtype=bool)
    if group[0] != ALL:
        mask &= attributes["programme"].to_numpy() == group[0]
    if group[1] != ALL:
        mask &= attributes[group[1]].to_numpy() == group[2]
    return mask


def _protect_outcomes(
    attributes: pd.DataFrame,
    path: np.ndarray,
    rates: pd.DataFrame,
    entrant_cells: list[dict[str, str]],
    entrant_hidden: np.ndarray,
    entrant_primary: np.ndarray,
    groups: Sequence[tuple[str, str, str]],
    programme_groups: Sequence[tuple[str, str, str]],
    entrants_hidden_groups: set[tuple[str, str, str]],
    levels: Mapping[str, Sequence[str]],
    rule: dc.Rule,
) -> tuple[
    dict[tuple[str, int], set[tuple[str, str, str]]],
    dict[tuple[str, int], set[tuple[str, str, str]]],
    set,
    set,
    list[str],
]:
    """Steps 2-3 of the module docstring, as one linked system over the microcells x ``path``.

    Published cells: the entrants (as decided in step 1, never hidden here), the count of each rate
    (group x outcome x horizon: the path levels of :data:`_REACHED`) and the lost per programme.
    Derived cells, never published but sensitive when small: per group and horizon, the people
    whose first job was not a sustainable one (jobs minus sustainable jobs), the first jobs found
    between two horizons (:data:`_DERIVED`), and per programme the people neither in a job within 24
    months nor lost. Returns the hidden and the primary groups per (outcome, horizon), those of the
    lost counts, and the cells protected below their level (nothing else could be hidden).
    """
    micro_levels = {**levels, "path": list(_PATHS)}
    microcells = _microcells(micro_levels)
    counts = _micro_counts(microcells, attributes.assign(path=path))
    cells: list[dict[str, object]] = list(entrant_cells)
    kinds: list[tuple[str, object, tuple[str, str, str]]] = [("entrants", None, ())] * len(entrant_cells)  # type: ignore[list-item]
    for key, reached in _REACHED.items():
        for group in groups:
            cells.append({**_group_cell(*group), "path": reached})
            kinds.append(("rate", key, group))
    for levels_set in _DERIVED:
        for group in groups:
            cells.append({**_group_cell(*group), "path": levels_set})
            kinds.append(("derived", levels_set, group))
    for group in programme_groups:
        cells.append({**_group_cell(*group), "path": "L"})
        kinds.append(("lost", None, group))
        cells.append({**_group_cell(*group), "path": frozenset({"O"})})
        kinds.append(("derived", frozenset({"O"}), group))
    values = incidence_matrix(microcells, cells) @ counts
    n_of = {_key(cell): values[i] for i, cell in enumerate(entrant_cells)}
    estimates = {
        (r.outcome, int(r.horizon_months), (r.programme, r.group_variable, r.group)): r.estimate_pct / 100.0
        for r in rates.itertuples(index=False)
    }
    size = len(cells)
    primary = np.zeros(size, dtype=bool)
    hidden = np.zeros(size, dtype=bool)
    hidden[: len(entrant_cells)] = entrant_hidden
    level = float(math.ceil(rule.threshold / 2))
    protection = np.zeros(size)
    # The entrant counts keep the protection they got in step 1 (they are not moved here).
    primary[: len(entrant_cells)] = entrant_primary
    protection[: len(entrant_cells)] = level
    repairable = np.zeros(size, dtype=bool)
    by_design = np.zeros(size, dtype=bool)
    for i, (kind, key, group) in enumerate(kinds):
        if kind == "entrants":
            continue
        n = n_of[_key(_group_cell(*group))]
        d = values[i]
        protection[i] = min(level, max(1.0, n - 2.0))
        estimate = estimates.get((*key, group), 0.0) if kind == "rate" else 0.0
        if kind == "derived" or not math.isfinite(estimate):  # never published (or not measurable yet)
            by_design[i] = True
            primary[i] = _small(d, rule.threshold)
            continue
        repairable[i] = True
        hidden[i] = group in entrants_hidden_groups
        share = [round(n * estimate)] if kind == "rate" else []
        primary[i] = any(_small(c, rule.threshold) for c in (n, d, n - d, *share, *(n - x for x in share)))
    weights = np.array([_weight(cell) for cell in cells])
    result = protect_linked(
        microcells, counts, cells, primary, protection, repairable, hidden=hidden, weights=weights, by_design=by_design
    )
    rate_hidden: dict[tuple[str, int], set[tuple[str, str, str]]] = {key: set() for key in _REACHED}
    rate_primary: dict[tuple[str, int], set[tuple[str, str, str]]] = {key: set() for key in _REACHED}
    lost_hidden: set[tuple[str, str, str]] = set()
    lost_primary: set[tuple[str, str, str]] = set()
    for i, (kind, key, group) in enumerate(kinds):
        # A zero count is published in the audit, but its rate goes when its group is small.
        secret = bool(result.hidden[i]) or bool(primary[i]) or group in entrants_hidden_groups
        if kind == "rate" and by_design[i]:  # not measurable yet: shown as such, not as a secret
            secret = group in entrants_hidden_groups
        if kind == "rate":
            if secret:
                rate_hidden[key].add(group)
            if primary[i]:
                rate_primary[key].add(group)
        elif kind == "lost":
            if secret:
                lost_hidden.add(group)
            if primary[i]:
                lost_primary.add(group)
    short = [_describe(cells[i]) for i in np.flatnonzero(result.short)]
    return rate_hidden, rate_primary, lost_hidden, lost_primary, short


def _describe(cell: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={sorted(v) if isinstance(v, frozenset) else v}" for k, v in cell.items()) or "ensemble"


def _rates(
    cohort: pd.DataFrame,
    attributes: pd.DataFrame,
    groups: Sequence[tuple[str, str, str]],
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[tuple[str, int], np.ndarray]]:
    """Cumulative incidence of every group, outcome and horizon; and per (outcome, h) the flag ``d`` per person.

    The flag is on the rows of ``cohort`` (False for a person whose observation starts after ``as_of``).
    """
    rows = []
    flags: dict[tuple[str, int], np.ndarray] = {}
    position = pd.Series(np.arange(len(cohort)), index=cohort.index)
    for outcome in PUBLISHED_OUTCOMES:
        data = co.competing_data(cohort, outcome, as_of)
        where = position.loc[data.index].to_numpy()
        duration = data["duration_months"].to_numpy()
        event = data["event"].to_numpy()
        entry = data["entry_months"].to_numpy()
        for h in HORIZONS_MONTHS:
            flag = np.zeros(len(cohort), dtype=bool)
            flag[where] = (event == 1) & (duration <= h)
            flags[(outcome, h)] = flag
        observed_attrs = attributes.iloc[where]
        for programme, variable, group in groups:
            mask = np.ones(len(where), dtype=bool)
            if programme != ALL:
                mask &= observed_attrs["programme"].to_numpy() == programme
            if variable != ALL:
                mask &= observed_attrs[variable].to_numpy() == group
            entrants_mask = np.ones(len(cohort), dtype=bool)
            if programme != ALL:
                entrants_mask &= attributes["programme"].to_numpy() == programme
            if variable != ALL:
                entrants_mask &= attributes[variable].to_numpy() == group
            entrants = int(entrants_mask.sum())
            if mask.any():
                table = co.cumulative_incidence(
                    duration[mask], event[mask], entry=entry[mask], horizons=HORIZONS_MONTHS
                )
                estimates = table.set_index("horizon_months")
                followed = float(duration[mask].max())
            else:
                estimates, followed = None, 0.0
            for h in HORIZONS_MONTHS:
                # Nobody followed h months yet (a recent cohort): the curve's last value carried to h
                # would be a guess, not an estimate. Not measurable: NaN, not secret.
                if estimates is None or followed < h:
                    estimate = low = high = math.nan
                else:
                    estimate, low, high = (float(estimates.at[h, c]) for c in ("estimate", "ci_lower", "ci_upper"))
                rows.append(
                    {
                        "programme": programme,
                        "group_variable": variable,
                        "group": group,
                        "outcome": outcome,
                        "horizon_months": h,
                        "entrants": entrants,
                        "estimate_pct": 100.0 * estimate,
                        "ci_low_pct": 100.0 * low,
                        "ci_high_pct": 100.0 * high,
                    }
                )
    return pd.DataFrame(rows, columns=list(RATE_ROW_COLUMNS)), flags


def build_release(plan: Plan, cohort: pd.DataFrame, year: int, rule: str | dc.Rule = dc.DEFAULT_RULE) -> CohortRelease:
    """The year's cohort release (module docstring) from validated cohort records.

    ``cohort``: the records of :func:`evaluation.intake.load_cohorts` (rows with a problem left out);
    people who entered after the 31 December of ``year`` are not in the release. Raises
    :class:`~evaluation.errors.UsageError` when nobody entered by then.
    """
    rule = dc.get_rule(rule)
    as_of = pd.Timestamp(year, 12, 31)
    cohort = cohort[cohort["entry_date"] <= as_of]
    if cohort.empty:
        raise UsageError(f"no beneficiary entered a followed programme by the end of {year}")
    attributes = _attributes(cohort)
    order = {sheet.id: i for i, sheet in enumerate(plan.engagements)}
    programmes = tuple(sorted(attributes["programme"].unique(), key=lambda p: (order.get(p, len(order)), p)))
    levels = _levels(attributes[list(_ATTRIBUTES)])
    groups = _groups(programmes, levels)

    # 1. Entrants.
    cells, values, hidden, primary, entrants_short = _protect_entrants(
        attributes[list(_ATTRIBUTES)], programmes, levels, rule
    )
    entrant_hidden = {_key(cell): bool(h) for cell, h in zip(cells, hidden, strict=True)}

    # 2-3. Rates and people lost, protected together with the entrants as published.
    rates, flags = _rates(cohort, attributes, groups, as_of)
    lost = co.lost_to_follow_up(cohort, as_of).reindex(cohort.index, fill_value=False).to_numpy()
    programme_groups = [(p, ALL, ALL) for p in (*programmes, ALL)]
    attrition_rows = []
    for group in programme_groups:
        mask = _mask(attributes, group)
        n, k = int(mask.sum()), int(lost[mask].sum())
        attrition_rows.append({"programme": group[0], "entrants": n, "lost": k, "lost_pct": 100.0 * k / n})
    entrants_hidden_groups = {g for g in groups if entrant_hidden[_key(_group_cell(*g))]}
    rate_hidden, rate_primary, lost_hidden, lost_primary, outcomes_short = _protect_outcomes(
        attributes[list(_ATTRIBUTES)],
        _paths(flags, lost),
        rates,
        cells,
        hidden,
        primary,
        groups,
        programme_groups,
        entrants_hidden_groups,
        levels,
        rule,
    )

    # Publication: hidden values are NaN.
    rates["hidden"] = [
        (p, v, g) in rate_hidden[(o, h)]
        for p, v, g, o, h in rates[["programme", "group_variable", "group", "outcome", "horizon_months"]].itertuples(
            index=False
        )
    ]
    rates.loc[rates["hidden"], ["estimate_pct", "ci_low_pct", "ci_high_pct"]] = np.nan
    entrant_of = dict(zip((_key(c) for c in cells), values, strict=True))
    rates["entrants"] = [
        math.nan if entrant_hidden[_key(_group_cell(p, v, g))] else entrant_of[_key(_group_cell(p, v, g))]
        for p, v, g in zip(rates["programme"], rates["group_variable"], rates["group"], strict=True)
    ]
    attrition = pd.DataFrame(attrition_rows, columns=list(ATTRITION_COLUMNS))
    attrition["hidden"] = [(p, ALL, ALL) in lost_hidden for p in attrition["programme"]]
    attrition.loc[attrition["hidden"], ["lost", "lost_pct"]] = np.nan
    attrition["entrants"] = [
        math.nan if entrant_hidden[_key(_base(p))] else entrant_of[_key(_base(p))] for p in attrition["programme"]
    ]
    entrants = _entrant_rows(programmes, levels, entrant_of, entrant_hidden)
    log = _log(
        cells, hidden, primary, groups, rate_hidden, rate_primary, programme_groups, lost_hidden, lost_primary, rule
    )
    # Cells protected less than their level because nothing else may be hidden around them: said in the log.
    shortfall = [_describe(cells[i]) for i in np.flatnonzero(entrants_short)] + outcomes_short
    if shortfall:
        extra = pd.DataFrame(
            [("cohortes", where, "", str(dc.Flag.PRIMARY), "protection en deçà du niveau visé") for where in shortfall],
            columns=list(dc.LOG_COLUMNS),
        )
        log = pd.concat([log, extra], ignore_index=True)
    curves, tests = _curves_and_tests(cohort, attributes, programmes, as_of, rule, rates)
    return CohortRelease(
        year=year,
        rule=rule,
        programmes=programmes,
        rates=rates,
        entrants=entrants,
        attrition=attrition,
        curves=MappingProxyType(curves),
        tests=tests,
        log=log,
    )


def _entrant_rows(
    programmes: Sequence[str],
    levels: Mapping[str, Sequence[str]],
    value_of: Mapping[tuple[tuple[str, Hashable], ...], float],
    hidden_of: Mapping[tuple[tuple[str, Hashable], ...], bool],
) -> pd.DataFrame:
    rows = []
    for programme in (*programmes, ALL):
        base = _base(programme)
        for name, (row_attr, col_attr) in ENTRANT_TABLES.items():
            for row in [*levels[row_attr], TOTAL]:
                for column in [*levels[col_attr], TOTAL]:
                    cell = {**base}
                    if row != TOTAL:
                        cell[row_attr] = row
                    if column != TOTAL:
                        cell[col_attr] = column
                    key = _key(cell)
                    secret = hidden_of[key]
                    rows.append(
                        {
                            "programme": programme,
                            "table": name,
                            "row": row,
                            "column": column,
                            "entrants": math.nan if secret else value_of[key],
                            "hidden": secret,
                        }
                    )
    return pd.DataFrame(rows, columns=[*ENTRANT_COLUMNS, "hidden"])


def _log(
    cells: Sequence[Mapping[str, Hashable]],
    hidden: np.ndarray,
    primary: np.ndarray,
    groups: Sequence[tuple[str, str, str]],
    rate_hidden: Mapping[tuple[str, int], set[tuple[str, str, str]]],
    rate_primary: Mapping[tuple[str, int], set[tuple[str, str, str]]],
    programme_groups: Sequence[tuple[str, str, str]],
    lost_hidden: set[tuple[str, str, str]],
    lost_primary: set[tuple[str, str, str]],
    rule: dc.Rule,
) -> pd.DataFrame:
    """The suppression log (:data:`evaluation.stats.disclosure.LOG_COLUMNS`): which cells are hidden and why."""
    rows = []
    small = f"effectif non nul inférieur à {rule.threshold} (règle {rule.name})"
    for cell, secret, first in zip(cells, hidden, primary, strict=True):
        if secret:
            described = ", ".join(f"{k}={v}" for k, v in cell.items()) or "ensemble"
            flag = dc.Flag.PRIMARY if first else dc.Flag.SECONDARY
            reason = small if first else "secret secondaire : protège un autre effectif des tableaux liés"
            rows.append(("cohortes_entrees", described, "entrants", str(flag), reason))
    families = [
        ("cohortes_taux", f"{outcome} à {h} mois", rate_hidden[(outcome, h)], rate_primary[(outcome, h)], groups)
        for outcome, h in rate_hidden
    ]
    families.append(("cohortes_perdus_de_vue", "perdus de vue", lost_hidden, lost_primary, programme_groups))
    for name, column, chosen, firsts, universe in families:
        for group in universe:
            if group in chosen:
                flag = dc.Flag.PRIMARY if group in firsts else dc.Flag.SECONDARY
                reason = (
                    "effectif ou complément faible"
                    if group in firsts
                    else "secret secondaire (tableaux liés ou effectif masqué)"
                )
                rows.append((name, f"{group[0]} / {group[1]}={group[2]}", column, str(flag), reason))
    return pd.DataFrame(rows, columns=list(dc.LOG_COLUMNS))


def _curves_and_tests(
    cohort: pd.DataFrame,
    attributes: pd.DataFrame,
    programmes: Sequence[str],
    as_of: pd.Timestamp,
    rule: dc.Rule,
    rates: pd.DataFrame,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Coarsened curves of access to a first job; log-rank tests of the cause-specific hazard per group.

    A programme's curve passes through its published employment rates at 6, 12 and 24 months
    (:func:`evaluation.stats.disclosure.coarsen_incidence`): it is not published when one of them is hidden.
    A test is not published when the entrants of one of its groups are hidden (its statistic rests
    on them).
    """
    data = co.competing_data(cohort, "employment", as_of)
    observed = attributes.loc[data.index]
    overall = rates[(rates["group_variable"] == ALL) & (rates["outcome"] == "employment")]
    curves = {}
    tests = []
    for programme in (*programmes, ALL):
        mask = np.ones(len(data), dtype=bool) if programme == ALL else observed["programme"].to_numpy() == programme
        part = data[mask]
        if overall[overall["programme"] == programme]["hidden"].any():
            curves[programme] = pd.DataFrame({c: np.array([], dtype=float) for c in dc.INCIDENCE_COLUMNS})
        else:
            curve = co.cumulative_incidence_curve(part["duration_months"], part["event"], entry=part["entry_months"])
            curves[programme] = dc.coarsen_incidence(curve, rule.threshold, horizons=HORIZONS_MONTHS)
        for variable in GROUP_VARIABLES:
            labels = observed.loc[part.index, variable].to_numpy()
            mine = rates[(rates["programme"] == programme) & (rates["group_variable"] == variable)]
            if len(set(labels)) < 2 or mine["entrants"].isna().any():
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EvaluationWarning)
                result = co.logrank(part["duration_months"], part["event"] == 1, labels, entry=part["entry_months"])
            tests.append(
                {
                    "programme": programme,
                    "group_variable": variable,
                    "statistic": result.statistic,
                    "df": result.df,
                    "pvalue": result.pvalue,
                }
            )
    return curves, pd.DataFrame(tests, columns=list(TEST_COLUMNS))


#: Names of the exported cohort tables (``tables/<name>.csv`` and sheets of ``tables.xlsx``).
TABLE_NAMES = ("cohortes_taux", "cohortes_entrees", "cohortes_perdus_de_vue")


def release_tables(release: CohortRelease) -> dict[str, pd.DataFrame]:
    """The release as the exported tables: hidden values empty, the column ``secret`` marking them.

    ``cohortes_taux``: :data:`RATE_ROW_COLUMNS`; ``cohortes_entrees``: :data:`ENTRANT_COLUMNS`;
    ``cohortes_perdus_de_vue``: :data:`ATTRITION_COLUMNS`. An empty cell with ``secret`` true is
    secret statistique, not missing data.
    """

    def whole(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
        out = frame.rename(columns={"hidden": "secret"})
        return out.astype({column: "Int64" for column in columns})  # counts as whole numbers, empty when hidden

    return {
        "cohortes_taux": whole(release.rates, "entrants"),
        "cohortes_entrees": whole(release.entrants, "entrants"),
        "cohortes_perdus_de_vue": whole(release.attrition, "entrants", "lost"),
    }
