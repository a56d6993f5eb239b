"""CAS server, protocol 3.0 (Apereo), one per ENT project under ``/<slug>/cas/``.

Endpoints: ``login`` (GET form / POST credentials, ``service``, ``renew``,
``gateway``), ``logout``, ``validate`` (CAS 1.0), ``serviceValidate`` and
``p3/serviceValidate`` (XML, or JSON with ``format=JSON``).

Tickets: service tickets ``ST-…`` are single-use (consumed by any
validation attempt, successful or not) and expire after
``Settings.service_ticket_ttl_s`` (10 s by default). The ticket-granting
cookie ``CASTGC`` (path ``/<slug>/cas/``, Secure, HttpOnly) lasts
``Settings.tgc_ttl_s`` (2 hours).

Two dialects (docs/console-screens.md, "CAS dialects"): ``apereo`` shows
its login form (``<form id="fm1">``) at once; ``kdecole`` (the public
K-d'école servers, ``https://cas.<ent-domain>/login?selection=<source>``)
first shows a page where the user picks an identity source, unless
``selection`` names one: the ENT's local accounts (the CAS's own form,
``<form class="cas__login-form">``), EduConnect or the académie's agents (a
SAML redirect to an identity provider elsewhere: here :data:`idp_bp`, a
page no client can sign in through). A project's dialect comes from
:mod:`sandbox.refdata`; ``python -m sandbox cas`` changes it, or offers only
EduConnect (:func:`set_cas_options`).

Released attributes come from :data:`ATTRIBUTE_PROVIDERS`; the base provider
releases ``uid``, ``ENTPersonProfils``, ``ENTPersonStructRattach`` (one value
per UAI), ``nom`` and ``prenom``; :func:`pronote_id_attributes` adds
``idPronote``, the account's Identifiant PRONOTE-ENT in the établissement of
the service URL (docs/import-screens.md, "CAS: idPronote").

The XML answer writes each attribute as ``<cas:NAME>value</cas:NAME>``
(repeated when multi-valued), or, for a project switched to the other form
real servers use (:func:`set_attribute_form`, ``python -m sandbox
cas --attributs name-value``), as ``<cas:attribute name="NAME" value="value"/>``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, g, make_response, redirect, render_template, request, url_for

from sandbox import db, refdata
from sandbox.projects import register_project_prefix
from sandbox.security import is_loopback, token, verify_password
from sandbox.web import get_db, now, page, runtime

bp = Blueprint("cas", __name__, url_prefix="/<project_slug>/cas")
register_project_prefix(bp)

CAS_NS = "http://www.yale.edu/tp/cas"
TGC_COOKIE = "CASTGC"
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
FLOW_EXPIRED = "La page de connexion a expiré. Veuillez vous reconnecter."
UNKNOWN_SOURCE = "Source d'identité inconnue : « {code} ». Choisissez votre profil de connexion."
#: what ``python -m sandbox cas --sources`` may offer on the selection page
SOURCE_CHOICES = ("toutes", "educonnect")

#: (conn, user row, service URL) -> extra attributes as (name, value) pairs.
AttributeProvider = Callable[[sqlite3.Connection, sqlite3.Row, str], list[tuple[str, str]]]


@dataclass(frozen=True)
class CasFailure:
    """A validation failure: CAS error code and French description."""

    code: str
    description: str


@dataclass(frozen=True)
class Validation:
    """A successful validation."""

    user: sqlite3.Row
    from_new_login: bool
    auth_time: float
    service: str


# ---------------------------------------------------------------- services


def service_allowed(service: str) -> bool:
    """The sandbox's service registry: any ``https`` URL, or ``http`` on loopback."""
    try:
        parts = urlsplit(service)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return False
    if any(ch.isspace() for ch in service) or not host:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback(host)


def normalize_service(service: str) -> str:
    """Normalise a service URL for comparison (scheme and host case, default port)."""
    try:
        parts = urlsplit(service)
        port = parts.port
    except ValueError:
        return service
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit(SplitResult(parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def url_with_ticket(service: str, ticket: str) -> str:
    """Append ``ticket=`` to ``service`` (before any fragment)."""
    base, hash_, fragment = service.partition("#")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'ticket': ticket})}{hash_}{fragment}"


# ---------------------------------------------------------------- tickets

