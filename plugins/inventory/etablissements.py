# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin ent.pronote.etablissements: the établissements the ENT consoles know, one host per UAI."""
from __future__ import annotations

DOCUMENTATION = r"""
name: etablissements
short_description: The établissements of a region, read from each ENT project's admin console
version_added: 0.4.0
description:
  - One host per établissement, named by its UAI, for every ENT project the source lists. For each project the
    plugin signs in to the project's admin console through its CAS (as the modules do) and reads « Liste des
    établissements » (every page), the établissements its administrator administers (docs/console-screens.md).
  - Each host has C(etab_name), C(etab_type) (when the console shows it), C(etab_source) (C(console) or C(csv))
    and is in the group of its project, C(ent_<slug>) (as in a hand-written C(hosts.yml), for example
    C(ent_mbn)). The group holds C(ent_project), C(ent_console_url), C(ent_admin_login) and, when given,
    C(ent_cas_url), C(ent_cas_selection), C(ent_ca_path), then the project's O(projects[].vars).
  - As for any inventory plugin, a C(group_vars) file beside the source (C(all.yml) included) wins over the variables
    the plugin sets on a group (Ansible's variable precedence).
  - The administrator's password is used to read the console and is never put in the inventory. The playbooks
    still take C(ent_admin_password) from the variables (a vaulted C(group_vars) file, or O(projects[].vars)).
  - A second, optional source, O(csv), adds établissements not yet in the console (a region's export of the
    national directory). A UAI whose check letter is wrong is reported with its line and left out.
  - A console that cannot be read (unreachable, refused sign-in, a screen that differs) is a warning naming the
    project; the other projects are listed. When the cache holds that project's list, it is used instead.
  - The source is a YAML file whose name ends in C(.ent.yml) or C(.ent.yaml), whose C(plugin) is C(ent.pronote.etablissements).
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - requests >= 2.28 (on the controller; see requirements.txt)
  - lxml >= 4.9
options:
  plugin:
    description: The name of this plugin; the source is for it only when this is set.
    type: str
    required: true
    choices: [ent.pronote.etablissements]
  projects:
    description:
      - The ENT projects of the region, each with its console and administrator.
      - Strings may be templates (an C(ansible.builtin.env) lookup, a vaulted value, an extra variable), rendered
        by the plugin; the group's C(ent_console_url), C(ent_cas_url), C(ent_cas_selection) and C(ent_ca_path) are
        the rendered values. O(projects[].vars) are not rendered here but by the plays.
    type: list
    elements: dict
    required: true
    suboptions:
      slug:
        description:
          - Short name of the project. Its group is C(ent_<slug>), with every character other than a letter,
            a digit or C(_) turned into C(_) (C(mbn) gives C(ent_mbn)).
        type: str
        required: true
      name:
        description: The project's name, as the vendor's guide lists it (C(Mon Bureau Numérique)); the group's C(ent_project).
        type: str
        required: true
      console_url:
        description: URL of the project's admin console; the group's C(ent_console_url).
        type: str
        required: true
      admin_login:
        description: Login of a console administrator of the project; the group's C(ent_admin_login).
        type: str
        required: true
      admin_password:
        description:
          - Password of O(projects[].admin_login). Keep it in ansible-vault (an encrypted value in the source, or an
            extra variable from an encrypted file given with C(-e @vault.yml)), or give a template such as
            C("{{ lookup('ansible.builtin.env', 'ENT_MBN_PASSWORD') }}").
          - Never written to the inventory, the cache, or the output.
        type: str
        required: true
      cas_url:
        description: The project's CAS URL, the group's C(ent_cas_url) (the delegation and the sign-on check use it).
        type: str
      cas_selection:
        description: The identity source of the ENT's own accounts on a K-d'école CAS; the group's C(ent_cas_selection).
        type: str
      ca_path:
        description:
          - CA certificate(s) (PEM) of the console and its CAS; the group's C(ent_ca_path).
            A relative path is relative to the source's directory.
        type: str
      validate_certs:
        description: Verify TLS certificates. Turn off only to diagnose.
        type: bool
        default: true
      timeout:
        description: Seconds to wait for each answer of the console or the CAS.
        type: float
        default: 30
      vars:
        description:
          - Variables of the project's group (C(ent_cas_selection), C(pronote_root), C(ent_admin_password)…),
            set as they are; templates in them are rendered by the plays.
        type: dict
        default: {}
  csv:
    description:
      - A CSV file of établissements, C(UAI;name;project) (semicolon-separated, UTF-8 or Windows-1252, an optional
        header line starting with C(UAI)), where C(project) is a O(projects[].slug) or O(projects[].name).
      - Adds the établissements the consoles do not list (C(etab_source=csv)); for one they list, the console's
        name wins. A wrong UAI, an unknown project or a line without three fields is a warning naming the line,
        and the line is left out. A relative path is relative to the source's directory.
    type: str
  console:
    description: Read the consoles. V(false) lists the CSV only (no network), for example to prepare a region.
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventories/region.ent.yml: the region's établissements from its two ENT consoles, cached for an hour.
# ansible-inventory -i inventories/region.ent.yml --graph
plugin: ent.pronote.etablissements
projects:
  - slug: mbn
    name: Mon Bureau Numérique
    console_url: https://www.monbureaunumerique.fr/
    cas_url: https://cas.monbureaunumerique.fr
    admin_login: admin.region
    admin_password: "{{ lookup('ansible.builtin.env', 'ENT_MBN_PASSWORD') }}"
  - slug: occitanie
    name: Mon ENT Occitanie
    console_url: https://www.mon-ent-occitanie.fr/
    cas_url: https://cas.mon-ent-occitanie.fr
    cas_selection: TOULO-ENT_parent_eleve
    admin_login: admin.region
    # an extra variable, e.g. from an encrypted file: ansible-inventory -i region.ent.yml -e @vault.yml
    admin_password: "{{ vault_occitanie_admin_password }}"
    vars:
      ent_service_block_version: auto
# établissements not yet in a console (UAI;name;project)
csv: annuaire-region.csv
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ent-pronote-inventory
cache_timeout: 3600
# Constructable: a group per kind of établissement, and one for the lycées
keyed_groups:
  - key: etab_type | default('inconnu')
    prefix: type
groups:
  lycees: etab_type is defined and etab_type.startswith('Lycée')
"""

