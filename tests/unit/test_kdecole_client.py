"""_kdecole client flows (CAS sign-in, posts, errors) against a fake ENT transport."""
from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.ent.pronote.plugins.module_utils._access import Rule
from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    STEP_LOGIN_PAGE,
    STEP_POST,
    CasHttpError,
    is_login_page,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AccessDeniedError,
    AuthenticationError,
    NotFoundError,
    SessionExpiredError,
    TransientError,
    UnexpectedPageError,
    ValidationError,
)

from .fakes import BASE, CAS_ERROR, LOGIN, PASSWORD, UAI, Reply, build_response, fixture_text

SERVICES = f"etab/{UAI}/admin/services"
SERVICE = SERVICES + "/USER_0"
NEW = SERVICES + "/new"
ACCESS = SERVICE + "/acces-population"


@pytest.fixture
def ent(fake_ent):
    fake_ent.pages.update({
        SERVICES: fixture_text("services.html"),
        SERVICE: fixture_text("service.html"),
        NEW: fixture_text("service_new.html"),
        ACCESS: fixture_text("access.html"),
        SERVICES + "/USER_2": fixture_text("service.html").replace(">USER_0</span>", ">USER_2</span>"),
    })
    return fake_ent


def saved_to(path):
    return lambda req: Reply(303, location=BASE + path)


def flash_error(*problems):
    items = "".join(f"<li>{p}</li>" for p in problems)
    html = fixture_text("service_new.html").replace(
        "<!--FLASH-->", f'<div class="flash erreur"><ul>{items}</ul></div>')
    return lambda req: Reply(200, html)


# --- sign-in --------------------------------------------------------------------
def test_first_get_signs_in_through_the_cas_and_returns_to_the_page(ent, console_factory):
    console = console_factory()
    rows = console.list_services(UAI)
    assert [r.code for r in rows] == ["ABS", "HELP", "USER_0", "USER_1"]
    assert ent.sign_ins == 1
    (cas_post,) = ent.cas_posts()
    # every hidden input of the CAS form is posted back, with the credentials
    assert cas_post.form == [("username", LOGIN), ("password", PASSWORD), ("lt", "LT-42-abc"),
                             ("execution", "e1s1-xyz"), ("_eventId", "submit")]
    service = parse_qs(urlsplit(cas_post.url).query)["service"][0]
    assert service.startswith(BASE + "auth/cas?next=")
    assert ent.log[-1].method == "GET" and ent.log[-1].url == BASE + SERVICES
    assert ent.log[-1].cookies.get("KDSESSION") in ent.sessions


def test_the_cas_form_post_sends_what_a_browser_sends(ent, console_factory):
    console_factory().list_services(UAI)
    (cas_post,) = ent.cas_posts()
    login_page = next(r for r in ent.log if r.method == "GET" and r.path == "/mbn/cas/login")
    assert cas_post.headers["Referer"] == login_page.url
    assert cas_post.headers["Origin"] == "https://ent.example.test"


@pytest.mark.parametrize("status", [403, 500])
def test_an_http_error_of_the_cas_on_the_form_post_is_the_cas_error_not_the_console_page(ent, console_factory,
                                                                                         status):
    ent.once("POST", "cas/login", Reply(status, fixture_text("csrf_403.html")))
    with pytest.raises(CasHttpError) as err:
        console_factory().list_services(UAI)
    assert not isinstance(err.value, AccessDeniedError)
    assert (err.value.status, err.value.step) == (status, STEP_POST)
    assert f"HTTP {status} at {BASE}cas/login?service=" in str(err.value)
    assert ent.sign_ins == 0


def test_a_cas_login_page_answering_403_is_the_cas_error(ent, console_factory):
    ent.once("GET", "cas/login", Reply(403, "<html><body><main><p>Accès refusé</p></main></body></html>"))
    with pytest.raises(CasHttpError) as err:
        console_factory().list_services(UAI)
    assert (err.value.status, err.value.step) == (403, STEP_LOGIN_PAGE)
    assert "« Accès refusé »" in str(err.value) and ent.cas_posts() == []


