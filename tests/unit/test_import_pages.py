"""_kdecole's import screens (docs/import-screens.md) on hand-written pages, and the import's local files."""
from __future__ import annotations

import datetime
import os
import stat

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _import as imp
from ansible_collections.ent.pronote.plugins.module_utils import _kdecole as kd
from ansible_collections.ent.pronote.plugins.module_utils._errors import UnexpectedPageError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._html import parse, read_form

from .fakes import BASE, UAI

STEP_URL = BASE + f"etab/{UAI}/admin/identifiants/import/7/etape/2"

STEP = """<html><body>
<p class="fil-ariane">Vous êtes ici : Administration > Importer les identifiants Pronote > Étape 2/6</p>
<h2 id="etape" data-etape="2">Étape 2/6 : Élèves</h2>
<p id="reconnus">1 reconnus</p><p id="non-reconnus">2 non reconnus</p>
<form id="form-etape" method="post" action="">
 <input type="hidden" name="csrf_token" value="tok">
 <table id="rapprochement">
  <thead><tr><th>Identifiant PRONOTE</th><th>Nom</th><th>Prénom</th><th>Date de naissance</th><th>État</th>
   <th>Compte ENT</th></tr></thead>
  <tbody>
   <tr><td>AAAAAAAAAAAAAAA1</td><td>MARTIN</td><td>Léa</td><td>03/04/2012</td><td>Reconnu</td>
    <td><label for="c1" class="invisible">Compte ENT pour AAAAAAAAAAAAAAA1</label>
        <input type="text" id="c1" name="compte_1" value="lea.martin"></td></tr>
   <tr><td>AAAAAAAAAAAAAAA2</td><td>Dupont</td><td>Hélène</td><td></td><td>Non reconnu</td>
    <td><label for="c2" class="invisible">Compte ENT pour AAAAAAAAAAAAAAA2</label>
        <input type="text" id="c2" name="compte_2" value=""> <a href="../../../annuaire?q=Dupont">Parcourir</a></td></tr>
   <tr><td>AAAAAAAAAAAAAAA3</td><td>Kœnig</td><td>Zoé</td><td>01/01/2012</td><td>Non reconnu</td>
    <td><label for="c3" class="invisible">Compte ENT pour AAAAAAAAAAAAAAA3</label>
        <input type="text" id="c3" name="compte_3" value=""></td></tr>
  </tbody>
 </table>
 <button type="submit" name="action" value="valider">Valider et passer à l'étape suivante</button>
 <button type="submit" name="action" value="interrompre">Interrompre</button>
</form></body></html>"""


def test_step_page_is_read_by_its_labels_and_counts():
    page = kd._step_page(parse(STEP, STEP_URL), STEP_URL, UAI)
    assert (page.step, page.title, page.recognised, page.unrecognised) == (2, "Élèves", 1, 2)
    assert [(r.ident, r.recognised, r.login) for r in page.rows] == [
        ("AAAAAAAAAAAAAAA1", True, "lea.martin"), ("AAAAAAAAAAAAAAA2", False, ""), ("AAAAAAAAAAAAAAA3", False, "")]
    assert not page.finished


def test_validating_a_step_fills_every_row_and_empties_the_refused():
    page = kd._step_page(parse(STEP, STEP_URL), STEP_URL, UAI)
    form = page.form
    logins = {"AAAAAAAAAAAAAAA2": "helene.dupont", "AAAAAAAAAAAAAAA3": "zoe.koenig"}
    for row in page.rows:
        form.set_text(kd.STEP_INPUT_LABEL.format(ident=row.ident), logins.get(row.ident, ""))
    sent = dict(form.payload())
    # the ENT's reconnu not in the decided pairs is emptied: the product validates only what it accepts
    assert sent == {"csrf_token": "tok", "compte_1": "", "compte_2": "helene.dupont", "compte_3": "zoe.koenig"}


@pytest.mark.parametrize("html, message", [
    (STEP.replace('data-etape="2"', ""), "does not say its number"),
    (STEP.replace('<p id="reconnus">1 reconnus</p>', ""), "reconnus"),
    (STEP.replace("<th>État</th>", "<th>Statut</th>"), "État"),
])
def test_a_step_page_that_does_not_follow_the_contract_is_an_error(html, message):
    with pytest.raises(UnexpectedPageError, match=message):
        kd._step_page(parse(html, STEP_URL), STEP_URL, UAI)


