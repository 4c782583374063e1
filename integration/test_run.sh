#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# udocker run, the core (reference 1.4, 6.1, 6.2, 6.6): the banner and
# --nobanner/-q, exit codes (0, 1, 42, 128+N when the process kills
# itself), signals forwarded to the container, stdin, stdout and stderr kept
# apart, command not found (127), --entrypoint, run from an image (a new
# container each time, --name, --pull=never, --pull=reuse), --rm,
# --location, setup printing and changing the mode, ps -m. Runs in the
# first of R1, P1 that works here (UD_IT_RUN_MODE overrides).
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
# shellcheck source=lib/rootfs.sh
. "$(dirname "$0")/lib/rootfs.sh"
# shellcheck source=lib/run.sh
. "$(dirname "$0")/lib/run.sh"
it_init "${1:-}"
need_run
rootfs_busybox c1
C1=$RF_ID
pick_run_mode c1
M=$RUN_MODE
# New containers get the mode of the tests through the repository's
# configuration file.
CONF=$REPO/udocker.conf
printf '[DEFAULT]\noverride_default_execution_mode = %s\n' "$M" >"$CONF"
[ "$(id -u)" = 0 ] && chown udtest: "$CONF"

# --- setup and ps -m --------------------------------------------------------
ud setup c1
expect_rc 0
expect_stdout_line "execmode: $M"
expect_stdout_line "nvidiamode: False"
ud ps -m
expect_rc 0
expect_stdout_match "^$C1 +\. W $M "
ud setup --execmode=Z9 c1
expect_error "invalid execmode"
ud setup c1
expect_stdout_line "execmode: $M"
ud setup --execmode=bogus nosuchcontainer
expect_rc nonzero
# Valid upstream modes this implementation has no engine for.
for x in F1 F3 S1; do
    ud setup --execmode=$x c1
    expect_error "$x"
done
ud setup c1
expect_stdout_line "execmode: $M"
ud protect c1
ud setup --execmode=P2 c1
expect_error "container is protected"
ud unprotect c1
ud setup c1
expect_stdout_line "execmode: $M"
# Lower case is accepted; the same mode again is a no-op.
ud setup --execmode="${M,,}" c1
expect_rc 0
expect_stdout_empty
ud setup c1
expect_stdout_line "execmode: $M"

# --- banner -----------------------------------------------------------------
BC=$(banner_char "$M")
ud run c1 /bin/echo hello
expect_rc 0
expect_stdout_line hello
expect_stdout_contains "STARTING $C1"
expect_stdout_match "^ *executing: echo *\$"
line78=$(printf "%78s" "" | tr ' ' "$BC")
expect_stdout_contains "$line78"
ud run --nobanner c1 /bin/echo hello
expect_rc 0
check "--nobanner: only the output" [ "$(cat "$UD_OUT_FILE")" = hello ]
ud -q run c1 /bin/echo hello
expect_rc 0
check "-q: only the output" [ "$(cat "$UD_OUT_FILE")" = hello ]

# --- exit codes ---------------------------------------------------------------
for code in 0 1 42; do
    ud run --nobanner c1 /bin/sh -c "exit $code"
    expect_rc "$code"
done
ud run --nobanner c1 /bin/false
expect_rc 1
# Killed by a signal: udocker exits (it is not killed) with 128+N.
ud_status run --nobanner c1 /bin/sh -c 'kill -TERM $$'
expect_status "exit 143"
ud_status run --nobanner c1 /bin/sh -c 'kill -KILL $$'
expect_status "exit 137"
ud_status run --nobanner c1 /bin/sh -c 'kill -USR1 $$'
expect_status "exit 138"

# --- command not found, entrypoint fallback ----------------------------------
# Exit 127, as a shell does (upstream exits 2), with one Error line.
ud_missing run --nobanner c1 /no/such/cmd
ud_missing run --nobanner c1 nosuchcommand arg
expect_stderr_contains "nosuchcommand"
ud_missing run --nobanner c1 /etc/passwd
ud_missing run --nobanner c1 /tmp

