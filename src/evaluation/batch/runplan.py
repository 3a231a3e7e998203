"""Run plans: which reports ``evaluation run`` produces for a deliverable year, with which parameters.

A run plan is ``params/<year>.yaml`` (format in ``params/README.md``)::

    year: 2021                      # the deliverable year: reports go to OUT/2021/
    parameters: {year: 2021}        # given to every report
    reports:
      annuel:                       # a report kind: OUT/2021/annuel/rapport.html
        notebook: annual.ipynb      # in notebooks/
        title: "Rapport annuel 2021"
        parameters: {comparator: MEL, baseline_year: 0}
      engagements:                  # one report per item: OUT/2021/engagements/<id>.html
        notebook: engagement.ipynb
        for_each: engagements       # every sheet of the referential (data/plan/sheets/)
        parameter: engagement_id    # the notebook parameter that receives each item
      cohortes:
        notebook: cohort.ipynb
        for_each: ["1", "3", "all"] # or an explicit list of items
        parameter: programme
        title: "Suivi de cohorte : engagement {item}"

``data_dir`` is not written in a run plan: the run gives every report the folder of ``--data``.

**Validation, before any kernel starts** (papermill only warns on an unknown parameter, and a typo
would silently run the report with the default): :func:`load_run_plan` checks the file's structure,
the years (2018-2021) and the engagement ids (``engagement_id``, ``programme``: a sheet id of the
referential, ``programme`` also ``"all"``); :func:`check_reports` checks each selected report
against the ``parameters`` cell of its notebook, read by :func:`papermill.inspect_notebook`: the
notebook exists, every parameter given is declared, has the declared type (``int``, ``float``,
``str``, ``bool``, ``list``, ``dict``; a parameter declared without a type accepts anything), every
parameter declared without a default (``programme: str`` with no ``= ...``) is given, and the
notebook declares ``data_dir``. Each problem is one line naming the file, the line, the entry and
the parameter (:class:`RunPlanError`, exit status 2).

A run plan executes code, so it may name only notebooks of ``notebooks/``: a path that leads out of
it (absolute, with ``..``, or through a symbolic link) is refused. Titles are filled by plain
substitution of ``{item}`` and ``{title}``; a format spec, conversion, attribute or index is refused.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evaluation.config import NOTEBOOKS_DIR, PARAMS_DIR, PLAN_YEARS, check_year
from evaluation.errors import EvaluationError, InputError, UsageError, _display_path
from evaluation.referential.plan import Plan

__all__ = [
    "RunPlanError",
    "RunPlanErrors",
    "NotebookParameter",
    "PlannedReport",
    "RunPlan",
    "run_plan_path",
    "load_run_plan",
    "notebook_code_sha256",
    "notebook_parameters",
    "check_reports",
    "INJECTED_PARAMETERS",
]

#: Parameters the run gives every report itself (never written in a run plan).
INJECTED_PARAMETERS = ("data_dir",)
#: Parameters naming an action sheet of the referential; True when "all" is also allowed.
ENGAGEMENT_PARAMETERS = {"engagement_id": False, "programme": True}
#: Parameters that are a year of the plan.
YEAR_PARAMETERS = ("year",)

_TOP_FIELDS = ("year", "parameters", "reports")
_ENTRY_FIELDS = ("notebook", "title", "heading", "key", "parameters", "for_each", "parameter", "titles")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}
_TYPE_FR = {"int": "an integer", "float": "a number", "str": "text", "bool": "true or false", "list": "a list"}


class RunPlanError(InputError):
    """A run plan that cannot be run: the file, line, entry and parameter concerned, and the fix."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None,
        line: int | None = None,
        entry: str | None = None,
        parameter: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.entry = entry
        self.parameter = parameter
        super().__init__(message, path=path, line=line, value=value, hint=hint)

    def _render(self) -> str:
        where = [_display_path(self.path)] if self.path is not None else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.entry is not None:
            where.append(f"entry '{self.entry}'")
        if self.parameter is not None:
            where.append(f"parameter '{self.parameter}'")
        text = f"{', '.join(where)}: {self.reason}" if where else self.reason
        return f"{text} ({self.hint})" if self.hint else text


