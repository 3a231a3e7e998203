"""The exported tables for people (``tables/*.csv`` and ``tables.xlsx``), on the demo data of 2021.

The year's tables are built once (:func:`evaluation.present.tables.build_tables`, the same call as ``evaluation
run``), written to a temporary folder, and the files are read back with openpyxl and pandas, never
through the module's own reader. Where a number is asserted, it comes from:

* a hand calculation shown in a comment (the plan's baseline and target of indicator 1.2: baseline
  50 %, target 60 % in 2021, ``data/plan/sheets/1.yaml``; indicator 2.1: 4 000 contracts by 2019);
* the demo input files read here with pandas/csv/yaml, not with the library
  (``data/demo/barometer/barometre_2015_2021.csv``, ``data/demo/spending/depenses_mel.csv``,
  ``data/plan/sheets/5c.yaml``, ``data/reference/qpv_mel_2024.csv``);
* an independent rounding written below with :mod:`decimal` (the reports' rounding is Python's
  ``format``: round half to even on the exact binary value; a progress toward a target not met is
  rounded down after the division's float noise, 9 decimals, is removed).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import warnings
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from evaluation.config import DATA_DIR
from evaluation.io import load_dataset
from evaluation.present.tables import (
    README_SHEET,
    SHEET_NAMES,
    WORKBOOK_NAME,
    Kind,
    TableContext,
    build_tables,
    export_table,
    export_tables,
    french_note,
    write_tables,
)
from evaluation.referential.plan import load_plan
from evaluation.stats.targets import STATUS_FR, Status, gap_table

PLAN = load_plan()
DEMO = load_dataset()
YEAR = 2021
PRODUCED = dt.date(2022, 3, 1)
COHORT_TABLES = ("cohortes_taux", "cohortes_entrees", "cohortes_perdus_de_vue")
#: Headers that are codes: lower-case words joined by underscores (``achievement_pct``, ``no_data``).
CODE_NAME = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+|[a-z]+")
#: Threshold of the demo's disclosure rule (``acro``: a count x with 0 < x < 10 is sensitive).
THRESHOLD = 10


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The year's tables, their export, and the files written: (raw tables, exported, folder, workbook)."""
    folder = tmp_path_factory.mktemp("tables")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the statistical cautions of the demo data, shown by the reports
        tables = build_tables(PLAN, DEMO, YEAR)
        write_tables(tables, folder, produced=PRODUCED)
    exported = {table.name: table for table in export_tables(tables)}
    book = openpyxl.load_workbook(folder / WORKBOOK_NAME)
    return tables, exported, folder, book


def sheet_frame(book: openpyxl.Workbook, name: str) -> pd.DataFrame:
    """A data sheet as a DataFrame of its cell values (header row as columns)."""
    rows = list(book[SHEET_NAMES[name]].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def read_csv(folder: Path, table) -> pd.DataFrame:  # noqa: ANN001
    """A CSV read back with pandas as a French-Excel CSV; text columns as text (codes such as ``'1'``)."""
    text = [c.name for c in table.columns if c.kind in (Kind.TEXT, Kind.CODE, Kind.SECRET)]
    return pd.read_csv(
        folder / f"{table.name}.csv", sep=";", decimal=",", encoding="utf-8-sig", dtype=dict.fromkeys(text, str)
    )


def comparable(frame: pd.DataFrame, table) -> pd.DataFrame:  # noqa: ANN001
    """Numbers as floats (NaN when empty), text as objects (None when empty), flags as booleans."""
    out = {}
    for column in table.columns:
        values = frame[column.name]
        if column.kind in (Kind.TEXT, Kind.CODE, Kind.SECRET):
            out[column.name] = values.astype(object).where(values.notna(), None)
        elif column.kind is Kind.FLAG:
            out[column.name] = values.astype(bool)
        else:
            out[column.name] = values.astype("float64")
    return pd.DataFrame(out)


def rounded(value: float, places: int) -> float:
    """Independent rounding: half to even on the exact binary value (what ``format`` does)."""
    return float(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def floored(value: float, places: int) -> float:
    """Independent rounding down, after the float noise (9 decimals) is removed."""
    clean = Decimal(value).quantize(Decimal("1e-9"), rounding=ROUND_HALF_EVEN)
    return float(clean.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR))


def format_decimals(number_format: str) -> int:
    """Decimals an Excel number format shows: the zeros after its point."""
    match = re.search(r"\.(0+)", number_format)
    return len(match.group(1)) if match else 0


# --------------------------------------------------------------------------------------------------
# The workbook


def test_sheets_readme_first_then_every_table_with_the_cohorts(run):
    tables, _exported, folder, book = run
    assert book.sheetnames == [README_SHEET, *(SHEET_NAMES[name] for name in tables)]
    assert set(COHORT_TABLES) <= set(tables)
    for name in tables:
        assert (folder / f"{name}.csv").is_file()


def test_no_sheet_header_is_a_code_name(run):
    tables, exported, _folder, book = run
    codes = {c for frame in tables.values() for c in frame.columns} | {s.value for s in Status}
    codes |= {c.name for table in exported.values() for c in table.columns}
    for name in tables:
        headers = [cell.value for cell in book[SHEET_NAMES[name]][1]]
        assert all(isinstance(h, str) and h for h in headers), name
        assert not set(headers) & codes, name
        assert not [h for h in headers if CODE_NAME.fullmatch(h)], name


def test_header_bold_frozen_filtered_and_widths_fitted(run):
    tables, _exported, _folder, book = run
    for name in tables:
        ws = book[SHEET_NAMES[name]]
        assert ws.freeze_panes == "A2", name
        assert all(cell.font.bold for cell in ws[1]), name
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}", name
        for column in ws.iter_cols(min_row=2):
            width = ws.column_dimensions[column[0].column_letter].width
            assert 8 <= width <= 62, (name, column[0].column_letter)
            # A number fits: its digits, thousands separators and sign (no '####' in Excel).
            numbers = [abs(c.value) for c in column if isinstance(c.value, (int, float))]
            if numbers:
                digits = len(f"{max(numbers):,.0f}") + 3
                assert width >= digits, (name, column[0].column_letter)


