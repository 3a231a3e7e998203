"""The files of an input folder: listed without following a link, each read and checked, and the
keys given in two files.

Shared by the kinds of input kept as one folder of files (``monitoring/``, ``spending/``,
``barometer/``, ``comparison/``; ``cohorts/`` and ``surveys/`` list theirs the same way).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from evaluation.intake.grids import DEFAULT_LIMITS
from evaluation.intake.problems import Phrase, Problem, _cannot_open
from evaluation.intake.raw_tables import RawTable, TableSpec, read_raw
from evaluation.io import Limits


def _input_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The CSV and XLSX files of an input folder, and a problem for each entry that is not read.

    Symbolic links are never followed, to a file or a folder alike (a link could publish any file
    of the machine, e.g. ``/etc/passwd``, in a report): each is an unreadable input, named by the
    link, never by its target. The input folder itself must be a real folder: a file with the
    folder's name would otherwise give no rows in silence. A missing folder is no problem (not
    every dataset has every kind of input).
    """
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return [], []
    except OSError as err:
        return [], [_cannot_open(folder, err)]
    if stat.S_ISLNK(info.st_mode):
        return [], [
            Problem(
                folder,
                None,
                None,
                None,
                "is a symbolic link: input folders are not followed, nothing in it is read",
                "put a real folder with the files in its place",
                fatal=True,
                message_fr="est un lien symbolique : les dossiers d'entrée ne sont pas suivis, rien n'y est lu",
                hint_fr="mettre à sa place un vrai dossier contenant les fichiers",
            )
        ]
    if not stat.S_ISDIR(info.st_mode):
        return [], [
            Problem(
                folder,
                None,
                None,
                None,
                "is a file, not a folder: no input is read from it",
                f"make '{folder.name}' a folder and put the CSV or Excel files in it",
                fatal=True,
                message_fr="est un fichier et non un dossier : aucune donnée n'en est lue",
                hint_fr=f"faire de « {folder.name} » un dossier et y mettre les fichiers CSV ou Excel",
            )
        ]
    files: list[Path] = []
    problems: list[Problem] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        return [], [_cannot_open(folder, err)]
    for entry in entries:
        if entry.name.startswith(("~$", ".")):
            continue
        path = folder / entry.name
        if entry.is_symlink():
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    None,
                    "is a symbolic link: links are not followed, the file it points to is not read",
                    "copy the file itself into the folder",
                    fatal=True,
                    message_fr="est un lien symbolique : les liens ne sont pas suivis, le fichier vers lequel il "
                    "pointe n'est pas lu",
                    hint_fr="copier le fichier lui-même dans le dossier",
                )
            )
        elif entry.is_file(follow_symlinks=False) and path.suffix.lower() in (".csv", ".xlsx"):
            files.append(path)
    return files, problems


def _files(folder: Path) -> list[Path]:
    """The CSV and XLSX files of an input folder that are read (see :func:`_input_files`)."""
    return _input_files(folder)[0]


def _cross_file_duplicates(
    frame: pd.DataFrame, keys: list[str], folder: Path, what: Phrase
) -> tuple[list[Problem], set[tuple]]:
    """Keys given in two files: a problem at each later place, and the keys, whose rows are all left out.

    ``what`` names what is given twice (``Phrase("value", "la valeur")``), for the hint.

    Which of two conflicting values is right cannot be guessed: neither reaches the reports.
    """
    problems = []
    first: dict[tuple, tuple[str, int]] = {}
    conflicting: set[tuple] = set()
    for record in frame.itertuples(index=False):
        key = tuple("" if pd.isna(getattr(record, k)) else getattr(record, k) for k in keys)
        place = (record.file, record.line)
        if key in first and first[key][0] != record.file:
            other_file, other_line = first[key]
            conflicting.add(key)
            problems.append(
                Problem(
                    folder / record.file,
                    record.line,
                    keys[0],
                    " / ".join(str(k) for k in key if k != ""),
                    f"is also given in {other_file}, line {other_line}; both rows are left out",
                    f"keep the {what.en} in one file only",
                    message_fr=f"figure aussi dans le fichier {other_file}, ligne {other_line} ; les deux lignes sont écartées",
                    hint_fr=f"garder {what.fr} dans un seul fichier",
                )
            )
        first.setdefault(key, place)
    return problems, conflicting


def _checked_tables(
    folder: Path, spec: TableSpec, check: Callable[[RawTable], list[Problem]], limits: Limits | None = None
) -> tuple[list[RawTable], list[Problem]]:
    """Every file of ``folder`` read and checked; each table keeps only its rows without a problem."""
    files, problems = _input_files(folder)
    tables = []
    for path in files:
        table, read_problems = read_raw(path, spec, limits=limits or DEFAULT_LIMITS)
        problems += read_problems
        if table is None:
            continue
        file_problems = check(table)
        problems += file_problems
        bad_lines = [p.line for p in file_problems]
        tables.append(RawTable(table.path, table.frame.loc[~table.frame.index.isin(bad_lines)]))
    return tables, problems
