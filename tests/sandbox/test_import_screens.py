"""Administration > Importer les identifiants Pronote, the identifiers list, the directory,
and ``idPronote`` at the CAS, end to end over HTTPS (docs/import-screens.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from sandbox import pronote, refdata
from sandbox_support import (Browser, Sandbox, flash_errors, flash_success, html, label_control, one,
                             text, ticket_of)

NS = {"cas": "http://www.yale.edu/tp/cas"}
STEP_TITLES = ["Enseignants", "Élèves", "Responsables", "Maîtres de stage", "Inspecteurs pédagogiques", "Personnels"]
PROFILES = ["Enseignant", "Elève", "Parent", "Maître de stage", "Inspecteur", "Personnel"]


@pytest.fixture
def admin(sb: Sandbox) -> Browser:
    browser = Browser(sb)
    browser.console_login("mbn", "admin.mbn")
    return browser


def mbn(sb: Sandbox, index: int) -> str:
    return sb.etabs("mbn")[index]["uai"]


def form_url(uai: str) -> str:
    return f"/mbn/etab/{uai}/admin/identifiants"


def export(sb: Sandbox, uai: str, **options: bool) -> bytes:
    conn = sb.conn()
    try:
        return pronote.render_export(conn, uai, **options)
    finally:
        conn.close()


def upload(b: Browser, uai: str, data: bytes | None, mode: str | None = "complet", etab: str | None = None,
           page_uai: str | None = None) -> requests.Response:
    url = form_url(page_uai or uai)
    fields = {"csrf_token": b.csrf(url), "etablissement": etab or uai}
    if mode is not None:
        fields["mode"] = mode
    files = {"fichier": ("identifiants.xml", data, "application/xml")} if data is not None else \
        {"fichier": ("", b"", "application/octet-stream")}
    return b.post(url, fields, files=files)


def start(b: Browser, uai: str, mode: str = "complet", data: bytes | None = None) -> str:
    """Upload the site's export; return the URL of step 1."""
    response = upload(b, uai, data if data is not None else export(b.sb, uai), mode)
    assert response.status_code == 303, flash_errors(html(response))
    return response.headers["Location"]


def step_rows(doc: etree._Element) -> list[dict[str, str]]:
    header = [text(th) for th in one(doc, "//table[@id='rapprochement']").xpath("thead/tr/th")]
    assert header == ["Identifiant PRONOTE", "Nom", "Prénom", "Date de naissance", "État", "Compte ENT"]
    rows = []
    for tr in one(doc, "//table[@id='rapprochement']").xpath("tbody/tr"):
        cells = tr.xpath("td")
        row = dict(zip(header, (text(c) for c in cells)))
        row["input"] = cells[5].xpath(".//input")[0].get("value", "")
        row["name"] = cells[5].xpath(".//input")[0].get("name")
        row["links"] = cells[5].xpath(".//a/@href")
        rows.append(row)
    return rows


def post_step(b: Browser, url: str, logins: dict[str, str] | None = None, action: str = "valider",
              keep: bool = True) -> requests.Response:
    """Submit the step at ``url``: the shown values (``keep``) overridden by ``logins`` (ident -> login)."""
    doc = html(b.get(url))
    data: dict[str, str] = {"csrf_token": doc.xpath("//input[@name='csrf_token']/@value")[0], "action": action}
    for row in step_rows(doc):
        data[row["name"]] = (logins or {}).get(row["Identifiant PRONOTE"], row["input"] if keep else "")
    return b.post(url, data)


def pairs(sb: Sandbox, uai: str) -> dict[str, str]:
    """ident -> login of the site's identifiers."""
    return {r[0]: r[1] for r in sb.query("SELECT i.ident, u.login FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
                                         " JOIN etabs e ON e.id = i.etab_id WHERE e.uai = ?", uai)}


def expected_plain(sb: Sandbox, uai: str, profile: str, rows: list[etree._Element]) -> list[str | None]:
    """The plain rule, computed here independently: exact nom/prénom/date, case aside, unique both ways."""
    accounts = sb.query("SELECT u.login, u.nom, u.prenom, u.birth_date FROM users u JOIN user_etabs ue"
                        " ON ue.user_id = u.id JOIN etabs e ON e.id = ue.etab_id WHERE e.uai = ? AND u.profile = ?",
                        uai, profile)
    found = []
    for row in rows:
        date = row.get("DateNaissance")
        fits = [a["login"] for a in accounts if date and a["birth_date"] == date
                and a["nom"].lower() == row.get("Nom").lower() and a["prenom"].lower() == row.get("Prenom").lower()]
        found.append(fits[0] if len(fits) == 1 else None)
    used = Counter(f for f in found if f)
    return [f if f and used[f] == 1 else None for f in found]


