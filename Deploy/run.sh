#!/usr/bin/env bash
# Runs Conduit's main job: installs what is missing, builds the release binary and runs it.
# With arguments, runs `conduit ARGUMENTS…` instead (for example: bash Deploy/run.sh bench transport).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/bootstrap.sh
echo "building conduit (release)…" >&2
swift build -c release --product conduit >&2
binary=".build/release/conduit"
if [ $# -eq 0 ]; then set -- demo; fi
exec "$binary" "$@"
