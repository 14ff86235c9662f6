"""Every raw key the suite handles, so a final check can prove no log contains one."""

from __future__ import annotations

SEEN_RAW_KEYS: set[str] = set()


def remember(raw_key: str) -> str:
    SEEN_RAW_KEYS.add(raw_key.strip())
    return raw_key
