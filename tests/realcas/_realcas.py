"""An independent CAS server for the tests: django-cas-server on loopback HTTPS, with its own CA.

:func:`start_real_cas` writes a Django settings module, a URL conf, a CA and
a server certificate into a directory, starts ``_realcas_server.py`` in a
subprocess (werkzeug's threaded server around Django's WSGI app, sqlite
database in that directory) and returns a :class:`RealCas` once it listens.
Django's CSRF protection is on, as in production: a form post without the
``Referer`` or ``Origin`` a browser sends is refused with HTTP 403.

Nothing here imports the sandbox: this CAS is not written by the same hands.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import lxml.etree
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
#: the password of the fixture's accounts
PASSWORD = "Mot-de-passe-1"
CAS_NS = {"cas": "http://www.yale.edu/tp/cas"}
#: what CAS 3.0 adds to a user's attributes about the sign-in itself
PROTOCOL_ATTRIBUTES = frozenset({"authenticationDate", "isFromNewLogin", "longTermAuthenticationRequestTokenUsed"})

SETTINGS = '''\
SECRET_KEY = {secret!r}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages", "django.contrib.staticfiles", "cas_server"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.common.CommonMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware",
              "django.middleware.clickjacking.XFrameOptionsMiddleware"]
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r},
                          "OPTIONS": {{"timeout": 30}}}}}}
ROOT_URLCONF = "realcas_urls"
STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "Europe/Paris"
USE_I18N = True
LANGUAGE_CODE = "fr"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {{"version": 1, "disable_existing_loggers": False,
           "handlers": {{"file": {{"class": "logging.FileHandler", "filename": {log!r}}}}},
           "root": {{"handlers": ["file"], "level": "WARNING"}}}}
# the CAS
CAS_AUTH_CLASS = "_realcas_auth.JsonFileAuthUser"
REALCAS_USERS = {users!r}
# no call to PyPI for a newer version: the tests never leave loopback
CAS_NEW_VERSION_HTML_WARNING = False
CAS_NEW_VERSION_EMAIL_WARNING = False
# the informative box with its close button, as a default install shows it
CAS_INFO_MESSAGES_ORDER = ["cas_explained"]
'''

URLS = '''\
from django.http import HttpResponse
from django.urls import include, path


def service(request):
    """A service the browser is sent back to (with its ticket in the URL)."""
    return HttpResponse("<!DOCTYPE html><html><body><h1>Service</h1></body></html>")


urlpatterns = [
    path("cas/", include("cas_server.urls", namespace="cas_server")),
    path("service/", service),
]
'''


@dataclass
class RealCas:
    """A running django-cas-server."""

    state: Path
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        """The CAS URL, as an ENT project's inventory gives it."""
        return f"https://127.0.0.1:{self.port}/cas"

    @property
    def ca(self) -> str:
        return str(self.state / "ca.pem")

    @property
    def service(self) -> str:
        """A loopback HTTPS service of the CAS's service pattern (on the CAS's own server)."""
        return f"https://127.0.0.1:{self.port}/service/"

    def login_url(self, service: str | None = None) -> str:
        return f"{self.url}/login?service={quote(service or self.service, safe='')}"

    def add_user(self, login: str, password: str, **attributes: str | list[str]) -> None:
        """Add (or replace) an account; the server reads the file at each sign-in."""
        path = self.state / "users.json"
        users = json.loads(path.read_text(encoding="utf-8"))
        users[login] = {"password": password, "attributes": attributes}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(users, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def validate(self, ticket: str, service: str | None = None) -> tuple[str | None, dict[str, list[str]], str]:
        """Validate ``ticket`` as a CAS 3.0 client does: (user or None, the user's attributes, failure code)."""
        answer = requests.get(f"{self.url}/p3/serviceValidate", params={"service": service or self.service,
                                                                       "ticket": ticket},
                              verify=self.ca, timeout=10)
        answer.raise_for_status()
        root = lxml.etree.fromstring(answer.content)
        failure = root.find("cas:authenticationFailure", CAS_NS)
        if failure is not None:
            return None, {}, failure.get("code", "")
        success = root.find("cas:authenticationSuccess", CAS_NS)
        user = success.findtext("cas:user", namespaces=CAS_NS)
        attributes: dict[str, list[str]] = {}
        for element in success.iterfind("cas:attributes/*", CAS_NS):
            name = lxml.etree.QName(element).localname
            if name == "attribute":  # <cas:attribute name="…" value="…"/>
                attributes.setdefault(element.get("name"), []).append(element.get("value"))
            else:  # <cas:idPronote>…</cas:idPronote>
                attributes.setdefault(name, []).append(element.text or "")
        return user, {k: v for k, v in attributes.items() if k not in PROTOCOL_ATTRIBUTES}, ""

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in (self.state / "server.log",
                                                                        self.state / "django.log") if p.exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_real_cas(state: Path, timeout: float = 90) -> RealCas:
    """Write the server's files into ``state`` and start it; return once it listens."""
    state.mkdir(parents=True, exist_ok=True)
    write_certificates(state)
    (state / "users.json").write_text("{}", encoding="utf-8")
    (state / "realcas_settings.py").write_text(SETTINGS.format(
        secret=secrets.token_urlsafe(40), db=str(state / "cas.sqlite3"), users=str(state / "users.json"),
        log=str(state / "django.log")), encoding="utf-8")
    (state / "realcas_urls.py").write_text(URLS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    with open(state / "server.log", "wb") as log:
        process = subprocess.Popen([sys.executable, str(HERE / "_realcas_server.py"), str(state)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=state)
    cas = RealCas(state, 0, process)
    deadline = time.monotonic() + timeout
    port_file = state / "port"
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            cas.stop()
            raise RuntimeError(f"django-cas-server did not start (exit {process.returncode}):\n{cas.log()}")
        time.sleep(0.1)
    cas.port = int(port_file.read_text())
    return cas


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ent.pronote test CAS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_certificates(state: Path) -> None:
    """``ca.pem`` (a CA of its own, not the sandbox's), ``server.pem`` and ``server.key`` for 127.0.0.1."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ent.pronote test CAS CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (state / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_path = state / "server.key"
    key_path.write_bytes(_pem_key(key))
    key_path.chmod(0o600)
    (state / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
