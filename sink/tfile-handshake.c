// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunbench-handshake: lets the probes find the struct tun_file of every queue a reader holds
 * on a tap, without a per-packet probe.
 *
 *   tunbench-handshake PID DEV
 *
 * For each file descriptor of process PID that is attached to tap DEV (/proc/PID/fdinfo/N
 * says "iff:\tDEV"), takes a duplicate of it with pidfd_getfd(2) (Linux 5.6+; the duplicate
 * is the same open file, so the same tun_file) and issues one ioctl(TUNGETIFF) on it. The
 * probes' sampler (probes/sampler.bt) catches that ioctl on tracepoint
 * syscalls:sys_enter_ioctl, filtered by this program's name, and reads the file's
 * private_data: the queue's tun_file. Works for any reader: the sink, QEMU, vhost-net's
 * owner. The process name is set to "tb-handshake" for the probe's filter.
 * Output: one line "handshake N" (N = queues found) on stdout, exit 0; errors: one line on
 * stderr, exit 2 (no queue found, no permission, kernel without pidfd_getfd).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what, int err)
{
	fprintf(stderr, "tunbench-handshake: %s: %s\n", what, strerror(err));
	exit(2);
}

/* Does /proc/PID/fdinfo/FD name tap DEV on an "iff:" line? */
static int attached_to(const char *pid, const char *fd, const char *dev)
{
	char path[300], line[256], want[IFNAMSIZ + 8];
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	snprintf(want, sizeof(want), "iff:\t%s", dev);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		found = strcmp(line, want) == 0;
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	if (argc != 3 || strlen(argv[2]) >= IFNAMSIZ || strspn(argv[1], "0123456789") != strlen(argv[1])) {
		fprintf(stderr, "usage: tunbench-handshake PID DEV\n");
		return 2;
	}
	const char *pid = argv[1], *dev = argv[2];
	prctl(PR_SET_NAME, "tb-handshake", 0, 0, 0);

	int pidfd = (int)syscall(SYS_pidfd_open, atoi(pid), 0);
	if (pidfd < 0)
		die("pidfd_open", errno);
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	DIR *d = opendir(dir);
	if (!d)
		die(dir, errno);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !attached_to(pid, e->d_name, dev))
			continue;
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0)
			die("pidfd_getfd", errno);
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			die("TUNGETIFF", errno);
		close(fd);
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "tunbench-handshake: process %s holds no queue of %s\n", pid, dev);
		return 2;
	}
	printf("handshake %d\n", n);
	return 0;
}
