// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunbench-sink: a fast reader of a tap device's queue(s), i.e. the consumer side of
 * tun_do_read. Runs inside the lab's network namespace (TUNSETIFF looks the name up in the
 * caller's namespace).
 *
 *   tunbench-sink --dev NAME [--queues N] [--multi-queue] [--mode blocking|poll|busy-poll]
 *                 [--batch B] [--delay-ns D] [--cpu C] [--steer-cpu]
 *
 * --steer-cpu (a multi-queue tap): attach a steering program (TUNSETSTEERINGEBPF, a two-
 * instruction socket filter) that puts each packet on queue (sending CPU % queues), so a
 * generator thread pinned to CPU i fills queue i alone, instead of tun's flow hash.
 *
 * One reader thread per queue. Output, JSON lines on stdout:
 *   {"event":"ready","pid":P,"queues":N}            every queue fd attached (tap has carrier)
 *   {"event":"snapshot","t_ns":T,"packets":..,"bytes":..,"perQueue":[..]}   on SIGUSR1
 *   {"event":"final","t_ns":T,"seconds":S,"packets":..,"bytes":..,"perQueue":[..]} on SIGTERM/SIGINT, exit 0
 * Errors: one line on stderr, exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUES 16
#define BUF_SIZE 65536

enum mode { MODE_BLOCKING, MODE_POLL, MODE_BUSY };

struct reader {
	int fd;
	int queue;
	int cpu;
	pthread_t thread;
	/* Written by the reader only; read relaxed by the main thread. Padded against false sharing. */
	_Atomic uint64_t packets;
	_Atomic uint64_t bytes;
	char pad[64];
};

static struct {
	const char *dev;
	int queues;
	int multi_queue;
	enum mode mode;
	int batch;
	uint64_t delay_ns;
	int cpu;
	int steer_cpu;
} opt = { .queues = 1, .mode = MODE_BLOCKING, .batch = 64, .cpu = -1 };

static struct reader readers[MAX_QUEUES];
static atomic_int stopping;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "tunbench-sink: %s: %s\n", what, err ? strerror(err) : "invalid");
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: tunbench-sink --dev NAME [--queues N] [--multi-queue] [--mode blocking|poll|busy-poll] [--batch B] [--delay-ns D] [--cpu C] [--steer-cpu]\n");
	exit(2);
}

/* Busy work of a slow guest: spin for delay_ns after each packet. */
static inline void delay(uint64_t ns)
{
	if (!ns)
		return;
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		;
}

static inline void count(struct reader *r, ssize_t n)
{
	atomic_store_explicit(&r->packets, atomic_load_explicit(&r->packets, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&r->bytes, atomic_load_explicit(&r->bytes, memory_order_relaxed) + (uint64_t)n, memory_order_relaxed);
	delay(opt.delay_ns);
}

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	static __thread char buf[BUF_SIZE];

	if (r->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(r->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (opt.mode == MODE_BLOCKING) {
		while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
			ssize_t n = read(r->fd, buf, sizeof(buf));
			if (n > 0)
				count(r, n);
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				break;
		}
	} else if (opt.mode == MODE_POLL) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
			int rc = poll(&p, 1, 100);
			if (rc <= 0)
				continue;
			for (int i = 0; i < opt.batch; i++) {
				ssize_t n = read(r->fd, buf, sizeof(buf));
				if (n <= 0)
					break;
				count(r, n);
			}
		}
	} else {
		while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
			ssize_t n = read(r->fd, buf, sizeof(buf));
			if (n > 0)
				count(r, n);
		}
	}
	return NULL;
}

static int attach(int queue)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/net/tun", errno);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (opt.multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	strncpy(ifr.ifr_name, opt.dev, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		char what[96];
		snprintf(what, sizeof(what), "TUNSETIFF %s queue %d", opt.dev, queue);
		die(what, errno);
	}
	if (opt.mode != MODE_BLOCKING) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			die("fcntl O_NONBLOCK", errno);
	}
	return fd;
}

