#!/usr/bin/env python3
"""Time the `ferry` CLI against rsync, rclone and unison and print the ratios.

    python3 benches/peers/run.py [--data DIR] [--only S,M,twoway] [--reps N] [--ferry PATH]
                                 [--quick] [--settle SECONDS] [--work DIR]

Scenarios (each tool mirrors into its own destination; tools alternate A B C A B C ...,
`--reps` rounds, median wall time per tool, ratio = median over rounds of ferry/peer):
  cold S      mirror S into a new empty destination (`sync`, settle before each run; no
              deletion while the cold copies run: see INODE_REUSE_WAIT); the source is read
              once before the first run (warm cache, for every tool)
  no-change S re-run with nothing to do
  1% S        re-run after modify.py changed 1% of a private copy of S (new --round each rep)
  cold M      mirror M (18 GiB; only with --only M or --only S,M), each copy deleted after
              its run
Then ferry once under /usr/bin/time -v for cold and no-change S (peak memory), and the
listing-memory probe (benches/peers/listing_memory.rs). Source trees are made with
shared/bench/mkdata.py into --data when missing and never modified; destinations and the
modified copy live in --work. --quick: a 10,000-file subset of S, settle 5 s.

Two-way (`--only twoway`, on S; targets are ferry/unison and ferry/rsync):
  Every run starts from a pair in sync: --work/twoway gets fresh copies of S, one pair (A, B)
  per tool, and each tool syncs its pair once untimed (ferry with --state in --work, unison
  with HOME and UNISON pointed into --work, so its archive is kept between runs and nothing
  touches ~/.unison). Then, alternating ferry unison rsync, `--reps` rounds:
  no-change 2way S  `ferry sync A B --state FILE`, `unison A B -batch -auto`, and a
                    no-change one-way `rsync -a S/ C/` for scale
  1%+1% 2way S      before each round the same edits go into both tools' pairs: 1% of the
                    files on A and a different 1% on B get 100 bytes appended and a new mtime
                    (the same files every round, new bytes each round); then each tool syncs
Then ferry's (and unison's) peak memory on a no-change run under /usr/bin/time -v. After every
timed two-way run the harness checks the pair: the same paths on both sides as in S (no
conflict copies or leftovers), the same kind, size and mode for every entry, the same mtime
for every file when the tool keeps times (ferry), identical bytes for the edited files and
the round's edit on both sides, and `diff -rq A B` (all contents; --no-diff skips it).
"""
import argparse
import math
import os
import random
import re
import shutil
import socket
import stat
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
# Two-way: ferry's median ratio against each peer, and its peak memory on a no-change run.
TWOWAY_TOOLS = ("ferry", "unison", "rsync")
TWOWAY_TARGETS = {("no-change 2way S", "unison"): 0.5, ("no-change 2way S", "rsync"): 0.8,
                  ("1%+1% 2way S", "unison"): 0.6}
TWOWAY_PEAK_MIB_TARGET = 96
TWOWAY_FRACTION = 0.01  # of the files edited on each side per round
TWOWAY_SEED = 7
# ext4 without a journal (as on these VMs) does not reuse an inode freed less than 60 s ago
# (360 s while its inode-table block is dirty, and creating files dirties it): every inode
# allocation scans past each such inode. A cold copy started right after a 100,000-file delete
# spends most of its time there (perf: recently_deleted, find_get_block_common), and which tool
# pays depends on where the kernel places it, so cold copies never follow a deletion.
INODE_REUSE_WAIT = 360


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


