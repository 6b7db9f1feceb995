/*
 * bench_bgp.c - load or generate the IPv4 BGP table (see bench_bgp.h).
 *
 * The loader pipes the gzip'ed pfx2as file ("a.b.c.d len AS" per line) through
 * `gzip -dc`, keeps lines that parse, and masks host bits.  The generator draws a length
 * from the 2017-03-29 histogram, then a unicast address in 1.0.0.0-223.255.255.255.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_bgp.h"

#define BGP_FILE	"routeviews-rv2-20170329-0200.pfx2as.gz"
#define BGP_NNH		256

/* Prefix counts per length of the 2017-03-29 RouteViews table (694,682 prefixes). */
static const unsigned bgp_hist[33] = {
	0, 0, 0, 0, 0, 0, 0, 0, 16, 13, 36, 103, 284, 541, 1069, 1866, 13390, 7990, 13962,
	25937, 40430, 46292, 82910, 69426, 378958, 1320, 1227, 888, 807, 1633, 561, 1831,
	3192,
};

uint64_t
bench_bgp_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t
bgp_mask4(unsigned len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

static int
bgp_path(char *path, size_t size)
{
	const char *env = getenv("SMPNET_BGP_TABLE");
	char exe[PATH_MAX];
	ssize_t n;

	if (env != NULL)
		snprintf(path, size, "%s", env);
	else if (access("../shared/data/" BGP_FILE, R_OK) == 0)
		snprintf(path, size, "../shared/data/" BGP_FILE);
	else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';	/* <project>/<builddir> */
		snprintf(path, size, "%s/../../shared/data/" BGP_FILE, exe);
	} else
		return -1;
	return access(path, R_OK);
}

static FILE *
bgp_open(void)
{
	char path[PATH_MAX + 64], cmd[PATH_MAX + 80];

	if (bgp_path(path, sizeof(path)) != 0)
		return NULL;
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	return popen(cmd, "r");
}

size_t
bench_bgp_load4(struct bgp_pfx4 **out)
{
	FILE *f = bgp_open();
	size_t n = 0, cap = 1 << 20;
	struct bgp_pfx4 *p;
	unsigned a, b, c, d, len;
	unsigned long as;
	char line[256];

	if (f == NULL || (p = malloc(cap * sizeof(*p))) == NULL) {
		if (f != NULL)
			pclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL && n < cap) {
		if (sscanf(line, "%u.%u.%u.%u %u %lu", &a, &b, &c, &d, &len, &as) != 6 || len > 32)
			continue;
		p[n].addr = ((a << 24) | (b << 16) | (c << 8) | d) & bgp_mask4(len);
		p[n].len = (uint8_t)len;
		p[n++].nh = (uint32_t)(as % BGP_NNH);
	}
	pclose(f);
	*out = p;
	return n;
}

static unsigned
bgp_draw_len(uint64_t *s, uint64_t total)
{
	uint64_t r = bench_bgp_rng(s) % total;
	unsigned len = 0;

	while (r >= bgp_hist[len])
		r -= bgp_hist[len++];
	return len;
}

size_t
bench_bgp_gen4(struct bgp_pfx4 **out, size_t n, uint64_t seed)
{
	struct bgp_pfx4 *p = malloc(n * sizeof(*p));
	uint64_t total = 0, s = seed;

	if (p == NULL)
		return 0;
	for (int l = 0; l <= 32; l++)
		total += bgp_hist[l];
	for (size_t i = 0; i < n; i++) {
		unsigned len = bgp_draw_len(&s, total);
		uint32_t a = (uint32_t)(((1 + bench_bgp_rng(&s) % 223) << 24) |
		    (bench_bgp_rng(&s) & 0xffffff));

		p[i].addr = a & bgp_mask4(len);
		p[i].len = (uint8_t)len;
		p[i].nh = (uint32_t)(bench_bgp_rng(&s) % BGP_NNH);
	}
	*out = p;
	return n;
}
