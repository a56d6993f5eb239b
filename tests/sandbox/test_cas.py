"""CAS protocol 3.0 of the sandbox."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from sandbox_support import Browser, Sandbox, html, one, text, ticket_of

NS = {"cas": "http://www.yale.edu/tp/cas"}
SERVICE = "https://127.0.0.1:9/app/?x=1"


def _parse(response) -> etree._Element:  # noqa: ANN001
    assert response.headers["Content-Type"].startswith("application/xml")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(response.content, parser)


def _validate(browser: Browser, ticket: str | None, service: str | None = SERVICE, path: str = "p3/serviceValidate",
              slug: str = "mbn", **params: str):  # noqa: ANN202
    query = dict(params)
    if ticket is not None:
        query["ticket"] = ticket
    if service is not None:
        query["service"] = service
    return browser.get(f"/{slug}/cas/{path}", params=query)


def _failure_code(response) -> str:  # noqa: ANN001
    codes = _parse(response).xpath("cas:authenticationFailure/@code", namespaces=NS)
    assert len(codes) == 1, response.text
    return codes[0]


def test_login_form_has_hidden_fields(browser: Browser) -> None:
    page = browser.get("/mbn/cas/login", params={"service": SERVICE})
    assert page.status_code == 200
    doc = html(page)
    form = one(doc, "//form[@id='fm1']")
    assert form.get("method") == "post"
    hidden = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    assert set(hidden) == {"lt", "execution", "_eventId"}
    assert hidden["_eventId"] == "submit" and hidden["lt"].startswith("LT-") and hidden["execution"]
    assert one(form, ".//input[@name='username']") is not None
    assert one(form, ".//input[@name='password']").get("type") == "password"
    assert parse_qs(urlsplit(form.get("action")).query)["service"] == [SERVICE]
    assert not doc.xpath("//div[@id='msg']")


def test_wrong_password_shows_message_and_no_cookie(browser: Browser) -> None:
    response = browser.cas_login("mbn", "admin.mbn", "mauvais")
    assert response.status_code == 200
    assert text(one(html(response), "//div[@class='errors' and @id='msg']")) == "Identifiant ou mot de passe incorrect."
    assert "CASTGC" not in response.cookies
    unknown = browser.cas_login("mbn", "personne.inconnue")
    assert text(one(html(unknown), "//div[@id='msg']")) == "Identifiant ou mot de passe incorrect."


def test_user_of_another_project_cannot_sign_in(browser: Browser) -> None:
    response = browser.cas_login("occitanie", "admin.mbn")
    assert text(one(html(response), "//*[@class='cas__alert-message']")) == "Identifiant ou mot de passe incorrect."


def test_replayed_or_forged_login_ticket_is_refused(browser: Browser) -> None:
    page = browser.get("/mbn/cas/login")
    form = one(html(page), "//form[@id='fm1']")
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    data.update(username="admin.mbn", password="Demo-2026!")
    assert browser.post("/mbn/cas/login", data).status_code == 200  # success page, consumes lt
    browser.session.cookies.clear()
    again = browser.post("/mbn/cas/login", data)
    assert again.status_code == 200
    assert "expiré" in text(one(html(again), "//div[@id='msg']"))
    assert "CASTGC" not in again.cookies


def test_success_sets_tgc_and_redirects_with_ticket(browser: Browser) -> None:
    response = browser.cas_login("mbn", "demo.eleve", service=SERVICE)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://127.0.0.1:9/app/?x=1&ticket=ST-")
    cookie = next(c for c in browser.session.cookies if c.name == "CASTGC")
    assert cookie.path == "/mbn/cas/" and cookie.secure
    assert "httponly" in response.headers["Set-Cookie"].lower()


def test_without_service_shows_connexion_reussie(browser: Browser) -> None:
    response = browser.cas_login("mbn", "demo.eleve")
    assert response.status_code == 200
    assert text(one(html(response), "//h1")) == "Connexion réussie"
    again = browser.get("/mbn/cas/login")
    assert text(one(html(again), "//h1")) == "Connexion réussie"


def test_tgc_reuse_and_renew(browser: Browser) -> None:
    first = browser.cas_login("mbn", "demo.eleve", service=SERVICE)
    reused = browser.get("/mbn/cas/login", params={"service": SERVICE})
    assert reused.status_code == 302 and ticket_of(reused) != ticket_of(first)
    root = _parse(_validate(browser, ticket_of(reused)))
    assert root.xpath("string(//cas:isFromNewLogin)", namespaces=NS) == "false"
    # renew: the form again, even with a TGC
    renew_page = browser.get("/mbn/cas/login", params={"service": SERVICE, "renew": "true"})
    assert renew_page.status_code == 200 and html(renew_page).xpath("//form[@id='fm1']")
    renewed = browser.submit_login(renew_page, "demo.eleve")
    ok = _parse(_validate(browser, ticket_of(renewed), renew="true"))
    assert ok.xpath("string(//cas:isFromNewLogin)", namespaces=NS) == "true"
    # a ticket from the TGC does not satisfy renew=true
    from_tgc = browser.get("/mbn/cas/login", params={"service": SERVICE})
    assert _failure_code(_validate(browser, ticket_of(from_tgc), renew="true")) == "INVALID_TICKET"


def test_gateway(browser: Browser) -> None:
    response = browser.get("/mbn/cas/login", params={"service": SERVICE, "gateway": "true"})
    assert response.status_code == 302 and response.headers["Location"] == SERVICE
    browser.cas_login("mbn", "demo.eleve")
    response = browser.get("/mbn/cas/login", params={"service": SERVICE, "gateway": "true"})
    assert response.headers["Location"].startswith(SERVICE + "&ticket=ST-")


def test_p3_service_validate_xml_attributes(sandbox: Sandbox, browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.enseignant", service=SERVICE))
    response = _validate(browser, ticket)
    assert response.status_code == 200
    root = _parse(response)
    assert root.tag == "{http://www.yale.edu/tp/cas}serviceResponse"
    success = root.xpath("cas:authenticationSuccess", namespaces=NS)[0]
    assert success.xpath("string(cas:user)", namespaces=NS) == "demo.enseignant"
    attrs = success.xpath("cas:attributes", namespaces=NS)[0]
    values = lambda name: [e.text for e in attrs.xpath(f"cas:{name}", namespaces=NS)]  # noqa: E731
    user = sandbox.query("SELECT * FROM users WHERE login = 'demo.enseignant' AND project_id = 1")[0]
    uais = [r[0] for r in sandbox.query("SELECT e.uai FROM user_etabs ue JOIN etabs e ON e.id = ue.etab_id"
                                        " WHERE ue.user_id = ? ORDER BY e.uai", user["id"])]
    assert values("uid") == ["demo.enseignant"]
    assert values("ENTPersonProfils") == ["Enseignant"]
    assert values("ENTPersonStructRattach") == uais and uais
    assert values("nom") == ["Démo-Enseignant"] and values("prenom") == ["François"]


def test_multi_valued_attribute_is_repeated(sandbox: Sandbox, browser: Browser) -> None:
    login = sandbox.query("SELECT u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id WHERE u.project_id = 1"
                          " GROUP BY u.id HAVING COUNT(*) > 1 ORDER BY u.id LIMIT 1")[0][0]
    ticket = ticket_of(browser.cas_login("mbn", login, service=SERVICE))
    xml_root = _parse(_validate(browser, ticket))
    assert len(xml_root.xpath("//cas:ENTPersonStructRattach", namespaces=NS)) >= 2
    browser2 = Browser(sandbox)
    ticket = ticket_of(browser2.cas_login("mbn", login, service=SERVICE))
    data = _validate(browser2, ticket, format="JSON").json()
    rattach = data["serviceResponse"]["authenticationSuccess"]["attributes"]["ENTPersonStructRattach"]
    assert isinstance(rattach, list) and len(rattach) >= 2


def test_service_validate_json(browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.parent", service=SERVICE))
    response = _validate(browser, ticket, path="serviceValidate", format="JSON")
    assert response.headers["Content-Type"].startswith("application/json")
    success = response.json()["serviceResponse"]["authenticationSuccess"]
    assert success["user"] == "demo.parent"
    assert success["attributes"]["uid"] == "demo.parent"
    assert success["attributes"]["ENTPersonProfils"] == "Parent"
    assert success["attributes"]["prenom"] == "Hélène"
    failure = _validate(browser, ticket, format="JSON").json()
    assert failure["serviceResponse"]["authenticationFailure"]["code"] == "INVALID_TICKET"
    assert failure["serviceResponse"]["authenticationFailure"]["description"]


@pytest.mark.parametrize("missing", ["ticket", "service"])
def test_invalid_request(browser: Browser, missing: str) -> None:
    response = _validate(browser, None if missing == "ticket" else "ST-x", None if missing == "service" else SERVICE)
    assert _failure_code(response) == "INVALID_REQUEST"
    assert json.loads(_validate(browser, None, None, format="JSON").text)[
        "serviceResponse"]["authenticationFailure"]["code"] == "INVALID_REQUEST"


def test_unknown_ticket_and_single_use(browser: Browser) -> None:
    assert _failure_code(_validate(browser, "ST-inconnu")) == "INVALID_TICKET"
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    assert _parse(_validate(browser, ticket)).xpath("cas:authenticationSuccess", namespaces=NS)
    assert _failure_code(_validate(browser, ticket)) == "INVALID_TICKET"


def test_ticket_of_another_project_is_unknown(browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    assert _failure_code(_validate(browser, ticket, slug="occitanie")) == "INVALID_TICKET"


def test_ticket_expires(sandbox: Sandbox, browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    sandbox.advance(11)
    response = _validate(browser, ticket)
    assert _failure_code(response) == "INVALID_TICKET"
    assert "expiré" in _parse(response).xpath("string(cas:authenticationFailure)", namespaces=NS)


def test_ticket_lifetime_is_configurable(sandbox: Sandbox, browser: Browser) -> None:
    assert sandbox.control("POST", "settings", {"service_ticket_ttl_s": 60}).json()["service_ticket_ttl_s"] == 60
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    sandbox.advance(30)
    assert _parse(_validate(browser, ticket)).xpath("cas:authenticationSuccess", namespaces=NS)


def test_invalid_service_consumes_the_ticket(browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    assert _failure_code(_validate(browser, ticket, service="https://127.0.0.1:9/autre/")) == "INVALID_SERVICE"
    assert _failure_code(_validate(browser, ticket)) == "INVALID_TICKET"


def test_cas1_validate(browser: Browser) -> None:
    ticket = ticket_of(browser.cas_login("mbn", "demo.eleve", service=SERVICE))
    assert _validate(browser, ticket, path="validate").text == "yes\ndemo.eleve\n"
    assert _validate(browser, ticket, path="validate").text == "no\n\n"


@pytest.mark.parametrize("service", ["http://example.org/app", "ftp://127.0.0.1/x", "javascript:alert(1)",
                                     "https:///nohost", "http://10.0.0.1/"])
def test_unregistered_service_is_refused(browser: Browser, service: str) -> None:
    response = browser.get("/mbn/cas/login", params={"service": service})
    assert response.status_code == 403
    assert text(one(html(response), "//h1")) == "Application non autorisée à utiliser CAS"
    assert not html(response).xpath("//form[@id='fm1']")


def test_http_loopback_service_is_allowed(browser: Browser) -> None:
    response = browser.cas_login("mbn", "demo.eleve", service="http://localhost:8080/cb")
    assert response.status_code == 302 and response.headers["Location"].startswith("http://localhost:8080/cb?ticket=")


def test_logout_ends_tgc_and_redirects(browser: Browser) -> None:
    browser.cas_login("mbn", "demo.eleve")
    response = browser.get("/mbn/cas/logout", params={"service": SERVICE})
    assert response.status_code == 302 and response.headers["Location"] == SERVICE
    page = browser.get("/mbn/cas/login", params={"service": SERVICE})
    assert page.status_code == 200 and html(page).xpath("//form[@id='fm1']")
    plain = browser.get("/mbn/cas/logout")
    assert text(one(html(plain), "//h1")) == "Déconnexion réussie"


def test_logout_invalidates_the_tgc_server_side(sandbox: Sandbox, browser: Browser) -> None:
    browser.cas_login("mbn", "demo.eleve")
    stolen = next(c.value for c in browser.session.cookies if c.name == "CASTGC")
    browser.get("/mbn/cas/logout")
    thief = Browser(sandbox)
    thief.session.cookies.set("CASTGC", stolen, domain="127.0.0.1", path="/mbn/cas/")
    assert thief.get("/mbn/cas/login", params={"service": SERVICE}).status_code == 200


def test_tgc_expires_after_two_hours(sandbox: Sandbox, browser: Browser) -> None:
    browser.cas_login("mbn", "demo.eleve")
    sandbox.advance(7100)
    assert browser.get("/mbn/cas/login", params={"service": SERVICE}).status_code == 302
    sandbox.advance(200)
    assert browser.get("/mbn/cas/login", params={"service": SERVICE}).status_code == 200


def test_unknown_project(browser: Browser) -> None:
    response = browser.get("/atlantide/cas/login")
    assert response.status_code == 404
    assert text(one(html(response), "//div[@id='erreur']")) == "ENT inconnu : atlantide"


# ---------------------------------------------------------------- the K-d'école dialect (occitanie)

LOCAL, EDU, AGENTS = "TOULO-ENT_parent_eleve", "TOULO-EDU_parent_eleve", "TOULO-AGT_personnel"


def _sources(page) -> dict[str, str]:  # noqa: ANN001
    """The selection page's sources: code -> label."""
    doc = html(page)
    return {radio.get("value"): text(one(doc, f"//label[@for='{radio.get('id')}']"))
            for radio in doc.xpath("//form[contains(@class, 'cas__wayf')]//input[@type='radio' and @name='selection']")}


