/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-item progress display for long transfers (pull, load, create), on
 * stderr. On a terminal: one bar per item with bytes, rate and ETA,
 * redrawn in place at most 10 times a second (like "docker pull").
 * Without a terminal: one line per item when it completes. With -q
 * (INFO not shown): nothing at all. Errors are never reported here: the
 * caller prints them.
 *
 * Use:
 *     struct ud_progress *p = ud_progress_new("Downloading", n);
 *     ud_progress_item(p, i, "sha256:abc...", size);  // each item, once
 *     ud_progress_update(p, i, bytes_so_far);         // as often as you like
 *     ud_progress_done(p, i, "Pull complete");        // or ud_progress_failed
 *     ud_progress_free(p);                            // ends the display
 * Every function accepts p == NULL (nothing shown): ud_progress_new
 * returns NULL under -q or when out of memory, so callers need no test.
 * Single-threaded: call from one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ud_progress;

/* A display for n items on stderr; action is the verb shown while an item
 * runs ("Downloading", "Extracting", "Loading"). Mode: a terminal when
 * stderr is a tty, quiet when INFO messages are off. */
struct ud_progress *ud_progress_new(const char *action, size_t n);
/* The same with an explicit stream and mode (tests). */
struct ud_progress *ud_progress_new_on(FILE *f, bool tty, const char *action, size_t n);
/* Name item i (a "sha256:..." digest is shown as its first 12 hex digits;
 * other labels are cut to 24 characters) and its size in bytes (-1
 * unknown). */
void ud_progress_item(struct ud_progress *p, size_t i, const char *label, int64_t total);
/* Item i has done bytes (the count may start above 0: a resumed item's
 * rate counts only what moved since its first update). */
void ud_progress_update(struct ud_progress *p, size_t i, int64_t done);
/* Item i finished; status is the word shown ("Pull complete", "Already
 * exists", "Extracted"). Prints its line when there is no terminal. */
void ud_progress_done(struct ud_progress *p, size_t i, const char *status);
/* Item i failed (its bar says "Failed"; no line without a terminal). */
void ud_progress_failed(struct ud_progress *p, size_t i);
/* Final redraw and release. */
void ud_progress_free(struct ud_progress *p);

/* "12.3 MB"-style size (decimal units, as docker pull) into buf. */
void ud_progress_fmt_bytes(char *buf, size_t cap, int64_t bytes);