/* Queue = the sending CPU (tun takes the program's return value modulo the number of queues). */
static void steer_by_cpu(int fd)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_smp_processor_id },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = sizeof(prog) / sizeof(prog[0]);
	attr.license = (uint64_t)(uintptr_t)"GPL";
	int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (pfd < 0)
		die("bpf(BPF_PROG_LOAD) of the steering program", errno);
	if (ioctl(fd, TUNSETSTEERINGEBPF, &pfd) < 0)
		die("TUNSETSTEERINGEBPF", errno);
	close(pfd); /* tun holds its own reference */
}

static void report(const char *event, uint64_t t0)
{
	uint64_t packets = 0, bytes = 0, t = now_ns();
	char per[16 * 24] = "";
	size_t off = 0;

	for (int i = 0; i < opt.queues; i++) {
		uint64_t p = atomic_load_explicit(&readers[i].packets, memory_order_relaxed);
		packets += p;
		bytes += atomic_load_explicit(&readers[i].bytes, memory_order_relaxed);
		off += (size_t)snprintf(per + off, sizeof(per) - off, "%s%llu", i ? "," : "", (unsigned long long)p);
	}
	if (!strcmp(event, "final"))
		printf("{\"event\":\"final\",\"t_ns\":%llu,\"seconds\":%.6f,\"packets\":%llu,\"bytes\":%llu,\"perQueue\":[%s]}\n",
		       (unsigned long long)t, (double)(t - t0) / 1e9, (unsigned long long)packets, (unsigned long long)bytes, per);
	else
		printf("{\"event\":\"snapshot\",\"t_ns\":%llu,\"packets\":%llu,\"bytes\":%llu,\"perQueue\":[%s]}\n",
		       (unsigned long long)t, (unsigned long long)packets, (unsigned long long)bytes, per);
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
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--multi-queue")) { opt.multi_queue = 1; continue; }
		if (!strcmp(a, "--steer-cpu")) { opt.steer_cpu = 1; continue; }
		if (!v)
			usage();
		if (!strcmp(a, "--dev")) opt.dev = v;
		else if (!strcmp(a, "--queues")) opt.queues = (int)num(v);
		else if (!strcmp(a, "--batch")) opt.batch = (int)num(v);
		else if (!strcmp(a, "--delay-ns")) opt.delay_ns = (uint64_t)num(v);
		else if (!strcmp(a, "--cpu")) opt.cpu = (int)num(v);
		else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "blocking")) opt.mode = MODE_BLOCKING;
			else if (!strcmp(v, "poll")) opt.mode = MODE_POLL;
			else if (!strcmp(v, "busy-poll")) opt.mode = MODE_BUSY;
			else usage();
		} else
			usage();
		i++;
	}
	if (!opt.dev || strlen(opt.dev) >= IFNAMSIZ || opt.queues < 1 || opt.queues > MAX_QUEUES || opt.batch < 1)
		usage();
	if (opt.queues > 1)
		opt.multi_queue = 1;

	/* Signals are taken synchronously through a signalfd in this thread; readers block them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL))
		die("pthread_sigmask", errno);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd", errno);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (int q = 0; q < opt.queues; q++) {
		readers[q].queue = q;
		readers[q].fd = attach(q);
		readers[q].cpu = opt.cpu >= 0 ? (int)((opt.cpu + q) % ncpu) : -1;
	}
	if (opt.steer_cpu)
		steer_by_cpu(readers[0].fd);
	uint64_t t0 = now_ns();
	for (int q = 0; q < opt.queues; q++)
		if (pthread_create(&readers[q].thread, NULL, read_loop, &readers[q]))
			die("pthread_create", errno);
	printf("{\"event\":\"ready\",\"pid\":%d,\"queues\":%d}\n", getpid(), opt.queues);
	fflush(stdout);

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1) {
			report("snapshot", t0);
			continue;
		}
		break;
	}
	atomic_store(&stopping, 1);
	/* Blocking readers sit in read(): closing does not wake them, so report and leave. */
	report("final", t0);
	_exit(0);
}
