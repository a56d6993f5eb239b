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

Then the import phase: a region of établissements of realistic size (about
1,000 pupils, 1,500 responsables and 100 staff each), their identifiers
files exported, and ``rentree.yml --tags identifiers`` cold and no-op
against the floor (the same import handler in a process pool), without
added latency.

It prints seconds per établissement, the ratio of Ansible to the floor, and
the peak memory (RSS) of the largest controller process. Everything runs on
loopback; the sandbox is started and stopped here.
"""
from __future__ import annotations

import argparse
import configparser
import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sandbox import PASSWORD, PYTHON, ROOT, sandbox, stop

sys.path[:0] = [str(ROOT / "collections")]
ANSIBLE_PLAYBOOK = str(Path(PYTHON).with_name("ansible-playbook"))
PROFILES = ["Elève", "Parent", "Enseignant", "Personnel"]
RECAP = re.compile(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)


def fresh_region(state: Path, etabs: int, latency: int, scale: float = 1.0) -> dict:
    """Stop any sandbox, seed a new region, start, set the latency, write the inventory."""
    stop(state)
    sandbox(state, "seed", "--seed", "1", "--etabs", str(etabs), "--scale", str(scale), "--reset")
    files = state / "identifiants"
    sandbox(state, "export", "--all", "--out-dir", str(files))
    sandbox(state, "start", "--detach", "--port", "0")
    if latency:
        sandbox(state, "faults", "--latency-ms", str(latency))
    info = json.loads((state / "sandbox.json").read_text())
    inventory = state / "inventory"
    sandbox(state, "inventory", "--out", str(inventory))
    (inventory / "group_vars" / "all.yml").write_text(
        f"ent_admin_password: '{PASSWORD}'\nent_ca_path: '{info['ca']}'\nent_identifiers_dir: '{files}'\n"
        "ent_service_block_version: PRONOTE 2024\n")
    groups = {}
    for path in (inventory / "group_vars").glob("ent_*.yml"):
        slug = path.stem[len("ent_"):]
        text = path.read_text()
        if "ent_admin_login" not in text:
            path.write_text(text + f"ent_admin_login: admin.{slug}\n")
        groups[path.stem] = path
    return {"info": info, "inventory": inventory}


#: runs a command and prints, last, the peak RSS (KiB) of the largest process of its tree
_PEAK = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
         "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")


def run_ansible(region: dict, cache: Path, *args: str) -> tuple[float, int, int]:
    """Elapsed seconds, number of changed tasks, peak RSS in MiB."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_PRONOTE_CACHE_DIR": str(cache),
           "ANSIBLE_NOCOLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run([PYTHON, "-c", _PEAK, ANSIBLE_PLAYBOOK, "playbooks/rentree.yml",
                           "-i", str(region["inventory"]), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    peak = int(re.findall(r"^PEAK_RSS_KIB (\d+)$", proc.stdout, re.M)[-1]) // 1024
    stats = RECAP.findall(proc.stdout)
    if proc.returncode or any(int(failed) for _, failed in stats):
        raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}")
    return elapsed, sum(int(changed) for changed, _ in stats), peak


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
    from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_SERVICE, ENT_SERVICE_ACCESS

    console = _console(_WORKER["vars"][uai])

    def params(spec: dict, **values) -> dict:
        out = {k: v.get("default") for k, v in spec.items()}
        out.update(values)
        return out

    hv = _WORKER["vars"][uai]
    service = ensure(ServiceHandler(console, uai, params(ENT_SERVICE, uai=uai,
                                                        block_version=hv.get("ent_service_block_version"))), False)
    code = service.after.page.code
    access = ensure(AccessHandler(console, uai, params(ENT_SERVICE_ACCESS, uai=uai, code=code,
                                                       profiles=PROFILES), False), False)
    return service.changed or access.changed


def _one_import(uai: str) -> bool:
    from ansible_collections.ent.pronote.plugins.module_utils._import import VerdictCache, run_import
    from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_IDENTIFIERS_IMPORT

    hv = _WORKER["vars"][uai]
    params = {k: v.get("default") for k, v in ENT_IDENTIFIERS_IMPORT.items()}
    params.update(uai=uai, src=str(Path(hv["ent_identifiers_dir"]) / f"{uai}.xml"))
    result, _, _ = run_import(_console(hv), uai, params, False, VerdictCache(hv["ent_console_url"], uai))
    return result["changed"]


