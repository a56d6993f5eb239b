#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.cas_sso_check; the code is in plugins/action/cas_sso_check.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: cas_sso_check
short_description: Sign on through the ENT's CAS into PRONOTE, as a test account per profile
version_added: 0.3.0
description:
  - For each test account, in a fresh browser session, opens the PRONOTE espace of its profile as the ENT's
    tile does, signs in at the ENT's CAS, follows the redirects, and confirms the landing in that espace,
    as that person when O(accounts[].name) is given.
  - Reads C(infoMobileApp.json) first, so that what is visible without signing in (base not published, CAS
    off or pointing elsewhere, espace not published or not delegated) is found without a sign-in.
  - A failure is classified with the support FAQ's causes, each with a stable code, what is wrong and what
    to do (in French). The codes are C(base_introuvable), C(base_non_publiee), C(cas_inactif), C(url_cas),
    C(espace_non_publie), C(espace_sans_delegation), C(compte_test), C(cas_sans_comptes_locaux),
    C(cas_erreur_http) (the CAS answered an HTTP error; its status, the step and the URL are named),
    C(sans_idpronote), C(identification_impossible), C(acces_espace_refuse), C(ticket_invalide) (the CAS refused
    the ticket PRONOTE.net presented), C(cas_injoignable) (PRONOTE.net got no answer from the CAS when
    validating), C(mauvaise_personne), C(tls), C(reseau), C(page_inattendue).
  - Tickets and passwords never appear in the output.
extends_documentation_fragment:
  - ent.pronote.pronote_connection
  - ent.pronote.pronote_base
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: none
    description: A sign-on stores the account's I(Identifiant CAS) in PRONOTE the first time; skipped in check mode.
  diff_mode:
    support: none
    description: Shows no difference in diff mode.
options:
  cas_url:
    description: The ENT's CAS URL; PRONOTE.net must redirect there.
    type: str
    required: true
  cas_selection:
    description:
      - The identity source of the ENT's own accounts on a K-d'école CAS (the C(selection) parameter of its
        address, for example C(TOULO-ENT_parent_eleve)); added to the CAS login address PRONOTE.net sends to.
      - Without it, when the CAS shows its page where the user picks an identity source, the check follows the
        source whose label says it is the ENT's accounts. A CAS that offers only EduConnect (or agents) fails
        with C(cas_sans_comptes_locaux), since a test account must be a local ENT account.
    type: str
    version_added: 0.4.0
  accounts:
    description: The test accounts, one per profile to check. Keep their passwords in ansible-vault.
    type: list
    elements: dict
    required: true
    suboptions:
      profile:
        description: The ENT profile, C(Elève), C(Parent), C(Enseignant), C(Personnel), C(Maître de stage) or C(Inspecteur).
        type: str
        required: true
      login:
        description: The account's ENT login.
        type: str
        required: true
      password:
        description: Its password (no_log, never logged).
        type: str
        required: true
      name:
        description: The name PRONOTE must show once signed in (C(NOM Prénom)), compared without accents or case.
        type: str
  fail_on_error:
    description: Fail the task when a sign-on fails (the checks are in the result either way).
    type: bool
    default: true
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A pupil, a parent and a teacher sign on into PRONOTE
  ent.pronote.cas_sso_check:
    uai: "{{ inventory_hostname }}"
    cas_url: "{{ ent_cas_url }}"
    accounts: "{{ pronote_sso_test_accounts }}"
"""

RETURN = r"""
url:
  description: The base's address.
  returned: always
  type: str
checks:
  description: One per test account, with C(profile), C(espace), C(ok), C(code), C(cause), C(fix) and C(detail)
    (what went wrong, technically, when an error rather than a page says it; tickets removed).
  returned: success
  type: list
  elements: dict
  sample: [{"profile": "Elève", "espace": "Espace Elèves", "ok": false, "code": "sans_idpronote",
            "cause": "Échec de l'authentification par le serveur CAS …", "fix": "Importer les identifiants …"}]
ok:
  description: Number of test accounts that landed in their espace.
  returned: success
  type: int
failed:
  description: Whether a sign-on failed and O(fail_on_error) is true.
  returned: always
  type: bool
version:
  description: The PRONOTE.net server's version.
  returned: when the base answered
  type: str
"""
