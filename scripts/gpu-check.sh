#!/usr/bin/env bash
# Every GPU check in one call, on a machine with an NVIDIA GPU and its driver:
#   - the inferwarden-cuda tests with INFERWARDEN_GPU=1: a device is required, the frame
#     kernels (NVRTC, run time) give the CPU path's bytes for every dtype, layout, kernel and
#     edge value, device-resident buffers, concurrent callers; the probe finds the device;
#   - pytest's frame tests with INFERWARDEN_GPU=1 (numpy in, device="cuda", numpy out; tensors
#     in device memory through DLPack and __cuda_array_interface__, made with the driver API,
#     and torch or cupy when that Python has them; frames kept on the device) and
#     benches/python/bench_frames.py (numpy vs the CPU path vs device="cuda");
#   - `inferwarden probe` (text and --json, with the NVML view);
#   - the GPU bench (benches/src/bin/gpu_bench.rs): probe vs nvidia-smi, copy bandwidth,
#     kernel throughput and its share of it, host round trip vs the CPU path. Its table goes
#     to BENCHMARKS.md by hand, with the machine and date.
#
# Usage:
#   scripts/gpu-check.sh                  build here (cargo, maturin) and run everything
#   scripts/gpu-check.sh --bundle DIR     build only: copy the test binaries, the bench, the CLI
#                                         and the wheel into DIR (for a GPU machine with no
#                                         Rust toolchain; build on the same CPU architecture)
#   scripts/gpu-check.sh --from DIR       run a bundle made by --bundle
# Options: --out DIR (also write each step's log there). Exit status: non-zero when any step
# failed; every step runs regardless, so one call shows everything.
#
# NVRTC: $INFERWARDEN_NVRTC_DIR, else the test venv's nvidia-cuda-nvrtc wheel, the CUDA
# toolkit (/usr/local/cuda) or any Python's nvidia wheels; the first libnvrtc found is linked
# as libnvrtc.so in a temporary directory put first on LD_LIBRARY_PATH (cudarc loads it by
# that name).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

mode=local
bundle=""
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) mode=bundle; bundle="$2"; shift 2 ;;
    --from) mode=from; bundle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

# Test executables of the cuda crate (release), from cargo's JSON messages.
build_bins() {
  local dest="$1"
  mkdir -p "$dest"
  cargo test --release --locked -p inferwarden-cuda --features nvml --no-run --message-format=json |
    python3 -c '
import json, shutil, sys
dest = sys.argv[1]
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        name = m["target"]["name"].replace("-", "_")
        shutil.copy(m["executable"], f"{dest}/test_{name}")
        print("built", name)
' "$dest" || return 1
  cargo build --release --locked -q -p inferwarden-benches --bin gpu_bench || return 1
  cargo build --release --locked -q -p inferwarden-cli || return 1
  cp target/release/gpu_bench target/release/inferwarden "$dest/"
  scripts/setup-python.sh --release >/dev/null || return 1
  cp target/wheels/inferwarden-*.whl "$dest/"
  mkdir -p "$dest/py" && cp tests/python/test_frames.py tests/python/test_dlpack.py \
    tests/python/test_device_frames.py tests/python/dlpack_producers.py benches/python/bench_frames.py "$dest/py/"
  strip "$dest"/test_* "$dest/gpu_bench" "$dest/inferwarden" 2>/dev/null || true
}

if [[ $mode == bundle ]]; then
  build_bins "$bundle"
  exit $?
fi
if [[ $mode == local ]]; then
  bundle="$root/target/gpu-check"
  rm -rf "$bundle"
  build_bins "$bundle" || { echo "build failed" >&2; exit 1; }
fi
bundle="$(cd "$bundle" && pwd)"

# NVRTC.
nvrtc=""
candidates=("${INFERWARDEN_NVRTC_DIR:-}" "$root"/.venv/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib
  /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
for py in python3 /opt/*/.venv/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)" || continue
  candidates+=("$site"/nvidia/cuda_nvrtc/lib "$site"/nvidia/cu1*/lib)
done
for d in "${candidates[@]}"; do
  [[ -n "$d" && -d "$d" ]] || continue
  lib="$(ls "$d"/libnvrtc.so* 2>/dev/null | grep -v builtins | head -1)"
  if [[ -n "$lib" ]]; then nvrtc="$lib"; break; fi
done
link_dir="$(mktemp -d)"
if [[ -n "$nvrtc" ]]; then
  ln -s "$nvrtc" "$link_dir/libnvrtc.so"
  export LD_LIBRARY_PATH="$link_dir:$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "NVRTC: $nvrtc"
else
  echo "NVRTC: not found (set INFERWARDEN_NVRTC_DIR)"
fi
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [[ -d $d ]] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
done
export INFERWARDEN_GPU=1 INFERWARDEN_REQUIRE_NVRTC=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4

# shellcheck source=scripts/step.sh
source "$root/scripts/step.sh"

for t in "$bundle"/test_*; do
  step "$(basename "$t")" "$t" --test-threads=1
done
step probe "$bundle/inferwarden" probe
step probe-json "$bundle/inferwarden" probe --json
py=""
for p in "$root/.venv/bin/python" python3; do
  if "$p" -c 'import numpy, pytest' 2>/dev/null; then py="$p"; break; fi
done
if [[ -n "$py" ]]; then
  site="$(mktemp -d)"
  "$py" -m pip install -q --no-deps --no-index --target "$site" "$bundle"/inferwarden-*.whl &&
    step pytest-frames env PYTHONPATH="$site" "$py" -m pytest -q -p no:cacheprovider -rs \
      "$bundle/py/test_frames.py" "$bundle/py/test_dlpack.py" "$bundle/py/test_device_frames.py"
  step python-frames-bench env PYTHONPATH="$site" "$py" "$bundle/py/bench_frames.py"
else
  echo "no Python with numpy and pytest: pytest step not run"; failed+=(pytest-missing)
fi
step gpu-bench "$bundle/gpu_bench"

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "GPU check FAILED: ${failed[*]}"
  exit 1
fi
echo "GPU check passed"
