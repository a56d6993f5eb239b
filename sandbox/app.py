"""The Flask application: blueprints, fault injection, statistics, landing page."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from sandbox import cas, console, control, db, pronote_net, refdata
from sandbox import console_identifiants  # noqa: F401 - registers the identifiers views on console.bp
from sandbox.runtime import Runtime
from sandbox.security import DEMO_PASSWORD
from sandbox.state import StateDir, control_token
from sandbox.web import get_db, init_app, page, runtime

HOUSEKEEPING_EVERY_S = 60.0
_KINDS = {"cas": "cas", "console": "console", "control": "control", "pronote_net": "pronote_net"}


def _kind() -> str:
    return _KINDS.get(request.blueprint or "", "static" if request.endpoint == "static" else "other")


def _faultable() -> bool:
    """Console, CAS and PRONOTE.net requests only: never ``/_sandbox/``, the landing page or static files."""
    return request.blueprint in ("cas", "console", "pronote_net")


#: Views that refuse an over-large upload themselves (see sandbox.server).
_UPLOAD_ENDPOINTS = ("console.identifiants_form",)


def _before() -> Response | None:
    g.fault_after = False
    if console.body_too_large() and request.endpoint not in _UPLOAD_ENDPOINTS:
        return page(413, "Requête trop volumineuse.")
    if not _faultable():
        return None
    rt = runtime()
    config = rt.faults.config
    if config.latency_ms:
        time.sleep(config.latency_ms / 1000)
    if rt.faults.draw("error_rate"):
        if config.error_phase == "after":
            g.fault_after = True
            return None
        rt.stats.count_fault("error_before")
        return page(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.")
    _housekeeping()
    return None


def _after(response: Response) -> Response:
    if g.get("fault_after"):
        runtime().stats.count_fault("error_after")
        response = page(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.")
    runtime().stats.count_request(_kind(), request.endpoint or "none", response.status_code)
    return response


_last_housekeeping = [0.0]


def _housekeeping() -> None:
    """At most once a minute, delete expired tickets, flows and sessions."""
    current = runtime().clock.now()
    if abs(current - _last_housekeeping[0]) < HOUSEKEEPING_EVERY_S:
        return
    _last_housekeeping[0] = current
    settings = runtime().settings
    conn = get_db()
    with db.write(conn):
        conn.execute("DELETE FROM login_flows WHERE expires_at < ?", (current,))
        conn.execute("DELETE FROM service_tickets WHERE expires_at < ?", (current - 60,))
        conn.execute("DELETE FROM tgts WHERE expires_at < ?", (current,))
        conn.execute("DELETE FROM console_sessions WHERE last_seen < ?", (current - settings.session_idle_s,))
        conn.execute("DELETE FROM pronote_net_sessions WHERE expires_at < ?", (current,))


def landing() -> str:
    """Landing page for a person: projects, links, demo logins, fault settings."""
    conn = get_db()
    projects = conn.execute("SELECT * FROM projects ORDER BY id").fetchall()
    etabs = {p["id"]: conn.execute("SELECT * FROM etabs WHERE project_id = ? ORDER BY name", (p["id"],)).fetchall()
             for p in projects}
    accounts = conn.execute(
        "SELECT u.*, p.slug FROM users u JOIN projects p ON p.id = u.project_id"
        " WHERE u.is_admin = 1 OR u.login LIKE 'demo.%' ORDER BY p.id, u.is_admin DESC, u.id").fetchall()
    bases = {b.uai: b for b in pronote_net.all_bases(conn)}
    return render_template("landing.html", projects=projects, etabs=etabs, accounts=accounts, bases=bases,
                           hosting_url=current_app.config.get("SANDBOX_HOSTING_URL"),
                           password=DEMO_PASSWORD, faults=runtime().faults.snapshot(),
                           settings=runtime().settings.as_dict(), ca=str(_state().ca_cert),
                           other_projects=[p for p in refdata.PROJECTS if p.slug not in {r["slug"] for r in projects}])


def _state() -> StateDir:
    from sandbox.web import state

    return state()


def _http_error(exc: HTTPException) -> Response:
    messages = {404: "La page demandée n'existe pas.", 405: "Méthode non autorisée pour cette adresse."}
    return page(exc.code or 500, messages.get(exc.code or 500, exc.description or "Erreur"))


def _server_error(_exc: Exception) -> Response:
    return page(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.")


def create_app(sd: StateDir, rt: Runtime | None = None, trust_ca: Iterable[str | Path] = ()) -> Flask:
    """Build the sandbox application for the state directory ``sd``.

    ``trust_ca``: CA files PRONOTE.net trusts, besides the sandbox's own, when it
    validates a ticket at a CAS (``python -m sandbox start --trust-ca``).
    """
    db.migrate(sd.db)
    app = Flask(__name__)
    app.config.update(SANDBOX_STATE=sd, SANDBOX_TOKEN=control_token(sd), JSON_AS_ASCII=False,
                      MAX_CONTENT_LENGTH=2 * 1024 * 1024,
                      SANDBOX_TRUST_CA=tuple(str(Path(p).resolve()) for p in trust_ca))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["sandbox_runtime"] = rt or Runtime()
    init_app(app)
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    app.add_url_rule("/", "landing", landing)
    app.register_blueprint(control.bp)
    app.register_blueprint(cas.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(pronote_net.bp)
    return app
