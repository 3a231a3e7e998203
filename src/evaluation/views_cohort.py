"""Report blocks of the cohort follow-up (``notebooks/cohort.ipynb``), every one through disclosure control.

The plan: "2021 : Renforcer l'évaluation par un suivi de cohorte". What became of a programme's
beneficiaries: who entered, who was in work 6, 12 and 24 months after entry, how fast (Kaplan-Meier),
for whom it worked better (log-rank), who was lost from follow-up, and the plan's targets against the
observed rates. Nothing here is published unprotected:

* counts of people crossed by attributes go through :func:`evaluation.disclosure.protect_table`
  (primary and secondary suppression, verified by linear programming);
* rates are judged on their numerator and denominator (:func:`evaluation.disclosure.protect_rates`);
* the survival curve is coarsened (:func:`evaluation.disclosure.coarsen_km`): steps of at least
  the threshold number of people, at whole months, never an individual's exact date.

Person keys never reach this module: the intake drops them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluation import cohorts as co
from evaluation import disclosure as dc
from evaluation.errors import UsageError
from evaluation.formatting import format_number, format_pct, html_table
from evaluation.intake import Problem, load_cohorts
from evaluation.io import Dataset, load_dataset
from evaluation.plan import Plan, load_plan
from evaluation.views import Chart, Html, _check_year

__all__ = [
    "CohortContext",
    "cohort_context",
    "entrants_block",
    "outcomes_block",
    "km_chart",
    "groups_block",
    "attrition_block",
    "targets_block",
    "disclosure_block",
]

GROUPS = {"qpv_group": "Résidence", "sex": "Sexe", "age_band": "Tranche d'âge", "qualification": "Qualification"}
OUTCOME_FR = {
    "employment": "emploi (tout contrat ou création)",
    "sustainable": "emploi durable (CDI ou CDD de 6 mois ou plus)",
}


@dataclass(frozen=True)
class CohortContext:
    """One programme's (or all programmes') cohort, as of the end of the report's year."""

    plan: Plan
    dataset: Dataset
    programme: str
    year: int
    cohort: pd.DataFrame
    problems: tuple[Problem, ...]
    rule: dc.Rule
    protected: list[dc.Protected]

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 12, 31)

    @property
    def title(self) -> str:
        if self.programme == "all":
            return "Tous les dispositifs suivis"
        sheet = self.plan.engagement(self.programme)
        return f"Engagement {sheet.number} : {sheet.title}" if sheet.number else sheet.title

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "dispositif": self.title,
            "année (suivi au 31 décembre)": self.year,
            "règle de secret": f"{self.rule.name} (seuil {self.rule.threshold})",
        }


def cohort_context(programme: str = "all", year: int = 2021, data_dir: str = "", rule: str = "") -> CohortContext:
    """Validate the parameters of ``cohort.ipynb`` and load the cohort (rows with a problem left out)."""
    _check_year(year)
    plan = load_plan()
    dataset = load_dataset(data_dir or None)
    chosen = dc.get_rule(rule or dataset.disclosure or dc.DEFAULT_RULE)
    cohort, problems = load_cohorts(dataset, plan)
    programme = str(programme)
    if programme != "all":
        programme = plan.engagement(programme).id
        cohort = cohort[cohort["programme"] == programme]
    cohort = cohort[cohort["entry_date"] <= pd.Timestamp(year, 12, 31)]
    if cohort.empty:
        raise UsageError(f"no beneficiary of programme {programme!r} entered by {year} in {dataset.path / 'cohorts'}")
    cohort = cohort.assign(qpv_group=np.where(cohort["qpv"] == "hors QPV", "hors QPV", "QPV"))
    return CohortContext(plan, dataset, programme, year, cohort, tuple(problems), chosen, [])


def _protected_table(ctx: CohortContext, table: pd.DataFrame, name: str) -> str:
    protected = dc.protect_table(table, ctx.rule, name=name)
    ctx.protected.append(protected)
    shown = protected.values.copy().astype(object)
    for row in shown.index:
        for column in shown.columns:
            shown.at[row, column] = dc.format_cell(
                protected.values.at[row, column], protected.flags.at[row, column], decimals=0
            )
    shown = shown.reset_index(names="")
    shown.columns = [str(c) for c in shown.columns]
    return html_table(shown, numeric=[c for c in shown.columns if c], caption=name)


def entrants_block(ctx: CohortContext) -> Html:
    """Entrants by cohort year and residence, then by sex and age band (protected counts with margins)."""
    by_place = pd.crosstab(ctx.cohort["cohort_year"], ctx.cohort["qpv_group"])
    by_place.index = [str(i) for i in by_place.index]
    by_age = pd.crosstab(ctx.cohort["age_band"], ctx.cohort["sex"])
    markup = _protected_table(ctx, by_place, "Entrées par année et lieu de résidence")
    markup += _protected_table(ctx, by_age, "Entrées par tranche d'âge et sexe")
    return Html(markup + f"<p><em>{html.escape(dc.legend_fr(ctx.rule))}</em></p>", "entrées")


