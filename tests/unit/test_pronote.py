"""PRONOTE.net: infoMobileApp.json, the sign-on's classification, the delegation plan (no network)."""
from __future__ import annotations

import json

import pytest
import requests

from ansible_collections.ent.pronote.plugins.module_utils._delegation import DelegationHandler, wanted_settings
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    NotFoundError,
    TLSError,
    TransientError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, request
from ansible_collections.ent.pronote.plugins.module_utils._projects import same_cas
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    ESPACE_OF_PROFILE,
    ESPACES,
    BaseSettings,
    PronoteInfo,
    base_url,
    read_info,
)
from ansible_collections.ent.pronote.plugins.module_utils._sso import (
    CAUSES,
    SsoAccount,
    check_base,
    classify,
    scrub,
)

from .fakes import Reply, ScriptedAdapter, build_response, mount

HTTP = HttpSettings(retries=0)
BASE = "https://0671234c.index-education.net/pronote/"
CAS = "https://cas.monbureaunumerique.fr"


def session_answering(reply: Reply) -> tuple[requests.Session, ScriptedAdapter]:
    adapter = ScriptedAdapter(lambda req: reply)
    return mount(requests.Session(), adapter), adapter


# --- infoMobileApp.json -------------------------------------------------------------------

INFO = {"nomEtab": "Collège Molière", "version": [2024, 3, 2], "CAS": {"actif": True, "casURL": CAS},
        "espaces": [{"nom": "Espace Elèves", "URL": "mobile.eleve.html", "avecDelegation": True},
                    {"nom": "Espace Parents", "URL": "mobile.parent.html", "avecDelegation": False}]}


def test_info_reads_version_cas_and_espaces():
    session, adapter = session_answering(Reply(200, json.dumps(INFO), {"Content-Type": "application/json"}))
    info = read_info(session, HTTP, BASE)
    assert adapter.log[0].path == "/pronote/infoMobileApp.json"
    assert adapter.log[0].query == {"id": "0D264427-EEFC-4810-A9E9-346942A862A4"}
    assert (info.published, info.version, info.block_version, info.cas_active, info.cas_url) == (
        True, (2024, 3, 2), "PRONOTE 2024", True, CAS)
    assert info.espaces == {"Espace Elèves": True, "Espace Parents": False}
    assert info.as_result()["version"] == "2024.3.2"


def test_an_unpublished_base_reads_as_such_and_is_not_retried_as_an_error():
    session, adapter = session_answering(Reply(503, "<p>Le site PRONOTE.net de cet établissement n'est pas publié.</p>"))
    info = read_info(session, HTTP, BASE)
    assert not info.published and info.block_version is None and len(adapter.log) == 1


def test_a_wrong_address_names_the_racine():
    session, _ = session_answering(Reply(404, "<p>La page demandée n'existe pas.</p>"))
    with pytest.raises(NotFoundError, match="racine"):
        read_info(session, HTTP, BASE)


def test_cas_off_has_no_url():
    data = {**INFO, "CAS": {"actif": False, "casURL": CAS}}
    session, _ = session_answering(Reply(200, json.dumps(data), {"Content-Type": "application/json"}))
    info = read_info(session, HTTP, BASE)
    assert not info.cas_active and info.cas_url == ""


def test_base_url_of_the_hosting_and_of_a_stand_in():
    assert base_url("0671234C") == BASE
    assert base_url("0671234C", "https://127.0.0.1:8443/index-education") == \
        "https://127.0.0.1:8443/index-education/0671234c/pronote/"


def test_same_cas_ignores_case_default_port_and_trailing_slash():
    assert same_cas("https://CAS.ent27.fr/", "https://cas.ent27.fr:443")
    assert not same_cas("https://cas.ent27.fr", "https://cas.ent27.fr/cas")
    assert not same_cas("", "")


# --- client certificates in the HTTP layer ------------------------------------------------

@pytest.mark.parametrize("reason", ["[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required",
                                    "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate",
                                    "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"])
