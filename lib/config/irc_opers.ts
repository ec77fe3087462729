/**
 * irc-opers.txt: the IRC operators of one server's IRC listener (docs/IRC.md
 * "Operators", docs/OPERATIONS.md "IRC operators"). One operator a line,
 * `NAME SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY` — the name given
 * to `OPER NAME PASSWORD` and the password's SCRAM-SHA-256 verifier in the
 * RFC 5803 form (base64 fields), the same salted, slow PBKDF2 verifier
 * DistChat keeps for accounts: the file holds no password, and no password
 * goes through argv (`npm run keygen -- --irc-oper NAME` reads it from stdin
 * and prints the line). `#` starts a comment; blank lines are ignored.
 *
 * @example
 * ```ts
 * const opers = parseOpersFile("alice SCRAM-SHA-256$600000:c2FsdA==$…:…\n", "irc-opers.txt");
 * opers.get("alice")?.iterations; // 600000
 * ```
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fromBase64 } from "../wire/base64.ts";
import { MAX_ITERATIONS, MIN_ITERATIONS, type WireVerifier } from "../wire/messages.ts";
import { fileError } from "./cli.ts";

/** IRC operators by name (as OPER gives it, case-sensitive), each with the verifier of its password. */
export type IrcOpers = ReadonlyMap<string, WireVerifier>;

/** What an operator name may be: what an IRC parameter can carry, without `$` or `:`. */
const OPER_NAME = /^[A-Za-z0-9_.\-\[\]{}|^`\\]{1,64}$/;
const LINE_SHAPE = `"NAME SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY" (npm run keygen -- --irc-oper NAME prints one)`;

/** The irc-opers.txt line of operator `name` whose password has verifier `v` (RFC 5803's form). */
export function operLine(name: string, v: WireVerifier): string {
  return `${name} SCRAM-SHA-256$${v.iterations}:${v.salt}$${v.storedKey}:${v.serverKey}`;
}

/** Parses an operators file; throws an Error naming `file` and the line for a bad one. */
export function parseOpersFile(text: string, file: string): IrcOpers {
  const out = new Map<string, WireVerifier>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const bad = (why: string) => new Error(`${file} line ${i + 1}: ${why}; each line is ${LINE_SHAPE}`);
    const [name, hash, ...rest] = line.split(/\s+/);
    if (hash === undefined || rest.length > 0) throw bad("expected two fields");
    if (!OPER_NAME.test(name)) throw bad(`"${name}" is not an operator name (1-64 letters, digits and _.-[]{}|^\`\\)`);
    if (out.has(name)) throw bad(`operator "${name}" is given twice`);
    const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(hash);
    if (m === null) throw bad("the password field is not a SCRAM-SHA-256 verifier");
    const iterations = Number(m[1]);
    if (!(iterations >= MIN_ITERATIONS && iterations <= MAX_ITERATIONS)) throw bad(`iterations must be ${MIN_ITERATIONS}-${MAX_ITERATIONS}`);
    const [salt, storedKey, serverKey] = [m[2], m[3], m[4]];
    if (fromBase64(salt) === null || fromBase64(storedKey)?.length !== 32 || fromBase64(serverKey)?.length !== 32) throw bad("a field is not base64 of the right length");
    out.set(name, { salt, iterations, storedKey, serverKey });
  });
  return out;
}

/** Where the operators file is by default: irc-opers.txt beside the servers file. */
export function defaultOpersFile(serversFile: string): string {
  return join(dirname(serversFile), "irc-opers.txt");
}

/**
 * The operators of `file` (`--irc-opers FILE`), or of irc-opers.txt beside
 * the servers file when there is one (`file` null); none without either.
 */
export function readOpersFile(file: string | null, serversFile: string): IrcOpers {
  const path = file ?? defaultOpersFile(serversFile);
  if (file === null && !existsSync(path)) return new Map();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`Cannot read the IRC operators file ${path}: ${fileError(e)} (--irc-opers FILE)`);
  }
  return parseOpersFile(text, path);
}
