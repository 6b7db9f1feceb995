/*
 * tap.c - Linux TAP core (design in tap.h).
 *
 * tap_open() runs TUNSETIFF on one fresh /dev/net/tun descriptor per queue with the same
 * name and IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE: the first call creates the device (or
 * attaches to an existing one), each further call adds a queue.  Interface queries go
 * through a throw-away AF_INET datagram socket in the caller's namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/tap.h"

static int
tap_queue_open(char *name)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

static int
tap_epoll_add(struct tap_dev *dev, int q)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)q;
	return epoll_ctl(dev->td_epfd, EPOLL_CTL_ADD, dev->td_fds[q], &ev) < 0 ? -errno : 0;
}

static int
tap_check_args(const char *name, int nq, int flags)
{
	unsigned idx;

	if (nq < 1 || nq > TAP_MAXQ || (flags & ~(TAP_CREATE | TAP_ATTACH)) != 0 ||
	    flags == (TAP_CREATE | TAP_ATTACH))
		return -EINVAL;
	if (name == NULL || name[0] == '\0')
		return (flags & TAP_ATTACH) ? -EINVAL : 0;
	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	idx = if_nametoindex(name);
	if ((flags & TAP_CREATE) && idx != 0)
		return -EEXIST;
	if ((flags & TAP_ATTACH) && idx == 0)
		return -ENODEV;
	return 0;
}

static int
tap_open_queues(struct tap_dev *dev, int nq)
{
	int q, fd, err;

	for (q = 0; q < nq; q++) {
		fd = tap_queue_open(dev->td_name);
		if (fd < 0)
			return fd;
		dev->td_fds[q] = fd;
		dev->td_nq = q + 1;
		if ((err = tap_epoll_add(dev, q)) < 0)
			return err;
	}
	dev->td_ifindex = (int)if_nametoindex(dev->td_name);
	return dev->td_ifindex > 0 ? 0 : -ENODEV;
}

struct tap_dev *
tap_open(const char *name, int nq, int flags)
{
	struct tap_dev *dev;
	int err;

	if ((err = tap_check_args(name, nq, flags)) < 0) {
		errno = -err;
		return NULL;
	}
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return NULL;
	if (name != NULL)
		memcpy(dev->td_name, name, strlen(name));
	dev->td_epfd = epoll_create1(EPOLL_CLOEXEC);
	err = dev->td_epfd < 0 ? -errno : tap_open_queues(dev, nq);
	if (err < 0) {
		tap_close(dev);
		errno = -err;
		return NULL;
	}
	return dev;
}

void
tap_close(struct tap_dev *dev)
{
	int q;

	if (dev == NULL)
		return;
	for (q = 0; q < dev->td_nq; q++)
		close(dev->td_fds[q]);
	if (dev->td_epfd >= 0)
		close(dev->td_epfd);
	free(dev);
}

int
tap_fd(const struct tap_dev *dev, int q)
{
	if (q < 0 || q >= dev->td_nq)
		return -EINVAL;
	return dev->td_fds[q];
}

int
tap_epoll_fd(const struct tap_dev *dev)
{
	return dev->td_epfd;
}

long
tap_recv(struct tap_dev *dev, int q, void *buf, size_t len)
{
	ssize_t n;

	if (q < 0 || q >= dev->td_nq)
		return -EINVAL;
	n = read(dev->td_fds[q], buf, len);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int
tap_recv_batch(struct tap_dev *dev, int q, struct tap_frame *f, int n)
{
	long r;
	int i;

	if (n < 0 || n > TAP_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		r = tap_recv(dev, q, f[i].tf_buf, f[i].tf_cap);
		if (r < 0)
			return (i > 0 || r == -EAGAIN) ? i : (int)r;
		f[i].tf_len = (size_t)r;
	}
	return n;
}

long
tap_send(struct tap_dev *dev, int q, const void *buf, size_t len)
{
	ssize_t n;

	if (q < 0 || q >= dev->td_nq || len == 0)
		return -EINVAL;
	n = write(dev->td_fds[q], buf, len);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int
tap_wait(struct tap_dev *dev, int timeout_ms, int *qs, int n)
{
	struct epoll_event ev[TAP_MAXQ];
	int i, got;

	if (n <= 0)
		return -EINVAL;
	got = epoll_wait(dev->td_epfd, ev, n < TAP_MAXQ ? n : TAP_MAXQ, timeout_ms);
	if (got < 0)
		return -errno;
	for (i = 0; i < got; i++)
		qs[i] = (int)ev[i].data.u32;
	return got;
}

/* Run one SIOC* ioctl on dev's interface through a throw-away socket. */
static int
tap_ifreq(const struct tap_dev *dev, unsigned long req, struct ifreq *ifr)
{
	int s, err = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memcpy(ifr->ifr_name, dev->td_name, IFNAMSIZ);
	if (ioctl(s, req, ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

int
tap_mac(const struct tap_dev *dev, uint8_t mac[6])
{
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	if ((err = tap_ifreq(dev, SIOCGIFHWADDR, &ifr)) < 0)
		return err;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int
tap_mtu(const struct tap_dev *dev)
{
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	if ((err = tap_ifreq(dev, SIOCGIFMTU, &ifr)) < 0)
		return err;
	return ifr.ifr_mtu;
}

int
tap_set_up(const struct tap_dev *dev, int up)
{
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	if ((err = tap_ifreq(dev, SIOCGIFFLAGS, &ifr)) < 0)
		return err;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return tap_ifreq(dev, SIOCSIFFLAGS, &ifr);
}
