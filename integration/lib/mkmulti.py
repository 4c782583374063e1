# SPDX-License-Identifier: Apache-2.0
"""Push mkimage.py's "multi" image built for more platforms than its
default list: linux amd64, arm64/v8, arm/v7, arm/v6, ppc64le, s390x and
386, as an OCI index ("latest", with an attestation entry) and a Docker
manifest list ("list"). Built in its own cache directory so the default
image stays as it is.
usage: mkmulti.py --cache DIR --registry URL --repo REPO
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402

WIDE = [("linux", "amd64", None), ("linux", "arm64", "v8"), ("linux", "arm", "v7"),
        ("linux", "arm", "v6"), ("linux", "ppc64le", None), ("linux", "s390x", None),
        ("linux", "386", None)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--repo", required=True)
    a = ap.parse_args()
    mkimage.MULTI_PLATFORMS[:] = WIDE
    mkimage.push("multi", os.path.join(a.cache, "wide"), a.registry, a.repo, None, None, None,
                 None)


if __name__ == "__main__":
    main()
