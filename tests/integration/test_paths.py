"""Relative input files are found as Ansible's own modules find ``src``: beside the playbook or the role."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from _harness import ROOT, Sandbox, run_playbook

from ansible_collections.ent.pronote.plugins.module_utils import _specs
from ansible_collections.ent.pronote.plugins.plugin_utils._action import INPUT_FILES

#: options naming a file a module writes: relative to the current directory, never searched
OUTPUT_FILES = {"report", "report_dir", "rapprochement", "details_dir"}


def test_every_path_option_is_an_input_or_an_output() -> None:
    paths = {name for spec in vars(_specs).values() if isinstance(spec, dict)
             for name, body in spec.items() if isinstance(body, dict) and body.get("type") == "path"}
    assert paths == set(INPUT_FILES) | OUTPUT_FILES


def test_a_relative_ca_file_beside_the_playbook_is_found(sandbox: Sandbox, tmp_path: Path) -> None:
    """Run from the repository root, a playbook elsewhere names its CA file relative to itself (files/)."""
    project = tmp_path / "project"
    (project / "files").mkdir(parents=True)
    shutil.copy(sandbox.ca, project / "files" / "autorite.pem")
    uai = sorted(sandbox.hosts())[0]
    play = [{"name": "relative input", "hosts": uai, "gather_facts": False, "connection": "local", "tasks": [
        {"name": "read PRONOTE.net", "register": "info", "ent.pronote.pronote_info": {
            "uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}", "ca_path": "autorite.pem"}},
        {"name": "published", "ansible.builtin.assert": {"that": ["info.published is defined"]}},
        {"name": "a file found nowhere is still refused, named", "register": "missing", "ignore_errors": True,
         "ent.pronote.pronote_info": {"uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}",
                                      "ca_path": "absente.pem"}},
        {"name": "refused", "ansible.builtin.assert": {"that": ["missing is failed", "'absente.pem' in missing.msg"]}},
    ]}]
    playbook = project / "site.yml"
    playbook.write_text(yaml.safe_dump(play, allow_unicode=True, sort_keys=False))
    run = run_playbook(sandbox, tmp_path, playbook)
    assert run.rc == 0, run.stdout[-3000:]
    assert str(ROOT) != str(project)
