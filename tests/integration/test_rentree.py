"""playbooks/rentree.yml on a freshly seeded region."""
from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from _harness import ROOT, Sandbox, run_playbook, running_sandbox

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


def test_one_failing_etablissement_does_not_stop_the_others(region: Sandbox, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(region.inventory, inventory)
    broken = sorted(region.hosts())[0]
    (inventory / "host_vars").mkdir(exist_ok=True)
    (inventory / "host_vars" / f"{broken}.yml").write_text(yaml.safe_dump(
        {"ent_service_block_version": "PRONOTE 1999"}))
    box = dataclasses.replace(region, inventory=inventory)
    run = run_playbook(box, tmp_path, ROOT / "playbooks" / "rentree.yml")
    assert run.rc != 0
    stats = recap(run.stdout)
    assert stats[broken]["rescued"] == 1
    others = [host for host in region.hosts() if host != broken]
    assert all(stats[h]["rescued"] == 0 for h in others)
    # The summary fails the run, naming the failure: its one failed task (run once, on the controller) is
    # counted under the first host of its play; nothing else failed.
    assert sum(s["failed"] for s in stats.values()) == 1 and "localhost" not in stats
    # The callback may wrap the summary's long lines: read the failure as one text.
    at = run.stdout.index(f"ÉCHEC {broken}")
    failure = " ".join(run.stdout[at:at + 600].split())
    assert "PRONOTE 1999" in failure and "Version" in failure, failure
    assert "1 en échec" in run.stdout


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
