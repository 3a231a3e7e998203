"""Intake of partners' files: reading and validation (the Excel template is in :mod:`evaluation.intake.template`).

Partners send realised values and spending as Excel workbooks (``.xlsx``, often our own template) or
CSV exports. The readers accept UTF-8 (with or without BOM) and Windows-1252, ``,`` ``;`` or tab
separators, decimal commas and thousands separators (``1 250,5``, non-breaking spaces too), and
French headers (``indicateur``, ``année``, ``valeur``...). Input files are never modified.

Every file is checked against a schema of whole-column checks (:class:`.schema.Schema`; an
element-wise check runs once per distinct cell, not once per row): **all** problems are reported at
once, each with the file, the line (as a spreadsheet shows it), the column, the value and what to do.
A file that cannot be read at all is *unreadable* (exit status 2); other problems are *findings*
(exit status 1).

Folders of a data directory (see :mod:`evaluation.io`):

``monitoring/``
    ``indicator_id, year, value`` and optional ``status`` (provisional, estimated, final), ``source``,
    ``comment``, ``numerator``, ``denominator`` (for a rate, ``value = 100 * numerator / denominator``
    when the value is left blank). Milestones are reported as 1 (done that year) or 0; qualitative
    indicators by a ``comment`` (a value without a comment is refused).
``spending/``
    ``engagement, year, amount_eur`` and optional ``funder``.
``barometer/``
    The yearly barometer of the QPV, long format: ``territory, year, indicator, value, source`` and
    optional ``sex``, ``age_band``, ``vintage``, ``sampled`` (see :func:`load_barometer`). Counts,
    not rates: a rate is computed from its numerator and denominator rows (e.g. ``employed_15_64``
    over ``population_15_64``).
``cohorts/``
    The follow-up of programme beneficiaries, one row per person and programme: a pseudonymous
    ``person_id`` (or direct identifiers, pseudonymised at intake), ``programme``, ``entry_date``,
    ``qpv``, ``sex``, ``age_band``, ``qualification``, ``last_contact_date`` and optional
    ``observation_start``, ``first_employment_date``, ``employment_kind`` (see
    :func:`load_cohorts`). Dates are written year-month-day (``2020-12-31``) or are real Excel
    date cells.
``surveys/``
    Perception surveys (sheets 17 and 4a): a description ``<name>.yaml`` per survey (questions,
    answer codes, the answers counted by the indicator, a published baseline) and one respondent
    file ``<name>_<year>.csv`` (or ``.xlsx``) per wave, with the weight and the design (stratum,
    cluster) of each respondent (see :func:`load_surveys`).
``comparison/``
    The territories compared with the MEL's QPV by the impact estimates: ``territoires.yaml``
    declares each one (code, name, group, source, caveats) and the series files hold
    ``territory, year, indicator, value, source`` (rates, see :func:`load_comparison`).

Hostile or broken files end in a problem naming the file (and the line), never in a traceback, a
hang or a read outside the data directory: symbolic links (to a file or a folder) are refused, never
followed; an input folder that is a file is a problem; a CSV quote never closed is reported at the
line where it opens; a CSV mixing UTF-8 and Windows-1252 lines is refused with a line of each; an
empty Excel year cell (or a formula without a cached value) is "not a year". Before parsing, every
file is held to limits, which ``dataset.yaml`` may raise or lower under a ``limits:`` mapping
(whole numbers above 0)::

    limits:
      max_file_mb: 200        # size on disk, and of an .xlsx's XML once unzipped (zip bombs)
      max_rows: 1000000       # lines of a file, blank ones and an .xlsx's skipped row numbers included
      max_columns: 200        # cells of a line, the header included
      max_cell_chars: 10000   # characters of one cell

Excel workbooks are read in streaming mode whatever ``<dimension>`` they declare. ``dataset.yaml``
itself must be under 64 KB and use no YAML anchor or alias.

Several files per folder are allowed (one per partner or per year); the same (indicator, year), or
(engagement, year, funder), or (territory, year, indicator, sex, age band), or (person, programme),
in two places is an error naming both.

Layout of the package (``from evaluation.intake import X`` works for every name below):

``problems``
    a problem of an input file, its text in English and French, and its one-line renderings: English
    for the command line, French for the reports (:class:`Problem`, :meth:`Problem.french`, :data:`MASKED`);
``cells``
    what a cell holds: numbers, years, dates, codes folded for matching (:func:`parse_number`);
``grids``
    a CSV or Excel file's cells as a grid, read as hostile input and held to the limits;
``raw_tables``
    a file's cells under canonical column names, from its header (:func:`read_raw`);
``schema``
    declarative checks, each carrying its message, and the runner that turns failures into problems;
``folders``
    the files of an input folder (no link followed), each read and checked; keys given in two files;
``yaml_input``
    a small YAML description read as hostile input (surveys, comparison territories);
``_cache``
    the loads remembered per content of the files (:func:`folder_state`) in the package's one
    cache (:mod:`evaluation.cache`), aggregate inputs shared with the other processes of a run;
``monitoring``
    realised values and spending (:func:`load_monitoring`, :func:`load_spending`);
``barometer``
    the barometer counts (:func:`load_barometer`);
``cohort_columns``
    the columns of a cohort file, their closed lists and the parsers of their cells;
``pseudonymisation``
    direct identifiers of a cohort file turned into a keyed hash, then dropped;
``cohorts``
    the cohort records' schema, typed rows and loader (:func:`load_cohorts`);
``survey_columns``
    the columns of a survey's respondent file, their closed lists and the readers of their cells;
``survey_descriptions``
    a survey's description (``<name>.yaml``): its records and the reader that checks it;
``surveys``
    the perception surveys' waves, checked against their descriptions (:func:`load_surveys`);
``comparison_territories``
    the comparison territories' groups, records and declaration (``territoires.yaml``);
``comparison``
    the comparison series of the impact estimates, checked against the territories (:func:`load_comparison`);
``validate``
    every problem of a data directory (:func:`validate_dataset`).
"""

