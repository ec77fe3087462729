/**
 * The client's `--key-file`: room passphrases, so they need not be typed.
 *
 * Format (docs/SEALED_FORMAT.md "Key files"): one `room passphrase` per line —
 * the room is the first word, the passphrase the rest of the line with
 * surrounding white space removed (inner spaces are kept). Room `*` gives the
 * passphrase of every room without its own line. A file whose only line is a
 * single word is that passphrase for every room. Blank lines and lines whose
 * first non-blank character is `#` are ignored.
 *
 * @example
 * ```ts
 * const keys = parseKeyFile("lobby correct horse battery staple\n* hunter2\n", "keys.txt");
 * keys.passphraseFor("Lobby"); // "correct horse battery staple"
 * keys.passphraseFor("annex"); // "hunter2"
 * ```
 */
import { readFileSync, statSync } from "node:fs";
import process from "node:process";
import { nameKey, ROOM_NAME } from "../wire/names.ts";

/** A key file's text does not parse; `line` is 1-based. */
export class KeyFileError extends SyntaxError {
  line: number;
  constructor(file: string, line: number, problem: string) {
    super(`Cannot read key file ${file}: ${line > 0 ? `line ${line} ` : ""}${problem}`);
    this.name = "KeyFileError";
    this.line = line;
  }
}

/** The passphrases of a key file. */
export type KeyFile = {
  /** Rooms named in the file, as written. */
  rooms: string[];
  /** The passphrase for `room` (case-insensitive), or null. */
  passphraseFor(room: string): string | null;
  /** Problems worth a warning, e.g. a file others can read. */
  warnings: string[];
};


/** Parses key-file text; `file` names it in errors. Throws KeyFileError. */
export function parseKeyFile(text: string, file = "key file"): KeyFile {
  const byRoom = new Map<string, string>();
  const rooms: string[] = [];
  let fallback: string | null = null;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const used = lines.map((l, i) => [l.trim(), i + 1] as const).filter(([l]) => l !== "" && !l.startsWith("#"));
  if (used.length === 0) throw new KeyFileError(file, 0, "has no passphrase");
  if (used.length === 1 && !/\s/.test(used[0][0])) {
    fallback = used[0][0];
  } else {
    for (const [line, n] of used) {
      const m = /^(\S+)\s+(.+)$/.exec(line);
      if (!m) {
        throw new KeyFileError(file, n, `has a room but no passphrase (write "room passphrase" or "* passphrase")`);
      }
      const [, room, passphrase] = m;
      if (room === "*") {
        if (fallback !== null) throw new KeyFileError(file, n, "gives a second passphrase for *");
        fallback = passphrase;
        continue;
      }
      if (!ROOM_NAME.test(room)) throw new KeyFileError(file, n, `has an invalid room name "${room}"`);
      if (byRoom.has(nameKey(room))) throw new KeyFileError(file, n, `gives a second passphrase for room ${room}`);
      byRoom.set(nameKey(room), passphrase);
      rooms.push(room);
    }
  }
  return {
    rooms,
    passphraseFor: (room) => byRoom.get(nameKey(room)) ?? fallback,
    warnings: [],
  };
}

/**
 * Reads and parses a key file. Throws KeyFileError with one clear line when
 * it cannot be read or parsed; warns (in `warnings`) when others may read it.
 */
export function readKeyFile(path: string): KeyFile {
  let text: string;
  let mode = 0;
  try {
    text = readFileSync(path, "utf8");
    mode = statSync(path).mode;
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new KeyFileError(path, 0, code === "ENOENT" ? "does not exist" : `cannot be opened (${code ?? e})`);
  }
  const keys = parseKeyFile(text, path);
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    keys.warnings.push(`key file ${path} can be read by other users; chmod 600 ${path}`);
  }
  return keys;
}
