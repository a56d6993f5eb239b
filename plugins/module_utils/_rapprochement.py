"""The matching file ENT -> PRONOTE ("rapprochementssoV2.0"): the logins PRONOTE should store as "Identifiant CAS".

PRONOTE imports Index Education's format ``rapprochementssoV2.0`` (root
``PARTENAIRE_INDEX``, ``docs/schemas/rapprochementsso-v2.0.xsd``, whose
comment gives the sources) to fill its "Identifiant CAS" field in bulk. This
module writes that file from a matching plan (:mod:`._matching`): only the
pairs decided with certainty, so that PRONOTE is never given someone else's
login. Pure functions; :func:`write` (and :func:`export`, which calls it)
is the only I/O.

**What the format allows.** Every ``Ident`` of the published schema is an
``xs:unsignedInt`` local to the file: the file cannot carry the
16-character Identifiant PRONOTE-ENT, and PRONOTE can only recognise a
person by what the file says of them. So every person is written with the
``Nom`` and ``Prenom`` of PRONOTE's own identifiers file, exactly as
exported, and with its birth date where the element has one (required on
``Eleve``, optional on ``Professeur``, absent from ``Personnel`` and
``Responsable``). People are numbered 1, 2, 3... in document order, the
établissement 1: the numbers mean nothing outside the file.

**Categories.** enseignants -> ``Professeurs/Professeur``, personnels ->
``Personnels/Personnel``, responsables -> ``Responsables/Responsable``,
eleves -> ``Eleves/Eleve``. The format has no element for maîtres de stage
and inspecteurs pédagogiques (``Personnel`` is PRONOTE's staff of the
établissement, which they are not): they are left out and counted
(``no_element``).

**Which pairs** (:func:`certain_pairs`): decisions ``ent``, ``assisted``,
``kept`` and ``manual`` with a login; never ``unmatched``, ``ambiguous`` or
``skipped``. A login given to two identifiers (logins compared without
case) leaves all of them out. With ``current`` (the ENT's pairs now,
Identifiant PRONOTE -> login), the check runs on what the ENT holds once the
plan's import has run (:func:`._matching.outcome_state`), so a login the
ENT would still hold for another identifier leaves the pair out too. A
person whose file ``IdentifiantCAS`` already equals the login (without
case) is written anyway by default: PRONOTE stores the same value again,
harmless, and the file states the whole certain matching; with
``only_missing=True`` they are left out (``already_set``).

**What is written** (:func:`render`), from those pairs: a pupil without
birth date cannot be (``DateNaissance`` is required): left out,
``no_birth_date``. Since PRONOTE recognises people by name, a person is
also left out when another person of the same category in the file has the
same nom and compatible prénoms (compared as the matching does,
:func:`._matching.normalise`) and, for elements that carry a birth date,
no different birth date: PRONOTE could give the login to the other one
(``homonym``). The file is partial when PRONOTE exported "only the users
without Identifiant CAS": homonyms absent from it cannot be seen.

**Reason codes** of the counts (:data:`REASONS`): the outcome
(``unmatched``, ``ambiguous``, ``skipped``), ``undecided`` (the plan has no
decision for the person), ``login_conflict``, ``already_set``,
``no_element``, ``no_birth_date``, ``homonym``.

The output is deterministic: UTF-8 with an XML declaration, the namespace
as default namespace, sections in the schema's order (Personnels,
Professeurs, Responsables, Eleves), people sorted by nom, prénom and
identifier. ``Date`` is an ``xs:dateTime`` (the published type): a
``datetime.date`` is written at midnight, a ``datetime.datetime`` to the
second with its zone when it has one.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from ansible_collections.ent.pronote.plugins.module_utils._requirements import etree

from ansible_collections.ent.pronote.plugins.module_utils._errors import ConfigurationError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._files import write_atomic
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import (
    CATEGORY_KEYS,
    PUPILS,
    IdentifiersFile,
    Person,
)
from ansible_collections.ent.pronote.plugins.module_utils._matching import (
    MATCHED,
    MatchPlan,
    compatible_first_names,
    normalise,
    outcome_state,
)

FORMAT = "rapprochementssoV2.0"
NAMESPACE = "http://www.index-education.com/rapprochementssoV2.0"
ROOT = "PARTENAIRE_INDEX"
PROTOCOL = "CAS"
SCHEMA_NAME = "rapprochementsso-v2.0.xsd"
#: plugins/module_utils/ -> the collection root -> docs/schemas/
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "schemas" / SCHEMA_NAME
#: the Ident of the one établissement of the file
SCHOOL_IDENT = 1


@dataclass(frozen=True)
class Section:
    """One person container of the format: the category it holds, and whether its element has a birth date."""

    key: str
    container: str
    element: str
    birth_date: str | None  # "required", "optional" or None (no such attribute)


#: the person containers, in the schema's order
SECTIONS: tuple[Section, ...] = (
    Section("personnels", "Personnels", "Personnel", None),
    Section("enseignants", "Professeurs", "Professeur", "optional"),
    Section("responsables", "Responsables", "Responsable", None),
    Section(PUPILS, "Eleves", "Eleve", "required"),
)
BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS}
#: categories the format has no element for
NO_ELEMENT: tuple[str, ...] = tuple(k for k in CATEGORY_KEYS if k not in BY_KEY)

REASONS: dict[str, str] = {
    "unmatched": "not matched to an ENT account",
    "ambiguous": "several ENT accounts may be the person's: none is certain",
    "skipped": "skipped by the matching (a pupil who left, or written twice in the file)",
    "undecided": "the plan has no decision for the person",
    "login_conflict": "the login is given to two identifiers",
    "already_set": "PRONOTE already holds this login (only_missing)",
    "no_element": "the format has no element for this category",
    "no_birth_date": "a pupil is written with its birth date, which the file lacks",
    "homonym": "another person of the category has the same name: PRONOTE could give the login to the wrong one",
}


class Pair(NamedTuple):
    """A person of the file and the ENT login decided for them with certainty."""

    ident: str
    category: str
    login: str


@dataclass(frozen=True)
class Row:
    """One person element of the file: its number (``Ident``), its section, the person and the login."""

    number: int
    section: Section
    person: Person
    login: str


# --- which pairs -----------------------------------------------------------------------

def _login_key(login: str) -> str:
    return login.strip().casefold()


def _select(plan: MatchPlan, file: IdentifiersFile, current: Mapping[str, str] | None,
            only_missing: bool) -> tuple[list[Pair], dict[str, str]]:
    """(the certain pairs in file order, Identifiant PRONOTE -> reason code for everyone else of the file)."""
    reasons: dict[str, str] = {}
    candidates: list[Pair] = []
    decided: set[str] = set()
    for decision in plan.decisions:
        person = file.person(decision.ident)
        if person is None:
            raise ValueError(f"the plan decides {decision.ident}, who is not in the identifiers file: "
                             "a plan and a file mixed up")
        if decision.category != person.category:
            raise ValueError(f"the plan puts {decision.ident} in {decision.category}, the file in {person.category}")
        decided.add(decision.ident)
        if decision.outcome in MATCHED and decision.login and decision.login.strip():
            candidates.append(Pair(person.ident, person.category, decision.login))
        else:
            reasons[decision.ident] = decision.outcome if decision.outcome in REASONS else "unmatched"
    for person in file.people:
        if person.ident not in decided:
            reasons[person.ident] = "undecided"

    holders: dict[str, set[str]] = defaultdict(set)
    for pair in candidates:
        holders[_login_key(pair.login)].add(pair.ident)
    if current is not None:
        final = outcome_state(current, plan, plan.mode, file.people)[0]
        for ident, login in final.items():
            if login and login.strip():
                holders[_login_key(login)].add(ident)
    pairs: list[Pair] = []
    for pair in candidates:
        if holders[_login_key(pair.login)] != {pair.ident}:
            reasons[pair.ident] = "login_conflict"
            continue
        cas = file.person(pair.ident).cas_login  # type: ignore[union-attr]
        if only_missing and cas and _login_key(cas) == _login_key(pair.login):
            reasons[pair.ident] = "already_set"
            continue
        pairs.append(pair)
    return pairs, reasons


def certain_pairs(plan: MatchPlan, file: IdentifiersFile, current: Mapping[str, str] | None = None, *,
                  only_missing: bool = False) -> list[Pair]:
    """The pairs decided with certainty, in file order (see the module's documentation).

    ``current``: the ENT's pairs now (Identifiant PRONOTE -> login); when
    given, a login the ENT would hold for two identifiers once the import has
    run leaves the pair out. ``only_missing``: leave out people whose file
    ``IdentifiantCAS`` already is the login. Raises ValueError for a plan
    that decides someone who is not in the file.
    """
    return _select(plan, file, current, only_missing)[0]


# --- what is written ---------------------------------------------------------------------

def arrange(file: IdentifiersFile, pairs: Iterable[Pair]) -> tuple[list[Row], dict[str, str]]:
    """(the rows of the file in document order, numbered; Identifiant PRONOTE -> reason for pairs left out).

    Raises ValueError when ``pairs`` name someone who is not in the file, give
    one identifier two logins or one login (without case) to two identifiers.
    """
    chosen: dict[str, Pair] = {}
    owners: dict[str, str] = {}
    for pair in pairs:
        person = file.person(pair.ident)
        if person is None:
            raise ValueError(f"{pair.ident} is not in the identifiers file")
        if pair.category != person.category:
            raise ValueError(f"the pair puts {pair.ident} in {pair.category}, the file in {person.category}")
        if not pair.login or not pair.login.strip():
            raise ValueError(f"the pair of {pair.ident} has no login")
        previous = chosen.get(pair.ident)
        if previous is not None and previous.login != pair.login:
            raise ValueError(f"{pair.ident} is given two logins")
        owner = owners.setdefault(_login_key(pair.login), pair.ident)
        if owner != pair.ident:
            raise ValueError(f"one login is given to {owner} and {pair.ident}: only certain pairs may be written")
        chosen[pair.ident] = pair

    homonyms = _homonyms(file)
    reasons: dict[str, str] = {}
    kept: list[tuple[Section, Person, str]] = []
    for ident, pair in chosen.items():
        person = file.person(ident)
        if person is None:  # a caller's bug, not bad input
            raise AssertionError("person is not set")
        section = BY_KEY.get(person.category)
        if section is None:
            reasons[ident] = "no_element"
        elif section.birth_date == "required" and person.birth_date is None:
            reasons[ident] = "no_birth_date"
        elif ident in homonyms:
            reasons[ident] = "homonym"
        else:
            kept.append((section, person, pair.login))
    order = {s.key: n for n, s in enumerate(SECTIONS)}
    kept.sort(key=lambda item: (order[item[0].key], item[1].nom.casefold(), item[1].prenom.casefold(),
                                item[1].nom, item[1].prenom, item[1].ident))
    rows = [Row(n, section, person, login) for n, (section, person, login) in enumerate(kept, start=1)]
    return rows, reasons


def _homonyms(file: IdentifiersFile) -> set[str]:
    """People PRONOTE could mistake for another of their category from what the file says of them."""
    groups: dict[tuple[str, str], list[Person]] = defaultdict(list)
    for person in file.people:
        if person.category in BY_KEY:
            groups[(person.category, normalise(person.nom))].append(person)
    out: set[str] = set()
    for (key, _kind), group in groups.items():
        dated = BY_KEY[key].birth_date is not None
        for i, one in enumerate(group):
            for other in group[i + 1:]:
                if not compatible_first_names(one.prenom, other.prenom):
                    continue
                if dated and one.birth_date and other.birth_date and one.birth_date != other.birth_date:
                    continue
                out.update((one.ident, other.ident))
    return out


def _timestamp(date: dt.date) -> str:
    if isinstance(date, dt.datetime):
        return date.isoformat(timespec="seconds")
    if isinstance(date, dt.date):
        return f"{date.isoformat()}T00:00:00"
    raise TypeError(f"date must be a datetime.date or datetime.datetime, not {type(date).__name__}")


def _document(file: IdentifiersFile, rows: list[Row], partner: str, date: dt.date) -> bytes:
    if not isinstance(partner, str) or not partner.strip():
        raise ValueError("partner must be the partner ID Index Education gave (not empty)")
    q = f"{{{NAMESPACE}}}"
    root = etree.Element(q + ROOT, nsmap={None: NAMESPACE})
    root.set("Date", _timestamp(date))
    root.set("Partenaire", partner)
    root.set("ProtocoleDelegationAuthentification", PROTOCOL)
    school = etree.SubElement(etree.SubElement(root, q + "Etablissements"), q + "Etablissement")
    school.set("Ident", str(SCHOOL_IDENT))
    school.set("Numero", file.uai)
    school.set("Nom", file.school_name or file.uai)
    etree.SubElement(etree.SubElement(root, q + "EtablissementsGeres"), q + "Etablissement").set(
        "Ident", str(SCHOOL_IDENT))
    for section in SECTIONS:
        mine = [row for row in rows if row.section.key == section.key]
        if not mine:
            continue  # a container holds at least one person
        container = etree.SubElement(root, q + section.container)
        for row in mine:
            element = etree.SubElement(container, q + section.element)
            element.set("Ident", str(row.number))
            element.set("Nom", row.person.nom)
            element.set("Prenom", row.person.prenom)
            if section.birth_date and row.person.birth_date is not None:
                element.set("DateNaissance", row.person.birth_date.isoformat())
            element.set("ID_Partenaire", row.login)
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def render(file: IdentifiersFile, pairs: Iterable[Pair], *, partner: str, date: dt.date) -> bytes:
    """The ``rapprochementssoV2.0`` document of ``pairs`` (UTF-8 bytes), deterministic.

    ``partner`` is the partner ID Index Education gave (``Partenaire``),
    ``date`` the file's ``Date``. Pairs that cannot be written are left out
    (see :func:`arrange` for which and why).
    """
    rows = arrange(file, pairs)[0]
    return _document(file, rows, partner, date)


# --- validating ---------------------------------------------------------------------------

def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    try:
        with open(SCHEMA_PATH, "rb") as handle:
            tree = etree.parse(handle, _safe_parser())
        return etree.XMLSchema(tree)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigurationError(f"cannot load the schema {SCHEMA_PATH}: {exc}") from None


_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def validate(data: bytes) -> None:
    """Check a document against ``docs/schemas/rapprochementsso-v2.0.xsd``.

    Raises :class:`ValidationError` whose message gives the schema's first
    complaint and its line (``problems`` lists them all). A document type or
    entity declaration is refused before parsing; nothing is ever fetched.
    """
    schema = _schema()
    dtd = _DTD.search(data)
    if dtd:
        line = data.count(b"\n", 0, dtd.start()) + 1
        cause = f"line {line}: a document type or entity declaration is not allowed"
        raise ValidationError(f"Not a valid {FORMAT} file ({cause})", [cause])
    try:
        tree = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        cause = f"line {exc.lineno}: not well-formed XML: {exc.msg}"
        raise ValidationError(f"Not a valid {FORMAT} file ({cause})", [cause]) from None
    if schema.validate(tree):
        return
    problems = [f"line {error.line}: {error.message}" for error in schema.error_log]
    raise ValidationError(f"Not a valid {FORMAT} file ({problems[0]})", problems)


# --- writing --------------------------------------------------------------------------------

def write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 even when the file existed (its directory made 0700).

    Raises :class:`ConfigurationError` when the file cannot be written.
    """
    target = os.path.abspath(os.fspath(path))
    try:
        write_atomic(target, data, 0o600)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None


# --- all of it ---------------------------------------------------------------------------------

def export(path: str | os.PathLike[str], plan: MatchPlan, file: IdentifiersFile, *, partner: str,
           date: dt.date, current: Mapping[str, str] | None = None, only_missing: bool = False) -> dict[str, Any]:
    """Select, render, validate and write the file; return counts only (no name, no identifier, no login).

    ``{"format", "written", "left_out", "categories": {key: {"people", "written", "unchanged",
    "left_out": {reason: n}}}}`` for the six categories; ``unchanged`` counts the
    people written whose file ``IdentifiantCAS`` already is the login. Every
    person of the file is either written or left out with one reason.
    """
    pairs, reasons = _select(plan, file, current, only_missing)
    rows, more = arrange(file, pairs)
    for ident, reason in more.items():
        reasons.setdefault(ident, reason)
    for person in file.people:  # the format has no element: that is why, whatever the matching said
        if person.category in NO_ELEMENT:
            reasons[person.ident] = "no_element"
    data = _document(file, rows, partner, date)
    validate(data)
    write(path, data)

    categories: dict[str, dict[str, Any]] = {}
    people = file.counts()
    left: dict[str, Counter[str]] = {key: Counter() for key in CATEGORY_KEYS}
    for person in file.people:
        if person.ident in reasons:
            left[person.category][reasons[person.ident]] += 1
    written: Counter[str] = Counter(row.person.category for row in rows)
    unchanged: Counter[str] = Counter(
        row.person.category for row in rows
        if row.person.cas_login and _login_key(row.person.cas_login) == _login_key(row.login))
    for key in CATEGORY_KEYS:
        categories[key] = {"people": people[key], "written": written[key], "unchanged": unchanged[key],
                           "left_out": dict(sorted(left[key].items()))}
    return {"format": FORMAT, "written": len(rows), "left_out": sum(sum(c.values()) for c in left.values()),
            "categories": categories}