# ---------------------------------------------------------------- the form

def test_form_page(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 1)
    page = admin.get(form_url(uai))
    assert page.status_code == 200
    doc = html(page)
    assert text(one(doc, "//p[@class='fil-ariane']")) == "Vous êtes ici : Administration > Importer les identifiants Pronote"
    form = one(doc, "//form[@id='form-import']")
    assert form.get("method") == "post" and form.get("enctype") == "multipart/form-data"
    select = label_control(doc, "Établissement")
    options = [(o.get("value"), text(o)) for o in select.xpath("option")]
    assert options == [(e["uai"], f"{e['name']} ({e['uai']})")
                       for e in sorted(sb.etabs("mbn"), key=lambda e: (e["name"], e["uai"]))]
    assert select.xpath("option[@selected]/@value") == [uai]
    assert text(one(form, ".//fieldset/legend")) == "Mode d'import"
    radios = [label_control(doc, label) for label in ("Complet", "Partiel")]
    assert [(r.get("type"), r.get("name"), r.get("value")) for r in radios] == [("radio", "mode", "complet"),
                                                                                ("radio", "mode", "partiel")]
    assert all(r.getparent().tag == "fieldset" for r in radios)
    assert label_control(doc, "Fichier").get("type") == "file"
    assert form.xpath(".//input[@name='csrf_token']") and one(form, ".//button[normalize-space()='Importer']") is not None
    menu = [text(a) for a in doc.xpath("//nav[@id='menu-administration']//a")]
    assert menu == ["Services", "Importer les identifiants Pronote", "Identifiants importés", "Annuaire"]


def test_form_errors_import_nothing(sb: Sandbox, admin: Browser) -> None:
    uai, other = mbn(sb, 1), mbn(sb, 2)
    count = lambda: sb.query("SELECT COUNT(*) FROM imports")[0][0]  # noqa: E731
    before = count()
    missing = upload(admin, uai, None, mode=None)
    assert missing.status_code == 200
    assert flash_errors(html(missing)) == ["Le champ « Mode d'import » est obligatoire.",
                                           "Le champ « Fichier » est obligatoire."]
    bad = upload(admin, uai, b"<?xml version='1.0'?>\n<IdentifiantsPRONOTE>\n<oups></IdentifiantsPRONOTE>", "partiel")
    assert flash_errors(html(bad)) == ["Le fichier n'est pas un fichier d'identifiants PRONOTE valide"
                                       " (ligne 3 : document XML mal formé)."]
    assert label_control(html(bad), "Partiel").get("checked") is not None  # the values as typed
    data = export(sb, other)
    ident = data.split(b'<Eleve Identifiant="')[1][:16]
    twice = data.replace(b"</Eleves>", b'<Eleve Identifiant="' + ident + b'" Nom="X" Prenom="Y"/>\r\n  </Eleves>')
    line = twice[:twice.index(b'Nom="X"')].count(b"\n") + 1
    first = data[:data.index(ident)].count(b"\n") + 1
    [message] = flash_errors(html(upload(admin, other, twice)))
    assert message == ("Le fichier n'est pas un fichier d'identifiants PRONOTE valide (ligne"
                       f" {line} : identifiant « {ident.decode()} » déjà présent ligne {first}).")
    bad_ident = data.replace(b'Identifiant="' + ident, b'Identifiant="' + ident.lower(), 1)
    [message] = flash_errors(html(upload(admin, other, bad_ident)))
    assert f"(ligne {first} : identifiant « {ident.decode().lower()} » invalide" in message
    wrong_root = b'<?xml version="1.0" encoding="UTF-8"?>\r\n<Identifiants UAI="0671824U"/>\r\n'
    [message] = flash_errors(html(upload(admin, other, wrong_root)))
    assert message.startswith("Le fichier n'est pas un fichier d'identifiants PRONOTE valide (ligne 2 : ")
    wrong_uai = upload(admin, uai, data)
    assert flash_errors(html(wrong_uai)) == [f"Le fichier concerne l'établissement {other} et non {uai}."]
    assert count() == before


def test_file_over_20_mo_is_refused(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 1)
    before = sb.query("SELECT COUNT(*) FROM imports")[0][0]
    data = export(sb, uai)
    padded = data + b" " * (20 * 1024 * 1024 + 1 - len(data))
    assert flash_errors(html(upload(admin, uai, padded))) == ["Le fichier dépasse la taille maximale autorisée (20 Mo)."]
    huge = upload(admin, uai, data + b" " * (23 * 1024 * 1024))  # over the server's body limit: dropped unread
    assert huge.status_code == 200
    assert flash_errors(html(huge)) == ["Le fichier dépasse la taille maximale autorisée (20 Mo)."]
    assert sb.query("SELECT COUNT(*) FROM imports")[0][0] == before
    assert admin.get(form_url(uai)).status_code == 200  # the connection and the session still work


