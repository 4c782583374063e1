/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container listing (ps), names (relative links containers/<name> -> <id>
 * sharing one namespace with ids), du-like sizes and removal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

/* All name links in containersdir: names[i] -> ids[i]. */
struct namemap {
    char **names;
    char **ids;
};

static void
namemap_fini(struct namemap *m)
{
    ud_strv_free(m->names);
    ud_strv_free(m->ids);
}

struct cscan {
    struct namemap *m;
    char ***dirs; /* NULL: names only */
    struct ud_error *err;
};

/* One entry of containersdir: a name link (its target's basename is the
 * id) or, when wanted, a container directory. Hidden entries are our
 * temporaries. */
static int
cscan_entry(void *ctx, int dfd, const char *name, unsigned char type)
{
    struct cscan *c = ctx;
    if (name[0] == '.')
        return 0;
    if (type == DT_DIR)
        return c->dirs ? ud_strv_push(c->dirs, name, c->err) : 0;
    if (type != DT_LNK)
        return 0;
    char buf[4096];
    const char *b = store_link_base_at(dfd, name, buf, sizeof(buf));
    if (!b)
        return 0;
    int rc = ud_strv_push(&c->m->names, name, c->err);
    if (rc == 0)
        rc = ud_strv_push(&c->m->ids, b, c->err);
    return rc;
}

/* The name links of containersdir and, if dirs is not NULL, its container
 * directories, from one read of the directory. */
static int
containers_scan(const struct ud_store *s, struct namemap *m, char ***dirs, struct ud_error *err)
{
    memset(m, 0, sizeof(*m));
    int fd = open(s->p.containersdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", s->p.containersdir);
    char *buf = ud_malloc(STORE_DIRBUF);
    struct cscan c = {m, dirs, err};
    int rc = buf ? store_dir_each(fd, buf, STORE_DIRBUF, cscan_entry, &c)
                 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    free(buf);
    close(fd);
    if (rc < 0) {
        namemap_fini(m);
        if (dirs) {
            ud_strv_free(*dirs);
            *dirs = NULL;
        }
    }
    return rc;
}

static int
namemap_load(const struct ud_store *s, struct namemap *m, struct ud_error *err)
{
    return containers_scan(s, m, NULL, err);
}

static int
names_of(const struct namemap *m, const char *id, char ***out, struct ud_error *err)
{
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; m->names && m->names[i]; i++) {
        if (strcmp(m->ids[i], id) != 0)
            continue;
        int rc = ud_strv_push(&v, m->names[i], err);
        if (rc < 0)
            return rc;
    }
    ud_strv_sort(v);
    *out = ud_steal(&v);
    return 0;
}

int
ud_store_container_names(const struct ud_store *s, const char *id_or_name, char ***names,
                         struct ud_error *err)
{
    cleanup_free char *id = NULL;
    struct namemap m;
    int rc = ud_store_container_resolve(s, id_or_name, &id, err);
    if (rc == 0)
        rc = namemap_load(s, &m, err);
    if (rc < 0)
        return rc;
    rc = names_of(&m, id, names, err);
    namemap_fini(&m);
    return rc;
}

