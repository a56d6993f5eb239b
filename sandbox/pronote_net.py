"""PRONOTE.net: one base per établissement, served on the main listener.

``/index-education/<uai>/<racine>/`` (docs/pronote-net-screens.md):
``infoMobileApp.json``, the Page commune, the espace pages that delegate to
CAS, ``?login=true``, "Identification impossible", the ``PRONOTE_SESSION``
cookie. A ticket is validated as a real PRONOTE.net does: over HTTPS at
``<casURL>/p3/serviceValidate`` of the CAS the delegation names, whichever it
is (:mod:`sandbox.cas_client`; the sandbox's own CAS is reached through its
listener like any other), trusting the sandbox's CA and the ``--trust-ca``
files. No CAS answer (unreachable, TLS, timeout, HTTP error, not CAS XML, an
address off loopback) is the network error ``NETWORK_ERROR``. No write
transaction is open while the CAS is called: it writes to the same database.

The base settings (table ``pronote_net``, espaces in ``pronote_net_espaces``)
are changed by the hosting console (:mod:`sandbox.hosting`), the seed and
``python -m sandbox pronote-base``. ``cas_project`` holds the slug of the
chosen "Projet ENT" ('' for "Autre", whose URL is ``cas_url``): a project the
sandbox serves resolves to its own CAS, ``https://127.0.0.1:<port>/<slug>/cas``,
whatever the port of this run; another project to the vendor's URL.
"""

from __future__ import annotations

import re
import sqlite3
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, jsonify, make_response, redirect, render_template, request

from sandbox import cas_client, db, refdata
from sandbox.security import is_loopback, token
from sandbox.web import get_db, now, runtime, state

MOBILE_APP_ID = "0D264427-EEFC-4810-A9E9-346942A862A4"
SESSION_COOKIE = "PRONOTE_SESSION"
NOT_PUBLISHED = "Le site PRONOTE.net de cet établissement n'est pas publié."
ESPACE_UNAVAILABLE = "Cet espace n'est pas disponible."
NO_ACCESS = "Vous n'avez pas accès à cet espace."
NO_ID_PRONOTE = ('Le serveur CAS doit être configuré pour renvoyer un attribut "idPronote".'
                 " Or aucun attribut n'a été renvoyé.")
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
#: The <CODE> of a validation that got no CAS answer (unreachable, TLS, timeout, HTTP error, not CAS XML).
NETWORK_ERROR = "NETWORK_ERROR"
DELEGATIONS: tuple[str, ...] = ("CAS", "Ws-Federation", "Aucune")
DEFAULT_RACINE = "Pronote"
RACINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VERSION_RE = re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,3})$")
AUTRE = "autre"
_CONTEXT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Espace:
    """One espace of a base: key (storage, CLI), screen name, page, account category."""

    key: str
    name: str
    page: str
    category: str | None
    default_published: bool


#: The espaces in screen order; ``category`` is ``pronote_accounts.category``.
ESPACES: tuple[Espace, ...] = (
    Espace("commune", "Page commune", "", None, True),
    Espace("professeur", "Espace Professeurs", "professeur.html", "Professeur", True),
    Espace("viescolaire", "Espace Vie scolaire", "viescolaire.html", "Personnel", True),
    Espace("direction", "Espace Direction", "direction.html", "Personnel", True),
    Espace("parent", "Espace Parents", "parent.html", "Responsable", True),
    Espace("accompagnant", "Espace Accompagnant", "accompagnant.html", None, False),
    Espace("eleve", "Espace Elèves", "eleve.html", "Eleve", True),
    Espace("entreprise", "Espace Entreprise", "entreprise.html", "MaitreDeStage", False),
    Espace("academie", "Espace Académie", "academie.html", "InspecteurPedagogique", False),
)
ESPACE_BY_KEY: dict[str, Espace] = {e.key: e for e in ESPACES}
ESPACE_BY_PAGE: dict[str, Espace] = {e.page: e for e in ESPACES if e.page}
#: The espaces that have a page (everything but the Page commune).
PAGE_ESPACES: tuple[Espace, ...] = tuple(e for e in ESPACES if e.page)


class BaseError(ValueError):
    """A setting of a base is refused (French message)."""


def find_espace(name: str) -> Espace:
    """The espace named ``name``: its screen name (any case), key or page."""
    wanted = name.strip().lower()
    for espace in ESPACES:
        if wanted in (espace.name.lower(), espace.key, espace.page):
            return espace
    raise BaseError(f"espace inconnu : {name} (connus : {', '.join(e.name for e in ESPACES)})")


