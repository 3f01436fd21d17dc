#!/usr/bin/env bash
# The C ABI tests: the committed header matches cbindgen's output, ffi/install.sh installs a
# usable library, and the C and C++ examples build (static and shared) against the installed
# header and library, mirror generated trees exactly (diff -r), synchronize two ways answering
# conflict prompts, and run clean under valgrind.
# Usage: tests/ffi.sh   (honours CARGO_TARGET_DIR; prints "ffi: N passed, M failed")
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
CBINDGEN_VERSION=0.29.0
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; [ -z "${SHOW:-}" ] || sed 's/^/     /' "$work/log"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/log" ] && sed 's/^/     /' "$work/log" | tail -n 40; }
# check NAME COMMAND...: runs COMMAND, its output kept for the failure report.
check() {
  local name=$1; shift
  if "$@" >"$work/log" 2>&1; then ok "$name"; else not_ok "$name"; fi
}
finish() {
  echo "ffi: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# --- tools -------------------------------------------------------------------------------
if ! command -v cbindgen >/dev/null 2>&1 || [ "$(cbindgen --version)" != "cbindgen $CBINDGEN_VERSION" ]; then
  echo "installing cbindgen $CBINDGEN_VERSION"
  cargo install --quiet cbindgen --version "$CBINDGEN_VERSION" --locked || { not_ok "install cbindgen"; finish; }
  export PATH="$HOME/.cargo/bin:$PATH"
fi
for tool in cc c++ valgrind diff; do
  command -v "$tool" >/dev/null 2>&1 || missing="${missing:-} $tool"
done
if [ -n "${missing:-}" ]; then
  echo "installing packages for:$missing"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    gcc g++ valgrind diffutils pkg-config >/dev/null
fi

# --- the header --------------------------------------------------------------------------
header_is_current() {
  cbindgen --quiet --config ffi/cbindgen.toml --crate ferrysync-ffi --output "$work/ferrysync.h" &&
    diff -u include/ferrysync.h "$work/ferrysync.h"
}
check "include/ferrysync.h is what cbindgen generates (regenerate on drift)" header_is_current

# --- install -----------------------------------------------------------------------------
prefix="$work/prefix"
check "ffi/install.sh PREFIX" ffi/install.sh "$prefix"
cp "$work/log" "$work/install.log"
[ -f "$prefix/lib/libferrysync.so" ] || { not_ok "installed library missing"; finish; }
# How a shared build finds the library at run time (issue 10, item 14): a prefix the loader
# does not search gets the -rpath advice; for one it searches, install.sh refreshes the
# loader's cache as root (a stand-in ldconfig says it searches the prefix and records runs).
check "install.sh into a prefix the loader does not search says to link with -rpath" \
  grep -qF -- "-Wl,-rpath,$prefix/lib" "$work/install.log"
ldconfig_runs() {
  local fake="$work/fake-ldconfig" sys="$work/system-prefix"
  mkdir -p "$fake" "$sys"
  printf '#!/bin/sh\nif [ "$1" = -vN ]; then echo "%s/lib: (from the test)"; else echo ran >> "%s/ran"; fi\n' \
    "$sys" "$fake" > "$fake/ldconfig"
  chmod +x "$fake/ldconfig"
  PATH="$fake:$PATH" ffi/install.sh "$sys" > "$work/system.log" && cat "$work/system.log" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    [ "$(cat "$fake/ran")" = ran ] && grep -q "ran ldconfig" "$work/system.log"
  else
    [ ! -e "$fake/ran" ] && grep -q "sudo ldconfig" "$work/system.log"
  fi
}
check "install.sh into a prefix the loader searches runs ldconfig (as root; says so otherwise)" ldconfig_runs
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
check "pkg-config reports version $version" \
  bash -c "[ \"\$(PKG_CONFIG_PATH='$prefix/lib/pkgconfig' pkg-config --modversion ferrysync)\" = '$version' ]"
check "the header declares FERRY_VERSION_* = $version" \
  bash -c "printf '%s.%s.%s' \$(sed -n 's/^#define FERRY_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' '$prefix/include/ferrysync.h') | grep -qx '$version'"

# --- build -------------------------------------------------------------------------------
cflags=(-std=c99 -Wall -Wextra -Werror -pedantic -I"$prefix/include")
cxxflags=(-std=c++17 -Wall -Wextra -Werror -pedantic -I"$prefix/include")
printf '#include <ferrysync.h>\nint main(void) { return ferry_version() == 0; }\n' > "$work/header.c"
cp "$work/header.c" "$work/header.cpp"
check "header compiles as C99" cc "${cflags[@]}" -c "$work/header.c" -o "$work/header.o"
check "header compiles as C++17" c++ "${cxxflags[@]}" -c "$work/header.cpp" -o "$work/header_cpp.o"
bin="$work/bin"; mkdir -p "$bin"
shared=(-L"$prefix/lib" -lferrysync -Wl,-rpath,"$prefix/lib")
static=(-L"$prefix/lib" -l:libferrysync.a -lpthread -ldl -lm)
for ex in quickstart mirror prompt versions twoway; do
  check "build examples/c/$ex.c (static)" cc "${cflags[@]}" "examples/c/$ex.c" -o "$bin/$ex-static" "${static[@]}"
  check "build examples/c/$ex.c (shared)" cc "${cflags[@]}" "examples/c/$ex.c" -o "$bin/$ex" "${shared[@]}"
done
check "build examples/cpp/mirror.cpp (shared, pkg-config)" bash -c \
  "c++ ${cxxflags[*]} examples/cpp/mirror.cpp -o '$bin/mirror-cpp' \$(PKG_CONFIG_PATH='$prefix/lib/pkgconfig' pkg-config --cflags --libs ferrysync) -Wl,-rpath,'$prefix/lib'"
check "build examples/cpp/quickstart.cpp (static)" \
  c++ "${cxxflags[@]}" examples/cpp/quickstart.cpp -o "$bin/quickstart-cpp" "${static[@]}"
check "build examples/cpp/twoway.cpp (shared)" \
  c++ "${cxxflags[@]}" examples/cpp/twoway.cpp -o "$bin/twoway-cpp" "${shared[@]}"

# --- run ---------------------------------------------------------------------------------
# make_tree DIR FILES: nested folders, files of assorted sizes, an empty folder, odd names.
make_tree() {
  local d=$1 n=$2 i
  mkdir -p "$d/docs/deep/er" "$d/empty" "$d/media"
  for i in $(seq 1 "$n"); do
    head -c $((i * 53)) /dev/urandom > "$d/docs/deep/er/file$i.bin"
    echo "note $i" > "$d/docs/note $i.txt"
  done
  printf 'x' > "$d/media/$(printf 'caf\xc3\xa9')"
  head -c 300000 /dev/urandom > "$d/media/big.bin"
}
profile_json() { # SRC DST
  printf '{"format": 1, "name": "t", "operation": "mirror", "folders": [{"name": "m", "source": "%s", "destination": "%s"}]}\n' "$1" "$2"
}
src="$work/src"; make_tree "$src" 100

mirrors_exactly() { # NAME COMMAND... (COMMAND gets SRC DST appended)
  local dst="$work/dst-$1"; shift
  rm -rf "$dst"
  timeout 300 "$@" "$src" "$dst" >"$work/out.json" && diff -r "$src" "$dst" &&
    grep -q '"status": "ok"' "$work/out.json"
}
for v in "" -static; do
  check "mirror$v SRC DST: destination equals source" mirrors_exactly "mirror$v" "$bin/mirror$v"
done
check "mirror-cpp SRC DST: destination equals source" mirrors_exactly cpp "$bin/mirror-cpp"
for v in quickstart quickstart-static quickstart-cpp; do
  # SRC DST → a profile file for the quickstart programs, which take one.
  printf '#!/usr/bin/env bash\nprintf %s "$1" "$2" > "%s"\nexec "%s" "%s"\n' \
    "'{\"format\": 1, \"name\": \"t\", \"folders\": [{\"name\": \"m\", \"source\": \"%s\", \"destination\": \"%s\"}]}'" \
    "$work/$v.json" "$bin/$v" "$work/$v.json" > "$bin/run-$v"
  chmod +x "$bin/run-$v"
  check "$v PROFILE: destination equals source" mirrors_exactly "$v" "$bin/run-$v"
done

# A second run over a changed source converges, and deletes what the source no longer has.
converges() {
  local dst="$work/dst-mirror"
  echo changed >> "$src/docs/note 5.txt" && rm "$src/docs/note 6.txt" &&
    "$bin/mirror" "$src" "$dst" >/dev/null && diff -r "$src" "$dst"
}
check "mirror over a changed source deletes and updates" converges

# The confirm-deletes prompt: "no" keeps the unmatched file, "yes" deletes it.
prompt_answers() {
  local dst="$work/dst-prompt"
  rm -rf "$dst" && "$bin/mirror" "$src" "$dst" >/dev/null && echo extra > "$dst/extra.txt" &&
    "$bin/prompt" "$src" "$dst" no >/dev/null 2>"$work/prompt.err" &&
    grep -q "1 prompt(s) answered" "$work/prompt.err" && [ -f "$dst/extra.txt" ] &&
    "$bin/prompt" "$src" "$dst" yes >/dev/null && [ ! -e "$dst/extra.txt" ] && diff -r "$src" "$dst"
}
check "prompt answers CONFIRM_DELETES (no keeps, yes deletes)" prompt_answers

# Ctrl-C: SIGINT sets the flag, the loop cancels, the report says cancelled (exit 130) and no
# temporary file is left. A fast machine may finish first: then it tries again, sooner.
cancels() {
  local dst="$work/dst-cancel" big="$work/big" delay rc
  mkdir -p "$big" && for i in $(seq 1 1500); do head -c 20000 /dev/zero > "$big/f$i"; done
  for delay in 0.3 0.1 0.03 0.01; do
    rm -rf "$dst"
    "$bin/mirror" "$big" "$dst" >"$work/cancel.json" 2>/dev/null & local pid=$!
    sleep "$delay"; kill -INT "$pid" 2>/dev/null; wait "$pid"; rc=$?
    echo "SIGINT after ${delay}s: exit $rc"
    if [ "$rc" -eq 130 ]; then
      grep -q '"status": "cancelled"' "$work/cancel.json" || return 1
      ! find "$dst" -name '.ferry-tmp.*' | grep -q .
      return
    fi
    [ "$rc" -eq 0 ] || return 1
  done
  return 1
}
SHOW=1 check "mirror cancels on SIGINT" cancels

# versions FILE: a changed file's old content is kept in the profile's versions folder
# (.versions, not the default), listed (one version), and restored (then two versions: the
# restored one and the content it replaced).
version_tree() { # DIR: a source tree for the versions example
  rm -rf "$1" && mkdir -p "$1/src/sub" && echo original > "$1/src/sub/a.txt" && echo other > "$1/src/b.txt"
}
versions_restored() { # DIR OUT: checks what the versions example left in DIR and printed in OUT
  local v=$1
  [ "$(cat "$v/dst/sub/a.txt")" = original ] && [ "$(cat "$v/src/sub/a.txt")" = "$(printf 'original\nchanged')" ] &&
    [ "$(sed -n 1p "$2" | grep -o '"stored-ns"' | wc -l)" -eq 1 ] &&
    [ "$(sed -n 2p "$2" | grep -o '"stored-ns"' | wc -l)" -eq 2 ] &&
    [ "$(find "$v/dst/.versions" -type f | wc -l)" -eq 2 ] && [ ! -e "$v/dst/.ferrysync/versions" ] &&
    cmp "$v/src/b.txt" "$v/dst/b.txt"
}
keeps_and_restores() { # BINARY
  local v="$work/ver-$(basename "$1")"
  version_tree "$v" && "$1" "$v/src" "$v/dst" sub/a.txt > "$v.out" && cat "$v.out" && versions_restored "$v" "$v.out"
}
for v in versions versions-static; do
  SHOW=1 check "$v SRC DST FILE: keeps, lists and restores a version" keeps_and_restores "$bin/$v"
done

# twoway DIR [POLICY]: a first run (union), edits both ways and a conflict answered with
# POLICY; the example checks the outcome on disk itself, and this checks it again.
two_way_answers() { # BINARY POLICY
  local d="$work/tw-$(basename "$1")-$2"
  rm -rf "$d" && mkdir -p "$d" && "$1" "$d" "$2" > "$d.out" && cat "$d.out" &&
    grep -qx "twoway: ok" "$d.out" && grep -q "^conflict at notes.txt: .* -> $2\$" "$d.out" &&
    diff -r --exclude=.ferrysync "$d/left" "$d/right" && [ "$(cat "$d/left/a.txt")" = "a changed" ] &&
    [ ! -e "$d/left/b.txt" ] && [ ! -e "$d/right/b.txt" ] &&
    case $2 in
      keep-both) [ "$(cat "$d/right/notes.txt")" = "right edit, newer" ] &&
        [ "$(cat "$d/right/notes (conflict "*)" = "left edit" ] ;;
      source) [ "$(cat "$d/right/notes.txt")" = "left edit" ] && [ "$(ls "$d/right" | wc -l)" -eq 2 ] ;;
      newer) [ "$(cat "$d/left/notes.txt")" = "right edit, newer" ] && [ "$(ls "$d/left" | wc -l)" -eq 2 ] &&
        [ "$(find "$d/left/.ferrysync" -type f | wc -l)" -eq 1 ] ;;
    esac
}
SHOW=1 check "twoway DIR keep-both: union, edits both ways, conflict kept both" two_way_answers "$bin/twoway" keep-both
SHOW=1 check "twoway-static DIR newer: the newer version wins, the older is kept as a version" two_way_answers "$bin/twoway-static" newer
check "twoway DIR source: the source's version wins" two_way_answers "$bin/twoway" source
refuses_bad_policy() {
  local d="$work/tw-bad"
  mkdir -p "$d" && "$bin/twoway" "$d" newest 2>"$d.err"
  [ $? -eq 2 ] && grep -q "invalid-input: unknown conflict policy \"newest\"" "$d.err" && [ ! -e "$d/left" ]
}
check "twoway DIR newest: an unknown policy is refused" refuses_bad_policy

