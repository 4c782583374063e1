# SPDX-License-Identifier: Apache-2.0
# Symbolic links: the top-level ones (ls -l /bin style), absolute and
# relative links made inside, links through links, a dangling one.
for p in /bin /sbin /lib /lib64 /usr/bin/sh /bin/sh /etc/os-release; do
    if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
    elif [ -e "$p" ]; then echo "$p exists"
    else echo "$p missing"; fi
done
ls -ld /bin | awk '{print $1, $NF}'
ln -s /etc/os-release /tmp/probe-abs
ln -s ../etc/os-release /tmp/probe-rel
ln -s /tmp/probe-abs /tmp/probe-chain
ln -s /no/such/file /tmp/probe-dangling
for l in probe-abs probe-rel probe-chain; do
    echo "$l: $(readlink /tmp/$l) | $(readlink -f /tmp/$l) | $(head -n 1 /tmp/$l)"
done
cat /tmp/probe-dangling 2>/dev/null || echo "dangling: cannot read"
[ -L /tmp/probe-dangling ] && echo "dangling: is a link"
rm -f /tmp/probe-abs /tmp/probe-rel /tmp/probe-chain /tmp/probe-dangling
