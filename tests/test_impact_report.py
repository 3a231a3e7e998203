"""What can be attributed to the plan, in the product: intake of ``comparison/``, the report section,
the exported tables, ``evaluation impact`` and ``evaluation validate``.

Where the expected values come from:

* the intake problems: hand-made files written below, whose lines are counted in comments (line 1
  is the header of a CSV, the first line of a YAML file); the messages are pinned word for word;
* the demo's comparison files: the generator itself, :func:`evaluation_demo.comparison.comparison_panel`
  (the panel in memory, never read back from the files), compared cell by cell with what the
  intake reads from ``data/demo/comparison/``;
* the estimates shown: :func:`evaluation.stats.impact.did`, ``event_study`` and ``placebo`` called here on
  that generated panel (the statistics themselves are checked against statsmodels and an exact
  solver in ``tests/test_impact.py``), formatted here with ``format`` and ``str.replace`` (not the
  package's French helpers);
* the built-in effect: :data:`evaluation_demo.comparison.EFFECT_2021`, whose mean over 2018-2021 is
  ``EFFECT x (1 + 2 + 3 + 4) / 4 / 4`` (``+0.9375`` points of employment rate, ``-5.0`` jobseekers per
  1 000), inside the published interval;
* the count of demo rows: 46 territories (26 QPV, their aggregate, 16 metropoles, the veille active,
  France QPV, France hors QPV) x 10 years (2012-2021) x 4 indicators = 1 840.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import re
from pathlib import Path

import matplotlib.text
import openpyxl
import pandas as pd
import pytest

from evaluation.cli import main
from evaluation.errors import UsageError
from evaluation.intake import COMPARISON_GROUPS, COMPARISON_INDICATORS, load_comparison, validate_dataset
from evaluation.intake.comparison import GroupRole
from evaluation.io import load_dataset
from evaluation.present import tables as tables_module
from evaluation.present.blocks import CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html
from evaluation.present.impact import impact_section
from evaluation.present.impact_publication import SECTION_INDICATORS, check_indicator, impact_publication
from evaluation.present.impact_tables import (
    IMPACT_SHEET_NAMES,
    IMPACT_TABLE_TITLES,
    impact_export_columns,
    impact_tables,
)
from evaluation.present.tables import TableContext
from evaluation.referential.plan import load_plan
from evaluation.stats import impact
from evaluation_demo import comparison as demo

NBSP = "\u00a0"


# --------------------------------------------------------------------------------------------------
# Hand-made data directories


def make_dataset(tmp_path: Path, declaration: str | None, series: dict[str, str]) -> Path:
    root = tmp_path / "data"
    folder = root / "comparison"
    folder.mkdir(parents=True)
    (root / "dataset.yaml").write_text("name: test\ndemo: false\nprovenance: tests\n", encoding="utf-8")
    if declaration is not None:
        (folder / "territoires.yaml").write_text(declaration, encoding="utf-8")
    for name, text in series.items():
        (folder / name).write_text(text, encoding="utf-8-sig")
    return root


def messages(problems: list) -> list[str]:
    return [str(p).split("/data/", 1)[-1] for p in problems]


CLEAN_DECLARATION = """\
territories:
  - code: QPV_LYON
    name: QPV de la Métropole de Lyon
    group: QPV d'autres métropoles
    source: ONPV
  - code: qpv_nantes
    name: QPV de Nantes Métropole
    group: qpv_metropoles
    source: ONPV