def current_tgt(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The valid ticket-granting ticket named by the request's ``CASTGC``, if any."""
    tgt_id = request.cookies.get(TGC_COOKIE)
    if not tgt_id:
        return None
    row = conn.execute("SELECT * FROM tgts WHERE id = ? AND project_id = ?", (tgt_id, g.project["id"])).fetchone()
    if row is None or row["expires_at"] <= now():
        return None
    return row


def issue_service_ticket(conn: sqlite3.Connection, user_id: int, service: str, from_new_login: bool,
                         auth_time: float) -> str:
    """Create a service ticket for ``service``."""
    ticket = token("ST-")
    settings = runtime().settings
    with db.write(conn):
        conn.execute(
            "INSERT INTO service_tickets (id, project_id, user_id, service, from_new_login, auth_time, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket, g.project["id"], user_id, service, int(from_new_login), auth_time,
             now() + settings.service_ticket_ttl_s))
    return ticket


def validate_ticket(conn: sqlite3.Connection, project_id: int, ticket: str | None, service: str | None,
                    renew: bool = False) -> Validation | CasFailure:
    """Validate (and consume) ``ticket`` for ``service`` in project ``project_id``."""
    if not ticket or not service:
        missing = "ticket" if not ticket else "service"
        return CasFailure("INVALID_REQUEST", f"Le paramètre « {missing} » est obligatoire.")
    with db.write(conn):
        row = conn.execute("SELECT * FROM service_tickets WHERE id = ? AND project_id = ?",
                           (ticket, project_id)).fetchone()
        if row is not None:
            conn.execute("UPDATE service_tickets SET used = 1 WHERE id = ?", (ticket,))
    if row is None:
        return CasFailure("INVALID_TICKET", f"Le ticket « {ticket} » n'est pas reconnu.")
    if row["used"]:
        return CasFailure("INVALID_TICKET", f"Le ticket « {ticket} » a déjà été utilisé.")
    if row["expires_at"] <= now():
        return CasFailure("INVALID_TICKET", f"Le ticket « {ticket} » a expiré.")
    if normalize_service(row["service"]) != normalize_service(service):
        return CasFailure("INVALID_SERVICE", f"Le ticket « {ticket} » n'a pas été délivré pour ce service.")
    if renew and not row["from_new_login"]:
        return CasFailure("INVALID_TICKET", f"Le ticket « {ticket} » ne provient pas d'une authentification"
                                            " initiale (renew).")
    user = conn.execute("SELECT * FROM users WHERE id = ?", (row["user_id"],)).fetchone()
    if user is None:
        return CasFailure("INVALID_TICKET", f"Le compte du ticket « {ticket} » n'existe plus.")
    return Validation(user, bool(row["from_new_login"]), row["auth_time"], row["service"])


# ---------------------------------------------------------------- attributes

def base_attributes(conn: sqlite3.Connection, user: sqlite3.Row, _service: str) -> list[tuple[str, str]]:
    """``uid``, ``ENTPersonProfils``, ``ENTPersonStructRattach`` (one per UAI), ``nom``, ``prenom``."""
    uais = [r[0] for r in conn.execute(
        "SELECT e.uai FROM user_etabs ue JOIN etabs e ON e.id = ue.etab_id WHERE ue.user_id = ? ORDER BY e.uai",
        (user["id"],))]
    attributes = [("uid", user["login"]), ("ENTPersonProfils", user["profile"])]
    attributes += [("ENTPersonStructRattach", uai) for uai in uais]
    attributes += [("nom", user["nom"]), ("prenom", user["prenom"])]
    return attributes


