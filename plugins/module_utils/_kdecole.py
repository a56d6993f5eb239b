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
import datetime
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._access import (
    ACCESS_ROLE,
    DEFAULT_PROFILES,
    TARGET_LABELS,
    Rule,
)
from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    STEP_LOGIN_PAGE,
    check_status,
    is_login_page,
    login_form,
    may_be_selection_page,
    redact_tickets,
    sign_in,
    to_login_form,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AccessDeniedError,
    ConfigurationError,
    NotFoundError,
    ScreenMismatchError,
    SessionExpiredError,
    TransientError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import (
    Form,
    Screen,
    charset_of,
    flash_problems,
    label_key,
    parse,
    parse_response,
    read_form_element,
    row_cells,
    text_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import SessionCache

# --- URL templates, relative to the console URL of the ENT project ---------
PATHS = {
    "etablissements": "admin/etablissements",
    "services": "etab/{uai}/admin/services",
    "service_new": "etab/{uai}/admin/services/new",
    "service": "etab/{uai}/admin/services/{code}",
    "service_access": "etab/{uai}/admin/services/{code}/acces-population",
    "identifiers_form": "etab/{uai}/admin/identifiants",
    "identifiers_list": "etab/{uai}/admin/identifiants/liste",
    "directory": "etab/{uai}/admin/annuaire",
}

# --- Page knowledge: what the product relies on in each screen, verbatim ------
# Read this table against docs/console-screens.md and docs/import-screens.md
# (tests/unit/test_screens.py checks that they agree). When a real console
# spells a label otherwise, the fix is the one line of that label here. The
# « Cible » labels, roles and profiles are the options of ``_access`` (they
# are also the values the modules accept).
SCREENS: dict[str, Screen] = {
    # « Type » is read when the column is shown; « Page suivante » leads to the next page of the list.
    "etablissements": Screen(
        "Liste des établissements", table="etablissements", columns={"uai": "UAI", "name": "Nom"},
        texts={"kind": "Type", "next": "Page suivante"}),
    "services": Screen(
        "Liste des services", table="services",
        columns={"code": "Code", "label": "Intitulé", "sso": "Type SSO", "anonymous": "Anonyme",
                 "internal": "Interne"}),
    "service": Screen(
        "Modifier un service", form="form-service",
        fields={"sso_type": "Type de SSO", "url": "URL", "xiti_type": "Type Xiti", "group": "Regroupement",
                "show_block": "Afficher le bloc", "block_version": "Version",
                "pronote_cas_url": "URL CAS de PRONOTE.net",
                "in_service_bar": "Service affiché dans la barre des services", "label": "Intitulé",
                "anonymous": "Service anonyme"},
        options={"sso_type": ("SSO Pronote avec CAS", "Pas de SSO ou SSO Standard"),
                 "in_service_bar": ("Oui", "Non")}),
    "access": Screen(
        "Accès population", form="form-ajout-acces",
        fields={"role": "Rôle", "target": "Cible", "profile": "Profil"},
        optional={"etabs": "Établissements", "groups": "Groupes", "subject": "Matière enseignée",
                  "function": "Fonction", "discipline": "Discipline de poste"},
        options={"role": (ACCESS_ROLE,), "target": tuple(TARGET_LABELS.values()), "profile": DEFAULT_PROFILES},
        table="droits-acces",
        columns={"target": "Cible", "profile": "Profil", "subject": "Matière enseignée", "function": "Fonction",
                 "discipline": "Discipline de poste", "role": "Rôle"},
        texts={"exists": "Ce droit d'accès existe déjà"}),
    "import": Screen(
        "Importer les identifiants Pronote", form="form-import",
        fields={"etab": "Établissement", "mode": "Mode d'import", "file": "Fichier"},
        options={"mode": ("Complet", "Partiel")},
        texts={"running": "import-en-cours"}),
    "import_step": Screen(
        "Importer les identifiants Pronote > Étape", form="form-etape", table="rapprochement",
        columns={"ident": "Identifiant PRONOTE", "state": "État", "account": "Compte ENT"},
        texts={"input": "Compte ENT pour {ident}", "recognised": "Reconnu"}),
    "identifiers": Screen(
        "Identifiants importés", table="identifiants",
        columns={"account": "Compte ENT", "ident": "Identifiant PRONOTE", "profile": "Profil"}),
    "directory": Screen(
        "Annuaire", table="annuaire",
        columns={"account": "Compte ENT", "nom": "Nom", "prenom": "Prénom", "birth": "Date de naissance",
                 "profile": "Profil", "children": "Enfants"}),
}
SERVICES_SCREEN, SERVICE_SCREEN, ACCESS_SCREEN = SCREENS["services"], SCREENS["service"], SCREENS["access"]
IMPORT_SCREEN, STEP_SCREEN = SCREENS["import"], SCREENS["import_step"]
IDENTIFIERS_SCREEN, DIRECTORY_SCREEN = SCREENS["identifiers"], SCREENS["directory"]
ETABS_SCREEN = SCREENS["etablissements"]
#: « Liste des établissements »: the optional column of the kind of établissement, the next page's link
COL_KIND, NEXT_PAGE = ETABS_SCREEN.texts["kind"], ETABS_SCREEN.texts["next"]
#: pages of « Liste des établissements » read at most (100 a page: 100,000 établissements)
MAX_ETAB_PAGES = 1000

# The names the code uses, all taken from the table above.
SERVICE_FORM, ACCESS_FORM, IMPORT_FORM = SERVICE_SCREEN.form, ACCESS_SCREEN.form, IMPORT_SCREEN.form
CSRF_REFUSED = "Jeton de sécurité invalide"
#: « Accès population »: the flash message of a rule added twice
RULE_EXISTS = ACCESS_SCREEN.texts["exists"]
#: the import form's notice (its id) of an unfinished import, with its link « Reprendre l'import »
IMPORT_RUNNING = IMPORT_SCREEN.texts["running"]
IMPORT_ETAB, IMPORT_MODE, IMPORT_FILE = (IMPORT_SCREEN.fields[k] for k in ("etab", "mode", "file"))
IMPORT_MODES = dict(zip(("complet", "partiel"), IMPORT_SCREEN.options["mode"]))
STEP_VALIDATE, STEP_INTERRUPT = "valider", "interrompre"
STEP_INPUT_LABEL = STEP_SCREEN.texts["input"]
#: column headers of the import screens
COL_IDENT, COL_STATE, COL_ACCOUNT = (STEP_SCREEN.columns[k] for k in ("ident", "state", "account"))
COL_NOM, COL_PRENOM, COL_BIRTH, COL_CHILDREN = (DIRECTORY_SCREEN.columns[k]
                                                for k in ("nom", "prenom", "birth", "children"))
RECOGNISED = STEP_SCREEN.texts["recognised"]

#: option name -> kind of its control (its label: SCREENS["service"].fields). kind: select | text | checkbox | yesno
SERVICE_KINDS: dict[str, str] = {
    "sso_type": "select", "url": "text", "xiti_type": "select", "group": "select", "show_block": "checkbox",
    "block_version": "select", "pronote_cas_url": "text", "in_service_bar": "yesno", "label": "text",
    "anonymous": "checkbox",
}
#: option name -> (screen label, kind)
SERVICE_FIELDS: dict[str, tuple[str, str]] = {name: (SERVICE_SCREEN.fields[name], kind)
                                              for name, kind in SERVICE_KINDS.items()}
YES, NO = SERVICE_SCREEN.options["in_service_bar"]

#: column headers of the services list
COL_CODE, COL_LABEL, COL_SSO, COL_ANONYMOUS, COL_INTERNAL = SERVICES_SCREEN.columns.values()
#: column headers of the access rules table
COL_TARGET, COL_PROFILE, COL_SUBJECT, COL_FUNCTION, COL_DISCIPLINE, COL_ROLE = ACCESS_SCREEN.columns.values()
#: labels of the add-access form
ADD_ROLE, ADD_TARGET, ADD_PROFILE = (ACCESS_SCREEN.fields[k] for k in ("role", "target", "profile"))
ADD_ETABS, ADD_GROUPS = ACCESS_SCREEN.optional["etabs"], ACCESS_SCREEN.optional["groups"]
ADD_OPTIONAL = {key: ACCESS_SCREEN.optional[key] for key in ("subject", "function", "discipline")}


@dataclass(frozen=True)
class ConsoleSettings:
    """Where the console is and who signs in."""

    console_url: str
    login: str
    password: str
    http: HttpSettings = field(default_factory=HttpSettings)
    session_cache: bool = True
    #: the CAS's identity source for the ENT's own accounts (K-d'école ``selection``), when the project names it
    cas_selection: str | None = None

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


@dataclass(frozen=True)
class EtabEntry:
    """One line of « Liste des établissements »: a site the administrator administers."""

    uai: str
    name: str
    #: the kind of établissement (« Collège », « Lycée »…), "" when the console does not show it
    kind: str = ""


@dataclass(frozen=True)
class ImportedPair:
    """One line of "Identifiants importés"."""

    ident: str
    login: str
    profile: str


@dataclass(frozen=True)
class DirectoryAccount:
    """One ENT account of the site's directory ("Parcourir")."""

    login: str
    profile: str
    nom: str
    prenom: str
    birth_date: datetime.date | None
    children: tuple[str, ...] = ()


#: any password field, whatever its case: a page without one cannot be a login form
_PASSWORD = re.compile(rb"(?i)password")


class Page:
    """A console page as it was sent, parsed only when read (a no-op import only needs its digest)."""

    def __init__(self, body: bytes, url: str, charset: str | None = None,
                 doc: lxml.html.HtmlElement | None = None) -> None:
        self.body, self.url, self.charset, self._doc = body, url, charset, doc

    @property
    def doc(self) -> lxml.html.HtmlElement:
        if self._doc is None:
            self._doc = parse(self.body, self.url, self.charset)
        return self._doc


@dataclass(frozen=True)
class ImportPages:
    """The two pages an import decides from, and a digest of their bodies."""

    uai: str
    identifiers_page: Page
    directory_page: Page
    digest: str

    @property
    def identifiers(self) -> lxml.html.HtmlElement:
        return self.identifiers_page.doc

    @property
    def directory(self) -> lxml.html.HtmlElement:
        return self.directory_page.doc


def identifiers_of(doc: lxml.html.HtmlElement, uai: str) -> dict[str, ImportedPair]:
    """The pairs of an "Identifiants importés" page, by identifier."""
    at, rows = IDENTIFIERS_SCREEN.table_texts(doc, f"the identifiers page of {uai}", uai)
    account, ident, profile = at["account"], at["ident"], at["profile"]
    return {row[ident]: ImportedPair(row[ident], row[account], row[profile]) for row in rows}


def directory_of(doc: lxml.html.HtmlElement, uai: str) -> list[DirectoryAccount]:
    """The accounts of a directory page."""
    at, rows = DIRECTORY_SCREEN.table_texts(doc, f"the ENT directory page of {uai}", uai)
    login, nom, prenom, birth, profile, children = (
        at[k] for k in ("account", "nom", "prenom", "birth", "profile", "children"))
    return [DirectoryAccount(
        login=row[login], profile=row[profile], nom=row[nom], prenom=row[prenom],
        birth_date=_french_date(row[birth], uai),
        children=tuple(c.strip() for c in row[children].split(",") if c.strip()) if row[children] else ())
        for row in rows]


@dataclass
class StepRow:
    """One person of an import step: what the file says, what the ENT recognised."""

    ident: str
    recognised: bool
    login: str


@dataclass
class ImportPage:
    """An import in progress (a step page) or finished (``step == 0``)."""

    uai: str
    url: str
    step: int
    title: str
    recognised: int = 0
    unrecognised: int = 0
    rows: list[StepRow] = field(default_factory=list)
    form: Form | None = None

    @property
    def finished(self) -> bool:
        return self.step == 0


class ImportClosedError(SessionExpiredError):
    """The import the client was driving is no longer in progress: start again."""


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
        return self.get_page(url, what)[0]

    def get_page(self, url: str, what: str) -> tuple[lxml.html.HtmlElement, bytes]:
        """:meth:`get`, with the body as the console sent it."""
        doc, response = self._signed_in(url, request(self.session, self.http, "GET", url, what), what)
        return doc, response.content

    def get_unparsed(self, url: str, what: str) -> Page:
        """:meth:`get`, parsed only when read.

        A page with no password field cannot be the CAS's login form: when it
        comes with HTTP 200 it is the page asked for, kept unparsed (parsing a
        directory of thousands of rows is most of a no-op import's work).
        """
        response = request(self.session, self.http, "GET", url, what)
        if response.status_code == 200 and response.content and not _PASSWORD.search(response.content) \
                and not may_be_selection_page(response.content):
            return Page(response.content, response.url, charset_of(response))
        doc, response = self._signed_in(url, response, what)
        return Page(response.content, response.url, charset_of(response), doc)

    def _signed_in(self, url: str, response: requests.Response,
                   what: str) -> tuple[lxml.html.HtmlElement, requests.Response]:
        """The page of ``response``, after a sign-in when it is the CAS's login form; errors raised."""
        if is_cas_login_url(response.url):
            # Sent to the CAS, which answered an error instead of its form: the CAS's error, not the console's.
            check_status(response, STEP_LOGIN_PAGE)
        doc = parse_response(response) if response.content else None
        if doc is not None and login_form(doc) is None and (
                self.settings.cas_selection or may_be_selection_page(response.content)):
            # A K-d'école CAS asks for an identity source first: on to the local accounts' form.
            chosen = to_login_form(self.session, self.http, response, self.settings.cas_selection, doc)
            if chosen is not response:
                response, doc = chosen, parse_response(chosen) if chosen.content else None
        if doc is not None and login_form(doc) is not None:
            response = self._sign_in(url, response, what)
            doc = parse_response(response) if response.content else None
        self._check_status(response, what, doc)
        if doc is None:
            raise UnexpectedPageError(f"Could not {what}: the console sent an empty page.")
        return doc, response

    def _sign_in(self, url: str, login_page: requests.Response, what: str) -> requests.Response:
        if self.cache is None:
            return sign_in(self.session, self.http, login_page, self.settings.login, self.settings.password)
        with self.cache.locked():
            newer = self.cache.mtime()
            if newer is not None and newer != self._cache_mtime:
                # Another worker signed in meanwhile: use its session.
                self._cache_mtime = self.cache.load(self.session)
                response = to_login_form(self.session, self.http, request(self.session, self.http, "GET", url, what),
                                         self.settings.cas_selection)
                if not is_login_page(response):
                    return response
                login_page = response
            response = sign_in(self.session, self.http, login_page, self.settings.login, self.settings.password)
            self.cache.save(self.session)
            self._cache_mtime = self.cache.mtime()
            return response

    def post(self, form: Form, what: str, extra: list[tuple[str, str]] | None = None,
             files: dict[str, tuple[str, bytes, str]] | None = None) -> str:
        """Submit a form; return where the console sends the browser next.

        ``extra`` adds fields a browser adds (the submit button pressed);
        ``files`` makes it a multipart upload.
        """
        response = request(self.session, self.http, "POST", form.action, what,
                           data=form.payload() + (extra or []), files=files, allow_redirects=False)
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

    # -- établissements ----------------------------------------------------
    def list_etablissements(self) -> list[EtabEntry]:
        """Every site of « Liste des établissements », page after page (« Page suivante »)."""
        url, seen, out = self.url("etablissements"), set(), []
        while url:
            if url in seen or len(seen) >= MAX_ETAB_PAGES:
                raise UnexpectedPageError(f"« {ETABS_SCREEN.title} » does not end: page {url} again, "
                                          f"or more than {MAX_ETAB_PAGES} pages.")
            seen.add(url)
            doc = self.get(url, "read the list of établissements")
            at, rows = ETABS_SCREEN.table_texts(doc, url, "")
            header = [text_of(th) for th in doc.xpath("//table[@id=$i]//th", i=ETABS_SCREEN.table)]
            kind = header.index(COL_KIND) if COL_KIND in header else None
            out.extend(EtabEntry(row[at["uai"]], row[at["name"]], row[kind] if kind is not None else "")
                       for row in rows)
            url = _next_page(doc, url, self.base)
        return out

    # -- services ----------------------------------------------------------
    def list_services(self, uai: str) -> list[ServiceRow]:
        url = self.url("services", uai=uai)
        doc = self.get(url, f"read the services of {uai}")
        header, rows = SERVICES_SCREEN.table_rows(doc, url, uai)
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
        form = SERVICE_SCREEN.read_form(doc, url, uai)
        shown = doc.xpath("//*[@id='code']")
        return ServicePage(uai, text_of(shown[0]) if shown else code, read_service_fields(form), form)

    def new_service_form(self, uai: str) -> Form:
        url = self.url("service_new", uai=uai)
        return SERVICE_SCREEN.read_form(self.get(url, f"open « Nouveau service » for {uai}"), url, uai)

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
        add_form = ACCESS_SCREEN.read_form(doc, url, uai)
        etab_uais = _etab_options(add_form)
        header, rows = ACCESS_SCREEN.table_rows(doc, url, uai)
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
                raise ScreenMismatchError(ACCESS_SCREEN.title, label, form.labels(), "champ", page.uai)
        what = f"add the access of profile '{rule.profile}' to service {page.code} of {page.uai}"
        try:
            self.post(form, what)
        except ValidationError as exc:
            if any(RULE_EXISTS in problem for problem in exc.problems):
                # Another run added it since this one read the rules: read them again.
                raise TransientError(f"Could not {what}: the console says it exists already.") from None
            raise

    def delete_rule(self, page: AccessPage, rule: Rule) -> None:
        form = page.delete_forms.get(rule)
        if form is None:
            raise UnexpectedPageError(f"The access rule {rule.describe()} of {page.uai} has no delete button.")
        self.post(form, f"remove the access {rule.describe()} from service {page.code} of {page.uai}")

    # -- identifiers import ("Importer les identifiants Pronote") ------------
    def read_identifiers(self, uai: str) -> dict[str, ImportedPair]:
        """The pairs (ENT account, Identifiant PRONOTE) the site holds now, by identifier."""
        return identifiers_of(self.get(self.url("identifiers_list", uai=uai),
                                       f"read the imported identifiers of {uai}"), uai)

    def read_import_pages(self, uai: str) -> ImportPages:
        """The site's identifiers list and directory ("Parcourir" without a search), unparsed."""
        identifiers = self.get_unparsed(self.url("identifiers_list", uai=uai), f"read the imported identifiers of {uai}")
        directory = self.get_unparsed(self.url("directory", uai=uai), f"read the ENT directory of {uai}")
        digest = hashlib.sha256()
        for body in (identifiers.body, directory.body):
            digest.update(len(body).to_bytes(8, "big"))
            digest.update(body)
        return ImportPages(uai, identifiers, directory, digest.hexdigest())

    def read_directory(self, uai: str) -> list[DirectoryAccount]:
        """Every ENT account attached to the site."""
        return directory_of(self.get(self.url("directory", uai=uai), f"read the ENT directory of {uai}"), uai)

    def start_import(self, uai: str, mode: str, filename: str, content: bytes) -> tuple[ImportPage, int | None]:
        """Upload an identifiers file in ``mode``; return the first step, and the step of an import left in
        progress (by a run that was killed), which is interrupted first (None when there was none)."""
        url = self.url("identifiers_form", uai=uai)
        doc, left = self._form_without_left_import(uai)
        form = IMPORT_SCREEN.read_form(doc, url, uai)
        control = form.by_label(IMPORT_ETAB)
        control.selected = [next((v for v, shown in control.options if shown.endswith(f"({uai})")), uai)]
        form.choose(IMPORT_MODE, IMPORT_MODES[mode])
        name = form.by_label(IMPORT_FILE).name
        location = self.post(form, f"upload the identifiers file of {uai}",
                             files={name: (filename, content, "application/xml")})
        return self.read_import(uai, location), left

    def interrupt_left_import(self, uai: str) -> int | None:
        """Press « Interrompre » on an import left « en cours » on the site; its step, or None when there was
        none (one GET of the form page)."""
        return self._form_without_left_import(uai)[1]

    def _form_without_left_import(self, uai: str) -> tuple[lxml.html.HtmlElement, int | None]:
        """The form page of the import, once any import left in progress (by a run that was killed) is
        interrupted, and that import's step."""
        url = self.url("identifiers_form", uai=uai)
        what = f"open « Importer les identifiants Pronote » for {uai}"
        doc = self.get(url, what)
        left = None
        running = doc.xpath(f"//*[@id='{IMPORT_RUNNING}']//a[@href]")
        if running:
            # « Reprendre l'import », then « Interrompre »: closed explicitly, its validated steps kept.
            with contextlib.suppress(ImportClosedError):
                page = self.read_import(uai, urljoin(doc.base_url or url, running[0].get("href")))
                if not page.finished:
                    left = page.step
                    self.interrupt_import(page)
            doc = self.get(url, what)
        return doc, left

    def import_form(self, uai: str) -> Form:
        """The form of « Importer les identifiants Pronote », checked against ``SCREENS``."""
        url = self.url("identifiers_form", uai=uai)
        return IMPORT_SCREEN.read_form(self.get(url, f"open « Importer les identifiants Pronote » for {uai}"),
                                       url, uai)

    def read_import(self, uai: str, url: str) -> ImportPage:
        """Where an import stands: a step page, or the end page."""
        doc = self.get(url, f"follow the identifiers import of {uai}")
        here = doc.base_url or url
        heading = doc.xpath("//*[@id='etape']")
        if heading:
            return _step_page(doc, here, uai)
        if doc.xpath("//table[@id='bilan']"):
            return ImportPage(uai, here, step=0, title="Import terminé")
        if doc.xpath(f"//form[@id='{IMPORT_FORM}']"):
            # The import was closed (interrupted, abandoned, or cut by a server fault).
            notice = " ".join(text_of(el) for el in doc.xpath("//div[contains(@class, 'flash')]"))
            raise ImportClosedError(f"The identifiers import of {uai} is no longer in progress"
                                    + (f": « {notice} »." if notice else "."))
        raise UnexpectedPageError(f"Could not follow the identifiers import of {uai}: unexpected page {here}.")

    def validate_step(self, page: ImportPage, logins: dict[str, str]) -> ImportPage:
        """Bind each row of the step to ``logins[ident]`` (absent: nothing), validate, go on."""
        if page.form is None:  # a caller's bug, not bad input
            raise AssertionError("page.form is not set")
        form = copy.deepcopy(page.form)
        inputs = form.by_labels()
        for row in page.rows:
            label = STEP_INPUT_LABEL.format(ident=row.ident)
            control = inputs.get(label_key(label).casefold())
            if control is None:
                raise ScreenMismatchError(f"{STEP_SCREEN.title} {page.step}/6", label,
                                          form.labels(), "champ", page.uai)
            control.value = logins.get(row.ident, "")
        what = f"validate step {page.step}/6 ({page.title}) of the identifiers import of {page.uai}"
        location = self.post(form, what, extra=[("action", STEP_VALIDATE)])
        return self.read_import(page.uai, location)

    def interrupt_import(self, page: ImportPage) -> None:
        """Press "Interrompre": the steps already validated stay saved."""
        if page.form is None:  # a caller's bug, not bad input
            raise AssertionError("page.form is not set")
        self.post(page.form, f"interrupt the identifiers import of {page.uai}", extra=[("action", STEP_INTERRUPT)])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.session.close()


# --- page readers (pure: page in, values out) --------------------------------
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
            values[name] = control.selected_text() == YES
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
            form.choose(label, YES if value else NO)
        elif kind == "select":
            form.choose(label, str(value))
        else:
            form.set_text(label, str(value))


def _next_page(doc: lxml.html.HtmlElement, url: str, base: str) -> str:
    """The address of the link « Page suivante », "" when there is none; it must stay in the console."""
    links = [a for a in doc.iter("a") if text_of(a) == NEXT_PAGE and a.get("href")]
    if not links:
        return ""
    target = urljoin(doc.base_url or url, links[0].get("href"))
    if not target.startswith(base):
        raise UnexpectedPageError(f"« {NEXT_PAGE} » of {url} leads out of the console: {target}.")
    return target


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
            name, _paren, uai = shown[:-1].rpartition("(")
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
            raise ScreenMismatchError(ACCESS_SCREEN.title, " » ou « ".join(TARGET_LABELS.values()), [kind_text],
                                      f"valeur de la colonne « {COL_TARGET} »", uai)
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


def _cells(header: list[str], row: lxml.html.HtmlElement, needed: tuple[str, ...],
           what: str) -> dict[str, lxml.html.HtmlElement]:
    cells = row_cells(header, row)
    missing = [name for name in needed if name not in cells]
    if missing:
        raise UnexpectedPageError(f"The table of {what} has no column « {missing[0]} ».")
    return cells


def _french_date(text: str, uai: str) -> datetime.date | None:
    """``jj/mm/aaaa`` (or empty) as a date."""
    if not text:
        return None
    day, month, year = text.split("/") if text.count("/") == 2 else ("", "", "")
    try:
        if not (len(day) == 2 and len(month) == 2 and len(year) == 4):
            raise ValueError(text)
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise UnexpectedPageError(f"The ENT directory of {uai} shows a birth date '{text}' not as jj/mm/aaaa.") from None


_COUNT = re.compile(r"\d+")


def _count(doc: lxml.html.HtmlElement, css_id: str, url: str) -> int:
    found = doc.xpath("//*[@id=$i]", i=css_id)
    number = _COUNT.search(text_of(found[0])) if found else None
    if number is None:
        raise UnexpectedPageError(f"The import step {url} does not show « {css_id.replace('-', ' ')} ».")
    return int(number.group())


def _step_page(doc: lxml.html.HtmlElement, url: str, uai: str) -> ImportPage:
    heading = doc.xpath("//*[@id='etape']")[0]
    step = heading.get("data-etape") or ""
    if not step.isdigit():
        raise UnexpectedPageError(f"The import step {url} does not say its number.")
    title = text_of(heading).partition(":")[2].strip()
    form = STEP_SCREEN.read_form(doc, url, uai)
    header, rows = STEP_SCREEN.table_rows(doc, url, uai)
    out = []
    for row in rows:
        cells = _cells(header, row, (COL_IDENT, COL_STATE, COL_ACCOUNT), f"step {step} of the import of {uai}")
        ident = text_of(cells[COL_IDENT])
        inputs = cells[COL_ACCOUNT].xpath(".//input")
        out.append(StepRow(ident, text_of(cells[COL_STATE]) == RECOGNISED, inputs[0].get("value", "") if inputs else ""))
    return ImportPage(uai, url, int(step), title, _count(doc, "reconnus", url), _count(doc, "non-reconnus", url),
                      out, form)
