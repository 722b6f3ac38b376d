#!/usr/bin/env bash
# Runs Conduit's whole test suite: installs what is missing, then `swift test`.
# Extra arguments go to `swift test` (for example: bash Deploy/test.sh --filter ZeroMQTests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/bootstrap.sh --tests
exec swift test "$@"
