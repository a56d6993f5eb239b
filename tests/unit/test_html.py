"""_html: forms read by their labels and submitted back as a browser does."""
from __future__ import annotations

import pytest

from ansible_collections.ent.pronote.plugins.module_utils._errors import ScreenMismatchError, UnexpectedPageError
from ansible_collections.ent.pronote.plugins.module_utils._html import (
    Control,
    Form,
    clean_text,
    flash_problems,
    label_key,
    parse,
    read_form,
    row_cells,
    table_rows,
    text_of,
)

URL = "https://ent.example.test/mbn/etab/0671234C/admin/page"

FORM = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<form id="autre" method="post" action="/ailleurs"><input name="x" value="1"></form>
<form id="f" method="POST" action="save?x=1">
  <input type="hidden" name="csrf_token" value="tok">
  <label for="t">Nom *</label><input type="text" id="t" name="nom" value="Jean Moulin">
  <label for="u">Adresse :</label><input id="u" name="adresse">
  <label for="c1">Actif</label><input type="checkbox" id="c1" name="actif" checked>
  <label for="c2">Archivé</label><input type="checkbox" id="c2" name="archive" value="oui">
  <label for="s1">Couleur</label>
  <select id="s1" name="couleur"><option value="r">Rouge</option><option value="v" selected>Vert</option></select>
  <label for="s2">Taille</label>
  <select id="s2" name="taille"><option value="s">Petite</option><option value="m">Moyenne</option></select>
  <label for="s3">Jours</label>
  <select id="s3" name="jours" multiple><option value="1" selected>Lundi</option><option value="2">Mardi</option>
    <option value="3" selected>Mercredi</option></select>
  <label for="s4">Sans valeur</label>
  <select id="s4" name="sv"><option>  Premier   choix </option><option selected>Second</option></select>
  <fieldset><legend>Cible</legend>
    <input type="radio" id="r1" name="cible" value="SITE"><label for="r1">Site courant</label>
    <input type="radio" id="r2" name="cible" value="ENT" checked><label for="r2">Tout l'ENT</label>
  </fieldset>
  <input type="radio" id="r3" name="orphelin" value="a"><label for="r3">A</label>
  <label for="d">Désactivé</label><input id="d" name="desactive" value="non" disabled>
  <label for="ds">Choix désactivé</label>
  <select id="ds" name="choix_desactive" disabled><option value="z">Z</option></select>
  <label for="ta">Commentaire</label><textarea id="ta" name="commentaire">Bonjour</textarea>
  <input type="text" value="sans nom">
  <input type="submit" name="envoyer" value="Valider">
  <button type="submit" name="bouton" value="b">Valider</button>
  <input type="image" name="img" src="x.png">
  <input type="reset" name="raz">
  <input type="button" name="btn" value="?">
