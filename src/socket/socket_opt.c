/*
 * socket_opt.c - setsockopt/getsockopt.  SOL_SOCKET options live in the socket (so_options,
 * buffer limits, timeouts); every other level goes to the protocol's pr_ctloutput.  All run
 * under so_lock (and giant in giant mode).
 *
 * Who acts on what: SO_REUSEADDR / SO_REUSEPORT at bind (in_pcb.c's rules); SO_BROADCAST
 * at send; SO_RCVBUF is the receive buffer's early-drop limit; SO_SNDBUF is stored as given
 * (no doubling) and the protocol refuses a datagram larger than it (UDP: -EMSGSIZE);
 * SO_RCVTIMEO bounds blocking receives and accepts; SO_SNDTIMEO is stored and returned
 * only, since no send blocks (datagram sends go straight to the protocol).
 */
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "socket/socket_var.h"

static int
opt_int(const void *val, socklen_t len, int *out)
{
	if (val == NULL || len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int
opt_put_int(void *val, socklen_t *len, int v)
{
	if (val == NULL || len == NULL || *len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

static int
opt_timeo(const void *val, socklen_t len, uint64_t *ns)
{
	struct timeval tv;

	if (val == NULL || len < (socklen_t)sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EINVAL;
	*ns = (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
	return 0;
}

static int
opt_put_timeo(void *val, socklen_t *len, uint64_t ns)
{
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000u),
	    .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u) };

	if (val == NULL || len == NULL || *len < (socklen_t)sizeof(tv))
		return -EINVAL;
	memcpy(val, &tv, sizeof(tv));
	*len = sizeof(tv);
	return 0;
}

static unsigned
opt_flag(int name)
{
	switch (name) {
	case SO_REUSEADDR:	return SO_OPT_REUSEADDR;
	case SO_REUSEPORT:	return SO_OPT_REUSEPORT;
	case SO_BROADCAST:	return SO_OPT_BROADCAST;
	default:		return 0;
	}
}

static int
opt_set_buf(struct sockbuf *sb, int v)
{
	if (v <= 0)
		return -EINVAL;
	if ((unsigned)v > SB_HIWAT_MAX)
		v = (int)SB_HIWAT_MAX;
	/* relaxed: a limit producers read as a hint */
	atomic_store_explicit(&sb->sb_hiwat, (uint32_t)v, memory_order_relaxed);
	return 0;
}

static int
so_setopt_socket(struct socket *so, int name, const void *val, socklen_t len)
{
	unsigned flag = opt_flag(name);
	int v, r;

	if (name == SO_RCVTIMEO)
		return opt_timeo(val, len, &so->so_rcvtimeo);
	if (name == SO_SNDTIMEO)
		return opt_timeo(val, len, &so->so_sndtimeo);
	if ((r = opt_int(val, len, &v)) != 0)
		return r;
	if (flag != 0) {
		so->so_options = v ? so->so_options | flag : so->so_options & ~flag;
		return 0;
	}
	if (name == SO_RCVBUF)
		return opt_set_buf(&so->so_rcv, v);
	if (name == SO_SNDBUF)
		return opt_set_buf(&so->so_snd, v);
	return -ENOPROTOOPT;
}

static int
so_getopt_socket(struct socket *so, int name, void *val, socklen_t *len)
{
	unsigned flag = opt_flag(name);

	if (flag != 0)
		return opt_put_int(val, len, (so->so_options & flag) != 0);
	switch (name) {
	case SO_RCVTIMEO:
		return opt_put_timeo(val, len, so->so_rcvtimeo);
	case SO_SNDTIMEO:
		return opt_put_timeo(val, len, so->so_sndtimeo);
	case SO_RCVBUF:
		return opt_put_int(val, len, (int)atomic_load_explicit(&so->so_rcv.sb_hiwat,
		    memory_order_relaxed));
	case SO_SNDBUF:
		return opt_put_int(val, len, (int)atomic_load_explicit(&so->so_snd.sb_hiwat,
		    memory_order_relaxed));
	case SO_ERROR:
		return opt_put_int(val, len, atomic_exchange_explicit(&so->so_error, 0,
		    memory_order_relaxed));
	case SO_TYPE:
		return opt_put_int(val, len, so->so_proto->pr_type);
	default:
		return -ENOPROTOOPT;
	}
}

static int
so_opt_locked(struct socket *so, bool set, int level, int name, void *val, socklen_t *len)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (atomic_load_explicit(&so->so_state, memory_order_relaxed) & SS_CLOSED)
		return -EBADF;
	if (level == SOL_SOCKET)
		return set ? so_setopt_socket(so, name, val, *len) :
		    so_getopt_socket(so, name, val, len);
	if (so->so_proto->pr_ctloutput == NULL)
		return -ENOPROTOOPT;
	return so->so_proto->pr_ctloutput(so, set, level, name, val, len);
}

static int
so_opt(struct socket *so, bool set, int level, int name, void *val, socklen_t *len)
{
	struct kern *k = smpnet_kern_of(so->so_stack);
	int r;

	kern_giant_enter(k);
	kmutex_enter(&so->so_lock);
	r = so_opt_locked(so, set, level, name, val, len);
	kmutex_exit(&so->so_lock);
	kern_giant_exit(k);
	return r;
}

int
smpnet_setsockopt(struct smpnet_socket *s, int level, int name, const void *val,
    socklen_t len)
{
	return so_opt((struct socket *)(void *)s, true, level, name, (void *)(uintptr_t)val,
	    &len);
}

int
smpnet_getsockopt(struct smpnet_socket *s, int level, int name, void *val, socklen_t *len)
{
	if (len == NULL)
		return -EINVAL;
	return so_opt((struct socket *)(void *)s, false, level, name, val, len);
}
