"""Editing an établissement's PRONOTE accounts to stage the support FAQ's causes.

The ``diagnose`` playbook looks, in each établissement's PRONOTE base, for
the causes of the support FAQ. Its tests need a *healthy* base first, then
each cause on one établissement only; the seed gives every base a bit of
everything (:mod:`sandbox.pronote_seed`), so these operations edit one base
(tables ``pronote_accounts`` and ``pronote_children``; the ENT side,
``users`` and ``ent_identifiers``, is never touched):

- :func:`clean` makes the base what a well-kept school's base is, the
  baseline where ``diagnose`` must find nothing: no account of a person
  absent from the ENT, no pupil who has left, one account per person, names
  and birth dates copied from the ENT, "Accès à l'Espace Parents" on for
  every responsable, no ``IdentifiantCAS`` other than the person's ENT login.
- :func:`duplicate` stages "the same person twice in PRONOTE": the ENT import
  can pair only one of the two accounts, the other stays unrecognised.
- :func:`set_left` stages "old pupils still in the base": a pupil with a
  ``DateSortie`` that the school has not removed.
- :func:`add_unknown_responsables` stages "rights given to non-tutors":
  responsables (with access to the Espace Parents) of current pupils who are
  none of the pupil's parents in the ENT, so the import cannot recognise
  them.
- :func:`counts` tells what a base holds (counts only, never names).

Each function runs in the caller's transaction when there is one (``python
-m sandbox pronote-accounts`` applies all its options in one
:func:`sandbox.db.write`), in its own otherwise. Bad input raises
:class:`AccountsError` or :class:`sandbox.pronote.UnknownEtab`, with a French
message; within one transaction nothing is then changed.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox import db, refdata
from sandbox.pronote import CATEGORIES, KINDS, etab_by_uai, new_ident
from sandbox.pronote_seed import BIRTH_YEARS, strip_accents

#: At most this many responsables per :func:`add_unknown_responsables` call.
MAX_UNKNOWN = 10_000
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: The keys of :func:`clean`'s result, with the French line the CLI prints.
CLEAN_LABELS: dict[str, str] = {
    "left": "élève(s) sorti(s) supprimé(s)",
    "absent_from_ent": "compte(s) de personnes absentes de l'ENT supprimé(s)",
    "duplicates": "doublon(s) supprimé(s)",
    "links_moved": "lien(s) responsable-enfant repris des doublons",
    "links_from_ent": "lien(s) responsable-enfant rétabli(s) d'après l'ENT",
    "childless_responsables": "responsable(s) sans enfant supprimé(s)",
    "names": "nom(s) ou prénom(s) recopié(s) de l'ENT",
    "birth_dates": "date(s) de naissance recopiée(s) de l'ENT",
    "parents_access": "accès à l'Espace Parents ouvert(s)",
    "identifiant_cas": "identifiant(s) CAS effacé(s)",
    "kinds": "nature(s) remise(s) à « exact »",
}


class AccountsError(ValueError):
    """An edit is refused (French message)."""


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """The caller's transaction if one is open, else a :func:`sandbox.db.write` of our own."""
    if conn.in_transaction:
        yield
        return
    with db.write(conn):
        yield


def _account(conn: sqlite3.Connection, etab: sqlite3.Row, ident: str, option: str) -> sqlite3.Row:
    """The account ``ident`` (any case) of ``etab``; raise AccountsError naming it."""
    row = conn.execute("SELECT * FROM pronote_accounts WHERE etab_id = ? AND ident = ?",
                       (etab["id"], ident.strip().upper())).fetchone()
    if row is None:
        raise AccountsError(f"{option} : aucun compte {ident} dans la base PRONOTE de {etab['uai']}")
    return row


def _name_key(nom: str, prenom: str) -> tuple[str, str]:
    """What makes two spellings of a name the same person's for a reader (case, accents, apostrophes)."""
    def norm(text: str) -> str:
        return " ".join(strip_accents(text).replace("’", "'").replace("-", " ").casefold().split())
    return norm(nom), norm(prenom)


# ---------------------------------------------------------------- clean

