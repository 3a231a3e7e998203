"""Disclosure control of linked tables: every count a release publishes, protected together.

:func:`evaluation.stats.disclosure.protect_table` protects one two-way table against its own margins. A
year's cohort release publishes many tables that share cells and margins: each programme's entrants
by sex, by age, by age and sex, the same tables for all programmes together (their sum), group
sizes next to the number of people who found a job in each group. An attacker has all of them at
once: subtracting the other programmes' tables from the all-programme table gives back a cell that
each table hides on its own. This module protects such a *release* as one system.

**Model.** The people are classified by a few attributes (programme, sex, age band...) and flags
(found a job within 12 months...). A *microcell* is one combination of every attribute's levels
(the full product, empty combinations included: an attacker does not know they are empty). A
published *cell* is the number of people matching some of the attributes (``{"programme": "9",
"sex": "F"}``); an attribute it does not name is summed over. Cell ``c`` is the sum of the
microcells matching it: ``v_c = M_c · x`` with ``M`` the 0/1 incidence matrix and ``x >= 0`` the
microcell counts.

**Audit** (:func:`audit_linked`): what an attacker can deduce of each hidden cell ``h`` from
everything published: the minimum and maximum of ``M_h · x`` over every ``x >= 0`` with
``M_c · x = v_c`` for every published ``c``, and ``M_k · x >= 1`` for every hidden ``k`` (zeros are
published, so a hidden count is at least 1; a zero the caller hides with its whole group is only
``>= 0``). Linear programming (HiGHS), one program per bound. A
cell is *recoverable* when its interval is a point. This is the linear-programming audit of
statistical agencies (τ-ARGUS): an attacker who also uses integrality (the counts are whole numbers)
can sometimes narrow an interval further; where the incidence matrix is totally unimodular (a
two-way table with its margins) the bounds are integers and the two agree. The tests compare the
audit with a brute-force enumeration of whole-number tables on a small case.

**Protection** (:func:`protect_linked`). Primary cells (chosen by the caller: a small count, a small
complement...) must reach an interval of width at least their *protection level*; every hidden cell
must not be a point. Each hidden cell gets company: the cheapest set of published cells, among
those the caller allows to hide (``repairable``), that can move with it by its protection level
while every other published cell stays put, weighted by the caller's ``weights`` (:func:`_protection_set`, a linear program: the
hypercube method of τ-ARGUS generalised to any linked structure). That move is the proof: an
attacker cannot tell the true counts from the moved ones, so the hidden cell's interval is at least
that wide; the cells hidden with it move too, so they are covered. Hiding more cells later only
relaxes the constraints, so no proof is lost. A cell whose level is out of reach (say a count of 2
whose group has 3 people) is protected as far as it can be and listed in
:attr:`LinkedProtection.short`. :func:`audit_linked` checks the result independently (the tests
run it on every release).

No I/O; no person key: the caller passes microcell counts.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from evaluation.errors import UsageError

__all__ = ["Cell", "LinkedAudit", "LinkedProtection", "incidence_matrix", "audit_linked", "protect_linked"]

#: A published cell: the attribute levels it fixes (an attribute absent is summed over; a
#: ``frozenset`` of levels means any of them).
Cell = Mapping[str, Hashable]


def incidence_matrix(microcells: pd.DataFrame, cells: Sequence[Cell]) -> sparse.csr_array:
    """``M[c, m] = 1`` when microcell ``m`` (a row of ``microcells``) matches every level cell ``c`` fixes."""
    columns = {name: microcells[name].to_numpy(dtype=object) for name in microcells.columns}
    rows, cols = [], []
    for i, cell in enumerate(cells):
        match = np.ones(len(microcells), dtype=bool)
        for name, level in cell.items():
            if name not in columns:
                raise UsageError(f"cell {dict(cell)!r}: unknown attribute {name!r} (known: {', '.join(columns)})")
            if isinstance(level, frozenset):  # any of these levels
                match &= np.isin(columns[name], np.array(sorted(level, key=str), dtype=object))
            else:
                match &= columns[name] == level
        found = np.flatnonzero(match)
        rows.append(np.full(found.size, i))
        cols.append(found)
    row = np.concatenate(rows) if rows else np.array([], dtype=int)
    col = np.concatenate(cols) if cols else np.array([], dtype=int)
    return sparse.csr_array((np.ones(row.size), (row, col)), shape=(len(cells), len(microcells)))


@dataclass(frozen=True)
class LinkedAudit:
    """The attacker's interval ``[lower, upper]`` of each hidden cell (NaN for published cells)."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def width(self) -> np.ndarray:
        return self.upper - self.lower


