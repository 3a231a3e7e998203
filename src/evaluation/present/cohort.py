"""Report blocks of the cohort follow-up (``notebooks/cohort.ipynb``): renderings of the year's release.

The plan: "2021 : Renforcer l'évaluation par un suivi de cohorte". What became of a programme's
beneficiaries: who entered, who found a job within 6, 12 and 24 months of entry, how fast, for whom it
worked better, who was lost from follow-up, and the plan's targets against the observed shares.

Every figure shown here comes from :class:`evaluation.publish.cohort_release.CohortRelease`, built once for
the whole year (every programme and all of them together) and protected as one release: this module
only formats it in French. The exported tables and ``evaluation cohorts`` write the same object.
Person keys never reach this module: the intake drops them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluation import cache
from evaluation.errors import UsageError
from evaluation.formatting import format_count, format_number, format_pct, html_table
from evaluation.intake import Problem, load_cohorts
from evaluation.intake._cache import folder_state, plan_digest
from evaluation.intake.cohorts import cohort_load_key
from evaluation.io import Dataset
from evaluation.present.blocks import CHART_WIDTH_IN, MIN_FONT_PT, Chart, Html, chars_per_line, wrap
from evaluation.present.parameters import (
    _check_year,
    check_parameter_names,
    dataset_parameter,
    engagement_parameter,
    parameter_error,
)
from evaluation.publish import cohort_release as cr
from evaluation.referential.labels import rule_text
from evaluation.referential.plan import Plan, load_plan
from evaluation.stats import cohorts as co
from evaluation.stats import disclosure as dc

__all__ = [
    "CohortContext",
    "cohort_context",
    "entrants_block",
    "outcomes_block",
    "incidence_chart",
    "groups_block",
    "attrition_block",
    "targets_block",
    "disclosure_block",
    "method_block",
]

GROUPS_FR = {"sex": "Sexe", "age_band": "Tranche d'âge", "qualification": "Qualification", "qpv": "Résidence"}
LEVELS_FR = {
    "F": "Femmes",
    "M": "Hommes",
    "QPV": "Quartier prioritaire",
    "hors QPV": "Hors quartier prioritaire",
    dc.TOTAL: "Total",
}
OUTCOME_FR = {
    "employment": "emploi (tout contrat ou création d'activité)",
    "sustainable": "emploi durable (CDI ou CDD de 6 mois ou plus)",
}
TABLE_FR = {
    "year_residence": ("Entrées par année et lieu de résidence", "Année d'entrée"),
    "age_sex": ("Entrées par tranche d'âge et sexe", "Tranche d'âge"),
}


@dataclass(frozen=True)
class CohortContext:
    """One programme's (or all programmes') part of the year's cohort release."""

    plan: Plan
    dataset: Dataset
    programme: str
    year: int
    problems: tuple[Problem, ...]
    release: cr.CohortRelease

    @property
    def rule(self) -> dc.Rule:
        return self.release.rule

    @property
    def title(self) -> str:
        return _programme_title(self.plan, self.programme, long=True)

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "dispositif": self.title,
            "année (suivi au 31 décembre)": self.year,
            "secret statistique": rule_text(self.rule.name, self.rule.threshold, self.rule.dominance_pct),
        }


def _programme_title(plan: Plan, programme: str, *, long: bool = False) -> str:
    if programme == cr.ALL:
        return "Tous les dispositifs suivis"
    sheet = plan.engagement(programme)
    if not sheet.number:
        return sheet.title
    return f"Engagement {sheet.number} : {sheet.title}" if long else f"{sheet.number} – {sheet.title}"