"""

#: Line 1 is the header. Comments name the problem of each line.
BAD_SERIES = """\
territoire;année;indicateur;valeur;source
QPV_LYON;2016;employment_rate_pct;45,2;ONPV
qpv_lyon;2017;Taux d'emploi des 15-64 ans (%);45,6;ONPV
QPV_LION;2016;employment_rate_pct;44,0;ONPV
QPV_NANTES;2O16;employment_rate_pct;44,0;ONPV
QPV_NANTES;1999;employment_rate_pct;44,0;ONPV
QPV_NANTES;2016;taux emploi;44,0;ONPV
QPV_NANTES;2016;employment_rate_pct;144,0;ONPV
QPV_NANTES;2016;jobseekers_per_1000;2 1O;ONPV
QPV_NANTES;2017;employment_rate_pct;44,5;
QPV_LYON;2016;employment_rate_pct;45,3;ONPV
QN05972M;2016;employment_rate_pct;40,1;ONPV
"""
# line 2: right; line 3: right (code in lower case, indicator by its French label); 4: unknown territory;
# 5: year with a letter O; 6: year outside 2000-2030; 7: unknown indicator; 8: a rate above 100;
# 9: not a number; 10: no source; 11: same key as line 2; 12: right (a QPV of the MEL, undeclared).


def test_series_problems_each_with_file_line_and_column(tmp_path: Path) -> None:
    root = make_dataset(
        tmp_path,
        CLEAN_DECLARATION,
        {
            "a.csv": BAD_SERIES,
            "b.csv": "territory;year;indicator;value;source\nQPV_LYON;2017;employment_rate_pct;45,7;INSEE\n",
        },
    )
    data, problems = load_comparison(load_dataset(root))
    assert messages(problems) == [
        "comparison/a.csv, line 4, column 'territory': 'QPV_LION' is not a declared comparison territory "
        "(did you mean 'QPV_LYON' (QPV de la Métropole de Lyon)?)",
        "comparison/a.csv, line 5, column 'year': '2O16' is not a year (write the year with 4 digits, e.g. 2019)",
        "comparison/a.csv, line 6, column 'year': '1999' is outside the comparison years (use a year from 2000 to 2030)",
        "comparison/a.csv, line 7, column 'indicator': 'taux emploi' is not an indicator of the comparison series "
        "(did you mean 'employment_rate_pct'?)",
        "comparison/a.csv, line 8, column 'value': '144,0' is out of range for its indicator (a rate in % lies from 0 "
        "to 100 (44 for 44 %, not 0,44), a rate per 1 000 from 0 to 1 000)",
        "comparison/a.csv, line 9, column 'value': '2 1O' is not a number (use digits, decimal comma allowed, e.g. "
        "1 250,5; write 1250 or 1,25 rather than 1.250)",
        "comparison/a.csv, line 10, column 'source': is missing (name the producer of the value, e.g. ONPV, INSEE "
        "recensement, France Travail)",
        "comparison/a.csv, line 11, column 'territory': 'QPV_LYON' appears twice for this year and indicator in this "
        "file (first at line 2) (keep one row per territory, year and indicator)",
        "comparison/b.csv, line 2, column 'territory': 'QPV_LYON / 2017 / employment_rate_pct' is also given in "
        "a.csv, line 3; both rows are left out (keep the value in one file only)",
        "comparison/territoires.yaml, line 6, column 'code': 'QPV_NANTES' is declared but no series file has a value "
        "for it (add its series to a file of the folder, or remove its declaration)",
    ]
    # Kept: line 2 (QPV_LYON 2016) and line 12 (QN05972M, known from the reference list); line 3 and
    # b.csv conflict; QPV_NANTES has no right row.
    kept = data.series[["territory", "group", "year", "indicator", "value", "file", "line"]]
    assert kept.values.tolist() == [
        ["QPV_LYON", "qpv_metropoles", 2016, "employment_rate_pct", 45.2, "a.csv", 2],
        ["QN05972M", "qpv_mel", 2016, "employment_rate_pct", 40.1, "a.csv", 12],
    ]
    assert [t.code for t in data.territories] == ["QPV_LYON", "QPV_NANTES", "QN05972M"]
    assert data.territory("QN05972M").declared is False and data.territory("QPV_NANTES").declared


BAD_DECLARATION = """\
synthetic: peut-être
territories:
  - code: QPV_LYON
    name: QPV de la Métropole de Lyon
    group: QPV d'autres métropoles
    source: ONPV
  - code: QPV_NANTES
    name: QPV de Nantes Métropole
    group: qpv_metropole
    source: ONPV
  - code: qpv_lyon
    name: Lyon encore
    group: qpv_metropoles
    source: ONPV
  - code: QPV_MEL
    name: QPV de la MEL (ensemble)
    group: qpv_mel
    source: ONPV
  - code: QVA MEL
    name: Veille active
    group: veille active
    sources: ONPV
