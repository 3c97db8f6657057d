"""The README's Quick start stays true: CI runs exactly its test command."""

import os
import re
import subprocess
import sys

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


def test_decision_numbers_are_the_bundled_fits_output(bundled_fit):
    """The thresholds, the policy table and the example decisions in the README's Decisions
    section are what `rnbayes thresholds`, `policy` and `decide` give now."""
    from conftest import DATA

    from model.decision import load_decision_parameters
    from model.decision.policy import growth_likelihood, rescan_policy
    from model.decision.thresholds import parameter_thresholds
    from model.decision.value import decide
    from model.inputs.schema import lesion_name

    params = load_decision_parameters()
    t = parameter_thresholds(params)
    phrases = [
        f"manage below P = {t.test:.3f}, biopsy between {t.test:.3f} and\n{t.test_treat:.3f}, "
        f"treat above {t.test_treat:.3f} (treatment threshold without biopsy H/(H+B) = "
        f"{t.treat:.3f})",
    ]
    policy = rescan_policy(growth_likelihood(bundled_fit.draws, params.rescan_weeks), params)
    for left, bands in policy.bands.groupby("rescans_left"):
        edges = [*bands["p_from"].iloc[1:], 1.0]  # a band ends where the next begins
        cells = {
            b.action: f"{b.p_from:.3f}–{edge:.3f}".replace("0.000–", "0–").replace("–1.000", "–1")
            for b, edge in zip(bands.itertuples(), edges, strict=True)
        }
        cells = [cells.get(a, "–") for a in ("manage", "rescan", "biopsy", "treat")]
        phrases.append(f"| {left} | " + " | ".join(cells) + " |")

    table = decide(bundled_fit, DATA / "patients_example.csv", params)
    table.index = list(map(lesion_name, table["patient_id"], table["lesion_id"]))
    ex3, ex5 = table.loc["EX3-grayzone-no-pet"], table.loc["EX5-symptomatic-necrosis-edema"]
    runner_up = sorted(ex3[[f"eu_{a}" for a in ("manage", "biopsy", "treat", "rescan")]])[-1]
    assert ex3["recommendation"] == "pet" and ex3["margin"] == ex3["eu_pet"] - runner_up
    phrases += [
        f"(EX3, P = {ex3.p_recurrence:.2f})",
        f"(by {ex3.margin:.2f} QALW over a rescan)",
        f"worth {ex3.evsi_pet:.2f} QALW to it (a rescan {ex3.evsi_rescan:.2f}",
        f"against {table.loc['EX1-clear-recurrence', 'evsi_pet']:.2f} for the clear recurrence",
        f"the clear necrosis keeps {table.loc['EX2-clear-necrosis', 'evsi_pet']:.2f}",
        f"at a FET TBR of {ex3.tbr_treat_at:.2f} or more",
        f"or a growth of {100 * ex3.growth_treat_at:+.0f}% at the rescan",
        f"at a TBR of {ex3.tbr_manage_below:.2f} or less",
        f"volume change\nof {100 * ex3.growth_manage_below:+.0f}% or less",
        f"(P = {ex5.p_recurrence:.2f}), is best {ex5.recommendation}ned",
        "the patient's probability that any\nlesion is recurrence is "
        f"{table.loc['EX9-two-lesions / L2-callosal', 'p_patient_recurrence']:.2f}",
    ]
    stale = [p for p in phrases if p not in README]
    assert stale == [], "README Decisions numbers are stale; now:\n" + "\n".join(stale)


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
