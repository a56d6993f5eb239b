"""The établissement's lock (``_locks``): one writer at a time, bounded wait, released by a killed process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.ent.pronote.plugins.module_utils._errors import BusyError
from ansible_collections.ent.pronote.plugins.module_utils._locks import lock_path, work_lock

URL = "https://ent.example/"
UAI = "0671234C"


def test_the_lock_file_is_private_and_names_nothing(tmp_path: Path) -> None:
    with work_lock(URL, UAI, 1, directory=str(tmp_path)) as waited:
        assert waited < 1
    path = Path(lock_path(URL, UAI, str(tmp_path)))
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert UAI not in path.name and "ent.example" not in path.name
    # the same établissement whatever the spelling of the URL or the UAI
    assert lock_path("https://ENT.example", "0671234c ", str(tmp_path)) == str(path)
    assert lock_path(URL, "0671235D", str(tmp_path)) != str(path)


def test_a_second_holder_waits_then_fails_naming_the_etablissement(tmp_path: Path) -> None:
    with work_lock(URL, UAI, 1, directory=str(tmp_path)):
        started = time.monotonic()
        with pytest.raises(BusyError, match=r"Another run is working on 0671234C at https://ent.example: waited") as exc:
            with work_lock(URL, UAI, 0.3, what="import the identifiers", directory=str(tmp_path)):
                pytest.fail("two holders at once")
        assert 0.3 <= time.monotonic() - started < 2
        assert "Nothing was changed" in str(exc.value) and "import the identifiers" in str(exc.value)
        # another établissement is not blocked
        with work_lock(URL, "0671235D", 0.1, directory=str(tmp_path)):
            pass
    with work_lock(URL, UAI, 0.1, directory=str(tmp_path)):  # released
        pass


HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.ent.pronote.plugins.module_utils._locks import work_lock
with work_lock("https://ent.example/", "0671234C", 1, directory=sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_the_lock_of_a_killed_run_is_released_at_once(tmp_path: Path) -> None:
    collections = str(Path(__file__).resolve().parents[2] / "collections")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, collections, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BusyError):
            with work_lock(URL, UAI, 0.2, directory=str(tmp_path)):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        with work_lock(URL, UAI, 2, directory=str(tmp_path)) as waited:
            assert waited < 1
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
