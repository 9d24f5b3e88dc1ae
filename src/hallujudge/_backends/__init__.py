"""Model backends and the resolver that turns model strings into them."""

from ._base import Backend, Message, Request, Response, TokenLogprob
from ._fake import FakeBackend, FunctionBackend
from ._resolver import available_backends, register_backend, resolve_backend

__all__ = [
    "Backend",
    "FakeBackend",
    "FunctionBackend",
    "Message",
    "Request",
    "Response",
    "TokenLogprob",
    "available_backends",
    "register_backend",
    "resolve_backend",
]
