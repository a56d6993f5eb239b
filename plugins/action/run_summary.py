"""Action plugin of ent.pronote.run_summary (documentation in plugins/modules/)."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._specs import RUN_SUMMARY
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
    projects: dict[str, Counter[str]] = defaultdict(Counter)
    identifiers: Counter[str] = Counter()
    failures, missing, not_done = [], [], []
    sign_on: Counter[str] = Counter()
    for host in hosts:
        not_done += [{"uai": host["uai"], "name": host["name"], "reason": reason} for reason in host.get("not_done") or []]
        sign_on.update(host.get("sign_on") or {})
        identifiers.update(host.get("identifiers") or {})
        missing += [{"uai": host["uai"], "name": host["name"], "file": path} for path in host.get("missing") or []]
        status = host_status(host["failure"], host["steps"])
        totals[status] += 1
        projects[host["project"]][status] += 1
        if status == "failed":
            failure = host["failure"] or {}
            failures.append({"uai": host["uai"], "name": host["name"], "project": host["project"],
                             "step": failure.get("step", "?"), "msg": failure.get("msg", "")})
    return {"total": sum(totals.values()), "counts": {k: totals.get(k, 0) for k in STATUS_LABELS},
            "projects": {p: {k: c.get(k, 0) for k in STATUS_LABELS} for p, c in sorted(projects.items())},
            "failures": failures, "missing_files": missing, "not_done": not_done,
            "sign_on": {k: sign_on.get(k, 0) for k in ("ok", "failed")} if sign_on else {},
            "identifiers": {k: identifiers.get(k, 0) for k in IDENTIFIER_LABELS} if identifiers else {}}


def render(summary: dict[str, Any]) -> list[str]:
    """The summary as lines of French text for the ops team."""
    def counts(c: dict[str, int]) -> str:
        return ", ".join(f"{c[k]} {label}" for k, label in STATUS_LABELS.items() if c.get(k))

    lines = [f"Rentrée PRONOTE : {summary['total']} établissement(s) — {counts(summary['counts']) or 'aucun'}"]
    for project, c in summary["projects"].items():
        lines.append(f"  {project} : {sum(c.values())} établissement(s) — {counts(c)}")
    if summary.get("identifiers"):
        shown = ", ".join(f"{n} {IDENTIFIER_LABELS[k]}" for k, n in summary["identifiers"].items() if n)
        lines.append(f"  Identifiants PRONOTE : {shown or 'aucun'}")
    if summary.get("sign_on"):
        lines.append(f"  Connexions PRONOTE testées : {summary['sign_on']['ok']} réussie(s), "
                     f"{summary['sign_on']['failed']} en échec")
    for f in summary["failures"]:
        name = f" ({f['name']})" if f["name"] else ""
        lines.append(f"  ÉCHEC {f['uai']}{name} — étape « {f['step']} » : {f['msg']}")
    for m in summary.get("missing_files", []):
        name = f" ({m['name']})" if m["name"] else ""
        lines.append(f"  NON FAIT {m['uai']}{name} — fichier d'identifiants absent : {m['file']}")
    for m in summary.get("not_done", []):
        name = f" ({m['name']})" if m["name"] else ""
        lines.append(f"  NON FAIT {m['uai']}{name} — {m['reason']}")
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
            records.append({
                "uai": name,
                "project": hv.get("ent_project") or "?",
                "name": hv.get("etab_name") or "",
                "failure": hv.get(FAILURE_VAR),
                "steps": {var: step_status(hv.get(var)) for var in params["results"]},
                "missing": [r["missing_file"] for r in results if r.get("missing_file")],
                "not_done": [r["not_done"] for r in results if r.get("not_done")],
                "identifiers": next((r["counts"]["total"] for r in results
                                     if isinstance(r.get("counts"), dict) and "total" in r["counts"]), None),
                "sign_on": next(({"ok": r["ok"], "failed": len(r["checks"]) - r["ok"]} for r in results
                                 if isinstance(r.get("checks"), list) and isinstance(r.get("ok"), int)), None),
            })
        summary = summarise(records)
        # Shown without -v, as ansible.builtin.debug does.
        return {"changed": False, "failed": bool(summary["failures"]), "summary": summary, "msg": render(summary),
                "_ansible_verbose_always": True}
