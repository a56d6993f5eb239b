"""PRONOTE bases of the seeded region, built from its ENT directory.

Called by :class:`sandbox.seed._Builder` after everything else, on the same
``random.Random(seed)`` stream, so the établissements, logins and services
of a seed do not depend on this module. For each établissement, every ENT
person attached to it gets a PRONOTE account in the category of their
profile, with one recorded *kind* of messiness (see
:data:`sandbox.pronote.KINDS`), and the base gets what real bases have
besides: pupils who have left, people the ENT does not know, duplicates.

Two kinds change the ENT side instead of PRONOTE's, on people attached to
one établissement only (never logins): ``accents_ent`` (the directory
spells the name without accents) and ``twins`` (the younger of two siblings
gets the elder's birth date).

Sites that had a PRONOTE service last year also carry last year's state:
some accounts hold an ``IdentifiantCAS`` (the ENT login, a few a stale old
login) and the ENT holds the matching pairs in ``ent_identifiers`` (never
for the ``demo.*`` accounts, which start the year without identifiers).

Everything is plain lists and dicts iterated in order (determinism), and
per-person work is a few string operations (the bench seeds ~520,000
people).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox import refdata
from sandbox.names import login_part
from sandbox.pronote import CATEGORIES, KINDS, Category, new_ident

if TYPE_CHECKING:
    from sandbox.seed import _Builder, _Etab, _Person

#: Share of ENT people without a PRONOTE account, per category (file element).
ENT_ONLY: dict[str, float] = {"Professeur": 0.03, "Eleve": 0.015, "Responsable": 0.03, "MaitreDeStage": 0.10,
                              "InspecteurPedagogique": 0.10, "Personnel": 0.10}
#: PRONOTE-only people (not in the ENT) per ENT person of the category.
PRONOTE_ONLY: dict[str, float] = {"Professeur": 0.04, "MaitreDeStage": 0.25, "InspecteurPedagogique": 0.10,
                                  "Personnel": 0.10}
#: Weight of "exact" per category: pupils come from the same source as the
#: directory (SIECLE), parents are typed in by the school.
EXACT_WEIGHT: dict[str, float] = {"Professeur": 60, "Eleve": 75, "Responsable": 45, "MaitreDeStage": 55,
                                  "InspecteurPedagogique": 60, "Personnel": 55}
#: Weights of the name messiness kinds, when they apply to the person.
KIND_WEIGHTS: dict[str, float] = {"case": 14, "accents_pronote": 10, "accents_ent": 4, "hyphen_space": 12,
                                  "composed_prenom": 15, "apostrophe": 25, "oe": 25, "second_prenom": 3}
LEFT_SHARE = 0.05
#: Pupils who left did so during the last school year.
LEFT_FROM = dt.date(2025, 9, 15)
LEFT_DAYS = 292
DUPLICATE_SHARE = 0.015
TWIN_PAIRS_SHARE = 0.012
SECOND_PRENOMS: tuple[str, ...] = ("Marie", "Louise", "Pierre", "Jean", "Claire", "Anne", "Paul", "Sophie", "Michel",
                                   "Rose", "Joseph", "Élise")
BIRTH_YEARS: dict[str, tuple[int, int]] = {"Professeur": (1962, 1998), "Responsable": (1965, 1992),
                                           "MaitreDeStage": (1965, 1995), "InspecteurPedagogique": (1960, 1985),
                                           "Personnel": (1960, 1998)}


@functools.lru_cache(maxsize=65536)
def strip_accents(text: str) -> str:
    """``text`` without combining accents (``Hélène`` -> ``Helene``; ``œ`` stays)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _swap_separators(text: str) -> str:
    return text.replace("-", " ") if "-" in text else text.replace(" ", "-")


