"""A mirror that asks before deleting: the profile sets `copy.confirm_deletes`, the run
sends a `confirm-deletes` event listing the destination files it would delete, and the
caller answers with `Run.answer`.

    python examples/python/confirm.py SOURCE DESTINATION [--yes]

Without --yes the deletions are declined: copies still happen, extra files stay.
(Conflict prompts of two-way synchronization are answered the same way, with a policy name:
see twoway.py.)
"""

from __future__ import annotations

import argparse
import sys

import ferrysync


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--yes", action="store_true", help="allow the deletions")
    args = parser.parse_args(argv)

    profile = ferrysync.Profile(
        name="careful",
        operation="mirror",
        folders=[ferrysync.Folder(name="main", source=args.source, destination=args.destination)],
        copy={"confirm_deletes": True},
        guards={"max_delete": None},
    )
    with ferrysync.Engine().start(profile) as run:
        for event in run:
            if event.kind == "confirm-deletes" and event.prompt_id is not None:
                paths = event.paths or []
                print(f"folder {event.folder}: delete {len(paths)} files?")
                for path in paths:
                    print(f"  {path}")
                print("yes" if args.yes else "no")
                run.answer(event.prompt_id, args.yes)
        report = run.wait()
    print(f"{report.status}: {report.done['new_files']} new, "
          f"{report.done['deletions']} deleted, warnings: {len(report.warnings)}")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
