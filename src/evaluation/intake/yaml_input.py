"""A small YAML description (a survey's, the comparison territories') read as hostile input.

Its own file: the descriptions are not tables, but they obey the same rules as the other inputs
(no link followed, a size limit, every failure a problem with its line, never a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.intake.grids import DEFAULT_LIMITS, _open_input, _Unreadable
from evaluation.intake.problems import Phrase, Problem, _os_error_fr


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
