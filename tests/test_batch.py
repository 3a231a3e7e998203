"""The batch (`evaluation run`): the whole demo year, the cache, the manifest, failures, interruptions, and
warm kernels that give the same outputs as fresh ones.

The whole year 2021 runs once (module fixture) and its outputs serve several tests; the other tests use
tiny notebooks written in a temporary folder, so that they take a kernel start-up each, not a report.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import openpyxl
import pandas as pd
import pytest
from batch_files import notebook as _notebook
from batch_files import write as _write

from evaluation.batch import runner as reports
from evaluation.batch.jobs import ReportJob
from evaluation.batch.kernels import run_reports
from evaluation.batch.progress import ProgressBar
from evaluation.batch.runplan import load_run_plan
from evaluation.cli import main
from evaluation.config import PARAMS_DIR, ROOT
from evaluation.io import load_dataset
from evaluation.present.tables import README_SHEET, SHEET_NAMES, build_tables, export_table
from evaluation.referential.plan import load_plan
from evaluation.stats.monitoring import load_monitoring_data, status_counts

PLAN = load_plan()
DEMO = load_dataset()


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def _entries(root: Path) -> dict[str, dict]:
    return {r["name"]: r for r in _manifest(root)["reports"]}


def _outputs(notebook: nbformat.NotebookNode) -> list:
    """Every code cell's source and outputs; execution counts, metadata and image bytes left out."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        shown = []
        for output in cell.outputs:
            if output.output_type == "stream":
                shown.append(("stream", output.name, output.text))
            elif output.output_type == "error":
                shown.append(("error", output.ename, output.evalue))
            else:
                data = {k: ("<image>" if k.startswith("image/") else v) for k, v in output.data.items()}
                shown.append((output.output_type, data))
        cells.append((cell.source, shown))
    return cells


@pytest.fixture
def stable_package(monkeypatch):
    """Other edits of the package while a test runs must not void the cache it checks."""
    monkeypatch.setattr(reports, "package_fingerprint", lambda: "0.1.0+test")


@pytest.fixture
def mini_data(tmp_path: Path, monkeypatch) -> Path:
    """A data folder with no input file: every report and table still runs (empty monitoring).

    The tests' notebooks are written under ``tmp_path``: it stands for ``notebooks/`` (run plans
    run only the notebooks of that folder)."""
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", tmp_path)
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "dataset.yaml", "name: mini\ndemo: true\nprovenance: test\n")
    return folder


# --------------------------------------------------------------------------------------------------
# The whole demo year


@pytest.fixture(scope="module")
def whole_year(tmp_path_factory):
    """`evaluation run --year 2021` on the demo data, then the same command again (all cached).

    Report kinds whose notebook is not written yet are left out with --only (the run would stop,
    naming the missing notebook: see test_runplan.py).
    """
    out = tmp_path_factory.mktemp("deliverables")
    run_plan = load_run_plan(PARAMS_DIR / "2021.yaml", PLAN)
    kinds = [k for k in run_plan.kinds if all(r.notebook.is_file() for r in run_plan.reports if r.kind == k)]
    argv = ["run", "--year", "2021", "--jobs", "2", "--out", str(out), "--only", *kinds]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reports, "package_fingerprint", lambda: "0.1.0+test")
        first = main(argv)
        manifest = _manifest(out / "2021")

        def no_kernel(*_args, **_kwargs):
            raise AssertionError("an unchanged run must not start a kernel")

        patch.setattr(reports.KernelPool, "start", no_kernel)
        clock = time.perf_counter()
        second = main(argv)
        rerun_s = time.perf_counter() - clock
    return SimpleNamespace(
        root=out / "2021",
        kinds=kinds,
        selected=[r for r in run_plan.reports if r.kind in kinds],
        exit_first=first,
        exit_second=second,
        first=manifest,
        rerun_s=rerun_s,
    )


