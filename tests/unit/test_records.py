"""Records that outlive a run, what part of the region a run covers, and the merge of many runs' records."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ansible_collections.ent.pronote.plugins.action import report_merge as rm
from ansible_collections.ent.pronote.plugins.action import run_summary as rs
from ansible_collections.ent.pronote.plugins.module_utils import _records

T0 = datetime(2026, 9, 1, 16, 30, tzinfo=timezone.utc)


def record(uai: str, status: str = "changed", project: str = "MBN", **extra) -> dict:
    steps = {"service": status if status != "not_run" else "not_run"}
    failure = {"step": "Service ENT", "msg": "HTTP 500"} if status == "failed" else None
    return {"uai": uai, "name": f"Collège {uai}", "project": project, "status": status, "steps": steps,
            "failure": failure, "identifiers": None, "sign_on": None, "not_done": [], "missing_files": [],
            "findings": [], **extra}


def doc(records: list[dict], when: datetime = T0, kind: str = "rentree", **scope) -> dict:
    return _records.document(records, kind=kind, run_id=_records.new_run_id(when), generated_at=when, scope=scope)


# --- run ids, scope -----------------------------------------------------------------------------------------

def test_run_ids_sort_by_time_name_a_variable_and_differ():
    ids = {_records.new_run_id(T0) for _ in range(50)}
    assert len(ids) == 50
    later = _records.new_run_id(T0 + timedelta(seconds=1))
    assert all(i < later for i in ids)
    assert all(_records.stats_key(i).isidentifier() for i in ids)
    assert re.fullmatch(r"20260901T163000Z_[0-9a-f]{6}", next(iter(ids)))


HOSTS = [f"067000{i}X" for i in range(10)]


@pytest.mark.parametrize("count", [2, 3, 4, 7])
def test_every_awx_slice_is_recognised(count):
    for number in range(1, count + 1):
        chosen = sorted(HOSTS)[number - 1::count]
        if len(chosen) < 2:
            assert _records.awx_slice_of(chosen, HOSTS) is None  # one host: cannot be told
        else:
            assert _records.awx_slice_of(list(reversed(chosen)), HOSTS) == (number, count)


@pytest.mark.parametrize("hosts", [HOSTS, HOSTS[:3], [HOSTS[0], HOSTS[2], HOSTS[3]], [HOSTS[5]], []])
def test_what_is_no_slice(hosts):
    assert _records.awx_slice_of(hosts, HOSTS) is None


def test_scope_and_its_french_line():
    whole = _records.scope_of(HOSTS, HOSTS, {})
    assert whole["partial"] is False and _records.scope_text(whole) is None
    sliced = _records.scope_of(sorted(HOSTS)[1::4], HOSTS, {})
    assert sliced["slice"] == {"number": 2, "count": 4} and sliced["partial"]
    assert _records.scope_text(sliced).startswith("Tranche 2 sur 4 : 3 établissement(s)")
    limited = _records.scope_of(HOSTS[:3], HOSTS, {})
    assert "3 établissement(s) sur les 10" in _records.scope_text(limited)
    given = _records.scope_of(HOSTS, HOSTS, {"ent_pronote_slice": "3/5"})
    assert given["slice"] == {"number": 3, "count": 5}
    # AWX hands a slice only its hosts: told from its workflow, named as the job template
    awx = _records.scope_of(HOSTS[:3], HOSTS[:3], {"awx_job_launch_type": "workflow", "awx_workflow_job_id": 12,
                                                   "awx_workflow_job_name": "Rentrée", "awx_job_template_name": "Rentrée"})
    assert awx["partial"] and "travail AWX en tranches (travail 12)" in _records.scope_text(awx)
    assert not _records.scope_of(HOSTS, HOSTS, {"awx_job_launch_type": "manual", "awx_job_template_name": "R"})["partial"]


# --- documents and files -----------------------------------------------------------------------------------

def test_a_document_keeps_the_reports_fields_only(tmp_path):
    finding = {"code": "version_bloc", "severity": "erreur", "uai": "0670001X", "step": "service", "message": "m",
               "fix": "f", "count": None, "subject": "", "people": ["Dupont Jean"]}
    d = doc([record("0670001X", findings=[finding])])
    assert d["schema"] == _records.SCHEMA and d["kind"] == "rentree"
    kept = d["etablissements"]["0670001X"]
    assert "people" not in kept["findings"][0] and "Dupont" not in json.dumps(d)
    assert set(kept) == set(_records.__dict__["_report"].RECORD_KEYS)
    path = Path(_records.write_document(str(tmp_path), d))
    assert path == tmp_path / "records" / f"rentree-{d['run_id']}.json"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    with pytest.raises(ValueError, match="never used twice"):
        _records.write_document(str(tmp_path), d)


def test_an_invalid_record_is_refused_naming_it():
    with pytest.raises(ValueError, match="0670001X.*status"):
        doc([record("0670001X", status="bizarre")])


# --- merge -------------------------------------------------------------------------------------------------

def test_the_merge_takes_the_latest_record_and_names_the_others():
    old = doc([record("0670001X", "failed"), record("0670002X", "changed")], T0)
    new = doc([record("0670001X", "ok")], T0 + timedelta(hours=1))
    for order in ([old, new], [new, old]):
        merged = _records.merge([(d["run_id"], d, None) for d in order], kind="rentree")
        assert {r["uai"]: r["status"] for r in merged.records} == {"0670001X": "ok", "0670002X": "changed"}
        (warning,) = merged.warnings
        assert warning.startswith(f"0670001X : enregistrement de l'exécution {new['run_id']}")
        assert old["run_id"] in warning and "laissé" in warning
        by_run = {s.run_id: s for s in merged.sources}
        assert by_run[old["run_id"]].taken == ["0670002X"] and by_run[old["run_id"]].superseded == ["0670001X"]


def test_bad_documents_are_left_out_and_named_never_repaired(tmp_path):
    good = doc([record("0670001X")])
    other_schema = {**doc([record("0670002X")]), "schema": "ent.pronote/records/9", "product_version": "9.0.0"}
    other_kind = doc([record("0670003X")], kind="diagnostic")
    truncated = tmp_path / "rentree-trunc.json"
    truncated.write_text(json.dumps(doc([record("0670004X")]))[:-40])
    content, why = _records.load_file(str(truncated))
    bad_record = doc([record("0670005X")])
    bad_record["etablissements"]["0670005X"]["status"] = "presque"
    merged = _records.merge([("good", good, None), ("other-schema", other_schema, None), ("kind", other_kind, None),
                             (str(truncated), content, why), ("bad", bad_record, None), ("list", [1], None)],
                            kind="rentree")
    assert [r["uai"] for r in merged.records] == ["0670001X"]
    text = "\n".join(merged.warnings)
    assert "other-schema — schéma 'ent.pronote/records/9' (version 9.0.0" in text
    assert "kind — enregistrements de type 'diagnostic'" in text
    assert f"{truncated} — JSON incomplet ou invalide (fichier tronqué ?)" in text
    assert "l'établissement 0670005X de bad — enregistrement invalide" in text and "presque" in text
    assert "list — pas un document d'enregistrements" in text
    assert len(merged.warnings) == 5


def test_many_records_left_for_a_later_run_make_one_line():
    uais = [f"06700{i:02d}X" for i in range(25)]
    old = doc([record(u, "failed") for u in uais], T0)
    new = [doc([record(u) for u in sorted(uais)[k::2]], T0 + timedelta(hours=1, seconds=k)) for k in range(2)]
    merged = _records.merge([(d["run_id"], d, None) for d in (new[1], old, new[0])], kind="rentree")
    assert {r["status"] for r in merged.records} == {"changed"} and len(merged.records) == 25
    assert len(merged.warnings) == 2
    first = next(w for w in merged.warnings if new[0]["run_id"] in w)
    assert first.startswith(", ".join(sorted(uais)[0:20:2]) + " et 3 autre(s) : enregistrement de l'exécution")
    assert first.endswith(f"laissé(s) : {old['run_id']} ({old['generated_at']}).")


def test_another_product_version_of_the_same_schema_is_taken_and_said():
    other = {**doc([record("0670001X")]), "product_version": "0.3.9"}
    merged = _records.merge([("f", other, None)], kind="rentree")
    assert [r["uai"] for r in merged.records] == ["0670001X"]
    assert merged.warnings == [f"Pris : f — fait par la version 0.3.9 du produit (celle-ci : "
                               f"{_records.product_version()}), même schéma {_records.SCHEMA}."]


def test_a_dry_runs_records_never_pass_for_a_real_runs():
    real = doc([record("0670001X", "failed")], T0)
    dry = _records.document([record("0670001X", "changed")], kind="rentree", check_mode=True,
                            run_id=_records.new_run_id(T0 + timedelta(hours=1)), generated_at=T0 + timedelta(hours=1))
    merged = _records.merge([("real", real, None), ("dry", dry, None)], kind="rentree")
    assert [r["status"] for r in merged.records] == ["failed"]
    assert merged.warnings == ["Ignoré : dry — exécution à blanc (--check) : ses statuts sont des prévisions, pas "
                               "ceux d'une exécution."]
    # dry runs only (the slices of a check job): their merge is what was asked
    merged = _records.merge([("dry", dry, None)], kind="rentree")
    assert [r["status"] for r in merged.records] == ["changed"] and merged.warnings == []


def test_record_files_pick_kind_and_runs(tmp_path):
    a, b = doc([record("0670001X")], T0), doc([record("0670002X")], T0 + timedelta(minutes=1))
    c = doc([record("0670003X")], kind="diagnostic")
    for d in (a, b, c):
        _records.write_document(str(tmp_path), d)
    assert [Path(p).name for p in _records.record_files(str(tmp_path), "rentree")] == [
        f"rentree-{a['run_id']}.json", f"rentree-{b['run_id']}.json"]
    assert len(_records.record_files(str(tmp_path), "rentree", [b["run_id"]])) == 1
    assert _records.record_files(str(tmp_path / "nowhere"), "rentree") == []


# --- the two action plugins together -----------------------------------------------------------------------

def summary_vars(hosts: dict[str, dict], inventory: list[str], **extra) -> dict:
    return {"groups": {"all": inventory}, **extra, "hostvars": {
        uai: {"ent_project": "MBN", "etab_name": f"Collège {uai}", "ent_pronote_service_result": result} for uai, result in hosts.items()}}


def test_slices_merged_give_the_unsliced_report(tmp_path):
    results = {h: ({"failed": True, "msg": "HTTP 500"} if h == HOSTS[3] else {"changed": i % 2 == 0})
               for i, h in enumerate(HOSTS)}
    failures = {HOSTS[3]: {"step": "Service", "msg": "HTTP 500"}}
    summary = object.__new__(rs.ActionModule)

    def run(hosts: list[str], directory: Path) -> dict:
        task_vars = summary_vars({h: results[h] for h in hosts}, HOSTS)
        for h in hosts:
            if h in failures:
                task_vars["hostvars"][h]["ent_pronote_failure"] = failures[h]
        return summary.execute({"results": ["ent_pronote_service_result"], "hosts": hosts, "kind": "rentree", "report_dir": str(directory),
                                "fail_on_failures": False}, task_vars)

    whole = run(HOSTS, tmp_path / "whole")
    assert not any("Tranche" in line or "partielle" in line for line in whole["msg"])
    artifacts = {}
    for k in range(1, 5):
        sliced = run(sorted(HOSTS)[k - 1::4], tmp_path / "slices")
        assert sliced["msg"][1].startswith(f"  Tranche {k} sur 4 :")
        artifacts[sliced["records_key"]] = json.loads(json.dumps(sliced["records"]))  # as AWX stores them
    merge = object.__new__(rm.ActionModule)
    expected = json.loads((tmp_path / "whole" / "rapport-rentree.json").read_text())
    for directory, params in ((tmp_path / "from-artifacts", {"source": "auto"}),
                              (tmp_path / "slices", {"source": "files"})):
        out = merge.execute({"kind": "rentree", "report_dir": str(directory), "artifacts": None, "runs": None,
                             "hosts": None, **params}, dict(artifacts) if params["source"] == "auto" else {})
        assert "warnings" not in out, out["warnings"]
        got = json.loads(Path(out["report"]["json"]).read_text())
        assert got["etablissements"] == expected["etablissements"] and got["summary"] == expected["summary"]
        assert len(got["runs"]) == 4 and {s["taken"] for s in out["sources"]} == {2, 3}
        assert out["msg"][0] == whole["msg"][0]
        assert "de 4 exécution(s)" in out["msg"][1]


def test_nothing_to_merge_fails_saying_where_it_looked(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError

    merge = object.__new__(rm.ActionModule)
    with pytest.raises(EntPronoteError, match=r"Aucun enregistrement trouvé dans .*records/rentree-\*\.json"):
        merge.execute({"kind": "rentree", "report_dir": str(tmp_path), "source": "auto", "artifacts": None,
                       "runs": None, "hosts": None}, {})


def test_the_page_says_a_slice_a_partial_run_and_a_merge():
    from ansible_collections.ent.pronote.plugins.module_utils import _report

    data = _report.build([record("0670001X")], kind="rentree", generated_at=T0)
    assert "pas la région entière" not in _report.to_html(data) and "fusion" not in _report.to_html(data)
    cases = [([{"scope": {"partial": True, "slice": {"number": 2, "count": 4}}}], "tranche 2 sur 4, pas la région entière"),
             ([{"scope": {"partial": True, "slice": None}}], "exécution partielle, pas la région entière"),
             ([{"scope": {"partial": False}}] * 3, "fusion de 3 exécutions")]
    for runs, text in cases:
        page = _report.to_html({**data, "runs": runs})
        assert f"· {text}</p>" in page, text
