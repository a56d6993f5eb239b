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

Then ``pronote_info`` (read-only, no credential) over 500 établissements,
and the whole rentrée (delegation, service, import, sign-on check) for N,
cold and no-op, against the same steps in a process pool.

And the import phase: a region of établissements of realistic size (about
1,000 pupils, 1,500 responsables and 100 staff each), their identifiers
files exported, and ``rentree.yml --tags identifiers`` cold and no-op
against the floor (the same import handler in a process pool), without
added latency.

With ``--rentree-scale 33`` the rentrée phase is made of établissements of
realistic size (``make bench-realistic``: 500 of them). Last, with ``all``
or ``--phase national``, a region of 2,000 établissements over 4 ENT
projects through the inventory plugin, one controller unsliced against 4
slices at once, and the merge of their records (``tools/bench_national.py``).

It prints seconds per établissement, the ratio of Ansible to the floor, and
the peak memory (RSS) of the largest controller process. Everything runs on
loopback; the sandbox is started and stopped here.
"""
from __future__ import annotations

import argparse
import contextlib
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
from urllib.parse import urlsplit

from _sandbox import PASSWORD, PYTHON, ROOT, sandbox, stop

sys.path[:0] = [str(ROOT / "collections")]
ANSIBLE_PLAYBOOK = str(Path(PYTHON).with_name("ansible-playbook"))
PROFILES = ["Elève", "Parent", "Enseignant", "Personnel"]
#: The seed's établissements are small, and the ENT it makes holds pairs the import's rules withdraw: a few
#: percent, beyond the 10 % guard on a few. The benchmark times the work, so the guard is set above that, for
#: Ansible (an extra variable) and the floor alike.
MAX_REMOVED_SHARE = 0.25
GUARD = ("-e", f"ent_identifiers_max_removed_share={MAX_REMOVED_SHARE}")
RECAP = re.compile(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)


def fresh_region(state: Path, etabs: int, latency: int, scale: float = 1.0, full: bool = False,
                 projects: str | None = None) -> dict:
    """Stop any sandbox, seed a new region, start, set the latency, write the inventory.

    ``full``: the whole rentrée (PRONOTE.net delegation with the sandbox's client certificate, the bloc
    version read from each server, sign-on check with the generated test accounts).
    """
    stop(state)
    sandbox(state, "seed", "--seed", "1", "--etabs", str(etabs), "--scale", str(scale), "--reset",
            *(("--projects", projects) if projects else ()))
    files = state / "identifiants"
    sandbox(state, "export", "--all", "--out-dir", str(files))
    sandbox(state, "start", "--detach", "--port", "0", "--hosting-port", "0")
    if latency:
        sandbox(state, "faults", "--latency-ms", str(latency))
    info = json.loads((state / "sandbox.json").read_text())
    inventory = state / "inventory"
    sandbox(state, "inventory", "--out", str(inventory))
    version = "auto" if full else "PRONOTE 2024"
    (inventory / "group_vars" / "all.yml").write_text(
        f"ent_admin_password: '{PASSWORD}'\nent_ca_path: '{info['ca']}'\nent_identifiers_dir: '{files}'\n"
        f"ent_pronote_report_dir: '{state / 'rapports'}'\n"
        f"ent_service_block_version: {version}\n"
        + (f"pronote_hosting_cert: '{state / 'client.pem'}'\npronote_hosting_key: '{state / 'client.key'}'\n"
           f"pronote_ca_path: '{info['ca']}'\n"
           "pronote_published_espaces: [Page commune, Espace Direction, Espace Professeurs, Espace Vie scolaire,"
           " Espace Parents, Espace Elèves]\n" if full else ""))
    if not full:
        for path in (inventory / "host_vars").glob("*.yml"):
            path.unlink()  # the service and import phases time their steps only
    import yaml

    for path in (inventory / "group_vars").glob("ent_*.yml"):
        text = path.read_text()
        if "ent_admin_login" not in text:
            # the console's slug (eclat-bfc), not the group's (ent_eclat_bfc)
            slug = urlsplit(yaml.safe_load(text)["ent_console_url"]).path.strip("/")
            path.write_text(text + f"ent_admin_login: admin.{slug}\n")
    return {"info": info, "inventory": inventory}


#: runs a command and prints, last, the peak RSS (KiB) of the largest process of its tree
_PEAK = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
         "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")


def run_ansible(region: dict, cache: Path, *args: str, playbook: str = "playbooks/rentree.yml") -> tuple[float, int, int]:
    """Elapsed seconds, number of changed tasks, peak RSS in MiB."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_PRONOTE_CACHE_DIR": str(cache),
           "ANSIBLE_NOCOLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run([PYTHON, "-c", _PEAK, ANSIBLE_PLAYBOOK, playbook,
                           "-i", str(region["inventory"]), *GUARD, *args],
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


