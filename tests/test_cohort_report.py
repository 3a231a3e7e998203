"""The cohort release of a year: right rates, one publication path, and nothing recoverable.

Run on the demo cohorts (synthetic), release of 2021 (every programme and all of them together).
The attack below is written here, independently of :mod:`evaluation.stats.disclosure_linked`: an attacker
who has every published table of the year's cohort reports (and the exports, which are the same
objects) solves linear programs over the microdata cells.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog

from evaluation.cli import main
from evaluation.formatting import format_number, format_pct
from evaluation.intake import load_cohorts
from evaluation.io import load_dataset
from evaluation.present import cohort as vc
from evaluation.publish import cohort_release as cr
from evaluation.referential.plan import load_plan
from evaluation.stats import cohorts as co

YEAR = 2021
PROGRAMMES = ["all", "1", "3", "9", "10", "12"]


@pytest.fixture(scope="module")
def demo():
    plan = load_plan()
    cohort, _problems = load_cohorts(load_dataset(None), plan)
    release = cr.build_release(plan, cohort, YEAR)
    return plan, cohort[cohort["entry_date"] <= pd.Timestamp(YEAR, 12, 31)], release


def _attributes(cohort: pd.DataFrame) -> pd.DataFrame:
    """The attacker's view of a person: the attributes the tables cross (written again, not imported)."""
    return pd.DataFrame(
        {
            "programme": cohort["programme"].astype(str),
            "cohort_year": cohort["entry_date"].dt.year.astype(str),
            "qpv": np.where(cohort["qpv"] == "hors QPV", "hors QPV", "QPV"),
            "sex": cohort["sex"].astype(str),
            "age_band": cohort["age_band"].astype(str),
            "qualification": cohort["qualification"].astype(str),
        },
        index=cohort.index,
    )


def _entrant_constraints(release: cr.CohortRelease) -> list[tuple[dict, float | None]]:
    """Every entrant cell of the release: (attributes it fixes, published value or None when hidden)."""
    out = []
    for row in release.entrants.itertuples(index=False):
        row_attr, col_attr = cr.ENTRANT_TABLES[row.table]
        cell = {} if row.programme == cr.ALL else {"programme": row.programme}
        if row.row != cr.TOTAL:
            cell[row_attr] = row.row
        if row.column != cr.TOTAL:
            cell[col_attr] = row.column
        out.append((cell, None if row.hidden else float(row.entrants)))
    for row in release.rates.drop_duplicates(["programme", "group_variable", "group"]).itertuples(index=False):
        cell = {} if row.programme == cr.ALL else {"programme": row.programme}
        if row.group_variable != cr.ALL:
            cell[row.group_variable] = row.group
        out.append((cell, None if np.isnan(row.entrants) else float(row.entrants)))
    return out


