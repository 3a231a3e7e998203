"""What a reader sees in the report blocks: French words that agree, statuses that match their legend,
a report of a year that stops at that year, charts legible at print size with a text alternative, and
notebook parameters whose mistakes are one French line.

The figures are built from a small hand-made dataset (``small_dataset``), so that each expected value
is computed here by hand from the plan's targets quoted in the comments.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from evaluation.errors import UsageError
from evaluation.formatting import NBSP
from evaluation.io import load_dataset
from evaluation.present import engagement as views
from evaluation.present import plan_status
from evaluation.referential.labels import UNIT_FORMS, acronyms_in, glossary_text, rule_text, with_unit
from evaluation.referential.plan import load_plan
from evaluation.referential.territories import load_qpv, reference_provenance
from evaluation.stats.monitoring import load_monitoring_data

PLAN = load_plan()
INDICATORS = {i.id: i for i in PLAN.indicators()}


# --------------------------------------------------------------------------------------------------
# Words that agree with their number


def test_units_agree_with_their_number():
    personnes = INDICATORS["12.1"]  # unit "personnes"
    assert with_unit(1, personnes) == f"1{NBSP}personne"
    assert with_unit(0, personnes) == f"0{NBSP}personne"  # French: 0 takes the singular
    assert with_unit(3, personnes) == f"3{NBSP}personnes"
    evenement = INDICATORS["5.10"]  # the plan writes this unit in the singular: "évènement"
    assert with_unit(21, evenement) == f"21{NBSP}évènements"
    assert with_unit(1, evenement) == f"1{NBSP}évènement"
    assert with_unit(1, INDICATORS["12.2"]) == f"1{NBSP}NEETS"  # invariable


def test_every_unit_of_the_plan_has_its_singular_and_plural():
    units = {i.unit for i in PLAN.indicators()} - {None, "%", "€"}
    assert sorted(units - set(UNIT_FORMS)) == []


def test_acronyms_are_found_in_order_of_first_use():
    assert acronyms_in(["Des Neets en QPV", "QPV, FEDER et MEL"]) == ["NEETS", "QPV", "FEDER", "MEL"]
    assert glossary_text(["la MEL"], skip=("MEL",)) == ""
    assert glossary_text(["un QPV"]) == "Sigles : QPV : quartier prioritaire de la politique de la ville."


def test_rule_in_words_hides_1_to_threshold_minus_1():
    # disclosure.py: a count x is sensitive when 0 < x < threshold; zeros are published.
    assert "un effectif de 1 à 9 est masqué" in rule_text("acro", 10)
    assert "plus de 85\u00a0%" in rule_text("fiscal", 11, 85.0)


# --------------------------------------------------------------------------------------------------
# A 2019 report from a hand-made dataset


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    """Sheet 12 only (targets: 12.1 10 personnes, 12.2 150 NEETS, both cumulative by 2021 with no
    baseline: path from 0 in 2017; 12.3 50 %), values and spending up to 2021."""
    root = tmp_path_factory.mktemp("small")
    (root / "monitoring").mkdir()
    (root / "spending").mkdir()
    (root / "dataset.yaml").write_text('name: "Essai"\ndemo: true\nprovenance: "tests"\n', encoding="utf-8")
    (root / "monitoring" / "m.csv").write_text(
        "indicator_id,year,value,status,source,comment\n"
        "12.1,2018,1,final,test,\n"
        "12.1,2020,2,final,test,\n"
        "12.2,2019,17,final,test,\n"
        "12.2,2020,63,final,test,\n"
        "12.3,2021,52.1,provisional,test,\n",
        encoding="utf-8",
    )
    (root / "spending" / "s.csv").write_text(
        "engagement;année;montant_eur;financeur\n12;2018;1000,00;MEL\n12;2020;5000,00;MEL\n", encoding="utf-8"
    )
    return root


def test_realisations_of_2019_stop_at_2019_and_call_a_partial_sum_incomplete(small_dataset):
    ctx = views.engagement_context("12", 2019, str(small_dataset))
    frame = views.realisations_frame(ctx).set_index("Code")
    assert list(frame.columns) == [
        "Résultat attendu",
        "2018",
        "2019",
        "Réalisé 2019",
        "Cible",
        "Progression 2019",
        "Attendu 2019",
        "Statut",
    ]
    # 12.2: 2018 missing, 17 in 2019: a sum of at least 17. Path 150 * (2019 - 2017) / (2021 - 2017) = 75;
    # 17 is below 75 - 10 % x 150, so the missing 2018 decides: no status, "incomplet", not "non renseigné".
    row = frame.loc["12.2"]
    assert row["Réalisé 2019"] == f"≥{NBSP}17{NBSP}NEETS (cumul)"
    assert row["Progression 2019"] == f"≥{NBSP}11{NBSP}%"  # 17 / 150 = 11.3 %, floored
    assert row["Attendu 2019"] == f"75{NBSP}NEETS"
    assert row["Statut"] == "incomplet"
    # 12.1: 1 in 2018, 2019 missing: at least 1 against 10 * 2 / 4 = 5 expected.
    assert frame.loc["12.1", "2018"] == f"1{NBSP}personne"
    assert frame.loc["12.1", "Attendu 2019"] == f"5{NBSP}personnes"
    assert frame.loc["12.1", "Statut"] == "incomplet"
    # 12.3: nothing reported up to 2019: no value shown, "non renseigné".
    assert (frame.loc["12.3", "Réalisé 2019"], frame.loc["12.3", "Statut"]) == ("–", "non renseigné")
    markup = html.unescape(views.realisations_block(ctx).markup)
    assert "« incomplet » : la valeur d'au moins une année manque" in markup
    assert f"63{NBSP}NEETS" not in markup and "52,1" not in markup  # the 2020 and 2021 values


def test_execution_of_2019_stops_at_2019(small_dataset):
    ctx = views.engagement_context("12", 2019, str(small_dataset))
    markup = views.execution_block(ctx).markup
    periods = re.findall(r"<tr><td>([^<]+)</td>", markup)
    assert periods[:3] == ["2018", "2019", "2018-2019"]
    assert "5\u00a0000\u00a0€" not in markup  # the 2020 spending
    # Sheet 12 plans 33 765 € (2018) + 61 875 € (2019) = 95 640 €; 1 000 € spent: 1,05 %, shown "1 %".
    total = markup[markup.index("<td>2018-2019</td>") :].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', total)[:3] == [
        f"95{NBSP}640{NBSP}€",
        f"1{NBSP}000{NBSP}€",
        f"1{NBSP}%",
    ]


def test_no_value_shown_is_called_non_renseigne():
    """On the demo data of every year: a row of the monitoring table with a value never says « non renseigné »."""
    for year in (2018, 2019, 2020, 2021):
        gaps = views.until_year(load_monitoring_data(PLAN, load_dataset()), year).gaps(PLAN, year)
        markup = views.monitoring_table_block(PLAN, gaps, year).markup
        rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", markup)[1:]]
        assert rows, year
        assert [r[0] for r in rows if r[-1] == "non renseigné" and r[2] != "–"] == []


def test_status_counts_name_the_incomplete_ones():
    gaps = load_monitoring_data(PLAN, load_dataset()).gaps(PLAN, 2021)
    assert "<th>non renseigné ou incomplet</th>" in views.status_counts_block(PLAN, gaps).markup


def test_sheet_header_spells_out_its_acronyms():
    markup = html.unescape(views.sheet_header(PLAN, PLAN.engagement("12")).markup)
    assert "Sigles : NEETS : jeunes ni en emploi, ni en études, ni en formation" in markup


def test_encoders_notes_shown_to_readers_are_french():
    labels = [m.label for s in PLAN.engagements for m in s.milestones]
    assert [x for x in labels if re.search(r"\b(year|assumed|printed|the plan)\b", x)] == []


def test_reference_block_is_french_and_keeps_the_files_facts():
    text = html.unescape(views_annual().reference_block().markup)
    provenance = " ".join(reference_provenance())
    for fact in ("2023-1314", "SIG Ville", "ANCT", "INSEE", "oct. 2025"):
        assert fact in provenance  # the file's own comment lines...
    for fact in ("2023-1314", "SIG Ville", "ANCT", "INSEE", "octobre 2025", "géographie 2024"):
        assert fact in text  # ... said in French
    assert "n'indique pas l'année" in text and "Annee des indicateurs non indiquee" in provenance
    assert "vlordier" not in text and "setup/" not in text and "Colonnes" not in text


def views_annual():
    from evaluation.present import annual as module

    return module


# --------------------------------------------------------------------------------------------------
# The yearly report: typography and order


@pytest.fixture(scope="module")
def annual_2021():
    return views_annual().annual_context(2021)


def test_barometer_table_typography(annual_2021):
    markup = html.unescape(views_annual().qpv_table_block(annual_2021).markup)
    assert "(-0,0)" not in markup and "[1e]" not in markup
    assert "[1er]" in markup  # every indicator has a first
    cells = re.findall(r"\(([+-]?\d+,\d)\)", markup)
    assert cells and all(c == "0,0" or c[0] in "+-" for c in cells)  # signed changes, no signed zero
    assert "demandeurs d'emploi en fin de mois (DEFM)" in markup


def test_commune_table_in_name_order(annual_2021):
    markup = html.unescape(views_annual().commune_table_block(annual_2021).markup)
    names = [re.findall(r"<td>([^<]*)</td>", r)[0] for r in re.findall(r"<tr>(.*?)</tr>", markup)[1:]]
    assert names[:2] == ["Armentières", "Croix"]  # INSEE order began with Villeneuve-d'Ascq (59009)
    plain = [n.replace("é", "e").replace("è", "e").lower() for n in names]
    assert plain == sorted(plain)


def test_headline_explains_qpv_at_first_use(annual_2021):
    assert (
        "quartiers prioritaires de la politique de la ville (QPV)" in views_annual().headline_block(annual_2021).markup
    )


# --------------------------------------------------------------------------------------------------
# Charts: print size, fonts, nothing cut, names in full, a text alternative


def _texts(figure) -> list[Text]:
    """The texts a reader sees: visible, not empty, and for tick labels, on a tick within the axis' view."""
    hidden = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def check_chart(chart: views.Chart) -> None:
    """Every part: at most the page's text width, fonts of 9 points or more, every text inside the
    figure, and an <img> with its alt text, shown at its drawn size (96 px per inch)."""
    markup = chart.html()
    images = re.findall(r"<img\b[^>]*>", markup)
    assert len(images) == len(chart.figures)
    for figure, alt, image in zip(chart.figures, chart.alts, images, strict=True):
        width, height = figure.get_size_inches()
        assert width <= views.CHART_WIDTH_IN + 1e-9
        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        box = figure.bbox
        for text in _texts(figure):
            assert text.get_fontsize() >= views.MIN_FONT_PT, text.get_text()
            extent = text.get_window_extent(renderer)
            assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, text.get_text()
            assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, text.get_text()
        assert f'width="{round(width * 96)}"' in image and f'height="{round(height * 96)}"' in image
        assert re.search(r'alt="([^"]{40,})"', image), image[:200]
        assert alt and alt in chart._repr_mimebundle_()["text/plain"]


