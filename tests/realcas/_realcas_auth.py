"""django-cas-server's authentication backend for the test CAS: users from a JSON file.

The file (``settings.REALCAS_USERS``) maps a login to ``{"password": …,
"attributes": {…}}`` and is read at every sign-in, so a test adds a user
by rewriting it while the server runs. Attribute values are strings or
lists of strings (a multi-valued attribute).
"""
from __future__ import annotations

import json
from pathlib import Path

from cas_server.auth import AuthUser
from django.conf import settings


def _users() -> dict:
    return json.loads(Path(settings.REALCAS_USERS).read_text(encoding="utf-8"))


class JsonFileAuthUser(AuthUser):
    def __init__(self, username: str) -> None:
        super().__init__(username)
        self.user = _users().get(username)

    def test_password(self, password: str) -> bool:
        return self.user is not None and password == self.user["password"]

    def attributs(self) -> dict:
        return dict(self.user["attributes"]) if self.user else {}
