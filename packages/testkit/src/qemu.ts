/**
 * Boot a disk image (or a kernel and initrd) in QEMU with software emulation
 * (TCG) and talk to it through its serial console: wait for text, type
 * keys, wait for power-off. QEMU is always killed (its whole process group)
 * on a timeout, on a failed wait, at {@link QemuHandle.kill} and when the
 * test process exits; the whole serial console goes to a readable log file
 * under `test-output/`.
 *
 * Test tooling: functions throw on failure (a failed set-up is a failed test).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stamp, testOutputPath } from "./_internal/output-dir.js";
import { SerialText } from "./_internal/serial-text.js";
import {
  SECURE_BOOT_OVMF_CODE,
  SECURE_BOOT_OVMF_VARS,
  SECURE_BOOT_QEMU_ARGS,
} from "./secure-boot.js";

/** OVMF firmware files (Debian's `ovmf` package, 4 MiB flash layout). */
export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/** The pristine UEFI variable store; each boot gets its own copy. */
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/** Key sequences for {@link QemuHandle.send} (VT100, as GRUB's serial terminal reads them). */
export const Keys = {
  up: "\x1b[A",
  down: "\x1b[B",
  enter: "\r",
  escape: "\x1b",
} as const;

/** A disk attached as a virtio block device, in the order given (`vda`, `vdb`, ...). */
export interface QemuDisk {
  readonly path: string;
  /** Default `raw`. */
  readonly format?: "raw" | "qcow2";
  readonly readOnly?: boolean;
  /** Write to a temporary overlay, leaving the file untouched. */
  readonly snapshot?: boolean;
}

/** Options for {@link boot}. */
export interface BootOptions {
  /** Disks as paths or {@link QemuDisk}s, attached as virtio disks. */
  readonly disks?: readonly (string | QemuDisk)[];
  /** Boot this kernel directly (`-kernel`) instead of the disks' boot loader. */
  readonly kernel?: string;
  readonly initrd?: string;
  /** Kernel command line for `kernel`. */
  readonly append?: string;
  /** `ovmf` (default): UEFI with pflash code + a per-run copy of the variables. `bios`: SeaBIOS (direct kernel boot only). */
  readonly firmware?: "ovmf" | "bios";
  /**
   * With `ovmf`: Secure Boot enforced (SMM, OVMF's secboot code, Microsoft's keys in the
   * variables), as on a shipped laptop. Default `true` with `ovmf`, so every disk boot goes
   * through the signed chain (issue #21). `false` is an explicit opt-out: a test that boots
   * something that cannot be signed (a direct `kernel` boot, a self-built GRUB) says why
   * beside it. Must not be `true` with `bios`.
   */
  readonly secureBoot?: boolean;
  /** Guest memory in MiB (default 1024). */
  readonly memoryMiB?: number;
  /** Virtual CPUs (default 1; the host is CPU-starved). */
  readonly cpus?: number;
  /** Exit QEMU instead of rebooting the guest (default true). */
  readonly noReboot?: boolean;
  /** Hard limit for the whole run: QEMU is killed after this many milliseconds. */
  readonly timeoutMs: number;
  /**
   * Serial log file. A relative path is taken under `test-output/`; default
   * `test-output/qemu/<name>-<time>.log`.
   */
  readonly logFile?: string;
  /** A short name for the log file and messages (default `boot`). */
  readonly name?: string;
  /** Extra QEMU arguments, appended last. */
  readonly extraArgs?: readonly string[];
}

/** How QEMU ended. */
export interface QemuExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running QEMU guest. */
export interface QemuHandle {
  readonly pid: number;
  /** Where the serial console is written (readable text). */
  readonly logFile: string;
  /** Milliseconds since QEMU started. */
  elapsedMs(): number;
  /** The whole serial console so far, as readable text. */
  output(): string;
  /**
   * Wait until `pattern` appears in the serial console after the end of the
   * previous successful wait (expect-style: each match consumes the text up
   * to its end). Resolves with the match; a match that reaches the end of
   * the output so far is taken only once more output arrives or after 1.5 s
   * of silence, so `(\S+)` never captures half of a line still arriving. Rejects, and kills QEMU, on timeout
   * or when QEMU exits first; the message carries the log's tail and path.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray>;
  /** Type text on the serial console (see {@link Keys}). */
  send(text: string): Promise<void>;
  /**
   * Wait for QEMU to exit (e.g. guest power-off with `-no-reboot`); kills it and rejects on
   * timeout. Then checks the guest's Secure Boot state as {@link QemuHandle.assertSecureBoot}
   * does, so every boot that ends by itself asserts it.
   */
  waitForExit(timeoutMs: number): Promise<QemuExit>;
  /** Kill QEMU's process group now (a power cut) and wait for it; idempotent. */
  kill(): Promise<QemuExit>;
  /** Same as {@link QemuHandle.kill}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
  /** Whether the machine enforces Secure Boot (see {@link BootOptions.secureBoot}). */
  readonly secureBoot: boolean;
  /**
   * Check the guest's Secure Boot state as its kernel reported it: every Linux boot so far
   * printed `secureboot: Secure boot enabled` (it reads the firmware's SecureBoot variable) when
   * the machine enforces Secure Boot, and none printed `enabled` otherwise; with Secure Boot
   * at least one kernel must have started. Throws with the log's path when not.
   */
  assertSecureBoot(): void;
}

