"""The HTML a reader gets from an executed notebook: no code, print stylesheet, navigation, error page.

The report pages are nbconvert's (template ``templates/report/``); the stand-alone pages (the year's
index, a report's error page) and the failure notices are rendered here from the Jinja2 templates of
``templates/pages/`` (:func:`render_page`), autoescaped.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.batch.jobs import MANIFEST_NAME, ReportJob, _read_manifest

if TYPE_CHECKING:
    import jinja2
    import nbformat


_HIDDEN_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag"}
_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
#: Templates of the package: ``report`` (nbconvert: the lab template without CDN scripts, and the
#: publication stylesheet), ``pages`` (Jinja2: the index, the error page, the failure notices).
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "present" / "templates"


# --------------------------------------------------------------------------------------------------
# Reader-facing HTML


@dataclass(frozen=True)
class NavLink:
    """A link of a report's navigation bar: the linked report's title and its address from the page."""

    title: str
    href: str


@dataclass(frozen=True)
class ReportNavigation:
    """The navigation bar of a report page: the year's index, and the reports before and after it
    among those of its kind, in the order of the run plan (``None`` at either end)."""

    year: int
    index_href: str
    previous: NavLink | None = None
    next: NavLink | None = None


def report_navigation(job: ReportJob) -> ReportNavigation | None:
    """The navigation of ``job``'s page, from the run's manifest (``OUT/<year>/manifest.json``).

    The manifest is written before any report starts and lists every report of the run plan in its
    order (:func:`_run_locked`), so it is where the batch's ordering is known to a worker. A
    neighbour that no run has produced (left out by ``--only``) is skipped: no link leads nowhere.
    ``None`` (no bar) when there is no manifest of this year, as for a report run outside a batch.
    """
    root = job.html_path.parent.parent
    manifest = _read_manifest(root / MANIFEST_NAME)
    entries = [e for e in manifest.get("reports", []) if isinstance(e, Mapping)]
    if not isinstance(manifest.get("year"), int) or not any(e.get("name") == job.name for e in entries):
        return None
    here = job.html_path.parent

    def link(entry: Mapping[str, Any]) -> NavLink:
        target = root / str((entry.get("outputs") or {}).get("html", f"{entry['kind']}/{entry['key']}.html"))
        return NavLink(str(entry.get("title") or entry["name"]), Path(os.path.relpath(target, here)).as_posix())

    siblings = [
        e
        for e in entries
        if e.get("kind") == job.kind and (e.get("name") == job.name or e.get("status") != "not produced")
    ]
    position = next(i for i, e in enumerate(siblings) if e.get("name") == job.name)
    return ReportNavigation(
        year=manifest["year"],
        index_href=Path(os.path.relpath(root / "index.html", here)).as_posix(),
        previous=link(siblings[position - 1]) if position > 0 else None,
        next=link(siblings[position + 1]) if position + 1 < len(siblings) else None,
    )


def _css_string(text: str) -> str:
    """``text`` as the inside of a double-quoted CSS string (for ``content:``), safe in a ``<style>``
    element: quotes, backslashes, line breaks and ``<`` written as CSS escapes."""
    out = []
    for char in " ".join(text.split()):
        out.append(f"\\{ord(char):x} " if char in '"\\<>&' else char)
    return "".join(out)


#: Print layout estimate (publication.css.j2: tables at 8 pt, cells padded 4 px a side): the width of
#: an average character of the text font at 8 pt and of a cell's padding and border, in CSS pixels,
#: and the width of an A4 page's text (210 mm less two 15 mm margins, at 96 px per inch).
_PRINT_CHAR_PX = 6.2
_PRINT_CELL_PX = 9.0
_PRINT_TEXT_WIDTH_PX = 180 / 25.4 * 96
#: Where a line may break in a table cell: spaces other than the no-break ones, and after a hyphen.
_BREAKABLE = re.compile(r"[ \t\r\n]+|(?<=-)")


def _min_print_width(rows: list[list[Any]]) -> float:
    """The narrowest a table can be printed without cutting a word, in CSS pixels (estimate): per
    column, the longest run of text without a break opportunity among its cells (a number and its
    unit are joined by a no-break space: "10\u00a0établissements" does not wrap), bold headers 10 %
    wider, plus each cell's padding."""
    widths: dict[int, float] = {}
    for row in rows:
        for i, cell in enumerate(row):
            longest = max((len(word) for word in _BREAKABLE.split(cell.get_text())), default=0)
            width = longest * _PRINT_CHAR_PX * (1.1 if cell.name == "th" else 1.0) + _PRINT_CELL_PX
            widths[i] = max(widths.get(i, 0.0), width)
    return sum(widths.values())


