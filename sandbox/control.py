"""Control endpoints under ``/_sandbox/`` (JSON).

``GET /_sandbox/health`` is public. Every other endpoint requires the header
``X-Sandbox-Token`` holding the content of ``<state dir>/control-token``:

- ``GET|POST /_sandbox/faults``: fault-injection switches (POST a partial
  object; ``{"reset": true}`` clears them), ``import_abort_step`` and
  ``hosting_fail_next`` included;
- ``POST /_sandbox/expire-sessions``: every console session and TGC ends now;
- ``GET /_sandbox/stats``, ``POST /_sandbox/stats/reset``: request counters;
- ``GET|POST /_sandbox/settings``: ticket and session lifetimes, and how long PRONOTE.net waits
  for the CAS when it validates a ticket (``cas_validation_timeout_s``);
- ``GET|POST /_sandbox/variants``: screen variants served per ENT project
  (``{"project": "mbn" or "*", "variants": ["renamed-label"]}``; ``{"reset": true}``);
- ``GET|POST /_sandbox/clock``: ``{"advance_s": N}`` moves the sandbox's
  clock forward (expiry tests without sleeping), ``{"reset": true}``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from sandbox import __version__, db
from sandbox.security import same
from sandbox.web import get_db, runtime

bp = Blueprint("control", __name__, url_prefix="/_sandbox")
TOKEN_HEADER = "X-Sandbox-Token"


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.before_request
def _require_token() -> Response | None:
    if request.endpoint == "control.health":
        return None
    if not same(request.headers.get(TOKEN_HEADER), current_app.config["SANDBOX_TOKEN"]):
        return _error(401, f"missing or wrong {TOKEN_HEADER} header")
    return None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.data:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


@bp.get("/health")
def health() -> Response:
    """Liveness and readiness: the database answers."""
    get_db().execute("SELECT 1").fetchone()
    return jsonify({"status": "ok", "version": __version__})


@bp.route("/faults", methods=["GET", "POST"])
def faults() -> Response:
    """Read or change the fault-injection switches."""
    if request.method == "GET":
        return jsonify(runtime().faults.snapshot())
    try:
        return jsonify(runtime().faults.update(_json_body()))
    except (ValueError, TypeError) as exc:
        return _error(400, str(exc))


@bp.route("/variants", methods=["GET", "POST"])
def variants() -> Response:
    """Read or change the screen variants served (docs/console-screens.md, sandbox-only controls)."""
    if request.method == "GET":
        return jsonify(runtime().variants.snapshot())
    try:
        return jsonify(runtime().variants.update(_json_body()))
    except (ValueError, TypeError) as exc:
        return _error(400, str(exc))


@bp.post("/expire-sessions")
def expire_sessions() -> Response:
    """End every console session and every TGC now."""
    conn = get_db()
    with db.write(conn):
        sessions = conn.execute("DELETE FROM console_sessions").rowcount
        tgcs = conn.execute("DELETE FROM tgts").rowcount
    return jsonify({"console_sessions": sessions, "tgc": tgcs})


@bp.get("/stats")
def stats() -> Response:
    return jsonify(runtime().stats.snapshot())


@bp.post("/stats/reset")
def stats_reset() -> Response:
    runtime().stats.reset()
    return jsonify(runtime().stats.snapshot())


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    """Read or change ticket and session lifetimes and the validation timeout (seconds)."""
    rt = runtime()
    if request.method == "POST":
        try:
            rt.settings.update(_json_body())
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
    return jsonify(rt.settings.as_dict())


@bp.route("/clock", methods=["GET", "POST"])
def clock() -> Response:
    """Read or move the sandbox clock."""
    rt = runtime()
    if request.method == "POST":
        try:
            body = _json_body()
            if body.get("reset"):
                rt.clock.reset()
            advance = body.get("advance_s", 0)
            if isinstance(advance, bool) or not isinstance(advance, (int, float)):
                raise ValueError("advance_s must be a number")
            rt.clock.advance(float(advance))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
    return jsonify({"offset_s": rt.clock.offset, "now": rt.clock.now()})
