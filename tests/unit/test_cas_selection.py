"""The K-d'école CAS dialect: the identity-source selection page, followed to the ENT's own accounts."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import lxml.html
import pytest

from ansible_collections.ent.pronote.plugins.module_utils._cas import (
    NoLocalAccountsError,
    Source,
    choose_source,
    open_login_page,
    selection_sources,
    sign_in,
    with_selection,
)
from ansible_collections.ent.pronote.plugins.module_utils._errors import AuthenticationError, UnexpectedPageError
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session

from .fakes import BASE, CAS_ERROR, LOGIN, PASSWORD, UAI, Reply, fixture_text, mount

LOCAL = ("TOULO-ENT_parent_eleve", "Se connecter avec un compte de l’ENT (identifiant remis par l'établissement)",
         True)
EDU = ("TOULO-EDU_parent_eleve", "Élève ou parent : se connecter avec ÉduConnect", False)
AGENTS = ("TOULO-AGT_personnel", "Agent de l'Éducation nationale : guichet académique", False)
SERVICES = f"etab/{UAI}/admin/services"
SERVICE = BASE + f"auth/cas?next=%2Fmbn%2F{SERVICES.replace('/', '%2F')}"
URL = BASE + "cas/login?" + urlencode({"service": SERVICE})


def page(*sources: tuple[str, str, bool]) -> lxml.html.HtmlElement:
    items = "".join(f'<li><input type="radio" name="selection" id="i{n}" value="{code}"><label for="i{n}">{label}'
                    "</label></li>" for n, (code, label, _) in enumerate(sources))
    return lxml.html.fromstring(fixture_text("cas_selection.html").replace("<!--SOURCES-->", items))


def test_sources_are_read_with_their_labels_and_recognised_by_what_they_say():
    sources = selection_sources(page(EDU, LOCAL, AGENTS))
    assert [(s.code, s.kind) for s in sources] == [(EDU[0], "educonnect"), (LOCAL[0], "local"),
                                                   (AGENTS[0], "other")]
    assert sources[0].label == EDU[1]
    # a label inside its <label> (no for=), other spellings of the ENT's accounts
    doc = lxml.html.fromstring('<form><label><input type="radio" name="selection" value="ATS_parent_eleve">'
                               " Mon COMPTE ENT</label></form>")
    assert selection_sources(doc) == [Source("ATS_parent_eleve", "Mon COMPTE ENT", "local")]
    assert selection_sources(lxml.html.fromstring(fixture_text("cas_login.html"))) == []


def test_the_one_local_source_is_chosen_without_ent_cas_selection():
    sources = selection_sources(page(EDU, LOCAL, AGENTS))
    assert choose_source(sources, None, URL).code == LOCAL[0]
    assert choose_source(sources, AGENTS[0], URL).code == AGENTS[0]  # what the project names wins


def test_only_educonnect_is_a_named_failure_that_says_what_is_offered():
    with pytest.raises(NoLocalAccountsError) as caught:
        choose_source(selection_sources(page(EDU)), None, URL)
    message = str(caught.value)
    assert "offers no sign-in with a local ENT account" in message and EDU[1] in message and EDU[0] in message
    assert "?" not in message.split(" at ")[1].split(" ")[0]  # the CAS address, without the service
    # the project's source is not offered either
    with pytest.raises(NoLocalAccountsError, match="no source « TOULO-ENT_parent_eleve »"):
        choose_source(selection_sources(page(EDU, AGENTS)), LOCAL[0], URL)


def test_an_unclear_choice_is_refused_naming_the_sources():
    two = selection_sources(page(LOCAL, ("CSES-ENT_parent_eleve", "Compte de l'ENT (Montpellier)", True)))
    with pytest.raises(UnexpectedPageError, match="several sources of local ENT accounts.*ent_cas_selection"):
        choose_source(two, None, URL)
    with pytest.raises(UnexpectedPageError, match="no source « AUTRE » .*TOULO-ENT_parent_eleve"):
        choose_source(selection_sources(page(LOCAL, EDU)), "AUTRE", URL)


def test_with_selection_keeps_the_service_and_replaces_a_source():
    url = with_selection(URL, LOCAL[0])
    assert parse_qs(urlsplit(url).query) == {"selection": [LOCAL[0]], "service": [SERVICE]}
    again = with_selection(url, EDU[0])
    assert parse_qs(urlsplit(again).query)["selection"] == [EDU[0]]


# --- the console client ----------------------------------------------------------------------------------

@pytest.fixture
def kdecole(fake_ent):
    fake_ent.sources = [EDU, LOCAL, AGENTS]
    fake_ent.pages[SERVICES] = fixture_text("services.html")
    return fake_ent


def cas_gets(ent):
    return [r for r in ent.log if r.method == "GET" and r.path.endswith("/cas/login")]


def test_console_follows_the_selection_page_to_the_local_accounts(kdecole, console_factory):
    console = console_factory()
    assert [r.code for r in console.list_services(UAI)] == ["ABS", "HELP", "USER_0", "USER_1"]
    assert kdecole.sign_ins == 1
    assert [r.query.get("selection") for r in cas_gets(kdecole)] == [None, LOCAL[0]]
    (post,) = kdecole.cas_posts()
    assert post.query["selection"] == LOCAL[0] and ("username", LOGIN) in post.form


def test_console_with_ent_cas_selection_asks_for_it(kdecole, console_factory):
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole

    http = HttpSettings(retries=0, timeout=5.0)
    console = KdecoleConsole(ConsoleSettings(BASE, LOGIN, PASSWORD, http, False, cas_selection=LOCAL[0]),
                             session=mount(new_session(http), kdecole))
    try:
        assert len(console.list_services(UAI)) == 4
        # the console sent it to the CAS without a source; the client asked again with the project's
        assert [r.query.get("selection") for r in cas_gets(kdecole)] == [None, LOCAL[0]]
        assert kdecole.sign_ins == 1
    finally:
        console.close()


def test_unparsed_pages_are_not_taken_for_the_selection_page(kdecole, console_factory):
    page = console_factory().get_unparsed(BASE + SERVICES, "read the services")
    assert "Liste des services" in page.body.decode() or page.doc.xpath("//table")
    assert kdecole.sign_ins == 1


def test_console_fails_clearly_when_only_educonnect_is_offered(kdecole, console_factory):
    kdecole.sources = [EDU]
    with pytest.raises(NoLocalAccountsError, match="ÉduConnect"):
        console_factory().list_services(UAI)
    assert kdecole.sign_ins == 0 and not kdecole.cas_posts()


def test_wrong_password_in_the_kdecole_skin_gives_the_message_only(kdecole, console_factory):
    with pytest.raises(AuthenticationError) as caught:
        console_factory(password="faux").list_services(UAI)
    assert str(caught.value).endswith(f"« {CAS_ERROR} »")


# --- the sign-on check's way in ---------------------------------------------------------------------------

def session_on(ent):
    http = HttpSettings(retries=0, timeout=5.0)
    return http, mount(new_session(http), ent)


def test_sign_on_asks_the_cas_for_the_named_source_at_once(kdecole):
    http, session = session_on(kdecole)
    form = open_login_page(session, http, URL, LOCAL[0])
    assert [r.query.get("selection") for r in cas_gets(kdecole)] == [LOCAL[0]]
    kdecole.pages[SERVICES] = fixture_text("services.html")
    landing = sign_in(session, http, form, LOGIN, PASSWORD)
    assert landing.status_code == 200 and landing.url == BASE + SERVICES and kdecole.sign_ins == 1


def test_sign_on_without_a_source_follows_the_selection_page(kdecole):
    http, session = session_on(kdecole)
    form = open_login_page(session, http, URL)
    assert [r.query.get("selection") for r in cas_gets(kdecole)] == [None, LOCAL[0]]
    assert form.url.startswith(BASE + "cas/login?selection=")


def test_a_named_source_that_is_educonnect_is_the_named_failure(kdecole):
    http, session = session_on(kdecole)
    with pytest.raises(NoLocalAccountsError, match="does not lead to the CAS's login form but to .*/idp/"):
        open_login_page(session, http, URL, EDU[0])


def test_only_educonnect_with_a_named_local_source_is_the_named_failure(kdecole):
    kdecole.sources = [EDU]
    http, session = session_on(kdecole)
    with pytest.raises(NoLocalAccountsError, match="offers no sign-in with a local ENT account"):
        open_login_page(session, http, URL, LOCAL[0])


def test_an_apereo_cas_is_unchanged_with_or_without_a_source(fake_ent):
    http, session = session_on(fake_ent)
    assert open_login_page(session, http, URL).url == URL
    form = open_login_page(session, http, URL, LOCAL[0])  # an Apereo CAS ignores the parameter
    assert b'id="fm1"' in form.content


@pytest.mark.parametrize(("sources", "selection"), [([EDU], None), ([EDU], LOCAL[0]), ([EDU, LOCAL], EDU[0])])
def test_the_sign_on_check_classifies_no_local_accounts(kdecole, monkeypatch, sources, selection):
    from ansible_collections.ent.pronote.plugins.module_utils import _sso

    kdecole.sources = sources
    service = BASE + "pronote/eleve.html"
    kdecole.once("GET", "pronote/eleve.html", Reply(302, location=BASE + "cas/login?" + urlencode({"service": service})))
    monkeypatch.setattr(_sso, "new_session", lambda http: mount(new_session(http), kdecole))
    check = _sso.sign_on(HttpSettings(retries=0, timeout=5.0), BASE + "pronote/", BASE + "cas",
                         _sso.SsoAccount("Elève", "eleve.test", "pw"), selection)
    assert (check.ok, check.code) == (False, "cas_sans_comptes_locaux")
    assert check.cause == _sso.CAUSES["cas_sans_comptes_locaux"][0] and "ent_cas_selection" in check.fix
    assert not kdecole.cas_posts()
