"""run_summary: step and host statuses, the summary and its French text."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ent.pronote.plugins.action import run_summary as rs
from ansible_collections.ent.pronote.plugins.module_utils._errors import FRENCH

SERVER, REFUSED = FRENCH["serveur_indisponible"], FRENCH["acces_refuse"]


# --- step_status ----------------------------------------------------------------
@pytest.mark.parametrize("result, status", [
    (None, "not_run"),
    ("", "not_run"),
    ([], "not_run"),
    ({"failed": True, "changed": True}, "failed"),
    ({"failed": True, "skipped": True}, "failed"),
    ({"skipped": True}, "skipped"),
    ({"skipped": True, "changed": True}, "skipped"),
    ({"changed": True}, "changed"),
    ({"changed": False}, "ok"),
    ({}, "ok"),
    ({"failed": False, "changed": False, "msg": "x"}, "ok"),
])
def test_step_status(result, status):
    assert rs.step_status(result) == status


# --- host_status ----------------------------------------------------------------
@pytest.mark.parametrize("failure, steps, status", [
    ({"step": "service", "msg": "boom"}, {"a": "ok"}, "failed"),
    ({"step": "service", "msg": "boom"}, {}, "failed"),
    (None, {"a": "changed", "b": "failed"}, "failed"),
    (None, {"a": "ok", "b": "changed"}, "changed"),
    (None, {"a": "changed", "b": "not_run"}, "changed"),
    (None, {"a": "ok", "b": "skipped"}, "ok"),
    (None, {"a": "skipped"}, "ok"),
    (None, {"a": "ok", "b": "not_run"}, "ok"),
    (None, {"a": "not_run", "b": "not_run"}, "not_run"),
    (None, {}, "not_run"),
    ({}, {"a": "ok"}, "ok"),
])
def test_host_status(failure, steps, status):
    assert rs.host_status(failure, steps) == status


# --- summarise ------------------------------------------------------------------
HOSTS = [
    {"uai": "0671234C", "project": "mbn", "name": "Collège Jean Moulin", "failure": None,
     "steps": {"service": "changed", "access": "ok"}},
    {"uai": "0670001M", "project": "mbn", "name": "Lycée Kléber",
     "failure": {"step": "ent_service", "msg": "HTTP 500 (gave up after 4 attempts)",
                 "code": "serveur_indisponible"},
     "steps": {"service": "failed", "access": "not_run"}},
    {"uai": "0311234Y", "project": "occitanie", "name": "", "failure": None,
     "steps": {"service": "ok", "access": "ok"}},
    {"uai": "0341111Y", "project": "occitanie", "name": "Lycée Joffre", "failure": None,
     "steps": {"service": "failed", "access": "not_run"}},
    {"uai": "0672345K", "project": "mbn", "name": "Collège Pasteur", "failure": None,
     "steps": {"service": "not_run", "access": "not_run"}},
]


def test_summarise():
    summary = rs.summarise(HOSTS)
    assert summary["total"] == 5
    assert summary["counts"] == {"failed": 2, "changed": 1, "ok": 1, "not_run": 1}
    assert summary["projects"] == {
        "mbn": {"failed": 1, "changed": 1, "ok": 0, "not_run": 1},
        "occitanie": {"failed": 1, "changed": 0, "ok": 1, "not_run": 0},
    }
    assert list(summary["projects"]) == ["mbn", "occitanie"]
    assert summary["failures"] == [
        {"uai": "0670001M", "name": "Lycée Kléber", "project": "mbn", "step": "ent_service",
         "code": "serveur_indisponible", "msg": SERVER + " — HTTP 500 (gave up after 4 attempts)"},
        {"uai": "0341111Y", "name": "Lycée Joffre", "project": "occitanie", "step": "?", "code": "inconnu",
         "msg": FRENCH["inconnu"]},
    ]


def test_summarise_nothing():
    assert rs.summarise([]) == {"total": 0, "counts": {"failed": 0, "changed": 0, "ok": 0, "not_run": 0},
                                "projects": {}, "failures": [], "missing_files": [], "not_done": [], "findings": {},
                                "with_findings": [], "ok_with_errors": 0, "sign_on": {}, "identifiers": {}, "identifiers_removed": {},
                                "pairs_withdrawn": {}, "pairs_contested": {}}


statuses = st.sampled_from(["failed", "changed", "ok", "skipped", "not_run"])
host_records = st.lists(st.fixed_dictionaries({
    "uai": st.sampled_from(["0671234C", "0670001M", "0311234Y"]),
    "project": st.sampled_from(["mbn", "occitanie", "?"]),
    "name": st.sampled_from(["", "Collège"]),
    "failure": st.one_of(st.none(), st.fixed_dictionaries({"step": st.text(max_size=5), "msg": st.text(max_size=5)})),
    "steps": st.dictionaries(st.sampled_from(["s1", "s2", "s3"]), statuses, max_size=3),
}), max_size=12)


@given(host_records)
def test_counts_add_up_to_the_total(hosts):
    summary = rs.summarise(hosts)
    assert summary["total"] == len(hosts)
    assert sum(summary["counts"].values()) == len(hosts)
    assert sum(sum(c.values()) for c in summary["projects"].values()) == len(hosts)
    for status in rs.STATUS_LABELS:
        assert sum(c[status] for c in summary["projects"].values()) == summary["counts"][status]
    assert len(summary["failures"]) == summary["counts"]["failed"]
    assert set(summary["projects"]) == {h["project"] for h in hosts}


# --- render -----------------------------------------------------------------------
def test_render():
    lines = rs.render(rs.summarise(HOSTS))
    assert lines == [
        "Rentrée PRONOTE : 5 établissement(s) — 2 en échec, 1 modifiés, 1 inchangés, 1 non traités",
        "  mbn : 3 établissement(s) — 1 en échec, 1 modifiés, 1 non traités",
        "  occitanie : 2 établissement(s) — 1 en échec, 1 inchangés",
        "  ÉCHEC 0670001M (Lycée Kléber) — étape « ent_service » : " + SERVER + " — HTTP 500 (gave up after 4 "
        "attempts)",
        "  ÉCHEC 0341111Y (Lycée Joffre) — étape « ? » : " + FRENCH["inconnu"],
    ]


def test_render_nothing():
    assert rs.render(rs.summarise([])) == ["Rentrée PRONOTE : 0 établissement(s) — aucun"]


def test_render_failed_without_name():
    lines = rs.render(rs.summarise([{"uai": "0311234Y", "project": "occitanie", "name": "",
                                     "failure": {"step": "acces", "msg": "refusé", "code": "acces_refuse"},
                                     "steps": {}}]))
    assert lines[-1] == "  ÉCHEC 0311234Y — étape « acces » : " + REFUSED + " — refusé"


@given(host_records)
def test_render_names_each_failed_uai(hosts):
    summary = rs.summarise(hosts)
    text = "\n".join(rs.render(summary))
    failed = [line for line in rs.render(summary) if line.startswith("  ÉCHEC ")]
    assert len(failed) == summary["counts"]["failed"]
    for failure in summary["failures"]:
        assert f"ÉCHEC {failure['uai']}" in text
    assert text.startswith(f"Rentrée PRONOTE : {len(hosts)} établissement(s)")


# --- the action's records from hostvars -------------------------------------------------
def test_execute_reads_hostvars():
    action = object.__new__(rs.ActionModule)
    task_vars = {
        "groups": {"all": ["0671234C", "0670001M", "0672345K"]},
        "hostvars": {
            "0671234C": {"ent_project": "mbn", "etab_name": "Collège Jean Moulin",
                         "svc": {"changed": True}, "acc": {"changed": False}},
            "0670001M": {"ent_project": "mbn", "svc": {"failed": True, "msg": "x"},
                         "ent_pronote_failure": {"step": "svc", "msg": "refusé", "code": "acces_refuse"}},
            "0672345K": {},
        },
    }
    result = action.execute({"results": ["svc", "acc"], "hosts": None, "kind": "rentree"}, task_vars)
    assert result["changed"] is False
    assert result["summary"]["counts"] == {"failed": 1, "changed": 1, "ok": 0, "not_run": 1}
    assert result["summary"]["projects"] == {"?": {"failed": 0, "changed": 0, "ok": 0, "not_run": 1},
                                             "mbn": {"failed": 1, "changed": 1, "ok": 0, "not_run": 0}}
    assert result["msg"][-1] == "  ÉCHEC 0670001M — étape « svc » : " + REFUSED + " — refusé"
    only = action.execute({"results": ["svc"], "hosts": ["0671234C"], "kind": "rentree"}, task_vars)
    assert only["summary"]["total"] == 1 and only["summary"]["counts"]["changed"] == 1
    assert result["failed"] is True


def test_fail_on_failures_false_summarises_without_failing():
    """Run once, the summary's own failure would land on a healthy host: the playbooks fail the failed ones."""
    action = object.__new__(rs.ActionModule)
    task_vars = {"hostvars": {"0670001M": {"ent_pronote_failure": {"step": "svc", "msg": "refusé", "code": "acces_refuse"}},
                              "0671234C": {"svc": {"changed": True}}}}
    result = action.execute({"results": ["svc"], "hosts": ["0670001M", "0671234C"], "kind": "rentree",
                             "fail_on_failures": False}, task_vars)
    assert result["failed"] is False
    assert [f["uai"] for f in result["summary"]["failures"]] == ["0670001M"]
    assert "  ÉCHEC 0670001M — étape « svc » : " + REFUSED + " — refusé" in result["msg"]