def test_kdecole_cas_shows_the_selection_page_first_with_the_service_in_every_link(browser: Browser) -> None:
    page = browser.get("/occitanie/cas/login", params={"service": SERVICE})
    assert page.status_code == 200
    doc = html(page)
    assert not doc.xpath("//input[@type='password']")
    assert _sources(page) == {
        EDU: "Élève ou parent : se connecter avec ÉduConnect",
        LOCAL: "Se connecter avec un compte de l'ENT (identifiant et mot de passe remis par l'établissement)",
        AGENTS: "Agent de l'Éducation nationale : guichet académique"}
    links = doc.xpath("//a[@class='cas__wayf-lien']/@href")
    assert len(links) == 3
    for href in links:
        query = parse_qs(urlsplit(href).query)
        assert query["service"] == [SERVICE] and query["selection"][0] in (LOCAL, EDU, AGENTS)
    # the radio form keeps the service too, and says « Valider »
    form = one(doc, "//form[contains(@class, 'cas__wayf')]")
    assert form.get("method") == "get"
    assert one(form, ".//input[@type='hidden' and @name='service']").get("value") == SERVICE
    assert one(form, ".//button[@name='submit']").get("value") == "Valider"
    # the Apereo projects keep their page
    assert html(browser.get("/mbn/cas/login")).xpath("//form[@id='fm1']")


