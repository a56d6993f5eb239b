"""_kdecole page readers against hand-written pages that follow docs/console-screens.md."""
from __future__ import annotations

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _kdecole as kd
from ansible_collections.ent.pronote.plugins.module_utils._access import Rule
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    ScreenMismatchError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._html import parse, read_form

from .fakes import BASE, UAI, fixture_text

SERVICES_URL = BASE + f"etab/{UAI}/admin/services"
SERVICE_URL = SERVICES_URL + "/USER_0"
NEW_URL = SERVICES_URL + "/new"
ACCESS_URL = SERVICE_URL + "/acces-population"


def service_form(name="service.html", url=SERVICE_URL):
    return read_form(parse(fixture_text(name), url), kd.SERVICE_FORM, url)


# --- service form -------------------------------------------------------------
def test_read_service_fields_all_ten():
    fields = kd.read_service_fields(service_form())
    assert fields == {
        "sso_type": "SSO Pronote avec CAS",
        "url": "https://0671234c.index-education.net/pronote/",
        "xiti_type": "Services pédagogiques",
        "group": "Communication",
        "show_block": False,
        "block_version": "PRONOTE 2023",
        "pronote_cas_url": "https://cas.example.test/",
        "in_service_bar": False,
        "label": "PRONOTE Vie scolaire",
        "anonymous": True,
    }
    assert set(fields) == set(kd.SERVICE_FIELDS)


def test_read_new_service_form_defaults():
    fields = kd.read_service_fields(service_form("service_new.html", NEW_URL))
    assert fields == {
        "sso_type": "Pas de SSO ou SSO Standard", "url": "", "xiti_type": "Aucun", "group": "Scolarité",
        "show_block": False, "block_version": "PRONOTE 2018", "pronote_cas_url": "", "in_service_bar": True,
        "label": "", "anonymous": False,
    }


def test_write_service_fields_then_payload_posts_the_right_option_values():
    form = service_form()
    kd.write_service_fields(form, {
        "sso_type": "SSO Pronote avec CAS", "url": "https://pronote.example.test/", "xiti_type": "Services de vie scolaire",
        "group": "Scolarité", "show_block": True, "block_version": "PRONOTE 2024", "pronote_cas_url": "",
        "in_service_bar": True, "label": "pronote", "anonymous": False,
    })
    assert form.payload() == [
        ("csrf_token", "tok-123"),
        ("typeSso", "PRONOTE"),
        ("url", "https://pronote.example.test/"),
        ("typeXiti", "1"),
        ("regroupement", "SCOLARITE"),
        ("afficherBloc", "true"),
        ("versionBloc", "V2024"),
        ("urlCasPronote", ""),
        ("barreServices", "O"),
        ("intitule", "pronote"),
    ]
    # and reading the form back gives what was written
    assert kd.read_service_fields(form) == {
        "sso_type": "SSO Pronote avec CAS", "url": "https://pronote.example.test/", "xiti_type": "Services de vie scolaire",
        "group": "Scolarité", "show_block": True, "block_version": "PRONOTE 2024", "pronote_cas_url": "",
        "in_service_bar": True, "label": "pronote", "anonymous": False,
    }


def test_write_none_leaves_the_field_as_it_is():
    form = service_form()
    kd.write_service_fields(form, {"block_version": None, "label": "Nouveau", "anonymous": False})
    sent = dict(form.payload())
    assert sent["versionBloc"] == "V2023"
    assert sent["intitule"] == "Nouveau"
    assert "anonyme" not in sent
    assert sent["typeXiti"] == "2" and sent["regroupement"] == "COMMUNICATION"


def test_write_partial_changes_of_a_plan():
    form = service_form("service_new.html", NEW_URL)
    kd.write_service_fields(form, {"in_service_bar": False, "sso_type": "SSO Pronote avec CAS"})
    sent = dict(form.payload())
    assert sent["barreServices"] == "N" and sent["typeSso"] == "PRONOTE"


def test_write_unknown_option_lists_the_console_choices():
    form = service_form()
    with pytest.raises(UnexpectedPageError) as err:
        kd.write_service_fields(form, {"block_version": "PRONOTE 2030"})
    assert "'PRONOTE 2030' is not a choice of « Version »" in str(err.value)
    assert "'PRONOTE 2025'" in str(err.value)


