"""Action plugin of ent.pronote.ent_identifiers_import (documentation in plugins/modules/)."""
from __future__ import annotations

import os
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _import as imp
from ansible_collections.ent.pronote.plugins.module_utils._diagnose import removal_findings
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai
from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_IDENTIFIERS_IMPORT
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


class ActionModule(EntAction):
    ARGUMENT_SPEC = ENT_IDENTIFIERS_IMPORT

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        src = params["src"]
        if params["skip_missing"] and not os.path.exists(src):
            return {"changed": False, "skipped": True, "uai": uai, "missing_file": src,
                    "msg": f"No identifiers file for {uai}: {src} does not exist. Export it from PRONOTE "
                           "(Imports/Exports > Socles ENT > Exportation des identifiants PRONOTE)."}
        # Everything local is checked before the ENT is touched: a bad file imports nothing.
        with self.locked(params["console_url"], uai, params, "import the identifiers"):
            result, before, after = imp.run_import(
                self.console(params), uai, params, self.check_mode,
                imp.VerdictCache(params["console_url"], uai) if params["reuse_verdict"] else None)
        result.update(self.diff(before, after, f"identifiers of {uai}"))
        removals = removal_findings(uai, result)
        if removals:
            result["findings"] = [f.as_result() for f in removals]
            if removals[0].severity == "avertissement":
                result.setdefault("warnings", []).append(f"{uai}: {removals[0].message}")
        return result