/** Whether `a` becomes `b` by at most one inserted, deleted or changed character. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const rest = (x: string, from: number) => x.slice(from);
  return (
    rest(a, i + 1) === rest(b, i + 1) ||
    rest(a, i) === rest(b, i + 1) ||
    rest(a, i + 1) === rest(b, i)
  );
}

/**
 * The Secure Boot state each Linux boot in `serial` printed (`secureboot: Secure boot
 * enabled|disabled`), in order. Under heavy load the emulated serial port can drop a character
 * (seen: "Secure boot enabld"), so a line that still says "…ecure boot…" is read with its state
 * word off by at most one character ("enabled" and "disabled" are three apart).
 */
export function kernelSecureBootStates(serial: string): ("enabled" | "disabled")[] {
  const states: ("enabled" | "disabled")[] = [];
  for (const line of serial.split("\n")) {
    if (!/ecure ?boo?t/i.test(line)) continue;
    const words = line.toLowerCase().match(/[a-z]+/g) ?? [];
    const state = (["enabled", "disabled"] as const).find((w) =>
      words.some((word) => word.length >= 5 && withinOneEdit(word, w)),
    );
    if (state !== undefined) states.push(state);
  }
  return states;
}

/** Why `serial` contradicts the Secure Boot state `expected` (undefined: it agrees); `complete` also requires a kernel's line. */
export function secureBootMismatch(
  serial: string,
  expected: boolean,
  complete: boolean,
): string | undefined {
  const states = kernelSecureBootStates(serial);
  const want = expected ? "enabled" : "disabled";
  const wrong = states.filter((s) => (expected ? s !== "enabled" : s === "enabled"));
  if (wrong.length > 0)
    return `the guest kernel said "Secure boot ${wrong[0]}" on a machine with Secure Boot ${expected ? "enforced" : "off"} (states: ${states.join(", ")})`;
  if (complete && expected && states.length === 0)
    return `no guest kernel said "Secure boot ${want}" yet`;
  return undefined;
}

/** How long a match touching the end of the serial output waits for more (see `waitFor`). */
const SETTLE_MS = 1500;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) killGroup(child);
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

function diskArgs(disks: readonly (string | QemuDisk)[]): string[] {
  const args: string[] = [];
  disks.forEach((d, i) => {
    const disk: QemuDisk = typeof d === "string" ? { path: d } : d;
    const opts = [
      `file=${disk.path.replaceAll(",", ",,")}`,
      `format=${disk.format ?? "raw"}`,
      "if=none",
      `id=disk${i}`,
      // Writes still reach the image file at once; only host fsyncs are skipped.
      "cache=unsafe",
      "discard=unmap",
    ];
    if (disk.readOnly) opts.push("readonly=on");
    if (disk.snapshot) opts.push("snapshot=on");
    args.push("-drive", opts.join(","), "-device", `virtio-blk-pci,drive=disk${i}`);
  });
  return args;
}

/** Whether {@link boot} enforces Secure Boot for `options` (default: yes with OVMF); throws on a combination that cannot. */
export function secureBootOf(options: BootOptions): boolean {
  const firmware = options.firmware ?? "ovmf";
  if (firmware === "bios") {
    if (options.secureBoot === true) throw new Error("boot: Secure Boot needs firmware ovmf");
    return false;
  }
  const secureBoot = options.secureBoot ?? true;
  if (secureBoot && options.kernel !== undefined)
    throw new Error(
      "boot: a direct kernel boot (kernel) does not go through shim, so it cannot run under Secure Boot; pass secureBoot: false and say why",
    );
  return secureBoot;
}

