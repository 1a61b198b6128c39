/**
 * The `/etc/grub.d/NN_lifeboat` script: a POSIX sh script that
 * `grub-mkconfig`/`grub2-mkconfig` runs, which finds the recovery partition
 * at that moment by its GPT type GUID and prints the recovery entries, or
 * prints nothing (and a warning on stderr) when the partition is gone.
 *
 * @module
 */
import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";
import { err, ok, type Result } from "neverthrow";
import { shQuote } from "./_internal/sh.js";
import { type GrubRenderError, unrepresentable } from "./errors.js";
import { type GrubCommand, renderGrubScript } from "./script.js";

/**
 * Stands for the filesystem UUID found at `grub-mkconfig` time; replaced by the script.
 *
 * @example
 * ```ts
 * renderGrubdScript({ entries: ({ fsUuid }) => … }); // fsUuid === FS_UUID_PLACEHOLDER
 * ```
 */
export const FS_UUID_PLACEHOLDER = "@LIFEBOAT_FS_UUID@";

/** Options for {@link renderGrubdScript}. */
export interface GrubdScriptOptions {
  /**
   * Builds the entries for the recovery partition the script finds. Called
   * once with `fsUuid` = {@link FS_UUID_PLACEHOLDER}; the script puts the real
   * UUID in its place when it runs.
   */
  readonly entries: (found: { readonly fsUuid: string }) => readonly GrubCommand[];
  /** GPT type GUID to look for (default: Lifeboat's recovery partition type, `RECOVERY_PARTITION_TYPE_GUID` of `@lifeboat/core/layout`). */
  readonly partitionType?: string;
}

/** A rendered grub.d script and the GRUB text it prints, with a sample UUID, for checking. */
export interface GrubdScript {
  /** The POSIX sh script to install as `/etc/grub.d/NN_lifeboat` (mode 0755). */
  readonly script: string;
  /** What the script prints when it finds a partition whose filesystem UUID is `sampleFsUuid`. */
  readonly sampleOutput: string;
  readonly sampleFsUuid: string;
}

const SAMPLE_UUID = "01234567-89ab-cdef-0123-456789abcdef";

const DISCOVERY = String.raw`lifeboat_type_matches() {
	[ "$(printf '%s' "$1" | tr 'A-F' 'a-f')" = "$LIFEBOAT_PART_TYPE" ]
}

# 1. Partitions the kernel knows, with their GPT type (lsblk/udev).
lifeboat_find_lsblk() {
	[ -n "\${LIFEBOAT_RECOVERY_DISKS:-}" ] && return 1
	command -v lsblk >/dev/null 2>&1 || return 1
	lsblk -rnpo PATH,PARTTYPE 2>/dev/null | while read -r dev type; do
		if [ -n "$type" ] && lifeboat_type_matches "$type"; then
			u=$(blkid -p -s UUID -o value "$dev" 2>/dev/null || true)
			[ -n "$u" ] || u=$(lsblk -dno UUID "$dev" 2>/dev/null || true)
			if [ -n "$u" ]; then printf '%s\n' "$u"; break; fi
		fi
	done
}

# 2. The partition tables of whole disks (sfdisk), probing the filesystem at
# the partition's offset (blkid -p -O): works where no partition device exists.
lifeboat_find_sfdisk() {
	command -v sfdisk >/dev/null 2>&1 || return 1
	disks=\${LIFEBOAT_RECOVERY_DISKS:-$(lsblk -dnpo PATH,TYPE 2>/dev/null | while read -r d t; do
		case "$t" in disk | loop) printf '%s\n' "$d" ;; esac
	done)}
	for disk in $disks; do
		dump=$(sfdisk -d "$disk" 2>/dev/null) || continue
		ss=$(printf '%s\n' "$dump" | sed -n 's/^sector-size: *\([0-9][0-9]*\).*/\1/p')
		[ -n "$ss" ] || ss=512
		printf '%s\n' "$dump" | while read -r line; do
			type=$(printf '%s\n' "$line" | sed -n 's/.*[ ,]type= *\([0-9A-Fa-f-]*\).*/\1/p')
			[ -n "$type" ] && lifeboat_type_matches "$type" || continue
			start=$(printf '%s\n' "$line" | sed -n 's/.*start= *\([0-9][0-9]*\).*/\1/p')
			size=$(printf '%s\n' "$line" | sed -n 's/.*size= *\([0-9][0-9]*\).*/\1/p')
			[ -n "$start" ] && [ -n "$size" ] || continue
			u=$(blkid -p -O "$((start * ss))" -S "$((size * ss))" -s UUID -o value "$disk" 2>/dev/null || true)
			if [ -n "$u" ]; then printf '%s\n' "$u"; break; fi
		done
	done | head -n 1
}

lifeboat_find() {
	if [ -n "\${LIFEBOAT_RECOVERY_FS_UUID:-}" ]; then
		printf '%s\n' "$LIFEBOAT_RECOVERY_FS_UUID"
		return 0
	fi
	u=$(lifeboat_find_lsblk | head -n 1)
	[ -n "$u" ] || u=$(lifeboat_find_sfdisk | head -n 1)
	printf '%s\n' "$u"
}
`.replaceAll("\\$", "$");

