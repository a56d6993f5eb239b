"""Action plugin of ent.pronote.ent_service (documentation in plugins/modules/)."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ent.pronote.plugins.action.ent_service_access import AccessHandler, access_result
from ansible_collections.ent.pronote.plugins.module_utils import _service as svc
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url, fetch_info
from ansible_collections.ent.pronote.plugins.module_utils._errors import NotFoundError, TransientError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import KdecoleConsole, ServicePage, ServiceRow
from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_SERVICE
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction


#: the plan's key for the exact copies of the service to remove
DUPLICATES = "_duplicates"


def _natural(code: str) -> tuple:
    """``USER_9`` before ``USER_10``: the console numbers the services it creates."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", code))


@dataclass
class ServiceState:
    """The PRONOTE service of one établissement as the console shows it."""

    row: ServiceRow | None = None
    page: ServicePage | None = None
    #: exact copies of the service (same settings as asked) that two runs racing to create it left
    duplicates: list[ServiceRow] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.page is not None

    @property
    def fields(self) -> dict[str, Any] | None:
        return dict(self.page.fields) if self.page else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServiceState) and self._key() == other._key()

    def _key(self) -> tuple:
        return self.page and self.page.code, self.fields, [r.code for r in self.duplicates]


class ServiceHandler:
    """Read, plan and apply the PRONOTE service of one établissement."""

    def __init__(self, console: KdecoleConsole, uai: str, params: dict[str, Any]) -> None:
        self.console = console
        self.uai = uai
        self.present = params["state"] == "present"
        self.code = params.get("code")
        self.label = params["label"]
        self.desired = svc.desired_fields(params, uai) if self.present else {}

    def read(self) -> ServiceState:
        rows = self.console.list_services(self.uai)
        try:
            row = svc.pick_service(rows, self.uai, code=self.code, label=self.label, purpose="manage")
        except ValidationError:
            duplicates = self._race_copies(rows)
            if not duplicates:
                raise
            return duplicates
        if row is None and self.code and self.present:
            raise NotFoundError(f"Service '{self.code}' does not exist in the ENT for {self.uai}.")
        if row is None:
            return ServiceState()
        if row.internal:
            raise ValidationError(f"Service '{row.code}' of {self.uai} is an internal service of the ENT.")
        return ServiceState(row, self._read_listed(row))

    def _read_listed(self, row: ServiceRow) -> ServicePage:
        """The page of a service the list just showed; gone meanwhile means another run removed it: read again."""
        try:
            return self.console.read_service(self.uai, row.code)
        except NotFoundError:
            raise TransientError(f"Service {row.code} of {self.uai} was removed while it was being read "
                                 "(another run?): reading the services again.") from None

    def _race_copies(self, rows: list[ServiceRow]) -> ServiceState | None:
        """Several services look like PRONOTE: when all are exact copies of the one asked for (same label,
        same settings), two runs on different controllers raced to create it. Keep the first, and plan to
        remove the others. Anything else (a service made by hand, other settings) stays refused."""
        if self.code or not self.present:
            return None
        # The oldest kept, whatever order a list shows them in: every racing run keeps the same one.
        candidates = sorted(svc.find_pronote_service(rows, self.label)[1], key=lambda row: _natural(row.code))
        pages = [self._read_listed(row) for row in candidates]
        if len(pages) < 2 or any(svc.changes(page.fields, self.desired) for page in pages):
            return None
        return ServiceState(candidates[0], pages[0], candidates[1:])

    def plan(self, before: ServiceState) -> dict[str, Any] | str | None:
        if not self.present:
            return "delete" if before.exists else None
        plan = svc.changes(before.fields, self.desired)
        if before.duplicates:
            plan[DUPLICATES] = [row.code for row in before.duplicates]
        return plan or None

    def predict(self, before: ServiceState, plan: Any) -> dict[str, Any] | None:
        if not self.present:
            return None
        return {**(before.fields or {}), **{k: v for k, v in plan.items() if k != DUPLICATES}}

    def apply(self, before: ServiceState, plan: Any) -> ServiceState:
        if not self.present:
            self.console.delete_service(self.uai, before.row)
            return ServiceState()
        for row in before.duplicates:
            with contextlib.suppress(NotFoundError):  # the other run removed it too
                self.console.delete_service(self.uai, row)
        fields = {k: v for k, v in plan.items() if k != DUPLICATES}
        if before.exists:
            page = self.console.update_service(before.page, fields) if fields else before.page
            return ServiceState(before.row, page)
        created = ServiceState(None, self.console.create_service(self.uai, fields))
        # Read again after creating: another controller's run may have created its copy meanwhile (the lock
        # covers the runs of one controller only). Two exact copies are repaired by the next cycle.
        again = self.read()
        if again.duplicates:
            raise TransientError(f"Another run created a PRONOTE service for {self.uai} at the same time "
                                 f"({', '.join(r.code for r in [again.row, *again.duplicates])}): keeping one.")
        return created