def warm(tree):
    """Reads every file of `tree` once (untimed), so that the cold copies start from a warm
    cache, as the issue measures them, and not whichever tool runs first reads the disk."""
    log(f"reading {tree} once to warm the cache")
    find = subprocess.Popen(["find", str(tree), "-type", "f", "-print0"], stdout=subprocess.PIPE)
    subprocess.run(["xargs", "-0", "-r", "cat", "--"], stdin=find.stdout,
                   stdout=subprocess.DEVNULL, check=True)
    find.stdout.close()
    if find.wait() != 0:
        sys.exit(f"find {tree} failed")


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
        """The destination `tool` keeps in sync with `tree` for the re-run scenarios."""
        return self.a.work / f"{tree.name}.{tool}"

    def cold_dest(self, tree, tool, rep):
        return self.a.work / f"cold-{tree.name}" / f"{tool}.{rep + 1}"

    def clear_before_cold(self, paths):
        """Deletes what an earlier bench left, then waits until ext4 reuses those inodes
        freely (see INODE_REUSE_WAIT) so no timed copy pays for the deletion."""
        stale = [p for p in paths if p.exists()]
        if not stale:
            return
        log("deleting " + ", ".join(str(p) for p in stale) + " left by an earlier run")
        for p in stale:
            remove(p)
        os.sync()
        wait = INODE_REUSE_WAIT if self.a.settle >= INODE_REUSE_WAIT / 10 else self.a.settle
        log(f"waiting {wait:g} s: freed inodes slow inode allocation until then")
        time.sleep(wait)

    def cold(self, scenario, src, keep):
        """Mirrors into empty destinations, alternating the tools.

        keep (S): every run gets a destination of its own and nothing is deleted while the
        runs are timed; the last round's copies become the re-run destinations, the others
        are deleted afterwards. Not keep (M, 18 GiB a copy): each copy is deleted after its
        run, and the next run starts after `--settle`.
        """
        if keep:
            self.clear_before_cold([self.a.work / f"cold-{src.name}"]
                                   + [self.dest(src, t) for t in TOOLS])
        warm(src)
        for rep in range(self.a.reps):
            for tool in self.tools:
                dst = self.cold_dest(src, tool, rep) if keep else self.dest(src, tool)
                dst.parent.mkdir(parents=True, exist_ok=True)
                remove(dst)
                self.settle()
                self.record(scenario, tool, self.run(tool, src, dst, scenario), rep)
                if not keep:
                    remove(dst)
        if keep:
            for tool in self.tools:
                self.cold_dest(src, tool, self.a.reps - 1).rename(self.dest(src, tool))
            remove(self.a.work / f"cold-{src.name}")

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
        if cold:
            remove(dst)
        return mib


