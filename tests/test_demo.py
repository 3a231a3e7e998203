"""The SYNTHETIC demo generator: determinism, semantics of the values, file formats, committed files.

Expected figures come from the plan (targets and yearly MEL lines of ``evaluation plan``; the headline
employment rates 44 % in the QPV and 59 % in the MEL, the poverty rates 44 % and 18 % and the shares of
CAF recipients living only on benefits 30 % and 20 % of its introduction), from the real reference
list of the QPV (``data/reference/qpv_mel_2024.csv``) and from the generator's documented rules
(module docstring of :mod:`evaluation_demo.generate`): quotas 50/25/15/10 %, progress bounds 95-115 % (on
track) and 45-85 % (behind), execution factors 30-125 %.
"""

from __future__ import annotations

import io
import math
import re

import pandas as pd
import pytest

from evaluation.cli import main as evaluation_main
from evaluation.config import DEMO_DATA_DIR
from evaluation.intake import BAROMETER_COLUMNS, COHORT_COLUMNS, HORS_QPV, load_barometer, load_cohorts
from evaluation.io import load_dataset
from evaluation.referential.plan import Cumulation, Measure, load_plan
from evaluation.referential.territories import load_qpv
from evaluation.stats.cohorts import competing_data, cumulative_incidence
from evaluation_demo.generate import (
    BAROMETER_FILE,
    COHORT_DEMO_COLUMNS,
    COHORT_FILE,
    COHORT_INDICATORS,
    COHORT_PROGRAMMES,
    DEMO_SEED,
    MONITORING_FILES,
    SPENDING_FILE,
    assign_scenarios,
    generate_barometer,
    generate_cohorts,
    generate_monitoring,
    generate_spending,
    main,
    write_demo,
)

RELATIVE_FILES = [spec.path for spec in MONITORING_FILES] + [
    SPENDING_FILE,
    BAROMETER_FILE,
    COHORT_FILE,
    "surveys/perception_quartiers.yaml",
    "surveys/perception_quartiers_2020.csv",
    "surveys/perception_quartiers_2021.csv",
    "comparison/territoires.yaml",
    "comparison/series_2012_2021.csv",
]


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
    """Silent ones, that is, except the programme indicators counted in the cohorts (reported whatever
    their scenario: 1.1 is drawn silent)."""
    quantitative = [i.id for i in plan.indicators() if i.is_quantitative]
    reported = set(monitoring.loc[monitoring["value"].notna(), "indicator_id"])
    assert sum(i in reported for i in quantitative) >= len(quantitative) / 2
    silent = set(assign_scenarios(plan).query("scenario == 'silent'")["indicator_id"]) - set(COHORT_INDICATORS)
    assert {i for i in quantitative if i not in reported} == silent & set(quantitative)
    assert set(COHORT_INDICATORS) <= reported


def test_only_quantitative_milestone_and_commented_qualitative_rows(plan, monitoring):
    indicators = _indicators(plan)
    for row in monitoring.itertuples():
        indicator = indicators[row.indicator_id]
        if indicator.measure is Measure.QUALITATIVE:
            assert math.isnan(row.value) and row.year == 2021 and row.comment
        elif math.isnan(row.value):  # entrants of 2021, not in the cohort file (see the cohort tests)
            assert row.indicator_id in COHORT_INDICATORS and row.year == 2021 and row.comment
        else:
            assert indicator.is_quantitative or indicator.measure is Measure.MILESTONE
            assert not math.isnan(row.value)
    assert (monitoring["indicator_id"].map(lambda i: indicators[i].measure) == Measure.QUALITATIVE).sum() == 5


# --------------------------------------------------------------------------------------------------
# Semantics of the values


def test_percentages_within_0_100(plan, monitoring):
    measures = monitoring["indicator_id"].map(lambda i: _indicators(plan)[i].measure)
    values = monitoring.loc[measures == Measure.PERCENTAGE, "value"].dropna()  # 1.2 in 2021: no value
    assert len(values) > 0
    assert values.between(0, 100).all()


