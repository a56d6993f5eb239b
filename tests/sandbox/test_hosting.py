"""The hosting console (docs/pronote-net-screens.md): client-certificate TLS, "Mes bases",
publishing, the two settings forms, CSRF, 409/400/303, the hosting_fail_next fault, the
pronote-base command and the listener's address in sandbox.json and the inventory."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox import pronote_net, refdata
from sandbox.pronote_net import ESPACES, MOBILE_APP_ID, PAGE_ESPACES, Changes
from sandbox.state import REPO_ROOT, read_info
from sandbox_support import TIMEOUT, Sandbox, html, label_control, one, text

PUBLISHED = "La base est publiée : arrêtez la publication pour modifier ces paramètres."


class Console:
    """A client of the hosting console presenting the sandbox's client certificate."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.url = sb.threaded.hosting_url
        self.session = requests.Session()
        self.session.cert = (str(sb.sd.client_cert), str(sb.sd.client_key))

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.url + path.lstrip("/"), verify=self.sb.ca, timeout=TIMEOUT,
                                allow_redirects=False)

    def post(self, path: str, data: dict[str, Any]) -> requests.Response:
        return self.session.post(self.url + path.lstrip("/"), data=data, verify=self.sb.ca, timeout=TIMEOUT,
                                 allow_redirects=False)

    def jeton(self, path: str) -> str:
        return one(html(self.get(path)), "(//input[@name='jeton'])[1]").get("value")

    def submit(self, path: str, **changes: Any) -> requests.Response:
        """Post the form of ``path`` back as shown, with ``changes`` (None unchecks / removes)."""
        doc = html(self.get(path))
        form = one(doc, "//form[@method='post']")
        data: dict[str, Any] = {}
        for node in form.xpath(".//input | .//select"):
            name = node.get("name")
            if node.tag == "select":
                data[name] = node.xpath("./option[@selected]/@value")[0]
            elif node.get("type") == "checkbox":
                if node.get("checked") is not None:
                    data[name] = node.get("value")
            else:
                data[name] = node.get("value") or ""
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return self.post(path, data)


@pytest.fixture
def console(sb: Sandbox) -> Console:
    return Console(sb)


def base(sb: Sandbox, uai: str) -> pronote_net.Base:
    conn = sb.conn()
    try:
        found = pronote_net.load_base(conn, uai)
        assert found is not None
        return found
    finally:
        conn.close()


def configure(sb: Sandbox, uai: str, **changes: Any) -> None:
    conn = sb.conn()
    try:
        pronote_net.apply_changes(conn, uai, Changes(**changes))
    finally:
        conn.close()


def unpublished(sb: Sandbox, index: int = 0) -> str:
    uai = sb.etabs("mbn")[index]["uai"]
    configure(sb, uai, published=False, racine="Pronote", sans_cas=True)
    return uai


def error(response: requests.Response) -> str:
    return text(one(html(response), "//div[@class='erreur']"))


# ---------------------------------------------------------------- TLS

def test_client_certificate_files(sb: Sandbox) -> None:
    cert = x509.load_pem_x509_certificate(sb.sd.client_cert.read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(sb.sd.ca_cert.read_bytes()))
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert stat.S_IMODE(os.stat(sb.sd.client_key).st_mode) == 0o600


def test_sandbox_json_records_the_hosting_url(sb: Sandbox) -> None:
    info = read_info(sb.sd)
    assert info is not None and info["hosting_url"] == sb.threaded.hosting_url
    assert info["hosting_url"].startswith("https://127.0.0.1:") and info["hosting_port"] != info["port"]


def test_refuses_a_client_without_certificate(sb: Sandbox) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sb.threaded.hosting_url, verify=sb.ca, timeout=TIMEOUT)
    context = ssl.create_default_context(cafile=sb.ca)
    with socket.create_connection(("127.0.0.1", sb.threaded.hosting_port), timeout=TIMEOUT) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert not tls.recv(1024)  # TLS 1.3: the refusal comes after the client's handshake
                raise ConnectionError("closed without an answer")


def _other_ca_client(tmp_path: Path) -> tuple[str, str]:
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intrus")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "intrus.pem", tmp_path / "intrus.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_refuses_a_certificate_of_another_ca(sb: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sb.threaded.hosting_url, verify=sb.ca, cert=_other_ca_client(tmp_path), timeout=TIMEOUT)


