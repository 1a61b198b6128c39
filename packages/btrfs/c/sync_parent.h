/* sync_parent: fsync the directory holding path p (its parent; trailing slashes
 * ignored), so a rename inside it is durable. Part of @lifeboat/btrfs; shared by
 * lifeboat-exch and lifeboat-btrfs-agent (include after <fcntl.h>, <limits.h>,
 * <string.h> and <unistd.h>). Returns 0, or -1 with errno set.
 */
#ifndef LIFEBOAT_SYNC_PARENT_H
#define LIFEBOAT_SYNC_PARENT_H

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

static int sync_parent(const char *p) {
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

#endif
