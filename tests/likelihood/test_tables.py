"""How encoded lesions are laid out for the kernels: table columns, feature types, bounds."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import DATA

from model.inputs.encode import READ, UNSEEN_CENTER
from model.likelihood.tables import PRIOR_COVARIATES, imaging_columns, lesion_features
from model.modalities.registry import Registry
from model.scoring.predict import encode_patients, score_tables

INTEGER = {"center", "column", "prior_level", "state", "kind", "row"}


@pytest.fixture(scope="module")
def example(bundled_fit):
    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    return lesions, score_tables(bundled_fit), len(bundled_fit.centers), bundled_fit.registry


def test_imaging_columns_put_the_window_in_the_upper_half(example):
    """Columns 0..C: the training centers and an unseen one (C) after the window; C+1..2C+1 the
    same within it."""
    lesions, _, C, _ = example
    n = 4
    four = lesions.subset(np.zeros(n, dtype=int))
    center = np.array([0, C - 1, UNSEEN_CENTER, 1])
    early = np.array([0.5, 0.5, 0.5, -0.5])
    columns = imaging_columns(replace(four, center=center, x_early=early), C)
    assert columns.dtype == np.int64
    np.testing.assert_array_equal(columns, [C + 1, 2 * C, 2 * C + 1, 1])


def test_features_are_typed_and_unseen_centers_take_the_last_index(example):
    lesions, tables, C, registry = example
    unseen = replace(lesions, center=np.where(np.arange(len(lesions)) == 0, UNSEEN_CENTER, 0))
    features, _ = lesion_features(unseen, C, tables, registry)
    for name, array in zip(features._fields, features, strict=True):
        assert array.dtype == (np.int64 if name in INTEGER else np.float64), name
        assert array.flags.c_contiguous, name
    assert features.center[0] == C and (features.center[1:] == 0).all()
    read = features.state == READ
    assert read.any() and (~read).any()
    assert (features.row[~read] == -1).all() and (features.row[read] >= 0).all()
    levels = [np.rint(getattr(lesions, n) * 2 + 1).astype(np.int64) for n in PRIOR_COVARIATES]
    np.testing.assert_array_equal(features.prior_level, 9 * levels[0] + 3 * levels[1] + levels[2])
    for beyond in (C, C + 3):
        wrong = replace(lesions, center=np.full(len(lesions), beyond))
        with pytest.raises(ValueError, match=r"^lesion center index beyond the fit's centers$"):
            lesion_features(wrong, C, tables, registry)


def test_without_modalities_the_evidence_columns_are_empty(example):
    """A registry with no modality (the prior check without parameters) still lays out lesions."""
    lesions, tables, C, _ = example
    features, rows = lesion_features(lesions, C, tables, Registry(()))
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
    for group in ("tables", "moments"):
        for name, whole in zip(getattr(tables, group)._fields, getattr(tables, group), strict=True):
            part = getattr(getattr(few, group), name)
            if name in {"misread", "growth_misread"}:  # no draw axis
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
    assert empty.tables.log_prior.shape == (2, C + 1, 3 ** len(PRIOR_COVARIATES), S)
