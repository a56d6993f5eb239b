"""_diagnose: each FAQ cause from the states the readers return, and nothing on a healthy établissement."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _diagnose as diag
from ansible_collections.ent.pronote.plugins.module_utils._access import Rule
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFile, Person
from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, decide
from ansible_collections.ent.pronote.plugins.module_utils._pronote import ESPACES, BaseSettings, PronoteInfo
from ansible_collections.ent.pronote.plugins.module_utils._sso import Check

UAI = "0671632K"
URL = "https://0671632k.index-education.net/pronote/"
CAS = "https://cas.monbureaunumerique.fr"
PROFILES = ["Elève", "Parent", "Enseignant", "Personnel"]
ESPACES_NEEDED = diag.espaces_for(PROFILES)


def info(**changes) -> PronoteInfo:
    healthy = PronoteInfo(URL, True, "Collège", (2025, 1, 3), True, CAS + "/",
                          {e.name: True for e in ESPACES})
    return dataclasses.replace(healthy, **changes)


def settings(**changes) -> BaseSettings:
    healthy = BaseSettings(True, True, "Mon Bureau Numérique", CAS, {e.name: "CAS" for e in ESPACES}, "Pronote",
                           {"Page commune": True, **{e.name: True for e in ESPACES}})
    return dataclasses.replace(healthy, **changes)


def codes(findings) -> list[tuple[str, str]]:
    return sorted((f.code, f.subject) for f in findings)


# --- step 1 -----------------------------------------------------------------------------------------

def test_a_healthy_base_has_no_finding_with_or_without_the_hosting_console():
    assert diag.check_base(UAI, URL, info(), settings(), CAS, ESPACES_NEEDED) == []
    assert diag.check_base(UAI, URL, info(), None, CAS, ESPACES_NEEDED) == []


@pytest.mark.parametrize("public, hosting, expected", [
    ({"published": False, "espaces": {}, "cas_active": False, "cas_url": ""}, None, [("base_non_publiee", "")]),
    ({"cas_active": False, "cas_url": ""}, None, [("cas_inactif", "")]),
    ({"cas_url": "https://cas.ent27.fr/"}, None, [("url_cas", "")]),
    ({"espaces": {e.name: True for e in ESPACES if e.name != "Espace Parents"}}, None,
     [("espace_non_publie", "Espace Parents")]),
    ({"espaces": {**{e.name: True for e in ESPACES}, "Espace Elèves": False}}, None,
     [("espace_sans_delegation", "Espace Elèves")]),
    (None, {"racine": "PronoteNet"}, [("racine", "")]),
    ({}, {"cas_url": "https://cas.ent27.fr/"}, [("url_cas", "")]),
    ({}, {"delegation": {**{e.name: "CAS" for e in ESPACES}, "Espace Professeurs": "Aucune"}},
     [("espace_sans_delegation", "Espace Professeurs")]),
    ({}, {"espaces": {e.name: e.name != "Espace Vie scolaire" for e in ESPACES}},
     [("espace_non_publie", "Espace Vie scolaire")]),
])
def test_each_cause_of_step_1_is_found_once(public, hosting, expected):
    base = None if public is None else info(**public)
    hosted = None if hosting is None else settings(**hosting)
    assert codes(diag.check_base(UAI, URL, base, hosted, CAS, ESPACES_NEEDED)) == expected


def test_a_base_that_does_not_answer_names_its_address():
    (found,) = diag.check_base(UAI, URL, None, None, CAS, ESPACES_NEEDED)
    assert found.code == "base_introuvable" and URL in found.message and found.severity == "erreur"


def test_an_espace_nobody_needs_is_not_reported():
    base = info(espaces={name: True for name in ESPACES_NEEDED})
    assert diag.check_base(UAI, URL, base, None, CAS, ESPACES_NEEDED) == []


# --- step 3 -----------------------------------------------------------------------------------------

def service(**changes) -> dict:
    return {"sso_type": "SSO Pronote avec CAS", "url": URL, "block_version": "PRONOTE 2025", "pronote_cas_url": "",
            "anonymous": False, **changes}


RULES = [Rule(p) for p in PROFILES]


def test_a_healthy_service_has_no_finding():
    assert diag.check_service(UAI, service(), RULES, PROFILES, URL, info()) == []


@pytest.mark.parametrize("changes, rules, code", [
    ({"sso_type": "Pas de SSO ou SSO Standard"}, RULES, "type_sso"),
    ({"pronote_cas_url": "https://cas.example.fr/"}, RULES, "url_cas_pronote_net"),
    ({"anonymous": True}, RULES, "service_anonyme"),
    ({"block_version": "PRONOTE 2024"}, RULES, "version_bloc"),
    ({"url": "https://autre.example.fr/pronote/"}, RULES, "url_service"),
    ({}, [r for r in RULES if r.profile != "Parent"], "profil_sans_acces"),
    ({}, [*[r for r in RULES if r.profile != "Enseignant"], Rule("Enseignant", role="Administration du service")],
     "profil_sans_acces"),
])
def test_each_cause_of_step_3_is_found(changes, rules, code):
    (found,) = diag.check_service(UAI, service(**changes), rules, PROFILES, URL, info())
    assert found.code == code and found.step == "service" and found.uai == UAI


def test_the_version_finding_says_both_versions_and_the_fix():
    (found,) = diag.check_service(UAI, service(block_version="PRONOTE 2024"), RULES, PROFILES, URL, info())
    assert "PRONOTE 2024" in found.message and "2025.1.3" in found.message and "PRONOTE 2025" in found.fix


def test_no_service_at_all():
    assert codes(diag.check_service(UAI, None, [], PROFILES, URL, info())) == [("service_absent", "")]


def test_the_version_is_not_judged_when_pronote_does_not_say_it():
    assert diag.check_service(UAI, service(block_version="PRONOTE 2019"), RULES, PROFILES, URL, None) == []


# --- steps 2 and 4 --------------------------------------------------------------------------------------

D = dt.date


def person(n: int, category: str, nom: str, prenom: str, birth=None, **kw) -> Person:
    return Person(f"ID{n:014d}", category, nom, prenom, birth, line=n, **kw)


def region(extra_people=(), current_extra=None, drop_current=()):
    """A small healthy établissement: 2 teachers, 2 pupils, their 2 parents; all imported."""
    people = [
        person(1, "enseignants", "Martin", "Anne", D(1980, 1, 2)),
        person(2, "enseignants", "Petit", "Luc", D(1975, 3, 4)),
        person(3, "eleves", "Durand", "Léa", D(2012, 5, 6)),
        person(4, "eleves", "Moreau", "Tom", D(2011, 7, 8)),
        person(5, "responsables", "Durand", "Paul", D(1980, 9, 10), parent_access=True, children=("ID00000000000003",)),
        person(6, "responsables", "Moreau", "Eve", None, parent_access=True, children=("ID00000000000004",)),
        *extra_people,
    ]
    accounts = [
        Account("anne.martin", "Enseignant", "Martin", "Anne", D(1980, 1, 2)),
        Account("luc.petit", "Enseignant", "Petit", "Luc", D(1975, 3, 4)),
        Account("lea.durand", "Elève", "Durand", "Léa", D(2012, 5, 6)),
        Account("tom.moreau", "Elève", "Moreau", "Tom", D(2011, 7, 8)),
        Account("paul.durand", "Parent", "Durand", "Paul", None, ("lea.durand",)),
        Account("eve.moreau", "Parent", "Moreau", "Eve", None, ("tom.moreau",)),
    ]
    logins = {"ID00000000000001": "anne.martin", "ID00000000000002": "luc.petit", "ID00000000000003": "lea.durand",
              "ID00000000000004": "tom.moreau", "ID00000000000005": "paul.durand", "ID00000000000006": "eve.moreau"}
    current = {k: v for k, v in logins.items() if k not in drop_current} | dict(current_extra or {})
    file = IdentifiersFile(UAI, "1.0", dt.datetime(2026, 9, 1), "PRONOTE", "Collège", False, tuple(people))
    plan = decide(file.people, accounts, current, mode="complet")
    return file, plan, current


def identifiers_codes(file, plan, current, share=0.1):
    facts = diag.identifier_facts(file, plan, current)
    return facts, diag.check_identifiers(UAI, facts, max_unrecognised_share=share)


def test_a_healthy_file_has_no_finding():
    facts, found = identifiers_codes(*region())
    assert found == [] and facts.responsables == 2


def test_a_parent_without_access_to_the_espace_parents():
    file, plan, current = region()
    parent = dataclasses.replace(file.people[4], parent_access=False)
    file = dataclasses.replace(file, people=(*file.people[:4], parent, file.people[5]))
    facts, found = identifiers_codes(file, plan, current)
    assert [(f.code, f.count) for f in found] == [("parents_sans_acces", 1)]
    assert facts.parents_without_access == (parent.ident,)


def test_duplicates_and_pupils_who_left():
    twin = person(7, "enseignants", "MARTIN", "anne", D(1980, 1, 2))
    gone = person(8, "eleves", "Blanc", "Zoé", D(2010, 1, 1), left_on=D(2026, 6, 30))
    facts, found = identifiers_codes(*region([twin, gone]))
    assert sorted((f.code, f.count) for f in found) == [("doublons_pronote", 2), ("eleves_sortis", 1)]
    assert set(facts.duplicates) == {"ID00000000000001", twin.ident}


def test_a_stored_identifiant_cas_that_is_not_the_login_any_more():
    file, plan, current = region()
    moved = dataclasses.replace(file.people[0], cas_login="a.martin-ancien")
    file = dataclasses.replace(file, people=(moved, *file.people[1:]))
    facts, found = identifiers_codes(file, plan, current)
    assert [(f.code, f.count) for f in found] == [("identifiant_cas_change", 1)]
    # the same login written in another case is the same login
    same = dataclasses.replace(moved, cas_login="ANNE.MARTIN")
    file = dataclasses.replace(file, people=(same, *file.people[1:]))
    assert identifiers_codes(file, plan, current)[1] == []


def test_many_responsables_unknown_to_the_ent():
    strangers = [person(10 + i, "responsables", f"Inconnu{i}", "Jean", D(1970, 1, 1), parent_access=True,
                        children=("ID00000000000003",)) for i in range(2)]
    file, plan, current = region(strangers)
    facts, found = identifiers_codes(file, plan, current)
    by_code = {f.code: f for f in found}
    assert by_code["responsables_non_reconnus"].count == 2 and "2 responsable(s) sur 4" in \
        by_code["responsables_non_reconnus"].message
    # the same two, under a threshold of 60 %, are not "many"
    assert "responsables_non_reconnus" not in {f.code for f in identifiers_codes(file, plan, current, 0.6)[1]}
    # never imported: they have no ENT identifier and no ENT account
    assert by_code["comptes_non_importes"].count == 2 and "0 seraient rapprochés" in \
        by_code["comptes_non_importes"].message


def test_accounts_never_imported_that_an_import_would_match():
    facts, found = identifiers_codes(*region(drop_current=("ID00000000000002", "ID00000000000004")))
    (only,) = found
    assert (only.code, only.count) == ("comptes_non_importes", 2) and "2 seraient rapprochés" in only.message


def test_people_behind_the_counts_only_in_the_detail_rows():
    file, plan, current = region([person(8, "eleves", "Blanc", "Zoé", D(2010, 1, 1), left_on=D(2026, 6, 30))])
    facts, found = identifiers_codes(file, plan, current)
    for f in found:
        assert "Blanc" not in f.message and "Zoé" not in f.message
    rows = diag.people_behind(UAI, found, facts, file, current)
    assert [r[:6] for r in rows] == [[UAI, "eleves_sortis", "ID00000000000008", "eleves", "Blanc", "Zoé"]]
    assert len(diag.DETAIL_HEADER) == len(rows[0])


# --- sign-on, and the whole ----------------------------------------------------------------------------

def test_a_failed_sign_on_is_reported_unless_the_settings_already_said_why():
    settings_found = diag.check_base(UAI, URL, info(espaces={n: True for n in ESPACES_NEEDED if n != "Espace Parents"}),
                                     None, CAS, ESPACES_NEEDED)
    checks = [Check("Parent", "Espace Parents", False, "espace_non_publie", "…", "…"),
              Check("Elève", "Espace Elèves", False, "identification_impossible", "cause", "fix"),
              Check("Enseignant", "Espace Professeurs", True)]
    found = diag.check_sign_on(UAI, checks, settings_found)
    assert [(f.code, f.subject, f.step) for f in found] == [("identification_impossible", "Elève", "sso")]
    assert found[0].message.startswith("Elève (Espace Elèves)")


def test_every_cause_has_a_known_severity_and_step_and_french_text():
    for code, cause in diag.CAUSES.items():
        assert cause.severity in diag.SEVERITIES and cause.step in diag.STEPS, code
        assert cause.message and cause.fix, code


def test_findings_are_sorted_most_serious_first():
    found = [diag.finding("eleves_sortis", UAI, count=1), diag.finding("service_anonyme", UAI),
             diag.finding("doublons_pronote", UAI, count=2), diag.finding("cas_inactif", UAI)]
    assert [f.code for f in diag.sort_findings(found)] == ["cas_inactif", "service_anonyme", "doublons_pronote",
                                                          "eleves_sortis"]
    assert diag.severity_counts(found) == {"erreur": 2, "avertissement": 1, "info": 1}


def test_docs_diagnose_md_lists_every_code_with_its_severity_and_step():
    """docs/diagnose.md is the ops team's contract: every code, its severity and step, nothing else."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "diagnose.md").read_text(encoding="utf-8")
    documented: dict[str, tuple[str, str]] = {}
    step = None
    titles = {"Step 1": "delegation", "Step 3": "service", "Steps 2 and 4": "identifiers", "The sign-on": "sso"}
    for line in doc.splitlines():
        if line.startswith("## "):
            step = next((s for title, s in titles.items() if line[3:].startswith(title)), None)
        elif line.startswith("| `") and step:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            documented[cells[0].strip("`")] = (cells[1], step)
    assert documented == {code: (c.severity, c.step) for code, c in diag.CAUSES.items()}


