"""Matching the people of a PRONOTE identifiers file to ENT accounts. Pure functions, no I/O.

Three things live here:

- :func:`normalise`, :func:`given_names` and :func:`compatible_first_names`,
  the name comparison of the assisted matching;
- :func:`plain_matches`, the ENT's own deliberately plain rule
  (``docs/import-screens.md``, "Automatic matching"), used to predict the
  step pages' "reconnus";
- :func:`decide`, the product's decision for every person of the file, and
  :func:`outcome_state`, what the site holds once the import has run.

**Names.** :func:`normalise` decomposes (NFKD: NFC, NFD and compatibility
forms compare equal), drops accents, folds case, spells ligatures and the
like out (œ→oe, æ→ae, ß→ss, ø→o...), turns every character that is not a
letter or a digit into a space (hyphens, underscores, dots, commas, and all
apostrophes: ``'``, U+2019, U+2018, the backtick, U+00B4, U+02BC), then collapses spaces. So "D'Almeida",
"D\u2019Almeida", "d-almeida" and "D Almeida" are equal, but "Dalmeida" is
another name: a missing space is not guessed (it is only used to *list*
candidates for a person to choose from). First names are the words of the
normalised prénom ("Marie-Claire", "Marie Claire" and "MARIE, CLAIRE" are
("marie", "claire")); two prénoms are compatible when one's words are the
first words of the other's ("Léa" and "Léa Marie", "Marie-Claire" and
"Marie", not "Jean" and "Jeanne", not "Marie" and "Claire Marie").

**What counts as evidence** (an account "fits" a person; only accounts of
the category's profile, from the site's directory, are ever considered):

- pupils and staff (Enseignant, Personnel, Maître de stage, Inspecteur):
  the same normalised nom, compatible prénoms and the same birth date;
- staff only, when the birth date is missing on either side: the same
  normalised nom *and* the same normalised prénom (a weaker rule: two
  homonyms, each present in one system only, would be paired; a pupil is
  never matched without birth dates on both sides);
- the file's ``IdentifiantCAS`` naming an account (login compared without
  case) of the right profile with the same normalised nom, compatible
  prénoms and no conflicting birth date;
- responsables through their children: for each ``Enfant``, every account
  the child's row fits, plus the child's current and manual accounts; the
  ENT parents (profile Parent) linked to one of those accounts, with the same
  normalised nom, compatible prénoms and no conflicting birth date, fit the
  responsable. Parent accounts with the same nom, compatible prénoms and the
  same birth date (both known) fit too, linked or not, so that a duplicate
  account makes the responsable ambiguous. An ``Enfant`` naming someone of
  the file who is not a pupil is ignored (the reader refuses such a file).

**A person is matched to an account** only when it fits exactly that one
account, no other person of the file (of its category, whatever their
outcome) fits that account, and the account holds no other identifier of
this établissement that survives the import (partiel: every current pair
survives; complet: those whose identifier is in the file). A responsable
also needs its one fitting account to be linked to a child known with
certainty: the child's decision is a match, or the child is bound now, or
it is skipped (left, written twice) but its rows fit exactly one account that
nobody else fits; a child absent from the file is known when it is bound now. Because all of this is computed on
the "fits" relation, adding an account can only remove matches of people who
already had a fitting account, and input order never matters.

The ENT's plain rule (:func:`plain_matches`) compares with ``str.lower()``
and is only used to tell ``ent`` from ``assisted``: a pair it would find but
that the rules above refuse is not made (the step's input is emptied).

**Outcomes**, in the order they are tried: ``manual`` (a person's decision;
it wins, but its login must exist with the right profile), ``skipped`` (a
pupil with a ``DateSortie``, whatever the date; two or more people of one category with the same
normalised nom, prénom and birth date, a missing birth date counting as one
value), ``ent`` (matched, and the ENT's plain rule finds the same account),
``assisted`` (matched by the evidence above only; with ``assisted=False``
such a person stays unmatched), ``kept`` (bound now to an account of the
right profile still in the directory), ``ambiguous`` (an account fits but
the rules above refuse it), ``unmatched``. Finally, an account chosen by
hand for someone else, or claimed by two kept pairs, makes the others
ambiguous.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable, Mapping, NamedTuple

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import (
    BY_KEY, CATEGORIES, CATEGORY_KEYS, PUPILS, RESPONSABLES, Person)

#: every outcome of a decision, in report order
OUTCOMES = ("ent", "assisted", "kept", "manual", "unmatched", "ambiguous", "skipped")
#: the outcomes that bind the person's identifier to an account
MATCHED = frozenset({"ent", "assisted", "kept", "manual"})
MODES = ("complet", "partiel")
#: at most this many candidate logins are listed for a person to choose from
MAX_CANDIDATES = 5
PARENT_PROFILE = BY_KEY[RESPONSABLES].profile
PUPIL_PROFILE = BY_KEY[PUPILS].profile
PROFILES = frozenset(c.profile for c in CATEGORIES)


class ManualMatchError(ValidationError):
    """A manual match cannot be used: unknown identifier, unknown login, wrong profile, login given twice."""


# --- names ----------------------------------------------------------------------------

#: letters NFKD does not decompose, spelled out (after case folding)
_SPELLED = str.maketrans({
    "œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i", "ħ": "h",
    "ŧ": "t", "ŋ": "n", "ĸ": "k",
    # every apostrophe-like character: a word separator
    "'": " ", "\u2019": " ", "\u2018": " ", "`": " ", "´": " ", "ʼ": " ", "ʻ": " ", "ʹ": " ", "ʽ": " ", "′": " ", "‛": " ",
})


#: combining diacritical marks (all of them but U+034F, the only one of combining class 0)
_LATIN_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]+")
_NOT_ALNUM = re.compile("[^a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def normalise(text: str | None) -> str:
    """A name as the assisted matching compares it (see the module's documentation)."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFKD", str(text)).casefold().translate(_SPELLED)
    value = unicodedata.normalize("NFKD", value)
    ascii_value = _LATIN_MARKS.sub("", value)
    if ascii_value.isascii():  # the usual case, same result as the loop below, faster
        return " ".join(_NOT_ALNUM.sub(" ", ascii_value).split())
    out = []
    for char in value:
        if unicodedata.combining(char):
            continue
        kind = unicodedata.category(char)
        out.append(char if kind[0] in "LN" and kind != "Lm" else " ")
    return " ".join("".join(out).split())


@lru_cache(maxsize=1 << 16)
def given_names(prenom: str | None) -> tuple[str, ...]:
    """The first names of a prénom, normalised: split on spaces, hyphens, commas, apostrophes..."""
    return tuple(normalise(prenom).split())


def _compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if a == b:
        return bool(a)
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long[:len(short)] == short


def compatible_first_names(a: str | None, b: str | None) -> bool:
    """Equal after normalisation, or one's first names begin the other's ("Léa" and "Léa Marie")."""
    return _compatible(given_names(a), given_names(b))


# --- the site's directory ---------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """An account of the établissement's ENT directory; ``children`` are a parent's children's logins."""

    login: str
    profile: str
    nom: str
    prenom: str
    birth_date: dt.date | None = None
    children: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.children, tuple):
            object.__setattr__(self, "children", tuple(self.children or ()))


