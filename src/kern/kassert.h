/*
 * kassert.h - assertions and panic for the stack.
 *
 * KASSERT(cond) checks an invariant in debug builds (!NDEBUG) and panics with the file,
 * line and condition; in NDEBUG builds it compiles to nothing (the condition is not
 * evaluated, so it must have no side effects).  kern_panic() always stops the process.
 */
#ifndef SMPNET_KERN_KASSERT_H
#define SMPNET_KERN_KASSERT_H

_Noreturn void kern_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define KPANIC(...)	kern_panic(__FILE__, __LINE__, __VA_ARGS__)

#ifndef NDEBUG
#define KASSERT(cond) do {						\
	if (__builtin_expect(!(cond), 0))				\
		kern_panic(__FILE__, __LINE__, "assertion \"%s\" failed", #cond); \
} while (0)
#define KDEBUG 1
#else
#define KASSERT(cond)	do { } while (0)
#define KDEBUG 0
#endif

#endif /* SMPNET_KERN_KASSERT_H */