def test_counts_non_negative_integers_and_milestones_binary(plan, monitoring):
    measures = monitoring["indicator_id"].map(lambda i: _indicators(plan)[i].measure)
    counts = monitoring.loc[measures == Measure.COUNT, "value"].dropna()  # entrants of 2021: no value
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
        if indicator.id in COHORT_INDICATORS:  # counted in the cohorts, whatever the scenario
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
    track, one behind; neither silent. Without cohort records (an empty frame), 1.1 follows its
    scenario's path instead of being counted in the cohorts."""

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
    no_cohorts = generate_cohorts(mini).iloc[:0]
    for seed in (1, 2, 3, DEMO_SEED):
        frame = generate_monitoring(mini, seed=seed, cohorts=no_cohorts)
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
            f"data/demo/{relative} is out of date: run 'python -m evaluation_demo'"
        )


def test_demo_folder_declares_itself_synthetic():
    dataset = load_dataset(DEMO_DATA_DIR)
    assert dataset.demo is True
    assert "python -m evaluation_demo" in dataset.provenance and str(DEMO_SEED) in dataset.provenance


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
    # The 10 data files of RELATIVE_FILES and dataset.yaml.
    assert len(printed) == 11 and all("SYNTHETIC" in line for line in printed)
    assert all((tmp_path / relative).is_file() for relative in RELATIVE_FILES)


# --------------------------------------------------------------------------------------------------
# Barometer


@pytest.fixture(scope="module")
def barometer(plan):
    return generate_barometer(plan)


@pytest.fixture(scope="module")
def totals(barometer):
    """All-ages counts (age band total): one row per territory and year, one column per indicator."""
    frame = barometer[barometer["age_band"] == "total"]
    return frame.pivot(index=["territory", "year"], columns="indicator", values="value")


def _qpv_sum(totals: pd.DataFrame) -> pd.DataFrame:
    qpv = totals[totals.index.get_level_values("territory").str.startswith("QN")]
    return qpv.groupby(level="year").sum()