</form>
</body></html>"""


@pytest.fixture
def form() -> Form:
    return read_form(parse(FORM, URL), "f", URL)


# --- label_key / clean_text ---------------------------------------------------
@pytest.mark.parametrize("text, key", [
    ("URL", "URL"),
    ("URL *", "URL"),
    ("URL*", "URL"),
    ("URL :", "URL"),
    ("URL:", "URL"),
    ("URL * :", "URL"),
    ("URL *:", "URL"),
    ("  Type   de\n SSO  * ", "Type de SSO"),
    ("Intitulé\u00a0*", "Intitulé"),
    ("URL CAS de PRONOTE.net :", "URL CAS de PRONOTE.net"),
    ("Nom * du service", "Nom du service"),
    ("", ""),
])
def test_label_key(text, key):
    assert label_key(text) == key


def test_clean_text():
    assert clean_text("  a \n\t b  ") == "a b"
    assert clean_text(None) == ""


def test_text_of_none_is_empty():
    assert text_of(None) == ""


# --- parse ----------------------------------------------------------------------
def test_form_actions_resolve_against_the_page_url():
    doc = parse('<html><body><a href="services/new">x</a><form id="f" action="../y"></form>'
                '<form id="g"></form></body></html>', URL)
    assert doc.base_url == URL
    assert read_form(doc, "f", URL).action == "https://ent.example.test/mbn/etab/0671234C/y"
    assert read_form(doc, "g", URL).action == URL


@pytest.mark.parametrize("empty", ["", b""])
def test_parse_empty_page_is_an_error(empty):
    with pytest.raises(UnexpectedPageError, match="Empty page"):
        parse(empty, URL)


# --- read_form ----------------------------------------------------------------
def test_form_action_and_method(form):
    assert form.action == "https://ent.example.test/mbn/etab/0671234C/admin/save?x=1"
    assert form.method == "post"


def test_form_without_action_posts_to_the_page():
    doc = parse('<html><body><form id="f" method="post"><input name="a" value="1"></form></body></html>', URL + "?s=1")
    got = read_form(doc, "f", URL + "?s=1")
    assert got.action == URL + "?s=1"


def test_form_method_defaults_to_get():
    doc = parse('<html><body><form id="f"><input name="a"></form></body></html>', URL)
    assert read_form(doc, "f", URL).method == "get"


def test_missing_form_is_an_error():
    with pytest.raises(UnexpectedPageError, match="has no form 'absent'"):
        read_form(parse(FORM, URL), "absent", URL)


def test_text_and_hidden(form):
    assert form.by_label("Nom").value == "Jean Moulin"
    assert form.by_label("Nom").kind == "text"
    assert form.by_label("Adresse").value == ""
    assert form.by_label("adresse").kind == "text"  # no type attribute means text
    hidden = [c for c in form.controls if c.kind == "hidden"]
    assert [(c.name, c.value, c.label) for c in hidden] == [("csrf_token", "tok", "")]


def test_checkboxes(form):
    actif, archive = form.by_label("Actif"), form.by_label("Archivé")
    assert (actif.kind, actif.checked, actif.value) == ("checkbox", True, "")
    assert (archive.kind, archive.checked, archive.value) == ("checkbox", False, "oui")


def test_select_with_selected(form):
    control = form.by_label("Couleur")
    assert control.kind == "select"
    assert control.options == [("r", "Rouge"), ("v", "Vert")]
    assert control.selected == ["v"]
    assert control.selected_text() == "Vert"


def test_select_without_selected_is_its_first_option(form):
    control = form.by_label("Taille")
    assert control.selected == ["s"]
    assert control.selected_text() == "Petite"


def test_option_without_value_uses_its_text(form):
    control = form.by_label("Sans valeur")
    assert control.options == [("Premier choix", "Premier choix"), ("Second", "Second")]
    assert control.selected == ["Second"]


def test_multiple_select(form):
    control = form.by_label("Jours")
    assert control.kind == "select-multiple"
    assert control.selected == ["1", "3"]
    assert control.selected_texts() == ["Lundi", "Mercredi"]


def test_multiple_select_without_selected_is_empty():
    doc = parse('<html><body><form id="f"><label for="m">M</label>'
                '<select id="m" name="m" multiple><option value="1">Un</option></select></form></body></html>', URL)
    control = read_form(doc, "f", URL).by_label("M")
    assert control.selected == [] and control.selected_text() == "" and control.selected_texts() == []


def test_radio_group_is_one_control_labelled_by_its_legend(form):
    control = form.by_label("Cible")
    assert control.kind == "radio"
    assert control.name == "cible"
    assert control.options == [("SITE", "Site courant"), ("ENT", "Tout l'ENT")]
    assert control.selected == ["ENT"]
    assert control.selected_text() == "Tout l'ENT"
    assert len([c for c in form.controls if c.name == "cible"]) == 1


def test_radio_group_outside_a_fieldset_is_labelled_by_its_name(form):
    control = form.by_label("orphelin")
    assert control.kind == "radio" and control.options == [("a", "A")] and control.selected == []


def test_textarea(form):
    assert form.by_label("Commentaire").value == "Bonjour"
    assert form.by_label("Commentaire").kind == "textarea"


def test_buttons_are_not_controls(form):
    names = {c.name for c in form.controls}
    assert not names & {"envoyer", "bouton", "img", "raz", "btn"}


def test_disabled_controls_are_read_but_not_sent(form):
    assert form.by_label("Désactivé").disabled
    assert form.by_label("Choix désactivé").disabled
    sent = dict(form.payload())
    assert "desactive" not in sent and "choix_desactive" not in sent


def test_controls_of_other_forms_are_not_read(form):
    assert "x" not in {c.name for c in form.controls}


@pytest.mark.parametrize("asked", ["Nom", "Nom *", "nom", "NOM :", " Nom* "])
def test_by_label_ignores_star_colon_case_and_spaces(form, asked):
    assert form.by_label(asked).name == "nom"
    assert form.has_label(asked)


def test_unknown_label_lists_the_known_fields(form):
    with pytest.raises(UnexpectedPageError) as err:
        form.by_label("Prénom")
    message = str(err.value)
    assert "« Prénom »" in message
    # the labels found, as compared (without the required-field star)
    assert "« Nom »" in message and "« Couleur »" in message and "« Cible »" in message
    assert isinstance(err.value, ScreenMismatchError) and err.value.expected == "Prénom"
    assert err.value.found == form.labels() and "Nom" in err.value.found
    assert not form.has_label("Prénom")


# --- editing ------------------------------------------------------------------
def test_choose_by_text_case_insensitive(form):
    form.choose("Couleur", "rouge")
    assert form.by_label("Couleur").selected == ["r"]
    form.choose("Jours", "Mardi", "LUNDI")
    assert form.by_label("Jours").selected == ["2", "1"]
    form.choose("Cible", "Site courant")
    assert form.by_label("Cible").selected == ["SITE"]


def test_choose_unknown_option_lists_the_choices(form):
    with pytest.raises(UnexpectedPageError) as err:
        form.choose("Couleur", "Bleu")
    assert str(err.value) == "'Bleu' is not a choice of « Couleur » (choices: 'Rouge', 'Vert')."
    assert form.by_label("Couleur").selected == ["v"]  # unchanged


def test_choose_nothing_on_a_multiple_select_clears_it(form):
    form.choose("Jours")
    assert ("jours", "1") not in form.payload()


def test_set_text_and_checked(form):
    form.set_text("Adresse", "1 rue X")
    form.set_checked("Actif", False)
    form.set_checked("Archivé", True)
    sent = form.payload()
    assert ("adresse", "1 rue X") in sent
    assert ("archive", "oui") in sent
    assert not any(name == "actif" for name, _ in sent)


def test_payload_is_exactly_what_a_browser_sends(form):
    assert form.payload() == [
        ("csrf_token", "tok"),
        ("nom", "Jean Moulin"),
        ("adresse", ""),
        ("actif", "on"),
        ("couleur", "v"),
        ("taille", "s"),
        ("jours", "1"),
        ("jours", "3"),
        ("sv", "Second"),
        ("cible", "ENT"),
        ("commentaire", "Bonjour"),
    ]


def test_control_option_value_and_payload_of_a_bare_form():
    control = Control("c", "select", "C", options=[("1", "Un"), ("2", "Deux")], selected=["2"])
    assert control.option_value(" deux ") == "2"
    assert Form("u", "post", [control, Control("", "text", value="x")]).payload() == [("c", "2")]


# --- tables and flashes -------------------------------------------------------
TABLE = """<html><body>
<table id="t">
  <thead><tr><th> Code </th><th>Intitulé</th><th>Actions</th></tr></thead>
  <tbody>
    <tr><td>USER_0</td><td> pronote </td><td><form method="post"></form></td></tr>
    <tr><td>USER_1</td><td>Cantine</td><td></td></tr>
  </tbody>
