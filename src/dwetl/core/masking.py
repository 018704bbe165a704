"""Passwords never reach output: every password dwetl parsed is remembered and scrubbed."""

from __future__ import annotations

import re
from typing import Any, TextIO
from urllib.parse import quote

MASK = "***"

_secrets: set[str] = set()
# user:password@ inside any URL-looking text, for URLs dwetl never parsed (a malformed one)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)")
# key=value passwords in libpq conninfo strings and driver messages
# (a value already masked is left alone: `\S+` would swallow what follows it, e.g. a ")")
_CONNINFO_PASSWORD = re.compile(r"(?i)(password\s*=\s*)(?!\*\*\*)('(?:[^'\\]|\\.)*'|\S+)")


def remember(password: str | None) -> None:
    """Register a password so `scrub` removes it from any text (and its URL-encoded form)."""
    if password:
        _secrets.add(password)
        _secrets.add(quote(password, safe=""))


def scrub(text: str) -> str:
    """`text` with every known password, URL password and conninfo password shown as `***`.

    >>> remember("s3cret"); scrub("postgresql://u:s3cret@h/db failed (password=s3cret)")
    'postgresql://u:***@h/db failed (password=***)'
    """
    # Known passwords first (longest first, so one containing another is not half-masked);
    # the patterns then catch passwords dwetl never parsed.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


class ScrubbedStream:
    """A text stream that scrubs passwords from everything written to it.

    Usage errors are printed by Click itself, before any of dwetl's code runs, and quote the
    offending argument whole: a URL given where no URL was expected would otherwise reach the
    terminal (and a scheduler's mail) with its password.

    >>> import io; out = io.StringIO(); ScrubbedStream(out).write("got pg://u:pw@h/x")
    17
    >>> out.getvalue()
    'got pg://u:***@h/x'
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
