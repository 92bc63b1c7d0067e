"""What counts as a secret, and how it is masked: the one redactor vocabulary (OC-CTL-4007).

Decides, with one word list (:data:`SECRET_WORDS`), which values are secrets wherever the
pool manager writes text (log lines, response bodies, metric label values, engine command
lines):

- secrets registered explicitly (the control-plane token) and the values of environment
  variables with a secret name, masked wherever they appear as literal text;
- ``Bearer <credential>`` (a value: never a vocabulary word such as "token", so the prose
  "a bearer token is required." stays readable, OC-CTL-4015), credentials embedded in URLs
  (``https://user:pass@host`` becomes ``https://***@host``), and URL query parameters with a
  secret name;
- the values of command-line flags with a secret name (``--api-key X``, ``--api-key=X``).

A name is secret when it contains one of the words. Environment variable names are the one
stricter case, because their *values* are then masked as bare substrings everywhere: there
a word must be the name's last ``_``-separated part (``HF_TOKEN``, ``X_API_KEY``, but not
``TOKENIZERS_PARALLELISM``, ``KEYBOARD_LAYOUT`` or ``HF_TOKEN_PATH``), except for the words
that mean a secret wherever they appear (``SECRET``, ``PASSWORD``, ``PASSWD``).

Masking by pattern is written by hand here: no maintained library does log, body and label
redaction with one rule set.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

__all__ = [
    "MASK",
    "MIN_SECRET_LEN",
    "SECRET_WORDS",
    "Redactor",
    "default_redactor",
    "is_secret_name",
    "is_sensitive_env_name",
    "redact_argv",
]

MASK: Final = "***"
"""What a secret is replaced with."""

SECRET_WORDS: Final = ("token", "key", "secret", "password", "passwd", "signature", "sig")
"""Words that make a name (environment variable, query parameter, flag) name a secret."""

_ANYWHERE_WORDS: Final = ("secret", "password", "passwd")
"""The words that mean a secret even inside another word (``CLIENTSECRET``)."""

#: Secrets shorter than this are not masked as bare substrings (a two-letter "secret" would
#: shred every message); patterns (bearer, URL credentials) still apply to them.
MIN_SECRET_LEN: Final = 4

_WORDS: Final = "|".join(SECRET_WORDS)
_SECRET_NAME = re.compile(_WORDS, re.IGNORECASE)
_ENV_NAME = re.compile(rf"(?:^|_)(?:{_WORDS})$|{'|'.join(_ANYWHERE_WORDS)}", re.IGNORECASE)
# RFC 6750's b64token: the characters a bearer credential is made of.
_CREDENTIAL_CHARS: Final = r"A-Za-z0-9._~+/=\-"
_BEARER = re.compile(rf"(?i)\b(bearer)(\s+)([{_CREDENTIAL_CHARS}]+)")
_PROSE_WORDS: Final = frozenset(
    form
    for word in (*SECRET_WORDS, "credential", "auth", "authorization", "header", "scheme")
    for form in (word, word + "s")
)
"""Words that follow "bearer" in prose ("a bearer token is required"): vocabulary, not values."""
_SENTENCE_END: Final = ".,;:!?"
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@")
_QUERY_SECRET = re.compile(rf"(?i)([?&;][^=&;#\s]*(?:{_WORDS})[^=&;#\s]*=)[^&;#\s]+")


def is_secret_name(name: str) -> bool:
    """True for a query parameter or command-line flag name that names a secret."""
    return bool(_SECRET_NAME.search(name))


def is_sensitive_env_name(name: str) -> bool:
    """True for environment variable names whose values are treated as secrets."""
    return bool(_ENV_NAME.search(name))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with the values of secret-named flags (``--api-key X``) masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        secret = arg.startswith("-") and is_secret_name(name)
        if secret and eq:
            out.append(f"{name}={MASK}")
        else:
            out.append(arg)
            hide_next = secret
    return out


def _mask_bearer(match: re.Match[str]) -> str:
    """Mask the credential after "Bearer"; a vocabulary word there is prose and stays.

    The vocabulary test ignores sentence punctuation after the word ("... a bearer token.");
    a real credential equal to such a word is still masked as a registered secret.
    """
    scheme, space, credential = match.groups()
    if credential.rstrip(_SENTENCE_END).lower() in _PROSE_WORDS:
        return match.group(0)
    return f"{scheme}{space}{MASK}"


class Redactor:
    """Masks secrets in text, in nested JSON-like values and in label values. Thread-safe."""

    def __init__(
        self, secrets: Iterable[str] = (), *, environ: Mapping[str, str] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        env = os.environ if environ is None else environ
        self.add(*(value for name, value in env.items() if is_sensitive_env_name(name)))
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Register literal secrets; each is masked wherever it appears."""
        fresh = {s for s in secrets if len(s) >= MIN_SECRET_LEN}
        if not fresh:
            return
        with self._lock:
            merged = set(self._secrets) | fresh
            # Longest first, so a secret that contains another is masked whole.
            self._secrets = tuple(sorted(merged, key=lambda s: (-len(s), s)))

    def redact(self, text: str) -> str:
        """``text`` with every known secret and credential pattern replaced by ``***``."""
        out = text
        for secret in self._secrets:
            if secret in out:
                out = out.replace(secret, MASK)
        if "://" in out:
            out = _URL_USERINFO.sub(rf"\1{MASK}@", out)
        if "=" in out:
            out = _QUERY_SECRET.sub(rf"\1{MASK}", out)
        if "earer" in out or "EARER" in out:
            out = _BEARER.sub(_mask_bearer, out)
        return out

    def redact_value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dicts, lists, tuples, scalars)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {
                (self.redact(k) if isinstance(k, str) else k): self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value

    def contains_secret(self, text: str) -> bool:
        """True when :meth:`redact` would change ``text``."""
        return self.redact(text) != text


_DEFAULT: Redactor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_redactor() -> Redactor:
    """The process-wide redactor (built from the environment on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Redactor()
        return _DEFAULT
