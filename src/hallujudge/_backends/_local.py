"""The embedded offline judge as a backend: ``Judge()``, ``Judge("local")``, ``"local:/dir"``.

The model ships with the package and runs on CPU with numpy only: no key, no network. A model
trained with ``FineTuner("local")`` is loaded from its directory with ``"local:/path/to/dir"``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from .._local import DEFAULT_MODEL_DIR, LocalModel
from .._types import Span
from ._base import Backend, Request, Response

__all__ = ["LocalBackend"]


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> LocalModel:
    # Loading parses a few hundred KB of trees: share one instance per directory.
    return LocalModel.load(path)


class LocalBackend(Backend):
    """Scores pairs with the embedded model (or one trained by ``FineTuner("local")``).

    Args:
        path: A trained model directory; empty for the shipped default model.
        **options: Accepted for symmetry with other backends; none apply here.
    """

    uses_prompt = False
    input_format = "local-features@1"

    def __init__(self, path: str = "", **options: Any) -> None:
        if options:
            raise ConfigurationError(
                f"the local backend takes no options, got {sorted(options)}; "
                "pass a model directory as 'local:/path/to/model'"
            )
        directory = Path(path).expanduser() if path else DEFAULT_MODEL_DIR
        if not (directory / "metadata.json").is_file():
            raise ConfigurationError(
                f"no local judge model in {str(directory)!r} (metadata.json is missing); train "
                "one with FineTuner('local', out_dir=...) or use Judge('local') for the default"
            )
        try:
            self.model = _load(directory.resolve())
        except (OSError, ValueError, KeyError) as exc:  # a damaged or incompatible model folder
            raise ConfigurationError(
                f"could not load the local judge model in {str(directory)!r}: {exc} "
                "(FineTuner('local', out_dir=...) trains a new one; reinstalling hallujudge "
                "restores the default)"
            ) from exc
        self.name = f"local:{self.model.version}" if not path else f"local:{directory}"

    def cache_identity(self) -> dict[str, Any]:
        """The model version and its training-data hash change the answers."""
        return {
            "backend": "local",
            "name": self.name,
            "version": self.model.version,
            "data_hash": self.model.metadata.get("training_data_hash"),
        }

    async def complete(self, request: Request) -> Response:
        """Score the pair in-process (about a millisecond on CPU; no I/O)."""
        example = request.example
        prediction = self.model.predict(example.document, example.summary)
        spans = tuple(
            Span(start=a, end=b, text=example.summary[a:b], note=f"{note} not in the document")
            for a, b, note in prediction.spans
        )
        label = "consistent" if prediction.p_consistent >= 0.5 else "inconsistent"
        return Response(
            text=label,
            model=self.name,
            p_consistent=prediction.p_consistent,
            reason=prediction.reason,
            spans=spans,
        )
