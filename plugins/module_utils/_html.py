"""Reading server-rendered HTML forms the way a person sees them.

Controls are found by the text of their ``<label>``, never by their ``name``:
the labels are what the screens show and what documentation refers to, so
this is the knowledge that survives a change of markup. A form is read into
a :class:`Form` and submitted back with every field a browser would send.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml
from ansible_collections.ent.pronote.plugins.module_utils._requirements import requests

from ansible_collections.ent.pronote.plugins.module_utils._errors import ScreenMismatchError, UnexpectedPageError

_SPACES = re.compile(r"\s+")


def clean_text(text: str | None) -> str:
    """Collapse whitespace and strip."""
    return _SPACES.sub(" ", text or "").strip()


def label_key(text: str) -> str:
    """A label as compared: without the required-field star and the colon."""
    text = clean_text(text)
    text = re.sub(r"\s*[*:]+\s*$", "", text)
    text = re.sub(r"\s*\*\s*", " ", text)
    return clean_text(text).rstrip(" :")


def parse(html: str | bytes, url: str, encoding: str | None = None) -> lxml.html.HtmlElement:
    """Parse a page; form actions resolve against ``url`` (see :func:`read_form_element`).

    ``encoding`` is the charset the HTTP headers state, when they state one;
    otherwise the page's own ``<meta charset>`` decides.
    """
    if not html:
        raise UnexpectedPageError(f"Empty page at {url}.")
    parser = lxml.html.HTMLParser(encoding=encoding) if encoding and isinstance(html, bytes) else None
    # Links stay as written: forms resolve their action against ``url`` when
    # read (rewriting every link of a page of thousands of rows cost more
    # than parsing it).
    return lxml.html.document_fromstring(html, parser=parser, base_url=url)


def charset_of(response: requests.Response) -> str | None:
    """The charset an HTTP answer's headers state, if any."""
    _type, params = requests.utils._parse_content_type_header(response.headers.get("Content-Type", ""))
    return params.get("charset")


def parse_response(response: requests.Response) -> lxml.html.HtmlElement:
    """Parse the page of an HTTP answer, with the charset its headers state."""
    return parse(response.content, response.url, charset_of(response))


def text_of(element: lxml.html.HtmlElement | None) -> str:
    """The visible text of an element, whitespace collapsed."""
    if element is None:
        return ""
    # A cell without children (most cells of a big table) has all its text in .text.
    text = element.text if len(element) == 0 else element.text_content()
    return " ".join(text.split()) if text else ""


@dataclass
class Control:
    """One control of a form, as a browser holds it."""

    name: str
    kind: str  # text, hidden, checkbox, radio, select, select-multiple, textarea, file
    label: str = ""
    value: str = ""
    checked: bool = False
    #: select and radio: (value, text) pairs in page order
    options: list[tuple[str, str]] = field(default_factory=list)
    #: select: values currently selected; radio: the checked value
    selected: list[str] = field(default_factory=list)
    disabled: bool = False
    #: every label of the control (a checkbox may have a field label and its own)
    labels: list[str] = field(default_factory=list)

    def matches(self, label: str) -> bool:
        wanted = label_key(label).casefold()
        return any(label_key(text).casefold() == wanted for text in self.labels or [self.label])

    def option_value(self, text: str) -> str:
        """The value of the option shown as ``text`` (compared without case)."""
        wanted = clean_text(text).casefold()
        for value, shown in self.options:
            if shown.casefold() == wanted:
                return value
        choices = ", ".join(f"'{shown}'" for _value, shown in self.options)
        raise UnexpectedPageError(f"'{text}' is not a choice of « {self.label or self.name} » (choices: {choices}).")

    def has_option(self, text: str) -> bool:
        wanted = clean_text(text).casefold()
        return any(shown.casefold() == wanted for _value, shown in self.options)

    def selected_text(self) -> str:
        """The text of the (first) selected option or checked radio."""
        for value, shown in self.options:
            if self.selected and value == self.selected[0]:
                return shown
        return ""

    def selected_texts(self) -> list[str]:
        return [shown for value, shown in self.options if value in self.selected]


