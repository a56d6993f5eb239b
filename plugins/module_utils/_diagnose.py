"""The diagnosis of one établissement: every cause of the support FAQ, found and explained.

Pure functions over what the readers return (:mod:`._pronote`,
:mod:`._kdecole`, :mod:`._identifiers`, :mod:`._matching`, :mod:`._sso`):
no I/O here. Each cause has a stable code, a severity, the step it belongs
to, and what is wrong and what to do in French, in the FAQ's and the
vendor guide's words (:data:`CAUSES`). A finding carries counts, never the
name of a person; :func:`people_behind` lists the people behind the counts,
for the per-établissement detail file a user asks for.

The causes the sign-on check classifies (:data:`._sso.CAUSES`) keep their
codes here: a cause found by reading the settings is not reported a second
time by the sign-on sample.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from ansible_collections.ent.pronote.plugins.module_utils._identifiers import PUPILS, RESPONSABLES, IdentifiersFile
from ansible_collections.ent.pronote.plugins.module_utils._matching import MatchPlan, duplicate_groups
from ansible_collections.ent.pronote.plugins.module_utils._projects import same_cas
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    DEFAULT_RACINE,
    ESPACE_OF_PROFILE,
    BaseSettings,
    PronoteInfo,
)
from ansible_collections.ent.pronote.plugins.module_utils._service import SSO_PRONOTE
from ansible_collections.ent.pronote.plugins.module_utils._sso import CAUSES as SSO_CAUSES
from ansible_collections.ent.pronote.plugins.module_utils._sso import Check

#: most serious first
SEVERITIES = ("erreur", "avertissement", "info")
#: the areas a finding belongs to, as the report's columns
STEPS = ("delegation", "service", "identifiers", "sso")


@dataclass(frozen=True)
class Cause:
    severity: str
    step: str
    message: str
    fix: str


def _sso(code: str, severity: str = "erreur", step: str = "delegation") -> Cause:
    message, fix = SSO_CAUSES[code]
    return Cause(severity, step, message, fix)


#: code -> the cause; {placeholders} are filled in by :func:`finding`
CAUSES: dict[str, Cause] = {
    # -- step 1: PRONOTE.net and its hosting console --------------------------------------------
    "base_introuvable": _sso("base_introuvable"),
    "base_non_publiee": _sso("base_non_publiee"),
    "cas_inactif": _sso("cas_inactif"),
    "url_cas": _sso("url_cas"),
    "racine": Cause(
        "erreur", "delegation",
        "La racine de publication de la base PRONOTE.net est « {racine} », pas « Pronote » : l'ENT ne trouve pas "
        "PRONOTE et les utilisateurs ont l'erreur « idPronote ».",
        "Console d'hébergement, « Paramètres de publication » : racine « Pronote » (« Arrêter la publication » "
        "d'abord, puis « Publier la base »)."),
    "espace_non_publie": _sso("espace_non_publie"),
    "espace_sans_delegation": _sso("espace_sans_delegation"),
    # -- step 3: the ENT service -------------------------------------------------------------------
    "version_bloc": Cause(
        "erreur", "service",
        "La « Version » du bloc PRONOTE dans l'ENT est « {bloc} », mais le serveur PRONOTE est en version {pronote} "
        "({block_version}).",
        "ENT, « Gestion portail > Services », service PRONOTE, « Configuration du bloc PRONOTE » : choisir "
        "« Version » « {block_version} » (à refaire à chaque changement de version de PRONOTE)."),
    "service_absent": Cause(
        "erreur", "service",
        "L'ENT n'a pas de service PRONOTE pour cet établissement : la vignette PRONOTE n'apparaît pas.",
        "Déclarer le service (rentrée, --tags service), ou « Gestion portail > Services » : créer le service "
        "avec « Type de SSO » « SSO Pronote avec CAS »."),
    "type_sso": Cause(
        "erreur", "service",
        "Le « Type de SSO » du service PRONOTE est « {sso_type} » : l'attribut idPronote n'est pas transmis et "
        "personne n'est connecté à PRONOTE.",
        "Service PRONOTE, « Paramètres techniques » : « Type de SSO » « SSO Pronote avec CAS »."),
    "url_service": Cause(
        "erreur", "service",
        "L'URL du service PRONOTE est « {url} », pas l'adresse de la base PRONOTE.net ({expected}).",
        "Service PRONOTE, « Paramètres techniques » : URL « {expected} »."),
    "url_cas_pronote_net": Cause(
        "erreur", "service",
        "« URL CAS de PRONOTE.net » est renseignée (« {value} ») alors qu'elle doit rester vide.",
        "Service PRONOTE, « Configuration du bloc PRONOTE » : vider « URL CAS de PRONOTE.net »."),
    "service_anonyme": Cause(
        "erreur", "service",
        "« Service anonyme » est coché : tout le monde voit la vignette, même sans être connecté, et il n'y a pas "
        "d'authentification unique.",
        "Service PRONOTE, « Paramètres d'affichage » : décocher « Service anonyme »."),
    "profil_sans_acces": Cause(
        "erreur", "service",
        "Le profil {profile} n'a aucune règle « Accès au service » : ses utilisateurs ne voient pas le service "
        "PRONOTE.",
        "Service PRONOTE, onglet « Accès population » : ajouter une règle « Accès au service » pour le profil "
        "{profile} (cible « Établissement(s) du site courant »)."),
    # -- steps 2 and 4: the identifiers file and the ENT's identifiers -------------------------------
    "fichier_autre_etablissement": Cause(
        "erreur", "identifiers",
        "Le fichier d'identifiants de cet établissement ({path}) est l'export de l'établissement {other} : "
        "l'import le refuse, les comptes de cet établissement ne sont pas importés.",
        "Dans le PRONOTE de l'établissement, « Exportation des identifiants PRONOTE » et remplacer le fichier."),
    "parents_sans_acces": Cause(
        "avertissement", "identifiers",
        "{count} responsable(s) sans « Accès à l'Espace Parents » dans PRONOTE : ils ne peuvent pas se connecter "
        "à l'Espace Parents.",
        "Dans PRONOTE, fiche du responsable : cocher « Accès à l'Espace Parents » (liste dans le fichier de "
        "détail de l'établissement)."),
    "doublons_pronote": Cause(
        "avertissement", "identifiers",
        "{count} compte(s) PRONOTE en double (même nom, prénom et date de naissance) : l'import les écarte, et la "
        "connexion échoue (« Identification impossible ») quand la première copie détient déjà l'identifiant CAS.",
        "Dans PRONOTE, fusionner ou supprimer les doublons ; si un doublon détient l'identifiant CAS, "
        "« Supprimer l'identifiant CAS (ENT) » puis réessayer."),
    "eleves_sortis": Cause(
        "info", "identifiers",
        "{count} élève(s) sorti(s) de l'établissement (date de sortie) encore dans la base PRONOTE : ils sont "
        "écartés de l'import, et leurs responsables ne sont pas reconnus.",
        "Dans PRONOTE, archiver ou supprimer les élèves sortis, puis exporter de nouveau les identifiants."),
    "identifiant_cas_change": Cause(
        "erreur", "identifiers",
        "{count} compte(s) PRONOTE ont un « Identifiant CAS » qui n'est plus l'identifiant ENT de la personne "
        "(identifiant ENT changé) : ces utilisateurs ont « Identification impossible ».",
        "Dans PRONOTE, sélectionner ces utilisateurs, clic droit, « Modifier la sélection », « CAS et ENT », "
        "« Supprimer l'identifiant CAS (ENT) » ; il sera de nouveau enregistré à leur prochaine connexion."),
    "responsables_non_reconnus": Cause(
        "avertissement", "identifiers",
        "{count} responsable(s) sur {total} ({share}) ne sont reconnus par aucun compte ENT : anciens élèves encore "
        "dans la base, droits donnés à des non-responsables, doublons ou homonymes.",
        "Dans PRONOTE, supprimer les anciens élèves et retirer les droits des non-responsables ; rapprocher les "
        "homonymes à la main (rapport d'import, fichier de correspondances)."),
    "comptes_non_importes": Cause(
        "avertissement", "identifiers",
        "{count} compte(s) PRONOTE du dernier fichier d'identifiants n'ont pas d'identifiant dans l'ENT : "
        "{importable} seraient rapprochés par un import, {unmatched} n'ont pas de compte ENT certain.",
        "Importer les identifiants (rentrée, --tags identifiers, ou « Administration > Importer les identifiants "
        "Pronote ») ; rapprocher les autres à la main avec le rapport d'import."),
    # -- what an import did (the rentrée) ---------------------------------------------------------------
    "identifiants_retires": Cause(
        "info", "identifiers",
        "L'import a retiré {count} identifiant(s) PRONOTE de l'ENT ({detail}), sur {before}.",
        "Rien à faire si le fichier d'identifiants est complet et à jour (élèves partis, comptes supprimés) ; "
        "sinon, exporter à nouveau le fichier depuis PRONOTE et relancer l'import."),
    "identifiants_retires_nombreux": Cause(
        "avertissement", "identifiers",
        "L'import a retiré {count} identifiant(s) PRONOTE de l'ENT ({detail}), soit {share} des {before} qu'il "
        "détenait : plus de {threshold}.",
        "Vérifier que le fichier d'identifiants est complet (toutes les classes, tous les responsables) et qu'il "
        "est bien celui de cet établissement ; sinon, l'exporter à nouveau depuis PRONOTE et relancer l'import, "
        "qui rétablira les identifiants retirés à tort."),
    # -- the sign-on sample ----------------------------------------------------------------------------
    **{code: _sso(code, step="sso") for code in (
        "compte_test", "cas_sans_comptes_locaux", "cas_erreur_http", "sans_idpronote", "identification_impossible",
        "acces_espace_refuse", "ticket_invalide", "cas_injoignable", "mauvaise_personne", "tls", "reseau",
        "page_inattendue")},
}
#: the sign-on's codes that stand for a setting of the base: reported once, by the settings check
BASE_CODES = ("base_introuvable", "base_non_publiee", "cas_inactif", "url_cas", "espace_non_publie",
              "espace_sans_delegation")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    uai: str
    step: str
    message: str
    fix: str
    count: int | None = None
    #: the espace or profile concerned, when the cause is one of several of its kind
    subject: str = ""

    def as_result(self) -> dict:
        return asdict(self)


def finding(code: str, uai: str, *, count: int | None = None, subject: str = "", **values: object) -> Finding:
    cause = CAUSES[code]
    fill = {"count": count, **values}
    return Finding(code, cause.severity, uai, cause.step, cause.message.format(**fill), cause.fix.format(**fill),
                   count, subject)


#: above this share of the identifiers held, a removal is a warning (issue 13)
REMOVAL_WARNING_SHARE = 0.02


def _percent(share: float) -> str:
    """``0.0217`` -> « 2,2 % » (French: a decimal comma, a space before the sign)."""
    return f"{share * 100:.1f}".replace(".", ",").replace(",0", "") + " %"


def removal_findings(uai: str, result: Mapping[str, object]) -> list[Finding]:
    """What an import removed, as a finding: always said, a warning above :data:`REMOVAL_WARNING_SHARE`."""
    identifiers = result.get("identifiers")
    by_profile = result.get("removed_by_profile")
    if not isinstance(identifiers, Mapping) or not isinstance(by_profile, Mapping):
        return []
    removed, before = int(identifiers.get("removed") or 0), int(identifiers.get("before") or 0)
    if removed <= 0:
        return []
    detail = ", ".join(f"{profile} : {n}" for profile, n in sorted(by_profile.items()) if n) or "profil inconnu"
    share = removed / before if before else 1.0
    if share > REMOVAL_WARNING_SHARE:
        return [finding("identifiants_retires_nombreux", uai, count=removed, detail=detail, before=before,
                        share=_percent(share), threshold=_percent(REMOVAL_WARNING_SHARE))]
    return [finding("identifiants_retires", uai, count=removed, detail=detail, before=before)]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most serious first, then in the order of the steps."""
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), STEPS.index(f.step), f.code, f.subject))


