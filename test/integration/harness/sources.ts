import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** tsx's loader, resolved from this repository (a child's working folder may be elsewhere). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * Node arguments that run the TypeScript file `script` from sources through tsx, so tests start
 * child processes without a build: `spawn(process.execPath, [...runSources(script), ...args])`.
 */
export function runSources(script: string): string[] {
  return ["--import", TSX, script];
}
