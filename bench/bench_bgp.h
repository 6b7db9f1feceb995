/*
 * bench_bgp.h - the IPv4 BGP table for benchmarks that need a realistic FIB.
 *
 * bench_bgp_load4() reads the RouteViews pfx2as table (SMPNET_BGP_TABLE, else
 * ../shared/data/routeviews-rv2-20170329-0200.pfx2as.gz relative to the working
 * directory or to the executable's <project>/<builddir>) through `gzip -dc`.
 * bench_bgp_gen4() makes a table of the same prefix-length distribution (the 2017-03-29
 * histogram) from a seed, for machines without the file and for --quick runs.
 * Prefixes are in host byte order with host bits zero; nh is origin AS mod 256 (loaded)
 * or random (generated).  Same format as bench route's table.
 */
#ifndef SMPNET_BENCH_BGP_H
#define SMPNET_BENCH_BGP_H

#include <stddef.h>
#include <stdint.h>

struct bgp_pfx4 {
	uint32_t	addr;		/* host order, host bits zero */
	uint8_t		len;
	uint32_t	nh;
};

/* Load the table into a malloc'ed array (*out).  Returns the count, 0 if unavailable. */
size_t bench_bgp_load4(struct bgp_pfx4 **out);

/* Generate n prefixes from seed into a malloc'ed array (*out).  Returns n, 0 on ENOMEM. */
size_t bench_bgp_gen4(struct bgp_pfx4 **out, size_t n, uint64_t seed);

/* xorshift64 step (state must be nonzero). */
uint64_t bench_bgp_rng(uint64_t *s);

#endif
