"""Errors raised by the ent.pronote clients.

Every error carries a message a person can act on: what was asked, for which
établissement, and what the remote side answered. Action plugins turn them
into ``failed`` results without a stack trace.
"""
from __future__ import annotations


class EntPronoteError(Exception):
    """Base class: an expected failure, reported without a traceback."""

    #: whether repeating the same operation later may succeed
    transient = False


class ConfigurationError(EntPronoteError):
    """The options given cannot work (bad URL, unreadable CA file...)."""


class AuthenticationError(EntPronoteError):
    """The CAS refused the credentials, or the account may not administer."""


class AccessDeniedError(EntPronoteError):
    """The console refused a page to an authenticated administrator."""


class NotFoundError(EntPronoteError):
    """The console does not know the établissement, service or rule."""


class ValidationError(EntPronoteError):
    """The console refused the submitted form and said why."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UnexpectedPageError(EntPronoteError):
    """A page did not have the structure the client knows."""


class TransientError(EntPronoteError):
    """A server error, a timeout or a lost connection: retrying is safe."""

    transient = True


class SessionExpiredError(TransientError):
    """The console session ended: sign in again and redo the operation."""


class BusyError(EntPronoteError):
    """Another run holds the établissement's lock: nothing was changed (see ``_locks``)."""


class TLSError(EntPronoteError):
    """The server's certificate could not be verified."""


class ScreenMismatchError(UnexpectedPageError):
    """A remote screen does not show a label, field, column or option the product relies on.

    The message is French, for the operations team: the screen, what was
    expected (verbatim, as in the product's table of screens) and what the
    screen shows instead. Raised before anything is posted, so the
    établissement is left as it was.
    """

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
