"""The README's Quick start stays true: CI runs exactly its test command."""

import json
import os
import re
import subprocess
import sys

import numpy as np
from conftest import ROOT


def quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands():
    assert len(quick_start_commands()) == 2


def test_ci_runs_the_readme_test_command():
    test_command = quick_start_commands()[1]
    venv_line, _, rest = test_command.partition(" && ")
    assert "-m venv .venv" in venv_line
    ci = (ROOT / ".ci" / "run").read_text()
    assert rest in ci.splitlines()


def generated_block(text: str, name: str) -> str:
    return re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S).group(1)


def test_data_readme_tables_are_the_commands_output(capsys):
    """data/README.md's modality columns and literature comparison: regenerate them with
    `rnbayes modalities --markdown` and `rnbayes modalities --fit data/fit.nc --markdown`."""
    from model.cli import main

    text = (ROOT / "data" / "README.md").read_text()
    assert main(["modalities", "--markdown"]) == 0
    assert generated_block(text, "modality-columns") == capsys.readouterr().out.strip()
    assert main(["modalities", "--fit", str(ROOT / "data" / "fit.nc"), "--markdown"]) == 0
    assert generated_block(text, "literature-auc") == capsys.readouterr().out.strip()


README = (ROOT / "README.md").read_text()


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.+?)\n```", README, re.S)


def run_fresh(code: str, cwd) -> None:
    """Run ``code`` in a new interpreter, where nothing but its own imports has happened."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's package, whatever is installed
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_every_python_snippet_runs(tmp_path):
    """The README's Python blocks run as written, each in a fresh interpreter."""
    snippets = python_snippets()
    assert len(snippets) >= 2
    for snippet in snippets:
        run_fresh(snippet, tmp_path)


def test_every_api_name_in_the_prose_exists(tmp_path):
    """Inline mentions such as `model.decision.thresholds` name real attributes of a plain
    `import model` (a module is named by its file path instead)."""
    names = sorted(set(re.findall(r"`(model(?:\.\w+)+)", README)))
    assert "model.decision.thresholds" in names and "model.decision_curve" in names
    run_fresh(
        "import operator, model\n"
        f"for dotted in {names!r}:\n"
        "    operator.attrgetter(dotted.partition('.')[2])(model)\n",
        tmp_path,
    )


def signed(value: float) -> str:
    return f"{value:+.2f}"


def test_demo_table_is_the_bundled_fits_output(bundled_fit):
    """Every row of the README's demo table is what `rnbayes demo` prints now."""
    from conftest import DATA

    from model.inputs.schema import lesion_name
    from model.scoring.predict import predict

    table = predict(bundled_fit, DATA / "patients_example.csv")
    shown = ["llr_perfusion", "llr_pet", "llr_symptoms", "llr_growth", "llr_other_lesions"]
    others = [c for c in table.columns if c.startswith("llr_") and c not in shown]
    assert (table[others] == 0).all().all(), "the README says the other terms are zero"
    for row in table.itertuples():
        name = lesion_name(row.patient_id, row.lesion_id)
        line = (
            f"| {name} | {row.p_recurrence:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] | "
            + " | ".join(signed(getattr(row, c)) for c in ["prior_log_odds", *shown])
            + " |"
        )
        assert line in README, f"README demo row is stale; now:\n{line}"
    ex5 = table[table["patient_id"] == "EX5-symptomatic-necrosis-edema"].iloc[0]
    phrase = f"add only {signed(ex5.llr_symptoms)} and it stays necrosis at {ex5.p_recurrence:.3f}"
    assert phrase in README, f"README's EX5 prose is stale; now:\n{phrase}"


