import { type DataLoss, formatBytes } from "@lifeboat/core";
import { type PayloadOrigin, type PlanStepView, payloadOrigin } from "@lifeboat/reset";
import type { LossWords, PlanWords } from "./plan-words.js";

/** A byte count with the German decimal comma ("1,5 GiB"). */
export const deBytes = (bytes: number | bigint): string =>
  formatBytes(bytes, { decimalSeparator: "," });

const TITLES: Readonly<Record<string, string>> = {
  "reset-keep-home": "System auf den Werkszustand zurücksetzen, /home behalten",
  "reset-from-recovery": "System aus der Wiederherstellungspartition zurücksetzen, /home behalten",
  "full-restore": "Alles löschen und den Werkszustand wiederherstellen",
  "reset-user-data": "Benutzerdaten (home) löschen und leer neu anlegen",
  rescue: "/home auf ein externes Laufwerk kopieren und die Kopie prüfen",
  cleanup: "Alte Systeme früherer Zurücksetzungen löschen",
  rollback: "System auf einen Prüfpunkt zurücksetzen, /home behalten",
  "undo-reset": "Das letzte Zurücksetzen rückgängig machen, /home behalten",
};

const files = (n: number) => (n === 1 ? "1 Datei" : `${n} Dateien`);
const partitions = (ps: readonly { readonly number: number }[]) =>
  `${ps.length === 1 ? "Partition" : "Partitionen"} ${ps.map((p) => p.number).join(", ")}`;

