"""The shared HTTP layer: one ``requests.Session`` per remote system.

- TLS is verified by default, against ``ca_path`` when given. ``verify`` is
  passed on every request, because requests ignores ``Session.verify`` when
  ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is set in the environment.
- One retry policy for every read: idempotent requests (GET, HEAD) are
  retried on connection errors and on HTTP 500/502/503/504, with exponential
  backoff and jitter, for at least ``retries`` attempts and as long as the
  ``retry_time`` budget lasts (60 s by default: a 30-second outage is ridden
  out). POSTs are never retried here: the caller re-reads the remote state
  and decides (``_engine.ensure``). A URL that carries a one-time CAS ticket
  is never sent twice: asked for (``retry=False``), or met as a hop of the
  redirects a read follows through the CAS once a session has expired (a
  new sign-in follows instead).
- Every call has a timeout.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests
from ansible_collections.ent.pronote.plugins.module_utils._requirements import HTTPAdapter
from ansible_collections.ent.pronote.plugins.module_utils._requirements import Retry

from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    ConfigurationError,
    TLSError,
    TransientError,
)

USER_AGENT = "ent.pronote (Ansible collection)"
#: what OpenSSL says when a server refuses a TLS client for its (missing or unknown) certificate
_CLIENT_CERT_REFUSED = re.compile(r"(?i)certificate[ _]required|unknown[ _]ca|bad[ _]certificate|"
                                  r"certificate[ _]unknown|peer did not return a certificate")
#: a TLS handshake the server cut short without saying why (how some servers refuse a client certificate)
_HANDSHAKE_CUT = re.compile(r"(?i)EOF occurred in violation of protocol|unexpected[ _]eof")
RETRY_STATUSES = (500, 502, 503, 504)
#: backoff between two attempts: factor × 2^n seconds, at most BACKOFF_MAX, ± BACKOFF_JITTER
BACKOFF_FACTOR, BACKOFF_MAX, BACKOFF_JITTER = 0.5, 5.0, 0.5


#: urllib3's Retry, or a plain base when urllib3 is missing (then every task fails first: ``_requirements``)
_RetryBase: Any = Retry if isinstance(Retry, type) else object


class BudgetRetry(_RetryBase):
    """urllib3's ``Retry``, bounded by time as well as by count.

    An attempt that fails is retried while fewer than ``minimum`` retries were
    made, or while the ``budget`` (seconds since the first failure) lasts. The
    counts given to urllib3 are only a ceiling.
    """

    def __init__(self, *args: Any, budget: float = 0.0, minimum: int = 0, deadline: float | None = None,
                 made: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget, self.minimum, self.deadline, self.made = budget, minimum, deadline, made

    def new(self, **kw: Any) -> BudgetRetry:
        kw.setdefault("budget", self.budget)
        kw.setdefault("minimum", self.minimum)
        kw.setdefault("deadline", self.deadline)
        kw.setdefault("made", self.made)
        return super().new(**kw)  # type: ignore[return-value]

    def increment(self, method: str | None = None, url: str | None = None, *args: Any,
                  **kwargs: Any) -> BudgetRetry:
        deadline = self.deadline if self.deadline is not None else time.monotonic() + self.budget
        error = kwargs.get("error")
        sent = error is None or not self._is_connection_error(error)
        if (self.made >= self.minimum and time.monotonic() >= deadline) or (sent and carries_ticket(url)):
            # Out of time, or a URL with a one-time CAS ticket that reached the server (a hop of redirects
            # through the CAS after a session expired): sent again, the ticket would be refused. The caller
            # signs in again from the start instead. Let urllib3 give up as if the count were spent.
            spent = self.new(total=0, connect=0, read=0, status=0, other=0)
            return Retry.increment(spent, method, url, *args, **kwargs)  # type: ignore[return-value]
        following = super().increment(method, url, *args, **kwargs)
        following.deadline, following.made = deadline, self.made + 1  # type: ignore[attr-defined]
        return following  # type: ignore[return-value]


_TICKET = re.compile(r"[?&]ticket=")


def carries_ticket(url: str | None) -> bool:
    """Whether ``url`` (or the path and query urllib3 sends) carries a CAS ticket."""
    return bool(url) and _TICKET.search(url) is not None


def retry_policy(settings: HttpSettings) -> Retry:
    """The retries of the idempotent requests of ``settings``."""
    if settings.retries <= 0:
        return Retry(total=0, read=False, connect=0, status=0, raise_on_status=False)
    ceiling = max(settings.retries, 1000)
    return BudgetRetry(
        total=ceiling, connect=ceiling, read=ceiling, status=ceiling, other=0, redirect=10,
        backoff_factor=BACKOFF_FACTOR, backoff_max=BACKOFF_MAX, backoff_jitter=BACKOFF_JITTER,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False, respect_retry_after_header=True,
        budget=settings.retry_time, minimum=settings.retries,
    )


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to one remote system."""

    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 30.0
    retries: int = 3
    #: seconds during which a failing read is retried (beyond ``retries`` attempts)
    retry_time: float = 60.0
    #: a client certificate and its key (PEM files), for servers that demand one
    client_cert: str | None = None
    client_key: str | None = None

    @property
    def verify(self) -> bool | str:
        """The value of requests' ``verify`` for every call."""
        if not self.validate_certs:
            return False
        if self.ca_path:
            if not os.path.isfile(self.ca_path):
                raise ConfigurationError(f"CA file not found: {self.ca_path}")
            return self.ca_path
        return True

    @property
    def cert(self) -> tuple[str, str] | str | None:
        """The value of requests' ``cert``: the client certificate, if any."""
        if not self.client_cert:
            if self.client_key:
                raise ConfigurationError("client_key is given without client_cert.")
            return None
        for path in (self.client_cert, self.client_key):
            if path and not os.path.isfile(path):
                raise ConfigurationError(f"Client certificate file not found: {path}")
        return (self.client_cert, self.client_key) if self.client_key else self.client_cert


