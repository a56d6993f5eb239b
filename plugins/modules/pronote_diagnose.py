#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.pronote_diagnose; the code is in plugins/action/pronote_diagnose.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: pronote_diagnose
short_description: Find, for one établissement, every cause of failure the support FAQ describes
version_added: 0.4.0
description:
  - Reads, without changing anything, the établissement's PRONOTE.net base (C(infoMobileApp.json), and its
    settings in the hosting console when O(client_cert) is given), its PRONOTE service and population rules in
    the ENT console, the latest identifiers file against the identifiers and directory the ENT holds, and
    signs on with the test accounts given.
  - Each cause found is a finding with a stable code, a severity (C(erreur), C(avertissement), C(info)), the
    step it belongs to, and what is wrong and what to do in French, in the FAQ's and the vendor guide's words.
    A healthy établissement has no finding.
  - "Codes, step 1 (PRONOTE.net): C(base_introuvable), C(base_non_publiee), C(cas_inactif), C(url_cas) (the
    delegation's CAS is not the ENT's), C(racine) (not « Pronote »; needs the hosting console),
    C(espace_non_publie), C(espace_sans_delegation)."
  - "Step 3 (ENT service): C(service_absent), C(type_sso), C(url_service), C(url_cas_pronote_net) (« URL CAS de
    PRONOTE.net » not empty), C(service_anonyme), C(version_bloc) (the bloc's « Version » is not the PRONOTE
    server's), C(profil_sans_acces) (one per profile of O(profiles) with no « Accès au service » rule)."
  - "Steps 2 and 4 (identifiers): C(fichier_autre_etablissement) (the file is another établissement's export),
    C(parents_sans_acces) (« Accès à l'Espace Parents » not ticked),
    C(doublons_pronote), C(eleves_sortis), C(identifiant_cas_change) (the stored « Identifiant CAS » is not the
    person's ENT login any more), C(responsables_non_reconnus) (more than O(max_unrecognised_share)),
    C(comptes_non_importes)."
  - "Sign-on sample (M(ent.pronote.cas_sso_check)'s causes): C(compte_test), C(cas_erreur_http), C(sans_idpronote),
    C(identification_impossible), C(acces_espace_refuse), C(ticket_invalide), C(cas_injoignable),
    C(mauvaise_personne), C(tls), C(reseau), C(page_inattendue); a cause of step 1 already found is not reported
    again."
  - Every code, with its severity and its French message and fix, is in C(docs/diagnose.md).
  - Findings hold counts, never names. The people behind the identifiers findings are written, only when
    O(details_dir) is given, to a per-établissement file readable by its owner only.
  - Steps that could not be checked (no client certificate, no identifiers file, no test account, check mode
    for the sign-on) are listed in RV(not_done).
extends_documentation_fragment:
  - ent.pronote.ent_connection
  - ent.pronote.pronote_base
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  action_group:
    support: full
    description: Part of the action group C(group/ent.pronote.ent), so its connection options can be set once with C(module_defaults).
    membership: [ent.pronote.ent]
  check_mode:
    support: full
    description: Everything is read only; the sign-on sample, which stores the test account's I(Identifiant CAS)
      at its first sign-on, is not run in check mode.
  diff_mode:
    support: none
    description: Shows no difference in diff mode.
options:
  pronote_ca_path:
    description: CA certificate(s) (PEM) of PRONOTE.net and of the hosting console; defaults to O(ca_path).
    type: path
  cas_url:
    description: The ENT project's CAS URL; PRONOTE.net must delegate to it.
    type: str
    required: true
  hosting_url:
    description: The PRONOTE.net hosting console.
    type: str
    default: https://hebergement.index-education.net/
  client_cert:
    description: The client certificate (PEM) of the hosting console. Without it, step 1 is checked from
      C(infoMobileApp.json) only, and the racine is not checked.
    type: path
  client_key:
    description: Its private key, when not in O(client_cert) (a path; never logged).
    type: path
  code:
    description: Code of the PRONOTE service in the ENT, when several services look like PRONOTE.
    type: str
  label:
    description: « Intitulé » of the PRONOTE service, used to find it.
    type: str
    default: pronote
  profiles:
    description: The ENT profiles that must reach PRONOTE; each needs an « Accès au service » rule and its espace
      published and delegated to the CAS.
    type: list
    elements: str
    choices: [Elève, Parent, Enseignant, Personnel, Maître de stage, Inspecteur]
    default: [Elève, Parent, Enseignant, Personnel]
  identifiers_src:
    description: The latest identifiers file PRONOTE exported for the établissement. Missing, the identifiers
      causes are not checked (listed in RV(not_done)).
    type: path
  manual_matches:
    description: The manual matches file given to the import (M(ent.pronote.ent_identifiers_import)), so that
      the diagnosis decides as the import does.
    type: path
  assisted:
    description: Whether the import uses assisted matching (as M(ent.pronote.ent_identifiers_import)).
    type: bool
    default: true
  max_file_size:
    description: Largest identifiers file read, in bytes.
    type: int
    default: 52428800
  max_unrecognised_share:
    description: Share of the file's responsables that may stay without an ENT account before
      C(responsables_non_reconnus) is reported.
    type: float
    default: 0.1
  accounts:
    description: Test accounts for the sign-on sample, one per profile (as M(ent.pronote.cas_sso_check)). Keep
      their passwords in ansible-vault.
    type: list
    elements: dict
    default: []
    suboptions:
      profile:
        description: The ENT profile.
        type: str
        required: true
      login:
        description: The account's ENT login.
        type: str
        required: true
      password:
        description: Its password (never logged).
        type: str
        required: true
      name:
        description: The name PRONOTE must show once signed in.
        type: str
  details_dir:
    description: Directory where to write C(<uai>-diagnostic.csv), the people behind each identifiers finding
      (names, identifiers), mode 0600. Not written when unset.
    type: path
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Diagnose the établissement
  ent.pronote.pronote_diagnose:
    uai: "{{ inventory_hostname }}"
    cas_url: "{{ ent_cas_url }}"
    client_cert: "{{ pronote_hosting_cert | default(omit) }}"
    identifiers_src: "{{ ent_identifiers_dir }}/{{ inventory_hostname }}.xml"
    accounts: "{{ pronote_sso_test_accounts | default([]) }}"
  register: ent_pronote_diagnose_result

- name: Every établissement with an error
  ansible.builtin.debug:
    msg: "{{ ent_pronote_diagnose_result.findings | selectattr('severity', 'eq', 'erreur') | map(attribute='code') }}"
"""

RETURN = r"""
url:
  description: The base's address.
  returned: always
  type: str
findings:
  description: The causes found, most serious first, each with C(code), C(severity), C(uai), C(step)
    (C(delegation), C(service), C(identifiers) or C(sso)), C(message) and C(fix) (French), C(count) (people
    concerned, or null) and C(subject) (the espace or profile, or empty).
  returned: always
  type: list
  elements: dict
  sample: [{"code": "version_bloc", "severity": "erreur", "uai": "0671632K", "step": "service",
            "message": "La « Version » du bloc PRONOTE dans l'ENT est « PRONOTE 2024 » …",
            "fix": "ENT, « Gestion portail > Services » …", "count": null, "subject": ""}]
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"erreur": 1, "avertissement": 0, "info": 0}
not_done:
  description: What could not be checked, and why (French).
  returned: always
  type: list
  elements: str
pronote_version:
  description: The PRONOTE.net server's version.
  returned: when the base answered
  type: str
block_version:
  description: The « Version » of the ENT's bloc PRONOTE.
  returned: when the service exists
  type: str
sign_on:
  description: The sign-on sample, C(ok) and C(failed).
  returned: when test accounts signed on
  type: dict
details:
  description: Path of the detail file written.
  returned: when O(details_dir) is set
  type: str
"""
