#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.ent_service_access; the code is in plugins/action/ent_service_access.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: ent_service_access
short_description: Who sees the PRONOTE service in a K-d'école ENT (Accès population)
version_added: 0.1.0
description:
  - Manages the I(Accès population) rules of the PRONOTE service of one établissement,
    that is I(Rôle), I(Cible), I(Profil) and the optional I(Matière enseignée), I(Fonction) and I(Discipline de poste).
  - A profile without a rule does not see the service (vendor's guide).
  - Rules are added when missing; with O(exclusive=true) the rules not declared are removed.
extends_documentation_fragment:
  - ent.pronote.ent_connection
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Reads the console and predicts the change. When the service itself would be created
      by an earlier task of the same check run, every declared rule is predicted as added.
  diff_mode:
    support: full
    description: Shows what changed, or would change in check mode, in diff mode.
  action_group:
    support: full
    description: Part of the action group C(group/ent.pronote.ent), so its connection options can be set once with C(module_defaults).
    membership: [ent.pronote.ent]
options:
  uai:
    description: UAI of the établissement.
    type: str
    required: true
  code:
    description: I(Code) of the service (for example the RV(ent.pronote.ent_service#module:code) of ent.pronote.ent_service).
      When unset, the PRONOTE service is found as ent.pronote.ent_service finds it.
    type: str
  label:
    description: I(Intitulé) used to find the service when O(code) is unset.
    type: str
    default: pronote
  profiles:
    description: Profiles given I(Accès au service) on the I(Établissement(s) du site courant). A short form of O(rules).
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
        description: UAIs of the établissements, for O(rules[].target=establishments).
        type: list
        elements: str
      groups:
        description: Names of the groups, for O(rules[].target=groups).
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
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Pupils, parents, teachers and staff see PRONOTE
  ent.pronote.ent_service_access:
    uai: "{{ inventory_hostname }}"
    code: "{{ service.code }}"
    profiles: [Elève, Parent, Enseignant, Personnel]

- name: Exactly these rules, nothing else
  ent.pronote.ent_service_access:
    uai: 0671234C
    exclusive: true
    rules:
      - profile: Elève
      - profile: Enseignant
        target: groups
        groups: [Professeurs principaux]
"""

RETURN = r"""
uai:
  description: The établissement.
  returned: always
  type: str
code:
  description: I(Code) of the service; null in check mode when the service does not exist yet.
  returned: success
  type: str
rules:
  description: The rules after the run (predicted in check mode).
  returned: success
  type: list
  elements: dict
  sample: [{"profile": "Elève", "target": "site", "role": "Accès au service"}]
added:
  description: Number of rules added (or to add, in check mode).
  returned: success
  type: int
removed:
  description: Number of rules removed (or to remove, in check mode).
  returned: success
  type: int
"""
