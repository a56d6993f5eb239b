"""The PRONOTE bases of the sandbox's établissements: categories, ground truth,
the identifiers export, and accounts added during the year.

Each établissement has a PRONOTE base (table ``pronote_accounts``, children
of responsables in ``pronote_children``) built by the seed from the ENT
directory with the messiness real bases have (see
:mod:`sandbox.pronote_seed`). ``true_user_id`` is the ENT account of the same
person (NULL for a person absent from the ENT): the product never sees it,
tools compare the product's matching with it (:func:`ground_truth`).

The export writes ``docs/schemas/identifiants-pronote.xsd`` files the way the
PRONOTE client does: UTF-8, CRLF line ends, no namespace, ISO dates.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sandbox import db, refdata
from sandbox.names import LoginAllocator
from sandbox.security import DEMO_PASSWORD, hash_password
from sandbox.state import write_private

#: The 32 characters of an "Identifiant PRONOTE-ENT" (the schema allows
#: [A-Z0-9]; PRONOTE avoids the ambiguous 0, 1, I and O).
IDENT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
IDENT_LENGTH = 16
#: base32 (A-Z2-7) -> IDENT_ALPHABET: 16 characters from 80 random bits, in C.
_FROM_BASE32 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", IDENT_ALPHABET.encode("ascii"))
EXPORT_VERSION = "1.0"


@dataclass(frozen=True)
class Category:
    """One category of PRONOTE accounts = one step of the ENT import."""

    step: int
    element: str
    section: str
    title: str
    profile: str
    key: str


#: The six categories, in file and step order (docs/import-screens.md). ``key``
#: names the category in the ground truth (``eleves``...).
CATEGORIES: tuple[Category, ...] = (
    Category(1, "Professeur", "Professeurs", "Enseignants", "Enseignant", "enseignants"),
    Category(2, "Eleve", "Eleves", "Élèves", "Elève", "eleves"),
    Category(3, "Responsable", "Responsables", "Responsables", "Parent", "responsables"),
    Category(4, "MaitreDeStage", "MaitresDeStage", "Maîtres de stage", "Maître de stage", "maitres_de_stage"),
    Category(5, "InspecteurPedagogique", "InspecteursPedagogiques", "Inspecteurs pédagogiques", "Inspecteur",
             "inspecteurs"),
    Category(6, "Personnel", "Personnels", "Personnels", "Personnel", "personnels"),
)
CATEGORY_BY_ELEMENT: dict[str, Category] = {c.element: c for c in CATEGORIES}
CATEGORY_BY_PROFILE: dict[str, Category] = {c.profile: c for c in CATEGORIES}
CATEGORY_BY_STEP: dict[int, Category] = {c.step: c for c in CATEGORIES}

#: Messiness kinds of a PRONOTE account (ground truth), with their French label.
KINDS: dict[str, str] = {
    "exact": "copie exacte de l'ENT",
    "case": "nom en majuscules dans PRONOTE",
    "accents_pronote": "accents absents dans PRONOTE",
    "accents_ent": "accents absents dans l'ENT",
    "hyphen_space": "trait d'union / espace dans le nom",
    "composed_prenom": "prénom composé écrit autrement",
    "second_prenom": "second prénom dans PRONOTE",
    "apostrophe": "apostrophe typographique dans PRONOTE",
    "oe": "« œ » écrit « oe » dans PRONOTE",
    "homonym": "homonyme (même nom et prénom, autre personne)",
    "twins": "jumeau (même nom et date, autre prénom)",
    "parent_no_ent_birth_date": "responsable sans date de naissance dans l'ENT",
    "duplicate": "doublon dans PRONOTE (même personne)",
    "left": "élève sorti (DateSortie), absent de l'ENT",
    "pronote_only": "absent de l'ENT",
}


class UnknownEtab(LookupError):
    """No établissement has this UAI."""


def etab_by_uai(conn: sqlite3.Connection, uai: str) -> sqlite3.Row:
    """The établissement ``uai`` (any project); raise UnknownEtab."""
    row = conn.execute("SELECT * FROM etabs WHERE uai = ?", (uai.strip().upper(),)).fetchone()
    if row is None:
        raise UnknownEtab(f"établissement inconnu : {uai}")
    return row


def new_ident(rng: random.Random, taken: set[str] | dict[str, object]) -> str:
    """A fresh Identifiant PRONOTE-ENT not in ``taken`` (the caller records it)."""
    while True:
        ident = base64.b32encode(rng.randbytes(10)).translate(_FROM_BASE32).decode("ascii")
        if ident not in taken:
            return ident


# ---------------------------------------------------------------- ground truth

def ground_truth(conn: sqlite3.Connection, uai: str) -> dict[str, dict[str, str | None]]:
    """Per Identifiant PRONOTE of ``uai``: ``login``, the ENT login of the same person
    (None when absent from the ENT), ``category`` (``enseignants``, ``eleves``,
    ``responsables``, ``maitres_de_stage``, ``inspecteurs``, ``personnels``) and
    ``kind``, the messiness applied (:data:`KINDS`)."""
    etab = etab_by_uai(conn, uai)
    rows = conn.execute(
        "SELECT a.ident, u.login, a.category, a.kind FROM pronote_accounts a"
        " LEFT JOIN users u ON u.id = a.true_user_id WHERE a.etab_id = ? ORDER BY a.id", (etab["id"],))
    return {r[0]: {"login": r[1], "category": CATEGORY_BY_ELEMENT[r[2]].key, "kind": r[3]} for r in rows}


# ---------------------------------------------------------------- export

def _attr(value: str) -> str:
    """``value`` escaped for a double-quoted XML attribute."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;"))


