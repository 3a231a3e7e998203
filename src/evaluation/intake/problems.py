"""Problems of the input files and how they are printed: one line naming the file, the line, the
column, the value and the fix, in English for the command line and in French for the reports.

Every step of the intake (reading, checking, pseudonymising) reports what is wrong as a
:class:`Problem`; a person's identifier or key is never copied into one (:data:`MASKED`). A problem
carries its text in both languages, written side by side where it is found (a problem cannot be made
without its French text): ``str(problem)`` is the command line's English line, :meth:`Problem.french`
the reports' French one, the only place where French typography is applied to them.
:class:`ValidationFindings` carries the problems to the command line, with the exit status.
"""

from __future__ import annotations

import errno
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from evaluation.errors import EvaluationError, _display_path
from evaluation.formatting import NBSP
from evaluation.intake.cells import _blank

#: Largest number of problems printed before "... and N more".
MAX_PRINTED = 200


@dataclass(frozen=True)
class Phrase:
    """A piece of a problem's text in English (the command line's) and French (the reports'), e.g. a
    suggestion filled into a message: ``Phrase("did you mean '1.2'?", "vouliez-vous dire « 1.2 » ?")``."""

    en: str
    fr: str


def did_you_mean(code: str, name: str | None = None) -> Phrase:
    """``did you mean 'QN05972M' (Secteur Sud)?`` and its French: the suggestion of a close code."""
    named = f" ({name})" if name else ""
    return Phrase(f"did you mean '{code}'{named}?", f"vouliez-vous dire « {code} »{named} ?")


@dataclass(frozen=True)
class Problem:
    """One problem of an input file; ``fatal`` when the file cannot be read at all.

    ``message`` and ``hint`` are English (the command line's), ``message_fr`` and ``hint_fr`` their
    French (the reports', see :meth:`french`): required, so that no problem reaches a report in English.
    """

    path: Path
    line: int | None
    column: str | None
    value: object
    message: str
    hint: str | None = None
    fatal: bool = False
    message_fr: str = field(kw_only=True)
    hint_fr: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not self.message_fr.strip():
            raise TypeError(f"problem {self.message!r}: its French text (message_fr) is required")
        if bool(self.hint) != bool(self.hint_fr):
            raise TypeError(f"problem {self.message!r}: a hint and its French (hint_fr) go together")

    def __str__(self) -> str:
        # The folder resolved, not the file: a symbolic link is shown as itself, never as its target.
        where = [str(Path(_display_path(self.path.parent)) / self.path.name)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": "
        if not _blank(self.value):
            text += f"{_show(self.value)} "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def french(self, root: Path | None = None) -> str:
        """The problem in French, for the reports: ``fichier monitoring/m.csv, ligne 3, colonne « value » :
        « abc » n'est pas un nombre (écrire des chiffres, ...)``.

        ``root``: the data folder; the path is shown relative to it (no local path in a report), else
        as the command line shows it. A path without a suffix and without a line is a folder
        (``dossier monitoring``); the keys of a YAML description are ``clé``, not ``colonne``. French
        typography: non-breaking spaces inside « » and before ``:``, ``;``, ``?``, ``!`` and ``%``,
        and as thousands separator; numbers with a decimal comma; :data:`MASKED` stays masked.
        """
        kind = "dossier" if not self.path.suffix and self.line is None else "fichier"
        where = [f"{kind} {self._place(root)}"]
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column is not None:
            key = "clé" if self.path.suffix.lower() in (".yaml", ".yml") else "colonne"
            where.append(f"{key} {_quote_fr(self.column)}")
        text = ", ".join(where) + f"{NBSP}: "
        if not _blank(self.value):
            text += f"{_show_fr(self.value)} "
        text += _typography_fr(self.message_fr)
        if self.hint_fr:
            text += f" ({_typography_fr(self.hint_fr)})"
        return text

    def _place(self, root: Path | None) -> str:
        shown = Path(_display_path(self.path.parent)) / self.path.name
        if root is None:
            return str(shown)
        try:
            relative = (self.path.parent.resolve() / self.path.name).relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            return self.path.name
        return self.path.name if relative == "." else relative


class _Masked:
    """Stands for a person's identifier or key in a problem: the value itself is never shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(identifiant masqué)"


#: The value of a problem about a person's identifier or key (printed ``(identifiant masqué)``).
MASKED = _Masked()


class ValidationFindings(EvaluationError):
    """Input files with problems; ``exit_code`` 2 when one is unreadable, 1 otherwise."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        self.exit_code = 2 if any(p.fatal for p in problems) else 1
        super().__init__(f"{len(problems)} problem(s) in the input files (run 'evaluation validate' to list them)")


def _show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _quote_fr(text: object) -> str:
    return f"«{NBSP}{text}{NBSP}»"


def _show_fr(value: object) -> str:
    """A cell's value in a French sentence: text in « », numbers with a decimal comma, dates ISO."""
    if value is MASKED:
        return repr(value)
    if isinstance(value, str):
        return _quote_fr(value)
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value)).replace(".", ",")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return _quote_fr(value)


#: A space that French typography makes non-breaking: inside « », before : ; ? ! %, between the
#: groups of digits of a number (``1 250,5``).
_BREAKABLE = re.compile(r"(?<=«) | (?=[»:;?!%])|(?<=\d) (?=\d{3}(?!\d))")


def _typography_fr(text: str) -> str:
    return _BREAKABLE.sub(NBSP, text)


def format_problems(problems: Sequence[Problem], limit: int = MAX_PRINTED) -> list[str]:
    """One line per problem, capped at ``limit`` with a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more problem(s)")
    return lines


#: What an operating system's error means, in French (``strerror`` is English).
_OS_ERRORS_FR = {
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.ENOENT: "introuvable",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EBUSY: "occupé par un autre programme",
    errno.EIO: "erreur de lecture du disque",
    errno.ELOOP: "trop de liens symboliques",
    errno.ENAMETOOLONG: "nom trop long",
}


def _os_error_fr(err: OSError) -> str:
    """``err`` in French: the meaning of its error number (the system's text is English)."""
    if err.errno is None:
        return "erreur du système"
    return _OS_ERRORS_FR.get(err.errno, f"erreur système n°{NBSP}{err.errno}")


def _cannot_open(path: Path, err: OSError) -> Problem:
    return Problem(
        path,
        None,
        None,
        None,
        f"cannot be opened ({err.strerror})",
        "check the file's permissions",
        fatal=True,
        message_fr=f"ne peut pas être ouvert ({_os_error_fr(err)})",
        hint_fr="vérifier les droits d'accès au fichier",
    )
