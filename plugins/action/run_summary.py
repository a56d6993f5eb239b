"""Action plugin of ent.pronote.run_summary (documentation in plugins/modules/)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from ansible.utils.display import Display

from ansible_collections.ent.pronote.plugins.module_utils import _records, _report
from ansible_collections.ent.pronote.plugins.module_utils._diagnose import SEVERITIES, check_sign_on
from ansible_collections.ent.pronote.plugins.module_utils._errors import french
from ansible_collections.ent.pronote.plugins.module_utils._specs import RUN_SUMMARY
from ansible_collections.ent.pronote.plugins.module_utils._sso import Check
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction

FAILURE_VAR = "ent_pronote_failure"
#: status -> French label, in display order
STATUS_LABELS = {"failed": "en échec", "changed": "modifiés", "ok": "inchangés", "not_run": "non traités"}
#: outcome of the identifiers import -> French label, in display order
IDENTIFIER_LABELS = {
    "ent": "reconnus par l'ENT", "assisted": "rapprochés par l'assistant", "kept": "déjà liés",
    "manual": "rapprochés à la main", "unmatched": "sans compte ENT", "ambiguous": "ambigus",
    "skipped": "écartés (sortis, doublons)",
}
#: why a pair the ENT held is one the rules would not make -> French label (as _matching.WITHDRAWN)
WITHDRAWN_LABELS = {"left": "élèves sortis", "duplicate": "doublons", "ambiguous": "ambiguës à confirmer",
                    "no_paired_child": "parents sans enfant rapproché"}
TITLES = {"rentree": "Rentrée PRONOTE", "diagnostic": "Diagnostic PRONOTE",
          "preflight": "Vérification préalable des écrans"}
#: more établissements than this with the same step not done, for the same reason, make one line
GROUPED_FROM = 3


def step_key(variable: str) -> str:
    """The step a result variable belongs to: ``ent_pronote_service_result`` -> ``service``."""
    key = variable.removeprefix("ent_pronote_").removesuffix("_result")
    return key or variable


def findings_of(uai: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings of one établissement: the diagnosis's, and the sign-on checks that failed."""
    out: list[dict[str, Any]] = []
    for result in results:
        if isinstance(result.get("findings"), list):
            out += [f for f in result["findings"] if isinstance(f, dict)]
        elif isinstance(result.get("checks"), list):
            checks = [Check(**c) for c in result["checks"] if isinstance(c, dict)]
            out += [f.as_result() for f in check_sign_on(uai, checks, [])]
    return out


def failure_text(failure: dict[str, Any]) -> str:
    """What a failure means, in French from its stable code, then the module's own message (the details)."""
    msg = str(failure.get("msg") or "")
    code = failure.get("code")
    if code == "ecran_non_conforme":  # its message is French already, and says it all
        return msg
    return f"{french(code)} — {msg}" if msg else french(code)


def step_status(result: Any) -> str:
    """The status of one registered step result."""
    if not isinstance(result, dict):
        return "not_run"
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "skipped"
    return "changed" if result.get("changed") else "ok"


def host_status(failure: Any, steps: dict[str, str]) -> str:
    if failure or "failed" in steps.values():
        return "failed"
    if "changed" in steps.values():
        return "changed"
    if any(s in ("ok", "skipped") for s in steps.values()):
        return "ok"
    return "not_run"


