"""A file's cells under canonical column names (:func:`read_raw`), from the header a partner wrote.

A :class:`TableSpec` lists the columns of one kind of input and the headers accepted for each
(French or English, any case or accent); :func:`read_raw` finds the header line of a grid
(:mod:`evaluation.intake.grids`), names each column, and reports unknown, repeated or missing
columns and rows longer than the header. Nothing is interpreted yet: the schemas check the cells.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.formatting import plural
from evaluation.intake.cells import _blank, _fold, distinct_map
from evaluation.intake.grids import DEFAULT_LIMITS, _csv_grid, _Unreadable, _xlsx_grid
from evaluation.intake.problems import Phrase, Problem, _cannot_open, did_you_mean
from evaluation.io import Limits

#: Unknown headers of a file given a "did you mean" suggestion (the others get the expected columns).
_MAX_SUGGESTED_HEADERS = 20


@dataclass(frozen=True)
class TableSpec:
    """Columns of one kind of input file: canonical name -> accepted headers (folded)."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    #: Columns of our own template that only help the partner (label, target...): read and ignored.
    ignored: tuple[str, ...] = field(default=())
    #: French header suggested when a required column is missing (default: the third alias, or the first).
    french: dict[str, str] = field(default_factory=dict)

    def canonical(self, header: str) -> str | None:
        folded = _fold(header)
        for name, names in self.aliases.items():
            if folded == _fold(name) or folded in names:
                return name
        return None

    @property
    def known_headers(self) -> list[str]:
        return [h for names in self.aliases.values() for h in names]


@dataclass(frozen=True)
class RawTable:
    """Cells of a file by canonical column, indexed by the line number a spreadsheet shows.

    ``columns``: the canonical columns the file's header really has (the frame also holds the
    missing optional ones, filled with None).
    """

    path: Path
    frame: pd.DataFrame
    columns: tuple[str, ...] = ()


#: The French header shown in hints, for the columns of every kind of file.
_FRENCH_HEADERS = {
    "indicator_id": "indicateur",
    "year": "année",
    "value": "valeur",
    "engagement": "fiche",
    "amount_eur": "montant",
}


def _french_header(spec: TableSpec, name: str) -> str:
    if name in spec.french:
        return spec.french[name]
    return _FRENCH_HEADERS.get(name, spec.aliases[name][0])