# --- stdin, stdout and stderr ------------------------------------------------
printf 'hi\n' >"$IT_WORK/stdin.txt"
UD_STDIN=$IT_WORK/stdin.txt ud run --nobanner c1 cat
expect_rc 0
check "stdin reaches the container" [ "$(cat "$UD_OUT_FILE")" = hi ]
head -c 3000000 /dev/urandom >"$IT_WORK/big.bin"
UD_STDIN=$IT_WORK/big.bin ud run --nobanner c1 /bin/sh -c 'cat | md5sum'
expect_rc 0
check "3 MB through stdin and stdout intact" [ "$(cut -d' ' -f1 "$UD_OUT_FILE")" = "$(md5sum <"$IT_WORK/big.bin" | cut -d' ' -f1)" ]
UD_STDIN=$IT_WORK/big.bin ud run --nobanner c1 cat
check "3 MB binary stdout unchanged" cmp -s "$UD_OUT_FILE" "$IT_WORK/big.bin"
ud run --nobanner c1 /bin/sh -c 'echo to-out; echo to-err >&2; exit 3'
expect_rc 3
expect_stdout_line to-out
expect_stdout_lacks to-err
expect_stderr_contains to-err
ud run --nobanner c1 /bin/sh -c 'printf "no newline"'
check "output without a final newline kept as is" [ "$(cat "$UD_OUT_FILE")" = "no newline" ]
ud run --nobanner c1 /bin/sh -c 'echo "$#:$1:$2:$3"' sh 'a b' '' '$HOME'
expect_stdout_line '3:a b::$HOME'
# Options after the target belong to the command (reference 10.1).
ud run --nobanner c1 /bin/echo --rm -v x --
expect_stdout_line "--rm -v x --"

