"""The deterministic demo region and its inventory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from sandbox import db, refdata
from sandbox.seed import SeedError, SeedOptions, seed_database
from sandbox.inventory import write_inventory
from sandbox.uai import is_valid_uai


def _seeded(tmp_path: Path, name: str, **options: object) -> tuple[db.sqlite3.Connection, object]:
    path = tmp_path / f"{name}.db"
    db.migrate(path)
    conn = db.connect(path)
    summary = seed_database(conn, SeedOptions(**options))  # type: ignore[arg-type]
    return conn, summary


def test_same_seed_gives_identical_data_and_other_seed_differs(tmp_path: Path) -> None:
    first, _ = _seeded(tmp_path, "a", seed=42)
    second, _ = _seeded(tmp_path, "b", seed=42)
    other, _ = _seeded(tmp_path, "c", seed=43)
    dump = db.dump_data(first)
    assert dump == db.dump_data(second)
    assert dump != db.dump_data(other)
    assert len(dump) > 10_000


def test_region_shape(tmp_path: Path) -> None:
    conn, summary = _seeded(tmp_path, "r", seed=42, etabs=6)
    projects = [tuple(r) for r in conn.execute("SELECT slug, name, real_cas_url FROM projects ORDER BY id")]
    assert projects == [("mbn", "Mon Bureau Numérique", "https://cas.monbureaunumerique.fr"),
                        ("occitanie", "Mon ENT Occitanie", "https://cas.mon-ent-occitanie.fr")]
    etabs = conn.execute("SELECT e.*, p.slug FROM etabs e JOIN projects p ON p.id = e.project_id").fetchall()
    assert len(etabs) == 6
    assert {e["slug"] for e in etabs} == {"mbn", "occitanie"}
    for etab in etabs:
        assert is_valid_uai(etab["uai"])
        dept = etab["uai"][:3]
        assert dept in refdata.PROJECTS_BY_SLUG[etab["slug"]].departements
        assert etab["name"].split(" ")[0] in ("Collège", "Lycée")
    counts = dict(conn.execute("SELECT profile, COUNT(*) FROM users GROUP BY profile").fetchall())
    assert set(counts) == set(refdata.PROFILES)
    assert 150 <= counts["Elève"] <= 200 and counts["Parent"] > counts["Elève"]
    assert summary.profiles == {p: counts[p] for p in refdata.PROFILES}


def test_directory_is_messy_like_real_data(tmp_path: Path) -> None:
    conn, _ = _seeded(tmp_path, "m")
    names = [r[0] + " " + r[1] for r in conn.execute("SELECT prenom, nom FROM users")]
    assert any("'" in n for n in names)
    assert any("-" in n for n in names)
    assert any(any(c in n for c in "éèëïœü") for n in names)
    # logins are prenom.nom, ASCII, with a numeric suffix on collision
    logins = [r[0] for r in conn.execute("SELECT login FROM users")]
    assert all(login.isascii() and login == login.lower() for login in logins)
    assert any(login[-1].isdigit() and not login.startswith("admin.") for login in logins)
    # pupils all have birth dates; most parents have none; parents are linked
    assert conn.execute("SELECT COUNT(*) FROM users WHERE profile = 'Elève' AND birth_date IS NULL").fetchone()[0] == 0
    parents = conn.execute("SELECT COUNT(*), SUM(birth_date IS NULL) FROM users WHERE profile = 'Parent'").fetchone()
    assert parents[1] / parents[0] > 0.7
    unlinked = conn.execute("SELECT COUNT(*) FROM users u WHERE profile = 'Parent' AND NOT EXISTS"
                            " (SELECT 1 FROM parent_links l WHERE l.parent_id = u.id)").fetchone()[0]
    assert unlinked == 0
    multi = conn.execute("SELECT COUNT(*) FROM (SELECT user_id FROM user_etabs GROUP BY user_id"
                         " HAVING COUNT(*) > 1)").fetchone()[0]
    assert multi >= 1
    groups = [r[0] for r in conn.execute("SELECT name FROM ent_groups")]
    assert "Professeurs principaux" in groups and any(g.startswith(("3e", "Tle", "2nde")) for g in groups)


def test_services_of_a_rentree(tmp_path: Path) -> None:
    conn, _ = _seeded(tmp_path, "s")
    for etab in conn.execute("SELECT id FROM etabs"):
        internal = [r[0] for r in conn.execute(
            "SELECT code FROM services WHERE etab_id = ? AND interne = 1 ORDER BY id", (etab["id"],))]
        assert internal == [c for c, _ in refdata.INTERNAL_SERVICES]
    pronote = conn.execute("SELECT * FROM services WHERE url LIKE '%index-education.net/pronote/'").fetchall()
    with_pronote = {r["etab_id"] for r in pronote}
    assert 0 < len(with_pronote) < 6
    for service in pronote:
        wrong = (service["bloc_version"] != refdata.CURRENT_PRONOTE_VERSION or service["sso_type"] != refdata.SSO_PRONOTE
                 or service["anonyme"] or service["pronote_cas_url"]
                 or conn.execute("SELECT COUNT(*) FROM access_rules WHERE service_id = ?", (service["id"],)).fetchone()[0] < 4)
        assert wrong, f"service {service['code']} of etab {service['etab_id']} has no defect"
        assert service["code"].startswith("USER_")


def test_admins_and_demo_accounts(tmp_path: Path) -> None:
    conn, summary = _seeded(tmp_path, "d")
    admins = {r["login"]: r for r in conn.execute("SELECT * FROM users WHERE is_admin = 1")}
    first_mbn = conn.execute("SELECT uai FROM etabs WHERE project_id = 1 ORDER BY id").fetchone()[0]
    assert set(admins) == {"admin.mbn", "admin.occitanie", f"admin.{first_mbn.lower()}",
                           f"admin.{conn.execute('SELECT uai FROM etabs WHERE project_id = 2 ORDER BY id').fetchone()[0].lower()}"}
    assert admins["admin.mbn"]["admin_all_sites"] == 1
    assert admins[f"admin.{first_mbn.lower()}"]["admin_all_sites"] == 0
    demo = [r[0] for r in conn.execute("SELECT profile FROM users WHERE login LIKE 'demo.%' AND project_id = 1 ORDER BY id")]
    assert demo == list(refdata.PROFILES)
    assert "Demo-2026!" in summary.render()  # type: ignore[attr-defined]


def test_seed_refuses_to_overwrite_without_reset(tmp_path: Path) -> None:
    conn, _ = _seeded(tmp_path, "x")
    with pytest.raises(SeedError, match="--reset"):
        seed_database(conn, SeedOptions(seed=1))
    seed_database(conn, SeedOptions(seed=1, etabs=2, projects=("occitanie",)), reset=True)
    assert [r[0] for r in conn.execute("SELECT slug FROM projects")] == ["occitanie"]
    with pytest.raises(SeedError, match="inconnu"):
        seed_database(conn, SeedOptions(projects=("atlantide",)), reset=True)


def test_two_hundred_etabs_are_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    conn, _ = _seeded(tmp_path, "big", etabs=200)
    assert time.monotonic() - started < 20
    uais = [r[0] for r in conn.execute("SELECT uai FROM etabs")]
    assert len(uais) == len(set(uais)) == 200 and all(is_valid_uai(u) for u in uais)


def test_inventory(tmp_path: Path) -> None:
    conn, _ = _seeded(tmp_path, "i")
    files = write_inventory(conn, tmp_path / "inv", "https://127.0.0.1:8443/", "https://127.0.0.1:8444/")
    uais = sorted(r["uai"] for r in conn.execute("SELECT uai FROM etabs"))
    assert [f.name for f in files] == ["hosts.yml", "ent_mbn.yml", "ent_occitanie.yml"] + [f"{u}.yml" for u in uais]
    hosts = yaml.safe_load((tmp_path / "inv" / "hosts.yml").read_text(encoding="utf-8"))
    groups = hosts["all"]["children"]
    assert set(groups) == {"ent_mbn", "ent_occitanie"}
    expected = {r["uai"]: r["name"] for r in conn.execute("SELECT uai, name FROM etabs WHERE project_id = 1")}
    assert {uai: v["etab_name"] for uai, v in groups["ent_mbn"]["hosts"].items()} == expected
    gv = yaml.safe_load((tmp_path / "inv" / "group_vars" / "ent_mbn.yml").read_text(encoding="utf-8"))
    assert gv == {"ent_project": "Mon Bureau Numérique", "ent_console_url": "https://127.0.0.1:8443/mbn/",
                  "ent_cas_url": "https://127.0.0.1:8443/mbn/cas",
                  "pronote_root": "https://127.0.0.1:8443/index-education/", "pronote_hosting_url": "https://127.0.0.1:8444/"}
    # test accounts: one per profile, each a clean copy in PRONOTE of an ENT account of that profile
    for uai in uais:
        accounts = yaml.safe_load((tmp_path / "inv" / "host_vars" / f"{uai}.yml").read_text(encoding="utf-8"))
        by_profile = {a["profile"]: a for a in accounts["pronote_sso_test_accounts"]}
        assert set(by_profile) == {"Elève", "Parent", "Enseignant", "Personnel"}
        for profile, account in by_profile.items():
            row = conn.execute(
                "SELECT u.profile, p.kind, p.nom, p.prenom FROM users u JOIN pronote_accounts p"
                " ON p.true_user_id = u.id JOIN etabs e ON e.id = p.etab_id WHERE u.login = ? AND e.uai = ?",
                (account["login"], uai)).fetchall()
            assert len(row) == 1 and row[0]["profile"] == profile and row[0]["kind"] == "exact"
            assert account["name"] == f"{row[0]['nom'].upper()} {row[0]['prenom']}"
