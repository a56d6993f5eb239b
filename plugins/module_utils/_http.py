"""The shared HTTP layer: one ``requests.Session`` per remote system.

- TLS is verified by default, against ``ca_path`` when given. ``verify`` is
  passed on every request, because requests ignores ``Session.verify`` when
  ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is set in the environment.
- Idempotent requests (GET, HEAD) are retried on connection errors and on
  HTTP 500/502/503/504 with a short backoff (urllib3 ``Retry``). POSTs are
  never retried here: the caller re-reads the remote state and decides.
- Every call has a timeout.
"""
from __future__ import annotations

import os
import re
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


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to one remote system."""

    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 30.0
    retries: int = 3
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
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=0.2,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
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
    **kwargs: Any,
) -> requests.Response:
    """Send one request; turn transport failures into the client's errors.

    ``what`` names the operation for messages ("read the services of 0671234C").
    A status of ``accept`` is returned even when it would be a transient error
    (a PRONOTE.net base that is not published answers 503 on purpose).
    """
    kwargs.setdefault("timeout", settings.timeout)
    kwargs["verify"] = settings.verify
    kwargs["cert"] = settings.cert
    try:
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
