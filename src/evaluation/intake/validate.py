"""The whole data directory: its input folders, every problem of every file (``evaluation validate``)."""

from __future__ import annotations

import difflib

from evaluation.intake.barometer import load_barometer
from evaluation.intake.cohorts import load_cohorts
from evaluation.intake.comparison import DECLARATION_FILE, load_comparison
from evaluation.intake.folders import _files
from evaluation.intake.monitoring import load_monitoring, load_spending
from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.survey_descriptions import _description_files
from evaluation.intake.surveys import load_surveys
from evaluation.io import Dataset
from evaluation.referential.plan import Plan

#: The input folders of a data directory.
INPUT_FOLDERS = ("monitoring", "spending", "barometer", "cohorts", "surveys", "comparison")


def _folder_problems(dataset: Dataset) -> list[Problem]:
    """A misspelt folder would otherwise be skipped in silence."""
    problems = []
    listed = ", ".join(INPUT_FOLDERS)
    folders = [p for p in dataset.path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    for folder in folders:
        if folder.name not in INPUT_FOLDERS:
            close = difflib.get_close_matches(folder.name, INPUT_FOLDERS, n=1)
            hint = (
                did_you_mean(close[0])
                if close
                else Phrase(f"the input folders are {listed}", f"les dossiers d'entrée sont {listed}")
            )
            problems.append(
                Problem(
                    folder,
                    None,
                    None,
                    None,
                    "is not an input folder: its files are not read",
                    hint.en,
                    message_fr="n'est pas un dossier d'entrée : ses fichiers ne sont pas lus",
                    hint_fr=hint.fr,
                )
            )
    if not any(f.name in INPUT_FOLDERS for f in folders):
        problems.append(
            Problem(
                dataset.path,
                None,
                None,
                None,
                "holds no input folder",
                f"put the files in {listed}/",
                message_fr="ne contient aucun dossier d'entrée",
                hint_fr=f"mettre les fichiers dans les dossiers {listed}",
            )
        )
    return problems


def validate_dataset(dataset: Dataset, plan: Plan) -> tuple[list[Problem], dict[str, int]]:
    """Every problem of every input file of the data directory, and row counts per folder."""
    monitoring, problems = load_monitoring(dataset, plan)
    spending, spending_problems = load_spending(dataset, plan)
    barometer, barometer_problems = load_barometer(dataset, plan)
    cohorts, cohort_problems = load_cohorts(dataset, plan)
    waves, survey_problems = load_surveys(dataset)
    comparison, comparison_problems = load_comparison(dataset, plan)
    problems = _folder_problems(dataset) + problems
    counts = {
        "monitoring_files": len(_files(dataset.path / "monitoring")),
        "monitoring_rows": len(monitoring),
        "spending_files": len(_files(dataset.path / "spending")),
        "spending_rows": len(spending),
        "barometer_files": len(_files(dataset.path / "barometer")),
        "barometer_rows": len(barometer),
        "cohorts_files": len(_files(dataset.path / "cohorts")),
        "cohorts_rows": len(cohorts),
        # A survey is its description (.yaml) and one respondent file per wave; rows are respondents.
        "surveys_files": len(_files(dataset.path / "surveys")) + len(_description_files(dataset.path / "surveys")),
        "surveys_rows": sum(len(wave.respondents) for wave in waves),
        # Comparison territories: their declaration (territoires.yaml) and the series files; rows are values.
        "comparison_files": len(_files(dataset.path / "comparison"))
        + int((dataset.path / "comparison" / DECLARATION_FILE).is_file()),
        "comparison_rows": len(comparison.series),
    }
    return (
        problems + spending_problems + barometer_problems + cohort_problems + survey_problems + comparison_problems,
        counts,
    )