def test_hosting_console_is_not_on_the_main_listener(sb: Sandbox, console: Console) -> None:
    assert requests.get(sb.url + "bases/" + sb.etabs("mbn")[0]["uai"].lower() + "/", verify=sb.ca,
                        timeout=TIMEOUT).status_code == 404
    assert console.get("/mbn/").status_code == 404


# ---------------------------------------------------------------- screens

def test_mes_bases(sb: Sandbox, console: Console) -> None:
    response = console.get("/")
    assert response.status_code == 200
    table = one(html(response), "//table[@id='bases']")
    assert [text(th) for th in table.xpath("./thead/tr/th")] == ["UAI", "Établissement", "Version", "État"]
    rows = table.xpath("./tbody/tr")
    etabs = sb.query("SELECT uai, name FROM etabs ORDER BY project_id, id")
    assert [text(r.xpath("td")[0]) for r in rows] == [e["uai"] for e in etabs]
    assert [text(r.xpath("td")[1]) for r in rows] == [e["name"] for e in etabs]
    assert {text(r.xpath("td")[3]) for r in rows} <= {"Publiée", "Non publiée"}
    link = rows[0].xpath("td[1]/a")[0].get("href")
    assert link == f"/bases/{etabs[0]['uai'].lower()}/"
    assert text(one(html(console.get(link)), "//h1")) == etabs[0]["name"]


def test_publish_and_stop(sb: Sandbox, console: Console) -> None:
    uai = sb.etabs("mbn")[0]["uai"]
    configure(sb, uai, published=True)
    page = html(console.get(f"/bases/{uai}/"))
    assert text(one(page, "//p[@id='etat']")) == "Publiée"
    assert [text(a) for a in page.xpath("//a")][1:3] == ["Déléguer l'authentification", "Paramètres de publication"]
    form = one(page, "//form[@method='post']")
    assert form.get("action") == f"/bases/{uai.lower()}/arreter" and text(form) == "Arrêter la publication"
    stopped = console.post(form.get("action"), {"jeton": console.jeton(f"/bases/{uai}/")})
    assert stopped.status_code == 303 and stopped.headers["Location"].endswith(f"/bases/{uai.lower()}/")
    page = html(console.get(f"/bases/{uai.lower()}/"))
    assert text(one(page, "//p[@id='etat']")) == "Non publiée"
    form = one(page, "//form[@method='post']")
    assert form.get("action") == f"/bases/{uai.lower()}/publier" and text(form) == "Publier la base"
    info = f"{sb.url}index-education/{uai.lower()}/pronote/infoMobileApp.json?id={MOBILE_APP_ID}"
    assert requests.get(info, verify=sb.ca, timeout=TIMEOUT).status_code == 503
    assert console.post(form.get("action"), {"jeton": console.jeton(f"/bases/{uai}/")}).status_code == 303
    assert base(sb, uai).published
    assert requests.get(info, verify=sb.ca, timeout=TIMEOUT).status_code == 200


def test_jeton_is_required(sb: Sandbox, console: Console) -> None:
    uai = sb.etabs("mbn")[1]["uai"]
    configure(sb, uai, published=True)
    for data in ({}, {"jeton": "faux"}):
        assert console.post(f"/bases/{uai}/arreter", data).status_code == 403
        assert console.post(f"/bases/{uai}/publication", {**data, "racine": "X"}).status_code == 403
    configure(sb, uai, published=False)
    assert console.post(f"/bases/{uai}/delegation", {"projet": "autre"}).status_code == 403
    assert base(sb, uai).racine == "Pronote" and not base(sb, uai).published
    configure(sb, uai, published=True)


def test_unknown_base(console: Console) -> None:
    assert console.get("/bases/0000000a/").status_code == 404
    assert console.get("/bases/0000000a/delegation").status_code == 404


