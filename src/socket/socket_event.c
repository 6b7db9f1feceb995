/*
 * socket_event.c - event sets: an epoll-like, level-triggered readiness API.
 *
 * A registration (struct sowatch) links one socket and one event set.  It sits on the
 * socket's watch list (under so_lock) and on the set's list of all registrations and,
 * while possibly ready, on the set's ready list (both under es_lock).  A registration
 * counts as a receive waiter (so_rwant), so producers kick the socket's receive
 * continuation when data arrives, which posts the socket's ready registrations
 * (sowatch_post_all, so_lock then es_lock).  smpnet_evset_wait() walks the ready list
 * under es_lock, re-polls each socket (so_poll() reads only atomics, so no socket lock
 * is taken in the wrong order), reports and keeps the ready ones (level-triggered, moved
 * to the tail for fairness) and drops the others from the list.
 *
 * Liveness of the socket behind a registration: close removes the socket's
 * registrations under so_lock + es_lock before the socket is freed, so a socket reached
 * through a registration under es_lock is alive.
 *
 * Lock order: so_lock -> es_lock.  es_lock is a plain mutex held for list operations.
 * A readiness report can be spurious under lazy receive processing (a record that later
 * fails its checksum): a receive then returns -EAGAIN, as on Linux.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern/kassert.h"
#include "socket/socket_var.h"

struct sowatch {
	struct sowatch		*sw_sonext;	/* [L] socket's list */
	struct sowatch		*sw_esnext;	/* [W es_lock] set's list */
	struct sowatch		*sw_esprev;	/* [W es_lock] */
	struct sowatch		*sw_rnext;	/* [W es_lock] ready list */
	bool			 sw_queued;	/* [W es_lock] on the ready list */
	uint32_t		 sw_events;	/* [W es_lock] */
	void			*sw_udata;	/* [W es_lock] */
	struct socket		*sw_so;		/* [I] */
	struct smpnet_evset	*sw_es;		/* [I] */
};

struct smpnet_evset {
	pthread_mutex_t		 es_lock;
	pthread_cond_t		 es_cv;
	struct smpnet		*es_stack;	/* [I] */
	struct sowatch		*es_all;	/* [W es_lock] */
	struct sowatch		*es_rhead;	/* [W es_lock] ready list */
	struct sowatch		*es_rtail;	/* [W es_lock] */
};

uint32_t
so_poll(struct socket *so)
{
	/* acquire/relaxed loads: a snapshot; the receive path re-checks under so_lock */
	uint32_t st = atomic_load_explicit(&so->so_state, memory_order_acquire), ev = 0;

	if (atomic_load_explicit(&so->so_rcv.sb_records, memory_order_relaxed) != 0 ||
	    !ring_empty(so->so_rcv.sb_ring) || (st & SS_CANTRCVMORE))
		ev |= SMPNET_EV_IN;
	if (!(st & SS_CANTSENDMORE))
		ev |= SMPNET_EV_OUT;
	if (atomic_load_explicit(&so->so_error, memory_order_relaxed) != 0)
		ev |= SMPNET_EV_ERR | SMPNET_EV_IN;
	if ((st & (SS_CANTRCVMORE | SS_CANTSENDMORE)) == (SS_CANTRCVMORE | SS_CANTSENDMORE))
		ev |= SMPNET_EV_HUP;
	return ev;
}

static uint32_t
sw_mask(const struct sowatch *w)
{
	return w->sw_events | SMPNET_EV_ERR | SMPNET_EV_HUP;
}

/* Put w on the ready list (es_lock held). */
static void
es_ready_push(struct smpnet_evset *es, struct sowatch *w)
{
	w->sw_rnext = NULL;
	if (es->es_rtail != NULL)
		es->es_rtail->sw_rnext = w;
	else
		es->es_rhead = w;
	es->es_rtail = w;
	w->sw_queued = true;
}

