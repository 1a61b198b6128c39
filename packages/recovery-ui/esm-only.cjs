// require("@lifeboat/recovery-ui") lands here: the package is ESM-only (Ink,
// which it renders with, loads its layout engine with a top-level await,
// which require() cannot wait for).
throw new Error(
  '@lifeboat/recovery-ui is ESM-only: load it with import() or from an ES module (import { runRecoveryUi } from "@lifeboat/recovery-ui"), not with require().',
);
