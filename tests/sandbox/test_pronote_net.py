"""PRONOTE.net on the main listener (docs/pronote-net-screens.md): infoMobileApp.json,
the espace pages, the CAS sign-on through the sandbox's own CAS and through an independent
one (the ticket validated over HTTPS, both attribute forms), every failure page, and the
seed's bases."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from sandbox import cas, db, pronote_net, refdata
from sandbox.pronote_net import ESPACES, MOBILE_APP_ID, PAGE_ESPACES, Changes
from sandbox.seed import SeedOptions, seed_database
from sandbox_support import (TIMEOUT, FakeCas, Sandbox, cas_success, html, one, seeded_database, start_sandbox,
                             text)

MESSAGE_503 = "Le site PRONOTE.net de cet établissement n'est pas publié."
NO_ID = ('Le serveur CAS doit être configuré pour renvoyer un attribut "idPronote".'
         " Or aucun attribut n'a été renvoyé.")


# ---------------------------------------------------------------- fixtures, helpers

@pytest.fixture(scope="module")
def fake_cas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCas]:
    """An independent CAS on loopback, with a CA of its own."""
    server = FakeCas(tmp_path_factory.mktemp("fake-cas"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory, fake_cas: FakeCas) -> Iterator[Sandbox]:
    """This module's sandbox; its PRONOTE.net trusts the fake CAS's CA too (``start --trust-ca``)."""
    own = start_sandbox(tmp_path_factory.mktemp("pronote-net-state"), trust_ca=[fake_cas.ca])
    yield own
    own.threaded.stop()


def configure(sb: Sandbox, uai: str, **changes: object) -> pronote_net.Base:
    """What ``python -m sandbox pronote-base`` does."""
    conn = sb.conn()
    try:
        return pronote_net.apply_changes(conn, uai, Changes(**changes))  # type: ignore[arg-type]
    finally:
        conn.close()


def reset(sb: Sandbox, uai: str, slug: str = "mbn", delegation: str = "CAS") -> str:
    """Publish ``uai``'s base as the contract's default, CAS on with the project's own CAS; return its URL."""
    configure(sb, uai, published=True, racine="Pronote", cas_url=f"{sb.url}{slug}/cas",
              espaces=[f"{e.key}={'on' if e.default_published else 'off'}" for e in ESPACES],
              delegations=[f"{e.key}={delegation}" for e in PAGE_ESPACES])
    return f"{sb.url}index-education/{uai.lower()}/pronote/"


def mbn(sb: Sandbox, index: int) -> str:
    return sb.etabs("mbn")[index]["uai"]


def pair(sb: Sandbox, uai: str, category: str, user_id: int | None = None) -> tuple[str, str, int]:
    """(ENT login, Identifiant PRONOTE, account id) of a person of ``category`` in ``uai`` whose
    PRONOTE account has no Identifiant CAS, the ENT knowing the pair (as after an import)."""
    etab_id = sb.query("SELECT id FROM etabs WHERE uai = ?", uai)[0][0]
    rows = sb.query(
        "SELECT a.id, a.ident, u.id AS user_id, u.login FROM pronote_accounts a JOIN users u ON u.id = a.true_user_id"
        " WHERE a.etab_id = ? AND a.category = ? AND a.identifiant_cas IS NULL AND a.kind != 'duplicate'"
        " AND (a.acces_espace_parents IS NULL OR a.acces_espace_parents = 1) AND u.login NOT LIKE 'demo.%'"
        + (" AND u.id = ?" if user_id else "") + " ORDER BY a.id DESC",
        etab_id, category, *([user_id] if user_id else []))
    account = rows[0]
    with sb.writing() as conn:
        conn.execute("DELETE FROM ent_identifiers WHERE etab_id = ? AND (user_id = ? OR ident = ?)",
                     (etab_id, account["user_id"], account["ident"]))
        conn.execute("INSERT INTO ent_identifiers (etab_id, user_id, ident) VALUES (?, ?, ?)",
                     (etab_id, account["user_id"], account["ident"]))
    return account["login"], account["ident"], account["id"]


def identifiant_cas(sb: Sandbox, account_id: int) -> str | None:
    return sb.query("SELECT identifiant_cas FROM pronote_accounts WHERE id = ?", account_id)[0][0]


def get(sb: Sandbox, url: str, session: requests.Session | None = None, **kwargs: object) -> requests.Response:
    getter = session.get if session is not None else requests.get
    return getter(url if url.startswith("https://") else sb.url + url.lstrip("/"), verify=sb.ca,  # type: ignore[operator]
                  timeout=TIMEOUT, allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)


