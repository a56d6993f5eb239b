"""PRONOTE.net's side of CAS: a service ticket validated over HTTPS, as a real PRONOTE.net does.

A base validates the ticket with ``GET <CAS URL>/p3/serviceValidate?service=…&ticket=…``
at the CAS its delegation names, whichever server that is (the sandbox's own
CAS, or an independent one elsewhere on loopback), and trusts the sandbox's CA
plus the CA files given to ``python -m sandbox start --trust-ca``. Nothing
here touches the database: the CAS consumes the ticket on its own request.

The answer is read in the CAS 3.0 forms real servers use: attributes as
``<cas:NAME>value</cas:NAME>`` (repeated when multi-valued) or
``<cas:attribute name="NAME" value="value"/>``, under ``<cas:attributes>`` or
directly under ``<cas:authenticationSuccess>`` (the older layouts). The XML is
parsed without entities, DTDs or network access, size bounded.

Anything that is not a CAS answer (no connection, TLS failure, timeout, an
HTTP error, HTML or other non-CAS content, an address off loopback) is
:class:`Unreachable`: PRONOTE.net shows it as a network error.
"""

from __future__ import annotations

import http.client
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from lxml import etree

from sandbox.security import is_loopback

CAS_NS = "http://www.yale.edu/tp/cas"
#: Largest validation answer read (a CAS answer is a few kilobytes).
MAX_ANSWER_BYTES = 256 * 1024
#: The protocol's own elements under ``authenticationSuccess`` (not attributes).
_PROTOCOL_ELEMENTS = ("user", "proxyGrantingTicket", "proxies", "attributes")
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Unreachable(Exception):
    """No CAS answer could be had; the message says why (English, for the log; never the ticket)."""


@dataclass(frozen=True)
class Success:
    """``authenticationSuccess``: the CAS user and every attribute, in document order."""

    user: str
    attributes: list[tuple[str, str]] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.attributes if key == name]


@dataclass(frozen=True)
class Refusal:
    """``authenticationFailure``: the CAS refused the ticket (its code, e.g. INVALID_TICKET)."""

    code: str


def client_context(ca_files: Iterable[str | Path]) -> ssl.SSLContext:
    """A TLS client context trusting only ``ca_files`` (PEM; each must hold at least one certificate)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    for path in ca_files:
        context.load_verify_locations(cafile=str(path))
    return context



def validation_url(cas_url: str, service: str, ticket: str) -> str:
    """``<cas_url>/p3/serviceValidate?service=…&ticket=…``."""
    return cas_url.rstrip("/") + "/p3/serviceValidate?" + urlencode({"service": service, "ticket": ticket})


def validate(cas_url: str, service: str, ticket: str, context: ssl.SSLContext,
             timeout: float) -> Success | Refusal:
    """Validate ``ticket`` for ``service`` at ``cas_url``; raise :class:`Unreachable` without a CAS answer.

    ``timeout`` bounds the connection and each read. No redirect is followed,
    no proxy is used, and only loopback addresses are contacted.
    """
    url = validation_url(cas_url, service, ticket)
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise Unreachable(f"invalid CAS URL: {exc}") from None
    host = parts.hostname or ""
    if parts.scheme != "https":
        raise Unreachable("the CAS URL is not https")
    if not is_loopback(host):
        raise Unreachable(f"{host} is not a loopback address (the sandbox talks to loopback only)")
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}",
                           headers={"Accept": "application/xml, text/xml", "User-Agent": "PRONOTE.net (sandbox)"})
        response = connection.getresponse()
        body = response.read(MAX_ANSWER_BYTES + 1)
    except ssl.SSLError as exc:
        raise Unreachable(f"TLS failure: {exc.reason or exc}") from None
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"connection failed: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise Unreachable(f"HTTP {response.status} {response.reason}")
    if len(body) > MAX_ANSWER_BYTES:
        raise Unreachable(f"answer larger than {MAX_ANSWER_BYTES} bytes")
    return parse_answer(body)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _value(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _attributes(container: etree._Element, skip_protocol: bool) -> list[tuple[str, str]]:
    """The attributes among ``container``'s children, in both forms."""
    found: list[tuple[str, str]] = []
    for child in container:
        if not isinstance(child.tag, str):
            continue
        name = _local(child)
        if skip_protocol and name in _PROTOCOL_ELEMENTS:
            continue
        if name == "attribute" and child.get("name") is not None:
            found.append((child.get("name", "").strip(), (child.get("value") or "").strip()))
        else:
            found.append((name, _value(child)))
    return [(name, value) for name, value in found if name]


def parse_answer(body: bytes) -> Success | Refusal:
    """A ``cas:serviceResponse``; raise :class:`Unreachable` for anything else (HTML, text, other XML)."""
    if not body.strip():
        raise Unreachable("empty answer")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError:
        raise Unreachable("the answer is not XML (an HTML page?)") from None
    if root.getroottree().docinfo.doctype:
        raise Unreachable("the answer has a DOCTYPE (refused)")
    if root.tag != f"{{{CAS_NS}}}serviceResponse":
        raise Unreachable(f"the answer is not a CAS serviceResponse but <{_local(root)}>")
    failure = root.find(f"{{{CAS_NS}}}authenticationFailure")
    if failure is not None:
        code = (failure.get("code") or "").strip()
        return Refusal(code if _CODE.match(code) else "UNKNOWN")
    success = root.find(f"{{{CAS_NS}}}authenticationSuccess")
    if success is None:
        raise Unreachable("the CAS answer has neither authenticationSuccess nor authenticationFailure")
    user = success.find(f"{{{CAS_NS}}}user")
    login = _value(user) if user is not None else ""
    if not login:
        raise Unreachable("authenticationSuccess without cas:user")
    attributes = _attributes(success, skip_protocol=True)
    for container in success.findall(f"{{{CAS_NS}}}attributes"):
        attributes += _attributes(container, skip_protocol=False)
    return Success(login, attributes)
