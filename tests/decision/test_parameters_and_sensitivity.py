import numpy as np
import pandas as pd
import pytest

from model.core.errors import InputError
from model.decision import load_decision_parameters
from model.decision.sensitivity import (
    THRESHOLD_PARAMETERS,
    probabilistic_sensitivity,
    summarize_psa,
    tornado,
)
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
    """The treatment threshold h' / (h' + L) does not involve the biopsy's sensitivity; a costlier
    work-up of surveillance's false alarms (biopsy harm, its false positives) makes watching
    dearer and lowers it, and a larger benefit raises L and lowers it."""
    table = tornado(load_decision_parameters()).set_index(["threshold", "parameter"])
    assert table.loc[("treat", "biopsy_sensitivity"), "swing"] == 0.0
    for name in ("biopsy_harm", "benefit"):
        assert table.loc[("treat", name), "at_high"] < table.loc[("treat", name), "at_low"]
    specificity = table.loc[("treat", "biopsy_specificity")]
    assert specificity.at_high > specificity.at_low


def test_psa_draws_each_parameter_from_its_triangular_distribution():
    """Row by row against NumPy's triangular draws in the same order, and the thresholds of each
    row against parameter_thresholds; a collapsed range stays at its default."""
    p = load_decision_parameters()
    ranges = {**p.ranges, "harm": (p.harm, p.harm)}
    params = type(p)(**p.values(), ranges=ranges, sources=p.sources)
    samples = probabilistic_sensitivity(params, n=30, seed=7)
    rng = np.random.default_rng(7)
    for name in THRESHOLD_PARAMETERS:
        low, high = ranges[name]
        mode = getattr(p, name)
        expected = rng.triangular(low, mode, high, 30) if high > low else np.full(30, mode)
        if name == "surveillance_rounds":  # a whole number: the draw is rounded
            expected = np.round(expected)
            assert set(samples[name]) <= {1.0, 2.0, 3.0, 4.0} and samples[name].nunique() > 1
        np.testing.assert_array_equal(samples[name], expected)
    assert (samples["harm"] == p.harm).all()
    for row in samples.sample(5, random_state=0).itertuples():
        drawn = {name: getattr(row, name) for name in THRESHOLD_PARAMETERS}
        t = parameter_thresholds(p.with_values(**drawn))
        assert (row.treat, row.test, row.test_treat) == (t.treat, t.test, t.test_treat)
    assert len(probabilistic_sensitivity(p)) == 4000  # the default n
    default_seed = probabilistic_sensitivity(p, n=5)
    np.testing.assert_array_equal(default_seed, probabilistic_sensitivity(p, n=5, seed=1))


def test_psa_summary_by_hand():
    """0, 1, ..., 100 as every threshold: mean and median 50, 5% and 95% quantiles 5 and 95
    (80% interval: 10 and 90); biopsy is ever best in the draws where test < test_treat."""
    x = np.arange(101.0)
    samples = pd.DataFrame({"treat": x, "test": x, "test_treat": x[::-1]})
    summary = summarize_psa(samples)
    assert list(summary.index) == ["treat", "test", "test_treat"]
    for name in summary.index:
        got = summary.loc[name, ["mean", "median", "eti_low", "eti_high"]]
        np.testing.assert_allclose(got.astype(float), [50, 50, 5, 95], rtol=1e-12)
    assert summary["p_biopsy_ever_best"].tolist() == [50 / 101] * 3
    narrow = summarize_psa(samples, ci_prob=0.8)
    np.testing.assert_allclose(narrow.loc["treat", ["eti_low", "eti_high"]].astype(float), [10, 90])


def test_tornado_rows_are_the_thresholds_at_each_end_of_each_range():
    p = load_decision_parameters()
    table = tornado(p)
    assert len(table) == 3 * len(THRESHOLD_PARAMETERS)
    base = parameter_thresholds(p)._asdict()
    for row in table.itertuples():
        low, high = p.ranges[row.parameter]
        assert (row.low, row.high) == (low, high)
        assert row.default == base[row.threshold]
        assert (
            row.at_low
            == parameter_thresholds(p.with_values(**{row.parameter: low}))._asdict()[row.threshold]
        )
        assert (
            row.at_high
            == parameter_thresholds(p.with_values(**{row.parameter: high}))._asdict()[row.threshold]
        )
        assert row.swing == abs(row.at_high - row.at_low)
    for threshold, rows in table.groupby("threshold", sort=False):
        assert (np.diff(rows["swing"].to_numpy()) <= 0).all(), threshold
    assert list(table["threshold"].unique()) == sorted(base)
    assert list(table.index) == list(range(len(table)))  # numbered afresh in the sorted order


@pytest.mark.parametrize(
    ("text", "column", "value"),
    [
        ("[harm]\nvaleu = 1.0\n", "harm.valeu", None),  # a typo would keep the default silently
        ("[harm]\nvalue = 1_5\n", "harm.value", "1_5"),  # TOML reads it as 15
        ("[harm]\nvalue = 12.0\nhigh = 3_0.0\n", "harm.high", "3_0.0"),
        ("[harm]\nvalue = 0x10\n", "harm.value", "0x10"),  # TOML reads it as 16
        ("harm = { value = 1_2 }\n", "harm", "1_2"),
    ],
)
def test_unknown_keys_and_reinterpreted_numbers_are_refused(tmp_path, text, column, value):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_decision_parameters(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.column, problem.value) == ("bad.toml", column, value)
    if column == "harm.valeu":
        assert "did you mean 'value'" in str(info.value)


def test_underscores_in_names_strings_and_comments_are_not_numbers(tmp_path):
    path = tmp_path / "fine.toml"
    path.write_text(
        '[biopsy_harm]  # 1_5 in a comment\nvalue = 2.5\nsource = "table 1_5"\n'
        "unit = '''QALW\n1_5'''\n"
    )
    assert load_decision_parameters(path).biopsy_harm == 2.5


def test_an_uninformative_biopsy_is_refused_with_its_rule(tmp_path):
    path = tmp_path / "coin.toml"
    path.write_text(
        "[biopsy_sensitivity]\nvalue = 0.4\nlow = 0.0\n"
        "[biopsy_specificity]\nvalue = 0.6\nlow = 0.0\n"
    )
    with pytest.raises(InputError, match=r"a sum above 1 \(at or below it a biopsy result"):
        load_decision_parameters(path)
    path.write_text(
        "[biopsy_sensitivity]\nvalue = 0.4\nlow = 0.0\n"
        "[biopsy_specificity]\nvalue = 0.61\nlow = 0.0\n"
    )
    assert load_decision_parameters(path).biopsy_specificity == 0.61


def test_a_value_set_outside_its_range_widens_the_draws_to_reach_it():
    """with_values allows a value beyond the plausible range (a board's own choice): the
    draws then span from the range's far end to that value, with their mode at it."""
    from model.decision.sensitivity import draw_parameters

    p = load_decision_parameters().with_values(pet_cost=0.0, harm=30.0)
    drawn = draw_parameters(p, ["pet_cost", "harm"], 2000, np.random.default_rng(0))
    assert drawn["pet_cost"].min() >= 0.0 and drawn["pet_cost"].max() <= 0.5
    assert drawn["harm"].min() >= 2.0 and drawn["harm"].max() <= 30.0
    assert np.median(drawn["harm"]) > 20.0  # a triangle on [2, 30] with its mode at 30
