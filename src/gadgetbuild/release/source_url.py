"""The sources' home as a release names it (image annotations, metadata, provenance): a URL
anyone can open, without credentials, or nothing.

The default is the ``origin`` remote, which may be a folder of this machine or carry a token
(``https://user:token@host/…``); neither may reach a published release.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

SCHEMES = frozenset({"https", "http", "ssh", "git"})
# git's other form of an ssh remote, `user@host:path`; the user and a dotted host are
# required here, so that `javascript:x` or `c:path` is not taken for one.
SCP_LIKE = re.compile(
    r"[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):(?P<path>[^/].*)"
)
# Characters RFC 3986 allows in a URL; anything else (quotes, <, >, spaces) is refused.
URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def public_url(text: str) -> str | None:
    """``text`` as an URL with a scheme of :data:`SCHEMES` and a host, its user, password,
    query and fragment left out; ``None`` when it is none (a path, a typo, a control char)."""
    if not URL_CHARS.fullmatch(text) or re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return None
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return None
    if parts.scheme in SCHEMES:
        if not host:
            return None
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if "://" not in text and (match := SCP_LIKE.fullmatch(text)):
        return f"ssh://{match['host']}/{match['path']}"
    return None
