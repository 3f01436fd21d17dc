#!/usr/bin/env bash
# THE test command of ferrysync: installs what the tests need (idempotently), builds
# everything, and runs every test. Usage: tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "tools"
need=()
for tool in rsync unzip 7z diff; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing packages for: ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    rsync unzip zip p7zip-full diffutils >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 2; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo test --workspace"
cargo test --workspace --all-targets
cargo test --workspace --doc

step "acceptance: ferry mirror, diff -r, rsync -ani, ferry plan"
bash tests/acceptance.sh

echo
echo "tests/run.sh: all green"
