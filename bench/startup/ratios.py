"""Print start-up times from a hyperfine JSON export and check them against budgets.

Each budget is a maximum ratio of a command's time to the baseline command's time,
both taken from the same hyperfine run. A ratio over budget is reported as
OVER BUDGET but does not change the exit status: only unreadable input or a
command missing from the export exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A standard deviation above this fraction of the mean marks a timing disturbed by other
# load. The value is a judgment call from the runs recorded in bench/README.md: there the
# baseline and oz timings mostly stayed at or under 18%, and disturbed ones reached 27-44%.
NOISY_RELATIVE_STDDEV = 0.2


@dataclass(frozen=True)
class Timing:
    """Mean, median and standard deviation of one command's run times, in milliseconds."""

    command: str
    mean_ms: float
    median_ms: float
    stddev_ms: float
    runs: int


@dataclass(frozen=True)
class Budget:
    """Maximum ratio of `command`'s time to the baseline command's time."""

    command: str
    max_ratio: float


def load_timings(path: Path) -> dict[str, Timing]:
    """Read hyperfine's `--export-json` output, keyed by command string."""
    document: Any = json.loads(path.read_text(encoding="utf-8"))
    timings: dict[str, Timing] = {}
    for result in document["results"]:
        stddev = result.get("stddev")
        timings[result["command"]] = Timing(
            command=result["command"],
            mean_ms=result["mean"] * 1000,
            median_ms=result["median"] * 1000,
            # hyperfine (checked with 1.15) writes a null stddev for a single run.
            stddev_ms=(stddev or 0.0) * 1000,
            runs=len(result["times"]),
        )
    return timings


def format_table(timings: dict[str, Timing], baseline: Timing) -> str:
    """Render every command's mean, median and median minus the baseline's median."""
    width = max(len(command) for command in timings)
    header = (
        f"{'command':<{width}}  {'mean ms':>8}  {'± ms':>6}  {'median ms':>9}"
        f"  {'median - baseline ms':>20}  {'runs':>4}"
    )
    lines = [header, "-" * len(header)]
    for timing in timings.values():
        extra_ms = timing.median_ms - baseline.median_ms
        lines.append(
            f"{timing.command:<{width}}  {timing.mean_ms:>8.1f}  {timing.stddev_ms:>6.1f}"
            f"  {timing.median_ms:>9.1f}  {extra_ms:>20.1f}  {timing.runs:>4}"
        )
    return "\n".join(lines)


def check_budget(timing: Timing, baseline: Timing, budget: Budget) -> str:
    """Compare the median and mean ratios with the budget; both must be within it."""
    median_ratio = timing.median_ms / baseline.median_ms
    mean_ratio = timing.mean_ms / baseline.mean_ms
    within = median_ratio <= budget.max_ratio and mean_ratio <= budget.max_ratio
    verdict = "within budget" if within else "OVER BUDGET"
    return (
        f"{timing.command} / {baseline.command}: median {median_ratio:.2f}x,"
        f" mean {mean_ratio:.2f}x, budget {budget.max_ratio:g}x: {verdict}"
    )


def noise_warning(timing: Timing) -> str | None:
    """Return a warning when the timing's spread suggests that other load disturbed it."""
    relative_stddev = timing.stddev_ms / timing.mean_ms
    if relative_stddev <= NOISY_RELATIVE_STDDEV:
        return None
    return (
        f"WARNING: {timing.command}: standard deviation is {relative_stddev:.0%} of the mean,"
        " so the machine was busy and its ratio is unreliable; run the benchmark again"
    )


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", type=Path, help="JSON file written by hyperfine --export-json.")
    parser.add_argument(
        "--baseline",
        required=True,
        metavar="COMMAND",
        help="Command string of the baseline, exactly as passed to hyperfine.",
    )
    parser.add_argument(
        "--budget",
        nargs=2,
        action="append",
        default=[],
        metavar=("COMMAND", "MAX_RATIO"),
        help="Command string and its maximum ratio to the baseline; may be repeated.",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    try:
        timings = load_timings(arguments.results)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"failed to read hyperfine results from {arguments.results}: {exc!r}"
        print(message, file=sys.stderr)
        return 1

    budgets: list[Budget] = []
    for command, max_ratio in arguments.budget:
        try:
            budgets.append(Budget(command, float(max_ratio)))
        except ValueError:
            message = f"invalid ratio {max_ratio!r} for {command!r}: expected a number"
            print(message, file=sys.stderr)
            return 2

    missing = [c for c in [arguments.baseline, *(b.command for b in budgets)] if c not in timings]
    if missing:
        print(
            f"commands not found in {arguments.results}: {missing}; found: {list(timings)}",
            file=sys.stderr,
        )
        return 1

    baseline = timings[arguments.baseline]
    print(format_table(timings, baseline))
    print()
    for budget in budgets:
        print(check_budget(timings[budget.command], baseline, budget))
    for timing in [baseline, *(timings[b.command] for b in budgets)]:
        warning = noise_warning(timing)
        if warning is not None:
            print(warning)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