def test_rights_and_unknown_sites(sb: Sandbox, new_browser_for) -> None:  # noqa: ANN001
    first, second = mbn(sb, 0), mbn(sb, 1)
    local = new_browser_for(f"admin.{first.lower()}")
    assert local.get(form_url(first)).status_code == 200
    assert local.get(form_url(second)).status_code == 403
    refused = upload(local, first, export(sb, second), etab=second, page_uai=first)
    assert refused.status_code == 403
    assert text(one(html(refused), "//div[@id='erreur']")) == "Vous n'avez pas les droits d'administration sur ce site."
    unknown = upload(local, first, export(sb, first), etab="0000000A", page_uai=first)
    assert unknown.status_code == 404
    assert text(one(html(unknown), "//div[@id='erreur']")) == "Établissement inconnu : 0000000A"
    for path in ("identifiants/liste", "annuaire", "identifiants/import/1"):
        assert local.get(f"/mbn/etab/{second}/admin/{path}").status_code == 403
        assert local.get(f"/mbn/etab/9999999Z/admin/{path}").status_code == 404
    occitanie = sb.etabs("occitanie")[0]["uai"]
    assert local.get(form_url(occitanie)).status_code == 404


@pytest.fixture
def new_browser_for(sb: Sandbox):  # noqa: ANN201
    def make(login: str) -> Browser:
        browser = Browser(sb)
        browser.console_login("mbn", login)
        return browser
    return make


# ---------------------------------------------------------------- steps

def test_six_steps_with_the_plain_rule(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 0)
    data = export(sb, uai)
    root = etree.fromstring(data)
    url = start(admin, uai, "partiel", data)
    assert url.endswith("/etape/1") and f"/mbn/etab/{uai}/admin/identifiants/import/" in url
    before = pairs(sb, uai)
    expected_pairs = dict(before)
    reconnus_per_step = []
    for step in range(1, 7):
        assert urlsplit(url).path.endswith(f"/etape/{step}")
        doc = html(admin.get(url))
        assert text(one(doc, "//p[@class='fil-ariane']")) == \
            f"Vous êtes ici : Administration > Importer les identifiants Pronote > Étape {step}/6"
        heading = one(doc, "//h2[@id='etape']")
        assert heading.get("data-etape") == str(step) and text(heading) == f"Étape {step}/6 : {STEP_TITLES[step - 1]}"
        element = pronote.CATEGORY_BY_STEP[step].element
        people = root.xpath(f"/*/*/{element}")
        rows = step_rows(doc)
        assert [r["Identifiant PRONOTE"] for r in rows] == [p.get("Identifiant") for p in people]
        assert [(r["Nom"], r["Prénom"]) for r in rows] == [(p.get("Nom"), p.get("Prenom")) for p in people]
        plain = expected_plain(sb, uai, PROFILES[step - 1], people)
        assert [r["input"] or None for r in rows] == plain
        assert [r["État"] for r in rows] == ["Reconnu" if p else "Non reconnu" for p in plain]
        reconnus = sum(1 for p in plain if p)
        assert text(one(doc, "//p[@id='reconnus']")) == f"{reconnus} reconnus"
        assert text(one(doc, "//p[@id='non-reconnus']")) == f"{len(rows) - reconnus} non reconnus"
        for row, person in zip(rows, people):
            if row["État"] == "Non reconnu":
                [link] = row["links"]
                query = parse_qs(urlsplit(link).query)
                assert urlsplit(link).path == f"/mbn/etab/{uai}/admin/annuaire"
                assert query == {"q": [f"{person.get('Nom')} {person.get('Prenom')}"], "profil": [PROFILES[step - 1]]}
                assert label_control(doc, f"Compte ENT pour {row['Identifiant PRONOTE']}").get("value") == ""
            else:
                assert row["links"] == []
            if person.get("DateNaissance"):
                y, m, d = person.get("DateNaissance").split("-")
                assert row["Date de naissance"] == f"{d}/{m}/{y}"
        for ident, login in zip((r["Identifiant PRONOTE"] for r in rows), plain):
            if login:
                expected_pairs = {i: lg for i, lg in expected_pairs.items() if lg != login and i != ident}
                expected_pairs[ident] = login
        reconnus_per_step.append((reconnus, len(rows)))
        response = post_step(admin, url)
        assert response.status_code == 303
        url = response.headers["Location"]
    assert urlsplit(url).path.endswith("/fin")
    end = html(admin.get(url))
    assert text(one(end, "//h1")) == "Import terminé"
    bilan = one(end, "//table[@id='bilan']")
    assert [text(th) for th in bilan.xpath("thead/tr/th")] == ["Étape", "Reconnus", "Liés", "Non liés"]
    cells = [[text(td) for td in tr.xpath("td")] for tr in bilan.xpath("tbody/tr")]
    assert [c[1:] for c in cells] == [[str(r), str(r), str(n - r)] for r, n in reconnus_per_step]
    assert STEP_TITLES[0] in cells[0][0]
    assert end.xpath(f"//a[@href='{form_url(uai)}']")
    assert pairs(sb, uai) == expected_pairs  # partiel: what was there before stays, unless taken over
    # once finished: the steps and the import lead to the end page
    import_url = url.rsplit("/", 1)[0]
    assert admin.get(import_url).headers["Location"] == urlsplit(url).path
    assert admin.get(import_url + "/etape/6").headers["Location"] == import_url
    assert admin.post(import_url + "/etape/6", {"csrf_token": admin.csrf(form_url(uai)),
                                                "action": "valider"}).headers["Location"] == import_url


