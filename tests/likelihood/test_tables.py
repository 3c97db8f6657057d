"""How encoded lesions are laid out for the kernels: table columns, feature types, bounds."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from conftest import DATA

from model.inputs.encode import READ, UNSEEN_CENTER
from model.likelihood.tables import center_columns, lesion_features
from model.modalities.registry import Registry
from model.scoring.predict import encode_patients, score_tables

INTEGER = {"center", "prior_row", "state", "kind", "row"}


@pytest.fixture(scope="module")
def example(bundled_fit):
    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    return lesions, score_tables(bundled_fit), len(bundled_fit.centers), bundled_fit.registry


def test_center_columns_give_an_unseen_center_the_last_index(example):
    lesions, _, C, _ = example
    four = lesions.subset(np.zeros(4, dtype=int))
    center = np.array([0, C - 1, UNSEEN_CENTER, 1])
    columns = center_columns(replace(four, center=center), C)
    assert columns.dtype == np.int64
    np.testing.assert_array_equal(columns, [0, C - 1, C, 1])


def test_locations_move_linearly_with_the_window_weight(example):
    """Weight 0 reads the late half of the column axis, 1 the early half; between, the line."""
    _, tables, C, registry = example
    m = tables.moments
    slot = registry.names.index("perfusion")
    late, early = m.location[slot, 0, 2], m.location[slot, 0, 2 + C + 1]
    assert not np.allclose(late, early)  # perfusion has an early shift
    for w in (0.0, 0.3, 1.0):
        loc, sd = m.at(slot, 0, 2, w)
        np.testing.assert_allclose(loc, (1 - w) * late + w * early, rtol=1e-12)
        np.testing.assert_array_equal(sd, m.spread[slot, 0, 2])


def test_features_are_typed_and_unseen_centers_take_the_last_index(example):
    lesions, tables, C, registry = example
    unseen = replace(lesions, center=np.where(np.arange(len(lesions)) == 0, UNSEEN_CENTER, 0))
    features, _, priors = lesion_features(unseen, C, tables, registry)
    for name, array in zip(features._fields, features, strict=True):
        assert array.dtype == (np.int64 if name in INTEGER else np.float64), name
        assert array.flags.c_contiguous, name
    assert features.center[0] == C and (features.center[1:] == 0).all()
    read = features.state == READ
    assert read.any() and (~read).any()
    assert (features.row[~read] == -1).all() and (features.row[read] >= 0).all()
    np.testing.assert_array_equal(features.early, unseen.early_weight)
    # the unseen center's lesion has its prior precomputed; the others are computed per draw
    np.testing.assert_array_equal(features.prior_row, [0] + [-1] * (len(unseen) - 1))
    assert priors.shape == (1, 2, tables.n_draws)
    np.testing.assert_array_equal(features.x_early, unseen.x_early)
    known = features.prior_log_weight > -np.inf
    assert (known.sum(axis=1) >= 1).all() and (known.sum(axis=1) > 1).any()  # some mixtures
    for beyond in (C, C + 3):
        wrong = replace(lesions, center=np.full(len(lesions), beyond))
        with pytest.raises(ValueError, match=r"^lesion center index beyond the fit's centers$"):
            lesion_features(wrong, C, tables, registry)


def test_unseen_center_priors_are_one_per_distinct_context(example):
    from model.likelihood.tables import unseen_center_log_priors

    lesions, tables, C, _ = example
    unseen = replace(lesions, center=np.full(len(lesions), UNSEEN_CENTER))
    index, priors = unseen_center_log_priors(unseen, tables.prior)
    keys = np.column_stack([unseen.x_early, unseen.x_mgmt, unseen.x_reirradiation])
    assert len(priors) == len(np.unique(keys, axis=0)) < len(lesions)
    for i, j in itertools.combinations(range(len(unseen)), 2):
        assert (index[i] == index[j]) == (keys[i] == keys[j]).all()
    np.testing.assert_allclose(np.exp(priors).sum(axis=1), 1.0, rtol=1e-12)


def test_without_modalities_the_evidence_columns_are_empty(example):
    """A registry with no modality (the prior check without parameters) still lays out lesions."""
    lesions, tables, C, _ = example
    features, rows, _ = lesion_features(lesions, C, tables, Registry(()))
    for name in ("state", "kind", "value", "row"):
        assert getattr(features, name).shape == (len(lesions), 0), name
    assert rows.shape == (0, 2, tables.n_draws)


def test_tables_are_finite_and_padded_where_a_slot_has_no_such_kind(example):
    """Slots are padded to the largest marker's kinds, and binary tests have no kinds: there the
    log-likelihood-ratio line is 0 and the class-0 density is log N(u; 0, 1) without its terms
    in u (q = 0, 0, -log(2 pi) / 2), so nothing infinite or undefined reaches a kernel."""
    from model.modalities.spec import Marker

    _, tables, _, registry = example
    t = tables.tables
    assert any(not isinstance(m, Marker) for m in registry)  # a binary slot is checked too
    assert len({len(m.kinds) for m in registry.markers}) > 1  # and a padded kind
    for name in ("core_intercept", "core_slope", "base_quad"):
        assert np.isfinite(getattr(t, name)).all(), name
    for e, modality in enumerate(registry):
        k = len(modality.kinds) if isinstance(modality, Marker) else 0
        assert (t.core_intercept[e, k:] == 0).all() and (t.core_slope[e, k:] == 0).all()
        padded = t.base_quad[e, k:]
        assert (padded[..., :2, :] == 0).all(), modality.name
        np.testing.assert_allclose(padded[..., 2, :], -0.5 * np.log(2 * np.pi), rtol=1e-15)


def test_selected_draws_are_those_draws_of_every_table(example):
    from model.likelihood.tables import ScoreTables

    _, tables, _, _ = example
    picked = [5, 0, 3]
    few = tables.select(picked)
    assert isinstance(few, ScoreTables) and few.n_draws == 3
    for group in ("tables", "moments", "prior"):
        for name, whole in zip(getattr(tables, group)._fields, getattr(tables, group), strict=True):
            part = getattr(getattr(few, group), name)
            if name in {"misread", "growth_misread", "shares"}:  # no draw axis
                np.testing.assert_array_equal(part, whole)
            else:
                np.testing.assert_array_equal(part, whole[..., picked], err_msg=name)
                assert part.flags.c_contiguous, name
    for name in ("binary", "concordance"):
        np.testing.assert_array_equal(getattr(few, name), getattr(tables, name)[..., picked])
        assert getattr(few, name).flags.c_contiguous


def test_a_registry_without_modalities_still_gets_tables(few_draws_fit):
    """The prior check without parameters scores lesions with no modality at all."""
    from model.likelihood.tables import build_tables

    C, S = len(few_draws_fit.centers), few_draws_fit.draws.n_draws
    empty = build_tables(few_draws_fit.draws, Registry(()))
    assert empty.tables.core_slope.shape == (0, 1, 2 * (C + 1), S)
    assert empty.binary.shape == (0, 2, 2, S)
    assert empty.tables.prior_offsets.shape == (C + 1, S)


@pytest.mark.parametrize(
    ("block_values", "block_lesions"),
    [(lambda S: 3 * S, 3), (lambda S: S // 2, 1)],
    ids=["three lesions", "fewer values than one lesion's draws"],
)
def test_scoring_in_blocks_gives_what_one_block_gives(
    example, monkeypatch, block_values, block_lesions
):
    """The scorer works through lesions in blocks, so that the per-context priors it holds stay
    bounded: each block holds at most SCORE_BLOCK_VALUES / S lesions (at least one), every lesion
    is in exactly one, and the blocks give every output a single block gives."""
    from model.likelihood import kernel

    lesions, tables, C, registry = example
    tables = tables.select(np.arange(40))
    whole = kernel.score(lesions, tables, C, registry, keep_draws=True)
    sizes = []

    def counting_features(block, *args):
        sizes.append(len(block))
        return lesion_features(block, *args)

    monkeypatch.setattr(kernel, "SCORE_BLOCK_VALUES", block_values(tables.n_draws))
    monkeypatch.setattr(kernel, "lesion_features", counting_features)
    blocks = kernel.score(lesions, tables, C, registry, keep_draws=True)
    assert len(lesions) > 6
    block_calls = sizes[: -(-len(lesions) // block_lesions)]  # the joint patients' calls follow
    assert max(block_calls) == block_lesions and sum(block_calls) == len(lesions)
    for name in ("p_mean", "p_low", "p_high", "terms", "p_draws", "patient_p_mean"):
        np.testing.assert_allclose(getattr(blocks, name), getattr(whole, name), rtol=1e-12)


def test_a_read_shares_its_row_across_weights_only_where_the_window_moves_nothing(example):
    """The same read at two window weights is one row for a marker without an early shift (PET)
    and two for one with it (perfusion), whose locations move with the weight."""
    from model.inputs.encode import Evidence

    lesions, tables, C, registry = example
    two = lesions.subset(np.array([0, 0]))
    two = replace(two, center=np.zeros(2, dtype=np.int64), early_weight=np.array([0.1, 0.8]))
    read = Evidence(np.full(2, READ), np.zeros(2, int), np.full(2, np.log(1.75)), np.ones(2))
    for name, rows_wanted in (("perfusion", 2), ("pet", 1)):
        features, _, _ = lesion_features(two.with_evidence(name, read), C, tables, registry)
        slot = registry.names.index(name)
        assert len(set(features.row[:, slot])) == rows_wanted, name
