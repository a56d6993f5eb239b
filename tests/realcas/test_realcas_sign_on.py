"""The sign-on check end to end with django-cas-server: the sandbox's PRONOTE.net delegates to it.

A sandbox region is started trusting the test CAS's CA (``--trust-ca``); a
base is pointed at django-cas-server (``pronote-base --cas-url``), whose
PRONOTE.net then validates tickets at ``<CAS>/p3/serviceValidate`` over
HTTPS. The product's sign-on check (:func:`_sso.check_etablissement`, and
the ``cas_sso_check`` module through ansible-playbook) must give the same
codes as against the sandbox's own CAS, for the same people.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
import requests

from ansible_collections.ent.pronote.plugins.module_utils._cas import sign_in
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request
from ansible_collections.ent.pronote.plugins.module_utils._sso import SsoAccount, check_etablissement

from _realcas import PASSWORD, RealCas  # noqa: I001

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _harness import ADMIN_PASSWORD, Sandbox, run_tasks, running_sandbox  # noqa: E402


@dataclass(frozen=True)
class Pupil:
    """A pupil of the base: ENT login, PRONOTE identifier, the name PRONOTE shows."""

    login: str
    ident: str
    nom: str
    prenom: str
    imported: bool  # the ENT already has this identifier (the sandbox's CAS releases it)

    @property
    def name(self) -> str:
        return f"{self.nom.upper()} {self.prenom}"


@dataclass
class Region:
    box: Sandbox
    uai: str
    base: str
    sandbox_cas: str
    ca_bundle: str
    pupils: list[Pupil]

    def pupil(self, imported: bool, index: int = 0) -> Pupil:
        return [p for p in self.pupils if p.imported == imported][index]


@pytest.fixture(scope="module")
def region(real_cas: RealCas, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Region]:
    state = tmp_path_factory.mktemp("sandbox-realcas")
    with running_sandbox(state, seed=42, etabs=2, trust_ca=[real_cas.ca]) as box:
        uai = sorted(box.hosts())[0]
        group = box.group_vars(box.group_of(uai))
        # the product's one CA file: the sandbox's (PRONOTE.net, its CAS) and the test CAS's
        bundle = state / "ca-bundle.pem"
        bundle.write_text(Path(box.ca).read_text() + Path(real_cas.ca).read_text())
        yield Region(box, uai, f"{group['pronote_root']}{uai.lower()}/pronote/", group["ent_cas_url"], str(bundle),
                     pupils_of(box, uai))


def pupils_of(box: Sandbox, uai: str) -> list[Pupil]:
    """Pupils PRONOTE knows under their own name, never bound to another CAS login."""
    db = sqlite3.connect(f"file:{box.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT u.login, a.ident, a.nom, a.prenom, i.ident IS NOT NULL FROM pronote_accounts a"
            " JOIN etabs e ON e.id = a.etab_id JOIN users u ON u.id = a.true_user_id"
            " LEFT JOIN ent_identifiers i ON i.etab_id = a.etab_id AND i.user_id = u.id AND i.ident = a.ident"
            " WHERE e.uai = ? AND a.category = 'Eleve' AND a.kind = 'exact' AND a.date_sortie IS NULL"
            " AND (a.identifiant_cas IS NULL OR a.identifiant_cas = u.login)"
            " AND NOT EXISTS (SELECT 1 FROM ent_identifiers j WHERE j.etab_id = a.etab_id AND j.user_id = u.id"
            "                 AND j.ident <> a.ident)"
            " ORDER BY u.login", (uai,)).fetchall()
    finally:
        db.close()
    pupils = [Pupil(login, ident, nom, prenom, bool(imported)) for login, ident, nom, prenom, imported in rows]
    assert sum(p.imported for p in pupils) >= 3 and sum(not p.imported for p in pupils) >= 1, pupils
    return pupils


@pytest.fixture
def delegate_to(region: Region, real_cas: RealCas) -> Iterator:
    """Point the base at a CAS ("sandbox" or "django-cas") for one test; the sandbox's CAS again after."""

    def point(which: str) -> str:
        url = real_cas.url if which == "django-cas" else region.sandbox_cas
        region.box.cli("pronote-base", "--uai", region.uai, "--cas-url", url)
        return url

    yield point
    region.box.cli("pronote-base", "--uai", region.uai, "--cas-url", region.sandbox_cas)


