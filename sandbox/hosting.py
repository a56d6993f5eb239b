"""The hosting console (``hebergement.index-education.net``) on its own HTTPS listener.

The listener demands a client certificate signed by the sandbox CA (see
:func:`sandbox.tls.hosting_ssl_context`); the certificate is the identity, so
there is no login. Screens (docs/pronote-net-screens.md): "Mes bases", a
base's page (publish / stop publishing), "Déléguer l'authentification" and
"Paramètres de publication". Every form carries a hidden ``jeton`` derived
from the client certificate and the sandbox's control token; a POST without
it answers 403.

Only the ``hosting_fail_next`` fault applies here (the error rate and
latency of the ENT do not).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, Response, current_app, make_response, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from sandbox import db, logs, pronote_net, refdata
from sandbox.pronote_net import AUTRE, DELEGATIONS, ESPACES, PAGE_ESPACES, Base, BaseError
from sandbox.runtime import Runtime
from sandbox.security import same
from sandbox.state import StateDir, control_token
from sandbox.web import get_db, init_app, page, runtime, variant

PUBLISHED_REFUSED = "La base est publiée : arrêtez la publication pour modifier ces paramètres."
LAYOUT = "hosting_base.html"


def _jeton() -> str:
    """The CSRF token of this client: HMAC of its certificate under the control token."""
    cert = request.environ.get("SSL_CLIENT_CERT", "")
    key = current_app.config["SANDBOX_TOKEN"].encode("utf-8")
    return hmac.new(key, cert.encode("ascii", "replace"), hashlib.sha256).hexdigest()[:40]


def _main_url() -> str:
    return current_app.config.get("SANDBOX_MAIN_URL") or "https://127.0.0.1:8443/"


def _base(uai: str) -> Base | None:
    return pronote_net.load_base(get_db(), uai)


def _unknown(uai: str) -> Response:
    return page(404, f"Base inconnue : {uai}", layout=LAYOUT)


def _check_post(action: str) -> Response | None:
    """403 without the right ``jeton``; 500 (once) when the fault is set for ``action``."""
    if not same(request.form.get("jeton"), _jeton()):
        return page(403, "Jeton de formulaire absent ou invalide : rechargez la page.", layout=LAYOUT)
    if runtime().faults.take_hosting_fail(action):
        runtime().stats.count_fault("hosting_fail_next")
        logs.injected_fault(f"hosting_fail_next ({action})")
        return page(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.", layout=LAYOUT)
    return None


def _render(template: str, status: int = 200, **context: Any) -> Response:
    base = context.get("base")
    slug = None
    if base is not None:
        row = get_db().execute("SELECT slug FROM projects WHERE id = ?", (base.etab["project_id"],)).fetchone()
        slug = row["slug"] if row else None
    return make_response(render_template(template, jeton=_jeton(), variant=lambda name: variant(name, slug),
                                         **context), status)


def bases() -> Response:
    """"Mes bases"."""
    return _render("hosting_bases.html", bases=pronote_net.all_bases(get_db()))


def base_page(uai: str) -> Response:
    base = _base(uai)
    if base is None:
        return _unknown(uai)
    return _render("hosting_base_page.html", base=base)


def _publish(uai: str, action: str, published: bool) -> Response:
    base = _base(uai)
    if base is None:
        return _unknown(uai)
    refused = _check_post(action)
    if refused is not None:
        return refused
    pronote_net.set_published(get_db(), base, published)
    return redirect(f"/bases/{base.uai.lower()}/", 303)


def publier(uai: str) -> Response:
    return _publish(uai, "publier", True)


def arreter(uai: str) -> Response:
    return _publish(uai, "arreter", False)


# ---------------------------------------------------------------- delegation

def _projects() -> list[tuple[str, str, str]]:
    """(value, label, CAS URL) of the "Projet ENT" choices, "Autre" first."""
    served = pronote_net.served_slugs(get_db())
    return [(AUTRE, "Autre", "")] + [(p.slug, p.name, pronote_net.project_cas_url(p.slug, served, _main_url()))
                                     for p in refdata.PROJECTS]


def _delegation_values(base: Base) -> dict[str, Any]:
    served = pronote_net.served_slugs(get_db())
    values: dict[str, Any] = {"cas_actif": base.cas_actif, "projet": base.cas_project or AUTRE,
                              "cas_url": pronote_net.configured_cas_url(base, served, _main_url())}
    for espace in PAGE_ESPACES:
        values[f"delegation_{espace.key}"] = base.delegation(espace)
    return values


def _delegation_form(base: Base, values: dict[str, Any], error: str | None = None, status: int = 200) -> Response:
    return _render("hosting_delegation.html", status, base=base, values=values, error=error,
                   projects=_projects(), espaces=PAGE_ESPACES, choices=DELEGATIONS)


def delegation(uai: str) -> Response:
    base = _base(uai)
    if base is None:
        return _unknown(uai)
    if request.method == "GET":
        return _delegation_form(base, _delegation_values(base))
    refused = _check_post("enregistrer")
    if refused is not None:
        return refused
    form = request.form
    values: dict[str, Any] = {"cas_actif": form.get("cas_actif") in ("1", "on", "true"),
                              "projet": form.get("projet", ""), "cas_url": form.get("cas_url", "").strip()}
    for espace in PAGE_ESPACES:
        values[f"delegation_{espace.key}"] = form.get(f"delegation_{espace.key}", "")
    if base.published:
        return _delegation_form(base, values, PUBLISHED_REFUSED, 409)
    try:
        project, url, delegations = _check_delegation(values)
    except BaseError as exc:
        return _delegation_form(base, values, str(exc), 400)
    pronote_net.save_delegation(get_db(), base, values["cas_actif"], project, url, delegations)
    return redirect(f"/bases/{base.uai.lower()}/", 303)


def _check_delegation(values: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(cas_project, cas_url, delegations) to store; raise BaseError on a bad value."""
    projet = values["projet"]
    if projet != AUTRE and projet not in refdata.PROJECTS_BY_SLUG:
        raise BaseError(f"Choix invalide pour « Projet ENT » : « {projet} ».")
    delegations = {}
    for espace in PAGE_ESPACES:
        choice = values[f"delegation_{espace.key}"]
        if choice not in DELEGATIONS:
            raise BaseError(f"Choix invalide pour « Délégation {espace.name} » : « {choice} ».")
        delegations[espace.key] = choice
    if projet != AUTRE:
        return projet, "", delegations  # the project's URL wins over what was typed
    url = values["cas_url"]
    if url or values["cas_actif"]:
        url = pronote_net.check_https_url(url)
    return "", url, delegations


