"""The sign-on check: a test account clicks the PRONOTE tile and must land in its espace.

For each test account: sign in at the ENT's CAS, open the PRONOTE espace of
the account's profile as the tile does, follow the redirects, and confirm
the landing page is that espace, for that person. A failure is classified
with the causes of the support FAQ, each with a stable code, what is wrong
and what to do, in French (the ops team's words). Tickets and passwords
never appear in what this returns.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from urllib.parse import urljoin

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    STEP_LOGIN_PAGE,
    STEP_POST,
    CasHttpError,
    NoLocalAccountsError,
    open_login_page,
    redact_tickets,
    sign_in,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AuthenticationError,
    NotFoundError,
    TLSError,
    TransientError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._engine import pause
from ansible_collections.ent.pronote.plugins.module_utils._html import parse_response, text_of
from ansible_collections.ent.pronote.plugins.module_utils._http import (
    RETRY_STATUSES,
    HttpSettings,
    new_session,
    request,
)
from ansible_collections.ent.pronote.plugins.module_utils._matching import normalise
from ansible_collections.ent.pronote.plugins.module_utils._projects import same_cas
from ansible_collections.ent.pronote.plugins.module_utils._pronote import SCREENS as PRONOTE_SCREENS
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    ESPACE_OF_PROFILE,
    Espace,
    PronoteInfo,
    espace_url,
    fetch_info,
)

#: the texts of PRONOTE.net's pages the check recognises (_pronote.SCREENS, docs/pronote-net-screens.md)
NO_ATTRIBUTE, TICKET_REFUSED, NO_ACCESS, IDENTIFICATION_IMPOSSIBLE, ESPACE_UNAVAILABLE = (
    PRONOTE_SCREENS["espace"].texts[key]
    for key in ("no_attribute", "ticket_refused", "no_access", "identification_impossible", "unavailable"))
#: the <CODE> of a validation that got no answer from the CAS (PRONOTE.net could not reach it)
NO_CAS_ANSWER = "(NETWORK_ERROR)"

#: code -> (what is wrong, what to do); {espace}, {cas_url}, {expected} are filled in
CAUSES: dict[str, tuple[str, str]] = {
    "base_introuvable": (
        "Aucune base PRONOTE.net ne répond à l'adresse {url}.",
        "Vérifier l'adresse de la base et, dans la console d'hébergement, « Paramètres de publication » : "
        "la racine doit être « Pronote »."),
    "base_non_publiee": (
        "La base PRONOTE.net n'est pas publiée : personne ne peut s'y connecter.",
        "Console d'hébergement : « Publier la base »."),
    "cas_inactif": (
        "PRONOTE.net ne délègue pas l'authentification au CAS.",
        "Console d'hébergement, « Déléguer l'authentification » : cocher « Définir une délégation CAS » et "
        "choisir le projet ENT (« Arrêter la publication » d'abord, puis « Publier la base »)."),
    "url_cas": (
        "PRONOTE.net délègue l'authentification à {cas_url}, pas au CAS de l'ENT ({expected}).",
        "Console d'hébergement, « Déléguer l'authentification » : choisir le projet ENT de l'établissement "
        "(« Arrêter la publication » d'abord, puis « Publier la base »)."),
    "espace_non_publie": (
        "L'{espace} n'est pas publié : tous les utilisateurs de ce profil échouent.",
        "Console d'hébergement : publier l'{espace}."),
    "espace_sans_delegation": (
        "L'{espace} n'est pas délégué au CAS : ses utilisateurs doivent saisir un mot de passe PRONOTE.",
        "Console d'hébergement, « Choix de la délégation en fonction de l'espace » : CAS pour l'{espace}."),
    "compte_test": (
        "Le CAS de l'ENT refuse le compte de test.",
        "Vérifier l'identifiant et le mot de passe du compte de test dans l'inventaire (vault)."),
    "cas_sans_comptes_locaux": (
        "Le CAS de l'ENT ne mène pas à son formulaire de connexion des comptes de l'ENT : sa page de choix du "
        "profil ne propose que ÉduConnect ou les agents (connexions d'un autre fournisseur d'identité), ou la "
        "source indiquée dans ent_cas_selection n'est pas celle des comptes de l'ENT.",
        "Un compte de test doit être un compte local de l'ENT : indiquer dans ent_cas_selection le code de la "
        "source « compte de l'ENT » du CAS (paramètre selection de son adresse, ex. TOULO-ENT_parent_eleve), "
        "ou demander au projet ENT de la proposer."),
    "sans_idpronote": (
        "Échec de l'authentification par le serveur CAS : aucun attribut « idPronote » n'a été renvoyé. "
        "Ce compte n'a pas d'identifiant PRONOTE dans l'ENT pour cet établissement.",
        "Importer les identifiants PRONOTE dans l'ENT (« Administration > Importer les identifiants Pronote ») "
        "et rapprocher ce compte ; vérifier aussi que la racine de publication est « Pronote »."),
    "cas_erreur_http": (
        "Le CAS de l'ENT a répondu par une erreur HTTP {status} à l'étape « {etape} » ({url}) : la connexion "
        "du compte de test n'a pas pu aboutir.",
        "Ouvrir {url} dans un navigateur avec ce compte et lire le message ; si le CAS refuse aussi le "
        "navigateur, le signaler à l'exploitant du CAS de l'ENT."),
    "identification_impossible": (
        "« Identification impossible » : PRONOTE ne trouve pas le compte de cet identifiant, ou ce compte est "
        "déjà lié à un autre identifiant CAS (doublon, identifiant ENT changé).",
        "Dans PRONOTE, corriger nom, prénom et date de naissance pour qu'ils correspondent à l'ENT, ou saisir "
        "l'identifiant ENT dans « Identifiant CAS » ; pour un doublon ou un identifiant ENT changé, "
        "« Supprimer l'identifiant CAS (ENT) » puis réessayer."),
    "acces_espace_refuse": (
        "PRONOTE refuse l'{espace} à ce compte (pour un parent : « Accès à l'Espace Parents » non coché).",
        "Dans PRONOTE, cocher « Accès à l'Espace Parents » sur la fiche du responsable, ou vérifier le profil "
        "du compte de test."),
    "ticket_invalide": (
        "Le CAS a refusé le ticket que PRONOTE.net lui a présenté (ticket inconnu de ce CAS, déjà utilisé, expiré, "
        "ou délivré pour une autre adresse).",
        "Vérifier que l'URL CAS de PRONOTE.net est exactement celle du projet ENT (console d'hébergement, "
        "« Déléguer l'authentification ») et que l'URL du service PRONOTE dans l'ENT est l'adresse de la base."),
    "cas_injoignable": (
        "PRONOTE.net n'a pas pu faire valider le ticket par le CAS de l'ENT : pas de réponse du CAS (serveur "
        "injoignable depuis PRONOTE.net, certificat refusé, délai dépassé, ou réponse qui n'est pas celle d'un "
        "CAS).",
        "Réessayer plus tard ; si cela dure, signaler à l'éditeur de l'ENT que PRONOTE.net ne joint pas "
        "l'adresse de validation du CAS (…/p3/serviceValidate : pare-feu, certificat TLS du CAS)."),
    "mauvaise_personne": (
        "Connecté à l'{espace}, mais pas en tant que la personne attendue : l'identifiant PRONOTE importé pour "
        "ce compte est celui d'une autre personne.",
        "Corriger tout de suite le rapprochement de ce compte dans l'ENT (rapport d'import) : une autre "
        "personne voit ces données."),
    "tls": (
        "Le certificat TLS de PRONOTE.net ou du CAS n'a pas pu être vérifié.",
        "Donner l'autorité de certification avec ca_path, ou corriger le certificat du serveur."),
    "reseau": (
        "PRONOTE.net ou le CAS ne répond pas.",
        "Réessayer plus tard ; vérifier le réseau."),
    "page_inattendue": (
        "La connexion n'a pas abouti à l'{espace} et la page obtenue n'est pas une erreur connue.",
        "Ouvrir l'{espace} depuis l'ENT avec ce compte et lire le message."),
}
_TICKET = re.compile(r"(?i)(ticket=)[^&\s'\"]+")
#: the steps of a CAS sign-in (_cas.STEP_*), as the ops team reads them
CAS_STEPS = {
    STEP_LOGIN_PAGE: "ouverture de la page de connexion",
    STEP_POST: "envoi de l'identifiant et du mot de passe",
}


@dataclass
class Check:
    profile: str
    espace: str
    ok: bool
    code: str = "ok"
    cause: str = ""
    fix: str = ""
    #: what went wrong, technically (the error of the last attempt, tickets removed); "" when the page said it
    detail: str = ""

    def as_result(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SsoAccount:
    profile: str
    login: str
    password: str
    name: str | None = None


def scrub(text: str) -> str:
    """``text`` without any CAS ticket."""
    return _TICKET.sub(r"\1…", text)


def _failed(account: SsoAccount, espace: Espace, code: str, error: Exception | None = None, **values: str) -> Check:
    cause, fix = CAUSES[code]
    fill = {"espace": espace.name, **values}
    return Check(account.profile, espace.name, False, code, scrub(cause.format(**fill)), scrub(fix.format(**fill)),
                 scrub(redact_tickets(str(error))) if error is not None else "")


def accounts_from(options: list[dict]) -> list[SsoAccount]:
    """The test accounts of a module's options; an unknown profile is refused before any request."""
    accounts = [SsoAccount(a["profile"], a["login"], a["password"], a.get("name")) for a in options]
    for account in accounts:
        espace_of(account.profile)
    return accounts


