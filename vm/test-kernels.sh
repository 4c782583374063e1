#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the engine checks under the default kernel of several Debian suites
# and under kernel settings that forbid what the engines need, each in its
# own QEMU guest (vm/run.sh). Prints one line per case and exits non-zero
# when any case fails.
#
# Usage: vm/test-kernels.sh BUILD_DIR [SUITE...]   (default: bullseye bookworm trixie)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: test-kernels.sh BUILD_DIR [SUITE...]}" && pwd)
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie)

# case name | kernel parameters | check script (run as root in the guest)
cases=(
    "default||engines.sh"
    "userns-off|sysctl.user.max_user_namespaces=0|userns-off.sh"
    "ptrace-off|sysctl.kernel.yama.ptrace_scope=3|ptrace-off.sh"
)

failed=0
for suite in "${suites[@]}"; do
    for c in "${cases[@]}"; do
        IFS='|' read -r name append script <<<"$c"
        log=$(mktemp)
        if "$here/run.sh" --suite "$suite" --append "$append" -- \
            bash "$here/checks/$script" "$build" >"$log" 2>&1; then
            echo "PASS $suite $name"
        else
            rc=$?
            if [ "$rc" -eq 77 ]; then
                echo "SKIP $suite $name: $(tail -n 1 "$log")"
            else
                echo "FAIL $suite $name (exit $rc)"
                sed 's/^/    | /' "$log" | tail -n 40
                failed=1
            fi
        fi
        rm -f "$log"
    done
done
exit $failed