# ---------------------------------------------------------------- publication

def _publication_form(base: Base, values: dict[str, Any], error: str | None = None, status: int = 200) -> Response:
    return _render("hosting_publication.html", status, base=base, values=values, error=error, espaces=ESPACES)


def publication(uai: str) -> Response:
    base = _base(uai)
    if base is None:
        return _unknown(uai)
    if request.method == "GET":
        values = {"racine": base.racine, **{f"publier_{e.key}": base.espace_published(e) for e in ESPACES}}
        return _publication_form(base, values)
    refused = _check_post("enregistrer")
    if refused is not None:
        return refused
    form = request.form
    values = {"racine": form.get("racine", ""),
              **{f"publier_{e.key}": form.get(f"publier_{e.key}") in ("1", "on", "true") for e in ESPACES}}
    if base.published:
        return _publication_form(base, values, PUBLISHED_REFUSED, 409)
    try:
        racine = pronote_net.check_racine(values["racine"])
    except BaseError as exc:
        return _publication_form(base, values, str(exc), 400)
    pronote_net.save_publication(get_db(), base, racine, {e.key: values[f"publier_{e.key}"] for e in ESPACES})
    return redirect(f"/bases/{base.uai.lower()}/", 303)


# ---------------------------------------------------------------- the application

def _after(response: Response) -> Response:
    runtime().stats.count_request("hosting", request.endpoint or "none", response.status_code)
    return response


def _http_error(exc: HTTPException) -> Response:
    messages = {404: "La page demandée n'existe pas.", 405: "Méthode non autorisée pour cette adresse."}
    return page(exc.code or 500, messages.get(exc.code or 500, exc.description or "Erreur"), layout=LAYOUT)


def _server_error(exc: Exception) -> Response:
    logs.server_error(exc)
    return page(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.", layout=LAYOUT)


def create_hosting_app(sd: StateDir, rt: Runtime, main_url: str) -> Flask:
    """The hosting console for state directory ``sd``; ``main_url`` is the main listener's."""
    db.migrate(sd.db)
    app = Flask(__name__)
    app.config.update(SANDBOX_STATE=sd, SANDBOX_TOKEN=control_token(sd), SANDBOX_MAIN_URL=main_url,
                      MAX_CONTENT_LENGTH=256 * 1024)
    app.extensions["sandbox_runtime"] = rt
    init_app(app)
    app.after_request(_after)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    app.add_url_rule("/", "bases", bases)
    app.add_url_rule("/bases/<uai>/", "base", base_page)
    app.add_url_rule("/bases/<uai>/publier", "publier", publier, methods=["POST"])
    app.add_url_rule("/bases/<uai>/arreter", "arreter", arreter, methods=["POST"])
    app.add_url_rule("/bases/<uai>/delegation", "delegation", delegation, methods=["GET", "POST"])
    app.add_url_rule("/bases/<uai>/publication", "publication", publication, methods=["GET", "POST"])
    return app
