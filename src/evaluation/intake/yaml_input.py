"""A small YAML description (a survey's, the comparison territories') read as hostile input.

Its own file: the descriptions are not tables, but they obey the same rules as the other inputs
(no link followed, a size limit, every failure a problem with its line, never a traceback).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from evaluation.intake.grids import DEFAULT_LIMITS, _open_input, _Unreadable
from evaluation.intake.problems import Phrase, Problem, _os_error_fr, did_you_mean


def read_yaml(path: Path, max_bytes: int, size_hint: Phrase, mapping_hint: Phrase) -> tuple[Any, Any, list[Problem]]:
    """A small YAML description read as hostile input: ``(content, node, [])`` or ``(None, None, [fatal problem])``.

    Opened without following a link; refused over ``max_bytes`` (``size_hint`` says what the file
    should hold), when not UTF-8, when not valid YAML (with its line), when it uses an anchor or an
    alias (checked on the event stream, before anything is built: a few nested aliases expand to
    gigabytes) and when it is not a mapping (``mapping_hint``: how to start it). ``node`` is the
    composed tree, for the line of each key. The hints are given in English and French (:class:`Phrase`).
    """
    import yaml

    def fatal(message: Phrase, hint: Phrase, line: int | None = None) -> tuple[None, None, list[Problem]]:
        return (
            None,
            None,
            [Problem(path, line, None, None, message.en, hint.en, True, message_fr=message.fr, hint_fr=hint.fr)],
        )

    try:
        with _open_input(path, DEFAULT_LIMITS) as handle:
            data = handle.read(max_bytes + 1)
    except _Unreadable as err:
        return fatal(Phrase(str(err), err.message_fr), Phrase(err.hint, err.hint_fr))
    except OSError as err:
        return fatal(
            Phrase(f"cannot be opened ({err.strerror})", f"ne peut pas être ouvert ({_os_error_fr(err)})"),
            Phrase("check the file's permissions", "vérifier les droits d'accès au fichier"),
        )
    if len(data) > max_bytes:
        size = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes // 1024} KB"
        size_fr = f"{max_bytes // 1_000_000} Mo" if max_bytes >= 1_000_000 else f"{max_bytes // 1024} Ko"
        return fatal(Phrase(f"is larger than {size}", f"dépasse {size_fr}"), size_hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return fatal(
            Phrase("is not UTF-8 text", "n'est pas un texte en UTF-8"),
            Phrase("save it as UTF-8", "l'enregistrer en UTF-8"),
        )
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return fatal(
                    Phrase("uses a YAML anchor or alias (& or *)", "utilise une ancre ou un alias YAML (& ou *)"),
                    Phrase("write every value out", "écrire chaque valeur en entier"),
                    event.start_mark.line + 1,
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        content = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        reason = getattr(err, "problem", None) or "not valid YAML"
        # PyYAML's reason is English: the French says where (the line) and what to check.
        return fatal(
            Phrase(f"is not valid YAML ({reason})", "n'est pas un YAML valide"),
            Phrase("check the indentation and the quotes", "vérifier l'indentation et les guillemets"),
            mark.line + 1 if mark else None,
        )
    if not isinstance(content, dict) or node is None:
        return fatal(
            Phrase("is not a YAML mapping", "n'est pas un dictionnaire YAML (des lignes « clé: valeur »)"), mapping_hint
        )
    return content, node, []


def node_lines(node: yaml.Node, path: str = "", lines: dict[str, int] | None = None) -> dict[str, int]:
    """Key path (``territories[2].group``) -> 1-based line of that key (of the item for a list item)."""
    lines = {} if lines is None else lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            node_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            node_lines(item, f"{path}[{index}]", lines)
    return lines


class DescriptionReader:
    """Reads one YAML description, collecting every problem (each naming its key and line) before
    the records are built. ``parent_line``: a key without a line of its own is given its parent's."""

    parent_line = False

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, key: str, value: object, message: Phrase, hint: Phrase) -> None:
        line = self.lines.get(key)
        if line is None and self.parent_line and "." in key:
            line = self.lines.get(key.rsplit(".", 1)[0])
        shown = value if isinstance(value, str | int | float) and not isinstance(value, bool) else None
        self.problems.append(
            Problem(self.path, line, key or None, shown, message.en, hint.en, message_fr=message.fr, hint_fr=hint.fr)
        )

    def unknown_keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                listed = ", ".join(allowed)
                hint = did_you_mean(close[0]) if close else Phrase(f"known keys: {listed}", f"clés connues : {listed}")
                self.problem(f"{prefix}{key}", None, Phrase("unknown key", "clé inconnue"), hint)
