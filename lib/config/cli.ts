/**
 * Command lines of every entry script (server, client, npm start, status,
 * benchmarks): node:util parseArgs, plus what a person expects — `--help`
 * prints the usage and exits 0, and a bad flag prints one line naming it
 * and the usage, and exits 2, never a stack trace.
 *
 * @example
 * ```ts
 * const { values } = parseCommandLine("status", HELP, { servers: { type: "string", default: "servers.txt" } });
 * ```
 */
import process from "node:process";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Parses `argv` (default: this process's arguments) or exits: 0 after --help, 2 after a bad flag. */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  name: string,
  help: string,
  options: O,
  o: { allowPositionals?: boolean; argv?: string[] } = {},
) {
  const args = o.argv ?? process.argv.slice(2);
  const end = args.indexOf("--");
  const own = end < 0 ? args : args.slice(0, end);
  if (own.includes("--help") || own.includes("-h")) {
    process.stdout.write(help.endsWith("\n") ? help : help + "\n");
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: o.allowPositionals ?? false });
  } catch (e) {
    const usage = help.split("\n").find((l) => l.startsWith("usage:")) ?? "";
    return fail(name, `${(e as Error).message.split("\n")[0]}${usage ? `; ${usage}` : ""} (--help for more)`);
  }
}

/** Prints `name: message` to stderr and exits with `code` (2: a usage error). */
export function fail(name: string, message: string, code = 2): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(code);
}

/** Why a file could not be read or written, in words ("no such file", "permission denied", …). */
export function fileError(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    default:
      return (e as Error).message;
  }
}