def espace_of(profile: str) -> Espace:
    espace = ESPACE_OF_PROFILE.get(profile)
    if espace is None:
        raise ValidationError(f"No PRONOTE espace for the profile '{profile}' "
                              f"(profiles: {', '.join(ESPACE_OF_PROFILE)}).")
    return espace


def check_base(info: PronoteInfo, expected_cas: str, account: SsoAccount) -> Check | None:
    """What ``infoMobileApp.json`` already says is wrong for this account, without signing in."""
    espace = espace_of(account.profile)
    if not info.published:
        return _failed(account, espace, "base_non_publiee")
    if not info.cas_active:
        return _failed(account, espace, "cas_inactif")
    if not same_cas(info.cas_url, expected_cas):
        return _failed(account, espace, "url_cas", cas_url=info.cas_url, expected=expected_cas)
    if espace.name not in info.espaces:
        return _failed(account, espace, "espace_non_publie")
    if not info.espaces[espace.name]:
        return _failed(account, espace, "espace_sans_delegation")
    return None


def sign_on(http: HttpSettings, base: str, expected_cas: str, account: SsoAccount,
            cas_selection: str | None = None) -> Check:
    """One test account through the CAS into its espace, in a fresh browser session.

    ``cas_selection``: the CAS's identity source of the ENT's own accounts
    (K-d'école ``selection``), added to the CAS login address PRONOTE.net
    sends the browser to; without it, the CAS's selection page is followed to
    the local accounts' source.

    A failure that may pass is tried again from the start: a new browser
    session, a new sign-in, a new ticket. A server error or a timeout (ours to
    see) is tried again for at least ``http.retries`` times and as long as
    ``http.retry_time`` lasts, as every read is; a CAS that PRONOTE.net could
    not reach (``cas_injoignable``, which may also be a lasting fault of its
    settings) ``http.retries`` times. A URL carrying a ticket is never sent
    twice (``_cas.sign_in``), so ``ticket_invalide`` only ever means that
    PRONOTE.net got a fresh ticket refused.
    """
    espace = espace_of(account.profile)
    url = espace_url(base, espace)
    attempts = max(1, http.retries + 1)
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        check, again = _attempt(http, url, expected_cas, account, espace, cas_selection)
        within_budget = again == BUDGET and time.monotonic() - started < http.retry_time
        if again is None or not (attempt < attempts or within_budget):
            return check
        pause(BACKOFF, min(attempt, 4))


