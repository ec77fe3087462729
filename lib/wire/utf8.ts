/** Bytes of `s` in UTF-8, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * `s` cut (by whole UTF-16 units from its end) to at most `max` UTF-8 bytes,
 * as IRC servers cut a topic or a reason to their length.
 *
 * @example
 * utf8Clip("héllo", 3); // "hé"
 */
export function utf8Clip(s: string, max: number): string {
  let out = s;
  while (utf8Length(out) > max) out = out.slice(0, -1);
  return out;
}