@dataclass
class Form:
    """A form read from a page: its action and its controls."""

    action: str
    method: str
    controls: list[Control]
    #: the title of the screen the form was read from (set by :meth:`Screen.check_form`), for errors
    screen: str = ""

    def labels(self) -> list[str]:
        """The labels of the form's controls, in page order, as compared (no star, no colon)."""
        return [label_key(c.label) for c in self.controls if c.label]

    def by_label(self, label: str) -> Control:
        for control in self.controls:
            if control.label and control.matches(label):
                return control
        raise ScreenMismatchError(self.screen or "formulaire", label, self.labels(), "champ")

    def has_label(self, label: str) -> bool:
        return any(c.label and c.matches(label) for c in self.controls)

    def by_labels(self) -> dict[str, Control]:
        """Every labelled control by its label as compared (see :func:`label_key`), first one wins.

        For forms of thousands of controls (a row each), where looking each
        label up with :meth:`by_label` would cost a scan per control.
        """
        out: dict[str, Control] = {}
        for control in self.controls:
            for text in control.labels or ([control.label] if control.label else []):
                out.setdefault(label_key(text).casefold(), control)
        return out

    def set_text(self, label: str, value: str) -> None:
        self.by_label(label).value = value

    def set_checked(self, label: str, checked: bool) -> None:
        self.by_label(label).checked = checked

    def choose(self, label: str, *texts: str) -> None:
        """Select the option(s) shown as ``texts`` (select, or radio group)."""
        control = self.by_label(label)
        control.selected = [control.option_value(text) for text in texts]

    def payload(self) -> list[tuple[str, str]]:
        """What a browser sends when the form is submitted."""
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.disabled or not control.name or control.kind == "file":
                continue  # a file travels as a multipart part, given to the POST itself
            if control.kind == "checkbox":
                if control.checked:
                    pairs.append((control.name, control.value or "on"))
            elif control.kind in ("select", "select-multiple", "radio"):
                pairs.extend((control.name, value) for value in control.selected)
            else:
                pairs.append((control.name, control.value))
        return pairs


def _labels(root: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """id -> label texts, for every ``<label for=…>`` under ``root``, in page order."""
    out: dict[str, list[str]] = {}
    for label in root.iter("label"):
        target = label.get("for")
        if target:
            out.setdefault(target, []).append(text_of(label))
    return out


def read_form(doc: lxml.html.HtmlElement, css_id: str, url: str) -> Form:
    """Read the form ``<form id=css_id>`` of a page."""
    found = doc.xpath("//form[@id=$i]", i=css_id)
    if not found:
        raise UnexpectedPageError(f"The page {url} has no form '{css_id}'.")
    return read_form_element(found[0], url)


def read_form_element(form_el: lxml.html.HtmlElement, url: str) -> Form:
    """Read a form element into a :class:`Form`."""
    doc = form_el.getroottree().getroot()
    labels = _labels(doc)
    controls: list[Control] = []
    radios: dict[str, Control] = {}
    for el in form_el.iter("input", "select", "textarea"):
        name = el.get("name") or ""
        disabled = el.get("disabled") is not None
        texts = labels.get(el.get("id") or "", [])
        label = texts[0] if texts else ""
        if el.tag == "select":
            multiple = el.get("multiple") is not None
            options = [(o.get("value", text_of(o)), text_of(o)) for o in el.iter("option")]
            selected = [o.get("value", text_of(o)) for o in el.iter("option") if o.get("selected") is not None]
            if not selected and options and not multiple:
                selected = [options[0][0]]
            controls.append(Control(name, "select-multiple" if multiple else "select", label,
                                    options=options, selected=selected, disabled=disabled, labels=texts))
        elif el.tag == "textarea":
            controls.append(Control(name, "textarea", label, value=el.text or "", disabled=disabled, labels=texts))
        else:
            kind = (el.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                continue
            if kind == "radio":
                group = radios.get(name)
                if group is None:
                    group = radios[name] = Control(name, "radio", disabled=disabled)
                    controls.append(group)
                group.options.append((el.get("value", "on"), label))
                if el.get("checked") is not None:
                    group.selected = [el.get("value", "on")]
                continue
            controls.append(Control(name, kind, label, value=el.get("value", ""),
                                    checked=el.get("checked") is not None, disabled=disabled, labels=texts))
    # A radio group is labelled by its fieldset's legend, or by its name.
    for group in radios.values():
        legend = form_el.xpath(
            ".//fieldset[.//input[@type='radio' and @name=$n]]/legend", n=group.name)
        group.label = text_of(legend[0]) if legend else group.name
    action = urljoin(url, form_el.get("action") or url)
    return Form(action=action, method=(form_el.get("method") or "get").lower(), controls=controls)


def table_rows(doc: lxml.html.HtmlElement, css_id: str, url: str) -> tuple[list[str], list[lxml.html.HtmlElement]]:
    """Header texts and body rows (``<tr>`` elements) of ``<table id=css_id>``."""
    found = doc.xpath("//table[@id=$i]", i=css_id)
    if not found:
        raise UnexpectedPageError(f"The page {url} has no table '{css_id}'.")
    table = found[0]
    header = [text_of(th) for th in table.xpath("./thead/tr/th|./tr[th]/th")]
    rows = table.xpath("./tbody/tr[td]|./tr[td]")
    return header, rows


def table_texts(doc: lxml.html.HtmlElement, css_id: str, url: str) -> tuple[list[str], list[list[str]]]:
    """Header texts and the cell texts of every body row of ``<table id=css_id>``.

    For read-only data tables of thousands of rows (a directory, a list of
    identifiers): texts only, whitespace collapsed (measured: three times
    faster than ``itertext`` on a directory of 3,000 accounts).
    """
    header, rows = table_rows(doc, css_id, url)
    texts = [[text_of(td) for td in tr if td.tag == "td"] for tr in rows]
    if any(len(row) < len(header) for row in texts):
        raise UnexpectedPageError(f"The table '{css_id}' of {url} has rows with missing cells.")
    return header, texts


def columns(header: list[str], needed: tuple[str, ...], what: str) -> list[int]:
    """The positions of the ``needed`` columns in ``header``, or an error naming the missing one."""
    missing = [name for name in needed if name not in header]
    if missing:
        raise UnexpectedPageError(f"The table of {what} has no column « {missing[0]} ».")
    return [header.index(name) for name in needed]


def row_cells(header: list[str], row: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement]:
    """A row's cells keyed by their column header."""
    return dict(zip(header, (cell for cell in row if cell.tag == "td")))


def flash_problems(doc: lxml.html.HtmlElement) -> list[str]:
    """The validation messages of a page (``<div class="flash erreur">``)."""
    boxes = doc.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' erreur ')]")
    problems: list[str] = []
    for box in boxes:
        items = [text_of(li) for li in box.iter("li")]
        problems.extend(items or [text_of(box)])
    return [p for p in problems if p]


