"""Evidence-synthesis commands: ``meta`` (bivariate meta-analysis) and ``lca`` (latent class)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import argument_problem, console
from model.core.console import markup_value
from model.core.errors import InputError, Problem
from model.core.numbers import count_option, positive_option, whole_option

PLOT_FORMATS = (".png", ".pdf", ".svg")
MIN_DRAWS = 50


def _add_sampling(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--draws", type=count_option, default=1000, help="draws per chain (default 1000)"
    )
    p.add_argument("--seed", type=whole_option, default=0, help="random seed (default 0)")


def _sampling_problems(args: argparse.Namespace) -> list[Problem]:
    if args.draws < MIN_DRAWS:
        return [argument_problem("--draws", str(args.draws), f"a whole number >= {MIN_DRAWS}")]
    return []


def add_meta(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "meta",
        help="bivariate meta-analysis of study-level 2x2 tables (pooled Se, Sp, SROC)",
        description="Bivariate random-effects meta-analysis (Reitsma et al. 2005): pooled "
        "sensitivity and specificity (posterior medians, 95%% intervals), between-study SDs and "
        "correlation, the Rutter-Gatsonis SROC and the binormal separation d' implied by the "
        "pooled point. The within-study likelihood is exact binomial by default; --likelihood "
        "normal uses the normal approximation with continuity correction of R mada::reitsma. "
        "With --covariate or --numeric-covariate it is a meta-regression: coefficients, the "
        "summary point per level (or at --at values), leave-one-study-out comparison with the "
        "model without covariates, and mada's REML fit and likelihood-ratio test. "
        "DATA is a CSV with one row per study (data/README.md).",
    )
    p.add_argument("data", help="CSV of 2x2 tables, one row per study")
    for cell in ("tp", "fp", "fn", "tn"):
        p.add_argument(
            f"--{cell}", default=cell.upper(), metavar="COL", help=f"{cell.upper()} column"
        )
    p.add_argument(
        "--study", metavar="COL", help="study label column (default: 'study' if present)"
    )
    p.add_argument(
        "--plot", metavar="FILE", help="also write the ROC-space plot (.png, .pdf, .svg)"
    )
    p.add_argument(
        "--likelihood",
        choices=("binomial", "normal"),
        default="binomial",
        help="within-study likelihood: 'binomial' (exact, default; preferred with small studies "
        "or zero cells) or 'normal' (Reitsma 2005, as R mada::reitsma: normal observed logits, "
        "0.5 added to every cell of every study when any cell is 0; data/meta/README.md)",
    )
    p.add_argument(
        "--covariate",
        action="append",
        default=[],
        metavar="COL",
        help="meta-regression on a categorical study-level column (repeat); levels are sorted, "
        "the first is the reference",
    )
    p.add_argument(
        "--numeric-covariate",
        action="append",
        default=[],
        metavar="COL",
        help="meta-regression on a numeric study-level column, e.g. each study's cutoff (repeat)",
    )
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="the value of a numeric covariate at which to give the summary point and SROC "
        "(e.g. cutoff=1.75; default: its mean across studies)",
    )
    p.add_argument(
        "--to-prior",
        metavar="MARKER.KIND",
        help="also write the parameter-file entries (mu_necrosis, separation, published) of "
        "this modality kind, e.g. perfusion.DSC, from the pooled point; needs --cutoff",
    )
    p.add_argument(
        "--cutoff",
        type=positive_option,
        metavar="C",
        help="with --to-prior: the positivity cutoff of the pooled point (ratio scale)",
    )
    p.add_argument(
        "--sigma",
        type=positive_option,
        metavar="SD",
        help="with --to-prior: within-class SD of the log value (default: the kind's current "
        "sigma in the parameter file)",
    )
    p.add_argument("--params", help="with --to-prior: parameter file (default: bundled)")
    _add_sampling(p)
    p.set_defaults(run=run_meta)


def run_meta(args: argparse.Namespace) -> int:
    from model.synthesis.covariates import load_covariates
    from model.synthesis.meta_analysis import (
        fit_meta_analysis,
        load_study_tables,
        plot_meta_analysis,
    )

    problems = _sampling_problems(args)
    if args.plot and not args.plot.lower().endswith(PLOT_FORMATS):
        problems.append(argument_problem("--plot", args.plot, "a .png, .pdf or .svg file name"))
    at = _covariate_values(args, problems)
    if problems:
        raise InputError(problems)
    columns = {cell: getattr(args, cell) for cell in ("tp", "fp", "fn", "tn")}
    tables = load_study_tables(args.data, columns, args.study)
    sampling = {"draws": args.draws, "seed": args.seed, "likelihood": args.likelihood}
    prior = _prior_target(args, problems)
    if args.covariate or args.numeric_covariate:
        reserved = [*columns.values(), args.study or "study"]
        design = load_covariates(args.data, args.covariate, args.numeric_covariate, reserved)
        return _run_meta_regression(args, tables, design, at, sampling, prior)
    result = fit_meta_analysis(tables, **sampling)
    entries = _prior_entries(args, prior, len(tables), result.sensitivity, result.specificity)
    if args.plot:
        from model.core.files import save_figure

        save_figure(plot_meta_analysis(result), args.plot)
    if args.json:
        from model.core.outputs import json_text

        document = {"data": args.data, **result.to_dict()}
        print(
            json_text(
                document | ({"prior_entries": entries.entries()} if entries else {}), indent=1
            )
        )
        return 0
    from model.core.console import frame_table

    out = console()
    title = (
        f"Bivariate meta-analysis of {len(tables)} studies ({args.data}), "
        f"{args.likelihood} likelihood, 95% intervals"
    )
    out.print(
        frame_table(title, result.summary(), {c: ".3f" for c in ("median", "lower", "upper")})
    )
    out.print(
        "binormal_d_prime / binormal_auc: the equal-variance binormal model through the pooled "
        "point; multiply d' by the within-class SD of the log value for a separation prior."
    )
    _print_gate(out, result.diagnostics)
    _print_prior(out, entries)
    if args.plot:
        out.print(f"Plot written to {args.plot}")
    return 0


def _prior_target(args: argparse.Namespace, problems: list[Problem]):
    """The modality kind's direction and sigma for ``--to-prior``, or None without it."""
    if args.to_prior is None:
        for option in ("cutoff", "sigma", "params"):
            if getattr(args, option) is not None:
                value = str(getattr(args, option))
                problems.append(argument_problem(f"--{option}", value, "only with --to-prior"))
        if problems:
            raise InputError(problems)
        return None
    from model.inputs.parameters import load_parameters

    parameters = load_parameters(args.params)
    kinds = {
        f"{marker.name}.{kind.name}": marker.direction
        for marker in parameters.registry.markers
        for kind in marker.kinds
    }
    if args.to_prior not in kinds:
        expected = f"a continuous modality kind of the parameter file ({', '.join(kinds)})"
        problems.append(argument_problem("--to-prior", args.to_prior, expected))
    if args.cutoff is None:
        problems.append(argument_problem("--cutoff", "", "a positive cutoff with --to-prior"))
    if problems:
        raise InputError(problems)
    sigma = args.sigma or parameters.entries[f"modality.{args.to_prior}.sigma"].fields["value"]
    return kinds[args.to_prior], float(sigma)


