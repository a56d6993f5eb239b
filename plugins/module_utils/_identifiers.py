"""The PRONOTE identifiers file ("Exportation des identifiants PRONOTE"): reading it safely. Pure, no network.

The format is ``docs/schemas/identifiants-pronote.xsd`` and the contract is
``docs/import-screens.md``. :func:`read_identifiers` returns the whole file or
raises :class:`IdentifiersFileError`, whose message names the problem and its
line: nothing is ever returned partially.

Beyond the schema, readers accept (as the schema's comment asks): elements in
any XML namespace or none, an encoding declared as UTF-8, ISO-8859-1 or
windows-1252 (US-ASCII too, a subset of all three), a UTF-8 byte order mark,
CRLF line ends, dates ``yyyy-mm-dd`` or ``dd/mm/yyyy`` and booleans
``true``/``false``/``1``/``0``. Choices where the schema says nothing:

- an optional attribute present but empty (``DateNaissance=""``) is read as
  absent; attributes the schema does not know are ignored (``xsi:*``, a newer
  PRONOTE's additions); unknown *elements* are refused;
- names are kept exactly as written (the ENT compares them almost exactly);
- a responsable's ``Enfant`` may name a pupil absent from the file (files
  made with "Uniquement les utilisateurs sans identifiants CAS" are partial)
  but not an identifier of the file that is not a pupil's.

Safety: the size is checked before anything is parsed; a ``DOCTYPE`` or an
entity declaration is refused before the XML parser sees the text (no
external entity, no entity expansion bomb); lxml runs with entity
resolution, DTD loading and network access off and its default depth and
size limits.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Union

from ansible_collections.ent.pronote.plugins.module_utils._requirements import etree

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
ROOT = "IdentifiantsPRONOTE"
IDENT_PATTERN = re.compile(r"[A-Z0-9]{16}")
UAI_PATTERN = re.compile(r"[0-9]{7}[A-Z]")

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


class IdentifiersFileError(ValidationError):
    """The identifiers file cannot be used: the message says why and on which line."""

    def __init__(self, cause: str, line: int | None = None, filename: str | None = None) -> None:
        where = f" {filename}" if filename else ""
        at = f"line {line}: " if line is not None else ""
        super().__init__(f"Not a valid PRONOTE identifiers file{where} ({at}{cause})", [cause])
        self.cause = cause
        self.line = line
        self.filename = filename


# --- the six categories, in the order of the import's steps ------------------------

@dataclass(frozen=True)
class Category:
    """One step of the import: the file's container and element, the screen's title, the ENT profile."""

    step: int
    key: str
    title: str
    container: str
    element: str
    profile: str


CATEGORIES: tuple[Category, ...] = (
    Category(1, "enseignants", "Enseignants", "Professeurs", "Professeur", "Enseignant"),
    Category(2, "eleves", "Élèves", "Eleves", "Eleve", "Elève"),
    Category(3, "responsables", "Responsables", "Responsables", "Responsable", "Parent"),
    Category(4, "maitres_de_stage", "Maîtres de stage", "MaitresDeStage", "MaitreDeStage", "Maître de stage"),
    Category(5, "inspecteurs", "Inspecteurs pédagogiques", "InspecteursPedagogiques", "InspecteurPedagogique",
             "Inspecteur"),
    Category(6, "personnels", "Personnels", "Personnels", "Personnel", "Personnel"),
)
CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in CATEGORIES)
BY_KEY: dict[str, Category] = {c.key: c for c in CATEGORIES}
BY_STEP: dict[int, Category] = {c.step: c for c in CATEGORIES}
BY_CONTAINER: dict[str, Category] = {c.container: c for c in CATEGORIES}
BY_ELEMENT: dict[str, Category] = {c.element: c for c in CATEGORIES}
BY_PROFILE: dict[str, Category] = {c.profile: c for c in CATEGORIES}
PUPILS, RESPONSABLES = "eleves", "responsables"


def category(key: str) -> Category:
    """The category of a key (``eleves``...); KeyError names the known keys."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown category {key!r}: expected one of {', '.join(CATEGORY_KEYS)}") from None


# --- what the file holds ----------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """One PRONOTE account of the file. ``line`` is where its element starts."""

    ident: str
    category: str
    nom: str
    prenom: str
    birth_date: dt.date | None = None
    postal_code: str | None = None
    cas_login: str | None = None
    classe: str | None = None
    left_on: dt.date | None = None
    parent_access: bool | None = None
    children: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class IdentifiersFile:
    """The whole file: its header and its people, in file order."""

    uai: str
    version: str
    exported_at: dt.datetime
    software: str | None
    school_name: str | None
    only_without_cas: bool
    people: tuple[Person, ...]

    def by_category(self, key: str) -> tuple[Person, ...]:
        """The people of one category (``eleves``...), in file order."""
        category(key)
        return tuple(p for p in self.people if p.category == key)

    def counts(self) -> dict[str, int]:
        """Number of people per category key, every category present (0 included)."""
        out = dict.fromkeys(CATEGORY_KEYS, 0)
        for person in self.people:
            out[person.category] += 1
        return out

    @cached_property
    def _index(self) -> dict[str, Person]:
        return {p.ident: p for p in self.people}

    def person(self, ident: str) -> Person | None:
        """The person holding an identifier, or None."""
        return self._index.get(ident)

    def __len__(self) -> int:
        return len(self.people)


