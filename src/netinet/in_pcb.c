/*
 * in_pcb.c - PCB tables: liburcu cds_lfht hashes for exact 4-tuples and bound groups,
 * SO_REUSEPORT groups with RCU member arrays, ephemeral ports from per-CPU cursors, port
 * stripes that make a bind's overlap check one step with its claim.
 * Design, invariants and calling contexts: in_pcb.h.
 *
 * Why cds_lfht: a well-kept lock-free RCU hash table (Triplett/McKenney/Walpole's
 * "resizable, scalable, concurrent hash tables via relativistic programming" design)
 * with lockless lookups, an atomic add_unique (our "claim this port" primitive) and
 * lazy resizing, so one table serves ten PCBs or a million.
 *
 * Words: "group" = the PCBs bound to one (family, laddr, lport); "recv array" = its
 * unconnected members, the ones wildcard/bound lookups may pick; "conn record" = a
 * small node carrying a connected PCB's exact key in the conn table (allocated per
 * connect and freed after a grace period, because cds_lfht nodes must not be reused
 * before one); "specific" = bound to an address other than the wildcard.
 *
 * Bind rules (Linux's, for datagram sockets):
 *   same address and port: shared only if every socket of the group and the newcomer
 *     set SO_REUSEPORT, or - for a multicast address - all set SO_REUSEADDR (BSD's rule);
 *   wildcard and specific address on one port (either order): allowed only if both
 *     sides set SO_REUSEADDR, or both set SO_REUSEPORT.
 * A group's g_reuseaddr / g_reuseport say whether every member set the option.  The
 * wildcard-after-specific check needs "the specific members on this port" without a
 * table walk: t_ports counts, per port, the specific members and those of them without
 * SO_REUSEADDR / SO_REUSEPORT (updated at join and leave).
 *
 * Port stripes: the overlap checks look at other keys than the one being claimed (the
 * wildcard group, the port's counts), so add_unique alone cannot make them atomic with
 * the claim.  Each table has INPCB_PORTLOCKS mutexes (class "inpcb_port"), port p's
 * stripe being t_portlock[p % INPCB_PORTLOCKS].  Whatever checks overlap and then adds
 * or removes a binding of a port holds that port's stripe from the check to the end of
 * the change: a bind with an explicit port (check, group join, count), an ephemeral bind
 * for each candidate port it tries, and the leave at detach (group leave, count).  So on
 * one port these run one at a time, the checks see every earlier bind and leave whole,
 * and concurrent binds end as some serial order of them would.  The exact-key claim is
 * still add_unique, and a group's members still change under its spin lock (taken
 * inside the stripe), so lookups, which take neither, are unchanged.  Connect, disconnect
 * and exact-key inserts change no binding (an unbound connect binds first, as above) and
 * take no stripe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kern/kassert.h"
#include "kern/kern.h"
#include "kern/ktime.h"
#include "kern/pcpu.h"
#include "netinet/in_pcb.h"

static const struct klock_class inpcb_group_class = { "inpcb_group" };
static const struct klock_class inpcb_port_class = { "inpcb_port" };

/*
 * ThreadSanitizer cannot see liburcu-cds's publication (rcu_assign_pointer inside an
 * uninstrumented library): tell it that initialising a node happens before its lookup.
 */
#ifdef PSZ_TSAN
#define TSAN_PUBLISH(p)		__tsan_release(p)
#define TSAN_OBSERVE(p)		__tsan_acquire(p)
#else
#define TSAN_PUBLISH(p)		do { } while (0)
#define TSAN_OBSERVE(p)		do { } while (0)
#endif

#define INPCB_RETRIES	64
#define INPCB_PORTLOCKS	64	/* port stripes per table (a power of two) */

struct inpcb_members {
	struct psz_head		 im_psz;
	uint32_t		 im_n;		/* [I] */
	struct inpcb		*im_m[];	/* [I] */
};

/*
 * g_dead, g_reuse*, g_count and g_all change only at join and leave, under g_lock taken
 * inside the port's stripe; g_recv is also republished (connect, disconnect) under
 * g_lock alone.
 */
