"""The inventory plugin ent.pronote.etablissements against the sandbox: the same region as the sandbox's
generated inventory, a console down, and the rentrée run on it."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from _harness import ADMIN_PASSWORD, PYTHON, ROOT, Sandbox, run_playbook, running_sandbox, sandbox_cli

ANSIBLE_INVENTORY = str(Path(PYTHON).with_name("ansible-inventory"))
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("inventory-plugin"), seed=7, etabs=6) as box:
        yield box


def write_source(box: Sandbox, where: Path, down: str | None = None, region_files: bool = True,
                 **extra: object) -> Path:
    """A region's directory: ``region.ent.yml`` naming the sandbox's projects, and the region's own files beside
    it (``group_vars/all.yml`` and the test accounts of ``host_vars/``, as the generated inventory has them).
    ``down``: the slug of a project whose console is given at a port where nothing listens."""
    where.mkdir(parents=True, exist_ok=True)
    if region_files:
        (where / "group_vars").mkdir(exist_ok=True)
        shutil.copy(box.inventory / "group_vars" / "all.yml", where / "group_vars" / "all.yml")
        shutil.copytree(box.inventory / "host_vars", where / "host_vars", dirs_exist_ok=True)
    projects = []
    for group in sorted(p.stem for p in (box.inventory / "group_vars").glob("ent_*.yml")):
        generated = box.group_vars(group)
        slug = group[len("ent_"):]
        console = generated["ent_console_url"]
        if slug == down:
            console = f"https://127.0.0.1:{free_port()}/{slug}/"
        project = {"slug": slug, "name": generated["ent_project"], "console_url": console,
                   "cas_url": generated["ent_cas_url"], "admin_login": generated["ent_admin_login"],
                   "admin_password": "{{ lookup('ansible.builtin.env', 'ENT_TEST_ADMIN_PASSWORD') }}",
                   "ca_path": box.ca,
                   "vars": {"pronote_root": generated["pronote_root"],
                            "pronote_hosting_url": generated["pronote_hosting_url"]}}
        if generated.get("ent_cas_selection"):
            project["cas_selection"] = generated["ent_cas_selection"]
        projects.append(project)
    source = where / "region.ent.yml"
    source.write_text(yaml.safe_dump({"plugin": "ent.pronote.etablissements", "projects": projects, **extra},
                                     allow_unicode=True, sort_keys=False))
    return source


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def inventory(source: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ENT_TEST_ADMIN_PASSWORD": ADMIN_PASSWORD}
    return subprocess.run([ANSIBLE_INVENTORY, "-i", str(source), *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_graph_is_the_region_of_the_generated_inventory(region: Sandbox, tmp_path: Path) -> None:
    proc = inventory(write_source(region, tmp_path / "region"), "--graph")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    graph: dict[str, list[str]] = {}
    group = ""
    for line in proc.stdout.splitlines():
        name = line.strip(" |-")
        if name.startswith("@"):
            group = name[1:].rstrip(":")
            graph[group] = []
        elif name:
            graph[group].append(name)
    for project in ("ent_mbn", "ent_occitanie"):
        assert sorted(graph[project]) == sorted(region.hosts(project)), proc.stdout


def plain(value: object) -> object:
    """A value of ``ansible-inventory --list``, without its ``__ansible_unsafe`` wrapping."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def test_the_hosts_have_the_variables_the_playbooks_need(region: Sandbox, tmp_path: Path) -> None:
    # the source alone (no group_vars or host_vars beside it): what the plugin itself gives
    proc = inventory(write_source(region, tmp_path / "region", region_files=False), "--list")
    assert proc.returncode == 0, proc.stderr
    assert ADMIN_PASSWORD not in proc.stdout  # read from the environment to sign in, never in the inventory
    listed = json.loads(proc.stdout)
    generated = yaml.safe_load((region.inventory / "hosts.yml").read_text())["all"]["children"]
    for group, body in generated.items():
        wanted = region.group_vars(group)
        for uai, host in body["hosts"].items():
            seen = {key: plain(value) for key, value in listed["_meta"]["hostvars"][uai].items()}
            assert seen["etab_name"] == host["etab_name"] and seen["etab_source"] == "console"
            assert seen["etab_type"] in ("Collège", "Lycée", "Lycée professionnel")
            for key in ("ent_project", "ent_console_url", "ent_cas_url", "ent_admin_login", "ent_cas_selection",
                        "pronote_root", "pronote_hosting_url"):
                assert seen.get(key) == wanted.get(key), (uai, key)
    # with the region's files beside the source, its host_vars come along (the sign-on check's test accounts)
    proc = inventory(write_source(region, tmp_path / "with-files"), "--host", next(iter(generated["ent_mbn"]["hosts"])))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pronote_sso_test_accounts"]


