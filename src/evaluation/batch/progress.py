"""One progress bar for the run (stderr, redrawn in place on a terminal)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TYPE_CHECKING, TextIO

from evaluation.batch.jobs import ReportResult

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------------
# Progress


class ProgressBar:
    """One overall progress bar on a terminal: reports done, failures, and the reports running.

    On a terminal the line is redrawn in place; otherwise (a log file, CI) one line is printed per
    finished report.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = self.done_count = self.failed = 0
        self.running: list[str] = []
        self._clock = time.perf_counter()

    def begin(self, total: int, cached: int = 0) -> None:
        self.total = total
        self._clock = time.perf_counter()
        if cached:
            self._print(f"{cached} report(s) unchanged since the last run (cached)")
        self._draw()

    def start(self, name: str) -> None:
        self.running.append(name)
        self._draw()

    def tick(self) -> None:
        """Redraw (the elapsed time)."""
        self._draw()

    def done(self, result: ReportResult) -> None:
        name = result.job.name
        if name in self.running:
            self.running.remove(name)
        self.done_count += 1
        if result.status != "ok":
            self.failed += 1
        if not self.tty:
            mark = "ok" if result.status == "ok" else "FAILED"
            self._print(f"[{self.done_count}/{self.total}] {name}: {mark} ({result.duration_s:.1f} s)")
        elif result.status != "ok":
            self._print(f"FAILED {name}: {result.error}")
        self._draw()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def message(self, line: str) -> None:
        """A line printed above the bar."""
        self._print(line)
        self._draw()

    def _print(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(line + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        if not self.tty or not self.total:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        filled = int(24 * self.done_count / self.total)
        bar = "█" * filled + "░" * (24 - filled)
        failed = f", {self.failed} en échec" if self.failed else ""
        running = ", ".join(self.running) if self.done_count or self.running else "démarrage des noyaux…"
        line = f"{bar} {self.done_count}/{self.total}{failed} {time.perf_counter() - self._clock:.0f} s  {running}"
        self.stream.write("\r\x1b[2K" + line[: width - 1])
        self.stream.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the 'evaluation run' command")