def audit_linked(
    matrix: sparse.csr_array,
    values: np.ndarray,
    hidden: np.ndarray,
    *,
    floor: float = 1.0,
    targets: np.ndarray | None = None,
    floors: np.ndarray | None = None,
) -> LinkedAudit:
    """Interval of each hidden cell given the published ones (module docstring); ``inf`` when unbounded.

    ``matrix``: cells x microcells incidence (:func:`incidence_matrix`); ``values``: every cell's true
    count (only the published ones are used as constraints); ``hidden``: a boolean per cell;
    ``targets``: the hidden cells whose interval to compute (default: all of them; NaN for the others);
    ``floors``: what the attacker knows a hidden cell is at least (default ``min(floor, value)``).
    """
    values = np.asarray(values, dtype=float)
    hidden = np.asarray(hidden, dtype=bool)
    lower = np.full(values.size, np.nan)
    upper = np.full(values.size, np.nan)
    if not hidden.any():
        return LinkedAudit(lower, upper)
    published = ~hidden
    # Microcells inside a published zero are zero: drop them (fewer variables, same intervals).
    zero_cells = published & (values == 0)
    forced = np.asarray(matrix[np.flatnonzero(zero_cells)].sum(axis=0)).ravel() > 0 if zero_cells.any() else None
    free = np.ones(matrix.shape[1], dtype=bool) if forced is None else ~forced
    sub = matrix[:, np.flatnonzero(free)].tocsr()
    eq_rows = np.flatnonzero(published & ~zero_cells)
    a_eq = sub[eq_rows] if eq_rows.size else None
    b_eq = values[eq_rows] if eq_rows.size else None
    hidden_rows = np.flatnonzero(hidden)
    a_ub = -sub[hidden_rows]
    # A hidden zero (a group hidden as a whole) is only >= 0.
    lowest = np.minimum(floor, values) if floors is None else np.asarray(floors, dtype=float)
    b_ub = -lowest[hidden_rows]
    for k in hidden_rows if targets is None else np.flatnonzero(np.asarray(targets, dtype=bool) & hidden):
        objective = sub[[k]].toarray().ravel()
        bounds = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs"
            )
            if result.status == 3:  # unbounded: only a maximum can be
                bounds.append(math.inf)
            elif result.status == 2:
                raise UsageError(
                    "the published cells of the release are inconsistent (a total does not add up): "
                    "cannot audit the hidden cells"
                )
            elif result.status != 0:  # pragma: no cover - small bounded programs solve
                raise RuntimeError(f"linear program of the disclosure audit failed: {result.message}")
            else:
                bounds.append(sign * float(result.fun))
        lower[k], upper[k] = _snap(bounds[0]), _snap(bounds[1])
    return LinkedAudit(lower, upper)


def _snap(value: float) -> float:
    """Remove the solver's rounding noise: a bound within 1e-6 of an integer is that integer."""
    if math.isinf(value):
        return value
    nearest = round(value)
    return float(nearest) if abs(value - nearest) <= 1e-6 else value


@dataclass(frozen=True)
class LinkedProtection:
    """Result of :func:`protect_linked`: which cells are hidden, why, and the final audit."""

    hidden: np.ndarray
    primary: np.ndarray
    #: Per hidden cell, a width its interval is known to reach (a feasible move found for it).
    reach: np.ndarray
    #: Number of linear programs solved.
    programs: int
    #: Hidden cells below their protection level with nothing left to hide around them.
    short: np.ndarray


