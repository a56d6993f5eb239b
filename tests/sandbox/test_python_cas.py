"""The real client library python-cas works against the sandbox's CAS."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from cas import CASClient

from sandbox_support import Browser, Sandbox

SERVICE = "https://127.0.0.1:9/pronote/"


def _client(sandbox: Sandbox) -> CASClient:
    return CASClient(version=3, service_url=SERVICE, server_url=sandbox.url + "mbn/cas/",
                     verify_ssl_certificate=sandbox.ca)


def test_python_cas_login_verify_logout(sandbox: Sandbox, browser: Browser) -> None:
    client = _client(sandbox)
    login_url = client.get_login_url()
    assert login_url.startswith(sandbox.url + "mbn/cas/login?")
    assert parse_qs(urlsplit(login_url).query)["service"] == [SERVICE]
    page = browser.get(login_url)
    redirect = browser.submit_login(page, "demo.eleve")
    ticket = parse_qs(urlsplit(redirect.headers["Location"]).query)["ticket"][0]

    user, attributes, pgtiou = client.verify_ticket(ticket)
    assert user == "demo.eleve"
    assert attributes["uid"] == "demo.eleve"
    assert attributes["ENTPersonProfils"] == "Elève"
    assert attributes["nom"] == "Démo-Élève" and attributes["prenom"] == "Zoé"
    assert attributes["ENTPersonStructRattach"] == sandbox.etabs("mbn")[0]["uai"]
    assert attributes["isFromNewLogin"] == "true"
    assert pgtiou is None

    # single use: python-cas reports failure as (None, {}, None)
    assert client.verify_ticket(ticket)[0] is None

    logout_url = client.get_logout_url(redirect_url=SERVICE)
    assert logout_url.startswith(sandbox.url + "mbn/cas/logout?")
    response = browser.get(logout_url)
    assert response.status_code == 302 and response.headers["Location"] == SERVICE
    assert browser.get(login_url).status_code == 200  # the form again: TGC gone


def test_python_cas_version_2_and_1(sandbox: Sandbox) -> None:
    for version in (2, 1):
        client = CASClient(version=version, service_url=SERVICE, server_url=sandbox.url + "mbn/cas/",
                           verify_ssl_certificate=sandbox.ca)
        browser = Browser(sandbox)
        redirect = browser.submit_login(browser.get(client.get_login_url()), "demo.parent")
        ticket = parse_qs(urlsplit(redirect.headers["Location"]).query)["ticket"][0]
        assert client.verify_ticket(ticket)[0] == "demo.parent"
