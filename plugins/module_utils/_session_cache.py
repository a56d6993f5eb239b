"""Console sessions shared by the workers of one run.

Ansible runs each task of each host in a fresh worker process: without a
cache, every task would sign in at the CAS again (four requests and a
password check). The cookies of a signed-in session (console session and CAS
ticket-granting cookie) are kept in a file readable by the user only, keyed
by console URL, login and a derivation of the password (so a wrong password
never reuses a good session). A lock makes concurrent workers sign in once.
Sessions expire on the server side; an expired one is simply replaced.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from http.cookiejar import Cookie

from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._files import write_atomic

MAX_AGE = 20 * 60  # never reuse a cached session older than this (seconds)


def cache_root() -> str:
    """``$ENT_PRONOTE_CACHE_DIR``, or ``$XDG_CACHE_HOME/ent.pronote``, or ``~/.cache/ent.pronote``."""
    base = os.environ.get("ENT_PRONOTE_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "ent.pronote")
    return base


def cache_dir() -> str:
    """Where the sessions are kept: ``sessions/`` under :func:`cache_root`."""
    return os.path.join(cache_root(), "sessions")


def write_private_json(path: str, data: object) -> None:
    """Write ``data`` as JSON to ``path`` atomically, mode 0600, its directory 0700.

    A cache that cannot be written only makes the next run slower: errors are swallowed.
    """
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(data).encode("utf-8"), 0o600)


def cache_key(url: str, login: str, password: str) -> str:
    """A file name that changes with the URL, the login and the password."""
    salt = f"{url}\0{login}".encode()
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000).hex()[:40]


class SessionCache:
    """One cached session: load, save, drop, and a lock for signing in."""

    def __init__(self, url: str, login: str, password: str, directory: str | None = None) -> None:
        self.directory = directory or cache_dir()
        key = cache_key(url, login, password)
        self.path = os.path.join(self.directory, key + ".json")
        self.lock_path = os.path.join(self.directory, key + ".lock")

    def _ensure_dir(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)

    def load(self, session: requests.Session) -> float | None:
        """Put the cached cookies in ``session``; return the cache's mtime."""
        try:
            stat = os.stat(self.path)
            if time.time() - stat.st_mtime > MAX_AGE:
                return None
            with open(self.path, encoding="utf-8") as handle:
                stored = json.load(handle)
        except (OSError, ValueError):
            return None
        for item in stored.get("cookies", []):
            session.cookies.set_cookie(_cookie(item))
        return stat.st_mtime

    def mtime(self) -> float | None:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return None

    def save(self, session: requests.Session) -> None:
        """Write the session's cookies atomically, mode 0600."""
        write_private_json(self.path, {"cookies": [_as_dict(c) for c in session.cookies]})

    def drop(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sign-in lock of this session (other workers wait)."""
        self._ensure_dir()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _as_dict(cookie: Cookie) -> dict:
    return {
        "name": cookie.name, "value": cookie.value, "domain": cookie.domain, "path": cookie.path,
        "secure": cookie.secure, "expires": cookie.expires,
        "rest": {"HttpOnly": None} if cookie.has_nonstandard_attr("HttpOnly") else {},
    }


def _cookie(item: dict) -> Cookie:
    return requests.cookies.create_cookie(
        name=item["name"], value=item["value"], domain=item.get("domain", ""), path=item.get("path", "/"),
        secure=bool(item.get("secure")), expires=item.get("expires"), rest=item.get("rest") or {},
    )
