#!/usr/bin/env bash
# The optional `torch` feature end to end, on the CPU: installs PyTorch 2.13.0 (the libtorch tch
# 0.26 builds against) from PyPI into a venv outside the repository (only when missing), exports a
# small TorchScript MLP and PyTorch's own training of it (scripts/gen-torch-interop-fixtures.py),
# then builds and runs
#   1. the Rust tests of crates/anvil-torch (`cargo test -p anvil-torch --features torch`, see below),
#   2. the addon with `--features torch` into native/torch/ (the default native/ addon is untouched),
#      and scripts/torch-interop.test.ts, which trains the model from TypeScript.
# Never part of the default build, CI or the prebuilt binaries.
#
# Environment: ANVIL_TORCH_VENV (default ~/.cache/anvil/torch-2.13-venv), PYTHON (a Python >= 3.10
# to create it with, default python3). The first run downloads PyTorch with its CUDA wheels
# (about 3 GB: PyPI's Linux torch wheel requires them even on the CPU) and builds libtorch's
# bindings (about 2.5 minutes, 2 GB of memory).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TORCH_VERSION=2.13.0
VENV="${ANVIL_TORCH_VENV:-$HOME/.cache/anvil/torch-2.13-venv}"
step() { printf '\n== torch-interop: %s\n' "$*"; }

has_torch() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$TORCH_VERSION" <<'EOF' 2>/dev/null
import sys, warnings
warnings.filterwarnings('ignore')
import torch
sys.exit(0 if torch.__version__.split('+')[0] == sys.argv[1] else 1)
EOF
}

if has_torch; then
  step "torch $TORCH_VERSION found in $VENV"
else
  step "installing torch==$TORCH_VERSION from PyPI into $VENV"
  [ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "torch==$TORCH_VERSION"
  has_torch || { echo "torch-interop: $VENV/bin/python cannot import torch $TORCH_VERSION after installing it" >&2; exit 1; }
fi

# tch's build script asks the first `python` on PATH where libtorch is (LIBTORCH_USE_PYTORCH);
# the test binaries and the addon find it at run time through LD_LIBRARY_PATH (no rpath is embedded).
export PATH="$VENV/bin:$PATH" LIBTORCH_USE_PYTORCH=1
TORCH_LIB="$(python -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

FIXTURES="$(mktemp -d "${TMPDIR:-/tmp}/anvil-torch-fixtures.XXXXXX")"
trap 'rm -rf "$FIXTURES"' EXIT
export ANVIL_TORCH_FIXTURES="$FIXTURES"
step "exporting the TorchScript model and PyTorch's reference training"
python scripts/gen-torch-interop-fixtures.py "$FIXTURES"

# anvil-torch's tests (`cargo test -p anvil-torch --features torch`), compiled in release and with
# the addon's package selected too, so that dependency features unify as in the addon build below
# and libtorch's C++ bindings (torch-sys) are compiled once for both. The addon has no Rust tests.
step "cargo test --release -p anvil-torch -p anvil-native --features anvil-native/torch"
cargo test --release -p anvil-torch -p anvil-native --features anvil-native/torch -- --nocapture

step "building the addon with --features torch into native/torch/"
OUT="$ROOT/native/torch"
mkdir -p "$OUT"
node node_modules/@napi-rs/cli/dist/cli.js build --platform --release --manifest-path native/Cargo.toml \
  --features torch --output-dir "$OUT" --no-js --dts index.d.ts
# Both variants of the cdylib are written to one file in target/: remove it so the default
# `npm run build:native` links its own (libtorch-free) addon instead of reusing this one.
rm -f target/release/libanvil_native.so target/release/deps/libanvil_native.so
export ANVIL_TORCH_ADDON="$OUT"

step "TypeScript test: scripts/torch-interop.test.ts"
npx vitest run --config scripts/torch-interop.vitest.mts

step "passed (torch $TORCH_VERSION, CPU)"
