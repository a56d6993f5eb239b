"""The preflight of a new region: every screen the rentrée uses, opened and checked, nothing changed.

Before a region's first rentrée, its real ENT console, hosting console and
PRONOTE.net may not be what the product was written against
(``docs/console-screens.md``, ``docs/import-screens.md``,
``docs/pronote-net-screens.md``). The preflight signs in, opens, for one
établissement, each screen the rentrée reads or posts to, and checks it
against the tables of screens (``_kdecole.SCREENS``, ``_pronote.SCREENS``)
exactly as the rentrée does, only with GETs. Each screen comes out
conforming, not conforming (with what differs), or not checked (and why).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError, ScreenMismatchError

CONSOLE, HOSTING, PRONOTE_NET, CAS = "Console ENT", "Console d'hébergement", "PRONOTE.net", "CAS"
#: the CAS "screen": the administrator's sign-in to the console through it
SIGN_IN = "Connexion de l'administrateur"
#: status -> (finding code, severity)
STATUSES = {
    "conforme": ("ecran_conforme", "info"),
    "non_conforme": ("ecran_non_conforme", "erreur"),
    "non_verifie": ("ecran_non_verifie", "avertissement"),
}
FIX_MISMATCH = ("Comparer l'écran réel avec la documentation du produit ({doc}). S'il écrit ce libellé "
                "autrement, corriger sa ligne dans SCREENS ({module}) et la documentation, puis relancer la "
                "vérification préalable avant toute rentrée.")
FIX_NOT_CHECKED = "Rendre l'écran accessible (voir le détail), puis relancer la vérification préalable."
#: system -> (documentation, module holding its SCREENS)
SOURCES = {
    CONSOLE: ("docs/console-screens.md, docs/import-screens.md", "plugins/module_utils/_kdecole.py"),
    CAS: ("docs/console-screens.md", "plugins/module_utils/_cas.py"),
    HOSTING: ("docs/pronote-net-screens.md", "plugins/module_utils/_pronote.py"),
    PRONOTE_NET: ("docs/pronote-net-screens.md", "plugins/module_utils/_pronote.py"),
}


@dataclass(frozen=True)
class ScreenCheck:
    """One screen, opened and checked."""

    system: str
    screen: str
    #: conforme | non_conforme | non_verifie
    status: str
    #: French: what differs, or why the screen was not checked ("" when it conforms)
    detail: str = ""
    #: the ScreenMismatchError's data (screen, kind, expected, found), when not conforming
    mismatch: dict[str, Any] | None = None

    @property
    def subject(self) -> str:
        return f"{self.system} · {self.screen}"

    def as_result(self) -> dict[str, Any]:
        return asdict(self)

    def finding(self, uai: str) -> dict[str, Any]:
        """The check as a finding of the report (``_report``: code, severity, subject, message, fix)."""
        code, severity = STATUSES[self.status]
        doc, module = SOURCES[self.system]
        if self.status == "conforme":
            message, fix = f"Écran « {self.screen} » conforme à ce que le produit attend.", ""
        elif self.status == "non_conforme":
            message, fix = self.detail, FIX_MISMATCH.format(doc=doc, module=module)
        else:
            message, fix = f"Écran « {self.screen} » non vérifié : {self.detail}", FIX_NOT_CHECKED
        return {"code": code, "severity": severity, "uai": uai, "step": "preflight", "subject": self.subject,
                "message": message, "fix": fix}


def check(system: str, screen: str, read: Callable[[], object]) -> ScreenCheck:
    """Open and check one screen with ``read`` (a client method that checks what it reads)."""
    try:
        read()
    except ScreenMismatchError as exc:
        return ScreenCheck(system, screen, "non_conforme", str(exc), exc.as_result())
    except EntPronoteError as exc:
        return ScreenCheck(system, screen, "non_verifie", f"la page n'a pas pu être lue ({exc})")
    return ScreenCheck(system, screen, "conforme")


def not_checked(system: str, screens: Iterable[str], why: str) -> list[ScreenCheck]:
    return [ScreenCheck(system, screen, "non_verifie", why) for screen in screens]


def summary(checks: Iterable[ScreenCheck]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for c in checks:
        counts[c.status] += 1
    return counts


def failure_message(uai: str, checks: Iterable[ScreenCheck]) -> str:
    """French: the screens that do not conform, each with what differs ("" when all conform).

    A sign-in that failed fails the preflight too: nothing of the console could be checked.
    """
    checks = list(checks)
    wrong = [c for c in checks if c.status == "non_conforme"]
    no_sign_in = [c for c in checks if c.system == CAS and c.status != "conforme"]
    parts = []
    if no_sign_in:
        parts.append(f"Connexion à la console impossible pour {uai} : {no_sign_in[0].detail}")
    if wrong:
        parts.append(f"{len(wrong)} écran(s) non conforme(s) pour {uai} : " + " ".join(c.detail for c in wrong))
    return " ".join(parts)