def test_a_signed_in_session_is_reused(ent, console_factory):
    console = console_factory()
    console.list_services(UAI)
    before = len(ent.log)
    console.read_service(UAI, "USER_0")
    assert ent.sign_ins == 1
    assert [r.url for r in ent.log[before:]] == [BASE + SERVICE]


def test_wrong_password_is_an_authentication_error_with_the_cas_message(ent, console_factory):
    console = console_factory(password="not-the-password")
    with pytest.raises(AuthenticationError) as err:
        console.list_services(UAI)
    message = str(err.value)
    assert f"« {CAS_ERROR} »" in message
    assert f"'{LOGIN}'" in message
    assert "not-the-password" not in message
    assert message.startswith(f"The CAS at {BASE}cas/login refused")
    assert ent.sign_ins == 0 and len(ent.cas_posts()) == 1


def test_expired_console_session_with_a_live_tgc_needs_no_password(ent, console_factory):
    console = console_factory()
    console.list_services(UAI)
    ent.sessions.clear()  # console session gone, CAS TGC still valid
    console.read_service(UAI, "USER_0")
    assert ent.sign_ins == 1 and len(ent.cas_posts()) == 1


def test_expired_session_and_tgc_sign_in_again(ent, console_factory):
    console = console_factory()
    console.list_services(UAI)
    ent.expire()
    page = console.read_service(UAI, "USER_0")
    assert page.code == "USER_0"
    assert ent.sign_ins == 2


def test_page_without_meta_charset_is_decoded_with_the_http_charset(ent, console_factory):
    html = fixture_text("services.html").replace('<meta charset="utf-8">', "")
    ent.pages[SERVICES] = Reply(200, html, headers={"Content-Type": "text/html; charset=utf-8"})
    rows = console_factory().list_services(UAI)
    assert rows[2].label == "PRONOTE Vie scolaire"


def test_is_login_page_needs_html_and_a_password_field():
    import requests

    request = requests.Request("GET", BASE + "cas/login").prepare()
    assert is_login_page(build_response(None, request, Reply(200, fixture_text("cas_login.html"))))
    assert not is_login_page(build_response(None, request, Reply(200, fixture_text("services.html"))))
    assert not is_login_page(build_response(None, request, Reply(
        200, fixture_text("cas_login.html"), headers={"Content-Type": "text/plain"})))
    assert not is_login_page(build_response(None, request, Reply(302, location=BASE)))


# --- posts ------------------------------------------------------------------------
def test_update_posts_the_form_and_reads_the_page_again(ent, console_factory):
    ent.posts[SERVICE] = saved_to(SERVICE)
    console = console_factory()
    page = console.read_service(UAI, "USER_0")
    after = console.update_service(page, {"block_version": "PRONOTE 2024", "anonymous": False, "label": "pronote"})
    (post,) = ent.posted(SERVICE)
    sent = dict(post.form)
    assert sent["versionBloc"] == "V2024" and sent["intitule"] == "pronote" and "anonyme" not in sent
    assert sent["csrf_token"] == "tok-123"
    assert after.code == "USER_0"
    assert ent.log[-1].method == "GET" and ent.log[-1].url == BASE + SERVICE


def test_post_answered_303_returns_the_location(ent, console_factory):
    ent.posts[NEW] = saved_to(SERVICES + "/USER_2")
    console = console_factory()
    form = console.new_service_form(UAI)
    assert console.post(form, "create") == BASE + SERVICES + "/USER_2"


def test_relative_location_is_resolved_against_the_form(ent, console_factory):
    ent.posts[NEW] = lambda req: Reply(303, location="USER_2")
    console = console_factory()
    assert console.post(console.new_service_form(UAI), "create") == BASE + SERVICES + "/USER_2"