def test_whole_year_produces_every_report(whole_year):
    assert whole_year.exit_first == 0
    assert {"annuel", "engagements"} <= set(whole_year.kinds)
    entries = {r["name"]: r for r in whole_year.first["reports"]}
    for report in whole_year.selected:
        entry = entries[report.name]
        assert entry["status"] == "ok", (report.name, entry.get("error"))
        assert (whole_year.root / entry["outputs"]["html"]).is_file()
        assert (whole_year.root / entry["outputs"]["ipynb"]).is_file()
        assert (whole_year.root / entry["outputs"]["log"]).is_file()
    assert sum(r.kind == "engagements" for r in whole_year.selected) == 23


def test_every_html_is_for_readers(whole_year):
    """No code cell, no parameters, no third-party script; French; the demo banner."""
    for report in whole_year.selected:
        page = (whole_year.root / report.kind / f"{report.key}.html").read_text(encoding="utf-8")
        assert '<html lang="fr">' in page, report.name
        code_cells = re.findall(r'class="(jp-Cell jp-CodeCell[^"]*)"', page)
        assert code_cells and all("jp-mod-noInput" in c for c in code_cells), report.name
        assert not re.search(r'class="[^"]*\bjp-(InputPrompt|OutputPrompt)\b', page), report.name
        executed = nbformat.read(whole_year.root / report.kind / f"{report.key}.ipynb", as_version=4)
        code = [line for c in executed.cells if c.cell_type == "code" for line in c.source.splitlines()]
        shown = [line for line in code if len(line) > 15 and html.escape(line.strip()) in page]
        assert shown == [], report.name
        assert "data_dir" not in page and "injected-parameters" not in page, report.name
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", page), report.name
        assert "démonstration" in page, report.name


def _cohort_count_cells(markup: str) -> list[tuple[str, str]]:
    """(caption, cell) for every cell of the cohort reports' count tables (entrants, lost from follow-up)."""
    cells = []
    for caption, body in re.findall(r"<caption>(.*?)</caption>(.*?)</table>", markup, flags=re.S):
        if not caption.startswith(("Entrées", "Perdus de vue", "Part des entrants")):
            continue
        head = re.findall(r"<th>(.*?)</th>", body)
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("</thead>")[-1], flags=re.S):
            values = re.findall(r"<td[^>]*>(.*?)</td>", row)
            for name, value in zip(head, values, strict=False):
                if caption.startswith("Entrées") and name != head[0] or name in ("Entrées", "Perdus de vue"):
                    cells.append((caption, html.unescape(value)))
    return cells


def test_no_cohort_count_below_the_threshold_in_any_output(whole_year):
    """Every count shown by the year's cohort reports (HTML and executed notebooks) is 0, at least the
    threshold (10, acro) or 's'; the suppression log names cells but never holds a value."""
    reports_folder = whole_year.root / "cohortes"
    seen = 0
    for page in sorted(reports_folder.glob("*.html")) + sorted(reports_folder.glob("*.ipynb")):
        for caption, cell in _cohort_count_cells(page.read_text(encoding="utf-8").replace('\\"', '"')):
            seen += 1
            if cell == "s":
                continue
            count = int(cell.replace("\u202f", "").replace("\xa0", "").replace(" ", ""))
            assert count == 0 or count >= 10, (page.name, caption, cell)
    assert seen > 100
    log = pd.read_csv(whole_year.root / "logs" / "secret_statistique.csv", sep=";", encoding="utf-8-sig")
    assert list(log.columns) == ["table", "row", "column", "flag", "reason"]
    assert {"cohortes_entrees", "cohortes_taux"} <= set(log["table"])


def test_index_lists_every_report_grouped_with_status_counts(whole_year):
    index = (whole_year.root / "index.html").read_text(encoding="utf-8")
    assert "Données de démonstration" in index
    headings = ["Rapport annuel", "Fiches action", "Suivi de cohortes des bénéficiaires", "Évaluation globale du plan"]
    positions = [index.index(f"<h2>{h}</h2>") for h in headings]
    assert positions == sorted(positions)
    assert index.index("Priorité 1 : ") < index.index("Priorité 6 : ") < index.index(PLAN.transversal.title)
    for report in whole_year.selected:
        assert f'href="{report.kind}/{report.key}.html"' in index
    # Plan-wide status counts, recomputed here from the library (targets.gap_table + status_counts).
    data = load_monitoring_data(PLAN, DEMO)
    totals = status_counts(PLAN, data.gaps(PLAN, 2021)).loc["total"]
    row = index[index.index("Ensemble du plan") :].split("</tr>")[0]
    assert [int(v) for v in re.findall(r'class="num">(\d+)<', row)] == totals.tolist()
    assert 'href="tables/tables.xlsx"' in index


