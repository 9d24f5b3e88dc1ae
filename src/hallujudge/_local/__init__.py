"""The embedded offline judge behind the default ``Judge()``: CPU-only, no downloads, no API key.

Pipeline: lexical-alignment features (:mod:`._features`) -> numpy gradient-boosted trees with
monotone constraints (:mod:`._gbm`) -> Platt calibration fitted on out-of-fold logits
(:mod:`._train`). Inference and training need numpy only.

Example:
    >>> from hallujudge._local import LocalModel
    >>> m = LocalModel.load()
    >>> doc = "Paris has 2.1 million inhabitants."
    >>> p = m.predict(doc, "Paris has 5 million inhabitants and 2 airports.")
    >>> p.p_consistent < 0.5, p.spans
    (True, ((10, 11, 'number'), (36, 37, 'number'), (38, 46, 'word')))

Rebuild the shipped model with ``python scripts/build_default_model.py``; train your own with
:func:`train_local_model` and load it with ``LocalModel.load(path)``.
"""

from hallujudge._local._model import DEFAULT_MODEL_DIR, LocalModel, LocalPrediction
from hallujudge._local._pairs import MinimalPair, load_minimal_pairs
from hallujudge._local._train import train_local_model

__all__ = [
    "DEFAULT_MODEL_DIR",
    "LocalModel",
    "LocalPrediction",
    "MinimalPair",
    "load_minimal_pairs",
    "train_local_model",
]
