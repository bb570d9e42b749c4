#!/usr/bin/env bash
# Proof that rnnlm can be depended on: a crate outside this workspace (its
# own [workspace], a path dependency on rnnlm, Burn as published at the same
# version and features, the same profile), whose main.rs is
# examples/your_own_model.rs, builds and trains.
# Usage: bench/outside_crate.sh [DIR] [training steps]; DIR defaults to a new
# temporary folder. CARGO_TARGET_DIR, where set, is shared with this
# repository's builds, so that Burn is not compiled twice.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d)}
steps=${2:-300}
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "uses-rnnlm"
version = "0.0.0"
edition = "2024"
publish = false

# Not a member of any workspace around it.
[workspace]

[dependencies]
rnnlm = { path = "$repo" }
burn = { version = "=0.22.1", default-features = false, features = ["std", "train", "tui", "autodiff"] }
rand = "0.10"

[profile.dev]
opt-level = 3
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 3
debug = false
debug-assertions = false
overflow-checks = false
TOML
cp "$repo/examples/your_own_model.rs" "$dir/src/main.rs"
# The versions this repository's lock file pins (cargo adds the new root).
cp "$repo/Cargo.lock" "$dir/Cargo.lock"
cd "$dir"
echo "outside crate in $dir"
cargo tree --depth 1 -e normal | sed -n '1,4p'
# Every Burn crate from the registry: none of them with a path.
if cargo tree -e normal --prefix none | grep -E '^burn' | grep -q '(/'; then
  echo "a Burn crate resolves from a path, not the registry:" >&2
  cargo tree -e normal --prefix none | grep -E '^burn' | grep '(/' | sort -u >&2
  exit 1
fi
cargo tree -e normal --prefix none | grep -E '^burn-flex ' | sed 's/ (\*)//' | sort -u
cargo run -- "$steps"
