"""Two runs of one region at once end with exactly what one run makes (issue 13, §1).

Runs on one controller share its cache directory, hence the établissements'
locks: the second run waits for the first on each établissement, then finds
nothing to do. Runs on two controllers share nothing: the service step reads
again after creating, and an exact copy that a race left is removed.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _harness import ROOT, PlaybookRun, Sandbox, run_playbook, running_sandbox
from test_rentree import recap

RENTREE = ROOT / "playbooks" / "rentree.yml"


@pytest.fixture
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("concurrent"), seed=11, etabs=4) as box:
        yield box


def pronote_services(region: Sandbox) -> dict[str, int]:
    """UAI -> how many services of the établissement look like PRONOTE (the product's service or a copy)."""
    db = sqlite3.connect(f"file:{region.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT e.uai, COUNT(s.id) FROM etabs e LEFT JOIN services s ON s.etab_id = e.id"
                          " AND (s.sso_type = 'SSO Pronote avec CAS' OR lower(s.intitule) = 'pronote')"
                          " GROUP BY e.uai").fetchall()
    finally:
        db.close()
    return dict(rows)


def identifiers(region: Sandbox) -> list[tuple]:
    return {k: v for k, v in region.snapshot().items() if "ident" in k.lower()}


def together(*runs) -> list[PlaybookRun]:  # noqa: ANN002
    """Start the runs at the same moment; their results in order."""
    results: list[PlaybookRun | None] = [None] * len(runs)
    barrier = threading.Barrier(len(runs))

    def go(index: int, run) -> None:  # noqa: ANN001
        barrier.wait()
        results[index] = run()

    threads = [threading.Thread(target=go, args=(i, run)) for i, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(900)
    assert all(r is not None for r in results), "a run did not finish"
    return results  # type: ignore[return-value]


def test_two_runs_on_one_controller_end_as_one_run(region: Sandbox, tmp_path: Path) -> None:
    cache = {"ENT_PRONOTE_CACHE_DIR": str(tmp_path / "shared-cache")}
    first, second = together(
        lambda: run_playbook(region, tmp_path / "a", RENTREE, env=cache),
        lambda: run_playbook(region, tmp_path / "b", RENTREE, env=cache))
    assert first.rc == 0, first.stdout[-4000:]
    assert second.rc == 0, second.stdout[-4000:]
    hosts = region.hosts()
    assert pronote_services(region) == {uai: 1 for uai in hosts}
    after_two = identifiers(region)

    third = run_playbook(region, tmp_path / "c", RENTREE, env=cache)
    assert third.rc == 0, third.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(third.stdout).values()), third.stdout[-4000:]
    assert pronote_services(region) == {uai: 1 for uai in hosts}
    assert identifiers(region) == after_two


def test_two_controllers_racing_leave_one_service(region: Sandbox, tmp_path: Path) -> None:
    # no shared cache: no shared lock, as two operators on two machines
    runs = together(*[
        (lambda name=name: run_playbook(region, tmp_path / name, RENTREE, "--tags", "delegation,service",
                                        env={"ENT_PRONOTE_CACHE_DIR": str(tmp_path / name / "cache")}))
        for name in ("a", "b", "c")])
    failed = [run for run in runs if run.rc != 0]
    assert not failed, "\n\n".join(f"rc={run.rc}\n" + "\n".join(
        line for line in (run.stdout + run.stderr).splitlines() if "fatal" in line or "msg" in line or "ERROR" in line)
        + "\n" + run.stdout[-1500:] + run.stderr[-1500:] for run in failed)
    hosts = region.hosts()
    assert pronote_services(region) == {uai: 1 for uai in hosts}
    again = run_playbook(region, tmp_path / "d", RENTREE, "--tags", "delegation,service")
    assert again.rc == 0, again.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(again.stdout).values()), again.stdout[-4000:]