def test_delegation_form(sb: Sandbox, console: Console) -> None:
    uai = unpublished(sb)
    path = f"/bases/{uai.lower()}/delegation"
    doc = html(console.get(path))
    assert text(one(doc, "//h1")) == "Déléguer l'authentification"
    assert label_control(doc, "Définir une délégation CAS").get("type") == "checkbox"
    projet = label_control(doc, "Projet ENT")
    assert [text(o) for o in projet.xpath("option")] == ["Autre"] + [p.name for p in refdata.PROJECTS]
    assert label_control(doc, "URL du serveur CAS").get("type") == "text"
    assert text(one(doc, "//table/caption")) == "Choix de la délégation en fonction de l'espace"
    for espace in PAGE_ESPACES:
        select = label_control(doc, f"Délégation {espace.name}")
        assert [text(o) for o in select.xpath("option")] == ["CAS", "Ws-Federation", "Aucune"]
    with pytest.raises(AssertionError):
        label_control(doc, "Délégation Page commune")
    assert one(doc, "//form[@method='post']//button").text == "Enregistrer"
    assert one(doc, "//form[@method='post']").get("action") == path

    # a project the sandbox serves: its own CAS wins over what was typed
    saved = console.submit(path, cas_actif="1", projet="mbn", cas_url="https://tapé.example/cas",
                           **{f"delegation_{e.key}": "Ws-Federation" if e.key == "parent" else "CAS"
                              for e in PAGE_ESPACES})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/bases/{uai.lower()}/")
    stored = base(sb, uai)
    assert (stored.cas_actif, stored.cas_project) == (True, "mbn")
    assert stored.delegation(pronote_net.ESPACE_BY_KEY["parent"]) == "Ws-Federation"
    doc = html(console.get(path))
    assert label_control(doc, "URL du serveur CAS").get("value") == f"{sb.url}mbn/cas"
    assert label_control(doc, "Projet ENT").xpath("option[@selected]/text()") == ["Mon Bureau Numérique"]
    configure(sb, uai, published=True)
    info = requests.get(f"{sb.url}index-education/{uai.lower()}/pronote/infoMobileApp.json",
                        params={"id": MOBILE_APP_ID}, verify=sb.ca, timeout=TIMEOUT).json()
    assert info["CAS"] == {"actif": True, "casURL": f"{sb.url}mbn/cas"}
    configure(sb, uai, published=False)

    # a project of the vendor's list the sandbox does not serve: the vendor's URL
    assert console.submit(path, projet="agora06", cas_url="").status_code == 303
    assert label_control(html(console.get(path)), "URL du serveur CAS").get("value") == "https://cas.agora06.fr"
    # "Autre": the typed URL is kept
    assert console.submit(path, projet="autre", cas_url="https://cas.example.org/cas").status_code == 303
    stored = base(sb, uai)
    assert (stored.cas_project, stored.cas_url) == ("", "https://cas.example.org/cas")
    # off
    assert console.submit(path, cas_actif=None).status_code == 303
    assert not base(sb, uai).cas_actif
    # the option values carry the URL a project fills in (the page's script)
    options = html(console.get(path)).xpath("//select[@id='projet']/option")
    assert {o.text: o.get("data-cas-url") for o in options}["Mon Bureau Numérique"] == f"{sb.url}mbn/cas"


@pytest.mark.parametrize("changes", [
    {"cas_actif": "1", "projet": "autre", "cas_url": "http://cas.example.org/cas"},
    {"cas_actif": "1", "projet": "autre", "cas_url": ""},
    {"projet": "atlantide"},
    {"delegation_eleve": "Kerberos"},
    {"delegation_parent": None},
])
def test_delegation_bad_values(sb: Sandbox, console: Console, changes: dict[str, Any]) -> None:
    uai = unpublished(sb)
    before = base(sb, uai)
    refused = console.submit(f"/bases/{uai}/delegation", **changes)
    assert refused.status_code == 400 and error(refused)
    assert one(html(refused), "//form[@method='post']") is not None
    assert base(sb, uai) == before


def test_publication_form(sb: Sandbox, console: Console) -> None:
    uai = unpublished(sb, 1)
    path = f"/bases/{uai.lower()}/publication"
    doc = html(console.get(path))
    assert text(one(doc, "//h1")) == "Paramètres de publication"
    assert label_control(doc, "Racine").get("value") == "Pronote"
    for espace in ESPACES:
        box = label_control(doc, f"Publier {espace.name}")
        assert box.get("type") == "checkbox"
        assert (box.get("checked") is not None) == base(sb, uai).espace_published(espace)
    assert one(doc, "//form[@method='post']//button").text == "Enregistrer"
    saved = console.submit(path, racine="PronoteNet", publier_parent=None, publier_academie="1")
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/bases/{uai.lower()}/")
    stored = base(sb, uai)
    assert stored.racine == "PronoteNet"
    assert not stored.espace_published(pronote_net.ESPACE_BY_KEY["parent"])
    assert stored.espace_published(pronote_net.ESPACE_BY_KEY["academie"])
    for racine in ("", "   ", "a/b", "pro note"):
        refused = console.submit(path, racine=racine)
        assert refused.status_code == 400 and error(refused), racine
    assert base(sb, uai) == stored
    configure(sb, uai, racine="Pronote", espaces=["parent=on", "academie=off"], published=True)


