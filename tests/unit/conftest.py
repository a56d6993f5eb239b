"""Shared fixtures of the unit tests: import path, no network, no cache in the home.

The unit tests never open a socket. Clients that need a server get a fake
transport from :mod:`.fakes` mounted on their ``requests`` session.
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

try:  # a property test profile: no example database written in the repo, no flaky deadlines
    from hypothesis import HealthCheck, settings

    settings.register_profile("unit", database=None, deadline=None, max_examples=60,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("unit")
except ImportError:  # pragma: no cover
    pass

from .fakes import BASE, LOGIN, PASSWORD, FakeEnt, mount  # noqa: E402


# --- no network, ever ---------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("unit tests must not use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Session cache files go to a temporary directory, never to the real home."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ENT_PRONOTE_CACHE_DIR", str(path))
    return path


@pytest.fixture
def fake_ent() -> FakeEnt:
    return FakeEnt()


@pytest.fixture
def console_factory(fake_ent):
    """Build a KdecoleConsole whose session talks to ``fake_ent`` only."""
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole

    made = []

    def make(password: str = PASSWORD, session_cache: bool = False, retries: int = 0, adapter=None):
        http = HttpSettings(retries=retries, timeout=5.0)
        session = mount(new_session(http), adapter or fake_ent)
        console = KdecoleConsole(ConsoleSettings(BASE, LOGIN, password, http, session_cache), session=session)
        made.append(console)
        return console

    yield make
    for console in made:
        console.close()