# --- what an import removed (issue 13) ------------------------------------------------------
def test_removals_are_a_finding_and_a_warning_above_two_percent():
    from ansible_collections.ent.pronote.plugins.module_utils._diagnose import removal_findings

    none = {"identifiers": {"before": 100, "removed": 0}, "removed_by_profile": {}}
    assert removal_findings("0671234C", none) == []
    assert removal_findings("0671234C", {"identifiers": {"before": 100, "removed": 2}}) == []  # no profiles given
    few = {"identifiers": {"before": 100, "removed": 2}, "removed_by_profile": {"Parent": 1, "Elève": 1}}
    [info] = removal_findings("0671234C", few)
    assert (info.code, info.severity, info.count) == ("identifiants_retires", "info", 2)
    assert "Elève : 1, Parent : 1" in info.message and "sur 100" in info.message
    many = {"identifiers": {"before": 100, "removed": 3}, "removed_by_profile": {"Elève": 3}}
    [warning] = removal_findings("0671234C", many)
    assert (warning.code, warning.severity) == ("identifiants_retires_nombreux", "avertissement")
    assert "soit 3 % des 100" in warning.message and "plus de 2 %" in warning.message
    [warning] = removal_findings("0671234C", {"identifiers": {"before": 46, "removed": 1},
                                              "removed_by_profile": {"Parent": 1}})
    assert "soit 2,2 % des 46" in warning.message