def test_numbers_typed_with_no_more_decimals_than_their_format(run):
    tables, exported, _folder, book = run
    allowed = {"0", "#,##0", "#,##0.0", "0.0", '#,##0\\ "€"', '0.0\\ "%"'}
    for name in tables:
        kinds = {c.header: c.kind for c in exported[name].columns}
        ws = book[SHEET_NAMES[name]]
        headers = [cell.value for cell in ws[1]]
        for row in ws.iter_rows(min_row=2):
            for header, cell in zip(headers, row, strict=True):
                kind = kinds[header]
                if kind in (Kind.TEXT, Kind.CODE, Kind.FLAG, Kind.SECRET):
                    assert not isinstance(cell.value, (int, float)) or isinstance(cell.value, bool), (name, header)
                    continue
                if cell.value is None:
                    continue
                assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), (name, header)
                assert cell.number_format in allowed, (name, header, cell.number_format)
                places = format_decimals(cell.number_format)
                scaled = cell.value * 10**places
                assert abs(scaled - round(scaled)) < 1e-6, (name, header, cell.value, cell.number_format)
                if kind in (Kind.COUNT, Kind.YEAR, Kind.EUR):
                    assert isinstance(cell.value, int), (name, header, cell.value)
                if kind is Kind.PCT:
                    assert cell.number_format == "0.0" and header.endswith("(%)"), (name, header)
                if kind is Kind.EUR:
                    assert cell.number_format == '#,##0\\ "€"', (name, header)


def test_values_rounded_as_the_reports(run):
    """Every number of every sheet against the raw table rounded independently (module docstring)."""
    tables, exported, _folder, book = run
    for name, raw in tables.items():
        sheet = sheet_frame(book, name)
        raw = raw.reset_index(drop=True)
        for column in exported[name].columns:
            if column.kind not in (Kind.COUNT, Kind.YEAR, Kind.EUR, Kind.PCT, Kind.POINTS, Kind.RATIO, Kind.MEASURE):
                continue
            if column.name not in raw.columns:
                continue  # a derived column (the plan's deadline year)
            for index, (value, shown) in enumerate(zip(raw[column.name], sheet[column.header], strict=True)):
                if pd.isna(value):
                    assert shown is None or (isinstance(shown, float) and math.isnan(shown)), (name, column.name)
                    continue
                value = float(value)
                if column.kind in (Kind.COUNT, Kind.YEAR, Kind.EUR):
                    expected = rounded(value, 0)
                elif column.kind is Kind.MEASURE:
                    measure = raw.at[index, "measure"]
                    places = {"percentage": 1, "amount": 0, "milestone": 0}.get(measure, 1)
                    expected = rounded(value, places)
                elif name == "ecarts_cibles" and column.name == "achievement_pct":
                    met = raw.at[index, "status"] == "achieved"
                    expected = rounded(value, 1) if met else floored(value, 1)
                else:
                    expected = rounded(value, 1)
                assert shown == expected + 0.0, (name, column.name, index, value, shown)