def _unwrapped(figure) -> set[str]:
    return {t.get_text().replace("\n", " ").replace(NBSP, " ") for t in _texts(figure)}


def test_engagement_charts():
    ctx = views.engagement_context("5", 2021)  # 11 quantified indicators: two figures
    chart = views.trajectory_chart(ctx)
    assert len(chart.figures) == 2
    check_chart(chart)
    shown = set().union(*(_unwrapped(f) for f in chart.figures))
    for ind in ctx.sheet.indicators:
        if ind.is_quantitative:
            assert f"{ind.id} – {ind.label}" in shown  # titles in full
    check_chart(views.budget_chart(ctx.sheet))
    heatmap = views.status_heatmap(ctx.plan, ctx.data.realised, 2019)
    check_chart(heatmap)
    ticks = [t.get_text() for t in heatmap.figure.axes[0].get_xticklabels()]
    assert ticks == ["2018", "2019"]  # a 2019 report stops at 2019
    names = {plan_status.sheet_label(s) for s in PLAN.engagements}
    assert names <= _unwrapped(heatmap.figure)  # sheet names in full


def test_budget_chart_alt_gives_the_amounts():
    chart = views.budget_chart(PLAN.engagement("12"))
    # Sheet 12: 33 765 €, 61 875 €, 34 125 € and 31 603 € (plan, "Financement MEL").
    assert chart.alt.endswith(
        f"33{NBSP}765{NBSP}€ en 2018, 61{NBSP}875{NBSP}€ en 2019, 34{NBSP}125{NBSP}€ en 2020 et 31{NBSP}603{NBSP}€ en 2021."
    )


