"""The product's CAS sign-in against django-cas-server, an independent CAS 3.0 implementation.

The sign-in is the product's (:func:`_cas.sign_in`, in a session of
:func:`_http.new_session`); the ticket it brings back is validated at
``/p3/serviceValidate`` as a CAS client (PRONOTE.net) does, to see what the
CAS releases to the service.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
import requests

from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    STEP_LOGIN_PAGE,
    STEP_POST,
    CasHttpError,
    sign_in,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import AuthenticationError
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request

from _realcas import PASSWORD, RealCas  # noqa: I001


@pytest.fixture
def http(real_cas: RealCas) -> HttpSettings:
    return HttpSettings(ca_path=real_cas.ca, retries=0, timeout=20)


def signed_in(real_cas: RealCas, http: HttpSettings, login: str, password: str = PASSWORD) -> requests.Response:
    with new_session(http) as session:
        page = request(session, http, "GET", real_cas.login_url(), STEP_LOGIN_PAGE)
        return sign_in(session, http, page, login, password)


def ticket_of(landing: requests.Response) -> str:
    (ticket,) = parse_qs(urlsplit(landing.url).query)["ticket"]
    return ticket


def test_a_good_account_lands_on_the_service_with_a_ticket_releasing_its_attributes(real_cas, http):
    landing = signed_in(real_cas, http, "lea.martin")
    assert landing.status_code == 200 and landing.url.startswith(real_cas.service + "?ticket=ST-")
    assert lxml.html.fromstring(landing.content).findtext(".//h1") == "Service"
    user, attributes, failure = real_cas.validate(ticket_of(landing))
    assert (user, failure) == ("lea.martin", "")
    assert attributes == {"idPronote": ["PRN-LEA-0001"], "nom": ["MARTIN"], "prenom": ["Léa"]}
    # a ticket is for one validation
    assert real_cas.validate(ticket_of(landing))[2] == "INVALID_TICKET"


def test_a_wrong_password_is_an_authentication_error_with_the_cas_message_only(real_cas, http):
    with pytest.raises(AuthenticationError) as err:
        signed_in(real_cas, http, "lea.martin", "pas-le-bon")
    message = str(err.value)
    assert message == (f"The CAS at {real_cas.url}/login refused the sign-in of 'lea.martin': "
                       "« Les informations transmises n'ont pas permis de vous authentifier. »")
    assert "×" not in message and "pas-le-bon" not in message


def test_an_unknown_account_is_an_authentication_error(real_cas, http):
    with pytest.raises(AuthenticationError, match="refused the sign-in of 'personne'"):
        signed_in(real_cas, http, "personne")


def test_an_account_without_idpronote_signs_in_and_no_idpronote_is_released(real_cas, http):
    user, attributes, _ = real_cas.validate(ticket_of(signed_in(real_cas, http, "sans.idpronote")))
    assert user == "sans.idpronote"
    assert attributes == {"nom": ["PETIT"], "prenom": ["Jules"]}


def test_a_two_valued_idpronote_is_released_with_both_values(real_cas, http):
    _, attributes, _ = real_cas.validate(ticket_of(signed_in(real_cas, http, "deux.identifiants")))
    assert sorted(attributes["idPronote"]) == ["PRN-A-0001", "PRN-B-0002"]


def test_accented_names_come_back_as_they_were_given(real_cas, http):
    _, attributes, _ = real_cas.validate(ticket_of(signed_in(real_cas, http, "anais.lefevre")))
    assert (attributes["nom"], attributes["prenom"]) == (["LEFÈVRE-D'ŒUVRAY"], ["Anaïs-Éléonore"])


# --- CSRF: the reason a browser's Referer/Origin matter ------------------------------------------------
def test_the_cas_refuses_a_form_post_without_referer_and_origin(real_cas, http):
    """What the product did before: the same form, cookies and token, no Referer and no Origin."""
    with new_session(http) as session:
        page = request(session, http, "GET", real_cas.login_url(), STEP_LOGIN_PAGE)
        form = lxml.html.fromstring(page.content).get_element_by_id("login_form")
        data = dict(form.form_values()) | {"username": "lea.martin", "password": PASSWORD}
        answer = session.post(page.url, data=data, verify=real_cas.ca, allow_redirects=False, timeout=20)
    assert answer.status_code == 403
    assert "CSRF" in answer.text


def test_without_referer_and_origin_the_product_would_get_a_named_403(real_cas, http, monkeypatch):
    """The test above through the product's code: a regression is a CasHttpError, not a sign-in."""
    original = requests.Session.request

    def without_browser_headers(self, method, url, **kwargs):
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k not in ("Referer", "Origin")}
        return original(self, method, url, headers=headers, **kwargs)

    monkeypatch.setattr(requests.Session, "request", without_browser_headers)
    with pytest.raises(CasHttpError) as err:
        signed_in(real_cas, http, "lea.martin")
    assert (err.value.status, err.value.step) == (403, STEP_POST)
    assert str(err.value).startswith(f"Could not {STEP_POST}: the CAS answered HTTP 403 at {real_cas.url}/login?")
    assert "CSRF" in str(err.value)


def test_a_post_with_origin_only_or_referer_only_is_accepted(real_cas, http):
    """Django checks Origin when it is sent, else Referer: the product sends both, either would do."""
    for headers in ({"Origin": f"https://127.0.0.1:{real_cas.port}"}, {"Referer": real_cas.login_url()}):
        with new_session(http) as session:
            page = request(session, http, "GET", real_cas.login_url(), STEP_LOGIN_PAGE)
            form = lxml.html.fromstring(page.content).get_element_by_id("login_form")
            data = dict(form.form_values()) | {"username": "lea.martin", "password": PASSWORD}
            answer = session.post(page.url, data=data, headers=headers, verify=real_cas.ca, allow_redirects=False,
                                  timeout=20)
        assert answer.status_code == 302 and "ticket=ST-" in answer.headers["Location"], headers
