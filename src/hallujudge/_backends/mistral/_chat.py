"""The Mistral chat backend: prompted models and completion fine-tunes (``ft:...``).

Decisions (documented here because callers depend on them):

* **Names.** ``name`` is ``mistral:<model>`` for every model, ``ft:`` ids included
  (``mistral:ft:open-mistral-7b:...``), so a Verdict's ``model`` resolves back to the same
  backend.
* **Prompts.** ``ft:`` ids default to the ``fine-tune`` prompt (the one the training data was
  built with); other models to ``zero-shot``.
* **Context budget.** ``max_input_tokens`` comes from a small table of known context sizes
  (:data:`CONTEXT_TOKENS`; an ``ft:`` id uses its base model's). Unknown models get 32,768, the
  smallest current Mistral chat context: a longer document is then judged in windows (a correct
  answer) rather than overflowing the context (an unscored HTTP 400). Pass
  ``Judge(max_input_tokens=...)`` to override.
* **No SDK retries.** The Judge owns retries, backoff and ``Retry-After``; the SDK gets
  ``retry_config=None``.
* **Transport.** ``transport="http"`` (default) sends the JSON body the SDK would send (and its
  user agent, with ``hallujudge`` appended) with one POST on the SDK's own pooled HTTP client,
  and parses the answer with the SDK's typed response model (``models.ChatCompletionResponse``);
  failures go through the connection's one error map. ``transport="sdk"`` calls
  ``chat.complete_async``: the SDK builds several pydantic models per call (about 4-5 ms of
  client CPU on a busy 2-core machine against about 1 ms), which caps throughput near 0.6 of
  the ideal rate with 32 calls in flight. Numbers: ``docs/benchmarks.md``.
* **Log-probabilities.** Mistral's published API description lists no ``logprobs`` request
  field, so ``supports_logprobs`` is False and they are requested only when a Judge asks
  (``Judge(logprobs=True)``); returned ones are passed on for ``score``.
* **Batch.** :meth:`MistralBackend.abatch_score` judges many pairs through one batch job
  (:mod:`._batch`), with the very bodies the live path sends (:func:`chat_body`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mistralai.client import models
from mistralai.client.types import UNSET

from ..._errors import ServerError
from ..._types import Usage
from .._base import Request, Response, TokenLogprob
from ._common import MistralBackendBase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..._judge import Judge
    from ..._types import Example, Verdict

__all__ = [
    "CONTEXT_TOKENS",
    "DEFAULT_CONTEXT_TOKENS",
    "MistralBackend",
    "chat_body",
    "chat_response",
]

CONTEXT_TOKENS: dict[str, int] = {
    "open-mistral-7b": 32_768,
    "open-mixtral-8x7b": 32_768,
    "open-mixtral-8x22b": 65_536,
    "open-mistral-nemo": 131_072,
    "mistral-tiny": 32_768,
    "mistral-small-latest": 131_072,
    "mistral-medium-latest": 131_072,
    "mistral-large-latest": 131_072,
    "ministral-3b-latest": 131_072,
    "ministral-8b-latest": 131_072,
    "pixtral-large-latest": 131_072,
    "codestral-latest": 262_144,
    "magistral-small-latest": 40_960,
    "magistral-medium-latest": 40_960,
}
"""Context sizes (tokens) of known Mistral models, by name."""

DEFAULT_CONTEXT_TOKENS = 32_768
"""Context assumed for models not in :data:`CONTEXT_TOKENS` (see the module docstring)."""


def _context_tokens(model: str) -> int:
    base = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model
    return CONTEXT_TOKENS.get(base, DEFAULT_CONTEXT_TOKENS)


class MistralBackend(MistralBackendBase):
    """A Mistral chat model (``open-mistral-7b``, ``mistral-large-latest``, ``ft:...``).

    Args:
        model: The model id, as Mistral names it (``ft:`` ids included).
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``, else Mistral's).
        base_url: An alias of ``server_url``, for symmetry with the OpenAI backend.
        max_connections: Connections kept per event loop (raise for more than 64 in flight).
        transport: ``"http"`` (default): the request as one POST on the SDK's HTTP client,
            parsed by the SDK's response model; ``"sdk"``: ``chat.complete_async``, several
            times the client CPU per call (see the module docstring).
        timeout_s: Cap on one call's seconds (None: the Judge's ``timeout_s`` alone).
        tpm: Tokens per minute the key may spend, shared by every judge on the same server
            and key (None: no budget).

    Raises:
        ConfigurationError: Without a key for the real API, or with a bad option.
    """

    uses_prompt = True
    supports_logprobs = False

    def _configure(self) -> None:
        """The default prompt and context budget of this model id."""
        self.default_prompt = "fine-tune" if self.model.startswith("ft:") else "zero-shot"
        self.max_input_tokens = _context_tokens(self.model)

    async def complete(self, request: Request) -> Response:
        """Send one chat completion (see :meth:`Backend.complete`)."""
        options = {"model": self.model, **chat_body(request)}
        if self.transport == "http":
            result = await self.connection.post(
                "/v1/chat/completions",
                {**options, "stream": False},  # as the SDK sends it
                self._timeout(request),
                models.ChatCompletionResponse,
            )
        else:
            with self.connection.mapping_errors():
                result = await self.connection.sdk().chat.complete_async(
                    **_sdk_arguments(options), timeout_ms=self._timeout_ms(request)
                )
        return chat_response(result)

    async def abatch_score(
        self, judge: Judge, examples: Sequence[Example], **options: Any
    ) -> list[Verdict]:
        """Judge many pairs through one Mistral batch job (see :mod:`._batch`)."""
        from ._batch import abatch_score

        return await abatch_score(self, judge, examples, **options)


def chat_response(result: models.ChatCompletionResponse) -> Response:
    """The one reader of a chat completion, live or from a batch job's output line.

    Raises:
        ServerError: For an answer with no choices.
    """
    if not result.choices:
        raise ServerError("Mistral answered HTTP 200 with no choices", status_code=200)
    choice = result.choices[0]
    message = choice.message
    return Response(
        text=_text(message.content if message is not None else None),
        model=result.model,
        usage=Usage(
            prompt_tokens=result.usage.prompt_tokens or 0,
            completion_tokens=result.usage.completion_tokens or 0,
        ),
        logprobs=_logprobs(choice.logprobs),
    )


_MESSAGE_MODELS: dict[str, Any] = {
    "system": models.SystemMessage,
    "user": models.UserMessage,
    "assistant": models.AssistantMessage,
}


def _sdk_arguments(options: dict[str, Any]) -> dict[str, Any]:
    # Typed SDK objects instead of dicts: the SDK then skips building a throwaway pydantic
    # model per argument (about 1.5 ms of CPU per call, measured in benchmarks/overhead.py).
    out = dict(options)
    out["messages"] = [_MESSAGE_MODELS[m["role"]].model_validate(m) for m in options["messages"]]
    if "response_format" in options:
        out["response_format"] = models.ResponseFormat.model_validate(options["response_format"])
    return out


def chat_body(request: Request) -> dict[str, Any]:
    """The chat-completion body of a request, without the model.

    The same body serves live calls and the lines of a batch job, so both send exactly what the
    prompt strategy rendered with the judge's settings.
    """
    body: dict[str, Any] = {
        "messages": [dict(m) for m in request.messages],
        "temperature": request.temperature,
    }
    if request.seed is not None:
        body["random_seed"] = request.seed
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.response_format is not None:
        body["response_format"] = request.response_format
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = 5
    return body


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content chunks: keep the text ones
        return "".join(str(getattr(chunk, "text", "")) for chunk in content)
    return ""


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    if raw is None or raw is UNSET:
        return ()
    content = getattr(raw, "content", None)
    if not content:
        return ()
    out = []
    for tok in content:
        top = getattr(tok, "top_logprobs", None)
        alternatives = {t.token: t.logprob for t in top} if isinstance(top, list) else {}
        out.append(TokenLogprob(token=tok.token, logprob=tok.logprob, top=alternatives))
    return tuple(out)