import csv
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai

#: an inventory's project group name: ``ent_`` and the slug, other characters than ``[A-Za-z0-9_]`` as ``_``
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
#: cache entries: one per project, so that one console down does not discard the others' lists
CACHE_FORMAT = 1


def group_name(slug: str) -> str:
    """The group of an ENT project: ``ent_<slug>`` (``mbn`` → ``ent_mbn``, ``ile-de-france`` → ``ent_ile_de_france``)."""
    return "ent_" + _NOT_NAME.sub("_", slug)


@dataclass(frozen=True)
class Etab:
    """One établissement to list: where it comes from and what is known of it."""

    uai: str
    name: str
    kind: str
    project: str
    source: str


@dataclass(frozen=True)
class Problem:
    """A line or a project left out, and why (French, for the operations team)."""

    message: str


def read_csv(text: str, where: str, projects: dict[str, str]) -> tuple[list[Etab], list[Problem]]:
    """The établissements of a ``UAI;name;project`` CSV; each line left out is a problem naming it.

    ``projects`` maps every accepted spelling of a project (slug, name, without case) to its slug.
    """
    out: list[Etab] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=";"), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].casefold() == "uai":
            continue
        line = f"{where}, ligne {number}"
        if len(cells) < 3 or not cells[0] or not cells[2]:
            problems.append(Problem(f"{line} : attendu « UAI;nom;projet », trouvé « {';'.join(row)} » ; ligne ignorée."))
            continue
        try:
            uai = normalise_uai(cells[0])
        except ValueError:
            problems.append(Problem(f"{line} : UAI « {cells[0]} » invalide (7 chiffres et la lettre de contrôle)"
                                    " ; établissement ignoré."))
            continue
        slug = projects.get(cells[2].casefold())
        if slug is None:
            problems.append(Problem(f"{line} : projet ENT « {cells[2]} » inconnu de la source (attendu : "
                                    + ", ".join(sorted(set(projects.values()))) + ") ; établissement ignoré."))
            continue
        if uai in seen:
            problems.append(Problem(f"{line} : UAI {uai} déjà à la ligne {seen[uai]} ; ligne ignorée."))
            continue
        seen[uai] = number
        out.append(Etab(uai, cells[1], "", slug, "csv"))
    return out, problems


