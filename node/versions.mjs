// Installed package versions, read from node_modules (recorded with every result).
import { readFileSync } from "node:fs";

const root = new URL("./node_modules/", import.meta.url);

/** The version of `name` as installed at node_modules/<name> (optionally nested under `within`). */
export function packageVersion(name, within = "") {
  const path = new URL(`${within ? `${within}/node_modules/` : ""}${name}/package.json`, root);
  return JSON.parse(readFileSync(path, "utf8")).version;
}
