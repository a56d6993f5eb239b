"""Fixtures of the tests against an independent CAS server (django-cas-server).

One server per test session (per pytest-xdist worker), on loopback HTTPS
with its own CA, and the accounts every test uses. A test that needs an
account of its own adds it with :meth:`RealCas.add_user`.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from _realcas import PASSWORD, RealCas, start_real_cas  # noqa: I001


@pytest.fixture(scope="session")
def real_cas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCas]:
    cas = start_real_cas(tmp_path_factory.mktemp("realcas"))
    try:
        cas.add_user("lea.martin", PASSWORD, idPronote="PRN-LEA-0001", nom="MARTIN", prenom="Léa")
        cas.add_user("deux.identifiants", PASSWORD, idPronote=["PRN-A-0001", "PRN-B-0002"], nom="DURAND",
                     prenom="Paul")
        cas.add_user("sans.idpronote", PASSWORD, nom="PETIT", prenom="Jules")
        cas.add_user("anais.lefevre", PASSWORD, idPronote="PRN-ANA-0003", nom="LEFÈVRE-D'ŒUVRAY",
                     prenom="Anaïs-Éléonore")
        yield cas
    finally:
        cas.stop()
