"""Screen variants (``python -m sandbox variants``, ``/_sandbox/variants``): the console and the hosting
console serve, per ENT project, a page that differs from the model the way a real one may (issue 12, §5),
while the server behind it is the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox_support import Browser, Sandbox, html, label_control, one, text
from test_hosting import Console


@pytest.fixture
def variants(sandbox: Sandbox) -> Iterator[callable]:
    """Set the variants of a project; every variant is gone after the test."""
    def set_variants(project: str, *names: str) -> dict:
        response = sandbox.control("POST", "variants", {"project": project, "variants": list(names)})
        assert response.status_code == 200, response.text
        return response.json()
    yield set_variants
    assert sandbox.control("POST", "variants", {"reset": True}).json() == {}


@pytest.fixture
def admin(sandbox: Sandbox) -> Browser:
    browser = Browser(sandbox)
    browser.console_login("mbn", "admin.mbn")
    return browser


def services_page(admin: Browser, uai: str):
    return html(admin.get(f"/mbn/etab/{uai}/admin/services"))


def header(doc, table: str) -> list[str]:
    return [text(th) for th in doc.xpath(f"//table[@id='{table}']/thead/tr/th")]


def labels(doc, form: str) -> list[str]:
    return [text(label) for label in doc.xpath(f"//form[@id='{form}']//label")]


def test_control_endpoint_validates(sandbox: Sandbox, variants) -> None:
    assert sandbox.control("GET", "variants").json() == {}
    assert variants("mbn", "skin") == {"mbn": ["skin"]}
    assert variants("*", "reordered") == {"*": ["reordered"], "mbn": ["skin"]}
    for bad in ({"project": "mbn", "variants": ["inconnue"]}, {"project": "", "variants": ["skin"]},
                {"variants": "skin", "project": "mbn"}, {"autre": 1}):
        assert sandbox.control("POST", "variants", bad).status_code == 400, bad
    assert sandbox.control("POST", "variants", {"project": "mbn", "variants": ["skin"]}, token=None).status_code == 401


def test_no_variant_serves_the_model(sandbox: Sandbox, admin: Browser) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    assert header(services_page(admin, uai), "services") == ["Code", "Intitulé", "Type SSO", "Anonyme", "Interne",
                                                             "Actions"]
    doc = html(admin.get(f"/mbn/etab/{uai}/admin/services/new"))
    assert "Type de SSO * :" in labels(doc, "form-service") and not doc.xpath("//*[contains(@class, 'kd-')]")


def test_reordered_and_extra_columns_keep_each_cell_under_its_header(sandbox: Sandbox, admin: Browser,
                                                                     variants) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    plain = services_page(admin, uai)
    rows = {text(r.xpath("td")[0]): [text(td) for td in r.xpath("td")] for r in plain.xpath("//table[@id='services']/tbody/tr")}
    variants("mbn", "reordered", "extra-field")
    doc = services_page(admin, uai)
    shown = header(doc, "services")
    assert shown == ["Intitulé", "Code", "Catégorie", "Interne", "Type SSO", "Anonyme", "Actions"]
    for row in doc.xpath("//table[@id='services']/tbody/tr"):
        cells = dict(zip(shown, (text(td) for td in row.xpath("td"))))
        before = dict(zip(["Code", "Intitulé", "Type SSO", "Anonyme", "Interne"], rows[cells["Code"]]))
        assert {k: cells[k] for k in before} == before
    # another project is served the model
    occ = sandbox.etabs("occitanie")[0]["uai"]
    other = Browser(sandbox)
    other.console_login("occitanie", "admin.occitanie")
    assert header(html(other.get(f"/occitanie/etab/{occ}/admin/services")), "services")[0] == "Code"


def test_service_form_variants_and_the_server_still_accepts_the_form(sandbox: Sandbox, admin: Browser,
                                                                     variants) -> None:
    uai = sandbox.etabs("mbn")[1]["uai"]
    new = f"/mbn/etab/{uai}/admin/services/new"
    variants("mbn", "reordered", "extra-field", "skin")
    doc = html(admin.get(new))
    shown = labels(doc, "form-service")
    assert shown.index("Regroupement * :") < shown.index("Type de SSO * :")
    assert shown.index("Intitulé * :") < shown.index("Type de SSO * :")  # Paramètres techniques moved last
    assert "Commentaire :" in shown
    assert doc.xpath("//div[@class='kd-wrapper']//section[@class='kd-card']//form[@id='form-service']")
    assert not doc.xpath("//form[@id='form-service']//div[@class='champ']")
    created = admin.post(new, {"csrf_token": admin.csrf(new), "sso_type": "SSO Pronote avec CAS",
                               "url": f"https://{uai.lower()}.index-education.net/pronote/",
                               "regroupement": "Scolarité", "intitule": "Variante", "commentaire": "en plus"})
    assert created.status_code == 303, created.text


def test_breaking_variants_rename_a_label_and_an_option(sandbox: Sandbox, admin: Browser, variants) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    variants("mbn", "renamed-label", "renamed-option")
    doc = html(admin.get(f"/mbn/etab/{uai}/admin/services/new"))
    assert "Type d'authentification unique * :" in labels(doc, "form-service")
    assert "Type de SSO * :" not in labels(doc, "form-service")
    select = label_control(doc, "Type d'authentification unique")
    assert [text(o) for o in select.xpath("option")] == ["-- Choisir --", "Pas de SSO ou SSO Standard",
                                                         "SSO Pronote (CAS)"]
    assert select.xpath("option/@value")[2] == "SSO Pronote avec CAS"
    assert header(services_page(admin, uai), "services")[2] == "Type d'authentification"


def test_access_form_variants(sandbox: Sandbox, admin: Browser, variants) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    code = sandbox.query("SELECT s.code FROM services s JOIN etabs e ON e.id = s.etab_id"
                         " WHERE e.uai = ? AND s.interne = 0 LIMIT 1", uai)
    if not code:
        pytest.skip("the seed gave this site no editable service")
    url = f"/mbn/etab/{uai}/admin/services/{code[0]['code']}/acces-population"
    variants("mbn", "reordered", "extra-field", "renamed-label")
    shown = labels(html(admin.get(url)), "form-ajout-acces")
    assert shown[0] == "Profil utilisateur" and "Profil" not in shown and "Date de fin d'accès" in shown


def test_hosting_console_variants_follow_the_project_of_the_base(sandbox: Sandbox, variants) -> None:
    console = Console(sandbox)
    mbn, occ = sandbox.etabs("mbn")[0]["uai"], sandbox.etabs("occitanie")[0]["uai"]
    variants("mbn", "renamed-label", "renamed-option", "reordered", "extra-field", "skin")
    doc = html(console.get(f"/bases/{mbn.lower()}/delegation"))
    shown = labels(doc, "form-delegation")
    assert "Activer la délégation CAS" in shown and "Définir une délégation CAS" not in shown
    assert shown.index("URL du serveur CAS") < shown.index("Projet ENT")
    assert "Délai d'expiration de la session (minutes)" in shown
    assert "CAS 3.0" in [text(o) for o in label_control(doc, "Délégation Espace Elèves").xpath("option")]
    assert doc.xpath("//div[@class='ie-panneau']//form[@id='form-delegation']")
    plain = labels(html(console.get(f"/bases/{occ.lower()}/delegation")), "form-delegation")
    assert "Définir une délégation CAS" in plain and plain.index("Projet ENT") < plain.index("URL du serveur CAS")
    # the server behind the variant is the same: the extra field is ignored, the form saves
    page = f"/bases/{mbn.lower()}/"
    published = text(one(html(console.get(page)), "//p[@id='etat']")) == "Publiée"
    if published:
        assert console.post(page + "arreter", {"jeton": console.jeton(page)}).status_code == 303
    saved = console.submit(page + "delegation", delai="30")
    assert saved.status_code == 303, saved.text
    if published:
        assert console.post(page + "publier", {"jeton": console.jeton(page)}).status_code == 303


def test_import_form_variants(sandbox: Sandbox, admin: Browser, variants) -> None:
    uai = sandbox.etabs("mbn")[0]["uai"]
    url = f"/mbn/etab/{uai}/admin/identifiants"
    plain = html(admin.get(url))
    assert text(one(plain, "//form[@id='form-import']//legend")) == "Mode d'import"
    variants("mbn", "renamed-label", "renamed-option")
    doc = html(admin.get(url))
    assert text(one(doc, "//form[@id='form-import']//legend")) == "Type d'import"
    assert "Partiel (nouveaux utilisateurs)" in labels(doc, "form-import")
    assert doc.xpath("//input[@id='mode-partiel']/@value") == ["partiel"]
