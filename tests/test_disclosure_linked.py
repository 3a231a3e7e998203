"""Linked-table protection (:mod:`evaluation.stats.disclosure_linked`) on a case small enough to enumerate.

Two programmes x two sexes, published with every margin and the all-programme total: a 2 x 2 table
with its margins. The attacker's intervals from :func:`audit_linked` (linear programming) are
compared with a brute-force enumeration of every whole-number table consistent with what is
published; the structure is a two-way table, so the two agree exactly.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd

from evaluation.stats.disclosure_linked import audit_linked, incidence_matrix, protect_linked

MICRO = pd.DataFrame(list(product(["a", "b"], ["F", "M"])), columns=["programme", "sex"])
COUNTS = np.array([1.0, 12.0, 11.0, 15.0])  # a-F 1 (small), a-M 12, b-F 11, b-M 15
CELLS = [
    {},
    {"programme": "a"},
    {"programme": "b"},
    {"sex": "F"},
    {"sex": "M"},
    *({"programme": p, "sex": s} for p, s in product(["a", "b"], ["F", "M"])),
]


def brute_force(hidden: np.ndarray) -> dict[int, tuple[int, int]]:
    """Min and max of each hidden cell over every table of whole numbers 0..27 per microcell (no
    cell can exceed the largest margin, 27) matching the published cells, hidden ones >= 1."""
    matrix = incidence_matrix(MICRO, CELLS).toarray()
    values = matrix @ COUNTS
    tables = np.array(list(product(range(28), repeat=4)), dtype=float)
    v = tables @ matrix.T
    ok = np.all(v[:, ~hidden] == values[~hidden], axis=1) & np.all(v[:, hidden] >= 1, axis=1)
    return {int(i): (int(v[ok, i].min()), int(v[ok, i].max())) for i in np.flatnonzero(hidden)}


def test_a_small_cell_alone_is_recoverable_and_protection_fixes_it():
    matrix = incidence_matrix(MICRO, CELLS)
    values = matrix @ COUNTS
    alone = np.zeros(len(CELLS), dtype=bool)
    alone[CELLS.index({"programme": "a", "sex": "F"})] = True
    audit = audit_linked(matrix, values, alone)
    k = int(np.flatnonzero(alone)[0])
    assert (audit.lower[k], audit.upper[k]) == (1.0, 1.0)  # a-F = a - a-M = 13 - 12
    assert brute_force(alone) == {k: (1, 1)}

    primary = alone.copy()
    result = protect_linked(MICRO, COUNTS, CELLS, primary, np.full(len(CELLS), 5.0), np.ones(len(CELLS), dtype=bool))
    assert result.hidden[k] and result.hidden.sum() == 4  # the 2 x 2 rectangle of interior cells (cheapest)
    audit = audit_linked(matrix, values, result.hidden)
    expected = brute_force(result.hidden)
    for i, (low, high) in expected.items():
        assert (audit.lower[i], audit.upper[i]) == (low, high)
        assert high - low >= (5 if i == k else 1)
        assert result.reach[i] <= high - low + 1e-9  # the claimed width is real
    # a-F between 1 and 11: F = 12 and b-F, hidden too, is at least 1.
    assert (expected[k][0], expected[k][1]) == (1, 11)


def test_cells_that_may_not_be_hidden_are_never_chosen():
    """With the interior cells of programme b fixed, nothing can protect a-F: it is reported short."""
    primary = np.zeros(len(CELLS), dtype=bool)
    k = CELLS.index({"programme": "a", "sex": "F"})
    primary[k] = True
    repairable = np.array([cell.get("programme") != "b" and len(cell) == 2 for cell in CELLS])
    result = protect_linked(MICRO, COUNTS, CELLS, primary, np.full(len(CELLS), 5.0), repairable)
    assert not result.hidden[[i for i, c in enumerate(CELLS) if c.get("programme") == "b"]].any()
    assert result.short[k]
