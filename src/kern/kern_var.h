/*
 * kern_var.h - the insides of a kern, shared by kern.c, kcont.c and klock.c only.
 *
 * Each CPU (struct kcpu) has: an inbound MPSC list (any thread pushes, the CPU thread
 * takes all), a "sleeping" word for the idle protocol, two run queues (high, normal),
 * a hashed timer wheel, and one outbox per other CPU where remote schedules made while
 * running are batched until the end of the current batch.  Everything but the inbound
 * head and the sleeping word is touched only by the CPU thread ([c]).
 */
#ifndef SMPNET_KERN_KERN_VAR_H
#define SMPNET_KERN_KERN_VAR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "kern/klock.h"

#define KWHEEL_SLOTS	256		/* power of two */
#define KLOCK_MAXCLASS	256		/* classes checked by the lock-order checker */
#define KWHEEL_SHIFT	20		/* tick = 2^20 ns ~ 1.05 ms */

struct klist {				/* doubly-linked through kc_lnext/kc_lprev */
	struct kcont	*kl_head;
	struct kcont	*kl_tail;
};

struct koutbox {			/* newest first, pushed as one chain */
	struct kcont	*ko_head;
	struct kcont	*ko_tail;
};

struct kcpu {
	/* Written by producers on other CPUs: its own line. */
	_Atomic(struct kcont *)	 c_inbound;	/* [a] MPSC list, newest first */
	_Atomic uint32_t	 c_sleeping;	/* [a] 1 while the thread may sleep */
	char			 c_pad[CACHE_LINE - sizeof(void *) - sizeof(uint32_t)];
	/* The CPU thread's own state. */
	struct kern		*c_kern;	/* [I] */
	int			 c_idx;		/* [I] */
	pthread_t		 c_thread;	/* [I] */
	struct klist		 c_runq[2];	/* [c] 0 = high, 1 = normal */
	struct klist		 c_wheel[KWHEEL_SLOTS];	/* [c] */
	uint64_t		 c_wtick;	/* [c] next tick to scan */
	unsigned		 c_wcount;	/* [c] items in the wheel */
	uint64_t		 c_wmin;	/* [c] no wheel deadline is earlier */
	uint64_t		 c_outmask;	/* [c] outboxes not empty */
	struct koutbox		 c_out[KERN_MAXCPU];	/* [c] */
	uint64_t		 c_runs;	/* [c] continuations run */
	uint64_t		 c_sleeps;	/* [c] times the thread slept */
} __cacheline_aligned;

struct kern {
	int			 k_ncpu;	/* [I] */
	bool			 k_giant;	/* [I] */
	bool			 k_nopin;	/* [I] */
	bool			 k_lockstat_hold; /* [I] */
	const struct ktime_ops	*k_time;	/* [I] NULL = ktime_mono */
	struct kcpu		*k_cpus;	/* [I] k_ncpu entries */
	_Atomic bool		 k_stop;	/* [a] CPU threads exit */
	/* Giant lock. */
	struct kmutex		 k_giant_mtx;
	int			 k_giant_depth;	/* [W] k_giant_mtx: recursion depth */
	/* Worker pool for KC_WORKQ. */
	pthread_mutex_t		 k_wq_mtx;
	pthread_cond_t		 k_wq_cv;
	struct klist		 k_wq;		/* [W] k_wq_mtx */
	bool			 k_wq_stop;	/* [W] k_wq_mtx */
	int			 k_nworkers;	/* [I] */
	pthread_t		*k_workers;	/* [I] */
	/* Lock-class registry. */
	pthread_mutex_t		 k_reg_mtx;
	struct klock_stats	*k_reg_head;	/* [W] k_reg_mtx */
	struct klock_stats	*k_reg_tail;	/* [W] k_reg_mtx */
	int			 k_reg_count;	/* [W] k_reg_mtx */
	bool			 k_order_panic;	/* [I] SMPNET_LOCKORDER_PANIC=1 */
	_Atomic uint64_t	 k_order_violations;	/* [a] */
	/* k_order[a] bit b: class b was taken while holding class a (debug builds). */
	_Atomic uint64_t	 k_order[KLOCK_MAXCLASS][KLOCK_MAXCLASS / 64];	/* [a] */
};

/* kcont.c: the CPU thread's work, and the worker pool. */
unsigned kcpu_drain(struct kcpu *c);
unsigned kcpu_expire(struct kcpu *c);
unsigned kcpu_run(struct kcpu *c, unsigned budget);
void kcpu_flush(struct kcpu *c);
bool kcpu_busy(const struct kcpu *c);
void kcpu_discard(struct kcpu *c);
void *kwq_main(void *arg);
void kwq_discard(struct kern *k);
uint64_t kcpu_next_timeout(const struct kcpu *c);

/* kern.c */
void kcpu_kick(struct kcpu *c);

/* klock.c */
int klock_registry_init(struct kern *k);
void klock_registry_fini(struct kern *k);

#endif /* SMPNET_KERN_KERN_VAR_H */
