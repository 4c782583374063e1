#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# udocker run, who and where (reference 6.4, 6.5): -e (K=V and bare K),
# --env-file, the precedence -e > image Env > --env-file, HOME, the forced
# USER/LOGNAME/USERNAME/SHLVL/container_* variables, the host environment
# (TERM passes, the rest only with --hostenv); the working directory (image
# WorkingDir, the user's home by default, -w, missing or relative -> exit 2);
# --user (a container name runs with the caller's host uid, uid:gid, root,
# an unknown name, bad syntax), --hostauth. Mode as in test_run.sh.
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
rootfs_cfgimage envimg '{"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "IMGVAR=from-image", "SHARED=image", "SPACED=a b  c"], "WorkingDir": "/opt", "Cmd": ["/bin/sh"]}'
rootfs_create envimg:latest ce
CE=$RF_ID
CEROOT=$(readlink -f "$RF_ROOT")
pick_run_mode ce
M=$RUN_MODE
IT_GID=$(as_user id -g)
IT_USER=$(as_user id -un)
run_sh() { ud run --nobanner "$@"; }

# --- the fixed variables ------------------------------------------------------
run_sh ce /usr/bin/env
expect_rc 0
expect_stdout_line "IMGVAR=from-image"
expect_stdout_line "SHARED=image"
expect_stdout_line "SPACED=a b  c"
expect_stdout_line "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
expect_stdout_line "HOME=/root"
expect_stdout_line "USER=root"
expect_stdout_line "LOGNAME=root"
expect_stdout_line "USERNAME=root"
expect_stdout_line "SHLVL=0"
expect_stdout_line "PS1=${CE:0:8}# "
expect_stdout_line "container_ruser=$IT_USER"
expect_stdout_line "container_root=$CEROOT"
expect_stdout_line "container_uuid=$CE"
expect_stdout_line "container_execmode=$M"
expect_stdout_line "container_names=ce"
# Not from udocker's own environment.
expect_stdout_lacks "UDOCKER_DIR="
expect_stdout_lacks "LANG="
ud name ce ce2
run_sh ce /usr/bin/env
expect_stdout_match '^container_names=(ce,ce2|ce2,ce)$'
ud rmname ce2

# --- -e, --env-file, precedence -------------------------------------------------
run_sh -e FOO=bar -e 'WITH=sp ace' -e EMPTY= -e EQ=a=b ce /usr/bin/env
expect_stdout_line "FOO=bar"
expect_stdout_line "WITH=sp ace"
expect_stdout_line "EMPTY="
expect_stdout_line "EQ=a=b"
ud HOSTVAR=from-host run --nobanner -e HOSTVAR ce /usr/bin/env
expect_rc 0
expect_stdout_line "HOSTVAR=from-host"
run_sh -e SHARED=cli ce /usr/bin/env
expect_stdout_line "SHARED=cli"
cat >"$IT_U/envfile" <<'EOF'
SHARED=file
FILEVAR=from-file
FILEHOST
BAD KEY=x
9DIGIT=x
SPC=a b
EOF
[ "$(id -u)" = 0 ] && chown udtest: "$IT_U/envfile"
ud FILEHOST=host-for-file run --nobanner --env-file="$IT_U/envfile" ce /usr/bin/env
expect_rc 0
expect_stdout_line "SHARED=image"
expect_stdout_line "FILEVAR=from-file"
expect_stdout_line "FILEHOST=host-for-file"
expect_stdout_line "SPC=a b"
expect_stdout_lacks "BAD KEY"
expect_stdout_lacks "9DIGIT"
run_sh --env-file="$IT_U/envfile" -e FILEVAR=cli ce /usr/bin/env
expect_stdout_line "FILEVAR=cli"
run_sh --env-file="$IT_U/nosuchfile" ce /bin/true
expect_error
# HOME: the user's, unless given; the forced variables win over -e.
run_sh -e HOME=/tmp -e USER=mallory -e container_uuid=x ce /usr/bin/env
expect_stdout_line "HOME=/tmp"
expect_stdout_line "USER=root"
expect_stdout_line "container_uuid=$CE"

# --- the host environment -------------------------------------------------------
ud TERM=xterm-test HOSTONLY=yes run --nobanner ce /usr/bin/env
expect_stdout_line "TERM=xterm-test"
expect_stdout_lacks "HOSTONLY="
ud HOSTONLY=yes run --nobanner --hostenv ce /usr/bin/env
expect_rc 0
expect_stdout_line "HOSTONLY=yes"
expect_stdout_line "IMGVAR=from-image"
expect_stdout_line "USER=root"
ud VTE_VERSION=7000 run --nobanner --hostenv ce /usr/bin/env
expect_stdout_lacks "VTE_VERSION="
# --nometa: no image Env (PATH then the default for uid 0), no WorkingDir.
run_sh --nometa ce /bin/sh -c 'env; pwd'
expect_rc 0
expect_stdout_lacks "IMGVAR="
expect_stdout_line "PATH=/usr/sbin:/sbin:/usr/bin:/bin"
expect_stdout_line "/root"

