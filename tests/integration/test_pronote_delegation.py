"""ent.pronote.pronote_delegation and pronote_info against the sandbox's hosting console and PRONOTE.net."""
from __future__ import annotations

import json
from pathlib import Path

from _harness import Sandbox, run_tasks

#: établissements of the session's sandbox (seed 42) these tests use: the import tests use the ENT side only
HOST = {"delegation": 0, "fault": 1}


def base(sandbox: Sandbox, uai: str) -> dict:
    return json.loads(sandbox.cli("pronote-base", "--uai", uai, "--show").stdout)


def delegation(**options) -> dict:
    return {"ent.pronote.pronote_delegation": {
        "uai": "{{ inventory_hostname }}", "hosting_url": "{{ pronote_hosting_url }}",
        "client_cert": "{{ pronote_hosting_cert }}", "client_key": "{{ pronote_hosting_key }}",
        "ca_path": "{{ ent_ca_path }}", "project": "{{ ent_project }}", "cas_url": "{{ ent_cas_url }}", **options}}


def test_check_then_change_then_nothing_to_change(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[HOST["delegation"]]
    sandbox.cli("pronote-base", "--uai", uai, "--sans-cas", "--racine", "PronoteNet", "--espace", "Espace Parents=off")
    before = sandbox.snapshot()
    task = delegation(published_espaces=["Page commune", "Espace Professeurs", "Espace Parents", "Espace Elèves"])

    check = run_tasks(sandbox, work, [task], hosts=uai, check=True, diff=True).result(uai)
    assert check["changed"] is True and check["base"]["cas"] is True, check
    assert sandbox.snapshot() == before, "check mode changed the sandbox"

    real = run_tasks(sandbox, work, [task], hosts=uai, diff=True).result(uai)
    assert real["changed"] is True, real
    state = base(sandbox, uai)
    cas_url = sandbox.group_vars(sandbox.group_of(uai))["ent_cas_url"]
    assert state["published"] and state["racine"] == "Pronote" and state["cas"]["enabled"]
    assert state["cas"]["url"].rstrip("/") == cas_url.rstrip("/")
    published = {e["name"] for e in state["espaces"] if e["published"]}
    assert published == {"Page commune", "Espace Professeurs", "Espace Parents", "Espace Elèves"}
    assert all(e["delegation"] == "CAS" for e in state["espaces"] if e["name"] != "Page commune")

    after = sandbox.snapshot()
    again = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert again["changed"] is False, again
    assert run_tasks(sandbox, work, [task], hosts=uai, check=True).result(uai)["changed"] is False
    assert sandbox.snapshot() == after

    # what pronote_info reads, without any credential, now says the same
    info = run_tasks(sandbox, work, [{"ent.pronote.pronote_info": {
        "uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}", "ca_path": "{{ ent_ca_path }}"}}],
        hosts=uai).result(uai)
    assert info["published"] and info["cas"] == {"active": True, "url": state["cas"]["url"]}
    assert {e["name"] for e in info["espaces"]} == published - {"Page commune"}
    assert info["block_version"] == "PRONOTE " + state["version"].split(".")[0]


def test_a_fault_between_stopping_and_publishing_leaves_it_published_and_a_rerun_repairs(
        clean_faults: Sandbox, work: Path) -> None:
    sandbox = clean_faults
    uai = sorted(sandbox.hosts())[HOST["fault"]]
    sandbox.cli("pronote-base", "--uai", uai, "--sans-cas")
    sandbox.faults(hosting_fail_next="enregistrer")
    failed = run_tasks(sandbox, work, [delegation(retries=0)], hosts=uai).result(uai)
    assert failed.get("failed") is True and "500" in failed["msg"], failed
    state = base(sandbox, uai)
    assert state["published"] is True, "the base was left unpublished"
    assert state["cas"]["enabled"] is False
    repaired = run_tasks(sandbox, work, [delegation(retries=0)], hosts=uai).result(uai)
    assert repaired["changed"] is True and not repaired.get("failed"), repaired
    assert base(sandbox, uai)["cas"]["enabled"] and base(sandbox, uai)["published"]


def test_without_a_client_certificate_the_step_is_reported_not_done(sandbox: Sandbox, work: Path) -> None:
    uai = sorted(sandbox.hosts())[HOST["delegation"]]
    before = sandbox.snapshot()
    none = delegation()
    none["ent.pronote.pronote_delegation"]["client_cert"] = None
    none["ent.pronote.pronote_delegation"].pop("client_key")
    skipped = run_tasks(sandbox, work, [none], hosts=uai).result(uai)
    assert skipped.get("skipped") is True and "pronote_hosting_cert" in skipped["not_done"]
    assert sandbox.snapshot() == before


def test_tls_without_client_certificate_and_with_an_unknown_ca(sandbox: Sandbox, work: Path) -> None:
    from ansible_collections.ent.pronote.plugins.module_utils._errors import TLSError
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import HostingConsole, HostingSettings

    url = sandbox.hosting_url
    try:
        HostingConsole(HostingSettings(url, HttpSettings(ca_path=sandbox.ca, retries=0))).list_bases()
    except TLSError as exc:
        assert "client certificate" in str(exc) and "client_cert" in str(exc), exc
    else:
        raise AssertionError("the hosting console answered without a client certificate")
    cert, key = str(sandbox.state_dir / "client.pem"), str(sandbox.state_dir / "client.key")
    try:
        HostingConsole(HostingSettings(url, HttpSettings(client_cert=cert, client_key=key, retries=0))).list_bases()
    except TLSError as exc:
        assert "Give the CA that signed it with ca_path" in str(exc)
    else:
        raise AssertionError("an unknown CA was trusted")
    bases = HostingConsole(HostingSettings(url, HttpSettings(ca_path=sandbox.ca, client_cert=cert, client_key=key,
                                                             retries=0))).list_bases()
    assert set(bases) == set(sandbox.hosts())


def test_pronote_info_sweeps_the_region(sandbox: Sandbox, work: Path) -> None:
    run = run_tasks(sandbox, work, [{"ent.pronote.pronote_info": {
        "uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}", "ca_path": "{{ ent_ca_path }}"}}])
    for uai in sandbox.hosts():
        result = run.result(uai)
        state = base(sandbox, uai)
        if state["racine"] != "Pronote":
            assert result.get("failed") and "racine" in result["msg"], result
        elif not state["published"]:
            assert result["published"] is False
        else:
            assert result["version"] == state["version"] and result["cas"]["active"] == state["cas"]["enabled"]