def test_no_negative_zero_and_no_float_noise_anywhere(run):
    tables, exported, folder, _book = run
    for name in tables:
        text = (folder / f"{name}.csv").read_text(encoding="utf-8-sig")
        assert not re.search(r"(^|;)-0(,0+)?(;|$)", text, flags=re.M), name
        assert not re.search(r"(^|;)-?\d+,\d{2,}(;|$)", text, flags=re.M), name  # at most 1 decimal


def test_statuses_in_french_counted_as_the_index(run):
    """The sheet's statuses are the reports' labels (:data:`STATUS_FR`); the CSV keeps the codes.
    The number of "en retard" equals the raw table's count of ``behind`` (recounted here)."""
    tables, _exported, folder, book = run
    sheet = sheet_frame(book, "ecarts_cibles")
    assert set(sheet["Statut"]) <= set(STATUS_FR.values())
    raw = tables["ecarts_cibles"]
    for status in Status:
        assert (sheet["Statut"] == STATUS_FR[status]).sum() == (raw["status"] == status.value).sum()
    counts = sheet_frame(book, "statuts_par_priorite").set_index("Priorité")
    assert counts.at["Total", "En retard"] == (raw["status"] == "behind").sum()
    assert (
        counts.at["Priorité 1", "Atteint"]
        == (
            raw["status"].eq("achieved")
            & raw["indicator_id"].isin([i.id for s in PLAN.engagements if s.priority == "P1" for i in s.indicators])
        ).sum()
    )
    csv_status = pd.read_csv(folder / "ecarts_cibles.csv", sep=";", encoding="utf-8-sig")["status"]
    assert set(csv_status) <= {s.value for s in Status}
    notes = sheet["Remarque"].dropna()
    assert "valeur 2021 manquante" in set(notes)
    assert not notes.str.contains(r"missing|lower bound|deadline|non traduit").any()