"""
# line 1: not a boolean; 9: a group misspelt; 11: QPV_LYON again; 17: qpv_mel is for the reference QPV;
# 19: a space in the code, and (item of line 19) no 'source' but an unknown key 'sources' at line 22.


def test_declaration_problems_each_with_line_and_key(tmp_path: Path) -> None:
    series = "territoire;année;indicateur;valeur;source\nQPV_LYON;2016;employment_rate_pct;45,2;ONPV\n"
    root = make_dataset(tmp_path, BAD_DECLARATION, {"a.csv": series})
    data, problems = load_comparison(load_dataset(root))
    assert messages(problems) == [
        "comparison/territoires.yaml, line 1, column 'synthetic': 'peut-être' is not true or false "
        "(write synthetic: true or synthetic: false)",
        "comparison/territoires.yaml, line 9, column 'territories[1].group': 'qpv_metropole' is not a group of "
        "comparison territories (did you mean 'qpv_metropoles'?)",
        "comparison/territoires.yaml, line 11, column 'territories[2].code': 'QPV_LYON' is declared twice (first at "
        "territories[0]) (declare each territory once)",
        "comparison/territoires.yaml, line 17, column 'territories[3].group': 'qpv_mel' is for the 26 QPV of the "
        "reference list, and QPV_MEL is not one of them (use qpv_mel_ensemble for the 26 together, or the QPV's "
        "code (e.g. QN05972M))",
        "comparison/territoires.yaml, line 22, column 'territories[4].sources': unknown key (did you mean 'source'?)",
        "comparison/territoires.yaml, line 19, column 'territories[4].code': 'QVA MEL' is not a valid code (use 1 to "
        "40 letters, digits, _ or -, e.g. QPV_LYON)",
        "comparison/territoires.yaml, line 19, column 'territories[4]': 'source' is missing (name where the figures "
        "come from, e.g. ONPV, INSEE recensement)",
    ]
    assert [t.code for t in data.territories] == ["QPV_LYON"]
    assert len(data.series) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "territories:\n  - &a {code: X}\n  - *a\n",
            "comparison/territoires.yaml, line 2: uses a YAML anchor or alias (& or *) (write every value out)",
        ),
        (
            "territories:\n  - code: X\n   name: [\n",
            # PyYAML's own words for a key indented one space too far.
            "comparison/territoires.yaml, line 3: is not valid YAML (expected <block end>, but found "
            "'<block mapping start>') (check the indentation and the quotes)",
        ),
    ],
)
def test_unreadable_declaration_is_fatal(tmp_path: Path, text: str, expected: str) -> None:
    root = make_dataset(tmp_path, text, {})
    _data, problems = load_comparison(load_dataset(root))
    assert messages(problems) == [expected]
    assert problems[0].fatal


def test_a_linked_declaration_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "ailleurs.yaml"
    outside.write_text(CLEAN_DECLARATION, encoding="utf-8")
    root = make_dataset(tmp_path, None, {})
    (root / "comparison" / "territoires.yaml").symlink_to(outside)
    data, problems = load_comparison(load_dataset(root))
    assert messages(problems) == [
        "comparison/territoires.yaml: is a symbolic link: links are not followed, the file it points to is not read "
        "(copy the file itself into the folder)"
    ]
    assert problems[0].fatal and data.territories == ()


def test_missing_declaration_keeps_only_the_mel_qpv(tmp_path: Path) -> None:
    series = (
        "territoire;année;indicateur;valeur;source\n"
        "QPV_LYON;2016;employment_rate_pct;45,2;ONPV\n"
        "QN05972M;2016;employment_rate_pct;40,1;ONPV\n"
    )
    root = make_dataset(tmp_path, None, {"a.csv": series})
    data, problems = load_comparison(load_dataset(root))
    assert messages(problems) == [
        "comparison/territoires.yaml: is missing: the comparison territories are not declared (list each territory "
        "with code:, name:, group: and source: (see data/demo/comparison/territoires.yaml))"
    ]
    assert data.series["territory"].tolist() == ["QN05972M"]


def test_validate_lists_the_comparison_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_dataset(tmp_path, CLEAN_DECLARATION, {"a.csv": BAD_SERIES})
    problems, counts = validate_dataset(load_dataset(root), load_plan())
    assert counts["comparison_files"] == 2  # a.csv and territoires.yaml
    assert counts["comparison_rows"] == 3  # lines 2, 3 and 12 of BAD_SERIES (no b.csv here)
    assert main(["validate", "--data", str(root)]) == 1
    out = capsys.readouterr().out
    assert "comparison/a.csv, line 4, column 'territory': 'QPV_LION'" in out.replace(str(root) + "/", "")
    (root / "comparison" / "territoires.yaml").write_text("territories: [\n", encoding="utf-8")
    assert main(["validate", "--data", str(root)]) == 2  # an unreadable declaration


def test_validate_on_the_demo_data_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    err = capsys.readouterr().err
    assert "1840 comparison; 0 problem(s)" in err  # 46 territories x 10 years x 4 indicators


# --------------------------------------------------------------------------------------------------
# The demo files, the closed lists


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return demo.comparison_panel()


def test_demo_files_hold_the_generated_panel(panel: pd.DataFrame) -> None:
    data, problems = load_comparison(load_dataset())
    assert problems == []
    assert data.synthetic is True and data.description == demo.DEMO_NOTE
    read = data.panel().sort_values(["territory", "year"], ignore_index=True)
    expected = panel.sort_values(["territory", "year"], ignore_index=True)
    pd.testing.assert_frame_equal(read, expected, check_exact=True)
    text = (Path(data.folder) / "territoires.yaml").read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC") and "never quote it" in text


def test_write_comparison_writes_the_committed_files(tmp_path: Path) -> None:
    written = demo.write_comparison(tmp_path / "comparison")
    committed = load_dataset().path / "comparison"
    assert [p.name for p in written] == ["territoires.yaml", demo.COMPARISON_SERIES_FILE]
    for path in written:
        assert path.read_bytes() == (committed / path.name).read_bytes()


def test_closed_lists_match_the_generator() -> None:
    assert list(COMPARISON_INDICATORS) == list(demo.INDICATORS)
    assert set(COMPARISON_GROUPS) == set(demo.GROUPS)
    donors = {g for g, group in COMPARISON_GROUPS.items() if group.role is GroupRole.DONOR}
    assert donors == set(demo.DONOR_GROUPS)
    assert check_indicator("jobseekers_per_1000") == "jobseekers_per_1000"
    with pytest.raises(UsageError, match=r"unknown indicator 'taux_emploi' \(did you mean 'employment_rate_pct'\?"):
        check_indicator("taux_emploi")


# --------------------------------------------------------------------------------------------------
# The section on the demo data


def _did_frame(panel: pd.DataFrame, year: int) -> pd.DataFrame:
    """The DiD panel built here from the generator: the 26 QPV against the donor groups, years up to ``year``."""
    kept = panel[panel["group"].isin([demo.TREATED_GROUP, *demo.DONOR_GROUPS]) & (panel["year"] <= year)]
    return kept.assign(treated=kept["group"] == demo.TREATED_GROUP, post=kept["year"] >= 2018)


def _fr(value: float, sign: bool = True) -> str:
    """One decimal, decimal comma, a sign: written without the package's helpers."""
    text = f"{value:+.1f}" if sign else f"{value:.1f}"
    return text.replace(".", ",")


