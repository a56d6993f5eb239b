"""The K-d'école admin console of one ENT project, under ``/<slug>/``.

Sign-in goes through the project's CAS: a page without a valid ``KDSESSION``
answers 302 to ``cas/login?service=<console auth/cas?next=…>``; the callback
validates the ticket internally and opens the session. Screens, labels and
messages follow ``docs/console-screens.md``.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, g, make_response, redirect, render_template, request

from sandbox import cas, db, refdata, services
from sandbox.projects import register_project_prefix
from sandbox.security import same, token
from sandbox.web import get_db, now, page, runtime

bp = Blueprint("console", __name__, url_prefix="/<project_slug>")
register_project_prefix(bp)

SESSION_COOKIE = "KDSESSION"
NO_RIGHTS = "Vous n'avez pas les droits d'administration sur ce site."
BAD_CSRF = "Jeton de sécurité invalide ou expiré. Rechargez la page."
INTERNAL = "Un service interne ne peut pas être modifié."
SESSION_TOUCH_S = 15.0
#: Body size the upload views let Flask parse (the server hands over no more).
UPLOAD_MAX_BODY = 22 * 1024 * 1024
#: environ key set by sandbox.server when it dropped a body over its limit.
BODY_TOO_LARGE = "sandbox.body_too_large"
_ACTION_SUFFIX = re.compile(r"(/acces-population)/\d+/supprimer$|/(supprimer|ajouter)$")


@dataclass
class ConsoleSession:
    """A signed-in console user."""

    id: str
    user: sqlite3.Row
    csrf_token: str
    flash: tuple[str, str] | None


# ---------------------------------------------------------------- sessions

def _prefix() -> str:
    return f"/{g.project['slug']}/"


def safe_next(value: str | None) -> str:
    """``value`` when it is a path of this project's console, else the portal home."""
    prefix = _prefix()
    if value and value.startswith(prefix) and "\\" not in value and "//" not in value:
        return value
    return prefix


def console_service_url(next_path: str) -> str:
    """The CAS service URL of the console's sign-in callback for ``next_path``."""
    return f"{request.host_url}{g.project['slug']}/auth/cas?{urlencode({'next': next_path})}"


def cas_login_url(next_path: str) -> str:
    return f"{request.host_url}{g.project['slug']}/cas/login?{urlencode({'service': console_service_url(next_path)})}"


def _next_after_login() -> str:
    path = request.full_path.rstrip("?") if request.method == "GET" else request.path
    if request.method == "POST":
        path = _ACTION_SUFFIX.sub(lambda m: m.group(1) or "", path)
    return safe_next(path)


def login_redirect() -> Response:
    """302 to the project's CAS, coming back to the current page."""
    return redirect(cas_login_url(_next_after_login()), 302)