def test_qpv_and_commune_names_beside_codes(run):
    """Names and communes as the reference file gives them (read here with csv, ';' between communes)."""
    _tables, _exported, _folder, book = run
    with (DATA_DIR / "reference" / "qpv_mel_2024.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    reference = {r["code_qp"]: r for r in rows}
    assert len(reference) == 26
    sheet = sheet_frame(book, "barometre")
    qpv = sheet[sheet["Code du territoire"].str.startswith("QN")]
    assert set(qpv["Code du territoire"]) == set(reference)
    for r in qpv.itertuples(index=False):
        ref = reference[r[0]]
        assert r[1] == ref["lib_qp"]
        assert r[2] == ref["insee_com"].replace(";", ", ")
        assert r[3] == ref["lib_com"].replace(";", ", ")
    sud = qpv[qpv["Code du territoire"] == "QN05972M"].iloc[0]
    assert (sud["Territoire"], sud["Commune(s)"]) == ("Secteur Sud", "Faches-Thumesnil, Lezennes, Lille, Loos")
    aggregates = sheet.loc[~sheet["Code du territoire"].str.startswith("QN"), "Territoire"]
    assert aggregates.notna().all()
    gap = sheet_frame(book, "ecart_taux_emploi")
    assert set(gap["Comparaison"]) == {"Ensemble de la Métropole"}
    execution = sheet_frame(book, "execution_cumulee").set_index("Fiche action")
    with (Path(PLAN.path) / "sheets" / "5c.yaml").open(encoding="utf-8") as handle:
        assert execution.at["5c", "Intitulé de la fiche action"] == yaml.safe_load(handle)["title"]


def test_cohort_sheets_hidden_cells_empty(run):
    """Every cell the disclosure control hides is empty and named in the secret column; as many hidden
    rows as the release marks (raw ``secret`` True); no published count below the threshold."""
    tables, exported, _folder, book = run
    for name in (*COHORT_TABLES, "barometre"):
        sheet = sheet_frame(book, name)
        secret = "Secret statistique : cellules masquées"
        raw = tables[name].reset_index(drop=True)
        marked = raw["secret"].astype(bool) if raw["secret"].dtype == bool else raw["secret"].ne("")
        assert (sheet[secret].notna() == marked).all(), name
        if name != "cohortes_perdus_de_vue":  # the demo loses no small group from follow-up
            assert marked.any(), name
        for index, text in sheet[secret].dropna().items():
            for header in text.split(", "):
                assert pd.isna(sheet.at[index, header]), (name, index, header)
        counts = [c.header for c in exported[name].columns if c.kind is Kind.COUNT and c.name in ("entrants", "lost")]
        for header in counts:
            values = sheet[header].dropna()
            assert not ((values > 0) & (values < THRESHOLD)).any(), (name, header)
    lost = sheet_frame(book, "cohortes_perdus_de_vue").set_index("Programme")
    # The share from the sheet's own counts: e.g. all programmes 190 / 3 000 = 6.33 % -> 6.3.
    for programme, row in lost.iterrows():
        if pd.notna(row["Part des perdus de vue (%)"]):
            assert row["Part des perdus de vue (%)"] == rounded(100 * row["Perdus de vue"] / row["Entrants"], 1), (
                programme
            )


def test_readme_describes_dataset_year_date_and_every_column(run):
    tables, _exported, folder, book = run
    rows = [list(r) for r in book[README_SHEET].iter_rows(values_only=True)]
    facts = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert facts["Année"] == YEAR
    assert facts["Jeu de données"] == DEMO.name
    assert facts["Date de production"] == "1er mars 2022"
    assert facts["Nature des données"].startswith("Données de démonstration synthétiques")
    start = rows.index(["Feuille", "En-tête de colonne", "Nom dans le CSV", "Signification", "Unité", "Codes du CSV"])
    described = [r for r in rows[start + 1 :] if r[0]]
    listed = rows[rows.index(["Feuille", "Fichier CSV", "Contenu", "Lignes", None, None]) + 1 :]
    for name, raw in tables.items():
        sheet = SHEET_NAMES[name]
        headers = [cell.value for cell in book[sheet][1]]
        mine = [r for r in described if r[0] == sheet]
        assert [r[1] for r in mine] == headers, name
        assert all(r[3] for r in mine), name  # a meaning for each
        with (folder / f"{name}.csv").open(encoding="utf-8-sig") as handle:
            assert next(csv.reader(handle, delimiter=";")) == [r[2] for r in mine], name
        assert set(raw.columns) <= {r[2] for r in mine}, name  # the library's columns keep their names
        assert [sheet, f"{name}.csv", len(raw)] in [[r[0], r[1], r[3]] for r in listed], name
    statuses = next(r for r in described if r[2] == "status")
    assert "behind = en retard" in statuses[5]


def test_csv_round_trip_equals_the_rounded_table(run):
    _tables, exported, folder, _book = run
    for name, table in exported.items():
        raw = (folder / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        back = read_csv(folder, table)
        assert list(back.columns) == [c.name for c in table.columns], name
        pd.testing.assert_frame_equal(comparable(back, table), comparable(table.frame, table), obj=name)
        # Whole-number columns are written without a decimal part: '26', never '26,0'.
        text = pd.read_csv(folder / f"{name}.csv", sep=";", dtype=str, encoding="utf-8-sig")
        for column in table.columns:
            if column.kind in (Kind.COUNT, Kind.YEAR, Kind.EUR):
                assert text[column.name].dropna().str.fullmatch(r"-?\d+").all(), (name, column.name)


# --------------------------------------------------------------------------------------------------
# Figures of the demo data computed here from the input files


def test_barometer_and_gap_from_the_demo_csv(run):
    """Levels and counts of 2021 and 2015 recomputed from the demo barometer CSV (totals, both sexes)."""
    _tables, _exported, _folder, book = run
    demo = pd.read_csv(DEMO.path / "barometer" / "barometre_2015_2021.csv")
    total = demo[(demo["sex"] == "ensemble") & (demo["age_band"] == "total")]

    def count(territory: str, year: int, indicator: str) -> float:
        return float(
            total.query("territory == @territory and year == @year and indicator == @indicator")["value"].sum()
        )

    sheet = sheet_frame(book, "barometre")
    row = sheet[
        (sheet["Code du territoire"] == "QN05965M") & (sheet["Indicateur"] == "Taux d'emploi des 15-64 ans")
    ].iloc[0]
    employed, population = count("QN05965M", 2021, "employed_15_64"), count("QN05965M", 2021, "population_15_64")
    assert (row["Numérateur"], row["Dénominateur"]) == (employed, population)
    assert row["Niveau 2021"] == rounded(100 * employed / population, 1)
    gap = sheet_frame(book, "ecart_taux_emploi").set_index("Année")
    qpv = total[total["territory"].str.startswith("QN") & (total["year"] == 2015)]
    employed = float(qpv.loc[qpv["indicator"] == "employed_15_64", "value"].sum())
    population = float(qpv.loc[qpv["indicator"] == "population_15_64", "value"].sum())
    assert (gap.at[2015, "En emploi (QPV)"], gap.at[2015, "15-64 ans (QPV)"]) == (employed, population)
    assert gap.at[2015, "Taux d'emploi QPV (%)"] == rounded(100 * employed / population, 1)
    assert gap.at[2015, "Estimé sur échantillon"] == "oui"
    assert gap.at[2015, "Méthode des intervalles"].startswith("intervalles de Wilson à 95\u00a0%, effet de plan de 1,5")


def test_budget_execution_from_the_demo_spending(run):
    """Sheet 5c: MEL 18 957 + 25 874 = 44 831 € against 27 000 + 27 000 = 54 000 €: 83.02 % -> 83.0;
    every funder 175 933 € (recomputed from depenses_mel.csv and 5c.yaml)."""
    _tables, _exported, folder, book = run
    spending = pd.read_csv(DEMO.path / "spending" / "depenses_mel.csv", sep=";", decimal=",", encoding="utf-8-sig")
    mine = spending[(spending["engagement"].astype(str) == "5c") & (spending["année"] <= YEAR)]
    mel = mine.loc[mine["financeur"] == "MEL", "montant_eur"].sum()
    with (Path(PLAN.path) / "sheets" / "5c.yaml").open(encoding="utf-8") as handle:
        planned = sum(v or 0 for y, v in yaml.safe_load(handle)["budget"]["mel_financing_eur"].items() if y <= YEAR)
    assert (mel, planned, mine["montant_eur"].sum()) == (44_831, 54_000, 175_933)
    row = sheet_frame(book, "execution_cumulee").set_index("Fiche action").loc["5c"]
    assert row[f"Prévu (MEL) 2018-{YEAR}"] == planned and row[f"Dépensé (MEL) 2018-{YEAR}"] == mel
    assert row["Taux d'exécution MEL (%)"] == rounded(100 * mel / planned, 1) == 83.0
    assert row[f"Dépensé (tous financeurs) 2018-{YEAR}"] == 175_933
    line = next(
        x
        for x in (folder / "execution_cumulee.csv").read_text(encoding="utf-8-sig").splitlines()
        if x.startswith("5c;")
    )
    assert line.split(";")[2:] == ["54000", "44831", "83,0", "2", "175933"]


# --------------------------------------------------------------------------------------------------
# Hand-made inputs: the rounding of progress, and the notes


def test_progress_toward_a_target_never_rounded_up_nor_down_by_float_noise():
    """1.2 (baseline 50 %, target 60 % in 2021): 59.4 % -> (59.4 - 50) / (60 - 50) * 100 = 94 %, which
    floats compute as 93.99999999999999: exported 94.0, not 93.9. 2.1 (4 000 contracts by 2019):
    1 167 + 2 792 = 3 959 -> 98.975 %, behind: rounded down to 98.9, where rounding would show 99.0.
    1.4 (21 communes, achieved at 21): 100.0."""
    realised = pd.DataFrame(
        [("1.2", 2021, 59.4), ("2.1", 2018, 1167.0), ("2.1", 2019, 2792.0), ("1.4", 2021, 21.0)],
        columns=["indicator_id", "year", "value"],
    )
    raw = gap_table(PLAN, realised, YEAR)
    noisy = raw.set_index("indicator_id").at["1.2", "achievement_pct"]
    assert noisy == pytest.approx(94) and noisy != 94  # 93.99999999999999
    table = export_table("ecarts_cibles", raw, TableContext(PLAN, DEMO, YEAR))
    frame = table.frame.set_index("indicator_id")
    assert frame.at["1.2", "achievement_pct"] == 94.0 and frame.at["1.2", "status"] == "behind"
    assert frame.at["2.1", "realised"] == 3959 and frame.at["2.1", "achievement_pct"] == 98.9
    assert frame.at["2.1", "note"] == "jugé sur 2018-2019, jusqu'à l'échéance de la cible"
    assert frame.at["1.4", "achievement_pct"] == 100.0 and frame.at["1.4", "status"] == "achieved"


@pytest.mark.parametrize(
    ("note", "french"),
    [
        ("value of 2021 missing", "valeur 2021 manquante"),
        (
            "no value for 2018, 2020: the sum over 2018-2021 is a lower bound",
            "pas de valeur pour 2018 et 2020 : la somme sur 2018-2021 est un minimum",
        ),
        (
            "no value for 2019: the sum over 2018-2019 is a lower bound; judged on 2018-2019, the target's deadline",
            "pas de valeur pour 2019 : la somme sur 2018-2019 est un minimum ; "
            "jugé sur 2018-2019, jusqu'à l'échéance de la cible",
        ),
        ("judged on 2018-2018, the target's deadline", "jugé sur 2018, jusqu'à l'échéance de la cible"),
        (
            "above the range's max (1e+06): counted as achieved",
            "au-dessus du maximum de la fourchette (1\u00a0000\u00a0000) : compté comme atteint",
        ),
        ("above the range's max (50)", "au-dessus du maximum de la fourchette (50)"),
        (
            "achievement not given: the missing years can only raise the sum",
            "progression non calculée : les années manquantes ne peuvent qu'augmenter la somme",
        ),
        (
            "a deliverable due every year: judged on this year's value",
            "livrable attendu chaque année : jugé sur la valeur de l'année",
        ),
        ("done in 2019, 1 year(s) after the 2018 deadline", "franchi en 2019, 1 an après l'échéance de 2018"),
        ("done in 2021, 3 year(s) after the 2018 deadline", "franchi en 2021, 3 ans après l'échéance de 2018"),
        ("no value reported up to 2021", "aucune valeur déclarée jusqu'en 2021"),
        ("not done by the 2021 deadline", "non franchi à l'échéance de 2021"),
        ("exhaustive source, no interval", "source exhaustive, sans intervalle"),
        (
            "90 % Wilson intervals, design effect 1.5; gap by Newcombe's hybrid score method (disjoint territories)",
            "intervalles de Wilson à 90\u00a0%, effet de plan de 1,5 ; "
            "écart par la méthode hybride du score de Newcombe (territoires disjoints)",
        ),
        (None, None),
        ("", None),
    ],
)
def test_french_note(note, french):
    assert french_note(note) == french


def test_an_unknown_note_is_marked_and_warned_not_silently_english():
    with pytest.warns(UserWarning, match="note not translated"):
        assert french_note("something new") == "(non traduit) something new"


def test_every_note_of_the_demo_years_is_translated():
    """The notes of the gap tables of 2018-2021 on the demo data: none left untranslated."""
    from evaluation.stats.monitoring import load_monitoring_data

    data = load_monitoring_data(PLAN, DEMO)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for year in (2018, 2019, 2020, 2021):
            notes = data.gaps(PLAN, year)["note"].map(french_note).dropna()
            assert len(notes) and not notes.str.contains("non traduit").any(), year


def test_an_undescribed_column_is_refused():
    raw = gap_table(PLAN, pd.DataFrame(columns=["indicator_id", "year", "value"]), YEAR).assign(extra=1)
    with pytest.raises(ValueError, match=r"table 'ecarts_cibles': the columns \['extra'\] are not described"):
        export_table("ecarts_cibles", raw, TableContext(PLAN, DEMO, YEAR))
    with pytest.raises(ValueError, match="no export is described for the table 'autre'"):
        export_table("autre", raw, TableContext(PLAN, DEMO, YEAR))


def test_impact_tables_are_named_as_the_impact_section_names_them():
    """tables.py writes the impact titles out (no import of the statistics at import time): they
    must stay those of evaluation.present.impact."""
    from evaluation.present.impact_tables import IMPACT_SHEET_NAMES, IMPACT_TABLE_TITLES
    from evaluation.present.table_columns import IMPACT_TABLES, SHEET_NAMES, TABLE_TITLES

    assert tuple(IMPACT_TABLE_TITLES) == IMPACT_TABLES
    assert {k: TABLE_TITLES[k] for k in IMPACT_TABLES} == dict(IMPACT_TABLE_TITLES)
    assert {k: SHEET_NAMES[k] for k in IMPACT_TABLES} == dict(IMPACT_SHEET_NAMES)