def _prior_entries(args, target, studies: int, sensitivity, specificity):
    """The :class:`~model.synthesis.to_prior.ModalityPrior` of ``--to-prior``, or None."""
    if target is None:
        return None
    from model.synthesis.to_prior import ModalityPrior

    direction, sigma = target
    provenance = (
        f"rnbayes meta {Path(args.data).name} ({studies} studies, {args.likelihood} likelihood, "
        f"{args.draws} draws x 2 chains, seed {args.seed})"
    )
    prior = ModalityPrior(
        args.to_prior, args.cutoff, sigma, direction, sensitivity, specificity, provenance
    )
    try:
        prior.entries()
    except ValueError as error:
        raise InputError([Problem(Path(args.data).name, None, None, None, str(error))]) from None
    return prior


def _print_prior(out, prior) -> None:
    if prior is None:
        return
    from rich.text import Text

    out.print(
        f"Parameter-file entries for {markup_value(prior.modality)} (replace the kind's tables "
        "in the parameter file; the scales carry the pooled analysis's uncertainty only):",
        markup=True,
    )
    out.print(Text(prior.toml()))


def _covariate_values(args: argparse.Namespace, problems: list[Problem]) -> dict[str, float]:
    """``--at COL=VALUE`` pairs: each names a numeric covariate and gives a plain number."""
    from model.core.numbers import parse_number

    values = {}
    for text in args.at:
        column, _, number = text.partition("=")
        value = parse_number(number.strip())
        if column.strip() not in args.numeric_covariate:
            problems.append(
                argument_problem("--at", text, "COL=VALUE naming a --numeric-covariate")
            )
        elif value is None:
            problems.append(argument_problem("--at", text, "COL=VALUE with a decimal number"))
        else:
            values[column.strip()] = value
    return values