#: the pause before trying a sign-on again (doubled each time, jitter, at most 3 s: ``_engine.pause``)
BACKOFF = 0.5
#: how a failed sign-on may be tried again: while the time budget lasts, or a number of times
BUDGET, COUNT = "budget", "count"


def _attempt(http: HttpSettings, url: str, expected_cas: str, account: SsoAccount, espace: Espace,
             cas_selection: str | None) -> tuple[Check, str | None]:
    """One sign-on, and how it may be tried again (None: its failure is a verdict)."""
    try:
        with new_session(http) as session:
            check = _sign_on(session, http, url, expected_cas, account, espace, cas_selection)
        return check, COUNT if check.code == "cas_injoignable" else None
    except NoLocalAccountsError as exc:
        return _failed(account, espace, "cas_sans_comptes_locaux", exc), None
    except AuthenticationError as exc:
        return _failed(account, espace, "compte_test", exc), None
    except CasHttpError as exc:
        return _failed(account, espace, "cas_erreur_http", exc, status=str(exc.status),
                       etape=CAS_STEPS.get(exc.step, exc.step), url=exc.url.split("?")[0]), \
            BUDGET if exc.transient else None
    except TLSError as exc:
        return _failed(account, espace, "tls", exc), None
    except TransientError as exc:
        return _failed(account, espace, "reseau", exc), BUDGET
    except UnexpectedPageError as exc:
        return _failed(account, espace, "page_inattendue", exc), None


