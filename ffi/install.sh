#!/usr/bin/env bash
# Builds the C library in release mode and installs it under PREFIX:
#   PREFIX/lib/libferrysync.{a,so}, PREFIX/include/ferrysync.h,
#   PREFIX/lib/pkgconfig/ferrysync.pc
# then runs ldconfig when PREFIX/lib is a folder the loader searches and we are root (or
# says how programs find the shared library otherwise).
# Usage: ffi/install.sh PREFIX   (honours CARGO_TARGET_DIR)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
prefix="$(cd "$1" && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

(cd "$root" && cargo build --quiet -p ferrysync-ffi --release)
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
[ -n "$version" ] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 "$target/release/libferrysync.a" "$prefix/lib/"
install -m 755 "$target/release/libferrysync.so" "$prefix/lib/"
install -m 644 "$root/include/ferrysync.h" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" \
  "$root/ffi/ferrysync.pc.in" > "$prefix/lib/pkgconfig/ferrysync.pc"
echo "installed ferrysync $version into $prefix"

# A program linked with -lferrysync finds libferrysync.so at run time through the loader's
# cache: refresh it when the loader searches $prefix/lib (a system prefix such as /usr/local),
# otherwise say how programs find the library.
libdir="$prefix/lib"
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
if [ -x "$ldconfig" ] && "$ldconfig" -vN 2>/dev/null | cut -d: -f1 | grep -qxF "$libdir"; then
  if [ "$(id -u)" -eq 0 ]; then
    "$ldconfig"
    echo "ran ldconfig: programs linked with -lferrysync find $libdir/libferrysync.so"
  else
    echo "note: run 'sudo ldconfig' so that programs linked with -lferrysync find $libdir/libferrysync.so"
  fi
else
  echo "note: the loader does not search $libdir: link programs with -Wl,-rpath,$libdir"
  echo "      (or run them with LD_LIBRARY_PATH=$libdir)"
fi
