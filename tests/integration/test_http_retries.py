"""The HTTP layer against a real loopback server: what is sent again, and what never is (issue 13)."""
from __future__ import annotations

import http.server
import threading

from ansible_collections.ent.pronote.plugins.module_utils._http import (
    RETRY_STATUSES,
    HttpSettings,
    new_session,
    request,
)


def test_a_ticket_hop_in_a_redirect_chain_is_not_sent_again():
    """A console session that expired sends a GET through the CAS and back with a ticket: when that hop
    answers 500 (the server may have used the ticket), it is returned as is, never re-sent (issue 13)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            hits.append(self.path)
            if self.path == "/page":
                self.send_response(302)
                self.send_header("Location", "/callback?ticket=ST-1")
            elif self.path.startswith("/flaky"):
                self.send_response(500 if hits.count(self.path) == 1 else 200)
            else:
                self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        settings = HttpSettings(retries=3, retry_time=5)
        session = new_session(settings)
        answer = request(session, settings, "GET", base + "/page", "read the page", accept=RETRY_STATUSES)
        assert answer.status_code == 500
        assert hits == ["/page", "/callback?ticket=ST-1"]
        # a URL without a ticket is still retried
        assert request(session, settings, "GET", base + "/flaky?x=1", "read").status_code == 200
        assert hits[2:] == ["/flaky?x=1", "/flaky?x=1"]
    finally:
        server.shutdown()
        server.server_close()
