# SPDX-License-Identifier: Apache-2.0
# The top directory as ls -la shows it: mode, owner, group, size of files
# and link targets; no times or link counts. /dev, /proc and /sys are mount
# points whose content the engine provides: only their type is compared.
ls -la / | awk 'NR > 1 {
    n = $9; for (i = 10; i <= NF; i++) n = n " " $i
    if (n == "dev" || n == "proc" || n == "sys") print substr($1, 1, 1), n
    else print $1, $3, $4, (substr($1, 1, 1) == "d" ? "-" : $5), n }'