def test_a_refused_client_certificate_is_explained(reason):
    session, _ = session_answering(Reply())
    session.get_adapter("https://").handler = lambda req: requests.exceptions.SSLError(reason)
    with pytest.raises(TLSError, match="demands a client certificate.*client_cert and client_key"):
        request(session, HTTP, "GET", "https://hosting.example/", "read the bases")


def test_a_handshake_cut_short_points_at_the_client_certificate():
    session, _ = session_answering(Reply())
    session.get_adapter("https://").handler = lambda req: requests.exceptions.SSLError(
        "EOF occurred in violation of protocol (_ssl.c:2427)")
    with pytest.raises(TLSError, match="demands a client certificate.*client_cert and client_key"):
        request(session, HTTP, "GET", "https://hosting.example/", "read the bases")


def test_an_unknown_server_ca_asks_for_ca_path():
    session, _ = session_answering(Reply())
    session.get_adapter("https://").handler = lambda req: requests.exceptions.SSLError(
        "certificate verify failed: unable to get local issuer certificate")
    with pytest.raises(TLSError, match="Give the CA that signed it with ca_path"):
        request(session, HTTP, "GET", "https://hosting.example/", "read the bases")


def test_a_key_without_certificate_is_a_configuration_error(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="client_key is given without client_cert"):
        HttpSettings(client_key=str(tmp_path / "k.pem")).cert
    with pytest.raises(ConfigurationError, match="not found"):
        HttpSettings(client_cert=str(tmp_path / "missing.pem")).cert


def test_connection_errors_are_transient():
    session, _ = session_answering(Reply())
    session.get_adapter("https://").handler = lambda req: requests.exceptions.ConnectionError("refused")
    with pytest.raises(TransientError, match="cannot connect"):
        request(session, HTTP, "GET", "https://hosting.example/", "read the bases")


# --- the sign-on: what infoMobileApp.json already says ---------------------------------------

PUPIL = SsoAccount("Elève", "lea.martin", "secret-password", "MARTIN Léa")


def info(**changes) -> PronoteInfo:
    values = dict(url=BASE, published=True, name="X", version=(2024, 3, 2), cas_active=True, cas_url=CAS,
                  espaces={"Espace Elèves": True, "Espace Parents": True, "Espace Professeurs": True})
    values.update(changes)
    return PronoteInfo(**values)


@pytest.mark.parametrize("changes, code", [
    ({"published": False}, "base_non_publiee"),
    ({"cas_active": False, "cas_url": ""}, "cas_inactif"),
    ({"cas_url": "https://cas.autre-ent.fr"}, "url_cas"),
    ({"espaces": {"Espace Parents": True}}, "espace_non_publie"),
    ({"espaces": {"Espace Elèves": False}}, "espace_sans_delegation"),
])
def test_what_the_public_side_says_is_classified_without_signing_in(changes, code):
    check = check_base(info(**changes), CAS, PUPIL)
    assert check is not None and not check.ok and check.code == code
    assert check.cause and check.fix and "{" not in check.cause + check.fix


def test_a_healthy_base_raises_nothing_before_the_sign_on():
    assert check_base(info(), CAS + "/", PUPIL) is None


# --- the sign-on: the page it ends on --------------------------------------------------------

def page(status: int, body: str) -> requests.Response:
    prepared = requests.Request("GET", BASE + "eleve.html").prepare()
    return build_response(ScriptedAdapter(lambda r: Reply()), prepared, Reply(status, body))


ESPACE = ESPACE_OF_PROFILE["Elève"]


