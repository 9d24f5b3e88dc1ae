"""A requests-per-minute limiter shared by every call of one Judge."""

from __future__ import annotations

import asyncio
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces calls evenly so that at most ``rpm`` start in any minute.

    Args:
        rpm: Requests per minute (positive).
    """

    def __init__(self, rpm: float) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.interval = 60.0 / rpm
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this call's slot. Slots are handed out in arrival order."""
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
