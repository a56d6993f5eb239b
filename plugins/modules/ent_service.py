#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.ent_service; the code is in plugins/action/ent_service.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: ent_service
short_description: The PRONOTE service of an établissement in a K-d'école ENT
version_added: 0.1.0
description:
  - Declares, updates or removes the PRONOTE service of one établissement in the ENT admin console
    (I(Gestion portail > Services), step 3 of the vendor's guide), with every field of
    I(Modifier un service), that is I(Paramètres techniques), I(Configuration du bloc PRONOTE) and I(Paramètres d'affichage).
  - The service is found by O(code), or else as the one non-internal service of the site whose
    I(Type de SSO) is C(SSO Pronote avec CAS) or whose I(Intitulé) is O(label). Several candidates is an error.
  - Settings that the vendor's guide and the support FAQ say break sign-on are refused unless O(allow_unsafe=true),
    a I(Type de SSO) other than C(SSO Pronote avec CAS); a non-empty I(URL CAS de PRONOTE.net), I(Service anonyme) ticked.
  - Transient failures (HTTP 5xx, timeouts, expired sessions) are retried; the state is read again before each attempt.
extends_documentation_fragment:
  - ent.pronote.ent_connection
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Reads the console and predicts the change; nothing is submitted.
  diff_mode:
    support: full
    description: Shows what changed, or would change in check mode, in diff mode.
  action_group:
    support: full
    description: Part of the action group C(group/ent.pronote.ent), so its connection options can be set once with C(module_defaults).
    membership: [ent.pronote.ent]
options:
  uai:
    description: UAI of the établissement (7 digits and a check letter), for example C(0671234C).
    type: str
    required: true
  state:
    description: Whether the service must exist.
    type: str
    choices: [present, absent]
    default: present
  code:
    description:
      - I(Code) of the service, as assigned by the ENT (for example C(USER_0)).
      - Only needed to pick one service when several look like PRONOTE. The ENT assigns the code of a new service.
    type: str
  sso_type:
    description: I(Type de SSO).
    type: str
    choices: [SSO Pronote avec CAS, Pas de SSO ou SSO Standard]
    default: SSO Pronote avec CAS
  url:
    description: I(URL) of the service. Defaults to C(https://<uai>.index-education.net/pronote/) (see O(pronote_root)).
    type: str
  xiti_type:
    description: I(Type Xiti), as the console lists it.
    type: str
    default: Services de vie scolaire
  group:
    description: I(Regroupement), as the console lists it.
    type: str
    default: Scolarité
  show_block:
    description: I(Afficher le bloc PRONOTE sur la page d'accueil).
    type: bool
    default: true
  block_version:
    description:
      - I(Version) of the bloc PRONOTE, for example C(PRONOTE 2024) (C(2024) is accepted).
      - It must match the PRONOTE server's version (FAQ). When unset, the current value is kept.
      - C(auto) takes it from the PRONOTE.net server itself (its C(infoMobileApp.json), no credential);
        the server of O(url) must be published.
    type: str
  pronote_root:
    description:
      - Where the établissements' PRONOTE.net bases are, when not at Index Éducation's hosting
        (the sandbox). The default O(url) becomes C(<pronote_root><uai>/pronote/).
    type: str
    version_added: 0.3.0
  pronote_ca_path:
    description:
      - CA file to verify the PRONOTE.net server with, for O(block_version=auto). Defaults to O(ca_path).
    type: path
    version_added: 0.3.0
  pronote_cas_url:
    description: I(URL CAS de PRONOTE.net). The vendor's guide says to leave it empty.
    type: str
    default: ""
  in_service_bar:
    description: I(Service affiché dans la barre des services).
    type: bool
    default: true
  label:
    description: I(Intitulé) of the service, the name of the tile.
    type: str
    default: pronote
  anonymous:
    description: I(Service anonyme). Ticked, everyone sees the tile even signed out, but there is no SSO.
    type: bool
    default: false
  allow_unsafe:
    description: Accept the settings that break sign-on (see the description).
    type: bool
    default: false
  access:
    description:
      - The I(Accès population) rules of the service, managed in the same task as ent.pronote.ent_service_access
        manages them (same options). One task per établissement instead of two is what keeps a region's run fast.
      - Ignored when O(state=absent) (the ENT deletes the rules with the service).
    type: dict
    suboptions:
      profiles:
        description: Profiles given I(Accès au service) on the I(Établissement(s) du site courant). A short form of O(access.rules).
        type: list
        elements: str
        choices: [Elève, Parent, Enseignant, Personnel, Maître de stage, Inspecteur]
      rules:
        description: Rules in full.
        type: list
        elements: dict
        suboptions:
          profile:
            description: I(Profil).
            type: str
            required: true
            choices: [Elève, Parent, Enseignant, Personnel, Maître de stage, Inspecteur]
          target:
            description:
              - I(Cible). C(site) is I(Établissement(s) du site courant), C(establishments) I(Liste personnalisée
                d'établissements), C(groups) I(Liste de groupes), C(ent) I(Tout l'ENT).
            type: str
            choices: [site, establishments, groups, ent]
            default: site
          establishments:
            description: UAIs of the établissements, for O(access.rules[].target=establishments).
            type: list
            elements: str
          groups:
            description: Names of the groups, for O(access.rules[].target=groups).
            type: list
            elements: str
          role:
            description: I(Rôle).
            type: str
            choices: [Accès au service, Administration du service]
            default: Accès au service
          subject:
            description: I(Matière enseignée), as the console lists it.
            type: str
          function:
            description: I(Fonction), as the console lists it.
            type: str
          discipline:
            description: I(Discipline de poste), as the console lists it.
            type: str
      exclusive:
        description: Remove the rules of the service that are not declared.
        type: bool
        default: false
    version_added: 0.2.0
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Declare the PRONOTE service of every établissement
  hosts: all
  gather_facts: false
  module_defaults:
    group/ent.pronote.ent:
      console_url: "{{ ent_console_url }}"
      admin_login: "{{ ent_admin_login }}"
      admin_password: "{{ ent_admin_password }}"
  tasks:
    - name: Service PRONOTE with SSO, bloc version 2024, seen by pupils, parents, teachers and staff
      ent.pronote.ent_service:
        uai: "{{ inventory_hostname }}"
        block_version: PRONOTE 2024
        access:
          profiles: [Elève, Parent, Enseignant, Personnel]
      register: service

    - name: Remove the PRONOTE service of a closed établissement
      ent.pronote.ent_service:
        uai: 0671234C
        state: absent
"""

RETURN = r"""
uai:
  description: The établissement.
  returned: always
  type: str
  sample: 0671234C
pronote_version:
  description: The PRONOTE.net server's version, read for O(block_version=auto).
  returned: when O(block_version=auto)
  type: str
  sample: 2024.3.2
code:
  description: I(Code) of the service; null in check mode when the service would be created, and after removal.
  returned: success
  type: str
  sample: USER_0
service:
  description: The service's fields after the run (predicted in check mode); null when absent.
  returned: success
  type: dict
  sample: {"sso_type": "SSO Pronote avec CAS", "url": "https://0671234a.index-education.net/pronote/",
           "xiti_type": "Services de vie scolaire", "group": "Scolarité", "show_block": true,
           "block_version": "PRONOTE 2024", "pronote_cas_url": "", "in_service_bar": true,
           "label": "pronote", "anonymous": false}
retries:
  description: How many attempts failed transiently before the run succeeded.
  returned: when retried
  type: int
duplicates_removed:
  description:
    - Codes of exact copies of the PRONOTE service (same label, same settings) that two runs started at the
      same time on different controllers had created, removed by this run (the first one is kept).
  returned: when copies were removed
  type: list
  elements: str
access:
  description: When O(access) is set, the population rules after the run (predicted in check mode), as
    ent.pronote.ent_service_access returns them (C(rules), C(added), C(removed), C(changed)).
  returned: when O(access) is set and O(state=present)
  type: dict
"""