</table>
<table id="bare">
  <tr><th>A</th><th>B</th></tr>
  <tr><td>1</td><td>2</td></tr>
</table>
<table id="vide"><thead><tr><th>A</th></tr></thead><tbody></tbody></table>
</body></html>"""


def test_table_rows_and_cells():
    doc = parse(TABLE, URL)
    header, rows = table_rows(doc, "t", URL)
    assert header == ["Code", "Intitulé", "Actions"]
    assert len(rows) == 2
    cells = row_cells(header, rows[0])
    assert {k: text_of(v) for k, v in cells.items()} == {"Code": "USER_0", "Intitulé": "pronote", "Actions": ""}
    assert text_of(row_cells(header, rows[1])["Intitulé"]) == "Cantine"


def test_table_without_thead():
    header, rows = table_rows(parse(TABLE, URL), "bare", URL)
    assert header == ["A", "B"]
    assert [[text_of(td) for td in r.xpath("./td")] for r in rows] == [["1", "2"]]


def test_empty_table():
    assert table_rows(parse(TABLE, URL), "vide", URL)[1] == []


def test_missing_table_is_an_error():
    with pytest.raises(UnexpectedPageError, match="has no table 'services'"):
        table_rows(parse(TABLE, URL), "services", URL)


def test_flash_problems_one_per_li():
    doc = parse("""<html><body><div class="flash succes">Le service a été créé.</div>
      <div class="flash erreur"><ul><li>Le champ « URL » est obligatoire.</li>
      <li> Le champ « Intitulé »
           est obligatoire. </li><li></li></ul></div></body></html>""", URL)
    assert flash_problems(doc) == ["Le champ « URL » est obligatoire.", "Le champ « Intitulé » est obligatoire."]


def test_flash_problem_without_list():
    doc = parse('<html><body><div class="erreur flash">Ce droit d\'accès existe déjà.</div></body></html>', URL)
    assert flash_problems(doc) == ["Ce droit d'accès existe déjà."]


@pytest.mark.parametrize("html", [
    '<html><body><div class="flash succes">Le service a été modifié.</div></body></html>',
    '<html><body><div class="erreurs-possibles">rien</div><p class="erreur">pas un div</p></body></html>',
    '<html><body><div class="flash erreur"></div></body></html>',
])
def test_no_flash_problems(html):
    assert flash_problems(parse(html, URL)) == []