def _rates(ctx: CohortContext, outcome: str, by: tuple[str, ...]) -> pd.DataFrame:
    rates = co.outcome_rates(ctx.cohort, outcome=outcome, by=by, as_of=ctx.as_of)
    flags = dc.protect_rates(rates["successes"], rates["observable"], ctx.rule)
    return rates.assign(flag=flags)


def _rate_text(row: pd.Series) -> str:
    if row["observable"] == 0:
        return "–"
    if dc.Flag(row["flag"]) is not dc.Flag.PUBLISHED:
        return dc.SECRET_SYMBOL
    return f"{format_pct(row['rate_pct'], 1)} ({format_number(row['ci_low_pct'], 1)}-{format_number(row['ci_high_pct'], 1)})"


def _observable_text(row: pd.Series, threshold: int) -> str:
    count = row["observable"]
    return dc.SECRET_SYMBOL if 0 < count < threshold else format_number(count)


def outcomes_block(ctx: CohortContext) -> Html:
    """Employment and sustainable employment at 6, 12 and 24 months, by programme, with 95 % intervals."""
    parts = []
    for outcome in ("employment", "sustainable"):
        rates = _rates(ctx, outcome, ("programme",))
        order = {sheet.id: i for i, sheet in enumerate(ctx.plan.engagements)}
        rates = rates.sort_values("programme", key=lambda ids: ids.map(order), kind="stable")
        rows = []
        for programme, group in rates.groupby("programme", sort=False):
            sheet = ctx.plan.engagement(programme)
            row = {"Dispositif": f"{sheet.number} – {sheet.title}" if sheet.number else sheet.title}
            for _, rate in group.iterrows():
                h = int(rate["horizon_months"])
                row[f"Observables à {h} mois"] = _observable_text(rate, ctx.rule.threshold)
                row[f"En {('emploi' if outcome == 'employment' else 'emploi durable')} à {h} mois"] = _rate_text(rate)
            rows.append(row)
        frame = pd.DataFrame(rows)
        parts.append(
            html_table(
                frame,
                numeric=[c for c in frame.columns if c != "Dispositif"],
                caption=f"Part en {OUTCOME_FR[outcome]} (intervalle de confiance à 95 %)",
            )
        )
    note = (
        "<p><em>« Observables à h mois » : bénéficiaires entrés depuis au moins h mois et suivis jusque-là (ou ayant trouvé avant). "
        f"{html.escape(dc.legend_fr(ctx.rule))}</em></p>"
    )
    return Html("".join(parts) + note, "taux de sortie en emploi")


def km_chart(ctx: CohortContext) -> Chart | Html:
    """Share in work by months since entry (1 - Kaplan-Meier), coarsened for disclosure, with its 95 % band."""
    data = co.survival_data(ctx.cohort, outcome="employment", as_of=ctx.as_of)
    km = co.kaplan_meier(data["duration_months"], data["event"], entry=data["entry_months"])
    published = dc.coarsen_km(km, ctx.rule.threshold)
    if published.empty:
        return Html("<p><em>Trop peu de bénéficiaires pour publier une courbe.</em></p>", "courbe de survie")
    figure = Figure(figsize=(7, 3.6), dpi=90)
    axes = figure.subplots()
    times = np.concatenate([[0.0], published["time"].to_numpy()])
    share = 100 * (1 - np.concatenate([[1.0], published["survival"].to_numpy()]))
    low = 100 * (1 - np.concatenate([[1.0], published["ci_upper"].to_numpy()]))
    high = 100 * (1 - np.concatenate([[1.0], published["ci_lower"].to_numpy()]))
    axes.step(times, share, where="post", color="#2b6cb0", label="part ayant trouvé un emploi")
    axes.fill_between(times, low, high, step="post", color="#2b6cb0", alpha=0.2, label="intervalle à 95 %")
    axes.set_xlabel("Mois depuis l'entrée dans le dispositif")
    axes.set_ylabel("%")
    axes.set_ylim(0, 100)
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
    axes.legend(fontsize=8, loc="lower right")
    median = co.km_median(km)[0]
    title = "Accès au premier emploi (Kaplan-Meier)"
    if np.isfinite(median):
        title += f" : la moitié a trouvé en {format_number(median, 1)} mois"
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return Chart(figure, "courbe d'accès à l'emploi")