def test_import_form_has_a_file_control_that_is_not_posted_as_a_field():
    html = """<form id="form-import" method="post" enctype="multipart/form-data" action="">
      <input type="hidden" name="csrf_token" value="t">
      <label for="e">Établissement</label><select id="e" name="uai">
        <option value="0671234C" selected>Collège Jean Moulin (0671234C)</option>
        <option value="0670001M">Lycée Kléber (0670001M)</option></select>
      <fieldset><legend>Mode d'import</legend>
        <input type="radio" id="m1" name="mode" value="complet"><label for="m1">Complet</label>
        <input type="radio" id="m2" name="mode" value="partiel"><label for="m2">Partiel</label></fieldset>
      <label for="f">Fichier</label><input type="file" id="f" name="fichier">
      <button type="submit">Importer</button></form>"""
    form = read_form(parse(html, BASE), kd.IMPORT_FORM, BASE)
    form.choose(kd.IMPORT_MODE, kd.IMPORT_MODES["partiel"])
    assert form.by_label(kd.IMPORT_FILE).name == "fichier"
    assert dict(form.payload()) == {"csrf_token": "t", "uai": "0671234C", "mode": "partiel"}


def test_french_dates_of_the_directory():
    assert kd._french_date("03/04/2012", UAI) == datetime.date(2012, 4, 3)
    assert kd._french_date("", UAI) is None
    with pytest.raises(UnexpectedPageError, match="jj/mm/aaaa"):
        kd._french_date("2012-04-03", UAI)


