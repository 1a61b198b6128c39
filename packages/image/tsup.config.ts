import { defineConfig } from "tsup";
import { workerDefines } from "../../scripts/bundle-defines.js";

export default defineConfig({
  entry: ["src/index.ts", "src/layout.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The worker thread's module, bundled into the code that starts it.
  define: workerDefines(["__LIFEBOAT_HASH_WORKER__"]),
});
