"""The browser side of a CAS sign-in (Apereo CAS protocol 3.0).

Used by every client that reaches a page protected by an ENT's CAS: the
console client signs its administrator in, and the sign-on check signs test
accounts in. Real CAS servers differ in their login forms' hidden fields
(``lt``, ``execution``, ``_eventId``, ``csrfmiddlewaretoken``…): every hidden
input is posted back as it came.
"""
from __future__ import annotations

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._errors import AuthenticationError, UnexpectedPageError
from ansible_collections.ent.pronote.plugins.module_utils._html import parse_response, read_form_element, text_of
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, request

#: CAS protocol parameter names of the credentials
USERNAME_FIELD = "username"
PASSWORD_FIELD = "password"


def login_form(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The CAS login form of a page, if the page is one."""
    forms = doc.xpath("//form[.//input[@type='password'] and .//input[@name=$u]]", u=USERNAME_FIELD)
    return forms[0] if forms else None


def is_login_page(response: requests.Response) -> bool:
    """Whether ``response`` is a CAS login form (the session needs a sign-in)."""
    if "html" not in response.headers.get("Content-Type", "") or not response.content:
        return False
    return login_form(parse_response(response)) is not None


def sign_in(
    session: requests.Session,
    settings: HttpSettings,
    response: requests.Response,
    username: str,
    password: str,
) -> requests.Response:
    """Post the credentials into the CAS form of ``response``; follow redirects.

    Returns the page the CAS sends the browser back to. Raises
    :class:`AuthenticationError` when the CAS shows its form again.
    """
    doc = parse_response(response)
    form_el = login_form(doc)
    if form_el is None:
        raise UnexpectedPageError(f"Expected the CAS login form at {response.url}.")
    form = read_form_element(form_el, response.url)
    for control in form.controls:
        if control.name == USERNAME_FIELD:
            control.value = username
        elif control.name == PASSWORD_FIELD:
            control.value = password
    answer = request(session, settings, "POST", form.action, "sign in at the CAS", data=form.payload())
    if is_login_page(answer):
        message = _cas_error(parse_response(answer))
        raise AuthenticationError(
            f"The CAS at {form.action.split('?')[0]} refused the sign-in of '{username}'"
            + (f": « {message} »" if message else ".")
        )
    return answer


def _cas_error(doc: lxml.html.HtmlElement) -> str:
    """The error the CAS shows beside its form (Apereo: ``#msg.errors``)."""
    found = doc.xpath("//*[@id='msg' or contains(@class, 'errors') or contains(@class, 'alert-danger')]")
    return text_of(found[0]) if found else ""
