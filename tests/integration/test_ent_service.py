"""ent.pronote.ent_service against the sandbox, as users run it."""
from __future__ import annotations

from pathlib import Path

import pytest

from _console_hand import Person
from _harness import ADMIN_PASSWORD, Sandbox, run_tasks

SERVICE = {"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}", "block_version": "PRONOTE 2024"}}
ABSENT = {"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}", "state": "absent"}}


def first_host(sandbox: Sandbox, index: int = 0) -> str:
    return sorted(sandbox.hosts())[index]


def person(sandbox: Sandbox, uai: str) -> Person:
    group = sandbox.group_of(uai)
    gv = sandbox.group_vars(group)
    return Person(gv["ent_console_url"], sandbox.ca, gv["ent_admin_login"], ADMIN_PASSWORD)


def test_check_then_nothing_changed_then_changed_then_idempotent(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 0)
    setup = run_tasks(sandbox, work, [ABSENT], hosts=uai)
    assert not setup.result(uai).get("failed"), setup.result(uai)

    before = sandbox.snapshot()
    check = run_tasks(sandbox, work, [SERVICE], hosts=uai, check=True, diff=True)
    result = check.result(uai)
    assert result["changed"] is True and not result.get("failed"), result
    assert result["code"] is None
    assert result["service"]["block_version"] == "PRONOTE 2024"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["sso_type"] == "SSO Pronote avec CAS"
    assert sandbox.snapshot() == before, "check mode changed the console"

    real = run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)
    assert real["changed"] is True and not real.get("failed"), real
    assert real["code"].startswith("USER_")
    assert sandbox.snapshot() != before
    listed = person(sandbox, uai).services(uai)
    assert listed[real["code"]]["Type SSO"] == "SSO Pronote avec CAS"
    assert listed[real["code"]]["Intitulé"] == "pronote"

    again = run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)
    assert again["changed"] is False and again["code"] == real["code"], again
    assert again["service"] == real["service"]

    after = sandbox.snapshot()
    check_again = run_tasks(sandbox, work, [SERVICE], hosts=uai, check=True).result(uai)
    assert check_again["changed"] is False and check_again["code"] == real["code"]
    assert sandbox.snapshot() == after


def test_drift_made_by_hand_is_put_back_with_a_diff(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 1)
    code = run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)["code"]
    status = person(sandbox, uai).edit_service(uai, code, "Version", option_text="PRONOTE 2019")
    assert status in (302, 303)
    drifted = run_tasks(sandbox, work, [SERVICE], hosts=uai, check=True, diff=True).result(uai)
    assert drifted["changed"] is True
    assert drifted["diff"]["before"]["block_version"] == "PRONOTE 2019"
    assert drifted["diff"]["after"]["block_version"] == "PRONOTE 2024"

    fixed = run_tasks(sandbox, work, [SERVICE], hosts=uai, diff=True).result(uai)
    assert fixed["changed"] is True and fixed["code"] == code
    assert fixed["diff"]["before"]["block_version"] == "PRONOTE 2019"
    assert fixed["service"]["block_version"] == "PRONOTE 2024"
    assert run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)["changed"] is False


def test_removal_then_removal_again(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 2)
    code = run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)["code"]
    removed = run_tasks(sandbox, work, [ABSENT], hosts=uai, diff=True).result(uai)
    assert removed["changed"] is True and not removed.get("failed")
    assert code not in person(sandbox, uai).services(uai)
    assert run_tasks(sandbox, work, [ABSENT], hosts=uai).result(uai)["changed"] is False


def test_unsafe_settings_are_refused_unless_allowed(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 3)
    unsafe = [
        {"ent.pronote.ent_service": {"uai": uai, "anonymous": True}},
        {"ent.pronote.ent_service": {"uai": uai, "pronote_cas_url": "https://cas.example.invalid/"}},
        {"ent.pronote.ent_service": {"uai": uai, "sso_type": "Pas de SSO ou SSO Standard"}},
    ]
    before = sandbox.snapshot()
    run = run_tasks(sandbox, work, unsafe, hosts=uai)
    for index, word in enumerate(("Service anonyme", "URL CAS de PRONOTE.net", "Type de SSO")):
        result = run.result(uai, index)
        assert result.get("failed") is True and word in result["msg"] and "allow_unsafe" in result["msg"], result
    assert sandbox.snapshot() == before

    allowed = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {
        "uai": uai, "anonymous": True, "allow_unsafe": True}}], hosts=uai).result(uai)
    assert not allowed.get("failed") and allowed["service"]["anonymous"] is True
    # and back to a safe service
    assert run_tasks(sandbox, work, [SERVICE], hosts=uai).result(uai)["service"]["anonymous"] is False


def test_wrong_credentials_fail_clearly_and_change_nothing(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 0)
    before = sandbox.snapshot()
    result = run_tasks(sandbox, work, [SERVICE], hosts=uai,
                       connection={"admin_password": "pas-le-bon"}).result(uai)
    assert result.get("failed") is True
    assert "refused the sign-in" in result["msg"] and "pas-le-bon" not in str(result)
    assert sandbox.snapshot() == before


