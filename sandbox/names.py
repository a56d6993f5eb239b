"""Turning French names into ENT logins."""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"})
_NOT_LOGIN = re.compile(r"[^a-z0-9-]+")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def ascii_fold(text: str) -> str:
    """Lower-case ``text`` and drop its accents (``Kœnig`` -> ``koenig``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def login_part(text: str) -> str:
    """Fold one name into a login part: spaces become hyphens, apostrophes vanish."""
    folded = ascii_fold(text).replace("'", "").replace("’", "")
    folded = _NOT_LOGIN.sub("-", folded.replace(" ", "-"))
    return re.sub("-{2,}", "-", folded).strip("-")


class LoginAllocator:
    """Hands out unique ``prenom.nom`` logins, adding 1, 2… on collision."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self._taken: dict[str, None] = dict.fromkeys(taken or ())

    def take(self, login: str) -> str:
        """Reserve an exact login (demo and admin accounts)."""
        if login in self._taken:
            raise ValueError(f"login {login} already taken")
        self._taken[login] = None
        return login

    def allocate(self, prenom: str, nom: str) -> str:
        """Return a fresh login for ``prenom nom``."""
        base = f"{login_part(prenom)}.{login_part(nom)}"
        candidate, n = base, 0
        while candidate in self._taken:
            n += 1
            candidate = f"{base}{n}"
        self._taken[candidate] = None
        return candidate
