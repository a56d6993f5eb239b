"""Argument specs of the modules, shared by the action plugins and the tests.

The modules' DOCUMENTATION (``plugins/modules/``) describes the same options;
``tests/unit/test_docs.py`` checks that both agree.
"""
from __future__ import annotations

from ansible_collections.ent.pronote.plugins.module_utils._access import DEFAULT_PROFILES, PROFILES, ROLES, TARGET_LABELS
from ansible_collections.ent.pronote.plugins.module_utils._service import DEFAULT_LABEL, SSO_PRONOTE, SSO_TYPES

#: connection to an ENT project's console (action group ``ent.pronote.ent``)
CONSOLE_CONNECTION = {
    "console_url": {"type": "str", "required": True},
    "admin_login": {"type": "str", "required": True},
    "admin_password": {"type": "str", "required": True, "no_log": True},
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
    "retries": {"type": "int", "default": 3},
    "retry_time": {"type": "float", "default": 60.0},
    "session_cache": {"type": "bool", "default": True},
    "lock_timeout": {"type": "float", "default": 600.0},
    "cas_selection": {"type": "str"},
}

ENT_SERVICE = {
    **CONSOLE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "code": {"type": "str"},
    "sso_type": {"type": "str", "default": SSO_PRONOTE, "choices": list(SSO_TYPES)},
    "url": {"type": "str"},
    "xiti_type": {"type": "str", "default": "Services de vie scolaire"},
    "group": {"type": "str", "default": "Scolarité"},
    "show_block": {"type": "bool", "default": True},
    "block_version": {"type": "str"},
    "pronote_root": {"type": "str"},
    "pronote_ca_path": {"type": "path"},
    "pronote_cas_url": {"type": "str", "default": ""},
    "in_service_bar": {"type": "bool", "default": True},
    "label": {"type": "str", "default": DEFAULT_LABEL},
    "anonymous": {"type": "bool", "default": False},
    "allow_unsafe": {"type": "bool", "default": False},
}

_RULE = {
    "profile": {"type": "str", "required": True, "choices": list(PROFILES)},
    "target": {"type": "str", "default": "site", "choices": list(TARGET_LABELS)},
    "establishments": {"type": "list", "elements": "str"},
    "groups": {"type": "list", "elements": "str"},
    "role": {"type": "str", "default": ROLES[0], "choices": list(ROLES)},
    "subject": {"type": "str"},
    "function": {"type": "str"},
    "discipline": {"type": "str"},
}

ENT_SERVICE_ACCESS_RULES = {
    "profiles": {"type": "list", "elements": "str", "choices": list(PROFILES)},
    "rules": {"type": "list", "elements": "dict", "options": _RULE},
    "exclusive": {"type": "bool", "default": False},
}

ENT_SERVICE_ACCESS = {
    **CONSOLE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "code": {"type": "str"},
    "label": {"type": "str", "default": DEFAULT_LABEL},
    **ENT_SERVICE_ACCESS_RULES,
}
ENT_SERVICE_ACCESS_REQUIRED_ONE_OF = [["profiles", "rules"]]

#: ent_service's option ``access``: the population rules, in the same task
ENT_SERVICE["access"] = {"type": "dict", "options": ENT_SERVICE_ACCESS_RULES,
                         "required_one_of": ENT_SERVICE_ACCESS_REQUIRED_ONE_OF}

RUN_SUMMARY = {
    "results": {"type": "list", "elements": "str", "default": []},
    "hosts": {"type": "list", "elements": "str"},
    "kind": {"type": "str", "default": "rentree", "choices": ["rentree", "diagnostic", "preflight"]},
    "report_dir": {"type": "path"},
    "fail_on_failures": {"type": "bool", "default": True},
}

REPORT_MERGE = {
    "kind": {"type": "str", "default": "rentree", "choices": ["rentree", "diagnostic", "preflight"]},
    "report_dir": {"type": "path", "required": True},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "artifacts", "files"]},
    "artifacts": {"type": "dict"},
    "runs": {"type": "list", "elements": "str"},
    "hosts": {"type": "list", "elements": "str"},
}