@pytest.mark.parametrize("status, body, code", [
    (200, '<div id="erreur">Échec de l\'authentification par le serveur CAS https://x/cas : Le serveur CAS doit '
          'être configuré pour renvoyer un attribut "idPronote". Or aucun attribut n\'a été renvoyé.</div>',
     "sans_idpronote"),
    (200, "<h1>Identification impossible</h1><table id='donnees'></table>", "identification_impossible"),
    (200, '<div id="erreur">Vous n\'avez pas accès à cet espace.</div>', "acces_espace_refuse"),
    (200, '<div id="erreur">Échec de l\'authentification par le serveur CAS https://x/cas : le ticket n\'a pas '
          'pu être validé (INVALID_TICKET).</div>', "ticket_invalide"),
    (200, '<div id="erreur">Échec de l\'authentification par le serveur CAS https://x/cas : le ticket n\'a pas '
          'pu être validé (INVALID_SERVICE).</div>', "ticket_invalide"),
    (200, '<div id="erreur">Échec de l\'authentification par le serveur CAS https://x/cas : le ticket n\'a pas '
          'pu être validé (NETWORK_ERROR).</div>', "cas_injoignable"),
    (404, "<p>Cet espace n'est pas disponible.</p>", "espace_non_publie"),
    (404, "<p>La page demandée n'existe pas.</p>", "base_introuvable"),
    (503, "<p>pas publié</p>", "base_non_publiee"),
    (200, "<h1>Espace Elèves</h1><p id='utilisateur'>DUPONT Marc</p>", "mauvaise_personne"),
    (200, "<h1>Autre chose</h1>", "page_inattendue"),
])
def test_failures_are_classified_with_the_faq_causes(status, body, code):
    check = classify(page(status, body), PUPIL, ESPACE)
    assert (check.ok, check.code) == (False, code)
    assert (check.cause, check.fix) == (CAUSES[code][0].format(espace=ESPACE.name, url=BASE + "eleve.html", cas_url="", expected=""),
                                        CAUSES[code][1].format(espace=ESPACE.name, url=BASE + "eleve.html", cas_url="", expected=""))


def test_landing_in_the_espace_as_the_person_is_a_success():
    check = classify(page(200, "<h1>Espace Elèves</h1><p id='utilisateur'>MARTIN Lea</p>"), PUPIL, ESPACE)
    assert check.ok and check.code == "ok"
    nameless = SsoAccount("Elève", "x", "y")
    assert classify(page(200, "<h1>Espace Elèves</h1><p id='utilisateur'>X Y</p>"), nameless, ESPACE).ok


def test_tickets_are_scrubbed():
    assert scrub("https://p/eleve.html?ticket=ST-123-abc&x=1") == "https://p/eleve.html?ticket=…&x=1"


# --- the delegation's plan -------------------------------------------------------------------

def current(**changes) -> BaseSettings:
    values = dict(published=True, cas=False, project="Autre", cas_url="",
                  delegation={"Espace Elèves": "Aucune", "Espace Parents": "Aucune"}, racine="Pronote",
                  espaces={"Page commune": True, "Espace Elèves": True, "Espace Parents": True})
    values.update(changes)
    return BaseSettings(**values)


PARAMS = {"cas": True, "project": "Mon Bureau Numérique", "cas_url": CAS, "espaces_delegation": None,
          "published_espaces": None, "racine": "Pronote", "published": True}


def test_wanted_settings_delegate_every_espace_to_the_project():
    wanted = wanted_settings(current(), PARAMS)
    assert (wanted.cas, wanted.project, wanted.cas_url) == (True, "Mon Bureau Numérique", CAS)
    assert wanted.delegation == {"Espace Elèves": "CAS", "Espace Parents": "CAS"}
    assert wanted.espaces == current().espaces  # left as they are


def test_an_explicit_espace_choice_and_publication():
    wanted = wanted_settings(current(), {**PARAMS, "espaces_delegation": {"Espace Parents": "Ws-Federation"},
                                         "published_espaces": ["Espace Elèves"]})
    assert wanted.delegation == {"Espace Elèves": "CAS", "Espace Parents": "Ws-Federation"}
    assert wanted.espaces == {"Page commune": False, "Espace Elèves": True, "Espace Parents": False}


@pytest.mark.parametrize("changes, message", [
    ({"project": None, "cas_url": None}, "needs project"),
    ({"project": "Mon ENT Inconnu"}, "not an ENT project"),
    ({"cas_url": "http://cas.example"}, "https://"),
    ({"espaces_delegation": {"Espace Inconnu": "CAS"}}, "unknown espace"),
    ({"espaces_delegation": {"Espace Elèves": "SAML"}}, "is not one of"),
    ({"published_espaces": ["Espace Fantôme"]}, "unknown espace"),
])
def test_bad_options_are_refused_naming_them(changes, message):
    with pytest.raises(ValidationError, match=message):
        wanted_settings(current(), {**PARAMS, **changes})


