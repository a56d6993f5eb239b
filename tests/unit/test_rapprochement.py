"""_rapprochement: the ENT -> PRONOTE matching file ("rapprochementssoV2.0"), its certain pairs and its schema.

One identifiers file and one ENT directory hold people matched with
certainty (ent, assisted, kept, manual), ambiguous, unmatched and skipped
(left, written twice), a login given to two identifiers, homonym
responsables, a pupil without birth date and categories the format has no
element for. The pairs written are checked against the certain pairs
computed here from the plan, independently of the module.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import read_identifiers
from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, Decision, MatchPlan, decide
from ansible_collections.ent.pronote.plugins.module_utils._rapprochement import (
    NAMESPACE,
    REASONS,
    SCHEMA_PATH,
    Pair,
    arrange,
    certain_pairs,
    export,
    render,
    validate,
    write,
)

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "docs" / "schemas" / "rapprochementsso-v2.0.xsd"
NS = f"{{{NAMESPACE}}}"
UAI = "0671234C"
PARTNER = "ENT-PARTENAIRE-42"
DATE = dt.date(2025, 9, 1)
ENS, PERS, ELEVE, PARENT, MDS = "Enseignant", "Personnel", "Elève", "Parent", "Maître de stage"
CERTAIN = frozenset({"ent", "assisted", "kept", "manual"})
ELEMENT_CATEGORY = {"Professeur": "enseignants", "Personnel": "personnels", "Responsable": "responsables",
                    "Eleve": "eleves"}


def ident(name: str) -> str:
    """A valid Identifiant PRONOTE-ENT per short name (T1, E3...)."""
    return f"RAPP{name:0>12}"


# --- the scenario -------------------------------------------------------------------------

IDENTIFIERS = f"""<?xml version="1.0" encoding="UTF-8"?>
<IdentifiantsPRONOTE Version="1.0" DateExport="2025-09-01T08:30:00" UAI="{UAI}" NomEtablissement="Collège Cœur d'Été">
  <Professeurs>
    <Professeur Identifiant="{ident('T1')}" Nom="ALBERT" Prenom="Marie" DateNaissance="1975-04-02"/>
    <Professeur Identifiant="{ident('T2')}" Nom="GERVAIS" Prenom="Florence"/>
    <Professeur Identifiant="{ident('T3')}" Nom="MARTIN" Prenom="Paul" DateNaissance="1980-01-01"/>
    <Professeur Identifiant="{ident('T4')}" Nom="NOEL" Prenom="Luc" DateNaissance="1970-03-03"/>
    <Professeur Identifiant="{ident('T5')}" Nom="PETIT" Prenom="Anne" DateNaissance="1978-08-08" IdentifiantCAS="A.Petit"/>
    <Professeur Identifiant="{ident('T6')}" Nom="ROUX" Prenom="Anne" DateNaissance="1985-05-05"/>
    <Professeur Identifiant="{ident('T7')}" Nom="MARTIN" Prenom="Paul" DateNaissance="1990-09-09"/>
  </Professeurs>
  <Eleves>
    <Eleve Identifiant="{ident('E1')}" Nom="BŒUF" Prenom="Léa" DateNaissance="2012-02-29" Classe="5A"/>
    <Eleve Identifiant="{ident('E2')}" Nom="DUPONT" Prenom="Jean" DateNaissance="2011-05-05" Classe="4B"/>
    <Eleve Identifiant="{ident('E3')}" Nom="BERTIN" Prenom="Tayeb" DateNaissance="2010-11-08" DateSortie="2025-07-04"/>
    <Eleve Identifiant="{ident('E4')}" Nom="LAMBERT" Prenom="Zoé" DateNaissance="2012-01-01"/>
    <Eleve Identifiant="{ident('E5')}" Nom="LAMBERT" Prenom="Zoé" DateNaissance="2012-01-01"/>
    <Eleve Identifiant="{ident('E6')}" Nom="MOREAU" Prenom="Hugo"/>
  </Eleves>
  <Responsables>
    <Responsable Identifiant="{ident('R1')}" Nom="DUPONT" Prenom="Pierre"><Enfant Identifiant="{ident('E2')}"/></Responsable>
    <Responsable Identifiant="{ident('R2')}" Nom="MARTIN" Prenom="Sophie" DateNaissance="1980-01-01">
      <Enfant Identifiant="{ident('E1')}"/></Responsable>
    <Responsable Identifiant="{ident('R3')}" Nom="MARTIN" Prenom="Sophie" DateNaissance="1982-02-02">
      <Enfant Identifiant="{ident('E2')}"/></Responsable>
    <Responsable Identifiant="{ident('R4')}" Nom="BLANC" Prenom="Marc"><Enfant Identifiant="{ident('E2')}"/></Responsable>
  </Responsables>
  <MaitresDeStage>
    <MaitreDeStage Identifiant="{ident('M1')}" Nom="FABRE" Prenom="Louis" DateNaissance="1960-10-10"/>
  </MaitresDeStage>
  <InspecteursPedagogiques>
    <InspecteurPedagogique Identifiant="{ident('I1')}" Nom="MILLOT" Prenom="Brigitte" DateNaissance="1968-01-15"/>
  </InspecteursPedagogiques>
  <Personnels>
    <Personnel Identifiant="{ident('P1')}" Nom="LEROY" Prenom="Alain" DateNaissance="1965-06-06"/>
    <Personnel Identifiant="{ident('P2')}" Nom="ROUX" Prenom="Anne" DateNaissance="1985-05-05"/>
  </Personnels>