def summarise(hosts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per status and per ENT project, and the failures, from per-host records.

    Each record: ``uai``, ``project``, ``name``, ``failure`` (dict or None),
    ``steps`` (step variable -> status), and optionally ``missing`` (files a
    step did not find) and ``identifiers`` (the import's total counts).
    """
    totals: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    with_findings = []
    projects: dict[str, Counter[str]] = defaultdict(Counter)
    identifiers: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    pairs: dict[str, Counter[str]] = {"withdrawn": Counter(), "contested": Counter()}
    failures, missing, not_done = [], [], []
    sign_on: Counter[str] = Counter()
    ok_with_errors = 0
    for host in hosts:
        not_done += [{"uai": host["uai"], "name": host["name"], "reason": reason} for reason in host.get("not_done") or []]
        sign_on.update(host.get("sign_on") or {})
        identifiers.update(host.get("identifiers") or {})
        removed.update(host.get("removed") or {})
        for key, counter in pairs.items():
            counter.update(host.get(f"pairs_{key}") or {})
        missing += [{"uai": host["uai"], "name": host["name"], "file": path} for path in host.get("missing") or []]
        found = host.get("findings") or []
        severities.update(f.get("severity", "info") for f in found)
        if found:
            by_severity: dict[str, list[str]] = defaultdict(list)
            for f in found:
                if f["code"] not in by_severity[f.get("severity", "info")]:
                    by_severity[f.get("severity", "info")].append(f["code"])
            with_findings.append({"uai": host["uai"], "name": host["name"], "codes": dict(by_severity)})
        # a record given back (ent.pronote.report_merge) keeps the status its run gave it
        status = host.get("status") or host_status(host["failure"], host["steps"])
        if status == "ok" and any(f.get("severity") == "erreur" for f in found):
            ok_with_errors += 1
        totals[status] += 1
        projects[host["project"]][status] += 1
        if status == "failed":
            failure = host["failure"] or {}
            failures.append({"uai": host["uai"], "name": host["name"], "project": host["project"],
                             "step": failure.get("step", "?"), "code": failure.get("code") or "inconnu",
                             "msg": failure_text(failure)})
    return {"total": sum(totals.values()), "counts": {k: totals.get(k, 0) for k in STATUS_LABELS},
            "projects": {p: {k: c.get(k, 0) for k in STATUS_LABELS} for p, c in sorted(projects.items())},
            "failures": failures, "missing_files": missing, "not_done": not_done,
            "findings": {k: severities.get(k, 0) for k in SEVERITIES} if with_findings else {},
            "with_findings": with_findings,
            # « OK » (the steps ran) but with a finding of severity « erreur »: not to be read as "all good"
            "ok_with_errors": ok_with_errors,
            "sign_on": {k: sign_on.get(k, 0) for k in ("ok", "failed")} if sign_on else {},
            "identifiers": {k: identifiers.get(k, 0) for k in IDENTIFIER_LABELS} if identifiers else {},
            # every identifier removed by the imports, per ENT profile (issue 13: never silent)
            "identifiers_removed": dict(sorted((k, n) for k, n in removed.items() if n)),
            **{f"pairs_{key}": {k: c.get(k, 0) for k in WITHDRAWN_LABELS} if sum(c.values()) else {}
               for key, c in pairs.items()}}


def render(summary: dict[str, Any], kind: str = "rentree") -> list[str]:
    """The summary as lines of French text for the ops team."""
    # A diagnosis changes nothing: its établissements are « OK » (as in the report), not "unchanged".
    labels = {**STATUS_LABELS, "ok": "OK"} if kind in ("diagnostic", "preflight") else STATUS_LABELS

    def counts(c: dict[str, int]) -> str:
        return ", ".join(f"{c[k]} {label}" for k, label in labels.items() if c.get(k))

    shown = dict(summary["counts"])
    if kind == "diagnostic" and summary.get("ok_with_errors"):
        # An établissement with an « Erreur » is not « OK » in any place a person reads (as in the report).
        labels = {"failed": labels["failed"], "errors": "avec erreur(s)", **labels}
        shown.update(ok=shown["ok"] - summary["ok_with_errors"], errors=summary["ok_with_errors"])
    lines = [f"{TITLES[kind]} : {summary['total']} établissement(s) — {counts(shown) or 'aucun'}"]
    for project, c in summary["projects"].items():
        lines.append(f"  {project} : {sum(c.values())} établissement(s) — {counts(c)}")
    if summary.get("identifiers"):
        shown = ", ".join(f"{n} {IDENTIFIER_LABELS[k]}" for k, n in summary["identifiers"].items() if n)
        lines.append(f"  Identifiants PRONOTE : {shown or 'aucun'}")
    if summary.get("identifiers_removed"):
        shown = ", ".join(f"{profile} : {n}" for profile, n in summary["identifiers_removed"].items())
        lines.append(f"  Identifiants retirés de l'ENT : {sum(summary['identifiers_removed'].values())} ({shown})")
    for key, title in (("pairs_withdrawn", "Paires retirées"),
                       ("pairs_contested", "Paires gardées (mode partiel) que les règles ne feraient pas")):
        if summary.get(key):
            shown = ", ".join(f"{n} {WITHDRAWN_LABELS[k]}" for k, n in summary[key].items() if n)
            lines.append(f"  {title} : {shown}")
    if summary.get("sign_on"):
        lines.append(f"  Connexions PRONOTE testées : {summary['sign_on']['ok']} réussie(s), "
                     f"{summary['sign_on']['failed']} en échec")
    if summary.get("findings"):
        shown = ", ".join(f"{n} {severity}(s)" for severity, n in summary["findings"].items() if n)
        lines.append(f"  Constats : {shown}, sur {len(summary['with_findings'])} établissement(s)")
    elif kind == "diagnostic" and summary["total"]:
        lines.append("  Constats : aucun")
    for f in summary["failures"]:
        name = f" ({f['name']})" if f["name"] else ""
        lines.append(f"  ÉCHEC {f['uai']}{name} — étape « {f['step']} » : {f['msg']}")
    for m in summary.get("missing_files", []):
        name = f" ({m['name']})" if m["name"] else ""
        lines.append(f"  NON FAIT {m['uai']}{name} — fichier d'identifiants absent : {m['file']}")
    by_reason: dict[str, list[dict[str, str]]] = defaultdict(list)
    for m in summary.get("not_done", []):
        by_reason[m["reason"]].append(m)
    for reason, hosts in by_reason.items():
        if len(hosts) > GROUPED_FROM:  # a whole region without a client certificate: one line, not hundreds
            lines.append(f"  NON FAIT pour {len(hosts)} établissements — {reason}")
            continue
        for m in hosts:
            name = f" ({m['name']})" if m["name"] else ""
            lines.append(f"  NON FAIT {m['uai']}{name} — {reason}")
    for m in summary.get("with_findings", []):
        name = f" ({m['name']})" if m["name"] else ""
        codes = " ; ".join(f"{severity} : {', '.join(found)}" for severity, found in m["codes"].items())
        lines.append(f"  CONSTATS {m['uai']}{name} — {codes}")
    return lines


class ActionModule(EntAction):
    ARGUMENT_SPEC = RUN_SUMMARY
    _supports_check_mode = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        hostvars = task_vars.get("hostvars", {})
        names = params.get("hosts") or list(task_vars.get("groups", {}).get("all", []))
        records = []
        for name in names:
            hv = hostvars[name] if name in hostvars else {}
            results = [r for r in (hv.get(var) for var in params["results"]) if isinstance(r, dict)]
            if results and all(r.get("not_selected") for r in results):
                continue  # left out on purpose (the preflight checks one établissement per ENT project)
            not_done = []
            for r in results:
                reasons = r.get("not_done") or []
                not_done += [reasons] if isinstance(reasons, str) else list(reasons)
            records.append({
                "uai": name,
                "project": hv.get("ent_project") or "?",
                "name": hv.get("etab_name") or "",
                "failure": hv.get(FAILURE_VAR),
                "steps": {step_key(var): step_status(hv.get(var)) for var in params["results"]},
                "missing": [r["missing_file"] for r in results if r.get("missing_file")],
                "not_done": not_done,
                "identifiers": next((r["counts"]["total"] for r in results
                                     if isinstance(r.get("counts"), dict) and "total" in r["counts"]), None),
                **{key: next((r[key] for r in results if isinstance(r.get(key), dict)), None)
                   for key in ("pairs_withdrawn", "pairs_contested")},
                "removed": next((r["removed_by_profile"] for r in results
                                 if isinstance(r.get("removed_by_profile"), dict)), None),
                "sign_on": next((_sign_on(r) for r in results if _sign_on(r) is not None), None),
                "findings": findings_of(name, results),
            })
        summary = summarise(records)
        kind = params["kind"]
        now = dt.datetime.now(dt.timezone.utc).astimezone()
        # What part of the region this run covers: a slice's summary must not pass for the region's.
        # (the play's hosts, not the records: the preflight leaves hosts out on purpose)
        scope = _records.scope_of(list(names), list(task_vars.get("groups", {}).get("all", [])), task_vars)
        run_id = _records.new_run_id(now)
        result: dict[str, Any] = {"changed": False, "failed": bool(summary["failures"]) and params.get("fail_on_failures", True),
                                  "summary": summary, "msg": render(summary, kind), "run_id": run_id, "scope": scope}
        partial = _records.scope_text(scope)
        if partial:
            result["msg"].insert(1, f"  {partial}")
        if params.get("report_dir"):
            report_records = [_report_record(r) for r in records]
            document = _records.document(report_records, kind=kind, run_id=run_id, generated_at=now, scope=scope,
                                         check_mode=bool(getattr(getattr(self, "_task", None), "check_mode", False)))
            # for set_stats: each run its own key, as AWX merges the slices' artifacts key by key
            result.update(records_key=_records.stats_key(run_id), records=document)
            data = _report.build(report_records, kind=kind, generated_at=now)
            data["runs"] = [{"run_id": run_id, "generated_at": document["generated_at"], "scope": scope,
                             "etablissements": len(records)}]
            result["report"] = _report.write(params["report_dir"], data, basename=f"rapport-{kind}")
            result["report"]["records"] = _records.write_document(params["report_dir"], document)
            result["msg"].append(f"  Rapport : {result['report']['html']}")
        # The French lines are what the ops team reads at the end of the run; the summary's data (about a
        # hundred lines of YAML) stays in the registered result and the JSON report, not on the screen.
        Display().display("\n".join(result["msg"]))
        return result


def _sign_on(result: dict[str, Any]) -> dict[str, int] | None:
    """The sign-on counts of a result: cas_sso_check's checks, or the diagnosis's sample."""
    if isinstance(result.get("sign_on"), dict):
        return result["sign_on"]
    if isinstance(result.get("checks"), list) and isinstance(result.get("ok"), int):
        return {"ok": result["ok"], "failed": len(result["checks"]) - result["ok"]}
    return None


def _report_record(record: dict[str, Any]) -> dict[str, Any]:
    """A summary record as the report takes it (docs/report.md)."""
    failure = record["failure"] or None
    if failure:
        # The step's French title rather than the task's name, when the failed step is known.
        failed = next((_report.STEPS[k] for k, v in record["steps"].items() if v == "failed" and k in _report.STEPS),
                      None)
        failure = {**failure, "step": failed or failure.get("step", "?"), "msg": failure_text(failure)}
    return {
        "uai": record["uai"], "name": record["name"], "project": record["project"],
        "status": host_status(record["failure"], record["steps"]), "steps": record["steps"],
        "failure": failure, "identifiers": record["identifiers"], "sign_on": record["sign_on"],
        "not_done": record["not_done"], "missing_files": record["missing"], "findings": record["findings"],
    }