struct inpcb_group {
	struct cds_lfht_node	 g_node;	/* [R] node in the bound table */
	struct inpcb_key	 g_key;		/* [I] */
	struct inpcbtable	*g_table;	/* [I] */
	struct kspin		 g_lock;
	bool			 g_dead;	/* [L g_lock] removed from the table */
	bool			 g_reuseport;	/* [L g_lock] every member has INP_REUSEPORT */
	bool			 g_reuseaddr;	/* [L g_lock] every member has INP_REUSEADDR */
	uint32_t		 g_count;	/* [L g_lock] members */
	uint32_t		 g_cap;		/* [L g_lock] */
	struct inpcb		**g_all;	/* [L g_lock] members */
	_Atomic(struct inpcb_members *) g_recv;	/* [R, W g_lock] unconnected members */
	struct psz_head		 g_psz;
};

struct inpcb_conn {
	struct cds_lfht_node	 c_node;	/* [R] node in the conn table */
	struct inpcb_key	 c_key;		/* [I] */
	struct inpcb		*c_inp;		/* [I] */
	struct psz_head		 c_psz;
};

/* Specific-address members of one port (see the file comment). */
struct inpcb_portcount {
	uint32_t		 pc_n;		/* [L port stripe] members */
	uint32_t		 pc_noaddr;	/* [L port stripe] of them without REUSEADDR */
	uint32_t		 pc_noport;	/* [L port stripe] of them without REUSEPORT */
};

/* One port stripe's lock, on a cache line of its own (binds of other stripes). */
struct inpcb_portlock {
	struct kmutex		 pl_lock;	/* class inpcb_port */
} __cacheline_aligned;

struct eph_cursor {
	_Atomic uint32_t	 ec_next;	/* [c] or [a] on the foreign slot */
};

struct inpcbtable {
	struct cds_lfht		*t_conn;	/* [I] exact 4-tuples */
	struct cds_lfht		*t_bound;	/* [I] bound groups */
	struct kern		*t_kern;	/* [I] */
	uint16_t		 t_eph_lo;	/* [I] host order */
	uint16_t		 t_eph_hi;	/* [I] */
	uint64_t		 t_seed;	/* [I] hash seed */
	void			*t_cursor;	/* [I] per-CPU struct eph_cursor */
	struct inpcb_portcount	*t_ports;	/* [I] 65536, indexed by host-order port */
	int			 t_nportlock;	/* [I] stripes initialised */
	struct inpcb_portlock	 t_portlock[INPCB_PORTLOCKS];	/* [I] port_lock() */
	/*
	 * [a] Bumped after every change a lookup can see (conn insert/remove, group
	 * insert/remove, a group's receivers republished), before anything it unlinked is
	 * deferred for freeing: in_pcblookup_cached() trusts an answer only while this is
	 * unchanged.  Release bump, acquire read.
	 */
	_Atomic uint64_t	 t_gen __cacheline_aligned;
};

/* A change lookups can see has been made visible (see t_gen). */
static void
table_changed(struct inpcbtable *t)
{
	/* release: pairs with the acquire load in in_pcblookup_cached() */
	atomic_fetch_add_explicit(&t->t_gen, 1, memory_order_release);
}

/* The stripe of port lport (network order). */
static struct kmutex *
port_lock(struct inpcbtable *t, uint16_t lport)
{
	return &t->t_portlock[ntohs(lport) & (INPCB_PORTLOCKS - 1)].pl_lock;
}

/* ---- keys ---- */

