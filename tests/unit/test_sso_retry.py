"""The sign-on check tries a sign-on again from the start when its failure may pass (issue 13, §2)."""
from __future__ import annotations

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _cas, _sso
from ansible_collections.ent.pronote.plugins.module_utils._cas import CasHttpError, CasServerError
from ansible_collections.ent.pronote.plugins.module_utils._errors import TransientError
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings

ACCOUNT = _sso.SsoAccount("Elève", "eleve.test", "secret")
BASE = "https://0671234c.index-education.net/pronote/"
CAS = "https://cas.example/"


@pytest.fixture
def attempts(monkeypatch):
    """Script the outcomes of successive sign-ons: an exception to raise, or a cause code (ok: success)."""
    script: list = []
    sessions: list = []
    monkeypatch.setattr(_sso, "pause", lambda *_a: None)

    def one(session, http, url, expected_cas, account, espace, cas_selection=None):
        sessions.append(session)
        outcome = script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "ok":
            return _sso.Check(account.profile, espace.name, True)
        return _sso._failed(account, espace, outcome)

    monkeypatch.setattr(_sso, "_sign_on", one)
    return script, sessions


def test_a_transient_failure_is_tried_again_in_a_new_session(attempts):
    script, sessions = attempts
    script += [TransientError("HTTP 500"), CasServerError("post the credentials", 502, CAS), "cas_injoignable", "ok"]
    check = _sso.sign_on(HttpSettings(retries=3), BASE, CAS, ACCOUNT)
    assert check.ok and len(sessions) == 4 and len({id(s) for s in sessions}) == 4


def test_a_failure_that_persists_is_reported_after_the_attempts(attempts):
    script, sessions = attempts
    script += [TransientError("HTTP 500")] * 3
    check = _sso.sign_on(HttpSettings(retries=2, retry_time=0), BASE, CAS, ACCOUNT)
    assert (check.ok, check.code, len(sessions)) == (False, "reseau", 3)
    assert "HTTP 500" in check.detail


def test_a_server_error_is_tried_again_while_the_time_budget_lasts(attempts, monkeypatch):
    script, sessions = attempts
    clock = [0.0]
    monkeypatch.setattr(_sso.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(_sso, "pause", lambda *_a: clock.__setitem__(0, clock[0] + 5))  # 5 s between attempts
    script += [TransientError("HTTP 503")] * 20
    check = _sso.sign_on(HttpSettings(retries=2, retry_time=30), BASE, CAS, ACCOUNT)
    assert check.code == "reseau" and len(sessions) == 7  # at 0, 5, …, 30 s: the budget is over


def test_a_cas_unreachable_from_pronote_net_is_tried_a_number_of_times_only(attempts):
    script, sessions = attempts
    script += ["cas_injoignable"] * 10
    check = _sso.sign_on(HttpSettings(retries=2, retry_time=600), BASE, CAS, ACCOUNT)
    assert (check.code, len(sessions)) == ("cas_injoignable", 3)


@pytest.mark.parametrize("outcome, code", [
    ("ticket_invalide", "ticket_invalide"), ("sans_idpronote", "sans_idpronote"),
    (CasHttpError("post the credentials", 403, CAS), "cas_erreur_http"),
    (_cas.AuthenticationError("refused"), "compte_test"),
])
def test_a_verdict_on_the_settings_is_not_tried_again(attempts, outcome, code):
    script, sessions = attempts
    script.append(outcome)
    check = _sso.sign_on(HttpSettings(retries=3), BASE, CAS, ACCOUNT)
    assert (check.code, len(sessions)) == (code, 1)


def test_the_return_from_the_cas_carries_its_ticket_once(monkeypatch):
    """The GET of the service's URL with the ticket is sent with retry=False (never twice)."""
    calls = []

    class Answer:
        def __init__(self, status, url, headers=None):
            self.status_code, self.url, self.headers, self.content = status, url, headers or {}, b""

    def fake_request(session, settings, method, url, what, **kwargs):
        calls.append((method, what, kwargs.get("retry", True)))
        if method == "POST":
            return Answer(302, url, {"Location": BASE + "eleve.html?ticket=ST-1"})
        return Answer(200, url)

    login = ("<html><body><form action='/login' method='post'><input name='username'>"
             "<input type='password' name='password'></form></body></html>")

    class Page:
        status_code, url, headers = 200, CAS + "login?service=x", {"Content-Type": "text/html"}
        content = login.encode()
        encoding = "utf-8"

    monkeypatch.setattr(_cas, "request", fake_request)
    monkeypatch.setattr(_cas, "is_login_page", lambda response: False)
    _cas.sign_in(None, HttpSettings(), Page(), "u", "p")
    assert calls[-1] == ("GET", _cas.STEP_RETURN, False)
