/*
 * tap.h - Linux TAP core: the host side of a multiqueue TAP device, without ifnet.
 *
 * A tap_dev is one Linux TAP interface opened with IFF_TAP | IFF_NO_PI |
 * IFF_MULTI_QUEUE: one non-blocking file descriptor per queue (Linux spreads the frames
 * it transmits over the queues by flow hash, and takes frames written to any queue), and
 * one epoll set over all of them whose events carry the queue index.  Each read returns
 * one whole frame (no packet-information prefix, no FCS); each write sends one.  A later
 * ifnet driver wraps this: RX queue q is polled by its CPU, TX queue q is written by it.
 *
 * The device lives in the network namespace of the thread that opens it.  A device this
 * call creates disappears when its last queue is closed (it is not made persistent).
 *
 * Concurrency: fields are immutable after tap_open() ([I]).  Calls on different queues
 * may run in parallel on different threads; the kernel also keeps reads and writes on
 * one queue whole, but a queue is meant to be owned by one CPU.  tap_close() must not
 * race with any other call on the device.
 */
#ifndef SMPNET_DEV_TAP_H
#define SMPNET_DEV_TAP_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_MAXQ	16	/* queues per device */
#define TAP_BATCH_MAX	64	/* frames per tap_recv_batch() call */

/* tap_open() flags; with neither, attach if the device exists, otherwise create it. */
#define TAP_CREATE	0x1	/* fail with EEXIST if the device exists */
#define TAP_ATTACH	0x2	/* fail with ENODEV if it does not */

struct tap_dev {
	char	td_name[IFNAMSIZ];	/* [I] interface name */
	int	td_ifindex;		/* [I] */
	int	td_nq;			/* [I] queues open */
	int	td_epfd;		/* [I] epoll set over td_fds; event data.u32 = queue */
	int	td_fds[TAP_MAXQ];	/* [I] one non-blocking fd per queue */
};

/* One frame buffer of a batch read. */
struct tap_frame {
	void	*tf_buf;	/* caller's buffer */
	size_t	 tf_cap;	/* its size */
	size_t	 tf_len;	/* out: frame length */
};

/*
 * Open nq queues (1..TAP_MAXQ) of the TAP device called name (NULL or "" lets Linux pick
 * "tapN"), creating or attaching to it as flags say.  Returns the device, or NULL with
 * errno: EINVAL (bad argument, or an existing device that is not a multiqueue TAP),
 * ENAMETOOLONG, EEXIST, ENODEV, EPERM (no CAP_NET_ADMIN), ENOMEM, or the error of
 * open(/dev/net/tun) / ioctl(TUNSETIFF) / epoll_create1.  May block briefly (syscalls).
 */
struct tap_dev *tap_open(const char *name, int nq, int flags);

/* Close every queue and free dev (NULL is a no-op).  May block briefly. */
void tap_close(struct tap_dev *dev);

/* The fd of queue q, or -EINVAL. */
int tap_fd(const struct tap_dev *dev, int q);

/* The epoll fd over all queues (events carry data.u32 = queue index). */
int tap_epoll_fd(const struct tap_dev *dev);

/*
 * Read one frame from queue q into buf.  Returns its length, -EAGAIN if the queue is
 * empty, -EINVAL for a bad queue, or another negative errno of read().  A frame longer
 * than len is cut to len: give at least MTU + 18 bytes.  Never blocks.
 */
long tap_recv(struct tap_dev *dev, int q, void *buf, size_t len);

/*
 * Read up to n frames (n <= TAP_BATCH_MAX, else -EINVAL) from queue q into f[0..n),
 * setting each tf_len.  Returns the number read (0 if the queue was empty), or a negative
 * errno if the first read failed otherwise.  Never blocks.
 */
int tap_recv_batch(struct tap_dev *dev, int q, struct tap_frame *f, int n);

/*
 * Send one frame on queue q.  Returns len, -EAGAIN if the queue cannot take it now,
 * -EINVAL for a bad queue or an empty frame, or another negative errno of write() (EIO
 * while the device is down).  Never blocks.
 */
long tap_send(struct tap_dev *dev, int q, const void *buf, size_t len);

/*
 * Wait up to timeout_ms (-1: forever, 0: poll) for readable queues; store up to n of
 * their indexes in qs.  Returns how many, 0 on timeout, or a negative errno (-EINTR).
 * Blocks unless timeout_ms is 0.
 */
int tap_wait(struct tap_dev *dev, int timeout_ms, int *qs, int n);

/* Store the device's MAC address (Linux's side of the link).  0 or negative errno. */
int tap_mac(const struct tap_dev *dev, uint8_t mac[6]);

/* The device's MTU, or a negative errno. */
int tap_mtu(const struct tap_dev *dev);

/* Set the device administratively up or down.  0 or negative errno (-EPERM). */
int tap_set_up(const struct tap_dev *dev, int up);

#endif /* SMPNET_DEV_TAP_H */
