"""The CAS sign-in as a browser does it, and every HTTP error of the CAS named (no network).

A scripted CAS answers the product's requests; its login pages take the
skins of real CAS servers: Apereo (``#msg.errors``), django-cas-server
(Bootstrap ``alert-danger`` with a close button, CSRF token) and a
K-d'école-like one (``cas__login-form``, ``role="alert"``).
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    STEP_LOGIN_PAGE,
    STEP_POST,
    CasHttpError,
    CasServerError,
    form_error,
    origin_of,
    page_message,
    sign_in,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AuthenticationError,
    TransientError,
    UnexpectedPageError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import parse
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, request
from ansible_collections.ent.pronote.plugins.module_utils._pronote import ESPACE_OF_PROFILE
from ansible_collections.ent.pronote.plugins.module_utils._sso import CAUSES, CAS_STEPS, SsoAccount, sign_on

from .fakes import Recorded, Reply, ScriptedAdapter, fixture_text, mount

HTTP = HttpSettings(retries=0, timeout=5.0)
CAS = "https://cas.ent.example.test:8443/cas"
LOGIN_URL = CAS + "/login?service=https%3A%2F%2Fservice.example.test%2Fapp"
SERVICE_TICKET = "https://service.example.test/app?ticket=ST-1-abcdef"
USER, PASSWORD = "lea.martin", "Bon-mot-de-passe"
MESSAGE = "Le nom d'utilisateur ou le mot de passe est incorrect."

APEREO = fixture_text("cas_login.html")
APEREO_ERROR = APEREO.replace("<!--ERRORS-->", f'<div class="errors" id="msg">{MESSAGE}</div>')
DJANGO = fixture_text("cas_login_django.html")
DJANGO_ERROR = DJANGO.replace("<!--ERRORS-->", f"""<div class="alert alert-danger alert-dismissable">
<button type="button" class="close" data-dismiss="alert" aria-label="Close">
<span aria-hidden="true">&times;</span></button>
{MESSAGE}
</div>""")
KDECOLE = fixture_text("cas_login_kdecole.html")
KDECOLE_ERROR = KDECOLE.replace("<!--ERRORS-->", f"""<div class="cas__error" role="alert">
<span class="cas__error-icon" aria-hidden="true">!</span><p>{MESSAGE}</p>
<button type="button" class="cas__error-close">Fermer</button></div>""")
SKINS = {"apereo": (APEREO, APEREO_ERROR), "django-cas-server": (DJANGO, DJANGO_ERROR),
         "kdecole": (KDECOLE, KDECOLE_ERROR)}


class FakeCas:
    """A CAS at :data:`CAS`: the login page sets a cookie; the post answers ``on_post``."""

    def __init__(self, page: str = APEREO, on_post: Callable[[Recorded], Reply] | None = None,
                 on_get: Reply | None = None) -> None:
        self.page = page
        self.on_post = on_post or (lambda req: Reply(302, location=SERVICE_TICKET))
        self.on_get = on_get
        self.adapter = ScriptedAdapter(self.answer)
        self.session = mount(requests.Session(), self.adapter)

    def answer(self, req: Recorded) -> Reply:
        if req.url.startswith("https://service.example.test/"):
            return Reply(200, "<html><body><h1>Application</h1></body></html>")
        if req.method == "GET":
            return self.on_get or Reply(200, self.page, cookies=["csrftoken=cookie-tok; Path=/; Secure",
                                                                 "JSESSIONID=js-42; Path=/cas; Secure"])
        return self.on_post(req)

    def login_page(self) -> requests.Response:
        return request(self.session, HTTP, "GET", LOGIN_URL, STEP_LOGIN_PAGE, accept=(500, 502, 503, 504))

    def sign_in(self, password: str = PASSWORD) -> requests.Response:
        return sign_in(self.session, HTTP, self.login_page(), USER, password)

    def posts(self) -> list[Recorded]:
        return [r for r in self.adapter.log if r.method == "POST"]


# --- what a browser sends ---------------------------------------------------------------------------------
@pytest.mark.parametrize("skin", sorted(SKINS))
def test_the_form_post_sends_referer_origin_cookies_and_every_hidden_input(skin):
    cas = FakeCas(SKINS[skin][0])
    landed = cas.sign_in()
    assert landed.url == SERVICE_TICKET and landed.status_code == 200
    (post,) = cas.posts()
    assert post.headers["Referer"] == LOGIN_URL
    assert post.headers["Origin"] == "https://cas.ent.example.test:8443"
    assert post.cookies == {"csrftoken": "cookie-tok", "JSESSIONID": "js-42"}
    sent = dict(post.form)
    assert (sent["username"], sent["password"]) == (USER, PASSWORD)
    assert post.url == LOGIN_URL  # the form's action (none, or relative) resolves against the page
    hidden = {"apereo": {"lt": "LT-42-abc", "execution": "e1s1-xyz", "_eventId": "submit"},
              "django-cas-server": {"csrfmiddlewaretoken": "csrf-tok", "lt": "LT-17-django"},
              "kdecole": {"execution": "e2s1", "_eventId": "submit"}}[skin]
    assert {k: sent[k] for k in hidden} == hidden


@pytest.mark.parametrize(("url", "origin"), [
    ("https://cas.example.test/cas/login?service=x", "https://cas.example.test"),
    ("https://cas.example.test:443/login", "https://cas.example.test"),
    ("https://127.0.0.1:8443/cas/login", "https://127.0.0.1:8443"),
    ("http://cas.example.test:80/login", "http://cas.example.test"),
    ("https://[::1]:9443/login", "https://[::1]:9443"),
])
def test_origin_is_scheme_host_and_a_port_other_than_the_default(url, origin):
    assert origin_of(url) == origin


# --- HTTP errors are errors -------------------------------------------------------------------------------
def test_a_403_on_the_form_post_is_an_error_naming_status_url_and_step():
    cas = FakeCas(on_post=lambda req: Reply(403, fixture_text("csrf_403.html")))
    with pytest.raises(CasHttpError) as err:
        cas.sign_in()
    assert not isinstance(err.value, (AuthenticationError, TransientError))
    assert (err.value.status, err.value.step) == (403, STEP_POST)
    message = str(err.value)
    assert f"Could not {STEP_POST}: the CAS answered HTTP 403 at {LOGIN_URL}" in message
    assert "« Jeton de sécurité invalide ou expiré. Rechargez la page. »" in message
    assert PASSWORD not in message


def test_a_500_on_the_form_post_is_a_transient_cas_error():
    cas = FakeCas(on_post=lambda req: Reply(500, "<html><body><p>Erreur interne</p></body></html>"))
    with pytest.raises(CasServerError) as err:
        cas.sign_in()
    assert isinstance(err.value, TransientError) and isinstance(err.value, CasHttpError)
    assert (err.value.status, err.value.step) == (500, STEP_POST)
    assert "HTTP 500" in str(err.value) and "« Erreur interne »" in str(err.value)
    assert len(cas.posts()) == 1  # a post is never retried


@pytest.mark.parametrize("status", [403, 404, 500])
def test_a_login_page_answered_with_an_error_is_an_error_of_that_step(status):
    cas = FakeCas(on_get=Reply(status, "<html><body><main><p>Accès interdit</p></main></body></html>"))
    with pytest.raises(CasHttpError) as err:
        cas.sign_in()
    assert (err.value.status, err.value.step) == (status, STEP_LOGIN_PAGE)
    assert cas.posts() == []


def test_an_error_never_shows_a_ticket():
    cas = FakeCas(on_get=Reply(403, "<html><body><p>Ticket ST-9-secret refusé</p></body></html>"))
    page = request(cas.session, HTTP, "GET", CAS + "/login?service=x&ticket=ST-9-secret", STEP_LOGIN_PAGE)
    with pytest.raises(CasHttpError) as err:
        sign_in(cas.session, HTTP, page, USER, PASSWORD)
    message = str(err.value)
    assert "ST-9-secret" not in message and "ST-9-secret" not in err.value.url
    assert message == (f"Could not {STEP_LOGIN_PAGE}: the CAS answered HTTP 403 at "
                       f"{CAS}/login?service=x&ticket=ST-…: « Ticket ST-… refusé »")


def test_a_login_page_without_a_password_field_is_named():
    cas = FakeCas(page="<html><head><title>Choix</title></head><body><h1>Choisissez votre profil</h1>"
                       "<form method='post'><input name='username'></form></body></html>")
    with pytest.raises(UnexpectedPageError) as err:
        cas.sign_in()
    assert not isinstance(err.value, CasHttpError)
    message = str(err.value)
    assert "expected the CAS login form (fields 'username' and 'password')" in message
    assert "« Choisissez votre profil »" in message and cas.posts() == []


# --- a wrong password, whatever the skin -------------------------------------------------------------------
@pytest.mark.parametrize("skin", sorted(SKINS))
@pytest.mark.parametrize("status", [200, 401])
def test_a_wrong_password_is_an_authentication_error_with_the_message_only(skin, status):
    cas = FakeCas(SKINS[skin][0], on_post=lambda req: Reply(status, SKINS[skin][1]))
    with pytest.raises(AuthenticationError) as err:
        cas.sign_in("mauvais")
    message = str(err.value)
    assert message == f"The CAS at {CAS}/login refused the sign-in of '{USER}': « {MESSAGE} »"
    assert "×" not in message and "Fermer" not in message and "mauvais" not in message


def test_a_cas_that_redirects_to_its_form_after_the_post_refuses_the_password():
    cas = FakeCas(DJANGO, on_post=lambda req: Reply(302, location=LOGIN_URL))
    cas.page = DJANGO_ERROR  # the GET after the redirect shows the error
    with pytest.raises(AuthenticationError, match=f"« {MESSAGE} »"):
        cas.sign_in("mauvais")


@pytest.mark.parametrize(("html", "message"), [
    (DJANGO_ERROR, MESSAGE),
    (KDECOLE_ERROR, MESSAGE),
    (APEREO_ERROR, MESSAGE),
    # the informative box before the error is not the error
    (DJANGO.replace("<!--ERRORS-->", ""), ""),
    # a field's error state (Bootstrap has-error) is not the message: its label is not taken
    (DJANGO.replace('<div class="form-group"><label class="control-label" for="id_password">',
                    '<div class="form-group has-error"><label class="control-label" for="id_password">'), ""),
])
def test_the_error_text_is_the_message_without_buttons(html, message):
    doc = parse(html, LOGIN_URL)
    assert form_error(doc) == message


# --- the sign-on check ----------------------------------------------------------------------------------
PRONOTE = "https://0671234c.index-education.net/pronote/"
PUPIL = SsoAccount("Elève", USER, PASSWORD, "MARTIN Léa")
ESPACE = ESPACE_OF_PROFILE["Elève"]


@pytest.fixture
def sign_on_against(monkeypatch):
    """``_sso.sign_on`` of :data:`PUPIL`, the base sending the browser to ``cas``; returns the check."""
    from ansible_collections.ent.pronote.plugins.module_utils import _sso

    def run(cas: FakeCas):
        def answer(req: Recorded) -> Reply:
            if req.url.startswith(PRONOTE) and "ticket=" not in req.url:
                return Reply(302, location=LOGIN_URL)
            if req.url.startswith(PRONOTE):
                return Reply(200, f"<html><body><h1>{ESPACE.name}</h1><p id='utilisateur'>MARTIN Léa</p>"
                                  "</body></html>")
            return cas.answer(req)

        cas.adapter = ScriptedAdapter(answer)
        monkeypatch.setattr(_sso, "new_session", lambda http: mount(requests.Session(), cas.adapter))
        return sign_on(HTTP, PRONOTE, CAS, PUPIL)

    return run


def test_sign_on_an_http_error_of_the_cas_is_named_with_status_step_and_url(sign_on_against):
    check = sign_on_against(FakeCas(DJANGO, on_post=lambda req: Reply(403, fixture_text("csrf_403.html"))))
    assert (check.ok, check.code) == (False, "cas_erreur_http")
    assert check.cause == CAUSES["cas_erreur_http"][0].format(status=403, etape=CAS_STEPS[STEP_POST],
                                                               url=CAS + "/login")
    assert "HTTP 403" in check.cause and "« envoi de l'identifiant et du mot de passe »" in check.cause
    assert "service=" not in check.cause + check.fix and PASSWORD not in check.cause + check.fix


def test_sign_on_a_server_error_of_the_cas_login_page_is_named_not_a_network_failure(sign_on_against):
    check = sign_on_against(FakeCas(on_get=Reply(502, "<p>Bad gateway</p>")))
    assert check.code == "cas_erreur_http"
    assert "HTTP 502" in check.cause and "« ouverture de la page de connexion »" in check.cause


@pytest.mark.parametrize("skin", sorted(SKINS))
def test_sign_on_a_wrong_password_is_compte_test_whatever_the_skin(skin, sign_on_against):
    check = sign_on_against(FakeCas(SKINS[skin][0], on_post=lambda req: Reply(200, SKINS[skin][1])))
    assert check.code == "compte_test"


def test_sign_on_through_a_csrf_protected_cas_lands_in_the_espace(sign_on_against):
    def post(req: Recorded) -> Reply:
        if req.headers.get("Origin") != "https://cas.ent.example.test:8443" or req.cookies.get("csrftoken") is None:
            return Reply(403, fixture_text("csrf_403.html"))
        return Reply(302, location=PRONOTE + "?ticket=ST-5-ok")

    check = sign_on_against(FakeCas(DJANGO, on_post=post))
    assert check.ok, check
