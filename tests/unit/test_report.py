"""_report: the end-of-run report (JSON, CSV, HTML page), its files, and docs/report.md."""
from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import json
import os
import re
import stat
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jmespath
import lxml.html
import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _report as rp

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "report.md"
PARIS = timezone(timedelta(hours=2))
WHEN = datetime(2025, 9, 1, 18, 30, tzinfo=PARIS)
MBN, OCC, BFC = "Mon Bureau Numérique", "ENT Occitanie", "Éclat-BFC"
ALL_STEPS = ("delegation", "service", "identifiers", "sso")


def steps(*states: str) -> dict[str, str]:
    return dict(zip(ALL_STEPS, states))


def finding(code, severity, step, count=None, subject="", **extra):
    return {"code": code, "severity": severity, "step": step, "message": f"Message de {code}.",
            "fix": f"Correctif de {code}.", "count": count, "subject": subject, **extra}


def ids(ent, assisted=0, kept=0, manual=0, unmatched=0, ambiguous=0, skipped=0):
    return {"ent": ent, "assisted": assisted, "kept": kept, "manual": manual, "unmatched": unmatched,
            "ambiguous": ambiguous, "skipped": skipped}


# The example of docs/report.md: its JSON is build(EXAMPLE) and its queries' results are computed on it.
EXAMPLE = [
    {"uai": "0671632K", "name": "Collège Jean Moulin", "project": MBN, "status": "failed",
     "steps": steps("ok", "failed", "not_run", "not_run"),
     "failure": {"step": "Service PRONOTE de l'ENT", "msg": "HTTP 500 (gave up after 4 attempts)"},
     "identifiers": None, "sign_on": None, "not_done": [], "missing_files": [],
     "findings": [{"code": "version_bloc", "severity": "erreur", "uai": "0671632K", "step": "service",
                   "message": "La « Version » du bloc PRONOTE dans l'ENT est « 2024 », mais le serveur PRONOTE "
                              "est en version 2025.0.3 (2025).",
                   "fix": "ENT, « Gestion portail > Services », service PRONOTE, « Configuration du bloc PRONOTE » : "
                          "choisir « Version » « 2025 ».",
                   "count": None, "subject": ""}]},
    {"uai": "0670001M", "name": "Lycée Kléber", "project": MBN, "status": "failed",
     "steps": steps("ok", "ok", "changed", "failed"),
     "failure": {"step": "Sign on into PRONOTE through the ENT's CAS, one test account per profile",
                 "msg": "1 of 3 sign-ons failed: Parent (Espace Parents): Identification impossible."},
     "identifiers": ids(1204, assisted=12, kept=30, manual=2, unmatched=5, ambiguous=1, skipped=3),
     "sign_on": {"ok": 2, "failed": 1}, "not_done": [], "missing_files": [],
     "findings": [{"code": "identification_impossible", "severity": "erreur", "uai": "0670001M", "step": "sso",
                   "message": "Parent (Espace Parents) : « Identification impossible ».",
                   "fix": "Dans PRONOTE, « Supprimer l'identifiant CAS (ENT) » du compte, puis réessayer.",
                   "count": 1, "subject": "Parent"},
                  {"code": "parents_sans_acces", "severity": "avertissement", "uai": "0670001M",
                   "step": "identifiers",
                   "message": "7 responsable(s) sans « Accès à l'Espace Parents » dans PRONOTE.",
                   "fix": "Dans PRONOTE, fiche du responsable : cocher « Accès à l'Espace Parents ».",
                   "count": 7, "subject": ""}]},
    {"uai": "0311234Y", "name": "Collège Les Aiguerelles", "project": OCC, "status": "changed",
     "steps": steps("ok", "ok", "changed", "ok"), "failure": None,
     "identifiers": ids(640, assisted=4, kept=12), "sign_on": {"ok": 3, "failed": 0},
     "not_done": [], "missing_files": [],
     "findings": [{"code": "eleves_sortis", "severity": "info", "uai": "0311234Y", "step": "identifiers",
                   "message": "14 élève(s) sorti(s) de l'établissement encore dans la base PRONOTE.",
                   "fix": "Dans PRONOTE, archiver ou supprimer les élèves sortis.", "count": 14, "subject": ""}]},
]

