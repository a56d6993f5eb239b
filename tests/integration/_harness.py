"""Run the sandbox and ansible-playbook for the integration tests.

The sandbox is started as a user would (``python -m sandbox``), on a free
loopback port, in a temporary state directory. Playbooks run as a user runs
them (``ansible-playbook`` from the repository root), and every task result
comes back as JSON through a final task that writes the registered results.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = str(Path(PYTHON).with_name("ansible-playbook"))
ADMIN_PASSWORD = "Demo-2026!"
#: tables whose rows change on every request, not with the region's state
VOLATILE_TABLES = ("session", "ticket", "tgt", "stat", "fault", "csrf", "login_flow")


def sandbox_cli(state_dir: Path, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "sandbox", *args, "--state-dir", str(state_dir)], cwd=ROOT,
                          capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class Sandbox:
    """A running sandbox and what a test needs to reach it."""

    state_dir: Path
    url: str
    ca: str
    port: int
    inventory: Path
    hosting_url: str = ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sandbox_cli(self.state_dir, *args, check=check)

    def faults(self, **settings: Any) -> None:
        args = ["faults"]
        for key, value in settings.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.cli(*args)

    def reset_faults(self) -> None:
        self.cli("faults", "--reset")

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of the region's state (not sessions, tickets, counters)."""
        db = sqlite3.connect(f"file:{self.state_dir / 'sandbox.db'}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            out = {}
            for table in tables:
                if any(word in table.lower() for word in VOLATILE_TABLES):
                    continue
                out[table] = sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            return out
        finally:
            db.close()

    def has_login(self, login: str) -> bool:
        db = sqlite3.connect(f"file:{self.state_dir / 'sandbox.db'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM users WHERE login = ?", (login,)).fetchone() is not None
        finally:
            db.close()

    def hosts(self, group: str | None = None) -> list[str]:
        data = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        out: list[str] = []
        for name, body in (data.get("all", {}).get("children") or {}).items():
            if group is None or name == group:
                out.extend((body.get("hosts") or {}).keys())
        return out

    def group_of(self, uai: str) -> str:
        data = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        for name, body in data["all"]["children"].items():
            if uai in (body.get("hosts") or {}):
                return name
        raise KeyError(uai)

    def group_vars(self, group: str) -> dict[str, Any]:
        return yaml.safe_load((self.inventory / "group_vars" / f"{group}.yml").read_text())


@contextmanager
def running_sandbox(state_dir: Path, seed: int = 42, etabs: int = 6, trust_ca: Sequence[str] = ()) -> Iterator[Sandbox]:
    """A seeded sandbox (:func:`start_sandbox`), stopped afterwards, even when starting it failed half-way."""
    try:
        yield start_sandbox(state_dir, seed=seed, etabs=etabs, trust_ca=trust_ca)
    finally:
        sandbox_cli(state_dir, "stop", check=False)


def start_sandbox(state_dir: Path, seed: int = 42, etabs: int = 6, trust_ca: Sequence[str] = ()) -> Sandbox:
    """``trust_ca``: CA files PRONOTE.net trusts when it validates tickets at a CAS other than the sandbox's."""
    sandbox_cli(state_dir, "seed", "--seed", str(seed), "--etabs", str(etabs))
    sandbox_cli(state_dir, "start", "--detach", "--port", "0", "--hosting-port", "0",
                *(arg for path in trust_ca for arg in ("--trust-ca", str(path))))
    info = json.loads((state_dir / "sandbox.json").read_text())
    inventory = state_dir / "inventory"
    sandbox_cli(state_dir, "inventory", "--out", str(inventory))
    # what each school's PRONOTE exported at the rentrée, where the inventory says
    sandbox_cli(state_dir, "export", "--all", "--out-dir", str(state_dir / "identifiants"))
    all_vars = {"ent_admin_password": ADMIN_PASSWORD, "ent_ca_path": info["ca"],
                "ent_identifiers_dir": str(state_dir / "identifiants"), "ent_service_block_version": "auto",
                "ent_pronote_report_dir": str(state_dir / "rapports"),
                # PRONOTE.net: the hosting console's client certificate, issued by the sandbox
                "pronote_hosting_cert": str(state_dir / "client.pem"),
                "pronote_hosting_key": str(state_dir / "client.key"), "pronote_ca_path": info["ca"],
                "pronote_published_espaces": ["Page commune", "Espace Direction", "Espace Professeurs",
                                              "Espace Vie scolaire", "Espace Parents", "Espace Elèves"]}
    group_vars = inventory / "group_vars"
    for path in group_vars.glob("ent_*.yml"):
        slug = path.stem[len("ent_"):]
        data = yaml.safe_load(path.read_text())
        data.setdefault("ent_admin_login", f"admin.{slug}")
        if os.environ.get("ENT_TEST_CAS_SELECTION") == "none":
            # the K-d'école CAS's selection page followed by the client, not skipped with ent_cas_selection
            data.pop("ent_cas_selection", None)
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    (group_vars / "all.yml").write_text(yaml.safe_dump(all_vars, allow_unicode=True))
    return Sandbox(state_dir, info["url"], info["ca"], int(info["port"]), inventory, info["hosting_url"])


def cas_login_form(http: Any, page: Any) -> tuple[Any, Any]:
    """The CAS login form a browser fills in from ``page``: (its page, the form element).

    On a K-d'école CAS's selection page, the user clicks the source of the
    ENT's own accounts first.
    """
    import lxml.html

    doc = lxml.html.document_fromstring(page.content)
    local = doc.xpath("//li[contains(@class, 'cas__wayf-idp')][contains(., \"compte de l'ENT\")]"
                      "//a[@class='cas__wayf-lien']/@href")
    if local:
        from urllib.parse import urljoin

        page = http.get(urljoin(page.url, local[0]))
        doc = lxml.html.document_fromstring(page.content)
    forms = doc.xpath("//form[@id='fm1' or contains(concat(' ', @class, ' '), ' cas__login-form ')]")
    assert len(forms) == 1, page.text[:2000]
    return page, forms[0]


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    #: host -> list of the tasks' registered results, in task order
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def result(self, host: str, index: int = 0) -> dict[str, Any]:
        try:
            return self.results[host][index]
        except (KeyError, IndexError):
            raise AssertionError(f"no result {index} for {host}\n{self.stdout[-3000:]}\n{self.stderr[-2000:]}") from None


def run_tasks(sandbox: Sandbox, tmp: Path, tasks: list[dict[str, Any]], *, hosts: str = "all",
              check: bool = False, diff: bool = False, connection: dict[str, Any] | None = None,
              env: dict[str, str] | None = None, timeout: float = 600) -> PlaybookRun:
    """Run ``tasks`` on ``hosts`` with the console connection as module defaults."""
    out_dir = tmp / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.json"):
        old.unlink()
    defaults = {
        "console_url": "{{ ent_console_url }}",
        "admin_login": "{{ ent_admin_login }}",
        "admin_password": "{{ ent_admin_password }}",
        "ca_path": "{{ ent_ca_path }}",
        **(connection or {}),
    }
    registered = []
    body = []
    for index, task in enumerate(tasks):
        name = f"r{index}"
        registered.append(name)
        body.append({"name": f"task {index}", **task, "register": name, "ignore_errors": True})
    dump = "{{ {" + ", ".join(f"'{n}': ({n} | default(None))" for n in registered) + "} | to_json }}"
    body.append({"name": "dump results", "delegate_to": "localhost", "check_mode": False,
                 "ansible.builtin.copy": {"content": dump, "dest": f"{out_dir}/{{{{ inventory_hostname }}}}.json",
                                          "mode": "0600"}})
    play = [{"name": "test", "hosts": hosts, "gather_facts": False, "connection": "local",
             "module_defaults": {"group/ent.pronote.ent": defaults}, "tasks": body}]
    playbook = tmp / "play.yml"
    playbook.write_text(yaml.safe_dump(play, allow_unicode=True, sort_keys=False))
    return run_playbook(sandbox, tmp, playbook, check=check, diff=diff, env=env, timeout=timeout,
                        collect=(out_dir, registered))


def run_playbook(sandbox: Sandbox, tmp: Path, playbook: Path | str, *args: str, check: bool = False,
                 diff: bool = False, env: dict[str, str] | None = None, timeout: float = 900,
                 collect: tuple[Path, list[str]] | None = None) -> PlaybookRun:
    cmd = [ANSIBLE_PLAYBOOK, str(playbook), "-i", str(sandbox.inventory), *args]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    full_env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0", "ENT_PRONOTE_CACHE_DIR": str(tmp / "cache"),
                "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"), **(env or {})}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=timeout)
    run = PlaybookRun(proc.returncode, proc.stdout, proc.stderr)
    if collect:
        out_dir, names = collect
        for path in out_dir.glob("*.json"):
            data = json.loads(path.read_text())
            run.results[path.stem] = [data[n] for n in names]
    return run


