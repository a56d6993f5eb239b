"""Action plugin of ent.pronote.ent_service_access (documentation in plugins/modules/)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _access as acc
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
from ansible_collections.ent.pronote.plugins.module_utils._errors import NotFoundError
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import AccessPage, KdecoleConsole
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai, pick_service
from ansible_collections.ent.pronote.plugins.module_utils._specs import (
    ENT_SERVICE_ACCESS,
    ENT_SERVICE_ACCESS_REQUIRED_ONE_OF,
)
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


@dataclass
class AccessState:
    code: str | None = None
    page: AccessPage | None = None
    rules: list[acc.Rule] = field(default_factory=list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccessState) and (self.code, sorted(self.rules)) == (other.code, sorted(other.rules))


class AccessHandler:
    """Read, plan and apply the population rules of the PRONOTE service."""

    def __init__(self, console: KdecoleConsole, uai: str, params: dict[str, Any], check_mode: bool) -> None:
        self.console = console
        self.uai = uai
        self.code = params.get("code")
        self.label = params["label"]
        self.exclusive = params["exclusive"]
        self.check_mode = check_mode
        self.desired = acc.desired_rules(params.get("profiles"), params.get("rules"))

    def _service_code(self) -> str | None:
        if self.code:
            return self.code
        row = pick_service(self.console.list_services(self.uai), self.uai, code=None, label=self.label,
                           purpose="give access to")
        return row.code if row else None

    def read(self) -> AccessState:
        code = self._service_code()
        if code is None:
            if self.check_mode:
                # The service would be created by an earlier task of the same run.
                return AccessState()
            raise NotFoundError(f"The PRONOTE service of {self.uai} does not exist in the ENT: "
                                "declare it first with ent.pronote.ent_service.")
        page = self.console.read_access(self.uai, code)
        return AccessState(code, page, page.rules)

    def plan(self, before: AccessState) -> tuple[list[acc.Rule], list[acc.Rule]] | None:
        to_add, to_remove = acc.plan(before.rules, self.desired, self.exclusive)
        return (to_add, to_remove) if to_add or to_remove else None

    def predict(self, before: AccessState, plan: Any) -> AccessState:
        return AccessState(before.code, None, acc.after(before.rules, *plan))

    def apply(self, before: AccessState, plan: Any) -> AccessState:
        to_add, to_remove = plan
        for rule in to_remove:
            self.console.delete_rule(before.page, rule)
        for rule in to_add:
            self.console.add_rule(before.page, rule)
        page = self.console.read_access(self.uai, before.code)
        return AccessState(before.code, page, page.rules)


class ActionModule(EntAction):
    ARGUMENT_SPEC = ENT_SERVICE_ACCESS
    REQUIRED_ONE_OF = ENT_SERVICE_ACCESS_REQUIRED_ONE_OF

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        handler = AccessHandler(self.console(params), uai, params, self.check_mode)
        with self.locked(params["console_url"], uai, params, "change the population access"):
            outcome = ensure(handler, self.check_mode, attempts=params["retries"] + 1)
        result = {"uai": uai, **access_result(outcome)}
        result.update(self.diff({"rules": result.pop("_before")}, {"rules": result["rules"]},
                                f"population access of {uai}"))
        return result


def access_result(outcome: Any) -> dict[str, Any]:
    """The result keys of an access outcome (``_before``: the rules before, for the diff)."""
    to_add, to_remove = outcome.plan or ([], [])
    result: dict[str, Any] = {
        "changed": outcome.changed, "code": outcome.after.code or outcome.before.code,
        "rules": [r.as_dict() for r in outcome.after.rules], "added": len(to_add), "removed": len(to_remove),
        "_before": [r.as_dict() for r in outcome.before.rules],
    }
    if outcome.retried:
        result["retries"] = len(outcome.retried)
    return result
