"""Statistical disclosure control: no published figure may let anyone single out a person.

The cohort follow-up and the barometer count people living in 26 small neighbourhoods. Every table,
rate and curve a report publishes goes through this module first. No I/O: the caller passes frames
and writes :func:`suppression_log` with the run's other outputs.

**Rules** (:class:`Rule`, :data:`PRESETS`). A *frequency rule*: a count ``x`` with ``0 < x < threshold``
is sensitive (*primary* suppression). For amounts whose contributors are known, a *dominance rule*
(:func:`dominance`) adds: fewer contributors than the threshold, or the ``dominance_n`` largest
contributors holding more than ``dominance_pct`` % of the cell. Presets:

* ``insee_entreprises``: 3 units, no unit above 85 % (INSEE's business statistics secret);
* ``fiscal``: 11 units, no unit above 85 % (the tax-data secret);
* ``acro``: 10, frequency only (ACRO's default ``safe_threshold``).

:data:`DEFAULT_RULE` is ``acro``: the data published here are person-level programme records (cohort
follow-up, beneficiary counts), the setting ACRO's threshold of 10 was made for; 3 is a rule for
businesses, whose existence is public, not for people. A dataset with another convention passes its
own rule (a preset name or a :class:`Rule`) to every function.

**Zeros are published.** A zero is not a small count: it describes nobody. Structural zeros (a
programme absent from a QPV) are public knowledge, and hiding every zero would blank most of a sparse
table; INSEE's and the tax secret's frequency rules publish zeros. ACRO flags zeros by default
(``zeros_are_disclosive: True``, which a secure environment may switch off): this module makes the
other choice, on purpose, and says where the risk goes. What a zero can disclose is a property of a
whole group ("no one in this group found a job", i.e. everyone has the attribute "no job"). Where it
matters most, rates, the *complement rule* of :func:`protect_rates` hides "everyone but a few";
"everyone" or "no one" (0 % or 100 %) of a group of at least ``threshold`` people stays published,
as a zero cell next to a published total does. A report that must not say that of any group has to
regroup categories, not rely on this module.

**Secondary suppression** (:func:`protect_table`): a suppressed cell must not be recomputable from
the row, column and grand totals published with it; the result is *verified by linear programming*
(:func:`feasible_intervals`) and completed until the verification passes. Suppressed cells are shown
as ``s`` (:data:`SECRET_SYMBOL`, INSEE's symbol for *secret statistique*) with the legend
:data:`LEGEND_FR`.

**Survival curves** (:func:`coarsen_km`) are published in steps of at least ``threshold`` exits, at
times rounded up to a grid, never at an individual's exact event time.

**Limits.** Tables are audited one at a time here: two tables sharing cells (a table and its breakdown
by commune, the same counts by sex and by age) are *linked*: :mod:`evaluation.stats.disclosure_linked`
protects a whole release of linked counts together (the cohort reports of a year use it).
Hierarchical rows (QPV within communes) carry more linear relations than the margins modelled here:
protect each level as its own table and publish them separately.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from evaluation.errors import UsageError
from evaluation.formatting import format_number

__all__ = [
    "Rule",
    "PRESETS",
    "DEFAULT_RULE",
    "get_rule",
    "Flag",
    "Protected",
    "TOTAL",
    "SECRET_SYMBOL",
    "LEGEND_FR",
    "LOG_COLUMNS",
    "INTERVAL_COLUMNS",
    "KM_COLUMNS",
    "legend_fr",
    "primary_counts",
    "dominance",
    "protect_table",
    "feasible_intervals",
    "protect_rates",
    "coarsen_km",
    "coarsen_incidence",
    "INCIDENCE_COLUMNS",
    "suppression_log",
    "format_cell",
]


@dataclass(frozen=True)
class Rule:
    """A primary-suppression rule.

    Attributes
    ----------
    name:
        Shown in the suppression log.
    threshold:
        Frequency rule: a count ``x`` is sensitive when ``0 < x < threshold`` (strictly below).
        For amounts: the minimum number of contributors of a cell.
    dominance_n, dominance_pct:
        Dominance rule for amounts (both set, or neither): a cell is sensitive when its
        ``dominance_n`` largest contributors hold **more than** ``dominance_pct`` % of its total.
    """

    name: str
    threshold: int
    dominance_n: int | None = None
    dominance_pct: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            raise UsageError(f"disclosure rule '{self.name}': threshold {self.threshold!r} must be an integer >= 1")
        if (self.dominance_n is None) != (self.dominance_pct is None):
            raise UsageError(
                f"disclosure rule '{self.name}': give both dominance_n and dominance_pct, or neither "
                f"(got {self.dominance_n!r} and {self.dominance_pct!r})"
            )
        if self.dominance_n is not None and self.dominance_n < 1:
            raise UsageError(f"disclosure rule '{self.name}': dominance_n {self.dominance_n!r} must be >= 1")
        if self.dominance_pct is not None and not 0 < self.dominance_pct <= 100:
            raise UsageError(f"disclosure rule '{self.name}': dominance_pct {self.dominance_pct!r} must be in (0, 100]")


#: The rules in use in French and UK practice, by name.
PRESETS: dict[str, Rule] = {
    "insee_entreprises": Rule("insee_entreprises", 3, 1, 85.0),
    "fiscal": Rule("fiscal", 11, 1, 85.0),
    "acro": Rule("acro", 10),
}
#: Person-level programme data: ACRO's default threshold of 10 (see the module docstring).
DEFAULT_RULE: Rule = PRESETS["acro"]


def get_rule(name_or_rule: str | Rule) -> Rule:
    """The :class:`Rule` itself, or the preset of that name; an unknown name is a :class:`UsageError`."""
    if isinstance(name_or_rule, Rule):
        return name_or_rule
    try:
        return PRESETS[name_or_rule]
    except (KeyError, TypeError):
        names = ", ".join(sorted(PRESETS))
        raise UsageError(f"unknown disclosure rule {name_or_rule!r} (presets: {names})") from None


class Flag(StrEnum):
    """Publication status of a cell."""

    PUBLISHED = "published"
    #: Sensitive by itself (frequency or dominance rule).
    PRIMARY = "primary"
    #: Not sensitive, hidden so that a primary cell cannot be recomputed.
    SECONDARY = "secondary"


#: Label of the margins row and column added by :func:`protect_table`.
TOTAL = "Total"
#: Display of a suppressed cell: INSEE's ``s``, *secret statistique*.
SECRET_SYMBOL = "s"
#: Columns of :attr:`Protected.log` and :func:`suppression_log` (never the suppressed value).
LOG_COLUMNS = ("table", "row", "column", "flag", "reason")
#: Columns of :func:`feasible_intervals`.
INTERVAL_COLUMNS = ("table", "row", "column", "flag", "lower", "upper", "width")
#: Columns of a Kaplan-Meier table (:func:`evaluation.stats.cohorts.kaplan_meier`) read by :func:`coarsen_km`.
KM_COLUMNS = ("time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper")

_SUPPRESSED = (Flag.PRIMARY, Flag.SECONDARY)


def legend_fr(rule: str | Rule = DEFAULT_RULE) -> str:
    """The French legend of :data:`SECRET_SYMBOL` under ``rule``, to print below every protected table."""
    threshold = get_rule(rule).threshold
    return (
        f"{SECRET_SYMBOL} : secret statistique (effectif inférieur à {threshold} ou cellule permettant de le retrouver)"
    )


#: The legend under :data:`DEFAULT_RULE`.
LEGEND_FR = legend_fr(DEFAULT_RULE)


@dataclass(frozen=True, eq=False)
class Protected:
    """A table ready to publish, with what was hidden and why.

    Attributes
    ----------
    values:
        The table as published: suppressed cells are NaN. With margins, a :data:`TOTAL` row and column.
    flags:
        Same shape, a :class:`Flag` per cell.
    log:
        One row per suppressed cell, columns :data:`LOG_COLUMNS`; never the suppressed value. It
        tells primary from secondary cells: an internal audit trail, not for publication.
    name, rule:
        The table's name in the log, the rule applied.
    protection:
        The width every primary cell's feasible interval reaches (see :func:`protect_table`).
    floor:
        What anyone knows of a hidden cell: it is at least ``floor``. 1 for counts (whole numbers):
        zeros are always published, so a hidden count is at least 1. 0 otherwise.
    audit_values, audit_flags:
        The table *with* its margins as the audit assumes an attacker sees it. ``None`` means
        ``values``/``flags``, which then carry the margins; set when the margins are not shown
        (``margins=False``) because they are assumed known from elsewhere.

    Equality is identity (``eq=False``): frames have no single truth value.
    """

    values: pd.DataFrame
    flags: pd.DataFrame
    log: pd.DataFrame
    name: str = "table"
    rule: Rule = DEFAULT_RULE
    protection: float = DEFAULT_RULE.threshold
    floor: float = 0.0
    audit_values: pd.DataFrame | None = None
    audit_flags: pd.DataFrame | None = None


def _flag_array(shape: tuple[int, ...]) -> np.ndarray:
    """An object array of :attr:`Flag.PUBLISHED` (``np.full`` would store plain strings)."""
    out = np.empty(shape, dtype=object)
    out.fill(Flag.PUBLISHED)
    return out


def _small(values: np.ndarray, threshold: float) -> np.ndarray:
    """The frequency rule: non-zero and strictly below the threshold."""
    return (values > 0) & (values < threshold)


def primary_counts(table: pd.DataFrame, rule: str | Rule = DEFAULT_RULE) -> pd.DataFrame:
    """Frequency rule, cell by cell: True where ``0 < count < rule.threshold``.

    Zeros are not sensitive (module docstring); a count equal to the threshold is published. Applied
    as given: pass a table with its margins to judge the margins too.
    """
    threshold = get_rule(rule).threshold
    numbers = table.apply(pd.to_numeric).to_numpy(dtype=float)
    return pd.DataFrame(_small(numbers, threshold), index=table.index, columns=table.columns)


def dominance(contributions: Mapping[Hashable, Sequence[float]], rule: str | Rule = DEFAULT_RULE) -> pd.Series:
    """Which cells of an amount table are sensitive, from their contributors' amounts.

    A cell is sensitive when it has fewer **contributors** (units with a non-zero amount: a zero
    contribution hides nobody) than ``rule.threshold``, or, for a rule with a dominance part, when
    its ``dominance_n`` largest contributors hold more than ``dominance_pct`` % of the cell total. A
    cell without contributors is an empty cell, published like a zero count.

    Returns a boolean Series indexed by the mapping's keys; tuple keys ``(row, column)`` give a
    MultiIndex, and ``.unstack()`` turns it into the ``sensitive`` mask of :func:`protect_table`.
    """
    rule = get_rule(rule)
    flags: dict[Hashable, bool] = {}
    for cell, amounts in contributions.items():
        values = np.asarray(amounts, dtype=float).ravel()
        if not np.isfinite(values).all() or (values < 0).any():
            raise UsageError(
                f"cell {cell!r}: contributions must be finite amounts >= 0 for the dominance rule, got {values.tolist()}"
            )
        positive = np.sort(values[values > 0])[::-1]
        if positive.size == 0:
            flags[cell] = False
            continue
        sensitive = positive.size < rule.threshold
        if not sensitive and rule.dominance_n is not None and rule.dominance_pct is not None:
            share_pct = 100.0 * positive[: rule.dominance_n].sum() / positive.sum()
            sensitive = share_pct > rule.dominance_pct
        flags[cell] = bool(sensitive)
    if not flags:
        return pd.Series(dtype=bool)
    return pd.Series(flags, dtype=bool)


# ---------------------------------------------------------------------------------------------------
# Tables: primary, secondary suppression and the linear-programming audit
# ---------------------------------------------------------------------------------------------------

_Cell = tuple[int, int]


def _line_equations(view: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear relations of a table with margins, over its unknown (NaN) cells.

    ``view`` has the margins in its last row and column. Every row ``i`` gives
    ``sum_j<C x[i, j] - x[i, C] = 0`` and every column ``j`` gives ``sum_i<R x[i, j] - x[R, j] = 0``
    (the total row and column included, which ties the grand total to both sets of margins). Known
    cells move to the right-hand side. Returns ``(A_eq, b_eq, index)`` where ``index[i, j]`` is the
    variable number of an unknown cell and -1 elsewhere.
    """
    n_rows, n_cols = view.shape
    unknown = np.isnan(view)
    index = np.full(view.shape, -1, dtype=int)
    index[unknown] = np.arange(int(unknown.sum()))
    n_vars = int(unknown.sum())
    matrix, rhs = [], []
    lines = [(view[i, :], index[i, :]) for i in range(n_rows)] + [(view[:, j], index[:, j]) for j in range(n_cols)]
    for values, ids in lines:
        coef = np.ones(len(values))
        coef[-1] = -1.0
        variables = ids >= 0
        if not variables.any():
            continue
        row = np.zeros(n_vars)
        row[ids[variables]] = coef[variables]
        matrix.append(row)
        rhs.append(-float(np.dot(coef[~variables], values[~variables])))
    return np.array(matrix, dtype=float).reshape(len(matrix), n_vars), np.array(rhs, dtype=float), index


