/**
 * `@lifeboat/grub`: GRUB scripts with correct quoting, the recovery and
 * factory-reset menu entries, the `/etc/grub.d` script that keeps them
 * across `grub2-mkconfig`, and BLS snippets.
 *
 * @module @lifeboat/grub
 */
export {
  type BlsEntry,
  type BlsEntryFields,
  type BlsLine,
  blsField,
  blsFields,
  blsKernelArgs,
  createBlsEntry,
  factoryResetBlsEntry,
  parseBlsEntry,
  renderBlsEntry,
  setBlsKernelArgs,
} from "./bls.js";
export {
  checkKernelArg,
  kernelArgToGrubWord,
  parseKernelCommandLine,
  renderKernelCommandLine,
  rootflagsSubvol,
  setKernelArg,
  setRootflagsSubvol,
} from "./cmdline.js";
export {
  type FactoryResetEntryOptions,
  factoryResetMenuEntry,
  type RecoveryEntryOptions,
  type RecoveryMenuOptions,
  type RecoveryPartitionRef,
  type RecoverySource,
  recoveryMenu,
  recoveryMenuEntry,
  recoverySearch,
} from "./entries.js";
export {
  GRUB_TOKEN_MAX_BYTES,
  type GrubBadKernelArgsError,
  type GrubBlsInvalidError,
  type GrubEnvInvalidError,
  type GrubError,
  type GrubNoBlsEntryError,
  type GrubRenderError,
  type GrubScriptInvalidError,
  type GrubUnrepresentableError,
  type UnrepresentableReason,
} from "./errors.js";
export {
  FS_UUID_PLACEHOLDER,
  type GrubdScript,
  type GrubdScriptOptions,
  renderGrubdScript,
} from "./grubd.js";
export {
  editGrubenv,
  type GrubEnv,
  parseGrubenv,
  renderGrubenv,
  updateGrubenv,
} from "./grubenv.js";
export {
  checkGrubScript,
  type GrubdInstallOptions,
  type GrubFileChange,
  type GrubWriteOptions,
  installGrubdScript,
  removeGrubdScript,
  writeBlsEntry,
  writeGrubConfig,
} from "./install.js";
export {
  CUSTOM_CFG_BEGIN,
  CUSTOM_CFG_END,
  FACTORY_RESET_MODE_ARG,
  type InstalledBootEntry,
  installLifeboatCustomCfg,
  type LifeboatMenuOptions,
  lifeboatMenuEntries,
  parseKernelArgsOption,
  readNewestBlsEntry,
  renderLifeboatCustomCfg,
  renderLifeboatGrubdScript,
} from "./lifeboat-menu.js";
export { quoteGrubWord } from "./quote.js";
export {
  type GrubCommand,
  type GrubEntryOptions,
  type GrubVariable,
  type GrubWord,
  renderGrubScript,
  renderGrubWord,
} from "./script.js";
