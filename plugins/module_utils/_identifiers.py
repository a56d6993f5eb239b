"""The PRONOTE identifiers file ("Exportation des identifiants PRONOTE"): reading it safely. Pure, no network.

The format is ``docs/schemas/identifiants-pronote.xsd`` and the contract is
``docs/import-screens.md``. :func:`read_identifiers` returns the whole file or
raises :class:`IdentifiersFileError`, whose message (French: the run's
summary and report show it) names the problem and its line: nothing is ever
returned partially.

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

Safety: a path that is not a regular file (a named pipe, a device, a
directory) is refused without being read; the size is checked from the
file's size before anything is read; the text is decoded, scanned and parsed
as a stream (lxml's pull parser, fed :data:`CHUNK` bytes at a time, each
person's elements freed once read), so that memory stays around the file's
bytes plus the people read; a ``DOCTYPE`` or an entity declaration is
refused before the XML parser sees it (no external entity, no entity
expansion bomb); an attribute longer than :data:`MAX_ATTRIBUTE` characters is
refused; lxml runs with entity resolution, DTD loading and network access
off and its default depth and size limits, whose errors are reported in
plain French ("attribut trop long ligne N"), never as libxml's advice.
"""
from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import stat
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Union

from ansible_collections.ent.pronote.plugins.module_utils._requirements import etree

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._service import normalise_uai

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
#: an attribute longer than this is refused (the longest real value, a name, is far shorter)
MAX_ATTRIBUTE = 1000
#: the file is decoded, scanned and parsed this many bytes at a time
CHUNK = 1 << 20
ROOT = "IdentifiantsPRONOTE"
IDENT_PATTERN = re.compile(r"[A-Z0-9]{16}")
UAI_PATTERN = re.compile(r"[0-9]{7}[A-Z]")

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


class IdentifiersFileError(ValidationError):
    """The identifiers file cannot be used: the message says why and on which line.

    The message is French (people read it: the run's summary and report);
    ``names_line``: the cause names its line itself ("attribut trop long
    ligne N").
    """

    def __init__(self, cause: str, line: int | None = None, filename: str | None = None, *,
                 names_line: bool = False) -> None:
        where = f" {filename}" if filename else ""
        if names_line or line is None:
            message = f"Fichier d'identifiants PRONOTE refusé{where} : {cause}."
        else:
            message = f"Fichier d'identifiants PRONOTE refusé{where} (ligne {line} : {cause})"
        super().__init__(message, [cause])
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

