"""The Mistral classifier backend: classifier fine-tunes that answer with probabilities.

It sends :func:`classifier_input` (the FineTuner uses the same function to build classifier
training data) to ``/v1/classifications`` and reads the scores of the target
:data:`CLASSIFIER_TARGET` (labels :data:`CLASSIFIER_LABELS`). The name is
``mistral-classifier:<model>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mistralai.client import models

from ..._errors import BadRequestError, ServerError
from .._base import Request, Response
from ._common import MistralBackendBase, Transport
from ._inputs import (
    CLASSIFIER_INPUT_VERSION,
    CLASSIFIER_LABELS,
    CLASSIFIER_TARGET,
    classifier_input,
)

__all__ = ["MistralClassifierBackend"]


class MistralClassifierBackend(MistralBackendBase):
    """A Mistral classifier fine-tune that answers with probabilities (no prompt).

    It sends :func:`classifier_input` of the pair to ``/v1/classifications`` and returns
    ``p_consistent`` = score(consistent) / (score(consistent) + score(inconsistent)) of the
    target :data:`CLASSIFIER_TARGET`.

    Args:
        model: The classifier's ``ft:`` id.
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``).
        base_url: An alias of ``server_url``.
        max_connections: Connections kept per event loop.
        transport: ``"http"`` (default: one POST) or ``"sdk"`` (``classifiers.classify_async``).
        timeout_s: Cap on one call's seconds (None: the Judge's ``timeout_s`` alone).
        tpm: Tokens per minute the key may spend (None: no budget).
        target: The classifier target to read.

    Raises:
        ConfigurationError: Without a key for the real API, or with a bad option.
    """

    uses_prompt = False
    supports_logprobs = False
    prefix = "mistral-classifier"

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
        target: str = CLASSIFIER_TARGET,
    ) -> None:
        super().__init__(
            model,
            api_key=api_key,
            server_url=server_url,
            base_url=base_url,
            max_connections=max_connections,
            transport=transport,
            timeout_s=timeout_s,
            tpm=tpm,
        )
        self.target = target
        self.max_input_tokens = None  # the Judge does not window classifier inputs

    def cache_identity(self) -> dict[str, Any]:
        """See :meth:`Backend.cache_identity`: the input template's version matters too."""
        return {
            **super().cache_identity(),
            "target": self.target,
            "input": CLASSIFIER_INPUT_VERSION,
        }

    async def complete(self, request: Request) -> Response:
        """Classify one pair (see :meth:`Backend.complete`)."""
        text = classifier_input(request.example)
        if self.transport == "http":
            result = await self.connection.post(
                "/v1/classifications",
                {"model": self.model, "input": [text]},
                self._timeout(request),
                models.ClassificationResponse,
            )
        else:
            with self.connection.mapping_errors():
                result = await self.connection.sdk().classifiers.classify_async(
                    model=self.model, inputs=[text], timeout_ms=self._timeout_ms(request)
                )
        return self._read(result)

    def _read(self, result: models.ClassificationResponse) -> Response:
        """``p_consistent`` from the target's two label scores."""
        if not result.results:
            raise ServerError("Mistral answered HTTP 200 with no classification", status_code=200)
        targets: Mapping[str, Any] = result.results[0]
        found = targets.get(self.target)
        if found is None:
            raise BadRequestError(
                f"classifier {self.model!r} has no {self.target!r} target (it has "
                f"{sorted(targets)}); fine-tune it with classifier_targets=[{{'name': "
                f"'{CLASSIFIER_TARGET}', 'labels': {list(CLASSIFIER_LABELS)}}}] or pass target="
            )
        scores: Mapping[str, float] = found.scores
        good, bad = scores.get(CLASSIFIER_LABELS[0]), scores.get(CLASSIFIER_LABELS[1])
        if good is None or bad is None or good + bad <= 0:
            raise BadRequestError(
                f"classifier {self.model!r} target {self.target!r} has labels {sorted(scores)}; "
                f"expected {list(CLASSIFIER_LABELS)}"
            )
        p_consistent = good / (good + bad)
        label = CLASSIFIER_LABELS[0] if p_consistent >= 0.5 else CLASSIFIER_LABELS[1]
        return Response(text=label, model=result.model, p_consistent=p_consistent)
