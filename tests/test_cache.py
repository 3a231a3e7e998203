"""The package's one cache (evaluation.cache): per key in memory, shared between the processes of a run."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from evaluation import cache
from evaluation.config import DEMO_DATA_DIR
from evaluation.intake import load_cohorts, load_monitoring
from evaluation.io import load_dataset
from evaluation.referential.plan import load_plan

FIXTURES = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty memory and no shared folder, and leaves them so."""
    cache.clear()
    before = cache.share_through(None)
    yield
    cache.clear()
    cache.share_through(before)


@pytest.fixture()
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    return folder


def monitoring_dataset(tmp_path: Path, value: int = 7) -> Path:
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True, exist_ok=True)
    (root / "monitoring" / "m.csv").write_text(f"indicator_id;year;value\n1.1;2019;{value}\n", encoding="utf-8")
    (root / "dataset.yaml").write_text("name: test\ndemo: true\nprovenance: tests\n", encoding="utf-8")
    return root


def test_a_result_is_computed_once_per_key():
    calls = []

    def compute(value):
        calls.append(value)
        return [value]

    assert cache.remember(("a",), lambda: compute(1)) == [1]
    assert cache.remember(("a",), lambda: compute(2)) == [1]  # same key: the first result
    assert cache.remember(("b",), lambda: compute(3)) == [3]
    assert calls == [1, 3]


def test_memory_keeps_the_most_recent_entries_only():
    calls = []
    for number in range(cache.MAX_ENTRIES + 1):
        cache.remember(("n", number), lambda number=number: calls.append(number) or number)
    cache.remember(("n", cache.MAX_ENTRIES), lambda: calls.append("again"))  # the newest: kept
    cache.remember(("n", 0), lambda: calls.append("again") or 0)  # the oldest: pushed out
    assert calls == [*range(cache.MAX_ENTRIES + 1), "again"]


def test_an_error_is_not_remembered():
    def fail():
        raise ValueError("unreadable")

    with pytest.raises(ValueError):
        cache.remember(("e",), fail)
    assert cache.remember(("e",), lambda: "read") == "read"


def test_a_shared_result_is_read_by_another_process(shared):
    cache.share_through(shared)
    assert cache.remember(("k", 1), lambda: {"x": 1}, shared_key=("k", 1)) == {"x": 1}
    assert len(list(shared.glob("*.pickle"))) == 1
    cache.clear()  # another process: nothing in memory

    def not_again():
        raise AssertionError("computed again")

    assert cache.remember(("k", 1), not_again, shared_key=("k", 1)) == {"x": 1}
    with pytest.raises(AssertionError, match="computed again"):  # another key is not matched
        cache.remember(("k", 2), not_again, shared_key=("k", 2))


def test_without_a_shared_key_nothing_is_written(shared):
    cache.share_through(shared)
    cache.remember(("person-level",), lambda: "records")
    assert list(shared.iterdir()) == []


def test_a_folder_others_may_write_is_not_used(shared):
    """Pickles run code when read: a folder other users may write (0o777) is ignored, read nor written."""
    shared.chmod(0o777)
    cache.share_through(shared)
    assert cache.shared_folder() is None
    cache.remember(("k",), lambda: 1, shared_key=("k",))
    assert list(shared.iterdir()) == []
    shared.chmod(0o700)
    cache.clear()
    cache.remember(("k",), lambda: 1, shared_key=("k",))
    assert len(list(shared.glob("*.pickle"))) == 1


def test_a_link_in_place_of_a_shared_result_is_not_followed(shared, tmp_path):
    cache.share_through(shared)
    cache.remember(("k",), lambda: "mine", shared_key=("k",))
    (pickled,) = shared.glob("*.pickle")
    planted = tmp_path / "planted.pickle"
    pickled.rename(planted)
    os.symlink(planted, pickled)
    cache.clear()
    assert cache.remember(("k",), lambda: "computed", shared_key=("k",)) == "computed"


def test_sharing_is_set_for_a_block_then_restored(shared, tmp_path):
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    cache.share_through(other)
    with cache.sharing(shared):
        assert cache.shared_folder() == shared
    assert cache.shared_folder() == other


def _compute_in_child(folder: str, counter: str, wait: bool, barrier) -> None:  # noqa: ANN001 - a Barrier
    from evaluation import cache as child_cache

    child_cache.clear()
    child_cache.share_through(folder)
    barrier.wait()

    def slow() -> str:
        with open(counter, "a", encoding="utf-8") as handle:
            handle.write("computed\n")
        time.sleep(0.6)
        return "value"

    value = child_cache.remember(("slow",), slow, shared_key=("slow",), wait=wait)
    with open(counter + ".results", "a", encoding="utf-8") as handle:
        handle.write(value + "\n")


@pytest.mark.parametrize(("wait", "computations"), [(True, 1), (False, 3)])
def test_processes_wait_for_the_one_computing_a_result(shared, tmp_path, wait, computations):
    """Three processes ask for the same result at the same moment (a barrier): with ``wait`` one
    computes it and the others read it; without, all three compute it (the 0.6 s computation is far
    longer than the processes' start apart after the barrier)."""
    context = multiprocessing.get_context("fork")
    counter = tmp_path / "counter"
    barrier = context.Barrier(3)
    children = [
        context.Process(target=_compute_in_child, args=(str(shared), str(counter), wait, barrier)) for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert counter.read_text(encoding="utf-8").count("computed") == computations
    assert Path(str(counter) + ".results").read_text(encoding="utf-8").split() == ["value"] * 3


def test_a_kernel_is_given_the_shared_folder_by_its_set_up_code(shared):
    """The run hands its folder to each kernel in the code the kernel runs at start, not by the environment."""
    from evaluation.batch.kernels import _setup_source

    code = _setup_source("", shared) + "from evaluation import cache\nprint(cache.shared_folder())\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALUATION")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(shared)
    assert "share_through" not in _setup_source("", None)


