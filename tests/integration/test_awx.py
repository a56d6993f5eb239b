"""The rentrée as AWX runs it: ansible-runner, a private data dir, an inventory imported into a database,
credentials injected (docs/awx.md), the collection installed from its tarball. Same result as `make demo`."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from _harness import ADMIN_PASSWORD, ANSIBLE_PLAYBOOK, PYTHON, ROOT, Sandbox, run_with_runner, running_sandbox

AWX = ROOT / "docs" / "awx"
DEMO = ROOT / "inventories" / "demo"
#: what AWX puts in every job's environment (besides its callback, which ansible-runner sets)
AWX_ENV = {"AWX_HOST": "https://awx.invalid", "JOB_ID": "42", "INVENTORY_ID": "7", "PROJECT_REVISION": "main",
           "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_HOST_KEY_CHECKING": "False",
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False"}
#: ... and in its extra vars
AWX_EXTRA_VARS = {"awx_job_id": 42, "tower_job_id": 42, "awx_job_template_name": "Rentrée PRONOTE",
                  "awx_user_name": "admin", "awx_inventory_name": "Région"}


def credential_type(name: str) -> dict[str, Any]:
    return yaml.safe_load((AWX / f"credential-type-{name}.yml").read_text(encoding="utf-8"))


def inject(ctype: dict[str, Any], inputs: dict[str, str], private_data_dir: Path) -> dict[str, Any]:
    """A credential's extra vars, as AWX renders its type's injectors (files private to the job)."""
    fields = {f["id"] for f in ctype["inputs"]["fields"]}
    assert set(inputs) <= fields and set(ctype["inputs"].get("required", [])) <= set(inputs)
    render = jinja2.Environment(undefined=jinja2.StrictUndefined)
    files: dict[str, str] = {}
    for key, template in ctype["injectors"].get("file", {}).items():
        path = private_data_dir / "env" / f"credential_{key.split('.', 1)[-1]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render.from_string(template).render(**inputs))
        path.chmod(0o600)
        files[key.split(".", 1)[-1]] = str(path)
    tower = {"filename": files}
    return {k: render.from_string(v).render(**inputs, tower=tower) for k, v in ctype["injectors"]["extra_vars"].items()}


def awx_inventory(env: dict[str, str], private_data_dir: Path, *, drop: set[str]) -> Path:
    """The demo inventory as AWX holds it: imported with ``ansible-inventory --list`` (variables kept as
    written, templates unrendered), then fed to the job from another directory, secrets left to credentials."""
    listed = subprocess.run([str(Path(ANSIBLE_PLAYBOOK).with_name("ansible-inventory")), "-i", str(DEMO), "--list", "--export"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    data = json.loads(listed.stdout)
    for host_vars in data["_meta"]["hostvars"].values():
        for name in drop:
            host_vars.pop(name, None)
    for group in data.values():
        if isinstance(group, dict):
            for name in drop:
                group.get("vars", {}).pop(name, None)
    # AWX hands the job its inventory as an executable that prints this JSON
    stored = private_data_dir / "inventory-database.json"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(data, ensure_ascii=False))
    inventory = private_data_dir / "inventory" / "hosts"
    inventory.parent.mkdir(parents=True, exist_ok=True)
    inventory.write_text(f"#!{PYTHON}\nimport sys\nsys.stdout.write(open({str(stored)!r}).read())\n")
    inventory.chmod(0o755)
    return inventory


@pytest.fixture(scope="module")
def demo_region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A fresh region seeded as `make demo` seeds it (seed 42, 6 établissements)."""
    with running_sandbox(tmp_path_factory.mktemp("awx"), seed=42, etabs=6) as box:
        yield box


def test_the_injectors_set_the_variables_the_playbooks_read() -> None:
    read = " ".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("playbooks/*.yml"),
                                                              *ROOT.glob("roles/*/tasks/*.yml")])
    for name in ("ent-admin", "pronote-hosting"):
        for var in credential_type(name)["injectors"]["extra_vars"]:
            assert re.search(rf"\b{var}\b", read), (name, var)


