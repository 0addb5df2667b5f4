/* Subcommands of the sgxemu CLI: each gets argv and the index of its first argument. */
#ifndef SGXEMU_TOOLS_CMDS_H
#define SGXEMU_TOOLS_CMDS_H

int cmd_stat(int argc, char **argv, int i);

#endif