def clean(conn: sqlite3.Connection, uai: str) -> dict[str, int]:
    """Make the base of ``uai`` healthy, as a well-kept school's base is; return what was
    done (keys of :data:`CLEAN_LABELS`, all 0 on a base already clean).

    In order: delete the pupils with a ``date_sortie`` and the accounts of
    people absent from the ENT (no ``true_user_id``); keep one account
    per (category, person), the smallest id that is not of kind ``duplicate``
    (else the smallest id), after giving it the links (children of a
    responsable, responsables of a pupil) of the accounts deleted; a
    responsable left without any child gets its children from the ENT
    (``parent_links``) when they have an account here, else is deleted; copy
    ``nom``, ``prenom`` and ``birth_date`` from the ENT user (a responsable
    whose ENT user has no birth date keeps PRONOTE's: the ENT import matches
    parents through their children); open "Accès à l'Espace Parents" to every
    responsable; clear every ``identifiant_cas`` that is not exactly the
    person's ENT login; set every kind to ``exact``.
    """
    etab = etab_by_uai(conn, uai)
    etab_id = etab["id"]
    done = dict.fromkeys(CLEAN_LABELS, 0)
    with _transaction(conn):
        done["left"] = conn.execute(
            "DELETE FROM pronote_accounts WHERE etab_id = ? AND category = 'Eleve' AND date_sortie IS NOT NULL",
            (etab_id,)).rowcount
        done["absent_from_ent"] = conn.execute(
            "DELETE FROM pronote_accounts WHERE etab_id = ? AND true_user_id IS NULL", (etab_id,)).rowcount

        groups: dict[tuple[str, int], list[sqlite3.Row]] = {}
        for row in conn.execute("SELECT id, category, true_user_id, kind FROM pronote_accounts WHERE etab_id = ?"
                                " ORDER BY id", (etab_id,)):
            groups.setdefault((row["category"], row["true_user_id"]), []).append(row)
        for rows in groups.values():
            if len(rows) < 2:
                continue
            keep, *extras = sorted(rows, key=lambda r: (r["kind"] == "duplicate", r["id"]))
            for extra in extras:
                done["links_moved"] += conn.execute(
                    "INSERT OR IGNORE INTO pronote_children (responsable_id, eleve_id)"
                    " SELECT ?, eleve_id FROM pronote_children WHERE responsable_id = ?",
                    (keep["id"], extra["id"])).rowcount
                done["links_moved"] += conn.execute(
                    "INSERT OR IGNORE INTO pronote_children (responsable_id, eleve_id)"
                    " SELECT responsable_id, ? FROM pronote_children WHERE eleve_id = ?",
                    (keep["id"], extra["id"])).rowcount
                conn.execute("DELETE FROM pronote_accounts WHERE id = ?", (extra["id"],))
                done["duplicates"] += 1

        childless = conn.execute(
            "SELECT id, true_user_id FROM pronote_accounts r WHERE etab_id = ? AND category = 'Responsable'"
            " AND NOT EXISTS (SELECT 1 FROM pronote_children c WHERE c.responsable_id = r.id) ORDER BY id",
            (etab_id,)).fetchall()
        for row in childless:
            relinked = conn.execute(
                "INSERT OR IGNORE INTO pronote_children (responsable_id, eleve_id)"
                " SELECT ?, e.id FROM parent_links l JOIN pronote_accounts e ON e.true_user_id = l.child_id"
                " WHERE l.parent_id = ? AND e.etab_id = ? AND e.category = 'Eleve' ORDER BY e.id",
                (row["id"], row["true_user_id"], etab_id)).rowcount
            if relinked:
                done["links_from_ent"] += relinked
            else:
                conn.execute("DELETE FROM pronote_accounts WHERE id = ?", (row["id"],))
                done["childless_responsables"] += 1

        names, births = [], []
        for row in conn.execute(
                "SELECT a.id, a.category, a.nom, a.prenom, a.birth_date, u.nom AS ent_nom, u.prenom AS ent_prenom,"
                " u.birth_date AS ent_birth FROM pronote_accounts a JOIN users u ON u.id = a.true_user_id"
                " WHERE a.etab_id = ? ORDER BY a.id", (etab_id,)):
            if (row["nom"], row["prenom"]) != (row["ent_nom"], row["ent_prenom"]):
                names.append((row["ent_nom"], row["ent_prenom"], row["id"]))
            if row["ent_birth"] is None and row["category"] == "Responsable":
                continue
            if row["birth_date"] != row["ent_birth"]:
                births.append((row["ent_birth"], row["id"]))
        conn.executemany("UPDATE pronote_accounts SET nom = ?, prenom = ? WHERE id = ?", names)
        conn.executemany("UPDATE pronote_accounts SET birth_date = ? WHERE id = ?", births)
        done["names"], done["birth_dates"] = len(names), len(births)

        done["parents_access"] = conn.execute(
            "UPDATE pronote_accounts SET acces_espace_parents = 1 WHERE etab_id = ? AND category = 'Responsable'"
            " AND acces_espace_parents IS NOT 1", (etab_id,)).rowcount
        stale = [(r["id"],) for r in conn.execute(
            "SELECT a.id, a.identifiant_cas, u.login FROM pronote_accounts a JOIN users u ON u.id = a.true_user_id"
            " WHERE a.etab_id = ? AND a.identifiant_cas IS NOT NULL ORDER BY a.id", (etab_id,))
            if r["identifiant_cas"] != r["login"]]
        conn.executemany("UPDATE pronote_accounts SET identifiant_cas = NULL WHERE id = ?", stale)
        done["identifiant_cas"] = len(stale)
        done["kinds"] = conn.execute(
            "UPDATE pronote_accounts SET kind = 'exact' WHERE etab_id = ? AND kind != 'exact'", (etab_id,)).rowcount
    return done


