"""A person at the console: sign in through the CAS and edit a form by hand.

Deliberately independent of the product's client (plain requests + lxml), so
that drift made "by hand" is not made by the code under test.
"""
from __future__ import annotations

import lxml.html
import requests


class Person:
    def __init__(self, console_url: str, ca: str, login: str, password: str) -> None:
        self.base = console_url if console_url.endswith("/") else console_url + "/"
        self.ca = ca
        self.http = requests.Session()
        self.http.trust_env = False
        self.login, self.password = login, password

    def open(self, path: str) -> lxml.html.HtmlElement:
        response = self.http.get(self.base + path, verify=self.ca, timeout=30)
        doc = lxml.html.fromstring(response.content, base_url=response.url)
        # A K-d'école CAS first asks whose account this is: the person picks « Compte de l'ENT ».
        choice = doc.xpath("//li[.//input[@name='selection'] and .//label[contains(., \"compte de l'ENT\") or "
                           "contains(., \"Compte de l'ENT\")]]//a[@href]")
        if choice:
            response = self.http.get(requests.compat.urljoin(response.url, choice[0].get("href")), verify=self.ca,
                                     timeout=30)
            doc = lxml.html.fromstring(response.content, base_url=response.url)
        forms = doc.xpath("//form[.//input[@type='password']]")
        if forms:
            data = {i.get("name"): i.get("value", "") for i in forms[0].xpath(".//input[@name]")}
            data.update(username=self.login, password=self.password)
            action = forms[0].get("action") or response.url
            response = self.http.post(requests.compat.urljoin(response.url, action), data=data,
                                      verify=self.ca, timeout=30)
            doc = lxml.html.fromstring(response.content, base_url=response.url)
        response.raise_for_status()
        doc.make_links_absolute(response.url)
        return doc

    def edit_service(self, uai: str, code: str, label: str, option_text: str | None = None,
                     text: str | None = None, checked: bool | None = None) -> int:
        """Change one field of « Modifier un service » and submit; return the status."""
        doc = self.open(f"etab/{uai}/admin/services/{code}")
        form = doc.xpath("//form[@id='form-service']")[0]
        target_id = [lab.get("for") for lab in doc.iter("label")
                     if lab.text_content().strip().rstrip(" *:").strip() == label][0]
        control = doc.xpath("//*[@id=$i]", i=target_id)[0]
        if option_text is not None:
            for option in control.iter("option"):
                if option.text_content().strip() == option_text:
                    control.value = option.get("value")
        elif text is not None:
            control.value = text
        elif checked is not None:
            control.checked = checked
        fields = dict(form.form_values())
        response = self.http.post(form.action, data=list(form.form_values()) if fields else [],
                                  verify=self.ca, timeout=30, allow_redirects=False)
        return response.status_code

    def services(self, uai: str) -> dict[str, dict[str, str]]:
        doc = self.open(f"etab/{uai}/admin/services")
        table = doc.xpath("//table[@id='services']")[0]
        header = [th.text_content().strip() for th in table.xpath(".//thead//th")]
        out = {}
        for row in table.xpath("./tbody/tr[td]"):
            cells = dict(zip(header, [td.text_content().strip() for td in row.xpath("./td")]))
            out[cells["Code"]] = cells
        return out
