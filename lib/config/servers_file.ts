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
import { type Address, parseAddress } from "../net/address.ts";
import { SERVER_ID_RULE, serverIdProblem } from "../wire/names.ts";

export type ServerEntry = { id: string; client: Address; peer: Address };


/** Error in a servers file, naming file and line. */
export class ServersFileError extends SyntaxError {
  constructor(file: string, line: number, problem: string) {
    super(`Cannot read ${file}: line ${line} ${problem}`);
    this.name = "ServersFileError";
  }
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
    if (serverIdProblem(id)) throw new ServersFileError(file, i + 1, `has a bad server id "${id}" (${SERVER_ID_RULE})`);
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