class _Names(NamedTuple):
    nom: str
    first: tuple[str, ...]
    compact: str
    birth: dt.date | None


def _names(nom: str, prenom: str, birth: dt.date | None) -> _Names:
    key = normalise(nom)
    return _Names(key, given_names(prenom), key.replace(" ", ""), birth)


def _dates_agree(a: dt.date | None, b: dt.date | None) -> bool:
    return a is None or b is None or a == b


def _same_person(person: _Names, account: _Names, *, weak: bool) -> bool:
    """Pupils and staff: nom, compatible prénoms, birth date; ``weak`` allows a missing date with exact names."""
    if not person.nom or person.nom != account.nom or not _compatible(person.first, account.first):
        return False
    if person.birth is not None and account.birth is not None:
        return person.birth == account.birth
    return weak and person.first == account.first


def _kin(person: _Names, account: _Names) -> bool:
    """Names compatible and birth dates not conflicting (CAS and children evidence)."""
    return (bool(person.nom) and person.nom == account.nom and _compatible(person.first, account.first)
            and _dates_agree(person.birth, account.birth))


# --- decisions ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """What the import does with one person of the file."""

    ident: str
    category: str
    outcome: str
    login: str | None = None
    reason: str = ""
    candidates: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return self.outcome in MATCHED