def test_create_service_reads_the_new_code_from_the_location(ent, console_factory):
    ent.posts[NEW] = saved_to(SERVICES + "/USER_2")
    console = console_factory()
    page = console.create_service(UAI, {"sso_type": "SSO Pronote avec CAS", "url": "https://p.test/",
                                        "label": "pronote", "show_block": True})
    assert page.code == "USER_2"
    sent = dict(ent.posted(NEW)[0].form)
    assert (sent["typeSso"], sent["url"], sent["intitule"], sent["afficherBloc"]) == (
        "PRONOTE", "https://p.test/", "pronote", "true")


def test_post_redirected_to_a_cas_on_another_host_is_an_expired_session(ent, console_factory):
    console = console_factory()
    form = console.new_service_form(UAI)
    ent.once("POST", NEW, Reply(302, location="https://cas.example.test/login?service=x"))
    with pytest.raises(SessionExpiredError, match="Could not create it: the console session expired"):
        console.post(form, "create it")


def test_post_redirected_to_the_cas_of_the_project_is_an_expired_session(ent, console_factory):
    ent.posts[NEW] = saved_to(SERVICES + "/USER_2")
    console = console_factory()
    form = console.new_service_form(UAI)
    ent.expire()  # the console answers the POST with 302 to <console>/cas/login?service=...
    with pytest.raises(SessionExpiredError):
        console.post(form, "create it")


def test_expired_session_is_transient():
    assert SessionExpiredError.transient and issubclass(SessionExpiredError, TransientError)


def test_refused_csrf_token_is_an_expired_session(ent, console_factory):
    console = console_factory()
    form = console.new_service_form(UAI)
    next(c for c in form.controls if c.name == "csrf_token").value = "stale"
    with pytest.raises(SessionExpiredError, match="refused the form's security token"):
        console.post(form, "create it")


def test_refused_csrf_token_without_charset_in_content_type(ent, console_factory):
    console = console_factory()
    form = console.new_service_form(UAI)
    ent.once("POST", NEW, Reply(403, fixture_text("csrf_403.html"), headers={"Content-Type": "text/html"}))
    with pytest.raises(SessionExpiredError):
        console.post(form, "create it")


def test_validation_errors_carry_the_problems(ent, console_factory):
    ent.posts[NEW] = flash_error("Le champ « URL » est obligatoire.",
                                 "Le champ « URL » doit être une adresse http(s) valide.")
    console = console_factory()
    with pytest.raises(ValidationError) as err:
        console.create_service(UAI, {"url": "pas une url"})
    assert err.value.problems == ["Le champ « URL » est obligatoire.",
                                  "Le champ « URL » doit être une adresse http(s) valide."]
    assert "Le champ « URL » est obligatoire." in str(err.value)
    assert str(err.value).startswith(f"Could not create the PRONOTE service of {UAI}: the console refused the form")


def test_post_answered_200_without_flash_is_unexpected(ent, console_factory):
    ent.posts[NEW] = lambda req: Reply(200, fixture_text("service_new.html"))
    console = console_factory()
    with pytest.raises(UnexpectedPageError, match="HTTP 200 without saying whether it was saved"):
        console.post(console.new_service_form(UAI), "create it")


def test_post_500_is_transient_and_not_retried(ent, console_factory):
    console = console_factory(retries=3)
    form = console.new_service_form(UAI)
    ent.once("POST", NEW, Reply(500, "<html><body><h1>Erreur interne</h1></body></html>"))
    with pytest.raises(TransientError, match="answered HTTP 500"):
        console.post(form, "create it")
    assert len(ent.posted(NEW)) == 1


