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

from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    NotFoundError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import (
    Form,
    flash_problems,
    parse_response,
    read_form_element,
    table_texts,
    columns,
    text_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session, request

#: the fixed id the PRONOTE mobile application asks infoMobileApp.json with
INFO_ID = "0D264427-EEFC-4810-A9E9-346942A862A4"
DEFAULT_RACINE = "Pronote"
PAGE_COMMUNE = "Page commune"


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

# -- hosting console labels ---------------------------------------------------
PUBLISHED, UNPUBLISHED = "Publiée", "Non publiée"
BUTTON_STOP, BUTTON_PUBLISH = "Arrêter la publication", "Publier la base"
LABEL_CAS_ON = "Définir une délégation CAS"
LABEL_PROJECT = "Projet ENT"
LABEL_CAS_URL = "URL du serveur CAS"
LABEL_DELEGATION = "Délégation {espace}"
LABEL_RACINE = "Racine"
LABEL_PUBLISH_ESPACE = "Publier {espace}"
OTHER_PROJECT = "Autre"
PUBLISHED_REFUSAL = "La base est publiée"


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
        header, rows = table_texts(doc, "bases", url)
        uai, name, version, state = columns(header, ("UAI", "Établissement", "Version", "État"), "Mes bases")
        return {row[uai].upper(): {"name": row[name], "version": row[version], "state": row[state]} for row in rows}

    def read(self, uai: str) -> BasePages:
        """The base page and its two settings forms."""
        path = f"bases/{uai.lower()}/"
        doc, url = self._page(path, f"read the PRONOTE.net base of {uai} in the hosting console")
        state = text_of(doc.get_element_by_id("etat", None))
        if state not in (PUBLISHED, UNPUBLISHED):
            raise UnexpectedPageError(f"The hosting console's page of {uai} does not say whether the base is "
                                      f"published (found « {state} »).")
        toggle = _form_with_button(doc, url, BUTTON_STOP if state == PUBLISHED else BUTTON_PUBLISH, uai)
        ddoc, durl = self._page(path + "delegation", f"read « Déléguer l'authentification » of {uai}")
        delegation = _only_form(ddoc, durl, LABEL_CAS_ON, uai)
        pdoc, purl = self._page(path + "publication", f"read « Paramètres de publication » of {uai}")
        publication = _only_form(pdoc, purl, LABEL_RACINE, uai)
        by_label = {c.label: c for c in delegation.controls if c.label}
        espaces_delegation = {e.name: by_label[LABEL_DELEGATION.format(espace=e.name)].selected_text()
                              for e in (PAGE_COMMUNE_ESPACE, *ESPACES)
                              if LABEL_DELEGATION.format(espace=e.name) in by_label}
        pub_labels = {c.label: c for c in publication.controls if c.label}
        espaces = {e.name: pub_labels[LABEL_PUBLISH_ESPACE.format(espace=e.name)].checked
                   for e in (PAGE_COMMUNE_ESPACE, *ESPACES) if LABEL_PUBLISH_ESPACE.format(espace=e.name) in pub_labels}
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
            raise ValidationError(f"Could not {what}: the base is published (« {' '.join(problems)} »).", problems)
        if problems:
            raise ValidationError(f"Could not {what}: the hosting console refused it: " + " ".join(problems), problems)
        raise UnexpectedPageError(f"Could not {what}: the hosting console answered HTTP {response.status_code}.")


PAGE_COMMUNE_ESPACE = Espace(PAGE_COMMUNE, "", "")


def _form_with_button(doc: lxml.html.HtmlElement, url: str, button: str, uai: str) -> Form:
    for form_el in doc.iter("form"):
        texts = [b.get("value") or text_of(b) for b in form_el.xpath(".//button|.//input[@type='submit']")]
        if any(" ".join((t or "").split()) == button for t in texts):
            return read_form_element(form_el, url)
    raise UnexpectedPageError(f"The hosting console's page of {uai} has no « {button} » button.")


def _only_form(doc: lxml.html.HtmlElement, url: str, label: str, uai: str) -> Form:
    for form_el in doc.iter("form"):
        form = read_form_element(form_el, url)
        if form.has_label(label):
            return form
    raise UnexpectedPageError(f"The hosting console's page {url} ({uai}) has no form with « {label} ».")
