"""Fixtures of the contract suites: one started, empty store per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperbeam.store.base import Store
from tests.contracts.backends import BACKENDS, Backend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(*caps): skip the test for store backends without these capabilities"
    )


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    chosen: Backend = request.param
    for mark in request.node.iter_markers("needs"):
        missing = set(mark.args) - chosen.caps
        if missing:
            pytest.skip(f"{chosen.name} store lacks {', '.join(sorted(missing))}")
    return chosen


@pytest.fixture
def store(backend: Backend, tmp_path: Path) -> Iterator[Store]:
    opened = backend.open(tmp_path)
    opened.start()
    opened.reset()
    yield opened
    opened.stop()


@pytest.fixture
def w(backend: Backend, store: Store) -> Store:
    """Where a test writes its fixtures (the store itself, or the seed of a
    read-only backend)."""
    return backend.writer(store)