def _tables_for_readers(page: str) -> str:
    """Every table of the page (views, pandas) made readable by assistive technologies and on paper.

    - Headers: ``scope="col"`` on the header cells of a ``thead``, ``scope="row"`` on those of a body
      row; an empty header cell (pandas' corner above the index) becomes a data cell: it heads nothing.
    - Print: a simple table (one header row, no merged cell) that cannot fit the width of an A4 page
      even with every cell wrapped (:func:`_min_print_width`) is marked ``ev-stack``, and each of its
      body cells gets its column's header as ``data-label``: the print stylesheet then prints each row
      as a block of "header : value" pairs instead of cutting columns off.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, features="html.parser")
    for cell in soup.select("table th"):
        if not cell.get_text(strip=True) and not cell.find(["img", "svg"]):
            cell.name = "td"
            continue
        if cell.get("scope") or cell.get("headers") is not None:
            continue
        cell["scope"] = "col" if cell.find_parent("thead") is not None else "row"
    for table in soup.find_all("table"):
        head_rows = table.select(":scope > thead > tr")
        body_rows = table.select(":scope > tbody > tr")
        if len(head_rows) != 1 or not body_rows or table.select("[colspan], [rowspan]"):
            continue
        labels = [c.get_text(" ", strip=True) for c in head_rows[0].find_all(["th", "td"], recursive=False)]
        rows = [r.find_all(["th", "td"], recursive=False) for r in [*head_rows, *body_rows]]
        if any(len(r) != len(labels) for r in rows) or _min_print_width(rows) <= _PRINT_TEXT_WIDTH_PX:
            continue
        table["class"] = [*table.get("class", []), "ev-stack"]
        for row in rows[1:]:
            for label, cell in zip(labels, row, strict=True):
                cell["data-label"] = label
    return str(soup)


def export_html(
    notebook: nbformat.NotebookNode,
    title: str,
    failure: str | None = None,
    *,
    navigation: ReportNavigation | None = None,
) -> str:
    """Reader-facing HTML: no code, no prompts, no parameters or papermill cells; images embedded.

    With ``failure`` (the error, in one line), a French notice opens the page and each error output
    is replaced by a short French box; the full traceback stays in the executed notebook and the log.
    With ``navigation`` (:func:`report_navigation`), a bar at the top links to the year's index and
    to the neighbouring reports. The page is in French (``lang="fr"``), prints on A4 with ``title``
    and the page numbers in the margins, every table header has its ``scope``, and every image a
    text alternative (the template ``templates/report/index.html.j2``).
    """
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_markdown_cell, new_output

    shown = copy.deepcopy(notebook)
    shown.cells = [c for c in shown.cells if not _HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))]
    if failure is not None:
        for cell in shown.cells:
            for i, output in enumerate(cell.get("outputs", [])):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename')} : {output.get('evalue')}"
                    cell.outputs[i] = new_output(
                        "display_data",
                        data={"text/html": str(_notices().stopped_here(message)), "text/plain": message},
                    )
        shown.cells.insert(0, new_markdown_cell(_failure_notice(failure)))
    exporter = _exporter(HTMLExporter)
    resources = {"metadata": {"name": title}, "navigation": navigation, "print_title_css": _css_string(title)}
    body, _resources = exporter.from_notebook_node(shown, resources=resources)
    body = _tables_for_readers(body)
    return re.sub(r"<html(\s+lang=\"[^\"]*\")?>", '<html lang="fr">', body, count=1)


_local = threading.local()


def _exporter(cls: Any) -> Any:
    """One HTML exporter per thread (building one loads the templates)."""
    exporter = getattr(_local, "exporter", None)
    if exporter is None:
        exporter = cls(
            optimistic_validation=True,  # validate once after the preprocessors, not after each
            template_name="report",
            extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
        _local.exporter = exporter
    return exporter


@functools.cache
def _page_environment() -> jinja2.Environment:
    """The Jinja2 environment of ``templates/``: autoescape on (every value is text, never markup),
    an undefined name an error, ``stylesheet(name)`` to include a stylesheet of ``templates/`` as
    text, the ``css_string`` filter (:func:`_css_string`). Built once (jinja2 is imported here, not
    by ``import evaluation``); rendering from several threads is safe."""
    import jinja2
    from markupsafe import Markup

    def stylesheet(name: str) -> Markup:
        return Markup((TEMPLATES_DIR / name).read_text(encoding="utf-8"))  # our own file, plain CSS

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.globals["stylesheet"] = stylesheet
    # safe in a <style> element: _css_string writes quotes, backslashes, <, > and & as CSS escapes
    environment.filters["css_string"] = lambda text: Markup(_css_string(str(text)))
    return environment


def render_page(template: str, **context: Any) -> str:
    """The page ``templates/<template>`` rendered with ``context`` (values are escaped)."""
    return _page_environment().get_template(template).render(**context)


def _notices() -> Any:
    """The macros of ``templates/pages/notices.html.j2``: ``failure_notice``, ``stopped_here``."""
    return _page_environment().get_template("pages/notices.html.j2").module


def _failure_notice(error: str) -> str:
    """The French notice that opens a failed report's page: the error, and where the detail is."""
    return str(_notices().failure_notice(error))


def _error_page(title: str, message: str) -> str:
    """A page for a report that produced no notebook at all (kernel lost, notebook unreadable...)."""
    return render_page("pages/error.html.j2", title=title, message=message)


def _failing_cell(notebook: nbformat.NotebookNode) -> tuple[int | None, str | None]:
    """1-based position of the failing cell in the source notebook (papermill's cells not counted)."""
    position = 0
    for cell in notebook.cells:
        if _PAPERMILL_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        position += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return position, f"{output.get('ename')}: {output.get('evalue')}"
    return None, None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