# A synthetic region: 8 établissements, 3 projects, failures, findings, odd names.
REGION = [
    copy.deepcopy(EXAMPLE[0]),
    copy.deepcopy(EXAMPLE[1]),
    {"uai": "0672345K", "name": "Collège Pasteur", "project": MBN, "status": "ok",
     "steps": steps("ok", "ok", "ok", "ok"), "failure": None, "identifiers": ids(400, kept=380),
     "sign_on": {"ok": 4, "failed": 0}, "not_done": [], "missing_files": [], "findings": []},
    {"uai": "0311234Y", "name": "", "project": OCC, "status": "not_run",
     "steps": steps("not_run", "not_run", "not_run", "not_run"), "failure": None, "identifiers": None,
     "sign_on": None, "not_done": ["hôte injoignable : pas de réponse de la console"], "missing_files": [],
     "findings": []},
    {"uai": "0341111Y", "name": "Lycée Joffre", "project": OCC, "status": "failed",
     "steps": steps("ok", "ok", "ok", "failed"), "failure": None, "identifiers": ids(0, skipped=2),
     "sign_on": {"ok": 0, "failed": 2}, "not_done": [], "missing_files": ["/srv/identifiants/0341111Y.xml"],
     "findings": [finding("url_cas", "erreur", "delegation"), finding("eleves_sortis", "info", "identifiers", 14)]},
    {"uai": "0310099A", "name": "Collège <Les Arts> & Métiers", "project": OCC, "status": "changed",
     "steps": steps("changed", "ok", "ok", "ok"), "failure": None, "identifiers": None,
     "sign_on": {"ok": 1, "failed": 0}, "not_done": [], "missing_files": [],
     "findings": [finding("version_bloc", "erreur", "service"),
                  finding("doublons_pronote", "avertissement", "identifiers", 2,
                          message="2 compte(s) <b>en double</b> & « fusion » à faire")]},
    {"uai": "0210001B", "name": "Collège Le Castel", "project": BFC, "status": "ok",
     "steps": steps("ok", "ok", "skipped", "ok"), "failure": None, "identifiers": None,
     "sign_on": {"ok": 2, "failed": 0}, "not_done": [], "missing_files": [],
     "findings": [finding("eleves_sortis", "info", "identifiers", 3)]},
    {"uai": "0250002C", "name": "Lycée Victor Hugo", "project": BFC, "status": "changed",
     "steps": steps("ok", "changed", "changed", "not_run"), "failure": None, "identifiers": ids(980, assisted=20),
     "sign_on": None, "not_done": ["connexions non testées : pas de compte de test"], "missing_files": [],
     "findings": []},
]
# by project (accents and case ignored), then UAI
REGION_ORDER = ["0210001B", "0250002C", "0310099A", "0311234Y", "0341111Y", "0670001M", "0671632K", "0672345K"]
SEV_RANK = {"erreur": 0, "avertissement": 1, "info": 2}


@pytest.fixture(scope="module")
def data():
    return rp.build(copy.deepcopy(REGION), kind="rentree", generated_at=WHEN)


@pytest.fixture(scope="module")
def page(data):
    return lxml.html.document_fromstring(rp.to_html(data))


def by_uai(records):
    return {r["uai"]: r for r in records}


def number(element) -> int:
    return int(element.text_content().replace("\u202f", "").strip())


def all_findings(records):
    return [{**f, "uai": r["uai"]} for r in records for f in r["findings"]]


# --- build ----------------------------------------------------------------------------------------------------
def test_top_level(data):
    assert list(data) == ["schema", "kind", "generated_at", "summary", "etablissements", "findings"]
    assert data["schema"] == "ent.pronote/rapport/1"
    assert data["kind"] == "rentree"
    assert datetime.fromisoformat(data["generated_at"]) == WHEN
    assert data["generated_at"] == "2025-09-01T18:30:00+02:00"


def test_summary_counts_match_the_records(data):
    summary = data["summary"]
    statuses = Counter(r["status"] for r in REGION)
    assert summary["total"] == len(REGION) == 8
    assert summary["by_status"] == {s: statuses.get(s, 0) for s in ("failed", "changed", "ok", "not_run")}
    assert list(summary["by_status"]) == ["failed", "changed", "ok", "not_run"]
    expected_projects = {}
    for r in REGION:
        expected_projects.setdefault(r["project"], Counter())[r["status"]] += 1
    assert summary["by_project"] == {p: {s: c.get(s, 0) for s in summary["by_status"]}
                                     for p, c in expected_projects.items()}
    assert list(summary["by_project"]) == [BFC, OCC, MBN]  # sorted, accents and case ignored
    assert summary["sign_on"] == {k: sum((r["sign_on"] or {}).get(k, 0) for r in REGION) for k in ("ok", "failed")}
    assert summary["sign_on"] == {"ok": 9, "failed": 3}
    assert summary["identifiers"] == {k: sum((r["identifiers"] or {}).get(k, 0) for r in REGION)
                                      for k in rp.IDENTIFIER_OUTCOMES}
    assert summary["by_step"]["sso"] == {"failed": 2, "changed": 0, "ok": 3, "skipped": 0, "not_run": 3}
    assert summary["by_step"]["identifiers"]["skipped"] == 1
    assert list(summary["by_step"]) == list(ALL_STEPS)


def test_summary_findings(data):
    found = all_findings(REGION)
    findings = data["summary"]["findings"]
    assert findings["total"] == len(found) == 8
    assert findings["by_severity"] == {s: sum(f["severity"] == s for f in found) for s in SEV_RANK}
    assert findings["by_code"] == {c: len({f["uai"] for f in found if f["code"] == c})
                                   for c in sorted({f["code"] for f in found})}
    assert findings["by_code"]["version_bloc"] == 2
    assert data["summary"]["etablissements_with_findings"] == sum(1 for r in REGION if r["findings"]) == 5


def test_etablissements_normalised_and_sorted(data):
    etabs = data["etablissements"]
    assert [r["uai"] for r in etabs] == REGION_ORDER
    keys = ["uai", "name", "project", "status", "steps", "failure", "identifiers", "sign_on", "not_done",
            "missing_files", "findings", "findings_count", "worst_severity"]
    source = by_uai(REGION)
    for r in etabs:
        assert list(r) == keys
        raw = source[r["uai"]]
        assert (r["name"], r["project"], r["status"], r["steps"]) == (raw["name"], raw["project"], raw["status"],
                                                                      raw["steps"])
        assert r["findings_count"] == len(raw["findings"])
        ranks = sorted(SEV_RANK[f["severity"]] for f in raw["findings"])
        assert r["worst_severity"] == (next(s for s, n in SEV_RANK.items() if n == ranks[0]) if ranks else None)
        assert all(f["uai"] == r["uai"] for f in r["findings"])


