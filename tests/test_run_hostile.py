"""`evaluation run` against hostile or broken run plans and output folders (issue 11).

Each case is built in ``tmp_path`` and must end with exit status 1 or 2 and one message naming the
file (and line), without a traceback and without touching any file outside ``--out``. The messages
are pinned whole where they are the user's only guide.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
from batch_files import notebook as _notebook
from batch_files import write as _write

from evaluation.batch import jobs as batch_jobs
from evaluation.batch import kernels
from evaluation.batch import runner as reports
from evaluation.cli import main


@pytest.fixture
def notebooks(tmp_path: Path, monkeypatch) -> Path:
    """``tmp_path/notebooks`` standing for the package's ``notebooks/``, with one harmless notebook."""
    folder = tmp_path / "notebooks"
    _notebook(folder / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""\nprogramme: str = "1"', "print(year)")
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", folder)
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "dataset.yaml", "name: mini\ndemo: true\nprovenance: test\n")
    return folder


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    """A notebook outside notebooks/ that would leave a mark if it ever ran."""
    mark = tmp_path / "x" / "ran"
    return _notebook(
        tmp_path / "x" / "evil.ipynb",
        'year: int = 2021\ndata_dir: str = ""',
        f"open({str(mark)!r}, 'w').write('ran')",
    )


def _run(tmp_path: Path, data: Path, plan_file: Path, capsys) -> tuple[int, list[str]]:
    argv = ["run", "--run-plan", str(plan_file), "--data", str(data), "--out", str(tmp_path / "out"), "--jobs", "1"]
    status = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err.strip().splitlines()


# --------------------------------------------------------------------------------------------------
# 1. Run plans run only the notebooks of notebooks/


@pytest.mark.parametrize("written", ["absolute", "../x/evil.ipynb", "../../x/evil.ipynb", "symlink"])
def test_a_run_plan_cannot_run_a_notebook_outside_notebooks(tmp_path, notebooks, data, evil, capsys, written):
    if written == "absolute":
        written = str(evil)
    elif written == "symlink":  # a link in notebooks/ leading out of it
        (notebooks / "lien.ipynb").symlink_to(evil)
        written = "lien.ipynb"
    plan_file = _write(tmp_path / "plan.yaml", f"year: 2021\nreports:\n  fiche:\n    notebook: {written}\n")
    status, err = _run(tmp_path, data, plan_file, capsys)
    assert status == 2
    assert err == [
        f"evaluation: error: {plan_file}, line 4, entry 'fiche': 'notebook' {written!r} is outside "
        f"{notebooks}/ (a run plan runs only the notebooks of notebooks/: name one, e.g. notebook: engagement.ipynb)"
    ]
    assert not (tmp_path / "x" / "ran").exists()
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------
# 2. Titles: plain substitution only


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("{item:>99999999999}", "format spec ':>99999999999' not allowed"),
        ("{item!r}", "format spec '!r' not allowed"),
        ("{item.__class__}", "field {item.__class__} not allowed"),
        ("{item[0]}", "field {item[0]} not allowed"),
        ("Cohorte {", "ValueError: Single '{' encountered in format string"),
    ],
)
def test_a_title_cannot_hold_a_format_spec(tmp_path, notebooks, data, capsys, title, reason):
    """`{item:>99999999999}` asked str.format for 100 GB of padding (MemoryError traceback)."""
    plan_file = _write(
        tmp_path / "plan.yaml",
        f"""
        year: 2021
        reports:
          cohortes:
            notebook: fiche.ipynb
            title: "{title}"
            for_each: ["1"]
            parameter: programme
        """,
    )
    status, err = _run(tmp_path, data, plan_file, capsys)
    assert status == 2
    assert err == [
        f"evaluation: error: {plan_file}, line 5, entry 'cohortes': 'title' {title!r} cannot be filled ({reason}) "
        "(use {item} for the item, {title} for a sheet's title; double other braces)"
    ]
    assert not (tmp_path / "out").exists()


