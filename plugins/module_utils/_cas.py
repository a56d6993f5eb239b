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

This is the one module that knows the CAS's screens, in both dialects
(docs/console-screens.md, "CAS dialects"): Apereo's login form at once, or
the public K-d'école servers (``https://cas.<ent-domain>/login?selection=<source>``)
whose login address without ``selection`` shows a page where the user picks
an identity source: the ENT's local accounts (the CAS's own form), EduConnect
or the académie's agents (SAML redirects elsewhere, which no client here can
sign in through). :func:`to_login_form` goes from that page to the local
accounts' form: the source an ENT project names (``ent_cas_selection``), or
the one whose label says it is the ENT's accounts (:data:`LOCAL_SOURCE_WORDS`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

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

    code = "cas_erreur_http"

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


#: K-d'école: the login address's parameter naming the identity source, and the name of the selection page's
#: radio inputs (one per source, with a <label>)
SELECTION_FIELD = "selection"
#: words of a source's label that say it is the ENT's own accounts (compared without case, accents, punctuation)
LOCAL_SOURCE_WORDS = ("compte de l'ENT", "compte ENT", "compte local")
#: words of a source's label that say it is EduConnect (a SAML redirect: a test account cannot use it)
EDUCONNECT_WORDS = ("EduConnect",)
#: what the K-d'école CAS says beside its form (the message only; its close button « × » is not part of it)
KDECOLE_ERROR_CLASS = "cas__alert-message"
#: a page's bytes may be a selection page (checked before parsing a page that has no password field)
_SELECTION_MARK = re.compile(rb"""name\s*=\s*["']?selection\b""", re.IGNORECASE)


class NoLocalAccountsError(UnexpectedPageError):
    """The CAS's selection page leads to no login form for the ENT's own accounts (only EduConnect or agents).

    A test account, and the console's administrator, must be local ENT accounts.
    """

    code = "cas_sans_comptes_locaux"


@dataclass(frozen=True)
class Source:
    """An identity source of a K-d'école selection page."""

    code: str
    label: str
    #: local, educonnect or other (agents, another académie's provider…)
    kind: str


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
        # The address carries a one-time ticket: sent twice, it would be refused (a wrong diagnosis).
        landing = request(session, settings, "GET", location, STEP_RETURN, retry=False)
        if _same_page(landing.url, form.action) and is_login_page(landing):
            # A CAS that redirects after a post (post/redirect/get) to show its form again.
            raise _refused(landing, form.action, username)
        # Past the CAS: the service's own answers are the caller's to judge.
        return landing
    return answer


# --- the K-d'école selection page ---------------------------------------------------------------

