/**
 * Command lines of every entry script (server, client, npm start, status,
 * keygen, chaos, benchmarks): one table per script — each flag's name,
 * type, default and help text — from which both the parsing (node:util
 * parseArgs) and `--help` are made, so the help cannot drift from what is
 * parsed. `--help` prints the usage and exits 0; a bad flag prints one line
 * naming it and the usage, and exits 2, never a stack trace.
 *
 * @example
 * ```ts
 * const STATUS = defineCommand({ name: "status", about: "Asks every server for its state.", usage: "npm run status -- [flags]",
 *   flags: { servers: { type: "string", value: "FILE", default: "servers.txt", help: "the cluster" } } });
 * const { values } = parseCommandLine(STATUS);
 * ```
 */
import process from "node:process";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** One flag: how parseArgs reads it, what its value looks like and what it does. */
export type Flag = {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Applied when the flag is not given, and shown in the help as "(default …)". */
  default?: string | boolean;
  /** The value's placeholder in the help: FILE, N, HOST:PORT (strings only; default VALUE). */
  value?: string;
  /** What the flag does; wrapped to the help's width. A default not in `default` belongs here. */
  help: string;
};

/** The flags of one entry script, by long name. */
export type FlagTable = Record<string, Flag>;

/** An entry script's command line: its flags and the words around them in `--help`. */
export type Command<F extends FlagTable = FlagTable> = {
  /** Prefixes error lines: "status: …". */
  name: string;
  /** The help's first paragraph. */
  about: string;
  /** How to run it, after "usage: ". */
  usage: string;
  flags: F;
  /** Arguments that are not flags (listed before the flags); none allowed when absent. */
  positionals?: { name: string; help: string }[];
  /** The help's last paragraphs ("\n\n" between them; one starting with a space is kept as written). */
  notes?: string;
};

/** The help's width, and where the text of each flag starts at most. */
const WIDTH = 100;
const MAX_LEFT = 30;

/** Builds a command (a typed identity: keeps the flags' literal types for parseCommandLine). */
export function defineCommand<F extends FlagTable>(c: Command<F>): Command<F> {
  return c;
}

/** `text` wrapped to lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return line === "" ? lines : [...lines, line];
}

/** The left column of a flag: "-u, --user NAME", or "    --servers FILE" in a table with short flags. */
function flagColumn(name: string, f: Flag, shorts: boolean): string {
  const value = f.type === "string" ? ` ${f.value ?? "VALUE"}` : "";
  return `${f.short ? `-${f.short}, ` : shorts ? "    " : ""}--${name}${value}`;
}

/** Rows of a two-column table: the right text wrapped, starting at the same column. */
function table(rows: [string, string][]): string[] {
  const left = Math.min(MAX_LEFT, Math.max(...rows.map(([l]) => l.length)));
  const out: string[] = [];
  const indent = (t: string) => " ".repeat(left + 4) + t;
  for (const [l, r] of rows) {
    const text = wrap(r, WIDTH - left - 4);
    if (l.length <= left) out.push(`  ${l.padEnd(left)}  ${text[0] ?? ""}`, ...text.slice(1).map(indent));
    else out.push(`  ${l}`, ...text.map(indent));
  }
  return out.map((l) => l.trimEnd());
}

/** What `--help` prints: about, usage, the positionals and flags (each with its default), notes. */
export function helpText(c: Command): string {
  const rows: [string, string][] = (c.positionals ?? []).map((p) => [p.name, p.help]);
  const shorts = Object.values(c.flags).some((f) => f.short);
  for (const [name, f] of Object.entries(c.flags)) {
    const shown = f.type === "string" && f.default !== undefined ? ` (default ${/^[^\s"]+$/.test(f.default as string) ? f.default : JSON.stringify(f.default)})` : "";
    rows.push([flagColumn(name, f, shorts), f.help + shown]);
  }
  rows.push(["-h, --help", "this text"]);
  const parts = [wrap(c.about, WIDTH).join("\n"), `usage: ${c.usage}`, table(rows).join("\n")];
  // A paragraph that starts with a space (an example command) is kept as written.
  if (c.notes) parts.push(c.notes.split("\n\n").map((p) => p.startsWith(" ") ? p : wrap(p, WIDTH).join("\n")).join("\n\n"));
  return parts.join("\n\n") + "\n";
}

/** The flags as parseArgs takes them (the help's words left out). */
function descriptors<F extends FlagTable>(flags: F): F {
  const out: ParseArgsOptionsConfig = {};
  for (const [name, { type, short, multiple, default: d }] of Object.entries(flags)) {
    out[name] = { type, ...(short ? { short } : {}), ...(multiple ? { multiple } : {}), ...(d !== undefined ? { default: d } : {}) } as ParseArgsOptionsConfig[string];
  }
  return out as F;
}

/** Parses `argv` by the table, throwing parseArgs' error (first line) followed by the usage; `--help` is not handled here. */
export function parseFlags<F extends FlagTable>(c: Command<F>, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: descriptors(c.flags), strict: true, allowPositionals: c.positionals !== undefined });
  } catch (e) {
    throw new Error(`${(e as Error).message.split("\n")[0]}; usage: ${c.usage} (--help for more)`);
  }
}

/** True when `argv` asks for the help (before a "--"). */
export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  const own = end < 0 ? argv : argv.slice(0, end);
  return own.includes("--help") || own.includes("-h");
}

/** Parses `argv` (default: this process's arguments) by the command's table or exits: 0 after --help, 2 after a bad flag. */
export function parseCommandLine<F extends FlagTable>(c: Command<F>, argv: string[] = process.argv.slice(2)) {
  if (wantsHelp(argv)) {
    process.stdout.write(helpText(c));
    process.exit(0);
  }
  try {
    return parseFlags(c, argv);
  } catch (e) {
    return fail(c.name, (e as Error).message);
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
