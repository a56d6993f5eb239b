"""The command line, a detached server, and state across restarts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.state import REPO_ROOT
from sandbox_support import Browser, FakeCas, Sandbox, cas_success, html, one, text


def run(state: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_refuses_non_loopback(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        done = run(tmp_path, "start", "--host", host, "--port", "0")
        assert done.returncode == 2 and "bouclage" in done.stderr


def test_detached_lifecycle_and_state_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seeded = run(state, "seed", "--seed", "42", "--etabs", "2")
    assert seeded.returncode == 0 and "admin.mbn" in seeded.stdout
    started = run(state, "start", "--port", "0", "--detach")
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads((state / "sandbox.json").read_text())
        assert started.stdout.strip() == info["url"] and info["url"].startswith("https://127.0.0.1:")
        assert info["ca"] == str(state / "ca.pem") and info["port"] > 0
        assert run(state, "status").returncode == 0
        token = (state / "control-token").read_text().strip()
        sandbox = Sandbox(None, None, info["url"], info["ca"], token)  # type: ignore[arg-type]
        assert sandbox.control("GET", "health", token=None).json()["status"] == "ok"
        faults = run(state, "faults", "--latency-ms", "1", "--error-rate", "0.0", "--fault-seed", "3")
        assert faults.returncode == 0 and json.loads(faults.stdout)["latency_ms"] == 1
        assert run(state, "faults", "--error-rate", "7").returncode == 2
        abort = run(state, "faults", "--import-abort-step", "4")
        assert abort.returncode == 0 and json.loads(abort.stdout)["import_abort_step"] == 4
        assert run(state, "faults", "--import-abort-step", "7").returncode == 2
        variants = run(state, "variants", "--project", "mbn", "--variant", "skin", "--variant", "renamed-label")
        assert variants.returncode == 0 and json.loads(variants.stdout) == {"mbn": ["renamed-label", "skin"]}
        assert json.loads(run(state, "variants", "--variant", "reordered").stdout) == {
            "*": ["reordered"], "mbn": ["renamed-label", "skin"]}
        assert run(state, "variants", "--variant", "inconnue").returncode == 2
        assert json.loads(run(state, "variants", "--project", "mbn", "--aucune").stdout) == {"*": ["reordered"]}
        assert json.loads(run(state, "variants", "--reset").stdout) == {}

        browser = Browser(sandbox)
        home = browser.console_login("mbn", "admin.mbn")
        first_site = one(html(home), "//section[@id='administration']//a[contains(@href, '/etab/')]").get("href")
        uai = first_site.split("/")[3]
        new = f"/mbn/etab/{uai}/admin/services/new"
        created = browser.post(new, {"csrf_token": browser.csrf(new), "sso_type": "SSO Pronote avec CAS",
                                     "url": f"https://{uai}.index-education.net/pronote/", "regroupement": "Scolarité",
                                     "intitule": "survit au redémarrage"})
        assert created.status_code == 303
        expired = run(state, "expire-sessions")
        assert expired.returncode == 0 and json.loads(expired.stdout)["console_sessions"] == 1

        assert run(state, "stop").returncode == 0
        assert run(state, "status").returncode == 3
        assert run(state, "start", "--port", str(info["port"]), "--detach").returncode == 0
        assert sandbox.control("GET", "faults").json()["latency_ms"] == 0  # faults reset at restart
        browser = Browser(sandbox)
        browser.console_login("mbn", "admin.mbn")
        rows = html(browser.get(f"/mbn/etab/{uai}/admin/services")).xpath("//table[@id='services']/tbody/tr")
        assert "survit au redémarrage" in [text(r.xpath("td")[1]) for r in rows]
        assert (state / "ca.pem").read_bytes() == Path(info["ca"]).read_bytes()
    finally:
        run(state, "stop")
    assert run(state, "faults").returncode == 1


def test_inventory_command(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run(state, "seed").returncode == 0
    done = run(state, "inventory", "--out", str(tmp_path / "inv"), "--url", "https://127.0.0.1:8443/")
    assert done.returncode == 0, done.stderr
    occitanie = (tmp_path / "inv" / "group_vars" / "ent_occitanie.yml").read_text(encoding="utf-8")
    # the project whose CAS speaks the K-d'école dialect: its local-accounts source
    assert 'ent_cas_selection: "TOULO-ENT_parent_eleve"' in occitanie
    assert "ent_cas_selection" not in (tmp_path / "inv" / "group_vars" / "ent_mbn.yml").read_text(encoding="utf-8")


def test_seed_cli_refuses_second_seed_and_resets(tmp_path: Path) -> None:
    assert run(tmp_path, "seed", "--etabs", "2").returncode == 0
    again = run(tmp_path, "seed", "--etabs", "2")
    assert again.returncode == 2 and "--reset" in again.stderr
    assert run(tmp_path, "seed", "--etabs", "2", "--reset").returncode == 0
    unknown = run(tmp_path, "seed", "--projects", "mbn,atlantide", "--reset")
    assert unknown.returncode == 2 and "atlantide" in unknown.stderr


#: The default region (seed 42, 6 établissements): the committed demo inventory matches it.
DEFAULT_REGION = [
    ("0671824U", "mbn", "Collège George Sand"),
    ("0312286S", "occitanie", "Lycée Nelson Mandela"),
    ("0679674B", "mbn", "Collège Jean Jaurès"),
    ("0118279P", "occitanie", "Lycée Jean de La Fontaine"),
    ("0518928C", "mbn", "Collège Molière"),
    ("0312615Z", "occitanie", "Lycée Olympe de Gouges"),
]


def test_default_seed_is_stable(tmp_path: Path) -> None:
    """Changing the seed's draws changes the demo region: update the committed inventory too."""
    done = run(tmp_path, "seed")
    region = [tuple(line.split(" — ")[0].split(None, 2)) for line in done.stdout.splitlines() if line.startswith("  0")]
    assert region == DEFAULT_REGION


