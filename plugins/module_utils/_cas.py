"""The browser side of a CAS sign-in (Apereo CAS protocol 3.0).

Used by every client that reaches a page protected by an ENT's CAS: the
console client signs its administrator in, and the sign-on check signs test
accounts in. Real CAS servers differ in their login forms' hidden fields
(``lt``, ``execution``, ``_eventId``, ``csrfmiddlewaretoken``…): every hidden
input is posted back as it came. They differ in their defences too: a CAS
built on a web framework refuses a form post without the ``Referer`` or
``Origin`` a browser sends (CSRF protection), so the post carries both, in
the session that holds the login page's cookies.

An HTTP error of the CAS at any step is raised as :class:`CasHttpError`
naming the step, the status and the URL (tickets redacted): an error page is
never taken for the page after the sign-in.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import requests

from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AuthenticationError,
    TransientError,
    UnexpectedPageError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import parse_response, read_form_element, text_of
from ansible_collections.ent.pronote.plugins.module_utils._http import RETRY_STATUSES, HttpSettings, request

#: CAS protocol parameter names of the credentials
USERNAME_FIELD = "username"
PASSWORD_FIELD = "password"
#: the steps of a sign-in, as errors name them
STEP_LOGIN_PAGE = "open the CAS login page"
STEP_POST = "post the credentials to the CAS"
STEP_RETURN = "return from the CAS to the service"

_TICKET = re.compile(r"\b(ST|PT|TGT|PGT|PGTIOU|LT)-[A-Za-z0-9._-]+")
#: class names CAS skins give the box of their sign-in error (Apereo ``#msg.errors``, Bootstrap's
#: ``alert-danger`` as django-cas-server shows it, BEM-style ``cas__error``, ``login__error-message``…);
#: not Bootstrap's ``has-error``, the state of a whole field with its label
_ERROR_CLASS = re.compile(r"^(alert-danger|(.*(__|--|-))?errors?((__|--|-).*)?)$")
_NOT_ERROR_CLASS = frozenset({"has-error"})


class CasHttpError(UnexpectedPageError):
    """The CAS answered an HTTP error (status >= 400) at one step of a sign-in."""

    def __init__(self, step: str, status: int, url: str, message: str = "") -> None:
        self.step = step
        self.status = status
        self.url = redact_tickets(url)
        super().__init__(f"Could not {step}: the CAS answered HTTP {status} at {self.url}"
                         + (f": « {message} »" if message else "."))


class CasServerError(CasHttpError, TransientError):
    """:class:`CasHttpError` with a server error status (5xx): trying again later may succeed."""


def redact_tickets(text: str) -> str:
    """``text`` with every CAS ticket replaced by its kind: tickets never reach a log."""
    return _TICKET.sub(lambda m: f"{m.group(1)}-…", text)


def login_form(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The CAS login form of a page, if the page is one."""
    forms = doc.xpath("//form[.//input[@type='password'] and .//input[@name=$u]]", u=USERNAME_FIELD)
    return forms[0] if forms else None


def is_login_page(response: requests.Response) -> bool:
    """Whether ``response`` is a CAS login form (the session needs a sign-in)."""
    if "html" not in response.headers.get("Content-Type", "") or not response.content:
        return False
    return login_form(parse_response(response)) is not None


