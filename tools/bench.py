#!/usr/bin/env python3
"""Benchmark: the rentrée through Ansible against the same work done directly.

For a seeded region of N établissements (default 200), with no added latency
and then with the sandbox adding 50 ms to each request (a console over the
internet), it times:

- ``ansible-playbook playbooks/rentree.yml`` cold (everything to create),
- the same again, with nothing to change (no-op),
- the floor: the same client (``plugins/module_utils``) driven by a plain
  Python process pool with as many workers as Ansible has forks, cold and
  no-op, on the same freshly seeded region.

It prints seconds per établissement and the ratio of Ansible to the floor.
Everything runs on loopback; the sandbox is started and stopped here.
"""
from __future__ import annotations

import argparse
import configparser
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "collections")]
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = str(Path(PYTHON).with_name("ansible-playbook"))
PASSWORD = "Demo-2026!"
PROFILES = ["Elève", "Parent", "Enseignant", "Personnel"]
RECAP = re.compile(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)


def sandbox(state: Path, *args: str) -> str:
    proc = subprocess.run([PYTHON, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"sandbox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def fresh_region(state: Path, etabs: int, latency: int) -> dict:
    """Stop any sandbox, seed a new region, start, set the latency, write the inventory."""
    subprocess.run([PYTHON, "-m", "sandbox", "stop", "--state-dir", str(state)], cwd=ROOT, capture_output=True)
    sandbox(state, "seed", "--seed", "1", "--etabs", str(etabs), "--reset")
    sandbox(state, "start", "--detach", "--port", "0")
    if latency:
        sandbox(state, "faults", "--latency-ms", str(latency))
    info = json.loads((state / "sandbox.json").read_text())
    inventory = state / "inventory"
    sandbox(state, "inventory", "--out", str(inventory))
    (inventory / "group_vars" / "all.yml").write_text(
        f"ent_admin_password: '{PASSWORD}'\nent_ca_path: '{info['ca']}'\n")
    groups = {}
    for path in (inventory / "group_vars").glob("ent_*.yml"):
        slug = path.stem[len("ent_"):]
        text = path.read_text()
        if "ent_admin_login" not in text:
            path.write_text(text + f"ent_admin_login: admin.{slug}\n")
        groups[path.stem] = path
    return {"info": info, "inventory": inventory}


def run_ansible(region: dict, cache: Path) -> tuple[float, int]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_PRONOTE_CACHE_DIR": str(cache),
           "ANSIBLE_NOCOLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "playbooks/rentree.yml", "-i", str(region["inventory"])],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    stats = RECAP.findall(proc.stdout)
    if proc.returncode or any(int(failed) for _, failed in stats):
        raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}")
    return elapsed, sum(int(changed) for changed, _ in stats)


# --- the floor: the same client, a process pool, no Ansible -------------------
_WORKER: dict = {}


def _init_worker(hosts_vars: dict, cache: str) -> None:
    os.environ["ENT_PRONOTE_CACHE_DIR"] = cache
    _WORKER["vars"] = hosts_vars
    _WORKER["consoles"] = {}


def _one_etablissement(uai: str) -> bool:
    from ansible_collections.ent.pronote.plugins.action.ent_service import ServiceHandler
    from ansible_collections.ent.pronote.plugins.action.ent_service_access import AccessHandler
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole
    from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_SERVICE, ENT_SERVICE_ACCESS

    hv = _WORKER["vars"][uai]
    console = _WORKER["consoles"].get(hv["ent_console_url"])
    if console is None:
        console = KdecoleConsole(ConsoleSettings(hv["ent_console_url"], hv["ent_admin_login"], PASSWORD,
                                                 HttpSettings(ca_path=hv["ent_ca_path"])))
        _WORKER["consoles"][hv["ent_console_url"]] = console

    def params(spec: dict, **values) -> dict:
        out = {k: v.get("default") for k, v in spec.items()}
        out.update(values)
        return out

    service = ensure(ServiceHandler(console, uai, params(ENT_SERVICE, uai=uai)), False)
    code = service.after.page.code
    access = ensure(AccessHandler(console, uai, params(ENT_SERVICE_ACCESS, uai=uai, code=code,
                                                       profiles=PROFILES), False), False)
    return service.changed or access.changed


def run_floor(region: dict, forks: int, cache: Path) -> tuple[float, int]:
    import yaml

    inventory = region["inventory"]
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())["all"]["children"]
    all_vars = yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())
    hosts_vars = {}
    for group, body in hosts.items():
        gv = {**all_vars, **yaml.safe_load((inventory / "group_vars" / f"{group}.yml").read_text())}
        for uai in body["hosts"]:
            hosts_vars[uai] = gv
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with ctx.Pool(forks, initializer=_init_worker, initargs=(hosts_vars, str(cache))) as pool:
        changed = sum(pool.map(_one_etablissement, sorted(hosts_vars), chunksize=1))
    return time.perf_counter() - start, changed


def forks_of_ansible_cfg() -> int:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    return cfg.getint("defaults", "forks", fallback=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=int(os.environ.get("BENCH_ETABS", 200)))
    parser.add_argument("--latency", type=int, nargs="*", default=[0, 50], help="added latency per request, ms")
    args = parser.parse_args()
    forks = forks_of_ansible_cfg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ent-pronote-bench-") as tmp:
        state = Path(tmp) / "sandbox"
        try:
            for latency in args.latency:
                print(f"-- {args.etabs} établissements, +{latency} ms per request, {forks} forks", flush=True)
                region = fresh_region(state, args.etabs, latency)
                a_cold = run_ansible(region, Path(tmp) / "cache-a")
                a_noop = run_ansible(region, Path(tmp) / "cache-a")
                print(f"   ansible cold {a_cold[0]:.1f} s, no-op {a_noop[0]:.1f} s (changed: {a_noop[1]})", flush=True)
                region = fresh_region(state, args.etabs, latency)
                f_cold = run_floor(region, forks, Path(tmp) / "cache-f")
                f_noop = run_floor(region, forks, Path(tmp) / "cache-f")
                print(f"   floor   cold {f_cold[0]:.1f} s, no-op {f_noop[0]:.1f} s (changed: {f_noop[1]})", flush=True)
                rows.append((latency, "cold", a_cold[0], f_cold[0]))
                rows.append((latency, "no-op", a_noop[0], f_noop[0]))
                if a_noop[1] or f_noop[1]:
                    print("   WARNING: the no-op run changed something", flush=True)
        finally:
            subprocess.run([PYTHON, "-m", "sandbox", "stop", "--state-dir", str(state)], cwd=ROOT,
                           capture_output=True)
    n = args.etabs
    print()
    print(f"{'latency':>8} {'run':>6} {'ansible s':>10} {'s/etab':>7} {'floor s':>8} {'s/etab':>7} {'ratio':>6}")
    for latency, kind, a, f in rows:
        print(f"{latency:>6}ms {kind:>6} {a:>10.1f} {a / n:>7.3f} {f:>8.1f} {f / n:>7.3f} {a / f:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
