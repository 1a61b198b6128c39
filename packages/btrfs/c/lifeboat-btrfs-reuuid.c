/* lifeboat-btrfs-reuuid: give an UNMOUNTED single-device Btrfs a new device
 * UUID (blkid UUID_SUB) and new subvolume UUIDs, in place.
 * Part of @lifeboat/btrfs. Build: cc -O2 -static -o lifeboat-btrfs-reuuid lifeboat-btrfs-reuuid.c
 *
 * Usage: lifeboat-btrfs-reuuid [--dry-run] DEVICE
 *        lifeboat-btrfs-reuuid --version
 *
 * It edits fixed-size fields only (never a key, never the shape of a tree):
 *  - the device UUID in the superblock's dev_item, in every sys_chunk_array
 *    stripe, in the chunk tree's DEV_ITEM and in every CHUNK_ITEM stripe;
 *  - the uuid of every subvolume ROOT_ITEM (id 5 and 256..2^64-256) that has
 *    one; parent_uuid through the same map (a parent that is not on this
 *    filesystem any more gets a new random value, one per old value);
 *    received_uuid through the same map when it names a subvolume of this
 *    filesystem, else kept (it names the sender's subvolume);
 *  - the superblock's uuid_tree_generation is set to 0, so the kernel checks
 *    the UUID tree on the next read-write mount (drops stale entries, adds
 *    the new ones).
 * Tree blocks are written (every DUP copy) and synced before the superblocks
 * (every mirror that fits), which are synced last.
 *
 * Output (stdout), one line each:
 *   device DEVID OLD NEW
 *   subvolume ID OLD NEW
 *   parent ID OLD NEW
 *   received ID OLD NEW
 * Exit: 0 done (or dry run); 1 I/O error before any write (nothing changed);
 *       2 usage; 3 mounted or in use; 4 not a Btrfs or bad superblock;
 *       5 unsupported (checksum type, several devices, seed, flags, log tree,
 *       RAID profile, zoned, extent-tree-v2); 6 metadata inconsistent (bad tree
 *       block, device UUIDs that do not agree: nothing changed; a run cut by a
 *       crash shows as this); 7 a write failed after writing began: the
 *       filesystem may be torn, deploy the image again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#define EX_IO 1
#define EX_USAGE 2
#define EX_BUSY 3
#define EX_NOTBTRFS 4
#define EX_UNSUPPORTED 5
#define EX_INCONSISTENT 6
#define EX_TORN 7

#define SB_OFFSET 65536ULL
#define SB_SIZE 4096
#define HDR_SIZE 0x65
#define ITEM_SIZE 25
#define KEYPTR_SIZE 33
#define ROOT_ITEM_SIZE 439
#define DEV_ITEM_KEY 216
#define CHUNK_ITEM_KEY 228
#define ROOT_ITEM_KEY 132
#define LAST_FREE_OBJECTID 0xffffffffffffff00ULL
#define FS_TREE_OBJECTID 5ULL
#define FIRST_FREE_OBJECTID 256ULL

/* superblock field offsets */
#define SB_FSID 0x20
#define SB_BYTENR 0x30
#define SB_FLAGS 0x38
#define SB_MAGIC 0x40
#define SB_ROOT 0x50
#define SB_CHUNK_ROOT 0x58
#define SB_LOG_ROOT 0x60
#define SB_TOTAL_BYTES 0x70
#define SB_NUM_DEVICES 0x88
#define SB_SECTORSIZE 0x90
#define SB_NODESIZE 0x94
#define SB_SYS_ARRAY_SIZE 0xa0
#define SB_INCOMPAT 0xbc
#define SB_CSUM_TYPE 0xc4
#define SB_ROOT_LEVEL 0xc6
#define SB_CHUNK_ROOT_LEVEL 0xc7
#define SB_DEV_ITEM 0xc9
#define SB_UUID_TREE_GEN 0x233
#define SB_METADATA_UUID 0x23b
#define SB_SYS_ARRAY 0x32b
#define SYS_ARRAY_MAX 2048
/* dev_item */
#define DI_DEVID 0
#define DI_TOTAL_BYTES 8
#define DI_UUID 66
/* root_item */
#define RI_GENERATION 160
#define RI_GENERATION_V2 239
#define RI_UUID 247
#define RI_PARENT_UUID 263
#define RI_RECEIVED_UUID 279
/* chunk */
#define CH_LENGTH 0
#define CH_TYPE 24
#define CH_NUM_STRIPES 44
#define CH_STRIPES 48
#define STRIPE_SIZE 32