def test_tables_csv_and_workbook(whole_year):
    folder = whole_year.root / "tables"
    expected = build_tables(PLAN, DEMO, 2021)
    book = openpyxl.load_workbook(folder / "tables.xlsx", read_only=True)
    assert book.sheetnames == [README_SHEET, *(SHEET_NAMES[name] for name in expected)]
    assert {"ecarts_cibles", "execution_budgetaire", "execution_cumulee", "barometre", "ecart_taux_emploi"} <= set(
        expected
    )
    # The cohort release is exported as the reports show it: no published count below the threshold.
    for name, column in (
        ("cohortes_entrees", "entrants"),
        ("cohortes_taux", "entrants"),
        ("cohortes_perdus_de_vue", "lost"),
    ):
        counts = pd.read_csv(folder / f"{name}.csv", sep=";", decimal=",", encoding="utf-8-sig")[column].dropna()
        assert not ((counts > 0) & (counts < 10)).any(), name
    raw = (folder / "execution_budgetaire.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert header == (
        "engagement;engagement_title;year;planned_mel_eur;spent_mel_eur;execution_pct;spent_all_funders_eur"
    )
    # Engagement 1 plans 70 000 € a year: euros written as whole numbers, no ",0".
    assert first.startswith("1;Clause d'insertion;2018;70000;")
    for name, frame in expected.items():
        read = pd.read_csv(folder / f"{name}.csv", sep=";", decimal=",", encoding="utf-8-sig")
        assert list(read.columns) == [c.name for c in export_table(name, frame, expected.context).columns], name
        assert len(read) == len(frame), name
    gaps = pd.read_csv(folder / "ecarts_cibles.csv", sep=";", decimal=",", encoding="utf-8-sig")
    pd.testing.assert_series_equal(gaps["realised"], expected["ecarts_cibles"]["realised"].round(1), check_names=False)


def test_manifest(whole_year):
    manifest = whole_year.first
    assert manifest["year"] == 2021 and manifest["run_plan"] == "params/2021.yaml"
    assert manifest["package"]["version"] == "0.1.0"
    assert manifest["data"]["demo"] is True and manifest["data"]["path"] == str(DEMO.path)
    files = manifest["inputs"]["files"]
    assert files["data/dataset.yaml"] == hashlib.sha256((DEMO.path / "dataset.yaml").read_bytes()).hexdigest()
    assert "plan/plan.yaml" in files and "plan/sheets/12.yaml" in files
    assert manifest["started"] <= manifest["finished"]
    assert manifest["jobs"] == 2
    entry = {r["name"]: r for r in manifest["reports"]}["engagements/12"]
    assert entry["notebook"] == "notebooks/engagement.ipynb"
    assert entry["parameters"] == {"year": 2021, "engagement_id": "12", "data_dir": str(DEMO.path)}
    assert entry["outputs"] == {
        "html": "engagements/12.html",
        "ipynb": "engagements/12.ipynb",
        "log": "logs/engagements/12.log",
    }
    assert entry["status"] == "ok" and entry["duration_s"] > 0 and entry["reason"] == "first run"
    assert len(entry["cache_key"]) == 64 and entry["key_parts"]["inputs"] == manifest["inputs"]["sha256"]
    assert entry["started"] <= entry["finished"] and entry["kernel"]["worker"] in (1, 2)


