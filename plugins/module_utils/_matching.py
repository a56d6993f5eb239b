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
also needs its one fitting account to be linked to a child this import
pairs: a child of the file whose own decision is a match (ent, assisted,
kept, manual); a child left unpaired for any reason (left, written twice,
ambiguous, no account) vouches for nobody, even when the ENT binds it now.
A child absent from the file vouches in mode partiel only, when the import
leaves its pair in place. Because all of this is computed on
the "fits" relation, adding an account can only remove matches of people who
already had a fitting account, and input order never matters.

The ENT's plain rule (:func:`plain_matches`) compares with ``str.lower()``
and is only used to tell ``ent`` from ``assisted``: a pair it would find but
that the rules above refuse is not made (the step's input is emptied).

**Outcomes**, in the order they are tried: ``manual`` (a person's decision;
it wins, but its login must exist with the right profile), ``skipped`` (a
pupil with a ``DateSortie``, whatever the date; two or more people of one category with the same
normalised nom and prénom whose birth dates do not differ, equal or one
missing: :func:`duplicate_groups`), ``ent`` (matched, and the ENT's plain rule finds the same account),
``assisted`` (matched by the evidence above only; with ``assisted=False``
such a person stays unmatched), ``kept`` (bound now to an account of the
right profile still in the directory, and the rules do not contradict the
pair: see below), ``ambiguous`` (an account fits but
the rules above refuse it), ``unmatched``. Finally, an account chosen by
hand for someone else, or claimed by two kept pairs, makes the others
ambiguous.

**Pairs the ENT holds already** are judged by the same rules (the ENT's own
import binds pupils who left, both copies of a duplicate, parents through no
paired child, one of two accounts that fit once accents are set aside). A
pair the rules would not make carries ``withdrawn``: ``left``,
``duplicate``, ``no_paired_child`` (the parent account lists no child this
import pairs) or ``ambiguous`` (other accounts, or other people of the file,
fit: which is the person is a person's call; the bound account is then among
the candidates). In mode complet such a pair is removed (the decision binds
nothing); in mode partiel it is kept and reported. A pair no evidence
contradicts (nothing fits the person) is kept in both modes.

**Homonyms are not duplicates**: two responsables with the same names and no
birth date are one person written twice only when they share a child (or
neither has one); otherwise each is matched through its own children.

Every decision carries a stable reason ``code`` (:data:`REASONS`, English;
:data:`RAISONS`, French, for the report).
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


#: reason code -> the English text of ``Decision.reason`` (``{name}``: one of the decision's values)
REASONS: dict[str, str] = {
    "manual": "chosen by hand",
    "duplicate": "duplicate in the file: same nom, prénom and birth date (lines {lines})",
    "duplicate_suspected": "suspected duplicate in the file: same nom and prénom, a birth date missing "
                           "(lines {lines})",
    "left": "the pupil has left the établissement (DateSortie {date})",
    "ent": "the ENT's automatic matching finds it (same nom, prénom and birth date)",
    "assisted_parent": "parent of a matched child, with the same nom and compatible prénoms",
    "assisted_cas": "the Identifiant CAS of the file names this account, with the same nom and compatible prénoms",
    "assisted_weak": "same nom and prénom; no birth date to compare (weaker rule)",
    "assisted_variant": "same nom, compatible prénoms and the same birth date, written differently",
    "assisted_off": "found by the assisted matching only, which is off (assisted: false)",
    "kept": "already bound to this account; the import keeps it",
    "several_fit": "{count} ENT accounts fit",
    "shared_fit": "the only fitting account also fits {count} other person(s) of the file (line {lines})",
    "taken": "the only fitting account already holds another Identifiant PRONOTE of this établissement",
    "no_paired_child": "the only fitting parent account is not linked to a child paired by this import",
    "none_parent": "no {profile} account linked to the children's accounts with this nom and prénom",
    "none_no_birth_date": "no birth date in the file: a pupil is matched on nom, prénom and birth date",
    "none": "no {profile} account with this nom, prénom and birth date",
    "chosen_for_other": "the account was chosen by hand for another identifier",
    "bound_twice": "the account is bound to several identifiers of the file",
}
#: reason code -> its French text, for the report (same values as :data:`REASONS`)
RAISONS: dict[str, str] = {
    "manual": "choisi à la main",
    "duplicate": "doublon dans le fichier : même nom, prénom et date de naissance (lignes {lines})",
    "duplicate_suspected": "doublon suspecté dans le fichier : même nom et même prénom, une date de naissance "
                           "manque (lignes {lines})",
    "left": "élève sorti de l'établissement (DateSortie {date})",
    "ent": "reconnu par le rapprochement automatique de l'ENT (même nom, prénom et date de naissance)",
    "assisted_parent": "parent d'un enfant rapproché, même nom et prénoms compatibles",
    "assisted_cas": "l'Identifiant CAS du fichier désigne ce compte, même nom et prénoms compatibles",
    "assisted_weak": "même nom et même prénom ; pas de date de naissance à comparer (règle plus faible)",
    "assisted_variant": "même nom, prénoms compatibles et même date de naissance, écrits autrement",
    "assisted_off": "trouvé par le seul rapprochement assisté, qui est désactivé (assisted: false)",
    "kept": "déjà lié à ce compte ; l'import le garde",
    "several_fit": "{count} comptes ENT correspondent",
    "shared_fit": "le seul compte qui correspond correspond aussi à {count} autre(s) personne(s) du fichier "
                  "(ligne {lines})",
    "taken": "le seul compte qui correspond porte déjà un autre Identifiant PRONOTE de l'établissement",
    "no_paired_child": "le seul compte parent qui correspond n'est lié à aucun enfant rapproché par cet import",
    "none_parent": "aucun compte {profile} lié aux comptes des enfants avec ce nom et ce prénom",
    "none_no_birth_date": "pas de date de naissance dans le fichier : un élève est rapproché sur son nom, son "
                          "prénom et sa date de naissance",
    "none": "aucun compte {profile} avec ce nom, ce prénom et cette date de naissance",
    "chosen_for_other": "le compte a été choisi à la main pour un autre identifiant",
    "bound_twice": "le compte est lié à plusieurs identifiants du fichier",
}
#: why a pair the ENT holds is one the rules would not make -> its French label (plural, for counts)
WITHDRAWN: dict[str, str] = {
    "left": "élèves sortis",
    "duplicate": "doublons",
    "ambiguous": "ambiguës à confirmer",
    "no_paired_child": "parents sans enfant rapproché",
}
#: the same, one pair, for the report's reason
_WITHDRAWN_ONE: dict[str, str] = {
    "left": "élève sorti",
    "duplicate": "doublon",
    "ambiguous": "plusieurs comptes possibles, à confirmer",
    "no_paired_child": "parent sans enfant rapproché",
}


def french_reason(decision: Decision) -> str:
    """The French text of a decision's reason code; an unknown code gives its English reason back."""
    text = RAISONS.get(decision.code)
    if text is None:
        return decision.reason
    out = text.format(**dict(decision.values))
    if decision.withdrawn:
        what = _WITHDRAWN_ONE[decision.withdrawn]
        if decision.outcome == "kept":
            out += f" ; les règles ne feraient pas cette paire ({what}) : gardée en mode partiel"
        elif decision.login is None:
            out += f" ; la paire que l'ENT tient est retirée ({what})"
    return out


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
    #: the stable code of ``reason`` (a key of :data:`REASONS`) and the values its text names
    code: str = ""
    values: tuple[tuple[str, str], ...] = ()
    #: the person is bound now and the rules would not make that pair: why (a key of :data:`WITHDRAWN`).
    #: complet: the pair is removed; partiel: it stays, and is reported.
    withdrawn: str | None = None

    @property
    def matched(self) -> bool:
        return self.outcome in MATCHED

    @property
    def raison(self) -> str:
        """The reason in French, for the people who read the report (:data:`RAISONS`)."""
        return french_reason(self)


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
    """The people of the file written twice or more (or suspected to be): same category and names (normalised),
    and birth dates that do not differ (equal, or one missing).

    The import skips them all (which copy is the real one is a person's
    call, in the file to fill in by hand); the diagnosis reports them (FAQ:
    duplicates in PRONOTE). Two responsables with the same names and no
    birth date on one side at least are one person written twice only when
    they share a child (or neither has one): homonyms with children of their
    own are two people, each matched through their own children.
    """
    groups: dict[tuple, list[Person]] = defaultdict(list)
    for person in people:
        n = names[person.ident] if names is not None else _names(person.nom, person.prenom, person.birth_date)
        groups[(person.category, n.nom, n.first)].append(person)
    out: list[tuple[Person, ...]] = []
    for group in groups.values():
        if len(group) > 1:
            out.extend(_written_twice(group))
    return out


def _same_person_twice(one: Person, other: Person) -> bool:
    """Two rows of one category with the same names: the same person written twice?"""
    if one.birth_date is not None and other.birth_date is not None:
        return one.birth_date == other.birth_date
    if one.category != RESPONSABLES:
        return True  # a pupil or staff without birth date cannot be told from the other row
    return bool(set(one.children) & set(other.children)) or (not one.children and not other.children)


def _written_twice(group: list[Person]) -> list[tuple[Person, ...]]:
    """The parts of a group of rows with the same names linked by :func:`_same_person_twice`, 2 or more, in
    file order."""
    root = list(range(len(group)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, one in enumerate(group):
        for j in range(i + 1, len(group)):
            if _same_person_twice(one, group[j]):
                root[find(j)] = find(i)
    parts: dict[int, list[Person]] = defaultdict(list)
    for i, person in enumerate(group):
        parts[find(i)].append(person)
    return [tuple(part) for part in parts.values() if len(part) > 1]


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
                raise ManualMatchError(f"Rapprochement manuel {ident} -> {typed} : aucune personne du fichier n'a "
                                       f"l'Identifiant PRONOTE {ident}.")
            login = self._account_for(typed)
            profile = BY_KEY[person.category].profile
            if login is None:
                raise ManualMatchError(f"Rapprochement manuel {ident} -> {typed} : le compte {typed} n'est pas dans "
                                       "l'annuaire de l'établissement.")
            if self.accounts[login].profile != profile:
                raise ManualMatchError(f"Rapprochement manuel {ident} -> {typed} : le compte a le profil "
                                       f"{self.accounts[login].profile}, pas {profile}.")
            if login in used:
                raise ManualMatchError(f"Rapprochements manuels {used[login]} et {ident} : tous deux utilisent le "
                                       f"compte {login}.")
            used[login] = ident
            out[ident] = login
        return out

    def _skipped(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Identifiant -> (reason code, values) of the people the import leaves aside."""
        out: dict[str, tuple[str, dict[str, str]]] = {}
        for group in duplicate_groups(self.people, self.pnames):
            lines = ", ".join(str(line) for line in sorted(p.line for p in group))
            dated = {p.birth_date is None for p in group}
            code = "duplicate" if len(dated) == 1 else "duplicate_suspected"
            for person in group:
                out[person.ident] = (code, {"lines": lines})
        for person in self.people:
            if person.category == PUPILS and person.left_on is not None and person.ident not in out:
                out[person.ident] = ("left", {"date": f"{person.left_on:%d/%m/%Y}"})
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
        """(every account the children may be, the accounts of the children this import pairs).

        Only a child whose own pair is made or kept by this import vouches for
        a parent: a child of the file, by its decision (a child left aside,
        ambiguous or unmatched vouches for nobody, whatever its accounts); a
        child absent from the file, in mode partiel only, by the pair the
        import leaves in place (complet removes it).
        """
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
            elif self.mode == "partiel" and self._left_in_place(child, now):
                sure.add(now)  # type: ignore[arg-type]
            if now:
                possible.add(now)
            if child in self.manual:
                possible.add(self.manual[child])
        return possible | sure, sure

    def _left_in_place(self, child: str, login: str | None) -> bool:
        """partiel: the pupil's pair survives the import (its account holds no other identifier, the plan binds
        it to nobody else)."""
        if not self.keepable(login, PUPIL_PROFILE) or self.holders.get(login, []) != [child]:  # type: ignore[arg-type]
            return False
        return login not in self.pupil_logins

    @cached_property
    def pupil_logins(self) -> frozenset[str]:
        """The accounts the plan binds to pupils of the file (the pupils are decided before the responsables)."""
        return frozenset(d.login for d in self.decisions.values()
                         if d.category == PUPILS and d.outcome in MATCHED and d.login)

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
        ident = person.ident
        fits = self.fits[ident]
        now = self.current.get(ident)
        if ident in self.manual:
            login = self.manual[ident]
            return _decision(person, "manual", login, (login,), "manual")
        if ident in self.skipped:
            code, values = self.skipped[ident]
            return _decision(person, "skipped", None, self._candidates(person, profile), code, values,
                             withdrawn=("left" if code == "left" else "duplicate") if now else None)
        login, refusal = self._evidence(person, fits, fitted_by, sure_children)
        if login is not None:
            if self.plain.get(ident) == login:
                return _decision(person, "ent", login, (login,), "ent")
            if self.assisted:
                return _decision(person, "assisted", login, (login,), self._why(person, login, sure_children))
            refusal = ("assisted_off", {})
        withdrawn = None
        if self.keepable(now, profile):
            withdrawn = self._contested(person, fits, login, now, sure_children)  # type: ignore[arg-type]
            if withdrawn is None or self.mode == "partiel":
                candidates = (now,)
                if withdrawn == "ambiguous":  # for a person to confirm: the bound account first
                    others = [c for c in self._candidates(person, profile) if c != now]
                    candidates = (now, *others[:MAX_CANDIDATES - 1])  # type: ignore[assignment]
                return _decision(person, "kept", now, candidates, "kept", withdrawn=withdrawn)
        candidates = self._candidates(person, profile)
        if withdrawn == "ambiguous" and now not in candidates:
            candidates = (now, *candidates[:MAX_CANDIDATES - 1])  # type: ignore[assignment]
        if refusal is None:
            return _decision(person, "unmatched", None, candidates, *self._nothing(person, profile),
                             withdrawn=withdrawn)
        outcome = "unmatched" if login is not None else "ambiguous"
        return _decision(person, outcome, None, candidates, *refusal, withdrawn=withdrawn)

    def _contested(self, person: Person, fits: frozenset[str], found: str | None, now: str,
                   sure_children: frozenset[str] | None) -> str | None:
        """Why the rules would not make the pair the ENT holds now (None: they would, or nothing says otherwise).

        A parent needs a child paired by this import among its account's
        children. Otherwise a pair stands when no account fits the person
        (nothing contradicts it: a person made it) or the one fitting account
        is the bound one; when other accounts or other people fit, the
        product cannot know which is the person.
        """
        if sure_children is not None and not (set(self.accounts[now].children) & sure_children):
            return "no_paired_child"
        if not fits or found == now:
            return None
        return "ambiguous"

    def _evidence(self, person: Person, fits: frozenset[str], fitted_by: dict[str, set[str]],
                  sure_children: frozenset[str] | None) -> tuple[str | None, tuple[str, dict[str, str]] | None]:
        """(the account the evidence gives, or None and why not (code, values); None, None when nothing fits)."""
        if not fits:
            return None, None
        if len(fits) > 1:
            return None, ("several_fit", {"count": str(len(fits))})
        (login,) = fits
        others = fitted_by[login] - {person.ident}
        if others:
            lines = ", ".join(str(n) for n in sorted(self.by_ident[i].line for i in others))
            return None, ("shared_fit", {"count": str(len(others)), "lines": lines})
        if self.taken(login, person.ident):
            return None, ("taken", {})
        if sure_children is not None and not (set(self.accounts[login].children) & sure_children):
            return None, ("no_paired_child", {})
        return login, None

    def _why(self, person: Person, login: str, sure_children: frozenset[str] | None) -> str:
        names, other = self.pnames[person.ident], self.anames[login]
        if sure_children is not None:
            return "assisted_parent"
        if person.cas_login and self._account_for(person.cas_login) == login:
            return "assisted_cas"
        if names.birth is None or other.birth is None:
            return "assisted_weak"
        return "assisted_variant"

    def _nothing(self, person: Person, profile: str) -> tuple[str, dict[str, str]]:
        if person.category == RESPONSABLES:
            return "none_parent", {"profile": profile}
        if person.category == PUPILS and person.birth_date is None:
            return "none_no_birth_date", {}
        return "none", {"profile": profile}

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
                person = self.by_ident[ident]
                code = "chosen_for_other" if by_hand else "bound_twice"
                self.decisions[ident] = _decision(person, "ambiguous", None, (login,), code)


def _decision(person: Person, outcome: str, login: str | None, candidates: tuple[str, ...], code: str,
              values: Mapping[str, str] | None = None, *, withdrawn: str | None = None) -> Decision:
    """A decision with its reason code, its English reason and the values both texts name."""
    values = dict(values or {})
    return Decision(person.ident, person.category, outcome, login, REASONS[code].format(**values), candidates,
                    code, tuple(sorted(values.items())), withdrawn)


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
