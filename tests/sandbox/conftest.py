"""Fixtures of the sandbox tests: a seeded sandbox on a free loopback port.

The server runs in a thread of the test process (``ThreadedSandbox``) over
real HTTPS; tests talk to it with requests, always passing ``verify=<CA>``
(the environment's REQUESTS_CA_BUNDLE would otherwise win).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lxml import etree  # noqa: E402
from sandbox_support import IDENTIFIERS_XSD, Browser, Sandbox, start_sandbox  # noqa: E402


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One seeded sandbox (seed 42, 6 établissements) for the whole session."""
    sb = start_sandbox(tmp_path_factory.mktemp("sandbox-state"))
    yield sb
    sb.threaded.stop()


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox of the test module's own, for modules that change the region (imports, bases, sign-ons)."""
    own = start_sandbox(tmp_path_factory.mktemp(f"{request.module.__name__}-state"))
    yield own
    own.threaded.stop()


@pytest.fixture(autouse=True)
def _clean_runtime(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test ends without faults, clock offset or changed lifetimes; a module's own sandbox, without
    faults."""
    yield
    if "sandbox" in request.fixturenames:
        rt = request.getfixturevalue("sandbox").threaded.runtime
        rt.faults.update({"reset": True})
        rt.clock.reset()
        rt.settings.__init__()  # type: ignore[misc]
    if "sb" in request.fixturenames:
        request.getfixturevalue("sb").threaded.runtime.faults.update({"reset": True})


@pytest.fixture
def browser(sandbox: Sandbox) -> Browser:
    """A fresh browser (no cookies) on the session's sandbox."""
    return Browser(sandbox)


@pytest.fixture
def new_browser(sandbox: Sandbox) -> Callable[[], Browser]:
    """A factory of fresh browsers."""
    return lambda: Browser(sandbox)


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    """The identifiers file's schema (docs/schemas/identifiants-pronote.xsd)."""
    return etree.XMLSchema(etree.parse(str(IDENTIFIERS_XSD)))
