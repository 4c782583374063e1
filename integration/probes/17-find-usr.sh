# SPDX-License-Identifier: Apache-2.0
# A large walk with a stat of every entry (also timed by the benches).
if find /usr -maxdepth 0 -printf '' 2>/dev/null; then
    find /usr -printf '%y %m %p\n' | sort | md5sum
else
    find /usr -exec stat -c '%F %a %n' {} + | sort | md5sum
fi
find /usr | wc -l
