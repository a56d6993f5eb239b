"""The CSV directory loader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import db
from sandbox.directory import DirectoryError, load_file
from sandbox.seed import SeedOptions, seed_database
from sandbox.state import REPO_ROOT

HEADER = "login;profil;nom;prenom;date_naissance;code_postal;uai;enfants\n"


@pytest.fixture
def region(tmp_path: Path) -> tuple[db.sqlite3.Connection, list[str], Path]:
    path = tmp_path / "sandbox.db"
    db.migrate(path)
    conn = db.connect(path)
    seed_database(conn, SeedOptions(seed=7, etabs=4))
    uais = [r[0] for r in conn.execute("SELECT uai FROM etabs WHERE project_id = 1 ORDER BY id")]
    return conn, uais, tmp_path


def _write(tmp_path: Path, body: str, name: str = "annuaire.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _user(conn: db.sqlite3.Connection, login: str) -> db.sqlite3.Row | None:
    return conn.execute("SELECT * FROM users WHERE project_id = 1 AND login = ?", (login,)).fetchone()


def test_good_file_is_loaded_and_upserted(region: tuple) -> None:
    conn, uais, tmp_path = region
    a, b = uais[0], uais[1]
    path = _write(tmp_path, (
        f"lea.n-diaye;Elève;N'Diaye;Léa;2013-02-28;67000;{a};\n"
        f"noe.dupre-lafon;Elève;Dupré-Lafon;Noé;2012-11-03;;{b};\n"
        f"awa.n-diaye;Parent;N'Diaye;Awa;;67000;{a}|{b};lea.n-diaye|noe.dupre-lafon\n"
        f"prof.multi;Enseignant;Œhler;Gaëtan;1980-01-01;;{a.lower()}|{b};\n"
        f"insp.x;Inspecteur;de La Tour;Anne-Marie;;;{a};\n"
    ))
    result = load_file(conn, path, "mbn")
    assert (result.created, result.updated) == (5, 0)
    parent = _user(conn, "awa.n-diaye")
    assert parent["nom"] == "N'Diaye" and parent["birth_date"] is None
    children = [r[0] for r in conn.execute(
        "SELECT u.login FROM parent_links l JOIN users u ON u.id = l.child_id WHERE l.parent_id = ? ORDER BY u.login",
        (parent["id"],))]
    assert children == ["lea.n-diaye", "noe.dupre-lafon"]
    prof_uais = [r[0] for r in conn.execute(
        "SELECT e.uai FROM user_etabs ue JOIN etabs e ON e.id = ue.etab_id WHERE ue.user_id = ? ORDER BY e.uai",
        (_user(conn, "prof.multi")["id"],))]
    assert prof_uais == sorted([a, b])
    # upsert: same login, new name and a single UAI
    path = _write(tmp_path, f"prof.multi;Enseignant;Oehler;Gaëtan;1980-01-01;;{b};\n", "again.csv")
    result = load_file(conn, path, "mbn")
    assert (result.created, result.updated) == (0, 1)
    assert _user(conn, "prof.multi")["nom"] == "Oehler"
    assert conn.execute("SELECT COUNT(*) FROM user_etabs WHERE user_id = ?",
                        (_user(conn, "prof.multi")["id"],)).fetchone()[0] == 1


def test_every_bad_line_is_named_and_nothing_is_loaded(region: tuple) -> None:
    conn, uais, tmp_path = region
    a = uais[0]
    other_project_uai = conn.execute("SELECT uai FROM etabs WHERE project_id = 2").fetchone()[0]
    wrong_letter = a[:7] + ("A" if a[7] != "A" else "B")
    body = (
        f"ok.eleve;Elève;Martin;Léo;2012-01-01;;{a};\n"                 # 2 good
        f";Elève;Martin;Léo;2012-01-01;;{a};\n"                          # 3 empty login
        f"bad login;Elève;Martin;Léo;2012-01-01;;{a};\n"                 # 4 login syntax
        f"x.profil;Eleve;Martin;Léo;2012-01-01;;{a};\n"                  # 5 unknown profile
        f"x.nom;Enseignant;;Léo;;;{a};\n"                                # 6 empty nom
        f"x.date;Elève;Martin;Léo;2012-02-30;;{a};\n"                    # 7 bad date
        f"x.nodate;Elève;Martin;Léo;;;{a};\n"                            # 8 pupil without date
        f"x.cp;Parent;Martin;Léa;;6700;{a};ok.eleve\n"                   # 9 postal code
        f"x.uai;Enseignant;Martin;Léa;;;{wrong_letter};\n"               # 10 check letter
        f"x.other;Enseignant;Martin;Léa;;;{other_project_uai};\n"        # 11 UAI of another project
        f"x.child;Parent;Martin;Léa;;;{a};nobody.here\n"                 # 12 unknown child
        f"x.kids;Enseignant;Martin;Léa;;;{a};ok.eleve\n"                 # 13 enfants on a teacher
        f"ok.eleve;Elève;Martin;Léo;2012-01-01;;{a};\n"                  # 14 duplicate login
        f"x.fields;Elève;Martin\n"                                       # 15 field count
        f"x.noai;Personnel;Martin;Léa;;;;\n"                             # 16 no UAI
        f"x.notpupil;Parent;Martin;Léa;;;{a};x.nom\n"                    # 17 child is not a pupil... and invalid
    )
    path = _write(tmp_path, body)
    before = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    with pytest.raises(DirectoryError) as caught:
        load_file(conn, path, "mbn", label="annuaire.csv")
    errors = caught.value.errors
    by_line = {int(e.split(":")[1]): e for e in errors}
    expected = {
        3: "login vide", 4: "login « bad login » invalide", 5: "profil « Eleve » inconnu", 6: "nom vide",
        7: "date_naissance « 2012-02-30 » invalide", 8: "date_naissance obligatoire pour un élève",
        9: "code_postal « 6700 » invalide", 10: "lettre de contrôle", 11: "établissement inconnu dans ce projet",
        12: "enfant « nobody.here » inconnu", 13: "enfants renseigné pour un compte qui n'est pas Parent",
        14: "déjà présent ligne 2", 15: "3 champ(s) au lieu de 8", 16: "uai vide",
    }
    for line, fragment in expected.items():
        assert line in by_line, f"line {line} not reported: {errors}"
        assert fragment in by_line[line], by_line[line]
        assert by_line[line].startswith(f"annuaire.csv:{line}: ")
    assert 2 not in by_line
    assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == before


def test_child_with_another_profile_and_bad_header(region: tuple) -> None:
    conn, uais, tmp_path = region
    teacher = conn.execute("SELECT login FROM users WHERE project_id = 1 AND profile = 'Enseignant'").fetchone()[0]
    path = _write(tmp_path, f"p.x;Parent;Martin;Léa;;;{uais[0]};{teacher}\n")
    with pytest.raises(DirectoryError) as caught:
        load_file(conn, path, "mbn", label="f.csv")
    assert caught.value.errors == [f"f.csv:2: enfant « {teacher} » n'est pas un compte Elève (Enseignant)"]
    bad = tmp_path / "bad.csv"
    bad.write_text("login,profil,nom\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match="bad.csv:1: en-tête attendu"):
        load_file(conn, bad, "mbn", label="bad.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + f"e.x;Elève;Lefèvre;Zoé;2012-01-01;;{uais[0]};\n").encode("latin-1"))
    with pytest.raises(DirectoryError, match="latin.csv:2: la ligne n'est pas en UTF-8"):
        load_file(conn, latin, "mbn", label="latin.csv")


def test_cli_exit_codes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    run = lambda *args: subprocess.run([sys.executable, "-m", "sandbox", *args, "--state-dir", str(state)],  # noqa: E731
                                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert run("seed", "--etabs", "2").returncode == 0
    conn = db.connect(state / "sandbox.db")
    uai = conn.execute("SELECT uai FROM etabs WHERE project_id = 1").fetchone()[0]
    good = _write(tmp_path, f"cli.eleve;Elève;Chloé;Zoé;2013-01-01;;{uai};\n", "good.csv")
    bad = _write(tmp_path, f"cli.bad;Elève;Chloé;Zoé;;;{uai};\n", "bad.csv")
    done = run("load-directory", str(bad), "--project", "mbn")
    assert done.returncode == 2
    assert f"{bad}:2: date_naissance obligatoire pour un élève" in done.stderr.splitlines()
    done = run("load-directory", str(good), "--project", "mbn")
    assert done.returncode == 0, done.stderr
    assert "1 créé(s)" in done.stdout
    assert conn.execute("SELECT COUNT(*) FROM users WHERE login = 'cli.eleve'").fetchone()[0] == 1
