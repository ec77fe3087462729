/**
 * A simple scanner over the project's formatted source, for the checks of
 * tests/layers_test.ts: which lib folders a file imports, how long each
 * function is, how many lines a file has. It reads text, not a syntax
 * tree: imports are `from "…"` / `import "…"` / `import("…")` specifiers,
 * and a function is a line that opens one (`function f(`, a method
 * `name(…) {`, `… => {`) and ends with `{`, running to the next line of
 * its indentation or less — which holds for this repository's two-space
 * indented source.
 *
 * @example
 * ```ts
 * importedFolders("lib/server/commit.ts", text); // [{ folder: "wire", file: "lib/wire/messages.ts", line: 30 }]
 * longFunctions(text, 80);                       // [{ line: 12, lines: 95, head: "export function f() {" }]
 * ```
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** One import of a lib file: the folder of lib/ it reaches, the file, and the line it is on. */
export type ImportEdge = { folder: string; file: string; line: number };

/** A function longer than allowed: where it starts, its length in lines, and its first line. */
export type LongFunction = { line: number; lines: number; head: string };

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;

/** The lib folder of a repository path ("lib/server/commit.ts" → "server"), or null outside lib/. */
export function folderOf(path: string): string | null {
  const parts = normalize(path).split(/[\\/]/);
  return parts[0] === "lib" && parts.length > 2 ? parts[1] : null;
}

/** The lib files that `path` (a repository path) imports, with the folder of each. */
export function importedFolders(path: string, text: string): ImportEdge[] {
  const out: ImportEdge[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    for (const m of lines[i].matchAll(SPECIFIER)) {
      if (!m[1].startsWith(".")) continue;
      const file = normalize(join(dirname(path), m[1])).split("\\").join("/");
      const folder = folderOf(file);
      if (folder !== null) out.push({ folder, file, line: i + 1 });
    }
  }
  return out;
}

/** Lines that open a function: a declaration, a method or an arrow function whose body starts on the line. */
const OPENER = new RegExp(
  "^(\\s*)(?:" + [
    "(?:export\\s+)?(?:default\\s+)?(?:async\\s+)?function\\b.*",
    "(?:(?:static|async|get|set|private|public|protected|readonly|override)\\s+)*\\*?#?[\\w$]+\\s*(?:<.*>)?\\s*\\(.*\\)\\s*(?::\\s*.+)?",
    ".*=>\\s*",
  ].join("|") + ")\\{\\s*$",
);
/** The last line of a signature written over several lines: `) {`, `): Type {`. */
const SIGNATURE_END = /^(\s*)\)(?:\s*:.*)?\s*\{\s*$/;
const NOT_A_FUNCTION = /^\s*(?:(?:if|for|while|switch|catch|else|do|try|return|case|default)\b|[})\]])/;

const indentOf = (line: string) => line.length - line.trimStart().length;

/** Functions of `text` longer than `max` lines (from the first line of the signature to the closing line). */
export function longFunctions(text: string, max: number): LongFunction[] {
  const lines = text.split("\n");
  const out: LongFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let start = i;
    const end = SIGNATURE_END.exec(lines[i]);
    if (end) {
      // The signature began on the line above at the same indentation (`name(`, `function f(`).
      while (start > 0 && indentOf(lines[start - 1]) > end[1].length) start--;
      start = Math.max(0, start - 1);
    } else if (!OPENER.test(lines[i]) || NOT_A_FUNCTION.test(lines[i])) continue;
    const indent = indentOf(lines[i]);
    let j = i + 1;
    while (j < lines.length && (lines[j].trim() === "" || indentOf(lines[j]) > indent)) j++;
    const length = j - start + 1;
    if (length > max) out.push({ line: start + 1, lines: length, head: lines[start].trim() });
  }
  return out;
}

/** Every file under `dir` (a repository path) whose name ends with one of `extensions`, as repository paths. */
export function sourceFiles(root: string, dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(join(root, d)).sort()) {
      const p = join(d, name);
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (extensions.some((e) => name.endsWith(e))) out.push(relative(".", p).split("\\").join("/"));
    }
  };
  walk(dir);
  return out;
}

/** The text of a repository path. */
export function readSource(root: string, path: string): string {
  return readFileSync(join(root, path), "utf8");
}