def _lower_origin(url: str) -> str:
    """``url`` with its scheme and host in lower case (the rest as is)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return urlunsplit(SplitResult(parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query,
                                  parts.fragment))


def etab_of_service(conn: sqlite3.Connection, project_id: int, service: str) -> int | None:
    """The établissement a service URL belongs to, or None.

    The site whose PRONOTE service ("SSO Pronote avec CAS") has a URL the
    service URL starts with (the longest such URL wins); failing that, the
    site of the project whose UAI appears first in the URL (case-insensitive).
    """
    target = _lower_origin(service)
    best: tuple[int, int] | None = None
    for etab_id, url in conn.execute(
            "SELECT s.etab_id, s.url FROM services s JOIN etabs e ON e.id = s.etab_id"
            " WHERE e.project_id = ? AND s.sso_type = ? AND s.url != '' ORDER BY s.etab_id, s.id",
            (project_id, refdata.SSO_PRONOTE)):
        prefix = _lower_origin(url)
        if target.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), etab_id)
    if best is not None:
        return best[1]
    upper = service.upper()
    found = [(upper.find(uai), etab_id) for etab_id, uai in conn.execute(
        "SELECT id, uai FROM etabs WHERE project_id = ? ORDER BY id", (project_id,)) if uai in upper]
    return min(found)[1] if found else None


def pronote_id_attributes(conn: sqlite3.Connection, user: sqlite3.Row, service: str) -> list[tuple[str, str]]:
    """``idPronote``: the account's identifier in the établissement of ``service``
    (none when it has none there); for a URL of no établissement, every
    identifier the account holds in the project (one value each)."""
    etab_id = etab_of_service(conn, user["project_id"], service)
    if etab_id is not None:
        row = conn.execute("SELECT ident FROM ent_identifiers WHERE etab_id = ? AND user_id = ?",
                           (etab_id, user["id"])).fetchone()
        return [("idPronote", row[0])] if row else []
    return [("idPronote", r[0]) for r in conn.execute(
        "SELECT i.ident FROM ent_identifiers i JOIN etabs e ON e.id = i.etab_id"
        " WHERE i.user_id = ? AND e.project_id = ? ORDER BY e.uai", (user["id"], user["project_id"]))]


#: Attribute providers, called in order.
ATTRIBUTE_PROVIDERS: list[AttributeProvider] = [base_attributes, pronote_id_attributes]


def released_attributes(conn: sqlite3.Connection, validation: Validation) -> list[tuple[str, str]]:
    """Every attribute released for ``validation``, protocol attributes included."""
    attributes: list[tuple[str, str]] = []
    for provider in ATTRIBUTE_PROVIDERS:
        attributes += provider(conn, validation.user, validation.service)
    auth_date = dt.datetime.fromtimestamp(validation.auth_time, dt.timezone.utc).isoformat(timespec="seconds")
    attributes += [
        ("authenticationDate", auth_date),
        ("isFromNewLogin", "true" if validation.from_new_login else "false"),
        ("longTermAuthenticationRequestTokenUsed", "false"),
    ]
    return attributes


# ---------------------------------------------------------------- responses

def xml_response(body: str) -> Response:
    text = f'<cas:serviceResponse xmlns:cas="{CAS_NS}">\n{body}</cas:serviceResponse>\n'
    response = make_response(text, 200)
    response.mimetype = "application/xml"
    return response


def failure_response(failure: CasFailure, as_json: bool) -> Response:
    if as_json:
        return _json_response({"serviceResponse": {"authenticationFailure": {
            "code": failure.code, "description": failure.description}}})
    return xml_response(f'    <cas:authenticationFailure code="{failure.code}">'
                        f"{escape(failure.description)}</cas:authenticationFailure>\n")


#: How ``serviceValidate`` writes attributes in XML: ``<cas:NAME>`` elements, or ``<cas:attribute name= value=>``.
ATTRIBUTE_FORMS = ("elements", "name-value")
_ATTRIBUTE_FORM_KEY = "cas_attribute_form:"


def attribute_form(conn: sqlite3.Connection, slug: str) -> str:
    """The attribute form of project ``slug`` (table ``meta``; "elements" unless switched)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_ATTRIBUTE_FORM_KEY + slug,)).fetchone()
    return row[0] if row and row[0] in ATTRIBUTE_FORMS else ATTRIBUTE_FORMS[0]


def set_attribute_form(conn: sqlite3.Connection, slug: str, form: str) -> None:
    """Switch project ``slug``'s CAS to ``form`` (one of :data:`ATTRIBUTE_FORMS`); ValueError otherwise."""
    if form not in ATTRIBUTE_FORMS:
        raise ValueError(f"forme d'attributs inconnue : {form} (connues : {', '.join(ATTRIBUTE_FORMS)})")
    if conn.execute("SELECT 1 FROM projects WHERE slug = ?", (slug,)).fetchone() is None:
        raise ValueError(f"projet inconnu : {slug}")
    with db.write(conn):
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (_ATTRIBUTE_FORM_KEY + slug, form))


