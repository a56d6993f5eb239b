"""The modules' DOCUMENTATION agrees with the argument specs of _specs.py, and meta/runtime.yml with both."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.ent.pronote.plugins.module_utils import _specs

REPO = Path(__file__).resolve().parents[2]
SPECS = {
    "ent_service": _specs.ENT_SERVICE,
    "ent_service_access": _specs.ENT_SERVICE_ACCESS,
    "run_summary": _specs.RUN_SUMMARY,
    "report_merge": _specs.REPORT_MERGE,
    "ent_identifiers_import": _specs.ENT_IDENTIFIERS_IMPORT,
    "pronote_info": _specs.PRONOTE_INFO,
    "pronote_delegation": _specs.PRONOTE_DELEGATION,
    "cas_sso_check": _specs.CAS_SSO_CHECK,
    "pronote_diagnose": _specs.PRONOTE_DIAGNOSE,
    "ent_preflight": _specs.ENT_PREFLIGHT,
}
PASSWORD_WORDS = ("password", "passwd", "secret", "token", "pass_phrase", "passphrase", "api_key", "client_key")


def module_names() -> list[str]:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def documentation(module: str) -> dict:
    """DOCUMENTATION of a module, with the options of its ent.pronote doc fragments merged in."""
    doc = yaml.safe_load(importlib.import_module(f"ansible_collections.ent.pronote.plugins.modules.{module}").DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        assert fragment.startswith("ent.pronote."), f"{module}: unknown fragment {fragment}"
        name = fragment.split(".", 2)[2]
        frag = importlib.import_module(f"ansible_collections.ent.pronote.plugins.doc_fragments.{name}")
        for key, value in (yaml.safe_load(frag.ModuleDocFragment.DOCUMENTATION).get("options") or {}).items():
            assert key not in options, f"{module}: option {key} documented twice"
            options[key] = value
    doc["options"] = options
    return doc


def same_value(documented, specified) -> bool:
    """Equal as Ansible means it: 30 and 30.0 are the same default, 1 and True are not."""
    if isinstance(documented, bool) or isinstance(specified, bool):
        return documented is specified
    return documented == specified


def mismatches(doc_options: dict, spec: dict, where: str) -> list[str]:
    """Every difference between documented options and an argument spec."""
    out = []
    for name in sorted(set(doc_options) - set(spec)):
        out.append(f"{where}{name}: documented but not in the spec")
    for name in sorted(set(spec) - set(doc_options)):
        out.append(f"{where}{name}: in the spec but not documented")
    for name in sorted(set(doc_options) & set(spec)):
        doc, arg = doc_options[name] or {}, spec[name]
        checks = {
            "type": (doc.get("type", "str"), arg.get("type", "str")),
            "required": (doc.get("required", False), arg.get("required", False)),
            "default": (doc.get("default"), arg.get("default")),
            "choices": (doc.get("choices"), arg.get("choices")),
            "elements": (doc.get("elements"), arg.get("elements")),
        }
        for key, (documented, specified) in checks.items():
            if not same_value(documented, specified):
                out.append(f"{where}{name}: {key} documented {documented!r}, spec {specified!r}")
        if not doc.get("description"):
            out.append(f"{where}{name}: no description")
        if "options" in arg or "suboptions" in doc:
            out.extend(mismatches(doc.get("suboptions") or {}, arg.get("options") or {}, f"{where}{name}."))
    return out


@pytest.mark.parametrize("module", sorted(SPECS))
def test_every_spec_has_its_module(module):
    assert module in module_names()


def test_every_module_has_a_spec():
    assert module_names() == sorted(SPECS)


@pytest.mark.parametrize("module", sorted(SPECS))
def test_documentation_matches_the_spec(module):
    doc = documentation(module)
    assert doc["module"] == module
    assert mismatches(doc["options"], SPECS[module], "") == []


@pytest.mark.parametrize("module", sorted(SPECS))
def test_action_plugin_uses_the_spec(module):
    action = importlib.import_module(f"ansible_collections.ent.pronote.plugins.action.{module}")
    assert action.ActionModule.ARGUMENT_SPEC is SPECS[module]


def test_access_module_requires_profiles_or_rules():
    from ansible_collections.ent.pronote.plugins.action import ent_service_access

    assert ent_service_access.ActionModule.REQUIRED_ONE_OF == [["profiles", "rules"]]


def _no_log_options(spec: dict, prefix: str = ""):
    for name, arg in spec.items():
        yield prefix + name, name, arg
        if "options" in arg:
            yield from _no_log_options(arg["options"], prefix + name + ".")


@pytest.mark.parametrize("module", sorted(SPECS))
def test_no_log_options_are_documented_as_passwords(module):
    doc_options = documentation(module)["options"]
    for path, name, arg in _no_log_options(SPECS[module]):
        looks_secret = any(word in name.lower() for word in PASSWORD_WORDS)
        if arg.get("no_log"):
            assert looks_secret, f"{module}: {path} is no_log but is not named like a password"
            documented = doc_options
            for part in path.split(".")[:-1]:
                documented = documented[part]["suboptions"]
            described = documented[name]["description"]
            text = " ".join(described) if isinstance(described, list) else described
            assert "never logged" in text.lower() or "no_log" in text.lower(), \
                f"{module}: {path} is no_log but its documentation does not say it is never logged"
            # a secret, or the path of a private key file
            assert documented[name]["type"] == ("path" if name.endswith("_key") else "str")
        elif looks_secret:
            pytest.fail(f"{module}: {path} looks like a secret but is not no_log")


def test_the_connection_password_is_no_log():
    assert _specs.CONSOLE_CONNECTION["admin_password"].get("no_log") is True


def test_mismatches_finds_differences():
    # The checker itself: each kind of difference is reported.
    doc = {"a": {"description": "x", "type": "int", "default": 3},
           "b": {"description": "x", "type": "str", "choices": ["x", "y"]},
           "c": {"description": "x", "type": "list", "elements": "str"},
           "d": {"description": "x", "type": "bool", "default": 1},
           "e": {"description": "x", "type": "list", "elements": "dict",
                 "suboptions": {"p": {"description": "x", "required": True}}},
           "only_doc": {"description": "x"}}
    spec = {"a": {"type": "int", "default": 4}, "b": {"type": "str", "choices": ["y", "x"]},
            "c": {"type": "list", "elements": "int"}, "d": {"type": "bool", "default": True},
            "e": {"type": "list", "elements": "dict", "options": {"p": {"type": "str"}, "q": {"type": "str"}}},
            "only_spec": {"type": "str"}}
    found = mismatches(doc, spec, "")
    assert found == [
        "only_doc: documented but not in the spec",
        "only_spec: in the spec but not documented",
        "a: default documented 3, spec 4",
        "b: choices documented ['x', 'y'], spec ['y', 'x']",
        "c: elements documented 'str', spec 'int'",
        "d: default documented 1, spec True",
        "e.q: in the spec but not documented",
        "e.p: required documented True, spec False",
    ]


# --- meta/runtime.yml -------------------------------------------------------------------
def connection_modules() -> list[str]:
    return sorted(m for m, spec in SPECS.items() if set(_specs.CONSOLE_CONNECTION) <= set(spec))


def test_runtime_action_group_lists_the_console_modules():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert sorted(runtime["action_groups"]["ent"]) == connection_modules() == [
        "ent_identifiers_import", "ent_preflight", "ent_service", "ent_service_access", "pronote_diagnose"]
    assert len(runtime["action_groups"]["ent"]) == len(set(runtime["action_groups"]["ent"]))


@pytest.mark.parametrize("module", sorted(SPECS))
def test_action_group_membership_is_documented(module):
    attributes = documentation(module).get("attributes") or {}
    membership = (attributes.get("action_group") or {}).get("membership") or []
    expected = ["ent.pronote.ent"] if module in connection_modules() else []
    assert membership == expected


@pytest.mark.parametrize("module", sorted(SPECS))
def test_pronote_modules_document_their_connection_fragment(module):
    fragments = documentation(module).get("extends_documentation_fragment") or []
    reaches_pronote = set(_specs.PRONOTE_CONNECTION) <= set(SPECS[module]) and module not in connection_modules()
    assert ("ent.pronote.pronote_connection" in fragments) == reaches_pronote


@pytest.mark.parametrize("module", sorted(SPECS))
def test_connection_fragment_exactly_for_console_modules(module):
    fragments = documentation(module).get("extends_documentation_fragment") or []
    assert ("ent.pronote.ent_connection" in fragments) == (module in connection_modules())


def _descriptions(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "short_description"):
                yield f"{path}.{key}", value
            yield from _descriptions(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _descriptions(item, path)


@pytest.mark.parametrize("module", sorted(SPECS))
def test_descriptions_are_text(module):
    # A ": " in a plain YAML list item makes it a mapping, which ansible-doc cannot show.
    mod = importlib.import_module(f"ansible_collections.ent.pronote.plugins.modules.{module}")
    for part in ("DOCUMENTATION", "RETURN"):
        for path, value in _descriptions(yaml.safe_load(getattr(mod, part))):
            items = value if isinstance(value, list) else [value]
            assert all(isinstance(item, str) for item in items), f"{module} {part}{path}: {value!r}"
