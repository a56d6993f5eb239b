"""A fake ``requests`` transport and a fake ENT (CAS + admin console) for the unit tests.

Nothing here opens a socket: :class:`ScriptedAdapter` is mounted on a client's
``requests.Session`` and answers from Python, and :class:`FakeEnt` plays the CAS
and the console of docs/console-screens.md from the pages of ``fixtures/``.
"""
from __future__ import annotations

import http.client
from collections import deque
from http import HTTPStatus
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

FIXTURES = Path(__file__).parent / "fixtures"
HOST = "https://ent.example.test"
BASE = HOST + "/mbn/"
UAI = "0671234C"
LOGIN = "admin.mbn"
PASSWORD = "S3cret-pw"
CSRF = "tok-123"
CAS_ERROR = "Identifiant ou mot de passe incorrect."


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --- a fake transport ----------------------------------------------------------
class _Raw:
    """What requests reads from a urllib3 response: the Set-Cookie headers."""

    def __init__(self, cookies: list[str]) -> None:
        msg = http.client.HTTPMessage()
        for cookie in cookies:
            msg["Set-Cookie"] = cookie
        self._original_response = type("Orig", (), {"msg": msg})()

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, *args, **kwargs) -> bytes:
        return b""


class Reply:
    """A canned HTTP answer."""

    def __init__(self, status: int = 200, body: str | bytes = "", headers: dict[str, str] | None = None,
                 cookies: list[str] | None = None, location: str | None = None) -> None:
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = dict(headers or {})
        if self.body and "Content-Type" not in self.headers:
            self.headers["Content-Type"] = "text/html; charset=utf-8"
        if location is not None:
            self.headers["Location"] = location
        self.cookies = list(cookies or [])