def test_category_table_is_the_bundled_fits_output(bundled_fit):
    """Every row of the README's radiology-category table is what `predict` gives now."""
    from conftest import DATA

    from model.inputs.schema import lesion_name
    from model.scoring.predict import predict

    table = predict(bundled_fit, DATA / "patients_example.csv")
    for row in table.itertuples():
        line = (
            f"| {lesion_name(row.patient_id, row.lesion_id)} | {row.p_recurrence:.3f} "
            f"[{row.ci_low:.3f}, {row.ci_high:.3f}] | {row.btrads} | {row.rano} | "
            f"{row.btrads_read or ''} | {row.category_flag} |"
        )
        assert line in README, f"README category row is stale; now:\n{line}"


def test_decision_numbers_are_the_bundled_fits_output(bundled_fit):
    """The thresholds, the PSA, the policy table and the example decisions in the README's
    Decisions section are what `rnbayes thresholds`, `policy` and `decide` give now."""
    from conftest import DATA

    from model.decision import load_decision_parameters
    from model.decision.policy import RESCAN_INTERVALS, growth_likelihood, rescan_policy
    from model.decision.sensitivity import probabilistic_sensitivity, summarize_psa, tornado
    from model.decision.thresholds import classic_thresholds, parameter_thresholds
    from model.decision.utilities import surveillance_loss
    from model.decision.value import decide
    from model.inputs.schema import lesion_name

    params = load_decision_parameters()
    late, early, c = (
        parameter_thresholds(params),
        parameter_thresholds(params, early=True),
        classic_thresholds(params),
    )
    assert not late.biopsy_ever_best and not early.biopsy_ever_best
    samples = probabilistic_sensitivity(params)
    psa = summarize_psa(samples)
    one_way = tornado(params).set_index(["threshold", "parameter"])
    top = one_way.loc["treat"].sort_values("swing", ascending=False)
    assert list(top.index[:2]) == ["harm", "delay_loss"]
    harm, delay = one_way.loc[("treat", "harm")], one_way.loc[("treat", "delay_loss")]
    phrases = [
        f"With the default parameters L = {surveillance_loss(params):.2f} QALW",
        f"manage as necrosis below P = {late.treat:.3f}, treat above;\nbiopsy is never best",
        f"Within the early window: treat above {early.treat:.3f}.",
        f"manage below {c.test:.3f}, biopsy\nbetween {c.test:.3f} and {c.test_treat:.3f}, "
        f"treat above {c.test_treat:.3f} (H/(H+B) = {c.treat:.3f})",
        f"costs it {surveillance_loss(params):.2f} QALW,\nnot 8",
        f"median {psa.loc['treat', 'median']:.3f} (90% interval "
        f"{psa.loc['treat', 'eti_low']:.3f}–{psa.loc['treat', 'eti_high']:.3f})",
        "biopsy is best\nsomewhere in "
        f"{100 * psa.loc['treat', 'p_biopsy_ever_best']:.0f}% of draws",
        f"`harm` (from {harm.at_low:.3f} to {harm.at_high:.3f} across its\nrange) and "
        f"`delay_loss` (from {delay.at_low:.3f} to {delay.at_high:.3f})",
    ]
    likelihoods = [growth_likelihood(bundled_fit.draws, w) for w in RESCAN_INTERVALS]
    policy = rescan_policy(likelihoods, params)
    for left, bands in policy.bands.groupby("rescans_left"):
        edges = [*bands["p_from"].iloc[1:], 1.0]  # a band ends where the next begins
        cells = {
            b.action: f"{b.p_from:.3f}–{edge:.3f}".replace("0.000–", "0–").replace("–1.000", "–1")
            for b, edge in zip(bands.itertuples(), edges, strict=True)
        }
        cells = [cells.get(a, "–") for a in ("manage", "rescan", "biopsy", "treat")]
        phrases.append(f"| {left} | " + " | ".join(cells) + " |")
    for delay, phrase in ((2, "with `delay_loss = 2` between"), (3, "with 3 between")):
        bands = rescan_policy(likelihoods, params.with_values(delay_loss=delay), rounds=1).bands
        biopsy = bands[(bands["rescans_left"] == 1) & (bands["action"] == "biopsy")].iloc[0]
        phrases.append(f"{phrase} {biopsy.p_from:.3f} and {biopsy.p_to:.3f}")

    table = decide(bundled_fit, DATA / "patients_example.csv", params)
    table.index = list(map(lesion_name, table["patient_id"], table["lesion_id"]))
    ex1, ex3 = table.loc["EX1-clear-recurrence"], table.loc["EX3-grayzone-no-pet"]
    ex4, ex5 = table.loc["EX4-grayzone-with-pet"], table.loc["EX5-symptomatic-necrosis-edema"]
    assert ex3["recommendation"] == "manage" and ex3["margin"] == ex3["eu_manage"] - ex3["eu_pet"]
    assert ex5["recommendation"] == "treat_necrosis"
    # EX4 sits on the treatment threshold: the prose names the side the fit puts it on
    ex4_action = {"manage": "managed as necrosis", "treat": "treated"}[ex4["recommendation"]]
    ex4_other = "treat" if ex4["recommendation"] == "manage" else "manage"
    # its margin is over the runner-up, which the prose names
    utilities = {k[3:]: v for k, v in ex4.items() if k.startswith("eu_") and np.isfinite(v)}
    runner_up = sorted(utilities, key=utilities.get)[-2]
    assert ex4["margin"] == utilities[ex4["recommendation"]] - utilities[runner_up]
    runner_up = {
        "manage": "managing it as necrosis",
        "rescan": "a rescan",
        "biopsy": "a biopsy",
        "pet": "a PET referral",
        "treat": "treatment",
    }[runner_up]
    assert (ex1["p_best"], ex1["recommendation"]) == (1.0, "treat")
    assert ex3["sensitive_to"] == "delay_loss (biopsy if high); harm (treat if low)"
    assert set(ex4["sensitive_to"].split("; ")) == {
        f"delay_loss ({ex4_other} if {'high' if ex4_other == 'treat' else 'low'})",
        f"harm ({ex4_other} if {'low' if ex4_other == 'treat' else 'high'})",
    }
    phrases += [
        f"(EX3, P = {ex3.p_recurrence:.2f}) is best managed as necrosis",
        f"(by {ex3.margin:.2f} QALW over a PET referral)",
        f"a FET PET is worth {ex3.evsi_pet:.2f} QALW to it, a perfusion\n"
        f"study {ex3.evsi_perfusion:.2f}",
        f"at a FET TBR of {ex3.tbr_treat_at:.2f}\nor more",
        f"a growth of {100 * ex3.growth_treat_at:+.0f}% at a {ex3.rescan_weeks:g}-week rescan",
        f"(EX4, P = {ex4.p_recurrence:.2f}) sits\non the treatment threshold: {ex4_action} by "
        f"{ex4.margin:.2f} QALW over {runner_up}",
        f"(P = {ex5.p_recurrence:.2f}), is best given treatment of the necrosis",
        "the patient's\nprobability that any lesion is recurrence is "
        f"{table.loc['EX9-two-lesions / L2-callosal', 'p_patient_recurrence']:.2f}",
        f"EX3's surveillance is best in {100 * ex3.p_best:.0f}% (expected loss "
        f"{ex3.expected_loss:.2f} QALW;",
        f"best {ex4_action.split()[0]} in only {100 * ex4.p_best:.0f}% of draws\n(expected loss "
        f"{ex4.expected_loss:.2f} QALW)",
    ]
    stale = [p for p in phrases if p not in README]
    assert stale == [], "README Decisions numbers are stale; now:\n" + "\n".join(stale)