def sign_on(sb: Sandbox, page_url: str, login: str, session: requests.Session | None = None) -> requests.Response:
    """Open ``page_url`` and sign in at the sandbox's CAS, following every redirect like a browser."""
    session = session or requests.Session()
    form_page = get(sb, page_url, session, allow_redirects=True)
    assert form_page.status_code == 200 and urlsplit(form_page.url).path.endswith("/cas/login"), form_page.text
    form = one(html(form_page), "//form[@id='fm1']")
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    data.update(username=login, password="Demo-2026!")
    action = requests.compat.urljoin(form_page.url, form.get("action"))
    return session.post(action, data=data, verify=sb.ca, timeout=TIMEOUT, allow_redirects=True)


def ticket_for(sb: Sandbox, service: str, login: str, slug: str = "mbn") -> str:
    """A service ticket of the sandbox's CAS for ``service``, not used."""
    session = requests.Session()
    page = get(sb, f"/{slug}/cas/login", session, params={"service": service})
    form = one(html(page), "//form[@id='fm1']")
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    data.update(username=login, password="Demo-2026!")
    done = session.post(requests.compat.urljoin(page.url, form.get("action")), data=data, verify=sb.ca,
                        timeout=TIMEOUT, allow_redirects=False)
    assert done.status_code == 302
    return done.headers["Location"].split("ticket=")[1]


def error_of(response: requests.Response) -> str:
    return text(one(html(response), "//div[@id='erreur']"))


# ---------------------------------------------------------------- infoMobileApp.json

def test_info_mobile_app(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    response = get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    info = response.json()
    row = sb.query("SELECT e.name, b.version FROM pronote_net b JOIN etabs e ON e.id = b.etab_id WHERE e.uai = ?", uai)[0]
    assert info["nomEtab"] == row["name"]
    assert info["version"] == [int(p) for p in row["version"].split(".")] and len(info["version"]) == 3
    assert info["CAS"] == {"actif": True, "casURL": f"{sb.url}mbn/cas"}
    published = [e for e in PAGE_ESPACES if e.default_published]
    assert info["espaces"] == [{"nom": e.name, "URL": f"mobile.{e.page}", "avecDelegation": True} for e in published]
    assert [e["nom"] for e in info["espaces"]] == ["Espace Professeurs", "Espace Vie scolaire", "Espace Direction",
                                                  "Espace Parents", "Espace Elèves"]

    configure(sb, uai, espaces=["Espace Parents=off", "academie=on"], delegations=["eleve.html=Aucune"])
    info = get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).json()
    by_name = {e["nom"]: e["avecDelegation"] for e in info["espaces"]}
    assert "Espace Parents" not in by_name and by_name["Espace Académie"] is True
    assert by_name["Espace Elèves"] is False and "Page commune" not in by_name

    configure(sb, uai, sans_cas=True)
    info = get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).json()
    assert info["CAS"] == {"actif": False, "casURL": ""}
    assert not any(e["avecDelegation"] for e in info["espaces"])

    for params in ({"id": "0D264427-EEFC-4810-A9E9-346942A862A5"}, {}, {"id": MOBILE_APP_ID.lower()}):
        assert get(sb, base + "infoMobileApp.json", params=params).status_code == 404


def test_vendor_cas_url_is_served_as_is(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    configure(sb, uai, cas_url="https://cas.monbureaunumerique.fr")
    info = get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).json()
    assert info["CAS"] == {"actif": True, "casURL": "https://cas.monbureaunumerique.fr"}
    # the browser is sent there (never followed: loopback only)
    redirect = get(sb, base + "eleve.html")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == ("https://cas.monbureaunumerique.fr/login?service="
                                            + quote(base + "eleve.html", safe=""))
    # a ticket cannot be validated there: a network error
    failed = get(sb, base + "eleve.html", params={"ticket": "ST-quelconque"})
    assert failed.status_code == 200
    assert error_of(failed) == ("Échec de l'authentification par le serveur CAS https://cas.monbureaunumerique.fr :"
                                " le ticket n'a pas pu être validé (NETWORK_ERROR).")


# ---------------------------------------------------------------- 503, 404, racine

def test_unpublished_base_answers_503_everywhere(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    configure(sb, uai, published=False)
    for path in ("", "infoMobileApp.json?id=" + MOBILE_APP_ID, "eleve.html", "eleve.html?login=true",
                 "eleve.html?ticket=ST-x", "inconnu.html"):
        response = get(sb, base + path)
        assert response.status_code == 503, path
        assert MESSAGE_503 in text(html(response)), path
    assert get(sb, f"/index-education/{uai.lower()}/autre/").status_code == 503
    configure(sb, uai, published=True)
    assert get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).status_code == 200


