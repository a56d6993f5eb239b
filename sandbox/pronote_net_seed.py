"""PRONOTE.net bases of the seeded region (docs/pronote-net-screens.md, "Sandbox seed").

Drawn from a random stream of their own (``random.Random("pronote-net:<seed>")``)
so that the établissements, logins, services and identifiers of a seed stay
exactly what they were before the bases existed.

Every établissement gets a published base, racine "Pronote", every espace
published but "Espace Accompagnant", "Espace Entreprise" and "Espace
Académie"; the version is the current year's for most (one in five, rounded
down, one year older). Delegation is off, except on the sites that had a
PRONOTE service last year: on, with the project's own CAS, every espace "CAS".
Then a few bases get one mess each, on distinct sites (one of each kind per
six établissements, at least one when there are three or more):

- ``vendor_cas``: CAS on, "Autre" with the vendor's CAS URL of the project
  (https://cas.monbureaunumerique.fr) instead of the ENT's;
- ``espace``: one espace that should be published is not;
- ``racine``: racine "PronoteNet".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox import refdata
from sandbox.pronote_net import ESPACES, PAGE_ESPACES

if TYPE_CHECKING:
    from sandbox.seed import _Builder

CURRENT_YEAR = int(refdata.CURRENT_PRONOTE_VERSION.split()[-1])
MESS_KINDS: tuple[str, ...] = ("vendor_cas", "espace", "racine")
MESS_RACINE = "PronoteNet"


@dataclass
class SeededBase:
    etab_id: int
    uai: str
    version: str
    racine: str = "Pronote"
    cas_actif: bool = False
    cas_project: str = ""
    cas_url: str = ""
    espaces: dict[str, tuple[bool, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def row(self) -> tuple[object, ...]:
        return (self.etab_id, self.version, 1, self.racine, int(self.cas_actif), self.cas_project, self.cas_url)


@dataclass
class PronoteNetSummary:
    bases: list[SeededBase] = field(default_factory=list)

    def render(self) -> list[str]:
        if not self.bases:
            return []
        lines = ["PRONOTE.net (/index-education/<uai>/<racine>/ ; console d'hébergement : client.pem) :"]
        for base in self.bases:
            if base.cas_actif:
                cas = f"CAS du projet {base.cas_project}" if base.cas_project else f"CAS « Autre » {base.cas_url}"
            else:
                cas = "sans délégation CAS"
            line = f"    {base.uai}  version {base.version}, racine {base.racine}, {cas}"
            lines.append(line + (" — " + " ; ".join(base.notes) if base.notes else ""))
        return lines


def build_bases(builder: _Builder) -> PronoteNetSummary:
    """One base per établissement of ``builder`` (after its services are drawn)."""
    rng = random.Random(f"pronote-net:{builder.opts.seed}")
    etabs = builder.etabs
    last_year = {int(s["etab_id"]) for s in builder.services  # type: ignore[call-overload]
                 if "index-education.net/pronote" in str(s["url"])}
    old = set(e.id for e in rng.sample(etabs, len(etabs) // 5))
    summary = PronoteNetSummary()
    for etab in etabs:
        year = CURRENT_YEAR - 1 if etab.id in old else CURRENT_YEAR
        base = SeededBase(etab.id, etab.uai, f"{year}.{rng.randint(0, 3)}.{rng.randint(0, 9)}")
        on = etab.id in last_year
        base.cas_actif, base.cas_project = on, etab.slug if on else ""
        base.espaces = {e.key: (e.default_published, "CAS" if on and e.page else "Aucune") for e in ESPACES}
        if etab.id in old:
            base.notes.append(f"version de l'an dernier ({year})")
        summary.bases.append(base)
    per_kind = max(1, len(etabs) // 6) if len(etabs) >= 3 else 0
    messy = rng.sample(summary.bases, min(len(etabs), per_kind * len(MESS_KINDS)))
    for index, base in enumerate(messy):
        kind = MESS_KINDS[index % len(MESS_KINDS)]
        if kind == "vendor_cas":
            slug = next(e.slug for e in etabs if e.id == base.etab_id)
            base.cas_actif, base.cas_project = True, ""
            base.cas_url = refdata.PROJECTS_BY_SLUG[slug].real_cas_url
            base.espaces = {k: (p, "CAS" if k != "commune" else d) for k, (p, d) in base.espaces.items()}
            base.notes.append("CAS « Autre » avec l'URL de l'éditeur au lieu de celle de l'ENT")
        elif kind == "espace":
            espace = rng.choice([e for e in PAGE_ESPACES if e.default_published])
            base.espaces[espace.key] = (False, base.espaces[espace.key][1])
            base.notes.append(f"« {espace.name} » non publié")
        else:
            base.racine = MESS_RACINE
            base.notes.append(f"racine « {MESS_RACINE} »")
    return summary


def rows(summary: PronoteNetSummary) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Rows of ``pronote_net`` and ``pronote_net_espaces``."""
    bases = [b.row() for b in summary.bases]
    espaces = [(b.etab_id, key, int(published), delegation)
               for b in summary.bases for key, (published, delegation) in b.espaces.items()]
    return bases, espaces
