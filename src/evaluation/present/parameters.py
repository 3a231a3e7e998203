"""Notebook parameters: a wrong value is one French line naming the parameter, the value and the accepted
values; an unknown name in the parameters cell is warned about. Imported in a kernel (every report
imports it through its blocks), it makes IPython show such an error as that one line, without a
traceback, while the cell still fails (papermill and the batch see it)."""

from __future__ import annotations

import ast
import difflib
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from evaluation.config import PLAN_YEARS
from evaluation.errors import EvaluationError, UsageError
from evaluation.io import Dataset, load_dataset
from evaluation.present.blocks import _STYLE, Html
from evaluation.referential.plan import Engagement, Plan

# --------------------------------------------------------------------------------------------------
# Notebook parameters: a wrong value is one French line, an unknown name a visible warning

#: The parameter names of the report notebooks (their ``parameters`` cells).
NOTEBOOK_PARAMETERS = frozenset(
    {"engagement_id", "year", "data_dir", "comparator", "baseline_year", "programme", "rule", "survey"}
)


def _value_fr(value: object) -> str:
    return f"« {value} »" if isinstance(value, str) else repr(value)


def parameter_error(name: str, value: object, accepted: str, reason: str = "") -> UsageError:
    """The error of a wrong notebook parameter, in one French line: the name, the value given, why, what is accepted.

    ``Paramètre year = 2030 refusé : valeurs acceptées 2018, 2019, 2020, 2021.``
    """
    why = f" ({reason})" if reason else ""
    return UsageError(f"Paramètre {name} = {_value_fr(value)} refusé{why} : valeurs acceptées {accepted}.")


def _check_year(year: object, name: str = "year") -> None:
    if isinstance(year, bool) or not isinstance(year, int) or year not in PLAN_YEARS:
        reason = "" if isinstance(year, int) and not isinstance(year, bool) else "un nombre entier est attendu"
        raise parameter_error(name, year, ", ".join(map(str, PLAN_YEARS)) + " (années du plan)", reason)


def _ids_text(ids: Sequence[str]) -> str:
    """``« 1 » à « 17 », « 4a », « gouvernance »``: the numbered ids as a range when they follow each other."""
    numbers = sorted(int(i) for i in ids if i.isdigit())
    others = [i for i in ids if not i.isdigit()]
    if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        head = [f"« {numbers[0]} » à « {numbers[-1]} »"]
    else:
        head = [f"« {n} »" for n in numbers]
    return ", ".join(head + [f"« {i} »" for i in others])


def engagement_parameter(plan: Plan, engagement_id: object, name: str = "engagement_id") -> Engagement:
    """The sheet named by a notebook parameter, or :func:`parameter_error` with the closest ids."""
    try:
        return plan.engagement(str(engagement_id))
    except UsageError as err:
        ids = [s.id for s in plan.engagements]
        close = difflib.get_close_matches(str(engagement_id).strip().lower(), ids, n=1, cutoff=0.5)
        reason = "ce n'est pas une fiche du plan" + (f" ; la plus proche : « {close[0]} »" if close else "")
        raise parameter_error(name, engagement_id, _ids_text(ids), reason) from err


def dataset_parameter(data_dir: object, name: str = "data_dir") -> Dataset:
    """The dataset of the ``data_dir`` parameter (empty: the embedded demo data)."""
    accepted = "« » (jeu de démonstration) ou un dossier de données contenant dataset.yaml"
    if not isinstance(data_dir, str):
        raise parameter_error(name, data_dir, accepted, "un chemin de dossier, entre guillemets, est attendu")
    if data_dir and not Path(data_dir).is_dir():
        raise parameter_error(name, data_dir, accepted, "dossier introuvable")
    if data_dir and not (Path(data_dir) / "dataset.yaml").is_file():
        raise parameter_error(name, data_dir, accepted, "le dossier n'a pas de fichier dataset.yaml")
    return load_dataset(data_dir or None)


