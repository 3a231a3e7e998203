"""Import-time workaround for the processes that read and write notebooks.

jsonschema (imported by nbformat, hence by papermill and nbconvert) imports, when it is installed,
the optional ``rfc3987_syntax`` module for its ``iri`` and ``iri-reference`` format checkers.
Jupyter installs it (``jsonschema[format-nongpl]`` through ``jupyter-events``), and that module
compiles a Lark grammar when imported: about 2 s of CPU in every process that imports nbformat
(reported upstream as jsonschema issue #1428). Notebook validation never uses those checkers:
nbformat's schemas declare no ``format`` keyword (a test checks it), and nbformat validates without
a format checker. :func:`spare_iri_checker` imports jsonschema with that module hidden.
"""

from __future__ import annotations

import sys

__all__ = ["spare_iri_checker"]

_IRI_MODULE = "rfc3987_syntax"


def spare_iri_checker() -> None:
    """Import jsonschema without the ``rfc3987_syntax`` IRI checker, unless already imported.

    ``sys.modules[name] = None`` makes ``import name`` raise ImportError, which jsonschema expects
    for an optional checker; the entry is removed afterwards, so that a later, explicit
    ``import rfc3987_syntax`` still works.
    """
    if "jsonschema" in sys.modules or _IRI_MODULE in sys.modules:
        return
    sys.modules[_IRI_MODULE] = None  # type: ignore[assignment]
    try:
        import jsonschema  # noqa: F401
    except ImportError:  # pragma: no cover - nbformat will say it is missing
        pass
    finally:
        if sys.modules.get(_IRI_MODULE, 0) is None:
            del sys.modules[_IRI_MODULE]