def _kind_table(flags: tuple[object, ...]) -> tuple[list[str], list[float]]:
    """The kinds that apply to a person with these ``flags`` and their cumulative weights."""
    element, accents, single_etab_accents, hyphen_nom, composed, apostrophe, oe = flags
    applies = {"case": True, "second_prenom": True, "accents_pronote": accents, "accents_ent": single_etab_accents,
               "hyphen_space": hyphen_nom, "composed_prenom": composed, "apostrophe": apostrophe, "oe": oe}
    kinds = ["exact"] + [k for k in KIND_WEIGHTS if applies[k]]
    weights = [EXACT_WEIGHT[str(element)]] + [KIND_WEIGHTS[k] for k in kinds[1:]]
    return kinds, list(itertools.accumulate(weights))


@dataclass(slots=True)
class Account:
    """One PRONOTE account being built."""

    id: int
    etab_id: int
    ident: str
    category: str
    nom: str
    prenom: str
    birth_date: str | None
    postal_code: str | None
    classe: str | None = None
    date_sortie: str | None = None
    acces: int | None = None
    cas: str | None = None
    user_id: int | None = None
    kind: str = "exact"

    def row(self) -> tuple[object, ...]:
        return (self.id, self.etab_id, self.ident, self.category, self.nom, self.prenom, self.birth_date,
                self.postal_code, self.classe, self.date_sortie, self.acces, self.cas, self.user_id, self.kind)


@dataclass
class PronoteSummary:
    """What the PRONOTE part of the seed made, for the seed's output."""

    by_category: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    ent_only: Counter = field(default_factory=Counter)
    cas_current: int = 0
    cas_stale: int = 0
    no_parent_access: int = 0
    ent_pairs: int = 0
    last_year_sites: int = 0

    def render(self) -> list[str]:
        total = sum(self.by_category.values())
        lines = [f"Bases PRONOTE ({total} comptes) :", "  par catégorie :"]
        lines += [f"    {c.section:<24} {self.by_category.get(c.element, 0)}" for c in CATEGORIES]
        lines.append("  par nature (vérité terrain, python -m sandbox truth) :")
        lines += [f"    {kind:<25} {self.by_kind.get(kind, 0):>7}  {label}" for kind, label in KINDS.items()]
        lines.append(f"  comptes ENT sans compte PRONOTE : {sum(self.ent_only.values())} ("
                     + ", ".join(f"{c.section} {self.ent_only.get(c.element, 0)}" for c in CATEGORIES) + ")")
        lines.append(f"  IdentifiantCAS renseigné : {self.cas_current + self.cas_stale} (dont {self.cas_stale}"
                     f" avec un ancien identifiant ENT) ; AccesEspaceParents décoché : {self.no_parent_access}")
        lines.append(f"  identifiants déjà connus de l'ENT (import de l'an dernier, {self.last_year_sites} site(s)) :"
                     f" {self.ent_pairs}")
        return lines