class FakeHosting:
    """The hosting console of one base, with the rule that settings change only while unpublished."""

    def __init__(self, settings: BaseSettings, fail: str | None = None) -> None:
        self.settings = settings
        self.fail = fail
        self.calls: list[str] = []

    def read(self, uai):
        from ansible_collections.ent.pronote.plugins.module_utils._pronote import BasePages

        return BasePages(BaseSettings(**vars(self.settings)), None, None, None)

    def set_published(self, pages, published, uai):
        self.calls.append("publier" if published else "arreter")
        self._maybe_fail("publier" if published else "arreter")
        self.settings.published = published

    def save_delegation(self, pages, wanted, uai):
        self.calls.append("delegation")
        assert not self.settings.published, "settings saved while published"
        self._maybe_fail("enregistrer")
        project_url = {"Mon Bureau Numérique": CAS}.get(wanted.project, wanted.cas_url)
        self.settings.cas, self.settings.project, self.settings.cas_url = wanted.cas, wanted.project, project_url
        self.settings.delegation = dict(wanted.delegation)

    def save_publication(self, pages, wanted, uai):
        self.calls.append("publication")
        assert not self.settings.published, "settings saved while published"
        self.settings.racine, self.settings.espaces = wanted.racine, dict(wanted.espaces)

    def _maybe_fail(self, action):
        if self.fail == action:
            self.fail = None
            raise TransientError(f"HTTP 500 on {action}")


def test_settings_change_between_stopping_and_publishing_again():
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure

    console = FakeHosting(current())
    outcome = ensure(DelegationHandler(console, "0671234C", PARAMS), False, attempts=1)
    assert outcome.changed and console.calls == ["arreter", "delegation", "publier"]
    assert console.settings.published and console.settings.cas_url == CAS
    again = ensure(DelegationHandler(console, "0671234C", PARAMS), False, attempts=1)
    assert not again.changed and console.calls == ["arreter", "delegation", "publier"]


def test_a_failure_in_the_middle_leaves_the_base_published_and_a_rerun_finishes():
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure

    console = FakeHosting(current(), fail="enregistrer")
    with pytest.raises(TransientError):
        ensure(DelegationHandler(console, "0671234C", PARAMS), False, attempts=1)
    assert console.settings.published and not console.settings.cas  # published again, nothing saved
    assert console.calls == ["arreter", "delegation", "publier"]
    outcome = ensure(DelegationHandler(console, "0671234C", PARAMS), False, attempts=1)
    assert outcome.changed and console.settings.cas and console.settings.published


def test_check_mode_predicts_and_touches_nothing():
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure

    console = FakeHosting(current())
    outcome = ensure(DelegationHandler(console, "0671234C", PARAMS), True)
    assert outcome.changed and console.calls == [] and outcome.after.cas


def test_a_project_whose_url_is_not_the_ents_cas_is_refused():
    console = FakeHosting(current(cas=True, project="Mon Bureau Numérique", cas_url="https://cas.autre.fr",
                                  delegation={"Espace Elèves": "CAS", "Espace Parents": "CAS"}))
    handler = DelegationHandler(console, "0671234C", PARAMS)
    with pytest.raises(ValidationError, match="not to the ENT's CAS"):
        handler.plan(handler.read())


class Killed(BaseException):
    """SIGKILL: no ``finally`` runs (simulated by an exception the handler's ``finally`` cannot undo)."""