def test_unchanged_rerun_is_cached(whole_year):
    """The second run finds every report unchanged: no kernel (the fixture forbids it), same outputs."""
    assert whole_year.exit_second == 0
    entries = _entries(whole_year.root)
    first = {r["name"]: r for r in whole_year.first["reports"]}
    for report in whole_year.selected:
        assert entries[report.name]["status"] == "cached"
        assert entries[report.name]["cache_key"] == first[report.name]["cache_key"]
        assert entries[report.name]["produced"] == first[report.name]["produced"]
    assert whole_year.rerun_s < 3
    assert "inchangé depuis le" in (whole_year.root / "index.html").read_text(encoding="utf-8")


def test_warm_kernel_gives_the_outputs_of_a_fresh_kernel(whole_year):
    """Reports run second in a warm kernel (after the annual report; after another engagement) against
    papermill.execute_notebook in a fresh kernel, with the same parameters."""
    import papermill

    entries = [r for r in whole_year.first["reports"] if r.get("kernel")]
    at = {(r["kernel"]["worker"], r["kernel"]["order"]): r for r in entries}
    after_annual = [
        r for r in entries if at.get((r["kernel"]["worker"], r["kernel"]["order"] - 1), {}).get("kind") == "annuel"
    ]
    after_engagement = [
        r
        for r in entries
        if r["kind"] == "engagements"
        and at.get((r["kernel"]["worker"], r["kernel"]["order"] - 1), {}).get("kind") == "engagements"
    ]
    assert after_annual and after_engagement
    chosen = [after_annual[0], after_engagement[-1]]

    def fresh(entry: dict) -> nbformat.NotebookNode:
        notebook = ROOT / entry["notebook"]
        return papermill.execute_notebook(
            str(notebook), None, parameters=entry["parameters"], cwd=str(notebook.parent), progress_bar=False
        )

    # One after the other: papermill's ``cwd`` changes the process's working directory, and two
    # threads doing so at once can leave it changed for the rest of the test session.
    fresh_runs = [fresh(entry) for entry in chosen]
    for entry, expected in zip(chosen, fresh_runs, strict=True):
        warm = nbformat.read(whole_year.root / entry["outputs"]["ipynb"], as_version=4)
        assert _outputs(warm) == _outputs(expected), entry["name"]
        counts = [c.execution_count for c in warm.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), entry["name"]


# --------------------------------------------------------------------------------------------------
# Warm kernels with tiny notebooks


