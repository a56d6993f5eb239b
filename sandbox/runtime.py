"""Run-time state shared by every request thread: clock, settings, faults, stats.

These live in memory (one process serves every request) behind locks, so a
change made through ``/_sandbox/`` is seen by every thread at once. They
reset when the sandbox restarts.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

ERROR_PHASES = ("before", "after")
#: Actions of the hosting console that ``hosting_fail_next`` can make fail ('' = none).
HOSTING_ACTIONS = ("arreter", "enregistrer", "publier")


class Clock:
    """Wall clock with an adjustable offset, so tests can make time pass."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current sandbox time (epoch seconds)."""
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("advance_s must be >= 0")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Go back to the real time."""
        with self._lock:
            self._offset = 0.0


@dataclass
class Settings:
    """Lifetimes of tickets and sessions, and how long PRONOTE.net waits for the CAS (seconds)."""

    service_ticket_ttl_s: float = 10.0
    tgc_ttl_s: float = 7200.0
    session_idle_s: float = 1800.0
    login_flow_ttl_s: float = 900.0
    #: PRONOTE.net's ticket validation at the CAS: connection and each read (then a network error)
    cas_validation_timeout_s: float = 5.0

    def update(self, values: dict[str, Any]) -> None:
        """Apply ``values`` after validating every one (all or nothing)."""
        known = {f.name for f in fields(self)}
        checked: dict[str, float] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{key} must be a positive number")
            checked[key] = float(value)
        for key, value in checked.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class FaultConfig:
    """The fault-injection switches."""

    error_rate: float = 0.0
    error_phase: str = "before"
    latency_ms: int = 0
    session_expiry_rate: float = 0.0
    fault_seed: int | None = None
    #: 1-6: the next validation of that import step saves about half of its
    #: pairs, closes the import and answers 500; fires once, then back to 0.
    import_abort_step: int = 0
    #: arreter, enregistrer or publier: the next POST of that hosting console
    #: action answers 500 without doing anything; fires once, then back to ''.
    hosting_fail_next: str = ""


class Faults:
    """Thread-safe fault switches and the random draws that apply them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.config)

    def update(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply ``values`` (all or nothing); ``reset`` first clears all."""
        values = dict(values)
        reset = bool(values.pop("reset", False))
        new = FaultConfig() if reset else FaultConfig(**asdict(self.config))
        for key, value in values.items():
            if key in ("error_rate", "session_expiry_rate"):
                new.__setattr__(key, _rate(key, value))
            elif key == "latency_ms":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60000:
                    raise ValueError("latency_ms must be an integer between 0 and 60000")
                new.latency_ms = value
            elif key == "error_phase":
                if value not in ERROR_PHASES:
                    raise ValueError("error_phase must be 'before' or 'after'")
                new.error_phase = value
            elif key == "import_abort_step":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
                    raise ValueError("import_abort_step must be an integer between 0 and 6")
                new.import_abort_step = value
            elif key == "hosting_fail_next":
                if value not in HOSTING_ACTIONS + ("",):
                    raise ValueError("hosting_fail_next must be one of " + ", ".join(HOSTING_ACTIONS) + " or ''")
                new.hosting_fail_next = value
            elif key == "fault_seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("fault_seed must be an integer or null")
                new.fault_seed = value
            else:
                raise ValueError(f"unknown fault setting {key!r}")
        with self._lock:
            seed_changed = reset or "fault_seed" in values
            self.config = new
            if seed_changed:
                self._rng = random.Random(new.fault_seed)
        return self.snapshot()

    def take_import_abort(self, step: int) -> bool:
        """True (once) when the import abort fault is set for ``step``; it then resets to 0."""
        with self._lock:
            if self.config.import_abort_step != step or step == 0:
                return False
            self.config.import_abort_step = 0
            return True

    def take_hosting_fail(self, action: str) -> bool:
        """True (once) when the hosting fault is set for ``action``; it then resets to ''."""
        with self._lock:
            if not action or self.config.hosting_fail_next != action:
                return False
            self.config.hosting_fail_next = ""
            return True

    def draw(self, rate_name: str) -> bool:
        """Return True with the probability held by the ``rate_name`` switch."""
        with self._lock:
            rate = getattr(self.config, rate_name)
            if rate <= 0:
                return False
            return rate >= 1 or self._rng.random() < rate


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


@dataclass
class Stats:
    """Request counters, per kind, endpoint and status class."""

    started_at: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    by_kind: Counter = field(default_factory=Counter)
    by_endpoint: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)

    def count_request(self, kind: str, endpoint: str, status: int) -> None:
        with self._lock:
            self.by_kind[kind] += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[f"{status // 100}xx"] += 1

    def count_fault(self, name: str) -> None:
        with self._lock:
            self.faults[name] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uptime_s": round(time.time() - self.started_at, 3),
                "requests_total": sum(self.by_kind.values()),
                "by_kind": dict(sorted(self.by_kind.items())),
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "by_status": dict(sorted(self.by_status.items())),
                "faults": dict(sorted(self.faults.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self.started_at = time.time()
            for counter in (self.by_kind, self.by_endpoint, self.by_status, self.faults):
                counter.clear()


#: Screen variants the sandbox can serve, to show the product meeting a console that differs from the model:
#: harmless ones (the product must not mind) and breaking ones (it must fail, naming the screen).
SCREEN_VARIANTS = {
    "reordered": "champs et colonnes dans un autre ordre",
    "extra-field": "un champ et une colonne de plus",
    "skin": "un autre habillage (classes CSS, enveloppes)",
    "renamed-label": "un libellé renommé (« Type de SSO », « Définir une délégation CAS »…)",
    "renamed-option": "un choix de liste écrit autrement (« SSO Pronote avec CAS », « CAS »)",
}
#: the scope of variants that apply to every ENT project
ALL_PROJECTS = "*"


class Variants:
    """Which screen variants are served, per ENT project (slug) or for all (``*``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_scope: dict[str, frozenset[str]] = {}

    def snapshot(self) -> dict[str, list[str]]:
        with self._lock:
            return {scope: sorted(names) for scope, names in sorted(self._by_scope.items()) if names}

    def update(self, values: dict[str, Any]) -> dict[str, list[str]]:
        """``{"project": slug or "*", "variants": [...]}`` sets that scope; ``{"reset": true}`` clears all."""
        values = dict(values)
        reset = bool(values.pop("reset", False))
        scope = values.pop("project", None)
        names = values.pop("variants", None)
        if values:
            raise ValueError(f"unknown variants setting {sorted(values)[0]!r}")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError("variants must be a list of names")
            unknown = sorted(set(names) - set(SCREEN_VARIANTS))
            if unknown:
                raise ValueError(f"unknown variant {unknown[0]!r}: one of {', '.join(SCREEN_VARIANTS)}")
            if not isinstance(scope, str) or not scope:
                raise ValueError("project must be a project slug or '*'")
        with self._lock:
            if reset:
                self._by_scope = {}
            if names is not None:
                self._by_scope[scope] = frozenset(names)
        return self.snapshot()

    def active(self, slug: str | None) -> frozenset[str]:
        """The variants served to the project ``slug`` (those of every project included)."""
        with self._lock:
            return self._by_scope.get(ALL_PROJECTS, frozenset()) | self._by_scope.get(slug or "", frozenset())


@dataclass
class Runtime:
    """Everything a request may need besides the database."""

    clock: Clock = field(default_factory=Clock)
    settings: Settings = field(default_factory=Settings)
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    variants: Variants = field(default_factory=Variants)