# --- reading ------------------------------------------------------------------------

class _Problem(Exception):
    """Internal: a cause and its line, turned into IdentifiersFileError with the file name."""

    def __init__(self, cause: str, line: int | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.line = line


def read_identifiers(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES,
                     filename: str | None = None) -> IdentifiersFile:
    """Read and check a whole identifiers file.

    ``source`` is the file's content (``bytes``) or its path (``str`` or
    ``os.PathLike``: a ``str`` is always a path, never XML text). A file over
    ``max_bytes`` is refused before it is parsed. ``filename`` names bytes
    read elsewhere (:func:`read_bounded`) in the messages.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise IdentifiersFileError(f"the file is {len(data)} bytes, more than the {max_bytes} allowed",
                                       filename=filename)
    else:
        filename = os.fspath(source)
        data = read_bounded(filename, max_bytes)
    try:
        return _parse(data)
    except _Problem as problem:
        raise IdentifiersFileError(problem.cause, problem.line, filename) from None


def read_bounded(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the file at ``path``, refused when over ``max_bytes``."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise IdentifiersFileError(f"the file is {size} bytes, more than the {max_bytes} allowed",
                                           filename=path)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IdentifiersFileError(f"cannot read it: {exc.strerror or exc}", filename=path) from None
    if len(data) > max_bytes:  # grew while being read
        raise IdentifiersFileError(f"the file is more than the {max_bytes} bytes allowed", filename=path)
    return data


# encoding name (lower case, as declared) -> Python codec
_ENCODINGS = {
    "utf-8": "utf-8", "utf8": "utf-8",
    "iso-8859-1": "latin-1", "iso8859-1": "latin-1", "iso_8859-1": "latin-1", "latin-1": "latin-1",
    "latin1": "latin-1", "l1": "latin-1",
    "windows-1252": "cp1252", "cp1252": "cp1252", "cp-1252": "cp1252",
    "us-ascii": "ascii", "ascii": "ascii",
}
_XML_DECL = re.compile(
    rb"<\?xml\s+version\s*=\s*(['\"])1\.[0-9]+\1"
    rb"(?:\s+encoding\s*=\s*(['\"])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    rb"(?:\s+standalone\s*=\s*(['\"])(?:yes|no)\4)?\s*\?>")
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_LIBXML_WHERE = re.compile(r",\s*line [0-9]+, column [0-9]+\s*$")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _decode(data: bytes) -> str:
    """The text of the file, its XML declaration replaced by its own line ends (line numbers kept)."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    if not data.strip():
        raise _Problem("the file is empty", 1)
    if data.startswith(_UTF16_32_BOMS) or b"\x00" in data[:4]:
        raise _Problem("the file is UTF-16 or UTF-32; only UTF-8, ISO-8859-1 and windows-1252 are read", 1)
    codec, declared = "utf-8", None
    if data.startswith(b"<?xml") and data[5:6].isspace():
        match = _XML_DECL.match(data)
        if not match:
            raise _Problem("malformed XML declaration (<?xml ... ?>)", 1)
        declaration = match.group(0)
        if match.group(3) is not None:
            declared = match.group(3).decode("ascii")
            if declared.lower() not in _ENCODINGS:
                raise _Problem(f"encoding {declared} is not supported (UTF-8, ISO-8859-1 or windows-1252)", 1)
            codec = _ENCODINGS[declared.lower()]
            if bom and codec != "utf-8":
                raise _Problem(f"the file starts with a UTF-8 byte order mark but declares {declared}", 1)
        data = b"\n" * declaration.count(b"\n") + data[len(declaration):]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if exc.reason == "unexpected end of data":
            raise _Problem("the file ends in the middle of a character: it is truncated", line) from None
        shown = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1", "cp1252": "windows-1252", "ascii": "US-ASCII"}[codec]
        raise _Problem(f"byte 0x{data[exc.start]:02X} is not valid {shown}"
                       f"{'' if declared else ' (no encoding declared: UTF-8 assumed)'}", line) from None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def _parse(data: bytes) -> IdentifiersFile:
    text = _decode(data)
    dtd = _DTD.search(text)
    if dtd:
        raise _Problem(f"<!{dtd.group(1).upper()} ...> is not allowed: the file must not declare a document type "
                       "or entities", text.count("\n", 0, dtd.start()) + 1)
    try:
        root = etree.fromstring(text, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        message = _LIBXML_WHERE.sub("", exc.msg or str(exc)).strip()
        raise _Problem(f"not well-formed XML: {message}", line) from None
    except ValueError as exc:  # e.g. an XML declaration that is not at the very start
        raise _Problem(f"not well-formed XML: {exc}", 1) from None
    if root.getroottree().docinfo.doctype:  # pragma: no cover - refused above already
        raise _Problem("a document type declaration is not allowed", 1)
    return _Reader(_element_lines(text, root)).read(root)


_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(?=[^/!?])", re.S)


def _element_lines(text: str, root) -> dict:
    """Element -> the line of its start tag.

    libxml2 keeps exact lines for elements only up to 65535; past that lxml's
    ``sourceline`` may be one off. The start tags of a parsed document, found
    in document order outside comments, CDATA and processing instructions,
    are its elements in ``iter()`` order.
    """
    elements = list(root.iter())
    lines = {}
    line, last = 1, 0
    starts = (m.start() for m in _MARKUP.finditer(text) if m.group(0) == "<")
    for element, start in zip(elements, starts):
        line += text.count("\n", last, start)
        last = start
        lines[element] = line
    if len(lines) != len(elements):  # pragma: no cover - cannot happen in a well-formed document
        return {element: element.sourceline for element in elements}
    return lines


def _local(element) -> str:
    return etree.QName(element).localname


class _Reader:
    """One pass over the tree; every check raises _Problem with a line."""

    def __init__(self, lines: dict) -> None:
        self.lines = lines
        self.seen: dict[str, tuple[int | None, str]] = {}  # ident -> (line, category key)
        self.enfants: list[tuple[str, str, int | None]] = []  # (responsable ident, child ident, line)

    def read(self, root) -> IdentifiersFile:
        if _local(root) != ROOT:
            raise _Problem(f"the root element is <{_local(root)}>, expected <{ROOT}>", self.line(root))
        self.no_text(root)
        uai = self.required(root, "UAI")
        if not UAI_PATTERN.fullmatch(uai):
            raise _Problem(f"UAI '{uai}' is not a UAI (7 digits and a capital letter, e.g. 0671234C)",
                           self.line(root))
        try:
            normalise_uai(uai)
        except ValueError as exc:
            raise _Problem(str(exc), self.line(root)) from None
        version = self.required(root, "Version")
        exported_at = _datetime(self.required(root, "DateExport"), "DateExport", self.line(root))
        only = _boolean(root.get("UniquementSansIdentifiantCAS"), "UniquementSansIdentifiantCAS", self.line(root))
        people: list[Person] = []
        order = [c.container for c in CATEGORIES]
        last = -1
        first_line: dict[str, int | None] = {}
        for container in root:
            name = _local(container)
            cat = BY_CONTAINER.get(name)
            if cat is None:
                raise _Problem(f"unknown element <{name}> where a category is expected "
                               f"({', '.join(order)})", self.line(container))
            position = order.index(name)
            if name in first_line:
                raise _Problem(f"<{name}> appears twice (first on line {first_line[name]})", self.line(container))
            if position < last:
                raise _Problem(f"<{name}> comes after <{order[last]}>: the categories must be in the order "
                               f"{', '.join(order)}", self.line(container))
            first_line[name], last = self.line(container), position
            self.no_text(container)
            for element in container:
                people.append(self.person(element, cat))
        self.check_children()
        return IdentifiersFile(
            uai=uai, version=version, exported_at=exported_at, software=_optional(root.get("Logiciel")),
            school_name=_optional(root.get("NomEtablissement")), only_without_cas=bool(only),
            people=tuple(people))

    def required(self, element, attribute: str) -> str:
        value = element.get(attribute)
        if value is None:
            raise _Problem(f"<{_local(element)}> has no attribute {attribute}", self.line(element))
        return value

    def identifier(self, element, attribute: str = "Identifiant") -> str:
        value = self.required(element, attribute)
        if not IDENT_PATTERN.fullmatch(value):
            raise _Problem(f"{attribute} '{value}' of <{_local(element)}> is not 16 characters of A-Z and 0-9",
                           self.line(element))
        return value

    def person(self, element, cat: Category) -> Person:
        name, line = _local(element), self.line(element)
        if name != cat.element:
            raise _Problem(f"unknown element <{name}> inside <{cat.container}>: expected <{cat.element}>", line)
        ident = self.identifier(element)
        if ident in self.seen:
            other_line, other_key = self.seen[ident]
            raise _Problem(f"Identifiant {ident} is given to two people: the {BY_KEY[other_key].element} on line "
                           f"{other_line} and the {cat.element} on line {line}", line)
        self.seen[ident] = (line, cat.key)
        nom = self.required(element, "Nom")
        prenom = self.required(element, "Prenom")
        birth = _date(element.get("DateNaissance"), "DateNaissance", line)
        fields = dict(ident=ident, category=cat.key, nom=nom, prenom=prenom, birth_date=birth,
                      postal_code=_optional(element.get("CodePostal")),
                      cas_login=_optional(element.get("IdentifiantCAS")), line=line or 0)
        if cat.key == PUPILS:
            fields["classe"] = _optional(element.get("Classe"))
            fields["left_on"] = _date(element.get("DateSortie"), "DateSortie", line)
        children: list[str] = []
        self.no_text(element)
        for child in element:
            child_name = _local(child)
            if cat.key != RESPONSABLES or child_name != "Enfant":
                expected = "only <Enfant>" if cat.key == RESPONSABLES else "nothing"
                raise _Problem(f"unexpected element <{child_name}> inside <{name}> ({expected} may appear there)",
                               self.line(child))
            self.no_text(child)
            if len(child):
                raise _Problem(f"unexpected element <{_local(child[0])}> inside <Enfant>", self.line(child[0]))
            child_ident = self.identifier(child)
            self.enfants.append((ident, child_ident, self.line(child)))
            if child_ident not in children:
                children.append(child_ident)
        if cat.key == RESPONSABLES:
            access = _boolean(element.get("AccesEspaceParents"), "AccesEspaceParents", line)
            fields["parent_access"] = True if access is None else access
            fields["children"] = tuple(children)
        return Person(**fields)

    def line(self, element) -> int | None:
        return self.lines.get(element, element.sourceline)

    def no_text(self, element) -> None:
        """Person and container elements hold no text (whitespace aside)."""
        if element.text and element.text.strip():
            raise _Problem(f"unexpected text {_short(element.text)} inside <{_local(element)}>",
                           self.text_line(element, element.text))
        for child in element:
            if child.tail and child.tail.strip():
                raise _Problem(f"unexpected text {_short(child.tail)} after <{_local(child)}>",
                               self.text_line(child, child.tail))

    def text_line(self, element, text: str) -> int | None:
        """The line where stray text starts (exact when the element before it is on one line)."""
        line = self.line(element)
        if line is None:
            return None
        return line + text[:len(text) - len(text.lstrip())].count("\n")

    def check_children(self) -> None:
        for parent, child, line in self.enfants:
            if child in self.seen and self.seen[child][1] != PUPILS:
                other_line, other_key = self.seen[child]
                what = "this Responsable itself" if child == parent else \
                    f"the {BY_KEY[other_key].element} on line {other_line}"
                raise _Problem(f"Enfant {child} is {what}, not an Eleve", line)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _optional(value: str | None) -> str | None:
    """An optional attribute: absent or blank is None."""
    if value is None or not value.strip():
        return None
    return value


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FR_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)?")
_FR_DATETIME = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")


def _date(value: str | None, attribute: str, line: int | None) -> dt.date | None:
    """``yyyy-mm-dd`` or ``dd/mm/yyyy``; absent or blank is None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if match := _ISO_DATE.fullmatch(text):
            year, month, day = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        if match := _FR_DATE.fullmatch(text):
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        pass
    raise _Problem(f"{attribute} '{value}' is not a date (yyyy-mm-dd or dd/mm/yyyy)", line)


def _datetime(value: str, attribute: str, line: int | None) -> dt.datetime:
    """xs:dateTime (``2025-09-01T10:15:00``, optional seconds, fraction and zone), or ``dd/mm/yyyy[ hh:mm[:ss]]``.

    A date alone (either form) is read as midnight.
    """
    text = value.strip()
    try:
        if match := _ISO_DATETIME.fullmatch(text):
            year, month, day, hour, minute = (int(g or 0) for g in match.groups()[:5])
            second = int(match.group(6) or 0)
            micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
            zone = match.group(8)
            tz = None
            if zone == "Z":
                tz = dt.timezone.utc
            elif zone:
                sign = 1 if zone[0] == "+" else -1
                tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
            return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        if match := _FR_DATETIME.fullmatch(text):
            day, month, year = (int(g) for g in match.groups()[:3])
            hour, minute, second = (int(g or 0) for g in match.groups()[3:])
            return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        pass
    raise _Problem(f"{attribute} '{value}' is not a date and time (e.g. 2025-09-01T10:15:00)", line)


def _boolean(value: str | None, attribute: str, line: int | None) -> bool | None:
    """xs:boolean: true, false, 1, 0 (any case, surrounding spaces ignored); absent or blank is None."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _Problem(f"{attribute} '{value}' is not a boolean (true, false, 1 or 0)", line)
