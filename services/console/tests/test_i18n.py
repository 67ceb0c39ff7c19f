"""Every phrase the pages show exists in Swedish, and the language switch sticks."""

from __future__ import annotations

import re
from pathlib import Path

import console
from console import catalog, i18n

TEMPLATES = Path(console.__file__).parent / "templates"
PHRASE = re.compile(r"""_\(\s*(["'])(.+?)\1""")


def template_phrases() -> set[str]:
    return {match[1] for path in TEMPLATES.glob("*.j2") for match in PHRASE.findall(path.read_text())}


def test_every_phrase_in_the_templates_and_labels_has_a_swedish_translation():
    wanted = template_phrases() | set(catalog.LABELS.values())
    missing = sorted(wanted - set(catalog.SWEDISH))
    assert not missing, f"not translated to Swedish: {missing}"


def test_placeholders_survive_translation():
    for english, swedish in catalog.SWEDISH.items():
        assert set(re.findall(r"{\w+}", english)) == set(re.findall(r"{\w+}", swedish)), english


def test_translate_formats_and_falls_back_to_english():
    assert i18n.translate("sv", "Ticket Orders") == "Biljettordrar"
    assert i18n.translate("en", "Ticket Orders") == "Ticket Orders"
    assert i18n.translate("sv", "VAT {rate}%", rate="25") == "Moms 25 %"
    assert i18n.translate("sv", "not in the catalog") == "not in the catalog"
    assert i18n.labeller("sv")("invoice_sent") == "Faktura skickad"


def test_the_language_switch_sets_a_cookie_and_returns_to_the_page(client):
    response = client.get("/language/sv", params={"next": "/sign-in"})
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert "Logga in" in client.get("/sign-in").text


def test_the_language_switch_never_leaves_the_site(client):
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        assert client.get("/language/en", params={"next": target}).headers["location"] == "/"


# What the Python code hands to a page to show: sentences in double quotes (docstrings use three).
SENTENCE = re.compile(r"""(?<!")"([A-Z][^"{}\n]* [^"{}\n]*\.)"(?!")""")


def test_every_sentence_the_code_shows_has_a_swedish_translation():
    sources = [path for path in Path(console.__file__).parent.rglob("*.py") if path.name != "catalog.py"]
    shown = {phrase for path in sources for phrase in SENTENCE.findall(path.read_text())}
    assert len(shown) > 25
    missing = sorted(shown - set(catalog.SWEDISH))
    assert not missing, f"not translated to Swedish: {missing}"
