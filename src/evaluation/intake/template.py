"""The partners' Excel collection template (``evaluation template ENGAGEMENT --out FILE.xlsx``).

One workbook per action sheet: a ``Saisie`` sheet with one row per indicator and year to fill
(label, unit, target and deadline shown beside the cells to fill, with Excel data validation on the
values and statuses) and an ``Instructions`` sheet in French. The filled workbook is read back by
:mod:`evaluation.intake` unchanged: its headers are aliases the reader knows, the display columns
are ignored, rows left blank are skipped.
"""

from __future__ import annotations

import io
from pathlib import Path

from evaluation.config import PLAN_YEARS
from evaluation.io import atomic_write_bytes
from evaluation.referential.plan import Indicator, Measure, Plan

__all__ = ["HEADERS", "write_template"]

#: Columns of the ``Saisie`` sheet; the first five only inform the partner.
HEADERS = ("indicateur", "libellé", "unité", "cible", "échéance", "année", "valeur", "statut", "source", "commentaire")
_STATUS_CHOICES = '"provisoire,estimé,définitif"'

_INSTRUCTIONS = [
    "Fiche de collecte des réalisations – plan d'actions économie et emploi des quartiers prioritaires de la MEL",
    "",
    "1. Remplissez l'onglet « Saisie » : une ligne par indicateur et par année, colonne « valeur ».",
    "2. Les colonnes grisées (indicateur, libellé, unité, cible, échéance, année) ne doivent pas être modifiées.",
    "3. Nombres : chiffres seuls, virgule décimale acceptée (1 250,5). Pourcentages : 15 pour 15 %.",
    "4. Jalons (unité « jalon ») : 1 l'année où l'étape est franchie, 0 sinon.",
    "5. Indicateurs qualitatifs : décrivez la réalisation dans « commentaire » (obligatoire si une valeur est donnée).",
    "6. Statut : provisoire, estimé ou définitif. Source : l'organisme ou le fichier d'où vient le chiffre.",
    "7. Laissez vides les années non encore connues : elles seront ignorées.",
    "8. N'ajoutez pas de données nominatives (noms, NIR, adresses) : seuls des totaux sont attendus.",
    "",
    "Contrôle : la commande « evaluation validate » signale chaque cellule à corriger (fichier, ligne, colonne).",
]


def _target_cell(indicator: Indicator) -> str:
    from evaluation.referential.labels import target_text

    return target_text(indicator)


def _unit(indicator: Indicator) -> str:
    if indicator.measure is Measure.MILESTONE:
        return "jalon"
    if indicator.measure is Measure.QUALITATIVE:
        return "qualitatif"
    if indicator.measure is Measure.PERCENTAGE:
        return "%"
    return indicator.unit or ""


def write_template(plan: Plan, engagement_id: str, out: Path) -> Path:
    """Write the collection workbook of one sheet to ``out`` (atomically) and return its path.

    Raises :class:`~evaluation.errors.UsageError` for an unknown engagement id.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet = plan.engagement(engagement_id)
    book = Workbook()
    entry = book.active
    entry.title = "Saisie"
    entry.append(HEADERS)
    grey = PatternFill("solid", fgColor="EEEEEE")
    for cell in entry[1]:
        cell.font = Font(bold=True)
    validations = {
        "count": DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True),
        "percentage": DataValidation(
            type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True
        ),
        "milestone": DataValidation(type="list", formula1='"0,1"', allow_blank=True),
    }
    for validation in validations.values():
        validation.error = "Valeur non valide pour cet indicateur (voir l'onglet Instructions)."
        validation.showErrorMessage = True
        entry.add_data_validation(validation)
    status = DataValidation(type="list", formula1=_STATUS_CHOICES, allow_blank=True)
    entry.add_data_validation(status)
    row = 2
    for indicator in sheet.indicators:
        for year in PLAN_YEARS:
            entry.append(
                [
                    indicator.id,
                    indicator.label,
                    _unit(indicator),
                    _target_cell(indicator),
                    indicator.target.year,
                    year,
                    None,
                    None,
                    None,
                    None,
                ]
            )
            for column in range(1, 7):
                entry.cell(row, column).fill = grey
            kind = {
                Measure.PERCENTAGE: "percentage",
                Measure.MILESTONE: "milestone",
                Measure.COUNT: "count",
                Measure.AMOUNT: "count",
            }.get(indicator.measure)
            if kind:
                validations[kind].add(f"G{row}")
            status.add(f"H{row}")
            row += 1
    for column, width in zip("ABCDEFGHIJ", (12, 60, 16, 28, 10, 8, 12, 12, 24, 40), strict=True):
        entry.column_dimensions[column].width = width
    for cells in entry.iter_rows(min_row=2, min_col=2, max_col=2):
        cells[0].alignment = Alignment(wrap_text=True, vertical="top")
    entry.freeze_panes = "G2"

    notes = book.create_sheet("Instructions")
    title = f"Engagement {sheet.number} : {sheet.title}" if sheet.number else sheet.title
    for line in [_INSTRUCTIONS[0], title, *_INSTRUCTIONS[1:]]:
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=13)
    notes["A2"].font = Font(bold=True)
    notes.column_dimensions["A"].width = 120

    buffer = io.BytesIO()
    book.save(buffer)
    atomic_write_bytes(out, buffer.getvalue())
    return out
