"""Small builders shared by the batch tests: a parameterised notebook and a dedented text file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

KERNELSPEC = {"name": "python3", "language": "python", "display_name": "Python 3"}


def notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook whose first cell (tagged ``parameters``) is ``parameters``, then one cell per ``cells``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    code = [new_code_cell(parameters, metadata={"tags": ["parameters"]})] + [new_code_cell(c) for c in cells]
    nbformat.write(new_notebook(cells=code, metadata={"kernelspec": KERNELSPEC}), path)
    return path


def write(path: Path, text: str) -> Path:
    """``text`` dedented, without its leading newline, as UTF-8."""
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path
