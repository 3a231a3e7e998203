"""The warm kernels' state between reports (evaluation.batch.kernel_state), run here in-process: what a
report changes, restore() puts back. (reset() also empties IPython's namespace: the batch tests cover it
in real kernels, e.g. test_batch's check that a report's names do not leak into the next.)"""

from __future__ import annotations

import os
import sys
import warnings

import matplotlib as mpl
import pandas as pd

from evaluation.batch import kernel_state


def test_restore_puts_back_what_a_report_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # whatever happens, pytest gets its own back
    start = os.getcwd()
    kernel_state.snapshot()
    path, filters = list(sys.path), list(warnings.filters)
    rows, width = pd.get_option("display.max_rows"), mpl.rcParams["lines.linewidth"]
    try:
        # What a report might do.
        sys.path.append(str(tmp_path))
        os.environ["EVALUATION_TEST_LEAK"] = "1"
        warnings.simplefilter("error", DeprecationWarning)
        pd.set_option("display.max_rows", rows + 7)
        mpl.rcParams["lines.linewidth"] = width + 3
        os.chdir(tmp_path)

        kernel_state.restore(start)

        assert os.getcwd() == start
        assert sys.path == path
        assert "EVALUATION_TEST_LEAK" not in os.environ
        assert warnings.filters == filters
        assert pd.get_option("display.max_rows") == rows
        assert mpl.rcParams["lines.linewidth"] == width
    finally:
        os.chdir(start)
        os.environ.pop("EVALUATION_TEST_LEAK", None)
        pd.set_option("display.max_rows", rows)
        mpl.rcParams["lines.linewidth"] = width