@dataclass(frozen=True)
class Screen:
    """What the product relies on in one remote screen: labels, field labels, columns, options, verbatim.

    The client modules hold one table of these per remote system (``SCREENS``)
    and check each page against its entry as soon as it is read, before
    anything is posted: a screen that differs from what the product knows
    fails with :class:`ScreenMismatchError` naming the screen, the label
    expected and the labels found, instead of a wrong result.
    """

    #: the screen's title, as the documentation and the screen name it
    title: str
    #: ``id`` of the form the product reads ("" when none, or found otherwise)
    form: str = ""
    #: key -> label of a control the product needs
    fields: Mapping[str, str] = field(default_factory=dict)
    #: key -> label of a control the product uses only in some cases (checked when used)
    optional: Mapping[str, str] = field(default_factory=dict)
    #: field key -> the option texts the product chooses among
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``id`` of the table the product reads ("" when none)
    table: str = ""
    #: key -> column header the product needs
    columns: Mapping[str, str] = field(default_factory=dict)
    #: other texts the product looks for (buttons, states, templates with ``{…}``)
    texts: Mapping[str, str] = field(default_factory=dict)

    def label(self, key: str) -> str:
        """The label of field ``key`` (needed or optional)."""
        return self.fields[key] if key in self.fields else self.optional[key]

    def verbatim(self) -> list[str]:
        """Every label, header, option and text of the screen, for the documentation check."""
        out = [*self.fields.values(), *self.optional.values(), *self.columns.values(), *self.texts.values()]
        for options in self.options.values():
            out.extend(options)
        return out

    def read_form(self, doc: lxml.html.HtmlElement, url: str, where: str = "") -> Form:
        """The form ``self.form`` of ``doc``, checked."""
        found = doc.xpath("//form[@id=$i]", i=self.form)
        if not found:
            ids = [f.get("id") for f in doc.iter("form") if f.get("id")]
            raise ScreenMismatchError(self.title, self.form, ids, "formulaire (id)", where)
        return self.check_form(read_form_element(found[0], url), where)

    def check_form(self, form: Form, where: str = "") -> Form:
        """``form``, once every field and option the product needs is there."""
        form.screen = self.title
        for label in self.fields.values():
            if not form.has_label(label):
                raise ScreenMismatchError(self.title, label, form.labels(), "champ", where)
        for key, wanted in self.options.items():
            label = self.label(key)
            control = form.by_label(label)
            for text in wanted:
                if not control.has_option(text):
                    raise ScreenMismatchError(self.title, text, [shown for _value, shown in control.options],
                                              f"choix de « {label} »", where)
        return form

    def check_columns(self, header: list[str], where: str = "") -> dict[str, int]:
        """Column key -> position in ``header``, once every column the product needs is there."""
        for title in self.columns.values():
            if title not in header:
                raise ScreenMismatchError(self.title, title, header, "colonne", where)
        return {key: header.index(title) for key, title in self.columns.items()}

    def table_rows(self, doc: lxml.html.HtmlElement, url: str,
                   where: str = "") -> tuple[list[str], list[lxml.html.HtmlElement]]:
        """:func:`table_rows` of ``self.table``, its header checked."""
        self._has_table(doc, where)
        header, rows = table_rows(doc, self.table, url)
        self.check_columns(header, where)
        return header, rows

    def table_texts(self, doc: lxml.html.HtmlElement, url: str,
                    where: str = "") -> tuple[dict[str, int], list[list[str]]]:
        """:func:`table_texts` of ``self.table``: column positions by key, and the rows."""
        self._has_table(doc, where)
        header, rows = table_texts(doc, self.table, url)
        return self.check_columns(header, where), rows

    def _has_table(self, doc: lxml.html.HtmlElement, where: str) -> None:
        if not doc.xpath("//table[@id=$i]", i=self.table):
            ids = [t.get("id") for t in doc.iter("table") if t.get("id")]
            raise ScreenMismatchError(self.title, self.table, ids, "tableau (id)", where)