def test_settings_refused_while_published(sb: Sandbox, console: Console) -> None:
    uai = sb.etabs("mbn")[2]["uai"]
    configure(sb, uai, published=True)
    before = base(sb, uai)
    for path, changes in ((f"/bases/{uai}/delegation", {"cas_actif": "1", "projet": "mbn"}),
                          (f"/bases/{uai}/publication", {"racine": "Ailleurs"}),
                          (f"/bases/{uai}/publication", {"racine": ""})):
        refused = console.submit(path, **changes)
        assert refused.status_code == 409, path
        assert error(refused) == PUBLISHED
        assert one(html(refused), "//form[@method='post']") is not None
    assert base(sb, uai) == before


# ---------------------------------------------------------------- fault

@pytest.mark.parametrize("action", ["publier", "arreter", "enregistrer"])
def test_hosting_fail_next(sb: Sandbox, console: Console, action: str) -> None:
    uai = sb.etabs("occitanie")[0]["uai"]
    configure(sb, uai, published=action == "arreter", racine="Pronote")
    if action == "enregistrer":
        path, data = f"/bases/{uai}/publication", {"racine": "Nouvelle"}
    else:
        path, data = f"/bases/{uai}/{action}", {}
    before = base(sb, uai)
    # another action is not affected
    other = "publier" if action != "publier" else "enregistrer"
    assert sb.control("POST", "faults", {"hosting_fail_next": other}).status_code == 200
    assert sb.control("POST", "faults", {"hosting_fail_next": action}).json()["hosting_fail_next"] == action
    failed = (console.submit(path, **data) if action == "enregistrer"
              else console.post(path, {"jeton": console.jeton(f"/bases/{uai}/")}))
    assert failed.status_code == 500
    assert base(sb, uai) == before
    assert sb.control("GET", "faults").json()["hosting_fail_next"] == ""
    again = (console.submit(path, **data) if action == "enregistrer"
             else console.post(path, {"jeton": console.jeton(f"/bases/{uai}/")}))
    assert again.status_code == 303
    assert base(sb, uai) != before
    configure(sb, uai, published=True, racine="Pronote")


def test_hosting_fail_next_values(sb: Sandbox) -> None:
    assert sb.control("POST", "faults", {"hosting_fail_next": "supprimer"}).status_code == 400
    assert sb.control("POST", "faults", {"hosting_fail_next": 1}).status_code == 400


# ---------------------------------------------------------------- landing page

def test_landing_lists_pronote_net_and_the_hosting_console(sb: Sandbox) -> None:
    doc = html(requests.get(sb.url, verify=sb.ca, timeout=TIMEOUT))
    links = [a.get("href") for a in doc.xpath("//table[@id='pronote-net']//a")]
    conn = sb.conn()
    try:
        expected = [b.path for b in pronote_net.all_bases(conn)]
    finally:
        conn.close()
    assert sorted(links) == sorted(expected) and len(links) == len(sb.etabs("mbn")) + len(sb.etabs("occitanie"))
    assert one(doc, "//a[@id='hebergement']").get("href") == sb.threaded.hosting_url


# ---------------------------------------------------------------- command line