class RunPlanErrors(EvaluationError):
    """Several problems of one run plan, one line each (all reported at once)."""

    def __init__(self, problems: Sequence[RunPlanError]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter of a notebook's ``parameters`` cell.

    ``type_name`` is papermill's inferred type (``"int"``, ``"str"``, ..., ``"None"`` when the
    parameter has no annotation); ``default`` the source text of its default value, ``None`` when it
    is declared without one (``name: type`` alone), so that a run must give it.
    """

    name: str
    type_name: str
    default: str | None
    help: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class PlannedReport:
    """One report of a run plan: a notebook run with parameters (``data_dir`` not included)."""

    kind: str
    key: str
    title: str
    heading: str
    notebook: Path
    parameters: Mapping[str, object]
    #: Sub-section of the index (the priority of an engagement report), None for none.
    group: str | None = None
    #: Lines of the run plan, for messages: the entry, and each parameter given.
    line: int | None = field(default=None, compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True)
class RunPlan:
    """A parsed run plan: the deliverable year and its reports, in the order of the file."""

    path: Path
    year: int
    kinds: tuple[str, ...]
    reports: tuple[PlannedReport, ...]
    #: Kinds expanded over the referential's sheets (``for_each: engagements``).
    engagement_kinds: frozenset[str] = frozenset()

    def select(self, names: Sequence[str] | None, plan: Plan) -> tuple[PlannedReport, ...]:
        """The reports named by ``--only`` (a kind, or ``kind/key``), in plan order; all when empty.

        Raises :class:`UsageError` for a name the run plan does not have.
        """
        if not names:
            return self.reports
        wanted: set[str] = set()
        for name in names:
            kind, _, key = name.partition("/")
            if kind not in self.kinds:
                known = ", ".join(self.kinds)
                raise UsageError(f"unknown report {name!r} (known: {known}, or kind/key such as engagements/5a)")
            keys = [r.key for r in self.reports if r.kind == kind]
            if not key:
                wanted.update(f"{kind}/{k}" for k in keys)
                continue
            if kind in self.engagement_kinds:
                key = plan.engagement(key).id  # raises UsageError naming the closest ids
            if key not in keys:
                shown = ", ".join(f"{kind}/{k}" for k in keys)
                raise UsageError(f"unknown report {name!r} (known: {shown})")
            wanted.add(f"{kind}/{key}")
        return tuple(r for r in self.reports if r.name in wanted)


def run_plan_path(year: int, params_dir: Path = PARAMS_DIR) -> Path:
    """``params/<year>.yaml``; raises :class:`UsageError` for a year outside the plan."""
    check_year(year)
    return params_dir / f"{year}.yaml"


# --------------------------------------------------------------------------------------------------
# Reading the YAML file


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember the line of each key."""


