"""Mistral files: uploads (batch inputs, fine-tuning data) and downloads (batch results).

Through the SDK's ``files`` methods on the connection's client of the running loop, each call
under the one retry policy and the one error map.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from ..._errors import ServerError

if TYPE_CHECKING:
    from ..._retry import RetryPolicy
    from ._connection import MistralConnection

__all__ = ["download_lines", "upload"]

Purpose = Literal["batch", "fine-tune"]


async def upload(
    connection: MistralConnection,
    content: bytes,
    filename: str,
    *,
    purpose: Purpose,
    policy: RetryPolicy,
    timeout_s: float = 120.0,
) -> str:
    """Upload one file and return its id.

    Args:
        connection: The Mistral connection.
        content: The file's bytes.
        filename: The name shown in the console.
        purpose: ``batch`` or ``fine-tune``.
        policy: The retry policy of the call.
        timeout_s: Timeout of one attempt.

    Returns:
        The file id.

    Raises:
        BackendError: If the upload fails after retries.
    """

    async def once() -> str:
        uploaded = await connection.sdk().files.upload_async(
            file={"file_name": filename, "content": content},
            purpose=purpose,
            timeout_ms=max(1, int(timeout_s * 1000)),
        )
        return str(uploaded.id)

    return await connection.call(once, policy, what=f"upload of {filename}")


async def download_lines(
    connection: MistralConnection, file_id: str, *, policy: RetryPolicy
) -> list[dict[str, Any]]:
    """Download a JSONL file (a batch job's output or error file) as parsed lines.

    Raises:
        BackendError: If the download fails after retries.
        ServerError: If a line is not JSON.
    """

    async def once() -> bytes:
        response = await connection.sdk().files.download_async(file_id=file_id)
        return await response.aread()

    raw = await connection.call(once, policy, what=f"download of file {file_id}")
    lines = []
    for number, text in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            lines.append(json.loads(text))
        except ValueError as exc:
            raise ServerError(f"batch result file {file_id} line {number} is not JSON") from exc
    return lines