def _protection_set(
    matrix: sparse.csr_array,
    counts: np.ndarray,
    values: np.ndarray,
    state: np.ndarray,
    repairable: np.ndarray,
    target: int,
    need: float,
    floors: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The cheapest set of published cells whose hiding lets ``target`` rise by ``need``; None if none can.

    A linear program over a move ``y`` of the microcell counts (``counts + y >= 0``): the target
    rises by ``need`` (``M_target y = need``), every hidden cell stays at least its ``floors``, cells that
    may not be hidden do not move (``M_c y = 0``), and the cost is the total size of the published
    cells that move, ``sum_c w_c (v_c + 1) |M_c y|`` (hide few, small, unimportant cells: the hypercube method's rule,
    for any linked structure). The cells that move are returned: once they are hidden too, the
    attacker cannot tell ``counts`` from ``counts + y``. Returns those cells and ``|M y|`` of every
    cell (how far each can move along ``y``). When ``need`` is out of reach, a rise of 1 is tried.
    """
    published = ~state
    # Microcells inside a published zero cannot move (they are 0 and must stay so): drop them.
    zero_cells = np.flatnonzero(published & (values == 0))
    full_matrix = matrix
    if zero_cells.size:
        free = np.flatnonzero(np.asarray(matrix[zero_cells].sum(axis=0)).ravel() == 0)
        matrix, counts = matrix[:, free].tocsr(), counts[free]
        published = published.copy()
        published[zero_cells] = False  # their equations are now 0 = 0
        repairable = repairable & (values != 0)
    n_micro = matrix.shape[1]
    movable = np.flatnonzero(published & repairable)
    fixed = np.flatnonzero(published & ~repairable)
    others = np.flatnonzero(state & (np.arange(state.size) != target))
    n_t = movable.size
    m_mov, m_fix, m_oth = matrix[movable], matrix[fixed], matrix[others]
    eye = sparse.identity(n_t, format="csr")
    a_ub = sparse.vstack(
        [
            sparse.hstack([m_mov, -eye]),
            sparse.hstack([-m_mov, -eye]),
            sparse.hstack([-m_oth, sparse.csr_array((others.size, n_t))]),
            # A cell hidden with the target stays at its floor too: the attacker knows it.
            sparse.hstack([-m_mov, sparse.csr_array((n_t, n_t))]),
        ]
    ).tocsr()
    b_ub = np.concatenate([np.zeros(2 * n_t), values[others] - floors[others], values[movable] - floors[movable]])
    a_eq = sparse.vstack(
        [
            sparse.hstack([matrix[[target]], sparse.csr_array((1, n_t))]),
            sparse.hstack([m_fix, sparse.csr_array((fixed.size, n_t))]),
        ]
    ).tocsr()
    cost = np.concatenate([np.zeros(n_micro), weights[movable] * (values[movable] + 1.0)])
    bounds = np.concatenate(
        [np.column_stack([-counts, np.full(n_micro, np.inf)]), np.column_stack([np.zeros(n_t), np.full(n_t, np.inf)])]
    )
    for rise in dict.fromkeys((need, 1.0)):
        b_eq = np.concatenate([[rise], np.zeros(fixed.size)])
        result = linprog(
            cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs", options={"presolve": False}
        )  # HiGHS presolve doubles the time of these programs and removes little
        if result.status == 0:
            move = np.zeros(full_matrix.shape[1])
            move[free if zero_cells.size else slice(None)] = result.x[:n_micro]
            return movable[result.x[n_micro:] > 1e-7], np.abs(full_matrix @ move)
    return None


def protect_linked(
    microcells: pd.DataFrame,
    counts: np.ndarray,
    cells: Sequence[Cell],
    primary: np.ndarray,
    protection: np.ndarray,
    repairable: np.ndarray,
    *,
    hidden: np.ndarray | None = None,
    floor: float = 1.0,
    weights: np.ndarray | None = None,
    by_design: np.ndarray | None = None,
) -> LinkedProtection:
    """Hide the ``primary`` cells and enough others that the audit of the whole release passes.

    ``microcells``: one row per combination of the attributes' levels (columns = attributes);
    ``counts``: the number of people in each microcell; ``cells``: every published cell of the
    release; ``primary``: a boolean per cell (sensitive by itself: always hidden, interval of width
    at least ``protection`` of that cell); ``repairable``: a boolean per cell, may be hidden to protect
    another; ``hidden``: cells already hidden by an earlier decision (kept hidden, must not be points).
    ``weights`` (default 1): how much hiding each cell costs, per person in it (a programme's
    overall figures are worth more than a group's). ``by_design``: cells that are never published
    but must not be derivable when they are sensitive (a difference of two published counts, say
    the people whose first job was a short contract: jobs minus sustainable jobs): hidden, never
    moved to protect another, protected only when ``primary``, and the attacker knows only that
    they are >= 0. Cells with a count of 0 are never hidden (zeros are published). See the module
    docstring.
    """
    matrix = incidence_matrix(microcells, cells)
    counts = np.asarray(counts, dtype=float)
    values = matrix @ counts
    primary = np.asarray(primary, dtype=bool) & (values > 0)
    # A cell the caller hides (a group whose rate goes as a whole) is hidden even when it is 0.
    state = primary.copy() if hidden is None else primary | np.asarray(hidden, dtype=bool)
    design = np.zeros(values.size, dtype=bool) if by_design is None else np.asarray(by_design, dtype=bool)
    state |= design
    repairable = np.asarray(repairable, dtype=bool) & (values > 0) & ~design
    floors = np.where(design, 0.0, np.minimum(floor, values))
    need = np.where(primary, np.asarray(protection, dtype=float), 0.0)
    # Every hidden cell needs a feasible move of the microcounts along which it changes by its need
    # (at least 1) while every published cell stays put: then the attacker's interval is at least that
    # wide. A move found for one cell also moves the cells it hides, so they are covered by it; hiding
    # more cells later only relaxes the constraints, so a move stays feasible.
    weight = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    reach = np.zeros(values.size)
    short = np.zeros(values.size, dtype=bool)
    programs = 0
    queue = sorted(np.flatnonzero(state & (primary | ~design)), key=lambda i: (not primary[i], values[i], i))
    while queue:
        cell = int(queue.pop(0))
        wanted = max(float(need[cell]), 1.0)
        if reach[cell] >= wanted - 1e-6:
            continue
        found = _protection_set(matrix, counts, values, state, repairable, cell, wanted, floors, weight)
        programs += 1
        if found is None:
            short[cell] = True  # not even a rise of 1: only if nothing may be hidden around it
            continue
        chosen, movement = found
        reach = np.maximum(reach, np.where(state | np.isin(np.arange(values.size), chosen), movement, 0.0))
        if reach[cell] < wanted - 1e-6:
            short[cell] = True  # as protected as the cells allowed to hide can make it
        fresh = [int(i) for i in chosen if not state[i]]
        state[fresh] = True
        queue.extend(fresh)
    return LinkedProtection(state, primary, reach, programs, short)