# --- errors on pages ----------------------------------------------------------
def test_403_is_access_denied_naming_the_message(ent, console_factory):
    ent.pages[SERVICES] = Reply(403, fixture_text("error_403.html"))
    with pytest.raises(AccessDeniedError) as err:
        console_factory().list_services(UAI)
    assert str(err.value) == (f"Could not read the services of {UAI}: the console refused access to '{LOGIN}': "
                              "« Vous n'avez pas les droits d'administration sur ce site. »")


def test_404_is_not_found_naming_the_message(ent, console_factory):
    with pytest.raises(NotFoundError) as err:
        console_factory().list_services("0672345K")
    assert str(err.value) == "Could not read the services of 0672345K: not found: « Établissement inconnu : 0672345K »"


def test_404_without_html_names_the_url(ent, console_factory):
    ent.pages[SERVICES] = Reply(404, "nope", headers={"Content-Type": "text/plain"})
    with pytest.raises(NotFoundError, match=r"not found \(https://ent\.example\.test/mbn/etab/0671234C/admin/services\)"):
        console_factory().list_services(UAI)


def test_other_4xx_is_unexpected(ent, console_factory):
    ent.pages[SERVICES] = Reply(410, "<html><body><h1>Parti</h1></body></html>")
    with pytest.raises(UnexpectedPageError, match="HTTP 410: « Parti »"):
        console_factory().list_services(UAI)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_on_get_is_transient(ent, console_factory, status):
    ent.once("GET", SERVICES, Reply(status, "<html><body>erreur</body></html>"))
    with pytest.raises(TransientError, match=f"answered HTTP {status}"):
        console_factory(retries=0).list_services(UAI)


def test_connection_error_is_transient(ent, console_factory):
    import requests

    ent.once("GET", SERVICES, requests.exceptions.ConnectionError("connection reset"))
    with pytest.raises(TransientError, match="cannot connect to .*connection reset"):
        console_factory().list_services(UAI)


# --- population access ----------------------------------------------------------
def posted_rule(ent, console, rule):
    ent.posts[ACCESS + "/ajouter"] = saved_to(ACCESS)
    page = console.read_access(UAI, "USER_0")
    console.add_rule(page, rule)
    return ent.posted(ACCESS + "/ajouter")[-1].form


@pytest.mark.parametrize("rule, expected", [
    (Rule("Elève"),
     [("role", "ACCES"), ("cible", "SITE"), ("profil", "ELEVE"), ("matiere", ""), ("fonction", ""),
      ("discipline", "")]),
    (Rule("Parent", "ent"),
     [("role", "ACCES"), ("cible", "ENT"), ("profil", "PARENT"), ("matiere", ""), ("fonction", ""),
      ("discipline", "")]),
    (Rule("Enseignant", "establishments", ("0670001M", "0672345K"), subject="Mathématiques"),
     [("role", "ACCES"), ("cible", "LISTE"), ("etablissements", "12"), ("etablissements", "13"),
      ("profil", "ENSEIGNANT"), ("matiere", "MATHS"), ("fonction", ""), ("discipline", "")]),
    (Rule("Personnel", "groups", ("Professeurs principaux", "Vie scolaire"), "Administration du service",
          function="Direction", discipline="Lettres modernes"),
     [("role", "ADMIN"), ("cible", "GROUPES"), ("groupes", "g1"), ("groupes", "g3"), ("profil", "PERSONNEL"),
      ("matiere", ""), ("fonction", "DIR"), ("discipline", "L0202")]),
])
def test_add_rule_posts_the_option_values(ent, console_factory, rule, expected):
    form = posted_rule(ent, console_factory(), rule)
    assert form == [("csrf_token", "tok-123")] + expected


def test_add_rule_for_an_establishment_not_offered(ent, console_factory):
    console = console_factory()
    page = console.read_access(UAI, "USER_0")
    with pytest.raises(ValidationError, match="0311234Y is not offered"):
        console.add_rule(page, Rule("Elève", "establishments", ("0311234Y",)))
    assert ent.posted() == []


