#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.pronote_info; the code is in plugins/action/pronote_info.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: pronote_info
short_description: What a PRONOTE.net server says about itself, without any credential
version_added: 0.3.0
description:
  - Reads C(infoMobileApp.json) of an établissement's PRONOTE.net base, the address the PRONOTE mobile
    application starts from. It gives the server's version, whether CAS delegation is on and its URL, and the
    published espaces with their delegation.
  - Read-only and credential-free, one request per établissement, so fast enough to sweep a whole region.
  - A base that is not published reads as RV(published=false); an address where no base answers
    (a racine other than C(Pronote)) fails.
extends_documentation_fragment:
  - ent.pronote.pronote_connection
  - ent.pronote.pronote_base
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Shows no difference in diff mode.
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Versions and CAS delegation of every PRONOTE.net server of the region
  ent.pronote.pronote_info:
    uai: "{{ inventory_hostname }}"
  register: pronote

- name: The bloc PRONOTE version the ENT service needs
  ansible.builtin.debug:
    msg: "{{ pronote.block_version }}"
"""

RETURN = r"""
url:
  description: The base's address.
  returned: success
  type: str
published:
  description: Whether the base is published (an unpublished base says nothing else).
  returned: success
  type: bool
name:
  description: The établissement's name as PRONOTE.net shows it.
  returned: success
  type: str
version:
  description: The server's version (year.minor.patch); empty when not published.
  returned: success
  type: str
  sample: 2024.3.2
block_version:
  description: The I(Version) the ENT's bloc PRONOTE must have for this server.
  returned: success
  type: str
  sample: PRONOTE 2024
cas:
  description: CAS delegation, C(active) and C(url).
  returned: success
  type: dict
  sample: {"active": true, "url": "https://cas.monbureaunumerique.fr"}
espaces:
  description: The published espaces, each with C(name) and C(cas) (delegated to CAS).
  returned: success
  type: list
  elements: dict
"""
