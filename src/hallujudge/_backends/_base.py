"""The backend contract: one I/O call per request, no policy.

A backend turns a :class:`Request` into a :class:`Response` with one call to its model. Retries,
concurrency, rate limits, caching and tracing belong to the :class:`~hallujudge.Judge`; a backend
only says, through :meth:`Backend.is_retryable`, whether an error is worth another attempt.

Two kinds of backend exist:

* chat backends (``uses_prompt = True``) send the messages a prompt strategy rendered and return
  the model's text (and token log-probabilities when the server gives them);
* scoring backends (``uses_prompt = False``: the embedded local model, classifier fine-tunes) read
  the pair itself and return ``p_consistent`` directly.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from .._errors import BackendError, ConfigurationError
from .._ratelimit import AdaptiveLimit
from .._types import Example, Span, Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._judge import Judge
    from .._types import Verdict

__all__ = ["Backend", "Message", "Request", "Response", "TokenLogprob"]


class Message(TypedDict):
    """One chat message, in the shape every chat API accepts."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token with its log-probability and the top alternatives."""

    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    """Everything a backend needs for one call.

    Attributes:
        example: The pair being judged (scoring backends read it directly).
        messages: The rendered chat messages (empty for scoring backends).
        temperature: Sampling temperature (0 for a deterministic classifier).
        seed: Random seed sent to the server when it accepts one.
        max_tokens: Cap on the answer's length.
        response_format: A vendor ``response_format`` (``json_object`` or ``json_schema``).
        logprobs: Whether to ask for token log-probabilities.
        timeout_s: Seconds before the call counts as timed out.
    """

    example: Example
    messages: tuple[Message, ...] = ()
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool = False
    timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Response:
    """What one backend call returned.

    Attributes:
        text: The model's answer (for scoring backends, the label word).
        model: The model that answered, as the server named it.
        usage: Tokens used, when reported.
        logprobs: Per-token log-probabilities, when requested and returned.
        p_consistent: A probability of "consistent" given directly by the backend.
        reason: An explanation given directly by the backend.
        spans: Evidence given directly by the backend.
    """

    text: str
    model: str | None = None
    usage: Usage | None = None
    logprobs: tuple[TokenLogprob, ...] = ()
    p_consistent: float | None = None
    reason: str | None = None
    spans: tuple[Span, ...] = ()


class Backend(abc.ABC):
    """One model behind one API. Subclass it to plug in a new vendor.

    Attributes:
        name: A readable id such as ``mistral:open-mistral-7b``; goes into every Verdict and
            cache key.
        uses_prompt: Whether the backend wants rendered chat messages.
        default_prompt: The prompt strategy a Judge uses when the user names none.
        supports_logprobs: Whether the server can return token log-probabilities.
        max_input_tokens: The model's context budget for the rendered prompt, or None if unknown.
        input_format: For scoring backends, the name@version of how they read a pair; it takes
            the place of the prompt strategy in Verdicts and cache keys.
        call_limit: The adaptive in-flight limit of this backend's connection (shared with
            every backend on the same server and key), or None: the Judge then bounds calls by
            its ``max_calls`` alone.
    """

    name: str = "backend"
    uses_prompt: bool = True
    default_prompt: str = "zero-shot"
    supports_logprobs: bool = False
    max_input_tokens: int | None = None
    input_format: str = "pair@1"
    call_limit: AdaptiveLimit | None = None

    @abc.abstractmethod
    async def complete(self, request: Request) -> Response:
        """Make exactly one call to the model.

        Args:
            request: What to send.

        Returns:
            The model's answer.

        Raises:
            BackendError: Any failure, mapped into the hallujudge error tree.
        """

    def is_retryable(self, error: BaseException) -> bool:
        """Whether another attempt may succeed after ``error``.

        Args:
            error: What the last attempt raised.

        Returns:
            True for transient failures (rate limits, timeouts, 5xx, dropped connections).
        """
        return isinstance(error, BackendError) and error.retryable

    def cache_identity(self) -> dict[str, Any]:
        """Facts that change this backend's answers (beyond the request): part of cache keys."""
        return {"backend": type(self).__name__, "name": self.name}

    async def abatch_score(
        self, judge: Judge, examples: Sequence[Example], **options: Any
    ) -> list[Verdict]:
        """Judge many pairs in one offline batch job, if the vendor has one (a capability).

        The judge builds every line with the request builder of the live path. Backends
        without a batch API refuse.

        Args:
            judge: The judge whose settings render the requests and read the answers.
            examples: The pairs, in order.
            **options: Backend-specific (for Mistral: ``job_id``, ``poll_s``, ``timeout_s``,
                ``on_submit``).

        Returns:
            Exactly one Verdict per example, in order.

        Raises:
            ConfigurationError: This backend has no batch API.
        """
        raise ConfigurationError(
            f"batch scoring runs on Mistral's Batch API; {self.name!r} is not a Mistral chat "
            "model (use score_many for other backends)"
        )

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections. Safe to call more than once."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