# twoway-cpp LEFT RIGHT STATE POLICY answers from an event callback: one run after edits on
# both sides.
cpp_callback_answers() {
  local d="$work/tw-cpp"
  rm -rf "$d" && mkdir -p "$d/l" "$d/r" && echo v1 > "$d/l/f.txt" && echo r > "$d/r/r.txt" &&
    "$bin/twoway-cpp" "$d/l" "$d/r" "$d/s.sqlite" source >/dev/null 2>"$d.err" &&
    grep -q "answered 0 conflict(s)" "$d.err" && diff -r "$d/l" "$d/r" &&
    printf 'left edit' > "$d/l/f.txt" && printf 'right edit' > "$d/r/f.txt" &&
    "$bin/twoway-cpp" "$d/l" "$d/r" "$d/s.sqlite" source > "$d.json" 2>"$d.err" && cat "$d.err" &&
    grep -q '"status": "ok"' "$d.json" && grep -q "answered 1 conflict(s)" "$d.err" &&
    [ "$(cat "$d/r/f.txt")" = "left edit" ] && diff -r --exclude=.ferrysync "$d/l" "$d/r"
}
SHOW=1 check "twoway-cpp: a callback answers the conflict prompt (source wins)" cpp_callback_answers

# The README sections show these files, and the two-way snippet (the answer_conflicts function
# of examples/c/twoway.c), verbatim.
in_readme() {
  python3 - README.md examples/c/quickstart.c examples/cpp/quickstart.cpp examples/c/twoway.c <<'PY'
import re, sys
readme = open(sys.argv[1]).read()
for path in sys.argv[2:]:
    code = open(path).read()
    if path.endswith("twoway.c"):
        found = re.search(r"^/\* Answers every conflict prompt.*?^}\n", code, re.S | re.M)
        code = found.group(0) if found else "(no answer_conflicts in twoway.c)"
    if code.strip() not in readme:
        sys.exit(f"{path} is not verbatim in {sys.argv[1]}")
PY
}
check "README.md shows the quickstart files and the two-way snippet verbatim" in_readme

