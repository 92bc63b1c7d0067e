#!/usr/bin/env bash
# The GPU check (OC-GPU-9509, issue #14): one script, one NVIDIA GPU, no network.
#
#   bench/gpu/run.sh [--check] [--llama-src PATH] [--work DIR] OUT_DIR
#
# 1. builds llama.cpp's CUDA llama-server (only that target, -DGGML_CUDA=ON
#    -DCMAKE_CUDA_ARCHITECTURES=90, all cores) from PATH: a folder or a .tar.* of the llama.cpp
#    source (default .gpu-carry/llama.cpp.tar.xz, made by bench/gpu/prepare_carry.sh);
# 2. writes the models with the gguf package (bench/gpu/models.py), while the build runs;
# 3. runs every @gpu scenario (behave --tags=@gpu) and every GPU test (pytest tests/gpu)
#    against the built binary;
# 4. writes OUT_DIR/gpu.json (device, driver and CUDA versions from NVML, the date, each
#    figure; bench/gpu/collect.py validates it) and OUT_DIR/gpu.log, plus the scenario and
#    test reports. Exit 0 only when every step worked.
#
# --check: the no-GPU form, part of ci/test.sh. The build is skipped (and says so), the models
# are written small, the same scenarios and tests run and must all be reported SKIPPED with a
# reason (NVML lists no GPU), and gpu.json is marked "check": true with every figure null and
# the reason. Work files (models, the build) go to --work DIR (default OUT_DIR/work).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
usage() { echo "usage: bench/gpu/run.sh [--check] [--llama-src PATH] [--work DIR] OUT_DIR" >&2; exit 2; }

check=0
src="${POOLMGR_GPU_LLAMA_SRC:-$ROOT/.gpu-carry/llama.cpp.tar.xz}"
work=""
out=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --llama-src) [ "$#" -ge 2 ] || usage; src="$2"; shift ;;
    --work) [ "$#" -ge 2 ] || usage; work="$2"; shift ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out="$1" ;;
  esac
  shift
done
[ -n "$out" ] || usage
mkdir -p "$out" || { echo "run.sh: cannot make $out" >&2; exit 2; }
out="$(cd "$out" && pwd)"
work="${work:-$out/work}"
mkdir -p "$work" || { echo "run.sh: cannot make $work" >&2; exit 2; }
work="$(cd "$work" && pwd)"
rm -f "$out"/gpu.json "$out"/gpu.log "$work"/figures.jsonl "$work"/memory_model.json \
  "$work"/build.json "$work"/behave-gpu.json "$work"/pytest-gpu.xml "$work"/cuda-libdir
exec > >(tee -a "$out/gpu.log") 2>&1