static void
sw_post(struct sowatch *w)
{
	struct smpnet_evset *es = w->sw_es;

	pthread_mutex_lock(&es->es_lock);
	if (!w->sw_queued) {
		es_ready_push(es, w);
		pthread_cond_broadcast(&es->es_cv);
	}
	pthread_mutex_unlock(&es->es_lock);
}

void
sowatch_post_all(struct socket *so)
{
	uint32_t ev = so_poll(so);

	KMUTEX_ASSERT_HELD(&so->so_lock);
	for (struct sowatch *w = so->so_watch; w != NULL; w = w->sw_sonext)
		if (ev & sw_mask(w))
			sw_post(w);
}

/* Unlink w from its set's lists (es_lock held). */
static void
es_unlink(struct smpnet_evset *es, struct sowatch *w)
{
	if (w->sw_esprev != NULL)
		w->sw_esprev->sw_esnext = w->sw_esnext;
	else
		es->es_all = w->sw_esnext;
	if (w->sw_esnext != NULL)
		w->sw_esnext->sw_esprev = w->sw_esprev;
	if (w->sw_queued) {
		struct sowatch **pp, *prev = NULL;

		for (pp = &es->es_rhead; *pp != w; prev = *pp, pp = &(*pp)->sw_rnext)
			continue;
		*pp = w->sw_rnext;
		if (es->es_rtail == w)
			es->es_rtail = prev;
		w->sw_queued = false;
	}
}

/* Remove w from both lists and free it (so_lock held; w on so's list at *pp). */
static void
sw_remove(struct socket *so, struct sowatch **pp)
{
	struct sowatch *w = *pp;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	*pp = w->sw_sonext;
	pthread_mutex_lock(&w->sw_es->es_lock);
	es_unlink(w->sw_es, w);
	pthread_mutex_unlock(&w->sw_es->es_lock);
	/* relaxed: so_lock orders the watcher count for lock holders */
	atomic_fetch_sub_explicit(&so->so_rwant, 1, memory_order_relaxed);
	free(w);
}

void
sowatch_remove_all(struct socket *so)
{
	while (so->so_watch != NULL)
		sw_remove(so, &so->so_watch);
}

static struct sowatch **
so_find_watch(struct socket *so, struct smpnet_evset *es)
{
	struct sowatch **pp;

	for (pp = &so->so_watch; *pp != NULL; pp = &(*pp)->sw_sonext)
		if ((*pp)->sw_es == es)
			return pp;
	return NULL;
}

static int
es_add(struct smpnet_evset *es, struct socket *so, uint32_t events, void *udata)
{
	struct sowatch *w;

	if (so_find_watch(so, es) != NULL)
		return -EEXIST;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->sw_so = so;
	w->sw_es = es;
	w->sw_events = events;
	w->sw_udata = udata;
	w->sw_sonext = so->so_watch;
	so->so_watch = w;
	pthread_mutex_lock(&es->es_lock);
	w->sw_esnext = es->es_all;
	if (es->es_all != NULL)
		es->es_all->sw_esprev = w;
	es->es_all = w;
	pthread_mutex_unlock(&es->es_lock);
	/* a watcher is a receive waiter: Dekker with the producers (see socket_var.h) */
	atomic_fetch_add_explicit(&so->so_rwant, 1, memory_order_relaxed);
	membar_sync();
	if (so_poll(so) & sw_mask(w))
		sw_post(w);
	return 0;
}

static int
es_mod(struct smpnet_evset *es, struct socket *so, uint32_t events, void *udata)
{
	struct sowatch **pp = so_find_watch(so, es), *w;

	if (pp == NULL)
		return -ENOENT;
	w = *pp;
	pthread_mutex_lock(&es->es_lock);
	w->sw_events = events;
	w->sw_udata = udata;
	pthread_mutex_unlock(&es->es_lock);
	if (so_poll(so) & sw_mask(w))
		sw_post(w);
	return 0;
}

