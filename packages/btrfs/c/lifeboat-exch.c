/* lifeboat-exch: atomically exchange two paths (renameat2 RENAME_EXCHANGE).
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

#include "sync_parent.h"

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("lifeboat-exch 1");
    return 0;
  }
  if (argc != 3) {
    fputs("usage: lifeboat-exch PATH_A PATH_B\n", stderr);
    return 2;
  }
  if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
    int e = errno;
    fprintf(stderr, "lifeboat-exch: renameat2(%s, %s, RENAME_EXCHANGE): %s\n", argv[1], argv[2], strerror(e));
    return (e == ENOSYS || e == EINVAL) ? 3 : 1;
  }
  if (sync_parent(argv[1]) != 0 || sync_parent(argv[2]) != 0) {
    fprintf(stderr, "lifeboat-exch: swapped, but fsync of a parent directory failed: %s\n", strerror(errno));
    return 4;
  }
  return 0;
}
