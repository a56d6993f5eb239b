"""Base class of the collection's action plugins.

Every module of ``ent.pronote`` runs on the controller (DESIGN.md,
Performance): the documentation is in ``plugins/modules/<name>.py``, the code
in ``plugins/action/<name>.py``, which subclasses :class:`EntAction` and
implements :meth:`EntAction.execute`. The base validates the arguments
against the shared spec, honours check mode and ``--diff``, turns expected
failures into a plain ``failed`` result, and scrubs secrets from the result.
"""
from __future__ import annotations

import contextlib
import gc
import os
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError, ScreenMismatchError
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole
from ansible_collections.ent.pronote.plugins.module_utils._locks import work_lock
from ansible_collections.ent.pronote.plugins.module_utils._requirements import MISSING


#: options naming a file the module reads on the controller. A relative one is looked for as Ansible's own
#: modules look for ``src`` (``files/`` of the role, the role, ``files/`` beside the playbook, the playbook's
#: directory), then taken relative to the current directory as before. Files a module writes (``report``,
#: ``report_dir``, ``rapprochement``, ``details_dir``) stay relative to the current directory, as for
#: ``delegate_to: localhost`` tasks.
INPUT_FILES = ("src", "identifiers_src", "manual_matches", "ca_path", "pronote_ca_path", "client_cert", "client_key")


class EntAction(ActionBase):
    """Validate, run :meth:`execute`, report."""

    _supports_check_mode = True
    _supports_async = False

    #: the module's argument spec and its constraints (see ``_specs.py``)
    ARGUMENT_SPEC: dict[str, Any] = {}
    MUTUALLY_EXCLUSIVE: list[list[str]] | None = None
    REQUIRED_ONE_OF: list[list[str]] | None = None
    REQUIRED_IF: list | None = None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # This worker is a fork of the controller, made for this one task. The
        # objects it inherited are never garbage here; freezing them keeps the
        # collector from walking them, which would copy the controller's
        # memory page by page (copy-on-write) while an import builds its
        # thousands of objects. O(1): the lists are moved, not walked.
        gc.freeze()
        result = super().run(tmp, task_vars)
        if MISSING:
            # A library of requirements.txt is not installed beside this ansible-core: this task fails,
            # saying which, as Ansible's own modules do; the run goes on (see _requirements.py).
            result.update(failed=True, changed=False, msg=missing_required_lib(", ".join(sorted(MISSING))),
                          exception="\n".join(MISSING.values()), error_code="bibliotheque_absente")
            return result
        validation, params = self.validate_argument_spec(
            self.ARGUMENT_SPEC,
            mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
            required_one_of=self.REQUIRED_ONE_OF,
            required_if=self.REQUIRED_IF,
        )
        secrets = set(validation._no_log_values)
        for name in INPUT_FILES:
            if params.get(name) and self.ARGUMENT_SPEC.get(name, {}).get("type") == "path":
                found = self.input_file(params[name])
                if params[name] in secrets:
                    secrets.add(found)
                params[name] = found
        try:
            result.update(self.execute(params, task_vars or {}))
        except EntPronoteError as exc:
            result.update(failed=True, msg=str(exc), changed=False, error_code=exc.code)
            if isinstance(exc, ScreenMismatchError):
                # what differs, as data: a report can list it per screen
                result["screen_mismatch"] = exc.as_result()
        except ValueError as exc:
            # Options that passed type checks but make no sense together.
            raise AnsibleActionFail(str(exc)) from None
        return remove_values(result, secrets) if secrets else result

    def input_file(self, path: str) -> str:
        """Where a relative input file is: beside the role or the playbook, else in the current directory."""
        if os.path.isabs(path):
            return path
        try:
            return self._find_needle("files", path)
        except AnsibleError:
            return path  # the module says the file is missing, naming it

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @property
    def want_diff(self) -> bool:
        return bool(self._task.diff)

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def console(params: dict[str, Any]) -> KdecoleConsole:
        """The console client for the connection options of ``params``."""
        http = EntAction.http(params)
        return KdecoleConsole(ConsoleSettings(
            console_url=params["console_url"], login=params["admin_login"], password=params["admin_password"],
            http=http, session_cache=params["session_cache"], cas_selection=params.get("cas_selection") or None,
        ))

    @staticmethod
    def http(params: dict[str, Any], **overrides: Any) -> HttpSettings:
        """TLS and time limits of the connection options of ``params``."""
        values = {"validate_certs": params["validate_certs"], "ca_path": params.get("ca_path"),
                  "timeout": params["timeout"], "retries": params["retries"],
                  "retry_time": params["retry_time"]}
        values.update(overrides)
        return HttpSettings(**values)

    def locked(self, system_url: str, uai: str, params: dict[str, Any], what: str) -> Any:
        """The établissement's lock on ``system_url`` around a read-compare-change cycle (``_locks``).

        Check mode changes nothing and takes no lock: a dry run never waits for a real one.
        """
        if self.check_mode:
            return contextlib.nullcontext(0.0)
        return work_lock(system_url, uai, params["lock_timeout"], what=what)

    def diff(self, before: Any, after: Any, name: str) -> dict[str, Any]:
        """``diff`` result key when ``--diff`` is on."""
        if not self.want_diff:
            return {}
        return {"diff": {"before": before if before is not None else {}, "after": after if after is not None else {},
                         "before_header": f"{name} (before)", "after_header": f"{name} (after)"}}
