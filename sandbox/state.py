"""The sandbox's state directory: where files live, and the small files in it.

Layout of ``<state dir>`` (default ``var/sandbox`` under the repository root,
created 0700)::

    ca.pem, ca-key.pem          the sandbox's own CA (key 0600)
    server.pem, server-key.pem  the HTTPS certificate for 127.0.0.1, ::1, localhost
    client.pem, client.key      a client certificate (clientAuth) for the hosting console (key 0600)
    control-token               token for the /_sandbox/ control endpoints (0600)
    sandbox.db                  SQLite database (WAL)
    sandbox.json                {"url", "hosting_url", "pid", "ca", "port", "hosting_port", "host",
                                "trust_ca"} of the running server (trust_ca: the extra CA files
                                PRONOTE.net trusts, ``start --trust-ca``)
    sandbox.log                 output of a detached server
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / "var" / "sandbox"


@dataclass(frozen=True)
class StateDir:
    """Paths of the files of one sandbox state directory."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "sandbox.db"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.root / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.root / "client.key"

    @property
    def token_file(self) -> Path:
        return self.root / "control-token"

    @property
    def info_file(self) -> Path:
        return self.root / "sandbox.json"

    @property
    def log_file(self) -> Path:
        return self.root / "sandbox.log"


def state_dir(path: str | Path | None = None) -> StateDir:
    """Return the state directory ``path`` (or the default), creating it 0700."""
    root = Path(path).expanduser().resolve() if path else DEFAULT_STATE_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return StateDir(root)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def control_token(sd: StateDir, create: bool = True) -> str | None:
    """Return the control token, generating it (0600) when missing and ``create``."""
    if sd.token_file.exists():
        return sd.token_file.read_text(encoding="ascii").strip()
    if not create:
        return None
    token = secrets.token_urlsafe(32)
    write_private(sd.token_file, (token + "\n").encode("ascii"))
    return token


def write_info(sd: StateDir, info: dict[str, Any]) -> None:
    """Write ``sandbox.json`` atomically."""
    write_private(sd.info_file, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def read_info(sd: StateDir) -> dict[str, Any] | None:
    """Return the content of ``sandbox.json``, or None when absent or unreadable."""
    try:
        return json.loads(sd.info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