def _console(hv: dict):
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole

    console = _WORKER["consoles"].get(hv["ent_console_url"])
    if console is None:
        console = KdecoleConsole(ConsoleSettings(hv["ent_console_url"], hv["ent_admin_login"], PASSWORD,
                                                 HttpSettings(ca_path=hv["ent_ca_path"])))
        _WORKER["consoles"][hv["ent_console_url"]] = console
    return console


def run_floor(region: dict, forks: int, cache: Path, work=None) -> tuple[float, int, int]:
    """Elapsed seconds, number of établissements changed, peak RSS in MiB of a worker."""
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
    _WORKER["work"] = work or _one_etablissement
    with ctx.Pool(forks, initializer=_init_worker, initargs=(hosts_vars, str(cache))) as pool:
        done = pool.map(_measured, sorted(hosts_vars), chunksize=1)
    elapsed = time.perf_counter() - start
    return elapsed, sum(changed for changed, _ in done), max(rss for _, rss in done) // 1024


def _measured(uai: str) -> tuple[bool, int]:
    """The work for one établissement, and the worker's peak RSS (KiB) so far."""
    return _WORKER["work"](uai), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def forks_of_ansible_cfg() -> int:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    return cfg.getint("defaults", "forks", fallback=5)


def compare(title: str, region_of, forks: int, tmp: Path, rows: list, ansible_args: tuple[str, ...] = (),
            work=None) -> None:
    """Ansible cold then no-op, the floor cold then no-op, each on a fresh region."""
    print(f"-- {title}, {forks} forks", flush=True)
    region = region_of()
    a_cold = run_ansible(region, tmp / "cache-a", *ansible_args)
    a_noop = run_ansible(region, tmp / "cache-a", *ansible_args)
    print(f"   ansible cold {a_cold[0]:.1f} s, no-op {a_noop[0]:.1f} s (changed: {a_noop[1]}), "
          f"peak RSS {max(a_cold[2], a_noop[2])} MiB", flush=True)
    region = region_of()
    f_cold = run_floor(region, forks, tmp / "cache-f", work)
    f_noop = run_floor(region, forks, tmp / "cache-f", work)
    print(f"   floor   cold {f_cold[0]:.1f} s, no-op {f_noop[0]:.1f} s (changed: {f_noop[1]}), "
          f"peak RSS {max(f_cold[2], f_noop[2])} MiB", flush=True)
    rows.append((title, "cold", a_cold[0], f_cold[0], a_cold[2]))
    rows.append((title, "no-op", a_noop[0], f_noop[0], a_noop[2]))
    if a_noop[1] or f_noop[1]:
        print("   WARNING: the no-op run changed something", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=int(os.environ.get("BENCH_ETABS", 200)))
    parser.add_argument("--latency", type=int, nargs="*", default=[0, 50], help="added latency per request, ms")
    parser.add_argument("--import-scale", type=float, default=float(os.environ.get("BENCH_IMPORT_SCALE", 33)),
                        help="size of the établissements of the import phase (33: ~1,000 pupils each)")
    parser.add_argument("--phase", choices=["all", "service", "import"], default="all")
    args = parser.parse_args()
    forks = forks_of_ansible_cfg()
    rows: list = []
    n = args.etabs
    with tempfile.TemporaryDirectory(prefix="ent-pronote-bench-") as tmp:
        state = Path(tmp) / "sandbox"
        try:
            if args.phase in ("all", "service"):
                for latency in args.latency:
                    compare(f"service, +{latency} ms", lambda latency=latency: fresh_region(state, n, latency),
                            forks, Path(tmp), rows, ("--tags", "service"))
            if args.phase in ("all", "import"):
                compare(f"import x{args.import_scale:g}", lambda: fresh_region(state, n, 0, args.import_scale),
                        forks, Path(tmp), rows, ("--tags", "identifiers"), _one_import)
        finally:
            stop(state)
    print()
    print(f"{n} établissements, {forks} forks")
    print(f"{'phase':>16} {'run':>6} {'ansible s':>10} {'s/etab':>7} {'floor s':>8} {'s/etab':>7} {'ratio':>6}"
          f" {'peak MiB':>9}")
    for title, kind, a, f, peak in rows:
        print(f"{title:>16} {kind:>6} {a:>10.1f} {a / n:>7.3f} {f:>8.1f} {f / n:>7.3f} {a / f:>6.2f} {peak:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