def test_the_example_inventory_does_not_depend_on_where_the_inventory_is(tmp_path: Path) -> None:
    """In AWX the inventory comes from a database, through a temporary directory: no path from inventory_dir."""
    example = ROOT / "inventories" / "example"
    for path in example.rglob("*.yml"):
        assert "inventory_dir" not in path.read_text(encoding="utf-8"), path
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("exemple-a-changer\n")
    ansible = str(Path(ANSIBLE_PLAYBOOK).with_name("ansible"))
    env = {**os.environ, "ENT_PRONOTE_DATA": "/volume/ent-pronote", "ANSIBLE_NOCOLOR": "1"}
    out = subprocess.run([ansible, "-i", str(example), "0671632K", "-m", "ansible.builtin.debug", "-a",
                          json.dumps({"msg": "{{ ent_identifiers_dir }} {{ ent_identifiers_report_dir }}"}),
                          "--vault-password-file", str(vault_pass)], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "/volume/ent-pronote/files/identifiants /volume/ent-pronote/reports" in out, out


def test_the_rentree_through_ansible_runner_gives_what_make_demo_gives(demo_region: Sandbox, tmp_path: Path) -> None:
    box = demo_region
    # what `make demo` exports to ansible-playbook; in AWX: the job's environment (a credential's env injector)
    demo_env = {"ENT_SANDBOX_URL": box.url, "ENT_SANDBOX_DIR": str(box.state_dir),
                "ENT_SANDBOX_HOSTING_URL": box.hosting_url}
    # the collection as the execution environment holds it: installed from its tarball, not the checkout
    collections = tmp_path / "ee-collections"
    galaxy = str(Path(ANSIBLE_PLAYBOOK).with_name("ansible-galaxy"))
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    subprocess.run([galaxy, "collection", "install", "--force", "-p", str(collections),
                    str(next((tmp_path / "dist").glob("ent-pronote-*.tar.gz")))], check=True, capture_output=True,
                   cwd=tmp_path)
    volume = tmp_path / "volume"  # the persistent volume mounted in the job's container (docs/awx.md)
    pem = (box.state_dir / "client.pem").read_text()
    key = (box.state_dir / "client.key").read_text()

    stats: dict[str, dict[str, int]] = {}
    for project in ("ent_mbn", "ent_occitanie"):  # one job template per ENT project, each with its credential
        pdd = tmp_path / f"job-{project}"
        inventory = awx_inventory({**os.environ, **demo_env}, pdd,
                                  drop={"ent_admin_password", "pronote_hosting_cert", "pronote_hosting_key"})
        extra = {**AWX_EXTRA_VARS,
                 **inject(credential_type("ent-admin"), {"login": box.group_vars(project)["ent_admin_login"],
                                                         "password": ADMIN_PASSWORD}, pdd),
                 **inject(credential_type("pronote-hosting"), {"certificate": pem, "key": key}, pdd),
                 # the job template's extra vars: where the files and reports are in the container
                 "ent_identifiers_dir": str(box.state_dir / "identifiants"),
                 "ent_pronote_report_dir": str(volume / "rapports"),
                 "ent_identifiers_report_dir": str(volume / "rapprochements")}
        run = run_with_runner(pdd, "playbooks/rentree.yml", inventory=inventory, extravars=extra,
                              project_dir=ROOT, limit=project,
                              envvars={**AWX_ENV, **demo_env, "ANSIBLE_COLLECTIONS_PATH": str(collections)})
        assert run.rc == 0 and run.status == "successful", run.stdout[-4000:]
        # the roles' tasks came from the installed collection, not from the checkout
        paths = {e["event_data"].get("task_path", "") for e in run.events if e.get("event") == "runner_on_ok"}
        assert any(p.startswith(str(collections)) for p in paths) and not any(p.startswith(str(ROOT)) and
                                                                             "/roles/" in p for p in paths), paths
        assert ADMIN_PASSWORD not in run.stdout and "PRIVATE KEY" not in run.stdout
        stats.update(run.stats())
        key_file = pdd / "env" / "credential_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    assert set(stats) == set(box.hosts())
    assert all(s["failures"] == 0 and s["dark"] == 0 and s["changed"] > 0 for s in stats.values()), stats
    # the report of the last job (its project's établissements), on the volume
    report = json.loads((volume / "rapports" / "rapport-rentree.json").read_text(encoding="utf-8"))
    assert {e["uai"]: e["status"] for e in report["etablissements"]} == {
        uai: "changed" for uai in box.hosts("ent_occitanie")}

    # `make demo` now: the same playbook, inventory and environment through ansible-playbook changes nothing
    env = {**os.environ, **demo_env, "ANSIBLE_NOCOLOR": "1", "ENT_PRONOTE_CACHE_DIR": str(tmp_path / "cache"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")}
    env.pop("ANSIBLE_CONFIG", None)
    demo = subprocess.run([ANSIBLE_PLAYBOOK, "playbooks/rentree.yml", "-i", "inventories/demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout[-4000:]
    recap = re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", demo.stdout, re.M)
    assert {h for h, _ in recap} == set(box.hosts()) and all(c == "0" for _, c in recap), demo.stdout[-4000:]
    assert "6 inchangés" in demo.stdout


def test_a_credential_not_attached_fails_each_etablissement_naming_the_variable(demo_region: Sandbox,
                                                                                tmp_path: Path) -> None:
    """The job template without its ENT credential: every établissement of the job fails on its own host, the
    reason names the variable, and the summary still runs over them all."""
    box = demo_region
    demo_env = {"ENT_SANDBOX_URL": box.url, "ENT_SANDBOX_DIR": str(box.state_dir),
                "ENT_SANDBOX_HOSTING_URL": box.hosting_url}
    pdd = tmp_path / "job"
    inventory = awx_inventory({**os.environ, **demo_env}, pdd, drop={"ent_admin_password"})
    run = run_with_runner(pdd, "playbooks/rentree.yml", inventory=inventory, project_dir=ROOT, limit="ent_mbn",
                          extravars={**AWX_EXTRA_VARS, "ent_pronote_report_dir": str(tmp_path / "rapports")},
                          envvars={**AWX_ENV, **demo_env})
    assert run.rc != 0 and run.status == "failed"
    failed = {h for h, s in run.stats().items() if s["failures"]}
    assert failed == set(box.hosts("ent_mbn")), run.stdout[-3000:]
    text = " ".join(run.stdout.split())
    for uai in failed:
        at = text.index(f"ÉCHEC {uai}")
        assert "ent_admin_password" in text[at:at + 400], text[at:at + 400]
    assert f"Rentrée PRONOTE : {len(failed)} établissement(s)" in text
