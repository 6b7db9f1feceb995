/*
 * main.c - the smpnet command: one binary, a subcommand per job.
 */
#include <stdio.h>
#include <string.h>

#include "smpnet.h"

struct command {
	const char *name;
	const char *help;
	int (*main)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "demo",  "stacks on in-memory links, giant vs MP mode across CPU counts", cmd_demo },
	{ "bench", "run a benchmark: smpnet bench NAME|all|list [--json] [--repeat N]", cmd_bench },
	{ "serve", "run a stack on TAP devices: smpnet serve --tap NAME=ADDR/PLEN ... (see --help)", cmd_serve },
};

static int
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: smpnet COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	return f == stderr ? 2 : 0;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "smpnet: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
