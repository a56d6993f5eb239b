"""PRONOTE.net: the public side of a base and the hosting console (docs/pronote-net-screens.md).

Everything the product knows about PRONOTE.net's addresses, pages, JSON and
labels lives here:

- :func:`read_info` reads ``infoMobileApp.json``, without any credential:
  version, CAS delegation on/off and its URL, the published espaces;
- :class:`HostingConsole` drives the hosting console (client certificate):
  publication, "Déléguer l'authentification", "Paramètres de publication";
- :func:`espace_url` and the tables of espaces serve the sign-on check.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._engine import retrying
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    NotFoundError,
    ScreenMismatchError,
    TransientError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import (
    Form,
    Screen,
    flash_problems,
    parse_response,
    read_form_element,
    text_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request

#: the fixed id the PRONOTE mobile application asks infoMobileApp.json with
INFO_ID = "0D264427-EEFC-4810-A9E9-346942A862A4"
DEFAULT_RACINE = "Pronote"
PAGE_COMMUNE = "Page commune"


class PublishedMeanwhileError(TransientError):
    """The hosting console refused a setting because the base is published, after this run stopped it."""

    code = "autre_execution"


@dataclass(frozen=True)
class Espace:
    name: str
    page: str
    #: the ENT profile whose users sign on there ("" for none)
    profile: str


#: the espaces of a base, in the console's order (Page commune apart)
ESPACES: tuple[Espace, ...] = (
    Espace("Espace Direction", "direction.html", ""),
    Espace("Espace Professeurs", "professeur.html", "Enseignant"),
    Espace("Espace Vie scolaire", "viescolaire.html", "Personnel"),
    Espace("Espace Parents", "parent.html", "Parent"),
    Espace("Espace Accompagnant", "accompagnant.html", ""),
    Espace("Espace Elèves", "eleve.html", "Elève"),
    Espace("Espace Entreprise", "entreprise.html", "Maître de stage"),
    Espace("Espace Académie", "academie.html", "Inspecteur"),
)
ESPACE_BY_NAME = {e.name: e for e in ESPACES}
#: ENT profile -> the espace its users land in
ESPACE_OF_PROFILE = {e.profile: e for e in ESPACES if e.profile}
DELEGATIONS = ("CAS", "Ws-Federation", "Aucune")

PAGE_COMMUNE_ESPACE = Espace(PAGE_COMMUNE, "", "")

# -- the hosting console: what the product relies on in each screen, verbatim ------
# Read this table against docs/pronote-net-screens.md (tests/unit/test_screens.py
# checks that they agree). When the real console spells a label otherwise, the
# fix is the one line of that label here.
_DELEGATION_OF, _PUBLISH_OF = "Délégation {espace}", "Publier {espace}"
SCREENS: dict[str, Screen] = {
    "bases": Screen(
        "Mes bases", table="bases",
        columns={"uai": "UAI", "name": "Établissement", "version": "Version", "state": "État"}),
    "base": Screen(
        "Page de la base",
        texts={"published": "Publiée", "unpublished": "Non publiée", "stop": "Arrêter la publication",
               "publish": "Publier la base"}),
    "delegation": Screen(
        "Déléguer l'authentification",
        fields={"cas_on": "Définir une délégation CAS", "project": "Projet ENT", "cas_url": "URL du serveur CAS",
                **{e.name: _DELEGATION_OF.format(espace=e.name) for e in ESPACES}},
        options={"project": ("Autre",), **{e.name: DELEGATIONS for e in ESPACES}},
        texts={"delegation": _DELEGATION_OF}),
    "publication": Screen(
        "Paramètres de publication",
        fields={"racine": "Racine",
                **{e.name: _PUBLISH_OF.format(espace=e.name) for e in (PAGE_COMMUNE_ESPACE, *ESPACES)}},
        texts={"publish": _PUBLISH_OF, "refused": "La base est publiée"}),
    # PRONOTE.net itself: the page a sign-on ends on (the sign-on check, _sso.classify, recognises these)
    "espace": Screen(
        "Page d'un espace",
        texts={"no_attribute": 'attribut "idPronote"', "ticket_refused": "n'a pas pu être validé",
               "no_access": "Vous n'avez pas accès à cet espace",
               "identification_impossible": "Identification impossible",
               "unavailable": "Cet espace n'est pas disponible"}),
}
BASES_SCREEN, BASE_SCREEN = SCREENS["bases"], SCREENS["base"]
DELEGATION_SCREEN, PUBLICATION_SCREEN = SCREENS["delegation"], SCREENS["publication"]

# The names the code uses, all taken from the table above.
PUBLISHED, UNPUBLISHED = BASE_SCREEN.texts["published"], BASE_SCREEN.texts["unpublished"]
BUTTON_STOP, BUTTON_PUBLISH = BASE_SCREEN.texts["stop"], BASE_SCREEN.texts["publish"]
LABEL_CAS_ON, LABEL_PROJECT, LABEL_CAS_URL = (DELEGATION_SCREEN.fields[k] for k in ("cas_on", "project", "cas_url"))
LABEL_DELEGATION = DELEGATION_SCREEN.texts["delegation"]
LABEL_RACINE = PUBLICATION_SCREEN.fields["racine"]
LABEL_PUBLISH_ESPACE = PUBLICATION_SCREEN.texts["publish"]
OTHER_PROJECT = DELEGATION_SCREEN.options["project"][0]
PUBLISHED_REFUSAL = PUBLICATION_SCREEN.texts["refused"]


def base_url(uai: str, root: str | None = None, racine: str = DEFAULT_RACINE) -> str:
    """The address of an établissement's base: Index Éducation's hosting, or under ``root`` (a stand-in)."""
    if root:
        return urljoin(root if root.endswith("/") else root + "/", f"{uai.lower()}/{racine.lower()}/")
    return f"https://{uai.lower()}.index-education.net/{racine.lower()}/"


def espace_url(base: str, espace: Espace) -> str:
    return urljoin(base, espace.page)


# --- the public side ------------------------------------------------------------------

@dataclass(frozen=True)
class PronoteInfo:
    """What ``infoMobileApp.json`` says (nothing when the base is not published)."""

    url: str
    published: bool
    name: str = ""
    version: tuple[int, ...] = ()
    cas_active: bool = False
    cas_url: str = ""
    #: published espaces -> delegated to CAS
    espaces: dict[str, bool] = field(default_factory=dict)

    @property
    def block_version(self) -> str | None:
        """The ENT's bloc version for this server ("PRONOTE 2024")."""
        return f"PRONOTE {self.version[0]}" if self.version else None

    def as_result(self) -> dict:
        return {
            "url": self.url, "published": self.published, "name": self.name,
            "version": ".".join(str(n) for n in self.version), "block_version": self.block_version,
            "cas": {"active": self.cas_active, "url": self.cas_url},
            "espaces": [{"name": name, "cas": delegated} for name, delegated in self.espaces.items()],
        }