def _lp_bounds(
    view: np.ndarray, cells: Sequence[_Cell] | None = None, floor: float = 0.0
) -> dict[_Cell, tuple[float, float]]:
    """For each unknown cell, the smallest and largest value consistent with the known ones, all >= ``floor``.

    Linear programming (:func:`scipy.optimize.linprog`, HiGHS). The constraint matrix ``A`` of a
    two-way table with margins is that of a network flow, hence totally unimodular: with integer
    published counts the bounds are integers, the very ones an attacker solving the integer problem
    would find. The programs of all the cells are solved together, as independent copies in one
    block-diagonal program (the optimum of a sum of independent problems is reached when each copy
    is at its own optimum), in two calls whatever the number of cells:

    1. minimise each cell (bounded below by ``floor``), and find the cells with no maximum: ``x[k]`` is
       unbounded above exactly when some direction ``d >= 0`` with ``A d = 0`` has ``d[k] > 0``;
       maximising ``d[k]`` under ``0 <= d <= 1`` gives 1 for those cells and 0 for the others
       (total unimodularity again: the optimum is a vertex, with integer entries);
    2. maximise the other cells. An unbounded maximum is ``inf``.
    """
    matrix, rhs, index = _line_equations(view)
    if cells is None:
        cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(index >= 0), strict=True)]
    cells = list(cells)
    if not cells:
        return {}
    scale = max(1.0, float(np.nanmax(np.abs(view))) if np.isfinite(view).any() else 1.0)
    targets = [int(index[cell]) for cell in cells]
    zeros = np.zeros_like(rhs)
    # Programs 1 and 2 in one call: the minima, and the directions of the cells with no maximum.
    first = _solve_copies(
        matrix,
        [(rhs, k, 1.0, floor, math.inf) for k in targets] + [(zeros, k, -1.0, 0.0, 1.0) for k in targets],
    )
    lower, unbounded = first[: len(cells)], first[len(cells) :] > 0.5
    upper = np.full(len(cells), math.inf)
    bounded = [t for t, free in enumerate(unbounded) if not free]
    if bounded:
        upper[bounded] = _solve_copies(matrix, [(rhs, targets[t], -1.0, floor, math.inf) for t in bounded])
    return {
        cell: (_snap(float(lo), scale), hi if math.isinf(hi) else _snap(float(hi), scale))
        for cell, lo, hi in zip(cells, lower, upper, strict=True)
    }


