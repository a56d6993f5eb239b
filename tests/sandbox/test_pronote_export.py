"""The identifiers file: the sandbox's export (as PRONOTE writes it) and the ENT's reader."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from sandbox import identifiers, pronote
from sandbox.state import REPO_ROOT
from sandbox_support import seeded_database

@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    return seeded_database(tmp_path_factory.mktemp("export") / "r.db")


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def test_export_is_valid_crlf_utf8_without_namespace(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    for etab in conn.execute("SELECT * FROM etabs"):
        data = pronote.render_export(conn, etab["uai"])
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n')
        assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n")
        data.decode("utf-8")
        root = _parse(data)
        schema.assertValid(root.getroottree())
        assert root.tag == "IdentifiantsPRONOTE" and root.nsmap == {}
        assert root.get("UAI") == etab["uai"] and root.get("NomEtablissement") == etab["name"]
        assert root.get("UniquementSansIdentifiantCAS") == "false"
        people = root.xpath("/*/*/*[@Identifiant]")
        count = conn.execute("SELECT COUNT(*) FROM pronote_accounts WHERE etab_id = ?", (etab["id"],)).fetchone()[0]
        assert len(people) == count
        assert [c.tag for c in root] == [c.section for c in pronote.CATEGORIES]
        for person in people:
            for name in ("DateNaissance", "DateSortie"):
                value = person.get(name)
                assert value is None or (len(value) == 10 and value[4] == "-")
        links = conn.execute("SELECT COUNT(*) FROM pronote_children c JOIN pronote_accounts r ON r.id = c.responsable_id"
                             " WHERE r.etab_id = ?", (etab["id"],)).fetchone()[0]
        assert len(root.xpath("//Responsable/Enfant")) == links
    left = _parse(pronote.render_export(conn, conn.execute("SELECT uai FROM etabs").fetchone()[0]))
    assert left.xpath("//Eleve[@DateSortie]") and left.xpath("//Responsable[@AccesEspaceParents]")


def test_export_sans_identifiant_cas(conn: sqlite3.Connection, schema: etree.XMLSchema) -> None:
    etab = conn.execute("SELECT e.* FROM etabs e WHERE EXISTS (SELECT 1 FROM pronote_accounts a WHERE a.etab_id = e.id"
                        " AND a.identifiant_cas IS NOT NULL) ORDER BY e.id").fetchone()
    full = _parse(pronote.render_export(conn, etab["uai"]))
    only_new = _parse(pronote.render_export(conn, etab["uai"], sans_identifiant_cas=True))
    schema.assertValid(only_new.getroottree())
    assert only_new.get("UniquementSansIdentifiantCAS") == "true"
    assert not only_new.xpath("//*[@IdentifiantCAS]") and full.xpath("//*[@IdentifiantCAS]")
    expected = {r[0] for r in conn.execute("SELECT ident FROM pronote_accounts WHERE etab_id = ? AND identifiant_cas"
                                           " IS NULL", (etab["id"],))}
    assert set(only_new.xpath("/*/*/*/@Identifiant")) == expected


def test_reader_accepts_what_the_contract_says(conn: sqlite3.Connection) -> None:
    uai = conn.execute("SELECT uai FROM etabs ORDER BY id").fetchone()[0]
    data = pronote.render_export(conn, uai)
    reference = identifiers.parse_file(data)
    assert reference.uai == uai
    key = [(r.step, r.ident, r.nom, r.prenom, r.birth_date) for r in reference.rows]
    count = conn.execute("SELECT COUNT(*) FROM pronote_accounts a JOIN etabs e ON e.id = a.etab_id WHERE e.uai = ?",
                         (uai,)).fetchone()[0]
    assert len(key) == count
    text = data.decode("utf-8")
    namespaced = text.replace("<IdentifiantsPRONOTE ", '<p:IdentifiantsPRONOTE xmlns:p="urn:x-pronote" ', 1)
    namespaced = namespaced.replace("</IdentifiantsPRONOTE>", "</p:IdentifiantsPRONOTE>")
    default_ns = text.replace("<IdentifiantsPRONOTE ", '<IdentifiantsPRONOTE xmlns="http://example.org/ids" ', 1)
    latin = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("’", "'")
    cp1252 = text.replace('encoding="UTF-8"', 'encoding="windows-1252"')
    french = etree.tostring(_parse(data)).decode("utf-8")
    for name in ("DateNaissance", "DateSortie"):
        french = re.sub(rf'{name}="(\d{{4}})-(\d{{2}})-(\d{{2}})"', rf'{name}="\3/\2/\1"', french)
    assert "/20" in french
    variants = {
        "namespace": namespaced.encode("utf-8"),
        "default namespace": default_ns.encode("utf-8"),
        "bom": b"\xef\xbb\xbf" + data,
        "lf": data.replace(b"\r\n", b"\n"),
        "iso-8859-1": latin.encode("iso-8859-1", errors="replace"),
        "windows-1252": cp1252.encode("cp1252"),
        "dd/mm/yyyy": french.encode("utf-8"),
    }
    for label, variant in variants.items():
        parsed = identifiers.parse_file(variant)
        got = [(r.step, r.ident, r.nom, r.prenom, r.birth_date) for r in parsed.rows]
        if label == "iso-8859-1":
            got = [(s, i, n.replace("?", "œ"), p.replace("?", "œ"), b) for s, i, n, p, b in got]
            expected = [(s, i, n.replace("’", "'"), p.replace("’", "'"), b) for s, i, n, p, b in key]
            assert [g[:2] + g[4:] for g in got] == [e[:2] + e[4:] for e in expected], label
        else:
            assert got == key, label


def _error(data: bytes) -> tuple[int, str]:
    with pytest.raises(identifiers.InvalidFile) as caught:
        identifiers.parse_file(data)
    return caught.value.line, caught.value.message


def test_reader_refuses_with_the_line(conn: sqlite3.Connection) -> None:
    uai = conn.execute("SELECT uai FROM etabs ORDER BY id").fetchone()[0]
    lines = pronote.render_export(conn, uai).decode("utf-8").split("\r\n")
    first_pupil = next(n for n, line in enumerate(lines) if line.strip().startswith("<Eleve "))
    ident = lines[first_pupil].split('Identifiant="')[1][:16]

    def variant(number: int, line: str) -> bytes:
        copy = list(lines)
        copy[number] = line
        return "\r\n".join(copy).encode("utf-8")

    line, message = _error(b"ceci n'est pas du XML")
    assert line == 1 and message.startswith("Le fichier n'est pas un fichier d'identifiants PRONOTE valide (ligne 1 : ")
    assert message.endswith(").")
    assert _error(variant(first_pupil, lines[first_pupil].replace("/>", "></Elev>")))[0] == first_pupil + 1
    line, message = _error(b'<?xml version="1.0"?>\n\n<Identifiants UAI="0671824U"/>')
    assert line == 3 and "racine" in message
    line, message = _error(variant(first_pupil, lines[first_pupil].replace(ident, "abc")))
    assert line == first_pupil + 1 and "« abc »" in message
    line, message = _error(variant(first_pupil + 1, lines[first_pupil + 1].split('Identifiant="')[0]
                                   + f'Identifiant="{ident}"' + lines[first_pupil + 1].split('"', 2)[2]))
    assert line == first_pupil + 2 and f"« {ident} » déjà présent ligne {first_pupil + 1}" in message
    line, message = _error(variant(first_pupil, lines[first_pupil].replace('DateNaissance="', 'DateNaissance="31/02/')))
    assert line == first_pupil + 1 and "date" in message
    line, message = _error(variant(first_pupil, lines[first_pupil].replace(" Nom=", " Nim=")))
    assert line == first_pupil + 1
    line, message = _error(variant(first_pupil, "  <Autre/>"))
    assert line == first_pupil + 1 and "schéma" in message
    entity = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
              b'<IdentifiantsPRONOTE Version="1" DateExport="2026-01-01T00:00:00" UAI="0671824U">&e;</IdentifiantsPRONOTE>')
    assert "DOCTYPE" in _error(entity)[1]
    assert _error(b"")[0] == 1


# ---------------------------------------------------------------- command line

def run(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=REPO_ROOT,
                          capture_output=True, timeout=120)


def test_cli_export_truth_and_added_accounts(tmp_path: Path, schema: etree.XMLSchema) -> None:
    state = tmp_path / "state"
    seeded = run(state, "seed", "--etabs", "2")
    assert seeded.returncode == 0
    out = seeded.stdout.decode("utf-8")
    assert "Bases PRONOTE (" in out and "parent_no_ent_birth_date" in out
    uai = next(line.split()[0] for line in out.splitlines() if line.startswith("  0"))
    target = tmp_path / "ids.xml"
    done = run(state, "export", "--uai", uai, "--out", str(target))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    schema.assertValid(etree.parse(str(target)))
    stdout = run(state, "export", "--uai", uai.lower(), "--sans-identifiant-cas")
    assert stdout.returncode == 0 and b'UniquementSansIdentifiantCAS="true"' in stdout.stdout
    everything = run(state, "export", "--all", "--out-dir", str(tmp_path / "all"))
    assert everything.returncode == 0
    files = sorted((tmp_path / "all").iterdir())
    assert len(files) == 2 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert f"{uai}.xml" in [f.name for f in files]
    assert run(state, "export", "--uai", "0000000A").returncode == 2
    assert run(state, "export", "--all").returncode == 2

    truth = run(state, "truth", "--uai", uai)
    assert truth.returncode == 0
    before = json.loads(truth.stdout)
    assert set(before) == set(etree.parse(str(target)).xpath("/*/*/*/@Identifiant"))
    assert {v["category"] for v in before.values()} == {"enseignants", "eleves", "responsables", "maitres_de_stage",
                                                        "inspecteurs", "personnels"}
    assert any(v["login"] is None for v in before.values())

    added = run(state, "add-pronote-accounts", "--uai", uai, "--count", "3")
    assert added.returncode == 0, added.stderr
    lines = [line.split() for line in added.stdout.decode("utf-8").splitlines()[1:]]
    assert [line[0] for line in lines] == ["Eleve", "Responsable"] * 3
    after = json.loads(run(state, "truth", "--uai", uai).stdout)
    new = {line[1]: line[-1] for line in lines}
    assert set(after) - set(before) == set(new)
    assert {ident: after[ident]["login"] for ident in new} == new
    only_new = etree.fromstring(run(state, "export", "--uai", uai, "--sans-identifiant-cas").stdout)
    assert set(new) <= set(only_new.xpath("/*/*/*/@Identifiant"))
    links = {(r.get("Identifiant"), e) for r in only_new.xpath("//Responsable") for e in r.xpath("Enfant/@Identifiant")}
    assert len({(p[1], c[1]) for p, c in zip(lines[1::2], lines[0::2])} & links) == 3
    assert run(state, "add-pronote-accounts", "--uai", uai, "--count", "0").returncode == 2
