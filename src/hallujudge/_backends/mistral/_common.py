"""What the chat and classifier backends share: options, the connection, timeouts, identity."""

from __future__ import annotations

from typing import Any, Literal

from ..._errors import ConfigurationError
from ..._validate import check_positive
from .._base import Backend, Request
from ._connection import MistralConnection

__all__ = ["MistralBackendBase", "Transport"]

Transport = Literal["sdk", "http"]
"""How calls are sent: ``http`` (default: one POST on the SDK's pooled HTTP client, parsed by
the SDK's typed response model) or ``sdk`` (the SDK's methods, several times the client CPU per
call; for what only they do, such as reading ``MISTRAL_SA_TOKEN_PATH``)."""


class MistralBackendBase(Backend):
    """Configuration and the connection shared by the chat and classifier backends.

    Args:
        model: The model id, as Mistral names it (``ft:`` ids included).
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``, else Mistral's).
        base_url: An alias of ``server_url``, for symmetry with the OpenAI backend.
        max_connections: Connections kept per event loop (raise for more than 64 in flight).
        transport: ``"http"`` (default) or ``"sdk"`` (see :data:`Transport`).
        timeout_s: Cap on one call's seconds (None: the Judge's ``timeout_s`` alone).
        tpm: Tokens per minute the key may spend, shared by every judge on the same server and
            key (None: no budget).

    Raises:
        ConfigurationError: Without a key for the real API, or with a bad option.
    """

    prefix = "mistral"
    """The model-string prefix that names this backend (``name`` is ``prefix:model``)."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        base_url: str | None = None,
        max_connections: int = 64,
        transport: Transport = "http",
        timeout_s: float | None = None,
        tpm: float | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(
                "a Mistral model name is required, for example 'mistral:open-mistral-7b'"
            )
        if server_url is not None and base_url is not None and server_url != base_url:
            raise ConfigurationError("pass server_url= or base_url= (an alias), not both")
        check_positive("timeout_s", timeout_s)
        if transport not in ("sdk", "http"):
            raise ConfigurationError(f"transport must be 'sdk' or 'http', not {transport!r}")
        self.model = model.strip()
        self.timeout_s = timeout_s
        self.transport: Transport = transport
        self.connection = MistralConnection(
            api_key=api_key,
            server_url=server_url or base_url,
            max_connections=max_connections,
            service_account=transport == "sdk",
            tpm=tpm,
        )
        self.server_url = self.connection.server_url
        self.max_connections = max_connections
        self.call_limit = self.connection.call_limit
        self.name = f"{self.prefix}:{self.model}"
        self._configure()

    def _configure(self) -> None:
        """What a subclass sets from the model id once the rest is set (nothing here)."""

    def _timeout(self, request: Request) -> float:
        """Seconds for one call: the Judge's ``timeout_s``, capped by the backend's own."""
        if self.timeout_s is None:
            return request.timeout_s
        return min(request.timeout_s, self.timeout_s)

    def _timeout_ms(self, request: Request) -> int:
        return max(1, int(self._timeout(request) * 1000))

    def cache_identity(self) -> dict[str, Any]:
        """See :meth:`Backend.cache_identity` (the server URL matters; the key does not)."""
        return {**super().cache_identity(), "server_url": self.connection.identity}

    async def aclose(self) -> None:
        """Close the running loop's connections (see :meth:`MistralConnection.aclose`)."""
        await self.connection.aclose()

    def __repr__(self) -> str:
        where = f", server_url={self.server_url!r}" if self.server_url else ""
        return f"{type(self).__name__}({self.model!r}{where})"
