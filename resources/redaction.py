"""Secret redaction: the one function that removes secrets from any text shown to someone.

Every message, log line, metadata value, exception, stored failure record and command-line line
that may carry text the project did not write (an HTTP error body, a driver's error, a URL from
the environment) goes through :func:`redact`. It replaces with ``<redacted>``:

- each secret the caller names (an access key, a password), wherever it appears;
- the Gainsight access key of the environment (``GAINSIGHT_ACCESS_KEY``) when it is at least
  :data:`MIN_SECRET` characters long (shorter values are placeholders, not real keys, and
  replacing them would garble the message);
- the value of an ``accesskey`` field (``accesskey: …``, ``"accessKey": "…"``, ``AccessKey=…``);
- the password of a URL (``postgresql://user:<redacted>@host/db``), up to the URL's last ``@``,
  also without a scheme (``user:<redacted>@host``);
- a ``password=…`` parameter (libpq key=value strings, query strings).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

REDACTED = "<redacted>"
MIN_SECRET = 8
SECRET_ENVIRONMENT = ("GAINSIGHT_ACCESS_KEY",)

_ACCESS_KEY_FIELD = re.compile(r"(?i)(accesskey['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)\S*(@)")
# user:password@host without a scheme, at the start of a word
_BARE_USERINFO = re.compile(r"((?:^|(?<=[\s'\"(=,]))[^\s:/@'\"(=,]+:)(?!//)\S*(@)")
_PASSWORD_PARAM = re.compile(r"(?i)(password\s*=\s*)[^&\s]+")

__all__ = ["MIN_SECRET", "REDACTED", "redact"]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with ``secrets``, the environment's access key, access-key fields and
    passwords replaced by ``<redacted>``."""
    named = [secret for secret in secrets if secret]
    named += [
        value
        for value in (os.environ.get(name, "") for name in SECRET_ENVIRONMENT)
        if len(value) >= MIN_SECRET
    ]
    for secret in sorted(set(named), key=len, reverse=True):  # a longer secret may hold a shorter
        text = text.replace(secret, REDACTED)
    text = _ACCESS_KEY_FIELD.sub(rf"\1{REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}\2", text)
    text = _BARE_USERINFO.sub(rf"\1{REDACTED}\2", text)
    return _PASSWORD_PARAM.sub(rf"\1{REDACTED}", text)
