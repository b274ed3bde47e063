# Sourced by .ci/run (and usable by hand): puts CUDA 13.0's NVRTC, from NVIDIA's PyPI wheel, on
# LD_LIBRARY_PATH, so `cargo test` compiles every CUDA kernel even on a machine without a GPU.
# 13.0 because PTX from a newer NVRTC does not load on a CUDA 13.0 driver. Cached outside the repo.
anvil_nvrtc_dir="${ANVIL_NVRTC_DIR:-$HOME/.cache/anvil/nvrtc-13.0}"
if [ ! -e "$anvil_nvrtc_dir/nvidia/cu13/lib/libnvrtc.so.13" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$anvil_nvrtc_dir" "nvidia-cuda-nvrtc==13.0.88" || echo "ensure-nvrtc: could not install NVRTC (the kernel compile test will say so)" >&2
fi
export LD_LIBRARY_PATH="$anvil_nvrtc_dir/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
