/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash recovery. Every temporary directory the store makes is hidden and
 * has a sibling "<dir>.lock" held with flock by its owner, so a directory
 * whose lock can be taken belongs to a dead process: a temporary tag or
 * container is deleted, a half-deleted one finished, and a tag renamed
 * aside by an interrupted replacement is put back when nothing took its
 * place. Runs under the repository lock, and only when it may have work:
 * the size of the lock file counts the temporaries that may exist (each
 * owner counts its own under the lock before making it and uncounts it
 * when done; a scan sets the count to what it left), so the usual open
 * costs one lstat instead of a lock and a walk of the whole tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

/* The lock file's size is COUNT_BASE + the number of temporaries that may
 * exist; 0 (an empty or a missing lock file: a new repository, one made
 * by upstream or by an older build) means "unknown", which a scan
 * resolves. */
#define COUNT_BASE ((off_t)1)
#define SUFFIX_LEN (5 + STORE_RAND_LEN) /* ".tmp-" + random hex */

/* ".<tag>.<kind>-<hex>": returns kind ('t','o','d') and the tag (NULL
 * when out of memory), 0 for any other name. */
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
    return kind;
}

/* A "<x>.lock" claim file: dropped when x is gone and nobody holds it.
 * Returns 1 when it stays although x is gone (a live owner between its
 * claim and its directory, or past its removal), else 0: with x present
 * the file goes with x, or is no temporary's claim at all. */
static int
drop_orphan_lock(struct ud_store *s, const char *dir, const char *name)
{
    size_t len = strlen(name);
    if (len <= 5 || strcmp(name + len - 5, ".lock") != 0)
        return 0;
    cleanup_free char *full = ud_path_join(dir, name);
    if (!full)
        return 1;
    full[strlen(full) - 5] = '\0';
    struct tmp_claim c;
    if (ud_path_exists(full))
        return 0;
    if (store_own_has(s, full) || !tmp_claim_try(full, &c))
        return 1;
    tmp_claim_drop(&c);
    return 0;
}

/* A hidden directory of the repository tree. Returns 1 when it is one of
 * our temporaries and stays (held by a live command, or not removable). */
static int
recover_tag_temp(struct ud_store *s, const char *dir, const char *name)
{
    cleanup_free char *tag = NULL;
    char kind = parse_tag_temp(name, &tag);
    if (!kind)
        return 0; /* not ours: never touched */
    cleanup_free char *full = ud_path_join(dir, name);
    cleanup_free char *tagdir = tag ? ud_path_join(dir, tag) : NULL;
    struct tmp_claim c;
    if (!full || !tagdir || store_own_has(s, full) || !tmp_claim_try(full, &c))
        return 1;
    struct ud_error e = {0};
    int left = 0;
    if (kind == 'o' && !ud_path_exists(tagdir)) {
        if (rename(full, tagdir) < 0) {
            ud_log(UD_LOG_DEBUG, "cleanup: restore %s: %s", tagdir, strerror(errno));
            left = 1;
        }
    } else {
        cleanup_strv char **targets = NULL;
        if (store_dir_link_targets(full, &targets, &e) < 0)
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
        if (ud_rm_rf(full, &e) < 0 || store_gc_layers(s, targets, true, &e) < 0) {
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
            left = ud_path_exists(full);
        }
    }
    tmp_claim_drop(&c);
    return left;
}

/* Returns how many temporaries (or their claims) are left in dir and below. */
static size_t
clean_repos(struct ud_store *s, const char *dir, int depth)
{
    if (depth > STORE_REPOS_DEPTH_MAX)
        return 0;
    cleanup_dir DIR *d = opendir(dir);
    if (!d) /* unreadable: whatever it holds may be left */
        return errno == ENOENT || errno == ENOTDIR ? 0 : 1;
    size_t left = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        unsigned char t = store_dirent_type(dirfd(d), n, de->d_type);
        if (n[0] == '.' && t == DT_DIR) {
            left += (size_t)recover_tag_temp(s, dir, n);
        } else if (n[0] == '.' && t == DT_REG) {
            left += (size_t)drop_orphan_lock(s, dir, n);
        } else if (t == DT_DIR) {
            cleanup_free char *sub = ud_path_join(dir, n);
            left += sub ? clean_repos(s, sub, depth + 1) : 1;
        }
    }
    return left;
}

