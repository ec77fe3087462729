/**
 * servers.txt: one server per line, `serverId clientAddress peerAddress
 * [webUrl] [key=BASE64]` (docs/PROTOCOL.md "servers.txt"). The optional web
 * URL is the origin of the server's web listener (`http://host:port` or
 * `https://host:port`), which web pages fail over along; the optional key
 * is the server's static public key for the encrypted transport (44
 * characters of base64, `npm run keygen -- --server-key FILE`), which
 * clients and peers pin. The two optional fields may come in either order.
 * `#` starts a comment; blank lines are ignored. A line `serverId retired`
 * names a server that has left the cluster for good (docs/OPERATIONS.md
 * "Adding and retiring a server"): no one sends to it, but the ops it made
 * stay valid history, which a server added later must accept from its peers.
 *
 * @example
 * ```ts
 * const servers = parseServers("a 127.0.0.1:7001 127.0.0.1:7101\n", "servers.txt");
 * servers[0].client; // { host: "127.0.0.1", port: 7001 }
 * ```
 */
import { readFileSync } from "node:fs";
import { fileError } from "./cli.ts";
import { type Address, formatAddress, parseAddress } from "../wire/address.ts";
import { SERVER_ID_RULE, serverIdProblem } from "../wire/names.ts";
import { decodeKey, encodeKey, usablePublicKey } from "../secure/keys.ts";

/** One server of servers.txt; `publicKey` is its static X25519 public key (32 bytes), when the file gives one. */
export type ServerEntry = { id: string; client: Address; peer: Address; web?: string; publicKey?: Uint8Array };

/** What a servers.txt line looks like (error messages). */
const LINE_SHAPE = `"serverId clientAddress peerAddress [webUrl] [key=BASE64]"`;

/** Why `text` is not a web origin (`http[s]://host[:port]`, nothing after), or null. */
export function webUrlProblem(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `"${text}" must start with http:// or https://`;
  if (u.origin !== text.replace(/\/$/, "")) return `"${text}" must be an origin only (scheme, host and port)`;
  return null;
}

/**
 * Where a web URL listens: its host (without brackets) and port (the
 * scheme's when it names none). A server's web listener binds here by
 * default (lib/config/server_flags.ts).
 *
 * @example
 * ```ts
 * webAddress("http://127.0.0.1:8001"); // { host: "127.0.0.1", port: 8001 }
 * ```
 */
export function webAddress(url: string): Address {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || (u.protocol === "https:" ? 443 : 80)) };
}

/** Error in a servers file, naming file and line. */
export class ServersFileError extends SyntaxError {
  constructor(file: string, line: number, problem: string) {
    super(`Cannot read ${file}: line ${line} ${problem}`);
    this.name = "ServersFileError";
  }
}

/** Parses the text of a servers file (its live servers; `retired` lines are left out); `file` names it in errors. */
export function parseServers(text: string, file: string): ServerEntry[] {
  return parseServersFile(text, file).servers;
}

/** A servers file: its live servers in file order, and the ids its `serverId retired` lines name. */
export type ServersFile = { servers: ServerEntry[]; retired: string[] };

/** Parses the text of a servers file, retired lines included; `file` names it in errors. */
export function parseServersFile(text: string, file: string): ServersFile {
  const out: ServerEntry[] = [];
  const retired: string[] = [];
  const seen = new Set<string>();
  /** host:port → whose it is (two sockets cannot share one). */
  const addresses = new Map<string, string>();
  /** Public key (base64) → whose it is. */
  const keys = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const parts = line.split(/\s+/);
    if (parts.length === 2 && parts[1] === "retired") {
      if (serverIdProblem(parts[0])) throw new ServersFileError(file, i + 1, `has a bad server id "${parts[0]}" (${SERVER_ID_RULE})`);
      if (seen.has(parts[0])) throw new ServersFileError(file, i + 1, `repeats server id "${parts[0]}"`);
      seen.add(parts[0]);
      retired.push(parts[0]);
      return;
    }
    if (parts.length < 3 || parts.length > 5) throw new ServersFileError(file, i + 1, `has ${parts.length} fields; expected ${LINE_SHAPE}`);
    const [id, client, peer, ...optional] = parts;
    if (serverIdProblem(id)) throw new ServersFileError(file, i + 1, `has a bad server id "${id}" (${SERVER_ID_RULE})`);
    if (seen.has(id)) throw new ServersFileError(file, i + 1, `repeats server id "${id}"`);
    seen.add(id);
    let entry: ServerEntry;
    try {
      entry = { id, client: parseAddress(client), peer: parseAddress(peer) };
    } catch (e) {
      throw new ServersFileError(file, i + 1, `has a bad address: ${(e as Error).message}`);
    }
    for (const [what, a] of [["client", entry.client], ["peer", entry.peer]] as const) {
      const key = formatAddress(a).toLowerCase();
      const other = addresses.get(key);
      if (other) throw new ServersFileError(file, i + 1, `gives ${what} address ${formatAddress(a)}, which is already ${other}; every address must differ`);
      addresses.set(key, `server ${id}'s ${what} address`);
    }
    for (const field of optional) {
      if (field.startsWith("key=")) {
        if (entry.publicKey !== undefined) throw new ServersFileError(file, i + 1, `has two keys; expected ${LINE_SHAPE}`);
        entry.publicKey = serverKey(field.slice(4), file, i + 1);
        const other = keys.get(field);
        if (other) throw new ServersFileError(file, i + 1, `gives server ${id} the key of server ${other}; every server needs its own (npm run keygen -- --server-key FILE)`);
        keys.set(field, id);
        continue;
      }
      if (entry.web !== undefined) throw new ServersFileError(file, i + 1, `has two web URLs; expected ${LINE_SHAPE}`);
      const problem = webUrlProblem(field);
      if (problem) throw new ServersFileError(file, i + 1, `has a bad web URL: ${problem}`);
      entry.web = new URL(field).origin;
    }
    out.push(entry);
  });
  if (out.length === 0) throw new Error(`Cannot read ${file}: it lists no servers`);
  return { servers: out, retired };
}

/** The 32 bytes of a `key=` field's value, or a ServersFileError. */
function serverKey(text: string, file: string, line: number): Uint8Array {
  const key = decodeKey(text);
  if (key === null) throw new ServersFileError(file, line, `has a bad key: "${text}" is not 44 characters of base64 (npm run keygen -- --server-key FILE prints a server's key=BASE64)`);
  if (!usablePublicKey(key)) throw new ServersFileError(file, line, `has a bad key: "${text}" is not a usable X25519 public key (npm run keygen -- --server-key FILE makes one)`);
  return key;
}

/** The `key=BASE64` field of a servers.txt line for `publicKey`. */
export function keyField(publicKey: Uint8Array): string {
  return `key=${encodeKey(publicKey)}`;
}

/** Reads and parses a servers file: its live servers. */
export function readServers(file: string): ServerEntry[] {
  return readServersFile(file).servers;
}

/** Reads and parses a servers file, retired lines included. */
export function readServersFile(file: string): ServersFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`Cannot read the servers file ${file}: ${fileError(e)} (give another with --servers FILE)`);
  }
  return parseServersFile(text, file);
}
