// SPDX-License-Identifier: GPL-2.0
/*
 * tunbp: the tun.backpressure switch (kernel/patches/0002) seen from user space, with the
 * packet accounting tunbench uses. Run as root in a throwaway VM with /bin/iptc = iproute2's tc.
 * Usage: tunbp QDISC on|off   (QDISC: noqueue, pfifo_fast, fq_codel)
 *
 * A tap with a RING-slot ring (tx_queue_len), backpressure on or off at attach, the qdisc set
 * with tc. A packet socket (through the qdisc: no PACKET_QDISC_BYPASS) sends SENT frames while
 * nobody reads (the stall), then the reader drains the tap (the recovery). At both instants:
 * the queue's state and its stops, wakes and tun drops (fdinfo), the tap's tx_dropped and
 * tx_packets, the qdisc's sent, drops, backlog and requeues (tc -s), what sendto returned.
 * Attribution: tun drops = fdinfo tun_drops; drops at a stopped queue (the core's, noqueue) =
 * tx_dropped - tun_drops; qdisc drops = tc's. It checks that the accounting closes exactly:
 *   sent = delivered + qdisc drops + tun drops + stopped-queue drops + qdisc backlog + ring
 * with the ring's occupancy known at the stall (nothing was read: ring = tx_packets... = the
 * ring's size when the queue stopped) and 0 after the drain; and prints one line of figures:
 *   FIGURES tunbp QDISC on|off: sent ... (the shell script turns it into a RESULT line).
 * Exit 0 after "PASS ...", 1 after "FAIL: reason", 2 on bad usage.
 */
#define _GNU_SOURCE
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
#include <unistd.h>
#include "util.h"

#define IFNAME "tb0"
#define RING 32
#define SENT 200
#define FRAME_LEN 60
#define ETHERTYPE 0x88b5

static long long stat_of(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/net/" IFNAME "/statistics/%s", name);
	read_file(path, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

static long long fdinfo_field(int fd, const char *key)
{
	char path[64], buf[1024], want[64], *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	read_file(path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "\n%s:\t", key);
	p = strstr(buf, want);
	if (!p)
		fail("fdinfo has no %s line (kernel without patch 0002?): %s", key, buf);
	return strtoll(p + strlen(want), NULL, 10);
}

struct qd {
	long long sent, drops, requeues, backlog;
};

static void tc(const char *args)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "/bin/iptc %s", args);
	if (system(cmd))
		fail("%s", cmd);
}

static struct qd qdisc(void)
{
	struct qd q = { -1, -1, -1, -1 };
	char line[512], *p;
	FILE *f = popen("/bin/iptc -s qdisc show dev " IFNAME, "r");

	if (!f)
		fail("popen tc");
	while (fgets(line, sizeof(line), f)) {
		if (q.sent < 0 && (p = strstr(line, "Sent ")))
			sscanf(p, "Sent %*s bytes %lld pkt (dropped %lld, overlimits %*s requeues %lld)",
			       &q.sent, &q.drops, &q.requeues);
		if (q.backlog < 0 && (p = strstr(line, "backlog ")))
			sscanf(p, "backlog %*s %lldp", &q.backlog);
	}
	pclose(f);
	if (q.sent < 0 || q.backlog < 0)
		fail("could not parse tc -s qdisc show dev " IFNAME);
	return q;
}

struct state {
	long long tx_packets, tx_dropped, tun_drops, stopped, stops, wakes;
	struct qd q;
};

static struct state now(int fd)
{
	struct state s;