# --- manual matches and the report ------------------------------------------------
def test_manual_matches_accept_the_report_template_filled_in(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("\ufeffidentifiant_pronote;compte_ent;nom;prenom\r\n"
                    "aaaaaaaaaaaaaaa1;lea.martin;MARTIN;Léa\r\n"
                    "AAAAAAAAAAAAAAA2;;Dupont;Hélène\r\n", encoding="utf-8")
    assert imp.read_manual_matches(str(path)) == {"AAAAAAAAAAAAAAA1": "lea.martin"}


def test_manual_matches_with_commas(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Identifiant_PRONOTE,Compte_ENT\nAAAAAAAAAAAAAAA1,lea.martin\n", encoding="utf-8")
    assert imp.read_manual_matches(str(path)) == {"AAAAAAAAAAAAAAA1": "lea.martin"}


@pytest.mark.parametrize("text, message", [
    ("nom;compte_ent\nx;y\n", "n'a pas de colonne identifiant_pronote en ligne 1"),
    ("identifiant_pronote;compte_ent\nSHORT;lea\n", "ligne 2 : 'SHORT' n'est pas un Identifiant PRONOTE"),
    ("identifiant_pronote;compte_ent\nAAAAAAAAAAAAAAA1;a\nAAAAAAAAAAAAAAA1;b\n",
     "ligne 3 : AAAAAAAAAAAAAAA1 reçoit deux comptes ENT"),
    ("", "pas de colonne"),
])
def test_bad_manual_matches_are_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError, match=message):
        imp.read_manual_matches(str(path))


def test_missing_manual_matches_file(tmp_path):
    with pytest.raises(ValidationError, match="Fichier de rapprochements manuels .* illisible"):
        imp.read_manual_matches(str(tmp_path / "absent.csv"))


def test_report_files_are_private_even_when_they_existed(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    imp.write_private_csv(str(path), ["a"], [["é"]])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes() == "\ufeffa\r\né\r\n".encode()
    assert imp._todo_path(str(path)) == str(tmp_path / "r.correspondances.csv")


# --- files a school opens in a spreadsheet (issue 14 §5) -------------------------------------

def _spreadsheet_cells(path):
    import csv as _csv
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [cell for row in _csv.reader(handle, delimiter=";") for cell in row]


def test_every_csv_cell_a_spreadsheet_would_run_is_neutralised_and_read_back(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFile, Person
    from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, decide

    hostile = ["=HYPERLINK(\"http://x\")", "+33 6", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
    people = tuple(Person(f"AAAAAAAAAAAAAA{n:02d}", "eleves", nom, "Léa", datetime.date(2012, 1, n + 1), line=n + 3)
                   for n, nom in enumerate(hostile))
    file = IdentifiersFile(UAI, "1", datetime.datetime(2025, 9, 1), None, None, False, people)
    accounts = [Account("=cmd|' /C calc'!A0", "Elève", "=HYPERLINK(\"http://x\")", "Léa Marie", None)]
    plan = decide(people, accounts, {}, mode="complet")
    report = tmp_path / "r.csv"
    todo = imp.write_report(str(report), UAI, file, plan, accounts)
    cells = _spreadsheet_cells(report) + _spreadsheet_cells(todo)
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3" in cells and "'\rCR" in cells
    # the person fills in the file (a login a spreadsheet would run, too) and gives it back as it is
    text = todo.read_text(encoding="utf-8-sig") if hasattr(todo, "read_text") else open(todo, encoding="utf-8-sig").read()
    filled = text.replace("AAAAAAAAAAAAAA00;;", "AAAAAAAAAAAAAA00;'=cmd|' /C calc'!A0;", 1)
    assert filled != text
    back = tmp_path / "back.csv"
    back.write_text(filled, encoding="utf-8")
    assert imp.read_manual_matches(str(back)) == {"AAAAAAAAAAAAAA00": "=cmd|' /C calc'!A0"}


def test_csv_cell_and_uncell_are_inverse():
    from ansible_collections.ent.pronote.plugins.module_utils._files import csv_cell, csv_uncell
    for text in ["=1", "+1", "-1", "@a", "\tx", "\rx", "'=1", "'plain", "plain", "", "'", "l'été"]:
        cell = csv_cell(text)
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
        if text[:1] != "'":
            assert csv_uncell(cell) == text
    assert csv_cell(None) == "" and csv_cell(3) == 3


def test_the_file_to_fill_in_lists_what_a_person_can_resolve_with_reason_and_candidates(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFile, Person
    from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, decide

    born = datetime.date(2012, 1, 1)
    people = (Person("AAAAAAAAAAAAAA01", "eleves", "Durand", "Tom", born, line=3),     # written twice
              Person("AAAAAAAAAAAAAA02", "eleves", "DURAND", "Tom", born, line=4),
              Person("AAAAAAAAAAAAAA03", "eleves", "Petit", "Zoé", born, line=5, left_on=born),  # left: not listed
              Person("AAAAAAAAAAAAAA04", "eleves", "Éloïse", "Marie", born, line=6),  # two accounts fit
              Person("AAAAAAAAAAAAAA05", "eleves", "Nul", "Part", born, line=7),       # no account
              Person("AAAAAAAAAAAAAA06", "eleves", "Martin", "Léa", born, line=8))     # paired: not listed
    file = IdentifiersFile(UAI, "1", datetime.datetime(2025, 9, 1), None, None, False, people)
    accounts = [Account("tom.d", "Elève", "Durand", "Tom", born), Account("e1", "Elève", "Éloïse", "Marie", born),
                Account("e2", "Elève", "Eloise", "Marie", born), Account("lea", "Elève", "Martin", "Léa", born)]
    plan = decide(people, accounts, {}, mode="complet")
    todo = imp.write_report(str(tmp_path / "r.csv"), UAI, file, plan, accounts)
    import csv as _csv
    with open(todo, encoding="utf-8-sig", newline="") as handle:
        rows = list(_csv.DictReader(handle, delimiter=";"))
    listed = {r["identifiant_pronote"]: r for r in rows}
    assert set(listed) == {"AAAAAAAAAAAAAA01", "AAAAAAAAAAAAAA02", "AAAAAAAAAAAAAA04", "AAAAAAAAAAAAAA05"}
    assert listed["AAAAAAAAAAAAAA01"]["raison"].startswith("doublon dans le fichier")
    assert listed["AAAAAAAAAAAAAA01"]["candidats"] == "tom.d"
    assert listed["AAAAAAAAAAAAAA04"]["raison"] == "2 comptes ENT correspondent"
    assert listed["AAAAAAAAAAAAAA04"]["candidats"] == "e1 | e2"
    assert listed["AAAAAAAAAAAAAA05"]["raison"].startswith("aucun compte Elève")


def test_a_pair_of_the_ent_to_confirm_is_in_the_file_to_fill_in_in_both_modes(tmp_path):
    """Issue 14 §3: a pair the ENT holds where two accounts fit goes to the file, the bound account first."""
    from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFile, Person
    from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, decide

    born = datetime.date(2012, 1, 1)
    people = (Person("AAAAAAAAAAAAAA01", "eleves", "Éloïse", "Marie", born, line=3),)
    file = IdentifiersFile(UAI, "1", datetime.datetime(2025, 9, 1), None, None, False, people)
    accounts = [Account("e2", "Elève", "Éloïse", "Marie", born), Account("e1", "Elève", "Eloise", "Marie", born)]
    import csv as _csv
    for mode in ("complet", "partiel"):
        plan = decide(people, accounts, {"AAAAAAAAAAAAAA01": "e1"}, mode=mode)
        todo = imp.write_report(str(tmp_path / f"{mode}.csv"), UAI, file, plan, accounts)
        with open(todo, encoding="utf-8-sig", newline="") as handle:
            (row,) = list(_csv.DictReader(handle, delimiter=";"))
        assert row["candidats"] == "e1 | e2" and "ambiguës" not in row["raison"], row
        assert ("retirée" if mode == "complet" else "gardée en mode partiel") in row["raison"]
        assert imp.withdrawn(plan) == {"left": 0, "duplicate": 0, "ambiguous": 1, "no_paired_child": 0}
