"""_http: TLS verification settings, the session's retries, errors of a request."""
from __future__ import annotations

import pytest
import requests
import urllib3
from urllib3.exceptions import MaxRetryError, ResponseError

from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    ConfigurationError,
    TLSError,
    TransientError,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import (
    RETRY_STATUSES,
    USER_AGENT,
    HttpSettings,
    new_session,
    request,
)

from ansible_collections.ent.pronote.plugins.module_utils import _http as http_module

from .fakes import Reply, ScriptedAdapter, mount

URL = "https://ent.example.test/mbn/"


# --- verify -------------------------------------------------------------------
def test_verify_defaults_to_true():
    assert HttpSettings().verify is True


def test_verify_false_when_certificates_are_not_validated(tmp_path):
    assert HttpSettings(validate_certs=False).verify is False
    # ca_path does not matter then, even a missing one
    assert HttpSettings(validate_certs=False, ca_path=str(tmp_path / "missing.pem")).verify is False


def test_verify_is_the_ca_path(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert HttpSettings(ca_path=str(ca)).verify == str(ca)


def test_missing_ca_file_is_a_configuration_error(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigurationError, match=f"CA file not found: {missing}"):
        HttpSettings(ca_path=str(missing)).verify


def test_ca_path_that_is_a_directory_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError):
        HttpSettings(ca_path=str(tmp_path)).verify


def test_defaults():
    settings = HttpSettings()
    assert (settings.validate_certs, settings.ca_path, settings.timeout, settings.retries) == (True, None, 30.0, 3)


# --- new_session --------------------------------------------------------------
def test_new_session_ignores_the_environment_and_identifies_itself():
    session = new_session(HttpSettings())
    assert session.trust_env is False
    assert session.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("scheme", ["https://", "http://"])
def test_new_session_retries_only_get_and_head(scheme):
    retry = new_session(HttpSettings(retries=5)).get_adapter(scheme + "x.test/").max_retries
    assert retry.allowed_methods == frozenset({"GET", "HEAD"})
    assert (retry.minimum, retry.budget) == (5, 60.0)
    assert set(retry.status_forcelist) == set(RETRY_STATUSES) == {500, 502, 503, 504}
    assert retry.raise_on_status is False
    assert retry.is_retry("GET", 503) and retry.is_retry("HEAD", 500)
    assert not retry.is_retry("POST", 503) and not retry.is_retry("PUT", 503)
    assert not retry.is_retry("GET", 404)
    assert not retry._is_method_retryable("POST")


def test_zero_retries():
    retry = new_session(HttpSettings(retries=0)).get_adapter(URL).max_retries
    assert retry.total == 0


