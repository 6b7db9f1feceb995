/*
 * demo.c - `smpnet demo`.
 */
#include <stdio.h>

#include "smpnet.h"

int
cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "smpnet demo: the platform layer is not built yet\n");
	return 1;
}