def test_plain_titles_are_still_filled(tmp_path, notebooks):
    from evaluation.batch.runplan import load_run_plan
    from evaluation.referential.plan import load_plan

    plan_file = _write(
        tmp_path / "plan.yaml",
        """
        year: 2021
        reports:
          cohortes:
            notebook: fiche.ipynb
            title: "Cohorte {item} ({{brut}})"
            for_each: ["1", "all"]
            parameter: programme
        """,
    )
    run_plan = load_run_plan(plan_file, load_plan(), notebooks_dir=notebooks)
    assert [r.title for r in run_plan.reports] == ["Cohorte 1 ({brut})", "Cohorte all ({brut})"]


# --------------------------------------------------------------------------------------------------
# 3. The output folder: never written through a link, never a system folder, never someone else's


def _fiche_plan(tmp_path: Path) -> Path:
    return _write(tmp_path / "plan.yaml", "year: 2021\nreports:\n  fiche:\n    notebook: fiche.ipynb\n")


def test_a_planted_lock_link_is_refused_and_its_target_kept(tmp_path, notebooks, data, capsys):
    victim = _write(tmp_path / "precieux.txt", "à garder\n")
    root = tmp_path / "out" / "2021"
    root.mkdir(parents=True)
    (root / ".verrou").symlink_to(victim)
    status, err = _run(tmp_path, data, _fiche_plan(tmp_path), capsys)
    assert status == 2
    assert err == [
        f"evaluation: error: {root}/.verrou: a symbolic link (to {victim}) in the output folder; the run never "
        "writes through a link: remove it, or give another --out"
    ]
    assert victim.read_text(encoding="utf-8") == "à garder\n"


def test_the_lock_is_never_opened_through_a_link(tmp_path):
    """The folder check and the lock's O_NOFOLLOW both refuse: a link made after the check is refused too."""
    victim = _write(tmp_path / "precieux.txt", "à garder\n")
    root = tmp_path / "2021"
    root.mkdir()
    (root / ".verrou").symlink_to(victim)
    with pytest.raises(reports.UsageError, match="a symbolic link where the run keeps its lock"):
        reports._RunLock(root).__enter__()
    assert victim.read_text(encoding="utf-8") == "à garder\n"


def test_a_planted_shared_inputs_link_is_refused_and_its_target_untouched(tmp_path, notebooks, data, capsys):
    target = tmp_path / "cible"
    target.mkdir(mode=0o755)
    root = tmp_path / "out" / "2021"
    root.mkdir(parents=True)
    (root / ".entrees-verifiees").symlink_to(target)
    status, err = _run(tmp_path, data, _fiche_plan(tmp_path), capsys)
    assert status == 2
    assert err[-1].startswith(f"evaluation: error: {root}/.entrees-verifiees: a symbolic link (to {target})")
    assert (target.stat().st_mode & 0o777) == 0o755
    assert list(target.iterdir()) == []


def test_shared_inputs_remove_a_link_by_its_name_and_create_their_folder_exclusively(tmp_path, monkeypatch):
    """Even past the folder check (a link made meanwhile), the link is removed, never followed."""
    target = tmp_path / "cible"
    target.mkdir(mode=0o755)
    (target / "garde.txt").write_text("x", encoding="utf-8")
    root = tmp_path / "2021"
    root.mkdir()
    (root / ".entrees-verifiees").symlink_to(target)
    shared = reports._SharedInputs(root)
    shared.clear()
    assert not os.path.lexists(root / ".entrees-verifiees")
    assert (target / "garde.txt").is_file() and (target.stat().st_mode & 0o777) == 0o755
    monkeypatch.setenv("EVALUATION_UNUSED", "1")
    shared.open()
    try:
        folder = root / ".entrees-verifiees"
        assert folder.is_dir() and not folder.is_symlink() and (folder.stat().st_mode & 0o777) == 0o700
    finally:
        shared.close()


@pytest.mark.parametrize("out", ["/", "/etc", "/usr", "/usr/local/bin", "/tmp", "~"])
def test_a_system_folder_is_refused_as_out(tmp_path, notebooks, data, capsys, out):
    shown = str(Path(out).expanduser())
    plan_file = _fiche_plan(tmp_path)
    argv = ["run", "--run-plan", str(plan_file), "--data", str(data), "--out", shown, "--jobs", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"evaluation: error: --out {shown}: a filesystem root or system folder; give a folder of its own for "
        "the deliverables (e.g. --out ~/livrables-evaluation)"
    ]
    assert not (Path(shown) / "2021").exists()


