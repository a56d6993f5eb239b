"""Action plugin of ent.pronote.pronote_info (documentation in plugins/modules/)."""
from __future__ import annotations

from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url, fetch_info
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai
from ansible_collections.ent.pronote.plugins.module_utils._specs import PRONOTE_INFO
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


class ActionModule(EntAction):
    ARGUMENT_SPEC = PRONOTE_INFO

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        url = params.get("url") or base_url(uai, params.get("pronote_root"))
        http = self.http(params)
        info = fetch_info(http, url)
        return {"changed": False, "uai": uai, **info.as_result()}