#define INCOMPAT_METADATA_UUID (1ULL << 10)
#define INCOMPAT_ZONED (1ULL << 12)
#define INCOMPAT_EXTENT_TREE_V2 (1ULL << 13)
#define INCOMPAT_RAID_STRIPE_TREE (1ULL << 14)
#define PROFILE_MASK ((1ULL << 3) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | (1ULL << 9) | (1ULL << 10))
#define PROFILE_DUP (1ULL << 5)
#define SUPER_FLAGS_OK ((1ULL << 0) | (1ULL << 1))

static int fd = -1;
static int dry_run;
static int writing;
static unsigned char sb[SB_SIZE];
static uint32_t nodesize;
static unsigned char meta_fsid[16];
static uint64_t devid;
static unsigned char old_dev_uuid[16], new_dev_uuid[16];

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#include <stdarg.h>
static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("lifeboat-btrfs-reuuid: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(writing ? EX_TORN : code);
}

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }

static uint32_t crc_table[256];
static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
}
static uint32_t crc32c(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
/* Checksum of a superblock or tree block: crc32c of everything after the 32-byte csum field,
 * in its first 4 bytes (like the kernel, the other 28 are not looked at). */
static int csum_ok(const unsigned char *b, size_t n) { return le32(b) == crc32c(b + 32, n - 32); }
static void csum_set(unsigned char *b, size_t n) { memset(b, 0, 32); put32(b, crc32c(b + 32, n - 32)); }

static int is_zero(const unsigned char *u) { for (int i = 0; i < 16; i++) if (u[i]) return 0; return 1; }
static void new_uuid(unsigned char *u) {
  size_t got = 0;
  while (got < 16) {
    ssize_t r = getrandom(u + got, 16 - got, 0);
    if (r < 0 && errno != EINTR) die(EX_IO, "getrandom: %s", strerror(errno));
    if (r > 0) got += (size_t)r;
  }
  u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
  u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
}
static const char *fmt_uuid(const unsigned char *u, char *s) {
  sprintf(s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return s;
}

static void read_at(unsigned char *buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(EX_IO, "read of %zu bytes at %llu: %s", n, (unsigned long long)off, r == 0 ? "end of device" : strerror(errno));
    done += (size_t)r;
  }
}
static void write_at(const unsigned char *buf, size_t n, uint64_t off) {
  if (dry_run) return;
  writing = 1;
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(EX_TORN, "write at %llu: %s", (unsigned long long)off, r == 0 ? "no progress" : strerror(errno));
    done += (size_t)r;
  }
}
static void sync_all(void) {
  if (!dry_run && fsync(fd) != 0) die(EX_TORN, "fsync: %s", strerror(errno));
}

/* ---- logical -> physical map (single and DUP chunks on our one device) ---- */
struct chunk { uint64_t start, length; int nstripes; uint64_t phys[2]; };
static struct chunk *chunks;
static size_t nchunks, capchunks;