def test_annual_charts(annual_2021):
    module = views_annual()
    gap = module.gap_chart(annual_2021)
    check_chart(gap)
    series = annual_2021.series.dropna(subset=["gap_pp"])
    first, last = (f"{v:.1f}".replace(".", ",") for v in (series["gap_pp"].iloc[0], series["gap_pp"].iloc[-1]))
    assert f"l'écart passe de {first} à {last}{NBSP}points" in gap.alt

    heatmap = module.barometer_heatmap(annual_2021)
    check_chart(heatmap)
    qpv_names = {q.name for q in load_qpv()}
    assert qpv_names <= _unwrapped(heatmap.figure)  # names in full, none cut

    multiples = module.qpv_small_multiples(annual_2021)
    check_chart(multiples)
    panels = [a for f in multiples.figures for a in f.axes]
    assert len(panels) == 26
    assert {a.get_title(loc="left").replace("\n", " ") for a in panels} == qpv_names
    for axes in panels:  # years on every panel, not only the last row
        years = [t.get_text() for t in axes.get_xticklabels() if t.get_visible()]
        assert years and all(y.isdigit() for y in years)


def test_cohort_chart():
    from evaluation.present import cohort as views_cohort

    ctx = views_cohort.cohort_context("12", 2021)
    chart = views_cohort.incidence_chart(ctx)
    check_chart(chart)
    # The alt text reads the published steps at 6, 12 and 24 months: the level of the last step at or before each.
    curve = ctx.release.curves["12"]
    for months in (6, 12, 24):
        level = 100 * curve.loc[curve["time"] <= months, "estimate"].iloc[-1]
        assert f"{level:.1f}".replace(".", ",") + f"{NBSP}% à {months} mois" in chart.alt


