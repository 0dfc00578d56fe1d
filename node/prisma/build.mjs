// Runs after `npm ci`: generates the Prisma client and compiles it to one JavaScript module,
// as an app's build would (Node 20 cannot import the generated TypeScript).
//
// `prisma generate` does not run the schema engine, but tries to download it first and fails
// offline; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file (here Node itself) skips
// the download. The client's query compiler is WebAssembly inside @prisma/client.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
};
try {
  execFileSync(process.execPath, ["node_modules/prisma/build/index.js", "generate", "--schema", "prisma/schema.prisma"],
    { cwd: root, env, stdio: "pipe" });
} catch (error) {
  process.stderr.write(`prisma generate failed:\n${error.stdout}${error.stderr}`);
  process.exit(1);
}
await build({
  entryPoints: [`${root}generated/prisma/client.ts`],
  outfile: `${root}generated/prisma-client.mjs`,
  bundle: true, platform: "node", format: "esm", packages: "external", logLevel: "warning",
});