def test_kdecole_local_source_has_its_own_form_and_skin(browser: Browser) -> None:
    page = browser.get("/occitanie/cas/login", params={"service": SERVICE, "selection": LOCAL})
    assert page.status_code == 200
    doc = html(page)
    assert doc.xpath("//body[@class='kdecole']") and not doc.xpath("//form[@id='fm1']")
    form = one(doc, "//form[@class='cas__login-form']")
    assert form.get("method") == "post"
    assert one(form, ".//input[@name='username']").get("type") == "text"
    assert one(form, ".//input[@name='password']").get("type") == "password"
    hidden = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    assert set(hidden) == {"lt", "execution", "_eventId"} and hidden["lt"].startswith("LT-")
    query = parse_qs(urlsplit(form.get("action")).query)
    assert query == {"selection": [LOCAL], "service": [SERVICE]}


def test_kdecole_sign_in_gives_a_ticket_that_validates(browser: Browser) -> None:
    redirect = browser.cas_login("occitanie", "admin.occitanie", service=SERVICE)
    assert redirect.status_code == 302 and "CASTGC" in redirect.cookies
    success = _parse(_validate(browser, ticket_of(redirect), slug="occitanie"))
    assert success.xpath("string(cas:authenticationSuccess/cas:user)", namespaces=NS) == "admin.occitanie"
    # with its TGC, the CAS gives a ticket at once, whether a source is named or not
    assert browser.get("/occitanie/cas/login", params={"service": SERVICE}).status_code == 302