def check_status(response: requests.Response, step: str) -> None:
    """Raise :class:`CasHttpError` when the CAS answered ``step`` with an HTTP error."""
    if response.status_code < 400:
        return
    message = ""
    if response.content and "html" in response.headers.get("Content-Type", ""):
        message = page_message(parse_response(response))
    error = CasServerError if response.status_code >= 500 else CasHttpError
    raise error(step, response.status_code, response.url, message)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, as a browser sends it in ``Origin`` (no default port)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def sign_in(
    session: requests.Session,
    settings: HttpSettings,
    response: requests.Response,
    username: str,
    password: str,
) -> requests.Response:
    """Post the credentials into the CAS form of ``response``; follow the CAS back to the service.

    ``response`` is the login page, read with ``session`` (which holds its
    cookies). Returns the page the CAS sends the browser back to (redirects
    followed). Raises :class:`AuthenticationError` when the CAS shows its form
    again, :class:`CasHttpError` when it answers an HTTP error, and
    :class:`UnexpectedPageError` when ``response`` is not a login form.
    """
    check_status(response, STEP_LOGIN_PAGE)
    page_url = redact_tickets(response.url)
    if not response.content:
        raise UnexpectedPageError(f"Could not {STEP_LOGIN_PAGE}: {page_url} sent an empty page.")
    doc = parse_response(response)
    form_el = login_form(doc)
    if form_el is None:
        found = page_title(doc)
        raise UnexpectedPageError(
            f"Could not {STEP_LOGIN_PAGE}: expected the CAS login form (fields '{USERNAME_FIELD}' and "
            f"'{PASSWORD_FIELD}') at {page_url}, found "
            + (f"the page « {found} »" if found else "a page without it") + ".")
    form = read_form_element(form_el, response.url)
    for control in form.controls:
        if control.name == USERNAME_FIELD:
            control.value = username
        elif control.name == PASSWORD_FIELD:
            control.value = password
    # What a browser sends with a form post: the page it came from, its origin.
    headers = {"Referer": response.url, "Origin": origin_of(response.url)}
    answer = request(session, settings, "POST", form.action, STEP_POST, accept=RETRY_STATUSES,
                     data=form.payload(), headers=headers, allow_redirects=False)
    # The form again is a refusal of the credentials, whatever the skin (Apereo answers it with 401).
    if answer.status_code in (200, 401) and is_login_page(answer):
        raise _refused(answer, form.action, username)
    check_status(answer, STEP_POST)
    if answer.status_code in (301, 302, 303, 307, 308) and answer.headers.get("Location"):
        location = urljoin(answer.url, answer.headers["Location"])
        landing = request(session, settings, "GET", location, STEP_RETURN)
        if _same_page(landing.url, form.action) and is_login_page(landing):
            # A CAS that redirects after a post (post/redirect/get) to show its form again.
            raise _refused(landing, form.action, username)
        # Past the CAS: the service's own answers are the caller's to judge.
        return landing
    return answer


def _refused(page: requests.Response, action: str, username: str) -> AuthenticationError:
    message = form_error(parse_response(page))
    return AuthenticationError(
        f"The CAS at {redact_tickets(action.split('?')[0])} refused the sign-in of '{username}'"
        + (f": « {message} »" if message else "."))


def _same_page(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.netloc, a.path.rstrip("/")) == (b.scheme, b.netloc, b.path.rstrip("/"))


def form_error(doc: lxml.html.HtmlElement) -> str:
    """The error the CAS shows beside its form, the message only (no « × » of a close button).

    Apereo: ``<div id="msg" class="errors">``; django-cas-server (Bootstrap):
    ``<div class="alert alert-danger">`` with a close button; other skins:
    ``role="alert"`` or a BEM ``cas__error`` class. "" when the page shows none.
    """
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        classes = (element.get("class") or "").split()
        if (element.get("id") == "msg" or element.get("role") == "alert"
                or any(_ERROR_CLASS.match(name) and name not in _NOT_ERROR_CLASS for name in classes)):
            text = _message_text(element)
            if text:
                return text
    return ""


def page_message(doc: lxml.html.HtmlElement) -> str:
    """What an error page of the CAS says: its error box, else its main paragraph."""
    found = form_error(doc)
    if found:
        return found
    for xpath in ("//main//p", "//body//p", "//h1"):
        found = doc.xpath(xpath)
        if found and text_of(found[0]):
            return _short(redact_tickets(text_of(found[0])))
    return ""


def page_title(doc: lxml.html.HtmlElement) -> str:
    """What a page calls itself (its first heading, else its title), to say what was found instead."""
    for xpath in ("//h1", "//h2", "//title"):
        found = doc.xpath(xpath)
        if found and text_of(found[0]):
            return _short(text_of(found[0]))
    return ""


def _message_text(element: lxml.html.HtmlElement) -> str:
    """The text of ``element`` without its buttons and what is hidden from screen readers."""
    clone = lxml.html.fromstring(lxml.html.tostring(element, encoding="unicode", with_tail=False))
    for noise in clone.xpath(".//button | .//*[@aria-hidden='true'] | .//*[contains(concat(' ', @class, ' '), "
                            "' close ')] | .//script | .//style"):
        noise.drop_tree()
    return _short(redact_tickets(" ".join(clone.text_content().split())))


def _short(text: str) -> str:
    return text if len(text) < 300 else text[:297] + "..."
