"""The rentrée against screens that differ from the model (issue 12, §5).

The sandbox serves, per ENT project, variants of its screens
(``python -m sandbox variants``). A harmless one (fields reordered, an extra
field or column, another skin) changes nothing for the product; a breaking
one (a label the product needs renamed, an option spelled otherwise) fails
every établissement of that project, naming the screen, the label expected
and the labels found, before anything is changed there, while the other
project's établissements go through.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from _harness import ROOT, Sandbox, run_playbook, run_tasks, running_sandbox

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=\d+\s+rescued=(\d+)", re.M)
#: the rows of the region's state that belong to one ENT project: what the rentrée may change there
PROJECT_ROWS = {
    table: f"SELECT t.* FROM {table} t JOIN etabs e ON e.id = t.etab_id JOIN projects p ON p.id = e.project_id"
           " WHERE p.slug = ?"
    for table in ("services", "pronote_accounts", "ent_identifiers", "imports", "pronote_net", "pronote_net_espaces")
}
PROJECT_ROWS["access_rules"] = (
    "SELECT r.* FROM access_rules r JOIN services t ON t.id = r.service_id JOIN etabs e ON e.id = t.etab_id"
    " JOIN projects p ON p.id = e.project_id WHERE p.slug = ?")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("variants"), seed=11, etabs=4) as box:
        yield box


def project_state(box: Sandbox, slug: str) -> dict[str, list[tuple]]:
    db = sqlite3.connect(f"file:{box.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        return {table: sorted(db.execute(sql, (slug,)).fetchall(), key=repr) for table, sql in PROJECT_ROWS.items()}
    finally:
        db.close()


def variants(box: Sandbox, *args: str) -> dict:
    return json.loads(box.cli("variants", *args).stdout)


def failures(box: Sandbox) -> dict[str, str]:
    """UAI -> the failure of the last run, as its report (rapport-rentree.json) gives it."""
    data = json.loads((box.state_dir / "rapports" / "rapport-rentree.json").read_text(encoding="utf-8"))
    return {r["uai"]: r["failure"]["msg"] for r in data["etablissements"] if r["status"] == "failed"}


def test_a_renamed_label_fails_that_project_only_and_changes_nothing_there(region: Sandbox, tmp_path: Path) -> None:
    assert variants(region, "--project", "mbn", "--variant", "renamed-label") == {"mbn": ["renamed-label"]}
    mbn, occitanie = region.hosts("ent_mbn"), region.hosts("ent_occitanie")
    assert mbn and occitanie
    before_mbn, before_occitanie = project_state(region, "mbn"), project_state(region, "occitanie")
    try:
        run = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml")
    finally:
        variants(region, "--reset")
    assert run.rc != 0
    assert "Traceback" not in run.stdout + run.stderr and "KeyError" not in run.stdout
    failed = failures(region)
    assert sorted(failed) == sorted(mbn), run.stdout[-4000:]
    for uai in mbn:
        # the first screen read, the hosting console's delegation: its label, expected and found, verbatim
        msg = failed[uai]
        assert f"Écran « Déléguer l'authentification » ({uai}) non conforme" in msg, msg
        assert "attendu : champ « Définir une délégation CAS »" in msg and "« Activer la délégation CAS »" in msg
    assert project_state(region, "mbn") == before_mbn
    assert project_state(region, "occitanie") != before_occitanie
    # the summary shows each failure with what differs
    summary = " ".join(run.stdout.split()).replace("''", "'")
    assert all(f"ÉCHEC {uai}" in summary for uai in mbn) and not any(f"ÉCHEC {uai}" in summary for uai in occitanie)
    assert "attendu : champ « Définir une délégation CAS »" in summary


def test_an_option_spelled_otherwise_on_the_console_fails_before_any_change(region: Sandbox, tmp_path: Path) -> None:
    variants(region, "--project", "mbn", "--variant", "renamed-option")
    mbn = region.hosts("ent_mbn")
    before = project_state(region, "mbn")
    try:
        # the service step alone; its « Version » given, since a cold region's bases are not yet published
        # to tell it (block_version auto)
        run = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml", "--tags", "service",
                           "-e", "ent_service_block_version='PRONOTE 2024'")
    finally:
        variants(region, "--reset")
    assert run.rc != 0
    failed = failures(region)
    assert sorted(failed) == sorted(mbn), run.stdout[-4000:]
    for uai in mbn:
        msg = failed[uai]
        assert f"Écran « Modifier un service » ({uai}) non conforme" in msg, msg
        assert "attendu : choix de « Type de SSO » « SSO Pronote avec CAS »" in msg
        assert "« SSO Pronote (CAS) »" in msg
    assert project_state(region, "mbn") == before


def test_the_module_result_carries_what_differs(region: Sandbox, tmp_path: Path) -> None:
    variants(region, "--project", "mbn", "--variant", "renamed-label")
    uai = region.hosts("ent_mbn")[0]
    before = project_state(region, "mbn")
    try:
        run = run_tasks(region, tmp_path, [{"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}"}}],
                        hosts=uai)
    finally:
        variants(region, "--reset")
    result = run.result(uai)
    assert result["failed"] is True and result["changed"] is False
    # the services list is read first: its column « Type SSO » shows as « Type d'authentification »
    assert result["screen_mismatch"] == {"screen": "Liste des services", "kind": "colonne", "expected": "Type SSO",
                                         "found": ["Code", "Intitulé", "Type d'authentification", "Anonyme",
                                                   "Interne", "Actions"]}
    assert result["msg"].startswith(f"Écran « {result['screen_mismatch']['screen']} » ({uai}) non conforme")
    assert project_state(region, "mbn") == before


def test_harmless_variants_change_nothing_for_the_rentree(region: Sandbox, tmp_path: Path) -> None:
    variants(region, "--variant", "reordered", "--variant", "extra-field", "--variant", "skin")
    before = project_state(region, "mbn")
    try:
        first = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml")
        assert first.rc == 0, first.stdout[-4000:]
        assert failures(region) == {}
        assert project_state(region, "mbn") != before
        second = run_playbook(region, tmp_path, ROOT / "playbooks" / "rentree.yml")
    finally:
        variants(region, "--reset")
    assert second.rc == 0, second.stdout[-4000:]
    stats = {m[1]: int(m[3]) for m in RECAP.finditer(second.stdout)}
    assert set(region.hosts()) <= set(stats) and all(n == 0 for n in stats.values()), second.stdout[-4000:]