def test_a_console_down_is_a_warning_naming_it_and_the_other_project_is_listed(region: Sandbox,
                                                                               tmp_path: Path) -> None:
    proc = inventory(write_source(region, tmp_path / "region", down="occitanie"), "--graph")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stderr.split())
    assert "Projet ENT « occitanie » (Mon ENT Occitanie) : console non lue" in text, proc.stderr
    assert "Traceback" not in proc.stderr and ADMIN_PASSWORD not in proc.stderr
    for uai in region.hosts("ent_mbn"):
        assert uai in proc.stdout
    for uai in region.hosts("ent_occitanie"):
        assert uai not in proc.stdout


def test_the_rentree_runs_on_the_plugin_inventory(region: Sandbox, tmp_path: Path) -> None:
    source = write_source(region, tmp_path / "region")
    on_plugin = dataclasses.replace(region, inventory=source)
    run = run_playbook(on_plugin, tmp_path, ROOT / "playbooks" / "rentree.yml",
                       env={"ENT_TEST_ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    recap = {m[1]: (int(m[2]), int(m[5])) for m in RECAP.finditer(run.stdout)}
    assert set(region.hosts()) <= set(recap), run.stdout[-3000:]
    assert all(failed == 0 for _ok, failed in recap.values())
    assert "Rentrée PRONOTE : 6 établissement(s)" in run.stdout
    assert ADMIN_PASSWORD not in run.stdout


def test_the_demo_source_reads_the_demo_region_from_the_consoles(tmp_path: Path) -> None:
    """inventories/demo-consoles/sandbox.ent.yml, on the demo's seed, lists inventories/demo/hosts.yml's region."""
    demo = yaml.safe_load((ROOT / "inventories" / "demo" / "hosts.yml").read_text())["all"]["children"]
    with running_sandbox(tmp_path / "demo", seed=42, etabs=6) as box:
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
               "ENT_SANDBOX_URL": box.url, "ENT_SANDBOX_DIR": str(box.state_dir)}
        proc = subprocess.run([ANSIBLE_INVENTORY, "-i", str(ROOT / "inventories" / "demo-consoles" / "sandbox.ent.yml"),
                               "--list"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stderr
    listed = json.loads(proc.stdout)
    for group, body in demo.items():
        assert sorted(listed[group]["hosts"]) == sorted(body["hosts"])
        for uai, host in body["hosts"].items():
            seen = {key: plain(value) for key, value in listed["_meta"]["hostvars"][uai].items()}
            assert seen["etab_name"] == host["etab_name"]
            assert seen["ent_console_url"] == f"{box.url}{group[len('ent_'):]}/"  # rendered, as the plays use it
            assert seen["pronote_sso_test_accounts"]  # the demo's host_vars
    assert {"type_Collège", "type_Lycée"} <= set(listed)


def test_a_project_of_several_pages_is_listed_whole(tmp_path: Path) -> None:
    """More établissements than one page of « Liste des établissements » (100): every page is read."""
    state = tmp_path / "big"
    try:
        sandbox_cli(state, "seed", "--seed", "3", "--etabs", "230", "--projects", "mbn", "--scale", "0.05")
        sandbox_cli(state, "start", "--detach", "--port", "0", "--hosting-port", "0")
        info = json.loads((state / "sandbox.json").read_text())
        source = tmp_path / "big.ent.yml"
        source.write_text(yaml.safe_dump({"plugin": "ent.pronote.etablissements", "projects": [
            {"slug": "mbn", "name": "Mon Bureau Numérique", "console_url": info["url"] + "mbn/",
             "admin_login": "admin.mbn", "admin_password": "{{ lookup('ansible.builtin.env', 'ENT_TEST_ADMIN_PASSWORD') }}",
             "ca_path": info["ca"]}]}, allow_unicode=True))
        proc = inventory(source, "--list")
    finally:
        sandbox_cli(state, "stop", check=False)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stderr
    db = sqlite3.connect(f"file:{state / 'sandbox.db'}?mode=ro", uri=True)
    try:
        seeded = {row[0] for row in db.execute("SELECT uai FROM etabs")}
    finally:
        db.close()
    assert len(seeded) == 230
    assert set(json.loads(proc.stdout)["ent_mbn"]["hosts"]) == seeded