static void add_chunk(uint64_t logical, const unsigned char *c, size_t avail, const char *where) {
  if (avail < CH_STRIPES) die(EX_INCONSISTENT, "%s: chunk item too short", where);
  int ns = le16(c + CH_NUM_STRIPES);
  if (ns < 1 || avail < CH_STRIPES + (size_t)ns * STRIPE_SIZE) die(EX_INCONSISTENT, "%s: chunk at %llu has a bad stripe count", where, (unsigned long long)logical);
  uint64_t type = le64(c + CH_TYPE);
  uint64_t profile = type & PROFILE_MASK;
  if (profile != 0 && profile != PROFILE_DUP) die(EX_UNSUPPORTED, "chunk at %llu has a RAID profile (type 0x%llx): only single and DUP are supported", (unsigned long long)logical, (unsigned long long)type);
  if ((profile == PROFILE_DUP) != (ns == 2) || ns > 2) die(EX_INCONSISTENT, "%s: chunk at %llu: %d stripes for type 0x%llx", where, (unsigned long long)logical, ns, (unsigned long long)type);
  for (size_t i = 0; i < nchunks; i++)
    if (chunks[i].start == logical) return;
  if (nchunks == capchunks) {
    capchunks = capchunks ? capchunks * 2 : 64;
    chunks = realloc(chunks, capchunks * sizeof *chunks);
    if (!chunks) die(EX_IO, "out of memory");
  }
  struct chunk *k = &chunks[nchunks++];
  k->start = logical;
  k->length = le64(c + CH_LENGTH);
  k->nstripes = ns;
  for (int i = 0; i < ns; i++) {
    const unsigned char *s = c + CH_STRIPES + (size_t)i * STRIPE_SIZE;
    if (le64(s) != devid) die(EX_UNSUPPORTED, "chunk at %llu has a stripe on devid %llu, not on this device (%llu)", (unsigned long long)logical, (unsigned long long)le64(s), (unsigned long long)devid);
    k->phys[i] = le64(s + 8);
  }
}

/* Give the stripes of a chunk item the new device UUID; 1 when something changed. */
static int patch_chunk_stripes(unsigned char *c, const char *where) {
  int ns = le16(c + CH_NUM_STRIPES), changed = 0;
  for (int i = 0; i < ns; i++) {
    unsigned char *s = c + CH_STRIPES + (size_t)i * STRIPE_SIZE;
    if (le64(s) != devid) continue;
    if (memcmp(s + 16, old_dev_uuid, 16) != 0) die(EX_INCONSISTENT, "%s: a stripe names another device UUID than the superblock (a run cut short?)", where);
    memcpy(s + 16, new_dev_uuid, 16);
    changed = 1;
  }
  return changed;
}

static const struct chunk *map(uint64_t logical) {
  for (size_t i = 0; i < nchunks; i++)
    if (logical >= chunks[i].start && logical - chunks[i].start < chunks[i].length) {
      if (logical - chunks[i].start + nodesize > chunks[i].length) break;
      return &chunks[i];
    }
  die(EX_INCONSISTENT, "no chunk maps logical address %llu", (unsigned long long)logical);
}

/* ---- tree blocks ---- */
struct block { uint64_t logical; unsigned char *buf; int dirty; };
static struct block *blocks;
static size_t nblocks, capblocks;

static struct block *read_block(uint64_t logical, int level, uint64_t owner) {
  const struct chunk *k = map(logical);
  unsigned char *buf = malloc(nodesize);
  if (!buf) die(EX_IO, "out of memory");
  int good = 0;
  for (int i = 0; i < k->nstripes && !good; i++) {
    read_at(buf, nodesize, k->phys[i] + (logical - k->start));
    good = csum_ok(buf, nodesize) && le64(buf + 0x30) == logical && !memcmp(buf + 0x20, meta_fsid, 16);
  }
  if (!good) die(EX_INCONSISTENT, "tree block %llu: bad checksum, address or fsid in every copy", (unsigned long long)logical);
  if (buf[0x64] != level || le64(buf + 0x58) != owner) die(EX_INCONSISTENT, "tree block %llu: level %d owner %llu, expected level %d owner %llu", (unsigned long long)logical, buf[0x64], (unsigned long long)le64(buf + 0x58), level, (unsigned long long)owner);
  uint32_t n = le32(buf + 0x60);
  if ((uint64_t)HDR_SIZE + (uint64_t)n * (level ? KEYPTR_SIZE : ITEM_SIZE) > nodesize) die(EX_INCONSISTENT, "tree block %llu: %u items do not fit", (unsigned long long)logical, n);
  if (nblocks == capblocks) {
    capblocks = capblocks ? capblocks * 2 : 64;
    blocks = realloc(blocks, capblocks * sizeof *blocks);
    if (!blocks) die(EX_IO, "out of memory");
  }
  blocks[nblocks] = (struct block){ logical, buf, 0 };
  return &blocks[nblocks++];
}

