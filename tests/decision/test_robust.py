"""How robust a recommendation is, against hand computations and closed forms."""

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from model.decision import load_decision_parameters
from model.decision.robust import robustness, uncertain_parameters
from model.decision.utilities import (
    LesionContext,
    expected_utilities,
    false_alarm,
    surveillance_loss,
)

BASE = load_decision_parameters()
LATE = LesionContext()


def only_uncertain(*names):
    """The defaults, with every range but those named collapsed onto its value."""
    values = BASE.values()
    ranges = {n: BASE.ranges[n] if n in names else (values[n], values[n]) for n in values}
    return replace(BASE, ranges=ranges)


def test_certain_parameters_and_posterior_make_the_recommendation_sure():
    certain = only_uncertain()
    assert uncertain_parameters(certain) == []
    got = robustness("manage", 0.3, np.array([0.3, 0.3]), certain, LATE, {})
    assert (got.p_best, got.expected_loss, got.sensitive_to) == (1.0, 0.0, "")


def test_a_split_posterior_by_hand():
    """Half the posterior draws at P = 0.1 (managing best), half at 0.95 (treating best), the
    parameters certain: P(best) is the share of joint draws that picked the first, and the
    expected loss the rest's share of treating's advantage at 0.95."""
    certain = only_uncertain()
    got = robustness("manage", 0.5, np.array([0.1, 0.95]), certain, LATE, {}, n=400, seed=3)
    picked = np.random.default_rng(3).integers(0, 2, 400)  # no parameter is drawn first
    eu = expected_utilities(0.95, certain)
    assert float(eu["treat"]) > float(eu["manage"])
    assert got.p_best == np.mean(picked == 0)
    advantage = float(eu["treat"]) - float(eu["manage"])
    assert got.expected_loss == pytest.approx(np.mean(picked == 1) * advantage, rel=1e-12)


def test_an_uncertain_harm_against_its_triangular_distribution():
    """P fixed at 0.7, only the harm uncertain (triangular on [2, 20], mode 6): managing stays
    best while h' = h (1 - A (1 - sp)) - A Rb exceeds p L / (1 - p), so P(best) is the
    triangular survival function at the harm where that fails."""
    params = only_uncertain("harm")
    p, loss, alarm = 0.7, surveillance_loss(params), false_alarm(params)
    critical = (p * loss / (1 - p) + alarm * params.biopsy_harm) / (
        1 - alarm * (1 - params.biopsy_specificity)
    )
    low, high = params.ranges["harm"]
    shape = (params.harm - low) / (high - low)
    expected = stats.triang.sf(critical, shape, loc=low, scale=high - low)
    got = robustness("manage", p, np.array([p]), params, LATE, {}, n=4000)
    assert 0.05 < expected < 0.95
    assert got.p_best == pytest.approx(expected, abs=0.025)  # 3.3 sd of 4,000 draws
    assert got.sensitive_to == "harm (treat if low)"


def test_a_waiting_action_is_weighed_with_the_drawn_parameters():
    """A rescan worth the scan's cost less than treating: best exactly where scans are cheap
    enough, which the scan cost's range decides."""
    params = only_uncertain("scan_cost")
    p = 0.95
    treat = float(expected_utilities(p, params)["treat"])

    def rescan(values):
        return treat + 0.1 - values.scan_cost

    got = robustness("rescan", p, np.array([p]), params, LATE, {"rescan": rescan}, n=4000)
    low, high = params.ranges["scan_cost"]
    shape = (params.scan_cost - low) / (high - low)
    expected = stats.triang.cdf(0.1, shape, loc=low, scale=high - low)
    assert got.p_best == pytest.approx(expected, abs=0.025)
    assert got.sensitive_to == "scan_cost (treat if high)"


def test_the_most_sensitive_parameters_come_first():
    """Near the treatment threshold the harm and the delay loss move the margin most (the
    tornado's order), and either end of each can hand the choice to treating."""
    got = robustness("manage", 0.74, np.array([0.74]), BASE, LATE, {}, n=50)
    first, second = got.sensitive_to.split("; ")
    assert {first.split(" ")[0], second.split(" ")[0]} == {"harm", "delay_loss"}
    assert "treat if" in first and "treat if" in second