def test_unknown_uai_and_pages(sb: Sandbox) -> None:
    base = reset(sb, mbn(sb, 0))
    assert get(sb, "/index-education/0000000a/pronote/").status_code == 404
    assert get(sb, "/index-education/0000000a/pronote/infoMobileApp.json?id=" + MOBILE_APP_ID).status_code == 404
    assert get(sb, base + "inconnu.html").status_code == 404
    assert get(sb, base.rstrip("/")).status_code == 308


def test_uai_is_matched_case_insensitively(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    reset(sb, uai)
    upper = get(sb, f"/index-education/{uai.upper()}/Pronote/infoMobileApp.json", params={"id": MOBILE_APP_ID})
    assert upper.status_code == 200
    # the service URL is always the lower-case base
    redirect = get(sb, f"/index-education/{uai.upper()}/pronote/eleve.html")
    assert quote(f"{sb.url}index-education/{uai.lower()}/pronote/eleve.html", safe="") in redirect.headers["Location"]


def test_racine_other_than_pronote(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    reset(sb, uai)
    configure(sb, uai, racine="PronoteNet")
    try:
        assert get(sb, f"/index-education/{uai.lower()}/pronote/").status_code == 404
        assert get(sb, f"/index-education/{uai.lower()}/pronote/infoMobileApp.json",
                   params={"id": MOBILE_APP_ID}).status_code == 404
        base = f"{sb.url}index-education/{uai.lower()}/pronotenet/"
        assert get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).status_code == 200
        redirect = get(sb, base + "eleve.html")
        assert redirect.headers["Location"] == f"{sb.url}mbn/cas/login?service=" + quote(base + "eleve.html", safe="")
    finally:
        configure(sb, uai, racine="Pronote")


def test_unpublished_espace_answers_404(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    for page in ("accompagnant.html", "entreprise.html", "academie.html", "mobile.academie.html"):
        response = get(sb, base + page)
        assert response.status_code == 404, page
        assert error_of(response) == "Cet espace n'est pas disponible."
    commune = get(sb, base)
    assert commune.status_code == 200
    assert [a.get("href") for a in html(commune).xpath("//ul[@id='espaces']//a")] == [
        e.page for e in PAGE_ESPACES if e.default_published]
    configure(sb, uai, espaces=["Page commune=off", "eleve=off"])
    for page in ("", "eleve.html"):
        response = get(sb, base + page)
        assert response.status_code == 404 and error_of(response) == "Cet espace n'est pas disponible."
    assert get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).status_code == 200


# ---------------------------------------------------------------- login form, CAS redirect

def _is_login_form(response: requests.Response) -> bool:
    doc = html(response)
    labels = [text(node) for node in doc.xpath("//form[@id='identification']//label")]
    return (response.status_code == 200 and text(one(doc, "//title")) == "PRONOTE - Connexion"
            and labels == ["Identifiant", "Mot de passe"])


def test_direct_login_form(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    assert _is_login_form(get(sb, base + "eleve.html", params={"login": "true"}))
    configure(sb, uai, delegations=["eleve=Aucune"])
    assert _is_login_form(get(sb, base + "eleve.html"))
    assert get(sb, base + "professeur.html").status_code == 302
    configure(sb, uai, sans_cas=True)
    assert _is_login_form(get(sb, base + "professeur.html"))
    refused = requests.post(base + "professeur.html?login=true", data={"identifiant": "x", "motdepasse": "y"},
                            verify=sb.ca, timeout=TIMEOUT)
    assert _is_login_form(refused) and error_of(refused)


@pytest.mark.parametrize("delegation", ["CAS", "Ws-Federation"])
def test_cas_redirect(sb: Sandbox, delegation: str) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai, delegation=delegation)
    for page in ("eleve.html", "parent.html", "professeur.html"):
        response = get(sb, base + page, params={"quelconque": "1"})
        assert response.status_code == 302
        assert response.headers["Location"] == f"{sb.url}mbn/cas/login?service=" + quote(base + page, safe="")


# ---------------------------------------------------------------- sign-on

@pytest.mark.parametrize(("category", "page", "espace"), [("Eleve", "eleve.html", "Espace Elèves"),
                                                         ("Professeur", "professeur.html", "Espace Professeurs"),
                                                         ("Personnel", "viescolaire.html", "Espace Vie scolaire")])
def test_sign_on_through_the_sandbox_cas(sb: Sandbox, category: str, page: str, espace: str) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    login, ident, account_id = pair(sb, uai, category)
    assert identifiant_cas(sb, account_id) is None
    session = requests.Session()
    landed = sign_on(sb, base + page, login, session)
    assert landed.status_code == 200 and landed.url == base + page, landed.text
    assert [r.status_code for r in landed.history][-2:] == [302, 302]  # CAS -> ticket, PRONOTE -> page
    doc = html(landed)
    account = sb.query("SELECT nom, prenom FROM pronote_accounts WHERE id = ?", account_id)[0]
    assert text(one(doc, "//h1")) == espace
    assert text(one(doc, "//p[@id='utilisateur']")) == f"{account['nom'].upper()} {account['prenom']}"
    assert identifiant_cas(sb, account_id) == login
    cookie = next(c for c in session.cookies if c.name == "PRONOTE_SESSION")
    assert cookie.path == f"/index-education/{uai.lower()}/pronote/" and cookie.secure
    # the session cookie: the page at once, no CAS
    again = get(sb, base + page, session)
    assert again.status_code == 200 and text(one(html(again), "//h1")) == espace
    # a session is for one espace
    other = next(e for e in PAGE_ESPACES if e.default_published and e.page != page)
    assert get(sb, base + other.page, session).status_code == 302
    # the ticket left the URL and was consumed
    ticket_url = landed.history[-1].url
    assert "ticket=ST-" in ticket_url
    replay = get(sb, ticket_url)
    assert "(INVALID_TICKET)" in error_of(replay)


def test_parent_with_children_in_two_etabs(sb: Sandbox) -> None:
    first, second = mbn(sb, 1), mbn(sb, 2)
    rows = sb.query(
        "SELECT u.id FROM users u JOIN user_etabs a ON a.user_id = u.id JOIN etabs ea ON ea.id = a.etab_id"
        " JOIN user_etabs b ON b.user_id = u.id JOIN etabs eb ON eb.id = b.etab_id"
        " WHERE u.profile = 'Parent' AND ea.uai = ? AND eb.uai = ? ORDER BY u.id", first, second)
    assert rows, "the seed has parents with children in two établissements"
    signed = []
    for uai in (first, second):
        base = reset(sb, uai)
        candidates = [r["id"] for r in rows if sb.query(
            "SELECT 1 FROM pronote_accounts a JOIN etabs e ON e.id = a.etab_id WHERE e.uai = ? AND a.true_user_id = ?"
            " AND a.category = 'Responsable' AND a.identifiant_cas IS NULL AND a.acces_espace_parents = 1", uai, r["id"])]
        user_id = candidates[0] if not signed else signed[0][0]
        login, _ident, account_id = pair(sb, uai, "Responsable", user_id)
        landed = sign_on(sb, base + "parent.html", login)
        assert landed.url == base + "parent.html" and text(one(html(landed), "//h1")) == "Espace Parents"
        assert identifiant_cas(sb, account_id) == login
        signed.append((user_id, account_id))
    assert signed[0][0] == signed[1][0] and signed[0][1] != signed[1][1]


def test_validation_failures(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    cas_url = f"{sb.url}mbn/cas"
    unknown = get(sb, base + "eleve.html", params={"ticket": "ST-inconnu"})
    assert unknown.status_code == 200
    assert error_of(unknown) == (f"Échec de l'authentification par le serveur CAS {cas_url} :"
                                 " le ticket n'a pas pu être validé (INVALID_TICKET).")
    login, _ident, _account = pair(sb, uai, "Eleve")
    ticket = ticket_for(sb, base + "eleve.html", login)
    wrong_service = get(sb, base + "parent.html", params={"ticket": ticket})
    assert error_of(wrong_service).endswith("le ticket n'a pas pu être validé (INVALID_SERVICE).")
    # consumed as /p3/serviceValidate consumes it
    assert "(INVALID_TICKET)" in error_of(get(sb, base + "eleve.html", params={"ticket": ticket}))
    # expired
    ticket = ticket_for(sb, base + "eleve.html", login)
    sb.advance(60)
    try:
        assert "(INVALID_TICKET)" in error_of(get(sb, base + "eleve.html", params={"ticket": ticket}))
    finally:
        sb.control("POST", "clock", {"reset": True})


def test_no_id_pronote_attribute(sb: Sandbox) -> None:
    uai = mbn(sb, 2)
    base = reset(sb, uai)
    login, _ident, _account = pair(sb, uai, "Eleve")
    with sb.writing() as conn:
        conn.execute("DELETE FROM ent_identifiers WHERE user_id = (SELECT id FROM users WHERE login = ?)", (login,))
    landed = sign_on(sb, base + "eleve.html", login)
    assert landed.status_code == 200
    assert error_of(landed) == f"Échec de l'authentification par le serveur CAS {sb.url}mbn/cas : {NO_ID}"


def _is_identification_impossible(response: requests.Response) -> bool:
    doc = html(response)
    table = one(doc, "//table[@id='donnees']")
    rows = [text(r.xpath("./*")[0]) for r in table.xpath("./tbody/tr")]
    columns = [text(c) for c in table.xpath("./thead/tr/th")][1:]
    return (response.status_code == 200 and text(one(doc, "//h1")) == "Identification impossible"
            and rows == ["Nom", "Prénom", "Date de naissance", "Code postal"]
            and columns == ["Données connues", "Corrections éventuelles"])


def test_identification_impossible(sb: Sandbox) -> None:
    uai = mbn(sb, 2)
    base = reset(sb, uai)
    # an identifier that is no account of this base
    login, ident, account_id = pair(sb, uai, "Eleve")
    with sb.writing() as conn:
        conn.execute("UPDATE ent_identifiers SET ident = 'ZZZZZZZZZZZZZZZZ' WHERE ident = ?", (ident,))
    assert _is_identification_impossible(sign_on(sb, base + "eleve.html", login))
    # the account's Identifiant CAS is another login
    login, ident, account_id = pair(sb, uai, "Eleve")
    configure(sb, uai, identifiants_cas=[f"{ident}=ancien.login"])
    refused = sign_on(sb, base + "eleve.html", login)
    assert _is_identification_impossible(refused)
    assert identifiant_cas(sb, account_id) == "ancien.login"
    # the same login as the Identifiant CAS: accepted
    configure(sb, uai, identifiants_cas=[f"{ident}={login}"])
    assert text(one(html(sign_on(sb, base + "eleve.html", login)), "//h1")) == "Espace Elèves"


def test_identifiant_cas_stored_at_first_sign_on_then_another_login_refused(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    login, ident, account_id = pair(sb, uai, "Eleve")
    assert text(one(html(sign_on(sb, base + "eleve.html", login)), "//h1")) == "Espace Elèves"
    assert identifiant_cas(sb, account_id) == login
    # someone else's ENT account now carries that identifier (a wrong import)
    other_login, _other_ident, _ = pair(sb, uai, "Eleve")
    etab_id = sb.query("SELECT id FROM etabs WHERE uai = ?", uai)[0][0]
    with sb.writing() as conn:
        other = conn.execute("SELECT id FROM users WHERE login = ?", (other_login,)).fetchone()[0]
        conn.execute("DELETE FROM ent_identifiers WHERE etab_id = ? AND (ident = ? OR user_id = ?)",
                     (etab_id, ident, other))
        conn.execute("INSERT INTO ent_identifiers (etab_id, user_id, ident) VALUES (?, ?, ?)",
                     (etab_id, other, ident))
    assert _is_identification_impossible(sign_on(sb, base + "eleve.html", other_login))
    assert identifiant_cas(sb, account_id) == login


def test_no_access_to_the_espace(sb: Sandbox) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    login, _ident, account_id = pair(sb, uai, "Eleve")
    refused = sign_on(sb, base + "parent.html", login)
    assert refused.status_code == 200 and error_of(refused) == "Vous n'avez pas accès à cet espace."
    assert identifiant_cas(sb, account_id) is None
    login, ident, account_id = pair(sb, uai, "Responsable")
    configure(sb, uai, acces_parents=[f"{ident}=off"])
    refused = sign_on(sb, base + "parent.html", login)
    assert error_of(refused) == "Vous n'avez pas accès à cet espace."
    configure(sb, uai, acces_parents=[f"{ident}=on"])
    assert text(one(html(sign_on(sb, base + "parent.html", login)), "//h1")) == "Espace Parents"


# ---------------------------------------------------------------- validation over HTTPS

def network_error(cas_url: str) -> str:
    return (f"Échec de l'authentification par le serveur CAS {cas_url} :"
            " le ticket n'a pas pu être validé (NETWORK_ERROR).")


def test_the_sandbox_cas_is_called_over_https_not_in_process(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    login, _ident, _account = pair(sb, uai, "Eleve")
    before = sb.control("GET", "stats").json()["by_endpoint"].get("cas.p3_service_validate", 0)
    landed = sign_on(sb, base + "eleve.html", login)
    assert text(one(html(landed), "//h1")) == "Espace Elèves"
    assert sb.control("GET", "stats").json()["by_endpoint"]["cas.p3_service_validate"] == before + 1


def test_the_sandbox_cas_answering_in_name_value_form(sb: Sandbox) -> None:
    uai = mbn(sb, 2)
    base = reset(sb, uai)
    login, ident, account_id = pair(sb, uai, "Eleve")
    conn = sb.conn()
    try:
        cas.set_attribute_form(conn, "mbn", "name-value")
        ticket = ticket_for(sb, base + "eleve.html", login)
        raw = get(sb, "/mbn/cas/p3/serviceValidate", params={"service": base + "eleve.html", "ticket": ticket})
        assert f'<cas:attribute name="idPronote" value="{ident}"/>' in raw.text
        assert "<cas:idPronote>" not in raw.text
        landed = sign_on(sb, base + "eleve.html", login)
        assert text(one(html(landed), "//h1")) == "Espace Elèves" and identifiant_cas(sb, account_id) == login
        # no idPronote released, in that form too
        with sb.writing() as w:
            w.execute("DELETE FROM ent_identifiers WHERE ident = ?", (ident,))
        assert error_of(sign_on(sb, base + "eleve.html", login)) == (
            f"Échec de l'authentification par le serveur CAS {sb.url}mbn/cas : {NO_ID}")
    finally:
        cas.set_attribute_form(conn, "mbn", "elements")
        conn.close()
    with pytest.raises(ValueError):
        cas.set_attribute_form(sb.conn(), "mbn", "json")


@pytest.mark.parametrize("form", ["elements", "name-value", "legacy"])
def test_an_independent_cas_in_each_attribute_form(sb: Sandbox, fake_cas: FakeCas, form: str) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    configure(sb, uai, cas_url=fake_cas.url)
    _login, ident, account_id = pair(sb, uai, "Eleve")
    ticket = f"ST-{form}-ok"
    # two values: one no account of this base has, then the pupil's
    fake_cas.answers[ticket] = (200, "application/xml; charset=UTF-8", cas_success(
        "élève.indépendant", [("uid", "élève.indépendant"), ("idPronote", "ZZZZZZZZZZZZZZZZ"),
                              ("idPronote", ident), ("nom", "Indépendant")], form))
    session = requests.Session()
    landed = get(sb, base + "eleve.html", session, params={"ticket": ticket})
    assert landed.status_code == 302 and landed.headers["Location"] == base + "eleve.html", landed.text
    assert text(one(html(get(sb, base + "eleve.html", session)), "//h1")) == "Espace Elèves"
    assert identifiant_cas(sb, account_id) == "élève.indépendant"
    # PRONOTE.net asked that CAS, for this service and ticket
    asked = urlsplit(fake_cas.requests[-1])
    assert asked.path == "/cas/p3/serviceValidate"
    assert parse_qs(asked.query) == {"service": [base + "eleve.html"], "ticket": [ticket]}


def test_an_independent_cas_refusing_or_releasing_no_id(sb: Sandbox, fake_cas: FakeCas) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    configure(sb, uai, cas_url=fake_cas.url)
    fake_cas.answers["ST-refus"] = (200, "text/xml", '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">'
                                    '<cas:authenticationFailure code="INVALID_SERVICE">non</cas:authenticationFailure>'
                                    "</cas:serviceResponse>")
    assert error_of(get(sb, base + "eleve.html", params={"ticket": "ST-refus"})) == (
        f"Échec de l'authentification par le serveur CAS {fake_cas.url} : le ticket n'a pas pu être validé"
        " (INVALID_SERVICE).")
    fake_cas.answers["ST-sans-id"] = (200, "text/xml", cas_success("x", [("uid", "x")], "name-value"))
    assert error_of(get(sb, base + "eleve.html", params={"ticket": "ST-sans-id"})) == (
        f"Échec de l'authentification par le serveur CAS {fake_cas.url} : {NO_ID}")


HTML_PAGE = "<!DOCTYPE html><html><head><meta charset=utf-8><title>CAS</title></head><body>Maintenance</body></html>"
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
       '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>'
       "<cas:user>&e;</cas:user></cas:authenticationSuccess></cas:serviceResponse>")


@pytest.mark.parametrize(("status", "content_type", "body"), [
    (200, "text/html", HTML_PAGE),
    (200, "text/html", "<html><body><p>Service indisponible</p></body></html>"),
    (200, "text/plain", "yes\nquelqu.un\n"),
    (200, "application/xml", XXE),
    (200, "application/xml", '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>'
                             "</cas:authenticationSuccess></cas:serviceResponse>"),
    (500, "text/html", "<html><body>Erreur</body></html>"),
    (302, "text/html", ""),
], ids=["html5", "xhtml", "cas1", "xxe", "no-user", "http-500", "redirect"])
def test_an_answer_that_is_not_a_cas_answer_is_a_network_error(sb: Sandbox, fake_cas: FakeCas, status: int,
                                                                content_type: str, body: str) -> None:
    uai = mbn(sb, 0)
    base = reset(sb, uai)
    configure(sb, uai, cas_url=fake_cas.url)
    ticket = f"ST-bad-{status}-{len(body)}"
    fake_cas.answers[ticket] = (status, content_type, body)
    failed = get(sb, base + "eleve.html", params={"ticket": ticket})
    assert failed.status_code == 200 and error_of(failed) == network_error(fake_cas.url)
    assert "PRONOTE_SESSION" not in failed.cookies


def test_an_unreachable_or_untrusted_cas_is_a_network_error(sb: Sandbox, tmp_path: Path) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    # a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    refused_url = f"https://127.0.0.1:{free}/cas"
    configure(sb, uai, cas_url=refused_url)
    failed = get(sb, base + "eleve.html", params={"ticket": "ST-x"})
    assert error_of(failed) == network_error(refused_url) and "connection failed" in failed.text
    # a CAS whose certificate comes from a CA nobody gave the sandbox
    untrusted = FakeCas(tmp_path / "untrusted")
    try:
        untrusted.answers["ST-x"] = (200, "text/xml", cas_success("x", [("idPronote", "X")]))
        configure(sb, uai, cas_url=untrusted.url)
        failed = get(sb, base + "eleve.html", params={"ticket": "ST-x"})
        assert error_of(failed) == network_error(untrusted.url) and "TLS failure" in failed.text
        assert untrusted.requests == []
    finally:
        untrusted.stop()


def test_a_cas_that_does_not_answer_in_time_is_a_network_error(sb: Sandbox) -> None:
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # the kernel completes the connection; nobody ever answers
    url = f"https://127.0.0.1:{silent.getsockname()[1]}/cas"
    configure(sb, uai, cas_url=url)
    sb.threaded.runtime.settings.update({"cas_validation_timeout_s": 0.5})
    try:
        started = time.monotonic()
        failed = get(sb, base + "eleve.html", params={"ticket": "ST-x"})
        assert error_of(failed) == network_error(url) and "no answer within 0.5 s" in failed.text
        assert 0.5 <= time.monotonic() - started < 5
    finally:
        sb.threaded.runtime.settings.update({"cas_validation_timeout_s": 5.0})
        silent.close()


def test_parallel_sign_ons_while_the_cas_writes_to_the_same_database(sb: Sandbox) -> None:
    """Each sign-on's PRONOTE.net request waits for the CAS, which consumes the ticket in the same SQLite
    database: no transaction may be open meanwhile, or they would block each other."""
    uai = mbn(sb, 2)
    base = reset(sb, uai)
    logins = [pair(sb, uai, category)[0] for category in ("Eleve", "Eleve", "Eleve", "Professeur")]
    pages = ["eleve.html"] * 3 + ["professeur.html"]
    results: list[str] = [""] * len(logins)

    def one_sign_on(index: int) -> None:
        landed = sign_on(sb, base + pages[index], logins[index])
        results[index] = text(one(html(landed), "//h1"))

    threads = [threading.Thread(target=one_sign_on, args=(i,)) for i in range(len(logins))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["Espace Elèves"] * 3 + ["Espace Professeurs"]


# ---------------------------------------------------------------- faults

def test_pronote_net_requests_are_subject_to_faults(sb: Sandbox) -> None:
    base = reset(sb, mbn(sb, 0))
    sb.control("POST", "faults", {"error_rate": 1.0})
    for path in ("infoMobileApp.json?id=" + MOBILE_APP_ID, "eleve.html", ""):
        assert get(sb, base + path).status_code == 500, path
    sb.control("POST", "faults", {"error_rate": 0, "latency_ms": 300})
    started = time.monotonic()
    assert get(sb, base + "infoMobileApp.json", params={"id": MOBILE_APP_ID}).status_code == 200
    assert time.monotonic() - started >= 0.3
    stats = sb.control("GET", "stats").json()
    assert stats["by_kind"]["pronote_net"] >= 4


def test_a_sign_on_under_latency_lands_and_a_cas_slower_than_the_timeout_is_a_network_error(sb: Sandbox) -> None:
    """The latency fault delays the CAS's validation request too (it is a CAS request like any other)."""
    uai = mbn(sb, 1)
    base = reset(sb, uai)
    sb.control("POST", "faults", {"latency_ms": 200})
    landed = sign_on(sb, base + "eleve.html", pair(sb, uai, "Eleve")[0])
    assert text(one(html(landed), "//h1")) == "Espace Elèves"
    sb.threaded.runtime.settings.update({"cas_validation_timeout_s": 0.1})
    try:
        failed = sign_on(sb, base + "eleve.html", pair(sb, uai, "Eleve")[0])
        assert error_of(failed) == network_error(f"{sb.url}mbn/cas")
    finally:
        sb.threaded.runtime.settings.update({"cas_validation_timeout_s": 5.0})


# ---------------------------------------------------------------- the seed

#: sha256 of the tables that existed before PRONOTE.net, seed 42 and 6 établissements:
#: the bases are drawn on a stream of their own, nothing else moved.
EXISTING_DATA_SHA256 = "616c0653618f9daa5455f9e3f727eef111494e8f5e7a7c3b7abc7d0156917c19"
EXISTING_TABLES = ("projects", "etabs", "users", "user_etabs", "parent_links", "ent_groups", "group_members",
                   "admin_sites", "services", "access_rules", "access_rule_etabs", "access_rule_groups",
                   "pronote_accounts", "pronote_children", "ent_identifiers")


def test_seed_keeps_the_existing_data_and_is_deterministic(tmp_path: Path) -> None:
    conn = seeded_database(tmp_path / "a.db")
    digest = hashlib.sha256()
    for table in EXISTING_TABLES:
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):  # noqa: S608
            digest.update(repr(tuple(row)).encode())
    assert digest.hexdigest() == EXISTING_DATA_SHA256
    again = seeded_database(tmp_path / "b.db")
    assert db.dump_data(conn) == db.dump_data(again)
    assert "-- pronote_net\n(1, '" in db.dump_data(conn)


def test_seed_bases(tmp_path: Path) -> None:
    conn = seeded_database(tmp_path / "r.db", etabs=12)
    bases = pronote_net.all_bases(conn)
    assert len(bases) == 12 and all(b.published for b in bases)
    current = int(refdata.CURRENT_PRONOTE_VERSION.split()[-1])
    years = [b.version_tuple()[0] for b in bases]
    assert set(years) == {current, current - 1} and years.count(current - 1) == 2
    last_year = {r[0] for r in conn.execute(
        "SELECT DISTINCT etab_id FROM services WHERE url LIKE '%index-education.net/pronote%'")}
    racines = [b for b in bases if b.racine != "Pronote"]
    vendor = [b for b in bases if b.cas_actif and not b.cas_project]
    espaces = [b for b in bases if any(b.espace_published(e) != e.default_published for e in ESPACES)]
    assert [b.racine for b in racines] == ["PronoteNet"] * 2 and len(vendor) == 2 and len(espaces) == 2
    messy = {b.uai for b in racines + vendor + espaces}
    assert len(messy) == 6
    slugs = {r[0]: r[1] for r in conn.execute("SELECT e.id, p.slug FROM etabs e JOIN projects p ON p.id = e.project_id")}
    for base in bases:
        if base in vendor:
            assert base.cas_url == refdata.PROJECTS_BY_SLUG[slugs[base.etab["id"]]].real_cas_url
            continue
        on = base.etab["id"] in last_year
        assert base.cas_actif == on and base.cas_project == (slugs[base.etab["id"]] if on else "")
        assert all(base.delegation(e) == ("CAS" if on else "Aucune") for e in PAGE_ESPACES)
        if base not in espaces:
            assert all(base.espace_published(e) == e.default_published for e in ESPACES)
    db.migrate(tmp_path / "x.db")
    rendered = seed_database(db.connect(tmp_path / "x.db"), SeedOptions(etabs=12)).render()
    assert "racine « PronoteNet »" in rendered and "URL de l'éditeur" in rendered and "non publié" in rendered
    assert not any(line.startswith("  0") for line in rendered.split("PRONOTE.net (")[1].splitlines())


def test_migration_gives_existing_regions_default_bases(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = db.connect(path)
    for number, script in enumerate(db.MIGRATIONS[:2], start=1):
        conn.executescript("BEGIN IMMEDIATE;" + script + f";PRAGMA user_version = {number}; COMMIT;")
    conn.executescript(
        "INSERT INTO projects VALUES (1, 'mbn', 'Mon Bureau Numérique', 'https://cas.monbureaunumerique.fr');"
        "INSERT INTO etabs (id, project_id, uai, name, kind, city, postal_code) VALUES"
        " (1, 1, '0671824U', 'Collège A', 'Collège', 'Strasbourg', '67000'),"
        " (2, 1, '0679674B', 'Collège B', 'Collège', 'Strasbourg', '67000');"
        "INSERT INTO services (etab_id, code, intitule, sso_type, url, xiti, regroupement, bloc_version) VALUES"
        " (1, 'PRONOTE', 'pronote', 'SSO Pronote avec CAS', 'https://0671824U.index-education.net/pronote/',"
        " 'Aucun', 'Scolarité', 'PRONOTE 2024');")
    conn.close()
    assert db.migrate(path) == len(db.MIGRATIONS)
    conn = db.connect(path)
    first, second = pronote_net.load_base(conn, "0671824U"), pronote_net.load_base(conn, "0679674b")
    assert first is not None and second is not None
    assert (first.published, first.racine, first.cas_actif, first.cas_project) == (True, "Pronote", True, "mbn")
    assert (second.cas_actif, second.cas_project) == (False, "")
    assert all(first.delegation(e) == "CAS" and second.delegation(e) == "Aucune" for e in PAGE_ESPACES)
    assert all(first.espace_published(e) == e.default_published for e in ESPACES)