static int
es_ctl_locked(struct smpnet_evset *es, int op, struct socket *so, uint32_t events,
    void *udata)
{
	struct sowatch **pp;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (atomic_load_explicit(&so->so_state, memory_order_relaxed) & SS_CLOSED)
		return -EBADF;
	switch (op) {
	case SMPNET_EV_ADD:
		return es_add(es, so, events, udata);
	case SMPNET_EV_MOD:
		return es_mod(es, so, events, udata);
	case SMPNET_EV_DEL:
		if ((pp = so_find_watch(so, es)) == NULL)
			return -ENOENT;
		sw_remove(so, pp);
		return 0;
	default:
		return -EINVAL;
	}
}

int
smpnet_evset_ctl(struct smpnet_evset *es, int op, struct smpnet_socket *s, uint32_t events,
    void *udata)
{
	struct socket *so = (struct socket *)(void *)s;
	struct kern *k;
	int r;

	if (es == NULL || so == NULL || so->so_stack != es->es_stack)
		return -EINVAL;
	k = smpnet_kern_of(so->so_stack);
	kern_giant_enter(k);
	kmutex_enter(&so->so_lock);
	r = es_ctl_locked(es, op, so, events, udata);
	kmutex_exit(&so->so_lock);
	kern_giant_exit(k);
	return r;
}

struct smpnet_evset *
smpnet_evset_create(struct smpnet *st)
{
	struct smpnet_evset *es;
	pthread_condattr_t ca;

	if (st == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((es = calloc(1, sizeof(*es))) == NULL)
		return NULL;
	es->es_stack = st;
	pthread_mutex_init(&es->es_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&es->es_cv, &ca);
	pthread_condattr_destroy(&ca);
	return es;
}

/*
 * Destroy.  No thread may wait on es, nor add/remove/close its sockets meanwhile
 * (receive continuations may still post: they take so_lock, which we take first).
 */
void
smpnet_evset_destroy(struct smpnet_evset *es)
{
	for (;;) {
		struct socket *so;

		pthread_mutex_lock(&es->es_lock);
		so = es->es_all != NULL ? es->es_all->sw_so : NULL;
		pthread_mutex_unlock(&es->es_lock);
		if (so == NULL)
			break;
		kmutex_enter(&so->so_lock);
		sw_remove(so, so_find_watch(so, es));
		kmutex_exit(&so->so_lock);
	}
	pthread_cond_destroy(&es->es_cv);
	pthread_mutex_destroy(&es->es_lock);
	free(es);
}

/* Report ready registrations (es_lock held); returns how many. */
static int
es_collect(struct smpnet_evset *es, struct smpnet_event *evs, int max)
{
	struct sowatch *stop = es->es_rtail, *w;
	int n = 0;

	while (n < max && (w = es->es_rhead) != NULL) {
		uint32_t ev = so_poll(w->sw_so) & sw_mask(w);

		if ((es->es_rhead = w->sw_rnext) == NULL)
			es->es_rtail = NULL;
		w->sw_queued = false;
		if (ev != 0) {
			evs[n].events = ev;
			evs[n++].udata = w->sw_udata;
			es_ready_push(es, w);	/* level-triggered: stays, at the tail */
		}
		if (w == stop)
			break;
	}
	return n;
}

static void
ts_after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
smpnet_evset_wait(struct smpnet_evset *es, struct smpnet_event *evs, int max, int timeout_ms)
{
	struct timespec ts;
	int n;

	if (es == NULL || evs == NULL || max <= 0)
		return -EINVAL;
	if (timeout_ms > 0)
		ts_after_ms(&ts, timeout_ms);
	pthread_mutex_lock(&es->es_lock);
	while ((n = es_collect(es, evs, max)) == 0 && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&es->es_cv, &es->es_lock);
		else if (pthread_cond_timedwait(&es->es_cv, &es->es_lock, &ts) == ETIMEDOUT) {
			n = es_collect(es, evs, max);
			break;
		}
	}
	pthread_mutex_unlock(&es->es_lock);
	return n;
}
