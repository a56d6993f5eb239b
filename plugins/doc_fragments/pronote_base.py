"""Documentation of the options naming one établissement's PRONOTE.net base."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  uai:
    description: UAI of the établissement.
    type: str
    required: true
  url:
    description: Address of the PRONOTE.net base. Defaults to C(https://<uai>.index-education.net/pronote/).
    type: str
  pronote_root:
    description:
      - Where the bases are when not at Index Éducation (the sandbox); the address becomes
        C(<pronote_root><uai>/pronote/).
    type: str
"""
