"""ent.pronote.ent_service_access against the sandbox."""
from __future__ import annotations

from pathlib import Path

from _harness import Sandbox, run_tasks

SERVICE = {"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}", "block_version": "PRONOTE 2024"}}


def access(**options) -> dict:
    return {"ent.pronote.ent_service_access": {"uai": "{{ inventory_hostname }}", **options}}


def profiles_of(result: dict) -> set[tuple[str, str]]:
    return {(r["profile"], r["target"]) for r in result["rules"]}


def test_check_then_nothing_changed_then_changed_then_idempotent(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[5]
    task = access(profiles=["Elève", "Parent", "Enseignant"], exclusive=True)
    run_tasks(sandbox, work, [SERVICE, access(profiles=["Personnel"], exclusive=True)], hosts=uai)

    before = sandbox.snapshot()
    check = run_tasks(sandbox, work, [task], hosts=uai, check=True, diff=True).result(uai)
    assert check["changed"] is True and check["added"] == 3 and check["removed"] == 1, check
    assert [r["profile"] for r in check["diff"]["before"]["rules"]] == ["Personnel"]
    assert sandbox.snapshot() == before

    real = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert real["changed"] is True, real
    assert profiles_of(real) == {("Elève", "site"), ("Parent", "site"), ("Enseignant", "site")}

    again = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert again["changed"] is False and profiles_of(again) == profiles_of(real)
    after = sandbox.snapshot()
    assert run_tasks(sandbox, work, [task], hosts=uai, check=True).result(uai)["changed"] is False
    assert sandbox.snapshot() == after


def test_rules_not_declared_stay_unless_exclusive(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[4]
    run_tasks(sandbox, work, [SERVICE, access(profiles=["Elève", "Parent"], exclusive=True)], hosts=uai)
    kept = run_tasks(sandbox, work, [access(profiles=["Enseignant"])], hosts=uai).result(uai)
    assert kept["changed"] is True and kept["removed"] == 0
    assert {p for p, _ in profiles_of(kept)} == {"Elève", "Parent", "Enseignant"}
    pruned = run_tasks(sandbox, work, [access(profiles=["Enseignant"], exclusive=True)], hosts=uai).result(uai)
    assert pruned["removed"] == 2 and {p for p, _ in profiles_of(pruned)} == {"Enseignant"}


def test_every_target_variant(sandbox: Sandbox, work: Path) -> None:
    hosts = sorted(sandbox.hosts())
    uai = hosts[3]
    same_project = [h for h in hosts if sandbox.group_of(h) == sandbox.group_of(uai) and h != uai][:1]
    rules = [
        {"profile": "Elève"},
        {"profile": "Parent", "target": "ent"},
        {"profile": "Enseignant", "target": "establishments", "establishments": [uai, *same_project]},
        {"profile": "Personnel", "target": "groups", "groups": ["Professeurs principaux"]},
    ]
    task = access(rules=rules, exclusive=True)
    first = run_tasks(sandbox, work, [SERVICE, task], hosts=uai).result(uai, 1)
    assert not first.get("failed"), first
    by_profile = {r["profile"]: r for r in first["rules"]}
    assert by_profile["Parent"]["target"] == "ent"
    assert sorted(by_profile["Enseignant"]["establishments"]) == sorted([uai, *same_project])
    assert by_profile["Personnel"]["groups"] == ["Professeurs principaux"]
    assert run_tasks(sandbox, work, [task], hosts=uai).result(uai)["changed"] is False


def test_service_missing_is_an_error_outside_check_mode(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[2]
    run_tasks(sandbox, work, [{"ent.pronote.ent_service": {"uai": uai, "state": "absent"}}], hosts=uai)
    failed = run_tasks(sandbox, work, [access(profiles=["Elève"])], hosts=uai).result(uai)
    assert failed.get("failed") is True and "declare it first" in failed["msg"]
    predicted = run_tasks(sandbox, work, [access(profiles=["Elève"])], hosts=uai, check=True).result(uai)
    assert predicted["changed"] is True and predicted["added"] == 1


def test_unknown_group_is_a_clear_error(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[1]
    run_tasks(sandbox, work, [SERVICE], hosts=uai)
    before = sandbox.snapshot()
    failed = run_tasks(sandbox, work, [access(rules=[
        {"profile": "Elève", "target": "groups", "groups": ["Ce groupe n'existe pas"]}])], hosts=uai).result(uai)
    assert failed.get("failed") is True and "Ce groupe n'existe pas" in failed["msg"], failed
    assert sandbox.snapshot() == before