def read_raw(
    path: Path, spec: TableSpec, private: bool = False, limits: Limits = DEFAULT_LIMITS
) -> tuple[RawTable | None, list[Problem]]:
    """Read a file's cells without interpreting them; problems for unreadable, empty or badly headed files.

    ``private``: the file describes persons, so no cell is copied into a problem: an unknown column
    is named by its position (a file without a header line would show a person's data as headings)
    and cells beyond the header are not shown.
    """
    try:
        grid = _xlsx_grid(path, limits) if path.suffix.lower() == ".xlsx" else _csv_grid(path, limits)
    except _Unreadable as err:
        return None, [
            Problem(
                path, err.line, None, None, str(err), err.hint, True, message_fr=err.message_fr, hint_fr=err.hint_fr
            )
        ]
    except OSError as err:
        return None, [_cannot_open(path, err)]
    blank = {position: distinct_map(grid[position], _blank).astype(bool) for position in grid.columns}
    filled = ~np.logical_and.reduce(list(blank.values())) if blank else np.zeros(len(grid), dtype=bool)
    if not filled.any():
        required = ", ".join(spec.required)
        return None, [
            Problem(
                path,
                None,
                None,
                None,
                "is empty",
                f"fill it with a header line ({required}) and data, or remove it",
                message_fr="le fichier est vide",
                hint_fr=f"le remplir avec une ligne d'en-tête ({required}) et des données, ou le supprimer",
            )
        ]
    rows = np.flatnonzero(filled)
    header_line = int(grid.index[rows[0]])
    header = list(grid.iloc[rows[0]])
    problems: list[Problem] = []
    columns: dict[int, str] = {}
    unknown = 0
    for position, cell in enumerate(header):
        if _blank(cell):
            continue
        name = spec.canonical(str(cell))
        if name is None:
            unknown += 1
            # A close-match lookup costs a scan of every known header: a few suffice for the hints.
            close = (
                difflib.get_close_matches(_fold(str(cell)), spec.known_headers, n=1, cutoff=0.8)
                if unknown <= _MAX_SUGGESTED_HEADERS
                else []
            )
            expected = ", ".join(spec.required + spec.optional)
            hint = (
                did_you_mean(close[0])
                if close
                else Phrase(f"expected columns: {expected}", f"colonnes attendues : {expected}")
            )
            if private:
                problems.append(
                    Problem(
                        path,
                        header_line,
                        f"n°{position + 1}",
                        None,
                        "unknown column (heading not shown)",
                        hint.en,
                        message_fr="colonne inconnue (intitulé masqué)",
                        hint_fr=hint.fr,
                    )
                )
            else:
                problems.append(
                    Problem(
                        path,
                        header_line,
                        str(cell),
                        None,
                        "unknown column",
                        hint.en,
                        message_fr="colonne inconnue",
                        hint_fr=hint.fr,
                    )
                )
        elif name in columns.values():
            problems.append(
                Problem(
                    path,
                    header_line,
                    str(cell),
                    None,
                    "column given twice",
                    "keep one of them",
                    message_fr="colonne donnée deux fois",
                    hint_fr="n'en garder qu'une",
                )
            )
        else:
            columns[position] = name
    missing = [c for c in spec.required if c not in columns.values()]
    for name in missing:
        problems.append(
            Problem(
                path,
                header_line,
                name,
                None,
                "required column is missing",
                f"add a column '{name}' (or its French name '{_french_header(spec, name)}')",
                message_fr="colonne obligatoire absente",
                hint_fr=f"ajouter une colonne « {name} » (ou son nom français « {_french_header(spec, name)} »)",
            )
        )
    if missing:
        return None, problems
    width = max(len(header) - next((i for i, c in enumerate(reversed(header)) if not _blank(c)), 0), 1)
    body = rows[1:]
    beyond = [position for position in grid.columns if position >= width]
    extra = np.logical_or.reduce([~blank[p][body] for p in beyond]) if beyond else np.zeros(len(body), dtype=bool)
    for position in body[extra]:
        cells = [c for c in grid.iloc[position, width:] if not _blank(c)]
        problems.append(
            Problem(
                path,
                int(grid.index[position]),
                None,
                None if private else ", ".join(str(c) for c in cells),
                f"has {len(cells)} cell(s) more than the header",
                "a decimal comma in a ','-separated file splits the number: use ';' as separator or quote the number",
                message_fr=f"dépasse l'en-tête de {len(cells)} {plural(len(cells), 'cellule')}",
                hint_fr="une virgule décimale dans un fichier séparé par des virgules coupe le nombre en deux : "
                "utiliser « ; » comme séparateur, ou mettre le nombre entre guillemets",
            )
        )
    kept = body[~extra]
    names = {position: name for position, name in columns.items() if name not in spec.ignored}
    frame = grid.iloc[kept, list(names)].set_axis(list(names.values()), axis=1).copy()
    frame.index = pd.Index(grid.index[kept], dtype="int64")
    for name in spec.required + spec.optional:
        if name not in frame.columns:
            frame[name] = None
    if frame.empty:
        problems.append(
            Problem(
                path,
                None,
                None,
                None,
                "has a header but no data",
                "fill it or remove it",
                message_fr="le fichier a un en-tête mais aucune donnée",
                hint_fr="le remplir ou le supprimer",
            )
        )
        return None, problems
    frame.index.name = "line"
    return RawTable(path, frame, tuple(columns.values())), problems
