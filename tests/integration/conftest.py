"""Fixtures of the integration tests: a seeded sandbox per test session.

With pytest-xdist each worker gets its own sandbox, so tests that inject
faults or edit the console by hand never disturb another worker's tests.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _harness import Sandbox, running_sandbox  # noqa: I001


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as box:
        yield box


@pytest.fixture
def clean_faults(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.reset_faults()
    yield sandbox
    sandbox.reset_faults()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path