def success_response(validation: Validation, attributes: list[tuple[str, str]], as_json: bool,
                     form: str = "elements") -> Response:
    if as_json:
        grouped: dict[str, list[str]] = {}
        for name, value in attributes:
            grouped.setdefault(name, []).append(value)
        shaped = {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}
        return _json_response({"serviceResponse": {"authenticationSuccess": {
            "user": validation.user["login"], "attributes": shaped}}})
    if form == "name-value":
        lines = [f'            <cas:attribute name={quoteattr(name)} value={quoteattr(value)}/>\n'
                 for name, value in attributes]
    else:
        lines = [f"            <cas:{name}>{escape(value)}</cas:{name}>\n" for name, value in attributes]
    return xml_response(
        "    <cas:authenticationSuccess>\n"
        f"        <cas:user>{escape(validation.user['login'])}</cas:user>\n"
        "        <cas:attributes>\n" + "".join(lines) + "        </cas:attributes>\n"
        "    </cas:authenticationSuccess>\n")


def _json_response(payload: dict) -> Response:
    response = make_response(json.dumps(payload, ensure_ascii=False, indent=2), 200)
    response.mimetype = "application/json"
    return response


def _flag(name: str) -> bool:
    return (request.values.get(name) or "").lower() in ("true", "1", "yes", "on")


def _service_param() -> str | None:
    return request.args.get("service") or None


def _refuse_service() -> Response:
    return page(403, "Cette application n'est pas autorisée à utiliser le service d'authentification CAS.",
                title="Application non autorisée à utiliser CAS", layout="cas.html")


# ---------------------------------------------------------------- dialects

def _meta_key(slug: str, what: str) -> str:
    return f"cas.{slug}.{what}"


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def project_dialect(conn: sqlite3.Connection, slug: str) -> str:
    """``apereo`` or ``kdecole``: the switch set by :func:`set_cas_options`, else the reference data's."""
    info = refdata.PROJECTS_BY_SLUG.get(slug)
    return _meta(conn, _meta_key(slug, "dialecte")) or (info.cas_dialect if info else "apereo")


def offered_sources(conn: sqlite3.Connection, slug: str) -> tuple[refdata.CasSource, ...]:
    """The identity sources the project's selection page offers (K-d'école dialect)."""
    info = refdata.PROJECTS_BY_SLUG.get(slug) or refdata.ProjectInfo(slug, slug, "", ())
    sources = info.cas_sources()
    if _meta(conn, _meta_key(slug, "sources")) == "educonnect":
        sources = tuple(s for s in sources if s.kind == "educonnect")
    return sources


def cas_options(conn: sqlite3.Connection, slug: str) -> dict[str, object]:
    """The CAS of a project as ``python -m sandbox cas --show`` prints it."""
    dialect = project_dialect(conn, slug)
    out: dict[str, object] = {"projet": slug, "dialecte": dialect, "attributs": attribute_form(conn, slug)}
    if dialect == "kdecole":
        out["sources"] = [{"selection": s.code, "type": s.kind, "libellé": s.label}
                          for s in offered_sources(conn, slug)]
    return out


def set_cas_options(conn: sqlite3.Connection, slug: str, dialect: str | None = None,
                    sources: str | None = None, attributes: str | None = None) -> dict[str, object]:
    """Set a project's CAS dialect, the sources its selection page offers (``toutes`` or ``educonnect``)
    and the form of the attributes its validation answers give (:func:`set_attribute_form`)."""
    if conn.execute("SELECT 1 FROM projects WHERE slug = ?", (slug,)).fetchone() is None:
        raise ValueError(f"projet inconnu : {slug}")
    if dialect is not None and dialect not in refdata.CAS_DIALECTS:
        raise ValueError(f"dialecte inconnu : {dialect} (choix : {', '.join(refdata.CAS_DIALECTS)})")
    if sources is not None and sources not in SOURCE_CHOICES:
        raise ValueError(f"sources inconnues : {sources} (choix : {', '.join(SOURCE_CHOICES)})")
    if attributes is not None and attributes not in ATTRIBUTE_FORMS:
        raise ValueError(f"forme d'attributs inconnue : {attributes} (connues : {', '.join(ATTRIBUTE_FORMS)})")
    with db.write(conn):
        for what, value in (("dialecte", dialect), ("sources", sources)):
            if value is not None:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_meta_key(slug, what), value))
    if attributes is not None:
        set_attribute_form(conn, slug, attributes)
    return cas_options(conn, slug)


def _chosen_source(conn: sqlite3.Connection) -> refdata.CasSource | None:
    code = request.args.get("selection")
    return next((s for s in offered_sources(conn, g.project["slug"]) if s.code == code), None)


def _kept_query(*names: str) -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in names and v}