class _Mapping(dict):
    line: int
    lines: dict[Any, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {loader.construct_object(k, deep=True): k.start_mark.line + 1 for k, _v in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunPlanError(
            "run plan not found", path=path, hint=f"write it (see {PARAMS_DIR.name}/README.md) or choose another --year"
        ) from None
    except UnicodeDecodeError as err:
        raise RunPlanError(f"not UTF-8 text ({err.reason})", path=path, hint="save the file as UTF-8") from err
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise RunPlanError(
            f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check quotes and indentation",
        ) from err


def _line(node: Any, key: object) -> int | None:
    lines = getattr(node, "lines", {})
    return lines.get(key, getattr(node, "line", None))


def _unknown_fields(node: _Mapping, allowed: Sequence[str], path: Path, entry: str | None) -> None:
    for key in node:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(allowed)}"
            raise RunPlanError(f"unknown field '{key}'", path=path, line=_line(node, key), entry=entry, hint=hint)


def _mapping(value: Any, path: Path, line: int | None, entry: str | None, what: str) -> _Mapping:
    if value is None:
        empty = _Mapping()
        empty.line, empty.lines = line or 0, {}
        return empty
    if not isinstance(value, dict):
        raise RunPlanError(f"{what} must be a mapping, found {value!r}", path=path, line=line, entry=entry)
    return value  # type: ignore[return-value]


def load_run_plan(path: Path, plan: Plan, *, notebooks_dir: Path = NOTEBOOKS_DIR) -> RunPlan:
    """Read and expand a run plan; raises :class:`RunPlanError` (exit 2) for the first problem.

    Notebooks are not opened here (see :func:`check_reports`): a report kind whose notebook is
    missing only stops a run that selects it.
    """
    raw = _read(path)
    top = _mapping(raw, path, 1, None, "a run plan")
    _unknown_fields(top, _TOP_FIELDS, path, None)
    year = top.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        raise RunPlanError(
            f"'year' must be one of {', '.join(map(str, PLAN_YEARS))}, found {year!r}",
            path=path,
            line=_line(top, "year"),
            hint="the deliverable year of this run plan",
        )
    shared = _mapping(top.get("parameters"), path, _line(top, "parameters"), None, "'parameters'")
    entries = _mapping(top.get("reports"), path, _line(top, "reports"), None, "'reports'")
    if not entries:
        raise RunPlanError("no report listed under 'reports'", path=path, line=_line(top, "reports") or 1)
    reports: list[PlannedReport] = []
    engagement_kinds = set()
    for kind, node in entries.items():
        expanded = _expand(path, plan, notebooks_dir, str(kind), node, _line(entries, kind), shared)
        if isinstance(node, dict) and node.get("for_each") == "engagements":
            engagement_kinds.add(str(kind))
        reports.extend(expanded)
    for report in reports:
        _check_values(path, plan, report)
    return RunPlan(
        path=path,
        year=year,
        kinds=tuple(str(k) for k in entries),
        reports=tuple(reports),
        engagement_kinds=frozenset(engagement_kinds),
    )


def _sheet_title(sheet: Any) -> str:
    return f"Engagement {sheet.number} : {sheet.title}" if sheet.number else sheet.title


def _title(template: str, path: Path, line: int | None, kind: str, **values: object) -> str:
    """``template`` with ``{item}`` (and ``{title}``, the sheet's title) replaced.

    Plain substitution only: a field with a format spec, a conversion, an attribute or an index
    (``{item:>99999999999}``, ``{item!r}``, ``{item.x}``) is a run-plan error, so that a title
    cannot ask :meth:`str.format` for gigabytes of padding or reach into an object.
    """
    import string

    def refuse(reason: str) -> RunPlanError:
        return RunPlanError(
            f"'title' {template!r} cannot be filled ({reason})",
            path=path,
            line=line,
            entry=kind,
            hint="use {item} for the item, {title} for a sheet's title; double other braces",
        )

    parts: list[str] = []
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as err:
        raise refuse(f"ValueError: {err}") from None
    for literal, name, spec, conversion in fields:
        parts.append(literal)
        if name is None:
            continue
        if spec or conversion is not None:
            shown = (f"!{conversion}" if conversion is not None else "") + (f":{spec}" if spec else "")
            raise refuse(f"format spec {shown!r} not allowed")
        if name not in values:
            raise refuse(f"KeyError: {name!r}" if name.isidentifier() else f"field {{{name}}} not allowed")
        parts.append(str(values[name]))
    return "".join(parts)


def _notebook_path(path: Path, notebooks_dir: Path, notebook: str, line: int | None, kind: str) -> Path:
    """The notebook of an entry, resolved, and refused unless it lies in ``notebooks_dir``.

    A run plan executes code: only the package's notebooks may be run, whatever the path written
    (absolute, with ``..``, or through a symbolic link leading out of the folder).
    """
    folder = notebooks_dir.resolve()
    resolved = (folder / notebook).resolve()
    if not resolved.is_relative_to(folder):
        raise RunPlanError(
            f"'notebook' {notebook!r} is outside {_display_path(notebooks_dir)}/",
            path=path,
            line=line,
            entry=kind,
            value=notebook,
            hint=(
                f"a run plan runs only the notebooks of {notebooks_dir.name}/: name one, "
                "e.g. notebook: engagement.ipynb"
            ),
        )
    return resolved


def _expand(
    path: Path,
    plan: Plan,
    notebooks_dir: Path,
    kind: str,
    node: Any,
    line: int | None,
    shared: _Mapping,
) -> list[PlannedReport]:
    if not _NAME.match(kind):
        raise RunPlanError(
            "a report kind names a folder of the output: letters, digits, '-' and '_' only",
            path=path,
            line=line,
            entry=kind,
        )
    entry = _mapping(node, path, line, kind, "a report entry")
    _unknown_fields(entry, _ENTRY_FIELDS, path, kind)
    notebook = entry.get("notebook")
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb"):
        raise RunPlanError(
            f"'notebook' must name a notebook of {notebooks_dir.name}/, found {notebook!r}",
            path=path,
            line=_line(entry, "notebook"),
            entry=kind,
            hint="e.g. notebook: engagement.ipynb",
        )
    own = _mapping(entry.get("parameters"), path, _line(entry, "parameters"), kind, "'parameters'")
    lines = {name: _line(shared, name) for name in shared} | {name: _line(own, name) for name in own}
    for name in list(shared) + list(own):
        if name in INJECTED_PARAMETERS:
            raise RunPlanError(
                "set by the run, not by the run plan",
                path=path,
                line=lines[name],
                entry=kind,
                parameter=str(name),
                hint="remove it; the run passes the folder of --data",
            )
    parameters = dict(shared) | dict(own)
    heading = str(entry.get("heading") or entry.get("title") or kind)
    title = entry.get("title")
    for_each = entry.get("for_each")
    target = entry.get("parameter")
    resolved = _notebook_path(path, notebooks_dir, notebook, _line(entry, "notebook"), kind)
    common = {"kind": kind, "notebook": resolved, "line": line}
    if for_each is None:
        if target is not None:
            raise RunPlanError(
                "'parameter' goes with 'for_each'", path=path, line=_line(entry, "parameter"), entry=kind
            )
        key = str(entry.get("key", "rapport"))
        if not _NAME.match(key):
            raise RunPlanError(
                f"'key' {key!r} names a file: letters, digits, '-' and '_' only",
                path=path,
                line=_line(entry, "key"),
                entry=kind,
            )
        return [
            PlannedReport(
                key=key, title=str(title or kind), heading=heading, parameters=parameters, lines=lines, **common
            )
        ]
    if not isinstance(target, str):
        raise RunPlanError(
            "'for_each' needs 'parameter': the notebook parameter that receives each item",
            path=path,
            line=_line(entry, "for_each"),
            entry=kind,
            hint="e.g. parameter: engagement_id",
        )
    if target in parameters:
        raise RunPlanError(
            "given both by 'for_each' and in 'parameters'",
            path=path,
            line=lines[target],
            entry=kind,
            parameter=target,
            hint="remove it from 'parameters'",
        )
    lines[target] = _line(entry, "for_each")  # type: ignore[assignment]
    titles = _mapping(entry.get("titles"), path, _line(entry, "titles"), kind, "'titles'")
    reports = []
    if for_each == "engagements":
        headings = {p.id: f"Priorité {p.id[1:]} : {p.title}" for p in plan.priorities}
        for sheet in plan.engagements:
            reports.append(
                PlannedReport(
                    key=sheet.id,
                    title=str(
                        titles.get(sheet.id)
                        or _title(
                            str(title or "{title}"),
                            path,
                            _line(entry, "title"),
                            kind,
                            item=sheet.id,
                            title=_sheet_title(sheet),
                        )
                    ),
                    heading=str(entry.get("heading") or "Fiches action"),
                    parameters=parameters | {target: sheet.id},
                    group=headings.get(sheet.priority or "", plan.transversal.title),
                    lines=lines,
                    **common,
                )
            )
        return reports
    if not isinstance(for_each, list) or not for_each:
        raise RunPlanError(
            f"'for_each' must be 'engagements' or a list of items, found {for_each!r}",
            path=path,
            line=_line(entry, "for_each"),
            entry=kind,
        )
    for item in for_each:
        if isinstance(item, dict | list) or item is None or not _NAME.match(str(item)):
            raise RunPlanError(
                f"item {item!r} of 'for_each' names a file: letters, digits, '-' and '_' only",
                path=path,
                line=_line(entry, "for_each"),
                entry=kind,
            )
        item_title = titles.get(str(item)) or _title(
            str(title or f"{kind} {{item}}"), path, _line(entry, "title"), kind, item=item, title=item
        )
        reports.append(
            PlannedReport(
                key=str(item),
                title=str(item_title),
                heading=heading,
                parameters=parameters | {target: item},
                lines=lines,
                **common,
            )
        )
    keys = [r.key for r in reports]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise RunPlanError(
            f"item {duplicates[0]!r} is listed twice", path=path, line=_line(entry, "for_each"), entry=kind
        )
    return reports


def _check_values(path: Path, plan: Plan, report: PlannedReport) -> None:
    """Years and engagement ids, checked without the notebook."""
    for name, value in report.parameters.items():
        where = {"path": path, "line": report.lines.get(name), "entry": report.kind, "parameter": name}
        if isinstance(value, bool) or not isinstance(value, int | str):
            continue  # the type is checked against the notebook
        if name in YEAR_PARAMETERS and isinstance(value, int) and value not in PLAN_YEARS:
            raise RunPlanError(
                f"year {value!r} is outside the plan ({PLAN_YEARS[0]}-{PLAN_YEARS[-1]})",
                hint="write a year of the plan",
                **where,  # type: ignore[arg-type]
            )
        if name in ENGAGEMENT_PARAMETERS and isinstance(value, str):
            if ENGAGEMENT_PARAMETERS[name] and value == "all":
                continue
            try:
                sheet = plan.engagement(value)
            except UsageError as err:
                raise RunPlanError(str(err), **where) from None  # type: ignore[arg-type]
            if sheet.id != value:
                raise RunPlanError(
                    f"write the sheet id {sheet.id!r}, found {value!r}",
                    hint="the id names the report's file",
                    **where,  # type: ignore[arg-type]
                )


# --------------------------------------------------------------------------------------------------
# Checking the reports against their notebooks


def notebook_code_sha256(path: Path) -> str:
    """SHA-256 of a notebook's code cells (their source, in order): what the cache compares.

    Outputs, prompts and metadata are left out, so that re-executing and committing a notebook
    (nbval) does not change it. Read as JSON, without nbformat, to keep an unchanged run fast.
    """
    document = json.loads(path.read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    for cell in document.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            digest.update(("".join(source) if isinstance(source, list) else source).encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


def notebook_parameters(path: Path, cache: MutableMapping[str, Any] | None = None) -> dict[str, NotebookParameter]:
    """The parameters cell of a notebook, as :func:`papermill.inspect_notebook` reads it.

    papermill skips a parameter declared without a default (``programme: str``); those are added
    from the cell's syntax tree, with ``default`` None. ``cache`` maps the SHA-256 of the notebook's
    code cells to an earlier answer (the run keeps it in its manifest, so that an unchanged run
    does not import papermill).
    """
    code_hash = notebook_code_sha256(path)
    if cache is not None and code_hash in cache:
        return {name: NotebookParameter(name, *fields) for name, fields in cache[code_hash].items()}
    from evaluation._imports import spare_iri_checker

    spare_iri_checker()
    import papermill

    inspected = papermill.inspect_notebook(str(path))
    found = {
        name: NotebookParameter(name, str(p["inferred_type_name"]), str(p["default"]), str(p.get("help") or ""))
        for name, p in inspected.items()
    }
    for name, type_name in _undefaulted(path).items():
        found.setdefault(name, NotebookParameter(name, type_name, None, ""))
    if cache is not None:
        cache[code_hash] = {n: [p.type_name, p.default, p.help] for n, p in found.items()}
    return found


def _undefaulted(path: Path) -> dict[str, str]:
    """``name: type`` declarations without a value in the parameters cell."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for cell in document.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            try:
                tree = ast.parse("".join(source) if isinstance(source, list) else source)
            except SyntaxError:
                return {}
            return {
                node.target.id: ast.unparse(node.annotation)
                for node in tree.body
                if isinstance(node, ast.AnnAssign) and node.value is None and isinstance(node.target, ast.Name)
            }
    return {}


def _type_ok(value: object, type_name: str) -> bool:
    accepted = _TYPES.get(type_name)
    if accepted is None:
        return True  # not annotated, or a type papermill does not name: accept
    if isinstance(value, bool) and bool not in accepted:
        return False
    return isinstance(value, accepted)


def check_reports(
    run_plan: RunPlan, reports: Sequence[PlannedReport], cache: MutableMapping[str, Any] | None = None
) -> list[RunPlanError]:
    """Every problem of ``reports`` against their notebooks' ``parameters`` cells (empty: runnable).

    One problem per report kind and parameter (the items of a ``for_each`` share their notebook).
    """
    problems: list[RunPlanError] = []
    seen: set[tuple[str, str | None, str]] = set()
    declared_by: dict[Path, dict[str, NotebookParameter] | None] = {}

    def add(problem: RunPlanError) -> None:
        tag = (problem.entry or "", problem.parameter, problem.reason)
        if tag not in seen:
            seen.add(tag)
            problems.append(problem)

    for report in reports:
        where = {"path": run_plan.path, "entry": report.kind}
        if report.notebook not in declared_by:
            declared_by[report.notebook] = (
                notebook_parameters(report.notebook, cache) if report.notebook.is_file() else None
            )
        declared = declared_by[report.notebook]
        if declared is None:
            add(
                RunPlanError(
                    f"notebook {_display_path(report.notebook)} not found",
                    line=report.line,
                    hint="restore it, or leave this report out with --only",
                    **where,  # type: ignore[arg-type]
                )
            )
            continue
        nb = _display_path(report.notebook)
        for name in INJECTED_PARAMETERS:
            if name not in declared:
                add(
                    RunPlanError(
                        f"{nb} does not declare '{name}': the run could not pass it the --data folder",
                        line=report.line,
                        parameter=name,
                        hint=f'add `{name}: str = ""` to its parameters cell',
                        **where,  # type: ignore[arg-type]
                    )
                )
        for name, value in report.parameters.items():
            line = report.lines.get(name)
            if name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"declared: {', '.join(declared)}"
                add(
                    RunPlanError(
                        f"not a parameter of {nb}",
                        line=line,
                        parameter=name,
                        hint=hint,
                        **where,  # type: ignore[arg-type]
                    )
                )
                continue
            expected = declared[name].type_name
            if not _type_ok(value, expected):
                shown = _TYPE_FR.get(expected, expected)
                hint = "quote it in the YAML" if expected == "str" else f"the notebook declares {name}: {expected}"
                add(
                    RunPlanError(
                        f"expected {shown} ({expected}), found {type(value).__name__} {value!r}",
                        line=line,
                        parameter=name,
                        value=value,
                        hint=hint,
                        **where,  # type: ignore[arg-type]
                    )
                )
        for name, parameter in declared.items():
            if parameter.required and name not in report.parameters and name not in INJECTED_PARAMETERS:
                add(
                    RunPlanError(
                        f"{nb} declares it without a default and the run plan gives no value",
                        line=report.line,
                        parameter=name,
                        hint="add it under 'parameters'",
                        **where,  # type: ignore[arg-type]
                    )
                )
    return problems
