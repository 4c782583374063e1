/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The execution engines this build knows, fastest first. An engine module
 * that is not in the build is simply absent (its CMake target adds the
 * compile definition): "setup --execmode" then says the mode is not
 * available, and the automatic choice skips it.
 */
#include <stddef.h>

#include "run_int.h"
#ifdef UD_HAVE_RUNC_ROOTLESS
#include "ud/runc-rootless.h"
#endif
#ifdef UD_HAVE_PTRACE_PROOT
#include "ud/ptrace-proot.h"
#endif

const struct ud_engine *const ud_cli_engines[] = {
#ifdef UD_HAVE_RUNC_ROOTLESS
    &ud_engine_r1, &ud_engine_r3, &ud_engine_r2,
#endif
#ifdef UD_HAVE_PTRACE_PROOT
    &ud_engine_p1, &ud_engine_p2,
#endif
    NULL,
};
