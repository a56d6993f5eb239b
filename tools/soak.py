#!/usr/bin/env python3
"""make soak: the whole rentrée of a sandbox region through fault profiles, and what each left behind.

For each profile, a freshly seeded region (cold) gets one rentrée under the
fault, then fault-free re-runs until a run fails nothing and changes nothing
(at most 3). Printed per profile:

- établissements failed by the faulty run (with the codes of their failures);
- re-runs it took to converge;
- identifiers lost: pairs a fault-free run ends with that this region does
  not (must be 0), and pairs it has that a fault-free run does not (must be 0);
- duplicates: établissements with more than one PRONOTE service, imports left
  « en cours » (must be 0);
- the time of the faulty run.

Everything runs on loopback against the sandbox; the whole soak is bounded
(--max-minutes). Usage: make soak  (SOAK_ETABS=50 by default).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sandbox import ROOT, sandbox, stop  # noqa: E402
from bench import fresh_region  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


@dataclass
class Run:
    rc: int
    seconds: float
    statuses: dict[str, str]
    changed: int
    output: str

    @property
    def failed(self) -> list[str]:
        return sorted(uai for uai, status in self.statuses.items() if status == "failed")


@dataclass
class Profile:
    name: str
    #: sandbox faults set before the run (python -m sandbox faults …)
    faults: dict[str, str] = field(default_factory=dict)
    #: what happens during the run instead of (or besides) the faults: (region, state, cache) -> Run
    during: Callable[[dict, Path, Path], Run] | None = None


def rentree(region: dict, state: Path, cache: Path, *, wait: bool = True) -> Run | subprocess.Popen:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_PRONOTE_CACHE_DIR": str(cache),
           "ANSIBLE_NOCOLOR": "1"}
    report = state / "rapports" / "rapport-rentree.json"
    report.unlink(missing_ok=True)
    # The seeded region's ENT already holds pairs the rules withdraw: on an établissement or two that is just over
    # the 10 % removal guard, which would refuse it in every profile alike. The soak measures faults, not that.
    cmd = [ANSIBLE_PLAYBOOK, "playbooks/rentree.yml", "-i", str(region["inventory"]),
           "-e", "ent_identifiers_max_removed_share=0.25"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if not wait:
        return proc
    return finish(proc, state)


def finish(proc: subprocess.Popen, state: Path) -> Run:
    started = time.perf_counter()
    output, _ = proc.communicate(timeout=3600)
    seconds = time.perf_counter() - started
    report = state / "rapports" / "rapport-rentree.json"
    statuses: dict[str, str] = {}
    if report.exists():
        data = json.loads(report.read_text())
        statuses = {e["uai"]: e["status"] for e in data.get("etablissements", [])}
    changed = sum(int(n) for n in _recap(output, "changed"))
    return Run(proc.returncode, seconds, statuses, changed, output)


def _recap(output: str, key: str) -> list[str]:
    import re

    return re.findall(rf"^\S+\s*:\s*ok=\d+\s+.*?\b{key}=(\d+)", output, re.M)


def _failure_lines(run: Run) -> list[str]:
    """The summary's lines naming what failed (« ÉCHEC … »), as the run printed them."""
    text = " ".join(run.output.split())
    return [("ÉCHEC " + part)[:400] for part in text.split("ÉCHEC ")[1:]][:5]


def faults(state: Path, **settings: object) -> None:
    args = ["faults"]
    for key, value in settings.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    sandbox(state, *args)


# --- what happens during a run -------------------------------------------------------
def outage(seconds: float, after: float) -> Callable[[dict, Path, Path], Run]:
    """Every request answers 500 for ``seconds``, ``after`` seconds into the run."""
    def during(region: dict, state: Path, cache: Path) -> Run:
        proc = rentree(region, state, cache, wait=False)

        def cut() -> None:
            time.sleep(after)
            faults(state, error_rate=1.0)
            time.sleep(seconds)
            faults(state, error_rate=0.0)

        thread = threading.Thread(target=cut)
        thread.start()
        run = finish(proc, state)  # type: ignore[arg-type]
        thread.join()
        return run
    return during


def concurrent(region: dict, state: Path, cache: Path) -> Run:
    """Two runs of the region started together on this controller."""
    first = rentree(region, state, cache, wait=False)
    second = rentree(region, state, cache, wait=False)
    one, two = finish(first, state), finish(second, state)  # type: ignore[arg-type]
    return Run(max(one.rc, two.rc), max(one.seconds, two.seconds),
               {u: ("failed" if "failed" in (one.statuses.get(u), two.statuses.get(u)) else s)
                for u, s in two.statuses.items()}, one.changed + two.changed, one.output + two.output)


def sigkill(rng: random.Random) -> Callable[[dict, Path, Path], Run]:
    """The playbook and its workers killed (SIGKILL) at a random moment of the run."""
    def during(region: dict, state: Path, cache: Path) -> Run:
        proc = rentree(region, state, cache, wait=False)
        delay = rng.uniform(3, 20)
        try:
            proc.wait(timeout=delay)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
        run = finish(proc, state)  # type: ignore[arg-type]
        run.output = f"(tué après {delay:.1f} s)\n" + run.output
        run.seconds = delay
        return run
    return during


