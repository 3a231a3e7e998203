"""Notebooks are thin, parameterised and committed executed (nbval has outputs to compare)."""

from __future__ import annotations

import nbformat
import pytest

from evaluation.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_parameterised_and_executed(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell is tagged 'parameters'"
    assert notebook.cells[0] is code[0], "the parameters cell comes first"
    missing = [i for i, c in enumerate(code[1:], start=1) if not c.outputs]
    assert missing == [], "committed without outputs: run the regeneration command of README.md"
    long = [i for i, c in enumerate(code) if len(c.source.splitlines()) > 12]
    assert long == [], "logic belongs in src/evaluation/"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_every_notebook_is_a_report_kind():
    """A notebook the batch never runs would rot: each one is the notebook of a report kind."""
    from evaluation.batch.jobs import report_kinds

    assert sorted(p.name for p in NOTEBOOKS) == sorted({kind.notebook for kind in report_kinds().values()})
