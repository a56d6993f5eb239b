"""The admin console: sign-in, rights, services, access rules, CSRF, sessions."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import refdata
from sandbox_support import Browser, Sandbox, flash_errors, flash_success, html, label_control, one, text

VALID = {
    "sso_type": "SSO Pronote avec CAS",
    "url": "https://0000000A.index-education.net/pronote/",
    "xiti": "Services de vie scolaire",
    "regroupement": "Scolarité",
    "bloc_affiche": "1",
    "bloc_version": "PRONOTE 2025",
    "pronote_cas_url": "",
    "barre": "Oui",
    "intitule": "pronote",
}


@pytest.fixture
def uais(sandbox: Sandbox) -> list[str]:
    return [e["uai"] for e in sandbox.etabs("mbn")]


@pytest.fixture
def admin(browser: Browser) -> Browser:
    """admin.mbn, signed in."""
    browser.console_login("mbn", "admin.mbn")
    return browser


def services_url(uai: str) -> str:
    return f"/mbn/etab/{uai}/admin/services"


def form_values(response, form_id: str) -> dict[str, str]:  # noqa: ANN001
    form = one(html(response), f"//form[@id='{form_id}']")
    return dict(form.form_values())


def create_service(b: Browser, uai: str, **overrides: str) -> str:
    """Create a service through the form; return its code."""
    data = {**VALID, "csrf_token": b.csrf(services_url(uai) + "/new"), **overrides}
    response = b.post(services_url(uai) + "/new", data)
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def service_rows(b: Browser, uai: str) -> dict[str, list[str]]:
    table = one(html(b.get(services_url(uai))), "//table[@id='services']")
    return {text(tr.xpath("td")[0]): [text(td) for td in tr.xpath("td")] for tr in table.xpath("tbody/tr")}


# ---------------------------------------------------------------- sign-in and rights

def test_sign_in_through_cas(sandbox: Sandbox, browser: Browser, uais: list[str]) -> None:
    path = services_url(uais[0])
    first = browser.get(path)
    assert first.status_code == 302
    location = urlsplit(first.headers["Location"])
    assert location.path == "/mbn/cas/login"
    service = parse_qs(location.query)["service"][0]
    assert service == f"{sandbox.url}mbn/auth/cas?next=%2Fmbn%2Fetab%2F{uais[0]}%2Fadmin%2Fservices"
    landed = browser.console_login("mbn", "admin.mbn", path)
    assert landed.status_code == 200
    assert landed.url.endswith(path)
    cookie = next(c for c in browser.session.cookies if c.name == "KDSESSION")
    assert cookie.path == "/mbn/" and cookie.secure
    assert text(one(html(landed), "//p[@class='fil-ariane']")) == \
        "Vous êtes ici : Gestion portail > Services > Liste des services"


def test_bad_ticket_at_callback(browser: Browser) -> None:
    response = browser.get("/mbn/auth/cas", params={"next": "/mbn/", "ticket": "ST-faux"})
    assert response.status_code == 403
    assert "INVALID_TICKET" in text(one(html(response), "//div[@id='erreur']"))
    assert "KDSESSION" not in response.cookies


def test_open_redirect_is_refused(browser: Browser) -> None:
    landed = browser.console_login("mbn", "admin.mbn", "/mbn/")
    assert landed.status_code == 200
    page = browser.get("/mbn/cas/login", params={"service": browser.absolute("/mbn/auth/cas?next=https%3A%2F%2Fevil.example%2F")})
    callback = browser.get(page.headers["Location"])
    assert callback.status_code == 302 and callback.headers["Location"] == "/mbn/"


def test_non_admin_sees_home_but_not_admin_pages(browser: Browser, uais: list[str]) -> None:
    home = browser.console_login("mbn", "demo.enseignant")
    doc = html(home)
    assert text(one(doc, "//h1")) == "Bonjour François Démo-Enseignant"
    assert not doc.xpath("//form[@id='changer-site']") and not doc.xpath("//section[@id='administration']")
    services = [text(a) for a in doc.xpath("//section[@id='mes-services']//a")]
    assert "Absences" in services
    denied = browser.get(services_url(uais[0]))
    assert denied.status_code == 403
    assert text(one(html(denied), "//div[@id='erreur']")) == "Vous n'avez pas les droits d'administration sur ce site."


def test_the_list_of_etablissements_is_what_the_admin_administers(sandbox: Sandbox, browser: Browser,
                                                                   new_browser, uais: list[str]) -> None:
    page = browser.console_login("mbn", "admin.mbn", "/mbn/admin/etablissements")
    assert page.status_code == 200
    doc = html(page)
    assert text(one(doc, "//p[@class='fil-ariane']")) == \
        "Vous êtes ici : Administration > Établissements > Liste des établissements"
    table = one(doc, "//table[@id='etablissements']")
    assert [text(th) for th in table.xpath("thead/tr/th")] == ["UAI", "Nom", "Type", "Commune"]
    rows = [[text(td) for td in tr.xpath("td")] for tr in table.xpath("tbody/tr")]
    assert [r[0] for r in rows] == sorted(uais)
    assert {r[0]: (r[1], r[2]) for r in rows} == {e["uai"]: (e["name"], e["kind"]) for e in sandbox.etabs("mbn")}
    assert text(one(doc, "//p[@id='total-etablissements']")) == f"{len(uais)} établissement(s) — page 1 sur 1"
    assert not doc.xpath("//a[@rel='next']")  # one page: no « Page suivante »
    assert browser.get("/mbn/admin/etablissements", params={"page": "2"}).status_code == 404
    # a site administrator sees its own site only; a user who administers nothing is refused
    scoped = new_browser().console_login("mbn", f"admin.{uais[0].lower()}", "/mbn/admin/etablissements")
    assert [text(tr.xpath("td")[0]) for tr in html(scoped).xpath("//table[@id='etablissements']/tbody/tr")] == [uais[0]]
    denied = new_browser().console_login("mbn", "demo.enseignant", "/mbn/admin/etablissements")
    assert denied.status_code == 403


def test_the_list_of_etablissements_is_paged(browser: Browser, uais: list[str], monkeypatch) -> None:
    from sandbox import console

    monkeypatch.setattr(console, "ETABS_PER_PAGE", 2)  # the sandbox runs in this process
    first = html(browser.console_login("mbn", "admin.mbn", "/mbn/admin/etablissements"))
    following = one(first, "//nav[@class='pagination']/a[@rel='next']")
    assert text(following) == "Page suivante" and following.get("href") == "/mbn/admin/etablissements?page=2"
    assert not first.xpath("//a[@rel='prev']")
    second = html(browser.get(following.get("href")))
    assert text(one(second, "//a[@rel='prev']")) == "Page précédente" and not second.xpath("//a[@rel='next']")
    assert text(one(second, "//p[@id='total-etablissements']")) == f"{len(uais)} établissement(s) — page 2 sur 2"
    shown = [text(tr.xpath("td")[0]) for doc in (first, second)
             for tr in doc.xpath("//table[@id='etablissements']/tbody/tr")]
    assert shown == sorted(uais)


def test_site_admin_is_scoped_to_its_site(sandbox: Sandbox, browser: Browser, uais: list[str]) -> None:
    own = browser.console_login("mbn", f"admin.{uais[0].lower()}", services_url(uais[0]))
    assert own.status_code == 200
    options = one(html(own), "//form[@id='changer-site' and @method='get']//select[@name='site']").xpath("option")
    assert [(o.get("value"), text(o)) for o in options] == [(services_url(uais[0]), f"{sandbox.etabs('mbn')[0]['name']} ({uais[0]})")]
    other = browser.get(services_url(uais[1]))
    assert other.status_code == 403
    assert text(one(html(other), "//div[@id='erreur']")) == "Vous n'avez pas les droits d'administration sur ce site."
    occitanie_uai = sandbox.etabs("occitanie")[0]["uai"]
    for unknown in ("0000000A", occitanie_uai):
        response = browser.get(services_url(unknown))
        assert response.status_code == 404
        assert text(one(html(response), "//div[@id='erreur']")) == f"Établissement inconnu : {unknown}"


def test_project_admin_site_selector(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    page = admin.get(services_url(uais[1]))
    select = one(html(page), "//form[@id='changer-site']//select[@name='site']")
    expected = sorted((f"{e['name']} ({e['uai']})", services_url(e["uai"])) for e in sandbox.etabs("mbn"))
    assert sorted((text(o), o.get("value")) for o in select.xpath("option")) == expected
    assert one(select, "option[@selected]").get("value") == services_url(uais[1])
    moved = admin.get("/mbn/changer-site", params={"site": services_url(uais[2])})
    assert moved.status_code == 302 and moved.headers["Location"] == services_url(uais[2])
    escape = admin.get("/mbn/changer-site", params={"site": "https://evil.example/"})
    assert escape.headers["Location"] == "/mbn/"


def test_admin_of_one_project_cannot_use_another(sandbox: Sandbox, admin: Browser) -> None:
    response = admin.get(services_url(sandbox.etabs("occitanie")[0]["uai"]).replace("/mbn/", "/occitanie/"))
    assert response.status_code == 302 and "/occitanie/cas/login" in response.headers["Location"]


# ---------------------------------------------------------------- services list

def test_services_list(admin: Browser, uais: list[str]) -> None:
    page = admin.get(services_url(uais[2]))
    doc = html(page)
    table = one(doc, "//table[@id='services']")
    assert [text(th) for th in table.xpath("thead/tr/th")] == ["Code", "Intitulé", "Type SSO", "Anonyme", "Interne",
                                                              "Actions"]
    rows = table.xpath("tbody/tr")
    internal = [[text(td) for td in tr.xpath("td")] for tr in rows[:6]]
    assert internal == [[code, label, "Pas de SSO ou SSO Standard", "", "X", ""]
                        for code, label in refdata.INTERNAL_SERVICES]
    for tr in rows[:6]:
        assert not tr.xpath(".//a") and not tr.xpath(".//form")
    new_link = one(doc, "//a[normalize-space()='Nouveau service']")
    assert new_link.get("href") == services_url(uais[2]) + "/new"


def test_seeded_pronote_service_is_listed_with_its_defects(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    service = sandbox.query("SELECT s.* FROM services s JOIN etabs e ON e.id = s.etab_id WHERE e.uai = ?"
                            " AND s.url LIKE '%index-education%'", uais[0])[0]
    rows = service_rows(admin, uais[0])
    row = rows[service["code"]]
    assert row[1] == service["intitule"] and row[2] == service["sso_type"]
    assert row[3] == ("X" if service["anonyme"] else "")
    page = html(admin.get(services_url(uais[0]) + "/" + service["code"]))
    assert label_control(page, "URL").get("value") == f"https://{uais[0]}.index-education.net/pronote/"


# ---------------------------------------------------------------- new / edit / delete

def test_new_service_form_structure(admin: Browser, uais: list[str]) -> None:
    doc = html(admin.get(services_url(uais[1]) + "/new"))
    assert text(one(doc, "//p[@class='fil-ariane']")) == "Vous êtes ici : Gestion portail > Services > Nouveau service"
    form = one(doc, "//form[@id='form-service' and @method='post']")
    assert [text(lg) for lg in form.xpath("fieldset/legend")] == ["Paramètres techniques",
                                                                 "Configuration du bloc PRONOTE",
                                                                 "Paramètres d'affichage"]
    assert [text(a) for a in doc.xpath("//ul[@class='onglets']//a")] == ["Informations générales"]
    assert not doc.xpath("//span[@id='code']")
    selects = {
        "Type de SSO": refdata.SSO_TYPES, "Type Xiti": refdata.XITI_TYPES, "Regroupement": refdata.REGROUPEMENTS,
        "Version": refdata.PRONOTE_VERSIONS, "Service affiché dans la barre des services": ("Oui", "Non"),
    }
    for label, values in selects.items():
        control = label_control(doc, label)
        assert control.tag == "select"
        assert [text(o) for o in control.xpath("option") if o.get("value")] == list(values)
    for label in ("URL", "URL CAS de PRONOTE.net", "Intitulé"):
        assert label_control(doc, label).get("type") == "text"
    for label in ("Afficher le bloc", "Afficher le bloc PRONOTE sur la page d'accueil", "Service anonyme"):
        assert label_control(doc, label).get("type") == "checkbox"
    required = [text(lb) for lb in form.xpath(".//label") if "*" in text(lb)]
    assert required == ["Type de SSO * :", "URL * :", "Regroupement * :", "Intitulé * :"]
    assert one(form, ".//button[@type='submit']").text_content().strip() == "Valider"
    assert one(form, ".//input[@name='csrf_token']").get("value")


def test_create_edit_delete_service(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    uai = uais[1]
    next_n = sandbox.query("SELECT next_service_n FROM etabs WHERE uai = ?", uai)[0][0]
    data = {**VALID, "csrf_token": admin.csrf(services_url(uai) + "/new"), "intitule": "Pronote « test »"}
    created = admin.post(services_url(uai) + "/new", data)
    assert created.status_code == 303
    code = f"USER_{next_n}"
    assert created.headers["Location"] == f"{services_url(uai)}/{code}"
    page = admin.get(created.headers["Location"])
    doc = html(page)
    assert flash_success(doc) == "Le service a été créé."
    assert text(one(doc, "//span[@id='code']")) == code
    assert text(one(doc, "//p[@class='fil-ariane']")) == "Vous êtes ici : Gestion portail > Services > Modifier un service"
    assert [text(a) for a in doc.xpath("//ul[@class='onglets']//a")] == ["Informations générales", "Accès population",
                                                                        "Accès utilisateur"]
    assert label_control(doc, "Intitulé").get("value") == "Pronote « test »"
    assert one(label_control(doc, "Type de SSO"), "option[@selected]").text == "SSO Pronote avec CAS"
    assert label_control(doc, "Afficher le bloc").get("checked") is not None
    assert label_control(doc, "Service anonyme").get("checked") is None
    assert not html(admin.get(page.url)).xpath("//div[contains(@class,'flash')]")  # flash shown once

    values = form_values(page, "form-service")
    values.update(bloc_version="PRONOTE 2024", anonyme="1", intitule="PRONOTE")
    values.pop("bloc_affiche", None)
    updated = admin.post(page.url, values)
    assert updated.status_code == 303 and updated.headers["Location"] == f"{services_url(uai)}/{code}"
    doc = html(admin.get(updated.headers["Location"]))
    assert flash_success(doc) == "Le service a été modifié."
    stored = sandbox.query("SELECT * FROM services s JOIN etabs e ON e.id = s.etab_id WHERE e.uai = ? AND code = ?",
                           uai, code)[0]
    assert (stored["bloc_version"], stored["anonyme"], stored["bloc_affiche"], stored["intitule"]) == \
        ("PRONOTE 2024", 1, 0, "PRONOTE")
    assert service_rows(admin, uai)[code][3] == "X"

    csrf = admin.csrf(services_url(uai))
    deleted = admin.post(f"{services_url(uai)}/{code}/supprimer", {"csrf_token": csrf})
    assert deleted.status_code == 303 and deleted.headers["Location"] == services_url(uai)
    doc = html(admin.get(services_url(uai)))
    assert flash_success(doc) == "Le service a été supprimé."
    assert code not in service_rows(admin, uai)
    # codes are never reused
    assert create_service(admin, uai) == f"USER_{next_n + 1}"


def test_delete_takes_rules_with_it(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    uai = uais[1]
    code = create_service(admin, uai)
    path = f"{services_url(uai)}/{code}/acces-population"
    admin.post(path + "/ajouter", {"csrf_token": admin.csrf(path), "role": "Accès au service", "cible": "site",
                                   "profile": "Elève"})
    service_id = sandbox.query("SELECT s.id FROM services s JOIN etabs e ON e.id = s.etab_id WHERE e.uai = ? AND code = ?",
                               uai, code)[0][0]
    assert sandbox.query("SELECT COUNT(*) FROM access_rules WHERE service_id = ?", service_id)[0][0] == 1
    admin.post(f"{services_url(uai)}/{code}/supprimer", {"csrf_token": admin.csrf(services_url(uai))})
    assert sandbox.query("SELECT COUNT(*) FROM access_rules WHERE service_id = ?", service_id)[0][0] == 0


@pytest.mark.parametrize(("changes", "expected"), [
    ({"sso_type": ""}, "Le champ « Type de SSO » est obligatoire."),
    ({"sso_type": "SSO Magique"}, "Le champ « Type de SSO » contient une valeur non autorisée."),
    ({"url": ""}, "Le champ « URL » est obligatoire."),
    ({"url": "pas une adresse"}, "Le champ « URL » doit être une adresse http(s) valide."),
    ({"url": "ftp://0000000A.index-education.net/"}, "Le champ « URL » doit être une adresse http(s) valide."),
    ({"url": "https://"}, "Le champ « URL » doit être une adresse http(s) valide."),
    ({"xiti": "Services secrets"}, "Le champ « Type Xiti » contient une valeur non autorisée."),
    ({"regroupement": ""}, "Le champ « Regroupement » est obligatoire."),
    ({"bloc_version": "PRONOTE 2031"}, "Le champ « Version » contient une valeur non autorisée."),
    ({"pronote_cas_url": "cas.example"}, "Le champ « URL CAS de PRONOTE.net » doit être une adresse http(s) valide."),
    ({"barre": "Peut-être"}, "Le champ « Service affiché dans la barre des services » contient une valeur non autorisée."),
    ({"intitule": "  "}, "Le champ « Intitulé » est obligatoire."),
    ({"intitule": "x" * 65}, "Le champ « Intitulé » ne doit pas dépasser 64 caractères."),
])
def test_service_validation_errors(sandbox: Sandbox, admin: Browser, uais: list[str], changes: dict[str, str],
                                   expected: str) -> None:
    uai = uais[2]
    before = sandbox.query("SELECT COUNT(*) FROM services")[0][0]
    data = {**VALID, "csrf_token": admin.csrf(services_url(uai) + "/new"), **changes}
    response = admin.post(services_url(uai) + "/new", data)
    assert response.status_code == 200
    doc = html(response)
    assert flash_errors(doc) == [expected]
    assert label_control(doc, "URL").get("value") == data["url"].strip()
    assert sandbox.query("SELECT COUNT(*) FROM services")[0][0] == before


def test_several_errors_at_once_on_edit(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    uai = uais[2]
    code = create_service(admin, uai, intitule="avant")
    data = {**VALID, "csrf_token": admin.csrf(f"{services_url(uai)}/{code}"), "url": "", "intitule": "", "sso_type": ""}
    response = admin.post(f"{services_url(uai)}/{code}", data)
    assert response.status_code == 200
    assert flash_errors(html(response)) == ["Le champ « Type de SSO » est obligatoire.",
                                            "Le champ « URL » est obligatoire.",
                                            "Le champ « Intitulé » est obligatoire."]
    assert text(one(html(response), "//span[@id='code']")) == code
    assert sandbox.query("SELECT intitule FROM services WHERE code = ? AND etab_id = (SELECT id FROM etabs WHERE uai = ?)",
                         code, uai)[0][0] == "avant"


def test_html_is_escaped(admin: Browser, uais: list[str]) -> None:
    code = create_service(admin, uais[2], intitule="<script>alert('x')</script>")
    doc = html(admin.get(services_url(uais[2])))
    assert not doc.xpath("//script")
    assert service_rows(admin, uais[2])[code][1] == "<script>alert('x')</script>"


def test_unknown_service_and_internal_services(admin: Browser, uais: list[str]) -> None:
    uai = uais[0]
    missing = admin.get(f"{services_url(uai)}/USER_999")
    assert missing.status_code == 404 and text(one(html(missing), "//div[@id='erreur']")) == "Service inconnu : USER_999"
    csrf = admin.csrf(services_url(uai))
    for method, path, data in [
        ("get", f"{services_url(uai)}/ABS", None),
        ("post", f"{services_url(uai)}/ADMIN", {**VALID, "csrf_token": csrf}),
        ("post", f"{services_url(uai)}/CDTP/supprimer", {"csrf_token": csrf}),
        ("get", f"{services_url(uai)}/ANNU/acces-population", None),
        ("post", f"{services_url(uai)}/HELP/acces-population/ajouter",
         {"csrf_token": csrf, "role": "Accès au service", "cible": "site", "profile": "Elève"}),
    ]:
        response = getattr(admin, method)(path, data) if data else admin.get(path)
        assert response.status_code == 403, path
        assert text(one(html(response), "//div[@id='erreur']")) == "Un service interne ne peut pas être modifié."
    assert [r[0] for r in service_rows(admin, uai).values()][:6] == [c for c, _ in refdata.INTERNAL_SERVICES]


# ---------------------------------------------------------------- CSRF and sessions

@pytest.mark.parametrize("token", [None, "", "faux"])
def test_csrf_refusal(sandbox: Sandbox, admin: Browser, uais: list[str], token: str | None) -> None:
    before = sandbox.query("SELECT COUNT(*) FROM services")[0][0]
    data = dict(VALID)
    if token is not None:
        data["csrf_token"] = token
    response = admin.post(services_url(uais[2]) + "/new", data)
    assert response.status_code == 403
    assert text(one(html(response), "//div[@id='erreur']")) == "Jeton de sécurité invalide ou expiré. Rechargez la page."
    assert sandbox.query("SELECT COUNT(*) FROM services")[0][0] == before


def test_csrf_token_is_per_session(new_browser, uais: list[str]) -> None:  # noqa: ANN001
    first, second = new_browser(), new_browser()
    first.console_login("mbn", "admin.mbn")
    second.console_login("mbn", "admin.mbn")
    token = first.csrf(services_url(uais[2]) + "/new")
    assert token != second.csrf(services_url(uais[2]) + "/new")
    response = second.post(services_url(uais[2]) + "/new", {**VALID, "csrf_token": token})
    assert response.status_code == 403


def test_idle_session_expires(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    path = services_url(uais[0])
    sandbox.advance(1700)
    assert admin.get(path).status_code == 200  # activity keeps it alive
    sandbox.advance(1700)
    assert admin.get(path).status_code == 200
    sandbox.advance(1801)
    expired = admin.get(path)
    assert expired.status_code == 302 and "/mbn/cas/login?service=" in expired.headers["Location"]


def test_post_without_session_redirects_to_cas(sandbox: Sandbox, browser: Browser, uais: list[str]) -> None:
    path = f"{services_url(uais[0])}/USER_0/supprimer"
    response = browser.post(path, {"csrf_token": "x"})
    assert response.status_code == 302
    service = parse_qs(urlsplit(response.headers["Location"]).query)["service"][0]
    assert parse_qs(urlsplit(service).query)["next"] == [f"{services_url(uais[0])}/USER_0"]


def test_logout_ends_console_and_cas(admin: Browser, uais: list[str]) -> None:
    response = admin.get("/mbn/deconnexion")
    assert response.status_code == 302 and "/mbn/cas/logout?service=" in response.headers["Location"]
    admin.get(response.headers["Location"])
    again = admin.get(services_url(uais[0]))
    assert again.status_code == 302
    assert admin.get(again.headers["Location"]).status_code == 200  # CAS form: TGC ended too


# ---------------------------------------------------------------- access rules

def _population(admin: Browser, uai: str, code: str) -> str:
    return f"{services_url(uai)}/{code}/acces-population"


def _recap(response) -> list[list[str]]:  # noqa: ANN001
    table = one(html(response), "//table[@id='droits-acces']")
    rows = []
    for tr in table.xpath("tbody/tr"):
        cells = tr.xpath("td")
        cible = [text(one(cells[0], "span[@class='cible-type']")), text(one(cells[0], "span[@class='cible-valeur']"))]
        rows.append(cible + [text(td) for td in cells[1:6]])
    return rows


def test_population_page_structure(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    uai = uais[1]
    code = create_service(admin, uai)
    doc = html(admin.get(_population(admin, uai, code)))
    form = one(doc, "//form[@id='form-ajout-acces' and @method='post']")
    assert [text(o) for o in label_control(doc, "Rôle").xpath("option")] == list(refdata.ROLES)
    radios = form.xpath(".//input[@type='radio' and @name='cible']")
    labels = [text(one(doc, f"//label[@for='{r.get('id')}']")) for r in radios]
    assert labels == list(refdata.CIBLES.values())
    etabs = label_control(doc, "Établissements")
    assert etabs.get("multiple") is not None
    names = {e["uai"]: e["name"] for e in sandbox.etabs("mbn")}
    assert [text(o) for o in etabs.xpath("option")][0] == f"{names[uai]} ({uai})"
    assert sorted(text(o) for o in etabs.xpath("option")) == sorted(f"{n} ({u})" for u, n in names.items())
    groups = label_control(doc, "Groupes")
    assert "Professeurs principaux" in [text(o) for o in groups.xpath("option")]
    assert [text(o) for o in label_control(doc, "Profil").xpath("option")] == ["Indéfini(e)", *refdata.PROFILES]
    for label in ("Matière enseignée", "Fonction", "Discipline de poste"):
        first = label_control(doc, label).xpath("option")[0]
        assert (text(first), first.get("value")) == ("Indifférent(e)", "")
    assert text(one(form, ".//button[@type='submit']")) == "Ajouter les accès"
    table = one(doc, "//table[@id='droits-acces']")
    assert [text(th) for th in table.xpath("thead/tr/th")] == ["Cible", "Profil", "Matière enseignée", "Fonction",
                                                              "Discipline de poste", "Rôle", "Actions"]
    assert one(doc, "//form[@id='form-valider']").get("action") == services_url(uai)


def test_rules_for_every_cible(sandbox: Sandbox, admin: Browser, uais: list[str]) -> None:
    uai = uais[1]
    code = create_service(admin, uai)
    path = _population(admin, uai, code)
    names = {e["uai"]: e["name"] for e in sandbox.etabs("mbn")}
    groups = {r["name"]: str(r["id"]) for r in sandbox.query(
        "SELECT g.* FROM ent_groups g JOIN etabs e ON e.id = g.etab_id WHERE e.uai = ?", uai)}
    additions = [
        ({"cible": "site", "profile": "Elève"}, ["Établissement(s) du site courant", names[uai], "Elève", "", "", "",
                                                  "Accès au service"]),
        ({"cible": "etablissements", "etablissements": [uais[2], uais[0]], "profile": "Enseignant",
          "matiere": "Mathématiques", "role": "Administration du service"},
         ["Liste personnalisée d'établissements", ", ".join(sorted([names[uais[0]], names[uais[2]]])), "Enseignant",
          "Mathématiques", "", "", "Administration du service"]),
        ({"cible": "groupes", "groupes": [groups["Professeurs principaux"], groups["Équipe de direction"]],
          "profile": "Personnel", "fonction": "Direction", "discipline": "L1300 MATHEMATIQUES"},
         ["Liste de groupes", "Professeurs principaux, Équipe de direction", "Personnel", "", "Direction",
          "L1300 MATHEMATIQUES", "Accès au service"]),
        ({"cible": "ent", "profile": "Parent"}, ["Tout l'ENT", "", "Parent", "", "", "", "Accès au service"]),
    ]
    expected_rows = []
    for data, row in additions:
        payload = {"csrf_token": admin.csrf(path), "role": "Accès au service", **data}
        response = admin.post(path + "/ajouter", payload)
        assert response.status_code == 303 and response.headers["Location"] == path
        page = admin.get(path)
        assert flash_success(html(page)) == "Les accès ont été ajoutés."
        expected_rows.append(row)
        recap = _recap(page)
        recap[-1][1] = ", ".join(sorted(recap[-1][1].split(", "))) if row[0] == "Liste de groupes" else recap[-1][1]
        row[1] = ", ".join(sorted(row[1].split(", "))) if row[0] == "Liste de groupes" else row[1]
        assert recap == expected_rows
    # duplicates are refused, each kind (same targets in another order too)
    for data, _ in additions:
        if "etablissements" in data:
            data = {**data, "etablissements": list(reversed(data["etablissements"]))}
        response = admin.post(path + "/ajouter", {"csrf_token": admin.csrf(path), "role": "Accès au service", **data})
        assert response.status_code == 200
        assert flash_errors(html(response)) == ["Ce droit d'accès existe déjà."]
    # who has access: the site's pupils and every parent of the project, at least
    access = html(admin.get(f"{services_url(uai)}/{code}/acces-utilisateur"))
    pupils = sandbox.query("SELECT COUNT(*) FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e"
                           " ON e.id = ue.etab_id WHERE e.uai = ? AND u.profile = 'Elève'", uai)[0][0]
    parents = sandbox.query("SELECT COUNT(*) FROM users WHERE project_id = 1 AND profile = 'Parent'")[0][0]
    total = int(text(one(access, "//p[@id='total-acces']")).split()[0])
    assert total >= pupils + parents
    profiles = {text(tr.xpath("td")[3]) for tr in access.xpath("//table[@id='acces-utilisateur']/tbody/tr")}
    assert {"Elève", "Parent"} <= profiles
    # delete each rule
    page = admin.get(path)
    forms = html(page).xpath("//table[@id='droits-acces']//form")
    assert [text(one(f, ".//button")) for f in forms] == ["✗"] * 4
    assert all(one(f, ".//button").get("title") == "Supprimer cet accès" for f in forms)
    for action in [f.get("action") for f in forms]:
        response = admin.post(action, {"csrf_token": admin.csrf(path)})
        assert response.status_code == 303
        assert flash_success(html(admin.get(path))) == "L'accès a été supprimé."
    assert _recap(admin.get(path)) == []
    assert admin.post(forms[0].get("action"), {"csrf_token": admin.csrf(path)}).status_code == 404


@pytest.mark.parametrize(("data", "expected"), [
    ({"cible": "site", "profile": ""}, ["Le champ « Profil » est obligatoire."]),
    ({"cible": "site", "profile": "Indéfini(e)"}, ["Le champ « Profil » est obligatoire."]),
    ({"cible": "site", "profile": "Directeur"}, ["Le champ « Profil » contient une valeur non autorisée."]),
    ({"cible": "etablissements", "profile": "Elève"},
     ["Le champ « Établissements » doit contenir au moins un établissement pour la cible"
      " « Liste personnalisée d'établissements »."]),
    ({"cible": "etablissements", "etablissements": ["0000000A"], "profile": "Elève"},
     ["Le champ « Établissements » contient une valeur non autorisée."]),
    ({"cible": "groupes", "profile": "Elève"},
     ["Le champ « Groupes » doit contenir au moins un groupe pour la cible « Liste de groupes »."]),
    ({"cible": "groupes", "groupes": ["999999"], "profile": "Elève"},
     ["Le champ « Groupes » contient une valeur non autorisée."]),
    ({"profile": "Elève"}, ["Le champ « Cible » est obligatoire."]),
    ({"cible": "monde", "profile": "Elève"}, ["Le champ « Cible » contient une valeur non autorisée."]),
    ({"cible": "site", "profile": "Elève", "role": "Super-utilisateur"},
     ["Le champ « Rôle » contient une valeur non autorisée."]),
    ({"cible": "site", "profile": "Enseignant", "matiere": "Latin-grec"},
     ["Le champ « Matière enseignée » contient une valeur non autorisée."]),
    ({"cible": "site", "profile": "Personnel", "fonction": "Cuisinier", "discipline": "X"},
     ["Le champ « Fonction » contient une valeur non autorisée.",
      "Le champ « Discipline de poste » contient une valeur non autorisée."]),
])
def test_rule_validation_errors(sandbox: Sandbox, admin: Browser, uais: list[str], data: dict, expected: list[str]) -> None:
    uai = uais[2]
    code = create_service(admin, uai)
    path = _population(admin, uai, code)
    payload = {"csrf_token": admin.csrf(path), "role": "Accès au service", **data}
    response = admin.post(path + "/ajouter", payload)
    assert response.status_code == 200
    doc = html(response)
    assert flash_errors(doc) == expected
    if data.get("cible") in ("site", "etablissements", "groupes", "ent"):
        assert one(doc, "//input[@name='cible' and @checked]").get("value") == data["cible"]
    assert _recap(response) == []


def test_rule_grants_the_service_on_the_portal(sandbox: Sandbox, admin: Browser, new_browser, uais: list[str]) -> None:  # noqa: ANN001
    uai = uais[0]
    code = create_service(admin, uai, intitule="Cahier multimédia")
    path = _population(admin, uai, code)
    pupil = new_browser()
    home = html(pupil.console_login("mbn", "demo.eleve"))
    assert "Cahier multimédia" not in [text(a) for a in home.xpath("//section[@id='mes-services']//a")]
    admin.post(path + "/ajouter", {"csrf_token": admin.csrf(path), "role": "Accès au service", "cible": "site",
                                   "profile": "Elève"})
    home = html(pupil.get("/mbn/"))
    assert "Cahier multimédia" in [text(a) for a in home.xpath("//section[@id='mes-services']//a")]