def _rate(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    return 100 * frame[numerator] / frame[denominator]


def test_barometer_is_deterministic(plan, barometer):
    pd.testing.assert_frame_equal(generate_barometer(plan), barometer)
    assert not generate_barometer(plan, seed=DEMO_SEED + 1).equals(barometer)


def test_barometer_columns_territories_and_rows(barometer):
    """28 territories x 7 years x (2 indicators x 4 bands + 7 indicators) = 28 x 7 x 15 = 2 940 rows."""
    assert list(barometer.columns) == [c for c in BAROMETER_COLUMNS if c not in ("file", "line")]
    assert list(dict.fromkeys(barometer["territory"])) == [q.code for q in load_qpv()] + ["MEL", "MEL_HORS_QPV"]
    assert sorted(set(barometer["year"])) == list(range(2015, 2022))
    assert len(barometer) == 2940
    assert not barometer.duplicated(["territory", "year", "indicator", "sex", "age_band"]).any()
    assert set(barometer["sex"]) == {"ensemble"}
    assert (barometer["value"] >= 0).all() and (barometer["value"] == barometer["value"].round()).all()


def test_barometer_sources_vintages_and_sampling(barometer):
    census = barometer["indicator"].isin(["population", "population_15_64", "employed_15_64"])
    assert (barometer.loc[census, "vintage"] == barometer.loc[census, "year"]).all()
    assert barometer.loc[census, "sampled"].all()
    assert set(barometer.loc[census, "source"]) == {"INSEE, recensement (SYNTHÉTIQUE)"}
    assert barometer.loc[~census, "vintage"].isna().all() and not barometer.loc[~census, "sampled"].any()
    assert set(barometer.loc[~census, "source"]) == {
        "Pôle emploi (SYNTHÉTIQUE)",
        "INSEE Filosofi (SYNTHÉTIQUE)",
        "CAF (SYNTHÉTIQUE)",
        "INSEE Sirene (SYNTHÉTIQUE)",
    }


def test_2015_employment_rates_are_the_plans(plan, totals):
    """Plan introduction: 44 % in the QPV, 59 % in the Métropole (plan.yaml headline), to 0.05 point."""
    qpv = _rate(_qpv_sum(totals), "employed_15_64", "population_15_64")
    mel = _rate(totals.xs("MEL", level="territory"), "employed_15_64", "population_15_64")
    assert plan.headline["qpv_employment_rate_pct"] == 44 and plan.headline["comparator_employment_rate_pct"] == 59
    assert qpv[2015] == pytest.approx(44.0, abs=0.05)
    assert mel[2015] == pytest.approx(59.0, abs=0.05)
    # A slow convergence: the gap narrows but stays far from the halving target (7.5 points).
    gap = mel - qpv
    assert 12 < gap[2021] < gap[2015]
    assert 0.2 <= (qpv[2021] - qpv[2015]) / 6 <= 0.6 and 0.1 <= (mel[2021] - mel[2015]) / 6 <= 0.3


def test_mel_is_the_sum_of_the_qpv_and_the_rest_exactly(barometer):
    key = ["year", "indicator", "sex", "age_band"]
    values = barometer.set_index([*key, "territory"])["value"].unstack("territory")
    qpv_columns = [c for c in values.columns if c.startswith("QN")]
    assert len(qpv_columns) == 26
    assert (values[qpv_columns].sum(axis=1) + values["MEL_HORS_QPV"] == values["MEL"]).all()


def test_bands_sum_to_totals_and_employed_within_population(barometer):
    banded = barometer[barometer["indicator"].isin(["population_15_64", "employed_15_64"])]
    wide = banded.pivot(index=["territory", "year", "indicator"], columns="age_band", values="value")
    assert (wide["15-24"] + wide["25-54"] + wide["55-64"] == wide["total"]).all()
    by_indicator = banded.pivot(index=["territory", "year", "age_band"], columns="indicator", values="value")
    assert (by_indicator["employed_15_64"] <= by_indicator["population_15_64"]).all()


def test_populations_follow_the_reference_file(totals):
    """QPV populations start from popMuniQPV (noise 0.2 %); the 15-64 are about 63 % of the QPV's
    population, 65 % of the MEL's (about 1 150 000 inhabitants); the QPV are younger."""
    start = totals.xs(2015, level="year")
    for q in load_qpv():
        assert start.at[q.code, "population"] == pytest.approx(q.population, rel=0.01)
    qpv = _qpv_sum(totals).loc[2015]
    mel = start.loc["MEL"]
    assert 100 * qpv["population_15_64"] / qpv["population"] == pytest.approx(63, abs=1)
    assert 100 * mel["population_15_64"] / mel["population"] == pytest.approx(65, abs=0.5)
    assert mel["population"] == pytest.approx(1_150_000, rel=0.01)


def test_qpv_are_younger_than_the_mel(barometer):
    rows = barometer[(barometer["indicator"] == "population_15_64") & (barometer["year"] == 2015)]
    share = rows.pivot(index="territory", columns="age_band", values="value")
    young = share["15-24"] / share["total"]
    assert (young[[t for t in young.index if t.startswith("QN")]] > young["MEL"]).mean() > 0.8


def test_poverty_dependence_and_jobseekers_are_plausible(totals):
    """Poverty 44 % vs 18 % and CAF recipients living only on benefits 30 % vs 20 % (plan introduction)."""
    qpv, mel = _qpv_sum(totals).loc[2015], totals.loc[("MEL", 2015)]
    assert 100 * qpv["poor_population"] / qpv["fiscal_population"] == pytest.approx(44, abs=0.5)
    assert 100 * mel["poor_population"] / mel["fiscal_population"] == pytest.approx(18, abs=0.5)
    assert 100 * qpv["caf_fully_dependent"] / qpv["caf_recipients"] == pytest.approx(30, abs=0.5)
    assert 100 * mel["caf_fully_dependent"] / mel["caf_recipients"] == pytest.approx(20, abs=1.5)
    assert qpv["jobseekers"] / qpv["population_15_64"] > mel["jobseekers"] / mel["population_15_64"]
    creations = totals.xs("MEL", level="territory")["business_creations"]
    assert creations[2021] > creations[2015] > 0


def test_barometer_file_is_plain_utf8_and_passes_the_intake():
    data = (DEMO_DATA_DIR / BAROMETER_FILE).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "territory,year,indicator,sex,age_band,value,source,vintage,sampled"
    assert re.fullmatch(
        r'QN05965M,2015,population_15_64,ensemble,total,\d+,"INSEE, recensement \(SYNTHÉTIQUE\)",2015,true', lines[1]
    )
    assert lines[-1].startswith("MEL_HORS_QPV,2021,business_creations,ensemble,total,")
    frame, problems = load_barometer(load_dataset(DEMO_DATA_DIR))
    assert problems == []
    assert len(frame) == 2940


# --------------------------------------------------------------------------------------------------
# Cohorts
#
# Expected proportions come from the generator's documented parameters (module docstring and
# evaluation_demo.generate.COHORT_PROGRAMMES): programme shares 34/14/22/20/10 %, QPV share per programme
# 60/70/85/65/60 % (68 % of all rows), 5 % late entries, 10 % lost from follow-up, kinds 25/25/30/15/5 %,
# monthly hazards 7.0/5.0/4.5/4.0/6.5 % times hors QPV 1.25, women 0.9, 50+ 0.6, infra-bac 0.75,
# bac+2 et plus 1.3. Tolerances are a few binomial standard errors for 3 000 rows.

EXTRACTION = pd.Timestamp("2021-12-31")


@pytest.fixture(scope="module")
def cohorts(plan):
    return generate_cohorts(plan)


def _employed_within(frame: pd.DataFrame, days: int) -> pd.Series:
    """Whether each row observable ``days`` after its start of observation found a job by then."""
    start = frame["observation_start"].fillna(frame["entry_date"])
    employed = (frame["first_employment_date"] - start).dt.days <= days
    observable = employed | ((frame["last_contact_date"] - start).dt.days >= days)
    return employed[observable]


def test_cohorts_are_deterministic(plan, cohorts):
    pd.testing.assert_frame_equal(generate_cohorts(plan), cohorts)
    assert not generate_cohorts(plan, seed=DEMO_SEED + 1).equals(cohorts)


def test_cohort_columns_sizes_and_programmes(plan, cohorts):
    """3 000 rows split 34/14/22/20/10 % by largest remainder: 1 020, 420, 660, 600, 300."""
    assert list(cohorts.columns) == list(COHORT_DEMO_COLUMNS)
    assert [c for c in COHORT_DEMO_COLUMNS if c != "person_id"] == [
        c for c in COHORT_COLUMNS if c not in ("cohort_year", "file", "line")
    ]
    assert cohorts["programme"].value_counts().to_dict() == {"1": 1020, "9": 660, "10": 600, "3": 420, "12": 300}
    assert list(dict.fromkeys(cohorts["programme"])) == ["1", "3", "9", "10", "12"]  # plan order
    assert set(COHORT_PROGRAMMES) <= {s.id for s in plan.engagements}
    assert set(cohorts["entry_date"].dt.year) == {2018, 2019, 2020}
    assert not cohorts.duplicated(["person_id", "programme"]).any()
    assert cohorts["person_id"].str.fullmatch(r"P\d{6}").all()
    twice = cohorts["person_id"].duplicated(keep=False)
    assert 0.03 <= twice.mean() <= 0.07  # 3 % of the rows take the person of another row (paired rows)
    same = cohorts[twice].groupby("person_id")[["qpv", "sex", "qualification"]].nunique()
    assert (same == 1).all().all()


def test_cohort_dates_are_consistent(cohorts):
    start = cohorts["observation_start"].fillna(cohorts["entry_date"])
    event = cohorts["first_employment_date"]
    assert (start >= cohorts["entry_date"]).all()
    assert (event.dropna() > start[event.notna()]).all()  # entry < event time
    assert (event.dropna() <= cohorts["last_contact_date"][event.notna()]).all()
    assert (cohorts["last_contact_date"] >= start).all() and (cohorts["last_contact_date"] <= EXTRACTION).all()
    assert (event.notna() == cohorts["employment_kind"].notna()).all()


def test_cohort_proportions(cohorts):
    """QPV 60-70 %, late entries ~5 %, lost without a job (last contact before July 2021) 4-9 % of the
    rows (10 % are lost, some of them after a job), kinds of first employment as documented."""
    qpv = (cohorts["qpv"] != HORS_QPV).mean()
    assert 0.60 <= qpv <= 0.72
    assert set(cohorts.loc[cohorts["qpv"] != HORS_QPV, "qpv"]) <= {q.code for q in load_qpv()}
    assert 0.035 <= cohorts["observation_start"].notna().mean() <= 0.065
    no_job = cohorts["first_employment_date"].isna()
    lost = no_job & (cohorts["last_contact_date"] < pd.Timestamp("2021-07-01"))
    assert 0.04 <= lost.mean() <= 0.09
    assert (cohorts.loc[no_job & ~lost, "last_contact_date"] >= pd.Timestamp("2021-11-01")).all()
    kinds = cohorts["employment_kind"].value_counts(normalize=True)
    for kind, share in {"cdi": 0.25, "cdd_6m_plus": 0.25, "short_contract": 0.30, "training": 0.15}.items():
        assert kinds[kind] == pytest.approx(share, abs=0.04), kind
    assert kinds["business_creation"] == pytest.approx(0.05, abs=0.02)


def test_cohort_outcomes_differ_as_intended(cohorts):
    """Employed within 12 months: programme 1 (hazard 7 %) above 10 (4 %); hors QPV above QPV; bac+2 et
    plus above infra-bac; 50+ below 26-49. EYES (12) near the plan's 50 % ("50 % de retour à l'emploi")."""
    frame = cohorts.assign(in_qpv=cohorts["qpv"] != HORS_QPV)
    rate = {
        column: frame.loc[_employed_within(frame, 365).index]
        .groupby(column)
        .apply(lambda g: _employed_within(g, 365).mean(), include_groups=False)
        for column in ("programme", "in_qpv", "qualification", "age_band")
    }
    assert rate["programme"]["1"] > rate["programme"]["10"] + 0.10
    assert rate["in_qpv"][False] > rate["in_qpv"][True] + 0.03
    assert rate["qualification"]["bac+2 et plus"] > rate["qualification"]["infra-bac"] + 0.05
    assert rate["age_band"]["50+"] < rate["age_band"]["26-49"] - 0.10
    assert 0.38 <= rate["programme"]["12"] <= 0.60


def test_cohort_file_is_plain_utf8_and_passes_the_intake(cohorts):
    """The committed file loads with no problem and gives back the generated rows (minus the person key)."""
    data = (DEMO_DATA_DIR / COHORT_FILE).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == ",".join(COHORT_DEMO_COLUMNS)
    assert len(lines) == 3001
    frame, problems = load_cohorts(load_dataset(DEMO_DATA_DIR))
    assert problems == []
    assert len(frame) == 3000 and list(frame.columns) == COHORT_COLUMNS
    expected = cohorts.drop(columns="person_id").assign(
        observation_start=cohorts["observation_start"].fillna(cohorts["entry_date"])
    )
    pd.testing.assert_frame_equal(frame[list(expected.columns)], expected)
    assert (frame["cohort_year"] == frame["entry_date"].dt.year).all()


def test_a_million_cohort_rows_for_the_benchmark(plan):
    """The benchmark's size: vectorised, same columns, person ids one digit wider."""
    big = generate_cohorts(plan, n=1_000_000)
    assert len(big) == 1_000_000 and list(big.columns) == list(COHORT_DEMO_COLUMNS)
    assert big["person_id"].str.len().eq(8).all()
    assert (big["qpv"] != HORS_QPV).mean() == pytest.approx(0.68, abs=0.01)


# --------------------------------------------------------------------------------------------------
# Programme indicators counted in the cohorts
#
# The expected values are recomputed here from the committed files alone, with pandas, by
# definitions written out again (not read from evaluation_demo.generate.COHORT_INDICATORS): the engagement
# report and the cohort report must speak of the same synthetic people. First events counted as a
# job: CDI, CDD of 6 months or more, short contract, business creation (the cohort report's
# "employment" outcome, which includes a creation as indicator 12.3 asks); 9.2 adds the training.

JOB_KINDS = {"cdi", "cdd_6m_plus", "short_contract", "business_creation"}
SPORT, MEDIATION = {"16-25"}, {"26-49", "50+"}  # sheet 10's strands: the plan's "jeunes" for Sport
ENTRY_YEARS, FOLLOW_UP_YEARS = [2018, 2019, 2020], [2018, 2019, 2020, 2021]


@pytest.fixture(scope="module")
def committed_cohort():
    return pd.read_csv(
        DEMO_DATA_DIR / COHORT_FILE,
        dtype={"programme": str, "employment_kind": str},
        parse_dates=["entry_date", "first_employment_date", "last_contact_date"],
    )


@pytest.fixture(scope="module")
def committed_monitoring():
    """Both committed monitoring files as one frame with English headers (values as floats)."""
    plain = pd.read_csv(DEMO_DATA_DIR / MONITORING_FILES[0].path, dtype={"indicator_id": str})
    french = pd.read_csv(
        DEMO_DATA_DIR / MONITORING_FILES[1].path, sep=";", decimal=",", encoding="cp1252", dtype={"indicateur": str}
    )
    french.columns = list(plain.columns)
    return pd.concat([plain, french], ignore_index=True)


def _programme(cohort, programme, bands=None, qpv_only=False):
    rows = cohort[cohort["programme"] == programme]
    if bands is not None:
        rows = rows[rows["age_band"].isin(bands)]
    if qpv_only:
        rows = rows[rows["qpv"] != HORS_QPV]
    return rows


def _entrants(cohort, programme, **which):
    """People entering in each year 2018-2020 (0 where none)."""
    rows = _programme(cohort, programme, **which)
    return rows.groupby(rows["entry_date"].dt.year).size().reindex(ENTRY_YEARS, fill_value=0).astype(float)


def _qpv_share(cohort, programme):
    """% of each year's entrants living in a QPV, one decimal."""
    rows = _programme(cohort, programme)
    return (100 * (rows["qpv"] != HORS_QPV).groupby(rows["entry_date"].dt.year).mean()).round(1)


def _first_events(cohort, programme, kinds, **which):
    """People whose first event is of ``kinds``, by the year of that event, 2018-2021 (0 where none)."""
    rows = _programme(cohort, programme, **which)
    rows = rows[rows["employment_kind"].isin(kinds)]
    by_year = rows.groupby(rows["first_employment_date"].dt.year).size()
    return by_year.reindex(FOLLOW_UP_YEARS, fill_value=0).astype(float)


def _job_within_a_year(cohort, programme):
    """% of each year's entrants whose first event is a job within 12 months of entry (12 months of
    365.25 / 12 days: at most 365 whole days), every entrant in the denominator; shown the next year."""
    rows = _programme(cohort, programme)
    days = (rows["first_employment_date"] - rows["entry_date"]).dt.days
    success = rows["employment_kind"].isin(JOB_KINDS) & (days <= 365)
    share = (100 * success.groupby(rows["entry_date"].dt.year).mean()).round(1)
    share.index = share.index + 1
    return share


@pytest.fixture(scope="module")
def expected_programme_values(committed_cohort):
    c = committed_cohort
    return {
        "1.1": _entrants(c, "1"),
        "1.2": _qpv_share(c, "1"),
        "3.1": _entrants(c, "3"),
        "3.2": _first_events(c, "3", JOB_KINDS),
        "9.1": _entrants(c, "9", qpv_only=True),
        "9.2": _first_events(c, "9", JOB_KINDS | {"training"}),
        "10.1": _first_events(c, "10", JOB_KINDS, bands=MEDIATION).loc[[2018]],
        "10.2": _first_events(c, "10", JOB_KINDS, bands=MEDIATION),
        "10.3": _entrants(c, "10", bands=SPORT),
        "10.4": _first_events(c, "10", JOB_KINDS, bands=SPORT),
        "10.5": _first_events(c, "10", {"training"}, bands=SPORT),
        "12.2": _entrants(c, "12"),
        "12.3": _job_within_a_year(c, "12"),
    }


def test_every_programme_sheet_has_indicators_counted_in_the_cohorts(expected_programme_values):
    assert set(COHORT_INDICATORS) == set(expected_programme_values)
    assert {i.split(".")[0] for i in COHORT_INDICATORS} == set(COHORT_PROGRAMMES) == {"1", "3", "9", "10", "12"}


@pytest.mark.parametrize("indicator_id", sorted(COHORT_INDICATORS))
def test_programme_indicator_equals_the_count_in_the_cohort_file(
    indicator_id, committed_monitoring, expected_programme_values
):
    rows = committed_monitoring[committed_monitoring["indicator_id"] == indicator_id].set_index("year")
    reported = rows["value"].dropna()
    expected = expected_programme_values[indicator_id]
    assert list(reported.index) == list(expected.index), indicator_id
    assert list(reported) == list(expected), indicator_id
    # No other value: entrants of 2021 are not in the cohort file, so their rows say so instead.
    for year in rows.index[rows["value"].isna()]:
        assert year == 2021 and rows.at[year, "comment"].startswith("Entrées de 2021 non encore consolidées")
    assert set(rows["status"]) <= {"final", "provisional", "définitif", "provisoire"}


def test_engagement_and_cohort_headlines_agree(committed_cohort, committed_monitoring):
    """The figures of the issue: cohort 3 has 420 entrants and cohort 12 has 300 (34/14/22/20/10 % of
    3 000 rows, see test_cohort_columns_sizes_and_programmes); 3.1 and 12.2 now add up to them."""
    values = committed_monitoring.groupby("indicator_id")["value"].sum()
    sizes = committed_cohort["programme"].value_counts()
    assert values["3.1"] == sizes["3"] == 420
    assert values["12.2"] == sizes["12"] == 300
    assert values["1.1"] == sizes["1"] == 1020


def test_return_to_work_share_is_a_lower_bound_of_the_cumulative_incidence(committed_cohort, committed_monitoring):
    """12.3 counts a person lost from follow-up without news as not in work; the Aalen-Johansen
    estimate of the cohort report (same entrants, 12 months) spreads their chances over the others:
    each year's share is at most the cumulative incidence of that year's entrants."""
    cohort = committed_cohort.assign(
        observation_start=pd.to_datetime(committed_cohort["observation_start"]).fillna(committed_cohort["entry_date"])
    )
    shares = committed_monitoring[committed_monitoring["indicator_id"] == "12.3"].set_index("year")["value"]
    assert list(shares.index) == [2019, 2020, 2021]
    for year, share in shares.items():
        entrants = cohort[(cohort["programme"] == "12") & (cohort["entry_date"].dt.year == year - 1)]
        data = competing_data(entrants, "employment", pd.Timestamp("2021-12-31"))
        table = cumulative_incidence(data["duration_months"], data["event"], entry=data["entry_months"], horizons=(12,))
        assert share <= 100 * float(table["estimate"].iloc[0]) + 0.05, year


def test_generated_demo_data_passes_validation(capsys, monitoring, spending):
    """``evaluation validate --data data/demo`` exits 0 and keeps every generated row, the 2021 rows
    without value (entrants not in the cohort file, with a comment) included."""
    assert evaluation_main(["validate", "--data", str(DEMO_DATA_DIR)]) == 0
    summary = capsys.readouterr().err.strip()
    counts = f"usable rows: {len(monitoring)} monitoring, {len(spending)} spending, 2940 barometer, 3000 cohorts"
    assert counts in summary
    assert summary.endswith("; 0 problem(s)")
