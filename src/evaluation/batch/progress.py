"""One progress bar for the run (stderr): a tqdm bar redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from evaluation.batch.jobs import ReportResult

if TYPE_CHECKING:
    from tqdm import tqdm


# --------------------------------------------------------------------------------------------------
# Progress

#: The bar's line: 24 cells, reports done / to run, the failures (tqdm's postfix, which it writes
#: after ", "), the seconds since the run began, and the reports running (the description).
_BAR_FORMAT = "{bar:24} {n_fmt}/{total_fmt}{postfix} {elapsed_s:.0f} s  {desc}"


class ProgressBar:
    """One overall progress bar on a terminal: reports done, failures, and the reports running.

    On a terminal the line is a tqdm bar redrawn in place (trimmed to the terminal's width, ASCII
    when the terminal cannot show Unicode), with each failure and message printed above it;
    otherwise (a log file, CI) one line is printed per finished report. The runner calls
    :meth:`begin`, then :meth:`start` and :meth:`done` for each report, :meth:`tick` to update the
    time, :meth:`message` for a line of its own, and :meth:`close`.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = self.done_count = self.failed = 0
        self.running: list[str] = []
        self._bar: tqdm | None = None

    def begin(self, total: int, cached: int = 0) -> None:
        self.total = total
        if cached:
            self._print(f"{cached} report(s) unchanged since the last run (cached)")
        if self.tty and total:
            from tqdm import tqdm  # not imported by `import evaluation`: only a run on a terminal needs it

            self._bar = tqdm(
                total=total,
                desc=self._running(),
                file=self.stream,
                bar_format=_BAR_FORMAT,
                dynamic_ncols=True,  # the terminal's width, read again at each redraw
                leave=False,  # the bar is erased at the end: the run's summary follows
                mininterval=0,  # the runner redraws at its own pace (a report, a tick)
            )
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
        if self._bar is not None:
            self._bar.close()  # erases the line (leave=False)
            self._bar = None

    def message(self, line: str) -> None:
        """A line printed above the bar."""
        self._print(line)
        self._draw()

    def _print(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)  # clears the bar, writes the line, redraws the bar
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self._bar is None:
            return
        self._bar.n = self.done_count
        self._bar.set_postfix_str(f"{self.failed} en échec" if self.failed else "", refresh=False)
        self._bar.set_description_str(self._running(), refresh=False)
        self._bar.refresh()

    def _running(self) -> str:
        """The reports running, or, before the first has started, the kernels' start."""
        return ", ".join(self.running) if self.done_count or self.running else "démarrage des noyaux…"


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the 'evaluation run' command")