class ActionModule(EntAction):
    ARGUMENT_SPEC = ENT_SERVICE

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = svc.normalise_uai(params["uai"])
        pronote: dict[str, Any] = {}
        if params["state"] == "present":
            # The service's URL: the one given, or the base's address (under pronote_root, if given).
            params = {**params, "url": (params.get("url") or base_url(uai, params.get("pronote_root"))).strip()}
        if params["state"] == "present" and str(params.get("block_version") or "").lower() == "auto":
            params, pronote = self._version_from_pronote(params, uai)
        handler = ServiceHandler(self.console(params), uai, params)
        if handler.present and not params["allow_unsafe"]:
            problems = svc.unsafe_settings(handler.desired)
            if problems:
                return {"failed": True, "changed": False,
                        "msg": f"Refused for {uai}: " + "; ".join(problems)
                        + ". Set allow_unsafe: true if this is really wanted."}
        with self.locked(params["console_url"], uai, params, "change the PRONOTE service"):
            return self._ensure(handler, params, uai, pronote)

    def _ensure(self, handler: ServiceHandler, params: dict[str, Any], uai: str,
                pronote: dict[str, Any]) -> dict[str, Any]:
        """The service, then its population access, in one lock."""
        outcome = ensure(handler, self.check_mode, attempts=params["retries"] + 1)
        before, after = outcome.before, outcome.after
        after_fields = after.fields if isinstance(after, ServiceState) else after  # check mode: predicted
        shown = after if isinstance(after, ServiceState) and after.exists else before
        code = shown.page.code if shown.page and after_fields is not None else None
        result: dict[str, Any] = {"changed": outcome.changed, "uai": uai, "code": code, "service": after_fields,
                                  **pronote}
        if handler.present and handler.desired["block_version"] is None and not before.exists:
            version = (after_fields or {}).get("block_version") or "its default"
            result.setdefault("warnings", []).append(
                f"block_version not set for {uai}: the console kept « Version » '{version}'. "
                "It must match the PRONOTE server's version.")
        if outcome.retried:
            result["retries"] = len(outcome.retried)
        removed = outcome.plan.get(DUPLICATES) if isinstance(outcome.plan, dict) else None
        if removed and not self.check_mode:
            result["duplicates_removed"] = removed
            result.setdefault("warnings", []).append(
                f"{uai}: removed {len(removed)} exact copies of the PRONOTE service ({', '.join(removed)}) that two "
                "runs started at the same time had created; kept " + str(code) + ".")
        diff_before, diff_after = before.fields, after_fields
        if params.get("access") and handler.present:
            # The population rules in the same task: one task per établissement instead of two.
            access_params = {**params["access"], "code": code, "label": params["label"]}
            access = access_result(ensure(AccessHandler(handler.console, uai, access_params, self.check_mode),
                                          self.check_mode, attempts=params["retries"] + 1))
            result["changed"] = result["changed"] or access["changed"]
            diff_before = {"service": before.fields or {}, "access": access.pop("_before")}
            diff_after = {"service": after_fields or {}, "access": access["rules"]}
            result["access"] = access
        result.update(self.diff(diff_before, diff_after, f"PRONOTE service of {uai}"))
        return result

    def _version_from_pronote(self, params: dict[str, Any], uai: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``block_version: auto``: the version the PRONOTE.net server says (infoMobileApp.json)."""
        url = params["url"]
        http = self.http(params, ca_path=params.get("pronote_ca_path") or params.get("ca_path"))
        try:
            info = fetch_info(http, url, params["retries"] + 1)
            if not info.published or not info.block_version:
                raise ValidationError(f"block_version auto: the PRONOTE.net base of {uai} ({url}) is not "
                                      "published, so it does not say its version. Publish it, or give block_version.")
        except (NotFoundError, ValidationError) as exc:
            if not self.check_mode:
                raise
            # In check mode step 1 (the delegation, which publishes the base at racine "Pronote") was only
            # predicted: the version is read for real by the real run.
            return {**params, "block_version": None}, {"warnings": [
                f"{exc} In check mode the « Version » is left as it is."]}
        version = ".".join(str(n) for n in info.version)
        return {**params, "block_version": info.block_version}, {"pronote_version": version}