def load_session(conn: sqlite3.Connection) -> ConsoleSession | None:
    """The request's valid console session, or None (expired ones are deleted)."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    row = conn.execute("SELECT * FROM console_sessions WHERE id = ? AND project_id = ?",
                       (sid, g.project["id"])).fetchone()
    if row is None:
        return None
    current = now()
    rt = runtime()
    expired = current - row["last_seen"] > rt.settings.session_idle_s
    if not expired and rt.faults.draw("session_expiry_rate"):
        rt.stats.count_fault("session_expired")
        expired = True
    if expired:
        with db.write(conn):
            conn.execute("DELETE FROM console_sessions WHERE id = ?", (sid,))
        return None
    user = conn.execute("SELECT * FROM users WHERE id = ?", (row["user_id"],)).fetchone()
    if user is None:
        return None
    if current - row["last_seen"] > SESSION_TOUCH_S:
        with db.write(conn):
            conn.execute("UPDATE console_sessions SET last_seen = ? WHERE id = ?", (current, sid))
    flash = (row["flash_kind"], row["flash_message"]) if row["flash_kind"] else None
    return ConsoleSession(sid, user, row["csrf_token"], flash)


def set_flash(kind: str, message: str) -> None:
    """Store a message shown by the next page of this session."""
    conn = get_db()
    with db.write(conn):
        conn.execute("UPDATE console_sessions SET flash_kind = ?, flash_message = ? WHERE id = ?",
                     (kind, message, g.session.id))


def _pop_flash() -> tuple[str, str] | None:
    flash = g.session.flash
    if flash:
        conn = get_db()
        with db.write(conn):
            conn.execute("UPDATE console_sessions SET flash_kind = NULL, flash_message = NULL WHERE id = ?",
                         (g.session.id,))
        g.session.flash = None
    return flash


# ---------------------------------------------------------------- access

def find_etab(conn: sqlite3.Connection, uai: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM etabs WHERE project_id = ? AND uai = ?", (g.project["id"], uai)).fetchone()


def may_administer(conn: sqlite3.Connection, user: sqlite3.Row, etab: sqlite3.Row) -> bool:
    if not user["is_admin"] or etab["project_id"] != user["project_id"]:
        return False
    if user["admin_all_sites"]:
        return True
    return conn.execute("SELECT 1 FROM admin_sites WHERE user_id = ? AND etab_id = ?",
                        (user["id"], etab["id"])).fetchone() is not None


def administered_sites(conn: sqlite3.Connection, user: sqlite3.Row) -> list[sqlite3.Row]:
    """Sites the user may administer (none for a non-administrator)."""
    if not user["is_admin"]:
        return []
    if user["admin_all_sites"]:
        return conn.execute("SELECT * FROM etabs WHERE project_id = ? ORDER BY name, uai",
                            (user["project_id"],)).fetchall()
    return conn.execute("SELECT e.* FROM admin_sites a JOIN etabs e ON e.id = a.etab_id WHERE a.user_id = ?"
                        " AND e.project_id = ? ORDER BY e.name, e.uai", (user["id"], user["project_id"])).fetchall()


def body_too_large() -> bool:
    """The request's body was over the server's limit and was dropped (see sandbox.server)."""
    return bool(request.environ.get(BODY_TOO_LARGE))


View = Callable[..., Response]


def console_view(admin: bool = True, upload: bool = False) -> Callable[[View], View]:
    """Decorate a console view: session, CSRF on POST, site lookup and rights.

    ``upload`` views accept multipart bodies up to the server's limit; when a
    body was over it (dropped), they are called without a CSRF check (there is
    no form to check) and must refuse the upload themselves.
    """

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            conn = get_db()
            session = load_session(conn)
            if session is None:
                return login_redirect()
            g.session = session
            if upload:
                request.max_content_length = UPLOAD_MAX_BODY
            dropped = upload and body_too_large()
            if request.method == "POST" and not dropped and not same(request.form.get("csrf_token"),
                                                                     session.csrf_token):
                return page(403, BAD_CSRF, layout="base.html")
            if "uai" in kwargs:
                etab = find_etab(conn, kwargs["uai"])
                if etab is None:
                    return page(404, f"Établissement inconnu : {kwargs['uai']}", layout="base.html")
                g.site = etab
            if admin and ("uai" not in kwargs or not may_administer(conn, session.user, g.site)):
                return page(403, NO_RIGHTS, layout="base.html")
            return view(**kwargs)

        return wrapper

    return decorator


def render(template: str, status: int = 200, **context: Any) -> Response:
    """Render a console page with its header (user, site selector, flash)."""
    conn = get_db()
    site = g.get("site")
    sites = administered_sites(conn, g.session.user)
    flash = _pop_flash()
    html = render_template(template, session=g.session, site=site, sites=sites, flash=flash,
                           csrf_token=g.session.csrf_token, **context)
    return make_response(html, status)


def services_path(uai: str) -> str:
    return f"{_prefix()}etab/{uai}/admin/services"


def service_path(uai: str, code: str, tab: str = "") -> str:
    return f"{services_path(uai)}/{quote(code)}" + (f"/{tab}" if tab else "")


# ---------------------------------------------------------------- sign-in

@bp.get("/auth/cas")
def auth_cas() -> Response:
    """CAS service URL of the console: validate the ticket, open ``KDSESSION``."""
    raw_next = request.args.get("next", "")
    next_path = safe_next(raw_next)
    ticket = request.args.get("ticket")
    if not ticket:
        return redirect(cas_login_url(next_path), 302)
    conn = get_db()
    result = cas.validate_ticket(conn, g.project["id"], ticket, console_service_url(raw_next))
    if isinstance(result, cas.CasFailure):
        return page(403, f"La validation du ticket CAS a échoué ({result.code} : {result.description})",
                    title="Échec de la connexion", retry_url=cas_login_url(next_path))
    sid, current = token("", 32), now()
    with db.write(conn):
        conn.execute("INSERT INTO console_sessions (id, project_id, user_id, csrf_token, created_at, last_seen)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (sid, g.project["id"], result.user["id"], token("", 32),
                                                    current, current))
    response = redirect(next_path, 302)
    response.set_cookie(SESSION_COOKIE, sid, path=_prefix(), secure=True, httponly=True, samesite="Lax")
    return response


@bp.get("/deconnexion")
def logout() -> Response:
    """End the console session and the CAS session, back to the portal home."""
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        conn = get_db()
        with db.write(conn):
            conn.execute("DELETE FROM console_sessions WHERE id = ?", (sid,))
    target = f"{request.host_url}{g.project['slug']}/cas/logout?{urlencode({'service': request.host_url + _prefix()[1:]})}"
    response = redirect(target, 302)
    response.delete_cookie(SESSION_COOKIE, path=_prefix(), secure=True, httponly=True, samesite="Lax")
    return response


@bp.get("/changer-site")
@console_view(admin=False)
def change_site() -> Response:
    """Target of the header's site selector: go to the chosen site's services list."""
    return redirect(safe_next(request.args.get("site")), 302)


@bp.get("/")
@console_view(admin=False)
def home() -> Response:
    """Portal home: the user's établissements and services; admin links."""
    conn = get_db()
    user = g.session.user
    etabs = conn.execute("SELECT e.* FROM user_etabs ue JOIN etabs e ON e.id = ue.etab_id WHERE ue.user_id = ?"
                         " ORDER BY e.name", (user["id"],)).fetchall()
    my_services = [(etab, services.user_services(conn, user, etab["id"])) for etab in etabs]
    return render("accueil.html", etabs=etabs, my_services=my_services,
                  admin_sites=administered_sites(conn, user), services_path=services_path)


