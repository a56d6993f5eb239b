"""The PRONOTE bases of the seed: determinism, messiness kinds, ground truth."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from sandbox import db, pronote_seed
from sandbox.identifiers import FileRow, SiteAccount, plain_match
from sandbox.pronote import CATEGORIES, CATEGORY_BY_ELEMENT, KINDS, ground_truth
from sandbox.seed import SeedOptions, seed_database, validate_options

#: The default region (seed 42, 6 établissements), as tests/sandbox/test_cli.py and inventories/demo know it.
DEFAULT_UAIS = ["0671824U", "0312286S", "0679674B", "0118279P", "0518928C", "0312615Z"]


def _seed(path: Path, **options: object) -> tuple[sqlite3.Connection, object]:
    db.migrate(path)
    conn = db.connect(path)
    return conn, seed_database(conn, SeedOptions(**options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, object]:
    """The default region (seed 42, 6 établissements)."""
    return _seed(tmp_path_factory.mktemp("pronote-seed") / "r.db")


def _strip(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text)
                                                 if not unicodedata.combining(c)))


def test_pronote_bases_are_deterministic(tmp_path: Path) -> None:
    first, _ = _seed(tmp_path / "a.db", seed=42)
    second, _ = _seed(tmp_path / "b.db", seed=42)
    other, _ = _seed(tmp_path / "c.db", seed=43)
    dump = db.dump_data(first)
    assert dump == db.dump_data(second)
    for table in ("pronote_accounts", "pronote_children", "ent_identifiers"):
        assert f"-- {table}\n(" in dump
    mine = lambda c: [tuple(r) for r in c.execute("SELECT * FROM pronote_accounts ORDER BY id")]  # noqa: E731
    assert mine(first) != mine(other)


def test_the_region_itself_does_not_depend_on_the_pronote_bases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """UAIs, logins, services and rules are those of a region built without PRONOTE bases;
    the ENT side only differs by the names of ``accents_ent`` people and the dates of ``twins``."""
    full, _ = _seed(tmp_path / "full.db")
    monkeypatch.setattr(pronote_seed.PronoteBuilder, "build", lambda self: None)
    bare, _ = _seed(tmp_path / "bare.db")
    assert [r[0] for r in full.execute("SELECT uai FROM etabs ORDER BY id")] == DEFAULT_UAIS
    for table in ("projects", "etabs", "user_etabs", "parent_links", "ent_groups", "group_members", "admin_sites",
                  "services", "access_rules"):
        sql = f"SELECT * FROM {table} ORDER BY 1, 2"  # noqa: S608
        assert [tuple(r) for r in full.execute(sql)] == [tuple(r) for r in bare.execute(sql)], table
    columns = "id, project_id, login, profile, postal_code, password_hash, is_admin, admin_all_sites"
    sql = f"SELECT {columns} FROM users ORDER BY id"  # noqa: S608
    assert [tuple(r) for r in full.execute(sql)] == [tuple(r) for r in bare.execute(sql)]
    respelled = {r[0] for r in full.execute("SELECT true_user_id FROM pronote_accounts WHERE kind = 'accents_ent'")}
    twins = {r[0] for r in full.execute("SELECT true_user_id FROM pronote_accounts WHERE kind = 'twins'")}
    before = {r[0]: tuple(r)[1:] for r in bare.execute("SELECT id, nom, prenom, birth_date FROM users")}
    for user_id, nom, prenom, birth in full.execute("SELECT id, nom, prenom, birth_date FROM users"):
        old_nom, old_prenom, old_birth = before[user_id]
        if (nom, prenom) != (old_nom, old_prenom):
            assert user_id in respelled and (nom, prenom) == (_strip(old_nom), _strip(old_prenom))
        if birth != old_birth:
            assert user_id in twins
    assert respelled and twins


def test_every_kind_is_present_and_listed(region: tuple[sqlite3.Connection, object]) -> None:
    conn, summary = region
    kinds = Counter(dict(conn.execute("SELECT kind, COUNT(*) FROM pronote_accounts GROUP BY kind").fetchall()))
    assert set(kinds) == set(KINDS), set(KINDS) ^ set(kinds)
    text = summary.render()  # type: ignore[attr-defined]
    for kind, count in kinds.items():
        assert any(line.split()[:2] == [kind, str(count)] for line in text.splitlines()), kind
    categories = dict(conn.execute("SELECT category, COUNT(*) FROM pronote_accounts GROUP BY category").fetchall())
    assert set(categories) == set(CATEGORY_BY_ELEMENT)
    for category in CATEGORIES:
        assert f"    {category.section:<24} {categories[category.element]}" in text
    assert "comptes ENT sans compte PRONOTE" in text and "IdentifiantCAS renseigné" in text
    # most people are clean or lightly messy
    light = kinds["exact"] + kinds["case"] + kinds["homonym"] + kinds["parent_no_ent_birth_date"]
    assert light / sum(kinds.values()) > 0.6


def _accounts(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT a.*, u.nom AS ent_nom, u.prenom AS ent_prenom, u.birth_date AS ent_birth, u.login, u.profile"
        " FROM pronote_accounts a LEFT JOIN users u ON u.id = a.true_user_id ORDER BY a.id").fetchall()


def test_each_kind_is_what_it_says(region: tuple[sqlite3.Connection, object]) -> None:
    conn, _ = region
    for a in _accounts(conn):
        kind, nom, prenom = a["kind"], a["nom"], a["prenom"]
        ent_nom, ent_prenom = a["ent_nom"], a["ent_prenom"]
        assert len(a["ident"]) == 16 and a["ident"].isalnum() and a["ident"] == a["ident"].upper()
        if kind in ("left", "pronote_only"):
            assert a["true_user_id"] is None
            assert (a["date_sortie"] is not None) == (kind == "left")
            continue
        assert a["true_user_id"] is not None, kind
        assert CATEGORY_BY_ELEMENT[a["category"]].profile == a["profile"]
        assert a["date_sortie"] is None
        if kind in ("exact", "homonym", "twins", "parent_no_ent_birth_date"):
            assert (nom, prenom) == (ent_nom, ent_prenom), kind
        elif kind == "case":
            assert (nom, prenom) == (ent_nom.upper(), ent_prenom) and nom != ent_nom
        elif kind == "accents_pronote":
            assert (nom, prenom) == (_strip(ent_nom), _strip(ent_prenom)) and (nom, prenom) != (ent_nom, ent_prenom)
        elif kind == "accents_ent":
            assert (ent_nom, ent_prenom) == (_strip(nom), _strip(prenom)) and (nom, prenom) != (ent_nom, ent_prenom)
        elif kind == "hyphen_space":
            assert prenom == ent_prenom and nom != ent_nom
            assert nom.replace("-", " ") == ent_nom.replace("-", " ")
        elif kind == "composed_prenom":
            assert nom == ent_nom and prenom != ent_prenom
            assert prenom.replace("-", " ") == ent_prenom.replace("-", " ") or \
                ent_prenom.replace("-", " ").startswith(prenom + " ")
        elif kind == "second_prenom":
            assert nom == ent_nom and prenom.startswith(ent_prenom + " ")
        elif kind == "apostrophe":
            assert "’" in nom + prenom and (nom.replace("’", "'"), prenom.replace("’", "'")) == (ent_nom, ent_prenom)
        elif kind == "oe":
            assert "œ" in (ent_nom + ent_prenom).lower() and "œ" not in (nom + prenom).lower()
        if kind in ("twins", "homonym") or a["category"] != "Responsable":
            if a["ent_birth"] and kind != "duplicate":
                assert a["birth_date"] == a["ent_birth"]
        if kind == "parent_no_ent_birth_date":
            assert a["ent_birth"] is None and a["category"] == "Responsable"


def test_twins_homonyms_and_duplicates(region: tuple[sqlite3.Connection, object]) -> None:
    conn, _ = region
    accounts = _accounts(conn)
    twins = [a for a in accounts if a["kind"] == "twins"]
    by_key = Counter((a["etab_id"], a["nom"], a["birth_date"]) for a in twins)
    assert any(count == 2 for count in by_key.values())
    for a in twins:
        assert a["category"] == "Eleve"
    for a in (a for a in accounts if a["kind"] == "homonym"):
        same = [b for b in accounts if b["etab_id"] == a["etab_id"] and b["category"] == a["category"]
                and b["nom"].lower() == a["nom"].lower() and b["prenom"].lower() == a["prenom"].lower()
                and b["true_user_id"] != a["true_user_id"]]
        assert same, a["ident"]
    duplicates = [a for a in accounts if a["kind"] == "duplicate"]
    for copy in duplicates:
        originals = [a for a in accounts if a["etab_id"] == copy["etab_id"] and a["true_user_id"] == copy["true_user_id"]
                     and a["id"] != copy["id"]]
        assert len(originals) == 1 and originals[0]["ident"] != copy["ident"]


def test_ground_truth_and_links(region: tuple[sqlite3.Connection, object]) -> None:
    conn, _ = region
    for etab in conn.execute("SELECT * FROM etabs"):
        truth = ground_truth(conn, etab["uai"])
        accounts = conn.execute("SELECT a.*, u.login FROM pronote_accounts a LEFT JOIN users u ON u.id = a.true_user_id"
                                " WHERE a.etab_id = ?", (etab["id"],)).fetchall()
        assert set(truth) == {a["ident"] for a in accounts}
        for a in accounts:
            assert truth[a["ident"]] == {"login": a["login"], "category": CATEGORY_BY_ELEMENT[a["category"]].key,
                                         "kind": a["kind"]}
        # people in both systems are attached to the établissement in the ENT
        unattached = conn.execute(
            "SELECT COUNT(*) FROM pronote_accounts a WHERE a.etab_id = ? AND a.true_user_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM user_etabs ue WHERE ue.user_id = a.true_user_id AND ue.etab_id = a.etab_id)",
            (etab["id"],)).fetchone()[0]
        assert unattached == 0
    with pytest.raises(LookupError):
        ground_truth(conn, "0000000A")
    # Enfant links: same établissement, responsable -> pupil, mirroring the ENT for people in both
    wrong = conn.execute(
        "SELECT COUNT(*) FROM pronote_children c JOIN pronote_accounts r ON r.id = c.responsable_id"
        " JOIN pronote_accounts e ON e.id = c.eleve_id WHERE r.etab_id != e.etab_id OR r.category != 'Responsable'"
        " OR e.category != 'Eleve' OR (r.true_user_id IS NOT NULL AND e.true_user_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM parent_links l WHERE l.parent_id = r.true_user_id AND l.child_id = e.true_user_id))"
    ).fetchone()[0]
    assert wrong == 0
    left_with_family = conn.execute(
        "SELECT COUNT(*) FROM pronote_children c JOIN pronote_accounts e ON e.id = c.eleve_id WHERE e.kind = 'left'"
    ).fetchone()[0]
    assert left_with_family > 0


def test_last_year_state(region: tuple[sqlite3.Connection, object]) -> None:
    """IdentifiantCAS and ENT pairs only where a PRONOTE service existed last year; pairs are consistent."""
    conn, _ = region
    last_year = {r[0] for r in conn.execute("SELECT DISTINCT etab_id FROM services WHERE url LIKE '%index-education%'")}
    with_cas = {r[0] for r in conn.execute("SELECT DISTINCT etab_id FROM pronote_accounts"
                                           " WHERE identifiant_cas IS NOT NULL")}
    paired = {r[0] for r in conn.execute("SELECT DISTINCT etab_id FROM ent_identifiers")}
    assert with_cas == paired == last_year and last_year
    stale = conn.execute("SELECT COUNT(*) FROM pronote_accounts a JOIN users u ON u.id = a.true_user_id"
                         " WHERE a.identifiant_cas IS NOT NULL AND a.identifiant_cas != u.login").fetchone()[0]
    current = conn.execute("SELECT COUNT(*) FROM pronote_accounts a JOIN users u ON u.id = a.true_user_id"
                           " WHERE a.identifiant_cas = u.login").fetchone()[0]
    assert 0 < stale < current
    bad = conn.execute("SELECT COUNT(*) FROM ent_identifiers i LEFT JOIN pronote_accounts a ON a.etab_id = i.etab_id"
                       " AND a.ident = i.ident WHERE a.true_user_id IS NOT i.user_id").fetchone()[0]
    assert bad == 0
    assert conn.execute("SELECT COUNT(*) FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
                        " WHERE u.login LIKE 'demo.%'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM pronote_accounts WHERE acces_espace_parents = 0").fetchone()[0] > 0
    assert conn.execute("SELECT COUNT(*) FROM pronote_accounts WHERE category = 'Eleve' AND true_user_id IS NOT NULL"
                        " AND (classe IS NULL OR postal_code IS NULL)").fetchone()[0] == 0


def _fold(text: str) -> str:
    folded = _strip(text.replace("œ", "oe").replace("Œ", "Oe")).lower()
    return " ".join(folded.replace("-", " ").replace("’", "'").split())


def test_plain_rule_recognises_clearly_fewer_than_a_normalising_matcher(tmp_path: Path) -> None:
    conn, _ = _seed(tmp_path / "p.db", etabs=4, scale=3)
    plain: Counter = Counter()
    folded: Counter = Counter()
    people: Counter = Counter()
    for etab in conn.execute("SELECT * FROM etabs"):
        site = [SiteAccount(*r) for r in conn.execute(
            "SELECT u.id, u.login, u.profile, u.nom, u.prenom, u.birth_date FROM user_etabs ue"
            " JOIN users u ON u.id = ue.user_id WHERE ue.etab_id = ?", (etab["id"],))]
        for category in CATEGORIES:
            accounts = conn.execute("SELECT * FROM pronote_accounts WHERE etab_id = ? AND category = ? ORDER BY id",
                                    (etab["id"], category.element)).fetchall()
            rows = [FileRow(category.step, a["ident"], a["nom"], a["prenom"], a["birth_date"], 0) for a in accounts]
            mine = [s for s in site if s.profile == category.profile]
            for a, match in zip(accounts, plain_match(rows, mine)):
                people[category.element] += a["true_user_id"] is not None
                if match is not None:
                    assert match == a["true_user_id"]
                    plain[category.element] += 1
            # a simple normalising matcher: folded names, birth dates ignored, unique candidates only
            index: dict[tuple[str, str], list[int]] = {}
            for s in mine:
                index.setdefault((_fold(s.nom), _fold(s.prenom)), []).append(s.id)
            for a in accounts:
                found = index.get((_fold(a["nom"]), _fold(a["prenom"])), [])
                folded[category.element] += len(found) == 1 and found[0] == a["true_user_id"]
    assert plain["Eleve"] / people["Eleve"] > 0.7
    assert plain["Responsable"] / people["Responsable"] < 0.25
    assert folded["Responsable"] > 2 * plain["Responsable"]
    assert sum(folded.values()) > sum(plain.values()) * 1.2


def test_scale_of_the_bench_is_accepted() -> None:
    validate_options(SeedOptions(etabs=200, scale=33))
