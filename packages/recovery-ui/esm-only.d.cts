// require("@lifeboat/recovery-ui") is refused at run time (see esm-only.cjs): import it instead.
declare const esmOnly: never;
export = esmOnly;