/**
 * Render the `/etc/grub.d` script. It finds the recovery partition when it
 * runs: first through `lsblk` (partitions with `PARTTYPE` = the recovery
 * type), then through the partition tables of whole disks (`sfdisk -d`, the
 * filesystem probed with `blkid -p --offset`). `LIFEBOAT_RECOVERY_DISKS`
 * (space-separated disks) limits the search to those disks and skips the
 * lsblk step; `LIFEBOAT_RECOVERY_FS_UUID` skips discovery. When nothing is
 * found it prints no entries and a warning on stderr, and exits 0 so
 * `grub-mkconfig` goes on.
 *
 * @example
 * ```ts
 * const r = renderGrubdScript({
 *   entries: ({ fsUuid }) => recoveryMenu([recoveryMenuEntry({
 *     partition: { fsUuid, label: "LIFEBOAT" },
 *     source: { kind: "files", kernel: "/vmlinuz", initrd: "/initrd.img" },
 *   })]),
 * });
 * if (r.isOk()) await installGrubdScript(runner, { script: r.value });
 * ```
 */
export function renderGrubdScript(
  options: GrubdScriptOptions,
): Result<GrubdScript, GrubRenderError> {
  const type = (options.partitionType ?? RECOVERY_PARTITION_TYPE_GUID).toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(type))
    return err(unrepresentable(type, 0, "invalid-name"));
  const rendered = renderGrubScript(options.entries({ fsUuid: FS_UUID_PLACEHOLDER }));
  if (rendered.isErr()) return err(rendered.error);
  const grub = rendered.value;
  const pieces = grub.split(FS_UUID_PLACEHOLDER);
  // A title or argument that itself holds the placeholder text would be replaced too: refuse it.
  const other = renderGrubScript(options.entries({ fsUuid: SAMPLE_UUID }));
  if (other.isOk() && other.value.split(SAMPLE_UUID).length !== pieces.length) {
    const at = grub.indexOf(FS_UUID_PLACEHOLDER);
    return err(unrepresentable(grub, Math.max(0, at), "invalid-name"));
  }
  const emit = pieces
    .map((piece, i) => {
      const out: string[] = [];
      if (piece !== "") out.push(`printf '%s' ${shQuote(piece)}`);
      if (i < pieces.length - 1) out.push(`printf '%s' "$uuid"`);
      return out.join("\n");
    })
    .filter((l) => l !== "")
    .join("\n");
  const script = `#!/bin/sh
# Recovery entries written by Lifeboat (@lifeboat/grub). Do not edit: reinstall to change.
# Finds the recovery partition (GPT type ${type}) each time grub-mkconfig runs.
set -u
LIFEBOAT_PART_TYPE=${type}

${DISCOVERY}
uuid=$(lifeboat_find)
case "$uuid" in
'' | *[!0-9A-Fa-f-]*)
	echo "lifeboat: no recovery partition (GPT type $LIFEBOAT_PART_TYPE) with a filesystem UUID found; no recovery entries written" >&2
	exit 0
	;;
esac
echo "Found Lifeboat recovery partition: filesystem UUID $uuid" >&2
${emit}
`;
  return ok({
    script,
    sampleOutput: grub.replaceAll(FS_UUID_PLACEHOLDER, SAMPLE_UUID),
    sampleFsUuid: SAMPLE_UUID,
  });
}