/* Leaf item i: key fields and a pointer to its data (checked to lie inside the block). */
static unsigned char *leaf_item(unsigned char *b, uint32_t i, uint64_t *objectid, uint8_t *type, uint64_t *offset, uint32_t *size, uint64_t logical) {
  unsigned char *it = b + HDR_SIZE + (size_t)i * ITEM_SIZE;
  *objectid = le64(it);
  *type = it[8];
  *offset = le64(it + 9);
  uint32_t off = le32(it + 17);
  *size = le32(it + 21);
  if ((uint64_t)HDR_SIZE + off + *size > nodesize) die(EX_INCONSISTENT, "tree block %llu: item %u lies outside the block", (unsigned long long)logical, i);
  return b + HDR_SIZE + off;
}

/* Read a whole tree (depth first), keeping every block in `blocks`. */
static void read_tree(uint64_t logical, int level, uint64_t owner, int depth) {
  if (depth > 8) die(EX_INCONSISTENT, "tree deeper than 8 levels");
  size_t idx = read_block(logical, level, owner) - blocks;
  if (level == 0) return;
  uint32_t n = le32(blocks[idx].buf + 0x60);
  for (uint32_t i = 0; i < n; i++) {
    const unsigned char *kp = blocks[idx].buf + HDR_SIZE + (size_t)i * KEYPTR_SIZE;
    read_tree(le64(kp + 17), level - 1, owner, depth + 1);
  }
}

/* ---- subvolume uuid map ---- */
struct pair { unsigned char from[16], to[16]; };
static struct pair *subvols, *dangling;
static size_t nsub, capsub, ndang, capdang;

static const unsigned char *lookup(struct pair *m, size_t n, const unsigned char *u) {
  for (size_t i = 0; i < n; i++)
    if (!memcmp(m[i].from, u, 16)) return m[i].to;
  return NULL;
}
static const unsigned char *add_pair(struct pair **m, size_t *n, size_t *cap, const unsigned char *from) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *m = realloc(*m, *cap * sizeof **m);
    if (!*m) die(EX_IO, "out of memory");
  }
  memcpy((*m)[*n].from, from, 16);
  new_uuid((*m)[*n].to);
  return (*m)[(*n)++].to;
}

static int is_subvolume_root_item(uint64_t objectid, uint8_t type, uint32_t size, const unsigned char *d) {
  if (type != ROOT_ITEM_KEY) return 0;
  if (objectid != FS_TREE_OBJECTID && (objectid < FIRST_FREE_OBJECTID || objectid > LAST_FREE_OBJECTID)) return 0;
  /* The kernel ignores the uuid fields of a short (legacy) item or one whose generation_v2 lags. */
  return size >= ROOT_ITEM_SIZE && le64(d + RI_GENERATION) == le64(d + RI_GENERATION_V2);
}

static int is_mounted(const struct stat *st, const char *path) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) return 0;
  char line[8192];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    char fstype[256], source[4096];
    if (sscanf(sep + 3, "%255s %4095s", fstype, source) != 2) continue;
    struct stat s2;
    if (S_ISBLK(st->st_mode)) {
      if (stat(source, &s2) == 0 && S_ISBLK(s2.st_mode) && s2.st_rdev == st->st_rdev) found = 1;
    } else if (strcmp(source, path) == 0) found = 1;
  }
  fclose(f);
  return found;
}

