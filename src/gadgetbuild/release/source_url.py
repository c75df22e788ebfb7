"""The sources' home as a release names it (image annotations, metadata, provenance): a URL
anyone can open, without credentials, or nothing.

The default is the ``origin`` remote, which may be a folder of this machine or carry a token
(``https://user:token@host/…``); neither may reach a published release.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

SCHEMES = frozenset({"https", "http", "ssh", "git"})
# git's other form of an ssh remote, `user@host:path`.
SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)")


def public_url(text: str) -> str | None:
    """``text`` as an URL with a scheme of :data:`SCHEMES` and a host, its user, password,
    query and fragment left out; ``None`` when it is none (a path, a typo, a control char)."""
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        return None
    parts = urlsplit(text)
    if parts.scheme in SCHEMES:
        try:
            host, port = parts.hostname, parts.port
        except ValueError:  # a port that is not a number
            return None
        if not host:
            return None
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if "://" not in text and (match := SCP_LIKE.fullmatch(text)):
        return f"ssh://{match['host']}/{match['path']}"
    return None