def test_state_does_not_leak_between_reports(tmp_path):
    """A report that changes globals, environment, warning filters, rcParams, pandas options and the
    working directory leaves nothing to the next report of the same kernel."""
    import papermill

    folder = tmp_path / "notebooks"
    params = 'year: int = 2021\ndata_dir: str = ""'
    spoiler = _notebook(
        folder / "a.ipynb",
        params,
        "import os, warnings\nimport matplotlib\nimport pandas as pd\nsecret = 42\n"
        'os.environ["EVALUATION_LEAK"] = "oui"\nwarnings.simplefilter("ignore")\n'
        'matplotlib.rcParams["lines.linewidth"] = 7.0\npd.set_option("display.max_rows", 3)\nos.chdir("/")',
        "secret",
    )
    checker = _notebook(
        folder / "b.ipynb",
        params,
        'print(sorted(k for k in globals() if not k.startswith("_") and k not in ("In", "Out", "exit", "quit", "get_ipython", "open")))\n'
        "print(len(In), len(Out))",
        "import os, warnings\nimport matplotlib\nimport pandas as pd\n"
        'print(os.environ.get("EVALUATION_LEAK"), os.path.basename(os.getcwd()), matplotlib.rcParams["lines.linewidth"], '
        'pd.get_option("display.max_rows"))\n'
        'with warnings.catch_warnings(record=True) as caught:\n    warnings.warn("visible")\nprint(len(caught))',
        "year",
    )
    out = tmp_path / "out"

    def job(path: Path) -> ReportJob:
        return ReportJob(
            kind="essai",
            key=path.stem,
            title=path.stem,
            notebook=path,
            parameters={"year": 2020, "data_dir": ""},
            html_path=out / f"{path.stem}.html",
            ipynb_path=out / f"{path.stem}.ipynb",
            log_path=out / "logs" / f"{path.stem}.log",
        )

    results = run_reports([job(spoiler), job(checker)], n_jobs=1)
    assert [(r.status, r.kernel) for r in results] == [("ok", (1, 1)), ("ok", (1, 2))]
    warm = nbformat.read(out / "b.ipynb", as_version=4)
    fresh = papermill.execute_notebook(
        str(checker), None, parameters={"year": 2020, "data_dir": ""}, cwd=str(folder), progress_bar=False
    )
    assert _outputs(warm) == _outputs(fresh)
    assert "None notebooks 1.5 60\\n1\\n" in str(_outputs(warm))  # not the spoiler's "oui", "/", 7.0, 3
    assert [c.execution_count for c in warm.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------------------------------
# Cache


def test_cache_hit_and_miss(tmp_path, mini_data, stable_package, capsys):
    notebook = _notebook(
        tmp_path / "nb" / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""', "print('fiche', year)"
    )
    plan_file = _write(
        tmp_path / "plan.yaml",
        f"""
        year: 2021
        parameters: {{year: 2021}}
        reports:
          fiche:
            notebook: {notebook}
        """,
    )
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]

    def run() -> dict:
        assert main(argv) == 0
        return _entries(out / "2021")["fiche/rapport"]

    first = run()
    assert first["status"] == "ok" and first["reason"] == "first run"
    html_before = (out / "2021" / "fiche" / "rapport.html").stat().st_mtime_ns
    assert run()["status"] == "cached"
    (mini_data / "dataset.yaml").write_bytes((mini_data / "dataset.yaml").read_bytes())  # same content, new date
    assert run()["status"] == "cached"
    assert (out / "2021" / "fiche" / "rapport.html").stat().st_mtime_ns == html_before
    with open(mini_data / "dataset.yaml", "a", encoding="utf-8") as handle:
        handle.write("# corrigé\n")
    changed = run()
    assert changed["status"] == "ok" and changed["reason"] == "input files changed: data/dataset.yaml"
    assert changed["cache_key"] != first["cache_key"]
    (mini_data / "spending").mkdir()
    (mini_data / "spending" / "depenses.csv").write_text("engagement;year;amount_eur\n1;2018;100\n", encoding="utf-8")
    assert run()["reason"] == "input files changed: data/spending/depenses.csv"
    assert run()["status"] == "cached"
    assert main([*argv, "--force"]) == 0
    assert _entries(out / "2021")["fiche/rapport"]["reason"] == "--force"
    capsys.readouterr()


# --------------------------------------------------------------------------------------------------
# Failures


def test_broken_entry_fails_alone(tmp_path, mini_data, capsys):
    """A report that raises and one that kills its kernel fail; the others complete on the same
    (restarted) kernel; exit status 1; the failed page says so in French."""
    folder = tmp_path / "nb"
    params = 'year: int = 2021\ndata_dir: str = ""'
    fiche = _notebook(folder / "fiche.ipynb", f'name: str = "a"\n{params}', "print('fiche', name)")
    broken = _notebook(folder / "casse.ipynb", params, 'raise ValueError("données manquantes")', "print('jamais')")
    crash = _notebook(folder / "noyau.ipynb", params, "import os\nos._exit(1)")
    plan_file = _write(
        tmp_path / "plan.yaml",
        f"""
        year: 2021
        parameters: {{year: 2021}}
        reports:
          casse:
            notebook: {broken}
          noyau:
            notebook: {crash}
          fiches:
            notebook: {fiche}
            title: "Fiche {{item}}"
            for_each: [a, b]
            parameter: name
        """,
    )
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "failed: casse/rapport, cell 2: ValueError: données manquantes" in err
    entries = _entries(out / "2021")
    assert {n: e["status"] for n, e in entries.items()} == {
        "casse/rapport": "failed",
        "noyau/rapport": "failed",
        "fiches/a": "ok",
        "fiches/b": "ok",
    }
    assert entries["noyau/rapport"]["kernel_restarts"] == 2
    assert "noyau Jupyter s'est arrêté" in entries["noyau/rapport"]["error"]
    assert entries["casse/rapport"]["failing_cell"] == 2 and entries["casse/rapport"]["cache_key"] is None
    page = (out / "2021" / "casse" / "rapport.html").read_text(encoding="utf-8")
    assert "Ce rapport est incomplet : sa production a échoué." in page
    assert "ValueError : données manquantes" in page
    assert "An Exception was encountered" not in page and "Traceback" not in page
    executed = nbformat.read(out / "2021" / "casse" / "rapport.ipynb", as_version=4)
    assert any(o.output_type == "error" for c in executed.cells for o in c.get("outputs", []))
    assert "ValueError" in (out / "2021" / "logs" / "casse" / "rapport.log").read_text(encoding="utf-8")
    assert "en échec (cellule 2)" in (out / "2021" / "index.html").read_text(encoding="utf-8")
    assert "fiche b" in (out / "2021" / "fiches" / "b.html").read_text(encoding="utf-8")
    # A failed report runs again next time, the others are cached.
    main([*argv, "--only", "casse", "fiches"])
    assert {n: e["status"] for n, e in _entries(out / "2021").items()}["fiches/a"] == "cached"
    assert _entries(out / "2021")["casse/rapport"]["reason"] == "failed last time"


