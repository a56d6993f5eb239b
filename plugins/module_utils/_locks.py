"""One writer per établissement and remote system at a time, across runs of one controller.

Every module that changes something follows the same cycle: read the remote
state, decide, write, read back (``_engine.ensure``). Two runs of the same
region started together (two operators, a run started while another is still
going) would both read "no PRONOTE service", and both create one. The lock
taken here around the whole cycle makes the second run wait for the first
and then read what the first made.

- One lock file per (remote system, établissement), under
  ``<cache root>/locks/`` (mode 0600, directory 0700), named by a hash: the
  names say nothing of the région.
- ``flock``: the kernel releases the lock of a process that dies, even by
  SIGKILL, so a killed run never blocks the next one. A lock file left behind
  is harmless (it is only locked while a process holds it).
- The wait is bounded (``lock_timeout``): then the établissement fails with
  :class:`BusyError`, "another run is working on it", and nothing is changed.
- Runs on different controllers do not share this directory; for them the
  modules repair what a race could leave (see ``_service.pick_service``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator

from ansible_collections.ent.pronote.plugins.module_utils._errors import BusyError
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import cache_root

#: the default bound of the wait, in seconds: long enough for another run's import of one établissement
DEFAULT_TIMEOUT = 600.0
_POLL = (0.05, 0.5)  # first and longest pause between two tries


def lock_dir() -> str:
    return os.path.join(cache_root(), "locks")


def lock_path(system_url: str, uai: str, directory: str | None = None) -> str:
    """The lock file of ``uai`` on the remote system at ``system_url`` (trailing slash and case ignored)."""
    key = f"{system_url.strip().rstrip('/').lower()}\0{uai.strip().upper()}".encode()
    return os.path.join(directory or lock_dir(), hashlib.sha256(key).hexdigest()[:40] + ".lock")


@contextlib.contextmanager
def work_lock(system_url: str, uai: str, timeout: float = DEFAULT_TIMEOUT, *, what: str = "change",
              directory: str | None = None) -> Iterator[float]:
    """Hold the lock of ``uai`` on ``system_url`` for the block; yield the seconds waited for it.

    Raises :class:`BusyError` when another process still holds it after ``timeout`` seconds.
    """
    path = lock_path(system_url, uai, directory)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        pause = _POLL[0]
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            waited = time.monotonic() - started
            if waited >= timeout:
                raise BusyError(
                    f"Another run is working on {uai} at {system_url.rstrip('/')}: waited {waited:.0f} s "
                    f"(lock_timeout {timeout:g} s) before trying to {what}. Nothing was changed for {uai}; "
                    "run again once the other run is done.")
            time.sleep(min(pause, max(0.0, timeout - waited)))
            pause = min(pause * 2, _POLL[1])
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
