// SPDX-License-Identifier: GPL-2.0
/* What the VM tests of kernel/test share: fail with errno, write and read a small file. */
#ifndef TUNBENCH_TEST_UTIL_H
#define TUNBENCH_TEST_UTIL_H
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf(" (errno %d %s)\n", errno, strerror(errno));
	va_end(ap);
	exit(1);
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		fail("write %s to %s", val, path);
	close(fd);
}

static void read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		fail("open %s", path);
	n = read(fd, buf, size - 1);
	if (n < 0)
		fail("read %s", path);
	buf[n] = 0;
	close(fd);
}

#endif
