"""The start-up workaround of :mod:`evaluation._imports`: what it skips is never used by notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest


def _format_keywords(node: object) -> list[str]:
    """Values of JSON-schema ``format`` keywords in a schema (a property *named* format is a dict)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "format" and isinstance(value, str):
                found.append(value)
            found += _format_keywords(value)
    elif isinstance(node, list):
        for item in node:
            found += _format_keywords(item)
    return found


def test_nbformat_schemas_use_no_format_checker():
    """The skipped module only serves the ``iri`` formats; nbformat's schemas declare no format at all."""
    schemas = sorted(Path(nbformat.__file__).parent.glob("v*/*.schema.json"))
    assert len(schemas) >= 5  # v3 and the v4.x minor versions
    for path in schemas:
        assert _format_keywords(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_the_format_walker_sees_a_format_keyword():
    """The check above can fail: a schema with an ``iri`` format is seen, a property named format is not."""
    schema = {"properties": {"format": {"type": "string"}, "link": {"type": "string", "format": "iri"}}}
    assert _format_keywords(schema) == ["iri"]


_PROBE = r"""
import sys
from evaluation._imports import spare_iri_checker
spare_iri_checker()
import nbformat, papermill, nbconvert
skipped = "rfc3987_syntax" not in sys.modules
notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nbformat.reads(nbformat.writes(notebook), as_version=4))
try:
    import rfc3987_syntax  # still importable afterwards, when installed
    later = True
except ImportError:
    later = None
print(skipped, later)
"""


def test_notebooks_are_read_and_validated_without_the_iri_checker():
    """In a fresh interpreter: nbformat, papermill and nbconvert import and validate without it."""
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    skipped, later = done.stdout.split()
    assert skipped == "True"
    if later == "None":
        pytest.skip("rfc3987_syntax is not installed here: nothing to spare")
    assert later == "True"


def test_calling_it_again_changes_nothing():
    """Idempotent: once jsonschema is imported, no module is added, removed or replaced."""
    import jsonschema  # noqa: F401

    from evaluation._imports import spare_iri_checker

    before = dict(sys.modules)
    spare_iri_checker()
    assert sys.modules == before
