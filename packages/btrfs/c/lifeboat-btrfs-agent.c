/* lifeboat-btrfs-agent: Btrfs ioctls behind a line protocol. Part of @lifeboat/btrfs.
 * Build: cc -O2 -static -o lifeboat-btrfs-agent lifeboat-btrfs-agent.c
 * Usage: lifeboat-btrfs-agent            (requests on stdin until end of input)
 *        lifeboat-btrfs-agent --version
 * A request is one line: a verb and its arguments separated by single spaces, every
 * argument hex-encoded (so any path is one token). An answer is one line:
 *   ok [key=value ...]      strings hex-encoded, UUIDs canonical ("-" when unset)
 *   err ERRNO HEX-MESSAGE
 * Verbs:
 *   info PATH                 the subvolume whose root PATH is (GET_SUBVOL_INFO)
 *   list PATH                 every subvolume of the filesystem at PATH (TREE_SEARCH, root)
 *   default PATH              the default subvolume id
 *   devices PATH              fsid and each device (FS_INFO, DEV_INFO)
 *   snapshot SRC DIR NAME RO  snapshot SRC to DIR/NAME (RO "1": read-only); commits
 *   exchange A B              renameat2(RENAME_EXCHANGE), then fsync both parents
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>

#include "sync_parent.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define MAX_ARGS 8

static void put_hex(const unsigned char *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) { putchar(d[p[i] >> 4]); putchar(d[p[i] & 15]); }
}

static void put_uuid(const char *key, const unsigned char *u) {
  int zero = 1;
  for (int i = 0; i < 16; i++) if (u[i]) zero = 0;
  printf(" %s=", key);
  if (zero) { putchar('-'); return; }
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) putchar('-');
    printf("%02x", u[i]);
  }
}

static int fail(int e, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  printf("err %d ", e);
  put_hex((const unsigned char *)msg, strlen(msg));
  putchar('\n');
  return -1;
}

static int unhex(char *s) {
  size_t n = strlen(s);
  if (n % 2) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
      char c = s[2 * i + k];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else return -1;
    }
    if (v == 0) return -1; /* no NUL inside a path */
    s[i] = (char)v;
  }
  s[n / 2] = 0;
  return 0;
}

static int open_dir(const char *p) { return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

static int do_info(char *path) {
  int fd = open_dir(path);
  if (fd < 0) return fail(errno, "open");
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return fail(e, "stat"); }
  if (st.st_ino != BTRFS_FIRST_FREE_OBJECTID) { close(fd); return fail(EINVAL, "not a subvolume root"); }
  struct btrfs_ioctl_get_subvol_info_args a;
  memset(&a, 0, sizeof a);
  if (ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, &a) < 0) { int e = errno; close(fd); return fail(e, "BTRFS_IOC_GET_SUBVOL_INFO"); }
  close(fd);
  printf("ok id=%llu parent=%llu gen=%llu cgen=%llu ro=%d", (unsigned long long)a.treeid,
         (unsigned long long)a.parent_id, (unsigned long long)a.generation,
         (unsigned long long)a.otransid, (a.flags & BTRFS_ROOT_SUBVOL_RDONLY) ? 1 : 0);
  put_uuid("uuid", a.uuid);
  put_uuid("puuid", a.parent_uuid);
  put_uuid("ruuid", a.received_uuid);
  putchar('\n');
  return 0;
}

/* Walk the items of tree 1 (the root tree) from (min_obj, min_type, 0) to (max_obj, max_type, -1). */
typedef int (*item_fn)(const struct btrfs_ioctl_search_header *h, const char *item, void *ctx);

