"""Usage that a harness reports while it works, read by the worker that runs it.

The harness appends one JSON object per line to the file named by `OZ_USAGE_FILE`:
`{"inference_cost": 1.5, "compute_cost": 0.25}` (credits, both optional). Line N becomes
usage report `usage-N` of the run, so reading a line twice charges it once.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("oz.worker")

USAGE_FILE_VARIABLE = "OZ_USAGE_FILE"
MAX_LINE_CREDITS = 1_000_000


@dataclass(frozen=True)
class UsageLine:
    report_id: str
    inference_cost: float
    compute_cost: float


class UsageFeed:
    """Read the complete lines a harness has appended since the last read."""

    def __init__(self, path: Path, run_uid: str) -> None:
        self.path = path
        self._run_uid = run_uid
        self._offset = 0
        self._lines = 0

    def read_new(self) -> list[UsageLine]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        reports = []
        for raw in complete.splitlines():
            self._lines += 1
            line = self._parse(raw)
            if line is not None:
                reports.append(line)
        return reports

    def _parse(self, raw: bytes) -> UsageLine | None:
        try:
            document = json.loads(raw)
            costs = [float(document.get(key, 0.0)) for key in ("inference_cost", "compute_cost")]
        except (ValueError, TypeError, AttributeError):
            costs = []
        if len(costs) != 2 or not all(
            math.isfinite(cost) and 0 <= cost <= MAX_LINE_CREDITS for cost in costs
        ):
            logger.warning(
                "run %s: usage line %d is not a JSON object with inference_cost and"
                " compute_cost from 0 to %d credits; ignored",
                self._run_uid,
                self._lines,
                MAX_LINE_CREDITS,
            )
            return None
        return UsageLine(f"usage-{self._lines}", costs[0], costs[1])
