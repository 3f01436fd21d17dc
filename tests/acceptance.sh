#!/usr/bin/env bash
# The acceptance commands of the local engine, on a generated tree: after `ferry mirror a b`,
# `diff -r a b` is empty, `rsync -ani --delete a/ b/` lists nothing (mtimes equal), and
# `ferry plan` on the unchanged pair has nothing to do. Two-way: `ferry sync a b` twice on
# untouched trees, the second plans nothing, and both sides are equal.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p ferry
ferry="${CARGO_TARGET_DIR:-target}/debug/ferry"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
a="$work/a"; b="$work/b"
mkdir -p "$a/docs/deep/er" "$a/empty" "$a/media"
for i in $(seq 1 200); do
  head -c $((i * 37)) /dev/urandom > "$a/docs/deep/er/file$i.bin"
  echo "note $i" > "$a/docs/note$i.txt"
done
printf 'x' > "$a/media/$(printf 'caf\xe9')"
chmod 600 "$a/docs/note1.txt"
ln -s docs/note2.txt "$a/link"
touch -d '2001-02-03 04:05:06.123456789' "$a/media" "$a/docs/note3.txt"

"$ferry" mirror "$a" "$b" --symlinks copy >/dev/null
diff -r --no-dereference "$a" "$b"
out=$(rsync -ani --delete "$a/" "$b/")
if [ -n "$out" ]; then
  echo "rsync -ani lists differences after ferry mirror:"; echo "$out"; exit 1
fi
plan=$("$ferry" mirror "$a" "$b" --symlinks copy --dry-run)
echo "$plan" | grep -q "Nothing to do" || { echo "plan on an unchanged pair is not empty:"; echo "$plan"; exit 1; }

# A change shows up, and a second mirror converges again.
echo changed >> "$a/docs/note5.txt"
rm "$a/docs/note6.txt"
"$ferry" mirror "$a" "$b" --symlinks copy >/dev/null
diff -r --no-dereference "$a" "$b"
[ -z "$(rsync -ani --delete "$a/" "$b/")" ] || { echo "rsync sees differences after the second mirror"; exit 1; }

# Two-way: each side has files the other lacks, a folder both have, and an edit on one side.
s1="$work/s1"; s2="$work/s2"
mkdir -p "$s1/shared" "$s2/shared/deep" "$s2/only-right"
for i in $(seq 1 50); do
  head -c $((i * 53)) /dev/urandom > "$s1/shared/left$i.bin"
  echo "right $i" > "$s2/shared/deep/right$i.txt"
done
echo same > "$s1/shared/same.txt"; cp -p "$s1/shared/same.txt" "$s2/shared/same.txt"
printf 'x' > "$s2/only-right/$(printf 'caf\xe9')"
export XDG_DATA_HOME="$work/data"  # the default state of a one-off pair lives here
"$ferry" sync "$s1" "$s2" >/dev/null
second=$("$ferry" sync "$s1" "$s2")
[ "$second" = "Nothing to do." ] || { echo "the second ferry sync on untouched trees did something:"; echo "$second"; exit 1; }
diff -r --no-dereference "$s1" "$s2"
# A change on each side reaches the other, and the pair converges again.
echo "edited on the left" > "$s1/shared/same.txt"
rm "$s2/shared/deep/right7.txt"
"$ferry" sync "$s1" "$s2" >/dev/null
diff -r --no-dereference "$s1" "$s2"
[ ! -e "$s1/shared/deep/right7.txt" ] || { echo "a deletion on the right did not reach the left"; exit 1; }
[ "$("$ferry" sync "$s1" "$s2")" = "Nothing to do." ] || { echo "a third ferry sync is not empty"; exit 1; }
echo "acceptance: 2 passed, 0 failed"
