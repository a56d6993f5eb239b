"""Action plugin of ent.pronote.ent_identifiers_import (documentation in plugins/modules/)."""
from __future__ import annotations

import os
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _import as imp
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import read_identifiers
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai
from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_IDENTIFIERS_IMPORT
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


class ActionModule(EntAction):
    ARGUMENT_SPEC = ENT_IDENTIFIERS_IMPORT

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        share = params["max_removed_share"]
        if not 0.0 <= share <= 1.0:
            raise ValidationError(f"max_removed_share must be between 0 and 1, got {share}.")
        # Everything local is checked before the ENT is touched: a bad file imports nothing.
        src = params["src"]
        if params["skip_missing"] and not os.path.exists(src):
            return {"changed": False, "skipped": True, "uai": uai, "missing_file": src,
                    "msg": f"No identifiers file for {uai}: {src} does not exist. Export it from PRONOTE "
                           "(Imports/Exports > Socles ENT > Exportation des identifiants PRONOTE)."}
        identifiers = read_identifiers(src, max_bytes=params["max_file_size"])
        with open(src, "rb") as handle:
            content = handle.read()
        if identifiers.uai != uai:
            raise ValidationError(f"Refused: the file {src} is the export of établissement {identifiers.uai}, "
                                  f"not of {uai}.")
        manual = imp.read_manual_matches(params["manual_matches"]) if params.get("manual_matches") else {}
        mode = imp.import_mode(params["mode"], identifiers)

        handler = imp.ImportHandler(
            self.console(params), uai, identifiers, content, os.path.basename(src), mode, manual=manual,
            assisted=params["assisted"], max_removed_share=share, force=params["force"])
        outcome = ensure(handler, self.check_mode, attempts=params["retries"] + 1)
        plan = outcome.plan
        result: dict[str, Any] = {
            "changed": outcome.changed, "uai": uai, "mode": mode, "uploaded": handler.uploaded,
            "people": len(identifiers.people), "counts": imp.counts(handler.match),
            "identifiers": {
                "before": len(outcome.before.pairs), "after": len(outcome.after.pairs),
                "added": plan.added if plan else 0, "replaced": plan.replaced if plan else 0,
                "removed": plan.removed if plan else 0,
            },
        }
        if plan and not self.check_mode and outcome.after.pairs != plan.final:
            differ = len(set(outcome.after.pairs.items()) ^ set(plan.final.items()))
            result["warnings"] = [f"After the import the ENT holds {differ} pair(s) other than the ones validated "
                                  f"for {uai}: rerun, and read the report if it persists."]
        if params.get("report"):
            result["report"] = params["report"]
            result["manual_matches_template"] = imp.write_report(
                params["report"], uai, identifiers, handler.match, handler.accounts)
        if outcome.retried:
            result["retries"] = len(outcome.retried)
        result.update(self.diff(_by_profile(outcome.before.pairs, handler), _by_profile(outcome.after.pairs, handler),
                                f"identifiers of {uai}"))
        return result


def _by_profile(pairs: dict[str, str], handler: imp.ImportHandler) -> dict[str, int]:
    """Counts of identifiers per ENT profile: a diff without names."""
    profiles = {a.login.casefold(): a.profile for a in handler.accounts}
    out: dict[str, int] = {}
    for login in pairs.values():
        profile = profiles.get(login.casefold(), "autre")
        out[profile] = out.get(profile, 0) + 1
    return dict(sorted(out.items()))
