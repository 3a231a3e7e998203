"""The SYNTHETIC demo generator: determinism, semantics of the values, file formats, committed files.

Expected figures come from the plan (targets and yearly MEL lines of ``evaluation plan``) and from the
generator's documented rules (module docstring of :mod:`evaluation.demo`): quotas 50/25/15/10 %,
progress bounds 95-115 % (on track) and 45-85 % (behind), execution factors 30-125 %.
"""

from __future__ import annotations

import io
import math
import re

import pandas as pd
import pytest

from evaluation.config import DEMO_DATA_DIR
from evaluation.demo import (
    DEMO_SEED,
    MONITORING_FILES,
    SPENDING_FILE,
    assign_scenarios,
    generate_monitoring,
    generate_spending,
    main,
    write_demo,
)
from evaluation.io import load_dataset
from evaluation.plan import Cumulation, Measure, load_plan

RELATIVE_FILES = [spec.path for spec in MONITORING_FILES] + [SPENDING_FILE]


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture(scope="module")
def monitoring(plan):
    return generate_monitoring(plan)


@pytest.fixture(scope="module")
def spending(plan):
    return generate_spending(plan)


def _indicators(plan):
    return {i.id: i for i in plan.indicators()}


# --------------------------------------------------------------------------------------------------
# Determinism and coverage


def test_two_runs_give_identical_frames(plan, monitoring, spending):
    pd.testing.assert_frame_equal(generate_monitoring(plan), monitoring)
    pd.testing.assert_frame_equal(generate_spending(plan), spending)
    assert not generate_monitoring(plan, seed=DEMO_SEED + 1).equals(monitoring)


def test_columns(monitoring, spending):
    assert list(monitoring.columns) == ["indicator_id", "year", "value", "status", "source", "comment"]
    assert list(spending.columns) == ["engagement", "year", "amount_eur", "funder"]
    assert set(monitoring["year"]) <= {2018, 2019, 2020, 2021}
    assert set(monitoring["status"]) == {"provisional", "estimated", "final"}


def test_scenario_quotas(plan):
    """68 quantitative indicators: 34 / 17 / 10 / 7 (largest remainder of 34, 17, 10.2, 6.8);
    9 milestones: 5 / 2 / 1 / 1 (4.5, 2.25, 1.35, 0.9)."""
    scenarios = assign_scenarios(plan)
    counts = scenarios.groupby(["kind", "scenario"]).size().to_dict()
    assert counts == {
        ("quantitative", "on_track"): 34,
        ("quantitative", "behind"): 17,
        ("quantitative", "gaps"): 10,
        ("quantitative", "silent"): 7,
        ("milestone", "on_track"): 5,
        ("milestone", "behind"): 2,
        ("milestone", "gaps"): 1,
        ("milestone", "silent"): 1,
    }


def test_quantitative_indicators_are_reported_except_silent_ones(plan, monitoring):
    quantitative = [i.id for i in plan.indicators() if i.is_quantitative]
    reported = set(monitoring.loc[monitoring["value"].notna(), "indicator_id"])
    assert sum(i in reported for i in quantitative) >= len(quantitative) / 2
    silent = set(assign_scenarios(plan).query("scenario == 'silent'")["indicator_id"])
    assert {i for i in quantitative if i not in reported} == silent & set(quantitative)


def test_only_quantitative_milestone_and_commented_qualitative_rows(plan, monitoring):
    indicators = _indicators(plan)
    for row in monitoring.itertuples():
        indicator = indicators[row.indicator_id]
        if indicator.measure is Measure.QUALITATIVE:
            assert math.isnan(row.value) and row.year == 2021 and row.comment
        else:
            assert indicator.is_quantitative or indicator.measure is Measure.MILESTONE
            assert not math.isnan(row.value)
    assert (monitoring["indicator_id"].map(lambda i: indicators[i].measure) == Measure.QUALITATIVE).sum() == 5


# --------------------------------------------------------------------------------------------------
# Semantics of the values


def test_percentages_within_0_100(plan, monitoring):
    measures = monitoring["indicator_id"].map(lambda i: _indicators(plan)[i].measure)
    values = monitoring.loc[measures == Measure.PERCENTAGE, "value"]
    assert len(values) > 0
    assert values.between(0, 100).all()


