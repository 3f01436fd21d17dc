"""Two-way synchronization with a conflict resolver: changes on either side reach the other,
and when both sides changed the same file, `resolve` is asked what to do.

    python examples/python/twoway.py LEFT RIGHT --state FILE [--prefer POLICY] [--resync]

The first run (no state yet, or --resync) is a union that deletes nothing. The resolver
prints each conflict with both versions and answers POLICY: "keep-both" (the default: the
newer keeps the name, the older gets a conflict name, both end up on both sides), "newer",
"older", "larger", "smaller", "source" (LEFT wins), "destination" (RIGHT wins) or "skip".
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

import ferrysync


def describe(stamp: Optional[ferrysync.Stamp]) -> str:
    if stamp is None:
        return "deleted"
    return f"{stamp.size} bytes, modified {stamp.mtime:%Y-%m-%d %H:%M:%S} UTC"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("--state", required=True, help="the state database file")
    parser.add_argument("--prefer", default="keep-both", help="the answer to conflicts")
    parser.add_argument("--resync", action="store_true", help="forget the state first")
    args = parser.parse_args(argv)

    profile = ferrysync.Profile(
        name="two-way",
        operation="synchronize",
        folders=[ferrysync.Folder(name="pair", source=args.left, destination=args.right)],
        sync={"conflict": "prompt", "state": args.state},
    )
    engine = ferrysync.Engine()
    for action in engine.plan(profile, resync=args.resync):
        arrow = "->" if action.to == "destination" else "<-"
        print(f"plan: {arrow} {action.kind} {action.path}")

    def resolve(conflict: ferrysync.Conflict) -> Optional[str]:
        print(f"conflict {conflict.path}: {conflict.kind}")
        print(f"  left:  {describe(conflict.source)}")
        print(f"  right: {describe(conflict.destination)}")
        print(f"  -> {args.prefer}")
        return str(args.prefer)

    try:
        report = engine.run(profile, conflict=resolve, resync=args.resync)
    except ferrysync.SyncError as err:
        print(f"error ({err.kind}): {err}", file=sys.stderr)
        return 2
    done = report.done
    print(f"{report.status}: {done['new_files']} new, {done['modified_files']} modified, "
          f"{done['deletions']} deleted, {done['renames']} renamed, "
          f"{done['conflicts']} conflicts left")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
