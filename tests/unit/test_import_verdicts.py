"""_import.run_import and VerdictCache: a no-op verdict is reused only when every input is the same."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _import
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFileError, read_identifiers
from ansible_collections.ent.pronote.plugins.module_utils._import import VerdictCache, run_import
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ImportPages, Page
from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_IDENTIFIERS_IMPORT

EXPORT = Path(__file__).parent / "fixtures" / "identifiants" / "export_pronote.xml"


class Console:
    """The two pages of a site with no identifiers and a directory of unrelated accounts."""

    base = "https://ent.example/"

    def __init__(self, directory_rows: list[tuple[str, ...]]) -> None:
        self.directory_rows = directory_rows
        self.reads = 0
        self.uploads = 0
        self.pages: list[Page] = []

    def read_import_pages(self, uai: str) -> ImportPages:
        self.reads += 1
        identifiers = ("<table id='identifiants'><thead><tr><th>Compte ENT</th><th>Identifiant PRONOTE</th>"
                       "<th>Profil</th></tr></thead><tbody></tbody></table>")
        rows = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in self.directory_rows)
        directory = ("<table id='annuaire'><thead><tr><th>Compte ENT</th><th>Nom</th><th>Prénom</th>"
                     "<th>Date de naissance</th><th>Profil</th><th>Enfants</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
        digest = hashlib.sha256((identifiers + directory).encode()).hexdigest()
        pages = [Page(identifiers.encode(), "https://ent.example/identifiants", "utf-8"),
                 Page(directory.encode(), "https://ent.example/annuaire", "utf-8")]
        self.pages = pages
        return ImportPages(uai, *pages, digest)

    def start_import(self, *args):
        self.uploads += 1
        raise AssertionError("nothing to import: the file must not be uploaded")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    src = tmp_path / "export.xml"
    src.write_bytes(EXPORT.read_bytes())
    uai = read_identifiers(src).uai
    params = {k: v.get("default") for k, v in ENT_IDENTIFIERS_IMPORT.items()}
    params.update(uai=uai, src=str(src))
    decided = []
    real_decide = _import.decide
    monkeypatch.setattr(_import, "decide", lambda *a, **k: decided.append(1) or real_decide(*a, **k))
    console = Console([("x.inconnu", "Inconnu", "Xavier", "01/01/1990", "Enseignant", "")])
    return console, uai, params, VerdictCache("https://ent.example/", uai, str(tmp_path / "verdicts")), decided


def test_a_no_op_verdict_is_remembered_privately_and_reused(setup):
    console, uai, params, verdicts, decided = setup
    first, before, after = run_import(console, uai, params, False, verdicts)
    assert first["changed"] is False and "reused_verdict" not in first and len(decided) == 1
    assert stat.S_IMODE(os.stat(verdicts.path).st_mode) == 0o600
    assert all(page._doc is not None for page in console.pages)  # decided: both pages were read
    second, before2, after2 = run_import(console, uai, params, False, verdicts)
    assert second.pop("reused_verdict") is True
    assert all(page._doc is None for page in console.pages)  # reused: neither page was even parsed
    assert second == first and (before2, after2) == (before, after)
    assert len(decided) == 1 and console.reads == 2 and console.uploads == 0
    # check mode reuses it too: it is a verdict about the site, not about a run
    assert run_import(console, uai, params, True, verdicts)[0]["reused_verdict"] is True


def test_a_different_page_is_decided_again(setup):
    console, uai, params, verdicts, decided = setup
    run_import(console, uai, params, False, verdicts)
    console.directory_rows.append(("y.autre", "Autre", "Yves", "02/02/1991", "Enseignant", ""))
    again = run_import(console, uai, params, False, verdicts)[0]
    assert "reused_verdict" not in again and len(decided) == 2


@pytest.mark.parametrize("option", [("assisted", False), ("mode", "complet"), ("max_removed_share", 0.2),
                                    ("force", True), ("max_file_size", 10**6)])
def test_different_options_are_decided_again(setup, option):
    console, uai, params, verdicts, decided = setup
    run_import(console, uai, params, False, verdicts)
    result = run_import(console, uai, {**params, option[0]: option[1]}, False, verdicts)[0]
    assert "reused_verdict" not in result and len(decided) == 2


def test_manual_matches_are_part_of_the_verdict(setup, tmp_path):
    console, uai, params, verdicts, decided = setup
    run_import(console, uai, params, False, verdicts)
    manual = tmp_path / "manuel.csv"
    manual.write_text("identifiant_pronote;compte_ent\n", encoding="utf-8")
    # no decision in it: the same inputs as without the file
    assert run_import(console, uai, {**params, "manual_matches": str(manual)}, False, verdicts)[0]["reused_verdict"]
    ident = read_identifiers(Path(params["src"])).people[0].ident
    manual.write_text(f"identifiant_pronote;compte_ent\n{ident};x.inconnu\n", encoding="utf-8")
    predicted = run_import(console, uai, {**params, "manual_matches": str(manual)}, True, verdicts)[0]
    assert "reused_verdict" not in predicted and predicted["changed"] is True
    assert predicted["counts"]["total"]["manual"] == 1 and len(decided) == 2


def test_a_changed_file_is_checked_and_decided_again(setup):
    console, uai, params, verdicts, decided = setup
    run_import(console, uai, params, False, verdicts)
    src = Path(params["src"])
    src.write_bytes(src.read_bytes() + b"\n")
    assert "reused_verdict" not in run_import(console, uai, params, False, verdicts)[0]
    assert len(decided) == 2
    # a broken file is refused before the ENT is read, verdict or not
    src.write_bytes(src.read_bytes()[:500])
    reads = console.reads
    with pytest.raises(IdentifiersFileError) as err:
        run_import(console, uai, params, False, verdicts)
    assert str(src) in str(err.value) and console.reads == reads


def test_a_report_is_always_decided(setup, tmp_path):
    console, uai, params, verdicts, decided = setup
    run_import(console, uai, params, False, verdicts)
    report = tmp_path / "rapport.csv"
    result = run_import(console, uai, {**params, "report": str(report)}, False, verdicts)[0]
    assert "reused_verdict" not in result and report.exists() and len(decided) == 2


def test_an_unreadable_or_foreign_verdict_is_ignored(setup):
    console, uai, params, verdicts, decided = setup
    os.makedirs(verdicts.directory)
    for junk in ("not json", "[1, 2]", '{"inputs": "x"}'):
        Path(verdicts.path).write_text(junk, encoding="utf-8")
        assert "reused_verdict" not in run_import(console, uai, params, False, verdicts)[0]
    assert len(decided) == 3