</IdentifiantsPRONOTE>
""".encode()

D = dt.date
ACCOUNTS = [
    Account("marie.albert", ENS, "ALBERT", "Marie", D(1975, 4, 2)),
    Account("f.gervais", ENS, "GERVAIS", "Florence"),
    Account("p.martin1", ENS, "MARTIN", "Paul", D(1980, 1, 1)),
    Account("p.martin2", ENS, "MARTIN", "Paul", D(1980, 1, 1)),
    Account("a.petit", ENS, "PETIT-DURAND", "Anne", D(1978, 8, 8)),
    Account("A.ROUX", ENS, "ROUX", "Anne", D(1985, 5, 5)),
    Account("p.martin3", ENS, "MARTIN", "Paul", D(1990, 9, 9)),
    Account("lea.boeuf", ELEVE, "BOEUF", "Léa", D(2012, 2, 29)),
    Account("j.dupont", ELEVE, "DUPONT", "Jean", D(2011, 5, 5)),
    Account("t.bertin", ELEVE, "BERTIN", "Tayeb", D(2010, 11, 8)),
    Account("z.lambert", ELEVE, "LAMBERT", "Zoé", D(2012, 1, 1)),
    Account("h.moreau", ELEVE, "MOREAU", "Hugo"),
    Account("p.dupont", PARENT, "DUPONT", "Pierre", children=("j.dupont",)),
    Account("s.martin1", PARENT, "MARTIN", "Sophie", children=("lea.boeuf",)),
    Account("s.martin2", PARENT, "MARTIN", "Sophie", children=("j.dupont",)),
    Account("l.fabre", MDS, "FABRE", "Louis", D(1960, 10, 10)),
    Account("a.leroy", PERS, "LEROY", "Alain", D(1965, 6, 6)),
    Account("a.roux", PERS, "ROUX", "Anne", D(1985, 5, 5)),
]
CURRENT = {ident("T5"): "a.petit"}
MANUAL = {ident("E6"): "h.moreau"}

#: what the matching decides, pinned so that the scenario keeps covering every case
EXPECTED_OUTCOMES = {
    "T1": ("ent", "marie.albert"), "T2": ("assisted", "f.gervais"), "T3": ("ambiguous", None),
    "T4": ("unmatched", None), "T5": ("kept", "a.petit"), "T6": ("ent", "A.ROUX"), "T7": ("ent", "p.martin3"),
    "E1": ("assisted", "lea.boeuf"), "E2": ("ent", "j.dupont"), "E3": ("skipped", None), "E4": ("skipped", None),
    "E5": ("skipped", None), "E6": ("manual", "h.moreau"),
    "R1": ("assisted", "p.dupont"), "R2": ("assisted", "s.martin1"), "R3": ("assisted", "s.martin2"),
    "R4": ("unmatched", None), "M1": ("ent", "l.fabre"), "I1": ("unmatched", None),
    "P1": ("ent", "a.leroy"), "P2": ("ent", "a.roux"),
}
#: the pairs the file holds: the certain ones, less what the format cannot say safely
EXPECTED_WRITTEN = {
    (ident("T1"), "marie.albert"), (ident("T2"), "f.gervais"), (ident("T5"), "a.petit"),
    (ident("T7"), "p.martin3"), (ident("P1"), "a.leroy"), (ident("E1"), "lea.boeuf"),
    (ident("E2"), "j.dupont"), (ident("R1"), "p.dupont"),
}


@pytest.fixture(scope="module")
def file():
    return read_identifiers(IDENTIFIERS)


@pytest.fixture(scope="module")
def plan(file):
    return decide(file.people, ACCOUNTS, CURRENT, mode="partiel", manual=MANUAL)


def independent_certain_pairs(plan: MatchPlan) -> set[tuple[str, str]]:
    """Certain decisions with a login, less every login (without case) given to two identifiers."""
    matched = [(d.ident, d.login) for d in plan.decisions if d.outcome in CERTAIN and d.login]
    uses = Counter(login.lower() for _, login in matched)
    return {(i, login) for i, login in matched if uses[login.lower()] == 1}


def people_in(data: bytes) -> list[dict[str, str]]:
    """Every person element of a rendered file: its element name and attributes."""
    root = etree.fromstring(data)
    out = []
    for container in root:
        if etree.QName(container).localname in ("Etablissements", "EtablissementsGeres"):
            continue
        for element in container:
            out.append({"element": etree.QName(element).localname, **element.attrib})
    return out


def pairs_in(data: bytes, file) -> set[tuple[str, str]]:
    """(Identifiant PRONOTE, ID_Partenaire) of the output, each person found back in the file by what it says."""
    index = {}
    for person in file.people:
        key = (person.category, person.nom, person.prenom)
        index.setdefault(key, []).append(person)
    out = set()
    for row in people_in(data):
        found = index[(ELEMENT_CATEGORY[row["element"]], row["Nom"], row["Prenom"])]
        if "DateNaissance" in row:
            found = [p for p in found if p.birth_date == dt.date.fromisoformat(row["DateNaissance"])]
        assert len(found) == 1, f"{row} names {len(found)} people of the file"
        out.add((found[0].ident, row["ID_Partenaire"]))
    return out


@pytest.fixture(scope="module")
def schema():
    """The XSD, loaded here, independently of the module."""
    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(resolve_entities=False, no_network=True)))


# --- the scenario and the pairs -------------------------------------------------------------

def test_the_scenario_covers_every_outcome(plan):
    got = {d.ident: (d.outcome, d.login) for d in plan.decisions}
    assert got == {ident(k): v for k, v in EXPECTED_OUTCOMES.items()}


def test_certain_pairs_are_the_certain_decisions_without_shared_logins(plan, file):
    pairs = certain_pairs(plan, file)
    assert {(p.ident, p.login) for p in pairs} == independent_certain_pairs(plan)
    assert {(p.ident, p.login) for p in pairs} == {
        (ident(k), login) for k, (outcome, login) in EXPECTED_OUTCOMES.items()
        if outcome in CERTAIN and k not in ("T6", "P2")}
    assert all(p.category == file.person(p.ident).category for p in pairs)
    assert [p.ident for p in pairs] == [p.ident for p in file.people if p.ident in {q.ident for q in pairs}]


def test_certain_pairs_never_hold_ambiguous_unmatched_or_skipped_people(plan, file):
    refused = {d.ident for d in plan.decisions if d.outcome in ("ambiguous", "unmatched", "skipped")}
    assert refused == {ident(k) for k in ("T3", "T4", "E3", "E4", "E5", "R4", "I1")}
    assert not refused & {p.ident for p in certain_pairs(plan, file)}


def test_a_login_held_twice_leaves_both_out_even_across_categories(file):
    plan = MatchPlan("partiel", (
        Decision(ident("T1"), "enseignants", "manual", "same.login"),
        Decision(ident("P1"), "personnels", "ent", "same.login"),
        Decision(ident("T2"), "enseignants", "assisted", "f.gervais"),
    ))
    assert certain_pairs(plan, file) == [Pair(ident("T2"), "enseignants", "f.gervais")]


def test_a_matched_decision_without_login_is_not_a_pair(file):
    plan = MatchPlan("partiel", (Decision(ident("T1"), "enseignants", "kept", "  "),))
    assert certain_pairs(plan, file) == []


def test_current_pairs_left_in_place_by_the_import_block_a_login(plan, file):
    # the ENT holds "J.Dupont" for an identifier absent from the file (partiel keeps it): j.dupont is not certain
    current = {**CURRENT, "ZZZZZZZZZZZZZZZZ": "J.Dupont"}
    with_current = {p.ident for p in certain_pairs(plan, file, current)}
    assert ident("E2") not in with_current
    assert with_current == {p.ident for p in certain_pairs(plan, file)} - {ident("E2")}
    assert {p.ident for p in certain_pairs(plan, file, CURRENT)} == {p.ident for p in certain_pairs(plan, file)}


def test_only_missing_leaves_out_logins_pronote_already_holds(plan, file):
    everyone = {p.ident for p in certain_pairs(plan, file)}
    missing = {p.ident for p in certain_pairs(plan, file, only_missing=True)}
    assert ident("T5") in everyone  # IdentifiantCAS "A.Petit" already is a.petit (case ignored): written by default
    assert everyone - missing == {ident("T5")}


def test_a_plan_of_another_file_is_refused(file):
    plan = MatchPlan("partiel", (Decision("ZZZZZZZZZZZZZZZZ", "enseignants", "ent", "x"),))
    with pytest.raises(ValueError, match="not in the identifiers file"):
        certain_pairs(plan, file)


# --- the document ------------------------------------------------------------------------------

def test_output_validates_and_holds_exactly_the_certain_pairs_it_can_write(plan, file, schema):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    validate(data)
    assert schema.validate(etree.fromstring(data)), schema.error_log
    written = pairs_in(data, file)
    assert written == EXPECTED_WRITTEN
    assert written <= independent_certain_pairs(plan)
    left = {ident(k) for k in ("M1", "E6", "R2", "R3")}  # no element, no birth date, homonyms
    assert {i for i, _ in independent_certain_pairs(plan)} - {i for i, _ in written} == left


def test_no_ambiguous_unmatched_or_skipped_person_or_login_appears(plan, file):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    refused = {d.ident for d in plan.decisions if d.outcome in ("ambiguous", "unmatched", "skipped")}
    assert not refused & {i for i, _ in pairs_in(data, file)}
    logins = {row["ID_Partenaire"] for row in people_in(data)}
    assert not logins & {"p.martin1", "p.martin2", "t.bertin", "z.lambert", "A.ROUX", "a.roux"}
    names = {(row["Nom"], row["Prenom"]) for row in people_in(data)}
    assert not names & {("NOEL", "Luc"), ("BERTIN", "Tayeb"), ("LAMBERT", "Zoé"), ("BLANC", "Marc")}


def test_rows_number_the_people_in_document_order(plan, file):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    rows, reasons = arrange(file, certain_pairs(plan, file))
    assert [int(row["Ident"]) for row in people_in(data)] == list(range(1, len(rows) + 1))
    by_number = {row.number: (row.person.ident, row.login) for row in rows}
    assert {by_number[int(r["Ident"])] for r in people_in(data)} == EXPECTED_WRITTEN
    assert {by_number[int(r["Ident"])][1] for r in people_in(data)} == {r["ID_Partenaire"] for r in people_in(data)}
    assert reasons == {ident("M1"): "no_element", ident("E6"): "no_birth_date", ident("R2"): "homonym",
                       ident("R3"): "homonym"}


def test_namespace_root_and_establishment(plan, file):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<PARTENAIRE_INDEX xmlns="' + NAMESPACE.encode())
    root = etree.fromstring(data)
    assert root.tag == NS + "PARTENAIRE_INDEX"
    assert root.nsmap == {None: "http://www.index-education.com/rapprochementssoV2.0"}
    assert dict(root.attrib) == {"Date": "2025-09-01T00:00:00", "Partenaire": PARTNER,
                                 "ProtocoleDelegationAuthentification": "CAS"}
    assert [etree.QName(c).localname for c in root] == [
        "Etablissements", "EtablissementsGeres", "Personnels", "Professeurs", "Responsables", "Eleves"]
    (school,) = root.find(NS + "Etablissements")
    assert dict(school.attrib) == {"Ident": "1", "Numero": UAI, "Nom": "Collège Cœur d'Été"}
    (managed,) = root.find(NS + "EtablissementsGeres")
    assert dict(managed.attrib) == {"Ident": "1"}


def test_people_are_sorted_and_written_as_pronote_exported_them(plan, file):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    rows = people_in(data)
    assert [(r["element"], r["Nom"], r["Prenom"], r.get("DateNaissance")) for r in rows] == [
        ("Personnel", "LEROY", "Alain", None),  # Personnel has no DateNaissance
        ("Professeur", "ALBERT", "Marie", "1975-04-02"),
        ("Professeur", "GERVAIS", "Florence", None),
        ("Professeur", "MARTIN", "Paul", "1990-09-09"),  # a homonym with another birth date is told apart
        ("Professeur", "PETIT", "Anne", "1978-08-08"),
        ("Responsable", "DUPONT", "Pierre", None),
        ("Eleve", "BŒUF", "Léa", "2012-02-29"),
        ("Eleve", "DUPONT", "Jean", "2011-05-05"),
    ]


def test_output_is_deterministic(plan, file):
    pairs = certain_pairs(plan, file)
    one = render(file, pairs, partner=PARTNER, date=DATE)
    assert render(file, list(reversed(pairs)), partner=PARTNER, date=DATE) == one
    assert render(file, pairs + pairs, partner=PARTNER, date=DATE) == one


def test_date_is_an_xs_datetime(plan, file):
    pairs = certain_pairs(plan, file)
    when = dt.datetime(2025, 9, 1, 10, 15, 30, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    data = render(file, pairs, partner=PARTNER, date=when)
    assert etree.fromstring(data).get("Date") == "2025-09-01T10:15:30+02:00"
    validate(data)
    naive = render(file, pairs, partner=PARTNER, date=dt.datetime(2025, 9, 1, 8, 0))
    assert etree.fromstring(naive).get("Date") == "2025-09-01T08:00:00"


def test_no_pairs_still_make_a_valid_file(file):
    data = render(file, [], partner=PARTNER, date=DATE)
    validate(data)
    assert people_in(data) == []


@pytest.mark.parametrize("pairs, message", [
    ([Pair(ident("T1"), "enseignants", "x"), Pair(ident("T2"), "enseignants", "X")], "one login is given"),
    ([Pair(ident("T1"), "enseignants", "x"), Pair(ident("T1"), "enseignants", "y")], "two logins"),
    ([Pair("ZZZZZZZZZZZZZZZZ", "enseignants", "x")], "not in the identifiers file"),
    ([Pair(ident("T1"), "personnels", "x")], "in personnels, the file in enseignants"),
    ([Pair(ident("T1"), "enseignants", "")], "no login"),
])
def test_render_refuses_pairs_that_are_not_certain(file, pairs, message):
    with pytest.raises(ValueError, match=message):
        render(file, pairs, partner=PARTNER, date=DATE)


@pytest.mark.parametrize("partner", ["", "  "])
def test_render_needs_a_partner(file, partner):
    with pytest.raises(ValueError, match="partner"):
        render(file, [], partner=partner, date=DATE)


# --- validate ------------------------------------------------------------------------------------

def test_validate_refuses_a_document_missing_id_partenaire_with_the_line(plan, file):
    data = render(file, certain_pairs(plan, file), partner=PARTNER, date=DATE)
    broken = re.sub(rb' ID_Partenaire="f\.gervais"', b"", data)
    assert broken != data
    line = broken[:broken.index(b'Nom="GERVAIS"')].count(b"\n") + 1
    with pytest.raises(ValidationError) as caught:
        validate(broken)
    message = str(caught.value)
    assert f"line {line}:" in message
    assert "ID_Partenaire" in message and "required" in message
    assert caught.value.problems and "ID_Partenaire" in caught.value.problems[0]


def test_validate_refuses_what_is_not_xml_or_declares_entities():
    with pytest.raises(ValidationError, match="not well-formed"):
        validate(b"<PARTENAIRE_INDEX")
    hostile = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
               b'<PARTENAIRE_INDEX xmlns="' + NAMESPACE.encode() + b'">&x;</PARTENAIRE_INDEX>')
    with pytest.raises(ValidationError, match="line 2: a document type"):
        validate(hostile)


def test_validate_uses_the_schema_of_the_collection():
    assert SCHEMA_PATH == XSD.resolve()


# --- the schema itself ----------------------------------------------------------------------------

GOOD = f"""<?xml version="1.0" encoding="UTF-8"?>
<PARTENAIRE_INDEX xmlns="{NAMESPACE}"
    Date="2025-09-01T00:00:00" Partenaire="P" ProtocoleDelegationAuthentification="CAS">
  <Etablissements><Etablissement Ident="1" Numero="{UAI}" Nom="Collège"/></Etablissements>
  <EtablissementsGeres><Etablissement Ident="1"/></EtablissementsGeres>
  <Personnels><Personnel Ident="1" Nom="LEROY" Prenom="Alain" ID_Partenaire="a.leroy"/></Personnels>
  <Professeurs><Professeur Ident="2" Nom="ALBERT" Prenom="Marie" DateNaissance="1975-04-02" ID_Partenaire="m.albert"/></Professeurs>
  <Responsables><Responsable Ident="3" Nom="DUPONT" Prenom="Pierre" ID_Partenaire="p.dupont"/></Responsables>
  <Eleves><Eleve Ident="4" Nom="DUPONT" Prenom="Jean" DateNaissance="2011-05-05" ID_Partenaire="j.dupont"/></Eleves>
