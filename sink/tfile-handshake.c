// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunbench-handshake: lets the probes find the struct tun_file of every queue a reader holds
 * on a tap, without a per-packet probe.
 *
 *   tunbench-handshake PID DEV
 *
 * For each file descriptor of process PID that is attached to tap DEV (/proc/PID/fdinfo/N
 * says "iff:\tDEV"), takes a duplicate of it with pidfd_getfd(2) (Linux 5.6+; the duplicate
 * is the same open file, so the same tun_file) and places it at fd HANDSHAKE_FD_BASE + i
 * (i = 0, 1, ...). Then it renames itself to "tb-handshake" (prctl PR_SET_NAME): the
 * probes' sampler (probes/sampler.bt) catches that rename on tracepoint task:task_rename,
 * which fires only when a task changes its name (never per packet, never per syscall), and
 * reads private_data of the files at those fd numbers in the renaming task's own fd table:
 * the queues' tun_files. A syscall tracepoint would do the same but, while attached, would
 * put every system call of every task on the kernel's syscall-tracing slow path.
 * Works for any reader: the sink, QEMU, vhost-net's owner.
 * Output: one line "handshake N" (N = queues found) on stdout, exit 0; errors: one line on
 * stderr, exit 2 (no queue found, too many queues, no permission, no pidfd_getfd).
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

/* Keep in step with src/probes/render.ts (HANDSHAKE_FD_BASE, HANDSHAKE_MAX_QUEUES). */
#define HANDSHAKE_FD_BASE 200
#define HANDSHAKE_MAX_QUEUES 64

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
		if (n >= HANDSHAKE_MAX_QUEUES) {
			fprintf(stderr, "tunbench-handshake: process %s holds more than %d queues of %s\n", pid, HANDSHAKE_MAX_QUEUES, dev);
			return 2;
		}
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0)
			die("pidfd_getfd", errno);
		/* Still a tun file of DEV (the reader may have closed and reused the number)? */
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			die("TUNGETIFF", errno);
		if (dup2(fd, HANDSHAKE_FD_BASE + n) < 0)
			die("dup2", errno);
		close(fd);
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "tunbench-handshake: process %s holds no queue of %s\n", pid, dev);
		return 2;
	}
	/* The signal the sampler waits for: its task_rename program reads fds BASE..BASE+n-1. */
	if (prctl(PR_SET_NAME, "tb-handshake", 0, 0, 0) < 0)
		die("prctl(PR_SET_NAME)", errno);
	printf("handshake %d\n", n);
	return 0;
}
