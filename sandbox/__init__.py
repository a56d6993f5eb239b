"""A stand-in for a K-d'école ENT (admin console + CAS server) on loopback.

The sandbox serves every ENT project of a seeded region on one HTTPS
listener, under a path prefix per project (``/<slug>/``). It never imports
anything from the collection's ``plugins/``: the two meet only through the
contract written in ``docs/console-screens.md``.
"""

__version__ = "0.1.0"