def render_export(conn: sqlite3.Connection, uai: str, sans_identifiant_cas: bool = False,
                  exported_at: dt.datetime | None = None) -> bytes:
    """The identifiers file of ``uai`` as the PRONOTE client writes it (UTF-8, CRLF)."""
    etab = etab_by_uai(conn, uai)
    stamp = (exported_at or dt.datetime.now()).replace(microsecond=0).isoformat()
    where = " AND (identifiant_cas IS NULL OR identifiant_cas = '')" if sans_identifiant_cas else ""
    accounts = conn.execute(
        "SELECT id, ident, category, nom, prenom, birth_date, postal_code, classe, date_sortie,"
        " acces_espace_parents, identifiant_cas FROM pronote_accounts WHERE etab_id = ?" + where  # noqa: S608
        + " ORDER BY id", (etab["id"],)).fetchall()
    children: dict[int, list[str]] = {}
    for responsable_id, ident in conn.execute(
            "SELECT c.responsable_id, e.ident FROM pronote_children c JOIN pronote_accounts e ON e.id = c.eleve_id"
            " WHERE e.etab_id = ? ORDER BY e.id", (etab["id"],)):
        children.setdefault(responsable_id, []).append(ident)
    by_category: dict[str, list[sqlite3.Row]] = {c.element: [] for c in CATEGORIES}
    for account in accounts:
        by_category[account["category"]].append(account)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<IdentifiantsPRONOTE Version="{EXPORT_VERSION}" DateExport="{stamp}"'
        f' Logiciel="{_attr(refdata.CURRENT_PRONOTE_VERSION)}" UAI="{etab["uai"]}"'
        f' NomEtablissement="{_attr(etab["name"])}"'
        f' UniquementSansIdentifiantCAS="{"true" if sans_identifiant_cas else "false"}">',
    ]
    for category in CATEGORIES:
        people = by_category[category.element]
        if not people:
            lines.append(f"  <{category.section}/>")
            continue
        lines.append(f"  <{category.section}>")
        for a in people:
            attrs = f'Identifiant="{a["ident"]}" Nom="{_attr(a["nom"])}" Prenom="{_attr(a["prenom"])}"'
            if a["birth_date"]:
                attrs += f' DateNaissance="{a["birth_date"]}"'
            if a["postal_code"]:
                attrs += f' CodePostal="{_attr(a["postal_code"])}"'
            if a["identifiant_cas"]:
                attrs += f' IdentifiantCAS="{_attr(a["identifiant_cas"])}"'
            if category.element == "Eleve":
                if a["classe"]:
                    attrs += f' Classe="{_attr(a["classe"])}"'
                if a["date_sortie"]:
                    attrs += f' DateSortie="{a["date_sortie"]}"'
            if category.element == "Responsable":
                attrs += f' AccesEspaceParents="{"false" if a["acces_espace_parents"] == 0 else "true"}"'
                kids = children.get(a["id"], [])
                if kids:
                    lines.append(f"    <{category.element} {attrs}>")
                    lines += [f'      <Enfant Identifiant="{k}"/>' for k in kids]
                    lines.append(f"    </{category.element}>")
                    continue
            lines.append(f"    <{category.element} {attrs}/>")
        lines.append(f"  </{category.section}>")
    lines.append("</IdentifiantsPRONOTE>")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def write_export(conn: sqlite3.Connection, uai: str, path: Path, sans_identifiant_cas: bool = False) -> int:
    """Write the identifiers file of ``uai`` to ``path`` (mode 0600); return its size."""
    data = render_export(conn, uai, sans_identifiant_cas)
    write_private(path, data)
    return len(data)


