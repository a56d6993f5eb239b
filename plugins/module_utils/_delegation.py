"""A base's CAS delegation in the hosting console, for :func:`._engine.ensure`.

Settings can only change while the base is not published (vendor's guide):
the handler stops the publication once, saves everything that differs, and
publishes again once, in a ``finally``, so that a failure in the middle never
leaves a school's PRONOTE.net offline; the next run finds what is left to do
and does it. A run killed in that window (SIGKILL: no ``finally``) leaves a
mark in the cache directory; the next run publishes such a base again before
anything else, and says so (:meth:`DelegationHandler.recover`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._projects import CAS_URLS, cas_key, same_cas
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    DELEGATIONS,
    ESPACE_BY_NAME,
    OTHER_PROJECT,
    PAGE_COMMUNE,
    BasePages,
    BaseSettings,
    HostingConsole,
)
from ansible_collections.ent.pronote.plugins.module_utils._marks import Mark


@dataclass(frozen=True)
class DelegationPlan:
    wanted: BaseSettings
    #: the delegation form, the publication form, and the publication itself differ
    delegation: bool
    publication: bool
    toggle: bool

    def __bool__(self) -> bool:
        return self.delegation or self.publication or self.toggle


def check_espaces(names: Any, what: str) -> None:
    known = {PAGE_COMMUNE, *ESPACE_BY_NAME}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValidationError(f"{what}: unknown espace(s) {', '.join(map(repr, unknown))} "
                              f"(espaces: {', '.join(sorted(known))}).")


def wanted_settings(current: BaseSettings, params: dict[str, Any]) -> BaseSettings:
    """The settings asked by the options; what an option leaves unset stays as it is."""
    project, cas_url = params.get("project"), (params.get("cas_url") or "").strip()
    if params["cas"] and not project and not cas_url:
        raise ValidationError("A CAS delegation needs project (the ENT project of the list) or cas_url.")
    if project and project not in CAS_URLS and project != OTHER_PROJECT:
        raise ValidationError(f"project '{project}' is not an ENT project of the hosting console's list "
                              f"({', '.join(CAS_URLS)}); give cas_url alone for another CAS.")
    if cas_url and not cas_url.startswith("https://"):
        raise ValidationError(f"cas_url must be an https:// URL, got '{cas_url}'.")
    delegation = dict(current.delegation)
    asked = params.get("espaces_delegation") or {}
    check_espaces(asked, "espaces_delegation")
    for espace, choice in asked.items():
        if choice not in DELEGATIONS:
            raise ValidationError(f"espaces_delegation: '{choice}' for {espace} is not one of {', '.join(DELEGATIONS)}.")
    if params["cas"]:
        # The guide's table: every espace delegated to CAS, unless told otherwise.
        delegation = {espace: asked.get(espace, "CAS") for espace in delegation}
    else:
        delegation.update({espace: choice for espace, choice in asked.items() if espace in delegation})
    espaces = dict(current.espaces)
    if params.get("published_espaces") is not None:
        check_espaces(params["published_espaces"], "published_espaces")
        espaces = {espace: espace in params["published_espaces"] for espace in espaces}
    if not params["cas"]:
        wanted_project, wanted_url = current.project, current.cas_url
    elif project and project != OTHER_PROJECT:
        # The console fills the project's URL in; it is checked once saved.
        wanted_project = project
        wanted_url = current.cas_url if current.project == project else (cas_url or CAS_URLS[project])
    else:
        wanted_project, wanted_url = OTHER_PROJECT, cas_url
    return BaseSettings(published=params["published"], cas=params["cas"], project=wanted_project,
                        cas_url=wanted_url, delegation=delegation, racine=params["racine"], espaces=espaces)


def _delegation_differs(current: BaseSettings, wanted: BaseSettings) -> bool:
    if current.cas != wanted.cas or current.delegation != wanted.delegation:
        return True
    if not wanted.cas:
        return False
    return current.project != wanted.project or cas_key(current.cas_url) != cas_key(wanted.cas_url)


class DelegationHandler:
    def __init__(self, console: HostingConsole, uai: str, params: dict[str, Any],
                 mark: Mark | None = None) -> None:
        self.console = console
        self.uai = uai
        self.params = params
        self.pages: BasePages | None = None
        self.mark = mark

    def recover(self) -> bool:
        """Publish again, first of all, a base an earlier run of this controller unpublished and was killed
        before publishing again (its mark is there). Whether it did."""
        if self.mark is None or not self.mark.exists():
            return False
        pages = self.console.read(self.uai)
        republished = not pages.settings.published and bool(self.params["published"])
        if republished:
            self.console.set_published(pages, True, self.uai)
        self.mark.clear()
        return republished

    def read(self) -> BaseSettings:
        self.pages = self.console.read(self.uai)
        return self.pages.settings

    def plan(self, before: BaseSettings) -> DelegationPlan:
        wanted = wanted_settings(before, self.params)
        self._check_cas_url(before, wanted)
        delegation = _delegation_differs(before, wanted)
        publication = before.racine != wanted.racine or before.espaces != wanted.espaces
        settings = delegation or publication
        return DelegationPlan(wanted, delegation, publication,
                              toggle=before.published != wanted.published or (settings and before.published))

    def _check_cas_url(self, before: BaseSettings, wanted: BaseSettings) -> None:
        expected = (self.params.get("cas_url") or "").strip()
        if wanted.cas and expected and before.project == wanted.project != OTHER_PROJECT \
                and not same_cas(before.cas_url, expected):
            raise ValidationError(
                f"The hosting console delegates {self.uai} to « {before.cas_url} » for the project "
                f"« {wanted.project} », not to the ENT's CAS {expected}. Check the ENT project, or give cas_url "
                "without project (« Autre »).")

    def predict(self, before: BaseSettings, plan: DelegationPlan) -> BaseSettings:
        return replace(plan.wanted)

    def apply(self, before: BaseSettings, plan: DelegationPlan) -> BaseSettings:
        if self.pages is None:  # a caller's bug, not bad input
            raise AssertionError("self.pages is not set")
        console, uai = self.console, self.uai
        try:
            if (plan.delegation or plan.publication) and before.published:
                if self.mark is not None:
                    self.mark.set()
                console.set_published(self.pages, False, uai)
                self.pages = console.read(uai)
            if plan.delegation:
                console.save_delegation(self.pages, plan.wanted, uai)
            if plan.publication:
                if plan.delegation:
                    self.pages = console.read(uai)
                console.save_publication(self.pages, plan.wanted, uai)
        finally:
            # Whatever happened above, the base ends published as asked: a failure in the middle never
            # leaves a school's PRONOTE.net offline, and the next run finds what is left to do.
            self.pages = console.read(uai)
            if self.pages.settings.published != plan.wanted.published:
                console.set_published(self.pages, plan.wanted.published, uai)
            if self.mark is not None:
                self.mark.clear()
        after = self.read()
        expected = (self.params.get("cas_url") or "").strip()
        if after.cas and expected and not same_cas(after.cas_url, expected):
            raise ValidationError(
                f"After saving, the hosting console delegates {uai} to « {after.cas_url} » (project "
                f"« {after.project} »), not to the ENT's CAS {expected}: give cas_url without project.")
        return after