@dataclass(frozen=True, slots=True)
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

    def __init__(self, cause: str, line: int | None = None, *, names_line: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.line = line
        self.names_line = names_line


def read_identifiers(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES,
                     filename: str | None = None) -> IdentifiersFile:
    """Read and check a whole identifiers file.

    ``source`` is the file's content (``bytes``) or its path (``str`` or
    ``os.PathLike``: a ``str`` is always a path, never XML text). A file over
    ``max_bytes`` is refused before it is parsed. ``filename`` names bytes
    read elsewhere (:func:`read_bounded`) in the messages.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = source if isinstance(source, bytes) else bytes(source)
        if len(data) > max_bytes:
            raise _too_big(len(data), max_bytes, filename)
    else:
        filename = os.fspath(source)
        data = read_bounded(filename, max_bytes)
    try:
        return _parse(data)
    except _Problem as problem:
        raise IdentifiersFileError(problem.cause, problem.line, filename, names_line=problem.names_line) from None


def _too_big(size: int, max_bytes: int, filename: str | None) -> IdentifiersFileError:
    return IdentifiersFileError(f"le fichier fait {size} octets, plus que les {max_bytes} permis (max_file_size)",
                                filename=filename)


_KINDS = ((stat.S_ISFIFO, "un tube nommé"), (stat.S_ISDIR, "un répertoire"), (stat.S_ISCHR, "un périphérique"),
          (stat.S_ISBLK, "un périphérique"), (stat.S_ISSOCK, "une socket"))


def read_bounded(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the file at ``path``, refused when over ``max_bytes`` or not a regular file.

    The file is opened without blocking (a named pipe with no writer would
    block an ordinary open forever) and its kind and size are checked from
    the open descriptor before a byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise IdentifiersFileError(f"illisible : {exc.strerror or exc}", filename=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "pas un fichier ordinaire")
            raise IdentifiersFileError(f"{path} est {kind}, pas un fichier ordinaire", filename=path)
        if info.st_size > max_bytes:
            raise _too_big(info.st_size, max_bytes, path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IdentifiersFileError(f"illisible : {exc.strerror or exc}", filename=path) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while being read
        raise IdentifiersFileError(f"le fichier fait plus que les {max_bytes} octets permis (max_file_size)",
                                   filename=path)
    return data


# encoding name (lower case, as declared) -> Python codec
_ENCODINGS = {
    "utf-8": "utf-8", "utf8": "utf-8",
    "iso-8859-1": "latin-1", "iso8859-1": "latin-1", "iso_8859-1": "latin-1", "latin-1": "latin-1",
    "latin1": "latin-1", "l1": "latin-1",
    "windows-1252": "cp1252", "cp1252": "cp1252", "cp-1252": "cp1252",
    "us-ascii": "ascii", "ascii": "ascii",
}
_SHOWN = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1", "cp1252": "windows-1252", "ascii": "US-ASCII"}
_XML_DECL = re.compile(
    rb"<\?xml\s+version\s*=\s*(['\"])1\.[0-9]+\1"
    rb"(?:\s+encoding\s*=\s*(['\"])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    rb"(?:\s+standalone\s*=\s*(['\"])(?:yes|no)\4)?\s*\?>")
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_LIBXML_WHERE = re.compile(r",\s*line [0-9]+, column [0-9]+\s*$")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_BLANK = re.compile(rb"\s*")


def _decoded(data: bytes):
    """The text of the file, :data:`CHUNK` bytes at a time; its XML declaration replaced by its own line ends
    (line numbers kept). Refuses an encoding it does not read and a byte that is not of the encoding, by line."""
    view = memoryview(data)
    bom = data.startswith(b"\xef\xbb\xbf")
    start = 3 if bom else 0
    if _BLANK.match(data, start).end() == len(data):
        raise _Problem("le fichier est vide", 1)
    if data.startswith(_UTF16_32_BOMS) or b"\x00" in data[:4]:
        raise _Problem("le fichier est en UTF-16 ou UTF-32 ; seuls UTF-8, ISO-8859-1 et windows-1252 sont lus", 1)
    codec, declared, prefix = "utf-8", None, ""
    if data.startswith(b"<?xml", start) and data[start + 5:start + 6].isspace():
        match = _XML_DECL.match(data, start)
        if not match:
            raise _Problem("déclaration XML mal formée (<?xml ... ?>)", 1)
        declaration = match.group(0)
        if match.group(3) is not None:
            declared = match.group(3).decode("ascii")
            if declared.lower() not in _ENCODINGS:
                raise _Problem(f"l'encodage {declared} n'est pas pris en charge (UTF-8, ISO-8859-1 ou windows-1252)", 1)
            codec = _ENCODINGS[declared.lower()]
            if bom and codec != "utf-8":
                raise _Problem(f"le fichier commence par une marque d'ordre des octets UTF-8 mais déclare {declared}", 1)
        prefix = "\n" * declaration.count(b"\n")
        start = match.end()
    decoder = codecs.getincrementaldecoder(codec)()
    lines = prefix.count("\n")  # line ends before the bytes being decoded
    for offset in range(start, len(data), CHUNK):
        piece = view[offset:offset + CHUNK]
        try:
            text = decoder.decode(piece)
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, lines, codec, declared) from None
        lines += data.count(b"\n", offset, offset + len(piece))
        yield prefix + text
        prefix = ""
    try:
        text = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, lines, codec, declared) from None
    if prefix or text:
        yield prefix + text


def _undecodable(exc: UnicodeDecodeError, lines: int, codec: str, declared: str | None) -> _Problem:
    # exc.object: the bytes given plus the few the decoder kept (the start of a character, never a line end)
    line = lines + bytes(exc.object[:exc.start]).count(b"\n") + 1
    if exc.reason == "unexpected end of data":
        return _Problem("le fichier s'arrête au milieu d'un caractère : il est tronqué", line)
    return _Problem(f"l'octet 0x{exc.object[exc.start]:02X} n'est pas du {_SHOWN[codec]} valide"
                    f"{'' if declared else ' (aucun encodage déclaré : UTF-8 supposé)'}", line)


class _Scanner:
    """The line of every start tag, in document order, from the text as it is decoded; refuses declarations.

    The pull parser's ``sourceline`` is wrong past line 65535; the start
    tags of a well-formed document, found in order outside comments, CDATA
    sections and processing instructions, are its elements in the order of
    their ``start`` events. A ``<!DOCTYPE``, ``<!ENTITY``... is refused here,
    before the parser is given the text that holds it.
    """

    _ENDS = (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"))

    def __init__(self) -> None:
        self.lines: deque[int] = deque()
        self.carry = ""    # text not scanned yet: an unfinished construct
        self.line = 1      # the line where ``carry`` starts
        self.resume = 0    # where in ``carry`` to look for the end of the construct
        self.taken: int | None = None  # the line of the latest element started

    def feed(self, chunk: str, final: bool = False) -> str:
        """Scan ``chunk``; the text scanned (what the parser may be given now: everything but an unfinished
        construct, kept for the next chunk)."""
        text = self.carry + chunk
        line, last, pos, stop, resume = self.line, 0, 0, len(text), 0
        while True:
            i = text.find("<", pos)
            if i < 0:
                break
            if not final and (i + 1 >= len(text) or (text[i + 1] == "!" and len(text) - i < 64)):
                stop = i  # decided with the next chunk
                break
            line += text.count("\n", last, i)
            last = i
            closing = next(((opening, end) for opening, end in self._ENDS if text.startswith(opening, i)), None)
            if closing is not None:
                opening, end = closing
                j = text.find(end, max(i + len(opening), self.resume if i == 0 else 0))
                if j < 0:
                    if not final:
                        stop, resume = i, max(len(opening), len(text) - i - len(end) + 1)
                    break  # final: unterminated, the parser refuses it
                pos = j + len(end)
                continue
            following = text[i + 1:i + 2]
            if following == "!":
                dtd = _DTD.match(text, i)
                if dtd:
                    raise _Problem(f"<!{dtd.group(1).upper()} ...> interdit : le fichier ne doit déclarer ni type de "
                                   "document ni entités", line)
            elif following and following != "/":
                self.lines.append(line)
            pos = i + 1
        self.line = line + text.count("\n", last, stop)
        self.carry = text[stop:]
        self.resume = resume
        return text[:stop]

    def take(self) -> int | None:
        """The line of the next start tag (the parser has just started its element)."""
        self.taken = self.lines.popleft() if self.lines else None
        return self.taken


def _parser() -> etree.XMLPullParser:
    # resolve_entities="internal": never an external entity; and since no DTD ever reaches the parser, only
    # the five predefined entities exist. (With False, libxml's push parser drops an undefined entity's error
    # and later reports a line-less "no element found".)
    return etree.XMLPullParser(events=("start", "end"), resolve_entities="internal", no_network=True,
                               huge_tree=False,
                               load_dtd=False, dtd_validation=False, remove_comments=True, remove_pis=True)


#: libxml's resource limits (its message mentions XML_PARSE_HUGE) -> what a person reads
_LIMITS = (
    ("Buffer size limit", "attribut trop long"),
    ("AttValue length too long", "attribut trop long"),
    ("Text node too long", "texte trop long"),
    ("huge text node", "texte trop long"),
    ("Excessive depth", "éléments imbriqués trop profondément"),
    ("Name too long", "nom d'élément ou d'attribut trop long"),
)


def _syntax_problem(exc: etree.XMLSyntaxError, scanner: _Scanner) -> _Problem:
    # libxml gives no line for a document that ends too early ("no element found"): the line where the text
    # read so far ends is where it fell short
    line = exc.lineno if exc.lineno and exc.lineno > 0 else scanner.line
    message = _LIBXML_WHERE.sub("", exc.msg or str(exc)).strip()
    limit = next((french for needle, french in _LIMITS if needle.lower() in message.lower()), None)
    if limit is None and ("XML_PARSE_HUGE" in message or "Resource limit" in message):
        limit = "le fichier dépasse une limite de lecture (valeur, texte ou imbrication trop grands)"
    if limit is None:
        return _Problem(f"XML mal formé : {message}", line)
    # libxml's line is where it stopped reading ahead; the scanner knows the tag being read (an attribute)
    # or the last one read (a text)
    if limit.startswith("attribut") and scanner.lines:
        line = scanner.lines[0]
    elif scanner.taken is not None:
        line = scanner.taken
    return _Problem(f"{limit} ligne {line}" if line else limit, line, names_line=True)


def _parse(data: bytes) -> IdentifiersFile:
    scanner, parser = _Scanner(), _parser()
    reader = _Reader(scanner)
    chunks = _decoded(data)
    done = False
    while not done:
        chunk = next(chunks, None)
        done = chunk is None
        scanned = scanner.feed(chunk or "", final=done)
        try:
            if scanned:
                parser.feed(scanned.encode("utf-8"))
            if done:
                parser.close()
        except etree.XMLSyntaxError as exc:
            raise _syntax_problem(exc, scanner) from None
        for event, element in parser.read_events():
            reader.event(event, element)
    if reader.result is None:  # pragma: no cover - close() refuses a document without its root's end
        raise _Problem("XML mal formé : le document n'a pas d'élément racine", 1)
    return reader.result


def _local(element) -> str:
    return etree.QName(element).localname


class _Reader:
    """The parser's events, checked as they come; every check raises _Problem with a line.

    A person's elements are dropped once the person is read, so the tree
    never holds more than one person and the text around it.
    """

    def __init__(self, scanner: _Scanner) -> None:
        self.scanner = scanner
        self.lines: dict = {}
        self.depth = 0
        self.seen: dict[str, Person] = {}  # ident -> the person read with it
        self.pending: list[tuple[str, str, int | None]] = []  # (responsable, Enfant not read yet, line)
        self.people: list[Person] = []
        self.dates: dict[str, dt.date | None] = {}
        self.header: dict = {}
        self.order = [c.container for c in CATEGORIES]
        self.last = -1
        self.first_line: dict[str, int | None] = {}
        self.container: Category | None = None
        self.strings: dict[str, str] = {}  # names, classes... shared between the people who have them
        self.result: IdentifiersFile | None = None

    def event(self, event: str, element) -> None:
        if event == "start":
            self.lines[element] = self.scanner.take()
            self.depth += 1
            self.start(element, self.depth)
        else:
            self.end(element, self.depth)
            self.depth -= 1

    def start(self, element, depth: int) -> None:
        for name, value in element.attrib.items():
            if len(value) > MAX_ATTRIBUTE:
                line = self.line(element)
                raise _Problem(f"attribut {etree.QName(name).localname} trop long ligne {line} ({len(value)} "
                               f"caractères, {MAX_ATTRIBUTE} au plus)", line, names_line=True)
        if depth == 1:
            self.root(element)
        elif depth == 2:
            self.start_container(element)
        elif depth == 3:
            cat = self.container
            if cat is None:  # a depth-2 start always comes first: the parser's bug, not bad input
                raise AssertionError("no container at depth 3")
            if _local(element) != cat.element:
                raise _Problem(f"élément <{_local(element)}> inconnu dans <{cat.container}> : <{cat.element}> "
                               "attendu", self.line(element))
        elif depth == 4:
            parent = element.getparent()
            if self.container is None or self.container.key != RESPONSABLES or _local(element) != "Enfant":
                expected = "seul <Enfant> peut" if self.container and self.container.key == RESPONSABLES \
                    else "rien ne peut"
                raise _Problem(f"élément <{_local(element)}> inattendu dans <{_local(parent)}> ({expected} y "
                               "figurer)", self.line(element))
        else:
            raise _Problem(f"élément <{_local(element)}> inattendu dans <Enfant>", self.line(element))

    def end(self, element, depth: int) -> None:
        if depth == 3:
            if self.container is None:  # the parser's bug, not bad input
                raise AssertionError("no container at depth 3")
            previous = element.getprevious()
            parent = element.getparent()
            if previous is None:
                if parent.text and parent.text.strip():
                    raise _Problem(f"texte {_short(parent.text)} inattendu dans <{_local(parent)}>",
                                   self.text_line(parent, parent.text))
            elif previous.tail and previous.tail.strip():
                raise _Problem(f"texte {_short(previous.tail)} inattendu après <{_local(previous)}>",
                               self.text_line(previous, previous.tail))
            self.people.append(self.person(element, self.container))
            while element.getprevious() is not None:
                self.lines.pop(parent[0], None)
                del parent[0]
            for child in element:
                self.lines.pop(child, None)
            element.clear(keep_tail=True)
        elif depth == 2:
            self.no_text(element)
            for child in element:
                self.lines.pop(child, None)
            element.clear(keep_tail=True)
            self.container = None
        elif depth == 1:
            self.no_text(element)
            self.check_children()
            self.result = IdentifiersFile(people=tuple(self.people), **self.header)
            self.result.__dict__["_index"] = self.seen  # the cached index, built already

    def root(self, root) -> None:
        if _local(root) != ROOT:
            raise _Problem(f"l'élément racine est <{_local(root)}>, <{ROOT}> attendu", self.line(root))
        uai = self.required(root, "UAI")
        if not UAI_PATTERN.fullmatch(uai):
            raise _Problem(f"UAI '{uai}' n'est pas un UAI (7 chiffres et une majuscule, par exemple 0671234C)",
                           self.line(root))
        try:
            normalise_uai(uai)
        except ValueError as exc:
            raise _Problem(str(exc), self.line(root)) from None
        version = self.required(root, "Version")
        exported_at = _datetime(self.required(root, "DateExport"), "DateExport", self.line(root))
        only = _boolean(root.get("UniquementSansIdentifiantCAS"), "UniquementSansIdentifiantCAS", self.line(root))
        self.header = dict(uai=uai, version=version, exported_at=exported_at, software=_optional(root.get("Logiciel")),
                           school_name=_optional(root.get("NomEtablissement")), only_without_cas=bool(only))

    def start_container(self, container) -> None:
        name, order = _local(container), self.order
        cat = BY_CONTAINER.get(name)
        if cat is None:
            raise _Problem(f"élément <{name}> inconnu là où une catégorie est attendue "
                           f"({', '.join(order)})", self.line(container))
        position = order.index(name)
        if name in self.first_line:
            raise _Problem(f"<{name}> figure deux fois (d'abord ligne {self.first_line[name]})", self.line(container))
        if position < self.last:
            raise _Problem(f"<{name}> vient après <{order[self.last]}> : les catégories doivent être dans l'ordre "
                           f"{', '.join(order)}", self.line(container))
        self.first_line[name], self.last = self.line(container), position
        self.container = cat

    def required(self, element, attribute: str) -> str:
        value = element.get(attribute)
        if value is None:
            raise _Problem(f"<{_local(element)}> n'a pas d'attribut {attribute}", self.line(element))
        return value

    def identifier(self, element, attribute: str = "Identifiant") -> str:
        value = self.required(element, attribute)
        if not IDENT_PATTERN.fullmatch(value):
            raise _Problem(f"{attribute} '{value}' de <{_local(element)}> n'est pas fait de 16 caractères A-Z et 0-9",
                           self.line(element))
        return value

    def shared(self, value: str | None) -> str | None:
        return None if value is None else self.strings.setdefault(value, value)

    def person(self, element, cat: Category) -> Person:
        name, line = _local(element), self.line(element)
        if name != cat.element:  # pragma: no cover - refused at its start already
            raise _Problem(f"élément <{name}> inconnu dans <{cat.container}> : <{cat.element}> attendu", line)
        ident = self.identifier(element)
        if ident in self.seen:
            other = self.seen[ident]
            raise _Problem(f"l'Identifiant {ident} est donné à deux personnes : le {BY_KEY[other.category].element} "
                           f"ligne {other.line or None} et le {cat.element} ligne {line}", line)
        nom = self.shared(self.required(element, "Nom"))
        prenom = self.shared(self.required(element, "Prenom"))
        birth = self.date(element.get("DateNaissance"), "DateNaissance", line)
        fields = dict(ident=ident, category=cat.key, nom=nom, prenom=prenom, birth_date=birth,
                      postal_code=self.shared(_optional(element.get("CodePostal"))),
                      cas_login=_optional(element.get("IdentifiantCAS")), line=line or 0)
        if cat.key == PUPILS:
            fields["classe"] = self.shared(_optional(element.get("Classe")))
            fields["left_on"] = self.date(element.get("DateSortie"), "DateSortie", line)
        children: list[str] = []
        self.no_text(element)
        for child in element:
            child_name = _local(child)
            if cat.key != RESPONSABLES or child_name != "Enfant":  # pragma: no cover - refused at its start
                expected = "seul <Enfant> peut" if cat.key == RESPONSABLES else "rien ne peut"
                raise _Problem(f"élément <{child_name}> inattendu dans <{name}> ({expected} y figurer)",
                               self.line(child))
            self.no_text(child)
            if len(child):  # pragma: no cover - refused at its start already
                raise _Problem(f"élément <{_local(child[0])}> inattendu dans <Enfant>", self.line(child[0]))
            child_ident = self.identifier(child)
            known = self.seen.get(child_ident)
            if known is not None:
                self.check_child(ident, known, self.line(child))
                child_ident = known.ident  # one string for the pupil and its parents' Enfant
            elif child_ident == ident:
                raise _Problem(f"l'Enfant {child_ident} est ce Responsable lui-même, pas un Eleve", self.line(child))
            else:
                self.pending.append((ident, child_ident, self.line(child)))
            if child_ident not in children:
                children.append(child_ident)
        if cat.key == RESPONSABLES:
            access = _boolean(element.get("AccesEspaceParents"), "AccesEspaceParents", line)
            fields["parent_access"] = True if access is None else access
            fields["children"] = tuple(children)
        person = Person(**fields)
        self.seen[ident] = person
        return person

    def date(self, value: str | None, attribute: str, line: int | None) -> dt.date | None:
        """:func:`_date`, one object per distinct value (birth dates repeat)."""
        if value is None:
            return None
        try:
            return self.dates[value]
        except KeyError:
            found = self.dates[value] = _date(value, attribute, line)
            return found

    def line(self, element) -> int | None:
        line = self.lines.get(element)
        return line if line is not None else element.sourceline

    def no_text(self, element) -> None:
        """Person and container elements hold no text (whitespace aside)."""
        if element.text and element.text.strip():
            raise _Problem(f"texte {_short(element.text)} inattendu dans <{_local(element)}>",
                           self.text_line(element, element.text))
        for child in element:
            if child.tail and child.tail.strip():
                raise _Problem(f"texte {_short(child.tail)} inattendu après <{_local(child)}>",
                               self.text_line(child, child.tail))

    def text_line(self, element, text: str) -> int | None:
        """The line where stray text starts (exact when the element before it is on one line)."""
        line = self.line(element)
        if line is None:
            return None
        return line + text[:len(text) - len(text.lstrip())].count("\n")

    def check_child(self, parent: str, child: Person, line: int | None) -> None:
        if child.category != PUPILS:
            what = "ce Responsable lui-même" if child.ident == parent else \
                f"le {BY_KEY[child.category].element} de la ligne {child.line or None}"
            raise _Problem(f"l'Enfant {child.ident} est {what}, pas un Eleve", line)

    def check_children(self) -> None:
        """The Enfant read before the person they name (a pupil after the responsables: refused by the order
        of the categories, but a Responsable may name a later one)."""
        for parent, child, line in self.pending:
            if child in self.seen:
                self.check_child(parent, self.seen[child], line)


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
    raise _Problem(f"{attribute} '{value}' n'est pas une date (aaaa-mm-jj ou jj/mm/aaaa)", line)


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
    raise _Problem(f"{attribute} '{value}' n'est pas une date et une heure (par exemple 2025-09-01T10:15:00)", line)


def _boolean(value: str | None, attribute: str, line: int | None) -> bool | None:
    """xs:boolean: true, false, 1, 0 (any case, surrounding spaces ignored); absent or blank is None."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _Problem(f"{attribute} '{value}' n'est pas un booléen (true, false, 1 ou 0)", line)
