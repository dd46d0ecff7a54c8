/*
 * core/src/client/engine_passphrase.c - reading a passphrase from a file
 * or the terminal (engine.h), shared by `dmp` and dmpfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"

int dmp_passfile_read(const char *path, char **out)
{
	struct stat sb;
	char buf[1024];
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
	} else if ((sb.st_mode & 077) != 0) {
		rc = DMP_EACCES;
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		rc = -errno;
	} else {
		buf[n] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		*out = dmp_malloc(strlen(buf) + 1);
		if (*out) {
			memcpy(*out, buf, strlen(buf) + 1);
		} else {
			rc = DMP_ENOMEM;
		}
	}
	close(fd);
	dmp_wipe(buf, sizeof(buf));
	return rc;
}

int dmp_passphrase_prompt(const char *what, char **out)
{
	struct termios old, noecho;
	char buf[1024];
	FILE *tty = fopen("/dev/tty", "r+");
	int have_tty, rc = 0;

	*out = NULL;
	if (!tty) {
		return DMP_ENOENT;
	}
	fprintf(tty, "%s", what);
	fflush(tty);
	have_tty = tcgetattr(fileno(tty), &old) == 0;
	if (have_tty) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	if (!fgets(buf, sizeof(buf), tty)) {
		buf[0] = 0;
	}
	if (have_tty) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	}
	fprintf(tty, "\n");
	fclose(tty);
	buf[strcspn(buf, "\r\n")] = 0;
	*out = dmp_malloc(strlen(buf) + 1);
	if (*out) {
		memcpy(*out, buf, strlen(buf) + 1);
	} else {
		rc = DMP_ENOMEM;
	}
	dmp_wipe(buf, sizeof(buf));
	return rc;
}