def _one_etablissement(uai: str, version: str | None = None) -> bool:
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
                                                        block_version=version or hv.get("ent_service_block_version"),
                                                        url=base_url_of(uai, hv))), False)
    code = service.after.page.code
    access = ensure(AccessHandler(console, uai, params(ENT_SERVICE_ACCESS, uai=uai, code=code,
                                                       profiles=PROFILES), False), False)
    return service.changed or access.changed


def base_url_of(uai: str, hv: dict) -> str | None:
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url

    return base_url(uai, hv["pronote_root"]) if hv.get("pronote_root") else None


def _one_import(uai: str) -> bool:
    from ansible_collections.ent.pronote.plugins.module_utils._import import VerdictCache, run_import
    from ansible_collections.ent.pronote.plugins.module_utils._specs import ENT_IDENTIFIERS_IMPORT

    hv = _WORKER["vars"][uai]
    params = {k: v.get("default") for k, v in ENT_IDENTIFIERS_IMPORT.items()}
    params.update(uai=uai, src=str(Path(hv["ent_identifiers_dir"]) / f"{uai}.xml"), max_removed_share=MAX_REMOVED_SHARE)
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


def _one_rentree(uai: str) -> bool:
    """The whole rentrée of one établissement, as rentree.yml does it, without Ansible."""
    from ansible_collections.ent.pronote.plugins.module_utils._delegation import DelegationHandler
    from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import (
        HostingConsole,
        HostingSettings,
        base_url,
        read_info,
    )
    from ansible_collections.ent.pronote.plugins.module_utils._specs import PRONOTE_DELEGATION
    from ansible_collections.ent.pronote.plugins.module_utils._sso import SsoAccount, check_etablissement

    hv = _WORKER["vars"][uai]
    http = HttpSettings(ca_path=hv["ent_ca_path"])
    hosting = _WORKER.get("hosting")
    if hosting is None:
        hosting = _WORKER["hosting"] = HostingConsole(HostingSettings(hv["pronote_hosting_url"], HttpSettings(
            ca_path=hv["ent_ca_path"], client_cert=hv["pronote_hosting_cert"], client_key=hv["pronote_hosting_key"])))
    params = {k: v.get("default") for k, v in PRONOTE_DELEGATION.items()}
    params.update(uai=uai, project=hv["ent_project"], cas_url=hv["ent_cas_url"],
                  published_espaces=hv.get("pronote_published_espaces"))
    changed = ensure(DelegationHandler(hosting, uai, params), False).changed
    base = base_url(uai, hv["pronote_root"])
    with new_session(http) as session:
        version = read_info(session, http, base).block_version
    changed |= _one_etablissement(uai, version)
    changed |= _one_import(uai)
    accounts = [SsoAccount(a["profile"], a["login"], a["password"], a.get("name"))
                for a in hv.get("pronote_sso_test_accounts") or []]
    _, checks = check_etablissement(http, base, hv["ent_cas_url"], accounts)
    if not all(c.ok for c in checks):
        raise SystemExit(f"sign-on failed for {uai}: {[c.code for c in checks if not c.ok]}")
    return changed