def test_rescan_and_sibling_numbers_are_the_bundled_fits_output(bundled_fit):
    """EX7's growth log-odds per rescan (as the report's sequential update adds them), EX10 with and
    without its follow-up rCBV, and EX9's callosal lesion scored alone, as the README's model and
    decision prose quote them."""
    import pandas as pd
    from conftest import DATA

    from model.scoring.predict import predict

    table = pd.read_csv(DATA / "patients_example.csv", dtype=str, keep_default_na=False)
    ex7 = table[table["patient_id"] == "EX7-grayzone-two-rescans"]
    steps = []
    for m in range(3):  # baseline, then with the first, then with both rescans
        step = ex7.assign(patient_id=f"step {m}")
        for j in range(m + 1, 3):
            scan = ("volume_fu{}_ml", "interval_fu{}_weeks", "flair_change_fu{}")
            step[[c.format(j) for c in (*scan, "steroid_increase_fu{}")]] = ""
        steps.append(step)
    growth = predict(bundled_fit, pd.concat(steps))["llr_growth"].diff().iloc[1:]
    alone = table[table["lesion_id"] == "L2-callosal"]
    p_alone = predict(bundled_fit, alone)["p_recurrence"].iloc[0]
    ex10 = table[table["patient_id"] == "EX10-rescan-perfusion-rising"]
    ex10 = pd.concat([ex10.assign(perfusion_ratio_fu1=""), ex10.assign(patient_id="with")])
    rising = predict(bundled_fit, ex10)
    phrases = [
        f"add {growth.iloc[0]:+.2f} and then {growth.iloc[1]:+.2f})",
        f"adds {rising['llr_perfusion'].diff().iloc[1]:+.2f} to the log-odds: P(recurrence) "
        f"{rising['p_recurrence'].iloc[0]:.2f} without the follow-up value, "
        f"{rising['p_recurrence'].iloc[1]:.2f} with it",
        f"would have P = {p_alone:.2f} on its own",
    ]
    stale = [p for p in phrases if p not in README]
    assert stale == [], "README numbers are stale; now:\n" + "\n".join(stale)