def _solve_copies(matrix: np.ndarray, copies: Sequence[tuple[np.ndarray, int, float, float, float]]) -> np.ndarray:
    """Solve independent copies of ``{matrix @ x = rhs, low <= x <= cap}`` in one block-diagonal program.

    Copy ``t`` is ``(rhs, k, sign, low, cap)``: minimise ``sign * x[k]``. Returns each copy's ``x[k]``.
    """
    n_copies, (n_eqs, n_vars) = len(copies), matrix.shape
    rows, cols = np.nonzero(matrix)
    shift = np.arange(n_copies)[:, None]
    blocks = sparse.csr_array(
        (np.tile(matrix[rows, cols], n_copies), ((rows + shift * n_eqs).ravel(), (cols + shift * n_vars).ravel())),
        shape=(n_copies * n_eqs, n_copies * n_vars),
    )
    positions = np.arange(n_copies) * n_vars + np.array([copy[1] for copy in copies], dtype=int)
    objective = np.zeros(n_copies * n_vars)
    objective[positions] = [copy[2] for copy in copies]
    bounds = np.repeat([[copy[3], copy[4]] for copy in copies], n_vars, axis=0).astype(float)
    b_eq = np.concatenate([copy[0] for copy in copies])
    result = linprog(objective, A_eq=blocks, b_eq=b_eq, bounds=bounds, method="highs")
    if result.status == 2:
        raise UsageError(
            "the published cells of the table are inconsistent (its margins do not add up): "
            "cannot audit the suppressed cells"
        )
    if result.status != 0:  # pragma: no cover - bounded, feasible programs of this size solve
        raise RuntimeError(f"linear program of the disclosure audit failed: {result.message}")
    return np.asarray(result.x)[positions]