def _run_meta_regression(
    args, tables, design, at: dict[str, float], sampling: dict, prior_target
) -> int:
    import numpy as np
    from scipy import special

    from model.synthesis.meta_analysis import fit_meta_analysis, normal_approximation
    from model.synthesis.meta_regression import (
        MetaRegression,
        compare_by_loo,
        plot_meta_regression,
    )
    from model.synthesis.reml import fit_normal, likelihood_ratio_test

    if prior_target is not None and len(design.settings(at)) > 1:
        expected = "one summary point: numeric covariates only (categorical ones give several)"
        raise InputError([argument_problem("--to-prior", args.to_prior, expected)])
    regression = MetaRegression(fit_meta_analysis(tables, design=design, **sampling))
    entries = None
    if prior_target is not None:
        logits = regression.logits_at(design.row(design.settings(at)[0]))
        se, sp = special.expit(logits[:, 0]), special.expit(-logits[:, 1])
        entries = _prior_entries(args, prior_target, len(tables), se, sp)
    loo = compare_by_loo(regression.fit, fit_meta_analysis(tables, **sampling))
    logits, variances = normal_approximation(tables)
    matrix = np.column_stack([np.ones(len(tables)), design.matrix])
    columns = ("intercept", *design.columns)
    reml = fit_normal(logits, variances, matrix, columns)
    test = likelihood_ratio_test(logits, variances, matrix, columns, matrix[:, :1], columns[:1])
    if args.plot:
        from model.core.files import save_figure

        save_figure(plot_meta_regression(regression, at), args.plot)
    if args.json:
        from model.core.outputs import json_text

        payload = {
            "data": args.data,
            "likelihood": args.likelihood,
            **regression.to_dict(at),
            "loo_comparison": loo.to_dict(),
            "normal_reml": reml.table().reset_index().to_dict(orient="records"),
            "likelihood_ratio_test": test.__dict__,
        }
        if entries:
            payload["prior_entries"] = entries.entries()
        print(json_text(payload, indent=1))
        return 0
    from model.core.console import frame_table

    out = console()
    formats = {c: ".3f" for c in ("median", "lower", "upper", "p_positive")}
    out.print(
        frame_table(
            f"Bivariate meta-regression of {len(tables)} studies ({args.data}), "
            f"{args.likelihood} likelihood: coefficients (intercept = first level"
            + (", numeric covariates at 0" if args.numeric_covariate else "")
            + "), 95% intervals, P(> 0)",
            regression.coefficients(),
            formats,
        )
    )
    points = regression.summary_points(at).set_index([*design.names, "quantity"])
    out.print(frame_table("Summary points per setting, 95% intervals", points, formats))
    out.print(
        f"Leave-one-study-out (PSIS-LOO, study effects integrated out): elpd difference "
        f"{loo.difference:+.1f} (SE {loo.se:.1f}) for the covariates against none; "
        f"largest Pareto k {loo.max_pareto_k:.2f}"
        + (" (above 0.7: unreliable)" if loo.max_pareto_k > 0.7 else "")
    )
    out.print(
        frame_table(
            "Normal approximation fitted by REML, as R mada::reitsma: estimate, SE, z, p, 95% CI",
            reml.table(),
            {c: ".3f" for c in ("estimate", "se", "z", "p", "lower", "upper")},
        )
    )
    out.print(
        f"Likelihood-ratio test (ML, as mada's anova) of the covariates: chi-square "
        f"{test.statistic:.2f} on {test.df} df, p = {test.p:.3g}"
    )
    _print_gate(out, regression.fit.diagnostics)
    _print_prior(out, entries)
    if args.plot:
        out.print(f"Plot written to {args.plot}")
    return 0