def test_kdecole_wrong_password_shows_the_message_in_its_skin(browser: Browser) -> None:
    response = browser.cas_login("occitanie", "admin.occitanie", "mauvais", service=SERVICE)
    assert response.status_code == 200 and "CASTGC" not in response.cookies
    doc = html(response)
    assert text(one(doc, "//*[@class='cas__alert-message']")) == "Identifiant ou mot de passe incorrect."
    assert not doc.xpath("//*[@id='msg']")
    form = one(doc, "//form[@class='cas__login-form']")
    assert parse_qs(urlsplit(form.get("action")).query)["selection"] == [LOCAL]


@pytest.mark.parametrize(("code", "name"), [(EDU, "ÉduConnect"), (AGENTS, "Guichet agents de l'académie")])
def test_kdecole_educonnect_and_agents_are_a_saml_redirect_elsewhere(browser: Browser, code: str, name: str) -> None:
    redirect = browser.get("/occitanie/cas/login", params={"service": SERVICE, "selection": code})
    assert redirect.status_code == 302
    target = urlsplit(redirect.headers["Location"])
    assert target.path.startswith("/idp/") and target.path.endswith("/profile/SAML2/Redirect/SSO")
    assert set(parse_qs(target.query)) == {"SAMLRequest", "RelayState"}
    idp = browser.get(redirect.headers["Location"])
    doc = html(idp)
    assert idp.status_code == 200 and text(one(doc, "//h1")) == name
    assert not doc.xpath("//input[@name='username']")  # not a CAS form: no client can sign in there
    posted = browser.post(redirect.headers["Location"], {"j_username": "admin.occitanie", "j_password": "x"})
    assert "façade" in text(one(html(posted), "//*[@id='erreur']"))
    # nor can the CAS's own form be posted for that source
    refused = browser.post(f"/occitanie/cas/login?selection={code}", {"username": "admin.occitanie"})
    assert refused.status_code == 302 and "CASTGC" not in refused.cookies


