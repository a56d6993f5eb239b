"""The ENT projects of the vendor's guide and the CAS URL each one's delegation points to.

The list the hosting console offers in "Déléguer l'authentification"
("Projet ENT"): picking a project fills in its CAS URL. Kept here so that
the product can tell, without any credential, whether a PRONOTE.net base
delegates to the CAS of the ENT it belongs to.
"""
from __future__ import annotations

from urllib.parse import urlsplit

#: project -> CAS URL, as the vendor's guide lists them
CAS_URLS: dict[str, str] = {
    "AEFE": "https://cas.kosmoseducation.com",
    "Agora06": "https://cas.agora06.fr",
    "Arsène76": "https://cas.arsene76.fr",
    "Cybercollèges42": "https://cas.cybercolleges42.fr",
    "Eclat-BFC": "https://cas.eclat-bfc.fr",
    "E-Collège31": "https://cas.ecollege.haute-garonne.fr",
    "ENT27": "https://cas.ent27.fr/",
    "Ent Kosmos": "https://cas.pdl.kosmoseducation.com",
    "L'ENT Creuse": "https://cas.entcreuse.fr",
    "Ma classe en Auvergne-Rhône-Alpes": "https://cas.ent.auvergnerhonealpes.fr",
    "Mon ENT Occitanie": "https://cas.mon-ent-occitanie.fr",
    "Mon Bureau Numérique": "https://cas.monbureaunumerique.fr",
    "Moncollege.valdoise.fr": "https://cas.moncollege.valdoise.fr",
    "Webcollege": "https://cas.webcollege.seinesaintdenis.fr",
}


def same_cas(first: str | None, second: str | None) -> bool:
    """Whether two CAS URLs name the same server: scheme and host without case, default port, no trailing slash."""
    return bool(first) and bool(second) and cas_key(first or "") == cas_key(second or "")


def cas_key(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"https": 443, "http": 80}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
