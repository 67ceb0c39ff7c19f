"""English and Swedish: every phrase of the pages is translated here, in one place.

Templates write English (``_("Ticket Orders")``); Swedish comes from ``SWEDISH``. Codes
from the APIs (statuses, payment methods, actions) are shown by ``label``: their English
wording in ``LABELS``, translated the same way. A phrase missing in Swedish shows in
English (the unit tests list any that are missing).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from .catalog import LABELS, SWEDISH

LANGUAGES = ("en", "sv")
LANGUAGE_COOKIE = "console_lang"


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.app.state.settings.default_language


def translate(language: str, text: str, **values: object) -> str:
    phrase = SWEDISH.get(text, text) if language == "sv" else text
    return phrase.format(**values) if values else phrase


def translator(language: str) -> Callable[..., str]:
    return lambda text, **values: translate(language, text, **values)


def labeller(language: str) -> Callable[[str | None], str]:
    return lambda code: translate(language, LABELS.get(code or "", code or ""))
