// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz what load parses before it trusts anything: byte 0 selects
 * manifest.json (0), index.json (1), repositories (2), an archive name (3)
 * or a whole tar stream (4: every member and every data byte read through
 * the reader, names checked to stay inside the archive).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archive_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok)
        abort();
}

static void
fuzz_tar(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return;
    }
    struct ar_reader r;
    struct ud_error e = {0};
    static struct ar_member m;
    static unsigned char buf[65536];
    if (ar_reader_open(&r, fd, &e) == 0) {
        int rc;
        while ((rc = ar_reader_next(&r, &m, &e)) == 1) {
            check(m.name[0] != '/' && strstr(m.name, "../") == NULL && strcmp(m.name, "..") != 0);
            ssize_t k;
            uint64_t got = 0;
            while ((k = ar_reader_data(&r, buf, sizeof(buf), &e)) > 0)
                got += (uint64_t)k;
            check(k == 0 ? (m.type != AR_FILE || got == m.size) : true);
            if (k < 0)
                break;
        }
        ar_reader_close(&r);
    }
    close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct ud_error e = {0};
    size_t c = 0;
    switch (data[0] % 5) {
    case 0: {
        struct ud_archive_manifest_entry *v = NULL;
        if (ud_archive_manifest_parse(p, n, &v, &c, &e) == 0) {
            for (size_t i = 0; i < c; i++)
                check(v[i].config && v[i].repo_tags && v[i].layers);
            ud_archive_manifest_free(v, c);
        }
        break;
    }
    case 1: {
        struct ud_archive_index_entry *v = NULL;
        if (ud_archive_index_parse(p, n, &v, &c, &e) == 0) {
            for (size_t i = 0; i < c; i++)
                check(ud_oci_digest_is_valid(v[i].desc.digest) && v[i].desc.size >= 0);
            ud_archive_index_free(v, c);
        }
        break;
    }
    case 2: {
        struct ud_archive_repo_tag *v = NULL;
        if (ud_archive_repositories_parse(p, n, &v, &c, &e) == 0)
            ud_archive_repositories_free(v, c);
        break;
    }
    case 3: {
        char *s = strndup(p, n);
        char *r = NULL, *t = NULL;
        if (s && ud_archive_name_split(s, &r, &t, &e) == 0) {
            check(r[0] != '\0' && t[0] != '\0');
            free(r);
            free(t);
        }
        free(s);
        break;
    }
    default:
        fuzz_tar((const uint8_t *)p, n);
    }
    return 0;
}
