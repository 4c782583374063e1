/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load [-i FILE | --input=FILE | -] [NEWNAME]: store the images of a
 * docker save, skopeo or OCI archive and print each repo:tag stored (a
 * result: it survives -q). The format work is image-archive's.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "ud/image-archive.h"
#include "xfer_io.h"

static void
on_image(void *ctx, const char *repo, const char *tag)
{
    (void)ctx;
    ud_out(UD_LOG_MSG, "%s:%s", repo, tag);
}

/* The archive is read front to back in one pass, so for a regular file
 * the read offset is the progress: a watcher thread samples it and owns
 * the display while the load runs (a pipe has no offset: no bar). */
struct load_watch {
    struct ud_progress *p;
    int fd;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static void *
watch_run(void *arg)
{
    struct load_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        off_t at = lseek(w->fd, 0, SEEK_CUR);
        if (at >= 0)
            ud_progress_update(w->p, 0, (int64_t)at);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000 * 1000 * 1000) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * 1000 * 1000;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static bool
watch_start(struct load_watch *w, int fd, const char *label)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    w->p = ud_progress_new("Loading", 1);
    if (w->p == NULL)
        return false;
    ud_progress_item(w->p, 0, label, (int64_t)st.st_size);
    w->fd = fd;
    w->stop = false;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->tid, NULL, watch_run, w) != 0) {
        ud_progress_free(w->p);
        w->p = NULL;
        return false;
    }
    return true;
}

static void
watch_stop(struct load_watch *w, bool ok)
{
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->tid, NULL);
    if (ok) {
        struct stat st;
        if (fstat(w->fd, &st) == 0)
            ud_progress_update(w->p, 0, (int64_t)st.st_size);
        ud_progress_done(w->p, 0, "Loaded");
    } else {
        ud_progress_failed(w->p, 0);
    }
    ud_progress_free(w->p);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

int
cmd_load(struct ud_cli *cli)
{
    static const char *const decl[] = {"-i=", "--input=", "--platform=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *input = ud_cmdline_opt(&cli->cl, "-i=");
    const char *input2 = ud_cmdline_opt(&cli->cl, "--input=");
    const char *platform = ud_cmdline_opt(&cli->cl, "--platform=");
    if (!input)
        input = input2;
    size_t p = 0;
    const char *first = ud_cmdline_pos(&cli->cl, 0);
    if (!input && first && !strcmp(first, "-"))
        input = ud_cmdline_pos(&cli->cl, p++);
    const char *new_name = ud_cmdline_pos(&cli->cl, p);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_platform pf;
    struct ud_error err = {0};
    if (platform && ud_oci_platform_parse(platform, &pf, &err)) {
        ud_err("invalid platform: %s", platform);
        return 1;
    }
    int fd = xfer_in_open(input, "image archive");
    if (fd < 0)
        return 1;
    struct ud_store *s = ud_cli_store(cli);
    if (!s) {
        if (fd != STDIN_FILENO)
            close(fd);
        return 1;
    }
    struct ud_archive_load_opts o = {
        .new_name = new_name, .platform = platform ? &pf : NULL, .on_image = on_image};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    struct load_watch w;
    bool watching = watch_start(&w, fd, input && strcmp(input, "-") ? input : "archive");
    int rc = ud_archive_load(s, fd, &o, &err);
    if (watching)
        watch_stop(&w, rc == 0);
    sigaction(SIGXFSZ, &old, NULL);
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc == UD_EEXIST) {
        ud_info("%s", err.msg);
        ud_err("load failed");
        return 1;
    }
    if (rc < 0) {
        ud_err("load failed: %s", err.msg);
        return 1;
    }
    return 0;
}