def test_a_form_without_an_expected_label_is_reported():
    html = fixture_text("service.html").replace("Type Xiti", "Type de statistiques")
    form = read_form(parse(html, SERVICE_URL), kd.SERVICE_FORM, SERVICE_URL)
    with pytest.raises(ScreenMismatchError) as err:
        kd.read_service_fields(form)
    assert err.value.expected == "Type Xiti"
    assert "Type de statistiques" in err.value.found


def test_the_service_screen_is_checked_before_its_fields_are_read():
    html = fixture_text("service.html").replace("Type Xiti", "Type de statistiques")
    with pytest.raises(ScreenMismatchError) as err:
        kd.SERVICE_SCREEN.read_form(parse(html, SERVICE_URL), SERVICE_URL, UAI)
    assert err.value.as_result() == {"screen": "Modifier un service", "kind": "champ", "expected": "Type Xiti",
                                     "found": err.value.found}
    assert str(err.value).startswith(f"Écran « Modifier un service » ({UAI}) non conforme — attendu : "
                                     "champ « Type Xiti » ; trouvé : « Type de SSO », « URL », « Type de statistiques »")
    assert "« Type de statistiques »" in str(err.value)


def test_a_select_option_spelled_otherwise_is_a_screen_mismatch():
    html = fixture_text("service.html").replace(">SSO Pronote avec CAS<", ">SSO PRONOTE (CAS)<")
    assert "SSO PRONOTE (CAS)" in html
    with pytest.raises(ScreenMismatchError) as err:
        kd.SERVICE_SCREEN.read_form(parse(html, SERVICE_URL), SERVICE_URL, UAI)
    assert (err.value.kind, err.value.expected) == ("choix de « Type de SSO »", "SSO Pronote avec CAS")
    assert "SSO PRONOTE (CAS)" in err.value.found


def test_checkbox_with_a_second_label_for_its_text_is_found_by_either_label():
    # docs/console-screens.md: the checkbox has the label "Afficher le bloc" and its own text, which a page may
    # render as a second <label for=…>.
    html = fixture_text("service.html").replace(
        "<span>Afficher le bloc PRONOTE sur la page d'accueil</span>",
        "<label for=\"f-bloc\">Afficher le bloc PRONOTE sur la page d'accueil</label>")
    form = read_form(parse(html, SERVICE_URL), kd.SERVICE_FORM, SERVICE_URL)
    assert kd.read_service_fields(form)["show_block"] is False
    kd.write_service_fields(form, {"show_block": True})
    assert ("afficherBloc", "true") in form.payload()
    assert form.by_label("Afficher le bloc PRONOTE sur la page d'accueil").name == "afficherBloc"
    assert form.by_label("Afficher le bloc").label == "Afficher le bloc"


# --- services list ------------------------------------------------------------
class _Reader(kd.KdecoleConsole):
    """The console with its page fetch replaced by a fixture (no session, no network)."""

    def __init__(self, pages):  # noqa: D107 - no super(): nothing of the transport is needed
        self.base = BASE
        self.pages = pages
        self.fetched = []

    def get(self, url, what):
        self.fetched.append(url)
        return parse(self.pages[url], url)


def test_list_services_rows():
    reader = _Reader({SERVICES_URL: fixture_text("services.html")})
    rows = reader.list_services(UAI)
    assert reader.fetched == [SERVICES_URL]
    assert [(r.code, r.label, r.sso_type, r.anonymous, r.internal) for r in rows] == [
        ("ABS", "Absences", "Pas de SSO ou SSO Standard", False, True),
        ("HELP", "Aide", "Pas de SSO ou SSO Standard", True, True),
        ("USER_0", "PRONOTE Vie scolaire", "SSO Pronote avec CAS", False, False),
        ("USER_1", "Cantine", "Pas de SSO ou SSO Standard", True, False),
    ]


def test_list_services_delete_forms():
    rows = _Reader({SERVICES_URL: fixture_text("services.html")}).list_services(UAI)
    assert rows[0].delete_form is None and rows[1].delete_form is None
    assert rows[2].delete_form.action == SERVICES_URL + "/USER_0/supprimer"
    assert rows[2].delete_form.method == "post"
    assert rows[2].delete_form.payload() == [("csrf_token", "tok-123")]
    assert rows[3].delete_form.action == SERVICES_URL + "/USER_1/supprimer"  # method="POST"


