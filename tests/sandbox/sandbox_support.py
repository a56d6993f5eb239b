"""Helpers of the sandbox tests: a running sandbox handle, a browser, HTML helpers.

Kept out of conftest.py under a unique module name so test modules can
import them whatever pytest's import mode.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit
from xml.sax.saxutils import escape, quoteattr

import lxml.html
import requests

from sandbox import db
from sandbox.security import DEMO_PASSWORD
from sandbox.seed import SeedOptions, seed_database
from sandbox.server import ThreadedSandbox
from sandbox.state import REPO_ROOT, StateDir, control_token, state_dir
from sandbox.tls import ensure_certificates, server_ssl_context

TIMEOUT = 10


@dataclass
class Sandbox:
    """A running seeded sandbox."""

    sd: StateDir
    threaded: ThreadedSandbox
    url: str
    ca: str
    token: str

    def conn(self) -> sqlite3.Connection:
        return db.connect(self.sd.db)

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        conn = self.conn()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A connection in one write transaction, closed after it."""
        conn = self.conn()
        try:
            with db.write(conn):
                yield conn
        finally:
            conn.close()

    def etabs(self, slug: str) -> list[sqlite3.Row]:
        return self.query("SELECT e.* FROM etabs e JOIN projects p ON p.id = e.project_id WHERE p.slug = ?"
                          " ORDER BY e.id", slug)

    def control(self, method: str, path: str, json: Any = None, token: str | None = "default") -> requests.Response:
        headers = {} if token is None else {"X-Sandbox-Token": self.token if token == "default" else token}
        return requests.request(method, self.url + "_sandbox/" + path, json=json, headers=headers,
                                verify=self.ca, timeout=TIMEOUT)

    def advance(self, seconds: float) -> None:
        assert self.control("POST", "clock", {"advance_s": seconds}).status_code == 200


def start_sandbox(root: Any, seed: int = 42, etabs: int = 6, trust_ca: Sequence[str] = ()) -> Sandbox:
    sd = state_dir(root)
    db.migrate(sd.db)
    conn = db.connect(sd.db)
    try:
        seed_database(conn, SeedOptions(seed=seed, etabs=etabs))
    finally:
        conn.close()
    threaded = ThreadedSandbox(sd, trust_ca=tuple(trust_ca)).start()
    return Sandbox(sd, threaded, threaded.url, str(sd.ca_cert), control_token(sd) or "")


def html(response: requests.Response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.text)


def one(doc: lxml.html.HtmlElement, xpath: str) -> Any:
    found = doc.xpath(xpath)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def text(node: Any) -> str:
    return " ".join(node.text_content().split())


def label_control(doc: lxml.html.HtmlElement, label: str) -> lxml.html.HtmlElement:
    """The control whose <label for> text (without ' *' and ':') is ``label``."""
    for node in doc.xpath("//label[@for]"):
        name = text(node).rstrip(":").strip().removesuffix("*").strip()
        if name == label:
            return one(doc, f"//*[@id='{node.get('for')}']")
    raise AssertionError(f"no label {label!r}")


def flash_errors(doc: lxml.html.HtmlElement) -> list[str]:
    return [text(li) for li in doc.xpath("//div[contains(@class,'flash') and contains(@class,'erreur')]//li")]


def flash_success(doc: lxml.html.HtmlElement) -> str:
    return text(one(doc, "//div[contains(@class,'flash') and contains(@class,'succes')]"))


class Browser:
    """A requests session that follows nothing on its own and verifies with the sandbox CA."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.session = requests.Session()

    def absolute(self, url: str) -> str:
        return urljoin(self.sb.url, url)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.absolute(url), verify=self.sb.ca, timeout=TIMEOUT,
                                allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)

    def post(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(self.absolute(url), data=data, verify=self.sb.ca, timeout=TIMEOUT,
                                 allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)

    def submit_login(self, form_page: requests.Response, username: str,
                     password: str = DEMO_PASSWORD) -> requests.Response:
        """Post the CAS form of ``form_page`` back with every hidden input."""
        doc = html(form_page)
        form = one(doc, "//form[@id='fm1']")
        data = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
        data.update(username=username, password=password)
        return self.post(urljoin(form_page.url, form.get("action")), data)

    def cas_login(self, slug: str, username: str, password: str = DEMO_PASSWORD,
                  service: str | None = None, **params: str) -> requests.Response:
        query = dict(params, **({"service": service} if service else {}))
        page = self.get(f"/{slug}/cas/login", params=query)
        assert page.status_code == 200, page.text
        return self.submit_login(page, username, password)

    def console_login(self, slug: str, username: str, path: str | None = None) -> requests.Response:
        """Sign in to the console through CAS, landing on ``path`` (default: home)."""
        target = path or f"/{slug}/"
        first = self.get(target)
        assert first.status_code == 302
        page = self.get(first.headers["Location"])
        if page.status_code == 302:  # TGC still valid
            ticket_redirect = page
        else:
            ticket_redirect = self.submit_login(page, username)
        assert ticket_redirect.status_code == 302, ticket_redirect.text
        callback = self.get(ticket_redirect.headers["Location"])
        assert callback.status_code == 302, callback.text
        return self.get(callback.headers["Location"])

    def csrf(self, url: str) -> str:
        return html(self.get(url)).xpath("//input[@name='csrf_token']/@value")[0]


def ticket_of(response: requests.Response) -> str:
    location = response.headers["Location"]
    return parse_qs(urlsplit(location).query)["ticket"][0]


#: the identifiers file's schema, as the sandbox's PRONOTE writes it
IDENTIFIERS_XSD = REPO_ROOT / "docs" / "schemas" / "identifiants-pronote.xsd"


class FakeCas:
    """A CAS stand-in on loopback HTTPS with a CA of its own (not the sandbox's): ``/p3/serviceValidate``
    answers what :attr:`answers` holds for the ticket, and every request's path is kept in :attr:`requests`.

    An answer is ``(status, content type, body)``; a ticket without one gets a 404.
    """

    def __init__(self, root: Path) -> None:
        self.sd = state_dir(root)
        ensure_certificates(self.sd)
        self.answers: dict[str, tuple[int, str, str]] = {}
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                fake.requests.append(self.path)
                ticket = parse_qs(urlsplit(self.path).query).get("ticket", [""])[0]
                status, content_type, body = fake.answers.get(ticket, (404, "text/plain", "inconnu"))
                payload = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = server_ssl_context(self.sd).wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_port}/cas"

    @property
    def ca(self) -> str:
        return str(self.sd.ca_cert)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def cas_success(user: str, attributes: list[tuple[str, str]], form: str = "elements") -> str:
    """A CAS 3.0 ``authenticationSuccess``: attributes as elements, as ``name-value`` pairs, or (``legacy``)
    as elements directly under ``authenticationSuccess``."""
    if form == "name-value":
        lines = "".join(f"<cas:attribute name={quoteattr(n)} value={quoteattr(v)}/>" for n, v in attributes)
    else:
        lines = "".join(f"<cas:{n}>{escape(v)}</cas:{n}>" for n, v in attributes)
    inner = lines if form == "legacy" else f"<cas:attributes>{lines}</cas:attributes>"
    return (f'<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>'
            f"<cas:user>{escape(user)}</cas:user>{inner}</cas:authenticationSuccess></cas:serviceResponse>")


def seeded_database(path: Any, **options: Any) -> sqlite3.Connection:
    """A new database at ``path``, seeded (no server): the default region, or ``SeedOptions(**options)``."""
    db.migrate(path)
    connection = db.connect(path)
    seed_database(connection, SeedOptions(**options))
    return connection
