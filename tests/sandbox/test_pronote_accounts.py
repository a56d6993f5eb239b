"""Editing a PRONOTE base for the diagnose tests: a healthy base, then one FAQ cause at a time."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from sandbox import db, identifiers, pronote, pronote_accounts
from sandbox.state import REPO_ROOT
from sandbox_support import seeded_database

@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    return seeded_database(tmp_path_factory.mktemp("pronote-accounts") / "r.db")


def _uais(conn: sqlite3.Connection) -> list[str]:
    return pronote.all_uais(conn)


def _export(conn: sqlite3.Connection, uai: str, schema: etree.XMLSchema) -> etree._Element:
    root = etree.fromstring(pronote.render_export(conn, uai), etree.XMLParser(resolve_entities=False,
                                                                               no_network=True))
    schema.assertValid(root.getroottree())
    return root


def _copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    """An in-memory copy of the region (same ids), to replay an operation."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    conn.backup(copy)
    copy.row_factory = sqlite3.Row
    copy.execute("PRAGMA foreign_keys = ON")
    return copy


def _accounts(conn: sqlite3.Connection, uai: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT a.* FROM pronote_accounts a JOIN etabs e ON e.id = a.etab_id WHERE e.uai = ?"
                        " ORDER BY a.id", (uai,)).fetchall()


def _child_people(conn: sqlite3.Connection, uai: str) -> dict[str, set[int | None]]:
    """Per responsable identifier, the ENT people (true_user_id) of its children's accounts."""
    links: dict[str, set[int | None]] = {}
    for ident, child in conn.execute(
            "SELECT r.ident, e.true_user_id FROM pronote_children c JOIN pronote_accounts r ON r.id = c.responsable_id"
            " JOIN pronote_accounts e ON e.id = c.eleve_id JOIN etabs t ON t.id = r.etab_id WHERE t.uai = ?", (uai,)):
        links.setdefault(ident, set()).add(child)
    return links


def _first(conn: sqlite3.Connection, uai: str, where: str) -> sqlite3.Row:
    row = conn.execute("SELECT a.* FROM pronote_accounts a JOIN etabs e ON e.id = a.etab_id WHERE e.uai = ? AND "
                       + where + " ORDER BY a.id LIMIT 1", (uai,)).fetchone()  # noqa: S608 - test constants
    assert row is not None, where
    return row


# ---------------------------------------------------------------- clean

