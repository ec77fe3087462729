/**
 * What runtime this is, and how to start another script under the same one.
 * The only module that looks at `Deno`.
 *
 * @example
 * ```ts
 * const [cmd, ...args] = scriptCommand("server.ts", ["--id", "a"]);
 * spawn(cmd, args);
 * ```
 */
import process from "node:process";

type DenoGlobal = { execPath(): string; version: { deno: string } };
const deno = (globalThis as unknown as { Deno?: DenoGlobal }).Deno;

/** "deno" or "node". */
export function runtimeName(): "deno" | "node" {
  return deno ? "deno" : "node";
}

/** Runtime and version, e.g. "node 24.21.0". */
export function runtimeVersion(): string {
  return deno ? `deno ${deno.version.deno}` : `node ${process.versions.node}`;
}

/** argv that runs `script` with `args` under the current runtime. */
export function scriptCommand(script: string, args: readonly string[] = []): string[] {
  return deno ? [deno.execPath(), "run", "-A", script, ...args] : [process.execPath, script, ...args];
}
