"""playbooks/rentree.yml on a freshly seeded region."""
from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from _harness import ROOT, Sandbox, run_playbook, run_with_runner, running_sandbox

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=\d+\s+rescued=(\d+)", re.M)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("region"), seed=7, etabs=6) as box:
        yield box


def recap(stdout: str) -> dict[str, dict[str, int]]:
    return {m[1]: {"ok": int(m[2]), "changed": int(m[3]), "failed": int(m[5]), "rescued": int(m[6])}
            for m in RECAP.finditer(stdout)}


def test_summary_is_printed_even_when_every_etablissement_fails(region: Sandbox, tmp_path: Path) -> None:
    run = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml", "-e", "ent_admin_password=faux")
    assert run.rc != 0
    text = " ".join(run.stdout.split())
    assert "6 en échec" in text
    for uai in region.hosts():
        assert f"ÉCHEC {uai}" in text
    assert "faux" not in run.stdout
    # each établissement failed on its own host, after the summary ran (not the run ending before it)
    stats = recap(run.stdout)
    assert set(stats) == set(region.hosts()) and all(s["failed"] == 1 for s in stats.values()), run.stdout[-4000:]


def test_rentree_converges_then_changes_nothing(region: Sandbox, tmp_path: Path) -> None:
    check = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml", check=True)
    assert check.rc == 0, check.stdout[-4000:]
    before = region.snapshot()

    first = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml")
    assert first.rc == 0, first.stdout[-4000:]
    stats = recap(first.stdout)
    assert set(region.hosts()) <= set(stats)
    assert sum(s["changed"] for s in stats.values()) > 0
    assert region.snapshot() != before
    assert "Rentrée PRONOTE : 6 établissement(s)" in first.stdout

    second = run_playbook(region, tmp_path, "ent.pronote.rentree")
    assert second.rc == 0, second.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(second.stdout).values()), second.stdout[-4000:]
    assert "6 inchangés" in second.stdout


def test_failing_etablissements_fail_on_their_own_hosts_and_do_not_stop_the_others(
        region: Sandbox, tmp_path: Path) -> None:
    """Two of six établissements fail. The recap and the job events AWX reads (through ansible-runner, its
    engine) name exactly those two as failed; the summary lists each with its step and reason. (The retry
    list, which ansible-runner turns off, is checked with ansible-playbook in test_report.py.)"""
    inventory = tmp_path / "inventory"
    shutil.copytree(region.inventory, inventory)
    hosts = sorted(region.hosts())
    broken = hosts[0], hosts[3]
    (inventory / "host_vars").mkdir(exist_ok=True)
    for host in broken:
        (inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(
            {"ent_service_block_version": "PRONOTE 1999"}))
    run = run_with_runner(tmp_path / "runner", ROOT / "playbooks" / "rentree.yml", inventory=inventory)
    assert run.rc != 0 and run.status == "failed", run.stdout[-4000:]
    others = [h for h in hosts if h not in broken]

    stats = recap(run.stdout)
    assert set(stats) == set(hosts), run.stdout[-4000:]  # no localhost: the summary is delegated, not a host
    assert {h for h, s in stats.items() if s["failed"]} == set(broken), run.stdout[-4000:]
    assert all(stats[h]["failed"] == 1 and stats[h]["rescued"] == 1 for h in broken)
    assert all(stats[h]["rescued"] == 0 and stats[h]["ok"] > 0 for h in others)

    events = run.stats()
    assert {h for h, s in events.items() if s["failures"]} == set(broken)
    assert {h for h, s in events.items() if s["dark"]} == set()
    assert run.hosts_with("runner_on_failed") == set(broken)

    # The summary ran once, over all six, and names each failure with its step and reason.
    text = " ".join(run.stdout.split())
    assert "2 en échec" in text and "Rentrée PRONOTE : 6 établissement(s)" in text
    for host in broken:
        at = text.index(f"ÉCHEC {host}")
        assert "PRONOTE 1999" in text[at:at + 600] and "Version" in text[at:at + 600], text[at:at + 600]
        assert f"fatal: [{host}]: FAILED!" in run.stdout
    for host in others:
        assert f"ÉCHEC {host}" not in text and f"fatal: [{host}]" not in run.stdout


def test_a_missing_identifiers_file_is_reported_not_fatal(region: Sandbox, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(region.inventory, inventory)
    files = tmp_path / "identifiants"
    shutil.copytree(region.state_dir / "identifiants", files)
    missing = sorted(region.hosts())[1]
    (files / f"{missing}.xml").unlink()
    all_vars = yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())
    all_vars["ent_identifiers_dir"] = str(files)
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    box = dataclasses.replace(region, inventory=inventory)
    run = run_playbook(box, tmp_path, ROOT / "playbooks" / "rentree.yml", "--tags", "identifiers")
    assert run.rc == 0, run.stdout[-4000:]
    text = " ".join(run.stdout.split())
    assert f"NON FAIT {missing}" in text and f"{missing}.xml" in text, text[-3000:]
    assert "Identifiants PRONOTE :" in text
    assert all(s["failed"] == 0 for s in recap(run.stdout).values())