def test_a_folder_of_other_files_is_refused(tmp_path, notebooks, data, capsys):
    root = tmp_path / "out" / "2021"
    root.mkdir(parents=True)
    _write(root / "budget.xlsx", "le tableur de quelqu'un\n")
    (root / "fiche").mkdir()
    _write(root / "manifest.json", '{"autre": "outil"}')
    status, err = _run(tmp_path, data, _fiche_plan(tmp_path), capsys)
    assert status == 2
    assert err == [
        f"evaluation: error: {root}: holds files that no 'evaluation run' wrote (budget.xlsx, fiche, manifest.json; "
        "no manifest.json of this tool); give --out an empty or new folder, or move these files away"
    ]
    assert sorted(p.name for p in root.iterdir()) == ["budget.xlsx", "fiche", "manifest.json"]
    assert (root / "budget.xlsx").read_text(encoding="utf-8") == "le tableur de quelqu'un\n"


# --------------------------------------------------------------------------------------------------
# 4. Recovery: a killed run resumes, a full disk is named, the index is always written, no leftovers


class _Killed(BaseException):
    """Stands for kill -9: nothing of the run's clean-up may count, so the test restores the manifest
    as it was on disk at that moment."""


class _FakePool:
    """The kernel pool's interface, producing each report at once (no kernel: these tests are about
    the run's bookkeeping). ``kill_after``: raise :class:`_Killed` after that many reports."""

    runs: list[list[str]] = []
    manifests: list[bytes] = []
    kill_after: int | None = None

    def __init__(self, workers, *, log_dir, preload="", shared=None):
        self.jobs = []

    def start(self, jobs):
        self.jobs = list(jobs)
        _FakePool.runs.append([j.name for j in self.jobs])

    def inputs_checked(self):
        pass

    def events(self):
        for done, job in enumerate(self.jobs, start=1):
            yield ("start", job, 1)
            for path in (job.html_path, job.ipynb_path):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(job.name, encoding="utf-8")
            yield ("done", reports.ReportResult(job, "ok", 0.1, started=reports._now(), finished=reports._now()))
            manifest = job.html_path.parents[1] / "manifest.json"  # as written after this report
            _FakePool.manifests.append(manifest.read_bytes())
            if _FakePool.kill_after == done:
                raise _Killed

    def close(self, abort=False):
        pass


@pytest.fixture
def fake_pool(monkeypatch):
    monkeypatch.setattr(reports, "KernelPool", _FakePool)
    monkeypatch.setattr(reports, "package_fingerprint", lambda: "0.1.0+test")
    _FakePool.runs, _FakePool.manifests, _FakePool.kill_after = [], [], None
    return _FakePool


def _two_kinds(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "plan.yaml",
        """
        year: 2021
        reports:
          premier:
            notebook: fiche.ipynb
          second:
            notebook: fiche.ipynb
        """,
    )


def _entries(root: Path) -> dict[str, dict]:
    import json

    return {r["name"]: r for r in json.loads((root / "manifest.json").read_text(encoding="utf-8"))["reports"]}


def test_a_killed_run_resumes_after_the_reports_it_finished(tmp_path, notebooks, data, fake_pool, capsys):
    """Each report's cache key is in the manifest as soon as it is done, not at the end of the run."""
    plan_file = _two_kinds(tmp_path)
    root = tmp_path / "out" / "2021"
    fake_pool.kill_after = 1
    with pytest.raises(_Killed):
        _run(tmp_path, data, plan_file, capsys)
    (root / "manifest.json").write_bytes(fake_pool.manifests[0])  # what kill -9 leaves on disk
    killed = _entries(root)
    assert killed["premier/rapport"]["status"] == "ok" and killed["premier/rapport"]["cache_key"]
    assert killed["second/rapport"]["status"] == "running" and killed["second/rapport"]["cache_key"] is None
    fake_pool.kill_after = None
    status, _err = _run(tmp_path, data, plan_file, capsys)
    assert status == 0
    assert fake_pool.runs == [["premier/rapport", "second/rapport"], ["second/rapport"]]
    after = _entries(root)
    assert after["premier/rapport"]["status"] == "cached"
    assert after["second/rapport"]["reason"] == "previous run did not finish"


