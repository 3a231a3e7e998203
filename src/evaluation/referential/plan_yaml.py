"""Reading the plan's YAML files: mappings that remember their lines, typed access to their fields.

:func:`_read_yaml` parses one file of ``data/plan/`` with a safe loader whose mappings keep the line
of each key; :class:`_Reader` gives typed, checked access to a mapping's fields (text, number, year,
date, enum choice, nested mappings and lists) and raises :class:`~evaluation.errors.PlanError` naming
the file, the line, the field, the bad value and the fix. Its own file because it knows the YAML and
the error conventions, not the plan's schema, which :mod:`evaluation.referential.plan` applies with it.
"""

from __future__ import annotations

import difflib
import re
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from evaluation.errors import PlanError


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember the line of each key (for error messages)."""


class _Node(dict):
    """A YAML mapping with ``lines[key]`` (1-based) and its own ``line``."""

    line: int
    lines: dict[str, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_MISSING = object()


class _Reader:
    """Typed access to one YAML mapping, raising :class:`PlanError` with file, line and field."""

    def __init__(self, node: Any, path: Path, where: str, line: int | None = None) -> None:
        self.path = path
        self.where = where
        if not isinstance(node, dict):
            raise PlanError(
                f"expected a mapping, found {type(node).__name__}",
                path=path,
                line=line,
                column=where or None,
                value=node,
                hint="check the indentation against data/plan/README.md",
            )
        self.node = node

    def only(self, *allowed: str) -> _Reader:
        """Reject keys the schema does not know (a typo would otherwise be silently ignored)."""
        for key in self.node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(allowed)}"
                raise self.fail(str(key), "unknown field", key, hint)
        return self

    def _field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _line(self, key: str) -> int | None:
        lines = getattr(self.node, "lines", {})
        return lines.get(key, getattr(self.node, "line", None))

    def fail(self, key: str, message: str, value: object = None, hint: str | None = None) -> PlanError:
        return PlanError(message, path=self.path, line=self._line(key), column=self._field(key), value=value, hint=hint)

    def get(self, key: str, default: object = _MISSING) -> Any:
        if key not in self.node:
            if default is _MISSING:
                raise PlanError(
                    "required field is missing",
                    path=self.path,
                    line=getattr(self.node, "line", None),
                    column=self._field(key),
                    hint="see the schema in data/plan/README.md",
                )
            return default
        return self.node[key]

    def text(self, key: str, *, optional: bool = False) -> str | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected non-empty text, found {value!r}", value, "quote it in double quotes")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of texts, found {value!r}", value)
        return tuple(value)

    def number(self, key: str, *, optional: bool = False, minimum: float | None = 0) -> float | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None:
            if optional:
                return None
            raise self.fail(key, "expected a number, found null", value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(
                key, f"expected a number, found {value!r}", value, "write digits without spaces, e.g. 210000"
            )
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum}, found {value!r}", value)
        return float(value)

    def year(self, key: str, *, optional: bool = False) -> int | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2040:
            raise self.fail(key, f"expected a year (2000-2040), found {value!r}", value)
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, found {value!r}", value)
        return value

    def date(self, key: str) -> str | None:
        value = self.get(key, None)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            raise self.fail(key, f"expected an ISO date YYYY, YYYY-MM or YYYY-MM-DD in quotes, found {value!r}", value)
        return value

    def choice(self, key: str, enum: type[Enum]) -> Any:
        value = self.get(key)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
            raise self.fail(key, f"unknown value {value!r}", value, f"use one of: {allowed}") from None

    def child(self, key: str, *, optional: bool = False) -> _Reader | None:
        value = self.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        return _Reader(value, self.path, self._field(key), self._line(key))

    def children(self, key: str) -> list[_Reader]:
        value = self.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, found {value!r}", value)
        return [_Reader(v, self.path, f"{self._field(key)}[{i}]", self._line(key)) for i, v in enumerate(value)]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError("file not found", path=path, hint="restore it from the repository") from None
    except UnicodeDecodeError as err:
        raise PlanError(f"not UTF-8 text ({err.reason})", path=path, hint="save the file as UTF-8") from err
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise PlanError(
            f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check quotes and indentation",
        ) from err
