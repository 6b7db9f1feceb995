/*
 * kshim.h - test-only stand-in for a kern's CPU threads: a fake struct kern identity
 * (only its address is used, by kcpu_index()) and a way for a test thread to play CPU i.
 * Replaced by real kern_create() threads once src/kern/kern.c exists.
 */
#ifndef SMPNET_TESTS_KSHIM_H
#define SMPNET_TESTS_KSHIM_H

#include "kern/kern.h"

struct kshim {
	char	ks_dummy;
};

static inline const struct kern *
kshim_kern(struct kshim *s)
{
	return (const struct kern *)(const void *)s;
}

/* Make the calling thread CPU idx of the fake kern (idx -1: a foreign thread). */
static inline void
kshim_become_cpu(struct kshim *s, int idx)
{
	kcpu_self_tls.ks_kern = idx >= 0 ? (struct kern *)(void *)s : NULL;
	kcpu_self_tls.ks_idx = idx;
}

#endif