def test_flat_findings_sorted_with_etablissement(data):
    source = by_uai(REGION)
    expected = sorted(all_findings(REGION), key=lambda f: (SEV_RANK[f["severity"]], f["uai"], f["code"]))
    assert [(f["uai"], f["code"], f["count"]) for f in data["findings"]] == \
        [(f["uai"], f["code"], f["count"]) for f in expected]
    for f in data["findings"]:
        assert (f["project"], f["name"]) == (source[f["uai"]]["project"], source[f["uai"]]["name"])
        assert set(f) == {"uai", "project", "name", "severity", "code", "step", "subject", "message", "fix", "count"}


def test_minimal_record_gets_every_key():
    data = rp.build([{"uai": "0671632K", "status": "not_run"}], kind="diagnostic", generated_at=WHEN)
    (r,) = data["etablissements"]
    assert r == {"uai": "0671632K", "name": "", "project": "?", "status": "not_run", "steps": {}, "failure": None,
                 "identifiers": None, "sign_on": None, "not_done": [], "missing_files": [], "findings": [],
                 "findings_count": 0, "worst_severity": None}
    assert data["summary"]["sign_on"] == {"ok": 0, "failed": 0}
    assert data["summary"]["identifiers"] == dict.fromkeys(rp.IDENTIFIER_OUTCOMES, 0)
    assert data["summary"]["by_step"] == {}


def test_partial_counts_are_completed_and_input_is_not_changed():
    record = {"uai": "0671632K", "status": "ok", "identifiers": {"ent": 3}, "sign_on": {"ok": 1},
              "steps": {"sso": "ok", "delegation": "ok"}}
    before = copy.deepcopy(record)
    (r,) = rp.build([record], kind="rentree", generated_at=WHEN)["etablissements"]
    assert r["identifiers"] == {**dict.fromkeys(rp.IDENTIFIER_OUTCOMES, 0), "ent": 3}
    assert r["sign_on"] == {"ok": 1, "failed": 0}
    assert list(r["steps"]) == ["delegation", "sso"]  # display order
    assert record == before


def test_failure_as_ansible_gives_it():
    """ansible_failed_result.msg is text as a rule; anything else is shown, not refused."""
    record = {"uai": "0671632K", "status": "failed", "failure": {"step": None, "msg": ["HTTP 500", 3]}}
    (r,) = rp.build([record], kind="rentree", generated_at=WHEN)["etablissements"]
    assert r["failure"] == {"step": "?", "msg": '["HTTP 500", 3]'}
    (r,) = rp.build([{**record, "failure": {}}], kind="rentree", generated_at=WHEN)["etablissements"]
    assert r["failure"] is None


def test_naive_time_gets_the_local_offset():
    data = rp.build([], kind="rentree", generated_at=datetime(2025, 9, 1, 18, 30))
    assert datetime.fromisoformat(data["generated_at"]).utcoffset() is not None


def test_finding_keys_are_whitelisted():
    """Whatever else a finding carries (names of people, say) never reaches the report files."""
    record = {"uai": "0671632K", "status": "ok",
              "findings": [finding("doublons_pronote", "avertissement", "identifiers", 2,
                                   people=["DUPONTEL Jeanne", "MARTINEZ Paul"])]}
    data = rp.build([record], kind="diagnostic", generated_at=WHEN)
    for text in (rp.to_json(data), rp.to_html(data), rp.to_csv_etablissements(data), rp.to_csv_findings(data)):
        assert "DUPONTEL" not in text and "MARTINEZ" not in text


def test_same_with_the_severities_and_steps_of_the_diagnosis():
    diagnose = pytest.importorskip("ansible_collections.ent.pronote.plugins.module_utils._diagnose")
    assert rp.SEVERITIES == diagnose.SEVERITIES
    assert set(diagnose.STEPS) <= set(rp.STEPS)


# --- bad input --------------------------------------------------------------------------------------------------
def good(**changes):
    record = copy.deepcopy(EXAMPLE[0])
    record.update(changes)
    return record


@pytest.mark.parametrize("records, pattern", [
    ([good(), {"name": "Lycée sans UAI", "status": "ok"}], r"record #2 \(name 'Lycée sans UAI'\): no uai"),
    ([{"uai": "  ", "status": "ok"}], r"record #1 .*no uai"),
    ([good(findings=[finding("version_bloc", "critique", "service")])],
     r"0671632K.*version_bloc.*unknown severity 'critique'"),
    ([good(findings=[finding("version_bloc", None, "service")])], r"0671632K.*unknown severity None"),
    ([good(status="done")], r"0671632K: status 'done'"),
    ([good(steps={"access": "ok"})], r"0671632K: unknown step 'access'"),
    ([good(steps={"sso": "fine"})], r"0671632K: step sso: status 'fine'"),
    ([good(), good()], r"0671632K: the UAI is given twice"),
    ([good(findings=[{**finding("url_cas", "erreur", "delegation"), "uai": "0670001M"}])],
     r"0671632K: .*belongs to UAI '0670001M'"),
    ([good(findings=[finding("url_cas", "erreur", "portail")])], r"0671632K: .*unknown step 'portail'"),
    ([good(findings=[finding("Bad Code", "erreur", "service")])], r"0671632K: finding #1 has no valid code"),
    ([good(findings=[finding("url_cas", "erreur", "service", count=-1)])], r"0671632K: .*count"),
    ([good(findings=[finding("url_cas", "erreur", "service", count=True)])], r"0671632K: .*count"),
    ([good(sign_on={"ok": 1, "ko": 2})], r"0671632K: sign_on has unknown key\(s\) ko"),
    ([good(identifiers={"ent": "12"})], r"0671632K: identifiers.ent must be a count"),
    ([good(missing=["x.xml"])], r"0671632K: unknown key\(s\) missing"),
    ([good(not_done="pas fait")], r"0671632K: not_done must be a list"),
    ([good(name=42)], r"0671632K: name must be text"),
    (["0671632K"], r"record #1: must be a mapping"),
])
def test_bad_input_names_the_uai(records, pattern):
    with pytest.raises(ValueError, match=pattern):
        rp.build(records, kind="rentree", generated_at=WHEN)