# ---------------------------------------------------------------- services

@bp.get("/etab/<uai>/admin/services")
@console_view()
def service_list(uai: str) -> Response:
    """Gestion portail > Services > Liste des services."""
    rows = services.list_services(get_db(), g.site["id"])
    return render("services_liste.html", services=rows, service_path=service_path, new_path=f"{services_path(uai)}/new")


def _service_form(mode: str, values: services.ServiceValues, errors: list[str] | None = None,
                  service: sqlite3.Row | None = None) -> Response:
    uai = g.site["uai"]
    action = f"{services_path(uai)}/new" if service is None else service_path(uai, service["code"])
    return render("service_form.html", mode=mode, values=values, errors=errors or [], service=service,
                  action=action, back=services_path(uai), tabs=_tabs(service, "infos"), ref=refdata)


def _tabs(service: sqlite3.Row | None, active: str) -> list[tuple[str, str, bool]]:
    uai = g.site["uai"]
    if service is None:
        return [("Informations générales", f"{services_path(uai)}/new", True)]
    code = service["code"]
    return [
        ("Informations générales", service_path(uai, code), active == "infos"),
        ("Accès population", service_path(uai, code, "acces-population"), active == "population"),
        ("Accès utilisateur", service_path(uai, code, "acces-utilisateur"), active == "utilisateur"),
    ]


@bp.route("/etab/<uai>/admin/services/new", methods=["GET", "POST"])
@console_view()
def service_new(uai: str) -> Response:
    """Nouveau service: create with the next ``USER_<n>`` code."""
    if request.method == "GET":
        return _service_form("new", services.ServiceValues())
    values, errors = services.parse_service_form(request.form)
    if errors:
        return _service_form("new", values, errors)
    code = services.create_service(get_db(), g.site["id"], values)
    set_flash("succes", "Le service a été créé.")
    return redirect(service_path(uai, code), 303)


def _editable_service(code: str) -> sqlite3.Row | Response:
    service = services.get_service(get_db(), g.site["id"], code)
    if service is None:
        return page(404, f"Service inconnu : {code}", layout="base.html")
    if service["interne"]:
        return page(403, INTERNAL, layout="base.html")
    return service


@bp.route("/etab/<uai>/admin/services/<code>", methods=["GET", "POST"])
@console_view()
def service_edit(uai: str, code: str) -> Response:
    """Modifier un service, tab Informations générales."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    if request.method == "GET":
        return _service_form("edit", services.ServiceValues.from_row(service), service=service)
    values, errors = services.parse_service_form(request.form)
    if errors:
        return _service_form("edit", values, errors, service)
    services.update_service(get_db(), service["id"], values)
    set_flash("succes", "Le service a été modifié.")
    return redirect(service_path(uai, code), 303)


@bp.post("/etab/<uai>/admin/services/<code>/supprimer")
@console_view()
def service_delete(uai: str, code: str) -> Response:
    """Delete a service and its rules."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    services.delete_service(get_db(), service["id"])
    set_flash("succes", "Le service a été supprimé.")
    return redirect(services_path(uai), 303)


# ---------------------------------------------------------------- access rules