def check(region: Region, cas_url: str, *accounts: SsoAccount) -> list[str]:
    http = HttpSettings(ca_path=region.ca_bundle, retries=0, timeout=30)
    info, checks = check_etablissement(http, region.base, cas_url, list(accounts))
    assert info is not None and info.cas_url.rstrip("/") == cas_url.rstrip("/")
    return [c.code for c in checks]


def account(pupil: Pupil, cas: str, password: str | None = None) -> SsoAccount:
    """The pupil as a test account, with the password of that CAS."""
    return SsoAccount("Elève", pupil.login, password or (PASSWORD if cas == "django-cas" else ADMIN_PASSWORD),
                      pupil.name)


def give(real_cas: RealCas, pupil: Pupil, **attributes) -> None:
    """The pupil's account in django-cas-server, releasing what the ENT would (its idPronote, its names)."""
    values = {"idPronote": pupil.ident, "nom": pupil.nom, "prenom": pupil.prenom, **attributes}
    real_cas.add_user(pupil.login, PASSWORD, **{k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("cas", ["sandbox", "django-cas"])
def test_a_good_account_a_wrong_password_and_no_idpronote_give_the_same_codes(region, real_cas, delegate_to, cas):
    good, not_imported = region.pupil(True, 0), region.pupil(False, 0)
    give(real_cas, good)
    give(real_cas, not_imported, idPronote=None)  # the ENT has no identifier for it: nothing released
    cas_url = delegate_to(cas)
    assert check(region, cas_url, account(good, cas), account(good, cas, "pas-le-bon"),
                 account(not_imported, cas)) == ["ok", "compte_test", "sans_idpronote"]


@pytest.mark.parametrize("cas", ["sandbox", "django-cas"])
def test_an_identifiant_cas_of_another_login_is_identification_impossible(region, real_cas, delegate_to, cas):
    pupil = region.pupil(True, 1)
    give(real_cas, pupil)
    cas_url = delegate_to(cas)
    region.box.cli("pronote-base", "--uai", region.uai, "--identifiant-cas", f"{pupil.ident}=quelqu.un.autre")
    try:
        assert check(region, cas_url, account(pupil, cas)) == ["identification_impossible"]
    finally:
        region.box.cli("pronote-base", "--uai", region.uai, "--identifiant-cas", f"{pupil.ident}=")


def test_a_two_valued_idpronote_lands_on_the_account_pronote_knows(region, real_cas, delegate_to):
    pupil = region.pupil(True, 2)
    give(real_cas, pupil, idPronote=["INCONNU0000000000", pupil.ident])
    assert check(region, delegate_to("django-cas"), account(pupil, "django-cas")) == ["ok"]


def test_accented_names_released_by_the_cas_are_shown_as_given(region, real_cas, delegate_to):
    """PRONOTE.net fills its « Identification impossible » form with the CAS's nom and prénom."""
    real_cas.add_user("anais.sans-compte", PASSWORD, idPronote="INCONNU0000000001", nom="LEFÈVRE-D'ŒUVRAY",
                      prenom="Anaïs-Éléonore")
    cas_url = delegate_to("django-cas")
    stranger = SsoAccount("Elève", "anais.sans-compte", PASSWORD)
    assert check(region, cas_url, stranger) == ["identification_impossible"]
    # what PRONOTE.net read from the ticket validation, decoded as sent
    http = HttpSettings(ca_path=region.ca_bundle, retries=0, timeout=30)
    with new_session(http) as browser:
        page = request(browser, http, "GET", region.base + "eleve.html", "open the Espace Elèves")
        landed = sign_in(browser, http, page, stranger.login, PASSWORD)
    text = " ".join(lxml.html.fromstring(landed.content).text_content().split())
    assert "Identification impossible" in text
    assert "LEFÈVRE-D'ŒUVRAY" in text and "Anaïs-Éléonore" in text, text


def test_a_csrf_refusal_of_the_cas_is_cas_erreur_http_not_page_inattendue(region, real_cas, delegate_to,
                                                                          monkeypatch):
    """The product before this change, against a CSRF-protected CAS: now a named failure, never a wrong result."""
    pupil = region.pupil(True, 0)
    give(real_cas, pupil)
    cas_url = delegate_to("django-cas")
    original = requests.Session.request

    def without_browser_headers(self, method, url, **kwargs):
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k not in ("Referer", "Origin")}
        return original(self, method, url, headers=headers, **kwargs)

    monkeypatch.setattr(requests.Session, "request", without_browser_headers)
    http = HttpSettings(ca_path=region.ca_bundle, retries=0, timeout=30)
    _, (failed,) = check_etablissement(http, region.base, cas_url, [account(pupil, "django-cas")])
    assert failed.code == "cas_erreur_http"
    assert "HTTP 403" in failed.cause and f"{cas_url}/login" in failed.cause and "ticket" not in failed.cause


def three_accounts(region, real_cas, delegate_to):
    """The base delegated to django-cas, and three pupils' test accounts there: good, wrong password, no
    idPronote (expected codes: ok, compte_test, sans_idpronote)."""
    good, other, not_imported = region.pupil(True, 0), region.pupil(True, 1), region.pupil(False, 0)
    give(real_cas, good)
    give(real_cas, other)
    give(real_cas, not_imported, idPronote=None)
    accounts = [{"profile": "Elève", "login": p.login, "password": pw, "name": p.name}
                for p, pw in ((good, PASSWORD), (other, "pas-le-bon"), (not_imported, PASSWORD))]
    return delegate_to("django-cas"), accounts


def test_cas_sso_check_through_ansible_playbook_against_django_cas(region, real_cas, delegate_to, tmp_path):
    cas_url, accounts = three_accounts(region, real_cas, delegate_to)
    task = {"ent.pronote.cas_sso_check": {
        "uai": region.uai, "pronote_root": region.base.rsplit(region.uai.lower(), 1)[0],
        "ca_path": region.ca_bundle, "cas_url": cas_url, "accounts": accounts}}
    run = run_tasks(region.box, tmp_path, [task], hosts=region.uai)
    result = run.result(region.uai)
    assert [c["code"] for c in result["checks"]] == ["ok", "compte_test", "sans_idpronote"], result
    assert result["failed"] is True
    dumped = json.dumps(result)
    assert "ST-" not in dumped and PASSWORD not in dumped and "pas-le-bon" not in dumped


def test_the_diagnosis_sign_on_sample_against_django_cas(region, real_cas, delegate_to, tmp_path):
    """pronote_diagnose's sign-on sample: the same causes, as findings of the step « sso »."""
    cas_url, accounts = three_accounts(region, real_cas, delegate_to)
    task = {"ent.pronote.pronote_diagnose": {
        "uai": region.uai, "url": region.base, "pronote_ca_path": region.ca_bundle, "cas_url": cas_url,
        "accounts": accounts}}
    run = run_tasks(region.box, tmp_path, [task], hosts=region.uai)
    result = run.result(region.uai)
    assert not result.get("failed"), result
    assert result["sign_on"] == {"ok": 1, "failed": 2}, result
    sso = sorted((f["code"], f["step"]) for f in result["findings"] if f["step"] == "sso")
    assert sso == [("compte_test", "sso"), ("sans_idpronote", "sso")], result["findings"]
    # the base delegates to the CAS the diagnosis was given: no finding of step 1 about the CAS
    assert not {"url_cas", "cas_inactif"} & {f["code"] for f in result["findings"]}
    dumped = json.dumps(result)
    assert "ST-" not in dumped and PASSWORD not in dumped and "pas-le-bon" not in dumped
