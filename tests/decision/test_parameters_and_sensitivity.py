import numpy as np
import pytest

from model.core.errors import InputError
from model.decision import load_decision_parameters
from model.decision.sensitivity import probabilistic_sensitivity, summarize_psa, tornado
from model.decision.thresholds import parameter_thresholds


def test_every_parameter_has_source_and_range():
    p = load_decision_parameters()
    for name in p.names():
        low, high = p.ranges[name]
        assert low <= getattr(p, name) <= high
        assert len(p.sources[name]) > 20


def test_partial_override_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[harm]\nvalue = 12.0\nhigh = 30.0\n")
    p = load_decision_parameters(path)
    assert p.harm == 12.0 and p.benefit == load_decision_parameters().benefit


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("[harn]\nvalue = 1.0\n", "harn"),
        ("[harm]\nvalue = -1.0\n", "harm.value"),
        ("[biopsy_sensitivity]\nvalue = 1.5\n", "biopsy_sensitivity.value"),
        ("[harm]\nvalue = 'much'\n", "harm.value"),
        ("[harm]\nvalue = 30.0\n", "harm.low/high"),
    ],
)
def test_bad_override_files(tmp_path, text, column):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_decision_parameters(path)
    assert column in [p.column for p in info.value.problems]
    if column == "harn":
        assert "did you mean 'harm'" in str(info.value)


def test_psa_with_collapsed_ranges_is_the_default():
    p = load_decision_parameters()
    fixed = type(p)(
        **p.values(), ranges={k: (v, v) for k, v in p.values().items()}, sources=p.sources
    )
    samples = probabilistic_sensitivity(fixed, n=50)
    t = parameter_thresholds(p)
    np.testing.assert_allclose(samples["treat"], t.treat)
    summary = summarize_psa(probabilistic_sensitivity(p, n=2000))
    assert summary.loc["treat", "eti_low"] < t.treat < summary.loc["treat", "eti_high"]


def test_tornado_moves_only_what_depends_on_the_parameter():
    table = tornado(load_decision_parameters()).set_index(["threshold", "parameter"])
    for biopsy_parameter in ("biopsy_harm", "biopsy_sensitivity", "biopsy_specificity"):
        assert table.loc[("treat", biopsy_parameter), "swing"] == 0.0
    assert table.loc[("treat", "benefit"), "at_high"] < table.loc[("treat", "benefit"), "at_low"]