/** `20261205T070000Z` as `2026-12-05 07:00 UTC`. */
function when(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]} UTC` : stamp;
}

/** Where a root snapshot or /boot payload comes from: "vom Werkszustand", "von Prüfpunkt x", … */
function source(o: PayloadOrigin): string {
  switch (o.kind) {
    case "factory":
      return "vom Werkszustand";
    case "checkpoint":
      return `von Prüfpunkt ${o.id}`;
    case "kept":
      return `vom System vor dem Zurücksetzen am ${when(o.stamp)}`;
    case "other":
      return `von ${o.path}`;
  }
}

function family(name: string): string {
  return /^home\./.test(name) ? "home" : /^root\./.test(name) ? "System (root)" : "Subvolume";
}

function step(v: PlanStepView): string {
  switch (v.kind) {
    case "reset.check":
      return v.params.factory === undefined
        ? "Prüfen, dass das Dateisystem das geplante ist"
        : `Prüfen, dass das Dateisystem und der Schnappschuss ${source(payloadOrigin(v.params.factory))} die geplanten sind`;
    case "reset.snapshot":
      return v.params.readOnly === true
        ? `${v.params.source} in einem schreibgeschützten Schnappschuss (${v.params.target}) festhalten, damit die Kopie stimmig ist`
        : `${v.params.target} als beschreibbaren Schnappschuss ${source(payloadOrigin(v.params.source))} anlegen (Copy-on-Write, ohne Kopieren)`;
    case "reset.create-subvolume":
      return `Leeres ${v.params.path} anlegen`;
    case "reset.exchange":
      return `${v.params.a} und ${v.params.b} in einem atomaren Umbenennen tauschen`;
    case "reset.rename":
      return v.params.oldOf === undefined
        ? `${v.params.from} in ${v.params.to} umbenennen`
        : `Das alte ${family(v.params.to)} als ${v.params.to} aufbewahren`;
    case "reset.delete-subvolume": {
      const p = v.params;
      if (p.role === "swapped-out")
        return `Das alte ${family(p.path)} löschen (jetzt ${p.path} genannt)`;
      if (p.role === "data") return `${p.path} löschen`;
      const o = payloadOrigin(p.path);
      return o.kind === "kept"
        ? `Die aufbewahrte Kopie der /boot-Dateien (${p.path}) entfernen`
        : o.kind === "factory"
          ? "Die entpackte Kopie der /boot-Dateien entfernen"
          : "Den schreibgeschützten Schnappschuss von home entfernen";
    }
    case "reset.prepare-root":
      return v.params.firstBoot === false
        ? `${v.params.subvolume} vorbereiten (Reset-Markierung; /etc/machine-id bleibt)`
        : `${v.params.subvolume} für den ersten Start vorbereiten (leere /etc/machine-id, Reset-Markierung)`;
    case "reset.keep-boot":
      return `Eine Kopie der aktuellen /boot-Dateien neben dem alten System aufbewahren (.lifeboat/boot.old-${v.params.stamp})`;
    case "reset.stage-boot":
      return `Die /boot-Dateien ${source(payloadOrigin(v.params.sourceDir))} (${files(v.params.files.length)}) neben den aktuellen bereitlegen`;
    case "reset.install-boot":
      return `/boot auf Kernel, Initramfs und Starteinträge ${source(payloadOrigin(v.params.sourceDir))} zurückbringen`;
    case "reset.verify-image":
      return "Das Wiederherstellungsabbild direkt vor der Verwendung erneut prüfen (Signatur und Prüfsummen)";
    case "reset.unpack":
      return `Das Werkssystem (${deBytes(v.params.rootBytes)}) aus dem Wiederherstellungsabbild nach ${v.params.target} entpacken`;
    case "reset.rescue-copy":
      return `${v.params.paths.length ? v.params.paths.join(", ") : "Ganz home"} (bis zu ${deBytes(v.params.bytes)}) nach ${v.params.directory}/${v.params.name} kopieren`;
    case "reset.rescue-verify":
      return "Die Kopie zurücklesen und Datei für Datei mit home vergleichen";
    case "reset.remove-partitions":
      return `${v.params.systems.map((s) => `${s.name} (${partitions(s.partitions)})`).join(", ")} aus der Partitionstabelle entfernen`;
    case "reset.drop-checkpoint":
      return `Prüfpunkt ${v.params.id} (${v.params.createdAt}) löschen`;
  }
}

function loss(v: PlanStepView, l: DataLoss, index: number): LossWords {
  switch (v.kind) {
    case "reset.exchange": {
      const p = v.params;
      const what =
        p.a === "root"
          ? "Subvolume root (das installierte System: Programme, Einstellungen in /etc, Daten in /var)"
          : p.a === "home"
            ? "Subvolume home (die Dateien aller Benutzer)"
            : `Subvolume ${p.a}`;
      const fate = p.keptAs
        ? `bleibt als ${p.keptAs} erhalten, bis Sie aufräumen; Dateien können noch daraus kopiert werden`
        : "wird endgültig gelöscht";
      const nested = p.nested ?? [];
      return {
        what,
        detail: nested.length
          ? `${fate}, mit ${nested.length} Subvolume(s) darin (${nested.map((s) => s.path).join(", ")})`
          : fate,
      };
    }
    case "reset.install-boot":
      return {
        what: `Kernel und Starteinträge in /boot, die nicht ${source(payloadOrigin(v.params.sourceDir))} stammen`,
        detail: "ihre Module sind im neuen System nicht mehr vorhanden",
      };
    case "reset.delete-subvolume":
      return v.params.role === "data"
        ? {
            what: `${v.params.readOnly ? "Schnappschuss" : "Subvolume"} ${v.params.path}${/^(root|home)\.old-/.test(v.params.path) ? " (das System vor einem Zurücksetzen)" : ""}`,
            detail: "wird endgültig gelöscht",
          }
        : { what: l.what };
    case "reset.remove-partitions": {
      const s = v.params.systems[index];
      return s
        ? {
            what: `${s.name} (${partitions(s.partitions)})`,
            detail: `wird aus der Partitionstabelle entfernt: ${s.partitions
              .map(
                (p) =>
                  `Partition ${p.number}${p.name ? ` „${p.name}“` : ""} (PARTUUID ${p.partUuid})`,
              )
              .join(", ")}`,
          }
        : { what: l.what };
    }
    case "reset.drop-checkpoint":
      return {
        what: `Prüfpunkt ${v.params.id} (${v.params.reason || "ohne Grund"}, ${v.params.createdAt})`,
        detail: "sein Root-Schnappschuss und seine /boot-Dateien werden endgültig gelöscht",
      };
    default:
      return { what: l.what, ...(l.detail ? { detail: l.detail } : {}) };
  }
}

/** Deutsch: the words of reset plans. */
export const dePlan: PlanWords = {
  planTitle: (kind) => TITLES[kind],
  step,
  loss,
};