def test_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        rp.build([], kind="rapport", generated_at=WHEN)


# --- JSON ---------------------------------------------------------------------------------------------------------
def test_json_round_trip(data):
    text = rp.to_json(data)
    assert json.loads(text) == data
    assert "Collège <Les Arts> & Métiers" in json.loads(text)["etablissements"][2]["name"]
    assert "é" in text and "\\u00e9" not in text  # UTF-8, not ASCII escapes
    assert text.startswith('{\n  "schema": "ent.pronote/rapport/1",\n  "kind": "rentree",')
    assert text == rp.to_json(rp.build(copy.deepcopy(REGION), kind="rentree", generated_at=WHEN))  # stable


# --- docs/report.md ------------------------------------------------------------------------------------------------
def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)\n```$", DOC.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def doc_queries() -> list[tuple[str, object]]:
    """Each ```jmespath block of the doc and the ```json block right after it (its result on the example)."""
    text = DOC.read_text(encoding="utf-8")
    block = r"((?:(?!```).)*?)"  # anything but a fence
    pairs = re.findall(rf"^```jmespath\n{block}\n```\n\s*^```json\n{block}\n```$", text, re.DOTALL | re.MULTILINE)
    assert len(pairs) == len(doc_blocks("jmespath")), "every jmespath query of the doc is followed by its result"
    return [(query, json.loads(result)) for query, result in pairs]


def doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_doc_example_is_what_build_gives():
    (example,) = [b for b in doc_blocks("json") if b.startswith('{\n  "schema"')]
    expected = rp.to_json(rp.build(copy.deepcopy(EXAMPLE), kind="rentree", generated_at=WHEN))
    assert example + "\n" == expected, "docs/report.md: paste the example again:\n" + expected


def test_doc_queries_give_their_documented_result_on_the_example():
    example = json.loads(rp.to_json(rp.build(copy.deepcopy(EXAMPLE), kind="rentree", generated_at=WHEN)))
    queries = doc_queries()
    assert len(queries) >= 8
    for query, result in queries:
        assert jmespath.search(query, example) == result, query


def expected_on_region(query: str):
    """What each documented query means, computed from the records (not from the report)."""
    records = sorted(REGION, key=lambda r: REGION_ORDER.index(r["uai"]))
    failed = [r for r in records if r["status"] == "failed"]
    found = sorted(all_findings(REGION), key=lambda f: (SEV_RANK[f["severity"]], f["uai"], f["code"]))
    meanings = {
        "summary.by_status": lambda: {s: sum(r["status"] == s for r in REGION)
                                      for s in ("failed", "changed", "ok", "not_run")},
        "etablissements[?status=='failed'].uai": lambda: [r["uai"] for r in failed],
        "etablissements[?status=='failed'].{uai: uai, nom: name, etape: failure.step, erreur: failure.msg}":
            lambda: [{"uai": r["uai"], "nom": r["name"], "etape": (r["failure"] or {}).get("step"),
                      "erreur": (r["failure"] or {}).get("msg")} for r in failed],
        "summary.by_project": lambda: {p: {s: sum(1 for r in REGION if r["project"] == p and r["status"] == s)
                                           for s in ("failed", "changed", "ok", "not_run")} for p in (BFC, OCC, MBN)},
        "findings[?severity=='erreur'] | length(@)": lambda: sum(f["severity"] == "erreur" for f in found),
        "findings[?severity=='erreur'].[uai, code]": lambda: [[f["uai"], f["code"]] for f in found
                                                             if f["severity"] == "erreur"],
        "summary.findings.by_code": lambda: dict(sorted(Counter(
            c for r in REGION for c in {f["code"] for f in r["findings"]}).items())),
        "etablissements[?contains(findings[].code, 'version_bloc')].uai":
            lambda: [r["uai"] for r in records if any(f["code"] == "version_bloc" for f in r["findings"])],
        "etablissements[?steps.sso=='failed'].uai": lambda: [r["uai"] for r in records if r["steps"].get("sso") ==
                                                              "failed"],
        "etablissements[?sign_on.failed > `0`].{uai: uai, echecs: sign_on.failed}":
            lambda: [{"uai": r["uai"], "echecs": r["sign_on"]["failed"]} for r in records
                     if r["sign_on"] and r["sign_on"]["failed"] > 0],
        "etablissements[?project=='Mon Bureau Numérique' && status!='ok'].uai":
            lambda: [r["uai"] for r in records if r["project"] == MBN and r["status"] != "ok"],
        "etablissements[?not_done || missing_files].{uai: uai, non_fait: not_done, fichiers: missing_files}":
            lambda: [{"uai": r["uai"], "non_fait": r["not_done"], "fichiers": r["missing_files"]} for r in records
                     if r["not_done"] or r["missing_files"]],
        "summary.identifiers.ent": lambda: sum((r["identifiers"] or {}).get("ent", 0) for r in REGION),
    }
    assert query in meanings, f"docs/report.md has a new query; say here what it means: {query}"
    return meanings[query]()