def test_the_bundled_dca_example_is_its_documented_blocks_output(tmp_path):
    """data/dca_example.csv is what the Python block in data/README.md writes now."""
    text = (ROOT / "data" / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.+?)\n```", text, re.S)
    run_fresh(block, tmp_path)
    made = (tmp_path / "dca_example.csv").read_text()
    assert made == (ROOT / "data" / "dca_example.csv").read_text()
    assert f"holds the {made.count(chr(10)) - 1} lesions" in text


def test_the_mutation_table_is_the_kept_results():
    """README's kill rates are `python tests/mutation/run.py --table`: the kept results."""
    from conftest import mutation_runner

    table = mutation_runner().kept_table()
    assert table.count("\n") >= 3
    readme = (ROOT / "README.md").read_text()
    assert "\n".join("  " + line for line in table.splitlines()) in readme


def test_the_leave_one_center_out_table_is_the_kept_studys_output(tmp_path, capsys):
    """README's LOCO table is `rnbayes crossval ... --markdown` on the kept study folder, and that
    folder was made by this model from the bundled cohort (else crossval refuses it)."""
    import shutil

    from conftest import DATA

    from model.cli import main

    folder = tmp_path / "crossval"
    shutil.copytree(DATA / "crossval", folder)
    code = main(["crossval", str(DATA / "cohort.csv"), "--out", str(folder), "--markdown"])
    table = capsys.readouterr().out.strip()
    assert code == 0, table
    assert table.count("\n") >= 9 and table in README, "README LOCO table is stale; now:\n" + table
    kept = json.loads((DATA / "crossval" / "crossval.json").read_text())
    assert kept == json.loads((folder / "crossval.json").read_text()), "crossval.json is stale"


def test_the_model_card_counts_are_the_commands_output(tmp_path, capsys):
    from conftest import DATA

    from model.cli import main

    code = main(
        ["model-card", str(DATA / "fit.nc"), "--evaluation", str(DATA / "crossval"), "--out",
         str(tmp_path)]
    )  # fmt: skip
    counts = next(line for line in capsys.readouterr().out.splitlines() if "TRIPOD+AI" in line)
    assert code == 0 and counts in README, "README model-card counts are stale; now: " + counts
