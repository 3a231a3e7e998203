"""The ``evaluation`` command.

Exit status: 0 success; 1 findings (audit) or failed reports (run); 2 bad usage or unusable input,
with a one-line message naming the file, line and field, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from evaluation import __version__
from evaluation.config import PLAN_YEARS, REPORTS_DIR, check_year
from evaluation.errors import EvaluationError, UsageError

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluation",
        description="Évaluation du plan d'actions économie et emploi des quartiers prioritaires de la MEL (2018-2021).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--plan-dir", type=Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = sub.add_parser("plan", help="print the plan referential (priorities, sheets, indicators, budget)")
    plan.add_argument("--format", choices=("text", "json"), default="text")

    audit = sub.add_parser("audit", help="check the plan document against itself; exit 1 when there are findings")
    audit.add_argument("--format", choices=("text", "json"), default="text")

    validate = sub.add_parser(
        "validate", help="check every input file of the data directory; exit 1 when there are problems"
    )
    validate.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")

    template = sub.add_parser("template", help="write a partner's Excel collection workbook for one action sheet")
    template.add_argument("engagement", help="sheet id: 1..17, 4a, 5a, 5b, 5c, gouvernance, evaluation")
    template.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")

    gaps = sub.add_parser("gaps", help="the target-gap table: realised against target, per indicator, for one year")
    gaps.add_argument("--year", type=int, required=True, help="year of the assessment (2018-2021)")
    gaps.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    gaps.add_argument("--format", choices=("text", "json", "csv", "xlsx"), default="text")
    gaps.add_argument("--out", type=Path, default=None, help="file to write (required for xlsx; stdout otherwise)")
    gaps.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="share of the planned change tolerated to be 'on track' (default 0.10)",
    )

    gap = sub.add_parser(
        "employment-gap", help="the employment-rate gap per year, its reduction and the halving target"
    )
    gap.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    gap.add_argument("--comparator", default="MEL", help="MEL (whole Métropole, the plan's) or MEL_HORS_QPV")
    gap.add_argument(
        "--baseline-year", type=int, default=None, help="reference year (default: the first of the series)"
    )
    gap.add_argument(
        "--year", type=int, default=None, help="last year taken into account (default: the last of the series)"
    )
    gap.add_argument(
        "--design-effect",
        type=float,
        default=None,
        help="design effect of the census counts (default 1.5: INSEE's 40 %% sampling fraction, (1 - 0.4) / 0.4)",
    )
    gap.add_argument("--format", choices=("text", "json"), default="text")

    cohorts = sub.add_parser(
        "cohorts", help="what the cohort reports of a year publish, after disclosure control of the whole release"
    )
    cohorts.add_argument("--year", type=int, required=True, help="follow-up as of 31 December of this year (2018-2021)")
    cohorts.add_argument(
        "--programme", default="all", help="a programme's sheet id (1, 3, 9, 10, 12...) or 'all' (default)"
    )
    cohorts.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    cohorts.add_argument("--format", choices=("text", "json", "csv"), default="text")

    survey = sub.add_parser(
        "survey", help="what the perception-survey reports of a year publish: shares, by group, changes (sheets 17, 4a)"
    )
    survey.add_argument("--year", type=int, required=True, help="year of the survey's wave (2020, 2021 in the demo)")
    survey.add_argument(
        "--survey", default=None, help="survey name (surveys/<name>.yaml); default: every survey with a wave that year"
    )
    survey.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    survey.add_argument("--format", choices=("text", "json"), default="text")

    impact_cmd = sub.add_parser(
        "impact",
        help="what can be attributed to the plan: difference-in-differences and synthetic control of one indicator",
    )
    impact_cmd.add_argument(
        "--indicator",
        required=True,
        help="employment_rate_pct, jobseekers_per_1000, business_creations_per_1000 or poverty_rate_pct",
    )
    impact_cmd.add_argument(
        "--method", choices=("did", "synthetic"), default=None, help="one method only (default: both)"
    )
    impact_cmd.add_argument(
        "--year", type=int, default=PLAN_YEARS[-1], help=f"values up to this year (default {PLAN_YEARS[-1]})"
    )
    impact_cmd.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    impact_cmd.add_argument("--format", choices=("text", "json"), default="text")

    run = sub.add_parser(
        "run", help="produce a year's deliverables: reports (HTML, executed notebooks), tables, index, manifest"
    )
    run.add_argument("--year", type=int, default=PLAN_YEARS[-1], help=f"deliverable year (default {PLAN_YEARS[-1]})")
    run.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="report kinds or single reports of the run plan: annuel, engagements, engagements/5a",
    )
    run.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of CPUs)")
    run.add_argument("--data", type=Path, default=None, help="data directory (default: the embedded demo data)")
    run.add_argument("--out", type=Path, default=REPORTS_DIR, help="output folder (default: reports/)")
    run.add_argument("--force", action="store_true", help="run every report, even those unchanged since the last run")
    run.add_argument(
        "--run-plan", type=Path, default=None, metavar="FILE", help="run plan to use (default: params/<year>.yaml)"
    )
    return parser


def _fmt(value: float | None) -> str:
    from evaluation.formatting import format_eur

    return format_eur(value)


def _plan_text(plan) -> str:  # noqa: ANN001 - Plan, imported lazily
    from evaluation.referential.labels import target_text

    lines = [plan.title, f"Période {plan.period[0]}-{plan.period[1]}", ""]
    groups = [(p.id, f"{p.id} {p.title}") for p in plan.priorities] + [(None, plan.transversal.title)]
    for priority_id, heading in groups:
        lines.append(heading)
        for sheet in plan.engagements:
            if sheet.priority != priority_id:
                continue
            name = f"Engagement {sheet.number}" if sheet.number else sheet.id
            budget = sheet.budget
            years = ", ".join(f"{y}: {_fmt(v)}" for y, v in budget.mel_financing_eur.items())
            lines.append(f"  [{sheet.id}] {name} : {sheet.title}")
            lines.append(f"      coût global : {_fmt(budget.total_cost_eur)} ; MEL : {years}")
            for cofin in budget.cofinancing:
                share = f" {cofin.share_pct:g} %" if cofin.share_pct is not None else ""
                amount = f" {_fmt(cofin.amount_eur)}" if cofin.amount_eur is not None else ""
                lines.append(f"      co-financement : {cofin.funder}{share}{amount}")
            for ind in sheet.indicators:
                lines.append(f"      {ind.id:<15} {ind.label} -> {target_text(ind)} ({ind.target.year})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cmd_plan(args: argparse.Namespace) -> int:
    from evaluation.referential.plan import load_plan

    plan = load_plan(args.plan_dir)
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(_plan_text(plan))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from evaluation.referential.audit import audit_plan
    from evaluation.referential.plan import load_plan

    findings = audit_plan(load_plan(args.plan_dir))
    if args.format == "json":
        sys.stdout.write(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2) + "\n")
    else:
        for finding in findings:
            where = finding.engagement or "plan"
            sys.stdout.write(f"[{finding.severity}] {finding.check} ({where}): {finding.message}\n")
        errors = sum(f.severity == "error" for f in findings)
        sys.stdout.write(f"{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} warning(s)\n")
    return 1 if findings else 0


@contextlib.contextmanager
def _stop_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP (a CI timeout, a closed terminal) stop the run as Ctrl-C does: kernels
    killed, the reports in progress marked interrupted, the run's temporary folder removed."""
    import signal

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            with contextlib.suppress(ValueError):  # not the main thread: left as it is
                previous[name] = signal.signal(getattr(signal, name), interrupt)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def _cmd_run(args: argparse.Namespace) -> int:
    from evaluation.batch.progress import ProgressBar
    from evaluation.batch.runner import run_batch
    from evaluation.io import load_dataset
    from evaluation.referential.plan import load_plan

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.run_plan is None:
        check_year(args.year)
    plan = load_plan(args.plan_dir)
    dataset = load_dataset(args.data)
    with _stop_on_termination():
        batch = run_batch(
            plan,
            dataset,
            year=args.year,
            out_dir=args.out.resolve(),
            only=args.only,
            jobs=args.jobs,
            force=args.force,
            run_plan_file=args.run_plan,
            progress=ProgressBar(sys.stderr),
        )
    for result in batch.failed:
        cell = f", cell {result.failing_cell}" if result.failing_cell is not None else ""
        print(f"failed: {result.job.name}{cell}: {result.error}", file=sys.stderr)
    if batch.tables_error:
        print(f"failed: tables: {batch.tables_error}", file=sys.stderr)
    counts: dict[str, int] = {}
    for result in batch.results:
        counts[result.status] = counts.get(result.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
    print(f"{batch.year}: {summary} (data: {dataset.name}); index: {batch.index_path}", file=sys.stderr)
    return 1 if batch.failed or batch.tables_error else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from evaluation.intake import format_problems, validate_dataset
    from evaluation.io import load_dataset
    from evaluation.referential.plan import load_plan

    plan = load_plan(args.plan_dir)
    dataset = load_dataset(args.data)
    problems, counts = validate_dataset(dataset, plan)
    for line in format_problems(problems):
        print(line)
    files = sum(v for k, v in counts.items() if k.endswith("_files"))
    rows = ", ".join(f"{v} {k.removesuffix('_rows')}" for k, v in counts.items() if k.endswith("_rows"))
    summary = f"{dataset.path}: {files} file(s) checked; usable rows: {rows}; {len(problems)} problem(s)"
    print(summary, file=sys.stderr)
    if any(p.fatal for p in problems):
        return 2
    return 1 if problems else 0


def _cmd_template(args: argparse.Namespace) -> int:
    from evaluation.intake.template import write_template
    from evaluation.referential.plan import load_plan

    if args.out.suffix.lower() != ".xlsx":
        raise UsageError(f"--out {args.out}: the template is an Excel workbook, name it .xlsx")
    path = write_template(load_plan(args.plan_dir), args.engagement, args.out)
    print(f"written: {path}", file=sys.stderr)
    return 0


def _monitoring_or_fail(plan, dataset):  # noqa: ANN001, ANN202
    """Validated monitoring rows; any problem stops the command (a gap computed on bad data misleads)."""
    from evaluation.intake import ValidationFindings, format_problems, load_monitoring

    monitoring, problems = load_monitoring(dataset, plan)
    if problems:
        for line in format_problems(problems, limit=20):
            print(line, file=sys.stderr)
        raise ValidationFindings(problems)
    return monitoring


def _cmd_gaps(args: argparse.Namespace) -> int:
    from evaluation.io import atomic_write_bytes, atomic_write_text, load_dataset
    from evaluation.referential.plan import load_plan
    from evaluation.stats.targets import DEFAULT_TOLERANCE, STATUS_FR, Status, gap_table

    check_year(args.year, "--year")
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    if not 0 <= tolerance < 1:
        raise UsageError(f"--tolerance must be within [0, 1), got {tolerance}")
    if args.format == "xlsx" and args.out is None:
        raise UsageError("--format xlsx needs --out FILE.xlsx")
    plan = load_plan(args.plan_dir)
    dataset = load_dataset(args.data)
    table = gap_table(plan, _monitoring_or_fail(plan, dataset), args.year, tolerance=tolerance)
    if args.format == "xlsx":
        import io

        buffer = io.BytesIO()
        table.to_excel(buffer, index=False, sheet_name=f"ecarts_{args.year}")
        atomic_write_bytes(args.out, buffer.getvalue())
        print(f"written: {args.out}", file=sys.stderr)
        return 0
    if args.format == "json":
        text = table.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    elif args.format == "csv":
        text = table.to_csv(index=False)
    else:
        text = _gaps_text(table, STATUS_FR, Status)
        if dataset.demo:
            text = "DONNÉES DE DÉMONSTRATION (synthétiques)\n" + text
    if args.out is not None:
        atomic_write_text(args.out, text)
        print(f"written: {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _gaps_text(table, labels, status_type) -> str:  # noqa: ANN001
    from evaluation.formatting import format_number

    def num(value: float) -> str:
        return format_number(value, 1) if value == value and value is not None else "–"

    lines = [f"{'indicateur':<14}{'réalisé':>12}{'cible':>12}{'atteinte %':>12}{'attendu':>12}{'écart':>12}  statut"]
    for row in table.itertuples(index=False):
        lines.append(
            f"{row.indicator_id:<14}{num(row.realised):>12}{num(row.target):>12}{num(row.achievement_pct):>12}"
            f"{num(row.expected):>12}{num(row.gap_to_expected):>12}  {labels[status_type(row.status)]}"
        )
    counts = table["status"].value_counts()
    lines.append(", ".join(f"{labels[status_type(k)]} : {v}" for k, v in counts.items()))
    return "\n".join(lines) + "\n"


def _cmd_employment_gap(args: argparse.Namespace) -> int:
    """What the year's releases publish of the gap (:func:`evaluation.publish.gap_publication.published_gap`)."""
    from evaluation.intake import ValidationFindings, format_problems, load_barometer
    from evaluation.io import load_dataset
    from evaluation.publish.gap_publication import published_gap
    from evaluation.referential.plan import load_plan
    from evaluation.stats import employment_gap as eg
    from evaluation.stats.disclosure import DEFAULT_RULE, SECRET_SYMBOL, get_rule

    dataset = load_dataset(args.data)
    barometer, problems = load_barometer(dataset, load_plan(args.plan_dir))
    if problems:
        for line in format_problems(problems, limit=20):
            print(line, file=sys.stderr)
        raise ValidationFindings(problems)
    if args.year is not None:
        barometer = barometer[barometer["year"] <= args.year]
    if barometer.empty:
        raise UsageError(
            f"no barometer data in {dataset.path / 'barometer'}" + (f" up to {args.year}" if args.year else "")
        )
    design_effect = eg.DEFAULT_CENSUS_DESIGN_EFFECT if args.design_effect is None else args.design_effect
    gap = published_gap(
        barometer,
        args.year if args.year is not None else int(barometer["year"].max()),
        args.comparator,
        get_rule(dataset.disclosure or DEFAULT_RULE),
        baseline_year=args.baseline_year,
        design_effect=design_effect,
    )
    series, reduction = gap.series, gap.reduction
    if args.format == "json":
        from dataclasses import asdict

        payload = {
            "demo": dataset.demo,
            "comparator": str(gap.comparator),
            "series": json.loads(series.to_json(orient="records")),
            "reduction": None if reduction is None else json.loads(json.dumps(asdict(reduction), default=str)),
            "cautions": list(gap.cautions),
            "design_effect": gap.design_effect,
            "threshold": gap.rule.threshold,
            "hidden_years": list(gap.hidden_years),
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return 0
    from evaluation.formatting import format_number

    def num(value: float) -> str:
        return SECRET_SYMBOL if value != value else format_number(value, 1)

    if dataset.demo:
        print("DONNÉES DE DÉMONSTRATION (synthétiques)")
    print(f"Comparaison : {eg.COMPARATORS[gap.comparator]}")
    print(f"{'année':<8}{'QPV %':>8}{'comp. %':>10}{'écart':>8}  intervalle 95 % (ordre de grandeur)")
    for row in series.itertuples():
        if row.gap_pp != row.gap_pp:
            interval = "secret statistique"
        elif row.gap_low_pp != row.gap_low_pp:
            interval = "source exhaustive"
        else:
            interval = f"{format_number(row.gap_low_pp, 1)} à {format_number(row.gap_high_pp, 1)}"
        rates = f"{num(row.qpv_rate_pct):>8}{num(row.comparator_rate_pct):>10}{num(row.gap_pp):>8}"
        print(f"{row.year:<8}{rates}  {interval}")
    if reduction is None:
        print(
            f"Réduction depuis {gap.baseline_year} non publiée : l'écart de l'année de référence ou de la dernière "
            "année est soumis au secret statistique"
        )
    else:
        projected = reduction.projected_year if reduction.projected_year is not None else "jamais au rythme observé"
        band = (
            f" (entre {format_number(reduction.reduction_low_pp, 1)} et {format_number(reduction.reduction_high_pp, 1)})"
            if reduction.reduction_low_pp is not None
            else ""
        )
        print(
            f"Objectif : {format_number(reduction.target_gap_pp, 1)} points (moitié de {format_number(reduction.baseline_gap_pp, 1)} en {reduction.baseline_year}) ; "
            f"réduction obtenue {format_number(reduction.reduction_pp, 1)} points{band} en {reduction.latest_year}, "
            f"{format_number(reduction.share_of_target_pct, 0)} % de l'objectif ; objectif atteint en {projected}"
        )
    print(
        f"Intervalles : ordres de grandeur (effet de plan {format_number(gap.design_effect, 1)}, sources non indépendantes)",
        file=sys.stderr,
    )
    if gap.cautions:
        print(f"{len(gap.cautions)} précaution(s) statistique(s) : voir --format json", file=sys.stderr)
    return 0


def _cmd_cohorts(args: argparse.Namespace) -> int:
    """The year's cohort release (:mod:`evaluation.publish.cohort_release`), as the reports publish it."""
    from evaluation.io import load_dataset
    from evaluation.present.cohort import load_release
    from evaluation.publish import cohort_release as cr
    from evaluation.referential.plan import load_plan

    check_year(args.year, "--year")
    plan = load_plan(args.plan_dir)
    dataset = load_dataset(args.data)
    programme = args.programme if args.programme == cr.ALL else plan.engagement(args.programme).id
    release, problems = load_release(plan, dataset, args.year)
    if problems:
        print(
            f"{len(problems)} problème(s) dans les fichiers de cohorte : lignes écartées (evaluation validate)",
            file=sys.stderr,
        )
    part = release.for_programme(programme)
    tables = cr.release_tables(part)
    if args.format == "json":
        rates = tables["cohortes_taux"][list(cr.RATE_ROW_COLUMNS)]
        payload = {
            "demo": dataset.demo,
            "year": args.year,
            "threshold": release.rule.threshold,
            "rates": json.loads(rates.to_json(orient="records")),
            "tables": {name: json.loads(frame.to_json(orient="records")) for name, frame in tables.items()},
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return 0
    if args.format == "csv":
        from evaluation.present.tables import to_french_csv

        sys.stdout.write(to_french_csv(tables["cohortes_taux"]).decode("utf-8-sig"))
        return 0
    import pandas as pd

    from evaluation.formatting import format_number
    from evaluation.stats.disclosure import SECRET_SYMBOL

    def num(value: object, decimals: int = 1) -> str:
        return SECRET_SYMBOL if pd.isna(value) else format_number(float(value), decimals)

    if dataset.demo:
        print("DONNÉES DE DÉMONSTRATION (synthétiques)")
    print(
        f"Suivi de cohorte au 31 décembre {args.year}, secret statistique {release.rule.name} (seuil {release.rule.threshold})"
    )
    print(f"{'dispositif':<11}{'groupe':<28}{'sortie':<13}{'mois':>5}{'entrées':>9}{'part %':>8}  intervalle 95 %")
    for row in tables["cohortes_taux"].itertuples(index=False):
        group = "ensemble" if row.group_variable == cr.ALL else f"{row.group_variable}={row.group}"
        interval = SECRET_SYMBOL if row.secret else f"{num(row.ci_low_pct)} à {num(row.ci_high_pct)}"
        print(
            f"{row.programme:<11}{group:<28}{row.outcome:<13}{row.horizon_months:>5}{num(row.entrants, 0):>9}"
            f"{num(row.estimate_pct):>8}  {interval}"
        )
    return 0


def _cmd_survey(args: argparse.Namespace) -> int:
    """The perception surveys' published figures (:mod:`evaluation.present.survey`), as the survey reports show them."""
    from evaluation.io import load_dataset
    from evaluation.present.survey import published_baselines, published_changes, published_estimates, survey_contexts
    from evaluation.stats.survey import MIN_RESPONDENTS

    dataset = load_dataset(args.data)
    skipped: list[str] = []
    contexts = survey_contexts(dataset, args.year, args.survey, skipped)
    for line in skipped:
        print(f"warning: {line}", file=sys.stderr)
    problems = sum(len(ctx.problems) for ctx in contexts)
    if problems:
        print(
            f"warning: {problems} problem(s) in the survey files; the rows concerned are left out "
            "(evaluation validate lists them)",
            file=sys.stderr,
        )
    tables = [(ctx, published_estimates(ctx), published_changes(ctx), published_baselines(ctx)) for ctx in contexts]
    if args.format == "json":

        def records(frame) -> list:  # noqa: ANN001 - a DataFrame; NaN (a hidden figure) becomes null
            return json.loads(frame.to_json(orient="records", double_precision=15))

        payload = {
            "demo": dataset.demo,
            "year": args.year,
            "min_respondents": MIN_RESPONDENTS,
            "surveys": [
                {
                    "survey": ctx.description.name,
                    "title": ctx.description.title,
                    "synthetic": ctx.description.synthetic,
                    "respondents": len(ctx.wave.respondents),
                    "estimates": records(estimates),
                    "changes": records(changes),
                    "baselines": records(baselines),
                }
                for ctx, estimates, changes, baselines in tables
            ],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return 0
    from evaluation.formatting import format_change, format_number, plural

    def points(value: float) -> str:
        return "" if value != value else plural(round(abs(value), 1), "point")

    def num(value: float, change: bool = False) -> str:
        if value != value:
            return "non publié"
        return format_change(value, 1) if change else format_number(value, 1)

    def interval(low: float, high: float, change: bool = False) -> str:
        return "–" if low != low or high != high else f"{num(low, change)} à {num(high, change)}"

    if dataset.demo:
        print("DONNÉES DE DÉMONSTRATION (synthétiques)")
    for ctx, estimates, changes, baselines in tables:
        synthetic = " ; ENQUÊTE SYNTHÉTIQUE" if ctx.description.synthetic else ""
        print(f"Enquête {ctx.description.name}, vague {ctx.year} : {len(ctx.wave.respondents)} répondants{synthetic}")
        print(f"(parts en %, intervalles de confiance à 95 % ; aucun groupe de moins de {MIN_RESPONDENTS} répondants)")
        for result in ctx.results:
            print(f"Fiche {result.question.sheet} : {result.indicator.label}")
            print(f"  {'groupe':<34}{'part %':>8}  {'intervalle 95 %':<18}{'répondants':>10}")
            mine = estimates[estimates["indicator"] == result.indicator.name]
            for row in mine.itertuples(index=False):
                group = "ensemble" if row.domain is None else f"{row.table} {row.domain}"
                print(
                    f"  {group:<34}{num(row.estimate_pct):>8}  {interval(row.ci_lower_pct, row.ci_upper_pct):<18}"
                    f"{row.respondents:>10}"
                )
            for row in baselines[baselines["indicator"] == result.indicator.name].itertuples(index=False):
                print(
                    f"  référence {row.baseline_year} : {format_number(row.baseline_pct)} % (chiffre publié, sans marge "
                    f"d'erreur connue) ; écart {num(row.difference_pp, True)} {points(row.difference_pp)} "
                    f"({interval(row.ci_lower_pp, row.ci_upper_pp, True)})"
                )
            for row in changes[changes["indicator"] == result.indicator.name].itertuples(index=False):
                group = "ensemble" if row.domain is None else f"{row.table} {row.domain}"
                print(
                    f"  évolution {row.year_a}-{row.year_b} {group:<22}{num(row.change_pp, True):>8} "
                    f"{points(row.change_pp):<7}({interval(row.ci_lower_pp, row.ci_upper_pp, True)})"
                )
    return 0


def _cmd_impact(args: argparse.Namespace) -> int:
    """The impact estimates of one indicator (:mod:`evaluation.present.impact`), as the reports publish them."""
    from evaluation.intake import ValidationFindings, format_problems
    from evaluation.io import load_dataset
    from evaluation.present.impact import impact_json, impact_text
    from evaluation.present.impact_publication import METHODS, check_indicator, impact_publication

    indicator = check_indicator(args.indicator)
    check_year(args.year, "--year")
    dataset = load_dataset(args.data)
    methods = (args.method,) if args.method else tuple(METHODS)
    publication = impact_publication(args.year, dataset, [indicator], methods)
    if publication.problems:
        for line in format_problems(publication.problems, limit=20):
            print(line, file=sys.stderr)
        raise ValidationFindings(publication.problems)
    if indicator not in publication.results:
        raise UsageError(
            f"no value of {indicator} in {dataset.path / 'comparison'} (declare the comparison territories in "
            "territoires.yaml and add their series: see the README)"
        )
    if args.format == "json":
        sys.stdout.write(json.dumps(impact_json(publication, indicator), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(impact_text(publication, indicator))
    return 0


_COMMANDS = {
    "impact": _cmd_impact,
    "cohorts": _cmd_cohorts,
    "survey": _cmd_survey,
    "employment-gap": _cmd_employment_gap,
    "gaps": _cmd_gaps,
    "plan": _cmd_plan,
    "audit": _cmd_audit,
    "run": _cmd_run,
    "validate": _cmd_validate,
    "template": _cmd_template,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evaluation`` console script; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except EvaluationError as err:
        print(f"evaluation: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        # The reader of the output went away (`evaluation audit | head`): nothing to say, and the
        # status of a program stopped by SIGPIPE (128 + 13), as `cat` or `grep` would end. Python
        # would complain again when flushing stdout at exit: point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:  # an output path that cannot be written (a folder, no permission, disk full)
        where = f"{err.filename}: " if err.filename else ""
        print(f"evaluation: error: {where}{err.strerror or err} (choose another --out path)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evaluation: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