def add_lca(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lca",
        help="Bayesian latent-class analysis of binary tests without a gold standard",
        description="Estimate each test's sensitivity and specificity and each population's "
        "prevalence from 0/1 results (blank = not done), with Beta priors from a TOML file "
        "(data/README.md). Tests are conditionally independent unless --dependent names a pair "
        "(repeat for more pairs that share no test); --zero-inflated lets a population be free "
        "of the disease altogether (Branscum, Gardner & Johnson 2005).",
    )
    p.add_argument("data", help="CSV: one row per subject, or per result pattern with --count")
    p.add_argument(
        "--test", action="append", required=True, metavar="COL", help="a test column (repeat)"
    )
    p.add_argument("--count", metavar="COL", help="column with the number of subjects per row")
    p.add_argument("--population", metavar="COL", help="column naming each row's population")
    p.add_argument("--priors", required=True, metavar="FILE", help="TOML file of Beta priors")
    p.add_argument(
        "--dependent",
        nargs=2,
        action="append",
        default=[],
        metavar=("TEST", "TEST"),
        help="two tests conditionally dependent given the disease (Dendukuri & Joseph 2001); "
        "repeat for another pair that shares no test with the first",
    )
    p.add_argument(
        "--zero-inflated",
        action="append",
        default=[],
        metavar="POPULATION",
        help="a population that may have no disease at all (repeat); prior of presence from "
        "[presence] in the priors file, Beta(1, 1) without it",
    )
    _add_sampling(p)
    p.set_defaults(run=run_lca)


def run_lca(args: argparse.Namespace) -> int:
    import pandas as pd

    from model.synthesis.latent_class import (
        fit_latent_class,
        identification_warnings,
        load_priors,
        load_test_results,
    )

    problems = _sampling_problems(args)
    dependent = tuple(tuple(pair) for pair in args.dependent)
    seen: set[str] = set()
    for pair in dependent:
        shown = " ".join(pair)
        if pair[0] == pair[1] or not set(pair) <= set(args.test):
            problems.append(argument_problem("--dependent", shown, "two different --test columns"))
        elif set(pair) & seen:
            expected = "pairs that share no test (a test dependent on two others is not modelled)"
            problems.append(argument_problem("--dependent", shown, expected))
        seen |= set(pair)
    if problems:
        raise InputError(problems)
    data = load_test_results(args.data, args.test, args.count, args.population)
    unknown = [g for g in args.zero_inflated if g not in data.populations]
    if unknown:
        expected = f"a population of the data ({', '.join(data.populations)})"
        raise InputError([argument_problem("--zero-inflated", unknown[0], expected)])
    priors = load_priors(args.priors, data)
    fit = fit_latent_class(
        data, priors, dependent, draws=args.draws, seed=args.seed, zero_inflated=args.zero_inflated
    )
    if args.json:
        from model.core.outputs import json_text

        print(json_text({"data": args.data, "priors": args.priors, **fit.to_dict()}, indent=1))
        return 0
    from model.core.console import frame_table

    out = console()
    subjects = int(data.counts.sum())
    title = f"Latent-class analysis of {subjects} subjects ({args.data}), 95% intervals"
    formats = {c: ".3f" for c in ("median", "lower", "upper")}
    estimates = pd.concat([fit.summary(), fit.likelihood_ratios()])
    out.print(frame_table(title, estimates, formats))
    patterns = fit.pattern_table().set_index(["population", *data.tests, "count"])
    out.print(
        frame_table(
            "P(diseased | result pattern): posterior mean [95% interval], and the pattern's "
            "likelihood ratio (median [95% interval]); blank = not done",
            patterns,
            {c: ".3f" for c in patterns.columns},
        )
    )
    check = fit.predictive_check()
    shown = check.set_index(["population", *data.tests])
    out.print(
        frame_table(
            "Posterior predictive check of the pattern counts: observed, expected and 95% "
            f"predictive interval; posterior predictive p-value {check.attrs['ppp']:.2f} (near 0: "
            "the data fit worse than the model's own replicates)",
            shown,
            {"expected": ".1f", "lower": ".0f", "upper": ".0f"},
        )
    )
    for population, probability in fit.disease_free.items():
        out.print(
            f"P(population {markup_value(population)} is free of the disease | data) = "
            f"{probability:.3f} (its prevalence draws are 0 in that share)",
            markup=True,
        )
    for warning in identification_warnings(data, dependent, args.zero_inflated):
        out.print(f"[bold yellow]Warning:[/] {markup_value(warning)}", markup=True)
    _print_gate(out, fit.diagnostics)
    return 0


def _print_gate(out, diagnostics: dict) -> None:
    if diagnostics.get("passed"):
        return
    from model.fitting.diagnostics import Gate

    failures = "; ".join(Gate.from_dict(diagnostics).failures())
    out.print(
        f"[bold yellow]Convergence check not passed:[/] {markup_value(failures)} "
        "(try more --draws)",
        markup=True,
    )


COMMANDS = (add_meta, add_lca)
