"""The rentrée under faults converges without a re-run where retrying is safe (issue 13, §2).

Each test seeds its own cold region of 20 établissements, as issue 13 asks.
The faults are the sandbox's own (python -m sandbox faults): HTTP 500 before
or after the server acted, sessions expiring, and an outage (every request
answers 500) of 30 seconds in the middle of a run.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _harness import ROOT, PlaybookRun, Sandbox, run_playbook, running_sandbox
from test_rentree import recap

RENTREE = ROOT / "playbooks" / "rentree.yml"


@pytest.fixture
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("faults"), seed=13, etabs=20) as box:
        yield box


def report(region: Sandbox) -> dict:
    return json.loads((region.state_dir / "rapports" / "rapport-rentree.json").read_text())


def failures(region: Sandbox) -> dict[str, object]:
    """UAI -> what failed in the latest run's report: a step, or sign-ons (with their findings)."""
    return {e["uai"]: e["failure"] or e["findings"] for e in report(region)["etablissements"]
            if e["status"] == "failed" or (e["sign_on"] or {}).get("failed")}


def converged(region: Sandbox, tmp_path: Path) -> PlaybookRun:
    """A fault-free run after the faulty one: it must find nothing to do (the state of a fault-free run)."""
    region.reset_faults()
    again = run_playbook(region, tmp_path / "again", RENTREE)
    assert again.rc == 0, again.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(again.stdout).values()), again.stdout[-4000:]
    return again


@pytest.mark.parametrize("phase", ["before", "after"])
def test_five_percent_of_500s_and_expiring_sessions_fail_nothing(region: Sandbox, tmp_path: Path,
                                                                  phase: str) -> None:
    region.faults(error_rate=0.05, error_phase=phase, session_expiry_rate=0.1, fault_seed=3)
    run = run_playbook(region, tmp_path, RENTREE)
    assert run.rc == 0 and not failures(region), (failures(region), run.stdout[-4000:])
    assert report(region)["summary"]["by_status"]["failed"] == 0
    converged(region, tmp_path)


def test_a_30_second_outage_in_the_middle_of_a_run_fails_nothing(region: Sandbox, tmp_path: Path) -> None:
    done = threading.Event()
    window: list[float] = []

    def outage() -> None:
        # In the middle of the run: once the first établissement has its PRONOTE service (the imports and the
        # sign-on checks, most of the run's requests, are still to come).
        deadline = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < deadline and not pronote_services(region):
            time.sleep(0.05)
        if done.is_set():
            return
        region.faults(error_rate=1.0)
        window.append(time.monotonic())
        done.wait(30)
        region.faults(error_rate=0.0)
        window.append(time.monotonic())

    thread = threading.Thread(target=outage)
    thread.start()
    try:
        run = run_playbook(region, tmp_path, RENTREE)
    finally:
        ended = time.monotonic()
        done.set()
        thread.join()
    assert len(window) == 2 and window[1] - window[0] >= 29, "the outage did not happen during the run"
    assert ended >= window[1], "the run ended before the outage was over: it proved nothing"
    assert run.rc == 0 and not failures(region), (failures(region), run.stdout[-4000:])
    converged(region, tmp_path)


def pronote_services(region: Sandbox) -> int:
    db = sqlite3.connect(f"file:{region.state_dir / 'sandbox.db'}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM services WHERE sso_type = 'SSO Pronote avec CAS'").fetchone()[0]
    finally:
        db.close()


def test_at_20_percent_failures_are_named_and_one_rerun_converges(region: Sandbox, tmp_path: Path) -> None:
    region.faults(error_rate=0.2, fault_seed=4)
    run = run_playbook(region, tmp_path, RENTREE)
    for uai, failure in failures(region).items():
        text = json.dumps(failure, ensure_ascii=False)
        assert "500" in text or "reseau" in text or "cas_injoignable" in text, (uai, text)
    region.reset_faults()
    rerun = run_playbook(region, tmp_path / "rerun", RENTREE)
    assert rerun.rc == 0 and not failures(region), rerun.stdout[-4000:]
    converged(region, tmp_path)