def espaces_for(profiles: Iterable[str]) -> list[str]:
    """The espaces the users of these ENT profiles land in."""
    return [ESPACE_OF_PROFILE[p].name for p in profiles if p in ESPACE_OF_PROFILE]


# --- step 1 ---------------------------------------------------------------------------------------

def check_base(uai: str, url: str, info: PronoteInfo | None, settings: BaseSettings | None, expected_cas: str,
               espaces: Iterable[str]) -> list[Finding]:
    """PRONOTE.net: its public facts (``info``; None when nothing answers at ``url``) and, when the hosting
    console could be read, its settings there."""
    out: dict[tuple[str, str], Finding] = {}

    def add(code: str, subject: str = "", **values: object) -> None:
        out.setdefault((code, subject), finding(code, uai, subject=subject, **values))

    espaces = list(espaces)
    if settings is not None:
        if settings.racine != DEFAULT_RACINE:
            add("racine", racine=settings.racine)
        if not settings.published:
            add("base_non_publiee")
        if not settings.cas:
            add("cas_inactif")
        elif not same_cas(settings.cas_url, expected_cas):
            add("url_cas", cas_url=settings.cas_url, expected=expected_cas)
        for name in espaces:
            if not settings.espaces.get(name, False):
                add("espace_non_publie", name, espace=name)
            elif settings.cas and settings.delegation.get(name, "CAS") != "CAS":
                add("espace_sans_delegation", name, espace=name)
    if info is None:
        if not any(code == "racine" for code, _finding in out):
            add("base_introuvable", url=url)
    elif info.published:
        if not info.cas_active:
            add("cas_inactif")
        elif not same_cas(info.cas_url, expected_cas):
            add("url_cas", cas_url=info.cas_url, expected=expected_cas)
        for name in espaces:
            if name not in info.espaces:
                add("espace_non_publie", name, espace=name)
            elif info.cas_active and not info.espaces[name]:
                add("espace_sans_delegation", name, espace=name)
    elif settings is None:
        add("base_non_publiee")
    return list(out.values())