def test_env_proxies_are_ignored(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    session = new_session(HttpSettings())
    settings = session.merge_environment_settings(URL, {}, None, None, None)
    assert settings["proxies"] == {} or not settings["proxies"].get("https")
    assert settings["verify"] in (None, True)


def retry_error() -> requests.exceptions.RetryError:
    """What requests raises when urllib3 gives up (as raised inside its ``except MaxRetryError``)."""
    inner = MaxRetryError(None, URL, ResponseError("too many 503 error responses"))
    try:
        try:
            raise inner
        except MaxRetryError as exc:
            raise requests.exceptions.RetryError(exc)  # noqa: B904 - as requests does
    except requests.exceptions.RetryError as outer:
        return outer


# --- request ------------------------------------------------------------------
def session_answering(answer):
    adapter = ScriptedAdapter(lambda req: answer)
    return mount(new_session(HttpSettings()), adapter), adapter


def test_request_passes_verify_and_timeout_on_every_call(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    session, adapter = session_answering(Reply(200, "<html></html>"))
    settings = HttpSettings(ca_path=str(ca), timeout=7.5)
    response = request(session, settings, "GET", URL, "read")
    request(session, settings, "POST", URL, "post", data=[("a", "1")], timeout=2)
    assert response.status_code == 200
    assert [(r.verify, r.timeout) for r in adapter.log] == [(str(ca), 7.5), (str(ca), 2)]
    request(session, HttpSettings(validate_certs=False), "GET", URL, "read")
    assert adapter.log[-1].verify is False


def test_request_with_a_missing_ca_sends_nothing(tmp_path):
    session, adapter = session_answering(Reply(200))
    with pytest.raises(ConfigurationError):
        request(session, HttpSettings(ca_path=str(tmp_path / "missing")), "GET", URL, "read")
    assert adapter.log == []


@pytest.mark.parametrize("status", RETRY_STATUSES)
def test_server_errors_are_transient(status):
    session, _ = session_answering(Reply(status, "oops"))
    with pytest.raises(TransientError) as err:
        request(session, HttpSettings(), "GET", URL, "read the services of 0671234C")
    assert str(err.value) == f"Could not read the services of 0671234C: {URL} answered HTTP {status}."


@pytest.mark.parametrize("status", [200, 302, 400, 403, 404, 501])
def test_other_statuses_are_returned(status):
    session, _ = session_answering(Reply(status, "x"))
    assert request(session, HttpSettings(), "GET", URL, "read").status_code == status


@pytest.mark.parametrize("exc, error, text", [
    (requests.exceptions.SSLError("certificate verify failed: self-signed certificate"), TLSError,
     "could not be verified (certificate verify failed: self-signed certificate). Give the CA"),
    (requests.exceptions.ConnectTimeout("connect timed out"), TransientError, "did not answer within 30 s"),
    (requests.exceptions.ReadTimeout("read timed out"), TransientError, "did not answer within 30 s"),
    (requests.exceptions.ConnectionError("Connection refused"), TransientError,
     "cannot connect to https://ent.example.test/mbn/ (Connection refused)"),
    (retry_error(), TransientError,
     "kept failing (too many 503 error responses)"),
    (requests.exceptions.InvalidURL("bad port"), ConfigurationError, "invalid URL"),
])
def test_transport_errors_become_client_errors(exc, error, text):
    session, _ = session_answering(exc)
    with pytest.raises(error) as err:
        request(session, HttpSettings(), "GET", URL, "read")
    assert text in str(err.value)
    assert str(err.value).startswith("Could not read: ")
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_tls_error_is_not_transient_but_timeouts_are():
    assert not TLSError.transient and TransientError.transient and not ConfigurationError.transient


# --- the retry policy: at least `retries`, then as long as `retry_time` lasts ------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(retry, clock: Clock, seconds: float):
    """One more failed attempt, ``seconds`` after the previous one; the next Retry, or MaxRetryError."""
    clock.now += seconds
    return retry.increment("GET", "/x", error=urllib3.exceptions.ConnectTimeoutError("down"))


def test_at_least_retries_attempts_even_with_no_time_left(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(http_module.time, "monotonic", clock)
    retry = new_session(HttpSettings(retries=3, retry_time=0)).get_adapter(URL).max_retries
    for _ in range(3):
        retry = _fail(retry, clock, 100)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        _fail(retry, clock, 0)


def test_retried_while_the_budget_lasts_then_given_up(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(http_module.time, "monotonic", clock)
    retry = new_session(HttpSettings(retries=1, retry_time=30)).get_adapter(URL).max_retries
    made = 0
    while True:
        try:
            retry = _fail(retry, clock, 1.0)
        except urllib3.exceptions.MaxRetryError:
            break
        made += 1
        assert made < 100
    # the first failure starts the budget: 30 more seconds of one-second attempts
    assert 29 <= made <= 31


def test_the_default_policy_rides_out_a_30_second_outage(monkeypatch):
    """Attempts that fail at once, separated by the policy's own pauses: still trying after 30 s."""
    clock = Clock()
    monkeypatch.setattr(http_module.time, "monotonic", clock)
    retry = new_session(HttpSettings()).get_adapter(URL).max_retries
    waited = 0.0
    while waited < 30:
        retry = _fail(retry, clock, 0)
        pause = retry.get_backoff_time()
        assert pause <= http_module.BACKOFF_MAX + http_module.BACKOFF_JITTER
        clock.now += pause
        waited += pause
    assert retry.made < 30  # a pause that grows: not a storm of requests


def test_zero_retries_is_one_attempt():
    retry = new_session(HttpSettings(retries=0, retry_time=60)).get_adapter(URL).max_retries
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        retry.increment("GET", "/x", error=urllib3.exceptions.ConnectTimeoutError("down"))


def test_a_ticket_url_is_sent_once_whatever_the_policy(monkeypatch):
    session = new_session(HttpSettings(retries=5))
    adapter = session.get_adapter(URL)
    seen = []

    def send(request, **kwargs):
        seen.append(adapter.max_retries)
        raise requests.exceptions.ConnectionError("refused")

    monkeypatch.setattr(adapter, "send", send)
    with pytest.raises(TransientError):
        request(session, HttpSettings(retries=5), "GET", URL + "?ticket=ST-1", "open", retry=False)
    assert seen[0].total == 0 and seen[0].connect == 0
    assert adapter.max_retries.minimum == 5  # restored


def test_a_ticket_url_may_be_retried_when_it_never_reached_the_server():
    retry = new_session(HttpSettings(retries=3)).get_adapter(URL).max_retries
    again = retry.increment("GET", "/cb?ticket=ST-1", error=urllib3.exceptions.ConnectTimeoutError("down"))
    assert again.made == 1
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/cb?a=1&ticket=ST-1", error=urllib3.exceptions.ProtocolError("reset"))