def groups_block(ctx: CohortContext) -> Html:
    """Who found work faster: log-rank tests between groups, in words, with the 12-month rates."""
    data = co.survival_data(ctx.cohort, outcome="employment", as_of=ctx.as_of)
    sentences = []
    for column, label in GROUPS.items():
        groups = ctx.cohort.loc[data.index, column].astype(str).to_numpy()  # survival_data may leave people out
        if len(set(groups)) < 2:
            continue
        result = co.logrank(data["duration_months"], data["event"], groups, entry=data["entry_months"])
        rates = _rates(ctx, "employment", (column,))
        at12 = rates[rates["horizon_months"] == 12]
        detail = ", ".join(f"{html.escape(str(r[column]))} {_rate_text(r)}" for _, r in at12.iterrows())
        if not np.isfinite(result.pvalue):
            verdict = "le test n'est pas calculable (aucune sortie en emploi observée)"
        elif result.pvalue < 0.05:
            verdict = f"la différence de rythme d'accès à l'emploi est statistiquement significative (test du log-rank, {_p_text(result.pvalue)})"
        else:
            verdict = f"les écarts observés peuvent relever du hasard (test du log-rank, {_p_text(result.pvalue)})"
        sentences.append(f"<li><b>{label}</b> : {verdict}. En emploi à 12 mois : {detail}.</li>")
    legend = html.escape(dc.legend_fr(ctx.rule))
    return Html(f"<ul>{''.join(sentences)}</ul><p><em>{legend}</em></p>", "comparaison des groupes")


def _p_text(pvalue: float) -> str:
    return "p < 0,001" if pvalue < 0.001 else f"p = {format_number(pvalue, 3)}"


def attrition_block(ctx: CohortContext) -> Html:
    """Beneficiaries lost from follow-up (no job found and no contact in the last 6 months), per programme."""
    table = co.attrition(ctx.cohort, ctx.as_of)
    order = {sheet.id: i for i, sheet in enumerate(ctx.plan.engagements)}
    table = table.sort_values("programme", key=lambda ids: ids.map(order), kind="stable").reset_index(drop=True)
    flags = dc.protect_rates(table["lost"], table["entrants"], ctx.rule)
    rows = []
    for (_, r), flag in zip(table.iterrows(), flags, strict=True):
        sheet = ctx.plan.engagement(r["programme"])
        hidden = dc.Flag(flag) is not dc.Flag.PUBLISHED
        rows.append(
            {
                "Dispositif": f"{sheet.number} – {sheet.title}" if sheet.number else sheet.title,
                "Entrées": _observable_text(pd.Series({"observable": r["entrants"]}), ctx.rule.threshold),
                "Perdus de vue": dc.SECRET_SYMBOL if hidden else format_number(r["lost"]),
                "Part": dc.SECRET_SYMBOL if hidden else format_pct(r["lost_pct"], 1),
            }
        )
    return Html(
        html_table(
            pd.DataFrame(rows),
            numeric=["Entrées", "Perdus de vue", "Part"],
            caption="Perdus de vue (sans emploi trouvé ni contact depuis 6 mois)",
        ),
        "attrition",
    )


def targets_block(ctx: CohortContext) -> Html:
    """The plan's return-to-work targets against the observed 12-month rates and their intervals."""
    rates = co.outcome_rates(ctx.cohort, outcome="employment", by=("programme",), as_of=ctx.as_of)
    table = co.target_comparison(ctx.plan, rates)
    if table.empty:
        return Html(
            "<p><em>Aucun objectif chiffré de retour à l'emploi dans le plan pour ce dispositif.</em></p>", "cibles"
        )
    flags = dc.protect_rates(table["successes"], table["observable"], ctx.rule)
    verdicts = {
        "above": "au-dessus de la cible",
        "below": "en dessous de la cible",
        "compatible": "compatible avec la cible",
    }
    rows = []
    for (_, r), flag in zip(table.iterrows(), flags, strict=True):
        hidden = dc.Flag(flag) is not dc.Flag.PUBLISHED
        rows.append(
            {
                "Indicateur": f"{r['indicator_id']} – {r['indicator_label']}",
                "Cible": format_pct(r["target_pct"], 0),
                f"Observé à {int(r['horizon_months'])} mois": dc.SECRET_SYMBOL
                if hidden
                else f"{format_pct(r['rate_pct'], 1)} ({format_number(r['ci_low_pct'], 1)}-{format_number(r['ci_high_pct'], 1)})",
                "Conclusion": "–" if hidden else verdicts.get(r["verdict"], r["verdict"]),
            }
        )
    return Html(
        html_table(pd.DataFrame(rows), numeric=["Cible"], caption="Les objectifs du plan face aux taux observés"),
        "cibles",
    )


def disclosure_block(ctx: CohortContext) -> Html:
    """How many cells were hidden, and why (the log never holds a hidden value)."""
    log = dc.suppression_log(*ctx.protected) if ctx.protected else pd.DataFrame()
    primary = int((log["flag"] == dc.Flag.PRIMARY.value).sum()) if not log.empty else 0
    secondary = int((log["flag"] == dc.Flag.SECONDARY.value).sum()) if not log.empty else 0
    return Html(
        f"<p>Règle de secret statistique « {html.escape(ctx.rule.name)} » : effectifs de personnes inférieurs à {ctx.rule.threshold} masqués "
        f"({primary} case(s)), ainsi que {secondary} case(s) qui permettraient de les retrouver à partir des totaux. Les taux sont masqués quand "
        f"le nombre de personnes concernées, ou de non concernées, est inférieur au seuil ; la courbe d'accès à l'emploi ne montre que des "
        f"paliers d'au moins {ctx.rule.threshold} personnes, en mois entiers.</p>",
        "secret statistique",
    )
