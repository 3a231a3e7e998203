"""The employment-rate gap as published: one object for the yearly report, the export and the command.

Sources of the expected values:

* hand-built partial barometers (three QPV), whose disclosure is worked out in the docstrings with
  the frequency rule (acro: counts 0 < x < 10 are primary) and checked against each year's own
  protected barometer (:func:`evaluation.publish.barometer_disclosure.protect_barometer`, tested on its own
  in ``tests/test_barometer_disclosure.py``);
* the demo data: the export ``ecart_taux_emploi`` of :func:`evaluation.present.tables.build_tables`, the
  yearly report's context and the command's JSON must hold the same numbers, cell for cell; the
  headline's figures are the export's, formatted here with one decimal and a decimal comma.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.cli import main
from evaluation.io import load_dataset
from evaluation.present.annual import (
    annual_context,
    contributions_block,
    decomposition_block,
    gap_chart,
    headline_block,
)
from evaluation.present.tables import build_tables
from evaluation.publish.barometer_disclosure import SECRET_COLUMN, protect_barometer
from evaluation.publish.gap_publication import COMPARATOR_COLUMNS, GAP_COLUMNS, QPV_COLUMNS, published_gap
from evaluation.referential.plan import load_plan
from evaluation.stats.disclosure import Flag
from evaluation.stats.employment_gap import DEFAULT_CENSUS_DESIGN_EFFECT, GAP_SERIES_COLUMNS

PLAN = load_plan()
DEMO = load_dataset()
EMPLOYMENT = "employment_rate_pct"

#: Three real QPV codes (the intake checks them against the reference list), the MEL and the MEL
#: outside QPV. 2020: employed [40, 30, 35] of [90, 50, 60]: every count, complement (50, 20, 25) and
#: total (105 of 200) is at least 10, nothing hidden. 2021: [4, 0, 3] of [9, 5, 6]: the QPV sum 7 of
#: 20 is small itself (primary), so the QPV aggregate is hidden, and the MEL outside QPV with it
#: (MEL - MEL outside QPV would give it back); the MEL is published.
PARTIAL = {
    2020: {
        "QN05965M": (90, 40),
        "QN05966M": (50, 30),
        "QN05967M": (60, 35),
        "MEL": (800_000, 500_000),
        "MEL_HORS_QPV": (799_800, 499_895),
    },
    2021: {
        "QN05965M": (9, 4),
        "QN05966M": (5, 0),
        "QN05967M": (6, 3),
        "MEL": (800_000, 500_000),
        "MEL_HORS_QPV": (799_980, 499_993),
    },
}


def long_table(counts: dict[int, dict[str, tuple[int, int]]]) -> pd.DataFrame:
    """The barometer long table of ``{year: {territory: (population_15_64, employed_15_64)}}``."""
    rows = []
    for year, territories in counts.items():
        for territory, (population, employed) in territories.items():
            for indicator, value in (("population_15_64", population), ("employed_15_64", employed)):
                rows.append(
                    {
                        "territory": territory,
                        "year": year,
                        "indicator": indicator,
                        "sex": "ensemble",
                        "age_band": "total",
                        "value": float(value),
                        "source": "INSEE, recensement (test)",
                        "vintage": year,
                        "sampled": True,
                    }
                )
    return pd.DataFrame(rows)


def quietly(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-count cautions: not the point here
        return function(*args, **kwargs)


# ---------------------------------------------------------------------------------------------------
# The function


def test_each_year_is_hidden_as_its_own_barometer_hides_it():
    """PARTIAL, releases of 2021: 2020 published (105 / 200 = 52.5 % against 62.5 %: 10 points);
    2021's QPV columns and gap hidden, as the 2021 barometer hides the QPV aggregate; the MEL is
    published there, so the comparator columns stay. The reduction would give the 2021 gap back: none."""
    barometer = long_table(PARTIAL)
    gap = quietly(published_gap, barometer, 2021)
    for year in (2020, 2021):
        protected = protect_barometer(barometer[barometer["year"] <= year], year)
        qpv_hidden = protected.flag("QPV", EMPLOYMENT, "level") is not Flag.PUBLISHED
        assert qpv_hidden == (year == 2021)
        assert protected.flag("MEL", EMPLOYMENT, "level") is Flag.PUBLISHED
    series = gap.series.set_index("year")
    assert tuple(gap.series.columns) == (*GAP_SERIES_COLUMNS, SECRET_COLUMN)
    assert series.loc[2020, "qpv_employed"] == 105 and series.loc[2020, "qpv_rate_pct"] == pytest.approx(52.5)
    assert series.loc[2020, "gap_pp"] == pytest.approx(62.5 - 52.5, abs=1e-12)
    assert series.loc[2020, SECRET_COLUMN] == ""
    assert series.loc[2021, list(QPV_COLUMNS + GAP_COLUMNS)].isna().all()
    assert series.loc[2021, "comparator_rate_pct"] == pytest.approx(62.5)
    assert series.loc[2021, SECRET_COLUMN] == ", ".join(QPV_COLUMNS + GAP_COLUMNS)
    assert series.loc[2021, "qpv_count"] == 3  # how many QPV, not what they count
    assert gap.hidden_years == (2021,) and gap.gap_hidden(2021) and not gap.gap_hidden(2020)
    assert gap.reduction is None
    # Against the MEL outside QPV, hidden with the aggregate in the 2021 barometer: everything goes.
    outside = quietly(published_gap, barometer, 2021, "MEL_HORS_QPV").series.set_index("year")
    assert outside.loc[2021, list(QPV_COLUMNS + COMPARATOR_COLUMNS + GAP_COLUMNS)].isna().all()


def test_an_earlier_hidden_year_stays_hidden_in_a_later_series():
    """The years swapped: 2020 is the small one. The series of 2021 publishes 2020 too, and hides it
    as the 2020 barometer did (the export used to hide only the report's own year). The reduction
    rests on the hidden baseline: none."""
    barometer = long_table({2020: PARTIAL[2021], 2021: PARTIAL[2020]})
    gap = quietly(published_gap, barometer, 2021)
    series = gap.series.set_index("year")
    assert series.loc[2020, list(QPV_COLUMNS + GAP_COLUMNS)].isna().all()
    assert series.loc[2021, "qpv_employed"] == 105
    assert gap.reduction is None


def test_the_default_design_effect_and_the_cautions():
    """Defaults: the census design effect (1.5) in every row; the small-count cautions name a count
    below the rule's threshold without its value (QN05966M's 5 residents of 15-64 in 2021)."""
    gap = quietly(published_gap, long_table(PARTIAL), 2021)
    assert gap.design_effect == DEFAULT_CENSUS_DESIGN_EFFECT == 1.5
    assert (gap.series["design_effect"] == 1.5).all()
    small = [c for c in gap.cautions if c.startswith("QN05966M 2021 population_15_64")]
    assert small == [
        "QN05966M 2021 population_15_64: a count under 10 (not shown: statistical confidentiality) is below 200, "
        "INSEE's caution threshold for census counts"
    ]


# ---------------------------------------------------------------------------------------------------
# The yearly report, the export and the command publish the same object


def cli_json(capsys, *args: str) -> dict:  # noqa: ANN001
    assert main(["employment-gap", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def chart_gap_line(ctx) -> np.ndarray:  # noqa: ANN001
    """The y values of the observed gap line of the report's chart (right panel)."""
    right = gap_chart(ctx).figure.axes[1]
    (line,) = [line for line in right.get_lines() if line.get_label() == "écart observé"]
    return np.asarray(line.get_ydata(), dtype=float)


