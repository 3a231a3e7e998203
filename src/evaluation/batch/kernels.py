"""Warm kernels: long-lived Jupyter kernels reset between reports, a papermill engine on them, the pool of workers."""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from evaluation.batch.export import _ANSI, _error_page, _failing_cell, export_html, report_navigation
from evaluation.batch.jobs import ReportJob, ReportResult, _now, _write_output
from evaluation.config import NOTEBOOKS_DIR, ROOT
from evaluation.errors import _display_path

if TYPE_CHECKING:
    import nbformat

_ENGINE_NAME = "evaluation-warm"
_KERNEL_NAME = "python3"


# --------------------------------------------------------------------------------------------------
# Warm kernels


def _preload_source(notebooks: Iterable[Path]) -> str:
    """The top-level ``import`` statements of the notebooks' code cells, each guarded."""
    statements: dict[str, None] = {}
    for path in notebooks:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in document.get("cells", []):
            if cell.get("cell_type") != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse("".join(source) if isinstance(source, list) else source)
            except SyntaxError:
                continue  # IPython syntax (magics): left to the report itself
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    statements[ast.unparse(node)] = None
    # Then what the first chart of a report would do (seaborn's import, the font cache): the kernels
    # wait for the inputs to be checked anyway.
    statements["from evaluation.present.engagement import warm_up; warm_up()"] = None
    return "\n".join(f"try:\n    exec({s!r}, {{}})\nexcept Exception:\n    pass" for s in statements)


def _setup_source(preload: str, shared: Path | None = None) -> str:
    """The code a kernel runs once when it starts: the run's shared folder, the imports, the state snapshot."""
    share = (
        f"__import__('evaluation.cache', fromlist=['share_through']).share_through({str(shared)!r})\n" if shared else ""
    )
    return f"{share}from evaluation.batch import kernel_state as _kernel_state\n{preload}\n_kernel_state.snapshot()\n"