def _one_info(uai: str) -> bool:
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings, new_session
    from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url, read_info

    from ansible_collections.ent.pronote.plugins.module_utils._errors import NotFoundError

    hv = _WORKER["vars"][uai]
    http = HttpSettings(ca_path=hv["ent_ca_path"])
    with new_session(http) as session, contextlib.suppress(NotFoundError):  # a racine other than "Pronote"
        read_info(session, http, base_url(uai, hv["pronote_root"]))
    return False


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
            host_file = inventory / "host_vars" / f"{uai}.yml"
            hosts_vars[uai] = {**gv, **(yaml.safe_load(host_file.read_text()) if host_file.exists() else {})}
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
            work=None, n: int = 0, playbook: str = "playbooks/rentree.yml") -> None:
    """Ansible cold then no-op, the floor cold then no-op, each on a fresh region."""
    print(f"-- {title}, {forks} forks", flush=True)
    region = region_of()
    a_cold = run_ansible(region, tmp / "cache-a", *ansible_args, playbook=playbook)
    a_noop = run_ansible(region, tmp / "cache-a", *ansible_args, playbook=playbook)
    print(f"   ansible cold {a_cold[0]:.1f} s, no-op {a_noop[0]:.1f} s (changed: {a_noop[1]}), "
          f"peak RSS {max(a_cold[2], a_noop[2])} MiB", flush=True)
    region = region_of()
    f_cold = run_floor(region, forks, tmp / "cache-f", work)
    f_noop = run_floor(region, forks, tmp / "cache-f", work)
    print(f"   floor   cold {f_cold[0]:.1f} s, no-op {f_noop[0]:.1f} s (changed: {f_noop[1]}), "
          f"peak RSS {max(f_cold[2], f_noop[2])} MiB", flush=True)
    rows.append((title, "cold", a_cold[0], f_cold[0], a_cold[2], n))
    rows.append((title, "no-op", a_noop[0], f_noop[0], a_noop[2], n))
    if a_noop[1] or f_noop[1]:
        print("   WARNING: the no-op run changed something", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=int(os.environ.get("BENCH_ETABS", 200)))
    parser.add_argument("--latency", type=int, nargs="*", default=[0, 50], help="added latency per request, ms")
    parser.add_argument("--import-scale", type=float, default=float(os.environ.get("BENCH_IMPORT_SCALE", 33)),
                        help="size of the établissements of the import phase (33: ~1,000 pupils each)")
    parser.add_argument("--rentree-scale", type=float, default=float(os.environ.get("BENCH_RENTREE_SCALE", 1)),
                        help="size of the établissements of the rentrée phase (33: ~1,000 pupils, 1,500 "
                             "responsables and 100 staff each, as issue 16 measures 500 of them)")
    parser.add_argument("--phase", choices=["all", "service", "import", "info", "rentree", "national"], default="all",
                        help="national: 2,000 établissements through the inventory plugin, unsliced vs 4 slices "
                             "(tools/bench_national.py), after the others with all")
    parser.add_argument("--info-etabs", type=int, default=int(os.environ.get("BENCH_INFO_ETABS", 500)),
                        help="établissements of the pronote_info sweep")
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
                            forks, Path(tmp), rows, ("--tags", "service"), n=n)
            if args.phase in ("all", "import"):
                compare(f"import x{args.import_scale:g}", lambda: fresh_region(state, n, 0, args.import_scale),
                        forks, Path(tmp), rows, ("--tags", "identifiers"), _one_import, n=n)
            if args.phase in ("all", "info"):
                m = args.info_etabs
                compare("pronote_info", lambda: fresh_region(state, m, 0, 0.1, full=True), forks, Path(tmp),
                        rows, (), _one_info, n=m, playbook=str(ROOT / "tools" / "bench_info.yml"))
            if args.phase in ("all", "rentree"):
                scale = args.rentree_scale
                compare(f"rentrée x{scale:g}", lambda: fresh_region(state, n, 0, scale, full=True), forks, Path(tmp),
                        rows, (), _one_rentree, n=n)
        finally:
            stop(state)
    if args.phase == "national":
        from bench_national import national

        return national()
    print()
    print(f"{forks} forks")
    print(f"{'phase':>16} {'etabs':>6} {'run':>6} {'ansible s':>10} {'s/etab':>7} {'floor s':>8} {'s/etab':>7}"
          f" {'ratio':>6} {'peak MiB':>9}")
    for title, kind, a, f, peak, count in rows:
        print(f"{title:>16} {count:>6} {kind:>6} {a:>10.1f} {a / count:>7.3f} {f:>8.1f} {f / count:>7.3f}"
              f" {a / f:>6.2f} {peak:>9}")
    if args.phase == "all":
        from bench_national import national

        print(flush=True)
        return national()
    return 0


if __name__ == "__main__":
    sys.exit(main())
