#!/usr/bin/env bash
# The main job: run the behaviour suite with the behave CLI against the reference
# implementation (embedded defaults, no GPU needed) and write the traceability report.
# It installs only the runtime set (ci/bootstrap.sh main: no dev tools, no llama-server build,
# no Debian packages). behave's settings (features/, the JSON report in reports/behave.json,
# progress on the console, no capture) are in pyproject.toml [tool.behave]; extra arguments go
# to behave: bash ci/main.sh --tags=@OC-POOL-3011
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ci/bootstrap.sh
source "$ROOT/ci/bootstrap.sh" main
cd "$ROOT"
mkdir -p reports
status=0
behave "$@" \
  || status=$?
spec-trace --results reports/behave.json --html reports/traceability.html || status=$((status | $?))
echo "main: traceability report: reports/traceability.html"
exit "$status"