# --- what a run left behind ------------------------------------------------------------
def pairs(state: Path) -> set[tuple[str, str, str]]:
    db = sqlite3.connect(f"file:{state / 'sandbox.db'}?mode=ro", uri=True)
    try:
        return set(db.execute("SELECT e.uai, i.ident, u.login FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
                              " JOIN etabs e ON e.id = i.etab_id").fetchall())
    finally:
        db.close()


def duplicates(state: Path) -> tuple[int, int]:
    """(établissements with several PRONOTE services, imports left « en cours »)."""
    db = sqlite3.connect(f"file:{state / 'sandbox.db'}?mode=ro", uri=True)
    try:
        services = db.execute("SELECT COUNT(*) FROM (SELECT etab_id FROM services WHERE sso_type = 'SSO Pronote avec"
                              " CAS' OR lower(intitule) = 'pronote' GROUP BY etab_id HAVING COUNT(*) > 1)").fetchone()[0]
        running = db.execute("SELECT COUNT(*) FROM imports WHERE status = 'en_cours'").fetchone()[0]
    finally:
        db.close()
    return services, running


def soak(profile: Profile, etabs: int, work: Path, reference: set | None) -> tuple[dict, set]:
    state = work / "sandbox"
    cache = work / f"cache-{random.randrange(10**9)}"
    region = fresh_region(state, etabs, 0, full=True)
    try:
        if profile.faults:
            faults(state, **profile.faults)
        run = (profile.during or (lambda r, s, c: rentree(r, s, c)))(region, state, cache)
        sandbox(state, "faults", "--reset")
        reruns = 0
        last = run
        while reruns < 3 and (last.rc != 0 or last.failed or last.changed or last is run):
            last = rentree(region, state, cache)  # type: ignore[assignment]
            reruns += 1
            if last.rc == 0 and not last.failed and not last.changed:
                break
        converged = last.rc == 0 and not last.failed and not last.changed
        final = pairs(state)
        services, running = duplicates(state)
    finally:
        stop(state)
    lost = len(reference - final) if reference is not None else 0
    extra = len(final - reference) if reference is not None else 0
    row = {"_échecs": [f"{run_name} : {line}" for run_name, r in (("sous panne", run), ("dernière relance", last))
                        for line in _failure_lines(r)],
           "profil": profile.name, "échecs": len(run.failed), "relances": reruns if converged else f">{reruns}",
           "convergé": converged, "identifiants perdus": lost, "identifiants en trop": extra,
           "services en double": services, "imports en cours": running, "durée (s)": round(run.seconds, 1)}
    return row, final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=int(os.environ.get("SOAK_ETABS", 50)))
    parser.add_argument("--max-minutes", type=float, default=float(os.environ.get("SOAK_MAX_MINUTES", 40)))
    parser.add_argument("--seed", type=int, default=1, help="the random moments (SIGKILL)")
    parser.add_argument("--only", nargs="*", help="profile names to run (after the fault-free reference)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    profiles = [
        Profile("aucune panne (référence)"),
        Profile("500 à 5 % avant l'action", {"error_rate": "0.05", "error_phase": "before", "fault_seed": "5"}),
        Profile("500 à 5 % après l'action", {"error_rate": "0.05", "error_phase": "after", "fault_seed": "6"}),
        Profile("500 à 20 %", {"error_rate": "0.2", "fault_seed": "7"}),
        Profile("sessions qui expirent (20 %)", {"session_expiry_rate": "0.2", "fault_seed": "8"}),
        Profile("import interrompu à l'étape 3", {"import_abort_step": "3"}),
        Profile("panne totale de 30 s", during=outage(30, 8)),
        Profile("deux exécutions à la fois", during=concurrent),
        Profile("SIGKILL puis relance", during=sigkill(rng)),
    ]
    deadline = time.monotonic() + args.max_minutes * 60
    rows = []
    with tempfile.TemporaryDirectory(prefix="ent-pronote-soak-") as tmp:
        reference = None
        for index, profile in enumerate(profiles):
            if index and args.only and not any(name in profile.name for name in args.only):
                continue
            if time.monotonic() > deadline:
                print(f"(--max-minutes atteint : « {profile.name} » et la suite ne sont pas joués)")
                break
            print(f"… {profile.name}", flush=True)
            row, final = soak(profile, args.etabs, Path(tmp), reference)
            if reference is None:
                reference = final
            failed = row.pop("_échecs")
            rows.append(row)
            print("  " + ", ".join(f"{k} : {v}" for k, v in row.items() if k != "profil"), flush=True)
            for line in failed:
                print("    " + line, flush=True)
    print()
    print(f"Soak : {args.etabs} établissements par profil")
    keys = list(rows[0]) if rows else []
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))
    bad = [r for r in rows if r["identifiants perdus"] or r["identifiants en trop"] or r["services en double"]
           or r["imports en cours"] or not r["convergé"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