# ---------------------------------------------------------------- one cause at a time

def duplicate(conn: sqlite3.Connection, uai: str, ident: str) -> str:
    """Add a second account for the person of account ``ident`` (kind ``duplicate``, no
    ``identifiant_cas``, the responsable's children links copied); return its identifier.

    Deterministic: the new identifier comes from ``random.Random("pronote-accounts:dupliquer:<UAI>:<IDENT>")``.
    """
    etab = etab_by_uai(conn, uai)
    with _transaction(conn):
        original = _account(conn, etab, ident, "--dupliquer")
        taken = {r[0] for r in conn.execute("SELECT ident FROM pronote_accounts WHERE etab_id = ?", (etab["id"],))}
        rng = random.Random(f"pronote-accounts:dupliquer:{etab['uai']}:{original['ident']}")
        new = new_ident(rng, taken)
        copy_id = conn.execute(
            "INSERT INTO pronote_accounts (etab_id, ident, category, nom, prenom, birth_date, postal_code, classe,"
            " acces_espace_parents, true_user_id, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'duplicate')",
            (etab["id"], new, original["category"], original["nom"], original["prenom"], original["birth_date"],
             original["postal_code"], original["classe"], original["acces_espace_parents"],
             original["true_user_id"])).lastrowid
        if original["category"] == "Responsable":
            conn.execute("INSERT INTO pronote_children (responsable_id, eleve_id)"
                         " SELECT ?, eleve_id FROM pronote_children WHERE responsable_id = ?",
                         (copy_id, original["id"]))
    return new


def parse_left(value: str) -> tuple[str, str]:
    """``IDENT=AAAA-MM-JJ`` -> (IDENT, date); raise AccountsError."""
    ident, sep, date = value.partition("=")
    if not sep or not ident.strip():
        raise AccountsError(f"--sortie attend IDENT=AAAA-MM-JJ : {value!r}")
    return ident.strip(), date.strip()


def _check_date(date: str | dt.date, ident: str) -> str:
    text = date.isoformat() if isinstance(date, dt.date) else str(date).strip()
    try:
        if not _DATE_RE.match(text):
            raise ValueError(text)
        dt.date.fromisoformat(text)
    except ValueError:
        raise AccountsError(f"--sortie : date invalide pour {ident} : {text!r} (attendu : AAAA-MM-JJ)") from None
    return text


def set_left(conn: sqlite3.Connection, uai: str, ident: str, date: str | dt.date) -> None:
    """Give the pupil ``ident`` a ``date_sortie`` (AAAA-MM-JJ): a pupil who has left and is
    still in the base. The kind (name messiness) and the ENT link are unchanged."""
    etab = etab_by_uai(conn, uai)
    text = _check_date(date, ident)
    with _transaction(conn):
        account = _account(conn, etab, ident, "--sortie")
        if account["category"] != "Eleve":
            raise AccountsError(f"--sortie : {account['ident']} n'est pas un élève")
        conn.execute("UPDATE pronote_accounts SET date_sortie = ? WHERE id = ?", (text, account["id"]))


