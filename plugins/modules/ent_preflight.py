#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.ent_preflight; the code is in plugins/action/ent_preflight.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: ent_preflight
short_description: Open every screen the rentrée uses for one établissement and check it, changing nothing
version_added: 0.4.0
description:
  - Before a region's first rentrée, checks that its real screens are those the product was written against.
    Signs in to the ENT console through its CAS, then opens, for the établissement, each screen the rentrée
    reads or posts to (services list, « Modifier un service » (or « Nouveau service »), « Accès population »,
    « Importer les identifiants Pronote », « Identifiants importés », the directory) and « Liste des
    établissements » (which the inventory plugin P(ent.pronote.etablissements#inventory) reads), the hosting console's
    « Mes bases », base page, « Déléguer l'authentification » and « Paramètres de publication » (with
    O(client_cert)), and the base's C(infoMobileApp.json).
  - Each screen is checked as the rentrée checks it (the tables of screens C(SCREENS) of C(_kdecole.py) and
    C(_pronote.py), docs/console-screens.md) and comes out C(conforme), C(non_conforme) (with the screen, the
    label expected and the labels found, in French) or C(non_verifie) (and why). An import step cannot be opened
    without importing, so it is listed as not checked; the rentrée checks it before validating each step.
  - Only GET requests; nothing is posted, so nothing changes anywhere.
  - Fails when a screen does not conform, or when the sign-in to the console fails; the RV(findings) are there
    either way, for M(ent.pronote.run_summary) (C(kind=preflight)).
  - With O(scope=first) (the default) only the first établissement of each ENT project in the play is checked
    (the others return C(skipped) and C(not_selected)); O(scope=all) checks every one.
extends_documentation_fragment:
  - ent.pronote.ent_connection
  - ent.pronote.pronote_base
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  action_group:
    support: full
    membership: [ent.pronote.ent]
    description: In the action group C(ent.pronote.ent), with the console modules.
  check_mode:
    support: full
    description: Read only, the same in check mode.
  diff_mode:
    support: none
    description: Shows no difference in diff mode (it changes nothing).
options:
  scope:
    description: C(first) checks one établissement per ENT project (the first of the play's hosts whose
      C(ent_project) is the same), C(all) every one.
    type: str
    choices: [first, all]
    default: first
  code:
    description: Code of the PRONOTE service in the ENT, when several services look like PRONOTE.
    type: str
  label:
    description: « Intitulé » of the PRONOTE service, used to find it. Without a PRONOTE service, « Nouveau
      service » is checked instead of « Modifier un service », and « Accès population » on another service.
    type: str
    default: pronote
  pronote_ca_path:
    description: CA certificate(s) (PEM) of PRONOTE.net and of the hosting console; defaults to O(ca_path).
    type: path
  hosting_url:
    description: The PRONOTE.net hosting console.
    type: str
    default: https://hebergement.index-education.net/
  client_cert:
    description: The client certificate (PEM) of the hosting console. Without it, its screens are not checked.
    type: path
  client_key:
    description: Its private key, when not in O(client_cert) (a path; never logged).
    type: path
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the screens of the first établissement of each ENT project
  ent.pronote.ent_preflight:
    uai: "{{ inventory_hostname }}"
    pronote_root: "{{ pronote_root | default(omit) }}"
    client_cert: "{{ pronote_hosting_cert | default(omit) }}"
  register: ent_pronote_preflight_result

- name: The screens that differ
  ansible.builtin.debug:
    msg: "{{ ent_pronote_preflight_result.screens | selectattr('status', 'eq', 'non_conforme') }}"
"""

RETURN = r"""
uai:
  description: The établissement checked.
  returned: always
  type: str
screens:
  description: One entry per screen, in the rentrée's order, with C(system) (C(CAS), C(Console ENT), C(Console
    d'hébergement), C(PRONOTE.net)), C(screen) (its title), C(status) (C(conforme), C(non_conforme),
    C(non_verifie)), C(detail) (French; empty when it conforms) and C(mismatch) (C(screen), C(kind),
    C(expected), C(found)) when it does not conform.
  returned: when checked
  type: list
  elements: dict
  sample: [{"system": "Console ENT", "screen": "Modifier un service", "status": "non_conforme",
            "detail": "Écran « Modifier un service » (0671632K) non conforme — attendu : champ « Type de SSO » ; …",
            "mismatch": {"screen": "Modifier un service", "kind": "champ", "expected": "Type de SSO",
                         "found": ["Type d'authentification unique", "URL"]}}]
counts:
  description: Number of screens per status.
  returned: when checked
  type: dict
  sample: {"conforme": 12, "non_conforme": 1, "non_verifie": 1}
findings:
  description: The screens as findings of the report (C(ecran_conforme) info, C(ecran_non_conforme) erreur,
    C(ecran_non_verifie) avertissement; step C(preflight); C(subject) "<system> · <screen>").
  returned: when checked
  type: list
  elements: dict
not_selected:
  description: True when O(scope=first) left this établissement out (another of its ENT project is checked).
  returned: when left out
  type: bool
"""
