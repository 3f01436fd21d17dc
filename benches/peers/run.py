#!/usr/bin/env python3
"""Time the `ferry` CLI against rsync and rclone and print the ratios.

    python3 benches/peers/run.py [--data DIR] [--only S,M] [--reps N] [--ferry PATH]
                                 [--quick] [--settle SECONDS] [--work DIR]

Scenarios (each tool mirrors into its own destination; tools alternate A B C A B C ...,
`--reps` rounds, median wall time per tool, ratio = median over rounds of ferry/peer):
  cold S      mirror S into an empty destination (deleted, `sync`, settle before each run)
  no-change S re-run with nothing to do
  1% S        re-run after modify.py changed 1% of a private copy of S (new --round each rep)
  cold M      as cold S on M (18 GiB; only with --only M or --only S,M)
Then ferry once under /usr/bin/time -v for cold and no-change S (peak memory), and the
listing-memory probe (benches/peers/listing_memory.rs). Source trees are made with
shared/bench/mkdata.py into --data when missing and never modified; destinations and the
modified copy live in --work. --quick: a 10,000-file subset of S, settle 5 s.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
QUICK_FILES = 10_000
TOOLS = ("ferry", "rsync", "rclone")
# Targets for ferry/rsync (and peak memory, listing bytes per entry).
TARGETS = {"cold S": 0.75, "no-change S": 0.5, "1% modified S": 0.6, "cold M": 0.6}
PEAK_MIB_TARGET = 64
LISTING_BYTES_TARGET = 300


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def shared_bench_dir():
    """shared/bench beside the repo (a clone), or beside the main checkout (a worktree)."""
    candidates = [REPO.parent / "shared" / "bench"]
    try:
        common = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        candidates.append((REPO / common).resolve().parent.parent / "shared" / "bench")
    except (OSError, subprocess.CalledProcessError):
        pass
    for c in candidates:
        if (c / "mkdata.py").exists():
            return c
    sys.exit("cannot find shared/bench/mkdata.py beside the repository")


def cargo_build(args, name):
    """Builds with cargo and returns the path of executable `name`."""
    cmd = ["cargo", "build", "--release", "--message-format=json-render-diagnostics", *args]
    log(" ".join(cmd))
    out = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit(f"cargo build failed ({out.returncode})")
    for line in out.stdout.splitlines():
        if f'"name":"{name}"' in line and '"executable":"' in line:
            m = re.search(r'"executable":"([^"]+)"', line)
            if m:
                return m.group(1)
    sys.exit(f"cargo built no executable named {name}")


def ensure_tree(data, name, mkdata):
    tree = data / name
    if not tree.exists():
        log(f"generating {tree} with mkdata.py (once)")
        subprocess.run([sys.executable, str(mkdata), str(data), "--only", name], check=True)
    return tree


def make_quick_tree(s_tree, out):
    """The first QUICK_FILES files of S (sorted walk) with their folders, mtimes kept."""
    if out.exists():
        return out
    log(f"copying a {QUICK_FILES}-file subset of {s_tree} to {out}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    copied, dirs = 0, []
    for root, subdirs, names in os.walk(s_tree):
        subdirs.sort()
        rel = Path(root).relative_to(s_tree)
        (tmp / rel).mkdir(parents=True, exist_ok=True)
        dirs.append((root, tmp / rel))
        for n in sorted(names):
            if copied == QUICK_FILES:
                break
            shutil.copy2(Path(root) / n, tmp / rel / n)
            copied += 1
        if copied == QUICK_FILES:
            break
    for src, dst in reversed(dirs):
        st = os.stat(src)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    tmp.rename(out)
    return out


def remove(path):
    if path.exists():
        # rm is quicker than shutil.rmtree on 100k files.
        subprocess.run(["rm", "-rf", "--", str(path)], check=True)


class Bench:
    def __init__(self, a, ferry):
        self.a = a
        self.ferry = ferry
        self.tools = [t for t in TOOLS if t in a.tools]
        self.results = {}  # scenario -> {tool: [seconds...]}
        self.notes = []
        self.logdir = a.work / "logs"
        self.logdir.mkdir(parents=True, exist_ok=True)

    def command(self, tool, src, dst):
        if tool == "ferry":
            return [self.ferry, "mirror", str(src), str(dst)]
        if tool == "rsync":
            return ["rsync", "-a", "--delete", f"{src}/", f"{dst}/"]
        return ["rclone", "sync", str(src), str(dst), "--links"]

    def run(self, tool, src, dst, label):
        """Runs one tool, checks its exit status, returns the wall time in seconds."""
        cmd = self.command(tool, src, dst)
        logf = self.logdir / f"{label.replace(' ', '_').replace('%', 'pct')}.{tool}.log"
        with open(logf, "w") as out:
            t0 = time.monotonic()
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT).returncode
            secs = time.monotonic() - t0
        if rc != 0:
            tail = logf.read_text(errors="replace")[-2000:]
            sys.exit(f"{tool} failed with status {rc} in {label}: {' '.join(cmd)}\n{tail}")
        return secs

    def settle(self):
        os.sync()
        if self.a.settle > 0:
            time.sleep(self.a.settle)

    def record(self, scenario, tool, secs, rep):
        self.results.setdefault(scenario, {t: [] for t in self.tools})[tool].append(secs)
        log(f"{scenario:<14} rep {rep + 1}/{self.a.reps}  {tool:<6} {secs:8.2f} s")

    def dest(self, tree, tool):
        return self.a.work / f"{tree.name}.{tool}"

    def cold(self, scenario, src, keep):
        """Mirrors into an empty destination; `keep` leaves the last copies for re-runs."""
        for rep in range(self.a.reps):
            for tool in self.tools:
                dst = self.dest(src, tool)
                remove(dst)
                self.settle()
                self.record(scenario, tool, self.run(tool, src, dst, scenario), rep)
                if not keep:
                    remove(dst)

    def rerun(self, scenario, src, dest_of, before_round=None):
        for rep in range(self.a.reps):
            if before_round:
                before_round(rep)
            for tool in self.tools:
                self.record(scenario, tool, self.run(tool, src, dest_of(tool), scenario), rep)

    def verify(self, src, dst, tool, label):
        """Whether `tool`'s destination mirrors `src` (rsync's itemized dry run: size, mtime,
        permissions, missing and extra entries); differences go into the notes."""
        out = subprocess.run(["rsync", "-a", "--delete", "--dry-run", "--itemize-changes",
                              f"{src}/", f"{dst}/"], capture_output=True, text=True)
        diffs = [line for line in out.stdout.splitlines() if line.strip()]
        if out.returncode != 0 or diffs:
            shown = "; ".join(diffs[:5])
            self.notes.append(f"CHECK {tool} after {label}: {len(diffs)} differences from "
                              f"the source (rsync -n -i, status {out.returncode}): {shown}")
            log(self.notes[-1])
        else:
            log(f"{tool} destination after {label} mirrors the source")

    def peak_rss(self, src, dst, label, cold):
        """ferry once under /usr/bin/time -v: its peak RSS in MiB."""
        if cold:
            remove(dst)
            self.settle()
        out = self.logdir / f"peak_{label.replace(' ', '_')}.time"
        cmd = ["/usr/bin/time", "-v", "-o", str(out), self.ferry, "mirror", str(src), str(dst)]
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        if rc != 0:
            sys.exit(f"ferry failed with status {rc} under /usr/bin/time ({label})")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.read_text())
        mib = int(m.group(1)) / 1024
        log(f"peak RSS ferry {label}: {mib:.1f} MiB")
        return mib


def ratio(results, a, b):
    """Median over rounds of a/b (rounds pair the tools' runs made back to back)."""
    if not results.get(a) or not results.get(b):
        return None
    return statistics.median(x / y for x, y in zip(results[a], results[b]))


def fmt_ratio(r, target=None):
    if r is None:
        return "-"
    s = f"{r:.2f}"
    if target is not None:
        s += f" (<= {target:.2f} {'ok' if r <= target else 'MISS'})"
    return s


def report(bench, a, s_desc, peaks, listing, ferry_rev):
    lines = []
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines.append(f"ferry benchmark, {stamp}, {socket.gethostname()} ({os.cpu_count()} cores), "
                 f"ferry {ferry_rev}")
    lines.append(f"S = {s_desc}; {a.reps} rounds alternating "
                 f"{' '.join(bench.tools)}; median wall time; ratio = median of per-round "
                 f"ratios; settle {a.settle:g} s before each cold copy")
    head = f"{'scenario':<14}" + "".join(f"{t:>10}" for t in bench.tools)
    head += f"  {'ferry/rsync (target)':<26}{'ferry/rclone':>12}"
    lines.append(head)
    for scenario, res in bench.results.items():
        row = f"{scenario:<14}"
        for t in bench.tools:
            row += f"{statistics.median(res[t]):>9.2f}s" if res[t] else f"{'-':>10}"
        target = TARGETS.get(scenario)
        row += f"  {fmt_ratio(ratio(res, 'ferry', 'rsync'), target):<26}"
        row += f"{fmt_ratio(ratio(res, 'ferry', 'rclone')):>12}"
        lines.append(row)
    for peer in ("rsync", "rclone"):
        rounds = [f"{scenario} " + " ".join(f"{x / y:.2f}" for x, y in zip(res["ferry"], res[peer]))
                  for scenario, res in bench.results.items() if res.get("ferry") and res.get(peer)]
        if rounds:
            lines.append(f"per-round ferry/{peer}: " + " | ".join(rounds))
    for label, mib in peaks.items():
        ok = "ok" if mib <= PEAK_MIB_TARGET else "MISS"
        lines.append(f"peak RSS ferry {label}: {mib:.1f} MiB (<= {PEAK_MIB_TARGET} MiB {ok})")
    if listing is not None:
        ok = "ok" if listing <= LISTING_BYTES_TARGET else "MISS"
        lines.append(f"Listing memory: {listing:.0f} bytes per entry at 1,000,000 entries "
                     f"(<= {LISTING_BYTES_TARGET} {ok})")
    lines.extend(bench.notes)
    print()
    print("---- paste below ----")
    print("\n".join(lines))
    print("---- paste above ----")


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return rev
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def listing_memory():
    try:
        exe = cargo_build(["-p", "ferrysync-benches", "--bin", "listing_memory"],
                          "listing_memory")
    except SystemExit as e:
        log(f"listing_memory not built: {e}")
        return None
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    m = re.search(r"bytes per entry: (\d+)", out)
    log("listing_memory: " + "; ".join(out.strip().splitlines()))
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/ferry-bench"),
                    help="source trees (made with mkdata.py when missing; never modified)")
    ap.add_argument("--work", type=Path, default=None,
                    help="destinations and the modified copy (default: DATA-work)")
    ap.add_argument("--only", default="S", help="trees: S, M or S,M (default S)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ferry", help="use this ferry binary instead of building it")
    ap.add_argument("--quick", action="store_true",
                    help=f"a {QUICK_FILES}-file subset of S, settle 5 s")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait after sync before each cold copy (default 70)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="subset of ferry,rsync,rclone")
    ap.add_argument("--no-listing", action="store_true", help="skip the listing-memory probe")
    a = ap.parse_args()
    if a.settle is None:
        a.settle = 5 if a.quick else 70
    a.work = (a.work or a.data.with_name(a.data.name + "-work")).resolve()
    a.data = a.data.resolve()
    a.tools = a.tools.split(",")
    only = a.only.split(",")
    for tool in a.tools:
        if tool not in TOOLS:
            sys.exit(f"unknown tool {tool}")
        if tool != "ferry" and shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is missing: apt-get install time")
    bench_dir = shared_bench_dir()
    mkdata, modify = bench_dir / "mkdata.py", bench_dir / "modify.py"

    ferry = a.ferry or cargo_build(["-p", "ferry"], "ferry")
    ferry_rev = f"{a.ferry} (given)" if a.ferry else git_rev()
    a.data.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(a, ferry)
    peaks, s_desc = {}, "-"

    if "S" in only:
        s_tree = ensure_tree(a.data, "S", mkdata)
        if a.quick:
            s_tree = make_quick_tree(s_tree, a.work / "S-quick")
        nfiles = sum(len(f) for _, _, f in os.walk(s_tree))
        nbytes = sum(os.path.getsize(os.path.join(r, n))
                     for r, _, f in os.walk(s_tree) for n in f)
        s_desc = f"{s_tree} ({nfiles:,} files, {nbytes / MiB:.0f} MiB)"
        log(f"S: {s_desc}")
        # A private copy for the 1% scenario (the source tree itself is never modified).
        s_mod = a.work / f"{s_tree.name}-modified"
        log(f"resetting {s_mod} to a copy of {s_tree}")
        subprocess.run(["rsync", "-a", "--delete", f"{s_tree}/", f"{s_mod}/"], check=True)

        bench.cold("cold S", s_tree, keep=True)
        peaks["cold S"] = bench.peak_rss(s_tree, bench.dest(s_tree, "ferry"), "cold S", True)
        bench.verify(s_tree, bench.dest(s_tree, "ferry"), "ferry", "cold S")
        bench.rerun("no-change S", s_tree, lambda t: bench.dest(s_tree, t))
        peaks["no-change S"] = bench.peak_rss(s_tree, bench.dest(s_tree, "ferry"),
                                              "no-change S", False)

        def modify_round(rep):
            out = subprocess.run([sys.executable, str(modify), str(s_mod),
                                  "--round", str(rep + 1)],
                                 capture_output=True, text=True, check=True).stdout.strip()
            log(f"modify.py round {rep + 1}: {out}")

        # Every destination is in sync with S, hence with its unmodified copy.
        bench.rerun("1% modified S", s_mod, lambda t: bench.dest(s_tree, t), modify_round)
        bench.verify(s_mod, bench.dest(s_tree, "ferry"), "ferry", "1% modified S")

    if "M" in only:
        m_tree = ensure_tree(a.data, "M", mkdata)
        bench.cold("cold M", m_tree, keep=False)

    listing = None if a.no_listing else listing_memory()
    if a.quick:
        bench.notes.append(f"--quick: a {QUICK_FILES:,}-file subset of S; ratios are "
                           "indicative only")
    report(bench, a, s_desc, peaks, listing, ferry_rev)


if __name__ == "__main__":
    main()