/** The QEMU command line {@link boot} runs (without the per-run firmware variable copy). */
export function qemuArgs(options: BootOptions, varsFile?: string): string[] {
  const firmware = options.firmware ?? "ovmf";
  const secureBoot = secureBootOf(options);
  const args = [
    "-accel",
    "tcg",
    "-cpu",
    "max",
    "-machine",
    secureBoot ? "q35,smm=on" : "q35",
    "-m",
    String(options.memoryMiB ?? 1024),
    "-smp",
    String(options.cpus ?? 1),
    // No default devices (CD-ROM, NIC, VGA, monitor): less for firmware and udev to probe.
    "-nodefaults",
    "-display",
    "none",
    "-chardev",
    "stdio,id=ser0,signal=off",
    "-serial",
    "chardev:ser0",
    "-device",
    "virtio-rng-pci",
  ];
  if (options.noReboot ?? true) args.push("-no-reboot");
  if (firmware === "ovmf") {
    const code = secureBoot ? SECURE_BOOT_OVMF_CODE : OVMF_CODE;
    if (secureBoot) args.push(...SECURE_BOOT_QEMU_ARGS);
    args.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${code}`);
    if (varsFile !== undefined) args.push("-drive", `if=pflash,format=raw,unit=1,file=${varsFile}`);
  }
  if (options.kernel !== undefined) args.push("-kernel", options.kernel);
  if (options.initrd !== undefined) args.push("-initrd", options.initrd);
  if (options.append !== undefined) args.push("-append", options.append);
  args.push(...diskArgs(options.disks ?? []));
  args.push(...(options.extraArgs ?? []));
  return args;
}

/**
 * Start QEMU (TCG, q35, `-cpu max`, OVMF, virtio disks, serial console on a
 * pipe) and return a handle to drive it.
 *
 * @example
 * ```ts
 * const vm = await boot({ disks: [image], timeoutMs: 180_000, name: "fixture" });
 * try {
 *   const m = await vm.waitFor(/LIFEBOAT-MARKER root=(\w+)/, 150_000);
 *   console.log(m[1], vm.elapsedMs());
 *   await vm.waitForExit(60_000);
 * } finally {
 *   await vm.kill();
 * }
 * ```
 */
export async function boot(options: BootOptions): Promise<QemuHandle> {
  installExitHook();
  const name = options.name ?? "boot";
  const secureBoot = secureBootOf(options);
  const logFile =
    options.logFile === undefined
      ? testOutputPath("qemu", `${name}-${stamp()}.log`)
      : path.isAbsolute(options.logFile)
        ? options.logFile
        : testOutputPath(options.logFile);
  await mkdir(path.dirname(logFile), { recursive: true });

  let varsDir: string | undefined;
  let varsFile: string | undefined;
  if ((options.firmware ?? "ovmf") === "ovmf") {
    varsDir = await mkdtemp(path.join(tmpdir(), "lifeboat-ovmf-"));
    varsFile = path.join(varsDir, "OVMF_VARS.fd");
    await copyFile(secureBoot ? SECURE_BOOT_OVMF_VARS : OVMF_VARS, varsFile);
  }
  const args = qemuArgs(options, varsFile);
  const log = createWriteStream(logFile);
  log.write(`# qemu-system-x86_64 ${args.join(" ")}\n# started ${new Date().toISOString()}\n`);

  const started = Date.now();
  const child = spawn("qemu-system-x86_64", args, {
    detached: true, // its own process group, killed as a whole
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  return new Promise<QemuHandle>((resolve, reject) => {
    child.once("error", (e) => {
      live.delete(child);
      log.end();
      reject(
        new Error(
          `qemu-system-x86_64 failed to start (apt-get install -y qemu-system-x86): ${e.message}`,
        ),
      );
    });
    child.once("spawn", () =>
      resolve(
        new Handle(child, log, logFile, name, started, options.timeoutMs, varsDir, secureBoot),
      ),
    );
  });
}

/** The handle {@link boot} returns, around QEMU (or, in tests, any process writing to stdout). */
export class Handle implements QemuHandle {
  readonly pid: number;
  #text = "";
  #cursor = 0;
  #serial = new SerialText();
  #exit: QemuExit | undefined;
  readonly #exited: Promise<QemuExit>;
  readonly #listeners = new Set<() => void>();
  readonly #hardLimit: NodeJS.Timeout;

  constructor(
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    readonly logFile: string,
    private readonly name: string,
    private readonly started: number,
    timeoutMs: number,
    varsDir: string | undefined,
    readonly secureBoot = false,
  ) {
    this.pid = child.pid ?? -1;
    child.stdout?.setEncoding("latin1");
    child.stdout?.on("data", (chunk: string) => this.#append(this.#serial.push(chunk)));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => this.#append(`\n[qemu stderr] ${chunk}`));
    child.stdin?.on("error", () => {});
    this.#exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        live.delete(child);
        clearTimeout(this.#hardLimit);
        this.#append(this.#serial.flush());
        this.#exit = { code, signal };
        const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
        this.log.end(`\n# qemu ended (${how}) after ${this.elapsedMs()} ms\n`);
        if (varsDir !== undefined) void rm(varsDir, { recursive: true, force: true });
        for (const l of this.#listeners) l();
        resolve(this.#exit);
      });
    });
    this.#hardLimit = setTimeout(() => {
      this.#append(`\n# lifeboat testkit: hard limit of ${timeoutMs} ms reached, killing QEMU\n`);
      killGroup(child);
    }, timeoutMs);
    this.#hardLimit.unref();
  }

  #append(text: string): void {
    if (text.length === 0) return;
    this.#text += text;
    this.log.write(text);
    for (const l of this.#listeners) l();
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }

  output(): string {
    return this.#text;
  }

  #failure(what: string): Error {
    const tail = this.#text.slice(-3000);
    return new Error(
      `${this.name}: ${what} after ${this.elapsedMs()} ms; serial log: ${this.logFile}\n--- last serial output ---\n${tail}`,
    );
  }

  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray> {
    const re =
      typeof pattern === "string"
        ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "g")
        : new RegExp(
            pattern.source,
            pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`,
          );
    return new Promise((resolve, reject) => {
      let settle: NodeJS.Timeout | undefined;
      const finish = (m: RegExpExecArray | Error) => {
        clearTimeout(timer);
        clearTimeout(settle);
        this.#listeners.delete(listener);
        if (m instanceof Error) reject(m);
        else resolve(m);
      };
      const accept = (m: RegExpExecArray) => {
        this.#cursor = m.index + m[0].length;
        finish(m);
      };
      const listener = () => {
        clearTimeout(settle);
        settle = undefined;
        re.lastIndex = this.#cursor;
        const m = re.exec(this.#text);
        if (m !== null) {
          // A match that reaches the end of what has arrived may still grow (`(\S+)` on a
          // half-arrived line): take it once more output shows where it ends, or after a moment
          // of silence (a prompt that ends without a newline).
          if (m.index + m[0].length < this.#text.length || this.#exit !== undefined) accept(m);
          else settle = setTimeout(() => accept(m), SETTLE_MS);
        } else if (this.#exit !== undefined) {
          finish(
            this.#failure(`QEMU exited (${JSON.stringify(this.#exit)}) before ${re} appeared`),
          );
        }
      };
      const timer = setTimeout(() => {
        re.lastIndex = this.#cursor;
        const m = re.exec(this.#text);
        if (m !== null) return accept(m);
        killGroup(this.child);
        finish(this.#failure(`timed out after ${timeoutMs} ms waiting for ${re}`));
      }, timeoutMs);
      this.#listeners.add(listener);
      listener();
    });
  }

  send(text: string): Promise<void> {
    const stdin = this.child.stdin;
    if (stdin === null || this.#exit !== undefined)
      return Promise.reject(this.#failure("cannot type: QEMU is not running"));
    return new Promise((resolve, reject) => {
      stdin.write(Buffer.from(text, "latin1"), (e) => (e ? reject(e) : resolve()));
    });
  }

  async waitForExit(timeoutMs: number): Promise<QemuExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const r = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      killGroup(this.child);
      await this.#exited;
      throw this.#failure(`QEMU did not exit within ${timeoutMs} ms`);
    }
    // Every boot that ends by itself (power-off, reboot) is checked as assertSecureBoot does:
    // under Secure Boot a kernel said "enabled" and none "disabled"; otherwise none "enabled".
    const why = secureBootMismatch(this.#text, this.secureBoot, true);
    if (why !== undefined) throw this.#failure(why);
    return r;
  }

  assertSecureBoot(): void {
    const why = secureBootMismatch(this.#text, this.secureBoot, true);
    if (why !== undefined) throw this.#failure(why);
  }

  async kill(): Promise<QemuExit> {
    killGroup(this.child);
    return this.#exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
