"""The rentrée's report for a region where some établissements fail: its counts are the run's."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import jmespath
import lxml.html
import pytest
import yaml

from _harness import ROOT, Sandbox, run_playbook, running_sandbox

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@pytest.fixture(scope="module")
def failing_region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str], object]]:
    """Four établissements: one whose test account has a wrong password (fails at the sign-on), one given
    another établissement's identifiers file (refused: fails at the import), one without its file (reported
    as missing; its accounts without identifiers then fail to sign on), one fine. Returns the sandbox, what
    was done to whom, and the run."""
    with running_sandbox(tmp_path_factory.mktemp("report"), seed=11, etabs=4) as box:
        hosts = sorted(box.hosts())
        files = box.state_dir / "identifiants"
        wrong_password, wrong_file, no_file, fine = hosts
        host_vars = box.inventory / "host_vars" / f"{wrong_password}.yml"
        data = yaml.safe_load(host_vars.read_text())
        data["pronote_sso_test_accounts"][0]["password"] = "pas-le-bon"
        host_vars.write_text(yaml.safe_dump(data, allow_unicode=True))
        shutil.copy(files / f"{fine}.xml", files / f"{wrong_file}.xml")
        (files / f"{no_file}.xml").unlink()
        work = tmp_path_factory.mktemp("run")
        run = run_playbook(box, work, ROOT / "playbooks" / "rentree.yml",
                           env={"ANSIBLE_RETRY_FILES_ENABLED": "1", "ANSIBLE_RETRY_FILES_SAVE_PATH": str(work)})
        run.retry = work / "rentree.retry"  # type: ignore[attr-defined]
        yield box, {"sso": wrong_password, "identifiers": wrong_file, "missing": no_file, "fine": fine}, run


def load(box: Sandbox) -> tuple[dict, lxml.html.HtmlElement, list[dict], list[dict]]:
    directory = box.state_dir / "rapports"
    for path in directory.glob("rapport-rentree*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path  # counts and établissements only
    data = json.loads((directory / "rapport-rentree.json").read_text(encoding="utf-8"))
    page = lxml.html.parse(str(directory / "rapport-rentree.html")).getroot()
    rows = list(csv.DictReader(io.StringIO((directory / "rapport-rentree-etablissements.csv")
                                           .read_text(encoding="utf-8-sig")), delimiter=";"))
    findings = list(csv.DictReader(io.StringIO((directory / "rapport-rentree-constats.csv")
                                               .read_text(encoding="utf-8-sig")), delimiter=";"))
    return data, page, rows, findings


def test_the_run_fails_and_names_its_failures(failing_region):
    box, who, run = failing_region
    assert run.rc != 0
    recap = {m[1]: int(m[5]) for m in RECAP.finditer(run.stdout)}
    # the recap names the failed établissements, each once, and no other (the summary itself does not fail)
    assert {h for h, n in recap.items() if n} == {who["sso"], who["identifiers"], who["missing"]}, run.stdout[-3000:]
    assert set(recap.values()) <= {0, 1}
    # the retry list (--limit @rentree.retry) is those three
    assert sorted(run.retry.read_text().split()) == sorted((who["sso"], who["identifiers"], who["missing"]))
    text = " ".join(run.stdout.split())
    for uai in (who["sso"], who["identifiers"], who["missing"]):
        assert f"ÉCHEC {uai}" in text
    assert f"NON FAIT {who['missing']}" in text and f"ÉCHEC {who['fine']}" not in text


def test_the_report_counts_are_the_runs(failing_region):
    box, who, run = failing_region
    data, page, rows, findings = load(box)
    hosts = sorted(box.hosts())
    statuses = {e["uai"]: e["status"] for e in data["etablissements"]}
    assert statuses[who["sso"]] == statuses[who["identifiers"]] == statuses[who["missing"]] == "failed"
    assert statuses[who["fine"]] == "changed"
    # the summary's counts are those of the établissements' rows, and those the run printed
    assert data["summary"]["total"] == len(hosts) == len(data["etablissements"])
    assert data["summary"]["by_status"]["failed"] == 3
    for status, n in data["summary"]["by_status"].items():
        assert n == sum(1 for s in statuses.values() if s == status)
    first_line = next(line for line in run.stdout.splitlines() if "Rentrée PRONOTE :" in line)
    assert "3 en échec" in first_line and "1 modifiés" in first_line
    by_project: dict[str, dict[str, int]] = {}
    for e in data["etablissements"]:
        counts = by_project.setdefault(e["project"], dict.fromkeys(data["summary"]["by_status"], 0))
        counts[e["status"]] += 1
    assert data["summary"]["by_project"] == by_project and "?" not in by_project
    # the step that failed, per établissement
    steps = {e["uai"]: e["steps"] for e in data["etablissements"]}
    assert steps[who["sso"]]["sso"] == "failed" and steps[who["identifiers"]]["identifiers"] == "failed"
    assert steps[who["identifiers"]]["sso"] == "not_run"
    assert steps[who["missing"]]["identifiers"] == "skipped" and steps[who["missing"]]["sso"] == "failed"
    missing = {e["uai"]: e["missing_files"] for e in data["etablissements"]}
    assert missing[who["missing"]] and not missing[who["fine"]]
    # the failed sign-ons are findings with their FAQ code, on those établissements only; the only other
    # findings are what the imports removed (issue 13), on établissements whose import ran and removed some
    removals = ("identifiants_retires", "identifiants_retires_nombreux")
    assert {(f["uai"], f["code"]) for f in data["findings"] if f["step"] != "identifiers"} == {
        (who["sso"], "compte_test"), (who["missing"], "sans_idpronote")}
    removed = {e["uai"] for e in data["etablissements"] if e["steps"].get("identifiers") == "changed"}
    assert all(f["code"] in removals and f["uai"] in removed and f["count"] > 0
               for f in data["findings"] if f["step"] == "identifiers")
    assert jmespath.search("etablissements[?status=='failed'].uai | sort(@)", data) == sorted(
        [who["sso"], who["identifiers"], who["missing"]])
    # the sign-ons counted are those the run made
    signed = [e["sign_on"] for e in data["etablissements"] if e["sign_on"]]
    failed_sign_ons = sum(1 for f in data["findings"] if f["code"] in ("compte_test", "sans_idpronote"))
    assert data["summary"]["sign_on"]["failed"] == sum(s["failed"] for s in signed) == failed_sign_ons


def test_the_html_page_and_the_csv_say_the_same(failing_region):
    box, who, run = failing_region
    data, page, rows, findings = load(box)
    assert page.get("lang") == "fr"
    table = {tr.get("data-uai"): tr.get("data-statut") for tr in page.xpath("//table[@id='etablissements']//tr[@data-uai]")}
    assert table == {e["uai"]: e["status"] for e in data["etablissements"]}
    assert {r["uai"]: r["statut"] for r in rows} == table
    assert [(f["uai"], f["code"]) for f in findings] == [(f["uai"], f["code"]) for f in data["findings"]]
    constats = page.xpath("//table[@id='constats']//tr[@data-uai]")
    assert len(constats) == len(data["findings"])
    # nothing of a person: no test account's login, no password
    accounts = yaml.safe_load((box.inventory / "host_vars" / f"{who['fine']}.yml").read_text())
    text = " ".join(p.read_text(encoding="utf-8-sig") for p in (box.state_dir / "rapports").glob("rapport-rentree*"))
    for account in accounts["pronote_sso_test_accounts"]:
        assert account["login"] not in text and account["password"] not in text
