"""The text a Mistral classifier fine-tune reads: one template for training and inference.

No SDK import: the FineTuner builds classifier training data with it without ``mistralai``.
"""

from __future__ import annotations

from ..._types import Example

__all__ = ["CLASSIFIER_INPUT_VERSION", "CLASSIFIER_LABELS", "CLASSIFIER_TARGET", "classifier_input"]

CLASSIFIER_TARGET = "consistency"
"""The classifier target a hallucination classifier is trained with."""

CLASSIFIER_LABELS = ("consistent", "inconsistent")
"""The target's labels: ``consistent`` (label 1 in data) and ``inconsistent`` (label 0)."""

CLASSIFIER_INPUT_VERSION = "1"
"""Bumped whenever :func:`classifier_input` changes (part of the classifier's cache identity)."""


def classifier_input(example: Example) -> str:
    """The one text a classifier fine-tune sees for a pair (training and inference alike).

    The document follows a ``Document:`` line and the summary a ``Summary:`` line, separated
    by one blank line (the same layout as the chat prompts).

    Args:
        example: The pair.

    Returns:
        The classifier's input text.
    """
    return f"Document:\n{example.document}\n\nSummary:\n{example.summary}"