def _indicator_block(section, indicator: str) -> Html:
    """The section's text block of ``indicator`` (its heading is the escaped French label)."""
    heading = f"<h3>{html.escape(COMPARISON_INDICATORS[indicator].label)}</h3>"
    return next(b for b in section if isinstance(b, Html) and b.markup.startswith(heading))


@pytest.fixture(scope="module")
def publication():
    return impact_publication(2021, "", SECTION_INDICATORS)


@pytest.fixture(scope="module")
def section(publication):
    return impact_section(2021, publication=publication)


@pytest.mark.parametrize("indicator", SECTION_INDICATORS)
def test_section_shows_the_did_of_the_demo_panel(panel, publication, section, indicator: str) -> None:
    expected = impact.did(_did_frame(panel, 2021), indicator, "territory", "year", "treated", "post")
    shown = publication.results[indicator].did
    for key in ("estimate", "stderr", "ci_lower", "ci_upper"):
        assert shown[key] == pytest.approx(expected[key], abs=1e-12)
    # The built-in effect's mean over 2018-2021 (EFFECT_2021 x 2.5 / 4) lies inside the published interval.
    mean_effect = demo.EFFECT_2021[indicator] * (1 + 2 + 3 + 4) / 4 / 4
    assert mean_effect == demo.average_post_effect(indicator)
    assert expected.ci_lower <= mean_effect <= expected.ci_upper
    block = _indicator_block(section, indicator)
    unit = f"{NBSP}point" if indicator == "employment_rate_pct" else f"{NBSP}pour 1 000"
    more = "de plus" if expected.estimate > 0 else "de moins"  # employment up, jobseekers down (built in)
    assert f"en moyenne de {_fr(abs(expected.estimate), sign=False)}{unit} {more} que" in block.markup
    assert f"95 % : {_fr(expected.ci_lower)} à {_fr(expected.ci_upper)}{unit}".replace(" %", f"{NBSP}%") in block.markup


