/*
 * tests/fuzz/replay.c: runs a fuzz target over every file of the corpus
 * directories named on the command line, so the corpus is a regression suite
 * with any compiler.  Prints "N passed, 0 failed"; a crash fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned ok = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (d == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			char *path;

			if (e->d_name[0] == '.')
				continue;
			if (asprintf(&path, "%s/%s", argv[i], e->d_name) == -1)
				abort();
			if (run_file(path) == 0)
				ok++;
			free(path);
		}
		closedir(d);
	}
	if (ok == 0) {
		fputs("no corpus files\n", stderr);
		return 1;
	}
	printf("%u passed, 0 failed\n", ok);
	return 0;
}