@dataclass(frozen=True)
class MatchPlan:
    """Every person's decision, in file order."""

    mode: str
    decisions: tuple[Decision, ...]
    assisted: bool = True

    @cached_property
    def _index(self) -> dict[str, Decision]:
        return {d.ident: d for d in self.decisions}

    def decision(self, ident: str) -> Decision | None:
        """The decision of one identifier, or None."""
        return self._index.get(ident)

    def pairs(self) -> dict[str, str]:
        """Identifiant PRONOTE -> ENT login: every pair this import binds (kept and manual ones included)."""
        return {d.ident: d.login for d in self.decisions if d.outcome in MATCHED and d.login}

    def counts(self) -> dict[str, dict[str, int]]:
        """Per category key, per outcome, the number of people; every category and outcome present."""
        out = {key: dict.fromkeys(OUTCOMES, 0) for key in CATEGORY_KEYS}
        for decision in self.decisions:
            out[decision.category][decision.outcome] += 1
        return out

    def totals(self) -> dict[str, int]:
        """Per outcome, over all categories."""
        out = dict.fromkeys(OUTCOMES, 0)
        for decision in self.decisions:
            out[decision.outcome] += 1
        return out


def plain_matches(people: Iterable[Person], accounts: Iterable[Account]) -> dict[str, str]:
    """The ENT's automatic matching ("reconnus"): Identifiant PRONOTE -> login.

    An account of the step's profile whose nom, prénom and birth date equal
    the row's, compared case-insensitively and otherwise exactly; nothing for
    a row or an account without birth date, for a row that more than one
    account fits, or for an account that fits more than one row.
    """
    index: dict[tuple, set[str]] = defaultdict(set)
    for account in _unique_accounts(accounts).values():
        if account.birth_date is not None and account.profile in PROFILES:
            index[(account.profile, account.nom.lower(), account.prenom.lower(), account.birth_date)].add(
                account.login)
    fits: dict[str, set[str]] = {}
    rows: dict[str, int] = defaultdict(int)
    for person in people:
        if person.birth_date is None:
            continue
        key = (BY_KEY[person.category].profile, person.nom.lower(), person.prenom.lower(), person.birth_date)
        found = index.get(key, set())
        fits[person.ident] = found
        for login in found:
            rows[login] += 1
    out = {}
    for ident, found in fits.items():
        if len(found) == 1:
            (login,) = found
            if rows[login] == 1:
                out[ident] = login
    return out


def _unique_accounts(accounts: Iterable[Account]) -> dict[str, Account]:
    out: dict[str, Account] = {}
    for account in accounts:
        previous = out.get(account.login)
        if previous is not None and previous != account:
            raise ValueError(f"the directory lists the account {account.login} twice, with different data")
        out[account.login] = account
    return out


def duplicate_groups(people: Iterable[Person],
                     names: Mapping[str, _Names] | None = None) -> list[tuple[Person, ...]]:
    """The people of the file written twice or more: same category, nom, prénoms and birth date (normalised).

    The import skips them all (which copy is the real one is a person's
    call); the diagnosis reports them (FAQ: duplicates in PRONOTE).
    """
    groups: dict[tuple, list[Person]] = defaultdict(list)
    for person in people:
        n = names[person.ident] if names is not None else _names(person.nom, person.prenom, person.birth_date)
        groups[(person.category, n.nom, n.first, person.birth_date)].append(person)
    return [tuple(group) for group in groups.values() if len(group) > 1]