def test_progress_chart_names_the_indicators():
    from evaluation.present import synthesis as views_synthesis

    ctx = views_synthesis.synthesis_context(2021)
    chart = views_synthesis.progress_chart(ctx)
    check_chart(chart)
    labels = set()
    for figure in chart.figures:
        labels |= {t.get_text().replace("\n", " ") for t in figure.axes[0].get_yticklabels()}
    gaps = ctx.annual.gaps
    shown = gaps[gaps["achievement_pct"].notna() & gaps["status"].isin(["achieved", "on_track", "behind", "no_data"])]
    assert labels == {f"{r.indicator_id} – {r.label}" for r in shown.itertuples()}


# --------------------------------------------------------------------------------------------------
# Notebook parameters


PARAMETERS_CELL = 'engagement_id: str = "1"  # fiche\nyear: int = 2021  # année\ndata_dir: str = ""\n'
CONTEXT_CELL = "from evaluation import views\n\nreport = views.engagement_context(engagement_id, year, data_dir)\n"
EXPECTED = ("engagement_id", "year", "data_dir")


@pytest.mark.parametrize(
    ("history", "unknown"),
    [
        ([""], []),
        (["", PARAMETERS_CELL + "anne = 2019\n"], ["anne"]),  # JupyterLab: a typo in the parameters cell
        (["", PARAMETERS_CELL, "# Parameters\nyear = 2019\nanne = 2019\n"], ["anne"]),  # papermill's injected cell
        (["", PARAMETERS_CELL, "anne = 2019"], ["anne"]),  # a cell of its own right after
        (["", PARAMETERS_CELL + "anne = 2019\n", CONTEXT_CELL, CONTEXT_CELL], ["anne"]),  # the report cell run again
        (["", PARAMETERS_CELL, CONTEXT_CELL, "x = 5"], []),  # scratch work later: not a parameter
        (["", PARAMETERS_CELL + "_private = 1\n"], []),
    ],
)
def test_unknown_parameter_names(history, unknown):
    assert views.unknown_parameters(history, EXPECTED) == unknown


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: views.engagement_context("99", 2021),
            "Paramètre engagement_id = « 99 » refusé (ce n'est pas une fiche du plan ; la plus proche : « 9 ») : "
            "valeurs acceptées « 1 » à « 17 », « 4a », « 5a », « 5b », « 5c », « gouvernance », « evaluation ».",
        ),
        (
            lambda: views.engagement_context("12", 2030),
            "Paramètre year = 2030 refusé : valeurs acceptées 2018, 2019, 2020, 2021 (années du plan).",
        ),
        (
            lambda: views.engagement_context("12", "2021"),
            "Paramètre year = « 2021 » refusé (un nombre entier est attendu) : valeurs acceptées 2018, 2019, 2020, "
            "2021 (années du plan).",
        ),
        (
            lambda: views.engagement_context("12", 2021, "/nonexistent/folder"),
            "Paramètre data_dir = « /nonexistent/folder » refusé (dossier introuvable) : valeurs acceptées « » (jeu "
            "de démonstration) ou un dossier de données contenant dataset.yaml.",
        ),
        (
            lambda: views_annual().annual_context(2021, comparator="FRANCE"),
            "Paramètre comparator = « FRANCE » refusé : valeurs acceptées « MEL » (ensemble de la Métropole) ou "
            "« MEL_HORS_QPV » (Métropole hors quartiers prioritaires).",
        ),
        (
            lambda: views_annual().annual_context(2021, baseline_year=2010),
            "Paramètre baseline_year = 2010 refusé : valeurs acceptées 0 (première année de la série, 2015) ou une "
            "année de la série, de 2015 à 2021.",
        ),
    ],
)
def test_parameter_errors_are_one_french_line(call, message):
    with pytest.raises(UsageError) as caught:
        call()
    assert str(caught.value) == message