def test_doc_queries_mean_what_the_doc_says_on_a_region(data):
    documented = [q for q, _ in doc_queries()]
    for query in documented:
        assert jmespath.search(query, json.loads(rp.to_json(data))) == expected_on_region(query), query
    # and the region does give something to each of them
    assert all(jmespath.search(q, data) not in ([], {}, None, 0) for q in documented)


def test_doc_json_fields_are_documented():
    schema = doc_section("The JSON document")
    for field in ("schema", "kind", "generated_at", "summary.total", "summary.by_status", "summary.by_project",
                  "summary.by_step", "summary.findings.total", "summary.findings.by_severity",
                  "summary.findings.by_code", "summary.etablissements_with_findings", "summary.sign_on",
                  "summary.identifiers", "etablissements[]", "findings[]", *(f"etablissements[].{k}" for k in (
                      "uai", "name", "project", "status", "steps", "failure", "identifiers", "sign_on", "not_done",
                      "missing_files", "findings", "findings_count", "worst_severity")),
                  *(f"findings[].{k}" for k in ("uai", "project", "name", "severity", "code", "step", "subject",
                                                "message", "fix", "count"))):
        assert f"`{field}`" in schema, field
    assert rp.SCHEMA in schema


# --- CSV ------------------------------------------------------------------------------------------------------------
def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    assert text.startswith("\ufeff")
    reader = csv.reader(io.StringIO(text[1:], newline=""), delimiter=";")
    header, *rows = list(reader)
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def documented_columns(title: str) -> list[str]:
    return re.findall(r"^\| `([a-z_]+)` \|", doc_section(title), re.MULTILINE)


def test_csv_etablissements(data):
    header, rows = read_csv(rp.to_csv_etablissements(data))
    documented = documented_columns("CSV: établissements")
    assert header == [c for c in documented if not c.startswith("etape_") or c[6:] in data["summary"]["by_step"]]
    assert "etape_diagnose" not in header and "etape_sso" in header
    assert [r["uai"] for r in rows] == REGION_ORDER
    source = by_uai(REGION)
    for row in rows:
        raw = source[row["uai"]]
        assert row["nom"] == raw["name"] and row["projet"] == raw["project"] and row["statut"] == raw["status"]
        assert all(row[f"etape_{s}"] == raw["steps"][s] for s in ALL_STEPS)
        assert int(row["nb_constats"]) == len(raw["findings"])
        assert (row["codes"].split("|") if row["codes"] else []) == list(dict.fromkeys(
            f["code"] for f in sorted(raw["findings"], key=lambda f: (SEV_RANK[f["severity"]], f["code"]))))
        assert row["connexions_ok"] == ("" if raw["sign_on"] is None else str(raw["sign_on"]["ok"]))
        assert row["identifiants_ent"] == ("" if raw["identifiers"] is None else str(raw["identifiers"]["ent"]))
        assert row["fichiers_absents"] == " | ".join(raw["missing_files"])
    assert by_uai(rows)["0671632K"]["echec_message"] == "HTTP 500 (gave up after 4 attempts)"
    assert by_uai(rows)["0671632K"]["libelle_statut"] == "En échec"
    assert by_uai(rows)["0341111Y"]["codes"] == "url_cas|eleves_sortis"


def test_csv_findings(data):
    header, rows = read_csv(rp.to_csv_findings(data))
    assert header == documented_columns("CSV: constats")
    assert [(r["uai"], r["severite"], r["code"], r["etape"], r["message"], r["correctif"], r["nombre"])
            for r in rows] == [(f["uai"], f["severity"], f["code"], f["step"], f["message"], f["fix"],
                                "" if f["count"] is None else str(f["count"])) for f in data["findings"]]
    assert all(r["nom"] == by_uai(REGION)[r["uai"]]["name"] for r in rows)


def test_csv_formula_guard():
    record = {"uai": "0671632K", "name": "=HYPERLINK(\"x\")", "project": "+ENT", "status": "ok",
              "findings": [finding("url_cas", "erreur", "delegation", message="@SUM(A1)", fix="-1")]}
    data = rp.build([record], kind="diagnostic", generated_at=WHEN)
    _, (row,) = read_csv(rp.to_csv_etablissements(data))
    assert (row["nom"], row["projet"], row["libelle_statut"]) == ("'=HYPERLINK(\"x\")", "'+ENT", "Erreur")
    _, (row,) = read_csv(rp.to_csv_findings(data))
    assert (row["message"], row["correctif"]) == ("'@SUM(A1)", "'-1")
    assert data["etablissements"][0]["name"] == "=HYPERLINK(\"x\")"  # the JSON keeps the value


# --- HTML -----------------------------------------------------------------------------------------------------------
def columns(table) -> list[str]:
    return [th.get("data-colonne") for th in table.xpath("./thead/tr/th")]


def cell(row, table, column):
    return row.xpath("./td|./th")[columns(table).index(column)]


def test_html_document(page, data):
    assert page.tag == "html" and page.get("lang") == "fr"
    assert page.findtext(".//h1") == "Rapport de rentrée PRONOTE"
    assert page.find(".//time").get("datetime") == data["generated_at"]
    assert page.find(".//time").text == "1er septembre 2025 à 18:30 (UTC+2)"
    assert page.find(".//meta[@charset]").get("charset") == "utf-8"
    diag = lxml.html.document_fromstring(rp.to_html(rp.build([], kind="diagnostic", generated_at=WHEN)))
    assert diag.findtext(".//h1") == "Diagnostic PRONOTE"


