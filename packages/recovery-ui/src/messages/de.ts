import type { Messages } from "./catalog.js";
import { deBytes, dePlan } from "./de-plan.js";

/** Deutsch. */
export const de: Messages = {
  languageName: "Deutsch",
  languageWord: "Sprache",
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
  warnings: {
    "other-os-kept": (p) =>
      `${p.name} (${partitionen(p.partitions)}) ist auch auf dieser Festplatte; es wird nicht angerührt.`,
    "other-os-erased": (p) =>
      `${p.name} WIRD GELÖSCHT (${deBytes(p.bytes)} auf ${partitionen(p.partitions)}).`,
    "encrypted-volume": (p) =>
      `Partition ${p.partition.number} ist verschlüsselt (LUKS${p.luksVersion}, ${p.open ? "entsperrt" : "gesperrt"}); gearbeitet wird darin, die Verschlüsselung bleibt.`,
    "rollback-allowed": (p) =>
      `Ein älteres Wiederherstellungsabbild wird absichtlich benutzt (Sicherheitsstufe ${p.securityEpoch}, niedriger als ${p.floorEpoch}); angegebener Grund: ${p.reason}.`,
    "factory-damaged": () =>
      "Der Werkszustand ist beschädigt; stattdessen wird das Wiederherstellungsabbild benutzt.",
    "home-erased": (p) =>
      `Alle Dateien aller Benutzer in /home werden gelöscht${p.bytes === undefined ? "" : ` (${deBytes(p.bytes)})`}. Sichern Sie vorher, was Sie brauchen, auf einen USB-Stick.`,
  },
  unknownWarning: (text, code) =>
    code ? `Hinweis (nur englisch, ${code}): ${text}` : `Hinweis (nur englisch): ${text}`,
  confirmDigest: (digest) => `Plan ${digest.slice(0, 23)}`,
  confirmWordErase: "LOESCHEN",
  confirmWordGo: "JA",
  confirmPrompt: (word) =>
    `Geben Sie ${word} ein und drücken Sie Enter, um zu beginnen, oder Esc für zurück:`,
  confirmWrongWord: (word) => `Das ist nicht ${word}. Es wurde nichts getan.`,
  confirmReadFirst:
    "Bitte zuerst bis zum Ende lesen: Bild ab oder Pfeil ab drücken, bis unten nichts mehr folgt. Es wurde nichts getan.",
  moreBelow: "weiter unten",
  moreAbove: "weiter oben",
  keysScroll: "Bild auf/ab, Auf/Ab: blättern",
  keysScrollPages: "Bild auf/ab: blättern",
  bytes: deBytes,
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
    LOCK_HELD: {
      what: "Ein anderes Programm arbeitet gerade mit dieser Festplatte.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_DISK_IN_USE: {
      what: "Die Festplatte wird von etwas anderem benutzt.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_NOT_A_DISK: {
      what: "Das angegebene Laufwerk ist keine Festplatte.",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_ENCRYPTED_LOCKED: {
      what: "Die Festplatte ist verschlüsselt und bleibt ohne Passphrase gesperrt.",
      safe: "nothing-changed",
      next: "passphrase",
    },
    RESET_LUKS_WRONG_KEY: {
      what: "Die Passphrase hat die verschlüsselte Festplatte nicht geöffnet.",
      safe: "nothing-changed",
      next: "passphrase",
    },
    RESET_UNSUPPORTED_LAYOUT: {
      what: "Diese Festplatte ist nicht so eingeteilt, wie Lifeboat es erwartet.",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_NO_FACTORY_SNAPSHOT: {
      what: "Der Werkszustand fehlt oder ist beschädigt.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_INSUFFICIENT_SPACE: {
      what: "Dafür ist nicht genug freier Speicher vorhanden.",
      safe: "nothing-changed",
      next: "free-space",
    },
    RESET_IMAGE_NOT_VERIFIED: {
      what: "Das Wiederherstellungsabbild konnte nicht geprüft werden und wird deshalb nicht benutzt.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_IMAGE_ROLLBACK: {
      what: "Das Wiederherstellungsabbild ist älter als erlaubt (ein älteres Abbild kann bekannte Sicherheitslücken haben).",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_IMAGE_CHANGED: {
      what: "Das Wiederherstellungsabbild hat sich seit der Planung geändert.",
      safe: "recorded",
      next: "new-plan",
    },
    RESET_TARGET_BUSY: {
      what: "Teile des Systems werden noch benutzt.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_WRONG_TARGET: {
      what: "Der Plan wurde für eine andere Festplatte gemacht.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    RESET_UNEXPECTED_STATE: {
      what: "Die Festplatte ist nicht in dem Zustand, den der Plan erwartet.",
      safe: "recorded",
      next: "new-plan",
    },
    RESET_VERIFY_FAILED: {
      what: "Eine Prüfung nach einem Schritt ist fehlgeschlagen: das Ergebnis war nicht wie erwartet.",
      safe: "recorded",
      next: "retry",
    },
    RESET_BAD_REQUEST: {
      what: "Diese Auswahl lässt sich so nicht ausführen.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_NO_CHECKPOINT: {
      what: "Der gespeicherte Zustand, den dies braucht, ist nicht vorhanden.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_CANNOT_ABANDON: {
      what: "Das unterbrochene Zurücksetzen ist zu weit fortgeschritten, um es zu verwerfen; es muss abgeschlossen werden.",
      safe: "recorded",
      next: "resume",
    },
    RESET_PLAN_TEXT_MISMATCH: {
      what: "Die Beschreibung des Plans passt nicht zu dem, was er tun würde; er wird nicht ausgeführt.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    PLAN_TAMPERED: {
      what: "Der Plan wurde nach seiner Erstellung verändert; er wird nicht ausgeführt.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    CONFIRMATION_MISMATCH: {
      what: "Das Bestätigte ist nicht der Plan, der ausgeführt werden sollte.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    PRECONDITION_FAILED: {
      what: "Ein Schritt hat die Festplatte nicht bereit vorgefunden.",
      safe: "recorded",
      next: "retry",
    },
    STEP_FAILED: {
      what: "Ein Schritt des Zurücksetzens ist fehlgeschlagen.",
      safe: "recorded",
      next: "retry",
    },
    JOURNAL_NOT_FOUND: {
      what: "Es gibt keine Aufzeichnung eines unterbrochenen Zurücksetzens.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    JOURNAL_CORRUPT: {
      what: "Die Aufzeichnung des unterbrochenen Zurücksetzens ist nicht lesbar.",
      safe: "recorded",
      next: "support",
    },
    JOURNAL_PLAN_MISMATCH: {
      what: "Die Aufzeichnung des unterbrochenen Zurücksetzens gehört zu einem anderen Plan.",
      safe: "recorded",
      next: "support",
    },
    IMAGE_HASH_MISMATCH: {
      what: "Das Wiederherstellungsabbild ist beschädigt: sein Inhalt passt nicht zu seiner Signatur.",
      safe: "recorded",
      next: "other-choice",
    },
    IMAGE_BAD_SIGNATURE: {
      what: "Die Signatur des Wiederherstellungsabbilds ist ungültig.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_UNTRUSTED_KEY: {
      what: "Das Wiederherstellungsabbild ist mit einem Schlüssel signiert, dem dieser Computer nicht vertraut.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_FILE_MISSING: {
      what: "Eine Datei des Wiederherstellungsabbilds fehlt.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_MANIFEST_INVALID: {
      what: "Das Inhaltsverzeichnis des Wiederherstellungsabbilds ist nicht lesbar.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    BTRFS_RECEIVE_FAILED: {
      what: "Das Entpacken des Systems aus dem Wiederherstellungsabbild ist fehlgeschlagen.",
      safe: "recorded",
      next: "retry",
    },
    IO_FAILED: {
      what: "Eine Datei konnte nicht gelesen oder geschrieben werden.",
      safe: "recorded",
      next: "retry",
    },
    PERMISSION_DENIED: {
      what: "Lifeboat durfte das nicht tun.",
      safe: "nothing-changed",
      next: "support",
    },
    UNSAFE_PATH: {
      what: "Dieser Ordner kann nicht benutzt werden (er führt aus dem erlaubten Bereich hinaus).",
      safe: "nothing-changed",
      next: "other-folder",
    },
    COMMAND_FAILED: {
      what: "Ein Systemprogramm ist fehlgeschlagen.",
      safe: "recorded",
      next: "retry",
    },
    COMMAND_NOT_FOUND: {
      what: "Ein Systemprogramm, das dafür nötig ist, fehlt.",
      safe: "nothing-changed",
      next: "support",
    },
    COMMAND_TIMED_OUT: {
      what: "Ein Systemprogramm hat zu lange gebraucht und wurde angehalten.",
      safe: "recorded",
      next: "retry",
    },
    ABORTED: { what: "Es wurde abgebrochen.", safe: "recorded", next: "resume" },
  },
  errorSafe: {
    "nothing-changed": "Auf der Festplatte wurde nichts verändert.",
    recorded:
      "Was bisher getan wurde, ist auf der Festplatte aufgezeichnet, und der Computer startet weiterhin (das alte oder das neue System).",
    "copy-only":
      "Nur die Kopie auf dem USB-Stick ist unvollständig; die Festplatte ist unverändert.",
  },
  errorNext: {
    retry:
      "Versuchen Sie es erneut. Klappt es wieder nicht, schließen Sie später ab oder holen Sie Hilfe.",
    resume:
      "Schließen Sie es ab: wählen Sie „Das unterbrochene Zurücksetzen abschließen“ (jetzt oder nach einem Neustart).",
    passphrase: "Starten Sie neu und geben Sie die Passphrase noch einmal ein.",
    wait: "Warten Sie, bis die andere Arbeit fertig ist, und versuchen Sie es dann erneut.",
    "free-space":
      "Schaffen Sie Platz (oder sichern Sie Ihre Dateien zuerst auf einen USB-Stick) und versuchen Sie es erneut.",
    "other-choice": "Gehen Sie zurück und wählen Sie etwas anderes.",
    "new-plan":
      "Gehen Sie zurück zur Auswahl: ein neuer Plan wird aus dem jetzigen Zustand der Festplatte gemacht.",
    "other-folder": "Geben Sie einen anderen Ordner auf dem USB-Stick ein.",
    support:
      "Öffnen Sie die Experten-Shell oder holen Sie Hilfe; die Einzelheiten unten sagen, was geschehen ist.",
  },
  unexpectedError: (code, message) => `Unerwarteter Fehler ${code}: ${message}`,
  errorSafeLabel: "Sicher:",
  errorNextLabel: "Weiter:",
};

/** `Partition 3` oder `Partitionen 3, 2, 4`. */
function partitionen(numbers: readonly number[]): string {
  return `${numbers.length === 1 ? "Partition" : "Partitionen"} ${numbers.join(", ")}`;
}
