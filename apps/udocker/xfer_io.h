/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the CLI: where load/import read a tarball from and where
 * save/export write one (a file made atomically, or a standard stream
 * that is not a terminal).
 */
#pragma once

#include <stdbool.h>

struct xfer_out {
    int fd;
    char *tmp;         /* temporary beside final, NULL for stdout */
    const char *final; /* borrowed */
};

/* path NULL or "-": stdout, refused when it is a terminal. Otherwise an
 * existing path is refused ("output file already exists: X") and a
 * temporary is made beside it. Prints the error; 0 or 1. */
int xfer_out_open(const char *path, struct xfer_out *o);
/* Sync and link the temporary into place (never over a file that
 * appeared meanwhile). Prints the error; 0 or 1. Always releases o. */
int xfer_out_commit(struct xfer_out *o);
void xfer_out_abort(struct xfer_out *o);
/* True when o writes to stdout. */
bool xfer_out_is_stdout(const struct xfer_out *o);

/* path NULL or "-": stdin, refused when it is a terminal; else opened
 * read-only. Prints the error; returns the fd or -1. */
int xfer_in_open(const char *path, const char *what);