static int search_root_tree(int fd, uint64_t min_obj, uint64_t max_obj, uint32_t min_type,
                            uint32_t max_type, item_fn fn, void *ctx) {
  struct btrfs_ioctl_search_args args;
  memset(&args, 0, sizeof args);
  struct btrfs_ioctl_search_key *k = &args.key;
  k->tree_id = BTRFS_ROOT_TREE_OBJECTID;
  k->min_objectid = min_obj; k->max_objectid = max_obj;
  k->min_type = min_type; k->max_type = max_type;
  k->min_offset = 0; k->max_offset = (uint64_t)-1;
  k->min_transid = 0; k->max_transid = (uint64_t)-1;
  for (;;) {
    k->nr_items = 4096;
    if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0) return -errno;
    if (k->nr_items == 0) return 0;
    size_t off = 0;
    struct btrfs_ioctl_search_header h;
    for (uint32_t i = 0; i < k->nr_items; i++) {
      memcpy(&h, args.buf + off, sizeof h);
      off += sizeof h;
      if (off + h.len > sizeof args.buf) return -EOVERFLOW;
      int r = fn(&h, args.buf + off, ctx);
      if (r != 0) return r;
      off += h.len;
    }
    /* the next key after the last one returned */
    k->min_objectid = h.objectid; k->min_type = h.type; k->min_offset = h.offset;
    if (k->min_offset < (uint64_t)-1) k->min_offset++;
    else if (k->min_type < 255) { k->min_offset = 0; k->min_type++; }
    else if (k->min_objectid < k->max_objectid) { k->min_offset = 0; k->min_type = 0; k->min_objectid++; }
    else return 0;
    if (k->min_objectid > k->max_objectid) return 0;
  }
}

struct sub {
  uint64_t id, parent, dirid, gen, cgen, flags;
  unsigned char uuid[16], puuid[16], ruuid[16];
  int has_item, has_ref;
  char name[BTRFS_VOL_NAME_MAX + 1];
  char dir[BTRFS_INO_LOOKUP_PATH_MAX];
};

struct list_ctx { struct sub *subs; size_t n, cap; };

static struct sub *sub_of(struct list_ctx *c, uint64_t id) {
  for (size_t i = c->n; i > 0; i--) if (c->subs[i - 1].id == id) return &c->subs[i - 1];
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct sub *s = realloc(c->subs, cap * sizeof *s);
    if (!s) return NULL;
    c->subs = s; c->cap = cap;
  }
  struct sub *s = &c->subs[c->n++];
  memset(s, 0, sizeof *s);
  s->id = id;
  return s;
}

static int list_item(const struct btrfs_ioctl_search_header *h, const char *item, void *vctx) {
  struct list_ctx *c = vctx;
  if (h->type == BTRFS_ROOT_ITEM_KEY) {
    struct btrfs_root_item ri;
    memset(&ri, 0, sizeof ri);
    memcpy(&ri, item, h->len < sizeof ri ? h->len : sizeof ri);
    struct sub *s = sub_of(c, h->objectid);
    if (!s) return -ENOMEM;
    s->has_item = 1;
    s->gen = le64toh(ri.generation);
    s->flags = le64toh(ri.flags);
    /* UUIDs and otransid are valid only in a root item written by a kernel that knows them */
    if (h->len >= offsetof(struct btrfs_root_item, otransid) + 8 &&
        le64toh(ri.generation_v2) == le64toh(ri.generation)) {
      memcpy(s->uuid, ri.uuid, 16);
      memcpy(s->puuid, ri.parent_uuid, 16);
      memcpy(s->ruuid, ri.received_uuid, 16);
      s->cgen = le64toh(ri.otransid);
    }
  } else if (h->type == BTRFS_ROOT_BACKREF_KEY) {
    struct btrfs_root_ref ref;
    if (h->len < sizeof ref) return -EUCLEAN;
    memcpy(&ref, item, sizeof ref);
    uint16_t len = le16toh(ref.name_len);
    if (len > BTRFS_VOL_NAME_MAX || sizeof ref + len > h->len) return -EUCLEAN;
    struct sub *s = sub_of(c, h->objectid);
    if (!s) return -ENOMEM;
    s->has_ref = 1;
    s->parent = h->offset;
    s->dirid = le64toh(ref.dirid);
    memcpy(s->name, item + sizeof ref, len);
    s->name[len] = 0;
  }
  return 0;
}