def _assigned_names(source: str) -> list[str] | None:
    """The names a parameters-like cell assigns (only assignments of literal values to names), else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            return None
        try:
            ast.literal_eval(value)
        except ValueError:
            return None
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names or None


def unknown_parameters(history: Sequence[str], expected: Iterable[str]) -> list[str]:
    """Names set by the notebook's parameters cells that are not among ``expected``, in order.

    ``history``: the sources of the cells run so far, oldest first (IPython's ``In`` without the running
    cell). The parameters cells are the latest cell made only of literal assignments that sets one of
    ``expected``, with the cells of that kind run just before and after it (papermill's injected cell
    follows the notebook's own; a typo may sit in a cell of its own). Names starting with ``_`` are ignored.
    """
    wanted = set(expected)
    cells = [_assigned_names(source) for source in history]
    latest = max((i for i, names in enumerate(cells) if names and wanted & set(names)), default=None)
    if latest is None:
        return []
    first = latest
    while first > 0 and cells[first - 1]:
        first -= 1
    last = latest
    while last + 1 < len(cells) and cells[last + 1]:
        last += 1
    names = dict.fromkeys(n for group in cells[first : last + 1] for n in group or ())
    return [n for n in names if n not in wanted and not n.startswith("_")]


def _shell() -> object | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' dependencies
        return None
    return get_ipython()


def check_parameter_names(expected: Sequence[str]) -> list[str]:
    """In a notebook: warn, visibly and in French, about names of the parameters cell the report does not use.

    Papermill and Python accept any name: ``anne = 2019`` (for ``year``) would silently leave the report on
    its default year. The warning names the unknown name, its value, the closest parameter and the value
    the report uses instead. Returns the unknown names; does nothing outside IPython.
    """
    shell = _shell()
    namespace = getattr(shell, "user_ns", None)
    if not isinstance(namespace, dict):
        return []
    history = list(namespace.get("In", []))[:-1]  # the running cell is the last one
    unknown = unknown_parameters(history, expected)
    if unknown:
        from IPython.display import display

        items = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(expected), n=1, cutoff=0.5)
            used = f" ; le rapport utilise {close[0]} = {_value_fr(namespace.get(close[0]))}" if close else ""
            hint = f" : vouliez-vous dire {close[0]}{used} ?" if close else ""
            items.append(
                f"<li>{html.escape(name)} = {html.escape(_value_fr(namespace.get(name)))}{html.escape(hint)}</li>"
            )
        what = (
            "ce nom n'est pas un paramètre de ce rapport, il est ignoré"
            if len(unknown) == 1
            else "ces noms ne sont pas des paramètres de ce rapport, ils sont ignorés"
        )
        display(
            Html(
                f'{_STYLE}<div class="ev-banner" role="alert">Attention : {what} :<ul>{"".join(items)}</ul>'
                f"Paramètres de ce rapport : {html.escape(', '.join(expected))}.</div>",
                "paramètre inconnu",
            )
        )
    return unknown


def _show_user_error(
    shell: object, etype: type, value: BaseException, tb: object, tb_offset: int | None = None
) -> list[str]:
    """IPython's display of a user's mistake: the error's one-line message, no traceback.

    Registered for :class:`~evaluation.errors.EvaluationError` (a wrong parameter, unusable data) and for
    the :class:`NameError` of a notebook parameter (its line deleted or misspelt in the parameters cell).
    The cell still fails: papermill and the batch see an error whose ``ename`` and ``evalue`` are the
    exception's. Any other :class:`NameError` keeps IPython's usual traceback.
    """
    if isinstance(value, NameError) and getattr(value, "name", None) not in NOTEBOOK_PARAMETERS:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)  # type: ignore[attr-defined]
        return []
    if isinstance(value, NameError):
        text = (
            f"Paramètre {value.name} non défini : la cellule des paramètres (la première du carnet) doit le "
            "définir ; exécutez-la d'abord, sans changer le nom du paramètre."
        )
    else:
        text = str(value)
    stb = [f"\x1b[1;31m{text}\x1b[0m"]
    # IPython leaves the display to the handler: this sends the kernel's error message (the cell's error
    # output, its ename and evalue), with this one line as the whole traceback.
    shell._showtraceback(etype, value, stb)  # type: ignore[attr-defined]
    return stb


def _register_error_display() -> None:
    """Make IPython show a user's mistake as :func:`_show_user_error` does, when this runs in a kernel.

    Done when the notebooks import this module (their first code cell), before any parameter is checked.
    """
    shell = _shell()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((EvaluationError, NameError), _show_user_error)


# The notebooks import this module in their first code cell: from then on a wrong parameter is one line.
_register_error_display()
