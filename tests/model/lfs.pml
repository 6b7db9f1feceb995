/*
 * lfs.pml - Promela model of the anchor protocol of src/lib/lfs.h (Treiber stack with a
 * generation), checked by spin over every interleaving.
 *
 * Modelled: the anchor {top, gen}, each item's link, and the operations with their
 * separate steps, as in the C code:
 *   push:    load top; write own link = top; CAS of top alone (gen untouched).
 *   pop:     load gen; load top (two steps: the split snapshot argued in lfs.c); if top
 *            is NIL return; read top's link (possibly of an item popped since); CAS of
 *            {top, gen} -> {link, gen + 1}; a failed CAS hands back the anchor it saw.
 *   pop_all: the same snapshot; CAS {top, gen} -> {NIL, gen + 1}; push the chain back
 *            whole (CAS of top, the chain's last link = top).
 * Each process runs ROUNDS rounds of: pop a, pop b, push a, push b (or, with TAKEALL,
 * a take-all and a push of the chain back), which brings the same items back to the top
 * quickly: the ABA pattern.
 *
 * Checked: every successful CAS (inside its atomic step) keeps the stack well formed:
 * walking from top every item is stacked (inq), none twice, the walk ends at NIL; a pop
 * takes a stacked item; a push adds an item that was not stacked; at the end every item
 * is stacked exactly once.  Built with -DNOGEN pop's CAS ignores the generation: spin
 * must then find the ABA violation (tests/model/meson.build expects the error).
 * gen is a byte here: at most NPROD * ROUNDS * 2 pops, far below its wrap.
 */
#ifndef NPROC
#define NPROC	2
#endif
#ifndef ROUNDS
#define ROUNDS	2
#endif
#define N	3
#define NIL	255

#ifdef NOGEN
#define GENOK(g)	true
#else
#define GENOK(g)	(gen == g)
#endif

byte top = 0;
byte gen = 0;
byte next[N];
bool inq[N];

/* The stack from top is well formed; runs inside the CAS's atomic step. */
inline check_stack() {
	cur = top;
	cnt = 0;
	do
	:: cur == NIL -> break
	:: cur != NIL ->
		assert(inq[cur]);
		cnt++;
		assert(cnt <= N);
		cur = next[cur]
	od
}

/* Push the chain f..l (l == f for one item), whose inner links the caller set. */
inline push_chain(f, l) {
	t = top;
	do
	:: true ->
		next[l] = t;
		atomic {
			if
			:: top == t ->
				assert(!inq[f] && !inq[l]);
				cur = f;
				do
				:: cur != t -> assert(!inq[cur]); inq[cur] = true; cur = next[cur]
				:: else -> break
				od;
				top = f;
				check_stack();
				break
			:: else -> t = top	/* the failed CAS's value */
			fi
		}
	od
}

/* ret = popped item, or NIL if the stack was seen empty; all: take everything. */
inline pop(ret, all) {
	ret = NIL;
	g = gen;
	t = top;
	do
	:: t == NIL -> break
	:: t != NIL ->
		nx = next[t];
		atomic {
			if
			:: top == t && GENOK(g) ->
				assert(inq[t]);
				if
				:: all ->
					cur = t;
					do
					:: cur != NIL -> inq[cur] = false; cur = next[cur]
					:: else -> break
					od;
					top = NIL
				:: else ->
					inq[t] = false;
					top = nx
				fi;
				gen++;
				ret = t;
				check_stack();
				break
			:: else -> t = top; g = gen	/* the failed CAS's value */
			fi
		}
	od
}

proctype worker() {
	byte t, g, nx, a, b, cur, cnt, r, l;

	r = 0;
	do
	:: r < ROUNDS ->
		if
		:: true ->
			pop(a, false);
			pop(b, false);
			if
			:: a != NIL -> push_chain(a, a)
			:: else -> skip
			fi;
			if
			:: b != NIL -> push_chain(b, b)
			:: else -> skip
			fi
#ifdef TAKEALL
		:: true ->
			pop(a, true);
			if
			:: a != NIL ->
				l = a;
				do
				:: next[l] != NIL -> l = next[l]
				:: else -> break
				od;
				push_chain(a, l)
			:: else -> skip
			fi
#endif
		fi;
		r++
	:: else -> break
	od
}

init {
	byte i, cur, cnt;

	atomic {
		i = 0;
		do
		:: i < N ->
			inq[i] = true;
			next[i] = i + 1;
			i++
		:: else -> break
		od;
		next[N - 1] = NIL;
		i = 0;
		do
		:: i < NPROC -> run worker(); i++
		:: else -> break
		od
	}
	(_nr_pr == 1);
	check_stack();
	assert(cnt == N);
	i = 0;
	do
	:: i < N -> assert(inq[i]); i++
	:: else -> break
	od
}
