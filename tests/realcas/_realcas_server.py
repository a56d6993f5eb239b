"""Run django-cas-server over HTTPS on 127.0.0.1 (started by ``_realcas.start_real_cas``).

``python _realcas_server.py DIR``: ``DIR`` holds ``realcas_settings.py`` and
``realcas_urls.py`` (written by the fixture), the certificate and key, and
receives the sqlite database and, once the server listens, ``port`` (the
port it was given by the system). Runs until SIGTERM.
"""
from __future__ import annotations

import os
import signal
import ssl
import sys
from pathlib import Path


def main(state: Path) -> None:
    sys.path[:0] = [str(state), str(Path(__file__).resolve().parent)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "realcas_settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from cas_server.models import ReplaceAttributName, ServicePattern

    # Loopback HTTPS services (the test's service, the sandbox's PRONOTE.net) get the attributes.
    pattern = ServicePattern.objects.create(pos=1, name="loopback", pattern=r"^https://127\.0\.0\.1(:[0-9]+)?/.*")
    for name in ("idPronote", "nom", "prenom"):
        ReplaceAttributName.objects.create(name=name, service_pattern=pattern)

    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import make_server

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(state / "server.pem", state / "server.key")
    server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True, ssl_context=context)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = state / "port.tmp"
    tmp.write_text(str(server.server_port))
    tmp.replace(state / "port")
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
