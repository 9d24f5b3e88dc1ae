"""The one credential and server-URL rule of every Mistral client (chat, batch, files, jobs).

* ``MISTRAL_API_KEY``: the key, unless ``api_key=`` is given. A key is required for Mistral's
  own API; it is optional only when the server URL points somewhere custom (a local fake, a
  keyless gateway).
* ``MISTRAL_SERVER_URL``: the base URL without ``/v1`` (proxies, gateways, local fakes), unless
  ``server_url=`` is given. A trailing ``/v1`` is stripped with a log note, because the SDK adds
  it itself. A ``user:password@`` part is used for requests only, never shown.

This module imports no SDK, so the fine-tuning side can check credentials before it needs one.
"""

from __future__ import annotations

import logging
import os
import urllib.parse

from ..._errors import ConfigurationError
from ..._tracing import remember_secret

__all__ = [
    "DEFAULT_SERVER",
    "SERVICE_ACCOUNT_ENV",
    "mistral_credentials",
    "url_password",
    "without_userinfo",
]

logger = logging.getLogger("hallujudge")

DEFAULT_SERVER = "https://api.mistral.ai"
"""Mistral's own API, used when no server URL is given."""

SERVICE_ACCOUNT_ENV = "MISTRAL_SA_TOKEN_PATH"
"""A service-account token file the SDK's own methods read (``transport="sdk"`` only)."""


def mistral_credentials(
    api_key: str | None, server_url: str | None, *, service_account: bool = False
) -> tuple[str | None, str | None]:
    """Resolve the server URL and the key of one Mistral connection.

    Args:
        api_key: The key given (default: ``MISTRAL_API_KEY``).
        server_url: The base URL given (default: ``MISTRAL_SERVER_URL``); a trailing ``/v1``
            is dropped.
        service_account: Whether a service-account token file (``MISTRAL_SA_TOKEN_PATH``)
            counts as a credential (only the SDK's own methods read it).

    Returns:
        ``(url, key)``: the URL (None: Mistral's own; it may hold ``user:password@``, so use
        it for requests only) and the key (None when there is none).

    Raises:
        ConfigurationError: Without a key for Mistral's own API, or for a URL that is not
            http(s).
    """
    url = server_url or os.environ.get("MISTRAL_SERVER_URL") or None
    url = _normalise_url(url) if url else None
    key = api_key if api_key is not None else os.environ.get("MISTRAL_API_KEY")
    key = key.strip() if key and key.strip() else None
    has_token = service_account and bool(os.environ.get(SERVICE_ACCOUNT_ENV))
    official = url is None or without_userinfo(url) == DEFAULT_SERVER
    if key is None and not has_token and official:
        raise ConfigurationError(
            "no Mistral API key: set the MISTRAL_API_KEY environment variable or pass "
            "api_key= (a key may be omitted only with a custom MISTRAL_SERVER_URL or "
            "server_url=, such as a local fake or a keyless gateway, or with "
            f"{SERVICE_ACCOUNT_ENV} and transport='sdk')"
        )
    remember_secret(key)  # scrubbed from traces and errors from now on, like MISTRAL_API_KEY
    remember_secret(url_password(url))
    return url, key


def _normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"the Mistral server URL must start with http:// or https://, not "
            f"{without_userinfo(url)!r} (check server_url= or MISTRAL_SERVER_URL)"
        )
    if url.endswith("/v1"):
        stripped = url[: -len("/v1")]
        logger.info(
            "hallujudge: the Mistral server URL %r ends in /v1, which the SDK adds itself; "
            "using %r",
            without_userinfo(url),
            without_userinfo(stripped),
        )
        url = stripped
    return url


def without_userinfo(url: str) -> str:
    """``url`` without any ``user:password@`` part (for reprs, logs and cache keys)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def url_password(url: str | None) -> str | None:
    """The password of a ``user:password@`` URL, to be scrubbed from messages (None: none)."""
    return urllib.parse.urlsplit(url or "").password or None