static int do_list(char *path) {
  int fd = open_dir(path);
  if (fd < 0) return fail(errno, "open");
  struct list_ctx c = { NULL, 0, 0 };
  int r = search_root_tree(fd, BTRFS_FIRST_FREE_OBJECTID, BTRFS_LAST_FREE_OBJECTID,
                           BTRFS_ROOT_ITEM_KEY, BTRFS_ROOT_BACKREF_KEY, list_item, &c);
  if (r != 0) { free(c.subs); close(fd); return fail(-r, "BTRFS_IOC_TREE_SEARCH"); }
  /* every lookup first, so a failure answers with one err line */
  size_t shown = 0;
  for (size_t i = 0; i < c.n; i++) {
    struct sub *s = &c.subs[i];
    /* a deleted subvolume not yet cleaned has a root item and no back reference */
    if (!s->has_item || !s->has_ref) continue;
    struct btrfs_ioctl_ino_lookup_args look;
    memset(&look, 0, sizeof look);
    look.treeid = s->parent;
    look.objectid = s->dirid;
    if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, &look) < 0) {
      int e = errno;
      free(c.subs); close(fd);
      return fail(e, "BTRFS_IOC_INO_LOOKUP");
    }
    look.name[sizeof look.name - 1] = 0;
    strcpy(s->dir, look.name);
    shown++;
  }
  printf("ok n=%zu", shown);
  for (size_t i = 0; i < c.n; i++) {
    struct sub *s = &c.subs[i];
    if (!s->has_item || !s->has_ref) continue;
    printf(" sub=%llu,%llu,%llu,%llu,%llu,", (unsigned long long)s->id,
           (unsigned long long)s->parent, (unsigned long long)s->gen,
           (unsigned long long)s->cgen, (unsigned long long)((s->flags & BTRFS_ROOT_SUBVOL_RDONLY) ? 1 : 0));
    put_hex((const unsigned char *)s->dir, strlen(s->dir));
    putchar(',');
    put_hex((const unsigned char *)s->name, strlen(s->name));
    put_uuid("u", s->uuid);
    put_uuid("p", s->puuid);
    put_uuid("r", s->ruuid);
  }
  putchar('\n');
  free(c.subs);
  close(fd);
  return 0;
}

static int default_item(const struct btrfs_ioctl_search_header *h, const char *item, void *vctx) {
  uint64_t *id = vctx;
  if (h->type != BTRFS_DIR_ITEM_KEY) return 0;
  size_t off = 0;
  while (off + sizeof(struct btrfs_dir_item) <= h->len) {
    struct btrfs_dir_item di;
    memcpy(&di, item + off, sizeof di);
    uint16_t nl = le16toh(di.name_len), dl = le16toh(di.data_len);
    if (off + sizeof di + nl + dl > h->len) return -EUCLEAN;
    if (nl == 7 && memcmp(item + off + sizeof di, "default", 7) == 0) {
      *id = le64toh(di.location.objectid);
      return 1;
    }
    off += sizeof di + nl + dl;
  }
  return 0;
}

static int do_default(char *path) {
  int fd = open_dir(path);
  if (fd < 0) return fail(errno, "open");
  uint64_t id = 0;
  int r = search_root_tree(fd, BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_ROOT_TREE_DIR_OBJECTID,
                           BTRFS_DIR_ITEM_KEY, BTRFS_DIR_ITEM_KEY, default_item, &id);
  close(fd);
  if (r < 0) return fail(-r, "BTRFS_IOC_TREE_SEARCH");
  if (id == 0) return fail(ENOENT, "no default subvolume entry");
  printf("ok id=%llu\n", (unsigned long long)id);
  return 0;
}

