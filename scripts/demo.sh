#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job on an embedded default, with no internet: build udocker, build
# a busybox image from Debian's busybox-static, serve it from Debian's
# docker-registry on 127.0.0.1, then pull it, list it, create a container
# from it and run commands in it with the engines this host allows.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bash scripts/deps.sh
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target udocker >/dev/null
udocker_bin=$top/$build/apps/udocker/udocker
[ -x "$udocker_bin" ] || { echo "demo: udocker did not build" >&2; exit 1; }

work=$(mktemp -d /tmp/udocker-demo-XXXXXX)
reg_pid=
cleanup() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A registry on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== building a busybox image from Debian's busybox-static and pushing it to 127.0.0.1:$port"
python3 integration/lib/mkimage.py push busybox --cache "$work/cache" \
  --registry "http://127.0.0.1:$port" --repo demo/busybox --tag latest >/dev/null

# udocker refuses to run as root unless told; the demo may run as root.
ud=("$udocker_bin")
[ "$(id -u)" -eq 0 ] && ud+=(--allow-root)
export UDOCKER_DIR=$work/udocker
# Echo each command as one could type it (words with spaces or shell
# characters in single quotes), then run it.
run() {
  local a line='$ udocker'
  for a in "$@"; do
    case $a in
    *[[:space:]\"\$\;\>\<\|\&]*) line+=" '$a'" ;;
    *) line+=" $a" ;;
    esac
  done
  echo "$line"
  "${ud[@]}" "$@"
}

run --insecure pull "127.0.0.1:$port/demo/busybox:latest"
run images -l
id=$(run create --name=demo "127.0.0.1:$port/demo/busybox:latest" | tail -n 1)
run ps -m
run inspect -p demo
root=$("${ud[@]}" inspect -p demo)
echo "== the container's root: $root"
ls "$root"
echo "== $root/bin/busybox is $(stat -c %s "$root/bin/busybox") bytes"
run verify "127.0.0.1:$port/demo/busybox:latest"
echo "== running commands in the container (the mode is chosen for this host)"
run run demo /bin/sh -c 'echo "hello from $(uname -s) $(uname -m)"; id'
mkdir -p "$work/share"
run run --nobanner -v "$work/share:/share" demo /bin/sh -c 'echo written inside >/share/note'
echo "== on the host: $(cat "$work/share/note")"
for mode in R1 P1; do
  if run setup --execmode=$mode demo; then
    run run --nobanner demo /bin/sh -c "echo \"in mode \$container_execmode: \$(ls / | wc -l) entries in /\""
  fi
done
run run --nobanner demo /bin/sh -c 'exit 3' || echo "== exit status passed through: $?"
run rm "$id"
run rmi "127.0.0.1:$port/demo/busybox:latest"
echo "== demo finished"
