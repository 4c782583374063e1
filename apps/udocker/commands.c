/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command table: name, handler, the help block printed by
 * "udocker CMD --help", and whether the command needs the repository.
 * The general help text is here too, so both stay in step.
 */
#include <string.h>

#include "cli.h"

const char ud_general_help[] =
    "Syntax:\n"
    "  udocker [general options] <command> [command options] <command args>\n"
    "\n"
    "General options:\n"
    "  -h, --help                 :this help\n"
    "  -V, --version              :show version and exit\n"
    "  -D, --debug                :debug output\n"
    "  -q, --quiet                :less output (results are still printed)\n"
    "  --insecure                 :do not verify TLS certificates of registries\n"
    "  --repo=<directory>         :use this (existing) repository\n"
    "  --allow-root               :allow running as the root user\n"
    "  --config=<file>            :read this configuration file last\n"
    "\n"
    "Commands:\n"
    "  help                       :this help\n"
    "  version                    :show version\n"
    "  showconf                   :show the configuration in use\n"
    "  search <repo/expression>   :search a registry for images\n"
    "  pull <repo/image:tag>      :download an image from a registry\n"
    "  manifest inspect <image>   :print an image's manifest from the registry\n"
    "  images -l                  :list local images\n"
    "  create <repo/image:tag>    :create a container from a local image\n"
    "  run <container|image> [cmd]:run a container (an image: create one first)\n"
    "  setup <container>          :show or change the execution mode\n"
    "  ps                         :list containers\n"
    "  rm <container>             :delete a container\n"
    "  rmi <repo/image:tag>       :delete a local image\n"
    "  inspect <repo/image:tag>   :print the image or container metadata\n"
    "  verify <repo/image:tag>    :check the integrity of a local image\n"
    "  clone <container>          :duplicate a container\n"
    "  name <container> <name>    :give a name to a container\n"
    "  rmname <name>              :remove a name from a container\n"
    "  protect <container|image>  :protect against deletion\n"
    "  unprotect <container|image>:remove the protection\n"
    "  mkrepo <directory>         :create a repository in <directory>\n"
    "  load -i <archive>          :load images from a docker save or OCI archive\n"
    "  save -o <archive> <image>  :save images to an archive (Docker 25+ layout)\n"
    "  import <tarball> <image>   :import a root filesystem tarball as an image\n"
    "  export -o <file> <contnr>  :export a container's root filesystem as a tarball\n"
    "  tag <image> <new image>    :give an image another name\n"
    "  rename <name|image> <new>  :rename a container name or an image\n"
    "  login                      :store credentials for a registry\n"
    "  logout                     :remove stored credentials\n"
    "\n"
    "Examples:\n"
    "  udocker pull busybox:latest\n"
    "  udocker create --name=mybox busybox:latest\n"
    "  udocker ps\n"
    "\n"
    "Run \"udocker <command> --help\" for the options of a command.\n"
    "This implementation builds its execution engines from source: it never\n"
    "downloads a tools tarball.\n";

