"""The embedded offline judge: lexical-alignment features, numpy boosted trees, calibration.

Inference needs numpy only; training needs numpy only too (scikit-learn is not required).
"""

from hallujudge._local._model import DEFAULT_MODEL_DIR, LocalModel, LocalPrediction
from hallujudge._local._train import train_local_model

__all__ = ["DEFAULT_MODEL_DIR", "LocalModel", "LocalPrediction", "train_local_model"]