def test_list_services_missing_column():
    html = fixture_text("services.html").replace("<th>Interne</th>", "<th>Interne ?</th>")
    with pytest.raises(ScreenMismatchError) as err:
        _Reader({SERVICES_URL: html}).list_services(UAI)
    assert (err.value.screen, err.value.kind, err.value.expected) == ("Liste des services", "colonne", "Interne")
    assert "Interne ?" in err.value.found


def test_list_services_without_table():
    html = fixture_text("services.html").replace('id="services"', 'id="liste"')
    with pytest.raises(ScreenMismatchError, match="attendu : tableau \\(id\\) « services » ; trouvé : « liste »"):
        _Reader({SERVICES_URL: html}).list_services(UAI)


def test_read_service_page():
    page = _Reader({SERVICE_URL: fixture_text("service.html")}).read_service(UAI, "USER_0")
    assert (page.uai, page.code) == (UAI, "USER_0")
    assert page.fields["label"] == "PRONOTE Vie scolaire"
    assert page.form.action == SERVICE_URL


def test_read_service_code_comes_from_the_page():
    html = fixture_text("service.html").replace('<span id="code">USER_0</span>', '<span id="code">USER_7</span>')
    assert _Reader({SERVICE_URL: html}).read_service(UAI, "USER_0").code == "USER_7"


# --- access page --------------------------------------------------------------
@pytest.fixture
def access_page():
    return _Reader({ACCESS_URL: fixture_text("access.html")}).read_access(UAI, "USER_0")


def test_access_rules_each_target(access_page):
    assert access_page.rules == [
        Rule("Elève", "site"),
        Rule("Enseignant", "establishments", ("0670001M", "0671234C"), subject="Mathématiques",
             discipline="Mathématiques"),
        Rule("Personnel", "groups", ("Professeurs principaux", "Vie scolaire"), "Administration du service",
             function="Documentation"),
        Rule("Parent", "ent"),
    ]


def test_access_etab_names_mapped_to_uais(access_page):
    assert access_page.etab_uais == {"Collège Jean Moulin": "0671234C", "Lycée Kléber": "0670001M",
                                     "Collège Pasteur": "0672345K"}


def test_access_delete_forms(access_page):
    assert {rule.profile: form.action for rule, form in access_page.delete_forms.items()} == {
        "Elève": ACCESS_URL + "/101/supprimer",
        "Enseignant": ACCESS_URL + "/102/supprimer",
        "Personnel": ACCESS_URL + "/103/supprimer",
        "Parent": ACCESS_URL + "/104/supprimer",
    }
    assert all(form.payload() == [("csrf_token", "tok-123")] for form in access_page.delete_forms.values())


def test_access_add_form(access_page):
    form = access_page.add_form
    assert form.action == ACCESS_URL + "/ajouter"
    assert form.by_label("Cible").options == [
        ("SITE", "Établissement(s) du site courant"), ("LISTE", "Liste personnalisée d'établissements"),
        ("GROUPES", "Liste de groupes"), ("ENT", "Tout l'ENT")]
    assert (access_page.uai, access_page.code) == (UAI, "USER_0")


def test_access_unknown_establishment_name_is_kept_as_shown():
    html = fixture_text("access.html").replace("Lycée Kléber, Collège Jean Moulin", "Lycée Inconnu, Collège Jean Moulin")
    page = _Reader({ACCESS_URL: html}).read_access(UAI, "USER_0")
    assert page.rules[1].values == ("0671234C", "Lycée Inconnu")


def test_access_unknown_target_label():
    html = fixture_text("access.html").replace('<span class="cible-type">Tout l\'ENT</span>',
                                               '<span class="cible-type">Toute la région</span>')
    with pytest.raises(ScreenMismatchError) as err:
        _Reader({ACCESS_URL: html}).read_access(UAI, "USER_0")
    assert err.value.found == ["Toute la région"] and "Tout l'ENT" in err.value.expected
    assert err.value.kind == "valeur de la colonne « Cible »"


def test_access_missing_column():
    html = fixture_text("access.html").replace("<th>Fonction</th>", "<th>Fonctions</th>")
    with pytest.raises(ScreenMismatchError, match="Accès population.*attendu : colonne « Fonction »"):
        _Reader({ACCESS_URL: html}).read_access(UAI, "USER_0")


