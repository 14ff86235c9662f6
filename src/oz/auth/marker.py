"""The revocation marker: a small file in the data directory shared by processes on one host.

A process that revokes keys overwrites the file's bytes with new random ones. Every
process maps the file into memory, so checking it for a change on each request is a
memory read, not a system call. Writes through a shared mapping of a file are visible at
once to every other process mapping it, because they share the page cache.

The file is only ever overwritten in place, never truncated: a mapped file that shrinks
under a reader would crash it (SIGBUS).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

MARKER_FILE = "revocations.marker"
SIZE = 16


class RevocationMarker:
    """The mapped marker file of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Growing the file never changes bytes already written, so processes that
            # open it at the same time need no lock.
            if os.fstat(descriptor).st_size < SIZE:
                os.ftruncate(descriptor, SIZE)
            self._map = mmap.mmap(descriptor, SIZE)
        finally:
            os.close(descriptor)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> RevocationMarker:
        return cls(data_dir / MARKER_FILE)

    def read(self) -> bytes:
        """Return the marker's current bytes, which change with every revocation."""
        return self._map[:SIZE]

    def bump(self) -> None:
        """Overwrite the marker with new random bytes, so every reader sees a change."""
        self._map[:SIZE] = os.urandom(SIZE)

    def close(self) -> None:
        self._map.close()
