"""Fault injection and the control endpoints."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from sandbox_support import Browser, Sandbox, html, one, text


def test_control_endpoints_need_the_token(sandbox: Sandbox) -> None:
    assert sandbox.control("GET", "health", token=None).json()["status"] == "ok"
    for method, path in [("GET", "faults"), ("POST", "faults"), ("POST", "expire-sessions"), ("GET", "stats"),
                         ("GET", "settings"), ("POST", "clock")]:
        assert sandbox.control(method, path, {}, token=None).status_code == 401, path
        assert sandbox.control(method, path, {}, token="faux").status_code == 401, path
    assert sandbox.control("GET", "faults").json() == {"error_rate": 0.0, "error_phase": "before", "latency_ms": 0,
                                                      "session_expiry_rate": 0.0, "fault_seed": None,
                                                      "import_abort_step": 0, "hosting_fail_next": ""}


@pytest.mark.parametrize("body", [{"error_rate": 1.5}, {"error_rate": "x"}, {"latency_ms": -1},
                                  {"error_phase": "pendant"}, {"inconnu": 1}, {"session_expiry_rate": True}])
def test_invalid_fault_settings_are_refused_whole(sandbox: Sandbox, body: dict) -> None:
    response = sandbox.control("POST", "faults", {"latency_ms": 5, **body})
    assert response.status_code == 400 and response.json()["error"]
    assert sandbox.control("GET", "faults").json()["latency_ms"] == 0


def test_error_rate_one_and_zero(sandbox: Sandbox, browser: Browser) -> None:
    assert sandbox.control("POST", "faults", {"error_rate": 1.0}).json()["error_rate"] == 1.0
    for path in ["/mbn/cas/login", "/mbn/", "/mbn/cas/p3/serviceValidate?ticket=x&service=y"]:
        response = browser.get(path)
        assert response.status_code == 500, path
        assert text(one(html(response), "//h1")) == "Erreur interne du serveur"
    # never the control endpoints nor the landing page
    assert sandbox.control("GET", "stats").status_code == 200
    assert browser.get("/").status_code == 200
    sandbox.control("POST", "faults", {"error_rate": 0})
    assert all(browser.get("/mbn/cas/login").status_code == 200 for _ in range(20))


def test_error_rate_is_a_probability(sandbox: Sandbox, browser: Browser) -> None:
    sandbox.control("POST", "faults", {"error_rate": 0.5, "fault_seed": 7})
    statuses = [browser.get("/mbn/cas/login").status_code for _ in range(60)]
    assert set(statuses) == {200, 500}
    assert 15 <= statuses.count(500) <= 45


def test_phase_before_does_nothing_and_after_commits(sandbox: Sandbox, new_browser) -> None:  # noqa: ANN001
    uai = sandbox.etabs("mbn")[2]["uai"]
    admin = new_browser()
    admin.console_login("mbn", "admin.mbn")
    path = f"/mbn/etab/{uai}/admin/services/new"
    count = lambda: sandbox.query("SELECT COUNT(*) FROM services s JOIN etabs e ON e.id = s.etab_id"  # noqa: E731
                                  " WHERE e.uai = ? AND s.intitule = 'panne'", uai)[0][0]
    data = {"csrf_token": admin.csrf(path), "sso_type": "SSO Pronote avec CAS", "url": "https://x.example/",
            "regroupement": "Scolarité", "intitule": "panne"}
    sandbox.control("POST", "faults", {"error_rate": 1.0, "error_phase": "before"})
    assert admin.post(path, data).status_code == 500
    assert count() == 0
    sandbox.control("POST", "faults", {"error_phase": "after"})
    response = admin.post(path, data)
    assert response.status_code == 500
    assert count() == 1
    sandbox.control("POST", "faults", {"reset": True})
    stats = sandbox.control("GET", "stats").json()
    assert stats["faults"]["error_before"] >= 1 and stats["faults"]["error_after"] >= 1


def test_latency(sandbox: Sandbox, browser: Browser) -> None:
    browser.get("/mbn/cas/login")
    sandbox.control("POST", "faults", {"latency_ms": 300})
    started = time.monotonic()
    assert browser.get("/mbn/cas/login").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sandbox.control("GET", "health", token=None)
    assert time.monotonic() - started < 0.3


def test_session_expiry_rate(sandbox: Sandbox, browser: Browser) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    path = f"/mbn/etab/{uai}/admin/services"
    assert browser.console_login("mbn", "admin.mbn", path).status_code == 200
    sandbox.control("POST", "faults", {"session_expiry_rate": 1.0})
    expired = browser.get(path)
    assert expired.status_code == 302 and "/mbn/cas/login" in expired.headers["Location"]
    sandbox.control("POST", "faults", {"session_expiry_rate": 0.0})
    assert browser.get(path).status_code == 302  # the session is gone for good
    # the TGC survived: signing in again needs no password
    again = browser.get(browser.get(path).headers["Location"])
    assert again.status_code == 302 and "ticket=ST-" in again.headers["Location"]


def test_expire_sessions(sandbox: Sandbox, browser: Browser) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    path = f"/mbn/etab/{uai}/admin/services"
    browser.console_login("mbn", "admin.mbn", path)
    result = sandbox.control("POST", "expire-sessions").json()
    assert result["console_sessions"] >= 1 and result["tgc"] >= 1
    redirect = browser.get(path)
    assert redirect.status_code == 302
    assert browser.get(redirect.headers["Location"]).status_code == 200  # CAS asks for the password again


def test_stats_count_requests(sandbox: Sandbox, browser: Browser) -> None:
    sandbox.control("POST", "stats/reset")
    for _ in range(3):
        browser.get("/mbn/cas/login")
    browser.get("/mbn/")
    stats = sandbox.control("GET", "stats").json()
    assert stats["by_endpoint"]["cas.login_get"] == 3
    assert stats["by_kind"]["cas"] == 3 and stats["by_kind"]["console"] == 1
    assert stats["by_status"]["2xx"] >= 3


def test_landing_page(sandbox: Sandbox, browser: Browser) -> None:
    sandbox.control("POST", "faults", {"latency_ms": 5})
    doc = html(browser.get("/"))
    projects = [text(tr.xpath("td")[0]) for tr in doc.xpath("//table[@id='projets']/tbody/tr")]
    assert projects == ["Mon Bureau Numérique mbn", "Mon ENT Occitanie occitanie"]
    assert "/mbn/cas/login" in doc.xpath("//table[@id='projets']//a/@href")
    logins = [text(tr.xpath("td")[1]) for tr in doc.xpath("//table[@id='comptes']/tbody/tr")]
    assert "admin.mbn" in logins and "demo.eleve" in logins
    assert text(one(doc, "//code[@id='mot-de-passe']")) == "Demo-2026!"
    faults = {text(tr.xpath("th")[0]): text(tr.xpath("td")[0]) for tr in doc.xpath("//table[@id='pannes']//tr")}
    assert faults["latency_ms"] == "5"


class _Records(logging.Handler):
    """The sandbox log's records during a test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sandbox_log() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("sandbox")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_an_injected_500_is_logged_as_such(sandbox: Sandbox, browser: Browser, sandbox_log: _Records) -> None:
    sandbox.control("POST", "faults", {"error_rate": 1.0, "error_phase": "after"})
    try:
        assert browser.get("/mbn/cas/login").status_code == 500
    finally:
        sandbox.control("POST", "faults", {"error_rate": 0, "error_phase": "before"})
    [record] = [r for r in sandbox_log.records if "500" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "panne injectée : error_after" in record.getMessage() and "GET /mbn/cas/login" in record.getMessage()


def test_a_bug_answered_500_is_logged_with_its_traceback(sandbox: Sandbox, browser: Browser,
                                                          sandbox_log: _Records,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox import pronote_net

    def broken(*_args: object) -> None:
        raise RuntimeError("bogue de démonstration")

    monkeypatch.setattr(pronote_net, "load_base", broken)
    uai = sandbox.etabs("mbn")[0]["uai"]
    response = browser.get(f"/index-education/{uai}/pronote/")
    assert response.status_code == 500
    errors = [r for r in sandbox_log.records if r.levelno == logging.ERROR]
    assert errors, "the 500 of a bug was not logged"
    assert errors[-1].exc_info is not None and errors[-1].exc_info[0] is RuntimeError
    assert "erreur interne" in errors[-1].getMessage()
    formatted = logging.Formatter().format(errors[-1])
    assert "bogue de démonstration" in formatted and "Traceback" in formatted
