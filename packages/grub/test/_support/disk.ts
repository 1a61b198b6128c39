import { attachLoop, createImageFile, partitionsOf, type Scratch, sh } from "@lifeboat/testkit";

export const RECOVERY_TYPE = "d999c366-3126-4451-b3c1-be31e091158c";

/** A GPT disk image with one recovery partition (ext4, label LBRECOVERY), attached whole as a loop device. */
export async function recoveryDisk(scratch: Scratch): Promise<{
  image: string;
  disk: string;
  fsUuid: string;
}> {
  const image = await createImageFile(scratch, "disk.img", 48 * 1024 * 1024);
  await sh("sgdisk", ["-n", "1:2048:+32M", "-t", `1:${RECOVERY_TYPE}`, "-c", "1:lifeboat", image]);
  const [part] = await partitionsOf(image);
  if (!part) throw new Error("no partition");
  const dev = await attachLoop(scratch, image, {
    offset: part.offsetBytes,
    sizeLimit: part.sizeBytes,
  });
  await sh("mkfs.ext4", ["-q", "-F", "-L", "LBRECOVERY", dev]);
  const fsUuid = (await sh("blkid", ["-p", "-s", "UUID", "-o", "value", dev])).trim();
  const disk = await attachLoop(scratch, image);
  return { image, disk, fsUuid };
}
