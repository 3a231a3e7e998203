"""tables.xlsx: one sheet per table (typed numbers, frozen bold header, fitted widths) after a Lisez-moi sheet describing every column."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.formatting import format_date, format_number
from evaluation.io import atomic_write_bytes
from evaluation.present.table_columns import (
    _DECIMALS,
    _EXCEL_FORMATS,
    README_SHEET,
    WORKBOOK_NAME,
    ExportColumn,
    ExportTable,
    Kind,
    TableContext,
    YearTables,
    _measure_format,
)
from evaluation.present.table_specs import export_tables

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    from openpyxl.worksheet.worksheet import Worksheet


# --------------------------------------------------------------------------------------------------
# The workbook

_MAX_WIDTH = 60


def _display_length(value: object, decimals: int | None, kind: Kind) -> int:
    """Characters a cell shows, for the column's width."""
    if value is None:
        return 0
    if isinstance(value, (int, float)) and decimals is not None:
        suffix = 2 if kind in (Kind.EUR, Kind.MEASURE) else 0  # ' €', ' %'
        return len(format_number(float(value), decimals)) + suffix
    return max((len(line) for line in str(value).splitlines()), default=0)


def _write_sheet(ws: Worksheet, table: ExportTable) -> None:
    """One table: French header bold, frozen, filtered; typed numbers with their formats; fitted widths."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append([c.header for c in table.columns])
    frame = table.frame
    for record in frame.itertuples(index=False):
        ws.append([table.sheet_value(c, v) for c, v in zip(table.columns, record, strict=True)])
    for position, column in enumerate(table.columns, start=1):
        letter = get_column_letter(position)
        numeric = column.kind in _DECIMALS or column.kind is Kind.MEASURE
        decimals = table.decimals(column) if numeric else [None] * len(frame)
        # The header wraps: its longest word, and at most 14 characters of it, set the width.
        lengths = [min(len(column.header), max(14, *(len(word) for word in column.header.split())))]
        for row, places in enumerate(decimals, start=2):
            cell = ws.cell(row=row, column=position)
            if places is not None:
                if column.kind is Kind.MEASURE:
                    cell.number_format = _measure_format(str(frame.at[row - 2, "measure"]), places)
                else:
                    cell.number_format = _EXCEL_FORMATS[column.kind]
            lengths.append(_display_length(cell.value, places, column.kind))
        width = min(max(lengths) + 2, _MAX_WIDTH)
        ws.column_dimensions[letter].width = max(width, 8)
        if max(lengths) > _MAX_WIDTH - 2:
            for row in range(2, len(frame) + 2):
                ws.cell(row=row, column=position).alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    last = get_column_letter(len(table.columns))
    ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"


def _codes_text(column: ExportColumn) -> str:
    """The codes of a closed-set column as the CSV writes them, with their labels."""
    if column.kind is Kind.FLAG:
        return "True = oui ; False = non"
    if column.kind is Kind.CODE and column.labels:
        return " ; ".join(f"{code} = {label}" for code, label in column.labels.items())
    return ""


def _write_readme(ws: Worksheet, tables: Sequence[ExportTable], context: TableContext, produced: dt.date) -> None:
    """The ``Lisez-moi`` sheet: the dataset, the year, the date, each sheet and each column."""
    from openpyxl.styles import Alignment, Font

    from evaluation.stats.disclosure import DEFAULT_RULE, get_rule

    dataset = context.dataset
    threshold = get_rule(dataset.disclosure or DEFAULT_RULE).threshold
    nature = (
        "Données de démonstration synthétiques : ces chiffres sont fictifs, ils ne décrivent pas la réalité "
        "et ne doivent pas être cités."
        if dataset.demo
        else "Données réelles transmises par les partenaires."
    )
    facts = [
        ("Plan", context.plan.title),
        ("Année", context.year),
        ("Jeu de données", dataset.name),
        ("Nature des données", nature),
        ("Date de production", format_date(produced.isoformat())),
        (
            "Arrondis",
            "Comme dans les rapports : effectifs, années, rangs et euros entiers ; pourcentages, points et taux "
            "pour 100 ou pour 1 000 à une décimale. La progression vers une cible non atteinte est arrondie à "
            "l'inférieur.",
        ),
        (
            "Secret statistique",
            "Dans les tableaux qui comptent des personnes (baromètre, écart de taux d'emploi, cohortes), une "
            f"cellule qui repose sur un effectif inférieur à {threshold} personnes, ou qui permettrait de le "
            "retrouver, est laissée vide : la colonne « Secret statistique : cellules masquées » les nomme. "
            "Une cellule vide qui n'y figure pas est une donnée manquante.",
        ),
        (
            "Fichiers CSV",
            "Chaque feuille est aussi un fichier CSV du dossier tables/ (nom ci-dessous) : UTF-8 avec BOM, "
            "séparateur point-virgule, virgule décimale, nombres arrondis comme dans la feuille (un nombre entier "
            "sans décimale). En-têtes : les noms CSV ci-dessous, stables d'une année à l'autre. Les colonnes à "
            "valeurs codées (statut, nature...) y gardent le code ; la feuille montre le libellé (table des codes "
            "ci-dessous).",
        ),
    ]
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([f"Tableaux de l'évaluation – année {context.year}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    for key, value in facts:
        ws.append([key, value])
        row = ws.max_row
        ws.cell(row=row, column=1).font = bold
        ws.cell(row=row, column=2).alignment = wrap
        if key == "Nature des données" and dataset.demo:
            ws.cell(row=row, column=2).font = Font(bold=True, color="C00000")

    ws.append([])
    ws.append(["Feuilles"])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
    ws.append(["Feuille", "Fichier CSV", "Contenu", "Lignes"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for table in tables:
        ws.append([table.sheet, f"{table.name}.csv", table.title, len(table.frame)])
        ws.cell(row=ws.max_row, column=3).alignment = wrap

    ws.append([])
    ws.append(["Colonnes"])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
    ws.append(list(_README_COLUMNS))
    for cell in ws[ws.max_row]:
        cell.font = bold
    for table in tables:
        for column in table.columns:
            ws.append([table.sheet, column.header, column.name, column.meaning, column.unit, _codes_text(column)])
            for position in (2, 4, 6):
                ws.cell(row=ws.max_row, column=position).alignment = wrap
    for letter, width in zip("ABCDEF", (30, 40, 30, 70, 16, 50), strict=True):
        ws.column_dimensions[letter].width = width


#: Header of the column list of the ``Lisez-moi`` sheet.
_README_COLUMNS = ("Feuille", "En-tête de colonne", "Nom dans le CSV", "Signification", "Unité", "Codes du CSV")


def workbook_bytes(tables: Sequence[ExportTable], context: TableContext, produced: dt.date) -> bytes:
    """``tables.xlsx``: the ``Lisez-moi`` sheet, then one sheet per table (module docstring)."""
    from openpyxl import Workbook

    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    _write_readme(readme, tables, context, produced)
    for table in tables:
        _write_sheet(book.create_sheet(table.sheet), table)
    book.properties.title = f"Tableaux de l'évaluation – année {context.year}"
    book.properties.language = "fr-FR"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_tables(tables: YearTables, folder: Path, *, produced: dt.date | None = None) -> list[Path]:
    """Write ``<name>.csv`` for each table and :data:`WORKBOOK_NAME` (module docstring), atomically.

    ``tables`` is what :func:`build_tables` returns (its context names the dataset and the year);
    ``produced``: the date of production the ``Lisez-moi`` sheet gives (default today). Returns the
    paths written, the workbook last.
    """
    exported = export_tables(tables)
    assert tables.context is not None  # export_tables checked it
    written = []
    for table in exported:
        path = folder / f"{table.name}.csv"
        atomic_write_bytes(path, table.csv_bytes())
        written.append(path)
    path = folder / WORKBOOK_NAME
    atomic_write_bytes(path, workbook_bytes(exported, tables.context, produced or dt.date.today()))
    written.append(path)
    return written