def test_a_full_disk_names_the_file(tmp_path, notebooks, data, fake_pool, monkeypatch, capsys):
    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")  # as os.write raises it: no file name

    monkeypatch.setattr(batch_jobs, "atomic_write_text", full)  # every output goes through jobs._write_output
    status, err = _run(tmp_path, data, _two_kinds(tmp_path), capsys)
    root = tmp_path / "out" / "2021"
    assert status == 2
    assert err == [
        f"evaluation: error: {root}/manifest.json: cannot be written: No space left on device "
        "(free some space on that disk, or give another --out)"
    ]
    assert fake_pool.runs == []  # stopped before any report
    assert not (root / ".entrees-verifiees").exists()


def test_the_index_is_written_when_the_run_stops_part_way(tmp_path, notebooks, data, fake_pool, monkeypatch, capsys):
    def unreadable(plan, dataset, say):
        raise reports.UsageError("an input file is unreadable: fix it (see above) before producing the reports")

    monkeypatch.setattr(reports, "_validate", unreadable)
    status, err = _run(tmp_path, data, _two_kinds(tmp_path), capsys)
    root = tmp_path / "out" / "2021"
    assert status == 2
    assert err[-1] == "evaluation: error: an input file is unreadable: fix it (see above) before producing the reports"
    page = (root / "index.html").read_text(encoding="utf-8")
    assert page.count('<tr class="failed">') == 2 and "passage arrêté : an input file is unreadable" in page
    assert {e["status"] for e in _entries(root).values()} == {"failed"}


def test_kernel_folders_of_killed_runs_are_removed_at_the_next_start(tmp_path, monkeypatch):
    """Only ours: a folder (not a link), named evaluation-kernel-*, older than the run, whose run is dead."""
    import subprocess
    import sys
    import time

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    base = tmp_path / "tmp"
    base.mkdir()
    outside = tmp_path / "ailleurs"
    outside.mkdir()

    def folder(name: str, pid: int | None) -> Path:
        path = base / name
        path.mkdir()
        (path / "connection.json").write_text("{}", encoding="utf-8")
        if pid is not None:
            (path / "run.pid").write_text(f"{pid}\n", encoding="utf-8")
        return path

    killed = folder("evaluation-kernel-tue", dead_pid)
    legacy = folder("evaluation-kernel-ancien", None)
    live = folder("evaluation-kernel-vivant", os.getppid())
    other = folder("autre-outil-1", dead_pid)
    (base / "evaluation-kernel-lien").symlink_to(outside)
    old = time.time() - 3600
    for path in (killed, legacy, live, other):
        os.utime(path, (old, old))
    newer = folder("evaluation-kernel-recent", dead_pid)  # made after the run started: not ours to judge
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    removed = reports.remove_stale_kernel_folders(time.time() - 60)
    assert sorted(p.name for p in removed) == ["evaluation-kernel-ancien", "evaluation-kernel-tue"]
    assert sorted(p.name for p in base.iterdir()) == [
        "autre-outil-1",
        "evaluation-kernel-lien",
        "evaluation-kernel-recent",
        "evaluation-kernel-vivant",
    ]
    assert outside.is_dir() and newer.is_dir() and live.is_dir()


def test_a_year_folder_that_is_a_link_is_refused(tmp_path, notebooks, data, capsys):
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "2021").symlink_to(elsewhere)
    status, err = _run(tmp_path, data, _fiche_plan(tmp_path), capsys)
    assert status == 2
    assert err == [
        f"evaluation: error: {tmp_path}/out/2021: a symbolic link (to {elsewhere}); the run never writes through "
        "a link: remove it, or give another --out"
    ]
    assert list(elsewhere.iterdir()) == []


def test_logs_are_never_opened_through_a_link(tmp_path):
    victim = _write(tmp_path / "precieux.txt", "à garder\n")
    (tmp_path / "rapport.log").symlink_to(victim)
    with pytest.raises(OSError) as info:
        open(tmp_path / "rapport.log", "w", encoding="utf-8", opener=kernels._no_follow)
    assert info.value.errno == errno.ELOOP
    assert victim.read_text(encoding="utf-8") == "à garder\n"
