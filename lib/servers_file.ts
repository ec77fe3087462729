/**
 * servers.txt: one server per line, `serverId clientAddress peerAddress`
 * (PROTOCOL.md "servers.txt"). `#` starts a comment; blank lines are ignored.
 *
 * @example
 * ```ts
 * const servers = parseServers("a 127.0.0.1:7001 127.0.0.1:7101\n", "servers.txt");
 * servers[0].client; // { host: "127.0.0.1", port: 7001 }
 * ```
 */
import { readFileSync } from "node:fs";

export type Address = { host: string; port: number };
export type ServerEntry = { id: string; client: Address; peer: Address };

const SERVER_ID = /^[a-z0-9][a-z0-9_-]{0,15}$/;

/** Error in a servers file, naming file and line. */
export class ServersFileError extends SyntaxError {
  constructor(file: string, line: number, problem: string) {
    super(`Cannot read ${file}: line ${line} ${problem}`);
    this.name = "ServersFileError";
  }
}

/** Parses `host:port`; throws RangeError/SyntaxError with a readable message. */
export function parseAddress(text: string): Address {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:]+):(\d{1,5})$/.exec(text);
  if (!m) throw new SyntaxError(`"${text}" is not host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`port ${port} is outside 1..65535`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** `host:port` form of an address. */
export function formatAddress(a: Address): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses the text of a servers file; `file` names it in errors. */
export function parseServers(text: string, file: string): ServerEntry[] {
  const out: ServerEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) {
      throw new ServersFileError(file, i + 1, `has ${parts.length} fields; expected "serverId clientAddress peerAddress"`);
    }
    const [id, client, peer] = parts;
    if (!SERVER_ID.test(id)) throw new ServersFileError(file, i + 1, `has a bad server id "${id}"`);
    if (seen.has(id)) throw new ServersFileError(file, i + 1, `repeats server id "${id}"`);
    seen.add(id);
    try {
      out.push({ id, client: parseAddress(client), peer: parseAddress(peer) });
    } catch (e) {
      throw new ServersFileError(file, i + 1, `has a bad address: ${(e as Error).message}`);
    }
  });
  if (out.length === 0) throw new Error(`Cannot read ${file}: it lists no servers`);
  return out;
}

/** Reads and parses a servers file. */
export function readServers(file: string): ServerEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`Cannot read ${file}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  return parseServers(text, file);
}