# --- step 3 ---------------------------------------------------------------------------------------

def check_service(uai: str, fields: Mapping[str, object] | None, rules: Iterable, profiles: Iterable[str],
                  expected_url: str, info: PronoteInfo | None) -> list[Finding]:
    """The ENT's PRONOTE service (``fields`` as :class:`._kdecole.ServicePage` reads them; None: no service) and
    its population rules."""
    if fields is None:
        return [finding("service_absent", uai)]
    out = []
    sso_type = str(fields.get("sso_type") or "")
    if sso_type != SSO_PRONOTE:
        out.append(finding("type_sso", uai, sso_type=sso_type or "(vide)"))
    url = str(fields.get("url") or "").strip()
    if url.rstrip("/").casefold() != expected_url.rstrip("/").casefold():
        out.append(finding("url_service", uai, url=url or "(vide)", expected=expected_url))
    cas_url = str(fields.get("pronote_cas_url") or "").strip()
    if cas_url:
        out.append(finding("url_cas_pronote_net", uai, value=cas_url))
    if fields.get("anonymous"):
        out.append(finding("service_anonyme", uai))
    bloc = fields.get("block_version")
    if info is not None and info.block_version and bloc and bloc != info.block_version:
        out.append(finding("version_bloc", uai, bloc=bloc, pronote=".".join(map(str, info.version)),
                           block_version=info.block_version))
    granted = {rule.profile for rule in rules if rule.role == "Accès au service"}
    for profile in profiles:
        if profile not in granted:
            out.append(finding("profil_sans_acces", uai, subject=profile, profile=profile))
    return out


