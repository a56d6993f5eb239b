"""Marks of work in progress that a killed run could leave half-done, for the next run to finish.

A run killed by SIGKILL runs no ``finally``: a PRONOTE.net base it had
unpublished stays unpublished, an import it had started stays « en cours ».
Before such a step the module sets a mark (a file of this controller's cache
directory, mode 0600, named by a hash: it says nothing of the région); it
clears it when the step is done or undone. A run that finds a mark knows the
remote state may be half-done by an earlier run, and repairs it first.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time

from ansible_collections.ent.pronote.plugins.module_utils._files import write_atomic
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import cache_root


class Mark:
    """A file that exists while a step of ``kind`` is in progress on ``uai`` at ``system_url``."""

    def __init__(self, kind: str, system_url: str, uai: str, directory: str | None = None) -> None:
        key = f"{system_url.strip().rstrip('/').lower()}\0{uai}".encode()
        self.path = os.path.join(directory or os.path.join(cache_root(), kind),
                                 hashlib.sha256(key).hexdigest()[:40] + ".mark")

    def set(self) -> None:
        write_atomic(self.path, str(time.time()).encode(), 0o600)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def exists(self) -> bool:
        return os.path.exists(self.path)


def unpublished_mark(hosting_url: str, uai: str, directory: str | None = None) -> Mark:
    """Set while a base is unpublished to change its settings (``_delegation``)."""
    return Mark("unpublished", hosting_url, uai, directory)


def import_mark(console_url: str, uai: str, directory: str | None = None) -> Mark:
    """Set while an identifiers import of this controller is « en cours » in the console (``_import``)."""
    return Mark("imports", console_url, uai, directory)