def _two_reports(tmp_path: Path, pause: float) -> tuple[Path, Path]:
    folder = tmp_path / "nb"
    params = f'year: int = 2021\ndata_dir: str = ""\npause: float = {pause}'
    slow = _notebook(folder / "lent.ipynb", params, "import time\ntime.sleep(pause)\nprint('lent')")
    quick = _notebook(folder / "vite.ipynb", params, "print('vite')")
    plan_file = _write(
        tmp_path / "plan.yaml",
        f"""
        year: 2021
        reports:
          lent:
            notebook: {slow}
          vite:
            notebook: {quick}
        """,
    )
    return plan_file, slow


def test_ctrl_c_keeps_the_reports_already_there(tmp_path, mini_data, stable_package, monkeypatch, capsys):
    plan_file, slow = _two_reports(tmp_path, 0.0)
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 0
    before = {p: p.read_bytes() for p in (out / "2021").rglob("*.html")}
    _notebook(slow, 'year: int = 2021\ndata_dir: str = ""\npause: float = 30', "import time\ntime.sleep(pause)")

    def interrupt(self, name):  # Ctrl-C while the first report runs
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.ProgressBar, "start", interrupt)
    clock = time.perf_counter()
    assert main(argv) == 130
    assert time.perf_counter() - clock < 20  # the kernels are stopped, not waited for
    assert "evaluation: interrupted" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (out / "2021").rglob("*.html") if p.name != "index.html"} == {
        p: b for p, b in before.items() if p.name != "index.html"
    }
    entry = _entries(out / "2021")["lent/rapport"]
    assert entry["status"] == "failed" and entry["error"] == "interrompu avant la fin" and entry["cache_key"] is None
    assert not [p for p in (out / "2021").rglob("*.tmp")]