def test_add_rule_with_an_unknown_group_lists_the_groups(ent, console_factory):
    console = console_factory()
    page = console.read_access(UAI, "USER_0")
    with pytest.raises(UnexpectedPageError, match="'Inconnus' is not a choice of « Groupes »"):
        console.add_rule(page, Rule("Elève", "groups", ("Inconnus",)))
    assert ent.posted() == []


def test_second_rule_added_from_the_same_page_does_not_inherit_the_first(ent, console_factory):
    ent.posts[ACCESS + "/ajouter"] = saved_to(ACCESS)
    console = console_factory()
    page = console.read_access(UAI, "USER_0")
    console.add_rule(page, Rule("Enseignant", "establishments", ("0670001M",), subject="Mathématiques"))
    console.add_rule(page, Rule("Parent"))
    second = ent.posted(ACCESS + "/ajouter")[-1].form
    assert second == [("csrf_token", "tok-123"), ("role", "ACCES"), ("cible", "SITE"), ("profil", "PARENT"),
                      ("matiere", ""), ("fonction", ""), ("discipline", "")]


def test_delete_rule_posts_its_form(ent, console_factory):
    ent.posts[ACCESS + "/103/supprimer"] = saved_to(ACCESS)
    console = console_factory()
    page = console.read_access(UAI, "USER_0")
    rule = Rule("Personnel", "groups", ("Professeurs principaux", "Vie scolaire"), "Administration du service",
                function="Documentation")
    console.delete_rule(page, rule)
    (post,) = ent.posted()
    assert post.path == "/mbn/" + ACCESS + "/103/supprimer"
    assert post.form == [("csrf_token", "tok-123")]


def test_delete_unknown_rule(ent, console_factory):
    console = console_factory()
    page = console.read_access(UAI, "USER_0")
    with pytest.raises(UnexpectedPageError, match="Inspecteur / Tout l'ENT of 0671234C has no delete button"):
        console.delete_rule(page, Rule("Inspecteur", "ent"))


def test_delete_service(ent, console_factory):
    ent.posts[SERVICES + "/USER_1/supprimer"] = saved_to(SERVICES)
    console = console_factory()
    rows = console.list_services(UAI)
    console.delete_service(UAI, rows[3])
    assert [p.path for p in ent.posted()] == ["/mbn/" + SERVICES + "/USER_1/supprimer"]
    with pytest.raises(UnexpectedPageError, match="Service ABS of 0671234C has no delete button"):
        console.delete_service(UAI, rows[0])


# --- the session cache, through the client ----------------------------------------
def test_session_cache_is_shared_by_later_clients(ent, console_factory, cache_dir):
    console_factory(session_cache=True).list_services(UAI)
    files = [f for f in os.listdir(cache_dir / "sessions") if f.endswith(".json")]
    assert len(files) == 1
    assert PASSWORD not in (cache_dir / "sessions" / files[0]).read_text()
    posts_before = len(ent.cas_posts())
    console_factory(session_cache=True).read_service(UAI, "USER_0")
    assert len(ent.cas_posts()) == posts_before == 1


def test_session_cache_is_not_used_with_another_password(ent, console_factory):
    console_factory(session_cache=True).list_services(UAI)
    with pytest.raises(AuthenticationError):
        console_factory(password="wrong", session_cache=True).list_services(UAI)
    assert len(ent.cas_posts()) == 2


def test_a_session_saved_by_another_worker_meanwhile_is_used(ent, console_factory):
    first = console_factory(session_cache=True)   # started before anyone signed in
    second = console_factory(session_cache=True)
    second.list_services(UAI)                       # signs in and saves
    first.list_services(UAI)                        # finds the login page, then the newer cache
    assert ent.sign_ins == 1 and len(ent.cas_posts()) == 1


def test_without_cache_nothing_is_written(ent, console_factory, cache_dir):
    console_factory(session_cache=False).list_services(UAI)
    assert not cache_dir.exists()