def _folded(text: str) -> str:
    """``text`` without case, accents or punctuation, for comparing labels."""
    value = unicodedata.normalize("NFKD", text).casefold()
    value = "".join(c for c in value if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", value).split())


def _kind(label: str) -> str:
    folded = f" {_folded(label)} "
    if any(f" {_folded(word)} " in folded for word in LOCAL_SOURCE_WORDS):
        return "local"
    if any(f" {_folded(word)} " in folded for word in EDUCONNECT_WORDS):
        return "educonnect"
    return "other"


def selection_sources(doc: lxml.html.HtmlElement) -> list[Source]:
    """The identity sources of a selection page, in page order (none: not a selection page)."""
    sources = []
    for radio in doc.xpath("//input[@type='radio' and @name=$f]", f=SELECTION_FIELD):
        code = (radio.get("value") or "").strip()
        labels = doc.xpath("//label[@for=$id]", id=radio.get("id")) if radio.get("id") else []
        labels = labels or radio.xpath("ancestor::label[1]") or [radio.getparent()]
        label = text_of(labels[0])
        if code:
            sources.append(Source(code, label, _kind(label)))
    return sources


def may_be_selection_page(body: bytes) -> bool:
    """Whether a page's bytes may be a selection page (cheap: before parsing)."""
    return bool(_SELECTION_MARK.search(body))


def with_selection(url: str, selection: str) -> str:
    """``url`` (a CAS login address) asking for the identity source ``selection``, its other parameters kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SELECTION_FIELD]
    return urlunsplit(parts._replace(query=urlencode([(SELECTION_FIELD, selection), *query])))


def _asks_no_source(url: str) -> bool:
    """Whether ``url`` is a CAS login address (``…/login?service=…``) that names no identity source."""
    parts = urlsplit(url)
    names = {pair[0] for pair in parse_qsl(parts.query, keep_blank_values=True)}
    return parts.path.rstrip("/").endswith("/login") and "service" in names and SELECTION_FIELD not in names


def _described(sources: list[Source]) -> str:
    return "; ".join(f"« {s.label} » ({s.code})" for s in sources)


def choose_source(sources: list[Source], selection: str | None, url: str) -> Source:
    """The source to sign in with: ``selection`` when given, else the one local-accounts source.

    Raises :class:`NoLocalAccountsError` when the page offers no local accounts
    (only EduConnect or agents), :class:`UnexpectedPageError` when the choice is
    not clear.
    """
    if selection:
        chosen = next((s for s in sources if s.code == selection), None)
        if chosen is not None:
            return chosen
    local = [s for s in sources if s.kind == "local"]
    if not local:
        raise NoLocalAccountsError(
            f"The CAS's selection page at {url.split('?')[0]} offers no sign-in with a local ENT account"
            + (f" (no source « {selection} »)" if selection else "")
            + f", only: {_described(sources)}. EduConnect and agents' sources are SAML sign-ins elsewhere: "
            "a test account must be a local ENT account.")
    if selection:
        raise UnexpectedPageError(
            f"The CAS's selection page at {url.split('?')[0]} has no source « {selection} » (ent_cas_selection); "
            f"its sources: {_described(sources)}.")
    if len(local) > 1:
        raise UnexpectedPageError(
            f"The CAS's selection page at {url.split('?')[0]} offers several sources of local ENT accounts: "
            f"{_described(local)}. Name the one to use with ent_cas_selection.")
    return local[0]


def to_login_form(
    session: requests.Session,
    settings: HttpSettings,
    response: requests.Response,
    selection: str | None = None,
    doc: lxml.html.HtmlElement | None = None,
) -> requests.Response:
    """The CAS login form ``response`` leads to.

    ``response`` itself when it is a login form or not a selection page. Given
    ``selection`` (``ent_cas_selection``), a CAS login address without it is
    asked again with it, whatever page it showed. From a K-d'école selection
    page, the form of the chosen source
    (:func:`choose_source`), reached as its link does (the same address with
    ``selection=<source>``). Raises :class:`NoLocalAccountsError` when that
    source leads elsewhere (EduConnect, agents) instead of to the CAS's form.
    """
    if doc is None:
        if "html" not in response.headers.get("Content-Type", "") or not response.content:
            return response
        doc = parse_response(response)
    if login_form(doc) is not None:
        return response
    if selection and response.status_code < 400 and _asks_no_source(response.url):
        # Sent to the CAS's login address without a source: ask for the project's (whatever the page shown).
        return open_login_page(session, settings, response.url, selection)
    sources = selection_sources(doc)
    if not sources:
        return response
    source = choose_source(sources, selection, response.url)
    url = with_selection(response.url, source.code)
    what = f"open the CAS's login form of the source « {source.code} »"
    answer = request(session, settings, "GET", url, what, accept=RETRY_STATUSES)
    check_status(answer, what)
    if not is_login_page(answer):
        raise NoLocalAccountsError(
            f"The CAS source « {source.label} » ({source.code}) does not lead to the CAS's login form but to "
            f"{answer.url.split('?')[0]}: a test account must be a local ENT account; name the local accounts' "
            "source with ent_cas_selection.")
    return answer


def open_login_page(
    session: requests.Session,
    settings: HttpSettings,
    url: str,
    selection: str | None = None,
) -> requests.Response:
    """GET the CAS login address ``url`` (with ``selection=<source>`` when given) and go on to its login form.

    The address the client is sent to asks for the project's source at once
    when it has one (``ent_cas_selection``); a selection page shown anyway is
    followed as :func:`to_login_form` does. The answer is the login form, or
    whatever else the CAS answered (the caller's sign-in names it).
    """
    target = with_selection(url, selection) if selection else url
    page = request(session, settings, "GET", target, STEP_LOGIN_PAGE, accept=RETRY_STATUSES)
    check_status(page, STEP_LOGIN_PAGE)
    chosen = to_login_form(session, settings, page, selection)
    elsewhere = urlsplit(chosen.url)[:3] != urlsplit(target)[:3]
    if selection and elsewhere and chosen.status_code < 400 and not is_login_page(chosen):
        raise NoLocalAccountsError(
            f"The CAS source « {selection} » (ent_cas_selection) does not lead to the CAS's login form but to "
            f"{chosen.url.split('?')[0]}: a test account must be a local ENT account; name the local accounts' "
            "source with ent_cas_selection.")
    return chosen


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
    ``role="alert"`` or a BEM ``cas__error`` class; K-d'école: :data:`KDECOLE_ERROR_CLASS`. "" when the
    page shows none.
    """
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        classes = (element.get("class") or "").split()
        if (element.get("id") == "msg" or element.get("role") == "alert" or KDECOLE_ERROR_CLASS in classes
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
    noisy = (".//button | .//*[@aria-hidden='true'] | .//*[contains(concat(' ', @class, ' '), ' close ')]"
             " | .//script | .//style")
    for noise in clone.xpath(noisy):
        noise.drop_tree()
    return _short(redact_tickets(" ".join(clone.text_content().split())))


def _short(text: str) -> str:
    return text if len(text) < 300 else text[:297] + "..."