def all_uais(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT uai FROM etabs ORDER BY project_id, id")]


# ---------------------------------------------------------------- accounts added during the year

@dataclass
class Added:
    """One PRONOTE account added by :func:`add_accounts`, with its ENT counterpart."""

    category: str
    ident: str
    nom: str
    prenom: str
    login: str


def add_accounts(conn: sqlite3.Connection, uai: str, count: int) -> list[Added]:
    """Add ``count`` new pupils, each with a new parent, to the ENT and to the PRONOTE
    base of ``uai``, as a school does during the year (no IdentifiantCAS yet)."""
    if count < 1 or count > 10_000:
        raise ValueError("--count doit être entre 1 et 10000")
    etab = etab_by_uai(conn, uai)
    existing = conn.execute("SELECT COUNT(*) FROM pronote_accounts WHERE etab_id = ?", (etab["id"],)).fetchone()[0]
    rng = random.Random(f"add-pronote-accounts:{etab['uai']}:{existing}")
    project_id = etab["project_id"]
    allocator = LoginAllocator({r[0] for r in conn.execute("SELECT login FROM users WHERE project_id = ?",
                                                          (project_id,))})
    taken = {r[0] for r in conn.execute("SELECT ident FROM pronote_accounts WHERE etab_id = ?", (etab["id"],))}
    class_names = refdata.CLASSES.get(etab["kind"], ())
    classes = [g for g in conn.execute("SELECT id, name FROM ent_groups WHERE etab_id = ? ORDER BY id", (etab["id"],))
               if g["name"] in class_names]
    years = refdata.PUPIL_BIRTH_YEARS.get(etab["kind"], (2008, 2015))
    password = hash_password(DEMO_PASSWORD)
    added: list[Added] = []

    def birth(first: int, last: int) -> str:
        start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
        return dt.date.fromordinal(rng.randint(start, end)).isoformat()

    def pronote_nom(nom: str) -> str:
        return nom.upper() if rng.random() < 0.3 else nom

    with db.write(conn):
        for _ in range(count):
            nom = rng.choice(refdata.LAST_NAMES)
            prenom = rng.choice(refdata.CHILD_FIRST_NAMES)
            postal = f"{etab['uai'][1:3]}{rng.randrange(0, 100) * 10:03d}"
            pupil_birth = birth(*years)
            pupil_login = allocator.allocate(prenom, nom)
            pupil_id = conn.execute(
                "INSERT INTO users (project_id, login, profile, nom, prenom, birth_date, postal_code, password_hash)"
                " VALUES (?, ?, 'Elève', ?, ?, ?, ?, ?)",
                (project_id, pupil_login, nom, prenom, pupil_birth, postal, password)).lastrowid
            parent_prenom = rng.choice(refdata.ADULT_FIRST_NAMES)
            parent_birth = birth(1965, 1992)
            ent_parent_birth = parent_birth if rng.random() < 0.12 else None
            parent_login = allocator.allocate(parent_prenom, nom)
            parent_id = conn.execute(
                "INSERT INTO users (project_id, login, profile, nom, prenom, birth_date, postal_code, password_hash)"
                " VALUES (?, ?, 'Parent', ?, ?, ?, ?, ?)",
                (project_id, parent_login, nom, parent_prenom, ent_parent_birth, postal, password)).lastrowid
            conn.executemany("INSERT INTO user_etabs (user_id, etab_id) VALUES (?, ?)",
                             [(pupil_id, etab["id"]), (parent_id, etab["id"])])
            conn.execute("INSERT INTO parent_links (parent_id, child_id) VALUES (?, ?)", (parent_id, pupil_id))
            classe = None
            if classes:
                group = rng.choice(classes)
                classe = group["name"]
                conn.execute("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)",
                             (group["id"], pupil_id))
            pupil_ident = new_ident(rng, taken)
            taken.add(pupil_ident)
            pupil_nom = pronote_nom(nom)
            pupil_account = conn.execute(
                "INSERT INTO pronote_accounts (etab_id, ident, category, nom, prenom, birth_date, postal_code, classe,"
                " true_user_id, kind) VALUES (?, ?, 'Eleve', ?, ?, ?, ?, ?, ?, ?)",
                (etab["id"], pupil_ident, pupil_nom, prenom, pupil_birth, postal, classe, pupil_id,
                 "exact" if pupil_nom == nom else "case")).lastrowid
            parent_ident = new_ident(rng, taken)
            taken.add(parent_ident)
            parent_nom = pronote_nom(nom)
            parent_account = conn.execute(
                "INSERT INTO pronote_accounts (etab_id, ident, category, nom, prenom, birth_date, postal_code,"
                " acces_espace_parents, true_user_id, kind) VALUES (?, ?, 'Responsable', ?, ?, ?, ?, 1, ?, ?)",
                (etab["id"], parent_ident, parent_nom, parent_prenom, parent_birth, postal, parent_id,
                 "case" if parent_nom != nom else "exact" if ent_parent_birth else "parent_no_ent_birth_date"),
            ).lastrowid
            conn.execute("INSERT INTO pronote_children (responsable_id, eleve_id) VALUES (?, ?)",
                         (parent_account, pupil_account))
            added.append(Added("Eleve", pupil_ident, pupil_nom, prenom, pupil_login))
            added.append(Added("Responsable", parent_ident, parent_nom, parent_prenom, parent_login))
    return added
