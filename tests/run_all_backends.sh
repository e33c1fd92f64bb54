#!/usr/bin/env bash
# Checks the style (ruff lint + format, configured in pyproject.toml), then runs
# the test suite once per Keras backend; fails if the style or any backend fails.
set -u
cd "$(dirname "$0")/.."
status=0
echo "=== ruff"
ruff check . && ruff format --check . || status=1
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider "$@" || status=1
done
exit $status