def test_validation_errors_save_nothing(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 1)
    url = start(admin, uai)
    before = pairs(sb, uai)
    rows = step_rows(html(admin.get(url)))
    pupil = sb.query("SELECT u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e"
                     " ON e.id = ue.etab_id WHERE e.uai = ? AND u.profile = 'Elève' ORDER BY u.id", uai)[0][0]
    teacher = sb.query("SELECT u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e"
                       " ON e.id = ue.etab_id WHERE e.uai = ? AND u.profile = 'Enseignant' ORDER BY u.id", uai)[0][0]
    typed = {rows[0]["Identifiant PRONOTE"]: "personne.inconnue", rows[1]["Identifiant PRONOTE"]: pupil,
             rows[2]["Identifiant PRONOTE"]: teacher.upper(), rows[3]["Identifiant PRONOTE"]: teacher}
    response = post_step(admin, url, typed)
    assert response.status_code == 200
    doc = html(response)
    assert flash_errors(doc) == [
        "Le compte « personne.inconnue » est introuvable dans l'annuaire de l'établissement.",
        f"Le compte « {pupil} » n'a pas le profil Enseignant.",
        f"Le compte « {teacher.upper()} » est choisi pour plusieurs identifiants.",
        f"Le compte « {teacher} » est choisi pour plusieurs identifiants.",
    ]
    shown = {r["Identifiant PRONOTE"]: r["input"] for r in step_rows(doc)}
    assert all(shown[ident] == login for ident, login in typed.items())
    assert text(one(doc, "//h2[@id='etape']")).startswith("Étape 1/6")
    assert pairs(sb, uai) == before
    assert admin.get(url.rsplit("/etape/", 1)[0]).headers["Location"] == urlsplit(url).path