def _sign_on(session: requests.Session, http: HttpSettings, url: str, expected_cas: str, account: SsoAccount,
             espace: Espace, cas_selection: str | None = None) -> Check:
    what = f"open the {espace.name} of {url}"
    first = request(session, http, "GET", url, what, accept=(503,), allow_redirects=False)
    if first.status_code in (301, 302, 303):
        location = urljoin(url, first.headers.get("Location", ""))
        cas_login = urljoin(expected_cas.rstrip("/") + "/", "login")
        if not location.startswith(cas_login + "?") and not location == cas_login:
            target = location.split("?")[0]
            return _failed(account, espace, "url_cas", cas_url=target.rsplit("/login", 1)[0], expected=expected_cas)
        page = open_login_page(session, http, location, cas_selection)
        landing = sign_in(session, http, page, account.login, account.password)
    else:
        landing = first
    if landing.status_code in RETRY_STATUSES and landing.status_code != 503:
        # PRONOTE.net failed while it took the ticket: not a verdict on the settings (503: not published).
        raise TransientError(f"Could not {what}: HTTP {landing.status_code} after the CAS.")
    return classify(landing, account, espace)


def classify(response: requests.Response, account: SsoAccount, espace: Espace) -> Check:
    """What the page a sign-on ends on says."""
    if response.status_code == 503:
        return _failed(account, espace, "base_non_publiee")
    doc = parse_response(response) if response.content else None
    if doc is None:
        return _failed(account, espace, "page_inattendue")
    text = " ".join(doc.text_content().split())
    if response.status_code == 404:
        return _failed(account, espace, "espace_non_publie" if ESPACE_UNAVAILABLE in text else "base_introuvable",
                       url=scrub(response.url.split("?")[0]))
    heading = _first(doc, "//h1")
    if heading == IDENTIFICATION_IMPOSSIBLE:
        return _failed(account, espace, "identification_impossible")
    error = _first(doc, "//*[@id='erreur']")
    if NO_ATTRIBUTE in error:
        return _failed(account, espace, "sans_idpronote")
    if TICKET_REFUSED in error:
        return _failed(account, espace, "cas_injoignable" if NO_CAS_ANSWER in error else "ticket_invalide")
    if NO_ACCESS in error or NO_ACCESS in text:
        return _failed(account, espace, "acces_espace_refuse")
    user = doc.xpath("//*[@id='utilisateur']")
    if heading == espace.name and user:
        if account.name and normalise(text_of(user[0])) != normalise(account.name):
            return _failed(account, espace, "mauvaise_personne")
        return Check(account.profile, espace.name, True)
    return _failed(account, espace, "page_inattendue")


def _first(doc: lxml.html.HtmlElement, xpath: str) -> str:
    found = doc.xpath(xpath)
    return text_of(found[0]) if found else ""


def check_etablissement(http: HttpSettings, base: str, expected_cas: str, accounts: list[SsoAccount],
                        info: PronoteInfo | None = None,
                        cas_selection: str | None = None) -> tuple[PronoteInfo | None, list[Check]]:
    """Every test account of one établissement; the base's public facts are read once (not at all when the
    caller already read them: ``info``). ``cas_selection``: see :func:`sign_on`."""
    try:
        if info is None:
            info = fetch_info(http, base, http.retries + 1)
    except NotFoundError:
        return None, [_failed(a, espace_of(a.profile), "base_introuvable", url=base) for a in accounts]
    except TLSError as exc:
        return None, [_failed(a, espace_of(a.profile), "tls", exc) for a in accounts]
    except TransientError as exc:
        return None, [_failed(a, espace_of(a.profile), "reseau", exc) for a in accounts]
    except UnexpectedPageError as exc:
        return None, [_failed(a, espace_of(a.profile), "page_inattendue", exc) for a in accounts]
    checks = []
    for account in accounts:
        checks.append(check_base(info, expected_cas, account)
                      or sign_on(http, base, expected_cas, account, cas_selection))
    return info, checks