def test_missing_files_and_identifier_totals():
    hosts = [
        {"uai": "0671234C", "project": "mbn", "name": "Collège Jean Moulin", "failure": None,
         "steps": {"imp": "ok"}, "identifiers": {"ent": 10, "assisted": 5, "unmatched": 1}},
        {"uai": "0670001M", "project": "mbn", "name": "", "failure": None, "steps": {"imp": "skipped"},
         "missing": ["/data/0670001M.xml"]},
        {"uai": "0311234Y", "project": "occitanie", "name": "", "failure": None, "steps": {"imp": "changed"},
         "identifiers": {"ent": 2, "ambiguous": 3}},
    ]
    summary = rs.summarise(hosts)
    assert summary["identifiers"] == {"ent": 12, "assisted": 5, "kept": 0, "manual": 0, "unmatched": 1,
                                      "ambiguous": 3, "skipped": 0}
    assert summary["missing_files"] == [{"uai": "0670001M", "name": "", "file": "/data/0670001M.xml"}]
    assert summary["counts"]["ok"] == 2  # a missing file is reported, not a failure
    lines = rs.render(summary)
    assert "  Identifiants PRONOTE : 12 reconnus par l'ENT, 5 rapprochés par l'assistant, 1 sans compte ENT, " \
           "3 ambigus" in lines
    assert lines[-1] == "  NON FAIT 0670001M — fichier d'identifiants absent : /data/0670001M.xml"