</PARTENAIRE_INDEX>
"""

BROKEN = {
    "a 16-character PRONOTE identifier as Ident": ('Ident="2"', 'Ident="RAPP00000000T001"'),
    "a negative Ident": ('Ident="2"', 'Ident="-2"'),
    "a pupil without DateNaissance": (' DateNaissance="2011-05-05"', ""),
    "a person without ID_Partenaire": (' ID_Partenaire="p.dupont"', ""),
    "an empty ID_Partenaire": ('ID_Partenaire="p.dupont"', 'ID_Partenaire=""'),
    "a Personnel with DateNaissance": ('Prenom="Alain"', 'Prenom="Alain" DateNaissance="1965-06-06"'),
    "a date that is not xs:date": ('DateNaissance="1975-04-02"', 'DateNaissance="02/04/1975"'),
    "a Date without time": ('Date="2025-09-01T00:00:00"', 'Date="2025-09-01"'),
    "another protocol": ('ProtocoleDelegationAuthentification="CAS"', 'ProtocoleDelegationAuthentification="ADFS"'),
    "no protocol": (' ProtocoleDelegationAuthentification="CAS"', ""),
    "no Partenaire": (' Partenaire="P"', ""),
    "a Numero that is not a UAI": (f'Numero="{UAI}"', 'Numero="ABC"'),
    "two people with one Ident": ('Ident="3"', 'Ident="2"'),
    "a managed établissement that is not listed": ('<Etablissement Ident="1"/>', '<Etablissement Ident="9"/>'),
    "no EtablissementsGeres": ('<EtablissementsGeres><Etablissement Ident="1"/></EtablissementsGeres>', ""),
    "an empty container": ('<Personnel Ident="1" Nom="LEROY" Prenom="Alain" ID_Partenaire="a.leroy"/>', ""),
    "sections out of order": (
        '<Personnels><Personnel Ident="1" Nom="LEROY" Prenom="Alain" ID_Partenaire="a.leroy"/></Personnels>\n'
        '  <Professeurs><Professeur Ident="2" Nom="ALBERT" Prenom="Marie" DateNaissance="1975-04-02" '
        'ID_Partenaire="m.albert"/></Professeurs>',
        '<Professeurs><Professeur Ident="2" Nom="ALBERT" Prenom="Marie" DateNaissance="1975-04-02" '
        'ID_Partenaire="m.albert"/></Professeurs>\n'
        '  <Personnels><Personnel Ident="1" Nom="LEROY" Prenom="Alain" ID_Partenaire="a.leroy"/></Personnels>'),
    "an element the format does not have": ("<Eleves>", "<MaitresDeStage/><Eleves>"),
    "another namespace": (NAMESPACE, "http://www.index-education.com/rapprochementssoV1.0"),
}


def test_the_reference_document_is_valid(schema):
    assert schema.validate(etree.fromstring(GOOD.encode())), schema.error_log
    validate(GOOD.encode())


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_schema_refuses(schema, case):
    old, new = BROKEN[case]
    assert old in GOOD
    data = GOOD.replace(old, new, 1).encode()
    assert not schema.validate(etree.fromstring(data))
    with pytest.raises(ValidationError, match=r"line [0-9]+: "):
        validate(data)


# --- write and export ----------------------------------------------------------------------------

def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_replaces_an_existing_0644_file_with_a_0600_one(tmp_path):
    path = tmp_path / "rapprochement.xml"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    write(path, b"<new/>")
    assert path.read_bytes() == b"<new/>"
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rapprochement.xml"]  # no temporary file left


def test_write_makes_a_private_directory(tmp_path):
    path = tmp_path / "out" / "r.xml"
    write(str(path), b"x")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_export_writes_validates_and_counts_without_names(plan, file, tmp_path):
    path = tmp_path / "rapprochement.xml"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    result = export(path, plan, file, partner=PARTNER, date=DATE, current=CURRENT)
    data = path.read_bytes()
    assert mode(path) == 0o600
    validate(data)
    assert data == render(file, certain_pairs(plan, file, CURRENT), partner=PARTNER, date=DATE)
    assert pairs_in(data, file) == EXPECTED_WRITTEN

    cats = result["categories"]
    assert result["format"] == "rapprochementssoV2.0"
    assert result["written"] == len(EXPECTED_WRITTEN)
    assert {k: v["written"] for k, v in cats.items()} == {
        "enseignants": 4, "eleves": 2, "responsables": 1, "maitres_de_stage": 0, "inspecteurs": 0, "personnels": 1}
    assert {k: v["left_out"] for k, v in cats.items()} == {
        "enseignants": {"ambiguous": 1, "login_conflict": 1, "unmatched": 1},
        "eleves": {"no_birth_date": 1, "skipped": 3},
        "responsables": {"homonym": 2, "unmatched": 1},
        "maitres_de_stage": {"no_element": 1},
        "inspecteurs": {"no_element": 1},
        "personnels": {"login_conflict": 1},
    }
    assert cats["enseignants"]["unchanged"] == 1  # T5: PRONOTE already holds a.petit
    for key, row in cats.items():
        assert row["people"] == file.counts()[key] == row["written"] + sum(row["left_out"].values())
        assert set(row["left_out"]) <= set(REASONS)
    assert result["left_out"] == len(file) - result["written"]

    shown = json.dumps(result, ensure_ascii=False)
    for person in file.people:
        assert person.ident not in shown and person.nom not in shown and person.prenom not in shown
    for account in ACCOUNTS:
        assert account.login not in shown


def test_export_only_missing_counts_already_set(plan, file, tmp_path):
    result = export(tmp_path / "r.xml", plan, file, partner=PARTNER, date=DATE, only_missing=True)
    assert result["categories"]["enseignants"]["left_out"]["already_set"] == 1
    assert result["categories"]["enseignants"]["written"] == 3
    assert (ident("T5"), "a.petit") not in pairs_in((tmp_path / "r.xml").read_bytes(), file)


def test_export_writes_nothing_when_the_partner_is_missing(plan, file, tmp_path):
    with pytest.raises(ValueError):
        export(tmp_path / "r.xml", plan, file, partner="", date=DATE)
    assert not (tmp_path / "r.xml").exists()
