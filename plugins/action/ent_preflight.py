"""Action plugin of ent.pronote.ent_preflight (documentation in plugins/modules/)."""
from __future__ import annotations

from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _preflight as pf
from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError
from ansible_collections.ent.pronote.plugins.module_utils._http import new_session
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import SCREENS as CONSOLE_SCREENS
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import KdecoleConsole
from ansible_collections.ent.pronote.plugins.module_utils._pronote import SCREENS as HOSTING_SCREENS
from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
    HostingConsole,
    HostingSettings,
    base_url,
    read_info,
)
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai, pick_service
from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_PREFLIGHT
from ansible_collections.ent.pronote.plugins.plugin_utils._action import EntAction

NOT_SELECTED = ("not the first établissement of its ENT project in this run: one per project is enough "
                "(scope=all checks every one)")


class ActionModule(EntAction):
    ARGUMENT_SPEC = ENT_PREFLIGHT
    _supports_check_mode = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        uai = normalise_uai(params["uai"])
        if params["scope"] == "first" and not self._first_of_project(task_vars):
            return {"changed": False, "skipped": True, "not_selected": True, "uai": uai, "msg": NOT_SELECTED}
        console = self.console(params)
        try:
            checks = self._console(console, uai, params)
        finally:
            console.close()
        checks += self._hosting(uai, params)
        checks += self._pronote_net(uai, params)
        failure = pf.failure_message(uai, checks)
        result: dict[str, Any] = {
            "changed": False, "uai": uai, "screens": [c.as_result() for c in checks],
            "counts": pf.summary(checks), "findings": [c.finding(uai) for c in checks],
        }
        if failure:
            result.update(failed=True, msg=failure, error_code="ecran_non_conforme")
        else:
            result["msg"] = f"{len(checks)} écran(s) de {uai} ouverts : aucun non conforme."
        return result

    def _first_of_project(self, task_vars: dict[str, Any]) -> bool:
        """Whether this host is the first, in the play, of the hosts of its ENT project."""
        me = task_vars.get("inventory_hostname")
        hostvars = task_vars.get("hostvars", {})

        def project(host: str) -> Any:
            hv = hostvars[host] if host in hostvars else {}
            return hv.get("ent_project") or hv.get("ent_console_url")

        mine = project(me)
        for host in task_vars.get("ansible_play_hosts_all") or [me]:
            if project(host) == mine:
                return host == me
        return True

    @staticmethod
    def _console(console: KdecoleConsole, uai: str, params: dict[str, Any]) -> list[pf.ScreenCheck]:
        screens = CONSOLE_SCREENS
        # The sign-in: the console sends the browser to its CAS, whose login form the client fills in.
        signed = pf.check(pf.CAS, pf.SIGN_IN,
                          lambda: console.get(console.base, f"sign in to the ENT console for {uai}"))
        if signed.status != "conforme":
            return [signed, *pf.not_checked(pf.CONSOLE, [s.title for s in screens.values()],
                                            "pas de connexion à la console (voir « CAS »)")]
        checks = [signed]
        # « Liste des établissements »: what the inventory plugin ent.pronote.etablissements reads
        checks.append(pf.check(pf.CONSOLE, screens["etablissements"].title, console.list_etablissements))
        rows: list[Any] = []

        def list_services() -> None:
            rows.extend(console.list_services(uai))

        listed = pf.check(pf.CONSOLE, screens["services"].title, list_services)
        checks.append(listed)
        service = None
        try:
            service = pick_service(rows, uai, code=params.get("code"), label=params["label"], purpose="check")
        except EntPronoteError:
            pass
        editable = service or next((r for r in rows if r.delete_form is not None), None)
        if service is not None:
            checks.append(pf.check(pf.CONSOLE, screens["service"].title,
                                   lambda: console.read_service(uai, service.code)))
        else:
            checks.append(pf.check(pf.CONSOLE, screens["service"].title, lambda: console.new_service_form(uai)))
        if editable is not None:
            checks.append(pf.check(pf.CONSOLE, screens["access"].title,
                                   lambda: console.read_access(uai, editable.code)))
        elif listed.status != "conforme":
            checks += pf.not_checked(pf.CONSOLE, [screens["access"].title],
                                     f"l'onglet s'ouvre depuis la « {screens['services'].title} », illisible")
        else:
            checks += pf.not_checked(pf.CONSOLE, [screens["access"].title],
                                     "le site n'a encore aucun service modifiable dont ouvrir l'onglet")
        checks.append(pf.check(pf.CONSOLE, screens["import"].title, lambda: console.import_form(uai)))
        checks += pf.not_checked(pf.CONSOLE, [screens["import_step"].title],
                                 "une étape ne s'ouvre qu'en important un fichier ; elle est vérifiée à la "
                                 "rentrée, avant la validation de chaque étape")
        checks.append(pf.check(pf.CONSOLE, screens["identifiers"].title, lambda: console.read_identifiers(uai)))
        checks.append(pf.check(pf.CONSOLE, screens["directory"].title, lambda: console.read_directory(uai)))
        return checks

    def _hosting(self, uai: str, params: dict[str, Any]) -> list[pf.ScreenCheck]:
        titles = [HOSTING_SCREENS[k].title for k in ("bases", "base", "delegation", "publication")]
        if not params.get("client_cert"):
            return pf.not_checked(pf.HOSTING, titles, "pas de certificat client (client_cert, pronote_hosting_cert)")
        http = self.http(params, ca_path=params.get("pronote_ca_path") or params.get("ca_path"),
                         client_cert=params["client_cert"], client_key=params.get("client_key"))
        hosting = HostingConsole(HostingSettings(params["hosting_url"], http))
        try:
            return [pf.check(pf.HOSTING, titles[0], hosting.list_bases),
                    pf.check(pf.HOSTING, titles[1], lambda: hosting.read_base_page(uai)),
                    pf.check(pf.HOSTING, titles[2], lambda: hosting.read_delegation_form(uai)),
                    pf.check(pf.HOSTING, titles[3], lambda: hosting.read_publication_form(uai))]
        finally:
            hosting.session.close()

    def _pronote_net(self, uai: str, params: dict[str, Any]) -> list[pf.ScreenCheck]:
        url = params.get("url") or base_url(uai, params.get("pronote_root"))
        http = self.http(params, ca_path=params.get("pronote_ca_path") or params.get("ca_path"))
        with new_session(http) as session:
            return [pf.check(pf.PRONOTE_NET, "infoMobileApp.json", lambda: read_info(session, http, url))]