def test_execute_collects_missing_files_and_counts():
    action = object.__new__(rs.ActionModule)
    task_vars = {"groups": {"all": ["0671234C", "0670001M"]}, "hostvars": {
        "0671234C": {"imp": {"changed": True, "counts": {"total": {"ent": 4, "assisted": 1}}}},
        "0670001M": {"imp": {"skipped": True, "missing_file": "/f/0670001M.xml", "msg": "x"}},
    }}
    result = action.execute({"results": ["imp"], "hosts": None, "kind": "rentree"}, task_vars)
    assert result["summary"]["missing_files"][0]["file"] == "/f/0670001M.xml"
    assert result["summary"]["identifiers"]["ent"] == 4
    assert result["failed"] is False


def test_steps_not_done_and_sign_on_counts():
    from ansible_collections.ent.pronote.plugins.action.run_summary import render, summarise

    hosts = [
        {"uai": "0670001M", "project": "MBN", "name": "", "failure": None, "steps": {"d": "skipped", "s": "ok"},
         "not_done": ["délégation PRONOTE.net non vérifiée : pas de certificat client"],
         "sign_on": {"ok": 3, "failed": 0}},
        {"uai": "0670002N", "project": "MBN", "name": "Collège X", "failure": {"step": "sso", "msg": "sans_idpronote"},
         "steps": {"d": "ok", "s": "failed"}, "sign_on": {"ok": 2, "failed": 1}},
    ]
    summary = summarise(hosts)
    assert summary["sign_on"] == {"ok": 5, "failed": 1}
    assert summary["not_done"] == [{"uai": "0670001M", "name": "",
                                    "reason": "délégation PRONOTE.net non vérifiée : pas de certificat client"}]
    lines = render(summary)
    assert "  Connexions PRONOTE testées : 5 réussie(s), 1 en échec" in lines
    assert "  NON FAIT 0670001M — délégation PRONOTE.net non vérifiée : pas de certificat client" in lines
    assert summary["counts"]["failed"] == 1 and summary["counts"]["ok"] == 1


