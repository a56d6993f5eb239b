"""A library of requirements.txt missing beside ansible-core: the task says so, the run goes on.

Ansible imports action plugins in the controller's process, so an unguarded
``import lxml`` in module_utils used to end the whole run with "Unexpected
Exception, this is probably a bug". The library is made missing here by a
package of the same name, first on PYTHONPATH, whose import fails as a
missing one does.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from _harness import ANSIBLE_PLAYBOOK, ROOT

PLAY = [{
    "name": "a module of the collection, then another task",
    "hosts": "all", "gather_facts": False, "connection": "local",
    "tasks": [
        # nothing listens on port 1: reaching the network at all would fail differently
        {"name": "read PRONOTE.net", "ent.pronote.pronote_info": {"url": "https://127.0.0.1:1/pronote/"},
         "when": "inventory_hostname != 'localhost'"},
        {"name": "the run goes on", "ansible.builtin.debug": {"msg": "la suite"}},
    ],
}]


@pytest.mark.parametrize("library", ["lxml", "requests"])
def test_a_missing_library_fails_the_task_with_missing_required_lib(library: str, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / library
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{library}'\", name='{library}')\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"0671632K": {}, "0672345K": {}, "localhost": {}}}}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PYTHONPATH": str(tmp_path / "shadow"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook), "-i", str(inventory)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert "Unexpected Exception" not in out and "Traceback" not in proc.stderr, out[-3000:]
    assert proc.returncode == 2, out[-3000:]  # hosts failed, not a crash (1/250)
    assert f"Failed to import the required Python library ({library})" in out, out[-3000:]
    for host in ("0671632K", "0672345K"):
        assert f"fatal: [{host}]: FAILED!" in out
    assert "la suite" in out  # the other host went on