# The Python that runs the manager, the scenarios and the tests: the project's venv where there
# is one, else python3 (the GPU machine's image), with the carried wheels installed if needed.
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY="python3"; fi
fi
wheels="$ROOT/.gpu-carry/wheels"
needs='import behave, pytest_bdd, fastapi, uvicorn, gguf, jsonschema, pynvml, psutil'
if ! "$PY" -c "$needs" 2>/dev/null && [ -d "$wheels" ]; then
  site="${TMPDIR:-/tmp}/poolmgr-gpu-site"
  echo "run.sh: installing the carried wheels into $site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$wheels"/*.whl || { echo "run.sh: the carried wheels did not install"; exit 1; }
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  # The harness starts its managers with PYTHONPATH set to the repo alone: a .pth file of the
  # interpreter puts the carried packages first for every process it runs (a throwaway machine).
  purelib="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  printf 'import sys; sys.path.insert(0, "%s")\n' "$site" >"$purelib/poolmgr-gpu-site.pth" \
    || echo "run.sh: warning: cannot write $purelib/poolmgr-gpu-site.pth; managers may lack packages"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PY" -c "$needs" || { echo "run.sh: $PY lacks the packages the run needs"; exit 1; }

# The whole run stays within POOLMGR_GPU_BUDGET_S (default 540 s = 9 minutes, the issue's
# bound): the build gets what the later steps leave it; each later step what is left.
budget="${POOLMGR_GPU_BUDGET_S:-540}"
left() { local n=$((budget - SECONDS - ${1:-0})); [ "$n" -gt 20 ] && echo "$n" || echo 20; }

failed=()
step() {
  local name="$1"; shift
  echo "=== $name: $*"
  local began=$SECONDS
  if "$@"; then echo "--- $name: ok ($((SECONDS - began)) s)"; else echo "--- $name: FAILED ($((SECONDS - began)) s)"; failed+=("$name"); fi
}
mode="the full run"; [ "$check" = 1 ] && mode="--check (no GPU)"
echo "run.sh: $mode on $(hostname), $(nproc) cores, $("$PY" --version 2>&1), $(date -u +%FT%TZ)"

# --- 1. build (in the background of the model writing) ------------------------------------
build_dir="$work/llama-build"
binary="$build_dir/bin/llama-server"
# CMake's FindCUDAToolkit wants cuBLAS and the driver library (libcuda) beside nvcc. A toolkit
# without them (a compiler-only install, as on this project's dev machine) gets them from the
# NVIDIA pip wheels of the Python at hand (nvidia-cublas, as PyTorch images carry) and from the
# driver's own libcuda: the cache variables below name the files, and -I their headers.
cuda_hints() {
  local nvcc cuda_home found lib
  nvcc="$(command -v nvcc)" || { echo "build: no nvcc on PATH" >&2; return 1; }
  cuda_home="$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)"
  if [ ! -f "$cuda_home/include/cublas_v2.h" ]; then
    found="$("$PY" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' \
      | sort -u | while read -r dir; do [ -d "$dir/nvidia" ] && find "$dir/nvidia" -name cublas_v2.h; done | head -1)"
    [ -n "$found" ] || { echo "build: no cuBLAS headers in $cuda_home or in $PY's nvidia wheels" >&2; return 1; }
    lib="$(dirname "$(dirname "$found")")/lib"
    echo "-DCMAKE_CUDA_FLAGS=-I$(dirname "$found")" "-DCMAKE_CXX_FLAGS=-I$(dirname "$found")"
    echo "-DCUDA_cublas_LIBRARY=$(ls "$lib"/libcublas.so* | head -1)"
    echo "-DCUDA_cublasLt_LIBRARY=$(ls "$lib"/libcublasLt.so* | head -1)"
    echo "LIBDIR=$lib"
  fi
  if ! ls "$cuda_home"/lib64/libcuda.so* "$cuda_home"/lib64/stubs/libcuda.so* >/dev/null 2>&1; then
    found="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so/ {print $NF; exit}')"
    [ -n "$found" ] || found="$(ls /usr/local/nvidia/lib64/libcuda.so* /usr/lib/x86_64-linux-gnu/libcuda.so* 2>/dev/null | head -1)"
    [ -n "$found" ] || { echo "build: no libcuda (the NVIDIA driver's library) found" >&2; return 1; }
    echo "-DCUDA_cuda_driver_LIBRARY=$found"
  fi
}

build() {
  local began=$SECONDS tree="$src"
  if [ -f "$src" ]; then
    tree="$work/llama.cpp"
    rm -rf "$tree" && mkdir -p "$tree" && tar -xf "$src" -C "$tree" --strip-components=1 || return 1
  fi
  [ -f "$tree/CMakeLists.txt" ] || { echo "build: no llama.cpp source at $src"; return 1; }
  local gen=() hints=() line
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  local hint_lines
  hint_lines="$(cuda_hints)" || return 1
  while IFS= read -r line; do
    case "$line" in
      LIBDIR=*) echo "${line#LIBDIR=}" >"$work/cuda-libdir" ;;
      ?*) hints+=("$line") ;;
    esac
  done <<<"$(printf '%s\n' $hint_lines)"
  [ "${#hints[@]}" -eq 0 ] || echo "build: CUDA library hints: ${hints[*]}"
  # No UI download (no network), no OpenSSL, no tests: only what llama-server needs.
  cmake -S "$tree" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "${hints[@]}" >"$work/cmake-configure.log" 2>&1 \
    || { tail -40 "$work/cmake-configure.log"; return 1; }
  cmake --build "$build_dir" --target llama-server -j"$(nproc)" >"$work/cmake-build.log" 2>&1 \
    || { tail -60 "$work/cmake-build.log"; return 1; }
  [ -x "$binary" ] || { echo "build: no $binary after the build"; return 1; }
  printf '{"skipped": false, "reason": null, "seconds": %s, "binary": "%s"}\n' \
    "$((SECONDS - began))" "$binary" >"$work/build.json"
}
if [ "$check" = 1 ]; then
  echo "=== build: SKIPPED (--check: no GPU and no CUDA toolkit needed; the full run builds llama-server)"
  echo '{"skipped": true, "reason": "--check: the CUDA build runs only on a GPU machine", "seconds": null, "binary": null}' >"$work/build.json"
else
  echo "=== build: llama-server from $src (log: $work/cmake-build.log)"
  timeout "$(left 150)" bash -c "$(declare -f cuda_hints build); PY='$PY' src='$src' work='$work' build_dir='$build_dir' binary='$binary' build" &
  build_pid=$!
fi

# --- 2. models ------------------------------------------------------------------------------
small=(); [ "$check" = 1 ] && small=(--small)
step models timeout "$(left 200)" "$PY" "$ROOT/bench/gpu/models.py" "$work/models" "${small[@]}"

if [ "$check" != 1 ]; then
  began=$SECONDS
  if wait "$build_pid"; then echo "--- build: ok (waited $((SECONDS - began)) s after the models)"
  else echo "--- build: FAILED"; failed+=(build); fi
fi

# --- 3. the @gpu scenarios and the GPU tests ---------------------------------------------------
# cuBLAS from a pip wheel (cuda_hints) is found at run time through LD_LIBRARY_PATH.
if [ -f "$work/cuda-libdir" ]; then
  export LD_LIBRARY_PATH="$(cat "$work/cuda-libdir")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export POOLMGR_GPU_LLAMA_SERVER="$binary" POOLMGR_GPU_MODELS="$work/models" POOLMGR_GPU_RESULTS="$work"
scenarios() {
  # behave writes its JSON report to reports/ of its folder ([tool.behave]): run it in a copy of
  # the repo root made of links, so the repo's own reports/behave.json is never overwritten.
  local mirror="$work/behave-root"
  rm -rf "$mirror" && mkdir -p "$mirror" || return 1
  local name
  for name in pyproject.toml environment.py features steps harness poolmgr specgate; do
    ln -s "$ROOT/$name" "$mirror/$name" || return 1
  done
  (cd "$mirror" && PYTHONPATH="$mirror:$PYTHONPATH" timeout "$(left 75)" "$PY" -m behave --tags=@gpu \
    --no-capture -f progress -o "$work/behave-gpu.txt")
  local rc=$?
  grep -h "features/gpu/" "$work/behave-gpu.txt" 2>/dev/null
  cp "$mirror/reports/behave.json" "$work/behave-gpu.json" || return 1
  return "$rc"
}
step scenarios scenarios
# pytest runs the GPU tests; in --check also the @gpu scenarios under pytest-bdd, to show both
# runners skip them with the reason (OC-GPU-9510); the full run runs the scenarios once, in behave.
bdd=(); [ "$check" = 1 ] && bdd=("$ROOT/tests/bdd/test_features.py")
# Only the plugins the run needs: a GPU image's own pytest plugins may not match the carried pytest.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
step tests bash -c 'cd "$1" && shift && exec "$@"' _ "$ROOT" timeout "$(left 10)" "$PY" -m pytest -q \
  -p pytest_bdd.plugin -p no:cacheprovider -rs -m gpu --junitxml="$work/pytest-gpu.xml" tests/gpu "${bdd[@]}"

# --- 4. gpu.json --------------------------------------------------------------------------
check_flag=(); [ "$check" = 1 ] && check_flag=(--check)
command_line="bench/gpu/run.sh${check_flag[*]:+ ${check_flag[*]}} OUT_DIR"
step gpu.json "$PY" "$ROOT/bench/gpu/collect.py" "$work" "$out/gpu.json" "${check_flag[@]}" \
  --command "$command_line"
for name in behave-gpu.json pytest-gpu.xml memory_model.json figures.jsonl; do
  [ -f "$work/$name" ] && cp "$work/$name" "$out/$name"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "run.sh: FAILED steps: ${failed[*]} (see $out/gpu.log)"
  exit 1
fi
echo "run.sh: every step worked; $out/gpu.json"
