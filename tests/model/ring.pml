/*
 * ring.pml - Promela model of the index protocol of src/lib/ring.h, checked by spin over
 * every interleaving.
 *
 * Modelled: each side's head word {head, other} (a copy of the opposite tail) read in
 * one step and changed by CAS (one atomic step comparing both fields; -DSP / -DSC make a
 * side single: a plain store, one process on that side), each side's tail, the slots,
 * and the operations with their separate steps:
 *   reserve: load the word; if the copy is short, load the opposite tail (one step);
 *            take m = min(n, room or items), n = 1 or 2 at random (a burst); CAS (a
 *            failed CAS hands back the current word).
 *   copy:    one step per slot.
 *   commit:  wait until own tail == head (multi), then store tail = head + m.
 * NPROD producers put ITEMS items each (value = producer * ITEMS + sequence), NCONS
 * consumers take until all are taken.  A 2-slot ring, so full and empty and the wrap of
 * a burst happen all the time.
 *
 * Checked: a producer writes only a free slot (one a consumer has finished reading); a
 * consumer reads only a written slot; every item is taken exactly once; each consumer
 * sees each producer's items in increasing order; at the end both tails and both heads
 * meet.  Built with -DNOWAIT the multi commit does not wait for the reservations before
 * it: spin must then find a violation (tests/model/meson.build expects the error).
 * Indices are bytes: ITEMS * NPROD stays far below the 256 wrap.
 */
#ifndef NPROD
#define NPROD	2
#endif
#ifndef NCONS
#define NCONS	2
#endif
#ifndef ITEMS
#define ITEMS	2
#endif
#define SIZE	2
#define TOTAL	(NPROD * ITEMS)

byte ph = 0;		/* producers' word: head ... */
byte po = 0;		/* ... and copy of cons.tail */
byte pt = 0;		/* prod.tail */
byte ch = 0;		/* consumers' word: head ... */
byte co = 0;		/* ... and copy of prod.tail */
byte ct = 0;		/* cons.tail */
byte slot[SIZE];
bool busy[SIZE];	/* ghost: written and not yet read */
byte seen[TOTAL];	/* ghost: times each item was taken */
byte taken = 0;		/* ghost: items reserved by consumers (ends their loops) */

#if defined(SP)
#define PMULTI	false
#else
#define PMULTI	true
#endif
#if defined(SC)
#define CMULTI	false
#else
#define CMULTI	true
#endif

/*
 * Reserve on the word (wh, wo) against the opposite tail otail with capacity cap:
 * h gets the first index, m the count (0: nothing to take).
 */
inline reserve(wh, wo, otail, cap, multi) {
	atomic { h = wh; o0 = wo };
	do
	:: true ->
		o = o0;
		if
		:: cap + o - h < want -> o = otail
		:: else -> skip
		fi;
		if
		:: cap + o - h < want -> m = cap + o - h
		:: else -> m = want
		fi;
		if
		:: m == 0 -> break
		:: else -> skip
		fi;
		atomic {
			if
			:: !multi -> wh = h + m; wo = o; ok = true
			:: multi && wh == h && wo == o0 -> wh = h + m; wo = o; ok = true
			:: else -> h = wh; o0 = wo; ok = false	/* the failed CAS's value */
			fi
		};
		if
		:: ok -> break
		:: else -> skip
		fi
	od
}

inline commit(tail, multi) {
#ifndef NOWAIT
	if
	:: multi -> (tail == h)
	:: else -> skip
	fi;
#endif
	tail = h + m
}

proctype producer(byte id) {
	byte h, o, o0, m, want, k, i, seq = 0;
	bool ok;

	do
	:: seq < ITEMS ->
		if
		:: want = 1
		:: seq + 2 <= ITEMS -> want = 2
		fi;
		reserve(ph, po, ct, SIZE, PMULTI);
		k = 0;
		do
		:: k < m ->
			i = (h + k) % SIZE;
			atomic {
				assert(!busy[i]);
				slot[i] = id * ITEMS + seq + k;
				busy[i] = true
			};
			k++
		:: else -> break
		od;
		if
		:: m > 0 -> commit(pt, PMULTI); seq = seq + m
		:: else -> skip
		fi
	:: else -> break
	od
}

proctype consumer(byte id) {
	byte h, o, o0, m, want, k, i, v, last[NPROD];
	bool ok;

	k = 0;
	do
	:: k < NPROD -> last[k] = 255; k++
	:: else -> break
	od;
	do
	:: taken < TOTAL ->
		if
		:: want = 1
		:: want = 2
		fi;
		reserve(ch, co, pt, 0, CMULTI);
		atomic { taken = taken + m };
		k = 0;
		do
		:: k < m ->
			i = (h + k) % SIZE;
			atomic {
				assert(busy[i]);
				v = slot[i];
				busy[i] = false
			};
			seen[v]++;
			/* per-producer order as this consumer sees it */
			assert(last[v / ITEMS] == 255 || last[v / ITEMS] < v % ITEMS);
			last[v / ITEMS] = v % ITEMS;
			k++
		:: else -> break
		od;
		if
		:: m > 0 -> commit(ct, CMULTI)
		:: else -> skip
		fi
	:: else -> break
	od
}

init {
	byte i;

	atomic {
		i = 0;
		do
		:: i < NPROD -> run producer(i); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NCONS -> run consumer(i); i++
		:: else -> break
		od
	}
	(_nr_pr == 1);
	i = 0;
	do
	:: i < TOTAL -> assert(seen[i] == 1); i++
	:: else -> break
	od;
	assert(ph == TOTAL && pt == TOTAL && ch == TOTAL && ct == TOTAL)
}