@pytest.mark.parametrize("indicator", SECTION_INDICATORS)
def test_section_shows_the_pretrend_test_and_the_synthetic_control(panel, publication, section, indicator) -> None:
    study = impact.event_study(_did_frame(panel, 2021), indicator, "territory", "year", "treated")
    donors = sorted(panel.loc[panel["group"].isin(demo.DONOR_GROUPS), "territory"].unique())
    placebo = impact.placebo(
        panel, indicator, "territory", "year", demo.TREATED_AGGREGATE, range(2012, 2018), range(2018, 2022), donors
    )
    result = publication.results[indicator]
    assert result.event.pretrend.pvalue == pytest.approx(study.pretrend.pvalue, abs=1e-12)
    assert (result.placebo.rank, result.placebo.units) == (placebo.rank, placebo.units) == (placebo.rank, 18)
    gaps = placebo.fits[demo.TREATED_AGGREGATE].path["gap"]
    assert result.synthetic.path["gap"].to_numpy() == pytest.approx(gaps.to_numpy(), abs=1e-9)
    block = _indicator_block(section, indicator)
    pretrend = f"{100 * study.pretrend.pvalue:.1f}".replace(".", ",") + f"{NBSP}%"
    assert f"probabilité critique {pretrend}" in block.markup
    # p = rank / (17 donors + 1): 1/18 = 5,6 % when the MEL QPV rank first.
    p_text = f"{100 * placebo.rank / 18:.1f}".replace(".", ",") + f"{NBSP}%"
    assert f"sur 18 : probabilité critique {p_text}" in block.markup
    side = "au-dessus" if gaps.iloc[-1] > 0 else "au-dessous"
    unit = f"{NBSP}point" if indicator == "employment_rate_pct" else f"{NBSP}pour 1 000"
    assert f"En 2021, les QPV de la MEL sont {_fr(abs(gaps.iloc[-1]), sign=False)}{unit} {side}" in block.markup


def test_section_cautions_banner_and_blocks(section) -> None:
    html = section.html()
    assert section.blocks[0].markup.startswith("<h2>Ce qui peut être attribué au plan</h2>")
    assert "valeurs inventées" in html and demo.DEMO_NOTE.split(" :")[0] in html  # the demo banner
    census = next(c for c in impact.CAUTIONS if c.code == "census_vintages")
    employment = _indicator_block(section, "employment_rate_pct")
    assert census.text.replace("'", "&#x27;") in employment.markup  # written next to the census estimate
    for caution in impact.CAUTIONS:
        assert caution.title.replace("'", "&#x27;") in section.blocks[-1].markup
    assert "statsmodels" in section.blocks[-1].markup  # the closing note: what was checked against what
    assert [type(b).__name__ for b in section] == ["Html", "Html", "Html", "Chart", "Html", "Chart", "Html"]


def test_charts_are_described_and_legible(section) -> None:
    charts = [b for b in section if isinstance(b, Chart)]
    assert len(charts) == 2
    for chart in charts:
        for figure, alt in zip(chart.figures, chart.alts, strict=True):
            assert figure.get_size_inches()[0] <= CHART_WIDTH_IN + 1e-9
            assert re.search(r"\d,\d", alt)  # French numbers in the text alternative
            sizes = [t.get_fontsize() for t in figure.findobj(matplotlib.text.Text) if t.get_text().strip()]
            assert sizes and min(sizes) >= MIN_FONT_PT
    assert "Graphique : Taux d'emploi des 15-64 ans (%), de 2012 à 2021" in charts[0].alts[0]