ENT_IDENTIFIERS_IMPORT = {
    **CONSOLE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "src": {"type": "path", "required": True},
    "skip_missing": {"type": "bool", "default": False},
    "mode": {"type": "str", "default": "auto", "choices": ["auto", "complet", "partiel"]},
    "manual_matches": {"type": "path"},
    "assisted": {"type": "bool", "default": True},
    "max_removed_share": {"type": "float", "default": 0.10},
    "force": {"type": "bool", "default": False},
    "report": {"type": "path"},
    "max_file_size": {"type": "int", "default": 50 * 1024 * 1024},
    "reuse_verdict": {"type": "bool", "default": True},
    "rapprochement": {"type": "path"},
    "partner": {"type": "str"},
}

#: TLS and time limits of a PRONOTE.net server (no credential)
PRONOTE_CONNECTION = {
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
    "retries": {"type": "int", "default": 3},
    "retry_time": {"type": "float", "default": 60.0},
}

#: one établissement's PRONOTE.net base: its UAI and where it is (doc fragment ent.pronote.pronote_base)
PRONOTE_BASE = {
    **PRONOTE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "url": {"type": "str"},
    "pronote_root": {"type": "str"},
}

PRONOTE_INFO = dict(PRONOTE_BASE)

PRONOTE_DELEGATION = {
    **PRONOTE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "hosting_url": {"type": "str", "default": "https://hebergement.index-education.net/"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": True},
    "cas": {"type": "bool", "default": True},
    "project": {"type": "str"},
    "cas_url": {"type": "str"},
    "espaces_delegation": {"type": "dict"},
    "published_espaces": {"type": "list", "elements": "str"},
    "racine": {"type": "str", "default": "Pronote"},
    "published": {"type": "bool", "default": True},
    "lock_timeout": {"type": "float", "default": 600.0},
}

#: the test accounts of a sign-on check
SSO_ACCOUNT = {
    "profile": {"type": "str", "required": True},
    "login": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "name": {"type": "str"},
}

CAS_SSO_CHECK = {
    **PRONOTE_BASE,
    "cas_url": {"type": "str", "required": True},
    "cas_selection": {"type": "str"},
    "accounts": {"type": "list", "elements": "dict", "required": True, "options": SSO_ACCOUNT},
    "fail_on_error": {"type": "bool", "default": True},
}

#: ent.pronote.pronote_diagnose: the ENT console (action group ent), the base, the hosting console, the file
PRONOTE_DIAGNOSE = {
    **CONSOLE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "url": {"type": "str"},
    "pronote_root": {"type": "str"},
    "pronote_ca_path": {"type": "path"},
    "cas_url": {"type": "str", "required": True},
    "hosting_url": PRONOTE_DELEGATION["hosting_url"],
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": True},
    "code": {"type": "str"},
    "label": {"type": "str", "default": DEFAULT_LABEL},
    "profiles": {"type": "list", "elements": "str", "choices": list(PROFILES), "default": list(DEFAULT_PROFILES)},
    "identifiers_src": {"type": "path"},
    "manual_matches": {"type": "path"},
    "assisted": {"type": "bool", "default": True},
    "max_file_size": ENT_IDENTIFIERS_IMPORT["max_file_size"],
    "max_unrecognised_share": {"type": "float", "default": 0.10},
    "accounts": {"type": "list", "elements": "dict", "default": [], "options": SSO_ACCOUNT},
    "details_dir": {"type": "path"},
}

#: ent.pronote.ent_preflight: every screen the rentrée uses, opened and checked, nothing changed
ENT_PREFLIGHT = {
    **CONSOLE_CONNECTION,
    "uai": {"type": "str", "required": True},
    "scope": {"type": "str", "default": "first", "choices": ["first", "all"]},
    "code": {"type": "str"},
    "label": {"type": "str", "default": DEFAULT_LABEL},
    "url": {"type": "str"},
    "pronote_root": {"type": "str"},
    "pronote_ca_path": {"type": "path"},
    "hosting_url": PRONOTE_DELEGATION["hosting_url"],
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": True},
}
