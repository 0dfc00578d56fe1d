"""Keeping tokens and keys out of everything storebench prints or writes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"
# A JWT (three base64url parts) or a long run of base64 characters: an API token, whatever
# variable it was put in by mistake. A URL never matches (its ':' is not in either set).
TOKEN_SHAPE = re.compile(r"[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|[\w+/=-]{32,}", re.ASCII)


def looks_like_token(text: str) -> bool:
    return TOKEN_SHAPE.fullmatch(text.strip()) is not None


def redact_url(url: str | None) -> str | None:
    """The URL without credentials or query string (where tokens hide): `libsql://host/…`;
    *** for a value that looks like a token rather than a URL (e.g. swapped variables)."""
    if not url:
        return url
    if looks_like_token(url):
        return REDACTED
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"{REDACTED}@{host}"
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    """`text` with every occurrence of each secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
