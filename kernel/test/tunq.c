// SPDX-License-Identifier: GPL-2.0
/*
 * tunq: checks that tun.queue_mode selects the tap's transmit queue and that
 * the queue behaves: drops beyond tx_queue_len counted in tx_dropped, poll,
 * non-blocking and blocking reads, in order. Run as root in a throwaway VM.
 * Usage: tunq ring|skq   (sets /sys/module/tun/parameters/queue_mode first)
 * Exit 0 and a "PASS" line, or exit 1 after "FAIL: reason".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util.h"

#define IFNAME "tq0"
#define QLEN 8
#define OVERFLOW 5
#define FRAME_LEN 60
#define ETHERTYPE 0x88b5 /* IEEE local experimental */

static unsigned long long tx_dropped(void)
{
	char buf[64];

	read_file("/sys/class/net/" IFNAME "/statistics/tx_dropped", buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

/* Returns 0, or -1 with errno ENOBUFS when the tap dropped the frame. */
static int send_frame(int ps, int ifindex, unsigned int seq)
{
	unsigned char f[FRAME_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0x02, 0, 0, 0, 0, 1 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				  .sll_halen = ETH_ALEN };

	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	memcpy(f + 14, &seq, sizeof(seq));
	memset(to.sll_addr, 0xff, ETH_ALEN);
	if (sendto(ps, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(f))
		return 0;
	if (errno != ENOBUFS)
		fail("sendto frame %u", seq);
	return -1;
}

static void expect_frame(int fd, unsigned int seq, const char *how)
{
	unsigned char buf[2048];
	unsigned int got;
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n != FRAME_LEN)
		fail("%s read of frame %u returned %zd, want %d", how, seq, n, FRAME_LEN);
	memcpy(&got, buf + 14, sizeof(got));
	if (got != seq)
		fail("%s read returned frame %u, want %u", how, got, seq);
}

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		fail("poll");
	return r > 0 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *other = strcmp(mode, "skq") ? "skq" : "ring";
	char buf[4096], want[64], path[64];
	struct ifreq ifr = { 0 };
	unsigned long long drop0;
	unsigned int i, seq;
	int fd, ps, one = 1, ifindex, st;
	pid_t pid;

	if (strcmp(mode, "ring") && strcmp(mode, "skq")) {
		fprintf(stderr, "usage: tunq ring|skq\n");
		return 2;
	}
	write_file("/sys/module/tun/parameters/queue_mode", mode);
	read_file("/sys/module/tun/parameters/queue_mode", buf, sizeof(buf));
	if (strncmp(buf, mode, strlen(mode)))
		fail("queue_mode reads back %s", buf);
	/* No IPv6 autoconfiguration traffic on the tap during the test. */
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		fail("open /dev/net/tun");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strcpy(ifr.ifr_name, IFNAME);
	if (ioctl(fd, TUNSETIFF, &ifr))
		fail("TUNSETIFF");
	/* The mode was taken at attach: switching now must not change it. */
	write_file("/sys/module/tun/parameters/queue_mode", other);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	read_file(path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "queue:\t%s\n", mode);
	if (!strstr(buf, want))
		fail("fdinfo lacks \"queue:\\t%s\": %s", mode, buf);

	ps = socket(AF_PACKET, SOCK_RAW, 0);
	if (ps < 0)
		fail("packet socket");
	if (setsockopt(ps, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		fail("PACKET_QDISC_BYPASS");
	ifr.ifr_qlen = QLEN;
	if (ioctl(ps, SIOCSIFTXQLEN, &ifr))
		fail("SIOCSIFTXQLEN");
	ifr.ifr_flags = IFF_UP;
	if (ioctl(ps, SIOCSIFFLAGS, &ifr))
		fail("SIOCSIFFLAGS up");
	if (ioctl(ps, SIOCGIFINDEX, &ifr))
		fail("SIOCGIFINDEX");
	ifindex = ifr.ifr_ifindex;

	if (readable(fd, 0))
		fail("queue readable before any transmit");
	if (read(fd, buf, sizeof(buf)) != -1 || errno != EAGAIN)
		fail("non-blocking read of an empty queue is not EAGAIN");

	drop0 = tx_dropped();
	/* With PACKET_QDISC_BYPASS, tun's NET_XMIT_DROP comes back as ENOBUFS. */
	for (seq = 0; seq < QLEN + OVERFLOW; seq++)
		if (send_frame(ps, ifindex, seq) != (seq < QLEN ? 0 : -1))
			fail("frame %u: sendto %s, want %s", seq, seq < QLEN ? "dropped" : "accepted",
			     seq < QLEN ? "accepted" : "dropped (ENOBUFS)");
	if (tx_dropped() - drop0 != OVERFLOW)
		fail("tx_dropped grew by %llu, want %d", tx_dropped() - drop0, OVERFLOW);
	if (!readable(fd, 0))
		fail("poll: queue with %d frames not readable", QLEN);
	for (i = 0; i < QLEN; i++)
		expect_frame(fd, i, "non-blocking");
	if (readable(fd, 0))
		fail("poll: drained queue still readable");
	if (read(fd, buf, sizeof(buf)) != -1 || errno != EAGAIN)
		fail("non-blocking read of a drained queue is not EAGAIN");

	/* Blocking read: a child transmits 200 ms after we start waiting. */
	if (fcntl(fd, F_SETFL, 0))
		fail("clear O_NONBLOCK");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		usleep(200000);
		_exit(send_frame(ps, ifindex, 1000) ? 1 : 0);
	}
	expect_frame(fd, 1000, "blocking");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("sender child");

	/* poll wakeup: wait in poll, a child transmits. */
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		usleep(200000);
		_exit(send_frame(ps, ifindex, 1001) ? 1 : 0);
	}
	if (!readable(fd, 5000))
		fail("poll not woken by a transmit within 5 s");
	expect_frame(fd, 1001, "after poll");
	waitpid(pid, &st, 0);

	close(fd);
	printf("PASS tunq mode=%s: fdinfo queue:%s, %d queued + %d dropped (tx_dropped +%d), poll, non-blocking, blocking reads\n",
	       mode, mode, QLEN, OVERFLOW, OVERFLOW);
	return 0;
}