def build_response(adapter: BaseAdapter, request: requests.PreparedRequest, reply: Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    response.headers = CaseInsensitiveDict(reply.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response._content = reply.body
    response._content_consumed = True
    response.raw = _Raw(reply.cookies)
    response.reason = HTTPStatus(reply.status).phrase
    response.url = request.url
    response.request = request
    response.connection = adapter
    return response


class Recorded:
    """One request the fake received."""

    def __init__(self, request: requests.PreparedRequest, kwargs: dict) -> None:
        self.method = request.method
        self.url = request.url
        parts = urlsplit(request.url)
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = request.body or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        self.form = parse_qsl(body, keep_blank_values=True) if request.method == "POST" else []
        self.headers = dict(request.headers)
        self.cookies = dict(
            part.strip().split("=", 1) for part in (request.headers.get("Cookie") or "").split(";") if "=" in part)
        self.verify = kwargs.get("verify")
        self.timeout = kwargs.get("timeout")

    def __repr__(self) -> str:
        return f"<{self.method} {self.url}>"


class ScriptedAdapter(BaseAdapter):
    """Answers from a function ``request -> Reply``; records every request."""

    def __init__(self, handler: Callable[[Recorded], Reply]) -> None:
        super().__init__()
        self.handler = handler
        self.log: list[Recorded] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        seen = Recorded(request, {"verify": verify, "timeout": timeout})
        self.log.append(seen)
        answer = self.handler(seen)
        if isinstance(answer, BaseException):
            raise answer
        return build_response(self, request, answer)

    def close(self) -> None:
        pass


def mount(session: requests.Session, adapter: BaseAdapter) -> requests.Session:
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class FakeEnt(ScriptedAdapter):
    """The CAS and the admin console of one ENT project, as docs/console-screens.md tells.

    ``pages`` maps a path under the project prefix to the HTML served on GET;
    ``posts`` maps a path to a function ``(Recorded) -> Reply`` for POSTs with a
    valid session and CSRF token. ``script`` queues one-shot answers
    ``(method, path) -> Reply`` that take precedence (fault injection).
    """

    def __init__(self, login: str = LOGIN, password: str = PASSWORD, base: str = BASE) -> None:
        super().__init__(self._answer)
        self.base = base
        self.prefix = urlsplit(base).path  # /mbn/
        self.login = login
        self.password = password
        self.pages: dict[str, str | Reply] = {}
        self.posts: dict[str, Callable[[Recorded], Reply]] = {}
        self.script: dict[tuple[str, str], deque[Reply]] = {}
        self.sessions: set[str] = set()
        self.tgts: set[str] = set()
        self.tickets: set[str] = set()
        self.sign_ins = 0
        self._n = 0
        #: a K-d'école CAS: (code, label, local?) of its selection page's sources; empty: Apereo's form at once
        self.sources: list[tuple[str, str, bool]] = []

    # -- test helpers -------------------------------------------------------
    def once(self, method: str, path: str, reply: Reply) -> None:
        self.script.setdefault((method, path), deque()).append(reply)

    def expire(self) -> None:
        """End every console session and TGC (the sandbox's fault injection)."""
        self.sessions.clear()
        self.tgts.clear()

    def posted(self, path: str | None = None) -> list[Recorded]:
        """POSTs to ``path``, or to the console (not the CAS) when None."""
        return [r for r in self.log if r.method == "POST" and (
            r.path == self.prefix + path if path is not None else not r.path.startswith(self.prefix + "cas/"))]

    def cas_posts(self) -> list[Recorded]:
        return self.posted("cas/login")

    # -- the server ---------------------------------------------------------
    def _next(self, kind: str) -> str:
        self._n += 1
        return f"{kind}-{self._n}"

    def _login_page(self, error: str = "") -> Reply:
        if self.sources:
            html = fixture_text("cas_kdecole_login.html")
            if error:
                html = html.replace("<!--ERRORS-->", '<div class="cas__alert cas__alert--error" role="alert">'
                                    f'<p class="cas__alert-message">{error}</p><button type="button">×</button></div>')
            return Reply(200, html)
        html = fixture_text("cas_login.html")
        if error:
            html = html.replace("<!--ERRORS-->", f'<div class="errors" id="msg">{error}</div>')
        return Reply(200, html)

    def _to_cas(self, path: str) -> Reply:
        service = f"{self.base}auth/cas?next={quote(self.prefix + path, safe='')}"
        return Reply(302, location=f"{self.base}cas/login?service={quote(service, safe='')}")

    def _answer(self, req: Recorded) -> Reply:
        assert req.path.startswith(self.prefix), req.url
        path = req.path[len(self.prefix):]
        queued = self.script.get((req.method, path))
        if queued:
            return queued.popleft()
        if path == "cas/login":
            return self._cas_login(req)
        if path.startswith("idp/"):  # EduConnect's sign-in page (SAML): no CAS form
            return Reply(200, '<html><body><h1>ÉduConnect</h1><form method="post"><input name="j_username">'
                              '<input type="password" name="j_password"></form></body></html>')
        if path == "auth/cas":
            ticket = req.query.get("ticket", "")
            if ticket not in self.tickets:
                return Reply(403, "<html><body><main><p>Ticket invalide.</p></main></body></html>")
            self.tickets.discard(ticket)
            session = self._next("KD")
            self.sessions.add(session)
            return Reply(302, location=HOST + req.query["next"],
                         cookies=[f"KDSESSION={session}; Path={self.prefix}; Secure; HttpOnly"])
        if req.cookies.get("KDSESSION") not in self.sessions:
            return self._to_cas(path)
        if req.method == "POST":
            if dict(req.form).get("csrf_token") != CSRF:
                return Reply(403, fixture_text("csrf_403.html"))
            handler = self.posts.get(path)
            if handler is None:
                return Reply(404, fixture_text("error_404.html"))
            return handler(req)
        # a page served at one query (« ?page=2 ») is looked up with it first
        query = urlsplit(req.url).query
        page = self.pages.get(f"{path}?{query}") if query else None
        page = page if page is not None else self.pages.get(path)
        if page is None:
            return Reply(404, fixture_text("error_404.html"))
        return page if isinstance(page, Reply) else Reply(200, page)

    def _selection_page(self, req: Recorded) -> Reply:
        hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in req.query.items()
                         if k == "service")
        items = "".join(
            f'<li class="cas__wayf-idp"><input type="radio" name="selection" id="idp-{code}" value="{code}">'
            f'<label for="idp-{code}">{label}</label></li>' for code, label, _ in self.sources)
        html = fixture_text("cas_selection.html").replace("<!--HIDDEN-->", hidden).replace("<!--SOURCES-->", items)
        return Reply(200, html)

    def _source(self, req: Recorded) -> Reply | None:
        """A K-d'école CAS's answer before its form: the selection page, or a SAML redirect elsewhere."""
        if not self.sources:
            return None
        chosen = next((s for s in self.sources if s[0] == req.query.get("selection")), None)
        if chosen is None:
            return self._selection_page(req)
        if not chosen[2]:
            return Reply(302, location=f"{self.base}idp/profile/SAML2/Redirect/SSO?SAMLRequest=abc")
        return None

    def _cas_login(self, req: Recorded) -> Reply:
        service = req.query.get("service")
        if req.method == "GET":
            if req.cookies.get("CASTGC") in self.tgts and service:
                return self._ticket(service)
            return self._source(req) or self._login_page()
        if self._source(req) is not None:
            return self._source(req)
        form = dict(req.form)
        hidden_ok = (form.get("lt"), form.get("execution"), form.get("_eventId")) == ("LT-42-abc", "e1s1-xyz", "submit")
        if not hidden_ok or form.get("username") != self.login or form.get("password") != self.password:
            return self._login_page(CAS_ERROR)
        self.sign_ins += 1
        tgt = self._next("TGT")
        self.tgts.add(tgt)
        reply = self._ticket(service) if service else Reply(200, "<html><body><p>Connexion réussie</p></body></html>")
        reply.cookies.append(f"CASTGC={tgt}; Path={self.prefix}cas; Secure; HttpOnly")
        return reply

    def _ticket(self, service: str) -> Reply:
        ticket = self._next("ST")
        self.tickets.add(ticket)
        return Reply(302, location=f"{service}&ticket={ticket}")