def load_release(plan: Plan, dataset: Dataset, year: int, rule: str = "") -> tuple[cr.CohortRelease, list[Problem]]:
    """The year's release from the data directory's cohort files (rows with a problem left out).

    Built once per plan, state of the cohort files, year and rule (and what the intake depends on:
    :func:`evaluation.intake.cohorts.cohort_load_key`), in the package's cache
    (:mod:`evaluation.cache`): a kernel that runs the year's six cohort reports protects the release
    once (about 2 s), not six times. Within ``evaluation run`` the run and its kernels share the
    release (aggregate and protected), and wait for whichever process builds it first; the problems,
    which quote the cells of a person's row, are never shared: each process has them from its own
    intake. A UsageError when no one is in the files.
    """
    chosen = dc.get_rule(rule or dataset.disclosure or dc.DEFAULT_RULE)

    def build() -> cr.CohortRelease:
        cohort, _problems = load_cohorts(dataset, plan)
        if cohort.empty:
            raise UsageError(f"no cohort record in {dataset.path / 'cohorts'} (add the beneficiaries' files there)")
        return cr.build_release(plan, cohort, year, chosen)

    state = folder_state(dataset.path / "cohorts")
    if state is None:  # a file cannot be read: the intake reports it, nothing is kept
        release = build()
    else:
        where = str(dataset.path.resolve())
        digest = plan_digest(plan)
        inputs = (where, state, cohort_load_key(dataset), year, chosen)
        release = cache.remember(
            ("cohort-release", id(plan), *inputs),
            build,
            keep=(plan,),
            shared_key=None if digest is None else ("cohort-release", digest, *inputs),
            wait=True,
        )
    _cohort, problems = load_cohorts(dataset, plan)  # this process's own (kept in memory by the intake)
    return release, problems


def cohort_context(programme: str = "all", year: int = 2021, data_dir: str = "", rule: str = "") -> CohortContext:
    """Validate the parameters of ``cohort.ipynb`` and build the year's release (the whole of it, protected).

    A wrong parameter raises :class:`UsageError` with one French line naming it, the value and the accepted
    values; a name of the parameters cell that the notebook does not declare is warned about.
    """
    check_parameter_names(("programme", "year", "data_dir", "rule"))
    _check_year(year)
    if rule and rule not in dc.PRESETS:
        raise parameter_error(
            "rule", rule, "« » (la règle du jeu de données), " + ", ".join(f"« {r} »" for r in dc.PRESETS)
        )
    plan = load_plan()
    dataset = dataset_parameter(data_dir)
    programme = str(programme)
    if programme != cr.ALL:
        programme = engagement_parameter(plan, programme, "programme").id
    release, problems = load_release(plan, dataset, year, rule)
    if programme != cr.ALL and programme not in release.programmes:
        followed = ", ".join(f"« {p} »" for p in release.programmes)
        raise parameter_error(
            "programme",
            programme,
            f"« all » ou un dispositif suivi : {followed}",
            f"aucun bénéficiaire suivi en {year}",
        )
    part = release.for_programme(programme)
    return CohortContext(plan, dataset, programme, year, tuple(problems), part)


def _cell(value: float, hidden: bool, decimals: int = 0) -> str:
    if hidden:
        return dc.SECRET_SYMBOL
    return format_number(value, decimals)


def _rate_text(row: pd.Series) -> str:
    if row["hidden"]:
        return dc.SECRET_SYMBOL
    if not np.isfinite(row["estimate_pct"]):
        return "–"
    if not np.isfinite(row["ci_low_pct"]):  # 0 % or 100 %: no log-log interval
        return format_pct(row["estimate_pct"], 1)
    return (
        f"{format_pct(row['estimate_pct'], 1)} "
        f"({format_number(row['ci_low_pct'], 1)} à {format_number(row['ci_high_pct'], 1)})"
    )