def test_html_summary_numbers(page, data):
    summary = data["summary"]
    for status, n in {**summary["by_status"], "total": summary["total"]}.items():
        (element,) = page.xpath(f'//*[@data-compte="{status}"]')
        assert number(element) == n
    for severity, n in summary["findings"]["by_severity"].items():
        (element,) = page.xpath(f'//*[@data-constats="{severity}"]')
        assert number(element) == n
    assert number(page.xpath('//*[@data-constats="etablissements"]')[0]) == summary["etablissements_with_findings"]
    for key, n in summary["sign_on"].items():
        assert number(page.xpath(f'//*[@data-connexions="{key}"]')[0]) == n
    for key, n in summary["identifiers"].items():
        assert number(page.xpath(f'//*[@data-identifiants="{key}"]')[0]) == n
    assert page.xpath('//*[@data-identifiants="ent"]')[0].text == "2\u202f584"  # French grouping


def test_html_projects_table(page, data):
    (table,) = page.xpath('//table[@id="projets"]')
    rows = table.xpath("./tbody/tr")
    assert [r.get("data-projet") for r in rows] == list(data["summary"]["by_project"])
    for row in rows:
        counts = data["summary"]["by_project"][row.get("data-projet")]
        shown = {td.get("data-statut"): number(td) for td in row.xpath("./td")}
        assert shown == {**counts, "total": sum(counts.values())}
        assert {td.get("data-statut"): int(td.get("data-value")) for td in row.xpath("./td")} == shown
    (foot,) = table.xpath("./tfoot/tr")
    assert {td.get("data-statut"): number(td) for td in foot.xpath("./td")} == \
        {**data["summary"]["by_status"], "total": data["summary"]["total"]}


def test_html_etablissements_table(page, data):
    (table,) = page.xpath('//table[@id="etablissements"]')
    assert columns(table) == ["uai", "nom", "projet", "statut", "etape-delegation", "etape-service",
                              "etape-identifiers", "etape-sso", "constats", "connexions-ok", "connexions-echec"]
    assert [th.text_content() for th in table.xpath("./thead/tr/th")][4:8] == \
        ["Délégation PRONOTE.net", "Service ENT", "Identifiants", "Connexion"]
    rows = table.xpath("./tbody/tr")
    assert [r.get("data-uai") for r in rows] == REGION_ORDER
    source = by_uai(REGION)
    labels = {"failed": "En échec", "changed": "Modifié", "ok": "Inchangé", "skipped": "Ignoré",
              "not_run": "Non traité"}
    for row in rows:
        raw = source[row.get("data-uai")]
        assert row.get("data-statut") == raw["status"] and row.get("data-projet") == raw["project"]
        assert cell(row, table, "uai").text_content() == raw["uai"]
        assert cell(row, table, "nom").get("data-value") == raw["name"]
        assert cell(row, table, "nom").text_content() == (raw["name"] or "—")
        assert cell(row, table, "projet").text_content() == raw["project"]
        status = cell(row, table, "statut")
        assert status.get("data-value") == raw["status"]
        assert status.xpath(".//*[@class='libelle']")[0].text == labels[raw["status"]]
        for step in ALL_STEPS:
            td = cell(row, table, f"etape-{step}")
            assert td.get("data-value") == raw["steps"][step]
            assert td.xpath(".//*[@class='libelle']")[0].text == labels[raw["steps"][step]]
        assert number(cell(row, table, "constats")) == len(raw["findings"])
        assert int(cell(row, table, "constats").get("data-value")) == len(raw["findings"])
        for column, key in (("connexions-ok", "ok"), ("connexions-echec", "failed")):
            td = cell(row, table, column)
            if raw["sign_on"] is None:
                assert (td.get("data-value"), td.text_content()) == ("", "—")
            else:
                assert int(td.get("data-value")) == number(td) == raw["sign_on"][key]
    assert [th.get("data-tri") for th in table.xpath("./thead/tr/th")][-3:] == ["num", "num", "num"]
    assert all(th.find("button") is not None for th in table.xpath("./thead/tr/th"))


def test_html_failed_etablissement_stands_out(page):
    (row,) = page.xpath('//table[@id="etablissements"]/tbody/tr[@data-uai="0671632K"]')
    assert "st-failed" in row.get("class").split()
    (item,) = page.xpath('//*[@id="a-reprendre"]//li[@data-uai="0671632K"]')
    assert "HTTP 500 (gave up after 4 attempts)" in item.text_content()
    assert "Service PRONOTE de l'ENT" in item.text_content()
    uais = [li.get("data-uai") for li in page.xpath('//*[@id="a-reprendre"]//li[@class="echec"]')]
    assert uais == [u for u in REGION_ORDER if by_uai(REGION)[u]["status"] == "failed"]
    not_done = page.xpath('//*[@id="a-reprendre"]//li[@class="non-fait"]/@data-uai')
    assert sorted(not_done) == ["0250002C", "0311234Y", "0341111Y"]


def test_html_findings_table(page, data):
    (table,) = page.xpath('//table[@id="constats"]')
    assert columns(table) == ["etablissement", "severite", "code", "etape", "message", "correctif", "nombre"]
    rows = table.xpath("./tbody/tr")
    shown = [(r.get("data-uai"), r.get("data-severite"), r.get("data-code"),
              cell(r, table, "severite").get("data-value"), cell(r, table, "code").find("code").text,
              cell(r, table, "message").text_content(), cell(r, table, "correctif").text_content(),
              cell(r, table, "nombre").get("data-value")) for r in rows]
    assert shown == [(f["uai"], f["severity"], f["code"], f["severity"], f["code"], f["message"], f["fix"],
                      "" if f["count"] is None else str(f["count"])) for f in data["findings"]]
    statuses = {r["uai"]: r["status"] for r in REGION}
    assert all(r.get("data-statut") == statuses[r.get("data-uai")] for r in rows)
    # filters: one select per severity and per code, with the report's values
    assert page.xpath('//*[@data-filtres="constats"]//select[@data-champ="severite"]/option/@value') == \
        ["", "erreur", "avertissement", "info"]
    assert page.xpath('//*[@data-filtres="constats"]//select[@data-champ="code"]/option/@value') == \
        ["", *data["summary"]["findings"]["by_code"]]