def _snap(value: float, scale: float) -> float:
    """Remove the solver's rounding noise: a bound within 1e-7 (times the table's scale) of an integer is that integer."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) <= 1e-7 * scale else float(value)


def _protected_enough(lower: float, upper: float, need: float, tol: float) -> bool:
    """The protection criterion: the interval is not a point, and is at least ``need`` wide."""
    width = upper - lower
    return width > tol and width >= need - tol


def _rectangle(full: np.ndarray, suppressed: np.ndarray, cell: _Cell, need: float, floor: float) -> list[_Cell] | None:
    """The cells to hide so that a 2x2 "hypercube" of hidden cells runs through ``cell``; None if none can.

    Corners ``(i, j), (i, j2), (i2, j), (i2, j2)`` of the table with margins. Moving ``(i, j)`` by
    ``+d`` and the other corners by ``±d`` keeps every row and column relation true: two corners in
    a line move in opposite directions, unless one of them is that line's total, which moves with the
    other. ``(i, j)`` can rise until the smallest corner that must fall reaches ``floor``, and fall
    until itself or a corner falling with it does: ``width = up + down``. Once all four corners are
    hidden, the attacker's interval contains this one, whatever else is published.

    Choice (the hypercube method of Repsilber, used by τ-ARGUS, simplified): corners already hidden,
    or non-zero (published zeros are never hidden); at least one corner not hidden yet. Among the
    rectangles whose width reaches ``need``: the lowest total value of the newly hidden cells, then
    the fewest, then by position (row, then column); if none reaches it: the widest, same tie-breaks.

    A wide enough rectangle always exists for a non-zero cell that is not protected yet. Some
    rectangle has non-zero corners that all move *with* the cell, so that it is unbounded above: for
    an interior cell, its row total, its column total and the grand total; for a row (column) total,
    a non-zero cell of its row (column), that cell's column (row) total and the grand total; for the
    grand total, a non-zero interior cell and its two totals. If those corners are all hidden
    already, the cell is unbounded and passes the audit: None is returned only then.
    """
    n_rows, n_cols = full.shape
    last_row, last_col = n_rows - 1, n_cols - 1
    i, j = cell
    best_key: tuple[Any, ...] | None = None
    best: list[_Cell] | None = None
    for i2 in range(n_rows):
        if i2 == i:
            continue
        s_col = 1 if i == last_row or i2 == last_row else -1
        for j2 in range(n_cols):
            if j2 == j:
                continue
            corners = ((i, j2), (i2, j), (i2, j2))
            new = [c for c in corners if not suppressed[c]]
            if not new or any(full[c] <= 0 for c in new):
                continue
            s_row = 1 if j == last_col or j2 == last_col else -1
            signs = (s_row, s_col, s_row * s_col)
            up = min((full[c] for c, s in zip(corners, signs, strict=True) if s < 0), default=math.inf) - floor
            down = min([full[cell]] + [full[c] for c, s in zip(corners, signs, strict=True) if s > 0]) - floor
            width = up + down
            cost = float(sum(full[c] for c in new))
            if width >= need and width > 0:
                key: tuple[Any, ...] = (0, cost, len(new), i2, j2)
            else:
                key = (1, -width, cost, len(new), i2, j2)
            if best_key is None or key < best_key:
                best_key, best = key, new
    return best


def _check_table(table: pd.DataFrame, name: str) -> np.ndarray:
    """The table's values as floats, after checking it is a flat two-way table of values >= 0."""
    if not isinstance(table, pd.DataFrame):
        raise UsageError(f"table '{name}': expected a pandas DataFrame, got {type(table).__name__}")
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise UsageError(f"table '{name}': the table is empty")
    for axis, labels in (("rows", table.index), ("columns", table.columns)):
        if isinstance(labels, pd.MultiIndex):
            raise UsageError(
                f"table '{name}': hierarchical {axis} are not supported (protect each level as its own table)"
            )
        if TOTAL in list(labels):
            raise UsageError(
                f"table '{name}': {axis} already contain '{TOTAL}' (pass the table without margins; "
                "protect_table adds them)"
            )
    values = np.full(table.shape, np.nan)
    for position in range(table.shape[1]):
        values[:, position] = pd.to_numeric(table.iloc[:, position], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise UsageError(
            f"table '{name}', row '{table.index[i]}', column '{table.columns[j]}': "
            f"'{table.iat[i, j]}' is not a count or amount >= 0 (disclosure control needs numbers, no gaps)"
        )
    return values


def _sensitive_mask(sensitive: pd.DataFrame, index: pd.Index, columns: pd.Index, name: str) -> np.ndarray:
    """The caller's mask placed on the table with margins; cells it does not cover are not sensitive."""
    unknown_rows = [r for r in sensitive.index if r not in set(index)]
    unknown_cols = [c for c in sensitive.columns if c not in set(columns)]
    if unknown_rows or unknown_cols:
        raise UsageError(
            f"table '{name}': the sensitive mask names rows {unknown_rows} and columns {unknown_cols} "
            "that the table does not have"
        )
    aligned = sensitive.reindex(index=index, columns=columns, fill_value=False)
    return aligned.to_numpy(dtype=object, na_value=False).astype(bool)


def protect_table(
    table: pd.DataFrame,
    rule: str | Rule = DEFAULT_RULE,
    *,
    name: str = "table",
    margins: bool = True,
    sensitive: pd.DataFrame | None = None,
    protection: float | None = None,
) -> Protected:
    """Primary and secondary suppression of a two-way table, verified by linear programming.

    Parameters
    ----------
    table:
        Counts (or amounts) by row and column, **without** margins: rows x columns, flat labels.
    rule:
        A preset name or a :class:`Rule`.
    name:
        The table's name in the log.
    margins:
        Publish a :data:`TOTAL` row and column (row totals, column totals, grand total). With
        ``margins=False`` they are not shown, but the protection is the same: totals are usually
        published elsewhere (the size of a cohort, of a QPV's population) or easy to obtain, so the
        attacker is assumed to know them, except those hidden here; the log lists those, and they
        must stay hidden wherever the totals appear.
    sensitive:
        A boolean mask that **replaces** the frequency rule for the primary cells, e.g. from
        :func:`dominance` for an amount table. Same labels as ``table``, optionally with a
        :data:`TOTAL` row or column to mark sensitive margins; cells it leaves out are not sensitive,
        and zero cells are published whatever it says (module docstring).
    protection:
        The width the feasible interval of every primary cell must reach. Default:
        ``rule.threshold``, the right unit for counts; for amounts, pass a width in the table's unit.
        ``0`` keeps only the weak criterion (the interval is not a single value).

    Steps
    -----
    1. **Primary**: the margins are computed and every cell, margins included, is judged by the
       frequency rule ``0 < x < threshold`` (or by ``sensitive``): a small row total is hidden too.
    2. **Audit** (:func:`feasible_intervals`): for each hidden cell, the minimum and maximum values
       it can take given the published cells and margins, by linear programming, every cell >= 0
       and every hidden cell >= ``floor``: 1 when the table holds whole numbers (zeros are never
       hidden, so anyone knows a hidden count is at least 1), else 0.
       **Criterion**: a primary cell's interval is at least ``protection`` wide (for counts under
       the default, the interval holds two values ``threshold`` apart, hence a value >= threshold:
       the attacker cannot even tell that the cell is small); a secondary cell's interval is not a
       single value (it cannot be recomputed either).
    3. **Secondary suppression**, for each cell failing the audit, in position order (row by row,
       the total row last): hide the cheapest 2x2 rectangle of cells through it (margins may be
       corners) whose own movements give the cell an interval at least ``protection`` wide
       (:func:`_rectangle`, the hypercube method); cheapest = lowest total value of the newly
       hidden cells (cells already hidden are free), ties by number of new cells then position.
       Zeros are never hidden (module docstring). Such a rectangle always exists (at worst through
       the cell's margins and the grand total). A failing cell that shares a row or column with a
       cell hidden earlier in the same round waits for the next audit, which may find it protected
       already.
    4. Audit again the cells that failed and the ones just hidden; cleared cells are not audited
       again: hiding more only widens intervals, so they stay cleared. Each round hides at least
       one cell, so this ends. Every hidden cell shares each of its lines with another hidden cell
       (the corners of its rectangle).

    The attacker of the audit knows the published values, the relations between cells, that cells
    are >= 0 and hidden counts >= 1; not which hidden cells are primary (every hidden cell shows as
    ``s``), which would tell that they are below the threshold. The suppression log says it: it is
    the evaluation team's audit trail, not to be published with the tables.
    """
    rule = get_rule(rule)
    interior = _check_table(table, name)
    n_rows, n_cols = interior.shape
    full = np.zeros((n_rows + 1, n_cols + 1))
    full[:n_rows, :n_cols] = interior
    full[:n_rows, n_cols] = interior.sum(axis=1)
    full[n_rows, :n_cols] = interior.sum(axis=0)
    full[n_rows, n_cols] = interior.sum()
    index = table.index.append(pd.Index([TOTAL]))
    columns = table.columns.append(pd.Index([TOTAL]))
    need = float(rule.threshold if protection is None else protection)
    if not need >= 0:
        raise UsageError(f"table '{name}': protection {protection!r} must be a width >= 0")
    tol = 1e-6 * max(1.0, float(full.max()))  # above the solver's noise, far below any count
    # Zeros are never hidden, so a hidden count is known to be at least 1 (an amount: only > 0).
    floor = 1.0 if np.array_equal(interior, np.round(interior)) else 0.0

    if sensitive is None:
        primary = _small(full, rule.threshold)
        primary_reason = f"effectif non nul inférieur à {rule.threshold} (règle {rule.name})"
    else:
        primary = _sensitive_mask(sensitive, index, columns, name) & (full > 0)
        primary_reason = f"cellule sensible (masque fourni, p. ex. règle de dominance {rule.name})"
    flags = _flag_array(full.shape)
    flags[primary] = Flag.PRIMARY
    reasons: dict[_Cell, str] = {(int(i), int(j)): primary_reason for i, j in zip(*np.nonzero(primary), strict=True)}

    def label(cell: _Cell) -> str:
        return f"« {index[cell[0]]} × {columns[cell[1]]} »"

    def hide(cells: Sequence[_Cell], reason: str) -> None:
        for cell in cells:
            flags[cell] = Flag.SECONDARY
            reasons[cell] = reason

    def suppressed() -> np.ndarray:
        return flags != Flag.PUBLISHED

    def required(cell: _Cell) -> float:
        return need if flags[cell] == Flag.PRIMARY else 0.0

    # Rounds of audit and repair (docstring, steps 2-3); each round hides at least one more cell.
    to_check = sorted(reasons)
    while to_check:
        bounds = _lp_bounds(np.where(suppressed(), np.nan, full), to_check, floor)
        failing = [cell for cell in to_check if not _protected_enough(*bounds[cell], required(cell), tol)]
        if not failing:
            break
        touched_rows: set[int] = set()
        touched_cols: set[int] = set()
        added: list[_Cell] = []
        for cell in failing:
            if cell[0] in touched_rows or cell[1] in touched_cols:
                continue  # this round's cells may protect it already: audit it again first
            choice = _rectangle(full, suppressed(), cell, required(cell), floor)
            if choice is None:
                continue  # protected by this round's cells already (see _rectangle): audit it again
            hide(choice, f"secret secondaire : protège {label(cell)}")
            added.extend(choice)
            touched_rows.update(i for i, _ in choice)
            touched_cols.update(j for _, j in choice)
        if not added:  # pragma: no cover - the first failing cell always gets a rectangle (_rectangle)
            raise RuntimeError(f"table '{name}': secondary suppression found nothing to hide")
        to_check = sorted(set(failing) | set(added))

    values = pd.DataFrame(np.where(suppressed(), np.nan, full), index=index, columns=columns)
    flag_frame = pd.DataFrame(flags, index=index, columns=columns, dtype=object)
    log_rows = []
    for cell in sorted(reasons):
        reason = reasons[cell]
        if not margins and (cell[0] == n_rows or cell[1] == n_cols):
            reason += " ; total non affiché dans ce tableau : à masquer aussi là où il est publié"
        log_rows.append((name, index[cell[0]], columns[cell[1]], str(flags[cell]), reason))
    log = pd.DataFrame(log_rows, columns=list(LOG_COLUMNS))
    if margins:
        return Protected(values, flag_frame, log, name=name, rule=rule, protection=need, floor=floor)
    return Protected(
        values.iloc[:n_rows, :n_cols].copy(),
        flag_frame.iloc[:n_rows, :n_cols].copy(),
        log,
        name=name,
        rule=rule,
        protection=need,
        floor=floor,
        audit_values=values,
        audit_flags=flag_frame,
    )


def feasible_intervals(protected: Protected) -> pd.DataFrame:
    """The attacker's view: for each suppressed cell, the values it can take.

    Built only from what is published (``protected.values`` with its margins, or ``audit_values``
    when the margins are not shown): each suppressed cell is an unknown >= ``protected.floor`` (1 for
    counts, see :func:`protect_table`), bound by the row, column and grand totals; ``lower`` and ``upper`` are its minimum and maximum by linear
    programming (``inf`` when unbounded), ``width = upper - lower``. A cell with
    ``lower == upper`` is recomputable. Columns :data:`INTERVAL_COLUMNS`, one row per suppressed
    cell in position order.
    """
    values = protected.values if protected.audit_values is None else protected.audit_values
    flags = protected.flags if protected.audit_flags is None else protected.audit_flags
    view = values.to_numpy(dtype=float)
    bounds = _lp_bounds(view, floor=protected.floor)
    rows = []
    for (i, j), (lower, upper) in sorted(bounds.items()):
        rows.append(
            (protected.name, values.index[i], values.columns[j], str(flags.iat[i, j]), lower, upper, upper - lower)
        )
    frame = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    return frame.astype({"lower": float, "upper": float, "width": float})


# ---------------------------------------------------------------------------------------------------
# Rates and survival curves
# ---------------------------------------------------------------------------------------------------


def protect_rates(
    numerators: Sequence[float] | np.ndarray | pd.Series,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    rule: str | Rule = DEFAULT_RULE,
) -> np.ndarray:
    """A :class:`Flag` per rate or percentage ``x / n``, judged on its counts, not its value.

    A rate is suppressed (:attr:`Flag.PRIMARY`) when

    * the denominator is small: ``0 < n < threshold``;
    * the numerator is small: ``0 < x < threshold`` ("3 of the 40 found a job");
    * the complement is small: ``0 < n - x < threshold`` (everyone but a few: "all but 2 of the
      40" tells about almost every member of the group).

    The first follows from the other two (``x + (n - x) = n``) and is kept for clarity. So a rate is
    published when ``x`` and ``n - x`` are each 0 or at least the threshold: 0 % and 100 % of a
    group of at least ``threshold`` people are published, as zeros are (module docstring). A
    denominator of 0 has no rate and nothing to hide: :attr:`Flag.PUBLISHED` (shown as missing).

    This is the frequency rule of :func:`protect_table` applied to the two-cell row
    ``[x, n - x]`` and its total ``n``. When several rates of one table can be combined (groups
    partitioning a population, published with the overall rate or their denominators), a hidden
    rate may be recomputable: protect the counts table ``[x, n - x]`` by group with
    :func:`protect_table` and hide every rate whose cells are hidden there.

    Returns an object array of :class:`Flag`, the broadcast shape of the inputs.
    """
    threshold = get_rule(rule).threshold
    numer = np.asarray(numerators, dtype=float)
    denom = np.asarray(denominators, dtype=float)
    numer, denom = np.broadcast_arrays(numer, denom)
    bad = ~np.isfinite(numer) | ~np.isfinite(denom) | (numer < 0) | (numer > denom)
    if bad.any():
        position = tuple(int(k[0]) for k in np.nonzero(bad)) if bad.ndim else ()
        where = f" {position[0]}" if len(position) == 1 else (f" {position}" if position else "")
        raise UsageError(
            f"rate{where}: numerator {numer[position]:g} and denominator {denom[position]:g} "
            "must be counts with 0 <= numerator <= denominator"
        )
    sensitive = _small(denom, threshold) | _small(numer, threshold) | _small(denom - numer, threshold)
    out = _flag_array(numer.shape)
    out[sensitive] = Flag.PRIMARY
    return out


def coarsen_km(km: pd.DataFrame, threshold: int, *, time_step: float = 1.0) -> pd.DataFrame:
    """A Kaplan-Meier table safe to publish: steps of at least ``threshold`` exits, at rounded times.

    ``km`` has the columns :data:`KM_COLUMNS`, one row per distinct time (as returned by
    :func:`evaluation.stats.cohorts.kaplan_meier`; ``at_risk`` is the number at risk just before ``time``).

    **Rule** (ACRO's coarsening of survival curves, with times rounded). Each row's time is rounded
    **up** to the grid of ``time_step`` (in the unit of ``time``; the default 1 gives whole months
    when durations are in months: pass e.g. 30 for durations in days). Rows are merged in time
    order, whole grid intervals at a time, until the merged block counts at least ``threshold``
    exits (``events + censored``): one published step per block. The exits after the last complete
    block (fewer than the threshold) are merged into it, so that no small remainder can be deduced
    from the last step (``at_risk - events - censored`` is 0 after it). A curve with fewer than
    ``threshold`` exits in all is not published: empty result.

    A published step (a row of the result):

    * ``time``: the grid point ending the block, never an individual's exact event time (unless
      the times are already on the grid, i.e. already rounded);
    * ``at_risk``: the number at risk at the start of the block; ``events``, ``censored``: the
      block's sums (so ``events + censored >= threshold`` on every row). Each may be below the
      threshold, as in ACRO: the guarantee is that no step concerns fewer than ``threshold``
      people, and a step's drop in survival tells its number of events anyway;
    * ``survival``, ``ci_lower``, ``ci_upper``: copied from the block's last row, i.e. the value of
      the curve at the published time; every published value is one of the original curve's values,
      and the survival at a published time is the exact Kaplan-Meier value there.

    **Late entries.** With delayed entry, ``at_risk[k+1] - at_risk[k] + exits[k]`` counts the people
    who entered observation during step ``k``. If one of these derived counts, or a published
    ``at_risk``, is a small count (``0 < n < threshold``), the whole ``at_risk`` column is withheld
    (NaN) and ``flag`` tells why: :attr:`Flag.PRIMARY` on a row whose own ``at_risk`` is small,
    :attr:`Flag.SECONDARY` on the others; otherwise ``flag`` is :attr:`Flag.PUBLISHED`.
    """
    missing = [c for c in KM_COLUMNS if c not in km.columns]
    if missing:
        raise UsageError(f"Kaplan-Meier table: missing columns {missing} (expected {list(KM_COLUMNS)})")
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise UsageError(f"coarsen_km: threshold {threshold!r} must be an integer >= 1")
    if not time_step > 0:
        raise UsageError(f"coarsen_km: time_step {time_step!r} must be > 0")
    data = km.sort_values("time", kind="stable").reset_index(drop=True)
    time = data["time"].to_numpy(dtype=float)
    at_risk = data["at_risk"].to_numpy(dtype=float)
    exits = (data["events"] + data["censored"]).to_numpy(dtype=float)
    # 1e-9: a time equal to a grid point up to float noise (2.9999999999) stays on that point.
    grid = np.ceil(time / time_step - 1e-9) * time_step

    blocks: list[list[int]] = []  # [first row, last row]
    start, accumulated = 0, 0.0
    for row in range(len(data)):
        accumulated += exits[row]
        ends_interval = row == len(data) - 1 or grid[row + 1] != grid[row]
        if ends_interval and accumulated >= threshold:
            blocks.append([start, row])
            start, accumulated = row + 1, 0.0
    if blocks and start < len(data):
        blocks[-1][1] = len(data) - 1

    columns = [*KM_COLUMNS, "flag"]
    if not blocks:
        return pd.DataFrame(columns=columns)
    starts_at_risk = np.array([at_risk[first] for first, _ in blocks])
    block_exits = np.array([exits[first : last + 1].sum() for first, last in blocks])
    next_at_risk = np.append(starts_at_risk[1:], 0.0)  # nobody is at risk after the last exit
    entrants = next_at_risk - starts_at_risk + block_exits
    small_at_risk = _small(starts_at_risk, threshold)
    withhold = bool(small_at_risk.any() or _small(np.round(entrants, 9), threshold).any())

    firsts = [first for first, _ in blocks]
    lasts = [last for _, last in blocks]
    out = pd.DataFrame(
        {
            "time": grid[lasts],
            "at_risk": np.full(len(blocks), np.nan) if withhold else data["at_risk"].to_numpy()[firsts],
            "events": [data["events"].iloc[first : last + 1].sum() for first, last in blocks],
            "censored": [data["censored"].iloc[first : last + 1].sum() for first, last in blocks],
            "survival": data["survival"].to_numpy()[lasts],
            "ci_lower": data["ci_lower"].to_numpy()[lasts],
            "ci_upper": data["ci_upper"].to_numpy()[lasts],
        }
    )
    flags = _flag_array((len(blocks),))
    if withhold:
        flags[:] = [Flag.PRIMARY if small else Flag.SECONDARY for small in small_at_risk]
    out["flag"] = pd.Series(flags, dtype=object)
    return out


#: Columns of :func:`coarsen_incidence`.
INCIDENCE_COLUMNS = ("time", "estimate", "ci_lower", "ci_upper")


def coarsen_incidence(
    curve: pd.DataFrame, threshold: int, *, horizons: Sequence[float] = (), time_step: float = 1.0
) -> pd.DataFrame:
    """A cumulative incidence curve safe to publish next to the rates at ``horizons``.

    ``curve`` is a :func:`evaluation.stats.cohorts.cumulative_incidence_curve` table. Times are rounded
    **up** to the grid of ``time_step`` (whole months by default). The published points are:

    * each horizon the follow-up reaches (a person followed at least that long): there the curve
      equals the published rate, so it says nothing more;
    * between two of them (and after the last one), points such that every stretch between two
      consecutive published points holds at least ``threshold`` events of the outcome: the curve's
      rise over a stretch times the number of entrants would otherwise count a few people (without
      censoring, exactly). A stretch after the last horizon with fewer events is not shown.

    A rise between two horizons below ``threshold`` is the difference of two published rates: the
    release protects it with the rates (:mod:`evaluation.publish.cohort_release`). Columns
    :data:`INCIDENCE_COLUMNS` only: a chart needs no count. Empty when the follow-up reaches no
    horizon and the first stretch has fewer than ``threshold`` events.
    """
    missing = [c for c in ("time", "events", "estimate", "ci_lower", "ci_upper") if c not in curve.columns]
    if missing:
        raise UsageError(f"cumulative incidence table: missing columns {missing}")
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise UsageError(f"coarsen_incidence: threshold {threshold!r} must be an integer >= 1")
    empty = pd.DataFrame({c: np.array([], dtype=float) for c in INCIDENCE_COLUMNS})
    if curve.empty:
        return empty
    data = curve.sort_values("time", kind="stable")
    time = data["time"].to_numpy(dtype=float)
    grid = np.ceil(time / time_step - 1e-9) * time_step
    months = np.unique(grid)
    events = np.bincount(
        np.searchsorted(months, grid), weights=data["events"].to_numpy(dtype=float), minlength=months.size
    )
    bounds = [float(h) for h in sorted(horizons) if h <= time.max()]
    points: list[float] = []
    start = 0.0
    for end in [*bounds, math.inf]:
        inside = (months > start) & (months <= end)
        stretch = events[inside]
        total, accumulated = stretch.sum(), 0.0
        for month, count in zip(months[inside], stretch, strict=True):
            accumulated += count
            if accumulated >= threshold and total - accumulated >= threshold:
                points.append(float(month))
                total, accumulated = total - accumulated, 0.0
        if math.isinf(end):
            last = float(months[inside][-1]) if inside.any() else math.nan
            # A last point rounded up onto a horizon the follow-up does not reach would show a rate
            # the tables call not measurable yet: the stretch is left out then.
            if accumulated >= threshold and last not in horizons:
                points.append(last)
        else:
            points.append(end)
        start = end
    if not points:
        return empty
    # The curve's value at a published point: its last step at or before that time.
    rows = np.searchsorted(time, np.array(points), side="right") - 1
    value = {
        c: np.where(rows >= 0, data[c].to_numpy(dtype=float)[np.maximum(rows, 0)], 0.0) for c in INCIDENCE_COLUMNS[1:]
    }
    return pd.DataFrame({"time": points, **value}, columns=list(INCIDENCE_COLUMNS))


# ---------------------------------------------------------------------------------------------------
# Run outputs and display
# ---------------------------------------------------------------------------------------------------


def suppression_log(*protected: Protected) -> pd.DataFrame:
    """The logs of a run's protected tables, one after the other; columns :data:`LOG_COLUMNS`."""
    logs = [p.log for p in protected if not p.log.empty]
    if not logs:
        return pd.DataFrame(columns=list(LOG_COLUMNS))
    return pd.concat(logs, ignore_index=True)[list(LOG_COLUMNS)]


def format_cell(value: float | None, flag: Flag | str, *, decimals: int | None = None) -> str:
    """French display of a cell: :data:`SECRET_SYMBOL` (``s``) when suppressed, else the number.

    Numbers as :func:`evaluation.formatting.format_number` (``1 250``, ``12,5``); a published missing
    value is ``–``. Print :data:`LEGEND_FR` (or :func:`legend_fr`) under the table.
    """
    if Flag(flag) in _SUPPRESSED:
        return SECRET_SYMBOL
    return format_number(value, decimals)
