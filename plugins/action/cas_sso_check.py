"""Action plugin of ent.pronote.cas_sso_check (documentation in plugins/modules/)."""
from __future__ import annotations

from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai
from ansible_collections.ent.pronote.plugins.module_utils._specs import CAS_SSO_CHECK
from ansible_collections.ent.pronote.plugins.module_utils._sso import accounts_from, check_etablissement
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


class ActionModule(EntAction):
    ARGUMENT_SPEC = CAS_SSO_CHECK

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        accounts = accounts_from(params["accounts"])
        base = params.get("url") or base_url(uai, params.get("pronote_root"))
        result: dict[str, Any] = {"changed": False, "uai": uai, "url": base}
        if self.check_mode:
            # Signing in stores the Identifiant CAS at a first sign-on: not in check mode.
            result.update(skipped=True, msg="cas_sso_check signs in for real: skipped in check mode.")
            return result
        info, checks = check_etablissement(self.http(params), base, params["cas_url"], accounts,
                                           cas_selection=params.get("cas_selection") or None)
        failed = [c for c in checks if not c.ok]
        result.update(checks=[c.as_result() for c in checks], ok=len(checks) - len(failed), failed=len(failed))
        if info is not None:
            result["version"] = ".".join(str(n) for n in info.version)
        if failed:
            result["msg"] = f"Sign-on failed for {uai}: " + "; ".join(
                f"{c.profile} ({c.espace}): {c.code} – {c.cause}" + (f" [{c.detail}]" if c.detail else "")
                for c in failed)
            result["failed"] = params["fail_on_error"]
            result["error_code"] = "connexion_echouee"
        return result