def test_html_filters(page, data):
    bar = page.xpath('//*[@data-filtres="etablissements"]')[0]
    assert bar.xpath('.//input[@type="search"]/@data-champ') == ["texte"]
    assert bar.xpath('.//select[@data-champ="statut"]/option/@value') == ["", "failed", "changed", "ok", "not_run"]
    assert bar.xpath('.//select[@data-champ="projet"]/option/@value') == ["", BFC, OCC, MBN]


def test_html_escapes_everything(page):
    (row,) = page.xpath('//table[@id="etablissements"]/tbody/tr[@data-uai="0310099A"]')
    assert row.xpath("./td")[1].text_content() == "Collège <Les Arts> & Métiers"
    assert not page.xpath("//b") and len(page.xpath("//script")) == 1
    (message,) = page.xpath('//table[@id="constats"]/tbody/tr[@data-code="doublons_pronote"]'
                            '/td[@class="message"]')
    assert message.text_content() == "2 compte(s) <b>en double</b> & « fusion » à faire"
    hostile = {"uai": "0671632K", "status": "failed", "name": '"><script>alert(1)</script>',
               "project": "P' onclick='x", "failure": {"step": "</td>", "msg": "<img src=x onerror=alert(1)>"},
               "findings": [finding("url_cas", "erreur", "delegation", message="</script><script>alert(2)</script>")]}
    doc = lxml.html.document_fromstring(rp.to_html(rp.build([hostile], kind="rentree", generated_at=WHEN)))
    assert len(doc.xpath("//script")) == 1 and not doc.xpath("//img") and not doc.xpath("//@onclick|//@onerror")
    (row,) = doc.xpath('//table[@id="etablissements"]/tbody/tr')
    assert row.get("data-projet") == "P' onclick='x"
    assert row.xpath("./td")[1].text_content() == '"><script>alert(1)</script>'


def test_html_control_characters_do_not_break_the_page():
    record = {"uai": "0671632K", "status": "failed", "failure": {"step": "x", "msg": "bad\x00byte\x1b[0m"}}
    doc = lxml.html.document_fromstring(rp.to_html(rp.build([record], kind="rentree", generated_at=WHEN)))
    assert "bad\ufffdbyte\ufffd[0m" in doc.get_element_by_id("a-reprendre").text_content()


def test_html_is_self_contained(page):
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("link", "img", "iframe", "object", "embed", "base", "form", "audio", "video",
                                   "source", "picture", "svg")
        for name, value in element.attrib.items():
            assert name not in ("src", "href", "srcset", "action", "poster", "background"), (element.tag, name)
            assert not name.startswith("on"), (element.tag, name)
            if element.tag == "meta" and element.get("http-equiv") == "Content-Security-Policy":
                continue
            for bad in ("http:", "https:", "//", "url("):
                assert bad not in value.lower(), (element.tag, name, value)
    (style,) = page.xpath("//style")
    (script,) = page.xpath("//script")
    assert script.get("src") is None
    for bad in ("url(", "@import", "http"):
        assert bad not in style.text
    for bad in ("http", "fetch(", "XMLHttpRequest", "import(", "WebSocket", "sendBeacon", "src"):
        assert bad not in script.text


def test_html_content_security_policy_allows_only_the_inline_style_and_script(page):
    (meta,) = page.xpath('//meta[@http-equiv="Content-Security-Policy"]')
    policy = dict(part.strip().split(" ", 1) for part in meta.get("content").split(";"))

    def digest(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy == {"default-src": "'none'", "style-src": digest(page.xpath("//style")[0].text),
                      "script-src": digest(page.xpath("//script")[0].text), "base-uri": "'none'",
                      "form-action": "'none'"}


def test_html_from_the_json_is_the_same(data):
    assert rp.to_html(json.loads(rp.to_json(data))) == rp.to_html(data)


def test_html_empty_region():
    data = rp.build([], kind="rentree", generated_at=WHEN)
    doc = lxml.html.document_fromstring(rp.to_html(data))
    assert doc.xpath('//table[@id="etablissements"]/tbody/tr') == []
    assert doc.xpath('//table[@id="constats"]/tbody/tr') == []
    assert number(doc.xpath('//*[@data-compte="total"]')[0]) == 0
    assert read_csv(rp.to_csv_etablissements(data))[1] == [] and read_csv(rp.to_csv_findings(data))[1] == []


# --- files ------------------------------------------------------------------------------------------------------------
def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o077)  # the strictest a user may have: the report files must still be 0644
    yield
    os.umask(old)


def test_write(tmp_path, data, umask):
    out = tmp_path / "rapports" / "2025-09-01"
    paths = rp.write(str(out), data)
    assert paths == {"html": str(out / "rapport.html"), "json": str(out / "rapport.json"),
                     "csv": str(out / "rapport-etablissements.csv"), "csv_constats": str(out / "rapport-constats.csv")}
    assert mode(out) == 0o700
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in paths.values())  # no temporary file left
    assert all(mode(p) == 0o644 for p in paths.values())
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8")) == data
    assert Path(paths["html"]).read_text(encoding="utf-8") == rp.to_html(data)
    assert Path(paths["csv"]).read_bytes().startswith(b"\xef\xbb\xbf")
    assert Path(paths["csv_constats"]).read_bytes().decode("utf-8") == rp.to_csv_findings(data)


