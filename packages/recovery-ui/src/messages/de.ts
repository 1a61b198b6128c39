import type { Messages } from "./catalog.js";
import { dePlan } from "./de-plan.js";

/** Deutsch. */
export const de: Messages = {
  languageName: "Deutsch",
  title: "Lifeboat-Wiederherstellung",
  keysMenu: "Auf/Ab: wählen   Enter: auswählen",
  keysContinue: "Enter: weiter",
  keysBack: "Esc: zurück",
  languageQuestion: "Wählen Sie Ihre Sprache:",
  opening: "Die Festplatte dieses Computers wird untersucht. Das kann eine Minute dauern...",
  passphraseTitle: "Die Festplatte ist verschlüsselt",
  passphrasePrompt: (device) =>
    `Geben Sie die Passphrase der verschlüsselten Festplatte (${device}) ein. Die Eingabe wird nicht angezeigt.`,
  passphraseRetry: (attempt, of) =>
    `Diese Passphrase hat die Festplatte nicht geöffnet. Versuch ${attempt} von ${of}.`,
  passphraseKeys: "Enter: entsperren   Esc: aufgeben",
  diagnosisTitle: "Was wir gefunden haben",
  rootPresent: (subvolume) => `Das System ist vorhanden (Btrfs-Subvolume „${subvolume}“).`,
  rootMissing: "Auf der Festplatte wurde kein installiertes System gefunden.",
  factoryIntact: (product, build) => `Der Werkszustand ist unversehrt (${product} ${build}).`,
  factoryDamaged: "Der Werkszustand auf der Festplatte ist beschädigt.",
  factoryMissing: "Auf der Festplatte gibt es keinen Werkszustand.",
  recoveryVerified: (product, build) =>
    `Das Wiederherstellungsabbild ist vollständig und signiert (${product} ${build}).`,
  recoveryNotVerified: (problem) =>
    `Das Wiederherstellungsabbild konnte nicht geprüft werden: ${problem}`,
  recoveryMissing: "Auf diesem Computer gibt es kein Wiederherstellungsabbild.",
  encrypted: (device) => `Die Festplatte ist verschlüsselt (${device}) und entsperrt.`,
  freeSpace: (free, total) => `Freier Speicher: ${free} von ${total}.`,
  unfinished: (title) =>
    `Ein früheres Zurücksetzen wurde unterbrochen: „${title}“. Schließen Sie es zuerst ab.`,
  otherOs: (name, size) => `Ein anderes Betriebssystem ist installiert: ${name} (${size}).`,
  snapshots: (count) =>
    count === 1
      ? "Es gibt 1 gespeicherten Schnappschuss des Systems."
      : `Es gibt ${count} gespeicherte Schnappschüsse des Systems.`,
  keptRoot: (when) =>
    `Das System vor dem Zurücksetzen vom ${when} ist aufbewahrt; das Zurücksetzen kann rückgängig gemacht werden.`,
  choicesTitle: "Was möchten Sie tun?",
  choices: {
    resume: {
      label: "Das unterbrochene Zurücksetzen abschließen",
      keeps: "was das unterbrochene Zurücksetzen behält",
      loses: "was beim unterbrochenen Zurücksetzen zum Entfernen bestätigt wurde",
      time: "etwa so lange wie der Rest dieses Zurücksetzens",
    },
    "reset-keep-home": {
      label: "System zurücksetzen, meine Dateien behalten",
      keeps: "Ihre Dateien und Einstellungen in /home; das alte System wird beiseitegelegt",
      loses: "Programme und Systemänderungen seit dem Werkszustand",
      time: "etwa eine Minute",
    },
    "reset-from-recovery": {
      label: "Aus dem Wiederherstellungsabbild herstellen, Dateien behalten",
      keeps: "Ihre Dateien und Einstellungen in /home",
      loses: "Programme und Systemänderungen; für den Fall, dass der Werkszustand beschädigt ist",
      time: "einige Minuten (das System wird aus dem Abbild entpackt)",
    },
    rescue: {
      label: "Zuerst meine Dateien auf einen USB-Stick sichern",
      keeps: "alles: /home wird nur auf den Stick kopiert und die Kopie geprüft",
      loses: "nichts",
      time: "hängt von der Menge in /home und vom Stick ab",
    },
    "reset-user-data": {
      label: "Nur meine Dateien löschen",
      keeps: "das System und seine Programme",
      loses: "alles in /home: alle Dateien und Einstellungen aller Benutzer",
      time: "etwa eine Minute",
    },
    "full-restore": {
      label: "Alles löschen und den Werkszustand herstellen",
      keeps: "nur das Wiederherstellungsabbild",
      loses:
        "alle Dateien, alle Einstellungen, das System, Schnappschüsse und jedes andere System auf dieser Festplatte",
      time: "einige Minuten",
    },
    "undo-reset": {
      label: "Letztes Zurücksetzen rückgängig machen (zum System davor)",
      keeps:
        "Ihre Dateien in /home; das jetzige System wird beiseitegelegt, auch das lässt sich rückgängig machen",
      loses:
        "nichts endgültig: das System des letzten Zurücksetzens wird beiseitegelegt, seine Programme und Änderungen werden nicht mehr benutzt",
      time: "etwa eine Minute",
    },
    shell: {
      label: "Eine Experten-Shell öffnen",
      keeps: "alles",
      loses: "von sich aus nichts",
      time: "-",
    },
    restart: { label: "Computer neu starten", keeps: "alles", loses: "nichts", time: "-" },
    "power-off": { label: "Ausschalten", keeps: "alles", loses: "nichts", time: "-" },
  },
  keepsLabel: "Behält:",
  losesLabel: "Verliert:",
  timeLabel: "Dauer:",
  estimate: (minutes, size) =>
    minutes <= 1
      ? `etwa eine Minute (${size} zu kopieren)`
      : `etwa ${minutes} Minuten (${size} zu kopieren)`,
  unavailable: (reason) => `Jetzt nicht möglich: ${reason}`,
  rescueTitle: "Meine Dateien auf einen USB-Stick sichern",
  rescuePrompt: "Ordner auf dem USB-Stick, in den kopiert wird:",
  rescueNeeded: (size) => `Benötigter Speicher: ${size}`,
  rescueAvailable: (size) => `Dort verfügbar: ${size}`,
  rescueKeys: "Enter: Ordner prüfen / weiter   Esc: zurück",
  confirmTitle: (title) => `Bitte prüfen: ${title}`,
  confirmSteps: "Was getan wird:",
  confirmLosses: "Was entfernt wird (bitte genau lesen):",
  confirmNoLoss: "Nichts geht verloren.",
  confirmWarnings: "Bitte zuerst lesen:",
  confirmDigest: (digest) => `Plan ${digest.slice(0, 23)}`,
  confirmWordErase: "LOESCHEN",
  confirmWordGo: "JA",
  confirmPrompt: (word) =>
    `Geben Sie ${word} ein und drücken Sie Enter, um zu beginnen, oder Esc für zurück:`,
  confirmWrongWord: (word) => `Das ist nicht ${word}. Es wurde nichts getan.`,
  progressTitle: (title) => `In Arbeit: ${title}`,
  progressStep: (n, of, title) => `Schritt ${n} von ${of}: ${title}`,
  progressBytes: (done, total) => `${done} von ${total}`,
  progressEta: (minutes) =>
    minutes <= 1
      ? "Noch etwa eine Minute für diesen Schritt."
      : `Noch etwa ${minutes} Minuten für diesen Schritt.`,
  progressSafe: "Abbrechen ist noch sicher: bisher wurde nichts Wichtiges verändert.",
  progressUnsafe: "Schalten Sie den Computer jetzt nicht aus.",
  doneTitle: "Fertig",
  doneText: "Alles hat geklappt. Starten Sie den Computer neu, um ihn zu benutzen.",
  doneRescue: (directory) =>
    `Ihre Dateien wurden nach ${directory} kopiert und die Kopie wurde geprüft.`,
  failedTitle: "Das hat nicht geklappt",
  failedSafe:
    "Was bisher getan wurde, ist aufgezeichnet. Sie können es jetzt erneut versuchen oder später auf diesem Bildschirm abschließen.",
  errorTitle: "Etwas stimmt nicht",
  errorDetail: "Einzelheiten:",
  actionRestart: "Jetzt neu starten",
  actionRetry: "Erneut versuchen",
  actionLater: "Später abschließen (ausschalten)",
  actionMenu: "Zurück zur Auswahl",
  plan: dePlan,
  errors: {
    LOCK_HELD:
      "Ein anderes Programm arbeitet gerade mit dieser Festplatte. Warten Sie darauf und versuchen Sie es dann erneut.",
    RESET_DISK_IN_USE: "Die Festplatte wird von etwas anderem benutzt. Es wurde nichts verändert.",
    RESET_NOT_A_DISK: "Das angegebene Laufwerk ist keine Festplatte.",
    RESET_ENCRYPTED_LOCKED:
      "Die Festplatte ist verschlüsselt und bleibt ohne Passphrase gesperrt. Es wurde nichts verändert.",
    RESET_LUKS_WRONG_KEY:
      "Die Passphrase hat die verschlüsselte Festplatte nicht geöffnet. Es wurde nichts verändert.",
    RESET_NO_FACTORY_SNAPSHOT: "Der Werkszustand fehlt oder ist beschädigt.",
    RESET_INSUFFICIENT_SPACE: "Dafür ist nicht genug freier Speicher vorhanden.",
    RESET_IMAGE_NOT_VERIFIED:
      "Das Wiederherstellungsabbild konnte nicht geprüft werden und wird deshalb nicht benutzt.",
    RESET_TARGET_BUSY: "Teile des Systems werden noch benutzt.",
    RESET_UNSUPPORTED_LAYOUT: "Diese Festplatte ist nicht so eingeteilt, wie Lifeboat es erwartet.",
    RESET_IMAGE_CHANGED:
      "Das Wiederherstellungsabbild hat sich seit der Planung geändert. Beginnen Sie neu.",
    RESET_VERIFY_FAILED:
      "Eine Prüfung nach einem Schritt ist fehlgeschlagen: das Ergebnis war nicht wie erwartet.",
    STEP_FAILED: "Ein Schritt des Zurücksetzens ist fehlgeschlagen.",
    IO_FAILED: "Eine Datei konnte nicht gelesen oder geschrieben werden.",
    COMMAND_FAILED: "Ein Systemprogramm ist fehlgeschlagen.",
    ABORTED: "Es wurde abgebrochen.",
  },
};
