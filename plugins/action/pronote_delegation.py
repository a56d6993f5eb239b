"""Action plugin of ent.pronote.pronote_delegation (documentation in plugins/modules/)."""
from __future__ import annotations

from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._delegation import DelegationHandler
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure, retrying
from ansible_collections.ent.pronote.plugins.module_utils._marks import unpublished_mark
from ansible_collections.ent.pronote.plugins.module_utils._pronote import HostingConsole, HostingSettings
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai
from ansible_collections.ent.pronote.plugins.module_utils._specs import PRONOTE_DELEGATION
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


class ActionModule(EntAction):
    ARGUMENT_SPEC = PRONOTE_DELEGATION

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        if not params.get("client_cert"):
            return {"changed": False, "skipped": True, "uai": uai,
                    "msg": f"No client certificate for the hosting console: the CAS delegation of {uai} was not "
                           "checked. Give client_cert (pronote_hosting_cert in the inventory).",
                    "not_done": "délégation PRONOTE.net non vérifiée : pas de certificat client pour la console "
                                "d'hébergement (pronote_hosting_cert)"}
        http = self.http(params, client_cert=params["client_cert"], client_key=params.get("client_key"))
        console = HostingConsole(HostingSettings(params["hosting_url"], http))
        handler = DelegationHandler(console, uai, params, unpublished_mark(params["hosting_url"], uai))
        republished = False
        with self.locked(params["hosting_url"], uai, params, "change the PRONOTE.net base"):
            if not self.check_mode:
                republished = retrying(handler.recover, params["retries"] + 1)
            outcome = ensure(handler, self.check_mode, attempts=params["retries"] + 1)
        before, after = outcome.before.as_result(), outcome.after.as_result()
        result: dict[str, Any] = {"changed": outcome.changed or republished, "uai": uai, "base": after}
        if republished:
            result["republished"] = True
            result["warnings"] = [f"{uai}: an earlier run was stopped while the PRONOTE.net base was unpublished "
                                  "to change its settings; it was published again first."]
        if outcome.retried:
            result["retries"] = len(outcome.retried)
        result.update(self.diff(before, after, f"PRONOTE.net base of {uai}"))
        return result
