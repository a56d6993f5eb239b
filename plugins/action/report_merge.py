"""Action plugin of ent.pronote.report_merge (documentation in plugins/modules/)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ansible.utils.display import Display

from ansible_collections.ent.pronote.plugins.action.run_summary import render, summarise
from ansible_collections.ent.pronote.plugins.module_utils import _records, _report
from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError
from ansible_collections.ent.pronote.plugins.module_utils._specs import REPORT_MERGE
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


def _plain(value: Any) -> Any:
    """Ansible's tagged or lazy containers as plain dicts and lists (the merge checks types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def artifacts_of(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The records documents among ``variables``: each ``ent_pronote_records_<run id>`` (what AWX hands a
    workflow node from the slices' ``set_stats``, as extra vars)."""
    return {k: variables[k] for k in sorted(variables) if isinstance(k, str) and k.startswith(_records.STATS_PREFIX)}


class ActionModule(EntAction):
    ARGUMENT_SPEC = REPORT_MERGE
    _supports_check_mode = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        kind, report_dir = params["kind"], params["report_dir"]
        runs = set(params["runs"]) if params.get("runs") else None
        given = params.get("artifacts")
        artifacts = artifacts_of(given if given is not None else task_vars)
        source = params["source"]
        if source == "auto":
            source = "artifacts" if artifacts else "files"
        documents: list[tuple[str, Any, str | None]] = []
        if source == "artifacts":
            for key, value in artifacts.items():
                if runs is None or key[len(_records.STATS_PREFIX):] in runs:
                    documents.append((f"set_stats {key}", _plain(value), None))
        else:
            for path in _records.record_files(report_dir, kind, runs):
                content, why_not = _records.load_file(path)
                documents.append((path, content, why_not))
        if not documents:
            where = ("les variables ent_pronote_records_* (artefacts des tranches)" if source == "artifacts"
                     else f"{report_dir}/{_records.RECORDS_DIR}/{kind}-*.json")
            picked = f" des exécutions {', '.join(sorted(runs))}" if runs else ""
            raise EntPronoteError(f"Aucun enregistrement{picked} trouvé dans {where} : rien à fusionner.")
        merged = _records.merge(documents, kind=kind)
        records = merged.records
        if params.get("hosts"):
            wanted = set(params["hosts"])
            records = [r for r in records if r["uai"] in wanted]
        if not records:
            raise EntPronoteError("Aucun enregistrement valide à fusionner : " + " ".join(merged.warnings))
        now = dt.datetime.now(dt.timezone.utc).astimezone()
        data = _report.build(records, kind=kind, generated_at=now)
        data["runs"] = [{"run_id": s.run_id, "generated_at": s.generated_at, "scope": s.scope,
                         "etablissements": len(s.taken)} for s in merged.sources if s.taken]
        summary = summarise([{"uai": r["uai"], "name": r["name"], "project": r["project"], "status": r["status"],
                              "failure": r["failure"], "steps": r["steps"], "missing": r["missing_files"],
                              "not_done": r["not_done"], "identifiers": r["identifiers"], "sign_on": r["sign_on"],
                              "findings": r["findings"]} for r in records])
        msg = render(summary, kind)
        taken = [s for s in merged.sources if s.taken]
        msg.insert(1, f"  Rapport fusionné : {len(records)} établissement(s), de {len(taken)} exécution(s) "
                      f"sur {len(documents)} document(s) d'enregistrements ({'artefacts' if source == 'artifacts' else 'fichiers'}).")
        msg += [f"  ATTENTION {w}" for w in merged.warnings]
        result: dict[str, Any] = {"changed": False, "summary": summary,
                                  "sources": [s.as_result() for s in merged.sources]}
        result["report"] = _report.write(report_dir, data, basename=f"rapport-{kind}")
        msg.append(f"  Rapport : {result['report']['html']}")
        result["msg"] = msg
        if merged.warnings:
            result["warnings"] = list(merged.warnings)  # shown by Ansible as [WARNING], kept in the result
        Display().display("\n".join(msg))
        return result
