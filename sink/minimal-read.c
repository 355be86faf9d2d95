// SPDX-License-Identifier: GPL-2.0-only
/*
 * minimal-read: the baseline the sink is measured against (bench/sink-vs-minimal.ts): the
 * plainest possible reader, one blocking read() per packet on one queue, a counter.
 *   minimal-read DEV      prints {"packets":N,"seconds":S} on SIGTERM/SIGINT
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

int main(int argc, char **argv)
{
	struct ifreq ifr = { 0 };
	static char buf[65536];
	unsigned long long packets = 0;
	struct timespec a, b;
	int fd = open("/dev/net/tun", O_RDWR);

	if (argc != 2 || fd < 0)
		return 2;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("TUNSETIFF");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: read() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("{\"event\":\"ready\"}\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &a);
	while (!stop)
		if (read(fd, buf, sizeof(buf)) > 0)
			packets++;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("{\"packets\":%llu,\"seconds\":%.6f}\n", packets, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
