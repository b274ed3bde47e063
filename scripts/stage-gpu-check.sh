#!/usr/bin/env bash
# Prepares `.device/` (ignored by git) for scripts/gpu-check.sh on a GPU machine that has no
# network, no Rust and maybe no Node: the release CUDA and NCCL test binaries, the bench binary, a copy of the
# conformance cases, the built package with its runtime dependencies, and this machine's Node
# (compressed; used only when the GPU machine has none). Run here after `npm run build`:
#   bash scripts/stage-gpu-check.sh [cases dir, default ../shared/conformance/cases]
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-../shared/conformance/cases}"
d=.device
# Keep the compressed Node between stagings (compressing takes minutes on 2 cores).
[ -f "$d/node.xz" ] && mv "$d/node.xz" /tmp/anvil-node.xz
rm -rf "$d" && mkdir -p "$d/app"
[ -f /tmp/anvil-node.xz ] && [ /tmp/anvil-node.xz -nt "$(command -v node)" ] && mv /tmp/anvil-node.xz "$d/node.xz"
# The GPU tests of crates/anvil-cuda (run there with --include-ignored) and the bench binary.
test_bin=$(cargo test -p anvil-cuda --release --test gpu --no-run --message-format=json 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const m=JSON.parse(l);if(m.executable&&m.target.name==="gpu")console.log(m.executable)}catch{}}})')
cargo build -p anvil-cuda --release --example bench_cuda -q
cp "$test_bin" "$d/gpu-tests" && cp target/release/examples/bench_cuda "$d/bench_cuda"
# anvil-dist's NCCL tests (every collective in a world of one GPU, directly and through the comm thread).
nccl_bin=$(cargo test -p anvil-dist --features nccl --release --lib --no-run --message-format=json 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const m=JSON.parse(l);if(m.executable&&m.target.name==="anvil_dist")console.log(m.executable)}catch{}}})')
cp "$nccl_bin" "$d/nccl-tests" && cp scripts/nccl-smoke.mjs "$d/"
strip "$d/gpu-tests" "$d/bench_cuda" "$d/nccl-tests"
cp -r "$cases" "$d/cases"
# The package as npm would install it, runtime dependencies only.
[ -f dist/cli.js ] || { echo "stage-gpu-check: run 'npm run build' first" >&2; exit 1; }
cp -r package.json dist "$d/app/" && mkdir -p "$d/app/native" && cp native/index.js native/*.node "$d/app/native/"
(cd "$d/app" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
[ -f "$d/node.xz" ] || xz -T2 -6 -c "$(command -v node)" > "$d/node.xz"
du -sh "$d"