@dataclass
class Base:
    """A PRONOTE.net base and its établissement."""

    etab: sqlite3.Row
    version: str
    published: bool
    racine: str
    cas_actif: bool
    cas_project: str
    cas_url: str
    espaces: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def uai(self) -> str:
        return str(self.etab["uai"])

    @property
    def path(self) -> str:
        """``/index-education/<uai>/<racine>/`` in lower case."""
        return f"/index-education/{self.uai.lower()}/{self.racine.lower()}/"

    def version_tuple(self) -> list[int]:
        return [int(part) for part in self.version.split(".")]

    def espace_published(self, espace: Espace) -> bool:
        return self.espaces.get(espace.key, (False, "Aucune"))[0]

    def delegation(self, espace: Espace) -> str:
        return self.espaces.get(espace.key, (False, "Aucune"))[1]


def load_base(conn: sqlite3.Connection, uai: str) -> Base | None:
    """The base of ``uai`` (any case), or None (unknown UAI or no base)."""
    row = conn.execute(
        "SELECT b.*, e.uai, e.name, e.project_id FROM pronote_net b JOIN etabs e ON e.id = b.etab_id"
        " WHERE e.uai = ?", (uai.strip().upper(),)).fetchone()
    if row is None:
        return None
    etab = conn.execute("SELECT * FROM etabs WHERE id = ?", (row["etab_id"],)).fetchone()
    base = Base(etab, row["version"], bool(row["published"]), row["racine"], bool(row["cas_actif"]),
                row["cas_project"], row["cas_url"])
    for r in conn.execute("SELECT espace, published, delegation FROM pronote_net_espaces WHERE etab_id = ?",
                          (row["etab_id"],)):
        base.espaces[r["espace"]] = (bool(r["published"]), r["delegation"])
    return base


def all_bases(conn: sqlite3.Connection) -> list[Base]:
    """Every base, by project then établissement (the seed's order)."""
    uais = [r[0] for r in conn.execute(
        "SELECT e.uai FROM pronote_net b JOIN etabs e ON e.id = b.etab_id ORDER BY e.project_id, e.id")]
    return [b for b in (load_base(conn, uai) for uai in uais) if b is not None]