def test_execute_writes_the_report_with_findings_and_the_failed_steps_french_title(tmp_path):
    import json

    action = object.__new__(rs.ActionModule)
    finding = {"code": "version_bloc", "severity": "erreur", "uai": "0671234C", "step": "service",
               "message": "La « Version » …", "fix": "Choisir …", "count": None, "subject": ""}
    task_vars = {"groups": {"all": ["0671234C", "0670001M"]}, "hostvars": {
        "0671234C": {"ent_project": "MBN", "ent_pronote_diagnose_result": {"changed": False, "findings": [finding],
                                                                            "sign_on": {"ok": 3, "failed": 0}}},
        "0670001M": {"ent_project": "MBN", "ent_pronote_diagnose_result": {"failed": True, "msg": "HTTP 500"},
                     "ent_pronote_failure": {"step": "Diagnose the établissement", "msg": "HTTP 500",
                                             "code": "serveur_indisponible"}},
    }}
    result = action.execute({"results": ["ent_pronote_diagnose_result"], "hosts": None, "kind": "diagnostic",
                             "report_dir": str(tmp_path)}, task_vars)
    assert result["failed"] is True
    assert result["summary"]["findings"] == {"erreur": 1, "avertissement": 0, "info": 0}
    assert "  CONSTATS 0671234C — erreur : version_bloc" in result["msg"]
    assert result["msg"][0] == "Diagnostic PRONOTE : 2 établissement(s) — 1 en échec, 1 avec erreur(s)"
    data = json.loads((tmp_path / "rapport-diagnostic.json").read_text(encoding="utf-8"))
    assert data["kind"] == "diagnostic" and result["report"]["json"] == str(tmp_path / "rapport-diagnostic.json")
    by_uai = {e["uai"]: e for e in data["etablissements"]}
    assert by_uai["0670001M"]["failure"] == {"step": "Diagnostic", "msg": SERVER + " — HTTP 500"}
    assert [f["code"] for f in by_uai["0671234C"]["findings"]] == ["version_bloc"]
    assert by_uai["0671234C"]["sign_on"] == {"ok": 3, "failed": 0}
    assert data["summary"]["by_status"]["failed"] == 1


def test_failed_sign_ons_of_the_rentree_are_findings():
    checks = [{"profile": "Elève", "espace": "Espace Elèves", "ok": False, "code": "sans_idpronote",
               "cause": "Échec …", "fix": "Importer …"},
              {"profile": "Parent", "espace": "Espace Parents", "ok": True, "code": "ok", "cause": "", "fix": ""}]
    found = rs.findings_of("0671234C", [{"failed": True, "checks": checks, "ok": 1}])
    assert [(f["code"], f["subject"], f["step"]) for f in found] == [("sans_idpronote", "Elève", "sso")]


def test_the_same_step_not_done_across_a_region_is_one_line():
    reason = "connexion non testée : pas de compte de test (pronote_sso_test_accounts)"
    hosts = [{"uai": f"06700{i:02d}X", "project": "MBN", "name": "", "failure": None, "steps": {"d": "ok"},
              "not_done": [reason]} for i in range(5)]
    hosts.append({"uai": "0311234Y", "project": "MBN", "name": "Lycée", "failure": None, "steps": {"d": "ok"},
                  "not_done": ["délégation non vérifiée"]})
    lines = rs.render(rs.summarise(hosts), "diagnostic")
    assert f"  NON FAIT pour 5 établissements — {reason}" in lines
    assert "  NON FAIT 0311234Y (Lycée) — délégation non vérifiée" in lines
    assert sum(1 for line in lines if line.startswith("  NON FAIT")) == 2


def test_pairs_the_rules_would_not_make_are_counted_by_kind_in_french():
    """Issue 14 §3: « paires retirées : N élèves sortis, N doublons, N ambiguës à confirmer… »."""
    host = {"uai": "0671234C", "project": "p", "name": "", "failure": None, "steps": {"identifiers": "changed"},
            "pairs_withdrawn": {"left": 3, "duplicate": 2, "ambiguous": 1, "no_paired_child": 0}}
    other = {**host, "uai": "0670001M", "pairs_withdrawn": {"left": 1, "duplicate": 0, "ambiguous": 0,
                                                            "no_paired_child": 4},
             "pairs_contested": {"left": 0, "duplicate": 0, "ambiguous": 2, "no_paired_child": 0}}
    summary = rs.summarise([host, other])
    assert summary["pairs_withdrawn"] == {"left": 4, "duplicate": 2, "ambiguous": 1, "no_paired_child": 4}
    lines = rs.render(summary)
    assert "  Paires retirées : 4 élèves sortis, 2 doublons, 1 ambiguës à confirmer, " \
           "4 parents sans enfant rapproché" in lines
    assert "  Paires gardées (mode partiel) que les règles ne feraient pas : 2 ambiguës à confirmer" in lines