def entrants_block(ctx: CohortContext) -> Html:
    """Entrants by cohort year and residence, then by age band and sex (protected with the whole release)."""
    parts = []
    programmes = [ctx.programme] if ctx.programme != cr.ALL else [cr.ALL]
    for programme in programmes:
        for name, (caption, row_label) in TABLE_FR.items():
            part = ctx.release.entrants[
                (ctx.release.entrants["programme"] == programme) & (ctx.release.entrants["table"] == name)
            ]
            rows = list(dict.fromkeys(part["row"]))
            columns = list(dict.fromkeys(part["column"]))
            shown = []
            for row in rows:
                record = {row_label: LEVELS_FR.get(row, row)}
                for column in columns:
                    cell = part[(part["row"] == row) & (part["column"] == column)].iloc[0]
                    record[LEVELS_FR.get(column, column)] = _cell(cell["entrants"], bool(cell["hidden"]))
                shown.append(record)
            frame = pd.DataFrame(shown)
            parts.append(html_table(frame, numeric=list(frame.columns[1:]), caption=caption))
    return Html("".join(parts) + f"<p><em>{html.escape(dc.legend_fr(ctx.rule))}</em></p>", "entrées")


def outcomes_block(ctx: CohortContext) -> Html:
    """Share of entrants in a job (then a sustainable job) within 6, 12 and 24 months, per programme."""
    rates = ctx.release.rates[ctx.release.rates["group_variable"] == cr.ALL]
    parts = []
    for outcome in cr.PUBLISHED_OUTCOMES:
        mine = rates[rates["outcome"] == outcome]
        rows = []
        for programme, group in mine.groupby("programme", sort=False):
            first = group.iloc[0]
            row = {
                "Dispositif": _programme_title(ctx.plan, programme),
                "Entrées": _cell(first["entrants"], not np.isfinite(first["entrants"])),
            }
            for _, rate in group.iterrows():
                row[f"À {int(rate['horizon_months'])} mois"] = _rate_text(rate)
            rows.append(row)
        frame = pd.DataFrame(rows)
        parts.append(
            html_table(
                frame,
                numeric=[c for c in frame.columns if c != "Dispositif"],
                caption=f"Part des entrants ayant accédé à un {OUTCOME_FR[outcome]} (intervalle de confiance à 95 %)",
            )
        )
    note = (
        "<p><em>Part estimée des entrants dont la première sortie est un emploi dans les h mois suivant l'entrée "
        "(incidence cumulée d'Aalen-Johansen) : les personnes encore en recherche ou perdues de vue à la date du "
        "rapport comptent pour la durée où elles ont été suivies, et une formation suivie d'abord est une autre "
        "sortie, pas un emploi. « – » : pas encore mesurable (personne n'est suivi depuis aussi longtemps). "
        f"{html.escape(dc.legend_fr(ctx.rule))}</em></p>"
    )
    return Html("".join(parts) + note, "taux d'accès à l'emploi")


def incidence_chart(ctx: CohortContext) -> Chart | Html:
    """Share of entrants in a first job by months since entry (cumulative incidence), coarsened, with its 95 % band."""
    published = ctx.release.curves[ctx.programme]
    if published.empty:
        return Html("<p><em>Trop peu de bénéficiaires pour publier une courbe.</em></p>", "courbe d'accès à l'emploi")
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.6))
    axes = figure.subplots()
    times = np.concatenate([[0.0], published["time"].to_numpy()])
    share = 100 * np.concatenate([[0.0], published["estimate"].to_numpy()])
    low = 100 * np.concatenate([[0.0], published["ci_lower"].to_numpy()])
    high = 100 * np.concatenate([[0.0], published["ci_upper"].to_numpy()])
    axes.step(times, share, where="post", color="#2b6cb0", label="part des entrants ayant eu un premier emploi")
    axes.fill_between(times, low, high, step="post", color="#2b6cb0", alpha=0.2, label="intervalle à 95 %")
    axes.set_xlabel("Mois depuis l'entrée dans le dispositif", fontsize=MIN_FONT_PT)
    axes.set_ylabel("%", fontsize=MIN_FONT_PT)
    axes.set_ylim(0, 100)
    axes.tick_params(labelsize=MIN_FONT_PT)
    axes.yaxis.set_major_formatter(lambda value, _pos: format_number(value))
    axes.legend(fontsize=MIN_FONT_PT, loc="upper left")
    reached = published[published["estimate"] >= 0.5]
    title = "Accès à un premier emploi (incidence cumulée)"
    if not reached.empty:
        title += f" : la moitié des entrants en emploi après {format_number(reached['time'].iloc[0])} mois"
    axes.set_title(wrap(title, chars_per_line(CHART_WIDTH_IN - 0.8, 10)), fontsize=10)
    figure.tight_layout()
    return Chart(figure, "courbe d'accès à l'emploi", _incidence_alt(ctx, times, share))


