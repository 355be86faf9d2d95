// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunbench-wire: a virtual cable between two taps in two network namespaces, the way QEMU's
 * userspace tap backend joins a guest NIC to a tap, in miniature: every frame read from the
 * lab tap is written into the peer tap, and every frame read from the peer tap is written
 * back into the lab tap. The lab tap's queue is the one under test (its consumer is this
 * reader); the peer namespace runs the flow's receiver (an iperf3 server).
 *
 *   tunbench-wire --lab-dev NAME --peer-netns NAME --peer-dev NAME [--batch B] [--cpu C]
 *                 [--interval-ms MS]
 *
 * Started inside the lab namespace (ip netns exec LAB ...): the lab tap is opened there, then
 * the process enters the peer namespace (setns on /run/netns/NAME) and opens the peer tap
 * (a tun fd belongs to the namespace it was opened in). Both fds are non-blocking; one thread
 * polls both and the signalfd, and moves up to B frames per direction per wake-up.
 *
 * Output, JSON lines on stdout (the sink's conventions; packets/bytes are the lab tap's reads):
 *   {"event":"ready","pid":P}                                         both taps attached
 *   {"event":"snapshot","t_ns":T,"packets":..,"bytes":..,"toPeer":{..},"toLab":{..}}  on SIGUSR1
 *   {"event":"stats",...}      the same every MS milliseconds with --interval-ms
 *   {"event":"final","t_ns":T,"seconds":S,...}                        on SIGTERM/SIGINT, exit 0
 * where toPeer / toLab = {"packets":read,"bytes":read,"written":..,"writeErrors":..}.
 * A frame whose write fails (peer side gone, EIO, ENOBUFS) is counted in writeErrors and dropped.
 * Errors: one line on stderr, exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536

/* From <net/if.h>, which cannot be included beside <linux/if.h>. */
extern unsigned int if_nametoindex(const char *ifname);

struct direction {
	uint64_t packets, bytes, written, write_errors;
};

static struct {
	const char *lab_dev;
	const char *peer_netns;
	const char *peer_dev;
	int batch;
	int cpu;
	long interval_ms;
} opt = { .batch = 64, .cpu = -1 };

/* to_peer: read from the lab tap, written to the peer tap; to_lab: the reverse. */
static struct direction to_peer, to_lab;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "tunbench-wire: %s: %s\n", what, err ? strerror(err) : "invalid");
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: tunbench-wire --lab-dev NAME --peer-netns NAME --peer-dev NAME [--batch B] [--cpu C] [--interval-ms MS]\n");
	exit(2);
}

static int open_tap(const char *dev)
{
	struct ifreq ifr;
	/* TUNSETIFF on a name that does not exist creates a tap: the wire only joins existing ones. */
	if (!if_nametoindex(dev)) {
		char what[64];
		snprintf(what, sizeof(what), "no device %s in this namespace", dev);
		die(what, ENODEV);
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("open /dev/net/tun", errno);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		char what[64];
		snprintf(what, sizeof(what), "TUNSETIFF %s", dev);
		die(what, errno);
	}
	return fd;
}

static void enter_netns(const char *name)
{
	char path[256];
	if (strchr(name, '/'))
		die("--peer-netns must be a name under /run/netns", 0);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path, errno);
	if (setns(fd, CLONE_NEWNET) < 0)
		die("setns", errno);
	close(fd);
}

/* Move up to opt.batch frames from one tap to the other. Returns 0 when `from` is drained. */
static int forward(int from, int to, struct direction *d)
{
	static char buf[BUF_SIZE];
	for (int i = 0; i < opt.batch; i++) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			die("read", errno);
		}
		if (n == 0)
			return 0;
		d->packets++;
		d->bytes += (uint64_t)n;
		if (write(to, buf, (size_t)n) == n)
			d->written++;
		else
			d->write_errors++;
	}
	return 1;
}

static void print_dir(const char *name, const struct direction *d)
{
	printf("\"%s\":{\"packets\":%llu,\"bytes\":%llu,\"written\":%llu,\"writeErrors\":%llu}", name,
	       (unsigned long long)d->packets, (unsigned long long)d->bytes, (unsigned long long)d->written,
	       (unsigned long long)d->write_errors);
}

static void report(const char *event, uint64_t t0)
{
	uint64_t t = now_ns();
	printf("{\"event\":\"%s\",\"t_ns\":%llu,", event, (unsigned long long)t);
	if (!strcmp(event, "final"))
		printf("\"seconds\":%.6f,", (double)(t - t0) / 1e9);
	printf("\"packets\":%llu,\"bytes\":%llu,", (unsigned long long)to_peer.packets, (unsigned long long)to_peer.bytes);
	print_dir("toPeer", &to_peer);
	putchar(',');
	print_dir("toLab", &to_lab);
	puts("}");
	fflush(stdout);
}

static long num(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--lab-dev")) opt.lab_dev = v;
		else if (!strcmp(a, "--peer-netns")) opt.peer_netns = v;
		else if (!strcmp(a, "--peer-dev")) opt.peer_dev = v;
		else if (!strcmp(a, "--batch")) opt.batch = (int)num(v);
		else if (!strcmp(a, "--cpu")) opt.cpu = (int)num(v);
		else if (!strcmp(a, "--interval-ms")) opt.interval_ms = num(v);
		else usage();
	}
	if (!opt.lab_dev || !opt.peer_netns || !opt.peer_dev || strlen(opt.lab_dev) >= IFNAMSIZ ||
	    strlen(opt.peer_dev) >= IFNAMSIZ || opt.batch < 1 || opt.interval_ms < 0)
		usage();

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL))
		die("sigprocmask", errno);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd", errno);

	if (opt.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("sched_setaffinity", errno);
	}

	int lab = open_tap(opt.lab_dev);
	enter_netns(opt.peer_netns);
	int peer = open_tap(opt.peer_dev);

	uint64_t t0 = now_ns(), next = opt.interval_ms ? t0 + (uint64_t)opt.interval_ms * 1000000ull : 0;
	printf("{\"event\":\"ready\",\"pid\":%d}\n", getpid());
	fflush(stdout);

	struct pollfd p[3] = { { .fd = lab, .events = POLLIN }, { .fd = peer, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	for (;;) {
		int timeout = -1;
		if (next) {
			uint64_t t = now_ns();
			timeout = t >= next ? 0 : (int)((next - t) / 1000000ull) + 1;
		}
		int rc = poll(p, 3, timeout);
		if (rc < 0 && errno != EINTR)
			die("poll", errno);
		/* One batch per direction per wake-up: both directions and the signals get a turn
		 * even under a flood (poll costs little against 64 reads and writes). */
		if (rc > 0 && (p[0].revents & POLLIN))
			forward(lab, peer, &to_peer);
		if (rc > 0 && (p[1].revents & POLLIN))
			forward(peer, lab, &to_lab);
		if ((p[0].revents | p[1].revents) & (POLLERR | POLLHUP | POLLNVAL))
			die("tap closed", 0);
		if (next && now_ns() >= next) {
			report("stats", t0);
			next += (uint64_t)opt.interval_ms * 1000000ull;
		}
		if (rc > 0 && (p[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGUSR1) {
					report("snapshot", t0);
					continue;
				}
				report("final", t0);
				return 0;
			}
		}
	}
}
