import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "@lifeboat/core";
import {
  buildErofs,
  buildSquashfs,
  createImageSet,
  exportPublicKeyPem,
  generateKeyPair,
  installImageSet,
  loadPrivateKey,
  savePrivateKey,
  securityEpochOf,
  signImageSet,
  type VerifyProgress,
  verifyImageSet,
} from "@lifeboat/image";
import { ROLLBACK_LOG_FILE } from "@lifeboat/image/layout";
import { buildRecoveryImageSet } from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { withTarget } from "../target.js";
import { formatBytes } from "../ui/format.js";
import { type ByteProgress, startProgress } from "../ui/progress.js";
import { imageInstallViaService } from "../via-service-commands.js";
import {
  allowRollbackOption,
  collect,
  guarded,
  loadMinimumEpoch,
  loadTrustedKeys,
  must,
  targetOf,
  targetOptions,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";

/** Load a private key from a PEM file. */
export async function loadKeyFile(file: string) {
  return must(loadPrivateKey(await readFile(file)));
}

async function keygen(ctx: CliContext, opts: { out: string }): Promise<ExitCodeValue> {
  return guarded(ctx, "image keygen", async () => {
    await mkdir(opts.out, { recursive: true });
    const key = generateKeyPair();
    const privateKey = path.join(opts.out, "private.pem");
    const publicKey = path.join(opts.out, "public.pem");
    must(await savePrivateKey(privateKey, key));
    must(await writeFileAtomic(publicKey, exportPublicKeyPem(key.publicKey)));
    return succeed(ctx, "image keygen", { keyId: key.keyId, privateKey, publicKey }, (d) =>
      [
        `key ${pc.bold(d.keyId)}`,
        `  private ${d.privateKey} ${pc.yellow("(keep it secret, offline)")}`,
        `  public  ${d.publicKey} (ship it with the recovery environment)`,
      ].join("\n"),
    );
  });
}

/** A progress display fed by verify events (content phase: bytes hashed). */
export function verifyProgress(ctx: CliContext, label: string) {
  let bar: ByteProgress | undefined;
  const totals = new Map<string, number>();
  const done = new Map<string, number>();
  return {
    onEvent(e: VerifyProgress) {
      if (e.phase !== "content") return;
      totals.set(e.file, e.bytesTotal);
      done.set(e.file, e.bytesDone);
      const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      bar ??= startProgress(ctx, label, sum(totals));
      bar.update(sum(done), sum(totals));
    },
    stop() {
      bar?.stop();
    },
  };
}

interface BuildOpts {
  disk?: string;
  top?: string;
  out: string;
  key?: string;
  format?: "squashfs" | "erofs";
  product?: string;
  version?: string;
  epoch?: string;
  securityEpoch?: string;
}

/** `--security-epoch`: an integer ≥ 0, or undefined when not given. */
function securityEpochOption(value: string | undefined): number | undefined | "bad" {
  if (value === undefined) return undefined;
  return /^\d{1,15}$/.test(value) ? Number(value) : "bad";
}

async function build(
  ctx: CliContext,
  source: string | undefined,
  opts: BuildOpts,
): Promise<ExitCodeValue> {
  const epoch = Number(opts.epoch ?? process.env.SOURCE_DATE_EPOCH ?? 1767225600);
  const securityEpoch = securityEpochOption(opts.securityEpoch);
  if (securityEpoch === "bad")
    return usage(ctx, "image build", "--security-epoch must be an integer ≥ 0");
  return guarded(ctx, "image build", async () => {
    const target = targetOf(opts);
    if (target.disk || target.top) {
      if (!opts.key)
        return usage(
          ctx,
          "image build",
          "building from the factory snapshot needs --key <private.pem>",
        );
      const key = await loadKeyFile(opts.key);
      return withTarget(ctx.runner, target, { recoveryWritable: false }, async (t) => {
        if (!t.top) return usage(ctx, "image build", "no Btrfs filesystem found");
        const m = must(
          await buildRecoveryImageSet(ctx.runner, {
            top: t.top,
            dir: path.resolve(opts.out),
            key,
            sourceDateEpoch: epoch,
            securityEpoch,
            signal: ctx.signal,
          }),
        );
        return succeed(
          ctx,
          "image build",
          {
            dir: path.resolve(opts.out),
            product: m.product,
            version: m.build,
            securityEpoch: securityEpoch ?? 0,
            signed: true,
            keyId: key.keyId,
          },
          (d) =>
            `built and signed the recovery image set ${d.product} ${d.version} (security epoch ${d.securityEpoch}) in ${d.dir}`,
        );
      });
    }
    if (!source)
      return usage(
        ctx,
        "image build",
        "give a source directory, or --disk/--top to build from the factory snapshot",
      );
    if (!opts.product || !opts.version)
      return usage(ctx, "image build", "--product and --version are needed");
    const dir = path.resolve(opts.out);
    await mkdir(dir, { recursive: true });
    const format = opts.format ?? "squashfs";
    const file = `root.${format}`;
    const common = {
      sourceDir: source,
      output: path.join(dir, file),
      sourceDateEpoch: epoch,
      signal: ctx.signal,
    };
    const built = must(
      format === "erofs"
        ? await buildErofs(ctx.runner, common)
        : await buildSquashfs(ctx.runner, common),
    );
    const set = must(
      await createImageSet({
        dir,
        product: opts.product,
        version: opts.version,
        ...(securityEpoch === undefined ? {} : { securityEpoch }),
        sourceDateEpoch: epoch,
        files: [{ path: file, kind: format }],
        signal: ctx.signal,
      }),
    );
    let keyId: string | null = null;
    if (opts.key) {
      const key = await loadKeyFile(opts.key);
      must(await signImageSet(dir, key));
      keyId = key.keyId;
    }
    return succeed(
      ctx,
      "image build",
      {
        dir,
        product: set.manifest.product,
        version: set.manifest.version,
        securityEpoch: securityEpochOf(set.manifest),
        signed: keyId !== null,
        keyId,
        bytes: built.size,
      },
      (d) =>
        `built ${d.product} ${d.version} (${formatBytes(d.bytes ?? 0)}, security epoch ${d.securityEpoch}) in ${d.dir}${d.signed ? ", signed" : pc.yellow(", NOT signed: run `lifeboat image sign`")}`,
    );
  });
}

async function sign(ctx: CliContext, dir: string, opts: { key: string }): Promise<ExitCodeValue> {
  return guarded(ctx, "image sign", async () => {
    const key = await loadKeyFile(opts.key);
    must(await signImageSet(dir, key));
    return succeed(
      ctx,
      "image sign",
      { dir: path.resolve(dir), keyId: key.keyId },
      (d) => `signed ${d.dir} with key ${d.keyId}`,
    );
  });
}

interface VerifyOpts {
  trustedKey?: string[];
  sample?: string;
}

async function verify(ctx: CliContext, dir: string, opts: VerifyOpts): Promise<ExitCodeValue> {
  if (!opts.trustedKey?.length)
    return usage(ctx, "image verify", "give --trusted-key <public.pem>");
  return guarded(ctx, "image verify", async () => {
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    const progress = verifyProgress(ctx, "  verifying");
    const started = Date.now();
    const r = await verifyImageSet(dir, {
      trustedKeys,
      signal: ctx.signal,
      onProgress: progress.onEvent,
      ...(opts.sample ? { mode: { sample: Number(opts.sample) } } : {}),
    });
    progress.stop();
    const set = must(r);
    const bytes = [...set.manifest.files].reduce((a, f) => a + f.size, 0);
    return succeed(
      ctx,
      "image verify",
      {
        dir: set.dir,
        product: set.manifest.product,
        version: set.manifest.version,
        securityEpoch: securityEpochOf(set.manifest),
        keyId: set.keyId,
        mode: set.mode,
        files: set.manifest.files.map((f) => ({ path: f.path, size: f.size })),
        bytes,
        durationMs: Date.now() - started,
      },
      (d) =>
        `${pc.green("✓ verified")} ${d.product} ${d.version} (security epoch ${d.securityEpoch}): signature by ${d.keyId}, ${d.files.length} files, ${formatBytes(d.bytes)} (${d.mode})`,
    );
  });
}

interface InstallOpts extends VerifyOpts {
  disk?: string;
  recoveryRoot?: string;
  allowRollback?: string;
}

async function install(ctx: CliContext, dir: string, opts: InstallOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return imageInstallViaService(ctx, dir, opts);
  if (!opts.trustedKey?.length)
    return usage(ctx, "image install", "give --trusted-key <public.pem>");
  const target = targetOf(opts);
  if (!target.disk && !target.recoveryRoot)
    return usage(ctx, "image install", "give --disk <image|device> or --recovery-root <dir>");
  return guarded(ctx, "image install", async () => {
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    const minimumEpoch = await loadMinimumEpoch(opts.trustedKey ?? []);
    const set = must(await verifyImageSet(dir, { trustedKeys, signal: ctx.signal }));
    return withTarget(ctx.runner, target, { recoveryWritable: true }, async (t) => {
      if (!t.recoveryRoot)
        return usage(
          ctx,
          "image install",
          "no recovery partition found (see `lifeboat gpt add-recovery`)",
        );
      let bar: ByteProgress | undefined;
      const verifyBar = verifyProgress(ctx, "  verifying copy");
      const installed = must(
        await installImageSet(set, t.recoveryRoot, {
          minimumEpoch,
          ...(opts.allowRollback === undefined
            ? {}
            : { allowRollback: { reason: opts.allowRollback } }),
          signal: ctx.signal,
          onProgress: (e) => {
            if (e.phase === "copy") {
              bar ??= startProgress(ctx, "  copying", e.bytesTotal);
              bar.update(e.bytesDone, e.bytesTotal);
            } else if (e.phase === "verify") {
              bar?.stop();
              verifyBar.onEvent(e.event);
            }
          },
        }),
      );
      bar?.stop();
      verifyBar.stop();
      return succeed(
        ctx,
        "image install",
        {
          setId: installed.setId,
          previousSetId: installed.previousSetId ?? null,
          device: t.devices.recovery ?? null,
          securityEpoch: securityEpochOf(set.manifest),
          rollback: installed.rollback ?? null,
        },
        (d) =>
          [
            `${pc.green("✓ installed")} ${d.setId} on the recovery partition${d.previousSetId ? ` (replaced ${d.previousSetId})` : ""}`,
            d.rollback
              ? pc.yellow(
                  `  rollback allowed (security epoch ${d.rollback.fromEpoch} → ${d.rollback.toEpoch}), recorded in ${ROLLBACK_LOG_FILE} (reason: ${d.rollback.reason})`,
                )
              : "",
          ]
            .filter(Boolean)
            .join("\n"),
      );
    });
  });
}

/** `lifeboat image keygen|build|sign|verify|install`. */
export function registerImage(program: Command, wrap: Wrap): void {
  const image = program.command("image").description("signed recovery images");
  image
    .command("keygen")
    .description("make an Ed25519 signing key pair")
    .requiredOption("--out <dir>", "where private.pem and public.pem go")
    .action(wrap(keygen));
  targetOptions(image.command("build [source]"))
    .description(
      "build an image set from a directory, or the recovery set from the factory snapshot (--disk/--top)",
    )
    .requiredOption("--out <dir>", "the image set directory")
    .option("--key <private.pem>", "sign with this key")
    .option("--format <format>", "squashfs (default) or erofs")
    .option("--product <name>", "product name")
    .option("--version <version>", "product version/build")
    .option("--epoch <seconds>", "SOURCE_DATE_EPOCH for a reproducible build")
    .option(
      "--security-epoch <n>",
      "anti-rollback counter signed into the manifest (integer ≥ 0, default 0); raise it when a release fixes a hole",
    )
    .action(wrap(build));
  image
    .command("sign <dir>")
    .description("sign an image set's manifest")
    .requiredOption("--key <private.pem>", "the private key")
    .action(wrap(sign));
  image
    .command("verify <dir>")
    .description("verify an image set: signature, sizes, every block (exit 5 when it fails)")
    .option("--trusted-key <pem>", "accepted public key (repeatable)", collect)
    .option("--sample <fraction>", "check only this fraction of data blocks")
    .action(wrap(verify));
  allowRollbackOption(image.command("install <dir>"))
    .description(
      "verify and install an image set onto the recovery partition, atomically; an older security epoch than the installed set's or the OEM minimum (minimum-epoch beside the trusted key) is refused",
    )
    .option("--trusted-key <pem>", "accepted public key (repeatable)", collect)
    .option("--disk <path>", "disk image or device holding the recovery partition")
    .option("--recovery-root <dir>", "the recovery partition, mounted")
    .action(wrap(install));
}