def run_timed(cmd, logf, env=None):
    """Runs `cmd` under `/usr/bin/time -f %M` with output to `logf`: (exit status, wall
    seconds, peak RSS in MiB). Every tool gets the same ~1 ms wrapper; wait4 on a child of
    this script would report Python's RSS, which Linux carries across exec."""
    rss_file = logf.with_suffix(".rss")
    with open(logf, "w") as out:
        t0 = time.monotonic()
        rc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            env=env).returncode
        secs = time.monotonic() - t0
    try:
        rss = int(rss_file.read_text().strip().splitlines()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        rss = float("nan")
    return rc, secs, rss


def tree_listing(root):
    """{relative path: (kind, size, mode, mtime ns)} of everything below `root` (mtime of
    files only: receiving a file changes its folder's mtime)."""
    entries = {}
    prefix = len(str(root)) + 1
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                entries[path[prefix:]] = ("link", os.readlink(path), 0, 0)
            elif stat.S_ISDIR(st.st_mode):
                entries[path[prefix:]] = ("dir", 0, st.st_mode & 0o7777, 0)
            else:
                entries[path[prefix:]] = ("file", st.st_size, st.st_mode & 0o7777,
                                          st.st_mtime_ns)
    return entries


class TwoWay:
    """The two-way scenarios on S: ferry sync against unison (and a one-way rsync pass)."""

    def __init__(self, bench, s_tree):
        self.bench, self.a, self.s_tree = bench, bench.a, s_tree
        self.root = self.a.work / "twoway"
        self.results = {}  # scenario -> {tool: [seconds...]}
        self.rss = {}  # scenario -> {tool: [peak RSS MiB...]}
        self.peaks = {}  # tool -> MiB under /usr/bin/time -v
        self.initial = {}  # tool -> seconds of the untimed first sync
        self.notes = []
        self.logdir = bench.logdir
        self.ferry_state = self.root / "ferry.state.sqlite"
        home = self.root / "unison.home"
        self.unison_env = dict(os.environ, HOME=str(home), UNISON=str(home / ".unison"))
        self.edits = []  # bytes appended so far, in order (the same for every edited file)

    def pair(self, tool):
        if tool == "rsync":  # one-way: S itself is the source (rsync -a only reads it)
            return self.s_tree, self.root / "rsync.B"
        return self.root / f"{tool}.A", self.root / f"{tool}.B"

    def command(self, tool):
        a, b = self.pair(tool)
        if tool == "ferry":
            return [self.bench.ferry, "sync", str(a), str(b), "--state", str(self.ferry_state)]
        if tool == "unison":
            return ["unison", str(a), str(b), "-batch", "-auto"]
        return ["rsync", "-a", f"{a}/", f"{b}/"]

    def env(self, tool):
        return self.unison_env if tool == "unison" else None

    def run(self, tool, label):
        """Runs one tool on its pair, exits when it fails; (wall seconds, peak RSS MiB)."""
        cmd = self.command(tool)
        logf = self.logdir / f"{label.replace(' ', '_').replace('%', 'pct')}.{tool}.log"
        rc, secs, rss = run_timed(cmd, logf, self.env(tool))
        if rc != 0:
            tail = logf.read_text(errors="replace")[-2000:]
            sys.exit(f"{tool} failed with status {rc} in {label}: {' '.join(cmd)}\n{tail}")
        return secs, rss

    def setup(self):
        """Fresh copies of S for every pair, then each two-way tool's first sync (untimed)."""
        remove(self.root)
        (self.root / "unison.home" / ".unison").mkdir(parents=True)
        self.expected = tree_listing(self.s_tree)
        self.files = sorted(p for p, e in self.expected.items() if e[0] == "file")
        k = max(1, math.ceil(len(self.files) * TWOWAY_FRACTION))
        pick = random.Random(TWOWAY_SEED).sample(self.files, 2 * k)
        self.edit_a, self.edit_b = sorted(pick[:k]), sorted(pick[k:])
        log(f"two-way: copying {self.s_tree} to {len(TWOWAY_TOOLS) * 2 - 1} trees in "
            f"{self.root}; edits: {k} files on A and {k} others on B per round")
        for tool in TWOWAY_TOOLS:
            for side in self.pair(tool):
                if side != self.s_tree:
                    subprocess.run(["cp", "-a", "--", str(self.s_tree), str(side)], check=True)
        for tool in ("ferry", "unison"):
            os.sync()
            secs, _ = self.run(tool, "initial 2way S")
            self.initial[tool] = secs
            log(f"two-way initial sync (untimed for the ratios) {tool:<6} {secs:8.2f} s")
            self.check(tool, "initial 2way S", changed=False)
        self.bench.settle()

    def record(self, scenario, tool, secs, rss, rep):
        self.results.setdefault(scenario, {t: [] for t in TWOWAY_TOOLS})[tool].append(secs)
        self.rss.setdefault(scenario, {t: [] for t in TWOWAY_TOOLS})[tool].append(rss)
        log(f"{scenario:<17} rep {rep + 1}/{self.a.reps}  {tool:<6} {secs:8.2f} s  "
            f"{rss:6.1f} MiB")

    def edit_round(self, rep):
        """The same edits in every two-way pair: append this round's bytes to the A picks on A
        and the B picks on B, mtime a few seconds ago (later than any earlier round's)."""
        payload = (f"round {rep + 1} " * 13).encode()[:100]
        self.edits.append(payload)
        mtime = time.time() - 5
        for tool in ("ferry", "unison"):
            a, b = self.pair(tool)
            for side, picks in ((a, self.edit_a), (b, self.edit_b)):
                for rel in picks:
                    path = side / rel
                    with open(path, "ab") as f:
                        f.write(payload)
                    os.utime(path, (mtime, mtime))
        log(f"edit round {rep + 1}: +100 bytes to {len(self.edit_a)} files on A and "
            f"{len(self.edit_b)} on B in each pair")

    def check(self, tool, label, changed):
        """Whether the tool's pair is in sync (see the module doc); failures go to the notes.
        `changed`: the edited files must carry every edit so far."""
        a, b = self.pair(tool)
        problems = []
        la, lb = tree_listing(a), tree_listing(b)
        for name, side in (("A", la), ("B", lb)):
            extra = sorted(set(side) - set(self.expected))
            missing = sorted(set(self.expected) - set(side))
            if extra:
                problems.append(f"{len(extra)} paths on {name} not in S: {extra[:3]}")
            if missing:
                problems.append(f"{len(missing)} paths of S missing on {name}: {missing[:3]}")
        keeps_times = tool in ("ferry", "rsync")
        differ = [p for p in la.keys() & lb.keys()
                  if la[p][:3] != lb[p][:3] or (keeps_times and la[p][3] != lb[p][3])]
        if differ:
            differ.sort()
            problems.append(f"{len(differ)} entries differ in kind, size, mode or mtime: "
                            + "; ".join(f"{p} {la[p]} vs {lb[p]}" for p in differ[:3]))
        tail = b"".join(self.edits) if changed else b""
        wrong = []
        for rel in self.edit_a + self.edit_b:
            with open(a / rel, "rb") as fa, open(b / rel, "rb") as fb:
                da, db = fa.read(), fb.read()
            if da != db or not da.endswith(tail) or len(da) != self.expected[rel][1] + len(tail):
                wrong.append(rel)
        if wrong:
            problems.append(f"{len(wrong)} edited files differ between the sides or lack "
                            f"the edits: {wrong[:3]}")
        if not self.a.no_diff:
            out = subprocess.run(["diff", "-rq", "--no-dereference", "--", str(a), str(b)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                lines = (out.stdout + out.stderr).strip().splitlines()
                problems.append(f"diff -rq: {len(lines)} differences: {'; '.join(lines[:3])}")
        if problems:
            self.notes.append(f"CHECK {tool} after {label}: " + " | ".join(problems))
            log(self.notes[-1])
            if not self.a.keep_going:
                report_twoway_and_exit(self)
        else:
            log(f"{tool} pair in sync after {label}")

    def rounds(self, scenario, tools, before_round=None):
        for rep in range(self.a.reps):
            if before_round:
                before_round(rep)
            for tool in tools:
                os.sync()  # write back the edits and the previous tool's copies first
                secs, rss = self.run(tool, scenario)
                self.record(scenario, tool, secs, rss, rep)
                self.check(tool, f"{scenario} rep {rep + 1}", changed=before_round is not None)

    def peak_rss(self, tool):
        """`tool` once more on its (in sync) pair, on its own: peak RSS in MiB
        (/usr/bin/time's maximum resident set size, as the one-way peak_rss)."""
        rc, secs, mib = run_timed(self.command(tool), self.logdir /
                                  f"peak_no-change_2way_S.{tool}.log", self.env(tool))
        if rc != 0:
            sys.exit(f"{tool} failed with status {rc} under /usr/bin/time (no-change 2way S)")
        self.peaks[tool] = mib
        log(f"peak RSS {tool} no-change 2way S: {mib:.1f} MiB ({secs:.2f} s)")
        self.check(tool, "peak RSS run", changed=bool(self.edits))

    def bench_all(self):
        self.setup()
        self.rounds("no-change 2way S", TWOWAY_TOOLS)
        for tool in ("ferry", "unison"):
            self.peak_rss(tool)
        self.rounds("1%+1% 2way S", ("ferry", "unison"), self.edit_round)

    def report(self):
        lines = [f"two-way on S: pairs in sync before every run (first sync untimed: ferry "
                 f"{self.initial.get('ferry', 0):.1f} s, unison "
                 f"{self.initial.get('unison', 0):.1f} s); `ferry sync A B --state F` vs "
                 f"`unison A B -batch -auto` vs one-way `rsync -a A/ B/`; every run checked"]
        head = f"{'scenario':<17}" + "".join(f"{t:>10}" for t in TWOWAY_TOOLS)
        head += f"  {'ferry/unison (target)':<24}{'ferry/rsync (target)':<24}"
        lines.append(head)
        for scenario, res in self.results.items():
            row = f"{scenario:<17}"
            for t in TWOWAY_TOOLS:
                row += f"{statistics.median(res[t]):>9.2f}s" if res[t] else f"{'-':>10}"
            for peer in ("unison", "rsync"):
                r = ratio(res, "ferry", peer)
                row += f"  {fmt_ratio(r, TWOWAY_TARGETS.get((scenario, peer))):<22}"
            lines.append(row)
        for peer in ("unison", "rsync"):
            rounds = [f"{scenario} " + " ".join(f"{x / y:.2f}"
                                                for x, y in zip(res["ferry"], res[peer]))
                      for scenario, res in self.results.items()
                      if res.get("ferry") and res.get(peer)]
            if rounds:
                lines.append(f"per-round ferry/{peer}: " + " | ".join(rounds))
        rss = [f"{scenario} " + " ".join(f"{t} {max(v):.0f}" for t, v in res.items() if v)
               for scenario, res in self.rss.items()]
        if rss:
            lines.append("max RSS over the timed runs (MiB, time -f %M): " + " | ".join(rss))
        if "ferry" in self.peaks:
            mib = self.peaks["ferry"]
            ok = "ok" if mib <= TWOWAY_PEAK_MIB_TARGET else "MISS"
            lines.append(f"peak RSS ferry no-change 2way S: {mib:.1f} MiB "
                         f"(<= {TWOWAY_PEAK_MIB_TARGET} MiB {ok})"
                         + (f"; unison {self.peaks['unison']:.1f} MiB"
                            if "unison" in self.peaks else ""))
        return lines + self.notes


def report_twoway_and_exit(twoway):
    print("\n".join(twoway.report()))
    sys.exit("two-way check failed (--keep-going to carry on)")


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


def report(bench, a, s_desc, peaks, listing, ferry_rev, twoway=None):
    lines = []
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(f"ferry benchmark, {stamp}, {socket.gethostname()} ({os.cpu_count()} cores, "
                 f"load {load} at the end), ferry {ferry_rev}")
    tools = ' '.join(bench.tools) if bench.results else ' '.join(TWOWAY_TOOLS)
    lines.append(f"S = {s_desc}; {a.reps} rounds alternating "
                 f"{tools}; median wall time; ratio = median of per-round "
                 f"ratios; settle {a.settle:g} s before each cold copy"
                 + (" and after the two-way setup" if twoway is not None else ""))
    head = f"{'scenario':<14}" + "".join(f"{t:>10}" for t in bench.tools)
    head += f"  {'ferry/rsync (target)':<26}{'ferry/rclone':>12}"
    if bench.results:
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
    if twoway is not None:
        lines.extend(twoway.report())
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
    ap.add_argument("--only", default="S",
                    help="S and M: the one-way scenarios on those trees; twoway: the two-way "
                         "scenarios on S (comma-separated, default S)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ferry", help="use this ferry binary instead of building it")
    ap.add_argument("--quick", action="store_true",
                    help=f"a {QUICK_FILES}-file subset of S, settle 5 s")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait after sync before each cold copy (default 70)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="subset of ferry,rsync,rclone")
    ap.add_argument("--no-listing", action="store_true", help="skip the listing-memory probe")
    ap.add_argument("--no-diff", action="store_true",
                    help="two-way: check the pairs without `diff -rq` after every run")
    ap.add_argument("--keep-going", action="store_true",
                    help="two-way: note a failed check and carry on instead of stopping")
    a = ap.parse_args()
    if a.settle is None:
        a.settle = 5 if a.quick else 70
    a.work = (a.work or a.data.with_name(a.data.name + "-work")).resolve()
    a.data = a.data.resolve()
    a.tools = a.tools.split(",")
    only = a.only.split(",")
    for name in only:
        if name not in ("S", "M", "twoway"):
            sys.exit(f"--only: unknown scenario group {name} (S, M, twoway)")
    oneway = "S" in only or "M" in only
    for tool in a.tools:
        if tool not in TOOLS:
            sys.exit(f"unknown tool {tool}")
        if oneway and tool != "ferry" and shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    if "twoway" in only:
        for tool in ("unison", "rsync", "diff", "cp"):
            if shutil.which(tool) is None:
                sys.exit(f"{tool} is not installed (two-way scenarios)")
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is missing: apt-get install time")
    bench_dir = shared_bench_dir()
    mkdata, modify = bench_dir / "mkdata.py", bench_dir / "modify.py"

    ferry = a.ferry or cargo_build(["-p", "ferry"], "ferry")
    ferry_rev = f"{a.ferry} (given)" if a.ferry else git_rev()
    a.data.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(a, ferry)
    peaks, s_desc, twoway = {}, "-", None

    if "S" in only or "twoway" in only:
        s_tree = ensure_tree(a.data, "S", mkdata)
        if a.quick:
            s_tree = make_quick_tree(s_tree, a.work / "S-quick")
        nfiles = sum(len(f) for _, _, f in os.walk(s_tree))
        nbytes = sum(os.path.getsize(os.path.join(r, n))
                     for r, _, f in os.walk(s_tree) for n in f)
        s_desc = f"{s_tree} ({nfiles:,} files, {nbytes / MiB:.0f} MiB)"
        log(f"S: {s_desc}")

    if "S" in only:
        bench.cold("cold S", s_tree, keep=True)
        # A private copy for the 1% scenario (the source tree itself is never modified),
        # made after the cold copies: rewriting it frees inodes.
        s_mod = a.work / f"{s_tree.name}-modified"
        log(f"resetting {s_mod} to a copy of {s_tree}")
        subprocess.run(["rsync", "-a", "--delete", f"{s_tree}/", f"{s_mod}/"], check=True)
        peaks["cold S"] = bench.peak_rss(s_tree, a.work / "cold-S-peak", "cold S", True)
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

    if "twoway" in only:
        twoway = TwoWay(bench, s_tree)
        twoway.bench_all()

    listing = None if a.no_listing or not oneway else listing_memory()
    if a.quick:
        bench.notes.append(f"--quick: a {QUICK_FILES:,}-file subset of S; ratios are "
                           "indicative only")
    report(bench, a, s_desc, peaks, listing, ferry_rev, twoway)


if __name__ == "__main__":
    main()
