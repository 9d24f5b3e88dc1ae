"""Loading from the Hugging Face hub, failing fast (in seconds) when it cannot work."""

from __future__ import annotations

import concurrent.futures
import os
import re
import socket
import urllib.parse
from typing import Any

from .._errors import DataError
from ._read import optional_import

__all__ = ["HUB_FORMATS", "HUB_NAME", "load_hub"]

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""What an ``owner/name`` hub id looks like (a path that does not exist and matches is one)."""

HUB_FORMATS: dict[str, tuple[str, str]] = {
    "r-three/fib": ("test", "fib"),
    "kundank/usb": ("test", "usb"),
}
"""Known hub datasets: their default split and their row format."""


def load_hub(name: str, split: str | None, config: str | None) -> tuple[Any, str | None, str]:
    """Load one split of a hub dataset with ``datasets.load_dataset``.

    Args:
        name: The hub id.
        split: The split, or None for the known datasets' default (else ``train``).
        config: The configuration name, if any.

    Returns:
        ``(datasets.Dataset, known format or None, split used)``.

    Raises:
        DataError: If it cannot be loaded; the message says it needs network or a local file.
        ConfigurationError: If ``datasets`` is not installed.
    """
    known = HUB_FORMATS.get(name.lower())
    split = split or (known[0] if known else "train")
    datasets = optional_import("datasets")
    _check_hub_reachable(datasets, name)
    try:
        hf = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # network, offline mode, missing repo or split: all one story
        why = " (HF_HUB_OFFLINE is set)" if _hub_offline(datasets) else ""
        first = str(exc).splitlines()[0] if str(exc) else ""
        hint = (
            "Loading from the hub needs network access; otherwise download the data and "
            "use Dataset.load('path/to/file.jsonl')."
        )
        if "scripts are no longer supported" in first:
            hint = (
                "This hub dataset is built by a loading script, which the installed "
                "datasets package no longer runs: download its data files and use "
                "Dataset.load(path) (or Dataset.from_fib/from_usb)."
            )
        raise DataError(
            f"could not load {name!r} split {split!r} from the Hugging Face hub{why}: "
            f"{type(exc).__name__}: {first}. {hint}"
        ) from exc
    return hf, (known[1] if known else None), split


def _hub_offline(datasets: Any) -> bool:
    # What `datasets` itself will do: it reads HF_HUB_OFFLINE once, at import.
    return bool(getattr(getattr(datasets, "config", None), "HF_HUB_OFFLINE", False))


def _check_hub_reachable(datasets: Any, name: str, timeout: float = 3.0) -> None:
    # Without network, `datasets` retries for ~25 s before giving up: probe the endpoint once
    # (DNS + TCP, bounded) and fail at once instead. In offline mode `datasets` itself answers
    # fast (from its cache or with an error), so no probe is needed.
    if _hub_offline(datasets):
        return
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)

    def connect() -> None:
        socket.create_connection((host, port), timeout=timeout).close()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout)
    except Exception as exc:  # DNS failure, refused, timed out: all mean "no hub"
        raise DataError(
            f"cannot load {name!r}: the Hugging Face hub at {host}:{port} is unreachable "
            f"({type(exc).__name__}: {exc or 'timed out'}). Loading from the hub needs network "
            "access; set HF_HUB_OFFLINE=1 to use a copy already in the datasets cache, or "
            "download the data and use Dataset.load('path/to/file.jsonl')."
        ) from exc
    finally:
        pool.shutdown(wait=False)  # a hung DNS lookup must not block the caller