@dataclass
class RunnerRun:
    """A playbook run through ansible-runner (the engine AWX uses): its status, stdout and job events."""

    rc: int
    status: str
    stdout: str
    events: list[dict[str, Any]]

    def stats(self) -> dict[str, dict[str, int]]:
        """host -> per-host counts of the ``playbook_on_stats`` event (what AWX's host summaries read)."""
        data = next(e["event_data"] for e in self.events if e.get("event") == "playbook_on_stats")
        hosts = set().union(*(data.get(k) or {} for k in ("ok", "changed", "failures", "dark", "rescued", "skipped")))
        return {h: {k: (data.get(k) or {}).get(h, 0) for k in ("ok", "changed", "failures", "dark", "rescued")}
                for h in hosts}

    def hosts_with(self, event: str) -> set[str]:
        """The hosts of the job events of one kind (``runner_on_failed``: AWX's failed hosts)."""
        return {e["event_data"]["host"] for e in self.events
                if e.get("event") == event and not e["event_data"].get("ignore_errors")}


def run_with_runner(private_data_dir: Path, playbook: Path | str, *, inventory: Path | str,
                    extravars: dict[str, Any] | None = None, envvars: dict[str, str] | None = None,
                    project_dir: Path | None = None, limit: str | None = None, timeout: float = 900) -> RunnerRun:
    """Run ``playbook`` as AWX does: ansible-runner from a private data dir, its own callback, env and extra vars.

    The playbook and inventory are given as paths; the collection is found through the checkout's
    ansible.cfg (AWX finds it in the EE or the project's collections/requirements.yml).
    """
    import ansible_runner  # only the tests that use it need it

    private_data_dir.mkdir(parents=True, exist_ok=True)
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ENT_PRONOTE_CACHE_DIR": str(private_data_dir / "cache"),
           "ANSIBLE_LOCAL_TEMP": str(private_data_dir / "ansible-tmp"),
           # the virtualenv's ansible-playbook, as the EE's is on its PATH
           "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}", **(envvars or {})}
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), playbook=str(playbook),
                                inventory=str(inventory), extravars=extravars or {}, envvars=env, limit=limit,
                                project_dir=str(project_dir) if project_dir else None, quiet=True,
                                timeout=int(timeout))
    stdout = runner.stdout.read() if runner.stdout else ""
    return RunnerRun(runner.rc, runner.status, stdout, list(runner.events))


def indent(text: str) -> str:
    return textwrap.indent(text, "    ")
