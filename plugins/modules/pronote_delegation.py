#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.pronote_delegation; the code is in plugins/action/pronote_delegation.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: pronote_delegation
short_description: CAS delegation and publication of a PRONOTE.net base in the hosting console
version_added: 0.3.0
description:
  - Step 1 of the vendor's guide, in the PRONOTE.net hosting console (client certificate);
    I(Déléguer l'authentification) (I(Définir une délégation CAS), the I(Projet ENT) whose CAS URL fills in,
    the delegation per espace), I(Paramètres de publication) (the I(Racine), the published espaces), and
    I(Publier la base).
  - Settings can only change while the base is not published. When something differs, the module
    stops the publication, saves what differs and publishes again; it publishes again even when a step in the
    middle fails, so a school's PRONOTE.net is never left offline. A run cut in the middle is finished by the
    next attempt or the next run.
  - With O(project), the console fills in the project's CAS URL; when O(cas_url) is also given, the module
    checks that it is that URL and fails otherwise (the ENT would then not be the CAS of PRONOTE.net).
extends_documentation_fragment:
  - ent.pronote.pronote_connection
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Reads the console and predicts the settings; publishes and saves nothing.
  diff_mode:
    support: full
    description: Shows what changed, or would change in check mode, in diff mode.
options:
  uai:
    description: UAI of the établissement.
    type: str
    required: true
  hosting_url:
    description: Address of the hosting console.
    type: str
    default: https://hebergement.index-education.net/
  client_cert:
    description:
      - The client certificate (PEM) Index Éducation issued for the hosting console.
      - Without it the module changes nothing and returns C(skipped) with RV(not_done), which
        ent.pronote.run_summary lists as not done.
    type: path
  client_key:
    description:
      - Its private key (PEM), when not in O(client_cert). Keep it in a file readable by you only.
      - The option is no_log, never logged.
    type: path
  cas:
    description: I(Définir une délégation CAS).
    type: bool
    default: true
  project:
    description:
      - The I(Projet ENT) to pick in the console's list, whose CAS URL fills in (see the vendor's table).
      - Without it, O(cas_url) is typed in with the project I(Autre).
    type: str
  cas_url:
    description:
      - The CAS URL of the ENT. With O(project), the URL the console must fill in; alone, the URL typed in.
    type: str
  espaces_delegation:
    description:
      - 'Delegation per espace, C(CAS), C(Ws-Federation) or C(Aucune), for example C({"Espace Académie": Aucune}).'
      - With O(cas=true) every espace not named here is delegated to C(CAS), as the guide's table shows.
    type: dict
  published_espaces:
    description:
      - The espaces to publish (I(Page commune) included); the others are not published. Unset, left as they are.
    type: list
    elements: str
  racine:
    description: The I(Racine) of I(Paramètres de publication). It must be C(Pronote) (FAQ).
    type: str
    default: Pronote
  published:
    description: Whether the base ends published (I(Publier la base)).
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait while another run (on this controller) changes the same base in the hosting console.
        A run takes a lock per hosting console and établissement around its read-compare-change cycle.
      - When the wait is over, this établissement fails with "another run is working on it" and nothing is changed.
    type: float
    version_added: 0.4.0
    default: 600
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Delegate PRONOTE.net to the ENT's CAS
  ent.pronote.pronote_delegation:
    uai: "{{ inventory_hostname }}"
    client_cert: "{{ pronote_hosting_cert }}"
    client_key: "{{ pronote_hosting_key }}"
    project: Mon Bureau Numérique
    cas_url: https://cas.monbureaunumerique.fr
"""

RETURN = r"""
base:
  description: The base's settings after the run (predicted in check mode).
  returned: success
  type: dict
  sample: {"published": true, "cas": true, "project": "Mon Bureau Numérique",
           "cas_url": "https://cas.monbureaunumerique.fr", "delegation": {"Espace Elèves": "CAS"},
           "racine": "Pronote", "espaces": {"Espace Elèves": true}}
not_done:
  description: Why the delegation was not checked (no client certificate), in French, for the run's summary.
  returned: when skipped
  type: str
retries:
  description: How many attempts failed transiently before the run succeeded.
  returned: when an attempt failed
  type: int
republished:
  description:
    - An earlier run of this controller was stopped (killed) while the base was unpublished to change its
      settings; this run published it again before anything else.
  returned: when it happened
  type: bool
"""
