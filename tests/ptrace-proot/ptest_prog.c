// SPDX-License-Identifier: Apache-2.0
/*
 * A small program run inside the test container (built static and dynamic)
 * to probe what the tracer shows it: cwd, /proc/self/exe, ids, threads,
 * forks, exec from a thread, uname.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void *
thread_work(void *arg)
{
    long n = (long)arg;
    for (int i = 0; i < 200; i++) {
        struct stat st;
        char p[64];
        if (stat("/etc/hostname", &st) != 0)
            return (void *)1;
        snprintf(p, sizeof(p), "/tmp/t%ld", n);
        int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0)
            return (void *)2;
        close(fd);
        if (unlink(p) != 0)
            return (void *)3;
    }
    return NULL;
}

static int
threads(int n)
{
    pthread_t th[64];
    int bad = 0;
    if (n > 64)
        n = 64;
    for (long i = 0; i < n; i++)
        pthread_create(&th[i], NULL, thread_work, (void *)i);
    for (int i = 0; i < n; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += r != NULL;
    }
    printf("threads %d bad %d\n", n, bad);
    return bad != 0;
}

static int
forks(int n)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(99);
        }
        int st;
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    printf("forks %d ok %d\n", n, ok);
    return ok != n;
}

static void *
exec_thread(void *arg)
{
    (void)arg;
    execl("/bin/echo", "echo", "exec-from-thread", (char *)NULL);
    return NULL;
}

int
main(int argc, char **argv)
{
    char buf[4096];
    if (argc < 2)
        return 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "cwd") == 0) {
        if (getcwd(buf, sizeof(buf)) == NULL)
            return 1;
        printf("%s\n", buf);
    } else if (strcmp(cmd, "exe") == 0) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n < 0)
            return 1;
        buf[n] = '\0';
        printf("%s\n", buf);
    } else if (strcmp(cmd, "argv0") == 0) {
        printf("%s\n", argv[0]);
    } else if (strcmp(cmd, "ids") == 0) {
        uid_t r, e, s;
        gid_t gr, ge, gs;
        getresuid(&r, &e, &s);
        getresgid(&gr, &ge, &gs);
        printf("%d %d %d %d %d %d %d %d %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
               (int)getegid(), (int)r, (int)e, (int)s, (int)gr, (int)setuid(0));
    } else if (strcmp(cmd, "selfexec") == 0) {
        fflush(stdout);
        execl("/proc/self/exe", "again", "argv0", (char *)NULL);
        return 1;
    } else if (strcmp(cmd, "auxv") == 0) {
        printf("%s %d\n", (const char *)getauxval(AT_EXECFN), getauxval(AT_PHDR) != 0);
    } else if (strcmp(cmd, "uname") == 0) {
        struct utsname u;
        uname(&u);
        printf("%s\n", u.release);
    } else if (strcmp(cmd, "fdlink") == 0 && argc > 2) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0)
            return 1;
        char l[64];
        snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(l, buf, sizeof(buf) - 1);
        if (n < 0)
            return 1;
        buf[n] = '\0';
        printf("%s\n", buf);
    } else if (strcmp(cmd, "cmdline") == 0) {
        /* Its own command line as the kernel shows it, words joined by
         * '|'. */
        int fd = open("/proc/self/cmdline", O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
            return 1;
        for (ssize_t i = 0; i < n - 1; i++)
            if (buf[i] == '\0')
                buf[i] = '|';
        buf[n - 1] = '\0';
        printf("%s\n", buf);
    } else if (strcmp(cmd, "opath") == 0 && argc > 3) {
        /* What cp does with a target directory: an O_PATH descriptor of
         * it, fstat, then the new file made relative to it. */
        int dfd = open(argv[2], O_PATH | O_DIRECTORY);
        struct stat st;
        if (dfd < 0 || fstat(dfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
            printf("opath: %s\n", strerror(errno));
            return 1;
        }
        int fd = openat(dfd, argv[3], O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || write(fd, "x\n", 2) != 2 || fstat(fd, &st) < 0) {
            printf("openat: %s\n", strerror(errno));
            return 1;
        }
        printf("opath ok %d %d %lld\n", (int)st.st_uid, (int)st.st_gid, (long long)st.st_size);
    } else if (strcmp(cmd, "threads") == 0 && argc > 2) {
        return threads((int)strtol(argv[2], NULL, 10));
    } else if (strcmp(cmd, "forks") == 0 && argc > 2) {
        return forks((int)strtol(argv[2], NULL, 10));
    } else if (strcmp(cmd, "threadexec") == 0) {
        pthread_t th;
        pthread_create(&th, NULL, exec_thread, NULL);
        pthread_join(th, NULL);
        return 1;
    } else {
        return 2;
    }
    return 0;
}