class PronoteBuilder:
    """Builds the PRONOTE bases from a :class:`sandbox.seed._Builder` whose region is built."""

    def __init__(self, builder: _Builder) -> None:
        self.b = builder
        self.rng = builder.rng
        self.accounts: list[Account] = []
        self.children: list[tuple[int, int]] = []
        self.pairs: list[tuple[int, int, str]] = []
        self.summary = PronoteSummary()
        self._kids: dict[int, list[int]] = {}
        self._parents: dict[int, list[int]] = {}
        for parent_id, child_id in builder.parent_links:
            kids = self._kids.setdefault(parent_id, [])
            if child_id not in kids:
                kids.append(child_id)
                self._parents.setdefault(child_id, []).append(parent_id)
        class_names = {name for names in refdata.CLASSES.values() for name in names}
        class_groups = {gid: name for gid, _etab, name in builder.groups if name in class_names}
        self._classe: dict[int, str] = {}
        for gid, uid in builder.group_members:
            if gid in class_groups:
                self._classe.setdefault(uid, class_groups[gid])
        self._last_year = {int(s["etab_id"]) for s in builder.services  # type: ignore[call-overload]
                           if "index-education.net/pronote" in str(s["url"])}
        self._previous_pupils: dict[int, list[_Person]] = {}
        self._logins: dict[int, str] = {}
        self._kids_of_account: dict[int, list[int]] = {}
        self._kind_tables: dict[tuple[object, ...], tuple[list[str], list[float]]] = {}

    # ------------------------------------------------------------ helpers

    def _link(self, responsable: Account, eleve_ids: list[int]) -> None:
        """Record ``responsable`` as a responsable of the pupils' accounts ``eleve_ids``."""
        kids = self._kids_of_account.setdefault(responsable.id, [])
        for eleve_id in eleve_ids:
            if eleve_id not in kids:
                kids.append(eleve_id)
                self.children.append((responsable.id, eleve_id))

    def _round(self, value: float) -> int:
        """Stochastic rounding: ``value`` on average, an integer each time."""
        return int(value + self.rng.random())

    def _new(self, etab: _Etab, taken: set[str], category: str, nom: str, prenom: str, birth: str | None,
             postal: str | None, kind: str, user_id: int | None = None) -> Account:
        ident = new_ident(self.rng, taken)
        taken.add(ident)
        account = Account(len(self.accounts) + 1, etab.id, ident, category, nom, prenom, birth, postal,
                          user_id=user_id, kind=kind)
        self.accounts.append(account)
        return account

    def _draw_kind(self, category: Category, person: _Person) -> str:
        full = person.nom + person.prenom
        accents = strip_accents(full) != full
        flags = (category.element, accents, accents and len(person.etabs) == 1,
                 "-" in person.nom or " " in person.nom, "-" in person.prenom or " " in person.prenom,
                 "'" in full, "œ" in full or "Œ" in full)
        table = self._kind_tables.get(flags)
        if table is None:
            table = self._kind_tables[flags] = _kind_table(flags)
        kinds, cumulative = table
        return kinds[bisect.bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _messy_names(self, kind: str, person: _Person) -> tuple[str, str]:
        """PRONOTE's spelling of ``person`` for ``kind`` (may change the ENT side)."""
        nom, prenom = person.nom, person.prenom
        if kind == "case":
            return nom.upper(), prenom
        if kind == "accents_pronote":
            return strip_accents(nom), strip_accents(prenom)
        if kind == "accents_ent":
            person.nom, person.prenom = strip_accents(nom), strip_accents(prenom)
            return nom, prenom
        if kind == "hyphen_space":
            return _swap_separators(nom), prenom
        if kind == "composed_prenom":
            if self.rng.random() < 0.6:
                return nom, _swap_separators(prenom)
            return nom, prenom.replace("-", " ").split(" ")[0]
        if kind == "second_prenom":
            return nom, f"{prenom} {self.rng.choice(SECOND_PRENOMS)}"
        if kind == "apostrophe":
            return nom.replace("'", "’"), prenom.replace("'", "’")
        if kind == "oe":
            return nom.replace("œ", "oe").replace("Œ", "Oe"), prenom.replace("œ", "oe").replace("Œ", "Oe")
        return nom, prenom

    # ------------------------------------------------------------ build

    def build(self) -> None:
        people_by_etab: dict[int, list[_Person]] = {e.id: [] for e in self.b.etabs}
        for person in self.b.people:
            self._logins[person.id] = person.login
            for etab_id in person.etabs:
                people_by_etab[etab_id].append(person)
        for etab in self.b.etabs:
            self._etab(etab, people_by_etab[etab.id])
        self.summary.last_year_sites = len(self._last_year)

    def _twins(self, pupils: list[_Person]) -> set[int]:
        """Give some sibling pairs the same birth date in the ENT; return their ids."""
        candidates = []
        for previous, pupil in zip(pupils, pupils[1:]):
            if (previous.nom == pupil.nom and previous.prenom != pupil.prenom
                    and set(self._parents.get(previous.id, ())) & set(self._parents.get(pupil.id, ()))
                    and not previous.login.startswith("demo.") and len(pupil.etabs) == 1):
                candidates.append((previous, pupil))
        if not candidates:
            return set()
        wanted = max(1, self._round(len(pupils) * TWIN_PAIRS_SHARE))
        twins: set[int] = set()
        for elder, younger in self.rng.sample(candidates, min(wanted, len(candidates))):
            if elder.id in twins or younger.id in twins:
                continue
            younger.birth_date = elder.birth_date
            twins.update((elder.id, younger.id))
        return twins

    def _etab(self, etab: _Etab, persons: list[_Person]) -> None:
        rng, b = self.rng, self.b
        taken: set[str] = set()
        by_profile: dict[str, list[_Person]] = {}
        for person in persons:
            by_profile.setdefault(person.profile, []).append(person)
        pupils = by_profile.get("Elève", [])
        twins = self._twins(pupils)
        account_of: dict[int, Account] = {}
        self._kids_of_account = {}
        first_account = len(self.accounts)
        pending_left: list[Account] = []
        for category in CATEGORIES:
            element = category.element
            originals: list[Account] = []
            for person in by_profile.get(category.profile, []):
                demo = person.login.startswith("demo.")
                kids_here: list[Account] = []
                if element == "Responsable":
                    kids_here = [account_of[c] for c in self._kids.get(person.id, ()) if c in account_of]
                if person.is_admin or (element == "Responsable" and not kids_here) or (
                        not demo and rng.random() < ENT_ONLY[element]):
                    self.summary.ent_only[element] += 1
                    continue
                account = self._account(etab, taken, category, person, demo, person.id in twins)
                account_of[person.id] = account
                if not demo:
                    originals.append(account)
                self._link(account, [kid.id for kid in kids_here])
            if element == "Eleve":
                pending_left = self._left_pupils(etab, taken, pupils)
            elif element == "Responsable":
                self._left_families(etab, taken, pending_left, originals)
            else:
                self._pronote_only(etab, taken, category, len(by_profile.get(category.profile, [])))
            if element != "MaitreDeStage" and element != "InspecteurPedagogique":
                self._duplicates(etab, taken, originals)
        self._previous_pupils[etab.project_id] = pupils
        mine = self.accounts[first_account:]
        self._homonyms(mine)
        if etab.id in self._last_year:
            self._last_year_state(etab, mine)
        for account in mine:
            self.summary.by_category[account.category] += 1
            self.summary.by_kind[account.kind] += 1
            if account.acces == 0:
                self.summary.no_parent_access += 1

    def _account(self, etab: _Etab, taken: set[str], category: Category, person: _Person, demo: bool,
                 twin: bool) -> Account:
        rng = self.rng
        element = category.element
        kind = "exact" if demo else "twins" if twin else self._draw_kind(category, person)
        nom, prenom = self._messy_names(kind, person)
        birth = person.birth_date
        if birth is None and element == "Responsable":
            birth = self.b._birth_date(*BIRTH_YEARS[element]) if rng.random() < 0.92 else None
            if kind == "exact" and not demo:
                kind = "parent_no_ent_birth_date"
        elif birth is None and element == "MaitreDeStage" and rng.random() < 0.5:
            birth = self.b._birth_date(*BIRTH_YEARS[element])
        account = self._new(etab, taken, element, nom, prenom, birth, person.postal_code, kind, person.id)
        if element == "Eleve":
            account.classe = self._classe.get(person.id)
        elif element == "Responsable":
            account.acces = 0 if not demo and rng.random() < 0.05 else 1
        return account

    def _left_pupils(self, etab: _Etab, taken: set[str], pupils: list[_Person]) -> list[Account]:
        """Pupils who have left: still in PRONOTE with a DateSortie, no longer in this site's ENT."""
        rng, b = self.rng, self.b
        classes = refdata.CLASSES[etab.kind]
        previous = self._previous_pupils.get(etab.project_id) or []
        left = []
        for _ in range(max(1, self._round(len(pupils) * LEFT_SHARE))):
            if previous and rng.random() < 0.3:  # moved to another school of the project
                source = rng.choice(previous)
                nom, prenom, birth = source.nom, source.prenom, source.birth_date
            else:
                nom, prenom = rng.choice(refdata.LAST_NAMES), rng.choice(refdata.CHILD_FIRST_NAMES)
                birth = b._birth_date(*refdata.PUPIL_BIRTH_YEARS[etab.kind])
            account = self._new(etab, taken, "Eleve", nom, prenom, birth, b._postal_code(etab), "left")
            account.classe = rng.choice(classes)
            account.date_sortie = (LEFT_FROM + dt.timedelta(days=rng.randrange(LEFT_DAYS))).isoformat()
            left.append(account)
        return left

    def _left_families(self, etab: _Etab, taken: set[str], left: list[Account], responsables: list[Account]) -> None:
        """Responsables of pupils who left: a PRONOTE-only one, an existing one, or none."""
        rng = self.rng
        for pupil in left:
            draw = rng.random()
            if draw < 0.5:
                parent = self._new(etab, taken, "Responsable", pupil.nom, rng.choice(refdata.ADULT_FIRST_NAMES),
                                   self.b._birth_date(*BIRTH_YEARS["Responsable"]), pupil.postal_code,
                                   "pronote_only")
                parent.acces = 1
                self._link(parent, [pupil.id])
            elif draw < 0.75 and responsables:
                self._link(rng.choice(responsables), [pupil.id])

    def _pronote_only(self, etab: _Etab, taken: set[str], category: Category, ent_count: int) -> None:
        """People PRONOTE knows and the ENT does not (yet)."""
        rng, b = self.rng, self.b
        element = category.element
        for _ in range(self._round(ent_count * PRONOTE_ONLY[element])):
            prenom, nom = rng.choice(refdata.ADULT_FIRST_NAMES), rng.choice(refdata.LAST_NAMES)
            birth = b._birth_date(*BIRTH_YEARS[element]) if rng.random() < 0.9 else None
            self._new(etab, taken, element, nom, prenom, birth, b._postal_code(etab), "pronote_only")

    def _duplicates(self, etab: _Etab, taken: set[str], originals: list[Account]) -> None:
        """The same person twice in PRONOTE, under another identifier."""
        rng = self.rng
        count = min(len(originals), self._round(len(originals) * DUPLICATE_SHARE))
        for original in rng.sample(originals, count) if count else []:
            draw = rng.random()
            nom = original.nom.upper() if draw >= 0.75 else original.nom
            birth = None if 0.5 <= draw < 0.75 else original.birth_date
            copy = self._new(etab, taken, original.category, nom, original.prenom, birth, original.postal_code,
                             "duplicate", original.user_id)
            copy.classe, copy.acces = original.classe, original.acces
            if original.category == "Responsable":
                self._link(copy, list(self._kids_of_account.get(original.id, ())))

    def _homonyms(self, accounts: list[Account]) -> None:
        """Label as homonyms the exact copies sharing nom and prénom with another person."""
        groups: dict[tuple[str, str, str], set[int]] = {}
        for account in accounts:
            person = account.user_id if account.user_id is not None else -account.id
            groups.setdefault((account.category, account.nom.lower(), account.prenom.lower()), set()).add(person)
        for account in accounts:
            if account.kind in ("exact", "parent_no_ent_birth_date") and \
                    len(groups[(account.category, account.nom.lower(), account.prenom.lower())]) > 1:
                account.kind = "homonym"

    def _last_year_state(self, etab: _Etab, accounts: list[Account]) -> None:
        """IdentifiantCAS stored at last year's sign-ons, and the ENT's pairs of last year."""
        rng = self.rng
        paired: set[int] = set()
        for account in accounts:
            if (account.user_id is None or account.user_id in paired or account.kind == "duplicate"
                    or self._logins[account.user_id].startswith("demo.")):
                continue
            draw = rng.random()
            if draw < 0.40:
                login = self._logins[account.user_id]
                if rng.random() < 0.06:
                    account.cas = f"{login_part(account.prenom)[:1]}{login_part(account.nom)}"
                    self.summary.cas_stale += 1
                else:
                    account.cas = login
                    self.summary.cas_current += 1
            elif draw >= 0.55:
                continue
            paired.add(account.user_id)
            self.pairs.append((etab.id, account.user_id, account.ident))
        self.summary.ent_pairs += len(paired)