# --- working directory ------------------------------------------------------------
run_sh ce /bin/pwd
expect_stdout_line /opt
run_sh -w /tmp ce /bin/pwd
expect_stdout_line /tmp
run_sh -w / ce /bin/pwd
expect_stdout_line /
run_sh --workdir=/opt/app ce /bin/pwd
expect_stdout_line /opt/app
rootfs_busybox cb
run_sh cb /bin/pwd
expect_stdout_line /
rootfs_cfgimage nowd '{"Cmd": ["/bin/sh"]}'
rootfs_create nowd:latest cn
run_sh cn /bin/pwd
expect_stdout_line /root
run_sh --user=alice cn /bin/pwd
expect_stdout_line /home/alice
for w in /nonexistent relative ../x /etc/passwd; do
    run_sh -w "$w" ce /bin/pwd
    expect_rc 2
    expect_error "invalid working directory"
    check "-w $w: one line on stderr" [ "$(grep -c . "$UD_ERR_FILE")" = 1 ]
done

# --- --user ---------------------------------------------------------------------
# A name from the container's passwd: its name, home and shell, with the
# caller's host uid and gid (reference 6.5).
run_sh --user=alice cn /bin/sh -c 'id -u; id -g; id -un; echo "$HOME $USER $LOGNAME"'
expect_rc 0
check "--user=alice: host uid, gid, name alice" [ "$(tr '\n' ' ' <"$UD_OUT_FILE")" = "$IT_UID $IT_GID alice /home/alice alice alice " ]
run_sh --user=alice cn /bin/sh -c 'grep "^alice:" /etc/passwd; echo "PS1=$PS1"'
expect_stdout_line "alice:x:$IT_UID:$IT_GID:Alice Test:/home/alice:/bin/sh"
expect_stdout_line "PS1=${RF_ID:0:8}"'\$ '
run_sh -u alice cn id -un
expect_stdout_line alice
run_sh --user=root cn /bin/sh -c 'id -u; id -g; echo "$HOME"'
check "--user=root: 0 0 /root" [ "$(tr '\n' ' ' <"$UD_OUT_FILE")" = "0 0 /root " ]
run_sh --user=0 cn id -u
expect_stdout_line 0
# uid:gid not in passwd: that uid and gid.
run_sh --user=2345:3456 cn /bin/sh -c 'id -u; id -g; echo "$USER"'
expect_rc 0
check "--user=2345:3456: uid 2345, gid 3456" [ "$(head -2 "$UD_OUT_FILE" | tr '\n' ' ')" = "2345 3456 " ]
# The fix of upstream's "uid:gid" user name (reference 9).
expect_stdout_lacks "2345:3456"
run_sh --user=1234 cn id -un
expect_stdout_line alice
# An unknown name: the caller's ids, home /.
run_sh --user=nosuchuser cn /bin/sh -c 'id -u; echo "$HOME"; grep "^nosuchuser:" /etc/passwd'
expect_rc 0
expect_stdout_line "$IT_UID"
expect_stdout_line "/"
expect_stdout_match "^nosuchuser:x:$IT_UID:$IT_GID:[^:]*:/:/bin/sh\$"
for bad in 'bad!name' '-x' 'a:b:c' '1:x' 'a b'; do
    run_sh --user="$bad" cn /bin/true
    expect_rc 2
    expect_error "user"
done
# The container's files are not changed by the generated passwd.
check "the container passwd is untouched" [ "$(grep -c "$IT_UID" "$(container_root "$RF_ID")/etc/passwd")" = 0 ]

# --- --hostauth -------------------------------------------------------------------
run_sh --hostauth cn /bin/sh -c "grep -c . /etc/passwd; grep '^$IT_USER:' /etc/passwd | cut -d: -f1,3"
expect_rc 0
check "--hostauth: the host passwd" [ "$(head -1 "$UD_OUT_FILE")" = "$(grep -c . /etc/passwd)" ]
expect_stdout_line "$IT_USER:$IT_UID"
run_sh --hostauth --user="$IT_USER" -w / cn /bin/sh -c 'id -u; id -un'
expect_rc 0
check "--hostauth --user=$IT_USER" [ "$(tr '\n' ' ' <"$UD_OUT_FILE")" = "$IT_UID $IT_USER " ]
run_sh --hostauth --user=alice cn /bin/true
expect_rc 2
expect_error "user not found"
run_sh --containerauth --user=nosuchuser cn /bin/true
expect_rc 2
expect_error "user not found"
run_sh --containerauth cn /bin/sh -c 'grep -c . /etc/passwd'
expect_stdout_line "$(grep -c . "$(container_root "$RF_ID")/etc/passwd")"

it_done
