"""The package's one exception family.

Every user-facing failure is an :class:`EvaluationError`; the command line prints its message on one
line and exits with its ``exit_code`` (2: unusable input or bad usage). Statistical caveats are
warnings, not exceptions.
"""

from __future__ import annotations

from pathlib import Path


class EvaluationError(Exception):
    """Base class: a failure the user can fix, reported without a traceback."""

    exit_code = 2


class UsageError(EvaluationError):
    """A wrong command-line argument or notebook parameter (unknown id, bad year, ...)."""


class InputError(EvaluationError):
    """An input file that cannot be used, located as precisely as possible.

    Attributes
    ----------
    path, line, column, value, hint:
        Where the problem is (``line`` is 1-based, ``column`` a field name or path such as
        ``indicators[2].target.value``), the offending value and what to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.value = value
        self.hint = hint
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(_display_path(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"field '{self.column}'")
        text = ", ".join(where)
        text = f"{text}: {self.reason}" if text else self.reason
        if self.hint:
            text += f" ({self.hint})"
        return text


class PlanError(InputError):
    """The plan referential (``data/plan/``) is malformed."""


def _display_path(path: Path) -> str:
    """A path relative to the working directory when possible, for short messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
