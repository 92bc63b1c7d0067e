#!/usr/bin/env bash
# The whole test suite with every gate. .ci/run calls this; so should you before pushing.
# Each step prints a header; the first failing step fails the run (all steps still run, so
# one run shows every problem), and a summary lists what failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ci/bootstrap.sh
source "$ROOT/ci/bootstrap.sh" test || exit 1
cd "$ROOT"
mkdir -p reports
failed=()
step() {
  local name="$1"; shift
  echo "=== $name: $*"
  if "$@"; then echo "--- $name: ok"; else echo "--- $name: FAILED"; failed+=("$name"); fi
}

step ruff-check    ruff check .
step ruff-format   ruff format --check .
step mypy          mypy --strict poolmgr specgate harness
step imports       lint-imports
step spec-extract  spec-extract --check
step spec-lint     spec-lint
step openapi       python ci/check_openapi.py
step links         spec-links README.md spec specgate/README.md
step pytest        pytest -q -p no:cacheprovider --cucumberjson=reports/pytest-bdd.json
# The chaos soak (bench/soak.py, #12): a real manager, a fault every 2 s, 50 lease clients and a
# prober; any violation fails the step. The 10-minute run's figures: bench/results/soak.json.
step soak          python bench/soak.py --seconds 60 --out reports/soak.json
# The GPU check's no-GPU form (bench/gpu/run.sh --check, #14, OC-GPU-9509): build skipped, small
# models written, every @gpu scenario and GPU test reported skipped with a reason, gpu.json
# validated. The real run needs an NVIDIA GPU: bench/gpu/DEVICE.md.
step gpu-check     bash bench/gpu/run.sh --check reports/gpu-check
step behave        behave  # pyproject.toml [tool.behave]: features/, reports/behave.json, progress
step bdd-gate      bdd-gate --features features --steps harness --behave reports/behave.json --pytest-bdd reports/pytest-bdd.json --glossary spec/glossary/README.md
# The scenarios alone must reject wrong code: a fixed, seeded sample of the decision modules'
# mutants (bench/mutation.py; the full run's figures are in bench/results/mutation.json), then
# each requirement's own scenarios against mutants of the code they run (proof strength).
step mutation      python bench/mutation.py --sample 300 --threshold 90 --out reports/mutation-sample.json
step proof         python bench/proof_strength.py --per-requirement 10 --out reports/proof-strength.json
step trace         spec-trace --require-complete --html reports/traceability.html --proof-strength reports/proof-strength.json --proof-floor 10

if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
