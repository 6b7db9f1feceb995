/*
 * smpnet.h (tools) - the subcommands of the smpnet command.  Each returns an exit status.
 */
#ifndef SMPNET_TOOLS_H
#define SMPNET_TOOLS_H

int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