def served_slugs(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT slug FROM projects ORDER BY id")]


def own_cas_url(main_url: str, slug: str) -> str:
    """The sandbox's CAS of project ``slug`` behind ``main_url`` (``https://127.0.0.1:<port>/``)."""
    return main_url.rstrip("/") + f"/{slug}/cas"


def project_cas_url(slug: str, served: list[str], main_url: str) -> str:
    """What choosing project ``slug`` fills in: the sandbox's own CAS, or the vendor's URL."""
    if slug in served:
        return own_cas_url(main_url, slug)
    return refdata.PROJECTS_BY_SLUG[slug].real_cas_url


def cas_url_of(base: Base, served: list[str], main_url: str) -> str:
    """The base's ``casURL`` ('' when CAS is off)."""
    if not base.cas_actif:
        return ""
    return configured_cas_url(base, served, main_url)


def configured_cas_url(base: Base, served: list[str], main_url: str) -> str:
    """The URL in the settings, whether CAS is on or off."""
    if base.cas_project:
        return project_cas_url(base.cas_project, served, main_url)
    return base.cas_url



def loopback_cas_slug(url: str, served: list[str], port: int | None = None) -> str | None:
    """The project whose sandbox CAS ``url`` names (``https://<loopback>:<port>/<slug>/cas``), or None.

    With ``port``, the URL's port must be that one (the listener answering).
    """
    try:
        parts = urlsplit(url)
        url_port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or not is_loopback(parts.hostname or "") or parts.query or parts.fragment:
        return None
    if port is not None and url_port != port:
        return None
    match = re.fullmatch(r"/([^/]+)/cas/?", parts.path)
    if match and match.group(1) in served:
        return match.group(1)
    return None


def check_https_url(url: str) -> str:
    """``url`` when it is an ``https://`` URL with a host; raise BaseError otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise BaseError("L'URL du serveur CAS doit être une adresse https://.")
    return url


def check_racine(racine: str) -> str:
    racine = racine.strip()
    if not racine:
        raise BaseError("La racine est obligatoire.")
    if not RACINE_RE.match(racine):
        raise BaseError("La racine ne peut contenir que des lettres, des chiffres et « - », « _ », « . ».")
    return racine


def check_version(version: str) -> str:
    match = VERSION_RE.match(version.strip())
    if not match:
        raise BaseError(f"version invalide : {version} (attendu : année.mineure.correctif, ex. 2025.1.3)")
    return ".".join(str(int(part)) for part in match.groups())


# ---------------------------------------------------------------- writes

def set_published(conn: sqlite3.Connection, base: Base, published: bool) -> None:
    with db.write(conn):
        conn.execute("UPDATE pronote_net SET published = ? WHERE etab_id = ?", (int(published), base.etab["id"]))


def save_delegation(conn: sqlite3.Connection, base: Base, cas_actif: bool, cas_project: str, cas_url: str,
                    delegations: dict[str, str]) -> None:
    """Store the "Déléguer l'authentification" settings (already checked)."""
    with db.write(conn):
        conn.execute("UPDATE pronote_net SET cas_actif = ?, cas_project = ?, cas_url = ? WHERE etab_id = ?",
                     (int(cas_actif), cas_project, cas_url, base.etab["id"]))
        conn.executemany("UPDATE pronote_net_espaces SET delegation = ? WHERE etab_id = ? AND espace = ?",
                         [(value, base.etab["id"], key) for key, value in delegations.items()])


def save_publication(conn: sqlite3.Connection, base: Base, racine: str, published: dict[str, bool]) -> None:
    """Store the "Paramètres de publication" settings (already checked)."""
    with db.write(conn):
        conn.execute("UPDATE pronote_net SET racine = ? WHERE etab_id = ?", (racine, base.etab["id"]))
        conn.executemany("UPDATE pronote_net_espaces SET published = ? WHERE etab_id = ? AND espace = ?",
                         [(int(value), base.etab["id"], key) for key, value in published.items()])


@dataclass
class Changes:
    """What ``python -m sandbox pronote-base`` changes (None: unchanged)."""

    version: str | None = None
    published: bool | None = None
    racine: str | None = None
    cas_url: str | None = None
    sans_cas: bool = False
    espaces: list[str] = field(default_factory=list)
    delegations: list[str] = field(default_factory=list)
    acces_parents: list[str] = field(default_factory=list)
    identifiants_cas: list[str] = field(default_factory=list)


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise BaseError(f"{option} attend NOM=VALEUR : {value!r}")
        pairs.append((name.strip(), setting.strip()))
    return pairs


def _on_off(value: str, option: str) -> bool:
    if value.lower() not in ("on", "off"):
        raise BaseError(f"{option} : « on » ou « off » attendu, pas {value!r}")
    return value.lower() == "on"


def apply_changes(conn: sqlite3.Connection, uai: str, changes: Changes) -> Base:
    """Check every change, then apply them all in one transaction; return the base."""
    base = load_base(conn, uai)
    if base is None:
        raise BaseError(f"établissement inconnu : {uai}")
    etab_id = base.etab["id"]
    updates: dict[str, object] = {}
    if changes.version is not None:
        updates["version"] = check_version(changes.version)
    if changes.published is not None:
        updates["published"] = int(changes.published)
    if changes.racine is not None:
        updates["racine"] = check_racine(changes.racine)
    if changes.sans_cas:
        updates["cas_actif"] = 0
    elif changes.cas_url is not None:
        url = check_https_url(changes.cas_url)
        slug = loopback_cas_slug(url, served_slugs(conn))
        updates.update(cas_actif=1, cas_project=slug or "", cas_url="" if slug else url)
    espaces = [(find_espace(n).key, _on_off(v, "--espace")) for n, v in _pairs(changes.espaces, "--espace")]
    delegations = []
    for name, value in _pairs(changes.delegations, "--delegation"):
        espace = find_espace(name)
        if not espace.page:
            raise BaseError("la Page commune n'a pas de délégation")
        if value not in DELEGATIONS:
            raise BaseError(f"--delegation : {value!r} n'est pas l'un de {', '.join(DELEGATIONS)}")
        delegations.append((espace.key, value))
    accounts: list[tuple[str, object, int]] = []
    for option, values in (("--acces-parents", changes.acces_parents), ("--identifiant-cas", changes.identifiants_cas)):
        for ident, value in _pairs(values, option):
            row = conn.execute("SELECT id, category FROM pronote_accounts WHERE etab_id = ? AND ident = ?",
                               (etab_id, ident.upper())).fetchone()
            if row is None:
                raise BaseError(f"{option} : aucun compte {ident} dans la base de {base.uai}")
            if option == "--acces-parents":
                if row["category"] != "Responsable":
                    raise BaseError(f"--acces-parents : {ident} n'est pas un responsable")
                accounts.append(("acces_espace_parents", int(_on_off(value, option)), row["id"]))
            else:
                accounts.append(("identifiant_cas", value.strip("'\"") or None, row["id"]))
    with db.write(conn):
        for column, value in updates.items():
            conn.execute(f"UPDATE pronote_net SET {column} = ? WHERE etab_id = ?", (value, etab_id))  # noqa: S608
        conn.executemany("UPDATE pronote_net_espaces SET published = ? WHERE etab_id = ? AND espace = ?",
                         [(int(on), etab_id, key) for key, on in espaces])
        conn.executemany("UPDATE pronote_net_espaces SET delegation = ? WHERE etab_id = ? AND espace = ?",
                         [(value, etab_id, key) for key, value in delegations])
        for column, value, account_id in accounts:
            conn.execute(f"UPDATE pronote_accounts SET {column} = ? WHERE id = ?", (value, account_id))  # noqa: S608
    reloaded = load_base(conn, uai)
    assert reloaded is not None
    return reloaded


def base_as_dict(conn: sqlite3.Connection, base: Base, main_url: str) -> dict[str, object]:
    """The base as ``pronote-base --show`` prints it."""
    served = served_slugs(conn)
    return {
        "uai": base.uai,
        "etab_name": base.etab["name"],
        "version": base.version,
        "published": base.published,
        "racine": base.racine,
        "url": main_url.rstrip("/") + base.path,
        "cas": {"enabled": base.cas_actif, "project": base.cas_project or "Autre",
                "url": configured_cas_url(base, served, main_url)},
        "espaces": [{"name": e.name, "page": e.page, "published": base.espace_published(e),
                     "delegation": base.delegation(e) if e.page else None} for e in ESPACES],
    }


# ---------------------------------------------------------------- the web site

bp = Blueprint("pronote_net", __name__, url_prefix="/index-education")


def _main_url() -> str:
    return request.host_url


def _html(template: str, status: int = 200, **context: object) -> Response:
    return make_response(render_template(template, **context), status)


def _message(status: int, message: str, title: str, base: Base | None = None) -> Response:
    return _html("pronote_message.html", status, message=message, title=title, base=base)


def _not_found() -> Response:
    return _message(404, "La page demandée n'existe pas.", "Page introuvable")


@bp.route("/<uai>/", defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route("/<uai>/<path:rest>", methods=["GET", "POST"])
def site(uai: str, rest: str) -> Response:
    """Everything under a base: 404 unknown, 503 unpublished, then the racine's pages."""
    conn = get_db()
    base = load_base(conn, uai)
    if base is None:
        return _not_found()
    if not base.published:
        return _message(503, NOT_PUBLISHED, "PRONOTE.net", base)
    racine, slash, page = rest.partition("/")
    if racine.lower() != base.racine.lower():
        return _not_found()
    if not slash:
        return redirect(base.path, 308)
    if page == "infoMobileApp.json":
        return _info_mobile_app(conn, base)
    if page == "":
        espace = ESPACE_BY_KEY["commune"]
    else:
        espace = ESPACE_BY_PAGE.get(page.removeprefix("mobile."))
        if espace is None:
            return _not_found()
    if not base.espace_published(espace):
        return _message(404, ESPACE_UNAVAILABLE, "PRONOTE", base)
    if not espace.page:
        return _html("pronote_commune.html", base=base, espaces=[e for e in PAGE_ESPACES if base.espace_published(e)])
    return _espace(conn, base, espace, page)


def _info_mobile_app(conn: sqlite3.Connection, base: Base) -> Response:
    if request.args.get("id") != MOBILE_APP_ID:
        return _not_found()
    cas_url = cas_url_of(base, served_slugs(conn), _main_url())
    return jsonify({
        "nomEtab": base.etab["name"],
        "version": base.version_tuple(),
        "CAS": {"actif": base.cas_actif, "casURL": cas_url},
        "espaces": [{"nom": e.name, "URL": f"mobile.{e.page}",
                     "avecDelegation": base.cas_actif and base.delegation(e) == "CAS"}
                    for e in PAGE_ESPACES if base.espace_published(e)],
    })


def _session_account(conn: sqlite3.Connection, base: Base, espace: Espace) -> sqlite3.Row | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return conn.execute(
        "SELECT a.* FROM pronote_net_sessions s JOIN pronote_accounts a ON a.id = s.account_id"
        " WHERE s.id = ? AND s.etab_id = ? AND s.espace = ? AND s.expires_at > ?",
        (session_id, base.etab["id"], espace.key, now())).fetchone()


def _espace(conn: sqlite3.Connection, base: Base, espace: Espace, page: str) -> Response:
    account = _session_account(conn, base, espace)
    if account is not None:
        return _html("pronote_espace.html", base=base, espace=espace, account=account)
    cas_url = cas_url_of(base, served_slugs(conn), _main_url())
    if request.method == "POST":  # the direct login form: the sandbox accepts nobody
        return _html("pronote_login.html", base=base, espace=espace, error=BAD_CREDENTIALS)
    if request.args.get("login") == "true" or not cas_url or base.delegation(espace) == "Aucune":
        return _html("pronote_login.html", base=base, espace=espace, error=None)
    service = _main_url().rstrip("/") + base.path + page
    ticket = request.args.get("ticket")
    if not ticket:
        return redirect(cas_url.rstrip("/") + "/login?" + urlencode({"service": service}), 302)
    return _sign_on(conn, base, espace, cas_url, service, ticket)


def _cas_error(cas_url: str, text: str, base: Base, espace: Espace, detail: str = "") -> Response:
    """« Échec de l'authentification par le serveur CAS <casURL> : <text> »; ``detail`` (why no answer
    came, in English) goes in an HTML comment for whoever debugs a test."""
    message = f"Échec de l'authentification par le serveur CAS {cas_url} : {text}"
    return _html("pronote_refus.html", base=base, espace=espace, message=message,
                 detail=detail.replace("--", "- -"))


def _client_context() -> ssl.SSLContext:
    """The TLS context of the validation: the sandbox's CA and the ``--trust-ca`` files (built once)."""
    context = current_app.extensions.get("sandbox_cas_client")
    if context is None:
        with _CONTEXT_LOCK:
            context = current_app.extensions.get("sandbox_cas_client")
            if context is None:
                context = cas_client.client_context([state().ca_cert, *current_app.config["SANDBOX_TRUST_CA"]])
                current_app.extensions["sandbox_cas_client"] = context
    return context


def _validate(conn: sqlite3.Connection, cas_url: str, service: str,
              ticket: str) -> cas_client.Success | cas_client.Refusal | str:
    """The CAS's answer, or why there is none (English, for the log)."""
    # The CAS writes to this database (it consumes the ticket) while this request waits for it.
    if conn.in_transaction:
        raise RuntimeError("a transaction is open while PRONOTE.net calls the CAS")
    try:
        return cas_client.validate(cas_url, service, ticket, _client_context(),
                                   runtime().settings.cas_validation_timeout_s)
    except cas_client.Unreachable as exc:
        current_app.logger.warning("PRONOTE.net: no validation at %s: %s", cas_url, exc)
        return str(exc)


def _sign_on(conn: sqlite3.Connection, base: Base, espace: Espace, cas_url: str, service: str,
             ticket: str) -> Response:
    result = _validate(conn, cas_url, service, ticket)
    if isinstance(result, str):
        return _cas_error(cas_url, f"le ticket n'a pas pu être validé ({NETWORK_ERROR}).", base, espace,
                          detail=result)
    if isinstance(result, cas_client.Refusal):
        return _cas_error(cas_url, f"le ticket n'a pas pu être validé ({result.code}).", base, espace)
    attributes = result.attributes
    ids = result.values("idPronote")
    if not ids:
        return _cas_error(cas_url, NO_ID_PRONOTE, base, espace)
    login = result.user
    candidates = conn.execute(
        f"SELECT * FROM pronote_accounts WHERE etab_id = ? AND ident IN ({', '.join('?' for _ in ids)})"  # noqa: S608
        " ORDER BY id", (base.etab["id"], *ids)).fetchall()
    candidates.sort(key=lambda a: a["category"] != espace.category)
    account = candidates[0] if candidates else None
    if account is None or (account["identifiant_cas"] or "") not in ("", login):
        known = {name: value for name, value in reversed(attributes)}
        return _html("pronote_identification.html", base=base, espace=espace,
                     known=[("nom", "Nom", known.get("nom", "")), ("prenom", "Prénom", known.get("prenom", "")),
                            ("date_naissance", "Date de naissance", ""), ("code_postal", "Code postal", "")])
    if account["category"] != espace.category or (account["category"] == "Responsable"
                                                   and account["acces_espace_parents"] == 0):
        return _html("pronote_refus.html", base=base, espace=espace, message=NO_ACCESS)
    session_id = token("PN-", 32)
    with db.write(conn):
        if not account["identifiant_cas"]:
            conn.execute("UPDATE pronote_accounts SET identifiant_cas = ? WHERE id = ?", (login, account["id"]))
        conn.execute("INSERT INTO pronote_net_sessions (id, etab_id, espace, account_id, expires_at)"
                     " VALUES (?, ?, ?, ?, ?)",
                     (session_id, base.etab["id"], espace.key, account["id"],
                      now() + runtime().settings.session_idle_s))
    response = redirect(service, 302)
    response.set_cookie(SESSION_COOKIE, session_id, path=base.path, secure=True, httponly=True)
    return response