def add_unknown_responsables(conn: sqlite3.Connection, uai: str, count: int) -> list[str]:
    """Add ``count`` responsables absent from the ENT (kind ``pronote_only``, access to the
    Espace Parents on, a birth date), each linked to a current pupil of the base under a name
    none of the pupil's ENT parents has; return their identifiers.

    Pupils are drawn without repetition while there are enough (current pupils with an ENT
    account first). Deterministic for a given base.
    """
    if count < 1 or count > MAX_UNKNOWN:
        raise AccountsError(f"--responsables-inconnus doit être entre 1 et {MAX_UNKNOWN}")
    etab = etab_by_uai(conn, uai)
    etab_id = etab["id"]
    with _transaction(conn):
        existing = conn.execute("SELECT COUNT(*) FROM pronote_accounts WHERE etab_id = ?", (etab_id,)).fetchone()[0]
        rng = random.Random(f"pronote-accounts:responsables-inconnus:{etab['uai']}:{existing}")
        pupils = conn.execute(
            "SELECT id, nom, postal_code, date_sortie, true_user_id FROM pronote_accounts"
            " WHERE etab_id = ? AND category = 'Eleve' ORDER BY id", (etab_id,)).fetchall()
        if not pupils:
            raise AccountsError(f"--responsables-inconnus : la base PRONOTE de {etab['uai']} n'a aucun élève")
        current = ([p for p in pupils if p["date_sortie"] is None and p["true_user_id"] is not None]
                   or [p for p in pupils if p["date_sortie"] is None] or pupils)
        chosen = rng.sample(current, count) if count <= len(current) else rng.choices(current, k=count)
        taken = {r[0] for r in conn.execute("SELECT ident FROM pronote_accounts WHERE etab_id = ?", (etab_id,))}
        first, last = BIRTH_YEARS["Responsable"]
        start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
        added = []
        for pupil in chosen:
            known = {_name_key(r[0], r[1]) for r in conn.execute(
                "SELECT u.nom, u.prenom FROM parent_links l JOIN users u ON u.id = l.parent_id WHERE l.child_id = ?",
                (pupil["true_user_id"],))}
            while True:
                nom = pupil["nom"] if rng.random() < 0.6 else rng.choice(refdata.LAST_NAMES)
                prenom = rng.choice(refdata.ADULT_FIRST_NAMES)
                if _name_key(nom, prenom) not in known:
                    break
            ident = new_ident(rng, taken)
            taken.add(ident)
            birth = dt.date.fromordinal(rng.randint(start, end)).isoformat()
            account_id = conn.execute(
                "INSERT INTO pronote_accounts (etab_id, ident, category, nom, prenom, birth_date, postal_code,"
                " acces_espace_parents, kind) VALUES (?, ?, 'Responsable', ?, ?, ?, ?, 1, 'pronote_only')",
                (etab_id, ident, nom, prenom, birth, pupil["postal_code"])).lastrowid
            conn.execute("INSERT INTO pronote_children (responsable_id, eleve_id) VALUES (?, ?)",
                         (account_id, pupil["id"]))
            added.append(ident)
    return added


# ---------------------------------------------------------------- counts

def counts(conn: sqlite3.Connection, uai: str) -> dict[str, object]:
    """What the base of ``uai`` holds, counts only: ``total``, ``categories`` (the six
    file elements), ``kinds`` (every :data:`sandbox.pronote.KINDS`), and ``absent_from_ent``,
    ``left``, ``parents_access_off``, ``identifiant_cas``, ``children_links``."""
    etab = etab_by_uai(conn, uai)
    etab_id = etab["id"]
    categories = {c.element: 0 for c in CATEGORIES}
    kinds = dict.fromkeys(KINDS, 0)
    for category, kind, number in conn.execute(
            "SELECT category, kind, COUNT(*) FROM pronote_accounts WHERE etab_id = ? GROUP BY category, kind",
            (etab_id,)):
        categories[category] = categories.get(category, 0) + number
        kinds[kind] = kinds.get(kind, 0) + number
    row = conn.execute(
        "SELECT COUNT(*), COUNT(CASE WHEN true_user_id IS NULL THEN 1 END), COUNT(date_sortie),"
        " COUNT(CASE WHEN category = 'Responsable' AND acces_espace_parents IS NOT 1 THEN 1 END),"
        " COUNT(CASE WHEN identifiant_cas != '' THEN 1 END)"
        " FROM pronote_accounts WHERE etab_id = ?", (etab_id,)).fetchone()
    links = conn.execute("SELECT COUNT(*) FROM pronote_children c JOIN pronote_accounts r ON r.id = c.responsable_id"
                         " WHERE r.etab_id = ?", (etab_id,)).fetchone()[0]
    return {"uai": etab["uai"], "total": row[0], "categories": categories, "kinds": kinds,
            "absent_from_ent": row[1], "left": row[2], "parents_access_off": row[3], "identifiant_cas": row[4],
            "children_links": links}
