#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds udocker and runs every test: unit tests, fuzz-corpus replays and the
# integration suite (a real registry on 127.0.0.1, engines as a non-root user).
# Usage: scripts/test.sh [BUILD_DIR] [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${1:-build}
shift || true
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
