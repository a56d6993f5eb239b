"""Population access rules ("Accès population"): pure logic, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

ACCESS_ROLE = "Accès au service"
ROLES = (ACCESS_ROLE, "Administration du service")
PROFILES = ("Elève", "Parent", "Enseignant", "Personnel", "Maître de stage", "Inspecteur")
#: option value -> the « Cible » label on screen
TARGET_LABELS = {
    "site": "Établissement(s) du site courant",
    "establishments": "Liste personnalisée d'établissements",
    "groups": "Liste de groupes",
    "ent": "Tout l'ENT",
}
DEFAULT_PROFILES = ("Elève", "Parent", "Enseignant", "Personnel")


@dataclass(frozen=True, order=True)
class Rule:
    """One access rule, in a form where equal rules compare equal.

    ``values`` holds UAIs for a custom list of établissements, group names for
    a list of groups, and nothing for the current site or the whole ENT.
    Empty strings stand for "Indifférent(e)".
    """

    profile: str
    target: str = "site"
    values: tuple[str, ...] = ()
    role: str = ACCESS_ROLE
    subject: str = ""
    function: str = ""
    discipline: str = ""

    def describe(self) -> str:
        parts = [f"{self.profile} / {TARGET_LABELS[self.target]}"]
        if self.values:
            parts.append("(" + ", ".join(self.values) + ")")
        for extra in (self.subject, self.function, self.discipline):
            if extra:
                parts.append(f"/ {extra}")
        if self.role != ACCESS_ROLE:
            parts.append(f"/ {self.role}")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"profile": self.profile, "target": self.target, "role": self.role}
        if self.target == "establishments":
            out["establishments"] = list(self.values)
        elif self.target == "groups":
            out["groups"] = list(self.values)
        for key in ("subject", "function", "discipline"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


def rule_from_option(item: dict[str, Any]) -> Rule:
    """A rule from one entry of the ``rules`` option (already type-checked)."""
    target = item.get("target") or "site"
    for key in ("establishments", "groups"):
        if item.get(key) and target != key:
            raise ValueError(f"rule for profile '{item['profile']}': '{key}' only goes with target '{key}'")
    if target == "establishments":
        values = item.get("establishments") or []
        if not values:
            raise ValueError(f"rule for profile '{item['profile']}': target 'establishments' needs 'establishments'")
        values = [v.strip().upper() for v in values]
    elif target == "groups":
        values = item.get("groups") or []
        if not values:
            raise ValueError(f"rule for profile '{item['profile']}': target 'groups' needs 'groups'")
    else:
        values = []
    return Rule(
        profile=item["profile"], target=target, values=tuple(sorted(set(values))),
        role=item.get("role") or ACCESS_ROLE, subject=item.get("subject") or "",
        function=item.get("function") or "", discipline=item.get("discipline") or "",
    )


def desired_rules(profiles: Iterable[str] | None, rules: Iterable[dict[str, Any]] | None) -> list[Rule]:
    """The rules asked for: ``profiles`` is a short way to write site-wide access rules."""
    out = [Rule(profile=p) for p in (profiles or [])]
    out.extend(rule_from_option(item) for item in (rules or []))
    unique = sorted(set(out))
    return unique


def plan(current: Iterable[Rule], desired: Iterable[Rule], exclusive: bool) -> tuple[list[Rule], list[Rule]]:
    """(rules to add, rules to remove) so that ``current`` becomes what is asked."""
    have, want = set(current), set(desired)
    to_add = sorted(want - have)
    to_remove = sorted(have - want) if exclusive else []
    return to_add, to_remove


def after(current: Iterable[Rule], to_add: Iterable[Rule], to_remove: Iterable[Rule]) -> list[Rule]:
    """The rules once the plan is applied."""
    return sorted((set(current) - set(to_remove)) | set(to_add))