def test_trust_ca_reaches_a_detached_server(tmp_path: Path) -> None:
    """``start --trust-ca``: a detached server's PRONOTE.net validates at a CAS whose certificate comes from
    that CA; a file that holds no certificate is refused before starting."""
    state = tmp_path / "state"
    assert run(state, "seed", "--etabs", "2").returncode == 0
    (tmp_path / "vide.pem").write_text("pas un certificat\n")
    for bad in (tmp_path / "absent.pem", tmp_path / "vide.pem"):
        refused = run(state, "start", "--port", "0", "--detach", "--trust-ca", str(bad))
        assert refused.returncode == 2 and "--trust-ca" in refused.stderr and not (state / "sandbox.json").exists()
    other = FakeCas(tmp_path / "autre-cas")
    started = run(state, "start", "--port", "0", "--detach", "--trust-ca", other.ca)
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads((state / "sandbox.json").read_text())
        assert info["trust_ca"] == [other.ca]
        mismatch = run(state, "start", "--detach", "--trust-ca", info["ca"])
        assert mismatch.returncode == 1 and "--trust-ca" in mismatch.stderr
        shown = json.loads(run(state, "pronote-base", "--uai", "0671824U", "--cas-url", other.url, "--show").stdout)
        assert shown["cas"] == {"enabled": True, "project": "Autre", "url": other.url}
        base = shown["url"]
        login, ident = "autre.login", _an_ident(state, "0671824U")
        other.answers["ST-1"] = (200, "application/xml", cas_success(login, [("idPronote", ident)], "name-value"))
        landed = requests.get(base + "eleve.html", params={"ticket": "ST-1"}, verify=info["ca"], timeout=10,
                              allow_redirects=False)
        assert landed.status_code == 302, landed.text
        assert other.requests and other.requests[0].startswith("/cas/p3/serviceValidate?")
    finally:
        run(state, "stop")
        other.stop()


def _an_ident(state: Path, uai: str) -> str:
    """The Identifiant PRONOTE of a pupil of ``uai`` whose account is clean (no Identifiant CAS)."""
    truth = json.loads(run(state, "truth", "--uai", uai).stdout)
    conn = sqlite3.connect(state / "sandbox.db")
    try:
        rows = conn.execute("SELECT a.ident FROM pronote_accounts a JOIN etabs e ON e.id = a.etab_id WHERE e.uai = ?"
                            " AND a.category = 'Eleve' AND a.identifiant_cas IS NULL AND a.kind = 'exact'"
                            " ORDER BY a.id", (uai,)).fetchall()
    finally:
        conn.close()
    return next(r[0] for r in rows if r[0] in truth)


def test_cas_command_sets_the_attribute_form(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run(state, "seed", "--etabs", "2").returncode == 0
    assert json.loads(run(state, "cas", "--project", "mbn").stdout)["attributs"] == "elements"
    done = run(state, "cas", "--project", "mbn", "--attributs", "name-value")
    assert done.returncode == 0 and json.loads(done.stdout)["attributs"] == "name-value"
    assert json.loads(run(state, "cas", "--project", "occitanie").stdout)["attributs"] == "elements"
    assert run(state, "cas", "--project", "atlantide").returncode == 2
    assert run(state, "cas", "--project", "mbn", "--attributs", "json").returncode == 2


def test_cas_command_offers_only_educonnect_then_everything_again(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run(state, "seed").returncode == 0
    only = run(state, "cas", "--project", "occitanie", "--sources", "educonnect")
    assert only.returncode == 0, only.stderr
    shown = json.loads(only.stdout)
    assert shown["dialecte"] == "kdecole" and [s["type"] for s in shown["sources"]] == ["educonnect"]
    # the generated inventory no longer names a local source the CAS does not offer
    assert run(state, "inventory", "--out", str(tmp_path / "inv")).returncode == 0
    group_vars = (tmp_path / "inv" / "group_vars" / "ent_occitanie.yml").read_text(encoding="utf-8")
    assert "ent_cas_selection" not in group_vars
    every = json.loads(run(state, "cas", "--project", "occitanie", "--sources", "toutes").stdout)
    assert [s["type"] for s in every["sources"]] == ["educonnect", "local", "agents"]
    assert json.loads(run(state, "cas", "--project", "mbn").stdout) == {"projet": "mbn", "dialecte": "apereo",
                                                                        "attributs": "elements"}
    unknown = run(state, "cas", "--project", "nulle-part")
    assert unknown.returncode == 2 and "projet inconnu" in unknown.stderr