def test_manual_match_and_complet_mode(sb: Sandbox, admin: Browser) -> None:
    """Complet: bound pairs replace; every other teacher of the site loses its identifier;
    other profiles keep theirs, except an identifier taken over."""
    uai = mbn(sb, 2)
    site = sb.query("SELECT id FROM etabs WHERE uai = ?", uai)[0][0]
    truth = pronote.ground_truth(sb.conn(), uai)
    teachers = [r[0] for r in sb.query("SELECT u.id FROM users u JOIN user_etabs ue ON ue.user_id = u.id"
                                       " WHERE ue.etab_id = ? AND u.profile = 'Enseignant' ORDER BY u.id", site)]
    staff = sb.query("SELECT u.id, u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id"
                     " WHERE ue.etab_id = ? AND u.profile = 'Personnel' AND u.is_admin = 0 ORDER BY u.id", site)
    url = start(admin, uai, "complet")
    rows = step_rows(html(admin.get(url)))
    idents = [r["Identifiant PRONOTE"] for r in rows]
    manual = next(r for r in rows if r["État"] == "Non reconnu" and truth[r["Identifiant PRONOTE"]]["login"]
                  and truth[r["Identifiant PRONOTE"]]["kind"] != "duplicate")
    refused = next(r for r in rows[1:] if r["État"] == "Reconnu")
    conn = sb.conn()
    with conn:
        conn.execute("DELETE FROM ent_identifiers WHERE etab_id = ?", (site,))
        # a teacher holding an identifier absent from the file, a staff member holding one of the file's
        conn.execute("INSERT INTO ent_identifiers VALUES (?, ?, ?)", (site, teachers[-1], "ZZZZZZZZZZZZZZZ2"))
        conn.execute("INSERT INTO ent_identifiers VALUES (?, ?, ?)", (site, staff[0]["id"], idents[0]))
        conn.execute("INSERT INTO ent_identifiers VALUES (?, ?, ?)", (site, staff[1]["id"], "ZZZZZZZZZZZZZZZ3"))
    conn.close()
    logins = {manual["Identifiant PRONOTE"]: " " + truth[manual["Identifiant PRONOTE"]]["login"].upper() + " ",
              refused["Identifiant PRONOTE"]: ""}
    response = post_step(admin, url, logins)
    assert response.status_code == 303 and response.headers["Location"].endswith("/etape/2")
    expected = {r["Identifiant PRONOTE"]: r["input"] for r in rows if r["input"]}
    expected.update({i: lg.strip().lower() for i, lg in logins.items()})
    expected = {i: lg for i, lg in expected.items() if lg}
    expected["ZZZZZZZZZZZZZZZ3"] = staff[1]["login"]  # another profile: untouched
    if idents[0] not in expected:  # the staff member keeps it only when no teacher took it
        expected[idents[0]] = staff[0]["login"]
    assert pairs(sb, uai) == expected
    assert refused["Identifiant PRONOTE"] not in pairs(sb, uai)
    # Interrompre at step 2: step 1 stays, step 2 is not saved
    interrupted = post_step(admin, response.headers["Location"], action="interrompre")
    assert interrupted.status_code == 303 and interrupted.headers["Location"] == form_url(uai)
    assert flash_success(html(admin.get(form_url(uai)))) == \
        "Import interrompu : les étapes déjà validées sont conservées."
    assert pairs(sb, uai) == expected
    import_url = response.headers["Location"].rsplit("/etape/", 1)[0]
    closed = admin.get(import_url)
    assert closed.status_code == 303 and closed.headers["Location"] == form_url(uai)
    doc = html(admin.get(form_url(uai)))
    assert "Cet import n'est plus en cours." in text(one(doc, "//div[contains(@class, 'flash')]"))
    assert not doc.xpath("//p[@id='import-en-cours']")
    for path in ("/etape/2", "/etape/1", "/fin"):
        assert admin.get(import_url + path).headers["Location"] == form_url(uai)


def test_order_and_abandon(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 1)
    url = start(admin, uai, "partiel")
    import_url = url.rsplit("/etape/", 1)[0]
    before = pairs(sb, uai)
    ahead = admin.get(import_url + "/etape/3")
    assert ahead.status_code == 303 and ahead.headers["Location"] == import_url
    assert admin.get(import_url).headers["Location"] == urlsplit(url).path
    posted = admin.post(import_url + "/etape/2", {"csrf_token": admin.csrf(url), "action": "valider"})
    assert posted.status_code == 303 and posted.headers["Location"] == import_url
    assert admin.get(import_url + "/fin").headers["Location"] == import_url
    assert pairs(sb, uai) == before
    assert admin.get(import_url + "/etape/0").status_code == 303
    # the form offers to resume it
    doc = html(admin.get(form_url(uai)))
    link = one(doc, "//p[@id='import-en-cours']//a")
    assert text(link) == "Reprendre l'import" and link.get("href") == import_url
    # a new import abandons it
    second = start(admin, uai, "partiel")
    assert second != url
    abandoned = admin.get(import_url)
    assert abandoned.status_code == 303 and abandoned.headers["Location"] == form_url(uai)
    assert one(html(admin.get(form_url(uai))), "//p[@id='import-en-cours']//a").get("href") == \
        second.rsplit("/etape/", 1)[0]


def test_unknown_import_and_another_sites_import(sb: Sandbox, admin: Browser) -> None:
    uai, other = mbn(sb, 1), mbn(sb, 2)
    url = start(admin, uai, "partiel")
    import_id = url.split("/import/")[1].split("/")[0]
    for path in (f"/mbn/etab/{other}/admin/identifiants/import/{import_id}",
                 f"/mbn/etab/{other}/admin/identifiants/import/{import_id}/etape/1",
                 f"/mbn/etab/{other}/admin/identifiants/import/{import_id}/fin",
                 f"/mbn/etab/{uai}/admin/identifiants/import/999999",
                 f"/mbn/etab/{uai}/admin/identifiants/import/abc/etape/1"):
        response = admin.get(path)
        assert response.status_code == 404, path
        import_id = path.split("/import/")[1].split("/")[0]
        assert text(one(html(response), "//div[@id='erreur']")) == f"Import inconnu : {import_id}"