def test_clean_makes_a_healthy_base(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    uai = _uais(conn)[0]
    etab_id = pronote.etab_by_uai(conn, uai)["id"]
    # Every cause present, whatever the seed drew for this site.
    pupil = _first(conn, uai, "a.category = 'Eleve' AND a.true_user_id IS NOT NULL AND a.kind = 'exact'"
                              " AND EXISTS (SELECT 1 FROM pronote_children c WHERE c.eleve_id = a.id)")
    copy_ident = pronote_accounts.duplicate(conn, uai, pupil["ident"])
    copy_id = conn.execute("SELECT id FROM pronote_accounts WHERE etab_id = ? AND ident = ?",
                           (etab_id, copy_ident)).fetchone()[0]
    moved = conn.execute("SELECT responsable_id FROM pronote_children WHERE eleve_id = ? ORDER BY responsable_id",
                         (pupil["id"],)).fetchone()[0]
    conn.execute("UPDATE pronote_children SET eleve_id = ? WHERE responsable_id = ? AND eleve_id = ?",
                 (copy_id, moved, pupil["id"]))
    parent = _first(conn, uai, "a.category = 'Responsable' AND a.true_user_id IS NOT NULL")
    pronote_accounts.duplicate(conn, uai, parent["ident"])
    conn.execute("UPDATE pronote_accounts SET acces_espace_parents = 0 WHERE id = ?", (parent["id"],))
    conn.execute("UPDATE pronote_accounts SET identifiant_cas = 'ancien.login' WHERE id = ?", (pupil["id"],))
    before = pronote_accounts.counts(conn, uai)
    assert before["absent_from_ent"] and before["left"] and before["parents_access_off"]
    assert before["kinds"]["duplicate"] >= 2 and before["kinds"]["exact"] < before["total"]
    links_before = _child_people(conn, uai)

    done = pronote_accounts.clean(conn, uai)
    assert set(done) == set(pronote_accounts.CLEAN_LABELS)
    assert done["absent_from_ent"] and done["left"] and done["duplicates"] >= 2 and done["links_moved"] >= 1
    assert done["parents_access"] >= 1 and done["identifiant_cas"] >= 1 and done["names"] and done["kinds"]

    accounts = _accounts(conn, uai)
    assert accounts and all(a["true_user_id"] is not None for a in accounts)
    assert all(a["date_sortie"] is None for a in accounts)
    people = [(a["category"], a["true_user_id"]) for a in accounts]
    assert len(people) == len(set(people))
    assert copy_ident not in {a["ident"] for a in accounts} and pupil["ident"] in {a["ident"] for a in accounts}
    assert conn.execute("SELECT 1 FROM pronote_children WHERE responsable_id = ? AND eleve_id = ?",
                        (moved, pupil["id"])).fetchone() is not None
    users = {r["id"]: r for r in conn.execute("SELECT * FROM users WHERE project_id = ?",
                                              (pronote.etab_by_uai(conn, uai)["project_id"],))}
    for a in accounts:
        user = users[a["true_user_id"]]
        assert (a["nom"], a["prenom"]) == (user["nom"], user["prenom"]), a["ident"]
        if user["birth_date"] is not None or a["category"] != "Responsable":
            assert a["birth_date"] == user["birth_date"], a["ident"]
        if a["category"] == "Responsable":
            assert a["acces_espace_parents"] == 1
        if a["identifiant_cas"] is not None:
            assert a["identifiant_cas"] == user["login"]
        assert a["kind"] == "exact"
    assert next(a for a in accounts if a["id"] == pupil["id"])["identifiant_cas"] is None
    links_after = _child_people(conn, uai)
    for a in accounts:
        if a["category"] == "Responsable":
            assert links_after.get(a["ident"], set()) & links_before[a["ident"]], a["ident"]

    root = _export(conn, uai, schema)
    assert not root.xpath("//*[@DateSortie]") and not root.xpath("//Responsable[@AccesEspaceParents='false']")
    assert len(root.xpath("/*/*/*[@Identifiant]")) == len(accounts)
    # The ENT's own matching recognises everyone who has a birth date in the ENT, and no one wrongly.
    parsed = identifiers.parse_file(pronote.render_export(conn, uai))
    site = identifiers.site_accounts(conn, pronote.etab_by_uai(conn, uai)["id"])
    truth = {a["ident"]: a["true_user_id"] for a in accounts}
    for category in pronote.CATEGORIES:
        rows = parsed.step_rows(category.step)
        matches = identifiers.plain_match(rows, [s for s in site if s.profile == category.profile])
        for row, match in zip(rows, matches):
            assert match in (None, truth[row.ident]), row.ident
            if users[truth[row.ident]]["birth_date"] is not None:
                assert match == truth[row.ident], row.ident

    after = pronote_accounts.counts(conn, uai)
    assert after["absent_from_ent"] == after["left"] == after["parents_access_off"] == 0
    assert after["kinds"]["exact"] == after["total"] == len(accounts)
    assert sum(after["categories"].values()) == after["total"]
    dump = db.dump_data(conn)
    assert set(pronote_accounts.clean(conn, uai).values()) == {0}
    assert db.dump_data(conn) == dump


def test_clean_touches_neither_the_ent_nor_other_sites(conn: sqlite3.Connection) -> None:
    uai, other = _uais(conn)[3], _uais(conn)[4]
    ent = conn.execute("SELECT * FROM users ORDER BY id").fetchall() + conn.execute(
        "SELECT * FROM ent_identifiers ORDER BY 1, 2").fetchall()
    others = _accounts(conn, other)
    pronote_accounts.clean(conn, uai)
    assert conn.execute("SELECT * FROM users ORDER BY id").fetchall() + conn.execute(
        "SELECT * FROM ent_identifiers ORDER BY 1, 2").fetchall() == ent
    assert _accounts(conn, other) == others


# ---------------------------------------------------------------- one cause at a time

def test_duplicate(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    uai = _uais(conn)[1]
    pupil = _first(conn, uai, "a.category = 'Eleve' AND a.true_user_id IS NOT NULL AND a.birth_date IS NOT NULL")
    parent = _first(conn, uai, "a.category = 'Responsable' AND a.true_user_id IS NOT NULL"
                               " AND EXISTS (SELECT 1 FROM pronote_children c WHERE c.responsable_id = a.id)")
    replay = _copy(conn)
    new_pupil = pronote_accounts.duplicate(conn, uai, pupil["ident"].lower())
    new_parent = pronote_accounts.duplicate(conn, uai, parent["ident"])
    assert [pronote_accounts.duplicate(replay, uai, pupil["ident"]),
            pronote_accounts.duplicate(replay, uai, parent["ident"])] == [new_pupil, new_parent]
    assert len(new_pupil) == pronote.IDENT_LENGTH and set(new_pupil) <= set(pronote.IDENT_ALPHABET)

    root = _export(conn, uai, schema)
    same = [e for e in root.xpath("//Eleve") if (e.get("Nom"), e.get("Prenom"), e.get("DateNaissance"))
            == (pupil["nom"], pupil["prenom"], pupil["birth_date"])]
    assert {e.get("Identifiant") for e in same} == {pupil["ident"], new_pupil}
    assert all(e.get("IdentifiantCAS") is None for e in same if e.get("Identifiant") == new_pupil)
    [original] = root.xpath(f"//Responsable[@Identifiant='{parent['ident']}']")
    [copy] = root.xpath(f"//Responsable[@Identifiant='{new_parent}']")
    assert (copy.get("Nom"), copy.get("Prenom"), copy.get("DateNaissance")) == \
        (original.get("Nom"), original.get("Prenom"), original.get("DateNaissance"))
    assert copy.get("AccesEspaceParents") == original.get("AccesEspaceParents")
    assert copy.xpath("Enfant/@Identifiant") == original.xpath("Enfant/@Identifiant") != []
    truth = pronote.ground_truth(conn, uai)
    assert truth[new_pupil]["login"] == truth[pupil["ident"]]["login"] is not None
    assert truth[new_pupil]["kind"] == truth[new_parent]["kind"] == "duplicate"
    assert pronote_accounts.counts(conn, uai)["kinds"]["duplicate"] >= 2

    with pytest.raises(pronote_accounts.AccountsError, match="--dupliquer : aucun compte ZZZZ"):
        pronote_accounts.duplicate(conn, uai, "ZZZZ")
    with pytest.raises(pronote.UnknownEtab, match="0000000A"):
        pronote_accounts.duplicate(conn, "0000000A", pupil["ident"])


def test_set_left(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    uai = _uais(conn)[1]
    pupil = _first(conn, uai, "a.category = 'Eleve' AND a.date_sortie IS NULL AND a.true_user_id IS NOT NULL")
    pronote_accounts.set_left(conn, uai, pupil["ident"], "2026-01-15")
    [element] = _export(conn, uai, schema).xpath(f"//Eleve[@Identifiant='{pupil['ident']}']")
    assert element.get("DateSortie") == "2026-01-15"
    pronote_accounts.set_left(conn, uai, pupil["ident"], dt.date(2026, 2, 1))
    assert _first(conn, uai, f"a.id = {pupil['id']}")["date_sortie"] == "2026-02-01"

    teacher = _first(conn, uai, "a.category = 'Professeur'")
    with pytest.raises(pronote_accounts.AccountsError, match="n'est pas un élève"):
        pronote_accounts.set_left(conn, uai, teacher["ident"], "2026-01-15")
    for bad in ("2026-02-30", "15/01/2026", "2026-1-5", ""):
        with pytest.raises(pronote_accounts.AccountsError, match="date invalide"):
            pronote_accounts.set_left(conn, uai, pupil["ident"], bad)
    with pytest.raises(pronote_accounts.AccountsError, match="ZZZZ"):
        pronote_accounts.set_left(conn, uai, "ZZZZ", "2026-01-15")
    assert pronote_accounts.parse_left(" abc = 2026-01-15 ") == ("abc", "2026-01-15")
    with pytest.raises(pronote_accounts.AccountsError, match="IDENT=AAAA-MM-JJ"):
        pronote_accounts.parse_left("2026-01-15")
    assert _first(conn, uai, f"a.id = {pupil['id']}")["date_sortie"] == "2026-02-01"


def test_unknown_responsables(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    uai = _uais(conn)[2]
    before = _export(conn, uai, schema)
    replay = _copy(conn)
    added = pronote_accounts.add_unknown_responsables(conn, uai, 3)
    assert pronote_accounts.add_unknown_responsables(replay, uai, 3) == added
    assert len(added) == len(set(added)) == 3

    root = _export(conn, uai, schema)
    assert len(root.xpath("//Responsable")) == len(before.xpath("//Responsable")) + 3
    truth = pronote.ground_truth(conn, uai)
    for ident in added:
        assert truth[ident] == {"login": None, "category": "responsables", "kind": "pronote_only"}
        [element] = root.xpath(f"//Responsable[@Identifiant='{ident}']")
        assert element.get("AccesEspaceParents") == "true" and element.get("DateNaissance")
        [child] = element.xpath("Enfant/@Identifiant")
        [pupil] = root.xpath(f"//Eleve[@Identifiant='{child}']")
        assert pupil.get("DateSortie") is None and truth[child]["login"] is not None
        ent_parents = {(r[0].lower(), r[1].lower()) for r in conn.execute(
            "SELECT p.nom, p.prenom FROM users c JOIN parent_links l ON l.child_id = c.id"
            " JOIN users p ON p.id = l.parent_id WHERE c.login = ? AND c.project_id = ?",
            (truth[child]["login"], pronote.etab_by_uai(conn, uai)["project_id"]))}
        assert ent_parents and (element.get("Nom").lower(), element.get("Prenom").lower()) not in ent_parents
    assert len({root.xpath(f"//Responsable[@Identifiant='{i}']/Enfant/@Identifiant")[0] for i in added}) == 3

    for bad in (0, pronote_accounts.MAX_UNKNOWN + 1):
        with pytest.raises(pronote_accounts.AccountsError, match="--responsables-inconnus"):
            pronote_accounts.add_unknown_responsables(conn, uai, bad)


# ---------------------------------------------------------------- command line

def run(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def _dump(state: Path) -> str:
    connection = db.connect(state / "sandbox.db")
    try:
        return db.dump_data(connection)
    finally:
        connection.close()


def test_cli(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seeded = run(state, "seed", "--etabs", "2")
    assert seeded.returncode == 0, seeded.stderr
    uai = next(line.split()[0] for line in seeded.stdout.splitlines() if line.startswith("  0"))
    truth = json.loads(run(state, "truth", "--uai", uai).stdout)
    pupils = [i for i, t in truth.items() if t["category"] == "eleves" and t["login"] and t["kind"] != "duplicate"]
    dumped = _dump(state)

    refused = {
        "ZZZZ": run(state, "pronote-accounts", "--uai", uai, "--nettoyer", "--dupliquer", "ZZZZ"),
        "0000000A": run(state, "pronote-accounts", "--uai", "0000000A", "--nettoyer"),
        "2026-02-30": run(state, "pronote-accounts", "--uai", uai, "--nettoyer", "--sortie", f"{pupils[0]}=2026-02-30"),
        "n'est pas un élève": run(state, "pronote-accounts", "--uai", uai, "--sortie",
                                  f"{next(i for i, t in truth.items() if t['category'] == 'enseignants')}=2026-01-15"),
        "--responsables-inconnus": run(state, "pronote-accounts", "--uai", uai, "--responsables-inconnus", "0"),
        "rien à faire": run(state, "pronote-accounts", "--uai", uai),
    }
    for needle, done in refused.items():
        assert done.returncode == 2, (needle, done.stderr)
        assert needle in done.stderr and done.stderr.startswith("sandbox: ") and not done.stdout, needle
    assert "aucun compte ZZZZ" in refused["ZZZZ"].stderr and "établissement inconnu" in refused["0000000A"].stderr
    assert _dump(state) == dumped

    done = run(state, "pronote-accounts", "--uai", uai.lower(), "--nettoyer", "--dupliquer", pupils[0],
               "--sortie", f"{pupils[1]}=2026-01-15", "--responsables-inconnus", "2", "--show")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["uai"] == uai and shown["left"] == 1 and shown["absent_from_ent"] == 2
    assert shown["kinds"]["duplicate"] == 1 and shown["kinds"]["pronote_only"] == 2
    assert shown["kinds"]["exact"] == shown["total"] - 3 == sum(shown["categories"].values()) - 3
    assert set(shown["categories"]) == {c.element for c in pronote.CATEGORIES}
    assert "nettoyée" in done.stderr and f"Doublon de {pupils[0]} ajouté" in done.stderr
    assert "sorti le 2026-01-15" in done.stderr and "2 responsable(s) absent(s) de l'ENT ajouté(s)" in done.stderr
    after = json.loads(run(state, "truth", "--uai", uai).stdout)
    assert [t["login"] for t in after.values() if t["kind"] == "duplicate"] == [truth[pupils[0]]["login"]]

    show = run(state, "pronote-accounts", "--uai", uai, "--show")
    assert show.returncode == 0 and json.loads(show.stdout) == shown and not show.stderr
    again = run(state, "pronote-accounts", "--uai", uai, "--nettoyer")
    assert again.returncode == 0 and again.stdout.startswith(f"Base PRONOTE de {uai} nettoyée :")
    assert "1 élève(s) sorti(s) supprimé(s)" in again.stdout and "1 doublon(s) supprimé(s)" in again.stdout
    assert "2 compte(s) de personnes absentes de l'ENT supprimé(s)" in again.stdout
    dumped = _dump(state)
    clean = run(state, "pronote-accounts", "--uai", uai, "--nettoyer")
    assert clean.returncode == 0 and all(line.startswith("  0 ") for line in clean.stdout.splitlines()[1:])
    assert _dump(state) == dumped