def _selection_page(conn: sqlite3.Connection) -> Response:
    """The K-d'école page where the user picks an identity source; ``service`` kept in every link."""
    kept = _kept_query("service", "renew", "gateway")
    sources = offered_sources(conn, g.project["slug"])
    categories: dict[str, list[tuple[refdata.CasSource, str]]] = {}
    for source in sources:
        href = request.path + "?" + urlencode({"selection": source.code, **kept})
        categories.setdefault(source.category, []).append((source, href))
    code = request.args.get("selection")
    error = UNKNOWN_SOURCE.format(code=code) if code else None
    return make_response(render_template("cas_selection.html", categories=categories, kept=kept, error=error,
                                         action=request.path), 200)


def _to_identity_provider(source: refdata.CasSource) -> Response:
    """EduConnect and agents: a SAML redirect to an identity provider elsewhere."""
    relay = token("", 16)
    saml_request = token("", 48)
    return redirect(url_for("idp.sso", kind=source.kind, SAMLRequest=saml_request, RelayState=relay), 302)


# ---------------------------------------------------------------- login

def _new_flow(conn: sqlite3.Connection) -> tuple[str, str]:
    lt, execution = token("LT-"), token("e1s1-", 32)
    with db.write(conn):
        conn.execute("INSERT INTO login_flows (lt, project_id, execution, expires_at) VALUES (?, ?, ?, ?)",
                     (lt, g.project["id"], execution, now() + runtime().settings.login_flow_ttl_s))
    return lt, execution


def _consume_flow(conn: sqlite3.Connection, lt: str, execution: str) -> bool:
    with db.write(conn):
        cursor = conn.execute(
            "DELETE FROM login_flows WHERE lt = ? AND execution = ? AND project_id = ? AND expires_at > ?",
            (lt, execution, g.project["id"], now()))
    return cursor.rowcount == 1


def _login_form(conn: sqlite3.Connection, error: str | None = None, username: str = "") -> Response:
    """The login form of the project's dialect, or (K-d'école) the selection page or the SAML redirect first."""
    kdecole = project_dialect(conn, g.project["slug"]) == "kdecole"
    if kdecole:
        source = _chosen_source(conn)
        if source is None:
            return _selection_page(conn)
        if source.kind != "local":
            return _to_identity_provider(source)
    lt, execution = _new_flow(conn)
    query = _kept_query("selection", "service", "renew", "gateway") if kdecole else _kept_query(
        "service", "renew", "gateway")
    action = request.path + ("?" + urlencode(query) if query else "")
    template = "cas_kdecole_login.html" if kdecole else "cas_login.html"
    return make_response(render_template(template, lt=lt, execution=execution, action=action,
                                         error=error, username=username), 200)


def _login_success(user: sqlite3.Row) -> Response:
    return make_response(render_template("cas_succes.html", user=user), 200)


def _redirect_with_ticket(conn: sqlite3.Connection, service: str, user_id: int, from_new_login: bool,
                          auth_time: float) -> Response:
    ticket = issue_service_ticket(conn, user_id, service, from_new_login, auth_time)
    return redirect(url_with_ticket(service, ticket), 302)


@bp.get("/login")
def login_get() -> Response:
    """Show the form, or issue a ticket at once from a valid TGC (unless renew)."""
    conn = get_db()
    service = _service_param()
    if service is not None and not service_allowed(service):
        return _refuse_service()
    renew, gateway = _flag("renew"), _flag("gateway")
    tgt = None if renew else current_tgt(conn)
    if tgt is not None:
        if service:
            return _redirect_with_ticket(conn, service, tgt["user_id"], False, tgt["created_at"])
        user = conn.execute("SELECT * FROM users WHERE id = ?", (tgt["user_id"],)).fetchone()
        return _login_success(user)
    if gateway and service and not renew:
        return redirect(service, 302)
    return _login_form(conn)


def _authenticate(conn: sqlite3.Connection, username: str, password: str) -> sqlite3.Row | None:
    user = conn.execute("SELECT * FROM users WHERE project_id = ? AND login = ?",
                        (g.project["id"], username.strip())).fetchone()
    if user is None or not verify_password(user["password_hash"], password):
        return None
    return user