static int do_devices(char *path) {
  int fd = open_dir(path);
  if (fd < 0) return fail(errno, "open");
  struct btrfs_ioctl_fs_info_args fi;
  memset(&fi, 0, sizeof fi);
  if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0) { int e = errno; close(fd); return fail(e, "BTRFS_IOC_FS_INFO"); }
  if (fi.max_id > 4096) { close(fd); return fail(EOVERFLOW, "too many devices"); }
  struct btrfs_ioctl_dev_info_args *devs = calloc(fi.max_id + 1, sizeof *devs);
  if (!devs) { close(fd); return fail(ENOMEM, "devices"); }
  size_t nd = 0;
  for (uint64_t id = 1; id <= fi.max_id; id++) {
    struct btrfs_ioctl_dev_info_args *di = &devs[nd];
    di->devid = id;
    if (ioctl(fd, BTRFS_IOC_DEV_INFO, di) < 0) {
      if (errno == ENODEV) { memset(di, 0, sizeof *di); continue; }
      int e = errno;
      free(devs); close(fd);
      return fail(e, "BTRFS_IOC_DEV_INFO");
    }
    nd++;
  }
  printf("ok n=%zu", nd);
  put_uuid("fsid", fi.fsid);
  for (size_t i = 0; i < nd; i++) {
    printf(" dev=%llu,%llu,%llu,", (unsigned long long)devs[i].devid,
           (unsigned long long)devs[i].total_bytes, (unsigned long long)devs[i].bytes_used);
    put_hex(devs[i].path, strnlen((const char *)devs[i].path, sizeof devs[i].path));
  }
  free(devs);
  putchar('\n');
  close(fd);
  return 0;
}

static int do_snapshot(char *src, char *dir, char *name, char *ro) {
  if (strlen(name) > BTRFS_SUBVOL_NAME_MAX || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
    return fail(EINVAL, "bad snapshot name");
  int sfd = open_dir(src);
  if (sfd < 0) return fail(errno, "open source");
  int dfd = open_dir(dir);
  if (dfd < 0) { int e = errno; close(sfd); return fail(e, "open destination directory"); }
  struct btrfs_ioctl_vol_args_v2 a;
  memset(&a, 0, sizeof a);
  a.fd = sfd;
  if (!strcmp(ro, "1")) a.flags |= BTRFS_SUBVOL_RDONLY;
  strcpy(a.name, name);
  int r = ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, &a);
  int e = errno;
  close(sfd); close(dfd);
  if (r < 0) return fail(e, "BTRFS_IOC_SNAP_CREATE_V2");
  printf("ok\n");
  return 0;
}

static int do_exchange(char *a, char *b) {
  if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0)
    return fail(errno, "renameat2(RENAME_EXCHANGE)");
  if (sync_parent(a) != 0 || sync_parent(b) != 0)
    return fail(errno, "swapped, but fsync of a parent directory failed");
  printf("ok\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) { puts("lifeboat-btrfs-agent 1"); return 0; }
  if (argc != 1) { fputs("usage: lifeboat-btrfs-agent  (requests on standard input)\n", stderr); return 2; }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    char *argv2[MAX_ARGS + 1] = { NULL };
    int c = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
      if (c == MAX_ARGS + 1) { c = -1; break; }
      argv2[c++] = t;
    }
    int bad = c <= 0;
    for (int i = 1; !bad && i < c; i++) if (unhex(argv2[i]) != 0) bad = 1;
    const char *v = bad ? "" : argv2[0];
    if (bad) fail(EINVAL, "malformed request");
    else if (!strcmp(v, "info") && c == 2) do_info(argv2[1]);
    else if (!strcmp(v, "list") && c == 2) do_list(argv2[1]);
    else if (!strcmp(v, "default") && c == 2) do_default(argv2[1]);
    else if (!strcmp(v, "devices") && c == 2) do_devices(argv2[1]);
    else if (!strcmp(v, "snapshot") && c == 5) do_snapshot(argv2[1], argv2[2], argv2[3], argv2[4]);
    else if (!strcmp(v, "exchange") && c == 3) do_exchange(argv2[1], argv2[2]);
    else fail(EINVAL, "unknown request");
    fflush(stdout);
  }
  free(line);
  return 0;
}
