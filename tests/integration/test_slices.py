"""The rentrée as an AWX sliced job: 4 slices through ansible-runner, in parallel, against one sandbox; their
set_stats artifacts (and, the other way, the records files of the report directory) merged by report.yml give
the report one unsliced run of the same region gives."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from _harness import ROOT, RunnerRun, Sandbox, run_playbook, run_with_runner, running_sandbox

SLICES = 4
SEED = 23


def prepare(box: Sandbox) -> str:
    """One établissement without its identifiers file: its accounts then fail to sign on (a failed status to
    carry through the merge). Returns its UAI."""
    uai = sorted(box.hosts())[2]
    (box.state_dir / "identifiants" / f"{uai}.xml").unlink()
    return uai


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Sandbox]]:
    """Two copies of one region (same seed): one run in slices, one unsliced."""
    with running_sandbox(tmp_path_factory.mktemp("sliced"), seed=SEED, etabs=6) as sliced, \
            running_sandbox(tmp_path_factory.mktemp("whole"), seed=SEED, etabs=6) as whole:
        assert sorted(sliced.hosts()) == sorted(whole.hosts())
        assert prepare(sliced) == prepare(whole)
        yield sliced, whole


def awx_slices(hosts: list[str], count: int) -> list[list[str]]:
    """As AWX cuts an inventory (awx/main/models/inventory.py, get_sliced_hosts): hosts in name order, every
    N-th from the K-th."""
    ordered = sorted(hosts)
    return [ordered[k::count] for k in range(count)]


def artifacts(run: RunnerRun) -> dict[str, Any]:
    """What AWX stores as the job's artifacts: the ``artifact_data`` of the ``playbook_on_stats`` event
    (awx/main/tasks/callback.py)."""
    (stats,) = [e["event_data"] for e in run.events if e.get("event") == "playbook_on_stats"]
    return stats.get("artifact_data") or {}


def essentials(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on slicing: établissements, statuses, steps, counts (not times, run ids, messages
    that name a server's port)."""
    return {
        "etablissements": [{k: e[k] for k in ("uai", "name", "project", "status", "steps", "identifiers", "sign_on",
                                               "not_done", "findings_count", "worst_severity")}
                           | {"failed_step": (e["failure"] or {}).get("step"),
                              "codes": [f["code"] for f in e["findings"]]} for e in report["etablissements"]],
        "summary": report["summary"],
    }


@pytest.fixture(scope="module")
def sliced_run(regions, tmp_path_factory) -> dict[str, Any]:
    box, _ = regions
    tmp = tmp_path_factory.mktemp("slices")
    report_dir = tmp / "volume" / "rapports"  # the volume every slice's container mounts (docs/awx.md)
    parts = awx_slices(box.hosts(), SLICES)

    def one(k: int) -> RunnerRun:
        return run_with_runner(tmp / f"slice-{k + 1}", ROOT / "playbooks" / "rentree.yml", inventory=box.inventory,
                               project_dir=ROOT, limit=",".join(parts[k]),
                               extravars={"ent_pronote_report_dir": str(report_dir)})

    with ThreadPoolExecutor(SLICES) as pool:
        runs = list(pool.map(one, range(SLICES)))
    return {"box": box, "tmp": tmp, "report_dir": report_dir, "parts": parts, "runs": runs}


@pytest.fixture(scope="module")
def whole_report(regions, tmp_path_factory) -> tuple[RunnerRun, dict[str, Any]]:
    _, box = regions
    tmp = tmp_path_factory.mktemp("whole")
    report_dir = tmp / "rapports"
    run = run_with_runner(tmp / "job", ROOT / "playbooks" / "rentree.yml", inventory=box.inventory, project_dir=ROOT,
                          extravars={"ent_pronote_report_dir": str(report_dir)})
    return run, json.loads((report_dir / "rapport-rentree.json").read_text(encoding="utf-8"))


def test_each_slice_runs_its_hosts_and_says_it_is_a_slice(sliced_run, whole_report):
    failed_uai = sorted(sliced_run["box"].hosts())[2]
    for k, (run, part) in enumerate(zip(sliced_run["runs"], sliced_run["parts"]), 1):
        assert set(run.stats()) == set(part), (k, run.stdout[-3000:])
        assert run.hosts_with("runner_on_failed") == ({failed_uai} & set(part)), (k, run.stdout[-3000:])
        assert (run.rc != 0) == (failed_uai in part) and run.status in ("successful", "failed"), run.stdout[-3000:]
        text = " ".join(run.stdout.split())
        if len(part) > 1:
            assert f"Tranche {k} sur {SLICES} : {len(part)} établissement(s) de cette tranche seulement." in text
        else:  # one host alone cannot be told from a run limited to it: partial, not a slice number
            assert "Exécution partielle : 1 établissement(s) sur les 6 de l'inventaire." in text
        assert "Ce n'est pas le rapport de la région : ansible-playbook ent.pronote.report." in text
        # each slice published its records under a key of its own
        (key,) = artifacts(run)
        assert re.fullmatch(r"ent_pronote_records_\d{8}T\d{6}Z_[0-9a-f]{6}", key)
        assert sorted(artifacts(run)[key]["etablissements"]) == sorted(part)
    whole_run, whole = whole_report
    assert "Tranche" not in whole_run.stdout and "partielle" not in whole_run.stdout
    # the region the slices are compared with: one établissement failed, the others connected, all steps run
    assert {e["uai"]: e["status"] for e in whole["etablissements"]} == {
        uai: "failed" if uai == failed_uai else "changed" for uai in sliced_run["box"].hosts()}
    assert whole["summary"]["sign_on"]["ok"] > 0 and whole["summary"]["identifiers"]["ent"] > 0
    assert set(whole["summary"]["by_step"]) == {"delegation", "service", "identifiers", "sso"}


