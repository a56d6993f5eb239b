"""Running the sandbox: HTTPS listeners in the foreground, detached, or in a thread.

One process serves everything with werkzeug's threaded servers (HTTP/1.1
keep-alive): the main listener (ENT console, CAS, PRONOTE.net) and the
hosting console's, which demands a client certificate (``hosting_url`` in
``sandbox.json``). The TLS handshake runs in the connection's thread, not in the
accept loop, so a slow or silent client cannot stall the listener.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import create_app
from sandbox.runtime import Runtime
from sandbox.state import StateDir, read_info, write_info
from sandbox.hosting import create_hosting_app
from sandbox.tls import hosting_ssl_context, server_ssl_context

CONNECTION_TIMEOUT_S = 60
DETACH_TIMEOUT_S = 15.0


class NotLoopback(ValueError):
    """The requested listen address is not a loopback address."""


def check_loopback(host: str) -> str:
    """Return ``host`` when it is a loopback address or ``localhost``; raise otherwise."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise NotLoopback(f"refus d'écouter sur {host!r} : seules les adresses de bouclage sont permises "
                      "(127.0.0.1, ::1, localhost)")


class _TooLarge(Exception):
    """The request body exceeds :data:`DRAIN_LIMIT`: refused without reading it."""


#: Largest request body handed to the application: a 20 Mo identifiers file
#: and its multipart envelope fit.
MAX_BODY = 22 * 1024 * 1024
#: A larger body (up to this size) is read and dropped; the application gets
#: an empty body and ``environ[BODY_TOO_LARGE]`` so the import form can say
#: "Le fichier dépasse la taille maximale autorisée (20 Mo).".
DRAIN_LIMIT = 256 * 1024 * 1024
BODY_TOO_LARGE = "sandbox.body_too_large"
_CHUNK = 1024 * 1024


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive request handler.

    werkzeug's own handler closes every connection and, after each response,
    waits 10 ms to drain the socket. This one reads the request body fully
    before calling the application (so the next request on the connection
    starts cleanly), buffers the (small) response to send a
    ``Content-Length``, and keeps the connection open unless the client asked
    to close it.
    """

    timeout = CONNECTION_TIMEOUT_S
    access_log = False

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.access_log:
            super().log_error(format, *args)

    def _drain(self, stream: Any, remaining: int | None) -> None:
        """Read and drop the rest of a body (``remaining`` bytes, or up to EOF)."""
        total = 0
        while remaining is None or remaining > 0:
            chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not chunk:
                if remaining is None:
                    return
                raise ConnectionError("request body truncated")
            total += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            if total > DRAIN_LIMIT:
                raise _TooLarge

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        if environ.pop("wsgi.input_terminated", False):
            data = stream.read(MAX_BODY + 1)
            if len(data) > MAX_BODY:
                self._drain(stream, None)
                environ[BODY_TOO_LARGE] = True
                return b""
            return data
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > DRAIN_LIMIT:
            raise _TooLarge
        if length > MAX_BODY:
            self._drain(stream, length)
            environ[BODY_TOO_LARGE] = True
            return b""
        chunks, remaining = [], length
        while remaining > 0:
            chunk = stream.read(remaining)
            if not chunk:
                raise ConnectionError("request body truncated")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _simple(self, code: int, text: str) -> None:
        payload = text.encode("utf-8")
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def run_wsgi(self) -> None:
        """Serve one request with the WSGI application."""
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        try:
            body = self._read_body(environ)
        except _TooLarge:
            self._simple(413, "Requête trop volumineuse.")
            return
        except ValueError:
            self._simple(400, "Content-Length invalide.")
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        started: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started["status"], started["headers"] = status, headers
            return written.append

        try:
            iterable = self.server.app(environ, start_response)
            try:
                written.extend(bytes(chunk) for chunk in iterable)
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        except Exception:  # noqa: BLE001 - the application must never kill the connection thread
            traceback.print_exc()
            self._simple(500, "Erreur interne du serveur.")
            return
        self._send(environ, started["status"], started["headers"], b"".join(written))

    def _send(self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code_text, _, message = status.partition(" ")
        code = int(code_text)
        head = environ["REQUEST_METHOD"] == "HEAD"
        self.send_response(code, message)
        names = set()
        for name, value in headers:
            self.send_header(name, value)
            names.add(name.lower())
        if "content-length" not in names and not head and not (100 <= code < 200 or code in (204, 304)):
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # headers and body in one write: no Nagle / delayed-ACK stall between them
        self._headers_buffer.append(b"\r\n")
        if not head:
            self._headers_buffer.append(payload)
        self.flush_headers()


class _AccessLogHandler(_Handler):
    access_log = True


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}/"


def _bind(app: Any, host: str, port: int, context: ssl.SSLContext, access_log: bool) -> BaseWSGIServer:
    handler = _AccessLogHandler if access_log else _Handler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.ssl_context = context
    server.daemon_threads = True
    server.block_on_close = False
    return server


def make_sandbox_server(sd: StateDir, host: str = "127.0.0.1", port: int = 8443, rt: Runtime | None = None,
                        access_log: bool = False, trust_ca: Sequence[str] = ()) -> BaseWSGIServer:
    """Create (bind) the main HTTPS server; call ``serve_forever`` on it.

    ``trust_ca``: CA files PRONOTE.net trusts besides the sandbox's (ticket validation at another CAS).
    """
    check_loopback(host)
    context = server_ssl_context(sd)
    app = create_app(sd, rt, trust_ca)
    return _bind(app, host, port, context, access_log)


def make_hosting_server(sd: StateDir, main: BaseWSGIServer, host: str = "127.0.0.1", port: int = 0,
                        access_log: bool = False) -> BaseWSGIServer:
    """Create (bind) the hosting console's HTTPS server (client certificate required) next to ``main``.

    It shares the main server's run-time state (faults, statistics, clock); the
    main application learns its URL for the landing page.
    """
    check_loopback(host)
    context = hosting_ssl_context(sd)
    main_app = main.app  # type: ignore[attr-defined]
    app = create_hosting_app(sd, main_app.extensions["sandbox_runtime"], base_url(host, main.server_port))
    server = _bind(app, host, port, context, access_log)
    main_app.config["SANDBOX_HOSTING_URL"] = base_url(host, server.server_port)
    return server


def _info(sd: StateDir, server: BaseWSGIServer, host: str, pid: int | None,
          hosting: BaseWSGIServer | None = None) -> dict[str, Any]:
    port = server.server_port
    info = {"url": base_url(host, port), "pid": pid, "ca": str(sd.ca_cert), "port": port, "host": host,
            "state_dir": str(sd.root),
            "trust_ca": list(server.app.config["SANDBOX_TRUST_CA"])}  # type: ignore[attr-defined]
    if hosting is not None:
        info.update(hosting_url=base_url(host, hosting.server_port), hosting_port=hosting.server_port)
    return info


def serve(sd: StateDir, host: str, port: int, access_log: bool = False, hosting_port: int = 0,
          trust_ca: Sequence[str] = ()) -> int:
    """Serve in the foreground until SIGTERM/SIGINT; keep ``sandbox.json`` current."""
    server = make_sandbox_server(sd, host, port, access_log=access_log, trust_ca=trust_ca)
    try:
        hosting = make_hosting_server(sd, server, host, hosting_port, access_log=access_log)
    except OSError:
        server.server_close()
        raise
    info = _info(sd, server, host, os.getpid(), hosting)
    write_info(sd, info)
    hosting_thread = threading.Thread(target=hosting.serve_forever, kwargs={"poll_interval": 0.5},
                                      name="sandbox-hosting", daemon=True)
    hosting_thread.start()

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"Bac à sable démarré : {info['url']} (pid {info['pid']}, CA {info['ca']}) ;"
          f" console d'hébergement : {info['hosting_url']} (certificat client {sd.client_cert})", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        hosting.shutdown()
        hosting.server_close()
        server.server_close()
        current = read_info(sd)
        if current and current.get("pid") == os.getpid():
            write_info(sd, {**current, "pid": None})
    print("Bac à sable arrêté.", flush=True)
    return 0


# ---------------------------------------------------------------- control client

def https_context(sd: StateDir) -> ssl.SSLContext:
    """A client TLS context trusting only the sandbox's CA."""
    return ssl.create_default_context(cafile=str(sd.ca_cert))