def test_unknown_uai_is_reported(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 0)
    unknown = "0999999" + "ABCDEFGHJKLMNPRSTUVWXYZ"[9999999 % 23]
    result = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {"uai": unknown}}], hosts=uai).result(uai)
    assert result.get("failed") is True and unknown in result["msg"], result
    bad = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {"uai": "0671234A"}}], hosts=uai).result(uai)
    assert bad.get("failed") is True and "check letter" in bad["msg"]


def test_console_validation_error_is_shown(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 4)
    before = sandbox.snapshot()
    result = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {
        "uai": uai, "url": "pas une adresse"}}], hosts=uai).result(uai)
    assert result.get("failed") is True
    assert "« URL »" in result["msg"], result["msg"]
    assert sandbox.snapshot() == before


def test_sandbox_down_fails_fast_with_the_reason(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 0)
    result = run_tasks(sandbox, work, [SERVICE], hosts=uai, connection={
        "console_url": "https://127.0.0.1:9/mbn/", "retries": 1}).result(uai)
    assert result.get("failed") is True and "cannot connect" in result["msg"], result


def test_tls_is_verified_against_the_given_ca_only(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 0)
    # The environment's CA bundle points at the sandbox CA: it must not be used.
    result = run_tasks(sandbox, work, [SERVICE], hosts=uai, connection={"ca_path": None},
                       env={"REQUESTS_CA_BUNDLE": sandbox.ca, "CURL_CA_BUNDLE": sandbox.ca}).result(uai)
    assert result.get("failed") is True and "certificate" in result["msg"], result


def test_a_site_the_admin_may_not_administer_is_refused(sandbox: Sandbox, work: Path) -> None:
    # The seed gives each project an administrator of one site only: admin.<uai>.
    restricted = [h for h in sorted(sandbox.hosts()) if sandbox.has_login(f"admin.{h.lower()}")]
    assert restricted, "the seed has no single-site administrator"
    uai = restricted[0]
    other = next(h for h in sandbox.hosts() if h != uai and sandbox.group_of(h) == sandbox.group_of(uai))
    login = {"admin_login": f"admin.{uai.lower()}"}
    own = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {"uai": uai, "block_version": "2024"}}],
                    hosts=uai, connection=login).result(uai)
    assert not own.get("failed"), own
    result = run_tasks(sandbox, work, [{"ent.pronote.ent_service": {"uai": other}}], hosts=uai,
                       connection=login).result(uai)
    assert result.get("failed") is True and "refused access" in result["msg"], result


@pytest.mark.usefixtures("clean_faults")
@pytest.mark.parametrize("phase", ["before", "after"])
def test_converges_under_server_errors_and_session_expiry(sandbox: Sandbox, work: Path, phase: str) -> None:
    # "after": the console saves the form, then answers 500: a retry must not
    # create a second service nor add a rule twice.
    hosts = sorted(sandbox.hosts())
    tasks = [SERVICE, {"ent.pronote.ent_service_access": {
        "uai": "{{ inventory_hostname }}", "profiles": ["Elève", "Parent", "Enseignant", "Personnel"]}}]
    run_tasks(sandbox, work, [ABSENT])
    sandbox.faults(error_rate=0.05, session_expiry_rate=0.05, fault_seed=7, error_phase=phase)
    faulty = run_tasks(sandbox, work, tasks)
    for uai in hosts:
        for index in (0, 1):
            result = faulty.result(uai, index)
            assert not result.get("failed"), (uai, index, result)
    sandbox.reset_faults()
    calm = run_tasks(sandbox, work, tasks)
    for uai in hosts:
        services = person(sandbox, uai).services(uai)
        assert sum(1 for row in services.values() if row["Type SSO"] == "SSO Pronote avec CAS") == 1, services
        assert calm.result(uai, 0)["changed"] is False, calm.result(uai, 0)
        assert calm.result(uai, 1)["changed"] is False, calm.result(uai, 1)


def test_service_with_its_access_in_one_task(sandbox: Sandbox, work: Path) -> None:
    uai = first_host(sandbox, 2)
    run_tasks(sandbox, work, [ABSENT], hosts=uai)
    task = {"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}", "block_version": "PRONOTE 2024",
                                        "access": {"profiles": ["Elève", "Parent"], "exclusive": True}}}
    before = sandbox.snapshot()
    check = run_tasks(sandbox, work, [task], hosts=uai, check=True, diff=True).result(uai)
    assert check["changed"] is True and check["access"]["added"] == 2, check
    assert check["diff"]["after"]["access"] == check["access"]["rules"]
    assert sandbox.snapshot() == before

    real = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert real["changed"] is True and real["code"], real
    assert {r["profile"] for r in real["access"]["rules"]} == {"Elève", "Parent"}
    again = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert again["changed"] is False and again["access"]["changed"] is False, again
    # only the rules changed: still one task, reported changed
    task["ent.pronote.ent_service"]["access"]["profiles"] = ["Elève"]
    pruned = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert pruned["changed"] is True and pruned["access"]["removed"] == 1, pruned