def test_counts_non_negative_integers_and_milestones_binary(plan, monitoring):
    measures = monitoring["indicator_id"].map(lambda i: _indicators(plan)[i].measure)
    counts = monitoring.loc[measures == Measure.COUNT, "value"]
    assert (counts >= 0).all() and (counts == counts.round()).all()
    assert set(monitoring.loc[measures == Measure.MILESTONE, "value"]) == {0.0, 1.0}
    assert (monitoring.loc[measures == Measure.AMOUNT, "value"] >= 0).all()


def test_cumulative_totals_follow_the_scenario(plan, monitoring):
    """Running total at the target year: >= 95 % of the target (or range min) when on track, <= 85 %
    when behind (stochastic rounding moves the total by less than one unit)."""
    scenarios = assign_scenarios(plan).set_index("indicator_id")["scenario"]
    checked = 0
    for indicator in plan.indicators():
        if not indicator.is_quantitative or indicator.cumulation is not Cumulation.CUMULATIVE:
            continue
        scenario = scenarios[indicator.id]
        if scenario not in ("on_track", "behind"):
            continue
        rows = monitoring[(monitoring["indicator_id"] == indicator.id) & (monitoring["year"] <= indicator.target.year)]
        total = rows["value"].sum()
        target = indicator.target.value if indicator.target.value is not None else indicator.target.min
        if scenario == "on_track":
            assert total >= math.floor(0.95 * target), indicator.id
        else:
            assert total <= math.ceil(0.85 * target), indicator.id
        checked += 1
    assert checked >= 20


def test_level_stocks_do_not_go_down_and_whole_sets_are_not_exceeded(plan, monitoring):
    """4a.8 and 1.4: the 21 communes with a QPV; 11.3: the 26 quartiers (targets of the plan)."""
    for indicator in plan.indicators():
        if (
            indicator.is_quantitative
            and indicator.measure is Measure.COUNT
            and indicator.cumulation is Cumulation.LEVEL
        ):
            values = list(monitoring.loc[monitoring["indicator_id"] == indicator.id, "value"])
            assert values == sorted(values), indicator.id
    for indicator_id, whole in (("1.4", 21), ("4a.8", 21), ("11.3", 26)):
        assert monitoring.loc[monitoring["indicator_id"] == indicator_id, "value"].max() <= whole


def test_baseline_and_decrease_on_a_mini_plan(make_plan):
    """Mini plan (tests/conftest.py): indicator 1.1 "passer de 300 à 400" per year by 2021; indicator
    2.1 turned into a decreasing percentage from 56 % to 40 %. Two quantitative indicators: one on
    track, one behind; neither silent."""

    def edit(_plan, sheets):
        sheets["2"]["indicators"][0].update(
            unit="%",
            measure="percentage",
            direction="decrease",
            cumulation="level",
            baseline={"value": 56, "year": None},
            target={"value": 40, "year": 2021, "year_stated": False},
        )

    mini = load_plan(make_plan(edit))
    for seed in (1, 2, 3, DEMO_SEED):
        frame = generate_monitoring(mini, seed=seed)
        per_year = frame[frame["indicator_id"] == "1.1"].set_index("year")["value"]
        assert 250 <= per_year[2018] < 360  # starts near the baseline 300, not near 400
        assert per_year.between(250, 470).all()
        rate = frame[frame["indicator_id"] == "2.1"].set_index("year")["value"]
        assert rate.between(0, 100).all()
        assert rate[2021] < rate[2018] < 56 + 5  # goes down from the baseline


def test_statuses_and_comments(plan, monitoring):
    last = monitoring[(monitoring["year"] == 2021) & monitoring["value"].notna()]
    provisional_share = (last["status"] == "provisional").mean()
    assert 0.3 <= provisional_share <= 0.7  # "about half" (one draw per indicator)
    assert set(monitoring.loc[monitoring["year"] < 2021, "status"]) == {"final", "estimated"}
    assert monitoring["comment"].notna().mean() < 0.15  # empty except a few
    assert monitoring["source"].notna().all()


# --------------------------------------------------------------------------------------------------
# Spending


def test_spending_follows_the_plans_mel_lines(plan, spending):
    mel = spending[spending["funder"] == "MEL"]
    for row in mel.itertuples():
        planned = plan.engagement(row.engagement).budget.mel_financing_eur[row.year]
        assert planned, (row.engagement, row.year)  # only where the plan gives a figure above 0
        assert 0.30 * planned - 1 <= row.amount_eur <= 1.25 * planned + 1
        assert row.amount_eur == round(row.amount_eur)
    assert not mel.duplicated(["engagement", "year"]).any()
    assert set(mel["engagement"]) <= {s.id for s in plan.engagements if s.budget.mel_financing_sum}