from __future__ import annotations

from evaluation.intake._cache import folder_state as folder_state
from evaluation.intake.barometer import (
    AGE_BANDS,
    BAROMETER,
    BAROMETER_COLUMNS,
    BAROMETER_INDICATORS,
    BAROMETER_YEARS,
    SEX_VALUES,
    BarometerCount,
    load_barometer,
)
from evaluation.intake.cells import parse_date, parse_number
from evaluation.intake.cohorts import (
    COHORT_AGE_BANDS,
    COHORT_COLUMNS,
    COHORT_SEX_VALUES,
    COHORTS,
    DIRECT_IDENTIFIERS,
    EMPLOYMENT_KINDS,
    HORS_QPV,
    PSEUDONYM_KEY_ENV,
    QUALIFICATIONS,
    load_cohorts,
)
from evaluation.intake.cohorts import EmploymentKind as EmploymentKind
from evaluation.intake.comparison import (
    COMPARISON,
    COMPARISON_COLUMNS,
    COMPARISON_GROUPS,
    COMPARISON_INDICATORS,
    ComparisonData,
    ComparisonTerritory,
    load_comparison,
)
from evaluation.intake.monitoring import MONITORING, SPENDING, STATUS_VALUES, load_monitoring, load_spending
from evaluation.intake.monitoring import MONITORING_COLUMNS as MONITORING_COLUMNS
from evaluation.intake.monitoring import SPENDING_COLUMNS as SPENDING_COLUMNS
from evaluation.intake.problems import MASKED, Problem, ValidationFindings, format_problems
from evaluation.intake.problems import MAX_PRINTED as MAX_PRINTED
from evaluation.intake.pseudonymisation import _pseudonymise as _pseudonymise
from evaluation.intake.raw_tables import RawTable as RawTable
from evaluation.intake.raw_tables import TableSpec as TableSpec
from evaluation.intake.raw_tables import read_raw
from evaluation.intake.surveys import (
    SURVEY_AGE_BANDS,
    SURVEY_SEX_VALUES,
    SurveyDescription,
    SurveyWave,
    load_surveys,
    read_surveys,
)
from evaluation.intake.validate import INPUT_FOLDERS as INPUT_FOLDERS
from evaluation.intake.validate import validate_dataset

__all__ = [
    "load_comparison",
    "COMPARISON",
    "COMPARISON_COLUMNS",
    "COMPARISON_GROUPS",
    "COMPARISON_INDICATORS",
    "ComparisonData",
    "ComparisonTerritory",
    "Problem",
    "ValidationFindings",
    "STATUS_VALUES",
    "parse_number",
    "read_raw",
    "load_monitoring",
    "load_spending",
    "load_barometer",
    "validate_dataset",
    "format_problems",
    "MONITORING",
    "SPENDING",
    "BAROMETER",
    "BarometerCount",
    "BAROMETER_INDICATORS",
    "BAROMETER_COLUMNS",
    "BAROMETER_YEARS",
    "SEX_VALUES",
    "AGE_BANDS",
    "load_cohorts",
    "COHORTS",
    "COHORT_COLUMNS",
    "COHORT_SEX_VALUES",
    "COHORT_AGE_BANDS",
    "QUALIFICATIONS",
    "EMPLOYMENT_KINDS",
    "HORS_QPV",
    "DIRECT_IDENTIFIERS",
    "PSEUDONYM_KEY_ENV",
    "MASKED",
    "parse_date",
    "load_surveys",
    "read_surveys",
    "SurveyDescription",
    "SurveyWave",
    "SURVEY_AGE_BANDS",
    "SURVEY_SEX_VALUES",
]