def test_report_of_2018_uses_the_years_up_to_2018(panel) -> None:
    publication = impact_publication(2018, "", ["employment_rate_pct"], ["did"])
    expected = impact.did(_did_frame(panel, 2018), "employment_rate_pct", "territory", "year", "treated", "post")
    result = publication.results["employment_rate_pct"]
    assert result.did.estimate == pytest.approx(expected.estimate, abs=1e-12)
    assert list(result.event.coefficients["year"]) == list(range(2012, 2019))
    assert result.placebo is None


def test_no_comparison_folder_gives_a_sentence_and_no_table(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "dataset.yaml").write_text("name: vide\ndemo: false\nprovenance: tests\n", encoding="utf-8")
    section = impact_section(2021, str(root))
    assert len(section) == 2 and "n'a pas de territoires de comparaison" in section.blocks[1].markup
    assert impact_tables(section.publication) == {}


def test_without_the_aggregate_the_synthetic_control_says_why(tmp_path: Path, panel: pd.DataFrame) -> None:
    rows = panel[panel["group"].isin(["qpv_mel", "qpv_metropoles"]) & (panel["territory"] <= "QPV_C")]
    series = [
        f"{r.territory};{r.year};employment_rate_pct;{r.employment_rate_pct:.1f};ONPV".replace(".", ",")
        for r in rows.itertuples()
    ]
    declaration = "territories:\n" + "".join(
        f"  - {{code: {c}, name: {c}, group: qpv_metropoles, source: ONPV}}\n"
        for c in ("QPV_AIX_MARSEILLE", "QPV_BORDEAUX", "QPV_BREST", "QPV_CLERMONT")
    )
    root = make_dataset(
        tmp_path, declaration, {"a.csv": "territoire;année;indicateur;valeur;source\n" + "\n".join(series)}
    )
    result = impact_publication(2021, str(root), ["employment_rate_pct"]).results["employment_rate_pct"]
    assert result.placebo is None and result.did is not None
    assert result.did.warning is not None  # 4 comparison clusters: fewer than 5
    assert result.notes == (
        "Contrôle synthétique non calculé : l'ensemble des 26 QPV de la MEL n'est pas déclaré (groupe "
        "« qpv_mel_ensemble » dans comparison/territoires.yaml, avec ses séries).",
    )


# --------------------------------------------------------------------------------------------------
# The exported tables


def test_tables_are_the_published_estimates_and_fully_described(publication) -> None:
    tables = impact_tables(publication)
    assert list(tables) == list(IMPACT_TABLE_TITLES) == list(IMPACT_SHEET_NAMES)
    estimates = tables["impact_estimations"]
    assert estimates[["indicator", "method"]].values.tolist() == [
        ["employment_rate_pct", "did"],
        ["employment_rate_pct", "synthetic"],
        ["jobseekers_per_1000", "did"],
        ["jobseekers_per_1000", "synthetic"],
    ]
    for indicator in SECTION_INDICATORS:
        result = publication.results[indicator]
        did_row = estimates[(estimates["indicator"] == indicator) & (estimates["method"] == "did")].iloc[0]
        assert did_row["estimate"] == result.did.estimate
        assert did_row["pvalue_pct"] == pytest.approx(100 * result.did.pvalue)
        synthetic_row = estimates[(estimates["indicator"] == indicator) & (estimates["method"] == "synthetic")].iloc[0]
        post = result.synthetic.path.query("period == 'post'")["gap"]
        assert synthetic_row["estimate"] == pytest.approx(post.sum() / 4)  # mean of the 2018-2021 gaps
        weights = tables["impact_poids"].query("indicator == @indicator")["weight_pct"]
        assert weights.sum() == pytest.approx(100)
    for name, frame in tables.items():
        columns = impact_export_columns(name)
        assert [c.name for c in columns] == list(frame.columns)
        assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", c.name) for c in columns)
        assert len(IMPACT_SHEET_NAMES[name]) <= 31