static char *
read_trimmed(const char *dir, const char *name, bool trim)
{
    cleanup_free char *p = ud_path_join(dir, name);
    char *data = NULL;
    size_t len = 0;
    if (!p || ud_file_read(p, STORE_FILE_MAX, &data, &len, NULL) < 0)
        return NULL;
    while (trim && len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
        data[--len] = '\0';
    return data;
}

static char
root_state(const char *dir)
{
    cleanup_free char *root = ud_path_join(dir, "ROOT");
    struct stat st;
    /* Upstream's order: os.path.exists (follows links), isdir, W_OK. */
    if (!root || stat(root, &st) < 0)
        return 'N';
    if (!S_ISDIR(st.st_mode))
        return 'D';
    return access(root, W_OK) == 0 ? 'W' : 'R';
}

static int
fill_entry(const struct ud_store *s, const struct namemap *m, const char *id,
           struct ud_store_container *c, struct ud_error *err)
{
    cleanup_free char *dir = ud_path_join(s->p.containersdir, id);
    cleanup_free char *prot = dir ? ud_path_join(dir, "PROTECT") : NULL;
    if (!prot || !(c->id = ud_strdup(id)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    c->is_protected = ud_path_exists(prot);
    c->root_state = root_state(dir);
    c->execmode = read_trimmed(dir, "execmode", true);
    c->imagerepo = read_trimmed(dir, "imagerepo.name", false);
    cleanup_free char *cfg = read_trimmed(dir, "container.json", false);
    int rc = ud_store_platform_from_config(cfg, cfg ? strlen(cfg) : 0, &c->platform, err);
    if (rc == 0)
        rc = names_of(m, id, &c->names, err);
    return rc;
}

static int
cmp_cont(const void *a, const void *b)
{
    return strcmp(((const struct ud_store_container *)a)->id,
                  ((const struct ud_store_container *)b)->id);
}

int
ud_store_container_list(const struct ud_store *s, struct ud_store_container **out, size_t *count,
                        struct ud_error *err)
{
    struct namemap m;
    cleanup_strv char **ids = NULL;
    int rc = containers_scan(s, &m, &ids, err);
    if (rc < 0)
        return rc;
    size_t n = 0, total = ud_strv_len(ids);
    struct ud_store_container *v = total ? ud_calloc(total, sizeof(*v)) : NULL;
    if (total && !v)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    while (rc == 0 && n < total) {
        rc = fill_entry(s, &m, ids[n], &v[n], err);
        n++;
    }
    namemap_fini(&m);
    if (rc < 0) {
        ud_store_container_list_free(v, n);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_cont);
    *out = v;
    *count = n;
    return 0;
}

void
ud_store_container_list_free(struct ud_store_container *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        free(v[i].id);
        free(v[i].execmode);
        free(v[i].imagerepo);
        free(v[i].platform);
        ud_strv_free(v[i].names);
    }
    free(v);
}

/* ---- names ---- */

bool
ud_store_name_is_valid(const char *name)
{
    if (!name || !name[0] || strlen(name) > 2048)
        return false;
    return strcspn(name, "/. []") == strlen(name);
}

static int
name_add_locked(struct ud_store *s, const char *id_or_name, const char *name, struct ud_error *err)
{
    cleanup_free char *id = NULL;
    if (ud_store_container_resolve(s, id_or_name, &id, NULL) < 0)
        return ud_error_set(err, UD_ENOENT, 0, "invalid container id or name");
    if (!ud_store_name_is_valid(name))
        return ud_error_set(err, UD_EINVAL, 0, "invalid container name");
    cleanup_free char *lp = ud_path_join(s->p.containersdir, name);
    if (!lp)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* symlink(2) fails with EEXIST on any existing entry (name or id). */
    if (symlink(id, lp) < 0) {
        if (errno == EEXIST)
            return ud_error_set(err, UD_EEXIST, 0, "container name already exists");
        return ud_error_set(err, ud_error_from_errno(errno), errno, "symlink %s", lp);
    }
    store_fsync_dir(s->p.containersdir);
    return 0;
}

int
ud_store_name_add(struct ud_store *s, const char *id_or_name, const char *name,
                  struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = name_add_locked(s, id_or_name, name, err);
    ud_store_unlock(s);
    return rc;
}

static bool
is_name_link(const struct ud_store *s, const char *name, char **path)
{
    *path = NULL;
    if (!name || !store_plain_name_ok(name) || name[0] == '.')
        return false;
    char *p = ud_path_join(s->p.containersdir, name);
    *path = p;
    return p && ud_path_is_symlink(p);
}

int
ud_store_name_rm(struct ud_store *s, const char *name, struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    cleanup_free char *p = NULL;
    if (!is_name_link(s, name, &p))
        rc = ud_error_set(err, UD_ENOENT, 0, "container name not found");
    else if (unlink(p) < 0)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "remove %s", p);
    ud_store_unlock(s);
    return rc;
}

static int
rename_locked(struct ud_store *s, const char *name, const char *new_name, struct ud_error *err)
{
    cleanup_free char *op = NULL, *id = NULL;
    if (!is_name_link(s, name, &op) || ud_store_container_resolve(s, name, &id, NULL) < 0)
        return ud_error_set(err, UD_ENOENT, 0, "container does not exist");
    if (!ud_store_name_is_valid(new_name))
        return ud_error_set(err, UD_EINVAL, 0, "invalid container name");
    cleanup_free char *np = ud_path_join(s->p.containersdir, new_name);
    if (!np)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* New link first: the old one is only removed once the new exists. */
    if (symlink(id, np) < 0) {
        if (errno == EEXIST)
            return ud_error_set(err, UD_EEXIST, 0, "new name already exists");
        return ud_error_set(err, ud_error_from_errno(errno), errno, "symlink %s", np);
    }
    if (unlink(op) < 0) {
        int e = errno;
        (void)unlink(np);
        return ud_error_set(err, ud_error_from_errno(e), e, "remove %s", op);
    }
    return 0;
}

int
ud_store_name_rename(struct ud_store *s, const char *name, const char *new_name,
                     struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = rename_locked(s, name, new_name, err);
    ud_store_unlock(s);
    return rc;
}
