/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash recovery. Every temporary directory the store makes is hidden and
 * has a sibling "<dir>.lock" held with flock by its owner, so a directory
 * whose lock can be taken belongs to a dead process: a temporary tag or
 * container is deleted, a half-deleted one finished, and a tag renamed
 * aside by an interrupted replacement is put back when nothing took its
 * place. Runs under the repository lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define CLEAN_DEPTH_MAX 64
#define SUFFIX_LEN (5 + STORE_RAND_LEN) /* ".tmp-" + random hex */

/* ".<tag>.<kind>-<hex>": returns kind ('t','o','d') and the tag. */
static char
parse_tag_temp(const char *name, char **tag)
{
    size_t len = strlen(name);
    if (name[0] != '.' || len < 2 + SUFFIX_LEN)
        return 0;
    const char *suf = name + len - SUFFIX_LEN;
    char kind = !strncmp(suf, ".tmp-", 5)   ? 't'
                : !strncmp(suf, ".old-", 5) ? 'o'
                : !strncmp(suf, ".del-", 5) ? 'd'
                                            : 0;
    if (!kind || strspn(suf + 5, "0123456789abcdef") != STORE_RAND_LEN)
        return 0;
    *tag = ud_strndup(name + 1, len - 1 - SUFFIX_LEN);
    return *tag ? kind : 0;
}

static void
drop_orphan_lock(struct ud_store *s, const char *dir, const char *name)
{
    size_t len = strlen(name);
    if (len <= 5 || strcmp(name + len - 5, ".lock") != 0)
        return;
    cleanup_free char *full = ud_path_join(dir, name);
    if (!full)
        return;
    full[strlen(full) - 5] = '\0';
    struct tmp_claim c;
    if (!ud_path_exists(full) && !store_own_has(s, full) && tmp_claim_try(full, &c))
        tmp_claim_drop(&c);
}

static void
recover_tag_temp(struct ud_store *s, const char *dir, const char *name)
{
    cleanup_free char *tag = NULL;
    char kind = parse_tag_temp(name, &tag);
    cleanup_free char *full = ud_path_join(dir, name);
    cleanup_free char *tagdir = tag ? ud_path_join(dir, tag) : NULL;
    struct tmp_claim c;
    if (!kind || !full || !tagdir || store_own_has(s, full) || !tmp_claim_try(full, &c))
        return;
    struct ud_error e = {0};
    if (kind == 'o' && !ud_path_exists(tagdir)) {
        if (rename(full, tagdir) < 0)
            ud_log(UD_LOG_DEBUG, "cleanup: restore %s: %s", tagdir, strerror(errno));
    } else {
        cleanup_strv char **targets = NULL;
        if (store_dir_link_targets(full, &targets, &e) < 0)
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
        if (ud_rm_rf(full, &e) < 0 || store_gc_layers(s, targets, true, &e) < 0)
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
    }
    tmp_claim_drop(&c);
}

static void
clean_repos(struct ud_store *s, const char *dir, int depth)
{
    if (depth > CLEAN_DEPTH_MAX)
        return;
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (de->d_name[0] == '.' && S_ISDIR(st.st_mode)) {
            recover_tag_temp(s, dir, de->d_name);
        } else if (de->d_name[0] == '.' && S_ISREG(st.st_mode)) {
            drop_orphan_lock(s, dir, de->d_name);
        } else if (S_ISDIR(st.st_mode)) {
            cleanup_free char *sub = ud_path_join(dir, de->d_name);
            if (sub)
                clean_repos(s, sub, depth + 1);
        }
    }
}

static void
clean_containers(struct ud_store *s)
{
    const char *dir = s->p.containersdir;
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        const char *n = de->d_name;
        if (n[0] != '.' || !strcmp(n, ".") || !strcmp(n, "..") ||
            fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            drop_orphan_lock(s, dir, n);
            continue;
        }
        if (!S_ISDIR(st.st_mode) || (strncmp(n, ".tmp-", 5) && strncmp(n, ".del-", 5)))
            continue;
        cleanup_free char *full = ud_path_join(dir, n);
        struct tmp_claim c;
        if (!full || store_own_has(s, full) || !tmp_claim_try(full, &c))
            continue;
        struct ud_error e = {0};
        if (ud_rm_rf(full, &e) < 0)
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
        tmp_claim_drop(&c);
    }
}

int
ud_store_cleanup(struct ud_store *s, struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    clean_repos(s, s->p.reposdir, 0);
    clean_containers(s);
    ud_store_unlock(s);
    return 0;
}