def test_the_slices_artifacts_merged_give_the_unsliced_report(sliced_run, whole_report):
    # AWX hands the next workflow node the slices' artifacts merged key by key (dict.update), as extra vars
    handed: dict[str, Any] = {}
    for run in sliced_run["runs"]:
        handed.update(artifacts(run))
    assert len(handed) == SLICES
    tmp = sliced_run["tmp"]
    (tmp / "artifacts.json").write_text(json.dumps(handed, ensure_ascii=False))
    out = tmp / "from-artifacts"
    run = run_with_runner(tmp / "report-job", ROOT / "playbooks" / "report.yml", inventory=sliced_run["box"].inventory,
                          project_dir=ROOT, extravars={**handed, "ent_pronote_report_dir": str(out)})
    assert run.rc == 0 and run.status == "successful", run.stdout[-4000:]
    merged = json.loads((out / "rapport-rentree.json").read_text(encoding="utf-8"))
    _, whole = whole_report

    def failures(report: dict[str, Any]) -> dict[str, Any]:
        return {e["uai"]: (e["failure"] or {}).get("msg") for e in report["etablissements"] if e["failure"]}

    # (the failures' messages, shown when the two differ, may name ports: compared through essentials())
    assert essentials(merged) == essentials(whole), (failures(merged), failures(whole))
    assert {r["run_id"] for r in merged["runs"]} == {k.removeprefix("ent_pronote_records_") for k in handed}
    text = " ".join(run.stdout.split())
    assert "Rapport fusionné : 6 établissement(s), de 4 exécution(s) sur 4 document(s) d'enregistrements (artefacts)" in text
    assert "WARNING" not in run.stdout and "ATTENTION" not in text
    for name in ("rapport-rentree.html", "rapport-rentree-etablissements.csv", "rapport-rentree-constats.csv"):
        assert (out / name).is_file()


def test_the_report_directorys_records_merged_give_the_unsliced_report(sliced_run, whole_report):
    box, report_dir = sliced_run["box"], sliced_run["report_dir"]
    records = sorted((report_dir / "records").glob("rentree-*.json"))
    assert len(records) == SLICES
    # the same established by report.yml from the files, with ansible-playbook as a user runs it
    run = run_playbook(box, sliced_run["tmp"] / "files", ROOT / "playbooks" / "report.yml",
                       "-e", f"ent_pronote_report_dir={report_dir}", "-e", "ent_pronote_report_source=files")
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    merged = json.loads((report_dir / "rapport-rentree.json").read_text(encoding="utf-8"))
    _, whole = whole_report
    assert essentials(merged) == essentials(whole)

    # a later run of one établissement, a truncated file and another version's records
    later = json.loads(records[0].read_text(encoding="utf-8"))
    uai = sorted(later["etablissements"])[0]
    later["run_id"] = "29991231T000000Z_abcdef"
    later["generated_at"] = "2999-12-31T00:00:00+00:00"
    later["etablissements"] = {uai: {**later["etablissements"][uai], "status": "ok",
                                     "steps": {k: "ok" for k in later["etablissements"][uai]["steps"]}}}
    (report_dir / "records" / "rentree-29991231T000000Z_abcdef.json").write_text(json.dumps(later))
    (report_dir / "records" / "rentree-29991231T000001Z_000000.json").write_text(records[1].read_text()[:200])
    other = {**json.loads(records[2].read_text()), "schema": "ent.pronote/records/0", "product_version": "0.1.0"}
    (report_dir / "records" / "rentree-20000101T000000Z_000000.json").write_text(json.dumps(other))
    run = run_playbook(box, sliced_run["tmp"] / "files2", ROOT / "playbooks" / "report.yml",
                       "-e", f"ent_pronote_report_dir={report_dir}")
    assert run.rc == 0, run.stdout[-4000:]
    merged = json.loads((report_dir / "rapport-rentree.json").read_text(encoding="utf-8"))
    statuses = {e["uai"]: e["status"] for e in merged["etablissements"]}
    assert statuses[uai] == "ok" and len(statuses) == 6
    assert statuses == {**{e["uai"]: e["status"] for e in whole["etablissements"]}, uai: "ok"}
    text = " ".join((run.stdout + run.stderr).split())
    assert "rentree-29991231T000001Z_000000.json — JSON incomplet ou invalide (fichier tronqué ?)" in text
    assert "schéma 'ent.pronote/records/0' (version 0.1.0 du produit)" in text
    assert f"{uai} : enregistrement de l'exécution 29991231T000000Z_abcdef" in text

    # -e to pick runs: only the later one
    run = run_playbook(box, sliced_run["tmp"] / "files3", ROOT / "playbooks" / "report.yml",
                       "-e", f"ent_pronote_report_dir={report_dir}",
                       "-e", json.dumps({"ent_pronote_report_runs": ["29991231T000000Z_abcdef"]}))
    assert run.rc == 0, run.stdout[-4000:]
    merged = json.loads((report_dir / "rapport-rentree.json").read_text(encoding="utf-8"))
    assert [e["uai"] for e in merged["etablissements"]] == [uai]