# --- steps 2 and 4 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentifierFacts:
    """The people behind each identifiers cause (identifiers only, for :func:`people_behind`)."""

    parents_without_access: tuple[str, ...]
    duplicates: tuple[str, ...]
    left: tuple[str, ...]
    changed_login: tuple[str, ...]
    responsables_unrecognised: tuple[str, ...]
    responsables: int
    not_imported: tuple[str, ...]
    importable: int


def identifier_facts(file: IdentifiersFile, plan: MatchPlan, current: Mapping[str, str]) -> IdentifierFacts:
    """What the latest identifiers file and the ENT's identifiers and directory say, person by person.

    ``plan`` is the import's decision on ``file`` against the ENT now
    (:func:`._matching.decide`), ``current`` the identifiers the ENT holds
    (Identifiant PRONOTE -> login).
    """
    people = file.people
    duplicates = tuple(p.ident for group in duplicate_groups(people) for p in group)
    left = tuple(p.ident for p in people if p.category == PUPILS and p.left_on is not None)
    skipped = set(duplicates) | set(left)
    changed = []
    for person in people:
        if not person.cas_login:
            continue
        decision = plan.decision(person.ident)
        login = current.get(person.ident) or (decision.login if decision and decision.matched else None)
        if login and login.casefold() != person.cas_login.casefold():
            changed.append(person.ident)
    responsables = [p for p in people if p.category == RESPONSABLES and p.ident not in skipped]
    unrecognised = tuple(p.ident for p in responsables if not _matched(plan, p.ident))
    missing = [p for p in people if p.ident not in skipped and not current.get(p.ident)]
    importable = sum(1 for p in missing if _matched(plan, p.ident))
    return IdentifierFacts(
        parents_without_access=tuple(p.ident for p in people if p.category == RESPONSABLES
                                     and p.parent_access is False),
        duplicates=duplicates, left=left, changed_login=tuple(changed),
        responsables_unrecognised=unrecognised, responsables=len(responsables),
        not_imported=tuple(p.ident for p in missing), importable=importable)