def _incidence_alt(ctx: CohortContext, times: np.ndarray, share: np.ndarray) -> str:
    """The published curve in words: its level at 6, 12 and 24 months (the steps drawn), and how far it goes."""
    levels = []
    for horizon in (6, 12, 24):
        if horizon <= times[-1]:
            level = share[np.searchsorted(times, horizon, side="right") - 1]
            levels.append(f"{format_pct(level, 1)} à {horizon} mois")
    text = (
        f"Courbe d'accès à un premier emploi, {ctx.title} : part des entrants ayant eu un premier emploi selon le "
        f"nombre de mois depuis leur entrée, avec son intervalle de confiance à 95 %"
    )
    if levels:
        text += " : " + ", ".join(levels)
    return text + f" ; la courbe s'arrête à {format_number(times[-1])} mois de suivi."


def groups_block(ctx: CohortContext) -> Html:
    """Who found work faster: log-rank tests between groups, in words, with the 12-month shares."""
    rates = ctx.release.rates
    sentences = []
    for _, test in ctx.release.tests[ctx.release.tests["programme"] == ctx.programme].iterrows():
        variable = test["group_variable"]
        at12 = rates[
            (rates["programme"] == ctx.programme)
            & (rates["group_variable"] == variable)
            & (rates["outcome"] == "employment")
            & (rates["horizon_months"] == co.TARGET_HORIZON_MONTHS)
        ]
        detail = ", ".join(
            f"{html.escape(LEVELS_FR.get(r['group'], r['group']))} {_rate_text(r)}" for _, r in at12.iterrows()
        )
        if not np.isfinite(test["pvalue"]):
            verdict = "le test n'est pas calculable (aucune sortie en emploi observée)"
        elif test["pvalue"] < 0.05:
            verdict = f"la différence de rythme d'accès à l'emploi est statistiquement significative (test du log-rank, {_p_text(test['pvalue'])})"
        else:
            verdict = f"les écarts observés peuvent relever du hasard (test du log-rank, {_p_text(test['pvalue'])})"
        sentences.append(f"<li><b>{GROUPS_FR[variable]}</b> : {verdict}. En emploi dans les 12 mois : {detail}.</li>")
    legend = html.escape(dc.legend_fr(ctx.rule))
    return Html(f"<ul>{''.join(sentences)}</ul><p><em>{legend}</em></p>", "comparaison des groupes")


def _p_text(pvalue: float) -> str:
    return "p < 0,001" if pvalue < 0.001 else f"p = {format_number(pvalue, 3)}"


