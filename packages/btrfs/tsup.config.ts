import { defineConfig } from "tsup";
import { btrfsCDefine } from "../../scripts/bundle-defines.js";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The C files inside the build too, for bundlers that take dist/ without c/.
  define: btrfsCDefine(),
});