# --- signals forwarded --------------------------------------------------------
SIGVOL=$IT_U/sigvol
mkdir -p "$SIGVOL"
[ "$(id -u)" = 0 ] && chown udtest: "$SIGVOL"
for sig in TERM HUP USR1; do
    rm -f "$SIGVOL/ready"
    code=$((${#sig} + 4))
    ud_bg run --nobanner -v "$SIGVOL:/sig" c1 /bin/sh -c \
        "trap 'exit $code' $sig; touch /sig/ready; sleep 100 & wait"
    if wait_file "$SIGVOL/ready" 30; then
        kill -s "$sig" "$BG_PID"
        bg_wait 20
        check "SIG$sig to udocker reaches the container (exit $code, got $BG_RC)" [ "$BG_RC" = "$code" ]
    else
        kill -9 "$BG_PID"
        bg_wait 5
        fail "SIG$sig: the container never started: $(head -c 300 "$IT_WORK/bg.err")"
    fi
done
# The container is gone once udocker returns: no orphan keeps the volume busy.
rm -f "$SIGVOL/ready"
ud_bg run --nobanner -v "$SIGVOL:/sig" c1 /bin/sh -c 'touch /sig/ready; exec sleep 100'
if wait_file "$SIGVOL/ready" 30; then
    kill -TERM "$BG_PID"
    bg_wait 20
    check "SIGTERM ends a process without a handler (143, got $BG_RC)" [ "$BG_RC" = 143 ]
else
    fail "the container never started: $(head -c 300 "$IT_WORK/bg.err")"
fi

# --- entrypoint ---------------------------------------------------------------
rootfs_cfgimage ent '{"Entrypoint": ["/bin/echo", "ep"], "Cmd": ["from-cmd"]}'
ud create --name=ent ent:latest
expect_rc 0
ud run --nobanner ent
expect_rc 0
expect_stdout_line "ep from-cmd"
ud run --nobanner ent one two
expect_stdout_line "ep one two"
ud run --nobanner --entrypoint="" ent /bin/echo x
expect_stdout_line "x"
ud run --nobanner --entrypoint="/bin/echo a b" ent c
expect_stdout_line "a b c"
# An --entrypoint drops the image Cmd.
ud run --nobanner --entrypoint=/bin/echo ent
expect_rc 0
check "--entrypoint without a command: image Cmd dropped" [ "$(cat "$UD_OUT_FILE")" = "" ]
ud run --nobanner --entrypoint=/opt/app/hello.sh ent
expect_stdout_line "hello "
# No entrypoint, no command: bash -i, which busybox lacks.
ud_missing run --nobanner --entrypoint="" ent
expect_stderr_contains "Warning: no command assuming"
# The image Cmd alone; a relative command resolved against the cwd.
rootfs_cfgimage cmdimg '{"Cmd": ["./hello.sh", "world"], "WorkingDir": "/opt/app"}'
ud run --nobanner cmdimg:latest
expect_rc 0
expect_stdout_line "hello world"
ud_missing run --nobanner -w /opt/app cmdimg:latest ./noexec.sh

# --- run from an image --------------------------------------------------------
ncont() { find "$REPO/containers" -mindepth 1 -maxdepth 1 -type d | wc -l; }
n0=$(ncont)
ud run --nobanner busybox:latest /bin/true
expect_rc 0
ud run --nobanner busybox:latest /bin/true
expect_rc 0
check "each run of an image makes a new container" [ "$(ncont)" = $((n0 + 2)) ]
ud run --nobanner --name=named busybox:latest /bin/echo named
expect_rc 0
expect_stdout_line named
check "--name names the new container" test -L "$REPO/containers/named"
n1=$(ncont)
ud run --nobanner --name=named busybox:latest /bin/true
expect_error
check "a taken name: no container made" [ "$(ncont)" = "$n1" ]
ud run --nobanner --pull=reuse --name=named busybox:latest /bin/echo reused
expect_rc 0
expect_stdout_line reused
check "--pull=reuse --name: no new container" [ "$(ncont)" = "$n1" ]
ud run --nobanner --pull=reuse --name=fresh busybox:latest /bin/echo first
expect_rc 0
check "--pull=reuse with a new name creates it" test -L "$REPO/containers/fresh"
repo_snapshot "$IT_WORK/snap.before"
ud run --nobanner --pull=never nosuchimage:latest /bin/true
expect_error
check "--pull=never: no pull, nothing created" [ "$(ncont)" = $((n1 + 1)) ]
expect_repo_unchanged "$IT_WORK/snap.before"
ud run --nobanner --pull=never --registry="$PLAIN_URL" busybox:v9 /bin/true
expect_error

# --- --rm -----------------------------------------------------------------------
n2=$(ncont)
ud run --nobanner --rm busybox:latest /bin/echo gone
expect_rc 0
expect_stdout_line gone
check "--rm removes the container it made" [ "$(ncont)" = "$n2" ]
ud run --nobanner --rm busybox:latest /bin/sh -c 'exit 5'
expect_rc 5
check "--rm after a failing command too" [ "$(ncont)" = "$n2" ]
rootfs_create busybox:latest keepme
ud protect keepme
ud run --nobanner --rm keepme /bin/true
expect_rc 0
check "--rm keeps a protected container" test -d "$REPO/containers/$RF_ID"
rootfs_create busybox:latest rmme
ud run --nobanner --rm rmme /bin/true
expect_rc 0
check "--rm on a container by name" [ ! -e "$REPO/containers/$RF_ID" ]
check "--rm removes the name" [ ! -L "$REPO/containers/rmme" ]

# --- --location -------------------------------------------------------------------
n2=$(ncont)
LOC=$IT_U/bare
as_user cp -a "$(container_root "$C1")" "$LOC"
ud run --nobanner --location="$LOC" /bin/echo from-location
expect_rc 0
expect_stdout_line from-location
ud run --nobanner --location="$LOC" /bin/sh -c 'echo "$container_root"; cat /etc/hostname'
expect_stdout_line "$(readlink -f "$LOC")"
expect_stdout_line busybox
check "--location: no container made" [ "$(ncont)" = "$n2" ]
ud run --nobanner --location="$IT_U/nonexistent" /bin/true
expect_error

# --- the run leaves the container as it was -----------------------------------------
ud run --nobanner c1 /bin/true
(cd "$(container_root "$C1")" && find . -printf '%y %m %p\n' | LC_ALL=C sort) >"$IT_WORK/root.before"
as_user mkdir "$IT_U/tmp"
ud TMPDIR="$IT_U/tmp" run --nobanner c1 /bin/sh -c 'ls / >/dev/null; cat /etc/passwd >/dev/null'
expect_rc 0
(cd "$(container_root "$C1")" && find . -printf '%y %m %p\n' | LC_ALL=C sort) >"$IT_WORK/root.after"
check "a read-only run changes nothing in ROOT" diff "$IT_WORK/root.before" "$IT_WORK/root.after"
check "no temporary files left in TMPDIR by the run" [ -z "$(ls -A "$IT_U/tmp")" ]
ud TMPDIR="$IT_U/tmp" run --nobanner c1 /bin/sh -c 'exit 3'
check "none after a failing command either" [ -z "$(ls -A "$IT_U/tmp")" ]

it_done
