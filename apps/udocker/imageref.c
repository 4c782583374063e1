/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image names given to local commands (create, rmi, inspect, verify,
 * protect): parsed with the same rules as pull, so that the local repos/
 * path is the one pull wrote ("docker.io/python" and "python" differ).
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "ud/oci-manifest.h"

int
ud_imagespec_split(const char *spec, char **repo, char **tag, struct ud_error *err)
{
    if (!spec || !spec[0])
        return ud_error_set(err, UD_EINVAL, 0, "must specify image:tag or repository/image:tag");
    int rc = ud_oci_ref_split(spec, repo, tag, err);
    if (rc == UD_ENOMEM)
        return rc;
    if (rc < 0)
        return ud_error_set(err, UD_EINVAL, 0, "must specify image:tag or repository/image:tag");
    return 0;
}