def test_checked_inputs_are_shared_but_cohort_records_never(shared, tmp_path, monkeypatch):
    """Monitoring rows (counts per indicator) go to the run's folder and another process reads them
    instead of checking the files again, until a file changes; cohort records, about persons, never do."""
    from evaluation import intake

    plan = load_plan()
    cache.share_through(shared)
    root = monitoring_dataset(tmp_path)
    first, _ = load_monitoring(load_dataset(root), plan)
    assert len(list(shared.glob("*.pickle"))) == 1
    cache.clear()

    def not_again(*args, **kwargs):
        raise AssertionError("the files were checked again")

    monkeypatch.setattr(intake.monitoring, "_load", not_again)
    again, _ = load_monitoring(load_dataset(root), plan)
    pd.testing.assert_frame_equal(again, first)
    monitoring_dataset(tmp_path, value=8)  # the file changes: not matched
    with pytest.raises(AssertionError, match="checked again"):
        load_monitoring(load_dataset(root), plan)

    before = set(shared.iterdir())
    load_cohorts(load_dataset(DEMO_DATA_DIR), plan)
    assert set(shared.iterdir()) == before


def test_the_cohort_release_is_built_once_for_the_run(shared, tmp_path, monkeypatch):
    """The exported tables and the cohort reports render the same release; with a shared folder, a
    process that has not built it reads it; a corrected cohort file gives another release."""
    from evaluation.present import cohort
    from evaluation.publish import cohort_release

    plan = load_plan()
    data = tmp_path / "demo"
    shutil.copytree(DEMO_DATA_DIR, data)
    dataset = load_dataset(data)
    cache.share_through(shared)
    built, _ = cohort.load_release(plan, dataset, 2021)
    cache.clear()

    def not_again(*args, **kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr(cohort_release, "build_release", not_again)
    read, _ = cohort.load_release(plan, dataset, 2021)
    pd.testing.assert_frame_equal(read.rates, built.rates)
    pd.testing.assert_frame_equal(read.entrants, built.entrants)
    with pytest.raises(AssertionError, match="built again"):  # another year
        cohort.load_release(plan, dataset, 2020)
    cohort_file = sorted((data / "cohorts").iterdir())[0]
    cohort_file.write_bytes(cohort_file.read_bytes() + b"\n")
    with pytest.raises(AssertionError, match="built again"):  # the files changed
        cohort.load_release(plan, dataset, 2021)


def test_the_plan_is_read_once_per_content_of_its_files(tmp_path):
    """The same files give the same Plan object (other keys hold its id); an edited sheet gives a new
    one, also in a session that has read the plan before (a JupyterLab kernel)."""
    from evaluation.config import PLAN_DIR

    folder = tmp_path / "plan"
    shutil.copytree(PLAN_DIR, folder)
    first = load_plan(folder)
    assert load_plan(folder) is first
    sheet = folder / "sheets" / "12.yaml"
    text = sheet.read_text(encoding="utf-8")
    title = first.engagement("12").title
    assert text.count(title) >= 1
    sheet.write_text(text.replace(title, title + " (modifié)", 1), encoding="utf-8")
    edited = load_plan(folder)
    assert edited is not first and edited.engagement("12").title == title + " (modifié)"


def test_the_cohort_release_depends_on_the_pseudonymisation_key(tmp_path, monkeypatch):
    """A file with direct identifiers is refused without the key and read with it: the release built
    before the key was set must not be returned after (the intake keys on the key's digest; so must
    the release)."""
    from evaluation.intake.pseudonymisation import PSEUDONYM_KEY_ENV
    from evaluation.present import cohort
    from evaluation.publish import cohort_release

    plan = load_plan()
    dataset = load_dataset(DEMO_DATA_DIR)
    built = []
    original = cohort_release.build_release
    monkeypatch.setattr(cohort_release, "build_release", lambda *a, **k: built.append(1) or original(*a, **k))
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    cohort.load_release(plan, dataset, 2021)
    cohort.load_release(plan, dataset, 2021)
    assert len(built) == 1
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "a key of sixteen characters or more")
    cohort.load_release(plan, dataset, 2021)
    assert len(built) == 2


def test_the_cohort_problems_never_reach_the_shared_folder(shared, tmp_path):
    """The release is shared between the processes of a run; the intake's problems, which quote the
    cells of a person's row (here a date in 2099), are not: each process has its own."""
    from evaluation.present import cohort

    data = tmp_path / "demo"
    shutil.copytree(DEMO_DATA_DIR, data)
    (cohort_file,) = (data / "cohorts").iterdir()
    with cohort_file.open("a", encoding="utf-8") as handle:
        handle.write("P999999,1,2099-01-01,,hors QPV,M,16-25,infra-bac,,,2099-02-01\n")
    cache.share_through(shared)
    release, problems = cohort.load_release(load_plan(), load_dataset(data), 2021)
    assert any("2099-01-01" in str(p.value) for p in problems)  # the problem is there, in this process
    pickles = list(shared.glob("*.pickle"))
    assert len(pickles) == 1
    assert b"2099" not in pickles[0].read_bytes()
    cache.clear()  # another process: the release from the folder, the problems from its own intake
    again, problems_again = cohort.load_release(load_plan(), load_dataset(data), 2021)
    assert [str(p) for p in problems_again] == [str(p) for p in problems]
    pd.testing.assert_frame_equal(again.rates, release.rates)
