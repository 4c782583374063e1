# SPDX-License-Identifier: Apache-2.0
# Files made in a volume: as seen inside (numeric owner, mode, size); the
# harness then lists them from the host.
echo data >/vol/created.txt
mkdir /vol/dir
: >/vol/dir/empty
ln -s created.txt /vol/link
chmod 640 /vol/created.txt
cat /vol/link
cd /vol && ls -ln | awk 'NR > 1 {print $1, $3, $4, $5, $9, $10, $11}'
