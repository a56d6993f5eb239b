"""Client of the K-d'école ENT admin console: its pages, URLs and labels.

This is the only place that knows the console's screens (see
``docs/console-screens.md``): URL templates, table ids, form labels and
flash messages. When the real console differs from the model, this file
changes and nothing else. The client signs in through the ENT's CAS, reuses
a session across the workers of a run (:mod:`._session_cache`), and turns
every answer into a value or an error that says what to do.
"""
from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
import requests

from ansible_collections.ent.pronote.plugins.module_utils._access import TARGET_LABELS, Rule
from ansible_collections.ent.pronote.plugins.module_utils._cas import is_login_page, login_form, sign_in
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AccessDeniedError,
    ConfigurationError,
    NotFoundError,
    SessionExpiredError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import (
    Form,
    flash_problems,
    parse_response,
    read_form,
    read_form_element,
    row_cells,
    table_rows,
    text_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import SessionCache

# --- URL templates, relative to the console URL of the ENT project ---------
PATHS = {
    "services": "etab/{uai}/admin/services",
    "service_new": "etab/{uai}/admin/services/new",
    "service": "etab/{uai}/admin/services/{code}",
    "service_access": "etab/{uai}/admin/services/{code}/acces-population",
}

# --- Page knowledge ---------------------------------------------------------
SERVICES_TABLE = "services"
SERVICE_FORM = "form-service"
ACCESS_TABLE = "droits-acces"
ACCESS_FORM = "form-ajout-acces"
CSRF_REFUSED = "Jeton de sécurité invalide"

#: option name -> (screen label, kind). kind: select | text | checkbox | yesno
SERVICE_FIELDS: dict[str, tuple[str, str]] = {
    "sso_type": ("Type de SSO", "select"),
    "url": ("URL", "text"),
    "xiti_type": ("Type Xiti", "select"),
    "group": ("Regroupement", "select"),
    "show_block": ("Afficher le bloc", "checkbox"),
    "block_version": ("Version", "select"),
    "pronote_cas_url": ("URL CAS de PRONOTE.net", "text"),
    "in_service_bar": ("Service affiché dans la barre des services", "yesno"),
    "label": ("Intitulé", "text"),
    "anonymous": ("Service anonyme", "checkbox"),
}

#: column headers of the services list
COL_CODE, COL_LABEL, COL_SSO, COL_ANONYMOUS, COL_INTERNAL = "Code", "Intitulé", "Type SSO", "Anonyme", "Interne"
#: column headers of the access rules table
COL_TARGET, COL_PROFILE, COL_SUBJECT, COL_FUNCTION, COL_DISCIPLINE, COL_ROLE = (
    "Cible", "Profil", "Matière enseignée", "Fonction", "Discipline de poste", "Rôle")
#: labels of the add-access form
ADD_ROLE, ADD_TARGET, ADD_ETABS, ADD_GROUPS, ADD_PROFILE = "Rôle", "Cible", "Établissements", "Groupes", "Profil"
ADD_OPTIONAL = {"subject": COL_SUBJECT, "function": COL_FUNCTION, "discipline": COL_DISCIPLINE}


@dataclass(frozen=True)
class ConsoleSettings:
    """Where the console is and who signs in."""

    console_url: str
    login: str
    password: str
    http: HttpSettings = field(default_factory=HttpSettings)
    session_cache: bool = True

    @property
    def base(self) -> str:
        url = self.console_url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigurationError(f"console_url must be an http(s) URL, got '{self.console_url}'.")
        return url if url.endswith("/") else url + "/"


@dataclass
class ServiceRow:
    """One line of "Liste des services"."""

    code: str
    label: str
    sso_type: str
    anonymous: bool
    internal: bool
    delete_form: Form | None = None


@dataclass
class ServicePage:
    """"Modifier un service", tab Informations générales: values and form."""

    uai: str
    code: str
    fields: dict[str, object]
    form: Form


@dataclass
class AccessPage:
    """Tab "Accès population": the rules and the form to add one."""

    uai: str
    code: str
    rules: list[Rule]
    add_form: Form
    delete_forms: dict[Rule, Form]
    #: établissement name -> UAI, from the options of the add form
    etab_uais: dict[str, str]


class KdecoleConsole:
    """Drive one ENT project's admin console as its administrator."""

    def __init__(self, settings: ConsoleSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.base = settings.base
        self.http = settings.http
        self.session = session or new_session(settings.http)
        self.cache = SessionCache(self.base, settings.login, settings.password) if settings.session_cache else None
        self._cache_mtime = self.cache.load(self.session) if self.cache else None

    # -- transport ---------------------------------------------------------
    def url(self, template: str, **values: str) -> str:
        return urljoin(self.base, PATHS[template].format(**values))

    def get(self, url: str, what: str) -> lxml.html.HtmlElement:
        """GET a console page, signing in through the CAS when asked to."""
        response = request(self.session, self.http, "GET", url, what)
        doc = parse_response(response) if response.content else None
        if doc is not None and login_form(doc) is not None:
            response = self._sign_in(url, response, what)
            doc = parse_response(response) if response.content else None
        self._check_status(response, what, doc)
        if doc is None:
            raise UnexpectedPageError(f"Could not {what}: the console sent an empty page.")
        return doc

    def _sign_in(self, url: str, login_page: requests.Response, what: str) -> requests.Response:
        if self.cache is None:
            return sign_in(self.session, self.http, login_page, self.settings.login, self.settings.password)
        with self.cache.locked():
            newer = self.cache.mtime()
            if newer is not None and newer != self._cache_mtime:
                # Another worker signed in meanwhile: use its session.
                self._cache_mtime = self.cache.load(self.session)
                response = request(self.session, self.http, "GET", url, what)
                if not is_login_page(response):
                    return response
                login_page = response
            response = sign_in(self.session, self.http, login_page, self.settings.login, self.settings.password)
            self.cache.save(self.session)
            self._cache_mtime = self.cache.mtime()
            return response

    def post(self, form: Form, what: str) -> str:
        """Submit a form; return where the console sends the browser next."""
        response = request(self.session, self.http, "POST", form.action, what,
                           data=form.payload(), allow_redirects=False)
        if response.status_code in (301, 302, 303):
            location = urljoin(form.action, response.headers.get("Location", ""))
            if not location.startswith(self.base) or is_cas_login_url(location):
                # Sent to the CAS: the session ended before the form was posted.
                raise SessionExpiredError(f"Could not {what}: the console session expired.")
            return location
        if response.status_code == 403 and CSRF_REFUSED.encode() in response.content:
            raise SessionExpiredError(f"Could not {what}: the console refused the form's security token.")
        self._check_status(response, what)
        problems = flash_problems(parse_response(response))
        if problems:
            raise ValidationError(f"Could not {what}: the console refused the form: " + " ".join(problems), problems)
        raise UnexpectedPageError(f"Could not {what}: the console answered HTTP {response.status_code} "
                                  "without saying whether it was saved.")

    def _check_status(self, response: requests.Response, what: str,
                      doc: lxml.html.HtmlElement | None = None) -> None:
        if doc is None and response.content and "html" in response.headers.get("Content-Type", ""):
            doc = parse_response(response)
        if response.status_code < 400:
            if doc is not None and login_form(doc) is not None:
                raise AccessDeniedError(f"Could not {what}: the CAS asked again for a sign-in.")
            return
        text = _page_message(doc)
        if response.status_code == 403 and "ticket" in parse_qs(urlsplit(response.url).query):
            # The console refused the CAS ticket of its sign-in callback (used,
            # or expired while a retry waited): sign in again from the start.
            raise SessionExpiredError(f"Could not {what}: the console refused the CAS ticket of its sign-in.")
        if response.status_code == 403:
            raise AccessDeniedError(f"Could not {what}: the console refused access to '{self.settings.login}'"
                                    + (f": « {text} »" if text else "."))
        if response.status_code == 404:
            raise NotFoundError(f"Could not {what}: not found" + (f": « {text} »" if text else f" ({response.url})."))
        raise UnexpectedPageError(f"Could not {what}: HTTP {response.status_code}" + (f": « {text} »" if text else "."))

    # -- services ----------------------------------------------------------
    def list_services(self, uai: str) -> list[ServiceRow]:
        url = self.url("services", uai=uai)
        doc = self.get(url, f"read the services of {uai}")
        header, rows = table_rows(doc, SERVICES_TABLE, url)
        services = []
        for row in rows:
            cells = row_cells(header, row)
            try:
                services.append(ServiceRow(
                    code=text_of(cells[COL_CODE]), label=text_of(cells[COL_LABEL]),
                    sso_type=text_of(cells[COL_SSO]), anonymous=bool(text_of(cells[COL_ANONYMOUS])),
                    internal=bool(text_of(cells[COL_INTERNAL])),
                    delete_form=_first_post_form(row, url)))
            except KeyError as exc:
                raise UnexpectedPageError(f"The services list of {uai} has no column {exc}.") from None
        return services

    def read_service(self, uai: str, code: str) -> ServicePage:
        url = self.url("service", uai=uai, code=code)
        doc = self.get(url, f"read service {code} of {uai}")
        form = read_form(doc, SERVICE_FORM, url)
        shown = doc.xpath("//*[@id='code']")
        return ServicePage(uai, text_of(shown[0]) if shown else code, read_service_fields(form), form)

    def new_service_form(self, uai: str) -> Form:
        url = self.url("service_new", uai=uai)
        return read_form(self.get(url, f"open « Nouveau service » for {uai}"), SERVICE_FORM, url)

    def create_service(self, uai: str, values: dict[str, object], form: Form | None = None) -> ServicePage:
        form = form or self.new_service_form(uai)
        write_service_fields(form, values)
        location = self.post(form, f"create the PRONOTE service of {uai}")
        code = location.rstrip("/").rsplit("/", 1)[-1]
        return self.read_service(uai, code)

    def update_service(self, page: ServicePage, values: dict[str, object]) -> ServicePage:
        write_service_fields(page.form, values)
        self.post(page.form, f"update service {page.code} of {page.uai}")
        return self.read_service(page.uai, page.code)

    def delete_service(self, uai: str, row: ServiceRow) -> None:
        if row.delete_form is None:
            raise UnexpectedPageError(f"Service {row.code} of {uai} has no delete button.")
        self.post(row.delete_form, f"delete service {row.code} of {uai}")

    # -- population access -------------------------------------------------
    def read_access(self, uai: str, code: str) -> AccessPage:
        url = self.url("service_access", uai=uai, code=code)
        doc = self.get(url, f"read the population access of service {code} of {uai}")
        add_form = read_form(doc, ACCESS_FORM, url)
        etab_uais = _etab_options(add_form)
        header, rows = table_rows(doc, ACCESS_TABLE, url)
        rules, delete_forms = [], {}
        for row in rows:
            rule = _rule_from_row(header, row, etab_uais, uai)
            rules.append(rule)
            form = _first_post_form(row, url)
            if form is not None:
                delete_forms[rule] = form
        return AccessPage(uai, code, rules, add_form, delete_forms, etab_uais)

    def add_rule(self, page: AccessPage, rule: Rule) -> None:
        # A fresh copy per rule: choices made for one rule must not leak into the next.
        form = copy.deepcopy(page.add_form)
        form.choose(ADD_ROLE, rule.role)
        form.choose(ADD_TARGET, TARGET_LABELS[rule.target])
        if rule.target == "establishments":
            control = form.by_label(ADD_ETABS)
            control.selected = [_etab_option_value(control, value) for value in rule.values]
        elif rule.target == "groups":
            form.choose(ADD_GROUPS, *rule.values)
        form.choose(ADD_PROFILE, rule.profile)
        for attr, label in ADD_OPTIONAL.items():
            wanted = getattr(rule, attr)
            if wanted and form.has_label(label):
                form.choose(label, wanted)
            elif wanted:
                raise UnexpectedPageError(f"The access form of {page.uai} has no field « {label} ».")
        self.post(form, f"add the access of profile '{rule.profile}' to service {page.code} of {page.uai}")

    def delete_rule(self, page: AccessPage, rule: Rule) -> None:
        form = page.delete_forms.get(rule)
        if form is None:
            raise UnexpectedPageError(f"The access rule {rule.describe()} of {page.uai} has no delete button.")
        self.post(form, f"remove the access {rule.describe()} from service {page.code} of {page.uai}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.session.close()


# --- page readers (pure: page in, values out) --------------------------------
_TICKET = re.compile(r"\b(ST|PT|TGT|PGT|PGTIOU|LT)-[A-Za-z0-9._-]+")


def redact_tickets(text: str) -> str:
    """``text`` with every CAS ticket replaced by its kind: tickets never reach a log."""
    return _TICKET.sub(lambda m: f"{m.group(1)}-…", text)


def is_cas_login_url(url: str) -> bool:
    """Whether ``url`` is a CAS login address (``…/login?service=…``)."""
    parts = urlsplit(url)
    return parts.path.rstrip("/").endswith("/login") and "service" in parse_qs(parts.query)


def read_service_fields(form: Form) -> dict[str, object]:
    """The values of the service form, keyed by option name."""
    values: dict[str, object] = {}
    for name, (label, kind) in SERVICE_FIELDS.items():
        control = form.by_label(label)
        if kind == "checkbox":
            values[name] = control.checked
        elif kind == "yesno":
            values[name] = control.selected_text() == "Oui"
        elif kind == "select":
            values[name] = control.selected_text()
        else:
            values[name] = control.value.strip()
    return values


def write_service_fields(form: Form, values: dict[str, object]) -> None:
    """Set the form's controls to ``values`` (keys: option names; None = leave)."""
    for name, value in values.items():
        if value is None:
            continue
        label, kind = SERVICE_FIELDS[name]
        if kind == "checkbox":
            form.set_checked(label, bool(value))
        elif kind == "yesno":
            form.choose(label, "Oui" if value else "Non")
        elif kind == "select":
            form.choose(label, str(value))
        else:
            form.set_text(label, str(value))


def _first_post_form(row: lxml.html.HtmlElement, url: str) -> Form | None:
    forms = row.xpath(".//form[translate(@method, 'POST', 'post')='post']")
    return read_form_element(forms[0], url) if forms else None


def _etab_options(form: Form) -> dict[str, str]:
    """établissement name -> UAI from options shown as "Nom (UAI)"."""
    if not form.has_label(ADD_ETABS):
        return {}
    out = {}
    for _value, shown in form.by_label(ADD_ETABS).options:
        if shown.endswith(")") and "(" in shown:
            name, _, uai = shown[:-1].rpartition("(")
            out[name.strip()] = uai.strip()
    return out


def _etab_option_value(control, uai: str) -> str:
    for value, shown in control.options:
        if shown.endswith(f"({uai})"):
            return value
    raise ValidationError(f"The établissement {uai} is not offered in « {ADD_ETABS} » "
                          "(not in this ENT project, or not administered by this account).")


def _rule_from_row(header: list[str], row: lxml.html.HtmlElement, etab_uais: dict[str, str], uai: str) -> Rule:
    cells = row_cells(header, row)
    try:
        target_cell = cells[COL_TARGET]
        kind_el = target_cell.xpath(".//*[contains(@class, 'cible-type')]")
        value_el = target_cell.xpath(".//*[contains(@class, 'cible-valeur')]")
        kind_text = text_of(kind_el[0]) if kind_el else ""
        target = next((k for k, v in TARGET_LABELS.items() if v == kind_text), None)
        if target is None:
            raise UnexpectedPageError(f"Unknown « Cible » '{kind_text}' in the access rules of {uai}.")
        shown = [v.strip() for v in text_of(value_el[0]).split(", ")] if value_el and text_of(value_el[0]) else []
        if target == "establishments":
            values = tuple(sorted(etab_uais.get(name, name) for name in shown))
        elif target == "groups":
            values = tuple(sorted(shown))
        else:
            values = ()
        return Rule(
            profile=text_of(cells[COL_PROFILE]), target=target, values=values, role=text_of(cells[COL_ROLE]),
            subject=text_of(cells[COL_SUBJECT]), function=text_of(cells[COL_FUNCTION]),
            discipline=text_of(cells[COL_DISCIPLINE]),
        )
    except KeyError as exc:
        raise UnexpectedPageError(f"The access rules table of {uai} has no column {exc}.") from None


def _page_message(doc: lxml.html.HtmlElement | None) -> str:
    """The main message of an error page, short."""
    if doc is None:
        return ""
    for xpath in ("//*[contains(@class, 'erreur')]", "//main//p", "//h1", "//title"):
        found = doc.xpath(xpath)
        if found and text_of(found[0]):
            text = redact_tickets(text_of(found[0]))
            return text if len(text) < 300 else text[:297] + "..."
    return ""
