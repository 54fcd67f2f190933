"""Fixtures of the contract suites: one started, empty store per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperbeam.store.base import Store
from tests.contracts.backends import BACKENDS, Backend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(*caps): run the test only on store backends with these capabilities"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``backend`` with the backends that have what the test needs
    (a test is never generated for a backend it does not apply to)."""
    if "backend" not in metafunc.fixturenames:
        return
    needed = {cap for mark in metafunc.definition.iter_markers("needs") for cap in mark.args}
    chosen = [b for b in BACKENDS if needed <= b.caps]
    metafunc.parametrize("backend", chosen, ids=[b.name for b in chosen])


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
