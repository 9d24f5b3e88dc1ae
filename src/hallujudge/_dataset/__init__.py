"""Datasets of (document, summary, label) pairs: loading, validation, splitting, export.

``Dataset`` is the public entry point; see :class:`hallujudge._dataset._core.Dataset`.
"""

from ._core import Dataset, ExampleLike

__all__ = ["Dataset", "ExampleLike"]
