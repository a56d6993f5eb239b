"""Password hashing (scrypt) and random tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import secrets

#: The documented password of every account the sandbox creates.
DEMO_PASSWORD = "Demo-2026!"

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for ``password`` (random salt unless given)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


@functools.lru_cache(maxsize=4096)
def verify_password(stored: str | None, password: str) -> bool:
    """Tell whether ``password`` matches the ``stored`` hash (results are cached)."""
    if not stored or not password:
        return False
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r),
                                p=int(p), maxmem=64 * 1024 * 1024, dklen=len(digest_hex) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def token(prefix: str = "", nbytes: int = 24) -> str:
    """Return a random URL-safe token, optionally prefixed (``ST-``, ``TGT-``…)."""
    return prefix + secrets.token_urlsafe(nbytes)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two optional strings."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


#: host names that are the loopback interface whatever the resolver says
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine: the sandbox only ever talks to loopback."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
