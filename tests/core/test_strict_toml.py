"""Every TOML file is read strictly: numbers TOML would read other than as written are refused."""

import pytest

from model.core.errors import InputError
from model.core.strict_toml import read_toml


@pytest.mark.parametrize(
    ("text", "column", "found"),
    [
        ("[a]\nvalue = 1_5\n", "a.value", "1_5"),  # TOML: 15
        ("[a.b]\nhigh = -2_0.5\n", "a.b.high", "-2_0.5"),
        ("x = 1e1_0\n", "x", "1e1_0"),
        ("[a]\nv = 0x10\n", "a.v", "0x10"),  # TOML: 16
        ("[a]\nv = 0o17\n", "a.v", "0o17"),
        ("[a]\nv = 0b101\n", "a.v", "0b101"),
        ("a = { alpha = 1_2, beta = 1 }\n", "a", "1_2"),
        ("[a]\nrange = [0.1,\n  1_5]\n", "a", "1_5"),  # a continued array: its table
    ],
)
def test_grouped_and_non_decimal_numbers_are_refused(tmp_path, text, column, found):
    path = tmp_path / "f.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_toml(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "f.toml", None, column, found
    )  # fmt: skip
    assert problem.expected.startswith("a number in plain decimal digits")


def test_strings_comments_names_and_plain_numbers_pass(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(
        "[biopsy_harm]  # 1_5 in a comment\nvalue = 2.5\nlow = -1e-3\nhigh = +1E2\n"
        "source = \"table 1_5, 0x10\"\nunit = '1_5'\nnote = '''\n1_5\n'''\n"
        'text = """0x10\n2_0"""\ndate = 1979-05-27\n'
    )
    document = read_toml(path)
    assert document["biopsy_harm"]["value"] == 2.5 and document["biopsy_harm"]["high"] == 100.0
    assert document["biopsy_harm"]["text"] == "0x10\n2_0"


def test_unreadable_and_invalid_files_name_themselves(tmp_path):
    with pytest.raises(InputError, match="missing.toml: expected a readable file"):
        read_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[[x")
    with pytest.raises(InputError, match="broken.toml: expected valid TOML"):
        read_toml(broken)
