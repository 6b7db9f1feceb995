/*
 * lfq.pml - Promela model of the anchor protocol of src/lib/lfq.c, checked by spin over
 * every interleaving.
 *
 * Modelled: the anchor {head, tail, tag} changed by CAS (one atomic step that compares
 * all three fields), the snapshot (one step: the split two-word read is argued correct
 * in lfq.c), each item's link, and the three operations with their separate steps:
 *   push_head: snapshot; write own link = head; if empty, CAS of the whole anchor, else
 *              CAS of the head word {head, tag} alone; the tag is not changed.
 *   push_tail: write own link = NIL; snapshot; CAS with tag+1; store old tail's link
 *              (the pending window).
 *   pop:       snapshot; read head's link (possibly of an item popped since); if head is
 *              the tail CAS to empty, else if the link is NIL wait (pending), else CAS;
 *              tag+1.
 * Each process runs ROUNDS rounds of: pop a, pop b, push a back, push b back, each push
 * at the head or the tail (nondeterministic), which returns the same items to the head
 * quickly: the ABA pattern.
 *
 * Checked: every CAS (inside its atomic step) keeps the list well formed: walking from
 * head every item is queued (inq) and the walk reaches the tail unless it stops at a
 * pending link; a pop takes a queued item; a push adds an item that was not queued; and
 * at the end every item is queued exactly once, no link pending, the walk ends at tail.
 * Built with -DNOTAG every CAS ignores the tag, with -DNOPOPTAG only pop's: spin must
 * then find the ABA violation (tests/model/meson.build runs both variants and expects
 * an error).
 */
#ifndef NPROC
#define NPROC	2
#endif
#ifndef ROUNDS
#define ROUNDS	2
#endif
#define N	3
#define NIL	255

#ifdef NOTAG
#define TAGOK(tg)	true
#else
#define TAGOK(tg)	(tag == tg)
#endif
#if defined(NOTAG) || defined(NOPOPTAG)
#define POPTAGOK(tg)	true
#else
#define POPTAGOK(tg)	(tag == tg)
#endif

byte head = 0;
byte tail = N - 1;
byte tag = 0;
byte next[N];
bool inq[N];

/* The list from head is well formed; runs inside the CAS's atomic step. */
inline check_list() {
	cur = head;
	cnt = 0;
	do
	:: cur == NIL -> break
	:: cur != NIL ->
		assert(inq[cur]);
		cnt++;
		assert(cnt <= N);
		if
		:: cur == tail -> break
		:: else -> cur = next[cur]
		fi
	od;
	assert((head == NIL) == (tail == NIL))
}

inline snapshot() {
	atomic { h = head; t = tail; tg = tag }
}

inline push_head(n) {
	ok = false;
	do
	:: !ok ->
		snapshot();
		next[n] = h;
		atomic {
			if
			:: h == NIL && head == NIL && tail == NIL && TAGOK(tg) ->
				/* empty: the 16-byte CAS, tag unchanged */
				assert(!inq[n]);
				inq[n] = true;
				head = n;
				tail = n;
				ok = true;
				check_list()
			:: h != NIL && head == h && TAGOK(tg) ->
				/* the 8-byte CAS of the head word {head, tag low} */
				assert(!inq[n]);
				inq[n] = true;
				head = n;
				ok = true;
				check_list()
			:: else -> skip
			fi
		}
	:: ok -> break
	od
}

inline push_tail(n) {
	ok = false;
	next[n] = NIL;
	do
	:: !ok ->
		snapshot();
		atomic {
			if
			:: head == h && tail == t && TAGOK(tg) ->
				assert(!inq[n]);
				inq[n] = true;
				if
				:: h == NIL -> head = n
				:: else -> skip
				fi;
				tail = n;
				tag++;
				ok = true;
				check_list()
			:: else -> skip
			fi
		}
	:: ok -> break
	od;
	if
	:: t != NIL -> next[t] = n
	:: else -> skip
	fi
}

/* ret = popped item, or NIL if the queue was seen empty. */
inline pop(ret) {
	ret = NIL;
	ok = false;
	do
	:: !ok ->
		snapshot();
		if
		:: h == NIL -> ok = true
		:: else ->
			nx = next[h];
			atomic {
				if
				:: h != t && nx == NIL -> skip	/* pending link: retry */
				:: head == h && tail == t && POPTAGOK(tg) && (h == t || nx != NIL) ->
					assert(inq[h]);
					inq[h] = false;
					if
					:: h == t -> head = NIL; tail = NIL
					:: else -> head = nx
					fi;
					tag++;
					ret = h;
					ok = true;
					check_list()
				:: else -> skip
				fi
			}
		fi
	:: ok -> break
	od
}

inline push_any(n) {
	if
	:: n == NIL -> skip
	:: n != NIL ->
		if
		:: push_head(n)
		:: push_tail(n)
		fi
	fi
}

proctype worker() {
	byte h, t, tg, nx, a, b, cur, cnt, r;
	bool ok;

	r = 0;
	do
	:: r < ROUNDS ->
		pop(a);
		pop(b);
		push_any(a);
		push_any(b);
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
	/* Every item is back, exactly once, and no link is pending. */
	check_list();
	assert(cnt == N && cur == tail && next[tail] == NIL);
	i = 0;
	do
	:: i < N -> assert(inq[i]); i++
	:: else -> break
	od
}
