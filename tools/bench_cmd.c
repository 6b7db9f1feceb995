/*
 * bench_cmd.c - `smpnet bench NAME|all|list [--json] [--repeat N] [--seconds S]
 * [--quick] [--case SUBSTRING]`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "smpnet.h"

static int
bench_usage(void)
{
	fprintf(stderr, "usage: smpnet bench NAME|all|list [--json] [--repeat N] "
	    "[--seconds S] [--quick] [--case SUBSTRING]\n");
	return 2;
}

static int
run_one(const struct bench *b, const struct bench_opts *opts)
{
	int error = b->run(opts);

	if (error != 0)
		fprintf(stderr, "smpnet bench %s: %s\n", b->name, strerror(-error));
	return error != 0;
}

int
cmd_bench(int argc, char **argv)
{
	struct bench_opts opts = { .json = false, .repeat = 3, .seconds = 0.5 };
	const char *name = NULL;
	int i, failed = 0, found = 0;
	char *end;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			opts.json = true;
		else if (strcmp(argv[i], "--quick") == 0)
			opts.quick = true;
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			opts.repeat = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || opts.repeat < 1 || opts.repeat > 1000)
				return bench_usage();
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			opts.seconds = strtod(argv[++i], &end);
			if (*end != '\0' || !(opts.seconds > 0 && opts.seconds <= 600))
				return bench_usage();
		} else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
			opts.filter = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return bench_usage();
	}
	if (name == NULL)
		return bench_usage();
	if (opts.quick) {
		opts.repeat = 1;
		opts.seconds = 0.05;
	}
	for (i = 0; bench_table[i] != NULL; i++) {
		const struct bench *b = bench_table[i];

		if (strcmp(name, "list") == 0) {
			printf("%-10s %s\n", b->name, b->help);
			found++;
		} else if (strcmp(name, "all") == 0 || strcmp(name, b->name) == 0) {
			failed += run_one(b, &opts);
			found++;
		}
	}
	if (found == 0) {
		fprintf(stderr, "smpnet bench: no benchmark named '%s' (try 'smpnet bench list')\n",
		    name);
		return 2;
	}
	return failed ? 1 : 0;
}