def test_access_form_with_a_renamed_label_or_a_missing_profile_is_a_screen_mismatch():
    renamed = fixture_text("access.html").replace('<label for="a-profil">Profil</label>',
                                                  '<label for="a-profil">Profil utilisateur</label>')
    with pytest.raises(ScreenMismatchError) as err:
        _Reader({ACCESS_URL: renamed}).read_access(UAI, "USER_0")
    assert (err.value.screen, err.value.kind, err.value.expected) == ("Accès population", "champ", "Profil")
    assert "Profil utilisateur" in err.value.found
    no_staff = fixture_text("access.html").replace('<option value="PERSONNEL">Personnel</option>', "")
    with pytest.raises(ScreenMismatchError) as err:
        _Reader({ACCESS_URL: no_staff}).read_access(UAI, "USER_0")
    assert (err.value.kind, err.value.expected) == ("choix de « Profil »", "Personnel")


def test_access_page_without_rules():
    html = fixture_text("access.html")
    start, end = html.index("<tbody>"), html.index("</tbody>")
    page = _Reader({ACCESS_URL: html[:start] + "<tbody>" + html[end:]}).read_access(UAI, "USER_0")
    assert page.rules == [] and page.delete_forms == {}


def test_etab_option_value():
    form = read_form(parse(fixture_text("access.html"), ACCESS_URL), kd.ACCESS_FORM, ACCESS_URL)
    control = form.by_label("Établissements")
    assert kd._etab_option_value(control, "0672345K") == "13"
    with pytest.raises(ValidationError, match="0311234Y is not offered"):
        kd._etab_option_value(control, "0311234Y")


def test_page_message_prefers_the_error_text():
    import requests

    from ansible_collections.ent.pronote.plugins.module_utils._html import parse_response

    from .fakes import Reply, build_response

    request = requests.Request("GET", BASE).prepare()
    for name, text in (("error_403.html", "Vous n'avez pas les droits d'administration sur ce site."),
                       ("error_404.html", "Établissement inconnu : 0672345K"),
                       ("csrf_403.html", "Jeton de sécurité invalide ou expiré. Rechargez la page.")):
        response = build_response(None, request, Reply(403, fixture_text(name)))
        assert kd._page_message(parse_response(response)) == text
    assert kd._page_message(None) == ""
    long_page = "<html><body><main><p>" + "x" * 400 + "</p></main></body></html>"
    message = kd._page_message(parse_response(build_response(None, request, Reply(500, long_page))))
    assert len(message) == 300 and message.endswith("...")


# --- settings -----------------------------------------------------------------
@pytest.mark.parametrize("url, base", [
    ("https://ent.example.test/mbn", "https://ent.example.test/mbn/"),
    ("https://ent.example.test/mbn/", "https://ent.example.test/mbn/"),
    ("  https://www.monbureaunumerique.fr  ", "https://www.monbureaunumerique.fr/"),
    ("http://127.0.0.1:8080/occitanie/", "http://127.0.0.1:8080/occitanie/"),
])
def test_console_base(url, base):
    assert kd.ConsoleSettings(url, "a", "b").base == base


@pytest.mark.parametrize("url", ["ent.example.test/mbn", "ftp://ent.example.test/", "https://", ""])
def test_console_base_refuses_non_http_urls(url):
    from ansible_collections.ent.pronote.plugins.module_utils._errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="console_url must be an http"):
        kd.ConsoleSettings(url, "a", "b").base


def test_url_templates():
    reader = _Reader({})
    assert reader.url("services", uai=UAI) == SERVICES_URL
    assert reader.url("service_new", uai=UAI) == NEW_URL
    assert reader.url("service", uai=UAI, code="USER_0") == SERVICE_URL
    assert reader.url("service_access", uai=UAI, code="USER_0") == ACCESS_URL


def test_tickets_are_redacted_from_messages():
    text = "Le ticket « ST-1-AX3G4gcIIBIgxPxEgJBuE9e4vvbwkd11 » a déjà été utilisé (TGT-9-abc_DEF)."
    redacted = kd.redact_tickets(text)
    assert "AX3G4" not in redacted and "abc_DEF" not in redacted
    assert redacted == "Le ticket « ST-… » a déjà été utilisé (TGT-…)."
