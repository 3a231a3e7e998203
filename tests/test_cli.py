"""The `evaluation` command: output shapes, exit statuses, one-line errors without traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evaluation.cli import main


def test_plan_json(capsys):
    assert main(["plan", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["engagements"]) == 23
    assert len(data["priorities"]) == 6


def test_plan_text(capsys):
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "[5a] Engagement 5-A : L'intelligence collective" in out
    assert "coût global : 210\u00a0000\u00a0€" in out


def test_audit_exits_1_with_findings(capsys):
    assert main(["audit", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert findings and set(findings[0]) >= {"engagement", "check", "message", "expected", "found"}


def test_audit_exits_0_when_clean(make_plan, capsys):
    assert main(["--plan-dir", str(make_plan()), "audit"]) == 0
    assert capsys.readouterr().out.strip() == "0 finding(s): 0 error(s), 0 warning(s)"


def test_unknown_report_name(capsys, tmp_path):
    assert main(["run", "--only", "engagements/18", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluation: error: unknown engagement id '18'")
    assert list(tmp_path.iterdir()) == []


def test_unknown_report_kind(capsys, tmp_path):
    assert main(["run", "--only", "barometre", "--out", str(tmp_path)]) == 2
    assert "unknown report 'barometre'" in capsys.readouterr().err


def test_missing_data_dir(capsys, tmp_path):
    assert main(["run", "--data", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "absent: data directory not found (pass --data with an existing folder" in err


def test_year_outside_plan(capsys, tmp_path):
    assert main(["run", "--year", "2017", "--out", str(tmp_path)]) == 2
    assert "year 2017 is outside the plan (2018-2021)" in capsys.readouterr().err


def test_malformed_referential_is_one_line_without_traceback(make_plan):
    folder = make_plan(lambda p, s: s["1"]["budget"].update(total_cost_eur="deux cent mille"))
    proc = subprocess.run(
        [sys.executable, "-m", "evaluation.cli", "--plan-dir", str(folder), "plan"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "sheets/1.yaml, line" in lines[0]
    assert "field 'budget.total_cost_eur': expected a number, found 'deux cent mille'" in lines[0]


@pytest.mark.parametrize("argv", [["plan", "--format", "xml"], ["nothing"]])
def test_bad_usage_exits_2(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_output_cut_short_by_the_reader_is_no_error():
    """`evaluation plan | head -1`, at its worst: the reader has gone before the first write (closed
    here right after the start, while the child still imports); no traceback, no "choose another
    --out path", the status of a program stopped by SIGPIPE (141, as `cat` gives)."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from evaluation.cli import main; sys.exit(main(['plan', '--format', 'json']))",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "--out" not in stderr