def _rule_context(conn: sqlite3.Connection) -> services.RuleContext:
    etabs = conn.execute("SELECT * FROM etabs WHERE project_id = ? ORDER BY name, uai", (g.project["id"],)).fetchall()
    groups = conn.execute("SELECT * FROM ent_groups WHERE etab_id = ? ORDER BY name", (g.site["id"],)).fetchall()
    return services.RuleContext(g.site, {e["uai"]: e for e in etabs}, {str(gr["id"]): gr for gr in groups})


def _population_page(service: sqlite3.Row, rule: services.RuleInput | None = None,
                     errors: list[str] | None = None) -> Response:
    conn = get_db()
    context = _rule_context(conn)
    if rule is None:
        cible = request.args.get("cible", "site")
        rule = services.RuleInput(cible=cible if cible in refdata.CIBLES else "site")
    etabs = [g.site] + [e for e in context.etabs_by_uai.values() if e["id"] != g.site["id"]]
    uai = g.site["uai"]
    return render("acces_population.html", service=service, rule=rule, errors=errors or [], etabs=etabs,
                  groups=list(context.groups_by_id.values()), rules=services.list_rules(conn, service, g.site),
                  tabs=_tabs(service, "population"), back=services_path(uai), ref=refdata,
                  action=service_path(uai, service["code"], "acces-population/ajouter"),
                  delete_path=lambda rule_id: service_path(uai, service["code"], f"acces-population/{rule_id}/supprimer"),
                  page_path=service_path(uai, service["code"], "acces-population"))


@bp.get("/etab/<uai>/admin/services/<code>/acces-population")
@console_view()
def population(uai: str, code: str) -> Response:
    """Modifier un service, tab Accès population."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    return _population_page(service)


@bp.post("/etab/<uai>/admin/services/<code>/acces-population/ajouter")
@console_view()
def population_add(uai: str, code: str) -> Response:
    """Add one access rule."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    conn = get_db()
    rule, targets, errors = services.parse_rule_form(
        request.form, request.form.getlist("etablissements"), request.form.getlist("groupes"), _rule_context(conn))
    if not errors and services.add_rule(conn, service["id"], rule, targets) is None:
        errors = [services.DUPLICATE_RULE]
    if errors:
        return _population_page(service, rule, errors)
    set_flash("succes", "Les accès ont été ajoutés.")
    return redirect(service_path(uai, code, "acces-population"), 303)


@bp.post("/etab/<uai>/admin/services/<code>/acces-population/<int:rule_id>/supprimer")
@console_view()
def population_delete(uai: str, code: str, rule_id: int) -> Response:
    """Delete one access rule."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    if not services.delete_rule(get_db(), service["id"], rule_id):
        return page(404, f"Droit d'accès inconnu : {rule_id}", layout="base.html")
    set_flash("succes", "L'accès a été supprimé.")
    return redirect(service_path(uai, code, "acces-population"), 303)


@bp.get("/etab/<uai>/admin/services/<code>/acces-utilisateur")
@console_view()
def user_access(uai: str, code: str) -> Response:
    """Modifier un service, tab Accès utilisateur (read-only)."""
    service = _editable_service(code)
    if isinstance(service, Response):
        return service
    total, rows = services.users_with_access(get_db(), service, g.site["id"])
    return render("acces_utilisateur.html", service=service, total=total, rows=rows,
                  tabs=_tabs(service, "utilisateur"), back=services_path(uai))


# ---------------------------------------------------------------- établissements

#: rows per page of « Liste des établissements » (a project has thousands)
ETABS_PER_PAGE = 100


@bp.get("/admin/etablissements")
@console_view(admin=False)
def etablissements() -> Response:
    """Administration > Établissements: the sites this administrator administers, by UAI, paged."""
    conn = get_db()
    user = g.session.user
    if not user["is_admin"]:
        return page(403, NO_RIGHTS, layout="base.html")
    rows = sorted(administered_sites(conn, user), key=lambda r: r["uai"])
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 0
    pages = max(1, -(-len(rows) // ETABS_PER_PAGE))
    if not 1 <= number <= pages:
        return page(404, f"Page inconnue : {request.args.get('page', '')}", layout="base.html")
    shown = rows[(number - 1) * ETABS_PER_PAGE:number * ETABS_PER_PAGE]
    here = f"{_prefix()}admin/etablissements"
    return render("etablissements.html", etabs=shown, total=len(rows), number=number, pages=pages,
                  previous=f"{here}?page={number - 1}" if number > 1 else "",
                  following=f"{here}?page={number + 1}" if number < pages else "",
                  services_path=services_path)
