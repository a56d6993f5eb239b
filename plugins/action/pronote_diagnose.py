"""Action plugin of ent.pronote.pronote_diagnose (documentation in plugins/modules/)."""
from __future__ import annotations

import os
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _diagnose as diag
from ansible_collections.ent.pronote.plugins.module_utils._errors import NotFoundError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._import import ImportHandler, import_mode, read_manual_matches
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import read_bounded, read_identifiers
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import KdecoleConsole
from ansible_collections.ent.pronote.plugins.module_utils._locks import work_lock
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    HostingConsole,
    HostingSettings,
    base_url,
    fetch_info,
)
from ansible_collections.ent.pronote.plugins.module_utils._report import write_detail
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai, pick_service
from ansible_collections.ent.pronote.plugins.module_utils._specs import PRONOTE_DIAGNOSE
from ansible_collections.ent.pronote.plugins.module_utils._sso import accounts_from, check_etablissement
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction

NO_CERTIFICATE = ("console d'hébergement non lue (pas de certificat client, pronote_hosting_cert) : délégation "
                  "vérifiée par infoMobileApp.json seulement, racine non vérifiée")
NO_ACCOUNTS = "connexion non testée : pas de compte de test (pronote_sso_test_accounts)"
CHECK_MODE_SIGN_ON = "connexion non testée en mode --check (une connexion enregistre l'identifiant CAS)"


class ActionModule(EntAction):
    ARGUMENT_SPEC = PRONOTE_DIAGNOSE
    _supports_check_mode = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        # A diagnosis reads what a run may be changing: it waits for that run, so that it never
        # reports the half-made state of another run (a service being created, an import in progress).
        with work_lock(params["console_url"], uai, params["lock_timeout"], what="diagnose"):
            return self._diagnose(params, uai)

    def _diagnose(self, params: dict[str, Any], uai: str) -> dict[str, Any]:
        accounts = accounts_from(params["accounts"])
        url = params.get("url") or base_url(uai, params.get("pronote_root"))
        pronote_http = self.http(params, ca_path=params.get("pronote_ca_path") or params.get("ca_path"))
        not_done: list[str] = []

        # Step 1: what the base says publicly, and its settings in the hosting console.
        try:
            info = fetch_info(pronote_http, url)
        except NotFoundError:
            info = None
        settings = None
        if params.get("client_cert"):
            hosting_http = self.http(params, ca_path=params.get("pronote_ca_path") or params.get("ca_path"),
                                     client_cert=params["client_cert"], client_key=params.get("client_key"))
            settings = HostingConsole(HostingSettings(params["hosting_url"], hosting_http)).read(uai).settings
        else:
            not_done.append(NO_CERTIFICATE)
        espaces = diag.espaces_for(params["profiles"])
        findings = diag.check_base(uai, url, info, settings, params["cas_url"], espaces)

        # Step 3: the ENT service and its population rules.
        console = self.console(params)
        fields, rules = self._service(console, uai, params)
        findings += diag.check_service(uai, fields, rules, params["profiles"], url, info)

        # Steps 2 and 4: the latest identifiers file against the ENT's identifiers and directory.
        details: list[list[str]] = []
        src = params.get("identifiers_src")
        file = None
        if src and os.path.exists(src):
            try:
                content = read_bounded(src, params["max_file_size"])
                file = read_identifiers(content, max_bytes=params["max_file_size"], filename=src)
            except ValidationError as exc:
                not_done.append(f"identifiants non vérifiés : fichier d'identifiants illisible ({exc})")
        elif src:
            not_done.append(f"identifiants non vérifiés : fichier d'identifiants absent ({src})")
        else:
            not_done.append("identifiants non vérifiés : pas de fichier d'identifiants (identifiers_src)")
        if file is not None and file.uai != uai:
            findings.append(diag.finding("fichier_autre_etablissement", uai, path=src, other=file.uai))
        elif file is not None:
            manual = read_manual_matches(params["manual_matches"]) if params.get("manual_matches") else {}
            handler = ImportHandler(console, uai, file, content, os.path.basename(src), import_mode("auto", file),
                                    manual=manual, assisted=params["assisted"])
            current = handler.read().pairs
            if handler.match is None:  # a caller's bug, not bad input
                raise AssertionError("handler.match is not set")
            facts = diag.identifier_facts(file, handler.match, current)
            found = diag.check_identifiers(uai, facts, max_unrecognised_share=params["max_unrecognised_share"])
            findings += found
            details = diag.people_behind(uai, found, facts, file, current)

        # The sign-on sample, after the settings: a cause already found is not reported twice.
        sign_on = None
        if not accounts:
            not_done.append(NO_ACCOUNTS)
        elif self.check_mode:
            not_done.append(CHECK_MODE_SIGN_ON)
        else:
            checks = check_etablissement(pronote_http, url, params["cas_url"], accounts, info,
                                         params.get("cas_selection") or None)[1]
            findings += diag.check_sign_on(uai, checks, findings)
            sign_on = {"ok": sum(c.ok for c in checks), "failed": sum(not c.ok for c in checks)}

        findings = diag.sort_findings(findings)
        result: dict[str, Any] = {
            "changed": False, "uai": uai, "url": url,
            "findings": [f.as_result() for f in findings], "counts": diag.severity_counts(findings),
            "not_done": not_done,
        }
        if info is not None and info.version:
            result["pronote_version"] = ".".join(str(n) for n in info.version)
        if fields is not None:
            result["block_version"] = fields.get("block_version")
        if sign_on is not None:
            result["sign_on"] = sign_on
        if params.get("details_dir"):
            result["details"] = write_detail(params["details_dir"], uai, details, header=diag.DETAIL_HEADER)
        return result

    @staticmethod
    def _service(console: KdecoleConsole, uai: str, params: dict[str, Any]) -> tuple[dict | None, list]:
        row = pick_service(console.list_services(uai), uai, code=params.get("code"), label=params["label"],
                           purpose="diagnose")
        if row is None:
            return None, []
        return dict(console.read_service(uai, row.code).fields), console.read_access(uai, row.code).rules
