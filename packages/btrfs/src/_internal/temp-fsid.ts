import { readFile } from "node:fs/promises";
import { okAsync, ResultAsync } from "neverthrow";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The UUID on the disk of the filesystem the kernel knows as `uuid`.
 *
 * Since Linux 6.7 a second single-device Btrfs with the UUID of one already
 * mounted (a copy of an image, a clone of a disk) is mounted under a random
 * temporary UUID (`/sys/fs/btrfs/<temporary>/temp_fsid` is 1) and its on-disk
 * UUID is its `metadata_uuid`. Everything Lifeboat records (plans, journals,
 * manifests) names the on-disk UUID, so that a plan made while a clone was
 * mounted still runs after, and the other way round. Any other UUID is given
 * back as it is.
 */
export function onDiskUuid(uuid: string): ResultAsync<string, never> {
  if (!UUID.test(uuid)) return okAsync(uuid);
  const dir = `/sys/fs/btrfs/${uuid}`;
  const read = (name: string) =>
    readFile(`${dir}/${name}`, "utf8").then(
      (s) => s.trim(),
      () => "",
    );
  return ResultAsync.fromSafePromise(
    (async () => {
      if ((await read("temp_fsid")) !== "1") return uuid;
      const onDisk = await read("metadata_uuid");
      return UUID.test(onDisk) ? onDisk : uuid;
    })(),
  );
}