def test_cofinancers_only_where_the_plan_quantifies_them(spending):
    """5-C: "Financement FEDER à 80%"; 12: "Interreg Nord-Ouest 60 % 240 052 €"."""
    others = spending[spending["funder"] != "MEL"]
    assert set(zip(others["engagement"], others["funder"], strict=True)) == {
        ("5c", "FEDER"),
        ("12", "Interreg Nord-Ouest"),
    }
    # FEDER counterpart of 5-C: 27 000 x 80 / 20 = 108 000 € a year, times a factor of 30-125 %.
    assert others.loc[others["engagement"] == "5c", "amount_eur"].between(0.30 * 108_000, 1.25 * 108_000).all()


# --------------------------------------------------------------------------------------------------
# Files


def test_committed_files_equal_what_the_generator_writes(tmp_path):
    written = write_demo(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [*RELATIVE_FILES, "dataset.yaml"]
    assert load_dataset(tmp_path).demo is True  # a folder written elsewhere declares itself synthetic
    for relative in RELATIVE_FILES:
        assert (DEMO_DATA_DIR / relative).read_bytes() == (tmp_path / relative).read_bytes(), (
            f"data/demo/{relative} is out of date: run 'python -m evaluation.demo'"
        )


def test_demo_folder_declares_itself_synthetic():
    dataset = load_dataset(DEMO_DATA_DIR)
    assert dataset.demo is True
    assert "python -m evaluation.demo" in dataset.provenance and str(DEMO_SEED) in dataset.provenance


def test_plain_monitoring_file(plan, monitoring):
    data = (DEMO_DATA_DIR / "monitoring/priorite_1_2.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    assert text.splitlines()[0] == "indicator_id,year,value,status,source,comment"
    frame = pd.read_csv(io.StringIO(text), dtype={"indicator_id": str})
    sheets = {s.id for p in ("P1", "P2") for s in plan.engagements_of(p)}
    expected = monitoring[monitoring["indicator_id"].map(lambda i: _indicators(plan)[i].engagement in sheets)]
    assert list(frame["indicator_id"]) == list(expected["indicator_id"])
    assert list(frame["value"].fillna(-1)) == list(expected["value"].fillna(-1))
    assert list(frame["status"]) == list(expected["status"])


def test_french_monitoring_file_is_cp1252_with_semicolons_and_decimal_commas(plan, monitoring):
    data = (DEMO_DATA_DIR / "monitoring/priorites_3_a_6.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # "année" is written with the single byte 0xE9
    text = data.decode("cp1252")
    lines = text.splitlines()
    assert lines[0] == "indicateur;année;valeur;statut;source;commentaire"
    assert data.splitlines()[0] == "indicateur;année;valeur;statut;source;commentaire".encode("cp1252")
    values = [line.split(";")[2] for line in lines[1:]]
    assert any(re.fullmatch(r"\d+,\d", v) for v in values)  # percentages of 12.3
    assert not any("." in v for v in values)
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",", dtype={"indicateur": str})
    assert set(frame["statut"]) <= {"provisoire", "estimé", "définitif"}
    expected = monitoring[monitoring["indicator_id"].isin(set(frame["indicateur"]))]
    assert list(frame["valeur"].fillna(-1)) == list(expected["value"].fillna(-1))
    engagements = {_indicators(plan)[i].engagement for i in frame["indicateur"]}
    assert {"gouvernance", "evaluation"} & engagements and not {"1", "5"} & engagements


def test_spending_file_is_utf8_bom_with_semicolons(spending):
    data = (DEMO_DATA_DIR / SPENDING_FILE).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "engagement;année;montant_eur;financeur"
    assert all(re.fullmatch(r"\d+,00", line.split(";")[2]) for line in lines[1:])
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",", dtype={"engagement": str})
    assert list(frame["montant_eur"]) == list(spending["amount_eur"])
    assert len(frame) == len(spending)


def test_files_are_small(monitoring, spending):
    assert 100 <= len(monitoring) + len(spending) <= 500


def test_command_line_writes_and_names_the_files(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and all("SYNTHETIC" in line for line in printed)
    assert all((tmp_path / relative).is_file() for relative in RELATIVE_FILES)
