"""Helpers shared by the blueprints: database per request, runtime, pages."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from flask import Flask, Response, current_app, g, make_response, render_template

from sandbox import db
from sandbox.runtime import Runtime
from sandbox.state import StateDir


_local = threading.local()


def get_db() -> sqlite3.Connection:
    """The database connection of the current thread (one per HTTP connection).

    werkzeug serves each HTTP connection in its own thread, so a thread-local
    connection is reused by every request of a keep-alive connection and
    closed when the thread ends.
    """
    path = str(current_app.config["SANDBOX_STATE"].db)
    conn = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "path", None) != path:
        conn = _local.conn = db.connect(path)
        _local.path = path
    return conn


def close_db(_exc: BaseException | None = None) -> None:
    """Teardown hook: never leave a transaction open on the thread's connection."""
    conn = getattr(_local, "conn", None)
    if conn is not None and conn.in_transaction:
        conn.execute("ROLLBACK")


def runtime() -> Runtime:
    """The process-wide run-time state (clock, settings, faults, stats)."""
    return current_app.extensions["sandbox_runtime"]


def variant(name: str, slug: str | None = None) -> bool:
    """Whether the screen variant ``name`` is served to the ENT project ``slug`` (default: the request's)."""
    if slug is None:
        project = g.get("project")
        slug = project["slug"] if project else None
    return name in runtime().variants.active(slug)


def state() -> StateDir:
    """The state directory of this sandbox."""
    return current_app.config["SANDBOX_STATE"]


def now() -> float:
    """Sandbox time (honours the clock offset)."""
    return runtime().clock.now()


def page(status: int, message: str, title: str | None = None, **context: Any) -> Response:
    """A French error or information page with ``<div id="erreur">message</div>``."""
    titles = {400: "Requête invalide", 401: "Authentification requise", 403: "Accès refusé",
              404: "Page introuvable", 405: "Méthode non autorisée", 413: "Requête trop volumineuse", 500: "Erreur interne du serveur"}
    html = render_template("erreur.html", status=status, message=message,
                           title=title or titles.get(status, "Erreur"), **context)
    return make_response(html, status)


def init_app(app: Flask) -> None:
    """Register the teardown hook and keep one connection open for the app's life.

    With WAL, closing the last connection checkpoints and deletes the WAL
    file; the anchor connection keeps that cost out of every request.
    """
    app.teardown_appcontext(close_db)
    app.jinja_env.globals["variant"] = variant
    app.extensions["sandbox_db_anchor"] = db.connect(app.config["SANDBOX_STATE"].db)