def test_a_run_killed_while_unpublished_is_published_again_first_by_the_next(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import unpublished_mark
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure

    mark = unpublished_mark("https://hebergement.example/", "0671234C", str(tmp_path))
    console = FakeHosting(current())

    def killed_while_saving(pages, wanted, uai):
        console.calls.append("delegation")
        console.set_published = lambda *a: (_ for _ in ()).throw(Killed())  # the process is gone
        raise Killed()

    console.save_delegation = killed_while_saving
    with pytest.raises(Killed):
        ensure(DelegationHandler(console, "0671234C", PARAMS, mark), False, attempts=1)
    assert not console.settings.published and mark.exists()  # what a SIGKILL leaves

    nxt = FakeHosting(console.settings)
    handler = DelegationHandler(nxt, "0671234C", PARAMS, mark)
    assert handler.recover() is True
    assert nxt.calls == ["publier"] and nxt.settings.published and not mark.exists()
    outcome = ensure(handler, False, attempts=1)
    assert outcome.changed and nxt.settings.cas and nxt.settings.published
    assert nxt.calls == ["publier", "arreter", "delegation", "publier"] and not mark.exists()


def test_no_mark_no_recovery_and_a_base_unpublished_on_purpose_stays_so(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import unpublished_mark

    mark = unpublished_mark("https://hebergement.example/", "0671234C", str(tmp_path))
    console = FakeHosting(current(published=False))
    assert DelegationHandler(console, "0671234C", PARAMS, mark).recover() is False and console.calls == []
    mark.set()
    unpublished = {**PARAMS, "published": False}
    assert DelegationHandler(console, "0671234C", unpublished, mark).recover() is False
    assert console.calls == [] and not mark.exists()


def test_a_finished_run_leaves_no_mark(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import unpublished_mark
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure

    mark = unpublished_mark("https://hebergement.example/", "0671234C", str(tmp_path))
    console = FakeHosting(current(), fail="enregistrer")
    with pytest.raises(TransientError):
        ensure(DelegationHandler(console, "0671234C", PARAMS, mark), False, attempts=1)
    assert console.settings.published and not mark.exists()


# --- the hosting console's screens are checked against _pronote.SCREENS ----------------
def _delegation_page(cas_label: str = "Définir une délégation CAS", cas_choice: str = "CAS",
                     espaces: tuple = ESPACES) -> str:
    rows = "".join(
        f'<tr><td><label for="d{i}">Délégation {e.name}</label></td><td><select id="d{i}" name="d{i}">'
        f'<option value="CAS">{cas_choice}</option><option value="Ws-Federation">Ws-Federation</option>'
        '<option value="Aucune" selected>Aucune</option></select></td></tr>' for i, e in enumerate(espaces))
    return ('<html><body><form id="form-delegation" method="post">'
            f'<input type="checkbox" id="c" name="cas_actif" value="1"><label for="c">{cas_label}</label>'
            '<label for="p">Projet ENT</label><select id="p" name="projet"><option value="autre">Autre</option>'
            '</select><label for="u">URL du serveur CAS</label><input type="text" id="u" name="cas_url">'
            f'<table>{rows}</table></form></body></html>')


def _delegation_form(html: str):
    from ansible_collections.ent.pronote.plugins.module_utils._html import parse, read_form

    return read_form(parse(html, "https://h/bases/x/delegation"), "form-delegation", "https://h/bases/x/delegation")


def test_the_delegation_screen_as_documented_passes_its_check():
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import DELEGATION_SCREEN

    form = DELEGATION_SCREEN.check_form(_delegation_form(_delegation_page()), "0671234C")
    assert form.screen == "Déléguer l'authentification"


@pytest.mark.parametrize(("page", "kind", "expected", "found"), [
    ({"cas_label": "Activer la délégation CAS"}, "champ", "Définir une délégation CAS", "Activer la délégation CAS"),
    ({"cas_choice": "CAS 3.0"}, "choix de « Délégation Espace Direction »", "CAS", "CAS 3.0"),
    ({"espaces": ESPACES[1:]}, "champ", "Délégation Espace Direction", "Délégation Espace Professeurs"),
])
def test_a_delegation_screen_that_differs_is_named(page, kind, expected, found):
    from ansible_collections.ent.pronote.plugins.module_utils._errors import ScreenMismatchError
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import DELEGATION_SCREEN

    with pytest.raises(ScreenMismatchError) as err:
        DELEGATION_SCREEN.check_form(_delegation_form(_delegation_page(**page)), "0671234C")
    assert (err.value.screen, err.value.kind, err.value.expected) == ("Déléguer l'authentification", kind, expected)
    assert found in err.value.found
    assert str(err.value).startswith("Écran « Déléguer l'authentification » (0671234C) non conforme — attendu : ")