# --- valgrind (shared builds) ------------------------------------------------------------
vsrc="$work/vsrc"; make_tree "$vsrc" 20
under_valgrind() { # NAME BINARY ARGS...
  local name=$1; shift
  valgrind --leak-check=full --error-exitcode=1 --suppressions="$root/tests/ffi.supp" \
    --log-file="$work/vg-$name.log" "$@" >/dev/null 2>&1
  local rc=$?
  grep -E "definitely lost|possibly lost|ERROR SUMMARY" "$work/vg-$name.log"
  [ "$rc" -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$work/vg-$name.log" &&
    ! grep -E "definitely lost: [1-9]" "$work/vg-$name.log"
}
SHOW=1 check "valgrind: mirror" under_valgrind mirror "$bin/mirror" "$vsrc" "$work/vdst1"
SHOW=1 check "valgrind: prompt" under_valgrind prompt "$bin/prompt" "$vsrc" "$work/vdst1" no
SHOW=1 check "valgrind: mirror-cpp" under_valgrind mirror-cpp "$bin/mirror-cpp" "$vsrc" "$work/vdst2"
profile_json "$vsrc" "$work/vdst3" > "$work/vprofile.json"
SHOW=1 check "valgrind: quickstart" under_valgrind quickstart "$bin/quickstart" "$work/vprofile.json"
versions_clean() {
  local v="$work/vver"
  version_tree "$v" && under_valgrind versions "$bin/versions" "$v/src" "$v/dst" sub/a.txt &&
    [ "$(cat "$v/dst/sub/a.txt")" = original ]
}
SHOW=1 check "valgrind: versions" versions_clean
twoway_clean() { mkdir -p "$work/vtw" && under_valgrind twoway "$bin/twoway" "$work/vtw" keep-both; }
SHOW=1 check "valgrind: twoway (conflict prompts, state database)" twoway_clean
vtw_cpp() {
  local d="$work/vtw-cpp"
  mkdir -p "$d/l" "$d/r" && echo v1 > "$d/l/f.txt" && "$bin/twoway-cpp" "$d/l" "$d/r" "$d/s.sqlite" newer >/dev/null 2>&1 &&
    printf 'left edit' > "$d/l/f.txt" && printf 'right edit' > "$d/r/f.txt" &&
    under_valgrind twoway-cpp "$bin/twoway-cpp" "$d/l" "$d/r" "$d/s.sqlite" newer &&
    diff -r --exclude=.ferrysync "$d/l" "$d/r"
}
SHOW=1 check "valgrind: twoway-cpp (callback answers)" vtw_cpp
error_path_clean() { # quickstart fails (exit 2) on a missing profile, leaking nothing
  valgrind --leak-check=full --error-exitcode=1 --suppressions="$root/tests/ffi.supp" \
    --log-file="$work/vg-error.log" "$bin/quickstart" "$work/missing.json" >/dev/null 2>&1
  local rc=$?
  grep -E "definitely lost|possibly lost|ERROR SUMMARY" "$work/vg-error.log"
  [ "$rc" -eq 2 ] && grep -q "ERROR SUMMARY: 0 errors" "$work/vg-error.log"
}
SHOW=1 check "valgrind: quickstart on a missing profile (error path)" error_path_clean

finish
