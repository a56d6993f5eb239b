"""_preflight: a screen opened and checked becomes conforming, not conforming (what differs) or not checked."""
from __future__ import annotations

from ansible_collections.ent.pronote.plugins.module_utils import _preflight as pf
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AuthenticationError,
    ScreenMismatchError,
    TransientError,
)

UAI = "0671234C"


def raises(exc: Exception):
    def read() -> None:
        raise exc
    return read


def test_a_screen_read_without_error_conforms() -> None:
    c = pf.check(pf.CONSOLE, "Liste des services", lambda: ["une ligne"])
    assert (c.status, c.detail, c.mismatch) == ("conforme", "", None)
    assert c.finding(UAI) == {"code": "ecran_conforme", "severity": "info", "uai": UAI, "step": "preflight",
                              "subject": "Console ENT · Liste des services",
                              "message": "Écran « Liste des services » conforme à ce que le produit attend.",
                              "fix": ""}


def test_a_mismatch_names_the_screen_the_label_and_what_was_found() -> None:
    error = ScreenMismatchError("Modifier un service", "Type de SSO", ["Type d'authentification unique", "URL"],
                                "champ", UAI)
    c = pf.check(pf.CONSOLE, "Modifier un service", raises(error))
    assert c.status == "non_conforme" and c.detail == str(error)
    assert c.mismatch == {"screen": "Modifier un service", "kind": "champ", "expected": "Type de SSO",
                          "found": ["Type d'authentification unique", "URL"]}
    finding = c.finding(UAI)
    assert (finding["code"], finding["severity"]) == ("ecran_non_conforme", "erreur")
    assert finding["message"] == str(error) and "_kdecole.py" in finding["fix"]
    message = pf.failure_message(UAI, [c, pf.check(pf.HOSTING, "Mes bases", lambda: None)])
    assert message == f"1 écran(s) non conforme(s) pour {UAI} : {error}"


def test_a_page_that_cannot_be_read_is_not_checked_and_says_why() -> None:
    c = pf.check(pf.HOSTING, "Mes bases", raises(TransientError("Could not read /: HTTP 502.")))
    assert c.status == "non_verifie" and "HTTP 502" in c.detail
    assert c.finding(UAI)["severity"] == "avertissement"
    assert pf.failure_message(UAI, [c]) == ""


def test_a_failed_sign_in_fails_the_preflight() -> None:
    signed = pf.check(pf.CAS, pf.SIGN_IN, raises(AuthenticationError("The CAS refused the credentials.")))
    rest = pf.not_checked(pf.CONSOLE, ["Liste des services", "Annuaire"], "pas de connexion")
    assert [c.status for c in (signed, *rest)] == ["non_verifie"] * 3
    assert pf.summary([signed, *rest]) == {"conforme": 0, "non_conforme": 0, "non_verifie": 3}
    assert pf.failure_message(UAI, [signed, *rest]).startswith(f"Connexion à la console impossible pour {UAI} : ")