def call(sd: StateDir, url: str, method: str = "GET", body: dict[str, Any] | None = None,
         token: str | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    """Call a JSON endpoint of the sandbox; return (status, decoded body)."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Sandbox-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=https_context(sd)) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def healthy(sd: StateDir, info: dict[str, Any] | None, timeout: float = 2.0) -> bool:
    if not info or not info.get("url"):
        return False
    try:
        status, body = call(sd, info["url"] + "_sandbox/health", timeout=timeout)
    except (OSError, ValueError):
        return False
    return status == 200 and isinstance(body, dict) and body.get("status") == "ok"


def running_info(sd: StateDir) -> dict[str, Any] | None:
    """``sandbox.json`` when its process is alive and answers, else None."""
    info = read_info(sd)
    if info and pid_alive(info.get("pid")) and healthy(sd, info):
        return info
    return None


def start_detached(sd: StateDir, host: str, port: int, access_log: bool = False,
                   hosting_port: int = 0, trust_ca: Sequence[str] = ()) -> dict[str, Any]:
    """Start a background server and wait until it answers ``/_sandbox/health``."""
    check_loopback(host)
    command = [sys.executable, "-m", "sandbox", "start", "--state-dir", str(sd.root), "--host", host,
               "--port", str(port), "--hosting-port", str(hosting_port)] + (["--access-log"] if access_log else [])
    for path in trust_ca:
        command += ["--trust-ca", str(path)]
    log = open(sd.log_file, "ab")  # noqa: SIM115 - handed to the child
    repo_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": repo_root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, cwd=repo_root, env=env)
    log.close()
    deadline = time.monotonic() + DETACH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"le bac à sable s'est arrêté au démarrage (code {process.returncode}) ;"
                               f" voir {sd.log_file}")
        info = read_info(sd)
        if info and info.get("pid") == process.pid and healthy(sd, info, timeout=1.0):
            return info
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"le bac à sable ne répond pas après {DETACH_TIMEOUT_S:.0f} s ; voir {sd.log_file}")


def stop(sd: StateDir, timeout: float = 10.0) -> bool:
    """Stop the server named by ``sandbox.json``; False when none was running."""
    info = read_info(sd)
    pid = info.get("pid") if info else None
    if not pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    current = read_info(sd)
    if current and current.get("pid") == pid:
        write_info(sd, {**current, "pid": None})
    return True


@dataclass
class ThreadedSandbox:
    """A sandbox served from threads of the current process (tests, benchmarks)."""

    sd: StateDir
    host: str = "127.0.0.1"
    port: int = 0
    hosting_port: int = 0
    trust_ca: Sequence[str] = ()

    def start(self) -> ThreadedSandbox:
        self.runtime = Runtime()
        self.server = make_sandbox_server(self.sd, self.host, self.port, rt=self.runtime, trust_ca=self.trust_ca)
        self.hosting = make_hosting_server(self.sd, self.server, self.host, self.hosting_port)
        self.port = self.server.server_port
        self.hosting_port = self.hosting.server_port
        self.url = base_url(self.host, self.port)
        self.hosting_url = base_url(self.host, self.hosting_port)
        write_info(self.sd, _info(self.sd, self.server, self.host, os.getpid(), self.hosting))
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, name=name,
                                          daemon=True)
                         for s, name in ((self.server, "sandbox-server"), (self.hosting, "sandbox-hosting"))]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in (self.server, self.hosting):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
