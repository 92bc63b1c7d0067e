#!/usr/bin/env bash
# The main job: run the behaviour suite with the behave CLI against the reference
# implementation (embedded defaults, no GPU needed) and write the traceability report.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ci/bootstrap.sh
source "$ROOT/ci/bootstrap.sh"
cd "$ROOT"
mkdir -p reports
status=0
behave --no-capture -f specgate.behave_formatter:PrettyJSONFormatter -o reports/behave.json -f progress features "$@" \
  || status=$?
spec-trace --results reports/behave.json --html reports/traceability.html || status=$((status | $?))
echo "main: traceability report: reports/traceability.html"
exit "$status"