def decode_csv(data: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), else Windows-1252 (the exports of office software)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """One host per UAI, from the ENT consoles (and a CSV), grouped per ENT project."""

    NAME = "ent.pronote.etablissements"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith((".ent.yml", ".ent.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._dir = os.path.dirname(os.path.abspath(path))
        projects = self._projects()
        use_cache = bool(self.get_option("cache")) and cache
        etabs: list[Etab] = []
        broken = self._render_connections(projects)
        if self.get_option("console"):
            readable = {slug: project for slug, project in projects.items() if slug not in broken}
            for slug, listed in self._console_lists(path, readable, use_cache).items():
                etabs.extend(Etab(e["uai"], e["name"], e.get("kind", ""), slug, "console") for e in listed)
        if self.get_option("csv"):
            spellings = {}
            for slug, project in projects.items():
                spellings[slug.casefold()] = slug
                spellings[project["name"].casefold()] = slug
            csv_path = self._path(self._render(self.get_option("csv"), "csv"))
            try:
                with open(csv_path, "rb") as handle:
                    text = decode_csv(handle.read())
            except OSError as exc:
                raise AnsibleParserError(f"ent.pronote.etablissements : fichier CSV illisible : {csv_path} "
                                         f"({exc.strerror or exc}).") from None
            from_csv, problems = read_csv(text, os.path.basename(csv_path), spellings)
            for problem in problems:
                self.display.warning(problem.message)
            etabs.extend(from_csv)
        self._populate(projects, etabs)

    # -- configuration -----------------------------------------------------
    def _projects(self) -> dict[str, dict[str, Any]]:
        """The projects of the source, by slug; a source that cannot work is an error naming what is wrong."""
        out: dict[str, dict[str, Any]] = {}
        for index, project in enumerate(self.get_option("projects") or [], start=1):
            if not isinstance(project, dict):
                raise AnsibleParserError(f"ent.pronote.etablissements : projects[{index}] doit être un dictionnaire.")
            missing = [k for k in ("slug", "name", "console_url", "admin_login", "admin_password") if not project.get(k)]
            if missing:
                raise AnsibleParserError(f"ent.pronote.etablissements : projects[{index}] "
                                         f"({project.get('slug') or project.get('name') or '?'}) : "
                                         + ", ".join(missing) + " manquant(s).")
            slug = str(project["slug"])
            if slug in out:
                raise AnsibleParserError(f"ent.pronote.etablissements : projet « {slug} » présent deux fois.")
            if not isinstance(project.get("vars") or {}, dict):
                raise AnsibleParserError(f"ent.pronote.etablissements : projects[{index}].vars doit être un dictionnaire.")
            out[slug] = project
        if not out:
            raise AnsibleParserError("ent.pronote.etablissements : la source ne liste aucun projet ENT (projects).")
        return out

    def _render_connections(self, projects: dict[str, dict[str, Any]]) -> set[str]:
        """Render each project's console URL, CAS URL and selection, login and CA path, in place (``_rendered``).

        They are the group's variables too: the plays use the console the plugin read. The password is
        rendered only when a console is read. A project whose settings do not render is a warning, and
        its console is not read; the slugs of those projects are returned.
        """
        broken = set()
        for slug, project in projects.items():
            rendered: dict[str, Any] = {}
            try:
                for option in ("console_url", "cas_url", "cas_selection", "admin_login", "ca_path"):
                    value = self._render(project.get(option), f"projet {slug} : {option}")
                    if value:
                        rendered[option] = self._path(str(value)) if option == "ca_path" else str(value)
            except AnsibleParserError as exc:
                self.display.warning(f"Projet ENT « {slug} » ({project['name']}) : console non lue ({exc}) ; ses "
                                     "établissements ne sont pas listés, les autres projets le sont.")
                broken.add(slug)
                rendered = {k: project[k] for k in ("console_url", "admin_login") if project.get(k)}
            project["_rendered"] = rendered
        return broken

    def _render(self, value: Any, what: str) -> Any:
        """A templated option (a lookup, a variable): its value; never shown, it may be a password."""
        if value is None or not isinstance(value, str) or "{" not in value:
            return value
        self.templar.available_variables = self._vars
        try:
            return self.templar.template(value)
        except Exception as exc:  # the templar's errors vary across ansible-core versions
            # the message says what is undefined or which lookup failed; the value, never rendered, is not in it
            detail = " ".join(to_native(exc).split())[:200]
            raise AnsibleParserError(f"{what} : le gabarit ne s'évalue pas ({type(exc).__name__} : {detail})") from None

    def _path(self, value: str) -> str:
        path = os.path.expanduser(str(value))
        return path if os.path.isabs(path) else os.path.join(self._dir, path)

    # -- the consoles --------------------------------------------------------
    def _console_lists(self, path: str, projects: dict[str, dict[str, Any]],
                       use_cache: bool) -> dict[str, list[dict[str, str]]]:
        """Each project's list, from the cache or its console; a project that fails is a warning."""
        lists: dict[str, list[dict[str, str]]] = {}
        keys = {slug: f"{self.get_cache_key(path)}_{group_name(slug)}" for slug in projects}
        to_read = []
        for slug in projects:
            cached = self._cached(keys[slug]) if use_cache else None
            if cached is not None:
                lists[slug] = cached
            else:
                to_read.append(slug)
        # The settings are rendered here, in this thread: the templar is not shared with the workers.
        settings, results = {}, {}
        for slug in to_read:
            try:
                settings[slug] = self._settings(slug, projects[slug])
            except AnsibleParserError as exc:  # a password lookup that fails is that project's problem only
                results[slug] = ([], str(exc))
        readable = [slug for slug in to_read if slug in settings]
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(readable)))) as pool:
            results.update(zip(readable, pool.map(lambda s: _read_console(settings[s]), readable)))
        for slug in to_read:
            listed, error = results[slug]
            if error is not None:
                error = error.rstrip(".")
            if error is None:
                lists[slug] = listed
                if self.get_option("cache"):
                    self._cache[keys[slug]] = {"format": CACHE_FORMAT, "etablissements": listed}
                continue
            fallback = self._cached(keys[slug])
            name = projects[slug]["name"]
            if fallback is not None:
                self.display.warning(f"Projet ENT « {slug} » ({name}) : console non lue ({error}) ; "
                                     f"liste en cache utilisée ({len(fallback)} établissement(s)).")
                lists[slug] = fallback
            else:
                self.display.warning(f"Projet ENT « {slug} » ({name}) : console non lue ({error}) ; ses "
                                     "établissements ne sont pas listés, les autres projets le sont.")
        return lists

    def _cached(self, key: str) -> list[dict[str, str]] | None:
        """A project's cached list, None when absent, expired or of another format."""
        if not self.get_option("cache"):
            return None
        try:
            entry = self._cache[key]
        except KeyError:
            return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return None
        listed = entry.get("etablissements")
        return listed if isinstance(listed, list) else None

    def _settings(self, slug: str, project: dict[str, Any]) -> Any:
        from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
        from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings

        rendered = project["_rendered"]
        return ConsoleSettings(
            console_url=rendered["console_url"], login=rendered["admin_login"],
            password=str(self._render(project["admin_password"], f"projet {slug} : admin_password")),
            http=HttpSettings(validate_certs=bool(project.get("validate_certs", True)),
                              ca_path=rendered.get("ca_path"),
                              timeout=float(project.get("timeout") or 30), retries=1, retry_time=5.0),
            session_cache=False, cas_selection=rendered.get("cas_selection"))

    # -- the inventory -------------------------------------------------------
    def _populate(self, projects: dict[str, dict[str, Any]], etabs: list[Etab]) -> None:
        strict = self.get_option("strict")
        group_vars: dict[str, dict[str, Any]] = {}
        for slug, project in projects.items():
            group = self.inventory.add_group(group_name(slug))
            # the connection as the plugin used it (rendered; the CA path absolute), then the project's vars
            values: dict[str, Any] = {"ent_project": project["name"]}
            for option, variable in (("console_url", "ent_console_url"), ("admin_login", "ent_admin_login"),
                                     ("cas_url", "ent_cas_url"), ("cas_selection", "ent_cas_selection"),
                                     ("ca_path", "ent_ca_path")):
                if project["_rendered"].get(option):
                    values[variable] = project["_rendered"][option]
            values.update(project.get("vars") or {})
            for key, value in values.items():
                self.inventory.set_variable(group, key, value)
            group_vars[slug] = values
        compose, groups, keyed = (self.get_option(k) for k in ("compose", "groups", "keyed_groups"))
        placed: dict[str, str] = {}
        for etab in etabs:
            try:
                uai = normalise_uai(etab.uai)
            except ValueError:
                self.display.warning(f"Projet ENT « {etab.project} » : la console liste « {etab.uai} », qui n'est "
                                     "pas un UAI valide ; établissement ignoré.")
                continue
            if uai in placed:
                if etab.source == "console" and placed[uai] != etab.project:
                    self.display.warning(f"UAI {uai} listé par les projets « {placed[uai]} » et « {etab.project} » ;"
                                         f" gardé dans « {placed[uai]} ».")
                continue
            placed[uai] = etab.project
            self.inventory.add_host(uai, group=group_name(etab.project))
            host_vars = {"etab_name": etab.name, "etab_source": etab.source}
            if etab.kind:
                host_vars["etab_type"] = etab.kind
            for key, value in host_vars.items():
                self.inventory.set_variable(uai, key, value)
            if compose or groups or keyed:
                variables = {**group_vars[etab.project], **host_vars, "inventory_hostname": uai}
                self._set_composite_vars(compose, variables, uai, strict=strict)
                self._add_host_to_composed_groups(groups, variables, uai, strict=strict)
                self._add_host_to_keyed_groups(keyed, variables, uai, strict=strict)


def _read_console(settings: Any) -> tuple[list[dict[str, str]], str | None]:
    """One console's « Liste des établissements », or the reason it could not be read (never the password)."""
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import KdecoleConsole

    console = None
    try:
        console = KdecoleConsole(settings)
        return [{"uai": e.uai, "name": e.name, "kind": e.kind} for e in console.list_etablissements()], None
    except EntPronoteError as exc:
        return [], _redact(to_native(exc), settings.password)
    except Exception as exc:  # a bug or a library's surprise: a warning, never a traceback in the inventory
        return [], _redact(f"{type(exc).__name__}: {to_native(exc)}", settings.password)
    finally:
        if console is not None:
            console.close()


def _redact(text: str, password: str) -> str:
    return text.replace(password, "********") if password else text