def test_kdecole_unknown_source_shows_the_selection_page_again(browser: Browser) -> None:
    page = browser.get("/occitanie/cas/login", params={"service": SERVICE, "selection": "AUTRE"})
    assert page.status_code == 200 and LOCAL in _sources(page)
    assert "« AUTRE »" in text(one(html(page), "//*[@class='cas__alert-message']"))


def test_educonnect_only_switch_and_dialect_switch(sb: Sandbox, tmp_path) -> None:  # noqa: ANN001
    from sandbox import cas

    browser = Browser(sb)
    conn = sb.conn()
    try:
        shown = cas.set_cas_options(conn, "occitanie", sources="educonnect")
        assert [s["selection"] for s in shown["sources"]] == [EDU]
        page = browser.get("/occitanie/cas/login", params={"service": SERVICE})
        assert list(_sources(page)) == [EDU]
        # the local source is no longer offered: its form is not served
        assert LOCAL not in _sources(browser.get("/occitanie/cas/login", params={"selection": LOCAL}))
        cas.set_cas_options(conn, "occitanie", sources="toutes")
        assert list(_sources(browser.get("/occitanie/cas/login"))) == [EDU, LOCAL, AGENTS]
        # any project may speak either dialect
        cas.set_cas_options(conn, "mbn", dialect="kdecole")
        assert "MBN-ENT_parent_eleve" in _sources(browser.get("/mbn/cas/login"))
        cas.set_cas_options(conn, "mbn", dialect="apereo")
        assert html(browser.get("/mbn/cas/login")).xpath("//form[@id='fm1']")
        with pytest.raises(ValueError, match="inconnu"):
            cas.set_cas_options(conn, "occitanie", dialect="shibboleth")
        with pytest.raises(ValueError, match="projet inconnu"):
            cas.set_cas_options(conn, "nulle-part", sources="educonnect")
    finally:
        conn.close()
