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
    "  images -l                  :list local images\n"
    "  create <repo/image:tag>    :create a container from a local image\n"
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