def pp(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def assert_same_publication(ctx, export: pd.DataFrame, payload: dict) -> None:  # noqa: ANN001
    pd.testing.assert_frame_equal(ctx.series.reset_index(drop=True), export.reset_index(drop=True))
    pd.testing.assert_frame_equal(ctx.gap.series, export)
    from_cli = pd.DataFrame(payload["series"])
    for column in ("year", "qpv_rate_pct", "comparator_rate_pct", "gap_pp", "gap_low_pp", "gap_high_pp"):
        np.testing.assert_allclose(from_cli[column].astype(float), export[column].astype(float), rtol=0, atol=1e-9)
    assert from_cli[SECRET_COLUMN].tolist() == export[SECRET_COLUMN].tolist()
    np.testing.assert_array_equal(chart_gap_line(ctx), export["gap_pp"].to_numpy(dtype=float))


@pytest.mark.parametrize("year", [2019, 2021])
def test_report_export_and_command_agree_on_the_demo(capsys, year):
    """Demo data, nothing hidden: the report's series, the exported table and the command's JSON are
    the same numbers; the headline quotes the export's last row and the reduction's interval."""
    ctx = annual_context(year)
    export = build_tables(PLAN, DEMO, year)["ecart_taux_emploi"]
    payload = cli_json(capsys, "--year", str(year))
    assert_same_publication(ctx, export, payload)
    assert export[SECRET_COLUMN].eq("").all() and payload["hidden_years"] == []
    assert payload["design_effect"] == 1.5 and payload["threshold"] == 10
    last = export.iloc[-1]
    text = headline_block(ctx).markup
    assert f"un écart de {pp(last['gap_pp'])}\u00a0points" in text
    assert f"entre {pp(last['gap_low_pp'])} et {pp(last['gap_high_pp'])}\u00a0points" in text
    reduction = payload["reduction"]
    assert reduction["reduction_pp"] == pytest.approx(ctx.reduction.reduction_pp, abs=1e-12)
    assert reduction["reduction_low_pp"] == pytest.approx(ctx.reduction.reduction_low_pp, abs=1e-12)
    assert "ordres de grandeur" in text and "Ce qu'il ne mesure pas : l'effet du plan d'actions" in text


def test_report_export_and_command_agree_on_partial_data(tmp_path, capsys):
    """PARTIAL as a data directory (the demo's monitoring and spending, this barometer): in the
    report of 2021 the headline, the chart, the decomposition and the contributions publish nothing
    of the hidden aggregate, the export and the command hide the same cells."""
    data = tmp_path / "data"
    shutil.copytree(DEMO.path, data, ignore=shutil.ignore_patterns("cohorts", "barometer"))
    (data / "barometer").mkdir()
    long_table(PARTIAL).to_csv(data / "barometer" / "partial.csv", index=False)
    dataset = load_dataset(data)
    ctx = quietly(annual_context, 2021, str(data))
    export = quietly(build_tables, PLAN, dataset, 2021)["ecart_taux_emploi"]
    payload = cli_json(capsys, "--data", str(data))
    assert_same_publication(ctx, export, payload)
    assert payload["hidden_years"] == [2021] and payload["reduction"] is None
    assert math.isnan(chart_gap_line(ctx)[-1])

    text = headline_block(ctx).markup
    assert "soumis au secret statistique" in text and "La réduction obtenue n'est pas publiée" in text
    numbers = set(re.findall(r"\d+(?:,\d+)?", re.sub(r"<[^>]+>", " ", text)))
    hidden_values = {pp(100 * 7 / 20), pp(62.5 - 35.0), "7", "20"}
    assert not numbers & hidden_values, numbers & hidden_values
    assert "secret statistique" in decomposition_block(ctx).markup
    assert "secret statistique" in contributions_block(ctx).markup
    # The text command shows the secret too.
    assert main(["employment-gap", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^2021\s+s\s+62,5\s+s\s+secret statistique$", out, flags=re.MULTILINE), out


def test_the_design_effect_parameter_reaches_the_published_intervals(capsys):
    """``--design-effect 1`` (the old default) narrows the intervals by sqrt(1.5) roughly; the export
    and the report keep the package default."""
    wide = cli_json(capsys)
    narrow = cli_json(capsys, "--design-effect", "1")
    width = {
        name: p["series"][-1]["gap_high_pp"] - p["series"][-1]["gap_low_pp"] for name, p in (("w", wide), ("n", narrow))
    }
    assert width["w"] / width["n"] == pytest.approx(math.sqrt(1.5), rel=0.01)
    assert narrow["design_effect"] == 1.0
    assert Path(DEMO.path).is_dir()