def test_import_for_another_chosen_site(sb: Sandbox, admin: Browser) -> None:
    page_uai, chosen = mbn(sb, 0), mbn(sb, 2)
    response = upload(admin, chosen, export(sb, chosen), "partiel", page_uai=page_uai)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/mbn/etab/{chosen}/admin/identifiants/import/")


def test_abort_fault_saves_half_then_500_and_resets(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 0)
    site = sb.query("SELECT id FROM etabs WHERE uai = ?", uai)[0][0]
    assert sb.control("POST", "faults", {"import_abort_step": 2}).json()["import_abort_step"] == 2
    for bad in (7, -1, True, "2"):
        assert sb.control("POST", "faults", {"import_abort_step": bad}).status_code == 400
    url = start(admin, uai, "partiel")
    step2 = post_step(admin, url).headers["Location"]
    assert step2.endswith("/etape/2")
    conn = sb.conn()
    with conn:
        conn.execute("DELETE FROM ent_identifiers WHERE etab_id = ? AND user_id IN (SELECT id FROM users"
                     " WHERE profile = 'Elève')", (site,))
    conn.close()
    bound = [r for r in step_rows(html(admin.get(step2))) if r["input"]]
    assert len(bound) >= 4
    crashed = post_step(admin, step2)
    assert crashed.status_code == 500
    assert text(one(html(crashed), "//h1")) == "Erreur interne du serveur"
    pupils = sb.query("SELECT i.ident FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
                      " WHERE i.etab_id = ? AND u.profile = 'Elève'", site)
    assert len(pupils) == len(bound) // 2
    assert {r[0] for r in pupils} == {r["Identifiant PRONOTE"] for r in bound[: len(bound) // 2]}
    assert sb.control("GET", "faults").json()["import_abort_step"] == 0
    import_url = step2.rsplit("/etape/", 1)[0]
    lost = admin.get(import_url)
    assert lost.status_code == 303 and lost.headers["Location"] == form_url(uai)
    notice = one(html(admin.get(form_url(uai))), "//div[contains(@class, 'flash')]")
    assert "Cet import n'est plus en cours." in text(notice)
    # fired once: the next import's step 2 saves normally
    again = post_step(admin, start(admin, uai, "partiel"))
    assert post_step(admin, again.headers["Location"]).status_code == 303
    assert sb.control("GET", "stats").json()["faults"]["import_abort"] == 1


# ---------------------------------------------------------------- lists

def test_identifiers_list(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 0)
    doc = html(admin.get(f"/mbn/etab/{uai}/admin/identifiants/liste"))
    assert text(one(doc, "//p[@class='fil-ariane']")) == \
        "Vous êtes ici : Administration > Importer les identifiants Pronote > Identifiants importés"
    table = one(doc, "//table[@id='identifiants']")
    assert [text(th) for th in table.xpath("thead/tr/th")] == ["Compte ENT", "Nom", "Prénom", "Profil",
                                                               "Identifiant PRONOTE"]
    rows = [[text(td) for td in tr.xpath("td")] for tr in table.xpath("tbody/tr")]
    expected = sb.query("SELECT u.login, u.nom, u.prenom, u.profile, i.ident FROM ent_identifiers i JOIN users u"
                        " ON u.id = i.user_id JOIN etabs e ON e.id = i.etab_id WHERE e.uai = ? ORDER BY u.login", uai)
    assert rows == [list(r) for r in expected] and rows
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert text(one(doc, "//p[@id='total-identifiants']")) == f"{len(rows)} identifiant(s)"


def test_directory_search(sb: Sandbox, admin: Browser) -> None:
    uai = mbn(sb, 1)
    url = f"/mbn/etab/{uai}/admin/annuaire"
    doc = html(admin.get(url))
    assert text(one(doc, "//p[@class='fil-ariane']")) == "Vous êtes ici : Administration > Annuaire"
    assert label_control(doc, "Rechercher").get("name") == "q"
    profil = label_control(doc, "Profil")
    options = [(o.get("value"), text(o)) for o in profil.xpath("option")]
    assert options == [("", "Tous")] + [(p, p) for p in refdata.PROFILES]
    table = one(doc, "//table[@id='annuaire']")
    assert [text(th) for th in table.xpath("thead/tr/th")] == ["Compte ENT", "Nom", "Prénom", "Date de naissance",
                                                               "Profil", "Enfants"]
    everyone = [[text(td) for td in tr.xpath("td")] for tr in table.xpath("tbody/tr")]
    attached = sb.query("SELECT u.* FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e"
                        " ON e.id = ue.etab_id WHERE e.uai = ? ORDER BY u.login", uai)
    assert [r[0] for r in everyone] == [u["login"] for u in attached]
    assert text(one(doc, "//p[@id='total-annuaire']")) == f"{len(attached)} compte(s)"
    for row, user in zip(everyone, attached):
        date = user["birth_date"]
        assert row[3] == (f"{date[8:]}/{date[5:7]}/{date[:4]}" if date else "")
        if user["profile"] == "Parent":
            children = [r[0] for r in sb.query("SELECT c.login FROM parent_links l JOIN users c ON c.id = l.child_id"
                                               " WHERE l.parent_id = ? ORDER BY c.login", user["id"])]
            assert row[5] == ", ".join(children) and children
        else:
            assert row[5] == ""
    # a parent with children in two établissements lists them all
    multi = sb.query("SELECT u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e"
                     " ON e.id = ue.etab_id WHERE e.uai = ? AND u.profile = 'Parent' AND (SELECT COUNT(*) FROM user_etabs"
                     " x WHERE x.user_id = u.id) > 1", uai)
    if multi:
        row = next(r for r in everyone if r[0] == multi[0][0])
        assert len(row[5].split(", ")) >= 2
    # every word, case and accents ignored, in nom, prénom or login; and the profile
    accented = next(u for u in attached if u["prenom"] != u["prenom"].encode("ascii", "ignore").decode()
                    and u["profile"] == "Parent")
    folded = accented["prenom"].upper().replace("É", "E").replace("È", "E").replace("Ë", "E").replace("Ï", "I")
    query = f"{folded} {accented['nom'][:3].lower()}"
    found = html(admin.get(url, params={"q": query, "profil": "Parent"}))
    logins = [text(tr.xpath("td")[0]) for tr in found.xpath("//table[@id='annuaire']/tbody/tr")]
    assert accented["login"] in logins
    assert all(text(tr.xpath("td")[4]) == "Parent" for tr in found.xpath("//table[@id='annuaire']/tbody/tr"))
    assert one(found, "//select[@id='profil']/option[@selected]").get("value") == "Parent"
    assert label_control(found, "Rechercher").get("value") == query
    by_login = html(admin.get(url, params={"q": accented["login"].split(".")[0]}))
    assert accented["login"] in [text(tr.xpath("td")[0]) for tr in by_login.xpath("//table[@id='annuaire']/tbody/tr")]
    nobody = html(admin.get(url, params={"q": "zzzz-personne"}))
    assert text(one(nobody, "//p[@id='total-annuaire']")) == "0 compte(s)"
    teachers = html(admin.get(url, params={"profil": "Enseignant"}))
    assert {text(tr.xpath("td")[4]) for tr in teachers.xpath("//table[@id='annuaire']/tbody/tr")} == {"Enseignant"}


# ---------------------------------------------------------------- CAS

def _cas_validate(sb: Sandbox, login: str, service: str, path: str, fmt: str | None = None) -> requests.Response:
    b = Browser(sb)
    ticket = ticket_of(b.cas_login("mbn", login, service=service))
    params = {"ticket": ticket, "service": service, **({"format": fmt} if fmt else {})}
    return b.get(f"/mbn/cas/{path}", params=params)


def _xml_ids(response: requests.Response) -> list[str]:
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.xpath("cas:authenticationSuccess", namespaces=NS), response.text
    return [e.text for e in root.xpath("//cas:attributes/cas:idPronote", namespaces=NS)]


def _json_ids(response: requests.Response) -> list[str]:
    attributes = json.loads(response.text)["serviceResponse"]["authenticationSuccess"]["attributes"]
    value = attributes.get("idPronote")
    return [] if value is None else value if isinstance(value, list) else [value]


def test_cas_releases_idpronote_per_etablissement(sb: Sandbox) -> None:
    parent = sb.query(
        "SELECT u.id, u.login FROM users u WHERE u.project_id = 1 AND u.profile = 'Parent' AND"
        " (SELECT COUNT(*) FROM user_etabs ue WHERE ue.user_id = u.id) = 2 ORDER BY u.id")[0]
    (a_id, a_uai), (b_id, b_uai) = [tuple(r) for r in sb.query(
        "SELECT e.id, e.uai FROM user_etabs ue JOIN etabs e ON e.id = ue.etab_id WHERE ue.user_id = ? ORDER BY e.id",
        parent["id"])]
    a_url = "https://pronote-a.example.org/pronote/"
    conn = sb.conn()
    with conn:
        conn.execute("DELETE FROM ent_identifiers WHERE user_id = ?", (parent["id"],))
        conn.execute("DELETE FROM ent_identifiers WHERE ident IN ('AAAAAAAAAAAAAAA2', 'BBBBBBBBBBBBBBB2')")
        conn.execute("INSERT INTO ent_identifiers VALUES (?, ?, 'AAAAAAAAAAAAAAA2')", (a_id, parent["id"]))
        conn.execute("INSERT INTO ent_identifiers VALUES (?, ?, 'BBBBBBBBBBBBBBB2')", (b_id, parent["id"]))
        conn.execute("DELETE FROM services WHERE etab_id = ? AND url = ?", (a_id, a_url))
        conn.execute("INSERT INTO services (etab_id, code, intitule, sso_type, url, xiti, regroupement, bloc_version)"
                     " VALUES (?, 'USER_99', 'pronote', 'SSO Pronote avec CAS', ?, 'Aucun', 'Scolarité',"
                     " 'PRONOTE 2025')", (a_id, a_url))
    conn.close()
    b = sb
    a_service = a_url + "?login=true"
    b_service = f"https://{b_uai.lower()}.index-education.net/pronote/parent.html"
    neutral = "https://127.0.0.1:9/app/"
    assert _xml_ids(_cas_validate(b, parent["login"], a_service, "p3/serviceValidate")) == ["AAAAAAAAAAAAAAA2"]
    assert _json_ids(_cas_validate(b, parent["login"], a_service, "p3/serviceValidate", "JSON")) == ["AAAAAAAAAAAAAAA2"]
    assert _xml_ids(_cas_validate(b, parent["login"], b_service, "serviceValidate")) == ["BBBBBBBBBBBBBBB2"]
    assert _json_ids(_cas_validate(b, parent["login"], b_service, "serviceValidate", "JSON")) == ["BBBBBBBBBBBBBBB2"]
    both = sorted(["AAAAAAAAAAAAAAA2", "BBBBBBBBBBBBBBB2"], key=lambda i: {"A": a_uai, "B": b_uai}[i[0]])
    assert _xml_ids(_cas_validate(b, parent["login"], neutral, "p3/serviceValidate")) == both
    assert _json_ids(_cas_validate(b, parent["login"], neutral, "serviceValidate", "JSON")) == both
    # none in that établissement: absent; none at all: absent
    conn = sb.conn()
    with conn:
        conn.execute("DELETE FROM ent_identifiers WHERE user_id = ? AND etab_id = ?", (parent["id"], a_id))
    conn.close()
    assert _xml_ids(_cas_validate(b, parent["login"], a_service, "p3/serviceValidate")) == []
    assert "idPronote" not in _cas_validate(b, parent["login"], a_service, "p3/serviceValidate", "JSON").text
    conn = sb.conn()
    with conn:
        conn.execute("DELETE FROM ent_identifiers WHERE user_id = ?", (parent["id"],))
    conn.close()
    assert _xml_ids(_cas_validate(b, parent["login"], neutral, "p3/serviceValidate")) == []


def test_cas_idpronote_after_an_import(sb: Sandbox, admin: Browser) -> None:
    """What an import binds is what the CAS releases for that site's PRONOTE."""
    uai = mbn(sb, 0)
    url = start(admin, uai, "partiel")
    rows = step_rows(html(admin.get(url)))
    truth = pronote.ground_truth(sb.conn(), uai)
    ident = next(r["Identifiant PRONOTE"] for r in rows if truth[r["Identifiant PRONOTE"]]["login"] == "demo.enseignant")
    assert post_step(admin, url, {ident: "demo.enseignant"}).status_code == 303
    service = f"https://{uai}.index-education.net/pronote/?login=true"
    assert _xml_ids(_cas_validate(sb, "demo.enseignant", service, "p3/serviceValidate")) == [ident]


def test_doc_and_code_agree_on_the_messages() -> None:
    """The French messages of the code are those of docs/import-screens.md."""
    from sandbox import identifiers as ids
    doc = " ".join((Path(__file__).resolve().parents[2] / "docs" / "import-screens.md").read_text(encoding="utf-8").split())
    for message in (ids.FILE_REQUIRED, ids.MODE_REQUIRED, ids.TOO_LARGE, ids.INTERRUPTED, ids.NOT_RUNNING,
                    ids.unknown_account("<login>"), ids.wrong_profile("<login>", "<profile>"),
                    ids.chosen_twice("<login>"), ids.wrong_uai("<UAI du fichier>", "<UAI choisi>")):
        assert message in doc, message
    assert "Le fichier n'est pas un fichier d'identifiants PRONOTE valide (ligne <n> : <cause>)." in doc
