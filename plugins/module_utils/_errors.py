"""Errors raised by the ent.pronote clients.

Every error carries a message a person can act on: what was asked, for which
établissement, and what the remote side answered. Action plugins turn them
into ``failed`` results without a stack trace, with the error's stable
``code`` (``error_code``); the run's summary and report show the French text
of that code (:data:`FRENCH`) beside the module's message.
"""
from __future__ import annotations


class EntPronoteError(Exception):
    """Base class: an expected failure, reported without a traceback."""

    #: whether repeating the same operation later may succeed
    transient = False
    #: stable code of the kind of failure (its French text: FRENCH)
    code = "erreur"


class ConfigurationError(EntPronoteError):
    """The options given cannot work (bad URL, unreadable CA file...)."""

    code = "configuration"


class AuthenticationError(EntPronoteError):
    """The CAS refused the credentials, or the account may not administer."""

    code = "authentification"


class AccessDeniedError(EntPronoteError):
    """The console refused a page to an authenticated administrator."""

    code = "acces_refuse"


class NotFoundError(EntPronoteError):
    """The console does not know the établissement, service or rule."""

    code = "introuvable"


class ValidationError(EntPronoteError):
    """The console refused the submitted form and said why."""

    code = "refus_formulaire"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UnexpectedPageError(EntPronoteError):
    """A page did not have the structure the client knows."""

    code = "page_inattendue"


class TransientError(EntPronoteError):
    """A server error, a timeout or a lost connection: retrying is safe."""

    code = "serveur_indisponible"
    transient = True


class SessionExpiredError(TransientError):
    """The console session ended: sign in again and redo the operation."""

    code = "session_expiree"


class BusyError(EntPronoteError):
    """Another run holds the établissement's lock: nothing was changed (see ``_locks``)."""

    code = "autre_execution"


class TLSError(EntPronoteError):
    """The server's certificate could not be verified."""

    code = "tls"


class ScreenMismatchError(UnexpectedPageError):
    """A remote screen does not show a label, field, column or option the product relies on.

    The message is French, for the operations team: the screen, what was
    expected (verbatim, as in the product's table of screens) and what the
    screen shows instead. Raised before anything is posted, so the
    établissement is left as it was.
    """

    code = "ecran_non_conforme"

    def __init__(self, screen: str, expected: str, found: list[str] | tuple[str, ...], kind: str = "libellé",
                 where: str = "") -> None:
        self.screen, self.expected, self.found, self.kind = screen, expected, list(found), kind
        shown = ", ".join(f"« {text} »" for text in self.found) if self.found else "rien"
        place = f" ({where})" if where else ""
        super().__init__(f"Écran « {screen} »{place} non conforme — attendu : {kind} « {expected} » ; "
                         f"trouvé : {shown}.")

    def as_result(self) -> dict[str, object]:
        """The mismatch as data, for results and reports."""
        return {"screen": self.screen, "kind": self.kind, "expected": self.expected, "found": list(self.found)}


#: error code -> what it means, in French, for the summary and the report (the module's message says the details)
FRENCH: dict[str, str] = {
    "erreur": "Échec de l'étape.",
    "configuration": "Les paramètres donnés ne peuvent pas fonctionner (adresse, fichier, option de l'inventaire).",
    "authentification": "Le CAS de l'ENT a refusé l'identifiant ou le mot de passe.",
    "acces_refuse": "La console de l'ENT refuse cette page au compte administrateur.",
    "introuvable": "La console ne connaît pas l'établissement, le service ou l'élément demandé.",
    "refus_formulaire": "Refusé, avec la raison dans le message : une règle de sécurité du module (garde contre les "
                        "retraits, fichier d'un autre établissement, réglage qui casse la connexion) ou un formulaire "
                        "refusé par la console.",
    "page_inattendue": "Une page de la console, du CAS ou de PRONOTE.net n'a pas la forme attendue.",
    "ecran_non_conforme": "Un écran n'a pas le libellé, le champ ou le choix attendu : rien n'a été modifié.",
    "serveur_indisponible": "Un serveur n'a pas répondu ou a répondu par une erreur, malgré les nouvelles tentatives.",
    "session_expiree": "La session de la console a expiré pendant l'opération, malgré les nouvelles tentatives.",
    "autre_execution": "Une autre exécution travaille sur cet établissement : rien n'a été modifié.",
    "tls": "Le certificat TLS d'un serveur n'a pas pu être vérifié.",
    "cas_erreur_http": "Le CAS de l'ENT a répondu par une erreur HTTP.",
    "cas_sans_comptes_locaux": "Le CAS de l'ENT ne propose pas la connexion des comptes de l'ENT.",
    "bibliotheque_absente": "Une bibliothèque Python requise manque sur le contrôleur (requirements.txt).",
    "connexion_echouee": "La vérification de la connexion à PRONOTE a échoué (causes dans les constats).",
    "inconnu": "Échec d'une tâche Ansible (voir le message).",
}


def french(code: str | None) -> str:
    """The French text of an error code; an unknown or empty code is an Ansible task's own failure."""
    return FRENCH.get(code or "inconnu", FRENCH["inconnu"])
