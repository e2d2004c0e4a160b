"""Secrets out of sight: credentials in URLs and known keys become ``****`` in what users see."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"
MIN_SECRET_LENGTH = 4
# Patterns are compiled on first use (re caches them): most runs never meet a URL.
_URL = r"(?i)\b(?:https?|s3[an]?|gcs?|az|abfss?|r2|hf|postgres(?:ql)?|mysql)://[^\s'\"<>`]+"
_USERINFO = r"^([A-Za-z0-9+.-]+://)([^/?#@]*)@"
# A database server's user name is a name, not a token: only its password is hidden.
_NAMED_USERS = ("postgres://", "postgresql://", "mysql://")
# Query parameters of signed URLs and tokens: X-Amz-Signature, X-Amz-Credential,
# X-Amz-Security-Token, X-Goog-Signature, Azure SAS `sig`, access_token, api_key...
_SECRET_PARAM = r"(?i)(sig|credential|token|secret|password|passwd|key|auth)"
# password=... in a libpq or MySQL key=value connection string (an ATTACH typed by hand).
_CONNINFO_PASSWORD = r"(?i)\b(password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s\"']+)"


def redact_url(url: str) -> str:
    """The URL with its user-info password and secret query values replaced by ``****``."""
    match = re.match(_USERINFO, url)
    if match:
        user, _, password = match.group(2).partition(":")
        keeps_user = url.lower().startswith(_NAMED_USERS)
        shown = f"{user}:{MASK}" if password else (user if keeps_user else MASK)
        url = f"{match.group(1)}{shown}@{url[match.end() :]}"
    base, sep, query = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = query.partition("#")
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        parts.append(f"{name}={MASK}" if eq and value and re.search(_SECRET_PARAM, name) else part)
    return base + sep + "&".join(parts) + hash_sep + fragment


def has_credentials(url: str) -> bool:
    """True when a URL carries a password, a token or a signature (it must not be saved)."""
    return redact_url(url) != url


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text with every URL redacted and every known secret value replaced by ``****``."""
    if "://" in text:
        text = re.sub(_URL, lambda m: redact_url(m.group(0)), text)
    if "=" in text and re.search(r"(?i)passw|pwd", text):
        text = re.sub(_CONNINFO_PASSWORD, lambda m: f"{m.group(1)}={MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text


def is_secret_setting(name: str) -> bool:
    """True for a setting whose value is a credential (s3_secret_access_key, *_token...)."""
    lowered = name.lower()
    return any(word in lowered for word in ("secret", "token", "password", "key_id", "access_key"))
