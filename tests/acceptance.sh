#!/usr/bin/env bash
# The acceptance commands of the local engine, on a generated tree: after `ferry mirror a b`,
# `diff -r a b` is empty, `rsync -ani --delete a/ b/` lists nothing (mtimes equal), and
# `ferry plan` on the unchanged pair has nothing to do.
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
echo "acceptance: 1 passed, 0 failed"