def test_tables_go_through_the_export_of_tables_py(publication, monkeypatch: pytest.MonkeyPatch) -> None:
    """The impact tables are registered in the export (evaluation.present.tables): rounding, CSV, workbook sheet."""
    tables = impact_tables(publication)
    context = TableContext(load_plan(), load_dataset(), 2021)
    exported = [tables_module.export_table(name, frame, context) for name, frame in tables.items()]
    estimates = exported[0]
    did_row = estimates.frame.iloc[0]
    expected = publication.results["employment_rate_pct"].did
    assert did_row["estimate"] == float(f"{expected.estimate:.1f}")  # rounded to 0.1 as the report prints it
    assert pd.isna(did_row["placebo_rank"]) and estimates.frame["placebo_rank"].dtype == "Int64"
    header = estimates.csv_bytes().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("indicator;method;first_post_year;last_post_year;estimate;ci_lower")
    workbook = tables_module.workbook_bytes(exported, context, dt.date(2022, 3, 1))
    sheets = openpyxl.load_workbook(io.BytesIO(workbook), read_only=True).sheetnames
    assert sheets[1:] == list(IMPACT_SHEET_NAMES.values())


# --------------------------------------------------------------------------------------------------
# The command


def test_cli_text_prints_the_estimates(panel, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["impact", "--indicator", "employment_rate_pct"]) == 0
    out = capsys.readouterr().out
    expected = impact.did(_did_frame(panel, 2021), "employment_rate_pct", "territory", "year", "treated", "post")
    assert out.startswith("DONNÉES DE DÉMONSTRATION")
    assert f"Double différence, 2018-2021 : {_fr(expected.estimate)}{NBSP}point (intervalle à 95{NBSP}% : " in out
    assert f"{_fr(expected.ci_lower)} à {_fr(expected.ci_upper)} ;" in out
    assert "placebos : rang 1 sur 18, probabilité critique 5,6\u00a0%" in out  # 1/18


def test_cli_json_holds_the_raw_values(panel, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["impact", "--indicator", "jobseekers_per_1000", "--format", "json", "--year", "2021"]) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = impact.did(_did_frame(panel, 2021), "jobseekers_per_1000", "territory", "year", "treated", "post")
    assert payload["demo"] is True and payload["indicator"] == "jobseekers_per_1000"
    assert payload["did"]["estimate"] == pytest.approx(expected.estimate, abs=1e-12)
    assert payload["did"]["ci_lower"] <= -5.0 <= payload["did"]["ci_upper"]  # EFFECT_2021 -8 x 2.5 / 4
    placebo = payload["synthetic"]["placebo"]
    assert placebo["p_value"] == placebo["rank"] / placebo["units"]
    assert payload["synthetic"]["rmspe_ratio"] is None  # exact pre fit: an infinite ratio, not valid JSON
    assert payload["synthetic"]["warning"].startswith("Le territoire synthétique reproduit exactement")
    codes = [c["code"] for c in payload["cautions"]]
    assert "census_vintages" not in codes and "yearly_sources_first" in codes


def test_cli_one_method(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["impact", "--indicator", "poverty_rate_pct", "--method", "did", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["synthetic"] is None and math.isfinite(payload["did"]["estimate"])
    assert payload["did"]["ci_lower"] <= 0.0 <= payload["did"]["ci_upper"]  # no effect built in for poverty


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["impact", "--indicator", "taux_emploi"],
            "evaluation: error: unknown indicator 'taux_emploi' (did you mean 'employment_rate_pct'? accepted: "
            "employment_rate_pct, jobseekers_per_1000, business_creations_per_1000, poverty_rate_pct)\n",
        ),
        (
            ["impact", "--indicator", "employment_rate_pct", "--year", "2030"],
            "evaluation: error: --year 2030 is outside the plan (2018-2021)\n",
        ),
    ],
)
def test_cli_refuses_a_bad_argument(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == message


def test_cli_refuses_data_with_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_dataset(tmp_path, CLEAN_DECLARATION, {"a.csv": BAD_SERIES})
    assert main(["impact", "--indicator", "employment_rate_pct", "--data", str(root)]) == 1
    err = capsys.readouterr().err
    assert "line 4, column 'territory': 'QPV_LION' is not a declared comparison territory" in err
    assert err.endswith("evaluation: error: 9 problem(s) in the input files (run 'evaluation validate' to list them)\n")
