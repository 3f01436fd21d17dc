"""Mirror one folder into another with a progress line.

    python examples/python/mirror.py SOURCE DESTINATION [--dry-run]

The progress callback works like a tqdm bar without depending on tqdm: it rewrites one line
with items and bytes done. Ctrl-C cancels cleanly (nothing half-written is left behind).
"""

from __future__ import annotations

import argparse
import logging
import sys

import ferrysync


def show_progress(event: ferrysync.Event) -> None:
    """Prints `items 120/4000  bytes 1.2/30.0 MiB  path` on one line."""
    if event.kind == "started" and event.summary is not None:
        todo = event.summary["new_files"] + event.summary["modified_files"]
        print(f"{todo} files to copy, {event.summary['deletions']} to delete")
    elif event.kind == "progress":
        mib = 1024 * 1024
        line = (
            f"items {event.items_done}/{event.items_total}  "
            f"bytes {(event.bytes_done or 0) / mib:.1f}/{(event.bytes_total or 0) / mib:.1f} MiB"
        )
        print("\r" + line.ljust(60), end="", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")

    try:
        profile = ferrysync.Profile(
            name="mirror",
            operation="mirror",
            folders=[ferrysync.Folder(name="main", source=args.source, destination=args.destination)],
            filters={"exclude_files": ["*.tmp"]},
            guards={"max_delete": None},
        )
        report = ferrysync.Engine().run(profile, progress=show_progress, dry_run=args.dry_run)
    except ferrysync.SyncError as err:
        print(f"\nerror ({err.kind}): {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ncancelled", file=sys.stderr)
        return 130
    print()
    print(f"{report.status}: {report.done['new_files']} new, "
          f"{report.done['modified_files']} modified, {report.done['deletions']} deleted, "
          f"{report.bytes_written} bytes in {report.duration.total_seconds():.2f}s")
    for problem in report.errors:
        print(f"error: {problem}", file=sys.stderr)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