def attrition_block(ctx: CohortContext) -> Html:
    """Beneficiaries lost from follow-up (no job found and no contact in the last 6 months), per programme."""
    rows = []
    for _, r in ctx.release.attrition.iterrows():
        rows.append(
            {
                "Dispositif": _programme_title(ctx.plan, r["programme"]),
                "Entrées": _cell(r["entrants"], not np.isfinite(r["entrants"])),
                "Perdus de vue": _cell(r["lost"], bool(r["hidden"])),
                "Part": dc.SECRET_SYMBOL if r["hidden"] else format_pct(r["lost_pct"], 1),
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
    """The plan's return-to-work targets against the published 12-month shares and their intervals."""
    table = co.target_comparison(ctx.plan, ctx.release.rates[ctx.release.rates["programme"] != cr.ALL])
    if table.empty:
        return Html(
            "<p><em>Aucun objectif chiffré de retour à l'emploi dans le plan pour ce dispositif.</em></p>", "cibles"
        )
    verdicts = {
        "above": "au-dessus de la cible",
        "below": "en dessous de la cible",
        "compatible": "compatible avec la cible",
        "hidden": "–",
        "not_measured": "pas encore mesurable",
    }
    rows = []
    for _, r in table.iterrows():
        shown = _rate_text(pd.Series({**r.to_dict(), "hidden": r["verdict"] == "hidden"}))
        rows.append(
            {
                "Indicateur": f"{r['indicator_id']} – {r['indicator_label']}",
                "Cible": format_pct(r["target_pct"], 0),
                f"Observé dans les {int(r['horizon_months'])} mois": shown,
                "Conclusion": verdicts[r["verdict"]],
            }
        )
    return Html(
        html_table(pd.DataFrame(rows), numeric=["Cible"], caption="Les objectifs du plan face aux parts observées"),
        "cibles",
    )


def disclosure_block(ctx: CohortContext) -> Html:
    """How many cells of the year's release were hidden, and why (the log never holds a hidden value)."""
    log = ctx.release.log
    primary = int((log["flag"] == dc.Flag.PRIMARY.value).sum())
    secondary = int((log["flag"] == dc.Flag.SECONDARY.value).sum())
    threshold = ctx.rule.threshold
    rule = rule_text(ctx.rule.name, threshold, ctx.rule.dominance_pct)
    verb = "est masqué parce qu'il porte" if primary < 2 else "sont masqués parce qu'ils portent"
    hidden = (
        f"{format_count(primary, 'effectif ou taux', 'effectifs ou taux')} {verb} sur moins de "
        f"{format_count(threshold, 'personne')} (ou sur toutes sauf moins de {threshold}), et "
        f"{format_count(secondary, 'autre')} pour qu'on ne puisse pas {'le' if primary < 2 else 'les'} retrouver "
        "par différence"
    )
    return Html(
        f"<p>Secret statistique : {html.escape(rule)}. Cette règle est appliquée à l'ensemble des rapports de suivi "
        "de cohorte de l'année et aux tableaux exportés pris ensemble : un lecteur qui les rapproche tous (un "
        "dispositif, les autres, leur total) ne peut retrouver aucun effectif masqué. "
        f"Sur l'ensemble de l'année, {hidden}. Un taux est masqué avec son intervalle dès que l'effectif de son "
        "groupe l'est. La courbe d'accès à l'emploi ne montre que des paliers d'au moins "
        f"{format_count(threshold, 'personne')}, en mois entiers.</p>",
        "secret statistique",
    )


def method_block(ctx: CohortContext) -> Html:
    """What the published shares mean, what they do not, and what changed from the earlier reports."""
    return Html(
        "<p><b>Ce que mesurent ces parts.</b> Pour chaque horizon (6, 12 ou 24 mois), la part des personnes entrées dans "
        "le dispositif dont la première sortie est un emploi avant cet horizon. Les personnes entrées récemment ou "
        "perdues de vue comptent pour la période où elles ont été suivies (méthode d'Aalen-Johansen, qui généralise "
        "Kaplan-Meier) ; une personne dont la première sortie est une formation n'est pas comptée en emploi, même si "
        "elle en trouve un ensuite, car les fichiers ne suivent que la première sortie. L'intervalle de confiance "
        "à 95 % traduit l'incertitude due au nombre de personnes suivies.</p>"
        "<p><b>Ce qu'elles ne disent pas.</b> Elles décrivent le devenir des bénéficiaires, pas l'effet propre du "
        "dispositif : sans groupe de comparaison, on ne sait pas combien auraient trouvé un emploi sans lui.</p>"
        "<p><b>Ce qui a changé.</b> Les premiers rapports rapportaient les emplois trouvés aux seules personnes "
        "« observables » à l'horizon : un emploi comptait quelle que soit la durée de suivi, une absence d'emploi "
        "seulement après h mois de suivi. Cette méthode surestimait les taux, parfois de plus de dix points, et traitait une formation "
        "comme une simple fin d'observation. Les parts publiées "
        "ici la remplacent.</p>",
        "méthode",
    )