static size_t
clean_containers(struct ud_store *s)
{
    const char *dir = s->p.containersdir;
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : 1;
    size_t left = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (n[0] != '.' || !strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        unsigned char t = store_dirent_type(dirfd(d), n, de->d_type);
        if (t == DT_REG) {
            left += (size_t)drop_orphan_lock(s, dir, n);
            continue;
        }
        if (t != DT_DIR || (strncmp(n, ".tmp-", 5) && strncmp(n, ".del-", 5)))
            continue;
        cleanup_free char *full = ud_path_join(dir, n);
        struct tmp_claim c;
        if (!full || store_own_has(s, full) || !tmp_claim_try(full, &c)) {
            left++;
            continue;
        }
        struct ud_error e = {0};
        if (ud_rm_rf(full, &e) < 0) {
            ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", full, e.msg);
            left += ud_path_exists(full) ? 1 : 0;
        }
        tmp_claim_drop(&c);
    }
    return left;
}

/* The scan, under the exclusive repository lock (held by the caller). The
 * count of outstanding temporaries becomes what is left: those of live
 * commands, which uncount themselves when they finish, and any that could
 * not be removed, so that later opens scan again. */
static void
clean_locked(struct ud_store *s)
{
    size_t left = clean_repos(s, s->p.reposdir, 0);
    left += clean_containers(s);
    if (left)
        ud_log(UD_LOG_DEBUG, "cleanup: %zu temporaries in use", left);
    if (ftruncate(s->lockfd, COUNT_BASE + (off_t)left) < 0)
        ud_log(UD_LOG_DEBUG, "cleanup: %s: %s", s->lockpath, strerror(errno));
}

int
ud_store_cleanup(struct ud_store *s, struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    clean_locked(s);
    ud_store_unlock(s);
    return 0;
}

static bool
count_is_zero(const char *lockpath)
{
    struct stat st;
    return lstat(lockpath, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == COUNT_BASE;
}

int
store_cleanup_if_needed(struct ud_store *s, bool nowait, struct ud_error *err)
{
    /* Lock-free fast path: every temporary is counted (under the lock)
     * before it exists and uncounted only by its owner, so a count of zero
     * means that no crashed command left one. */
    if (count_is_zero(s->lockpath))
        return 0;
    int rc = nowait ? store_lock_try(s, err) : ud_store_lock(s, true, err);
    if (rc == UD_EBUSY && nowait) {
        ud_log(UD_LOG_DEBUG, "cleanup skipped: the repository is busy");
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!count_is_zero(s->lockpath)) /* not done meanwhile by another */
        clean_locked(s);
    ud_store_unlock(s);
    return 0;
}

int
store_tmp_count_add(struct ud_store *s, int delta, struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (fstat(s->lockfd, &st) < 0) {
        rc = ud_error_set(err, UD_EIO, errno, "stat %s", s->lockpath);
    } else {
        /* An unknown count stays unknown-ish: as if one more were left,
         * so that only a scan brings it back to zero. */
        off_t cur = st.st_size == 0 ? COUNT_BASE + 1 : st.st_size;
        off_t n = cur + delta;
        if (ftruncate(s->lockfd, n < COUNT_BASE ? 0 : n) == 0)
            rc = 0;
        else if (errno == EBADF || errno == EINVAL || errno == EPERM || errno == EACCES ||
                 errno == EROFS)
            rc = 1; /* a lock file we may only read (another user's) */
        else
            rc = ud_error_set(err, ud_error_from_errno(errno), errno, "write %s", s->lockpath);
    }
    ud_store_unlock(s);
    return rc;
}
