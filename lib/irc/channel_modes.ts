/**
 * A channel's modes and its members' prefixes as IRC shows them, from a
 * DistChat `room` reply (docs/PROTOCOL.md "Moderation"): its mode word
 * ("+isl5") and its role lines (`~owner`, `@operator`, `%voiced`, and the
 * settings `*m`, `*-t`, `*-n`, `*k` / `*k=KEY`, `*created=MS`). Pure.
 *
 * @example
 * channelModes("+l5", ["*m", "*k=beer"]); // { flags: "+kmntl", args: ["beer", "5"] }
 */
import { nameKey } from "./names.ts";

/** RPL_CHANNELMODEIS's flags and arguments: `i m n s t` as set, then `k` and `l` with theirs (a key only when the reply shows it). */
export function channelModes(mode: string, roles: readonly string[]): { flags: string; args: string[] } {
  const has = (r: string) => roles.includes(r);
  const key = roles.find((r) => r === "*k" || r.startsWith("*k="));
  const limit = /l([0-9]+)/.exec(mode);
  let flags = "+" + (mode.includes("i") ? "i" : "") + (has("*m") ? "m" : "") + (has("*-n") ? "" : "n") + (mode.includes("s") ? "s" : "") +
    (has("*-t") ? "" : "t");
  const args: string[] = [];
  if (key !== undefined) {
    flags += "k";
    if (key.startsWith("*k=")) args.push(key.slice(3));
  }
  if (limit !== null) {
    flags += "l";
    args.push(limit[1]);
  }
  return { flags, args };
}

/** When the room was made (ms), from its `*created=MS` line, or null when the reply has none. */
export function createdAt(roles: readonly string[]): number | null {
  const line = roles.find((r) => r.startsWith("*created="));
  const ms = line === undefined ? NaN : Number(line.slice("*created=".length));
  return Number.isSafeInteger(ms) ? ms : null;
}

/** Each member's prefixes ("@", "+" or "@+"), by name key: `~`/`@` roles are operators, `%` voiced. */
export function memberPrefixes(roles: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of roles) if (r.startsWith("~") || r.startsWith("@")) out.set(nameKey(r.slice(1)), "@");
  for (const r of roles) if (r.startsWith("%")) out.set(nameKey(r.slice(1)), (out.get(nameKey(r.slice(1))) ?? "") + "+");
  return out;
}

/** A member's prefix in NAMES: all of them with multi-prefix, else the highest. */
export function namesPrefix(prefixes: string, multi: boolean): string {
  return multi ? prefixes : prefixes.slice(0, 1);
}