@bp.post("/login")
def login_post() -> Response:
    """Check the credentials; set ``CASTGC``; redirect to the service with a ticket."""
    conn = get_db()
    service = _service_param()
    if service is not None and not service_allowed(service):
        return _refuse_service()
    form = request.form
    username = form.get("username", "")
    if project_dialect(conn, g.project["slug"]) == "kdecole" and getattr(_chosen_source(conn), "kind", "") != "local":
        return _login_form(conn)  # the selection page (or the identity provider) of the source asked for
    if not _consume_flow(conn, form.get("lt", ""), form.get("execution", "")) or form.get("_eventId") != "submit":
        return _login_form(conn, FLOW_EXPIRED, username)
    user = _authenticate(conn, username, form.get("password", ""))
    if user is None:
        return _login_form(conn, BAD_CREDENTIALS, username)
    auth_time = now()
    tgt_id = token("TGT-", 32)
    with db.write(conn):
        conn.execute("INSERT INTO tgts (id, project_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                     (tgt_id, g.project["id"], user["id"], auth_time, auth_time + runtime().settings.tgc_ttl_s))
    if service:
        response = _redirect_with_ticket(conn, service, user["id"], True, auth_time)
    else:
        response = _login_success(user)
    response.set_cookie(TGC_COOKIE, tgt_id, path=f"/{g.project['slug']}/cas/", secure=True, httponly=True)
    return response


@bp.get("/logout")
def logout() -> Response:
    """End the TGC; redirect to ``service`` when given (and allowed)."""
    conn = get_db()
    tgt_id = request.cookies.get(TGC_COOKIE)
    if tgt_id:
        with db.write(conn):
            conn.execute("DELETE FROM tgts WHERE id = ? AND project_id = ?", (tgt_id, g.project["id"]))
    service = _service_param()
    if service and service_allowed(service):
        response = redirect(service, 302)
    else:
        response = make_response(render_template("cas_logout.html"), 200)
    response.delete_cookie(TGC_COOKIE, path=f"/{g.project['slug']}/cas/", secure=True, httponly=True)
    return response


# ---------------------------------------------------------------- validation

@bp.get("/validate")
def validate_v1() -> Response:
    """CAS 1.0: ``yes\\n<user>\\n`` or ``no\\n\\n``."""
    conn = get_db()
    result = validate_ticket(conn, g.project["id"], request.args.get("ticket"), _service_param(), _flag("renew"))
    body = f"yes\n{result.user['login']}\n" if isinstance(result, Validation) else "no\n\n"
    response = make_response(body, 200)
    response.mimetype = "text/plain"
    return response


def _service_validate() -> Response:
    conn = get_db()
    fmt = (request.args.get("format") or "XML").upper()
    as_json = fmt == "JSON"
    if fmt not in ("XML", "JSON"):
        return failure_response(CasFailure("INVALID_REQUEST", f"Format non pris en charge : {fmt}"), False)
    result = validate_ticket(conn, g.project["id"], request.args.get("ticket"), _service_param(), _flag("renew"))
    if isinstance(result, CasFailure):
        return failure_response(result, as_json)
    return success_response(result, released_attributes(conn, result), as_json,
                            attribute_form(conn, g.project["slug"]))


@bp.get("/serviceValidate")
def service_validate() -> Response:
    """CAS 2.0 validation (attributes released too, as CAS 5+ does)."""
    return _service_validate()


@bp.get("/p3/serviceValidate")
def p3_service_validate() -> Response:
    """CAS 3.0 validation with ``cas:attributes``."""
    return _service_validate()


# ---------------------------------------------------------------- identity providers elsewhere

#: EduConnect and the académie's agents, as the K-d'école CAS redirects to them (SAML 2.0
#: HTTP-Redirect binding): a stand-in sign-in page that no client of this project can use.
idp_bp = Blueprint("idp", __name__, url_prefix="/idp")
IDP_NAMES = {"educonnect": "ÉduConnect", "agents": "Guichet agents de l'académie"}
IDP_UNAVAILABLE = ("Ce fournisseur d'identité n'est qu'une façade dans le bac à sable : aucune connexion n'y"
                   " aboutit. Utilisez un compte de l'ENT.")


@idp_bp.route("/<kind>/profile/SAML2/Redirect/SSO", methods=["GET", "POST"])
def sso(kind: str) -> Response:
    """The identity provider's sign-in page (``j_username``/``j_password``); posting it never succeeds."""
    name = IDP_NAMES.get(kind)
    if name is None or not request.args.get("SAMLRequest"):
        return page(400, "Requête SAML invalide.", title="Erreur SAML")
    error = IDP_UNAVAILABLE if request.method == "POST" else None
    return make_response(render_template("idp_sso.html", name=name, error=error), 200)
