"""Fixtures shared by the synthesis tests."""

import pytest


@pytest.fixture()
def replaced_sampler(monkeypatch):
    """A function that replaces a synthesis module's NUTS sampler by one returning ``posterior``
    and a convergence gate whose dict is ``gate``; it returns the list of (free variable names,
    sampler arguments) of every call made."""
    calls = []

    def replace(module, posterior, gate: dict) -> list:
        class Gate:
            def to_dict(self):
                return gate

        def sample(model, *args):
            calls.append((sorted(v.name for v in model.free_RVs), args))
            return posterior, Gate()

        monkeypatch.setattr(module, "sample_posterior", sample)
        return calls

    return replace