def test_killed_batch_leaves_previous_reports_intact(tmp_path, mini_data, stable_package, capsys):
    """kill -9 in the middle of a report: the reports on disk are those of the previous run, whole,
    and the one that was running is not taken for current by the next run."""
    plan_file, slow = _two_reports(tmp_path, 0.0)
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 0
    before = {p: p.read_bytes() for p in (out / "2021").rglob("*.*") if p.suffix in (".html", ".ipynb")}
    _notebook(slow, 'year: int = 2021\ndata_dir: str = ""\npause: float = 60', "import time\ntime.sleep(pause)")
    log = out / "2021" / "logs" / "lent" / "rapport.log"
    log.unlink()
    run = (  # `evaluation run`, with tmp_path standing for notebooks/ as in this process (mini_data)
        "import sys; from pathlib import Path; from evaluation import reports; from evaluation.cli import main; "
        f"reports.NOTEBOOKS_DIR = Path({str(tmp_path)!r}); sys.exit(main(sys.argv[1:]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", run, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if log.is_file() and "Executing notebook" in log.read_text(encoding="utf-8"):
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the slow report never started")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    after = {p: p.read_bytes() for p in (out / "2021").rglob("*.*") if p.suffix in (".html", ".ipynb")}
    assert after == before
    entry = _entries(out / "2021")["lent/rapport"]  # the manifest is whole (written atomically)
    assert entry["status"] == "running" and entry["cache_key"] is None
    _notebook(
        slow, 'year: int = 2021\ndata_dir: str = ""\npause: float = 0', "import time\ntime.sleep(pause)\nprint('lent')"
    )
    assert main(argv) == 0
    assert _entries(out / "2021")["lent/rapport"]["reason"] == "previous run did not finish"
    capsys.readouterr()


def test_unreadable_input_stops_the_run(tmp_path, mini_data, capsys):
    """The kernels start while the inputs are checked: an unreadable file stops them, exit 2, no report."""
    notebook = _notebook(tmp_path / "nb" / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""', "print(year)")
    plan_file = _write(tmp_path / "plan.yaml", f"year: 2021\nreports:\n  fiche:\n    notebook: {notebook}\n")
    (mini_data / "monitoring").mkdir()
    (mini_data / "monitoring" / "partenaire.xlsx").write_bytes(b"not a workbook")
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "partenaire.xlsx" in err
    assert err.strip().splitlines()[-1].startswith("evaluation: error: an input file is unreadable")
    assert not (out / "2021" / "fiche" / "rapport.html").exists()
    entry = _entries(out / "2021")["fiche/rapport"]
    assert entry["status"] == "failed" and entry["cache_key"] is None


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, mini_data, capsys):
    """While a run holds OUT/<year> (its lock file, flocked), another run stops at once with exit 2,
    naming the holder, and touches nothing; once the lock is released the run goes through."""
    import fcntl

    notebook = _notebook(tmp_path / "nb" / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""', "print(year)")
    plan_file = _write(tmp_path / "plan.yaml", f"year: 2021\nreports:\n  fiche:\n    notebook: {notebook}\n")
    out = tmp_path / "out"
    (out / "2021").mkdir(parents=True)
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    with open(out / "2021" / ".verrou", "a+", encoding="utf-8") as other:  # the other run
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other.write("pid 4242, started 2021-11-26T18:00:00+00:00\n")
        other.flush()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "another 'evaluation run' is writing this folder (pid 4242, started 2021-11-26T18:00:00+00:00)" in err
        assert sorted(p.name for p in (out / "2021").iterdir()) == [".verrou"]
    assert main(argv) == 0  # the lock went with the other run's file handle
    assert (out / "2021" / "fiche" / "rapport.html").is_file()
    assert (out / "2021" / ".verrou").read_text(encoding="utf-8") == ""  # released: no holder named


def test_a_bad_run_plan_leaves_no_folder_behind(tmp_path, mini_data, capsys):
    notebook = _notebook(tmp_path / "nb" / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""', "print(year)")
    plan_file = _write(
        tmp_path / "plan.yaml",
        f"year: 2021\nreports:\n  fiche:\n    notebook: {notebook}\n    parameters:\n      yaer: 2020\n",
    )
    out = tmp_path / "out"
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 2
    assert "yaer" in capsys.readouterr().err
    assert not (out / "2021").exists()


def test_a_killed_runs_shared_inputs_are_removed_by_the_next_run(tmp_path, mini_data):
    """The checked inputs a killed run left in OUT/<year>/.entrees-verifiees (counts before
    disclosure control) are removed by the next run once it holds the lock, and its own at the end."""
    notebook = _notebook(tmp_path / "nb" / "fiche.ipynb", 'year: int = 2021\ndata_dir: str = ""', "print(year)")
    plan_file = _write(tmp_path / "plan.yaml", f"year: 2021\nreports:\n  fiche:\n    notebook: {notebook}\n")
    out = tmp_path / "out"
    leftover = out / "2021" / ".entrees-verifiees" / "barometer-0123.pickle"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"left by a killed run")
    argv = ["run", "--run-plan", str(plan_file), "--data", str(mini_data), "--out", str(out), "--jobs", "1"]
    assert main(argv) == 0
    assert not leftover.parent.exists()
    assert (out / "2021" / "fiche" / "rapport.html").is_file()


# --------------------------------------------------------------------------------------------------
# Progress


class _Terminal(io.StringIO):
    """stderr as a UTF-8 terminal, recorded; of no width (the bar is not trimmed) unless given the
    descriptor of a real (pseudo-)terminal, whose window size the bar then reads."""

    encoding = "utf-8"

    def __init__(self, fd: int | None = None) -> None:
        super().__init__()
        self.fd = fd

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.fd is None:
            raise io.UnsupportedOperation("fileno")
        return self.fd


def _finished(name: str, status: str, duration_s: float, error: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(job=SimpleNamespace(name=name), status=status, duration_s=duration_s, error=error)


def _three_reports(bar: ProgressBar) -> None:
    """What the runner tells the bar on a run of 3 reports (2 more cached), one of which fails."""
    bar.begin(3, cached=2)
    bar.start("annuel/rapport")
    bar.start("engagements/1")
    bar.tick()
    bar.done(_finished("engagements/1", "ok", 4.06))
    bar.message("failed: tables")
    bar.done(_finished("annuel/rapport", "failed", 11.4, "ValueError: y"))
    bar.start("engagements/2")
    bar.done(_finished("engagements/2", "ok", 1.0))
    bar.close()


def test_progress_in_a_log_file_is_one_line_per_report():
    stream = io.StringIO()
    _three_reports(ProgressBar(stream))
    assert stream.getvalue() == (
        "2 report(s) unchanged since the last run (cached)\n"
        "[1/3] engagements/1: ok (4.1 s)\n"  # 4.06 s to one decimal
        "failed: tables\n"
        "[2/3] annuel/rapport: FAILED (11.4 s)\n"
        "[3/3] engagements/2: ok (1.0 s)\n"
    )


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place():
    stream = _Terminal()
    _three_reports(ProgressBar(stream))
    out = stream.getvalue()
    # Lines of their own: the cached count first, each message and failure once, above the bar.
    assert out.startswith("2 report(s) unchanged since the last run (cached)\n")
    assert out.count("failed: tables\n") == out.count("FAILED annuel/rapport: ValueError: y\n") == 1
    assert "[1/3]" not in out  # no line per report: the bar counts them
    frames = [f.rstrip() for f in out.split("\r") if f.strip() and "\n" not in f]
    # 24 cells, filled in proportion of the reports done: 0, 24 × 1/3 = 8, 24 × 2/3 = 16, 24.
    patterns = [
        r"^ {24} 0/3 \d+ s  démarrage des noyaux…$",
        r"^ {24} 0/3 \d+ s  annuel/rapport, engagements/1$",
        r"^█{8} {16} 1/3 \d+ s  annuel/rapport$",
        r"^█{16} {8} 2/3, 1 en échec \d+ s  engagements/2$",
        r"^█{24} 3/3, 1 en échec \d+ s$",
    ]
    positions = [next(i for i, f in enumerate(frames) if re.match(p, f)) for p in patterns]
    assert positions == sorted(positions), frames
    assert out.endswith("\r") and not out.split("\r")[-2].strip()  # the bar erased at the end


def test_progress_bar_fits_the_terminal():
    """On a terminal 30 columns wide no bar line is longer than 29 characters (the last column left
    free, so that the terminal does not wrap). Untrimmed, the longest is 63 characters: 24 cells,
    " 0/3 0 s  " (10) and "annuel/rapport, engagements/1" (29)."""
    import fcntl
    import struct
    import termios

    main_fd, terminal_fd = os.openpty()
    try:
        fcntl.ioctl(terminal_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 30, 0, 0))  # rows, columns
        stream = _Terminal(terminal_fd)
        _three_reports(ProgressBar(stream))
    finally:
        os.close(main_fd)
        os.close(terminal_fd)
    frames = [f for f in stream.getvalue().split("\r") if f.strip() and "\n" not in f]
    assert frames and max(len(f) for f in frames) == 29