def run(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_pronote_base_command(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seeded = run(state, "seed", "--etabs", "2")
    etab = [line.split()[0] for line in seeded.stdout.splitlines() if line.startswith("  0")][0]
    shown = run(state, "pronote-base", "--uai", etab.lower(), "--show")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["uai"] == etab and data["published"] is True and data["racine"] == "Pronote"
    assert data["url"] == f"https://127.0.0.1:8443/index-education/{etab.lower()}/pronote/"
    assert [e["name"] for e in data["espaces"]] == [e.name for e in ESPACES]
    ident = json.loads(run(state, "truth", "--uai", etab).stdout)
    parent = next(i for i, v in ident.items() if v["category"] == "responsables")
    changed = run(state, "pronote-base", "--uai", etab, "--version", "2024.3.2", "--arreter", "--racine", "PronoteNet",
                  "--cas-url", "https://127.0.0.1:9999/mbn/cas", "--espace", "Espace Parents=off",
                  "--espace", "academie=on", "--delegation", "eleve.html=Ws-Federation",
                  "--acces-parents", f"{parent}=off", "--identifiant-cas", f"{parent}=un.login", "--show")
    assert changed.returncode == 0, changed.stderr
    data = json.loads(changed.stdout)
    assert (data["version"], data["published"], data["racine"]) == ("2024.3.2", False, "PronoteNet")
    assert data["cas"] == {"enabled": True, "project": "mbn", "url": "https://127.0.0.1:8443/mbn/cas"}
    espaces = {e["name"]: e for e in data["espaces"]}
    assert not espaces["Espace Parents"]["published"] and espaces["Espace Académie"]["published"]
    assert espaces["Espace Elèves"]["delegation"] == "Ws-Federation"
    export = run(state, "export", "--uai", etab).stdout
    assert f'Identifiant="{parent}"' in export and 'IdentifiantCAS="un.login"' in export
    assert 'AccesEspaceParents="false"' in export
    vendor = json.loads(run(state, "pronote-base", "--uai", etab, "--cas-url", "https://cas.monbureaunumerique.fr",
                            "--show").stdout)
    assert vendor["cas"] == {"enabled": True, "project": "Autre", "url": "https://cas.monbureaunumerique.fr"}
    off = json.loads(run(state, "pronote-base", "--uai", etab, "--sans-cas", "--publier",
                         "--identifiant-cas", f"{parent}=", "--show").stdout)
    assert off["cas"]["enabled"] is False and off["published"] is True
    assert 'IdentifiantCAS="un.login"' not in run(state, "export", "--uai", etab).stdout
    plain = run(state, "pronote-base", "--uai", etab)
    assert plain.returncode == 0 and etab in plain.stdout
    for bad in (["--version", "2024"], ["--racine", ""], ["--cas-url", "http://cas.example.org"],
                ["--espace", "Espace Inconnu=on"], ["--espace", "parent=peut-être"], ["--delegation", "eleve=SAML"],
                ["--delegation", "Page commune=CAS"], ["--acces-parents", "INCONNU=off"]):
        done = run(state, "pronote-base", "--uai", etab, *bad)
        assert done.returncode == 2 and done.stderr, bad
    assert run(state, "pronote-base", "--uai", "0000000A").returncode == 2


def test_inventory_has_pronote_root_and_hosting_url(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run(state, "seed", "--etabs", "2").returncode == 0
    done = run(state, "inventory", "--out", str(tmp_path / "inv"), "--url", "https://127.0.0.1:8443/",
               "--hosting-url", "https://127.0.0.1:8444/")
    assert done.returncode == 0, done.stderr
    text_ = (tmp_path / "inv" / "group_vars" / "ent_mbn.yml").read_text(encoding="utf-8")
    assert 'pronote_root: "https://127.0.0.1:8443/index-education/"' in text_
    assert 'pronote_hosting_url: "https://127.0.0.1:8444/"' in text_


def test_detached_sandbox_serves_the_hosting_console(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run(state, "seed", "--etabs", "2").returncode == 0
    started = run(state, "start", "--port", "0", "--hosting-port", "0", "--detach")
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads((state / "sandbox.json").read_text())
        assert info["hosting_url"].startswith("https://127.0.0.1:") and info["hosting_url"] != info["url"]
        response = requests.get(info["hosting_url"], verify=info["ca"], timeout=TIMEOUT,
                                cert=(str(state / "client.pem"), str(state / "client.key")))
        assert response.status_code == 200 and one(html(response), "//table[@id='bases']") is not None
        assert "console d'hébergement" in run(state, "status").stdout
        fault = run(state, "faults", "--hosting-fail-next", "publier")
        assert fault.returncode == 0 and json.loads(fault.stdout)["hosting_fail_next"] == "publier"
        assert run(state, "faults", "--hosting-fail-next", "supprimer").returncode == 2
    finally:
        run(state, "stop")