def read_info(session: requests.Session, http: HttpSettings, url: str) -> PronoteInfo:
    """``infoMobileApp.json`` of the base at ``url``. A base that is not published reads as such."""
    info_url = urljoin(url, "infoMobileApp.json")
    what = f"read {info_url}"
    response = request(session, http, "GET", info_url, what, accept=(503,), params={"id": INFO_ID})
    if response.status_code == 503:
        return PronoteInfo(url, published=False)
    if response.status_code == 404:
        raise NotFoundError(f"Could not {what}: no PRONOTE.net base answers at {url} (HTTP 404). Check the "
                            "address, and the racine in the hosting console's « Paramètres de publication » "
                            f"(it must be « {DEFAULT_RACINE} »).")
    if response.status_code != 200:
        raise UnexpectedPageError(f"Could not {what}: HTTP {response.status_code}.")
    try:
        data = json.loads(response.content)
        cas = data.get("CAS") or {}
        version = tuple(int(n) for n in data.get("version") or ())
        espaces = {str(e["nom"]): bool(e.get("avecDelegation")) for e in data.get("espaces") or ()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UnexpectedPageError(f"Could not {what}: not the JSON of a PRONOTE.net server ({exc}).") from None
    return PronoteInfo(url, True, str(data.get("nomEtab") or ""), version, bool(cas.get("actif")),
                       str(cas.get("casURL") or "") if cas.get("actif") else "", espaces)


def fetch_info(http: HttpSettings, url: str, attempts: int = 1) -> PronoteInfo:
    """:func:`read_info` in a session of its own, read up to ``attempts`` times as the ensure cycle reads
    (``_engine.retrying``: a failure that may pass is read again)."""
    def read() -> PronoteInfo:
        with new_session(http) as session:
            return read_info(session, http, url)

    return retrying(read, attempts)


# --- the hosting console ----------------------------------------------------------------

@dataclass(frozen=True)
class HostingSettings:
    url: str
    http: HttpSettings

    @property
    def base(self) -> str:
        return self.url if self.url.endswith("/") else self.url + "/"


@dataclass
class BaseSettings:
    """What the hosting console holds for one base."""

    published: bool
    cas: bool
    project: str
    cas_url: str
    #: espace -> CAS / Ws-Federation / Aucune
    delegation: dict[str, str]
    racine: str
    #: espace (Page commune included) -> published
    espaces: dict[str, bool]

    def as_result(self) -> dict:
        return {"published": self.published, "cas": self.cas, "project": self.project, "cas_url": self.cas_url,
                "delegation": dict(self.delegation), "racine": self.racine, "espaces": dict(self.espaces)}


@dataclass
class BasePages:
    settings: BaseSettings
    toggle: Form
    delegation: Form
    publication: Form


class HostingConsole:
    """The PRONOTE.net hosting console, driven through its forms."""

    def __init__(self, settings: HostingSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = settings.http
        self.session = session or new_session(settings.http)

    def _page(self, path: str, what: str) -> tuple[lxml.html.HtmlElement, str]:
        url = urljoin(self.settings.base, path)
        response = request(self.session, self.http, "GET", url, what)
        if response.status_code == 404:
            raise NotFoundError(f"Could not {what}: the hosting console has no page {url}.")
        if response.status_code != 200:
            raise UnexpectedPageError(f"Could not {what}: the hosting console answered HTTP {response.status_code}.")
        return parse_response(response), response.url

    def list_bases(self) -> dict[str, dict[str, str]]:
        """UAI -> {name, version, state} of "Mes bases"."""
        doc, url = self._page("", "read the hosting console's list of bases")
        at, rows = BASES_SCREEN.table_texts(doc, url)
        uai, name, version, state = at["uai"], at["name"], at["version"], at["state"]
        return {row[uai].upper(): {"name": row[name], "version": row[version], "state": row[state]} for row in rows}

    def read(self, uai: str) -> BasePages:
        """The base page and its two settings forms."""
        state, toggle = self.read_base_page(uai)
        delegation = self.read_delegation_form(uai)
        publication = self.read_publication_form(uai)
        espaces_delegation = {e.name: delegation.by_label(DELEGATION_SCREEN.fields[e.name]).selected_text()
                              for e in ESPACES}
        espaces = {e.name: publication.by_label(PUBLICATION_SCREEN.fields[e.name]).checked
                   for e in (PAGE_COMMUNE_ESPACE, *ESPACES)}
        settings = BaseSettings(
            published=state == PUBLISHED,
            cas=delegation.by_label(LABEL_CAS_ON).checked,
            project=delegation.by_label(LABEL_PROJECT).selected_text(),
            cas_url=delegation.by_label(LABEL_CAS_URL).value.strip(),
            delegation=espaces_delegation,
            racine=publication.by_label(LABEL_RACINE).value.strip(),
            espaces=espaces,
        )
        return BasePages(settings, toggle, delegation, publication)

    def read_base_page(self, uai: str) -> tuple[str, Form]:
        """The base page: its state (« Publiée » or « Non publiée ») and the form that toggles it."""
        doc, url = self._page(f"bases/{uai.lower()}/", f"read the PRONOTE.net base of {uai} in the hosting console")
        state = text_of(doc.get_element_by_id("etat", None))
        if state not in (PUBLISHED, UNPUBLISHED):
            raise ScreenMismatchError(BASE_SCREEN.title, f"{PUBLISHED} » ou « {UNPUBLISHED}",
                                      [state] if state else [], "état (id etat)", uai)
        return state, _form_with_button(doc, url, BUTTON_STOP if state == PUBLISHED else BUTTON_PUBLISH, uai)

    def read_delegation_form(self, uai: str) -> Form:
        """« Déléguer l'authentification », checked against ``SCREENS``."""
        doc, url = self._page(f"bases/{uai.lower()}/delegation", f"read « Déléguer l'authentification » of {uai}")
        return DELEGATION_SCREEN.check_form(_only_form(doc, url, LABEL_CAS_ON, uai, DELEGATION_SCREEN), uai)

    def read_publication_form(self, uai: str) -> Form:
        """« Paramètres de publication », checked against ``SCREENS``."""
        doc, url = self._page(f"bases/{uai.lower()}/publication", f"read « Paramètres de publication » of {uai}")
        return PUBLICATION_SCREEN.check_form(_only_form(doc, url, LABEL_RACINE, uai, PUBLICATION_SCREEN), uai)

    def projects(self, pages: BasePages) -> list[str]:
        """The ENT projects the delegation form offers."""
        return [text for _value, text in pages.delegation.by_label(LABEL_PROJECT).options]

    def set_published(self, pages: BasePages, published: bool, uai: str) -> None:
        what = f"{'publish' if published else 'stop publishing'} the PRONOTE.net base of {uai}"
        self._post(pages.toggle, what)

    def save_delegation(self, pages: BasePages, wanted: BaseSettings, uai: str) -> None:
        form = pages.delegation
        form.set_checked(LABEL_CAS_ON, wanted.cas)
        form.choose(LABEL_PROJECT, wanted.project or OTHER_PROJECT)
        form.set_text(LABEL_CAS_URL, wanted.cas_url)
        for espace, choice in wanted.delegation.items():
            form.choose(LABEL_DELEGATION.format(espace=espace), choice)
        self._post(form, f"save « Déléguer l'authentification » of {uai}")

    def save_publication(self, pages: BasePages, wanted: BaseSettings, uai: str) -> None:
        form = pages.publication
        form.set_text(LABEL_RACINE, wanted.racine)
        for espace, published in wanted.espaces.items():
            form.set_checked(LABEL_PUBLISH_ESPACE.format(espace=espace), published)
        self._post(form, f"save « Paramètres de publication » of {uai}")

    def _post(self, form: Form, what: str) -> None:
        response = request(self.session, self.http, "POST", form.action, what, data=form.payload(),
                           allow_redirects=False)
        if response.status_code in (302, 303):
            return
        doc = parse_response(response) if response.content else None
        problems = flash_problems(doc) if doc is not None else []
        if response.status_code == 409 or any(p.startswith(PUBLISHED_REFUSAL) for p in problems):
            # The handler stopped the publication before saving: someone published it since (another run on
            # another controller, or a person). The cycle reads the base again and starts over.
            raise PublishedMeanwhileError(f"Could not {what}: the base is published again "
                                          f"(« {' '.join(problems)} »): another run or a person published it.")
        if problems:
            raise ValidationError(f"Could not {what}: the hosting console refused it: " + " ".join(problems), problems)
        raise UnexpectedPageError(f"Could not {what}: the hosting console answered HTTP {response.status_code}.")


def _form_with_button(doc: lxml.html.HtmlElement, url: str, button: str, uai: str) -> Form:
    for form_el in doc.iter("form"):
        texts = [b.get("value") or text_of(b) for b in form_el.xpath(".//button|.//input[@type='submit']")]
        if any(" ".join((t or "").split()) == button for t in texts):
            return read_form_element(form_el, url)
    buttons = [" ".join((b.get("value") or text_of(b) or "").split())
               for b in doc.xpath("//button|//input[@type='submit']")]
    raise ScreenMismatchError(BASE_SCREEN.title, button, buttons, "bouton", uai)


def _only_form(doc: lxml.html.HtmlElement, url: str, label: str, uai: str, screen: Screen) -> Form:
    """The form of the page that has the field ``label``."""
    labels: list[str] = []
    for form_el in doc.iter("form"):
        form = read_form_element(form_el, url)
        if form.has_label(label):
            return form
        labels.extend(form.labels())
    raise ScreenMismatchError(screen.title, label, labels, "champ", uai)