/* A regular file attached to a loop device must be edited through that device (or detached). */
static const char *loop_backing(const char *real) {
  static char name[300];
  DIR *d = opendir("/sys/block");
  if (!d) return NULL;
  struct dirent *e;
  const char *hit = NULL;
  while (!hit && (e = readdir(d))) {
    if (strncmp(e->d_name, "loop", 4) != 0) continue;
    char p[600], back[PATH_MAX];
    snprintf(p, sizeof p, "/sys/block/%s/loop/backing_file", e->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    if (fgets(back, sizeof back, f)) {
      back[strcspn(back, "\n")] = 0;
      if (strcmp(back, real) == 0) { snprintf(name, sizeof name, "/dev/%s", e->d_name); hit = name; }
    }
    fclose(f);
  }
  closedir(d);
  return hit;
}

int main(int argc, char **argv) {
  const char *dev = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--version")) { puts("lifeboat-btrfs-reuuid 1"); return 0; }
    else if (!strcmp(argv[i], "--dry-run")) dry_run = 1;
    else if (argv[i][0] == '-' || dev) { fputs("usage: lifeboat-btrfs-reuuid [--dry-run] DEVICE\n", stderr); return EX_USAGE; }
    else dev = argv[i];
  }
  if (!dev) { fputs("usage: lifeboat-btrfs-reuuid [--dry-run] DEVICE\n", stderr); return EX_USAGE; }
  crc_init();

  struct stat st;
  if (stat(dev, &st) != 0) die(EX_IO, "%s: %s", dev, strerror(errno));
  if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) die(EX_USAGE, "%s is neither a block device nor a file", dev);
  char real[PATH_MAX];
  if (!realpath(dev, real)) die(EX_IO, "%s: %s", dev, strerror(errno));
  if (is_mounted(&st, real)) die(EX_BUSY, "%s is mounted", dev);
  if (S_ISREG(st.st_mode)) {
    const char *loop = loop_backing(real);
    if (loop) die(EX_BUSY, "%s is attached to %s: run on that device or detach it", dev, loop);
  }
  /* O_EXCL on a block device fails with EBUSY while a filesystem holds it, and keeps a mount out while we work. */
  fd = open(dev, (dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
  if (fd < 0) die(errno == EBUSY ? EX_BUSY : EX_IO, "open %s: %s", dev, strerror(errno));
  uint64_t devsize = (uint64_t)st.st_size;
  if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &devsize) != 0) die(EX_IO, "BLKGETSIZE64: %s", strerror(errno));

  /* a) the primary superblock */
  if (devsize < SB_OFFSET + SB_SIZE) die(EX_NOTBTRFS, "%s is too small for a Btrfs", dev);
  read_at(sb, SB_SIZE, SB_OFFSET);
  if (memcmp(sb + SB_MAGIC, "_BHRfS_M", 8) != 0) die(EX_NOTBTRFS, "%s: no Btrfs superblock (bad magic)", dev);
  if (le16(sb + SB_CSUM_TYPE) != 0) die(EX_UNSUPPORTED, "checksum type %u: only crc32c (0) is supported", le16(sb + SB_CSUM_TYPE));
  if (!csum_ok(sb, SB_SIZE)) die(EX_NOTBTRFS, "%s: superblock checksum mismatch", dev);
  if (le64(sb + SB_BYTENR) != SB_OFFSET) die(EX_NOTBTRFS, "%s: superblock bytenr is not 65536", dev);
  uint64_t flags = le64(sb + SB_FLAGS), incompat = le64(sb + SB_INCOMPAT);
  if (flags & ~SUPER_FLAGS_OK) die(EX_UNSUPPORTED, "superblock flags 0x%llx (seed, metadump, a pending fsid or checksum change, or an error): refused", (unsigned long long)flags);
  if (le64(sb + SB_NUM_DEVICES) != 1) die(EX_UNSUPPORTED, "the filesystem has %llu devices: only single-device filesystems are supported", (unsigned long long)le64(sb + SB_NUM_DEVICES));
  if (incompat & (INCOMPAT_ZONED | INCOMPAT_EXTENT_TREE_V2 | INCOMPAT_RAID_STRIPE_TREE)) die(EX_UNSUPPORTED, "incompat flags 0x%llx (zoned, extent-tree-v2 or raid-stripe-tree): refused", (unsigned long long)incompat);
  if (le64(sb + SB_LOG_ROOT) != 0) die(EX_UNSUPPORTED, "the filesystem has a log tree to replay: mount it once and unmount it cleanly first");
  nodesize = le32(sb + SB_NODESIZE);
  if (nodesize < 4096 || nodesize > 65536 || (nodesize & (nodesize - 1))) die(EX_NOTBTRFS, "bad nodesize %u", nodesize);
  uint32_t sysn = le32(sb + SB_SYS_ARRAY_SIZE);
  if (sysn > SYS_ARRAY_MAX) die(EX_NOTBTRFS, "bad sys_chunk_array_size %u", sysn);
  memcpy(meta_fsid, sb + ((incompat & INCOMPAT_METADATA_UUID) ? SB_METADATA_UUID : SB_FSID), 16);
  devid = le64(sb + SB_DEV_ITEM + DI_DEVID);
  memcpy(old_dev_uuid, sb + SB_DEV_ITEM + DI_UUID, 16);
  new_uuid(new_dev_uuid);

  /* b) + c) the system chunks from the superblock, then the chunk tree */
  unsigned char *p = sb + SB_SYS_ARRAY, *end = p + sysn;
  while (p < end) {
    if (end - p < 17 || p[8] != CHUNK_ITEM_KEY) die(EX_NOTBTRFS, "bad sys_chunk_array");
    uint64_t logical = le64(p + 9);
    add_chunk(logical, p + 17, (size_t)(end - p - 17), "sys_chunk_array");
    patch_chunk_stripes(p + 17, "sys_chunk_array");
    p += 17 + CH_STRIPES + (size_t)le16(p + 17 + CH_NUM_STRIPES) * STRIPE_SIZE;
  }
  size_t chunk_first = nblocks;
  read_tree(le64(sb + SB_CHUNK_ROOT), sb[SB_CHUNK_ROOT_LEVEL], 3, 0);
  int dev_items = 0;
  for (size_t b = chunk_first; b < nblocks; b++) {
    unsigned char *buf = blocks[b].buf;
    if (buf[0x64] != 0) continue;
    uint32_t n = le32(buf + 0x60);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t oid, off; uint8_t type; uint32_t size;
      unsigned char *d = leaf_item(buf, i, &oid, &type, &off, &size, blocks[b].logical);
      if (type == CHUNK_ITEM_KEY) {
        add_chunk(off, d, size, "chunk tree");
        blocks[b].dirty |= patch_chunk_stripes(d, "chunk tree");
      } else if (type == DEV_ITEM_KEY) {
        if (size < 98) die(EX_INCONSISTENT, "short DEV_ITEM");
        if (le64(d + DI_DEVID) != devid) die(EX_UNSUPPORTED, "the chunk tree names device %llu besides this one", (unsigned long long)le64(d + DI_DEVID));
        if (memcmp(d + DI_UUID, old_dev_uuid, 16) != 0) die(EX_INCONSISTENT, "the chunk tree's DEV_ITEM names another device UUID than the superblock (a run cut short?)");
        memcpy(d + DI_UUID, new_dev_uuid, 16);
        blocks[b].dirty = 1;
        dev_items++;
      }
    }
  }
  if (dev_items != 1) die(EX_INCONSISTENT, "the chunk tree has %d DEV_ITEMs, expected 1", dev_items);
  memcpy(sb + SB_DEV_ITEM + DI_UUID, new_dev_uuid, 16);

  /* d) subvolume uuids in the root tree */
  size_t root_first = nblocks;
  read_tree(le64(sb + SB_ROOT), sb[SB_ROOT_LEVEL], 1, 0);
  for (int pass = 0; pass < 2; pass++)
    for (size_t b = root_first; b < nblocks; b++) {
      unsigned char *buf = blocks[b].buf;
      if (buf[0x64] != 0) continue;
      uint32_t n = le32(buf + 0x60);
      for (uint32_t i = 0; i < n; i++) {
        uint64_t oid, off; uint8_t type; uint32_t size;
        unsigned char *d = leaf_item(buf, i, &oid, &type, &off, &size, blocks[b].logical);
        if (!is_subvolume_root_item(oid, type, size, d)) continue;
        if (pass == 0) {
          if (!is_zero(d + RI_UUID) && !lookup(subvols, nsub, d + RI_UUID)) add_pair(&subvols, &nsub, &capsub, d + RI_UUID);
          continue;
        }
        char a[40], c[40];
        if (!is_zero(d + RI_UUID)) {
          const unsigned char *to = lookup(subvols, nsub, d + RI_UUID);
          printf("subvolume %llu %s %s\n", (unsigned long long)oid, fmt_uuid(d + RI_UUID, a), fmt_uuid(to, c));
          memcpy(d + RI_UUID, to, 16);
          blocks[b].dirty = 1;
        }
        if (!is_zero(d + RI_PARENT_UUID)) {
          const unsigned char *to = lookup(subvols, nsub, d + RI_PARENT_UUID);
          if (!to) to = lookup(dangling, ndang, d + RI_PARENT_UUID);
          if (!to) to = add_pair(&dangling, &ndang, &capdang, d + RI_PARENT_UUID);
          printf("parent %llu %s %s\n", (unsigned long long)oid, fmt_uuid(d + RI_PARENT_UUID, a), fmt_uuid(to, c));
          memcpy(d + RI_PARENT_UUID, to, 16);
          blocks[b].dirty = 1;
        }
        if (!is_zero(d + RI_RECEIVED_UUID)) {
          const unsigned char *to = lookup(subvols, nsub, d + RI_RECEIVED_UUID);
          if (to) {
            printf("received %llu %s %s\n", (unsigned long long)oid, fmt_uuid(d + RI_RECEIVED_UUID, a), fmt_uuid(to, c));
            memcpy(d + RI_RECEIVED_UUID, to, 16);
            blocks[b].dirty = 1;
          }
        }
      }
    }
  /* The UUID tree is keyed by the old uuids: make the kernel check it on the next read-write mount. */
  put64(sb + SB_UUID_TREE_GEN, 0);
  {
    char a[40], c[40];
    printf("device %llu %s %s\n", (unsigned long long)devid, fmt_uuid(old_dev_uuid, a), fmt_uuid(new_dev_uuid, c));
  }
  fflush(stdout);

  /* e) tree blocks (every copy), sync, then every superblock mirror that fits, sync */
  for (size_t b = 0; b < nblocks; b++) {
    if (!blocks[b].dirty) continue;
    csum_set(blocks[b].buf, nodesize);
    const struct chunk *k = map(blocks[b].logical);
    for (int i = 0; i < k->nstripes; i++) write_at(blocks[b].buf, nodesize, k->phys[i] + (blocks[b].logical - k->start));
  }
  sync_all();
  uint64_t limit = le64(sb + SB_DEV_ITEM + DI_TOTAL_BYTES);
  if (limit == 0 || limit > devsize) limit = devsize;
  static const uint64_t mirrors[3] = { SB_OFFSET, 64ULL << 20, 256ULL << 30 };
  for (int m = 0; m < 3; m++) {
    if (mirrors[m] + SB_SIZE > limit) break;
    put64(sb + SB_BYTENR, mirrors[m]);
    csum_set(sb, SB_SIZE);
    write_at(sb, SB_SIZE, mirrors[m]);
  }
  sync_all();
  if (close(fd) != 0) die(EX_TORN, "close: %s", strerror(errno));
  return 0;
}