def test_the_labels_of_withdrawn_pairs_are_the_matchings_kinds():
    from ansible_collections.ent.pronote.plugins.module_utils._matching import WITHDRAWN
    assert rs.WITHDRAWN_LABELS == WITHDRAWN


def test_execute_prints_the_french_lines_not_the_summary_data(monkeypatch):
    """Issue 14 §6: the end of a run shows the French lines; the data stays in the registered result."""
    shown = []
    monkeypatch.setattr(rs.Display, "display", lambda self, text, *a, **k: shown.append(text))
    action = object.__new__(rs.ActionModule)
    task_vars = {"hostvars": {"0671234C": {"ent_project": "p", "etab_name": "Collège"}},
                 "groups": {"all": ["0671234C"]}}
    result = action.execute({"results": ["imp"], "hosts": None, "kind": "rentree"}, task_vars)
    assert "_ansible_verbose_always" not in result and result["summary"]["total"] == 1
    assert shown == ["\n".join(result["msg"])] and shown[0].startswith("Rentrée PRONOTE : 1 établissement(s)")


def test_identifiers_removed_are_counted_per_profile_in_the_summary():
    from ansible_collections.ent.pronote.plugins.action.run_summary import render, summarise

    hosts = [{"uai": u, "project": "P", "name": "", "failure": None, "steps": {"identifiers": "changed"},
              "removed": removed} for u, removed in (("0671234C", {"Elève": 2, "Parent": 1}),
                                                     ("0671235D", {"Elève": 1}), ("0671236E", None))]
    summary = summarise(hosts)
    assert summary["identifiers_removed"] == {"Elève": 3, "Parent": 1}
    assert "  Identifiants retirés de l'ENT : 4 (Elève : 3, Parent : 1)" in render(summary)
    assert summarise(hosts[2:])["identifiers_removed"] == {}
    assert not any("retirés de l'ENT" in line for line in render(summarise(hosts[2:])))


def test_a_failure_is_said_in_french_from_its_code_then_the_modules_message():
    from ansible_collections.ent.pronote.plugins.action.run_summary import failure_text
    from ansible_collections.ent.pronote.plugins.module_utils._errors import FRENCH

    assert failure_text({"code": "authentification", "msg": "The CAS refused 'admin'."}) == (
        FRENCH["authentification"] + " — The CAS refused 'admin'.")
    # an Ansible task's own failure has no code of ours
    assert failure_text({"msg": "template error"}).startswith(FRENCH["inconnu"])
    screen = "Écran « Modifier un service » non conforme — attendu : champ « Type de SSO »"
    assert failure_text({"code": "ecran_non_conforme", "msg": screen}) == screen


def test_every_error_code_has_its_french_text():
    import inspect

    from ansible_collections.ent.pronote.plugins.module_utils import _cas, _errors, _kdecole

    classes = [obj for module in (_errors, _cas, _kdecole) for _, obj in inspect.getmembers(module, inspect.isclass)
               if issubclass(obj, _errors.EntPronoteError)]
    assert len(classes) > 10
    for cls in classes:
        assert cls.code in _errors.FRENCH, cls
    for code in ("bibliotheque_absente", "connexion_echouee", "inconnu"):
        assert code in _errors.FRENCH


def test_a_diagnosis_never_counts_an_etablissement_with_an_error_as_ok():
    from ansible_collections.ent.pronote.plugins.action.run_summary import render, summarise

    error = {"code": "identifiant_cas_change", "severity": "erreur"}
    warning = {"code": "eleves_sortis", "severity": "avertissement"}
    hosts = [{"uai": u, "project": "P", "name": "", "failure": None, "steps": {"diagnose": "ok"}, "findings": f}
             for u, f in (("0671234C", [error, warning]), ("0671235D", [warning]), ("0671236E", []))]
    summary = summarise(hosts)
    assert summary["counts"]["ok"] == 3 and summary["ok_with_errors"] == 1
    assert render(summary, "diagnostic")[0] == "Diagnostic PRONOTE : 3 établissement(s) — 1 avec erreur(s), 2 OK"
    # a rentrée's statuses are those of its steps
    assert render(summary, "rentree")[0] == "Rentrée PRONOTE : 3 établissement(s) — 3 inchangés"
