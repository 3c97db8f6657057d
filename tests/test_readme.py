"""The README's Quick start stays true: CI runs exactly its test command."""

import re

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