static uint64_t
key_hash(const struct inpcbtable *t, const struct inpcb_key *k)
{
	uint64_t w[5], h = t->t_seed;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

static void
key_bound(struct inpcb_key *k, int family, const union inpcb_addr *laddr, uint16_t lport)
{
	memset(k, 0, sizeof(*k));
	k->ik_family = (uint8_t)family;
	k->ik_lport = lport;
	if (laddr != NULL)
		k->ik_laddr = *laddr;
}

static bool
addr_any(const union inpcb_addr *a)
{
	return (a->ia_q[0] | a->ia_q[1]) == 0;
}

static int
match_group(struct cds_lfht_node *node, const void *key)
{
	struct inpcb_group *g = caa_container_of(node, struct inpcb_group, g_node);

	TSAN_OBSERVE(g);
	return memcmp(&g->g_key, key, sizeof(g->g_key)) == 0;
}

static int
match_conn(struct cds_lfht_node *node, const void *key)
{
	struct inpcb_conn *c = caa_container_of(node, struct inpcb_conn, c_node);

	TSAN_OBSERVE(c);
	return memcmp(&c->c_key, key, sizeof(c->c_key)) == 0;
}

static struct inpcb_group *
group_find(struct inpcbtable *t, const struct inpcb_key *k)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	KASSERT(psz_read_held());
	cds_lfht_lookup(t->t_bound, (unsigned long)key_hash(t, k), match_group, k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n != NULL ? caa_container_of(n, struct inpcb_group, g_node) : NULL;
}

static struct inpcb_conn *
conn_find(struct inpcbtable *t, const struct inpcb_key *k)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	KASSERT(psz_read_held());
	cds_lfht_lookup(t->t_conn, (unsigned long)key_hash(t, k), match_conn, k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n != NULL ? caa_container_of(n, struct inpcb_conn, c_node) : NULL;
}

/* ---- groups ---- */

static void
members_free(struct psz_head *ph)
{
	free(container_of(ph, struct inpcb_members, im_psz));
}

/* Rebuild and publish the recv array from g_all (g_lock held).  -ENOMEM. */
static int
group_publish(struct inpcb_group *g)
{
	struct inpcb_members *nm, *old;
	uint32_t n = 0;

	KSPIN_ASSERT_HELD(&g->g_lock);
	if ((nm = malloc(sizeof(*nm) + g->g_count * sizeof(nm->im_m[0]))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->g_count; i++)
		if (!atomic_load_explicit(&g->g_all[i]->inp_connected, memory_order_relaxed))
			nm->im_m[n++] = g->g_all[i];
	nm->im_n = n;
	old = atomic_load_explicit(&g->g_recv, memory_order_relaxed);
	psz_publish(&g->g_recv, nm);	/* release: pairs with psz_deref in lookups */
	table_changed(g->g_table);
	if (old != NULL)
		psz_defer(&old->im_psz, members_free);
	return 0;
}

static int
group_add(struct inpcb_group *g, struct inpcb *inp)
{
	if (g->g_count == g->g_cap) {
		uint32_t cap = g->g_cap ? g->g_cap * 2 : 2;
		struct inpcb **a = realloc(g->g_all, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		g->g_all = a;
		g->g_cap = cap;
	}
	g->g_all[g->g_count++] = inp;
	return 0;
}

static void
group_free_now(struct inpcb_group *g)
{
	struct inpcb_members *m = atomic_load_explicit(&g->g_recv, memory_order_relaxed);

	free(m);
	free(g->g_all);
	kspin_fini(&g->g_lock);
	free(g);
}

static void
group_free_rcu(struct psz_head *ph)
{
	group_free_now(container_of(ph, struct inpcb_group, g_psz));
}

static struct inpcb_group *
group_new(struct inpcbtable *t, const struct inpcb_key *k, struct inpcb *inp, unsigned opts)
{
	struct inpcb_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if (kspin_init(&g->g_lock, t->t_kern, &inpcb_group_class) != 0) {
		free(g);
		return NULL;
	}
	g->g_key = *k;
	g->g_table = t;
	g->g_reuseport = (opts & INP_REUSEPORT) != 0;
	g->g_reuseaddr = (opts & INP_REUSEADDR) != 0;
	kspin_enter(&g->g_lock);
	if (group_add(g, inp) != 0 || group_publish(g) != 0) {
		kspin_exit(&g->g_lock);
		group_free_now(g);
		return NULL;
	}
	kspin_exit(&g->g_lock);
	return g;
}

/* May a binder with opts join g (g_lock held)?  The same-address rule (file comment). */
static bool
group_shareable(const struct inpcb_group *g, unsigned opts)
{
	uint32_t a = ntohl(g->g_key.ik_laddr.ia_v4);
	bool mcast = g->g_key.ik_family == AF_INET && (a & 0xf0000000u) == 0xe0000000u;

	KSPIN_ASSERT_HELD(&g->g_lock);
	return (g->g_reuseport && (opts & INP_REUSEPORT)) ||
	    (mcast && g->g_reuseaddr && (opts & INP_REUSEADDR));
}

/* Join an existing group (read section held): 0, -EADDRINUSE, -EAGAIN (dead), -ENOMEM. */
static int
group_join_existing(struct inpcb_group *g, struct inpcb *inp, unsigned opts)
{
	int r = 0;

	kspin_enter(&g->g_lock);
	if (g->g_dead)
		r = -EAGAIN;
	else if (!group_shareable(g, opts))
		r = -EADDRINUSE;
	else if ((r = group_add(g, inp)) == 0 && (r = group_publish(g)) != 0)
		g->g_count--;
	if (r == 0) {
		g->g_reuseport = g->g_reuseport && (opts & INP_REUSEPORT);
		g->g_reuseaddr = g->g_reuseaddr && (opts & INP_REUSEADDR);
	}
	kspin_exit(&g->g_lock);
	return r;
}

/* Claim k for inp: create the group or join it.  0, -EADDRINUSE, -ENOMEM. */
static int
group_join(struct inpcbtable *t, const struct inpcb_key *k, struct inpcb *inp,
    unsigned opts)
{
	struct inpcb_group *g = NULL, *cur;
	struct cds_lfht_node *n;
	int r = -EADDRINUSE;

	for (int i = 0; i < INPCB_RETRIES; i++) {
		if (g == NULL && (g = group_new(t, k, inp, opts)) == NULL)
			return -ENOMEM;
		TSAN_PUBLISH(g);
		psz_read_enter();
		n = cds_lfht_add_unique(t->t_bound, (unsigned long)key_hash(t, k), match_group,
		    k, &g->g_node);
		if (n == &g->g_node) {
			psz_read_exit();
			table_changed(t);
			inp->inp_group = g;
			return 0;
		}
		cur = caa_container_of(n, struct inpcb_group, g_node);
		r = group_join_existing(cur, inp, opts);
		psz_read_exit();
		if (r == 0)
			inp->inp_group = cur;
		if (r != -EAGAIN)
			break;
	}
	if (g != NULL)
		group_free_now(g);	/* never published */
	return r == -EAGAIN ? -EADDRINUSE : r;
}

/*
 * Count a specific-address member of k's port in (delta 1) or out (delta -1).  The
 * port's stripe held.
 */
static void
ports_count(struct inpcbtable *t, const struct inpcb_key *k, unsigned opts, int delta)
{
	struct inpcb_portcount *pc = &t->t_ports[ntohs(k->ik_lport)];

	KMUTEX_ASSERT_HELD(port_lock(t, k->ik_lport));
	if (addr_any(&k->ik_laddr))
		return;
	pc->pc_n += (uint32_t)delta;
	if (!(opts & INP_REUSEADDR))
		pc->pc_noaddr += (uint32_t)delta;
	if (!(opts & INP_REUSEPORT))
		pc->pc_noport += (uint32_t)delta;
}

/*
 * Remove inp from its group and count it out of the port; the last member kills and
 * unlinks the group.  The port's stripe held.
 */
static void
group_leave(struct inpcbtable *t, struct inpcb *inp)
{
	struct inpcb_group *g = inp->inp_group;
	bool dead = false;

	KMUTEX_ASSERT_HELD(port_lock(t, g->g_key.ik_lport));
	kspin_enter(&g->g_lock);
	for (uint32_t i = 0; i < g->g_count; i++) {
		if (g->g_all[i] == inp) {
			g->g_all[i] = g->g_all[--g->g_count];
			break;
		}
	}
	g->g_reuseport = g->g_reuseaddr = true;
	for (uint32_t i = 0; i < g->g_count; i++) {
		g->g_reuseport = g->g_reuseport && (g->g_all[i]->inp_opts & INP_REUSEPORT);
		g->g_reuseaddr = g->g_reuseaddr && (g->g_all[i]->inp_opts & INP_REUSEADDR);
	}
	if (g->g_count == 0) {
		g->g_dead = dead = true;
		psz_read_enter();
		(void)cds_lfht_del(t->t_bound, &g->g_node);
		psz_read_exit();
		table_changed(t);
	} else
		(void)group_publish(g);
	kspin_exit(&g->g_lock);
	inp->inp_group = NULL;
	ports_count(t, &g->g_key, inp->inp_opts, -1);
	if (dead)
		psz_defer(&g->g_psz, group_free_rcu);
}

/* Republish inp's group after its connected state changed. */
static void
group_refresh(struct inpcb_group *g)
{
	kspin_enter(&g->g_lock);
	(void)group_publish(g);
	kspin_exit(&g->g_lock);
}

/* ---- table ---- */

struct inpcbtable *
in_pcbtable_create(struct kern *k, uint16_t eph_lo, uint16_t eph_hi,
    unsigned long size_hint)
{
	struct inpcbtable *t;
	unsigned long init = 64;
	int ncpu = kern_ncpu(k);

	if (eph_lo == 0 || eph_lo > eph_hi) {
		errno = EINVAL;
		return NULL;
	}
	while (init < size_hint && init < (1ul << 22))
		init <<= 1;
	if ((t = aligned_alloc(CACHE_LINE, sizeof(*t))) == NULL)	/* t_gen's own line */
		return NULL;
	memset(t, 0, sizeof(*t));
	t->t_kern = k;
	t->t_eph_lo = eph_lo;
	t->t_eph_hi = eph_hi;
	t->t_seed = ((uintptr_t)t * 0x9e3779b97f4a7c15ull) ^ ktime_mono();
	t->t_conn = cds_lfht_new_flavor(init, 64, 0, CDS_LFHT_AUTO_RESIZE |
	    CDS_LFHT_ACCOUNTING, &urcu_memb_flavor, NULL);
	t->t_bound = cds_lfht_new_flavor(init, 64, 0, CDS_LFHT_AUTO_RESIZE |
	    CDS_LFHT_ACCOUNTING, &urcu_memb_flavor, NULL);
	t->t_cursor = pcpu_alloc(k, sizeof(struct eph_cursor));
	t->t_ports = calloc(65536, sizeof(*t->t_ports));
	for (; t->t_nportlock < INPCB_PORTLOCKS; t->t_nportlock++)
		if (kmutex_init(&t->t_portlock[t->t_nportlock].pl_lock, k,
		    &inpcb_port_class) != 0)
			break;
	if (t->t_conn == NULL || t->t_bound == NULL || t->t_cursor == NULL ||
	    t->t_ports == NULL || t->t_nportlock < INPCB_PORTLOCKS) {
		in_pcbtable_destroy(t);
		errno = ENOMEM;
		return NULL;
	}
	for (int s = 0; s <= ncpu; s++) {
		struct eph_cursor *c = pcpu_at(t->t_cursor, sizeof(*c), s);
		uint32_t span = (uint32_t)(eph_hi - eph_lo) + 1;

		atomic_init(&c->ec_next, span * (uint32_t)s / (uint32_t)(ncpu + 1));
	}
	return t;
}

void
in_pcbtable_destroy(struct inpcbtable *t)
{
	if (t == NULL)
		return;
	psz_barrier();
	if (t->t_conn != NULL)
		(void)cds_lfht_destroy(t->t_conn, NULL);
	if (t->t_bound != NULL)
		(void)cds_lfht_destroy(t->t_bound, NULL);
	pcpu_free(t->t_cursor);
	free(t->t_ports);
	for (int i = 0; i < t->t_nportlock; i++)
		kmutex_fini(&t->t_portlock[i].pl_lock);
	free(t);
}

void
in_pcbtable_counts(struct inpcbtable *t, unsigned long *groups, unsigned long *conns)
{
	long before, after;

	psz_read_enter();
	cds_lfht_count_nodes(t->t_bound, &before, groups, &after);
	cds_lfht_count_nodes(t->t_conn, &before, conns, &after);
	psz_read_exit();
}

/* ---- PCBs ---- */

struct inpcb *
in_pcballoc(struct inpcbtable *t, int family, void *owner)
{
	struct inpcb *inp = calloc(1, sizeof(*inp));

	if (inp == NULL)
		return NULL;
	inp->inp_key.ik_family = (uint8_t)family;
	inp->inp_table = t;
	inp->inp_owner = owner;
	return inp;
}

/* Specific after wildcard: (ANY, lport) bound by a group k may not overlap. */
static bool
bind_overlaps_wild(struct inpcbtable *t, const struct inpcb_key *k, unsigned opts)
{
	struct inpcb_group *g;
	struct inpcb_key wk;
	bool taken = false;

	KMUTEX_ASSERT_HELD(port_lock(t, k->ik_lport));
	key_bound(&wk, k->ik_family, NULL, k->ik_lport);
	psz_read_enter();
	if ((g = group_find(t, &wk)) != NULL) {
		kspin_enter(&g->g_lock);
		taken = !g->g_dead && !((g->g_reuseaddr && (opts & INP_REUSEADDR)) ||
		    (g->g_reuseport && (opts & INP_REUSEPORT)));
		kspin_exit(&g->g_lock);
	}
	psz_read_exit();
	return taken;
}

/* Wildcard after specific: the port's specific members k may not overlap. */
static bool
bind_overlaps_spec(struct inpcbtable *t, const struct inpcb_key *k, unsigned opts)
{
	struct inpcb_portcount *pc = &t->t_ports[ntohs(k->ik_lport)];

	KMUTEX_ASSERT_HELD(port_lock(t, k->ik_lport));
	if (pc->pc_n == 0)
		return false;
	if ((opts & INP_REUSEADDR) && pc->pc_noaddr == 0)
		return false;
	return !((opts & INP_REUSEPORT) && pc->pc_noport == 0);
}

/*
 * Would binding k with opts overlap another binding of its port (wildcard rules)?  The
 * port's stripe held, so the answer stands until it is released.
 */
static bool
bind_overlaps(struct inpcbtable *t, const struct inpcb_key *k, unsigned opts)
{
	return addr_any(&k->ik_laddr) ? bind_overlaps_spec(t, k, opts) :
	    bind_overlaps_wild(t, k, opts);
}

/* Next candidate ephemeral port (host order) from the caller's per-CPU cursor. */
static uint16_t
eph_next(struct inpcbtable *t)
{
	int ncpu = kern_ncpu(t->t_kern), slot = kcpu_slot(t->t_kern, ncpu);
	struct eph_cursor *c = pcpu_at(t->t_cursor, sizeof(*c), slot);
	uint32_t span = (uint32_t)(t->t_eph_hi - t->t_eph_lo) + 1, v;

	if (slot == ncpu)	/* foreign slot: shared, atomic */
		v = atomic_fetch_add_explicit(&c->ec_next, 1, memory_order_relaxed);
	else {			/* own slot: relaxed load + store (pcpu.h) */
		v = atomic_load_explicit(&c->ec_next, memory_order_relaxed);
		atomic_store_explicit(&c->ec_next, v + 1, memory_order_relaxed);
	}
	return (uint16_t)(t->t_eph_lo + v % span);
}

/*
 * Bind inp to k (port chosen), checked and claimed with opts, under the port's stripe:
 * the overlap check, the group join and the count are one step for every other bind or
 * leave of the port.  The count uses inp_opts, as the leave does.  0, -EADDRINUSE,
 * -ENOMEM.
 */
static int
bind_port(struct inpcb *inp, const struct inpcb_key *k, unsigned opts)
{
	struct inpcbtable *t = inp->inp_table;
	struct kmutex *pl = port_lock(t, k->ik_lport);
	int r;

	kmutex_enter(pl);
	if (bind_overlaps(t, k, opts))
		r = -EADDRINUSE;
	else if ((r = group_join(t, k, inp, opts)) == 0)
		ports_count(t, k, inp->inp_opts, 1);
	kmutex_exit(pl);
	return r;
}

static int
bind_ephemeral(struct inpcb *inp, struct inpcb_key *k)
{
	struct inpcbtable *t = inp->inp_table;
	uint32_t span = (uint32_t)(t->t_eph_hi - t->t_eph_lo) + 1;

	for (uint32_t i = 0; i < span; i++) {
		int r;

		k->ik_lport = htons(eph_next(t));
		if ((r = bind_port(inp, k, 0)) != -EADDRINUSE)
			return r;
	}
	return -EAGAIN;
}

int
in_pcbbind(struct inpcb *inp, int family, const union inpcb_addr *laddr, uint16_t lport,
    unsigned opts)
{
	struct inpcb_key k;
	int r;

	if (inp->inp_group != NULL || atomic_load_explicit(&inp->inp_connected,
	    memory_order_relaxed))
		return -EINVAL;
	key_bound(&k, family, laddr, lport);
	inp->inp_opts = opts;
	r = lport == 0 ? bind_ephemeral(inp, &k) : bind_port(inp, &k, opts);
	if (r == 0)
		inp->inp_key = k;
	return r;
}

/* Insert an exact key for inp (owner's lock).  0 or -EADDRINUSE / -ENOMEM. */
static int
conn_insert(struct inpcb *inp, const struct inpcb_key *k)
{
	struct inpcbtable *t = inp->inp_table;
	struct inpcb_conn *c = malloc(sizeof(*c));
	struct cds_lfht_node *n;

	if (c == NULL)
		return -ENOMEM;
	c->c_key = *k;
	c->c_inp = inp;
	TSAN_PUBLISH(c);
	psz_read_enter();
	n = cds_lfht_add_unique(t->t_conn, (unsigned long)key_hash(t, k), match_conn, k,
	    &c->c_node);
	psz_read_exit();
	if (n != &c->c_node) {
		free(c);	/* never published */
		return -EADDRINUSE;
	}
	table_changed(t);
	inp->inp_conn = c;
	inp->inp_key = *k;
	/* release: pairs with the relaxed reads under g_lock (group_publish) via g_lock */
	atomic_store_explicit(&inp->inp_connected, true, memory_order_release);
	return 0;
}

static void
conn_free_rcu(struct psz_head *ph)
{
	free(container_of(ph, struct inpcb_conn, c_psz));
}

static void
conn_remove(struct inpcb *inp)
{
	struct inpcb_conn *c = inp->inp_conn;

	psz_read_enter();
	(void)cds_lfht_del(inp->inp_table->t_conn, &c->c_node);
	psz_read_exit();
	table_changed(inp->inp_table);
	inp->inp_conn = NULL;
	atomic_store_explicit(&inp->inp_connected, false, memory_order_release);
	psz_defer(&c->c_psz, conn_free_rcu);
}

int
in_pcbconnect(struct inpcb *inp, const union inpcb_addr *laddr,
    const union inpcb_addr *faddr, uint16_t fport)
{
	struct inpcb_key k;
	int r;

	if (inp->inp_conn != NULL)
		return -EISCONN;
	if (addr_any(laddr) || addr_any(faddr) || fport == 0)
		return -EINVAL;
	if (inp->inp_group == NULL &&
	    (r = in_pcbbind(inp, inp->inp_key.ik_family, NULL, 0, 0)) != 0)
		return r;
	k = inp->inp_group->g_key;
	k.ik_laddr = *laddr;
	k.ik_faddr = *faddr;
	k.ik_fport = fport;
	if ((r = conn_insert(inp, &k)) != 0)
		return r;
	group_refresh(inp->inp_group);
	return 0;
}

void
in_pcbdisconnect(struct inpcb *inp)
{
	if (inp->inp_conn == NULL)
		return;
	conn_remove(inp);
	if (inp->inp_group != NULL) {
		inp->inp_key = inp->inp_group->g_key;
		group_refresh(inp->inp_group);
	}
}

int
in_pcbinsert_conn(struct inpcb *inp, const struct inpcb_key *key)
{
	if (inp->inp_conn != NULL)
		return -EISCONN;
	return conn_insert(inp, key);
}

static void
inp_free_rcu(struct psz_head *ph)
{
	free(container_of(ph, struct inpcb, inp_psz));
}

void
in_pcbdetach(struct inpcb *inp)
{
	if (inp->inp_conn != NULL)
		conn_remove(inp);
	if (inp->inp_group != NULL) {
		struct inpcb_group *g = inp->inp_group;
		struct kmutex *pl = port_lock(inp->inp_table, g->g_key.ik_lport);

		kmutex_enter(pl);
		group_leave(inp->inp_table, inp);
		kmutex_exit(pl);
	}
	psz_defer(&inp->inp_psz, inp_free_rcu);
}

/* A member of the group bound to k chosen by flowhash, or NULL. */
static struct inpcb *
group_pick(struct inpcbtable *t, const struct inpcb_key *k, uint32_t flowhash)
{
	struct inpcb_group *g = group_find(t, k);
	struct inpcb_members *m;

	if (g == NULL || (m = psz_deref(&g->g_recv)) == NULL || m->im_n == 0)
		return NULL;
	return m->im_m[m->im_n == 1 ? 0 : flowhash % m->im_n];
}

/*
 * The cache holds the last 4-tuple looked up by its thread, the answer and t_gen as read
 * before that lookup.  While t_gen is unchanged no change a lookup could see has been
 * made visible since, so the answer stands; and the PCB is still allocated: whatever
 * unlinks it bumps t_gen before deferring its free, so either this thread's acquire
 * read sees the bump, or the free waits for this thread's read section.
 */
struct inpcb *
in_pcblookup_cached(struct inpcbtable *t, struct inpcb_cache *c, int family,
    const union inpcb_addr *laddr, uint16_t lport, const union inpcb_addr *faddr,
    uint16_t fport, uint32_t flowhash)
{
	/* acquire: pairs with table_changed()'s release */
	uint64_t gen = atomic_load_explicit(&t->t_gen, memory_order_acquire);
	struct inpcb_key k;

	KASSERT(psz_read_held());
	key_bound(&k, family, laddr, lport);
	k.ik_faddr = *faddr;
	k.ik_fport = fport;
	if (c->ic_inp != NULL && c->ic_gen == gen && memcmp(&c->ic_key, &k, sizeof(k)) == 0)
		return c->ic_inp;
	c->ic_inp = in_pcblookup(t, family, laddr, lport, faddr, fport, flowhash);
	c->ic_gen = gen;
	c->ic_key = k;
	return c->ic_inp;
}

struct inpcb *
in_pcblookup(struct inpcbtable *t, int family, const union inpcb_addr *laddr,
    uint16_t lport, const union inpcb_addr *faddr, uint16_t fport, uint32_t flowhash)
{
	struct inpcb_key k;
	struct inpcb_conn *c;
	struct inpcb *inp;

	KASSERT(psz_read_held());
	key_bound(&k, family, laddr, lport);
	k.ik_faddr = *faddr;
	k.ik_fport = fport;
	if ((c = conn_find(t, &k)) != NULL)
		return c->c_inp;
	memset(&k.ik_faddr, 0, sizeof(k.ik_faddr));
	k.ik_fport = 0;
	if ((inp = group_pick(t, &k, flowhash)) != NULL)
		return inp;
	memset(&k.ik_laddr, 0, sizeof(k.ik_laddr));
	return group_pick(t, &k, flowhash);
}

static int
group_each(struct inpcbtable *t, const struct inpcb_key *k,
    void (*fn)(struct inpcb *, void *), void *arg)
{
	struct inpcb_group *g = group_find(t, k);
	struct inpcb_members *m;

	if (g == NULL || (m = psz_deref(&g->g_recv)) == NULL)
		return 0;
	for (uint32_t i = 0; i < m->im_n; i++)
		fn(m->im_m[i], arg);
	return (int)m->im_n;
}

int
in_pcblookup_all(struct inpcbtable *t, int family, const union inpcb_addr *laddr,
    uint16_t lport, const union inpcb_addr *faddr, uint16_t fport,
    void (*fn)(struct inpcb *inp, void *arg), void *arg)
{
	struct inpcb_key k;
	struct inpcb_conn *c;
	int n = 0;

	KASSERT(psz_read_held());
	key_bound(&k, family, laddr, lport);
	k.ik_faddr = *faddr;
	k.ik_fport = fport;
	if ((c = conn_find(t, &k)) != NULL) {
		fn(c->c_inp, arg);
		n++;
	}
	memset(&k.ik_faddr, 0, sizeof(k.ik_faddr));
	k.ik_fport = 0;
	if (!addr_any(&k.ik_laddr))
		n += group_each(t, &k, fn, arg);
	memset(&k.ik_laddr, 0, sizeof(k.ik_laddr));
	return n + group_each(t, &k, fn, arg);
}
