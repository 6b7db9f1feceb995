/*
 * psz.c - registration and grace periods for psz.h.
 */
#include "kern/psz.h"
#include "kern/kern.h"

#include <pthread.h>

_Thread_local bool psz_registered;
#ifdef PSZ_TSAN
char psz_tsan_sync;
#endif

static pthread_key_t psz_key;
static pthread_once_t psz_once = PTHREAD_ONCE_INIT;

static void
psz_unregister(void *arg)
{
	(void)arg;
	if (psz_registered) {
		urcu_memb_unregister_thread();
		psz_registered = false;
	}
}

static void
psz_key_create(void)
{
	(void)pthread_key_create(&psz_key, psz_unregister);
}

void
psz_register_slow(void)
{
	pthread_once(&psz_once, psz_key_create);
	urcu_memb_register_thread();
	psz_registered = true;
	/* Any non-NULL value makes the destructor run at thread exit. */
	(void)pthread_setspecific(psz_key, &psz_registered);
}

void
psz_synchronize(void)
{
	urcu_memb_synchronize_rcu();
#ifdef PSZ_TSAN
	__tsan_acquire(&psz_tsan_sync);
#endif
}

static void
psz_defer_run(struct rcu_head *rh)
{
	struct psz_head *h = container_of(rh, struct psz_head, ph_rcu);

#ifdef PSZ_TSAN
	__tsan_acquire(h);		/* the deferring thread's writes (psz_defer) */
	__tsan_acquire(&psz_tsan_sync);
#endif
	h->ph_fn(h);
#ifdef PSZ_TSAN
	__tsan_release(&psz_tsan_sync);	/* the callback's writes, for psz_barrier() */
#endif
}

void
psz_defer(struct psz_head *head, void (*fn)(struct psz_head *))
{
	head->ph_fn = fn;
#ifdef PSZ_TSAN
	__tsan_release(head);		/* TSan cannot see call_rcu's hand-off */
#endif
	urcu_memb_call_rcu(&head->ph_rcu, psz_defer_run);
}

void
psz_barrier(void)
{
	urcu_memb_barrier();
#ifdef PSZ_TSAN
	__tsan_acquire(&psz_tsan_sync);	/* pairs with the release after each callback */
#endif
}