def _matched(plan: MatchPlan, ident: str) -> bool:
    decision = plan.decision(ident)
    return bool(decision and decision.matched and decision.login)


def check_identifiers(uai: str, facts: IdentifierFacts, *, max_unrecognised_share: float) -> list[Finding]:
    out = []
    for code, idents in (("parents_sans_acces", facts.parents_without_access), ("doublons_pronote", facts.duplicates),
                         ("eleves_sortis", facts.left), ("identifiant_cas_change", facts.changed_login)):
        if idents:
            out.append(finding(code, uai, count=len(idents)))
    unrecognised = len(facts.responsables_unrecognised)
    if facts.responsables and unrecognised / facts.responsables > max_unrecognised_share:
        out.append(finding("responsables_non_reconnus", uai, count=unrecognised, total=facts.responsables,
                           share=f"{unrecognised / facts.responsables:.0%}"))
    if facts.not_imported:
        out.append(finding("comptes_non_importes", uai, count=len(facts.not_imported), importable=facts.importable,
                           unmatched=len(facts.not_imported) - facts.importable))
    return out


#: finding code -> the IdentifierFacts field that lists its people
PEOPLE_OF = {"parents_sans_acces": "parents_without_access", "doublons_pronote": "duplicates",
             "eleves_sortis": "left", "identifiant_cas_change": "changed_login",
             "responsables_non_reconnus": "responsables_unrecognised", "comptes_non_importes": "not_imported"}
DETAIL_HEADER = ["uai", "code", "identifiant_pronote", "catégorie", "nom", "prénom", "date_naissance",
                 "identifiant_cas", "compte_ent"]


def people_behind(uai: str, findings: Iterable[Finding], facts: IdentifierFacts, file: IdentifiersFile,
                  current: Mapping[str, str]) -> list[list[str]]:
    """Rows of the per-établissement detail file: each person behind each identifiers finding (names!)."""
    rows = []
    for f in findings:
        field = PEOPLE_OF.get(f.code)
        if not field:
            continue
        for ident in getattr(facts, field):
            person = file.person(ident)
            if person is None:
                continue
            born = person.birth_date.strftime("%d/%m/%Y") if person.birth_date else ""
            rows.append([uai, f.code, ident, person.category, person.nom, person.prenom, born,
                         person.cas_login or "", current.get(ident, "")])
    return rows


# --- the sign-on sample -------------------------------------------------------------------------------

def check_sign_on(uai: str, checks: Iterable[Check], found: Iterable[Finding]) -> list[Finding]:
    """The failed sign-ons, but for a cause the settings checks already reported."""
    known = {(f.code, f.subject) for f in found} | {(f.code, "") for f in found}
    if ("racine", "") in known:
        known.add(("base_introuvable", ""))  # the base is not found because its racine is not « Pronote »
    out = []
    for check in checks:
        if check.ok:
            continue
        if check.code in BASE_CODES and ((check.code, check.espace) in known or (check.code, "") in known):
            continue
        cause = CAUSES[check.code]
        out.append(Finding(check.code, cause.severity, uai, cause.step,
                           f"{check.profile} ({check.espace}) : {check.cause}", check.fix, 1, check.profile))
    return out


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        out[f.severity] += 1
    return out