def _attack(
    people: pd.DataFrame, constraints: list[tuple[dict, float | None]], derived: list[dict] = ()
) -> list[tuple[dict, float, float, float]]:
    """For every hidden cell and every ``derived`` cell (never published): (cell, true value, minimum,
    maximum) over non-negative microcell counts matching every published cell exactly; a hidden
    non-zero count is known to be >= 1. A value in a cell may be a set of levels (any of them)."""
    columns = list(people.columns)
    levels = [sorted(people[c].unique()) for c in columns]
    grid = pd.MultiIndex.from_product(levels, names=columns).to_frame(index=False)
    truth = people.groupby(columns).size().reindex(pd.MultiIndex.from_frame(grid), fill_value=0).to_numpy(float)

    def row(cell: dict) -> np.ndarray:
        return _matching(grid, cell).astype(float)

    seen, unique = set(), []
    for cell, value in constraints:
        key = tuple(sorted((k, tuple(sorted(v)) if isinstance(v, set) else v) for k, v in cell.items()))
        if key not in seen:
            seen.add(key)
            unique.append((cell, value))
    published = [(row(c), v) for c, v in unique if v is not None]
    hidden = [(c, row(c)) for c, v in unique if v is None]
    # Microcells inside a published zero are zero: drop them (the same intervals, a smaller program).
    zero = np.zeros(len(grid), dtype=bool)
    for r, v in published:
        if v == 0:
            zero |= r > 0
    keep = ~zero
    a_eq = sparse.csr_array(np.array([r[keep] for r, v in published if v != 0]))
    b_eq = np.array([v for _, v in published if v != 0])
    floors = [(r[keep], min(1.0, float(r @ truth))) for _, r in hidden]
    a_ub = sparse.csr_array(np.array([-r for r, _ in floors])) if floors else None
    b_ub = np.array([-f for _, f in floors]) if floors else None
    results = []
    for cell, r in [*hidden, *((c, row(c)) for c in derived)]:
        true = float(r @ truth)
        objective = r[keep]
        high = linprog(-objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        upper = np.inf if high.status == 3 else -high.fun
        if upper > true + 0.5:  # not a point: the minimum is not needed
            results.append((cell, true, true, upper))
            continue
        low = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0, low.message
        results.append((cell, true, low.fun, upper))
    return results


def test_published_counts_respect_the_threshold(demo):
    """No entrant count, rate denominator or lost count below the threshold is published."""
    _plan, _cohort, release = demo
    threshold = release.rule.threshold
    for values in (
        release.entrants["entrants"],
        release.rates["entrants"],
        release.attrition["entrants"],
        release.attrition["lost"],
    ):
        shown = values.dropna().to_numpy()
        assert not ((shown > 0) & (shown < threshold)).any()
    assert not release.log.empty and set(release.log.columns) == {"table", "row", "column", "flag", "reason"}


def test_no_hidden_entrant_count_can_be_recovered_from_all_tables(demo):
    """Linear programming over programme x year x residence x sex x age x qualification with every
    entrant table of every programme and of all programmes: each hidden count keeps an interval."""
    _plan, cohort, release = demo
    results = _attack(_attributes(cohort), _entrant_constraints(release))
    assert results, "the demo release hides some entrant counts"
    for cell, true, low, high in results:
        assert high - low > 0.5, (cell, true, low, high)
        assert low <= true <= high


def _paths(cohort: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Per person: the first job's kind and horizon (S/E and 6/12/24), else lost (L) or other (O)."""
    path = pd.Series("O", index=cohort.index, dtype=object)
    path[co.lost_to_follow_up(cohort, as_of).reindex(cohort.index, fill_value=False)] = "L"
    job = co.competing_data(cohort, "employment", as_of)
    durable = co.competing_data(cohort, "sustainable", as_of)["event"] == 1
    for h in (24, 12, 6):
        reached = job.index[(job["event"] == 1) & (job["duration_months"] <= h)]
        path[reached] = np.where(durable[reached], f"S{h}", f"E{h}")
    return path


def _levels(outcome: str, horizon: int) -> set[str]:
    kinds = ("S", "E") if outcome == "employment" else ("S",)
    return {f"{k}{h}" for k in kinds for h in (6, 12, 24) if h <= horizon}


def _matching(people: pd.DataFrame, cell: dict) -> np.ndarray:
    mask = np.ones(len(people), dtype=bool)
    for name, value in cell.items():
        column = people[name].to_numpy()
        mask &= np.isin(column, list(value)) if isinstance(value, set) else column == value
    return mask


def test_no_hidden_count_can_be_recovered_from_the_whole_release(demo):
    """Worst case: every published rate gives its count d = estimate x entrants exactly (no censoring).
    One linear system over programme x year x residence x sex x age x qualification x path (first
    job sustainable or not within 6, 12, 24 months; lost; other) with every entrant table, every rate
    of both outcomes at every horizon and every lost count of the year: each hidden count keeps an
    interval, no published count or complement is small, and no small difference of published counts
    (jobs minus sustainable jobs, jobs found between two horizons, entrants minus jobs minus lost) can
    be derived either."""
    _plan, cohort, release = demo
    threshold = release.rule.threshold
    people = _attributes(cohort).assign(path=_paths(cohort, release.as_of))
    constraints = _entrant_constraints(release)
    derived = []
    for row in release.rates.itertuples(index=False):
        cell = {} if row.programme == cr.ALL else {"programme": row.programme}
        if row.group_variable != cr.ALL:
            cell[row.group_variable] = row.group
        levels = _levels(row.outcome, row.horizon_months)
        d = int(_matching(people, {**cell, "path": levels}).sum())
        n = int(_matching(people, cell).sum())
        if not row.hidden:
            assert d == 0 or d >= threshold, (row, d)
            assert n - d == 0 or n - d >= threshold, (row, n - d)
        published = not row.hidden and not np.isnan(row.estimate_pct)  # NaN and not secret: not measurable yet
        constraints.append(({**cell, "path": levels}, float(d) if published else None))
        if row.outcome == "employment" and row.horizon_months == 6:
            # Differences of published counts: jobs minus sustainable jobs by each horizon, and the
            # first jobs found between two horizons (sustainable or not, or both).
            for others in (
                {"E6"},
                {"E6", "E12"},
                {"E6", "E12", "E24"},
                {"S12"},
                {"E12"},
                {"S12", "E12"},
                {"S24"},
                {"E24"},
                {"S24", "E24"},
            ):
                if 0 < _matching(people, {**cell, "path": others}).sum() < threshold:
                    derived.append({**cell, "path": others})
    for row in release.attrition.itertuples(index=False):
        cell = {} if row.programme == cr.ALL else {"programme": row.programme}
        lost = int(_matching(people, {**cell, "path": {"L"}}).sum())
        constraints.append(({**cell, "path": {"L"}}, None if row.hidden else float(lost)))
        if 0 < _matching(people, {**cell, "path": {"O"}}).sum() < threshold:
            derived.append({**cell, "path": {"O"}})  # entrants - jobs within 24 months - lost
    results = _attack(people, constraints, derived)
    assert len(results) > 50 and derived
    for cell, true, low, high in results:
        assert high - low > 0.5, (cell, true, low, high)


@pytest.mark.parametrize("year", [2019, 2021])
def test_curves_say_no_more_than_the_rates(year):
    """Each programme's published curve: whole months; at 6, 12 and 24 months (when followed that long)
    it equals the published employment rate; between two consecutive points at least 10 first jobs
    (or none), unless both points are horizons (a difference of two rates, protected with them);
    no curve where a programme-level employment rate is hidden."""
    plan = load_plan()
    cohort, _problems = load_cohorts(load_dataset(None), plan)
    release = cr.build_release(plan, cohort, year)
    cohort = cohort[cohort["entry_date"] <= release.as_of]
    rates = release.rates[(release.rates["group_variable"] == cr.ALL) & (release.rates["outcome"] == "employment")]
    for programme, curve in release.curves.items():
        mine = rates[rates["programme"] == programme]
        if mine["hidden"].any():
            assert curve.empty
            continue
        assert np.allclose(curve["time"], np.round(curve["time"]))
        for rate in mine.itertuples(index=False):
            at = curve[curve["time"] == rate.horizon_months]
            if np.isnan(rate.estimate_pct):
                assert at.empty
            else:
                assert 100 * at["estimate"].iloc[0] == pytest.approx(rate.estimate_pct, abs=1e-9)
        people = cohort if programme == cr.ALL else cohort[cohort["programme"] == programme]
        data = co.competing_data(people, "employment", release.as_of)
        months = np.ceil(data.loc[data["event"] == 1, "duration_months"] - 1e-9)
        points = [0.0, *curve["time"]]
        for start, end in zip(points, points[1:], strict=False):
            found = int(((months > start) & (months <= end)).sum())
            both_horizons = start in (0, *cr.HORIZONS_MONTHS) and end in cr.HORIZONS_MONTHS
            assert found == 0 or found >= 10 or both_horizons, (programme, start, end, found)


def test_published_rates_are_the_cumulative_incidence(demo):
    """The release's rate of programme 12 (employment, all groups) is cumulative_incidence on its rows."""
    _plan, cohort, release = demo
    mine = cohort[cohort["programme"] == "12"]
    data = co.competing_data(mine, "employment", release.as_of)
    expected = co.cumulative_incidence(data["duration_months"], data["event"], entry=data["entry_months"])
    got = release.rates[
        (release.rates["programme"] == "12")
        & (release.rates["group_variable"] == "all")
        & (release.rates["outcome"] == "employment")
    ]
    assert got["estimate_pct"].to_numpy() == pytest.approx(100 * expected["estimate"].to_numpy(), abs=1e-9)
    assert got["ci_low_pct"].to_numpy() == pytest.approx(100 * expected["ci_lower"].to_numpy(), abs=1e-9)
    assert got["entrants"].tolist() == [len(mine)] * 3


def test_competing_first_events_are_not_censoring():
    """The issue's case: 40 CDI at month 3, 30 trainings at month 2, 30 without event (followed 24
    months). The share in a job within 12 months is 40 / 100 = 40 %, not 40 / 70 = 57.1 %."""
    entry = pd.Timestamp("2019-01-01")
    rows = []
    for i in range(100):
        kind, event = ("cdi", "2019-04-01") if i < 40 else ("training", "2019-03-01") if i < 70 else (None, None)
        rows.append(
            {
                "programme": "12",
                "entry_date": entry,
                "observation_start": entry,
                "qpv": "hors QPV" if i % 2 else "QN05980M",
                "sex": "F" if i % 3 else "M",
                "age_band": "16-25",
                "qualification": "bac",
                "first_employment_date": pd.Timestamp(event) if event else pd.NaT,
                "employment_kind": kind,
                "last_contact_date": pd.Timestamp("2021-01-01"),
                "cohort_year": 2019,
            }
        )
    release = cr.build_release(load_plan(), pd.DataFrame(rows), 2021)
    at12 = release.rates[
        (release.rates["programme"] == "12")
        & (release.rates["group_variable"] == "all")
        & (release.rates["outcome"] == "employment")
        & (release.rates["horizon_months"] == 12)
    ]
    assert at12["estimate_pct"].tolist() == pytest.approx([40.0], abs=1e-9)


@pytest.mark.parametrize("programme", PROGRAMMES)
def test_report_blocks_render_the_release(programme):
    ctx = vc.cohort_context(programme, YEAR)
    for block in (vc.entrants_block, vc.outcomes_block, vc.groups_block, vc.attrition_block, vc.targets_block):
        assert block(ctx).markup
    # The rates table shows the release's programme-level figures, in French, with their intervals.
    shown = vc.outcomes_block(ctx).markup
    mine = ctx.release.rates[(ctx.release.rates["group_variable"] == cr.ALL) & ~ctx.release.rates["hidden"]]
    for rate in mine.itertuples(index=False):
        text = f"{format_pct(rate.estimate_pct, 1)} ({format_number(rate.ci_low_pct, 1)} à {format_number(rate.ci_high_pct, 1)})"
        assert html.escape(text) in shown, (programme, rate)
    curve = ctx.release.curves[programme]
    assert np.allclose(curve["time"], np.round(curve["time"]))  # whole months, no exact dates
    assert list(curve.columns) == ["time", "estimate", "ci_lower", "ci_upper"]  # no count on the chart


def test_cli_cohorts_json_is_the_release(capsys, demo):
    _plan, _cohort, release = demo
    assert main(["cohorts", "--year", str(YEAR), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"demo", "year", "threshold", "rates", "tables"}
    assert (payload["demo"], payload["year"], payload["threshold"]) == (True, YEAR, 10)
    assert set(payload["rates"][0]) == set(cr.RATE_ROW_COLUMNS)
    assert len(payload["rates"]) == len(release.rates)
    shown = [r["estimate_pct"] for r in payload["rates"]]
    expected = release.rates["estimate_pct"].tolist()
    assert all(
        (a is None and np.isnan(b)) or a == pytest.approx(b, abs=1e-6) for a, b in zip(shown, expected, strict=True)
    )
    assert set(payload["tables"]) == set(cr.TABLE_NAMES)
    assert main(["cohorts", "--year", str(YEAR), "--programme", "12", "--format", "json"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert {r["programme"] for r in only["rates"]} == {"12"}


def test_cli_cohorts_bad_parameters(capsys):
    assert main(["cohorts", "--year", "2030"]) == 2
    assert (
        "--year 2030 is outside the plan (2018-2021)" in capsys.readouterr().err
    )  # one message for every command (config.check_year)
    assert main(["cohorts", "--year", "2021", "--programme", "99"]) == 2
    assert "unknown engagement id '99'" in capsys.readouterr().err


def test_cli_cohorts_text_and_csv_from_a_folder_with_only_cohorts(capsys, tmp_path):
    """A data directory with its dataset.yaml and cohorts/ only is enough; hidden cells print 's'."""
    import shutil

    from evaluation.config import DEMO_DATA_DIR

    (tmp_path / "dataset.yaml").write_text(
        "name: cohortes seules\ndemo: true\nprovenance: copie du jeu de démonstration\n"
    )
    shutil.copytree(DEMO_DATA_DIR / "cohorts", tmp_path / "cohorts")
    assert main(["cohorts", "--year", "2021", "--data", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("DONNÉES DE DÉMONSTRATION")
    # Programme 12's 12-month rate, the release's cumulative incidence (test_published_rates_are_the_cumulative_incidence).
    assert "12         ensemble                    employment      12      300    37,5  32,0 à 43,1" in text
    assert any(line.split()[-1] == "s" for line in text.splitlines()[3:])
    assert main(["cohorts", "--year", "2021", "--data", str(tmp_path), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "programme;group_variable;group;outcome;horizon_months;entrants;estimate_pct;ci_low_pct;ci_high_pct;secret"
    )
    assert lines[1].startswith("1;all;all;employment;6;1020;25,8")