def new_session(settings: HttpSettings) -> requests.Session:
    """A session with retries on idempotent methods and no environment magic."""
    session = requests.Session()
    # Proxies and CA bundles from the environment stay out: ca_path decides.
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retry_policy(settings), pool_connections=4, pool_maxsize=4)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def request(
    session: requests.Session,
    settings: HttpSettings,
    method: str,
    url: str,
    what: str,
    accept: tuple[int, ...] = (),
    retry: bool = True,
    **kwargs: Any,
) -> requests.Response:
    """Send one request; turn transport failures into the client's errors.

    ``what`` names the operation for messages ("read the services of 0671234C").
    A status of ``accept`` is returned even when it would be a transient error
    (a PRONOTE.net base that is not published answers 503 on purpose).
    ``retry=False`` sends it once whatever happens (a URL carrying a one-time
    CAS ticket: sent again, it would be refused, and the refusal would be a
    wrong diagnosis); the redirects it is sent through are each sent once too.
    """
    kwargs.setdefault("timeout", settings.timeout)
    kwargs["verify"] = settings.verify
    kwargs["cert"] = settings.cert
    try:
        with contextlib.nullcontext() if retry else _sent_once(session, url):
            response = session.request(method, url, **kwargs)
    except requests.exceptions.Timeout:
        raise TransientError(f"Could not {what}: {url} did not answer within {settings.timeout:g} s.") from None
    except (requests.exceptions.SSLError, requests.exceptions.ConnectionError) as exc:
        reason = _reason(exc)
        if _CLIENT_CERT_REFUSED.search(reason):
            raise TLSError(
                f"Could not {what}: {url} demands a client certificate and refused "
                + ("the one given" if settings.client_cert else "the connection without one")
                + f" ({reason}). Give the certificate the host issued with client_cert and client_key."
            ) from None
        if _HANDSHAKE_CUT.search(reason):
            given = "refused the client certificate given" if settings.client_cert else "wanted one"
            raise TLSError(
                f"Could not {what}: {url} closed the connection during the TLS handshake ({reason}). A server "
                f"that demands a client certificate does this when it {given}: give the certificate the host "
                "issued with client_cert and client_key."
            ) from None
        if isinstance(exc, requests.exceptions.SSLError):
            raise TLSError(
                f"Could not {what}: the TLS certificate of {url} could not be verified "
                f"({reason}). Give the CA that signed it with ca_path."
            ) from None
        raise TransientError(f"Could not {what}: cannot connect to {url} ({reason}).") from None
    except requests.exceptions.RetryError as exc:
        raise TransientError(f"Could not {what}: {url} kept failing ({_reason(exc)}).") from None
    except requests.exceptions.InvalidURL as exc:
        raise ConfigurationError(f"Could not {what}: invalid URL {url} ({exc}).") from None
    if response.status_code in RETRY_STATUSES and response.status_code not in accept:
        raise TransientError(f"Could not {what}: {url} answered HTTP {response.status_code}.")
    return response


@contextlib.contextmanager
def _sent_once(session: requests.Session, url: str) -> Any:
    """No retry for the requests of the block (the session is used by one thread at a time)."""
    adapter = session.get_adapter(url)
    if not isinstance(adapter, HTTPAdapter):  # an adapter that does not retry (a test's transport)
        yield
        return
    saved = adapter.max_retries
    adapter.max_retries = Retry(total=0, read=False, connect=0, status=0, redirect=0, raise_on_status=False)
    try:
        yield
    finally:
        adapter.max_retries = saved


def _reason(exc: Exception) -> str:
    """The innermost, shortest explanation of a requests exception."""
    cause: BaseException = exc
    while True:
        inner = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if inner is None or inner is cause or not isinstance(inner, BaseException):
            break
        cause = inner
    text = str(cause) or cause.__class__.__name__
    return text if len(text) <= 300 else text[:297] + "..."