#: Temporary folder of a warm kernel (its connection file and sockets), and the file naming its run.
_KERNEL_FOLDER_PREFIX = "evaluation-kernel-"
_KERNEL_FOLDER_OWNER = "run.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale_kernel_folders(before: float, folder: Path | None = None) -> list[Path]:
    """Remove the kernel folders that killed runs left in the temporary folder; returns them.

    Only ours: folders (not links) named ``evaluation-kernel-*``, owned by this user, last changed
    before ``before`` (a time stamp, the start of this run), and whose run (``run.pid``) is not a
    live process. A run killed with ``kill -9`` cannot remove its own.
    """
    base = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        names = [n for n in os.listdir(base) if n.startswith(_KERNEL_FOLDER_PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = base / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mtime >= before:
            continue
        try:
            pid = int((path / _KERNEL_FOLDER_OWNER).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            pid = None  # a folder of an older version, or of a run killed before it wrote its pid
        if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _no_follow(path: str, flags: int) -> int:
    """``open``'s opener for the run's own files (logs): never through a link planted in their place."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


class KernelLost(RuntimeError):
    """The worker's kernel died or stopped answering."""


class _WarmKernel:
    """One long-lived ``python3`` kernel, driven from a single worker thread."""

    def __init__(self, number: int, log_path: Path, preload: str, shared: Path | None = None) -> None:
        self.number = number
        self.log_path = log_path
        self.preload = preload
        self.shared = shared
        self.km: Any = None
        self.kc: Any = None
        self.pid: int | None = None
        self.runs = 0
        self.last_notebook: Any = None
        self._folder: str | None = None
        self._log: TextIO | None = None

    def start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self._folder = tempfile.mkdtemp(prefix=_KERNEL_FOLDER_PREFIX)
        with open(os.path.join(self._folder, _KERNEL_FOLDER_OWNER), "x", encoding="utf-8") as owner:
            owner.write(f"{os.getpid()}\n")  # so that a later run leaves the folder of a live run alone
        options: dict[str, Any] = {"kernel_name": _KERNEL_NAME}
        if os.name == "posix":  # Unix sockets: no port to race for between kernels starting together
            options |= {"transport": "ipc", "ip": os.path.join(self._folder, "kernel")}
        self.km = AsyncKernelManager(**options)
        self.km.connection_file = os.path.join(self._folder, "connection.json")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Open as long as the kernel runs.
        self._log = open(self.log_path, "a", encoding="utf-8", opener=_no_follow)  # noqa: SIM115
        self._log.write(f"{_now()} starting kernel {self.number}\n")
        self._log.flush()
        run_sync(self.km.start_kernel)(
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=self._log,
            stderr=self._log,
            cwd=str(NOTEBOOKS_DIR if NOTEBOOKS_DIR.is_dir() else ROOT),
        )
        self.pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        self._silent(_setup_source(self.preload, self.shared), timeout=600)
        self.runs = 0

    def _silent(self, code: str, timeout: float = 120) -> None:
        from jupyter_core.utils import run_sync

        messages: list[dict[str, Any]] = []
        try:
            reply = run_sync(self.kc.execute_interactive)(
                code, silent=True, store_history=False, timeout=timeout, output_hook=messages.append
            )
        except TimeoutError as err:
            raise KernelLost(f"the kernel did not answer within {timeout:g} s") from err
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelLost(f"kernel set-up failed: {content.get('ename')}: {content.get('evalue')}")

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def reset(self, cwd: Path) -> None:
        if not self.alive():
            raise KernelLost("the kernel is not running")
        self._silent(f"__import__('evaluation.batch.kernel_state', fromlist=['reset']).reset({str(cwd)!r})")

    def execute(self, job: ReportJob) -> nbformat.NotebookNode:
        """Run ``job`` with papermill in this kernel; raises as :func:`papermill.execute_notebook` does."""
        import papermill

        _register_engine()
        self.last_notebook = None
        self.runs += 1
        return papermill.execute_notebook(
            str(job.notebook),
            None,
            parameters=dict(job.parameters),
            engine_name=_ENGINE_NAME,
            kernel_name=_KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            warm_kernel=self,
        )

    def kill(self) -> None:
        """Stop the kernel process at once (from any thread)."""
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def shutdown(self, now: bool = False) -> None:
        from jupyter_core.utils import run_sync

        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=now)
        except Exception:  # noqa: BLE001 - a kernel already gone is fine
            self.kill()
        finally:
            self.km = self.kc = None
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def restart(self) -> None:
        self.kill()
        self.shutdown(now=True)
        self.start()


_engine_lock = threading.Lock()


def _register_engine() -> None:
    """papermill engine ``evaluation-warm``: papermill's nbclient engine on a worker's running kernel."""
    from papermill.engines import NBClientEngine, papermill_engines

    with _engine_lock:
        if _ENGINE_NAME in papermill_engines._engines:
            return

        class WarmKernelEngine(NBClientEngine):
            @classmethod
            def execute_managed_notebook(
                cls,
                nb_man: Any,
                kernel_name: str,
                *,
                warm_kernel: _WarmKernel,
                start_timeout: int = 60,
                execution_timeout: int | None = None,
                **kwargs: Any,
            ) -> Any:
                from papermill.clientwrap import PapermillNotebookClient
                from papermill.log import logger

                warm_kernel.last_notebook = nb_man.nb  # papermill marks the error in this object
                client = PapermillNotebookClient(
                    nb_man,
                    km=warm_kernel.km,
                    kernel_name=kernel_name,
                    log=logger,
                    log_output=False,
                    startup_timeout=start_timeout,
                    timeout=execution_timeout,
                )
                client.kc = warm_kernel.kc  # the worker's client: nbclient neither opens nor closes one
                return client.execute()

        papermill_engines.register(_ENGINE_NAME, WarmKernelEngine)


class _LogRouter(logging.Handler):
    """papermill's log records to the log file of the report the emitting thread is running."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.files: dict[int, TextIO] = {}
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        handle = self.files.get(record.thread or 0)
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.write(self.format(record) + "\n")


class KernelPool:
    """``workers`` threads, each with a warm kernel, executing jobs from a shared queue.

    :meth:`start` returns at once (the kernels start in the background); :meth:`events` yields
    ``("start", job, worker)`` and ``("done", result)`` as they happen, until every job is done.
    """

    def __init__(self, workers: int, *, log_dir: Path, preload: str = "", shared: Path | None = None) -> None:
        self.workers = max(1, workers)
        self.log_dir = log_dir
        self.preload = preload
        self.shared = shared
        self._jobs: queue.Queue[ReportJob] = queue.Queue()
        self._events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._stop = threading.Event()
        self._inputs_checked = threading.Event()
        self._kernels: list[_WarmKernel] = []
        self._threads: list[threading.Thread] = []
        self._router = _LogRouter()
        self._total = 0
        self._saved_level = logging.NOTSET

    def start(self, jobs: Sequence[ReportJob]) -> None:
        for job in jobs:
            self._jobs.put(job)
        self._total = len(jobs)
        logger = logging.getLogger("papermill")
        self._saved_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self._router)
        for number in range(1, min(self.workers, len(jobs)) + 1):
            kernel = _WarmKernel(number, self.log_dir / f"noyau-{number}.log", self.preload, self.shared)
            self._kernels.append(kernel)
            thread = threading.Thread(
                target=self._work, args=(kernel,), name=f"evaluation-kernel-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        # While the kernels start (other processes), import what the workers need, once: a worker
        # importing it would hold the others on the import lock anyway.
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

    def inputs_checked(self) -> None:
        """Let the workers run reports (they wait for it once their kernel has started)."""
        self._inputs_checked.set()

    def events(self) -> Iterator[tuple[Any, ...]]:
        done = exited = 0
        start_error = "no worker started"
        while done < self._total:
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                yield ("tick",)
                continue
            if event[0] == "exit":
                exited += 1
                start_error = event[2] or start_error
                if exited == len(self._threads):  # no kernel left: what remains cannot run
                    while True:
                        try:
                            job = self._jobs.get_nowait()
                        except queue.Empty:
                            break
                        done += 1
                        message = f"aucun noyau Jupyter n'a pu démarrer : {start_error}"
                        yield ("done", ReportResult(job, "failed", 0.0, message, started=_now(), finished=_now()))
                continue
            if event[0] == "done":
                done += 1
            yield event

    def close(self, abort: bool = False) -> None:
        """Wait for the workers (after :meth:`events` is exhausted); ``abort`` kills the kernels first."""
        if abort:
            self._stop.set()
            for kernel in self._kernels:
                kernel.kill()
        for thread in self._threads:
            # After an abort a worker may be blocked until a timeout on its dead kernel: it is a
            # daemon thread, and it writes nothing once the stop is set.
            thread.join(timeout=2 if abort else None)
        if abort:
            for kernel in self._kernels:  # the connection files of killed kernels
                if kernel._folder is not None:
                    shutil.rmtree(kernel._folder, ignore_errors=True)
        logger = logging.getLogger("papermill")
        logger.removeHandler(self._router)
        logger.setLevel(self._saved_level)

    def _work(self, kernel: _WarmKernel) -> None:
        error = None
        try:
            kernel.start()
        except Exception as err:  # noqa: BLE001 - reported with the jobs it cannot run
            error = f"{type(err).__name__}: {err}"
            kernel.shutdown(now=True)
            self._events.put(("exit", kernel.number, error))
            return
        try:
            # No report before the inputs are checked: an unreadable file stops the run, and the
            # kernels then read the checked inputs the run shares instead of checking them again.
            while not self._inputs_checked.wait(0.1) and not self._stop.is_set():
                pass
            while not self._stop.is_set():
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                self._events.put(("start", job, kernel.number))
                self._events.put(("done", self._run(kernel, job)))
        finally:
            kernel.shutdown(now=True)  # nothing to save: no need to wait for a clean exit
            self._events.put(("exit", kernel.number, error))

    def _run(self, kernel: _WarmKernel, job: ReportJob) -> ReportResult:
        started, clock = _now(), time.perf_counter()
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: tail -f works.
        with open(job.log_path, "w", encoding="utf-8", buffering=1, opener=_no_follow) as log:
            self._router.files[threading.get_ident()] = log
            try:
                log.write(
                    f"{started} report {job.name}: {_display_path(job.notebook)} "
                    f"{json.dumps(dict(job.parameters), ensure_ascii=False)}\n"
                    f"kernel {kernel.number} ({self.log_dir.name}/noyau-{kernel.number}.log), report {kernel.runs + 1} of this kernel\n"
                )
                log.flush()
                result = self._attempt(kernel, job, log, started, clock)
                log.write(
                    f"{_now()} status: {result.status} ({result.duration_s:.1f} s)"
                    + (f"; {result.error}" if result.error else "")
                    + "\n"
                )
                return result
            except Exception as err:  # noqa: BLE001 - a crash of one report must not stop the batch
                log.write(f"{_now()} unexpected failure: {type(err).__name__}: {err}\n")
                return ReportResult(
                    job, "failed", time.perf_counter() - clock, f"{type(err).__name__}: {err}", started=started
                )
            finally:
                self._router.files.pop(threading.get_ident(), None)

    def _attempt(self, kernel: _WarmKernel, job: ReportJob, log: TextIO, started: str, clock: float) -> ReportResult:
        from nbclient.exceptions import DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        restarts = 0
        notebook = None
        error: str | None = None
        while True:
            try:
                kernel.reset(job.notebook.parent)
                notebook = kernel.execute(job)
                error = None
            except PapermillExecutionError as err:
                notebook = kernel.last_notebook
                error = f"{err.ename}: {err.evalue}"
                log.write(_ANSI.sub("", "\n".join(err.traceback or [])) + "\n")
            except (DeadKernelError, KernelLost) as err:
                if self._stop.is_set():
                    return ReportResult(job, "interrupted", time.perf_counter() - clock, "interrupted", started=started)
                log.write(f"{_now()} kernel {kernel.number} lost ({err}); restarting it\n")
                restarts += 1
                kernel.restart()
                if restarts == 1:
                    continue  # the state left by earlier reports may be the cause: one more try, fresh
                notebook = kernel.last_notebook
                error = "le noyau Jupyter s'est arrêté pendant l'exécution (mémoire épuisée ou arrêt brutal)"
            except Exception as err:  # noqa: BLE001 - any other failure of the report is recorded
                notebook = kernel.last_notebook
                text = str(err).strip()
                error = f"{type(err).__name__}: {text.splitlines()[-1] if text else ''}"
                log.write(f"{type(err).__name__}: {text}\n")
            break
        if self._stop.is_set():  # interrupted: never replace a good report by a half-made one
            return ReportResult(job, "interrupted", time.perf_counter() - clock, "interrupted", started=started)
        cell = None
        if notebook is not None:
            import nbformat

            cell, cell_error = _failing_cell(notebook)
            error = cell_error if error and cell_error else error
            _write_output(job.ipynb_path, nbformat.writes(notebook))
            try:
                page = export_html(notebook, job.title, failure=error, navigation=report_navigation(job))
            except Exception as err:  # noqa: BLE001
                page = _error_page(job.title, f"export HTML impossible : {err}")
                error = error or f"HTML export failed: {err}"
        else:
            page = _error_page(job.title, error or "aucun carnet produit")
        _write_output(job.html_path, page)
        return ReportResult(
            job,
            "failed" if error else "ok",
            time.perf_counter() - clock,
            error,
            cell,
            started=started,
            finished=_now(),
            kernel=(kernel.number, kernel.runs),
            restarts=restarts,
        )


def run_reports(
    jobs: Sequence[ReportJob],
    *,
    n_jobs: int = 1,
    on_start: Callable[[ReportJob], None] | None = None,
    on_done: Callable[[ReportResult, int, int], None] | None = None,
    log_dir: Path | None = None,
) -> list[ReportResult]:
    """Execute ``jobs`` on ``n_jobs`` warm kernels; results in the order of ``jobs``.

    Kernel logs go to ``log_dir`` (default: a ``logs`` folder beside the first job's log folder).
    """
    if not jobs:
        return []
    folder = log_dir or jobs[0].log_path.parent.parent
    pool = KernelPool(n_jobs, log_dir=folder, preload=_preload_source({j.notebook for j in jobs}))
    results: dict[str, ReportResult] = {}
    pool.start(jobs)
    pool.inputs_checked()  # the reports check their inputs themselves
    try:
        for event in pool.events():
            if event[0] == "start" and on_start:
                on_start(event[1])
            elif event[0] == "done":
                results[event[1].job.name] = event[1]
                if on_done:
                    on_done(event[1], len(results), len(jobs))
    except BaseException:
        pool.close(abort=True)
        raise
    pool.close()
    return [results[job.name] for job in jobs]