def decide(people: Iterable[Person], accounts: Iterable[Account], current: Mapping[str, str], *, mode: str,
           manual: Mapping[str, str] | None = None, assisted: bool = True) -> MatchPlan:
    """Decide every person of the file (see the module's documentation for the rules).

    ``accounts`` is the établissement's directory, ``current`` its pairs now
    (Identifiant PRONOTE -> login), ``mode`` ``complet`` or ``partiel``,
    ``manual`` a person's decisions (Identifiant PRONOTE -> login). Raises
    :class:`ManualMatchError` for a manual match that cannot be used.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return _Decider(list(people), _unique_accounts(accounts), dict(current), mode, dict(manual or {}),
                    assisted).run()


class _Decider:
    def __init__(self, people: list[Person], accounts: dict[str, Account], current: dict[str, str], mode: str,
                 manual: dict[str, str], assisted: bool) -> None:
        self.people, self.accounts, self.current, self.mode, self.assisted = people, accounts, current, mode, assisted
        self.by_ident: dict[str, Person] = {}
        self.members: dict[str, list[Person]] = {key: [] for key in CATEGORY_KEYS}
        for person in people:
            if person.ident in self.by_ident:
                raise ValueError(f"Identifiant {person.ident} is given to two people")
            if person.category not in BY_KEY:
                raise ValueError(f"unknown category {person.category!r} for {person.ident}")
            self.by_ident[person.ident] = person
            self.members[person.category].append(person)
        self.pnames = {p.ident: _names(p.nom, p.prenom, p.birth_date) for p in people}
        self.anames = {login: _names(a.nom, a.prenom, a.birth_date) for login, a in accounts.items()}
        self.by_nom: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.parents_of: dict[str, list[str]] = defaultdict(list)
        for login in sorted(accounts):
            account, names = accounts[login], self.anames[login]
            if account.profile not in PROFILES or not names.nom:
                continue
            self.by_nom[(account.profile, names.nom)].append(login)
            if account.profile == PARENT_PROFILE:
                for child in set(account.children):
                    self.parents_of[child].append(login)
        self._children_cache: dict[str, tuple[set[str], set[str]]] = {}
        self.holders: dict[str, list[str]] = defaultdict(list)
        for ident, login in sorted(current.items()):
            if login:
                self.holders[login].append(ident)
        self.manual = self._validate_manual(manual)
        self.plain = plain_matches(people, accounts.values()) if people else {}
        self.groups: dict[str, frozenset[str]] = {}  # ident -> the duplicates it belongs to
        self.skipped = self._skipped()
        self.fits: dict[str, frozenset[str]] = {}
        self.fitted_by: dict[str, set[str]] = defaultdict(set)  # login -> the idents its account fits
        self.decisions: dict[str, Decision] = {}

    # -- inputs -----------------------------------------------------------------------
    @cached_property
    def lower_logins(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for login in sorted(self.accounts):
            out[login.strip().lower()].append(login)
        return out

    @cached_property
    def by_compact(self) -> dict[tuple[str, str], list[str]]:
        """Accounts by profile and nom without spaces: only to list candidates."""
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        for login in sorted(self.accounts):
            names = self.anames[login]
            if names.nom:
                out[(self.accounts[login].profile, names.compact)].append(login)
        return out

    def _account_for(self, login: str) -> str | None:
        """The directory login a typed login means: exact, else the only case-insensitive equal."""
        if login in self.accounts:
            return login
        found = self.lower_logins.get(login.strip().lower(), [])
        return found[0] if len(found) == 1 else None

    def _validate_manual(self, manual: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        used: dict[str, str] = {}
        for ident in sorted(manual):
            typed = (manual[ident] or "").strip()
            if not typed:
                continue
            person = self.by_ident.get(ident)
            if person is None:
                raise ManualMatchError(f"Manual match {ident} -> {typed}: no person of the file has the "
                                       f"Identifiant PRONOTE {ident}.")
            login = self._account_for(typed)
            profile = BY_KEY[person.category].profile
            if login is None:
                raise ManualMatchError(f"Manual match {ident} -> {typed}: the account {typed} is not in the "
                                       "directory of the établissement.")
            if self.accounts[login].profile != profile:
                raise ManualMatchError(f"Manual match {ident} -> {typed}: the account has the profile "
                                       f"{self.accounts[login].profile}, not {profile}.")
            if login in used:
                raise ManualMatchError(f"Manual matches {used[login]} and {ident} both use the account {login}.")
            used[login] = ident
            out[ident] = login
        return out

    def _skipped(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for group in duplicate_groups(self.people, self.pnames):
            lines = ", ".join(str(line) for line in sorted(p.line for p in group))
            idents = frozenset(p.ident for p in group)
            for person in group:
                self.groups[person.ident] = idents
                out[person.ident] = f"duplicate in the file: same nom, prénom and birth date (lines {lines})"
        for person in self.people:
            if person.category == PUPILS and person.left_on is not None and person.ident not in out:
                out[person.ident] = f"the pupil has left the établissement (DateSortie {person.left_on:%d/%m/%Y})"
        return out

    def survives(self, ident: str) -> bool:
        return self.mode == "partiel" or ident in self.by_ident

    def taken(self, login: str, ident: str) -> bool:
        """The account holds another identifier of the établissement that the import leaves in place."""
        return any(other != ident and self.survives(other) for other in self.holders.get(login, ()))

    def keepable(self, login: str | None, profile: str) -> bool:
        return bool(login) and login in self.accounts and self.accounts[login].profile == profile

    # -- the run ------------------------------------------------------------------------
    def run(self) -> MatchPlan:
        for cat in CATEGORIES:
            if cat.key != RESPONSABLES:
                self._category(cat.key)
        self._category(RESPONSABLES)
        return MatchPlan(self.mode, tuple(self.decisions[p.ident] for p in self.people), self.assisted)

    def _category(self, key: str) -> None:
        members = self.members[key]
        if not members:
            return
        profile = BY_KEY[key].profile
        certain: dict[str, frozenset[str]] = {}
        for person in members:
            if key == RESPONSABLES:
                self.fits[person.ident], certain[person.ident] = self._responsable_fits(person)
            else:
                self.fits[person.ident] = self._fits(person, profile)
        fitted_by = self.fitted_by  # accounts of one profile are only ever fitted by one category
        for person in members:
            for login in self.fits[person.ident]:
                fitted_by[login].add(person.ident)
        for person in members:
            self.decisions[person.ident] = self._decide(person, profile, fitted_by, certain.get(person.ident))
        self._resolve(members)

    def _fits(self, person: Person, profile: str) -> frozenset[str]:
        names = self.pnames[person.ident]
        weak = person.category != PUPILS
        out = {login for login in self.by_nom.get((profile, names.nom), ())
               if _same_person(names, self.anames[login], weak=weak)}
        out.update(self._cas(person, profile))
        return frozenset(out)

    def _cas(self, person: Person, profile: str) -> set[str]:
        login = self._account_for(person.cas_login) if person.cas_login else None
        if login and self.accounts[login].profile == profile and _kin(self.pnames[person.ident],
                                                                      self.anames[login]):
            return {login}
        return set()

    def _child_accounts(self, person: Person) -> tuple[set[str], set[str]]:
        """(every account the children may be, the accounts they are with certainty)."""
        cached = self._children_cache.get(person.ident)
        if cached is None:
            cached = self._children_cache[person.ident] = self._find_child_accounts(person)
        return cached

    def _find_child_accounts(self, person: Person) -> tuple[set[str], set[str]]:
        possible: set[str] = set()
        sure: set[str] = set()
        for child in person.children:
            if child in self.by_ident and self.by_ident[child].category != PUPILS:
                continue  # not a child (the reader refuses such a file): no evidence
            now = self.current.get(child)
            if child in self.by_ident:
                possible.update(self.fits.get(child, ()))
                decision = self.decisions.get(child)
                if decision is not None and decision.outcome in MATCHED and decision.login:
                    sure.add(decision.login)
                elif child in self.skipped:
                    found = self._skipped_evidence(child)
                    if found:
                        sure.add(found)
            if self.keepable(now, PUPIL_PROFILE):
                sure.add(now)  # type: ignore[arg-type]
            if now:
                possible.add(now)
            if child in self.manual:
                possible.add(self.manual[child])
        return possible | sure, sure

    def _skipped_evidence(self, ident: str) -> str | None:
        """The account a skipped pupil (left, or written twice) certainly is, though it is not bound.

        Its rows fit exactly one account, which nobody else fits and which
        holds no other surviving identifier: as certain as a match.
        """
        fits = self.fits.get(ident, frozenset())
        if len(fits) != 1:
            return None
        (login,) = fits
        group = self.groups.get(ident, frozenset((ident,)))
        if not self.fitted_by[login] <= group:
            return None
        if any(other not in group and self.survives(other) for other in self.holders.get(login, ())):
            return None
        return login

    def _responsable_fits(self, person: Person) -> tuple[frozenset[str], frozenset[str]]:
        names = self.pnames[person.ident]
        possible, sure = self._child_accounts(person)
        out: set[str] = set()
        for child_login in possible:
            for login in self.parents_of.get(child_login, ()):
                if _kin(names, self.anames[login]):
                    out.add(login)
        if names.birth is not None:
            for login in self.by_nom.get((PARENT_PROFILE, names.nom), ()):
                other = self.anames[login]
                if other.birth == names.birth and _compatible(names.first, other.first):
                    out.add(login)
        out.update(self._cas(person, PARENT_PROFILE))
        return frozenset(out), frozenset(sure)

    def _decide(self, person: Person, profile: str, fitted_by: dict[str, set[str]],
                sure_children: frozenset[str] | None) -> Decision:
        ident, key = person.ident, person.category
        fits = self.fits[ident]
        if ident in self.manual:
            login = self.manual[ident]
            return Decision(ident, key, "manual", login, "chosen by hand", (login,))
        if ident in self.skipped:
            return Decision(ident, key, "skipped", None, self.skipped[ident], self._candidates(person, profile))
        login, refusal = self._evidence(person, fits, fitted_by, sure_children)
        if login is not None:
            if self.plain.get(ident) == login:
                return Decision(ident, key, "ent", login, "the ENT's automatic matching finds it "
                                "(same nom, prénom and birth date)", (login,))
            if self.assisted:
                return Decision(ident, key, "assisted", login, self._why(person, login, sure_children), (login,))
            refusal = "found by the assisted matching only, which is off (assisted: false)"
        now = self.current.get(ident)
        if self.keepable(now, profile):
            return Decision(ident, key, "kept", now, "already bound to this account; the import keeps it", (now,))
        if refusal is None:
            return Decision(ident, key, "unmatched", None, self._nothing(person, profile),
                            self._candidates(person, profile))
        outcome = "unmatched" if login is not None else "ambiguous"
        return Decision(ident, key, outcome, None, refusal, self._candidates(person, profile))

    def _evidence(self, person: Person, fits: frozenset[str], fitted_by: dict[str, set[str]],
                  sure_children: frozenset[str] | None) -> tuple[str | None, str | None]:
        """(the account the evidence gives, or None and why not; None, None when nothing fits)."""
        if not fits:
            return None, None
        if len(fits) > 1:
            return None, f"{len(fits)} ENT accounts fit"
        (login,) = fits
        others = fitted_by[login] - {person.ident}
        if others:
            lines = ", ".join(str(n) for n in sorted(self.by_ident[i].line for i in others))
            return None, f"the only fitting account also fits {len(others)} other person(s) of the file (line {lines})"
        if self.taken(login, person.ident):
            return None, "the only fitting account already holds another Identifiant PRONOTE of this établissement"
        if sure_children is not None and not (set(self.accounts[login].children) & sure_children):
            return None, "the only fitting parent account is not linked to a child matched with certainty"
        return login, None

    def _why(self, person: Person, login: str, sure_children: frozenset[str] | None) -> str:
        names, other = self.pnames[person.ident], self.anames[login]
        if sure_children is not None:
            return "parent of a matched child, with the same nom and compatible prénoms"
        if person.cas_login and self._account_for(person.cas_login) == login:
            return "the Identifiant CAS of the file names this account, with the same nom and compatible prénoms"
        if names.birth is None or other.birth is None:
            return "same nom and prénom; no birth date to compare (weaker rule)"
        return "same nom, compatible prénoms and the same birth date, written differently"

    def _nothing(self, person: Person, profile: str) -> str:
        if person.category == RESPONSABLES:
            return f"no {profile} account linked to the children's accounts with this nom and prénom"
        if person.category == PUPILS and person.birth_date is None:
            return "no birth date in the file: a pupil is matched on nom, prénom and birth date"
        return f"no {profile} account with this nom, prénom and birth date"

    def _candidates(self, person: Person, profile: str) -> tuple[str, ...]:
        """Accounts a person could choose from, at most MAX_CANDIDATES.

        The fitting accounts when there are some (sorted); otherwise accounts
        that look alike, the closest first: a parent linked to the children
        with the same nom, the same nom with compatible prénoms, the same nom,
        the same nom written without spaces, a parent linked to the children.
        """
        fits = self.fits.get(person.ident, frozenset())
        if fits:
            return tuple(sorted(fits)[:MAX_CANDIDATES])
        names = self.pnames[person.ident]
        rank: dict[str, int] = {}

        def offer(login: str, level: int) -> None:
            if self.accounts[login].profile == profile and level < rank.get(login, 99):
                rank[login] = level

        if person.category == RESPONSABLES:
            possible, _found = self._child_accounts(person)
            for child_login in possible:
                for login in self.parents_of.get(child_login, ()):
                    offer(login, 1 if self.anames[login].nom == names.nom else 3)
        if names.nom:
            for login in self.by_nom.get((profile, names.nom), ()):
                offer(login, 1 if _compatible(names.first, self.anames[login].first) else 2)
            for login in self.by_compact.get((profile, names.compact), ()):
                offer(login, 2)
        ordered = sorted(rank, key=lambda login: (rank[login], login))
        return tuple(ordered[:MAX_CANDIDATES])

    def _resolve(self, members: list[Person]) -> None:
        """An account bound twice: the manual match keeps it, the others become ambiguous."""
        users: dict[str, list[str]] = defaultdict(list)
        for person in members:
            decision = self.decisions[person.ident]
            if decision.outcome in MATCHED and decision.login:
                users[decision.login].append(person.ident)
        for login, idents in users.items():
            if len(idents) < 2:
                continue
            by_hand = [i for i in idents if self.decisions[i].outcome == "manual"]
            for ident in idents:
                if ident in by_hand:
                    continue
                old = self.decisions[ident]
                reason = ("the account was chosen by hand for another identifier" if by_hand
                          else "the account is bound to several identifiers of the file")
                self.decisions[ident] = Decision(ident, old.category, "ambiguous", None, reason, (login,))


# --- after the import ---------------------------------------------------------------------

def outcome_state(current: Mapping[str, str], plan: MatchPlan, mode: str,
                  people: Iterable[Person] | None = None) -> tuple[dict[str, str], int, int, int]:
    """What the site holds once the import has run: ``(final, added, replaced, removed)``.

    ``final`` maps Identifiant PRONOTE -> login. partiel: ``current`` with
    each pair of the plan stored, replacing the account's previous identifier
    and taking the identifier away from any other account. complet: every
    step makes the accounts of its profile that the step does not bind lose
    their identifier, and only accounts of the six profiles ever hold one, so
    the final state is exactly the plan's pairs. ``added`` counts identifiers
    the site did not hold, ``replaced`` identifiers moved to another account,
    ``removed`` identifiers the site no longer holds. ``people``, when given,
    must hold every identifier of the plan (a plan and a file mixed up raise
    ValueError).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    pairs = plan.pairs()
    if people is not None:
        known = {p.ident for p in people}
        stray = sorted(set(pairs) - known)
        if stray:
            raise ValueError(f"the plan binds {len(stray)} identifier(s) that are not in the file, e.g. {stray[0]}")
    if mode == "complet":
        final = dict(pairs)
    else:
        bound = {login: ident for ident, login in pairs.items()}
        final = {ident: login for ident, login in current.items()
                 if login and bound.get(login, ident) == ident}  # an account's previous identifier is replaced
        final.update(pairs)  # ... and the identifier leaves any other account
    before = {ident: login for ident, login in current.items() if login}
    added = sum(1 for ident in final if ident not in before)
    replaced = sum(1 for ident, login in final.items() if ident in before and before[ident] != login)
    removed = sum(1 for ident in before if ident not in final)
    return final, added, replaced, removed
