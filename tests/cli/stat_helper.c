/* A program for the `sgxemu stat` CLI tests, run under `sgxemu run`: it builds the test
 * enclave with a heap and a hole after it, lets the enclave grow by EAUG_PAGES pages into the
 * hole (EACCEPT of fresh pages, so EDMM adds them), optionally forks a child that does the
 * same with CHILD_EAUG pages, writes "PARENT CHILD" to READY_FILE, and then reads its heap
 * from inside the enclave over and over (which pages it when the EPC is smaller than the heap)
 * until READY_FILE is removed.
 *
 *   stat_helper READY_FILE HEAP_KIB EAUG_PAGES [CHILD_EAUG]
 *
 * The enclave and key come from ../encl/ beside this program (make integ builds them). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integ/encl/test_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

#define PG 4096ULL

static void die(const char *what)
{
	fprintf(stderr, "stat_helper[%d]: %s (errno %d)\n", (int)getpid(), what, errno);
	exit(1);
}

static void call(const struct encl *e, struct test_op *op)
{
	struct sgx_enclave_run run;

	op->done = 0;
	if (encl_enter(e, 0, op, &run) || run.function != ENCLU_EEXIT || !op->done)
		die("an ecall failed");
}

static void build(struct encl *e, uint64_t heap, unsigned grow)
{
	char path[PATH_MAX];
	EVP_PKEY *key;
	uint64_t end, size;
	struct test_op op;

	if (!encl_path_near_exe("../encl/test_key.pem", path, sizeof(path)) ||
	    !(key = sign_load_key(path)))
		die("no test key");
	if (!encl_path_near_exe("../encl/test_encl.elf", path, sizeof(path)) ||
	    encl_load(e, path, heap))
		die("cannot load the test enclave");
	end = e->seg[e->nseg - 1].offset + e->seg[e->nseg - 1].size;
	for (size = e->size; size < end + grow * PG + PG; size <<= 1)
		;
	e->size = size;
	if (encl_build(e, key))
		die(e->err);
	EVP_PKEY_free(key);
	if (mmap((void *)(uintptr_t)(e->base + end), size - end, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, e->fd, 0) == MAP_FAILED)
		die("cannot map the hole");
	/* EACCEPT of pages that are not there: each one is EAUGed on the fault. */
	memset(&op, 0, sizeof(op));
	op.op = TOP_EACCEPT_RANGE;
	op.addr = e->base + end;
	op.a = grow * PG;
	op.b = 0x20B; /* R | W | REG | PENDING: what EAUG leaves */
	if (grow) {
		call(e, &op);
		if (op.out)
			die("EACCEPT failed");
	}
}

int main(int argc, char **argv)
{
	struct encl e;
	uint64_t heap;
	unsigned grow, child_grow = 0;
	pid_t child = 0;
	int pipefd[2];
	FILE *f;
	time_t t0 = time(NULL);

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s READY_FILE HEAP_KIB EAUG_PAGES [CHILD_EAUG]\n", argv[0]);
		return 2;
	}
	heap = strtoull(argv[2], NULL, 0) * 1024;
	grow = (unsigned)strtoul(argv[3], NULL, 0);
	if (argc == 5) {
		child_grow = (unsigned)strtoul(argv[4], NULL, 0);
		if (pipe(pipefd))
			die("pipe");
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			memset(&e, 0, sizeof(e));
			build(&e, heap, child_grow);
			bool seen = false;

			if (write(pipefd[1], "r", 1) != 1)
				die("write");
			/* The parent writes READY_FILE once both are ready; its removal ends both. */
			for (;;) {
				struct test_op op = { .op = TOP_CHECKSUM, .addr = e.base + e.heap_offset,
						      .a = e.heap_size };
				bool there = !access(argv[1], F_OK);

				if (getppid() == 1 || (seen && !there) || time(NULL) - t0 > 120)
					break;
				seen |= there;
				if (e.heap_size)
					call(&e, &op);
				usleep(20000);
			}
			encl_free(&e);
			return 0;
		}
	}
	memset(&e, 0, sizeof(e));
	build(&e, heap, grow);
	if (child) {
		char c;

		if (read(pipefd[0], &c, 1) != 1)
			die("the child did not get ready");
	}
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d %d\n", (int)getpid(), (int)child) < 0 || fclose(f))
		die("cannot write the ready file");
	while (!access(argv[1], F_OK) && time(NULL) - t0 <= 120) {
		struct test_op op = { .op = TOP_CHECKSUM, .addr = e.base + e.heap_offset,
				      .a = e.heap_size };

		if (e.heap_size)
			call(&e, &op);
		usleep(20000);
	}
	encl_free(&e);
	if (child)
		waitpid(child, NULL, 0);
	return 0;
}