def test_write_replaces_and_keeps_an_existing_directory(tmp_path, data):
    out = tmp_path / "shared"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    (out / "diag.json").write_text("old")
    os.chmod(out / "diag.json", 0o600)
    paths = rp.write(str(out), data, basename="diag")
    assert mode(out) == 0o755
    assert mode(paths["json"]) == 0o644 and json.loads(Path(paths["json"]).read_text()) == data


def test_write_is_atomic(tmp_path, data, monkeypatch):
    rp.write(str(tmp_path), data)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = rp.build([], kind="diagnostic", generated_at=WHEN)

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(rp.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        rp.write(str(tmp_path), other)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # untouched, no temporary file


@pytest.mark.parametrize("basename", ["", "../rapport", "a/b", ".cache"])
def test_write_refuses_a_path_as_basename(tmp_path, data, basename):
    with pytest.raises(ValueError, match="basename"):
        rp.write(str(tmp_path), data, basename=basename)


HEADER = ["uai", "code", "identifiant_pronote", "catégorie", "nom", "prénom", "date_naissance"]
PEOPLE = [["0671632K", "parents_sans_acces", "ABCDEFGH12345678", "responsable", "DUPONTEL", "Jeanne", "01/02/1980"],
          ["0671632K", "doublons_pronote", "ZYXWVUTS87654321", "eleve", "MARTÍNEZ; Ñ", "Paul \"PJ\"", ""]]


def test_write_detail(tmp_path, umask):
    out = tmp_path / "details"
    path = rp.write_detail(str(out), "0671632K", PEOPLE, header=HEADER)
    assert path == str(out / "0671632K-diagnostic.csv")
    assert mode(out) == 0o700 and mode(path) == 0o600
    header, rows = read_csv(Path(path).read_bytes().decode("utf-8"))
    assert header == HEADER and [list(r.values()) for r in rows] == PEOPLE
    assert os.listdir(out) == ["0671632K-diagnostic.csv"]


def test_write_detail_over_a_readable_file(tmp_path):
    old = tmp_path / "0671632K-diagnostic.csv"
    old.write_text("uai;nom\n0671632K;ANCIEN\n")
    os.chmod(old, 0o644)
    os.chmod(tmp_path, 0o755)
    path = rp.write_detail(str(tmp_path), "0671632K", PEOPLE[:1], header=HEADER)
    assert mode(path) == 0o600
    assert "ANCIEN" not in Path(path).read_text(encoding="utf-8-sig")
    assert mode(tmp_path) == 0o755  # an existing directory is left as it is
    assert os.listdir(tmp_path) == ["0671632K-diagnostic.csv"]


def test_write_detail_without_rows(tmp_path):
    path = rp.write_detail(str(tmp_path), "0671632K", [], header=HEADER)
    assert read_csv(Path(path).read_text(encoding="utf-8")) == (HEADER, [])


@pytest.mark.parametrize("uai", ["", "../0671632K", "a/b", ".hidden", None])
def test_write_detail_refuses_a_path_as_uai(tmp_path, uai):
    with pytest.raises(ValueError, match="UAI"):
        rp.write_detail(str(tmp_path), uai, [], header=HEADER)
    assert os.listdir(tmp_path) == []


def test_write_detail_neutralises_cells_a_spreadsheet_would_run(tmp_path):
    """Issue 14 §5: the diagnosis's details go through the one CSV helper, like the run report."""
    path = rp.write_detail(str(tmp_path), "0671632K", [["=1+1", "@x", "-3", "Léa"]], header=["a", "b", "c", "d"])
    text = open(path, encoding="utf-8-sig").read()
    assert text.splitlines()[1] == "'=1+1;'@x;'-3;Léa"



def test_a_diagnosed_etablissement_with_an_error_finding_is_not_ok_in_any_column():
    """Issue 14 §6: « ✔ OK » under Statut and Diagnostic beside « Identifiant CAS changé » reads "all good"."""
    bad = {"uai": "0671632K", "name": "Collège A", "project": "p", "status": "ok", "steps": {"diagnose": "ok"},
           "findings": [finding("identifiant_cas_change", "erreur", "identifiers")]}
    good = {"uai": "0671633L", "name": "Collège B", "project": "p", "status": "ok", "steps": {"diagnose": "ok"},
            "findings": [finding("eleves_sortis", "avertissement", "identifiers")]}
    data = rp.build([bad, good], kind="diagnostic", generated_at=WHEN)
    page = lxml.html.document_fromstring(rp.to_html(data))
    table = page.get_element_by_id("etablissements").xpath(".//table")[0] \
        if page.get_element_by_id("etablissements").tag != "table" else page.get_element_by_id("etablissements")
    rows = {tr.get("data-uai"): tr for tr in table.xpath("./tbody/tr")}
    for column in ("statut", "etape-diagnose"):
        bad_text = cell(rows["0671632K"], table, column).text_content()
        assert "OK" not in bad_text and "✔" not in bad_text and "Erreur" in bad_text, (column, bad_text)
        assert "✔ OK" in cell(rows["0671633L"], table, column).text_content()
    assert "OK" not in " ".join(rows["0671632K"].itertext())
    _, rows_csv = read_csv(rp.to_csv_etablissements(data))
    assert {r["uai"]: r["libelle_statut"] for r in rows_csv} == {"0671632K": "Erreur", "0671633L": "OK"}
