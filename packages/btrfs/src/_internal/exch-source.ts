/**
 * C: fsync the directory holding path `p` (its parent; trailing slashes
 * ignored). Shared by `lifeboat-exch` and `lifeboat-btrfs-agent`.
 */
export const SYNC_PARENT_C = `static int sync_parent(const char *p) {
  char buf[PATH_MAX];
  size_t n = strlen(p);
  if (n >= sizeof buf) return -1;
  memcpy(buf, p, n + 1);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  const char *dir = ".";
  if (slash == buf) dir = "/";
  else if (slash) { *slash = 0; dir = buf; }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = fsync(fd);
  close(fd);
  return r;
}
`;

/** C source of `lifeboat-exch`: swap two names atomically with renameat2(RENAME_EXCHANGE), then fsync both parent directories. */
export const EXCH_SOURCE = `/* lifeboat-exch: atomically exchange two paths (renameat2 RENAME_EXCHANGE).
 * Part of @lifeboat/btrfs. Build: cc -O2 -static -o lifeboat-exch lifeboat-exch.c
 * Usage: lifeboat-exch PATH_A PATH_B     (both must exist, same filesystem)
 *        lifeboat-exch --version
 * Exit: 0 swapped and parents synced; 1 swap failed (nothing changed);
 *       2 usage; 3 not supported by kernel/filesystem; 4 swapped but fsync failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

${SYNC_PARENT_C}
int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("lifeboat-exch 1");
    return 0;
  }
  if (argc != 3) {
    fputs("usage: lifeboat-exch PATH_A PATH_B\\n", stderr);
    return 2;
  }
  if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
    int e = errno;
    fprintf(stderr, "lifeboat-exch: renameat2(%s, %s, RENAME_EXCHANGE): %s\\n", argv[1], argv[2], strerror(e));
    return (e == ENOSYS || e == EINVAL) ? 3 : 1;
  }
  if (sync_parent(argv[1]) != 0 || sync_parent(argv[2]) != 0) {
    fprintf(stderr, "lifeboat-exch: swapped, but fsync of a parent directory failed: %s\\n", strerror(errno));
    return 4;
  }
  return 0;
}
`;
