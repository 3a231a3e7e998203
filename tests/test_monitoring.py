"""Plan-wide monitoring: status counts, on-track shares, the gaps command and its regression file."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main
from evaluation.referential.plan import load_plan
from evaluation.stats.monitoring import on_track_share, status_counts
from evaluation.stats.targets import gap_table

EXPECTED = Path(__file__).parent / "expected"


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture(scope="module")
def tiny():
    """1.4 reaches its 21 communes in 2021 (achieved); 3.1 (cumulative) has 4 x 25 = 100 of its 300 people at the 2021 deadline (behind)."""
    return pd.DataFrame(
        {
            "indicator_id": ["1.4", "3.1", "3.1", "3.1", "3.1"],
            "year": [2021, 2018, 2019, 2020, 2021],
            "value": [21.0, 25.0, 25.0, 25.0, 25.0],
        }
    )


def test_status_counts(plan, tiny):
    counts = status_counts(plan, gap_table(plan, tiny, 2021))
    assert counts.loc["P1", "achieved"] == 1 and counts.loc["P1", "behind"] == 1
    # P1 holds sheets 1, 2, 3, 4, 4a: 4 + 2 + 2 + 3 + 9 = 20 indicators.
    assert counts.loc["P1"].sum() == 20
    assert counts.loc["total"].sum() == 98
    assert list(counts.index) == ["P1", "P2", "P3", "P4", "P5", "P6", "transversal", "total"]


def test_on_track_share(plan, tiny):
    share = on_track_share(plan, tiny)
    # Sheet 1 has four quantified indicators (1.1-1.4); in 2021 only 1.4 is achieved: 1 / 4 = 25 %.
    assert share.loc["1", 2021] == pytest.approx(25.0)
    # Sheet 3: 3.1 behind, 3.2 without data: 0 / 2.
    assert share.loc["3", 2021] == 0
    # Sheet 5-C has no quantified target: no share at all.
    assert math.isnan(share.loc["5c", 2021])


def test_gaps_text_on_demo(capsys):
    assert main(["gaps", "--year", "2021"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "DONNÉES DE DÉMONSTRATION (synthétiques)"
    assert len(out) == 1 + 1 + 98 + 1  # banner, header, one line per indicator, status counts
    # 12.3: 40,4 % in 2021 against a 50 % target due in 2021 (data/demo/monitoring/priorites_3_a_6.csv).
    (line,) = [row for row in out if row.startswith("12.3 ")]
    assert line.endswith("en retard")


def test_gaps_json_shape(capsys):
    assert main(["gaps", "--year", "2020", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 98
    assert list(records[0])[:9] == [
        "indicator_id",
        "engagement",
        "year",
        "realised",
        "target",
        "achievement_pct",
        "expected",
        "gap_to_expected",
        "status",
    ]


def test_gaps_csv_matches_the_expected_file(capsys):
    """Regression file of the demo data. Spot-checked by hand against data/demo/monitoring/priorite_1_2.csv:

    - 12.3 (50 %, level, no baseline): 40.4 in 2021 (the 2020 entrants' rate at 12 months, derived from
      the demo cohorts), progress 40.4 / 50 = 80.8 %; deadline reached: behind;
    - 1.2 (50 % -> 60 %, level): no 2021 value (the demo cohorts have no 2021 entrants): no data;
    - 1.4 (21 communes): 21 in 2021, 21 / 21 = 100 %: achieved;
    - 2.1 (4 000 contracts by 2019, cumulative): judged at its 2019 deadline, 1 167 + 2 763 = 3 930,
      98.25 % of 4 000: behind (the 2020 and 2021 contracts do not count toward a 2019 target).
    """
    assert main(["gaps", "--year", "2021", "--format", "csv"]) == 0
    fresh = pd.read_csv(io.StringIO(capsys.readouterr().out))
    expected = pd.read_csv(EXPECTED / "gaps_2021_demo.csv")
    pd.testing.assert_frame_equal(fresh, expected, check_exact=False, rtol=1e-9)
    row = expected.set_index("indicator_id")
    assert (row.at["12.3", "achievement_pct"], row.at["12.3", "status"]) == (pytest.approx(80.8), "behind")
    assert row.at["1.2", "status"] == "no_data"
    assert (row.at["2.1", "realised"], row.at["2.1", "achievement_pct"], row.at["2.1", "status"]) == (
        3930.0,
        pytest.approx(98.25),
        "behind",
    )


def test_gaps_xlsx(tmp_path):
    out = tmp_path / "gaps.xlsx"
    assert main(["gaps", "--year", "2021", "--format", "xlsx", "--out", str(out)]) == 0
    frame = pd.read_excel(out, dtype={"indicator_id": str})
    assert len(frame) == 98
    assert frame.loc[0, "indicator_id"] == "1.1"


def test_gaps_refuses_bad_data(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True)
    (root / "monitoring" / "m.csv").write_text("indicator_id,year,value\n1.1,2019,beaucoup\n", encoding="utf-8")
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    assert main(["gaps", "--year", "2021", "--data", str(root)]) == 1
    err = capsys.readouterr().err
    assert "m.csv, line 2, column 'value': 'beaucoup' is not a number" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gaps", "--year", "2030"], "--year 2030 is outside the plan (2018-2021)"),
        (["gaps", "--year", "2021", "--tolerance", "1.5"], "--tolerance must be within [0, 1), got 1.5"),
        (["gaps", "--year", "2021", "--format", "xlsx"], "--format xlsx needs --out FILE.xlsx"),
    ],
)
def test_gaps_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_monitoring_data_is_read_again_when_a_file_changes(tmp_path, plan):
    """Warm report kernels reuse the validated data; a partner's corrected file must be seen."""
    import os

    from evaluation.io import load_dataset
    from evaluation.stats.monitoring import load_monitoring_data

    root = tmp_path / "data"
    (root / "monitoring").mkdir(parents=True)
    (root / "dataset.yaml").write_text("name: t\ndemo: false\nprovenance: t\n", encoding="utf-8")
    path = root / "monitoring" / "m.csv"
    path.write_text("indicator_id,year,value\n1.4,2019,5\n", encoding="utf-8")
    dataset = load_dataset(root)
    first = load_monitoring_data(plan, dataset)
    assert load_monitoring_data(plan, dataset) is first
    path.write_text("indicator_id,year,value\n1.4,2019,7\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_monitoring_data(plan, dataset).realised["value"].tolist() == [7.0]