def test_cohort_parameter_errors():
    from evaluation.present import cohort as views_cohort

    with pytest.raises(UsageError, match=r"^Paramètre rule = « x » refusé : valeurs acceptées « » \(la règle"):
        views_cohort.cohort_context("all", 2021, rule="x")
    with pytest.raises(UsageError, match=r"^Paramètre programme = « 2 » refusé \(aucun bénéficiaire suivi en 2021\)"):
        views_cohort.cohort_context("2", 2021)


def _notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return notebook


def test_in_a_kernel_a_wrong_parameter_is_one_line_and_the_cell_fails():
    """A real kernel (nbclient, as papermill runs the batch): the misspelt name is warned about in the
    report cell's output; the wrong id fails its cell (CellExecutionError, what papermill turns into a
    failed report) with an error output whose whole traceback is the French line."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = _notebook(
        PARAMETERS_CELL + "anne = 2019\n",
        CONTEXT_CELL,
        'views.engagement_context("99", year)',
        "print('not reached')",
    )
    client = NotebookClient(notebook, timeout=120, kernel_name="python3")
    with pytest.raises(CellExecutionError) as caught:
        client.execute()
    assert caught.value.ename == "UsageError"
    assert caught.value.evalue.startswith("Paramètre engagement_id = « 99 » refusé")
    warning = "".join(o.get("data", {}).get("text/html", "") for o in notebook.cells[1].outputs)
    assert "<li>anne = 2019</li>" in warning and "Paramètres de ce rapport : engagement_id, year, data_dir." in warning
    (error,) = [o for o in notebook.cells[2].outputs if o.output_type == "error"]
    assert len(error.traceback) == 1
    assert re.sub(r"\x1b\[[0-9;]*m", "", error.traceback[0]) == caught.value.evalue
    assert notebook.cells[3].outputs == []

    # A parameter's line deleted or renamed: the NameError of that name is one French line too.
    notebook = _notebook("from evaluation import views\nanne = 2019", "views.engagement_context('12', year)")
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (error,) = [o for o in notebook.cells[1].outputs if o.output_type == "error"]
    assert error.ename == "NameError" and len(error.traceback) == 1
    assert "Paramètre year non défini : la cellule des paramètres" in error.traceback[0]


def test_check_parameter_names_outside_a_kernel_does_nothing():
    assert views.check_parameter_names(EXPECTED) == []


def test_a_chart_needs_a_text_alternative():
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match="text alternative"):
        views.Chart(Figure(), "graphique", " ")


@pytest.mark.parametrize(
    ("count", "head", "more"), [(1, "1\u00a0problème", ""), (7, "7\u00a0problèmes", "… et 2\u00a0autres")]
)
def test_data_problems_agree_with_their_number(count, head, more):
    from evaluation.intake import Problem

    problems = [
        Problem(Path("m.csv"), i + 2, "value", "x", "is not a number", message_fr="n'est pas un nombre")
        for i in range(count)
    ]
    markup = views.data_problems_block(problems).markup
    assert f"Attention : {head} dans les fichiers de données" in markup
    assert more in markup and "(s)" not in markup  # five are listed, then "… et 2 autres"


def test_progress_text_is_not_floored_below_by_float_noise():
    """Indicator 1.2 of the old demo: 59.4 toward 50 -> 60 is (59.4 - 50) / (60 - 50) = 94 %, which
    Python computes as 93.99999999999999: shown 94 %, not 93 % (still floored for a target not met:
    93.6 % is 93 %)."""
    from evaluation.present.plan_status import progress_text

    noisy = (59.4 - 50) / (60 - 50) * 100
    assert noisy < 94
    assert progress_text(noisy, "behind") == "94\u00a0%"
    assert progress_text(93.6, "behind") == "93\u00a0%"