	s.tx_packets = stat_of("tx_packets");
	s.tx_dropped = stat_of("tx_dropped");
	s.tun_drops = fdinfo_field(fd, "tun_drops");
	s.stopped = fdinfo_field(fd, "txq_stopped");
	s.stops = fdinfo_field(fd, "bp_stops");
	s.wakes = fdinfo_field(fd, "bp_wakes");
	s.q = qdisc();
	return s;
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "";
	int on = argc > 2 && !strcmp(argv[2], "on");
	unsigned char f[FRAME_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	long long ok = 0, enobufs = 0, enetdown = 0, delivered = 0, qheld, stopdrops, ring;
	long long stopped_drops_end, residual_stall, residual_end;
	struct ifreq ifr = { 0 };
	struct state a, b;
	char buf[2048], cmd[128];
	int fd, ps, i, idle;

	if ((strcmp(kind, "noqueue") && strcmp(kind, "pfifo_fast") && strcmp(kind, "fq_codel")) ||
	    argc != 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
		fprintf(stderr, "usage: tunbp noqueue|pfifo_fast|fq_codel on|off\n");
		return 2;
	}
	write_file("/sys/module/tun/parameters/queue_mode", "ring");
	write_file("/sys/module/tun/parameters/backpressure", on ? "1" : "0");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		fail("open /dev/net/tun");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strcpy(ifr.ifr_name, IFNAME);
	if (ioctl(fd, TUNSETIFF, &ifr))
		fail("TUNSETIFF");
	/* Taken at attach: switching now must not change this queue. */
	write_file("/sys/module/tun/parameters/backpressure", on ? "0" : "1");
	if (fdinfo_field(fd, "backpressure") != on)
		fail("fdinfo backpressure is not %d", on);

	ps = socket(AF_PACKET, SOCK_RAW, 0);
	if (ps < 0)
		fail("packet socket");
	ifr.ifr_qlen = RING;
	if (ioctl(ps, SIOCSIFTXQLEN, &ifr))
		fail("SIOCSIFTXQLEN");
	ifr.ifr_flags = IFF_UP;
	if (ioctl(ps, SIOCSIFFLAGS, &ifr))
		fail("SIOCSIFFLAGS up");
	if (ioctl(ps, SIOCGIFINDEX, &ifr))
		fail("SIOCGIFINDEX");
	to.sll_ifindex = ifr.ifr_ifindex;
	memset(to.sll_addr, 0xff, ETH_ALEN);
	snprintf(cmd, sizeof(cmd), "qdisc replace dev " IFNAME " root %s", kind);
	tc(cmd);
	if (fdinfo_field(fd, "txq_stopped") != 0)
		fail("queue stopped before any transmit");

	/* The stall: SENT frames, nobody reads. */
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	for (i = 0; i < SENT; i++) {
		memcpy(f + 14, &i, sizeof(i));
		if (sendto(ps, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(f))
			ok++;
		else if (errno == ENOBUFS)
			enobufs++;
		else if (errno == ENETDOWN)
			enetdown++;
		else
			fail("sendto frame %d", i);
	}
	usleep(100000);
	a = now(fd);

	/* The recovery: drain until nothing came for 500 ms. */
	for (idle = 0; idle < 5;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (read(fd, buf, sizeof(buf)) == FRAME_LEN) {
			delivered++;
			idle = 0;
			continue;
		}
		if (errno != EAGAIN)
			fail("read");
		if (poll(&p, 1, 100) == 0)
			idle++;
	}
	b = now(fd);

	/* Attribution and accounting (tunbench's, src/trial/accounting.ts). */
	stopdrops = a.tx_dropped - a.tun_drops;
	stopped_drops_end = b.tx_dropped - b.tun_drops;
	/* At the stall nothing was read: the ring holds what tun accepted. */
	ring = a.tx_packets == 0 ? (long long)SENT - a.q.drops - a.tx_dropped - a.q.backlog : -1;
	residual_stall = SENT - (0 + a.q.drops + a.tun_drops + stopdrops + a.q.backlog + ring);
	residual_end = SENT - (delivered + b.q.drops + b.tun_drops + stopped_drops_end + b.q.backlog);
	/* What the qdisc's "sent" double counts at the stall: packets it dequeued, counted as
	 * sent, then requeued into its backlog (held while the queue is stopped). */
	qheld = strcmp(kind, "noqueue") ? a.q.sent + a.q.drops + a.q.backlog - SENT : 0;

	printf("FIGURES tunbp %s %s: sent %d delivered %lld qdisc_drops %lld tun_drops %lld stopped_drops %lld"
	       " backlog_stall %lld ring_stall %lld requeues %lld qdisc_held_stall %lld stopped_stall %lld"
	       " stopped_end %lld stops %lld wakes %lld sendto_ok %lld enobufs %lld enetdown %lld"
	       " tx_packets %lld tx_dropped %lld residual_stall %lld residual_end %lld\n",
	       kind, on ? "on" : "off", SENT, delivered, b.q.drops, b.tun_drops, stopped_drops_end,
	       a.q.backlog, ring, b.q.requeues, qheld, a.stopped, b.stopped, b.stops, b.wakes,
	       ok, enobufs, enetdown, b.tx_packets, b.tx_dropped, residual_stall, residual_end);

	if (residual_end || residual_stall)
		fail("accounting does not close: residual %lld at the stall, %lld after the drain", residual_stall, residual_end);
	if (ring != RING)
		fail("ring at the stall holds %lld, want %d", ring, RING);
	if (delivered != b.tx_packets)
		fail("delivered %lld != tx_packets %lld", delivered, b.tx_packets);
	if (b.stopped != 0 || b.q.backlog != 0)
		fail("after the drain: queue stopped %lld, qdisc backlog %lld", b.stopped, b.q.backlog);
	if (!on) {
		if (a.stopped || b.stops)
			fail("backpressure off, but the queue was stopped");
		if (stopped_drops_end)
			fail("backpressure off: %lld drops not tun's", stopped_drops_end);
	} else {
		if (a.stopped != 1 || b.stops < 1 || b.wakes < 1)
			fail("backpressure on: stopped at the stall %lld, stops %lld, wakes %lld", a.stopped, b.stops, b.wakes);
		if (b.tun_drops != 0)
			fail("backpressure on, one sender: tun dropped %lld (full ring)", b.tun_drops);
		if (!strcmp(kind, "noqueue") && (stopped_drops_end != SENT - RING || enetdown != stopped_drops_end))
			fail("noqueue: %lld drops at the stopped queue (sender saw %lld ENETDOWN), want %d", stopped_drops_end, enetdown, SENT - RING);
		/* fq_codel holds what the stopped queue refuses; CoDel may drop at dequeue what
		 * waited too long (counted in the qdisc's drops, told to no sender). */
		if (!strcmp(kind, "fq_codel") && (a.q.drops || ok != SENT || delivered != SENT - b.q.drops ||
						  qheld < 1 || b.q.requeues < 1))
			fail("fq_codel: qdisc drops %lld at the stall, sendto ok %lld, delivered %lld, held %lld, requeues %lld",
			     a.q.drops, ok, delivered, qheld, b.q.requeues);
	}
	close(fd);
	close(ps);
	printf("PASS tunbp %s %s\n", kind, on ? "on" : "off");
	return 0;
}