const struct ud_cmd ud_commands[] = {
    {"help", cmd_help,
     "help: show the general help, or the help of a command\n"
     "help [command]\n",
     false},
    {"version", cmd_version,
     "version: show the version of udocker\n"
     "version\n",
     false},
    {"showconf", cmd_showconf,
     "showconf: print the configuration in use (defaults, udocker.conf files,\n"
     "UDOCKER_* variables and general options applied)\n"
     "showconf\n",
     false},
    {"search", cmd_search,
     "search: search a registry for images\n"
     "search [options] <expression>\n"
     "  -a                         :do not pause between pages\n"
     "  --no-trunc                 :do not truncate the output\n"
     "  --list-tags                :list the tags of <repo/image>\n"
     "  --index=https://hub.docker.com   :index to search\n"
     "  --registry=https://registry-1.docker.io :registry for --list-tags\n"
     "  --httpproxy=socks5://host:port   :use this proxy\n",
     false},
    {"pull", cmd_pull,
     "pull: download an image from a registry\n"
     "pull [options] <repo/image:tag>\n"
     "  --index=https://hub.docker.com   :docker index\n"
     "  --registry=https://registry-1.docker.io :docker registry\n"
     "  --httpproxy=socks5://host:port   :use this proxy\n"
     "  --platform=os/arch[/variant]     :image platform to pull\n",
     true},
    {"manifest", cmd_manifest,
     "manifest: print an image's manifest or index as the registry serves it\n"
     "manifest [options] inspect <repo/image:tag>\n"
     "  --index=https://hub.docker.com   :docker index\n"
     "  --registry=https://registry-1.docker.io :docker registry\n"
     "  --httpproxy=socks5://host:port   :use this proxy\n"
     "  --platform=os/arch[/variant]     :the manifest of this platform\n",
     false},
    {"images", cmd_images,
     "images: list the local images\n"
     "images [options]\n"
     "  -l                         :long format: tag directory and layers\n"
     "  -p                         :print the platform of each image\n",
     true},
    {"create", cmd_create,
     "create: extract the layers of an image into a new container\n"
     "create [options] <repo/image:tag>\n"
     "  --name=<name>              :give a name to the container\n"
     "  --force                    :take the name even if another container has it\n",
     true},
    {"run", cmd_run,
     "run: execute a container\n"
     "run [options] <container-id-or-name | repo/image:tag> [command [args...]]\n"
     "  --rm                       :delete the container after the run\n"
     "  --name=<name>              :give a name to the container\n"
     "  -v, --volume=<host>[:<cont>] :bind a host file or directory (repeatable)\n"
     "  --novol=<host>             :drop a -v given earlier (e.g. by an alias)\n"
     "  -e, --env=<K>=<V> | <K>    :set a variable (bare K: the host's value)\n"
     "  --env-file=<file>          :read K=V lines from a file\n"
     "  -u, --user=<name>|<uid>[:<gid>] :user inside the container\n"
     "  -w, --workdir=<dir>        :working directory (absolute, must exist)\n"
     "  --entrypoint=<cmd>         :override the image entrypoint (\"\" for none)\n"
     "  --hostauth                 :use the host passwd and group\n"
     "  --containerauth            :use the container passwd and group as they are\n"
     "  --nosysdirs                :do not bind /dev /proc /sys /etc/resolv.conf\n"
     "                              /etc/host.conf /lib/modules\n"
     "  --hostenv                  :pass the whole host environment\n"
     "  --bindhome                 :bind the host home directory\n"
     "  --nometa                   :ignore the image metadata\n"
     "  --dri                      :bind the host's DRI libraries\n"
     "  --cpuset-cpus=<list>       :run on these CPUs\n"
     "  --kernel=<release>         :kernel release to report (P modes)\n"
     "  --location=<dir>           :run a root file system directory (no container)\n"
     "  -p, --publish=[ip:]<host>:<cont> :map a port (P modes)\n"
     "  -P, --publish-all          :map every port above 1024 (P modes)\n"
     "  --device=<dev>             :make a host device visible (R modes)\n"
     "  --pull=missing|never|always|reuse :when to pull an image\n"
     "  --platform=os/arch[/variant] :platform of an image to pull\n"
     "  --index=<url> --registry=<url> --httpproxy=<url> :for the pull\n"
     "  --nobanner                 :do not print the start banner\n",
     true},
    {"setup", cmd_setup,
     "setup: show or change the execution mode of a container\n"
     "setup [options] <container-id-or-name>\n"
     "  --execmode=<mode>|auto     :switch the mode (P1 P2 R1 R2 R3 in this build)\n"
     "  --force                    :redo the switch even if already in that mode\n"
     "  --purge                    :remove the mountpoints and file binds made\n",
     true},
    {"ps", cmd_ps,
     "ps: list containers\n"
     "ps [options]\n"
     "  -m                         :print the execution mode\n"
     "  -s                         :print the size in MB\n"
     "  -p                         :print the platform\n",
     true},
    {"rm", cmd_rm,
     "rm: delete containers\n"
     "rm [options] <container-id-or-name> [...]\n"
     "  -f                         :force: make read-only files deletable first\n",
     true},
    {"rmi", cmd_rmi,
     "rmi: delete a local image\n"
     "rmi [options] <repo/image:tag>\n"
     "  -f                         :ignore errors removing layers\n",
     true},
    {"inspect", cmd_inspect,
     "inspect: print the metadata JSON of a container or an image\n"
     "inspect [options] <container-id-or-name | repo/image:tag>\n"
     "  -p                         :print the container's ROOT directory\n",
     true},
    {"verify", cmd_verify,
     "verify: check the layers and checksums of a local image\n"
     "verify <repo/image:tag>\n",
     true},
    {"clone", cmd_clone,
     "clone: duplicate a container\n"
     "clone [options] <container-id-or-name>\n"
     "  --name=<name>              :give a name to the new container\n",
     true},
    {"name", cmd_name,
     "name: give a name to a container\n"
     "name <container-id> <name>\n",
     true},
    {"rmname", cmd_rmname,
     "rmname: remove a name from a container\n"
     "rmname <name>\n",
     true},
    {"protect", cmd_protect,
     "protect: protect a container or an image against deletion\n"
     "protect <container-id-or-name | repo/image:tag>\n",
     true},
    {"unprotect", cmd_unprotect,
     "unprotect: remove the deletion protection\n"
     "unprotect <container-id-or-name | repo/image:tag>\n",
     true},
    {"load", cmd_load,
     "load: load images from a tarball made by docker save, skopeo or OCI tools\n"
     "load [options] [-i <archive> | --input=<archive> | -] [<new-repo-name[:tag]>]\n"
     "  -i <archive>               :read this file (default: standard input)\n"
     "  --platform=os/arch[/variant] :image of multi-platform entries (default: host)\n",
     true},
    {"save", cmd_save,
     "save: write images to one tarball (Docker 25+ layout: docker load, skopeo\n"
     "docker-archive: and oci-archive: read it)\n"
     "save [-o <archive> | --output=<archive> | -o -] <repo/image:tag> [...]\n"
     "  -o <archive>               :write this new file (default: standard output)\n",
     true},
    {"import", cmd_import,
     "import: a root filesystem tarball (docker export) as a new image\n"
     "import [options] <tarball | -> <repo/image:tag>\n"
     "import --tocontainer [--name=<name>] [options] <tarball | -> [<repo/image:tag>]\n"
     "import --clone [--name=<name>] <tarball | ->\n"
     "  --mv                       :move the tarball into the repository\n"
     "  --platform=os/arch[/variant] :platform recorded in the image\n"
     "  --tocontainer              :create a container, not an image; print its id\n"
     "  --clone                    :a tarball of \"export --clone\" as a new container\n"
     "  --name=<name>              :name of the new container\n",
     true},
    {"export", cmd_export,
     "export: write a container's root filesystem as a tarball\n"
     "export [-o <file> | --output=<file> | -] [--clone] <container-id-or-name>\n"
     "  -o <file>                  :write this new file (default: standard output)\n"
     "  --clone                    :the whole container (metadata, execution mode)\n",
     true},
    {"tag", cmd_tag,
     "tag: give a local image another name (no data is copied)\n"
     "tag <repo/image:tag> <new-repo/image:tag>\n",
     true},
    {"rename", cmd_rename,
     "rename: rename a container name, or an image (tag it, then untag the old name)\n"
     "rename <name | repo/image:tag> <new-name | new-repo/image:tag>\n",
     true},
    {"mkrepo", cmd_mkrepo,
     "mkrepo: create a repository in a new directory\n"
     "mkrepo <directory>\n",
     false},
    {"login", cmd_login,
     "login: store credentials for a registry (the registry is not contacted)\n"
     "login [options]\n"
     "  --username=<user>\n"
     "  --password=<password>\n"
     "  --password-stdin           :read the password from standard input\n"
     "  --registry=https://registry-1.docker.io\n",
     false},
    {"logout", cmd_logout,
     "logout: remove stored credentials\n"
     "logout [options]\n"
     "  -a                         :remove all credentials\n"
     "  --registry=https://registry-1.docker.io\n",
     false},
    {NULL, NULL, NULL, false},
};

const struct ud_cmd *
ud_cmd_find(const char *name)
{
    for (const struct ud_cmd *c = ud_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
