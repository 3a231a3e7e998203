"""Disclosure control of the yearly barometer before it is published (export and yearly report).

The barometer of a year (:func:`evaluation.stats.barometer.barometer_table`) publishes, per territory and
indicator, a level computed from two counts, its changes, its rank among the QPV, and the two counts
(``numerator``, ``denominator``). Territories: the 26 QPV, ``QPV`` (their sum), ``MEL`` and
``MEL_HORS_QPV``. A count of a few units in one QPV (3 business creations, 8 poor residents) is
exactly what the frequency rule of :mod:`evaluation.stats.disclosure` forbids to publish. This module
applies that rule and :func:`evaluation.stats.disclosure.protect_table`; it adds no suppression method.

**The counts and their relations.** For each count (``employed_15_64``, ``population``, ...), the
``QPV`` row is the sum of the 26 QPV, and ``MEL`` = ``QPV`` + ``MEL_HORS_QPV``. For a *share* (the
numerator counts people among those of the denominator, :attr:`BarometerIndicator.is_share`), the
complement ``denominator - numerator`` is a count of people too.

**Count tables** (:func:`evaluation.stats.disclosure.protect_table`, margins included, audited by linear
programming). One table per share indicator: the QPV × ``[numerator, denominator - numerator]``;
its row totals are the QPV's denominators, its total row the ``QPV`` aggregate. One single-column
table (the QPV × the count; the total column repeats the count) for each other count, unless a share
table holds it already: ``population_15_64``, the denominator of both the employment rate (a share)
and the jobseekers ratio, is judged once, in the employment table. So every count belongs to one
table, and a count hidden there is hidden wherever it appears. A table's rows are the QPV whose
``QPV`` aggregate it protects: those with both counts of the indicator
(:mod:`evaluation.stats.barometer`, *QPV aggregate*), so that its total is the published aggregate.

* **Counts outside a table.** A QPV missing the other count of its row (a number of jobseekers
  without a population) is in no table and in no published sum: the frequency rule alone judges
  its count (primary when small).
* **Aggregates over another set of QPV.** The ``QPV`` row of an indicator sums its counts over the
  QPV that have both; for a count judged in another indicator's table (``population_15_64`` in the
  jobseekers ratio) that set may differ from the table's rows, and the published sum is then a
  margin the table was not protected with (with the published counts of the other QPV, it can give
  a hidden one back). It is hidden (secondary), with its row, as soon as one of the QPV it sums has
  that count hidden.

* **Primary**: a count ``x`` with ``0 < x < threshold`` (numerator, denominator, or complement of a
  share: what :func:`evaluation.stats.disclosure.protect_rates` judges), zeros published.
* **Secondary**: protect_table's hypercube suppression, so that no hidden count can be recomputed
  from the other QPV and the ``QPV`` total published with it (a primary count's interval at least
  ``threshold`` wide).
* **Aggregates.** ``MEL`` and ``MEL_HORS_QPV`` counts are judged by the same frequency rule; a small
  one hides both (``MEL`` = ``QPV`` + ``MEL_HORS_QPV``: one of three published values gives away the
  third). A ``QPV`` count hidden by its table (a margin, only when the QPV sum is itself small or no
  other QPV can protect a cell) hides ``MEL_HORS_QPV``'s, since ``MEL - MEL_HORS_QPV`` would give it
  back; ``MEL`` is published (INSEE's own figures). The audit of the count table does not see
  ``MEL = QPV + MEL_HORS_QPV``; with both ``QPV`` and ``MEL_HORS_QPV`` hidden, that relation only
  bounds the QPV sum by the MEL count minus 1 (``tests/test_barometer_disclosure.py`` checks the
  whole set of relations by linear programming).

**What is hidden in the barometer.** A territory's indicator is hidden when one of its counts is:
its ``level``, ``change_prev``, ``change_base``, ``rank``, ``numerator`` and ``denominator`` are
published as missing (NaN in the exported table, :data:`evaluation.stats.disclosure.SECRET_SYMBOL` ``s``
in the reports). The flag of the level, changes and rank is :attr:`Flag.PRIMARY` when one of the
counts is small, :attr:`Flag.SECONDARY` otherwise; a count hidden only because its rate is (e.g. the
population of a QPV whose number of employed is small; reason "masqué avec le taux") is
:attr:`Flag.SECONDARY` too. Such a count is not sensitive and is not protected: it may be shown in
another row (the population 15-64 is also the jobseekers' denominator) or follow from the published
totals (the population of ``MEL_HORS_QPV`` as ``MEL - QPV``). The count tables take every count as
published unless they hide it themselves, so the protection of the other counts does not rest on it.

* **Changes.** A hidden level hides its two changes. A change whose earlier level (previous year, or
  baseline year for ``change_base``) is hidden in *that* year's protected barometer, under the same
  rule, is hidden too (:attr:`Flag.SECONDARY`): the published level minus the change would give the
  earlier level back.
* **Ranks.** A hidden level's rank is hidden. The other QPV keep a rank, computed **among the QPV
  whose level is published** (1 = most favourable of them; column ``ranked_qpv``: how many are
  ranked, 26 when nothing is hidden): ranks among all 26 would leave gaps that place each hidden
  level between two published ones, a bound on its count that may be narrower than the threshold.

**Outputs** (:class:`ProtectedBarometer`): the table as published, with two public columns,
``secret`` (the hidden columns of the row, comma-separated, empty when none: a missing value there
is secret, not missing data) and ``ranked_qpv``; a :class:`Flag` per cell of
:data:`PROTECTED_COLUMNS`; the suppression log (columns :data:`evaluation.stats.disclosure.LOG_COLUMNS`),
which tells primary from secondary cells: the evaluation team's audit trail, never published.

**Limits.** Only the ``sex == "ensemble"``, ``age_band == "total"`` counts are in the barometer;
tables by age or sex need their own protection. The commune table and the per-QPV figures shown
elsewhere in the yearly report are linked to this one: :mod:`evaluation.present.annual` hides every
figure that includes a hidden count. So is the employment-rate gap series, which repeats the
``QPV`` and comparator employment counts of every year: :mod:`evaluation.publish.gap_publication` hides each
year of it as that year's protected barometer hides them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.stats import disclosure as dc
from evaluation.stats.barometer import INDICATORS, QPV_AGGREGATE, BarometerIndicator, barometer_table
from evaluation.stats.disclosure import TOTAL, Flag

__all__ = [
    "PROTECTED_COLUMNS",
    "SECRET_COLUMN",
    "RANKED_COLUMN",
    "TABLE_NAME",
    "ProtectedBarometer",
    "protect_barometer_table",
    "protect_barometer",
    "hidden_levels",
]

#: The columns of the barometer table that disclosure control may hide, each with its own flag.
PROTECTED_COLUMNS = ("level", "change_prev", "change_base", "rank", "numerator", "denominator")
#: Public column of the protected table: the hidden columns of the row, comma-separated.
SECRET_COLUMN = "secret"
#: Public column of the protected table: the number of QPV ranked (those whose level is published).
RANKED_COLUMN = "ranked_qpv"
#: The table's name in the suppression log.
TABLE_NAME = "barometre"

MEL, MEL_OUTSIDE = "MEL", "MEL_HORS_QPV"
_STRENGTH = {Flag.PUBLISHED: 0, Flag.SECONDARY: 1, Flag.PRIMARY: 2}
_Status = tuple[Flag, str]
_PUBLISHED: _Status = (Flag.PUBLISHED, "")


@dataclass(frozen=True, eq=False)
class ProtectedBarometer:
    """A year's barometer ready to publish, with what was hidden and why.

    Attributes
    ----------
    table:
        The barometer as published: the columns of :func:`evaluation.stats.barometer.barometer_table`
        with hidden cells NaN and ranks among the published QPV, :data:`RANKED_COLUMN` after
        ``rank`` and :data:`SECRET_COLUMN` last.
    flags:
        Same rows, columns :data:`PROTECTED_COLUMNS`: a :class:`Flag` per cell.
    log:
        One row per hidden cell of the barometer (``row``: territory, ``column``:
        ``indicator.column``), then the logs of the count tables; columns
        :data:`evaluation.stats.disclosure.LOG_COLUMNS`. Internal: it tells primary from secondary cells.
    rule:
        The rule applied.
    count_tables:
        The count tables as protected by :func:`evaluation.stats.disclosure.protect_table`, for the audit
        (:func:`evaluation.stats.disclosure.feasible_intervals`).

    Equality is identity (``eq=False``): frames have no single truth value.
    """

    table: pd.DataFrame
    flags: pd.DataFrame
    log: pd.DataFrame
    rule: dc.Rule
    count_tables: tuple[dc.Protected, ...]

    @property
    def hidden_levels(self) -> frozenset[tuple[str, str]]:
        """The ``(territory, indicator)`` pairs whose level is hidden."""
        hidden = self.flags["level"] != Flag.PUBLISHED
        return frozenset(zip(self.table.loc[hidden, "territory"], self.table.loc[hidden, "indicator"], strict=True))

    def flag(self, territory: str, indicator: str, column: str) -> Flag:
        """The flag of one cell (:attr:`Flag.PUBLISHED` for a row the table does not have)."""
        match = (self.table["territory"] == territory) & (self.table["indicator"] == indicator)
        if not match.any():
            return Flag.PUBLISHED
        return Flag(self.flags.loc[match, column].iloc[0])


def _stronger(statuses: Iterable[_Status]) -> _Status:
    """The strongest flag (primary > secondary > published) and its reason."""
    return max(statuses, key=lambda status: _STRENGTH[status[0]], default=_PUBLISHED)


def _is_qpv(territory: object) -> bool:
    return str(territory).startswith("QN")


def _complement(ind: BarometerIndicator) -> str:
    return f"{ind.denominator} - {ind.numerator}"


class _CountTables:
    """The count tables of one barometer table, and the status of every (territory, count)."""

    def __init__(self, table: pd.DataFrame, rule: dc.Rule, name: str) -> None:
        self.rule = rule
        self.protected: list[dc.Protected] = []
        #: (territory, count) -> status, for the hidden counts of the QPV and the ``QPV`` aggregate
        self.hidden: dict[tuple[str, str], _Status] = {}
        #: count -> the QPV of its count table (its ``QPV`` total is the sum over them)
        self.home_rows: dict[str, frozenset[str]] = {}
        self.indicators = [ind for ind in INDICATORS if (table["indicator"] == ind.key).any()]
        self.counts = {ind.key: table[table["indicator"] == ind.key].set_index("territory") for ind in self.indicators}
        #: indicator key -> its QPV rows with both counts: those the ``QPV`` aggregate sums
        self.complete = {ind.key: self._qpv(ind)[["numerator", "denominator"]].dropna() for ind in self.indicators}
        for ind in self.indicators:  # shares first: they hold their denominators as row totals
            if ind.is_share:
                qpv = self.complete[ind.key]
                if not qpv.empty:
                    frame = pd.DataFrame(
                        {ind.numerator: qpv["numerator"], _complement(ind): qpv["denominator"] - qpv["numerator"]}
                    )
                    protected = self._protect(frame, f"{name} · {ind.key}")
                    self._add(ind.numerator, protected, (ind.numerator,))
                    self._add(_complement(ind), protected, (_complement(ind),))
                    self._add(ind.denominator, protected, (TOTAL,))
        for ind in self.indicators:
            if not ind.is_share:
                qpv = self.complete[ind.key]  # the QPV the aggregate sums: the table's total is that sum
                for count, column in ((ind.numerator, "numerator"), (ind.denominator, "denominator")):
                    if count not in self.home_rows and not qpv.empty:
                        protected = self._protect(qpv[column].to_frame(count), f"{name} · {count}")
                        self._add(count, protected, (count, TOTAL))
        self.loose = self._loose_statuses()
        self.outside = self._outside_statuses()

    def _qpv(self, ind: BarometerIndicator) -> pd.DataFrame:
        frame = self.counts[ind.key]
        return frame[[_is_qpv(t) for t in frame.index]]

    def _protect(self, frame: pd.DataFrame, name: str) -> dc.Protected:
        frame.index = frame.index.astype(str)
        protected = dc.protect_table(frame, self.rule, name=name)
        self.protected.append(protected)
        return protected

    def _add(self, count: str, protected: dc.Protected, columns: tuple[str, ...]) -> None:
        """Record the hidden cells of ``count``, held by ``columns`` of ``protected`` (the strongest flag)."""
        if count in self.home_rows:  # pragma: no cover - INDICATORS has no count in two share tables
            raise RuntimeError(f"count {count!r} would be protected in two linked tables")
        self.home_rows[count] = frozenset(str(row) for row in protected.values.index if row != TOTAL)
        for log in protected.log.itertuples():
            if log.column in columns:
                territory = QPV_AGGREGATE if log.row == TOTAL else str(log.row)
                status = (Flag(log.flag), f"{count} : {log.reason}")
                self.hidden[(territory, count)] = _stronger([self.hidden.get((territory, count), _PUBLISHED), status])

    def _loose_statuses(self) -> dict[tuple[str, str], _Status]:
        """Counts of a QPV outside their count table (the other count of the row is missing).

        Such a count is published in its row but summed in no published total (the ``QPV``
        aggregate sums the QPV with both counts), so the frequency rule alone protects it.
        """
        threshold = self.rule.threshold
        out: dict[tuple[str, str], _Status] = {}
        reason = "{count} : effectif non nul inférieur à {threshold} (règle {rule})"
        for ind in self.indicators:
            qpv = self._qpv(ind)
            for count, column in ((ind.numerator, "numerator"), (ind.denominator, "denominator")):
                home = self.home_rows.get(count, frozenset())
                small = qpv[(qpv[column] > 0) & (qpv[column] < threshold)]
                for territory in small.index:
                    if str(territory) not in home:
                        text = reason.format(count=count, threshold=threshold, rule=self.rule.name)
                        out[(str(territory), count)] = (Flag.PRIMARY, text)
        return out

    def qpv_status(self, territory: str, count: str) -> _Status:
        """The status of a count of a QPV (from its table, or alone) or of the ``QPV`` total of its table."""
        if territory != QPV_AGGREGATE and territory not in self.home_rows.get(count, frozenset()):
            return self.loose.get((territory, count), _PUBLISHED)
        return self.hidden.get((territory, count), _PUBLISHED)

    def aggregate_status(self, ind: BarometerIndicator, count: str) -> _Status:
        """The status of ``count`` in the ``QPV`` aggregate row of ``ind``.

        The row sums the QPV with both counts of ``ind``. When they are the rows of the count's
        table, the table's total decides. Otherwise (``population_15_64``, judged with the employed,
        summed over the QPV with a number of jobseekers) the published sum is not a margin the table
        was protected with: it is hidden as soon as one of its terms is.
        """
        summed = frozenset(str(t) for t in self.complete[ind.key].index)
        if summed == self.home_rows.get(count):
            return self.qpv_status(QPV_AGGREGATE, count)
        hidden = sorted(t for t in summed if self.qpv_status(t, count)[0] is not Flag.PUBLISHED)
        if not hidden:
            return _PUBLISHED
        reason = f"{count} : somme sur d'autres quartiers que sa table de comptage, dont {', '.join(hidden)} masqués"
        return (Flag.SECONDARY, reason)

    def _outside_statuses(self) -> dict[tuple[str, str], _Status]:
        """``MEL`` and ``MEL_HORS_QPV`` counts (module docstring, *Aggregates*)."""
        values: dict[tuple[str, str], float] = {}
        for ind in self.indicators:
            frame = self.counts[ind.key]
            for territory in (MEL, MEL_OUTSIDE):
                if territory in frame.index:
                    numerator, denominator = frame.at[territory, "numerator"], frame.at[territory, "denominator"]
                    values[(territory, ind.numerator)] = numerator
                    values[(territory, ind.denominator)] = denominator
                    if ind.is_share:
                        values[(territory, _complement(ind))] = denominator - numerator
        threshold = self.rule.threshold
        small = {key for key, value in values.items() if 0 < value < threshold}
        out: dict[tuple[str, str], _Status] = {}
        for count in sorted({count for _, count in values}):
            mel_small, outside_small = (MEL, count) in small, (MEL_OUTSIDE, count) in small
            primary = f"{count} : effectif non nul inférieur à {threshold} (règle {self.rule.name})"
            if mel_small or outside_small:
                for territory, own, other in ((MEL, mel_small, MEL_OUTSIDE), (MEL_OUTSIDE, outside_small, MEL)):
                    if (territory, count) in values:
                        out[(territory, count)] = (
                            (Flag.PRIMARY, primary)
                            if own
                            else (Flag.SECONDARY, f"{count} : MEL = QPV + MEL hors QPV, protège « {other} »")
                        )
            elif self.qpv_status(QPV_AGGREGATE, count)[0] is not Flag.PUBLISHED and (MEL_OUTSIDE, count) in values:
                reason = f"{count} : MEL hors QPV = MEL - QPV, protège « {QPV_AGGREGATE} »"
                out[(MEL_OUTSIDE, count)] = (Flag.SECONDARY, reason)
        return out

    def status(self, territory: str, count: str) -> _Status:
        if territory in (MEL, MEL_OUTSIDE):
            return self.outside.get((territory, count), _PUBLISHED)
        return self.qpv_status(territory, count)

    def row_statuses(self, territory: str, ind: BarometerIndicator) -> dict[str, _Status]:
        """The status of the numerator, the denominator and (shares) the complement of one row.

        A hidden complement hides the numerator with it (for the QPV, protect_table already hid
        the numerator or the denominator: ``numerator + complement = denominator``).
        """
        if territory == QPV_AGGREGATE:
            numerator = self.aggregate_status(ind, ind.numerator)
            denominator = self.aggregate_status(ind, ind.denominator)
        else:
            numerator = self.status(territory, ind.numerator)
            denominator = self.status(territory, ind.denominator)
        if ind.is_share:
            complement = self.status(territory, _complement(ind))
            if complement[0] is not Flag.PUBLISHED and numerator[0] is Flag.PUBLISHED:
                numerator = complement
        else:
            complement = _PUBLISHED
        return {"numerator": numerator, "denominator": denominator, "complement": complement}


def protect_barometer_table(
    table: pd.DataFrame,
    rule: str | dc.Rule = dc.DEFAULT_RULE,
    *,
    name: str = TABLE_NAME,
    previous_hidden: Collection[tuple[str, str]] = (),
    baseline_hidden: Collection[tuple[str, str]] = (),
) -> ProtectedBarometer:
    """Primary and secondary suppression of one year's barometer table (module docstring).

    Parameters
    ----------
    table:
        :func:`evaluation.stats.barometer.barometer_table` of the year, as returned.
    rule:
        A preset name or a :class:`evaluation.stats.disclosure.Rule` (the dataset's ``disclosure``).
    name:
        The table's name in the log.
    previous_hidden, baseline_hidden:
        The ``(territory, indicator)`` pairs whose level is hidden in the protected barometer of the
        previous year, of the baseline year (:func:`hidden_levels`): their ``change_prev``,
        ``change_base`` are hidden. :func:`protect_barometer` fills them from the long data.
    """
    rule = dc.get_rule(rule)
    counts = _CountTables(table, rule, name)
    by_key = {ind.key: ind for ind in counts.indicators}
    previous, baseline = set(previous_hidden), set(baseline_hidden)

    flags = np.empty((len(table), len(PROTECTED_COLUMNS)), dtype=object)
    flags.fill(Flag.PUBLISHED)
    reasons: dict[tuple[int, int], str] = {}
    position = {column: j for j, column in enumerate(PROTECTED_COLUMNS)}

    def hide(i: int, column: str, status: _Status) -> None:
        flags[i, position[column]] = status[0]
        reasons[(i, position[column])] = status[1]

    for i, (territory, key) in enumerate(zip(table["territory"], table["indicator"], strict=True)):
        ind = by_key.get(key)
        if ind is None:
            continue
        rows = counts.row_statuses(territory, ind)
        row_flag = _stronger(rows.values())[0]
        if row_flag is not Flag.PUBLISHED:
            hidden = "; ".join(reason for flag, reason in rows.values() if flag is not Flag.PUBLISHED)
            rate_status = (row_flag, f"taux calculé sur un effectif masqué ({hidden})")
            for column in ("level", "change_prev", "change_base", "rank"):
                hide(i, column, rate_status)
            for column in ("numerator", "denominator"):
                own = rows[column]
                hide(
                    i, column, own if own[0] is not Flag.PUBLISHED else (Flag.SECONDARY, f"masqué avec le taux ({key})")
                )
            continue
        if (territory, key) in previous:
            hide(i, "change_prev", (Flag.SECONDARY, "niveau de l'année précédente masqué dans son propre baromètre"))
        if (territory, key) in baseline:
            hide(i, "change_base", (Flag.SECONDARY, "niveau de l'année de référence masqué dans son propre baromètre"))

    flag_frame = pd.DataFrame(flags, index=table.index, columns=list(PROTECTED_COLUMNS), dtype=object)
    published = table.copy()
    for column in PROTECTED_COLUMNS:
        published[column] = published[column].astype(float).where(flag_frame[column] == Flag.PUBLISHED)
    published[RANKED_COLUMN] = np.nan
    for ind in counts.indicators:  # ranks among the QPV whose level is published (module docstring)
        qpv = (published["indicator"] == ind.key) & published["territory"].map(_is_qpv)
        levels = published.loc[qpv, "level"]
        published.loc[qpv, "rank"] = levels.rank(ascending=not ind.higher_is_better, method="min")
        published.loc[qpv, RANKED_COLUMN] = float(levels.notna().sum())
    hidden_names = flag_frame.apply(
        lambda row: ", ".join(c for c in PROTECTED_COLUMNS if row[c] is not Flag.PUBLISHED), axis=1
    )
    published.insert(published.columns.get_loc("rank") + 1, RANKED_COLUMN, published.pop(RANKED_COLUMN))
    published[SECRET_COLUMN] = hidden_names if len(published) else pd.Series(dtype=object)

    log_rows = [
        (
            name,
            table["territory"].iat[i],
            f"{table['indicator'].iat[i]}.{PROTECTED_COLUMNS[j]}",
            str(flags[i, j]),
            reason,
        )
        for (i, j), reason in sorted(reasons.items())
    ]
    log = pd.concat(
        [pd.DataFrame(log_rows, columns=list(dc.LOG_COLUMNS)), dc.suppression_log(*counts.protected)],
        ignore_index=True,
    )
    return ProtectedBarometer(published, flag_frame, log, rule, tuple(counts.protected))


def hidden_levels(
    barometer: pd.DataFrame, year: int, rule: str | dc.Rule = dc.DEFAULT_RULE
) -> frozenset[tuple[str, str]]:
    """The ``(territory, indicator)`` pairs whose level the protected barometer of ``year`` hides."""
    return protect_barometer_table(barometer_table(barometer, year), rule).hidden_levels


def protect_barometer(
    barometer: pd.DataFrame,
    year: int,
    rule: str | dc.Rule = dc.DEFAULT_RULE,
    baseline_year: int | None = None,
    *,
    name: str = TABLE_NAME,
    hidden_by_year: Mapping[int, frozenset[tuple[str, str]]] | None = None,
) -> ProtectedBarometer:
    """The barometer of ``year`` (:func:`evaluation.stats.barometer.barometer_table`), protected.

    ``barometer`` is the intake's long table; ``baseline_year`` as in ``barometer_table`` (default:
    the first year of the data). The previous year's and the baseline year's barometers are protected
    too, under the same rule, to hide the changes whose earlier level they hide (module docstring).
    ``hidden_by_year``: :func:`hidden_levels` of earlier years under the same rule, when the caller
    has them already (the yearly report needs every year's): they are not computed again.
    """
    rule = dc.get_rule(rule)
    table = barometer_table(barometer, year, baseline_year)
    years = set(barometer["year"].unique())
    base = baseline_year if baseline_year is not None else min(years)
    known = hidden_by_year or {}

    def hidden_in(other: int) -> frozenset[tuple[str, str]]:
        if other not in years or other == year:
            return frozenset()
        return known[other] if other in known else hidden_levels(barometer, other, rule)

    previous = hidden_in(year - 1)
    baseline = previous if base == year - 1 else hidden_in(base)
    return protect_barometer_table(table, rule, name=name, previous_hidden=previous, baseline_hidden=baseline)
