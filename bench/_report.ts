/**
 * What a benchmark measurement is, and how its results become BENCHMARKS.md.
 * Each measurement module (bench/limits.ts, bench/irc.ts, later the DistChat
 * ones) exports `Measurement`s; bench/run.ts runs them in order.
 *
 * @example
 * ```ts
 * const m: Measurement = { name: "x", title: "X", run: async (ctx) => ({ commands: [], tables: [] }) };
 * ```
 */

/** What every measurement gets from the driver. */
export type Context = {
  /** --quick: fewer runs, shorter bursts (the whole bench in about 2.5 minutes). */
  quick: boolean;
  /** How many times each measurement is repeated (median, min–max reported). */
  runs: number;
  /** A temp dir for this bench run, removed at the end. */
  tmp: string;
  /** Progress line on stderr. */
  log(line: string): void;
};

export type Table = { caption?: string; head: string[]; rows: string[][] };

/** One section of BENCHMARKS.md. */
export type Result = {
  /** Exact commands the measurement ran (child processes, servers). */
  commands: string[];
  tables: Table[];
  notes?: string[];
  /** Versions of the programs measured, e.g. { ngircd: "26.1" }. */
  versions?: Record<string, string>;
};

export type Measurement = {
  /** Short id for --only, e.g. "limits-node". */
  name: string;
  /** Section heading. */
  title: string;
  run(ctx: Context): Promise<Result>;
  /** Left out of --quick runs (unless named in --only). */
  fullOnly?: boolean;
};

/** A markdown table. */
export function renderTable(t: Table): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    ...(t.caption ? [t.caption, ""] : []),
    `| ${t.head.map(esc).join(" | ")} |`,
    `|${t.head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** A section: heading, tables, notes, commands. */
export function renderSection(title: string, r: Result | Error, seconds: number): string {
  if (r instanceof Error) return `## ${title}\n\n**Failed:** ${r.message}\n`;
  const parts = [`## ${title}`, ...r.tables.map(renderTable)];
  if (r.notes?.length) parts.push(r.notes.map((n) => `- ${n}`).join("\n"));
  if (r.commands.length) {
    parts.push(`Commands (${seconds.toFixed(0)} s):\n\n\`\`\`sh\n${[...new Set(r.commands)].join("\n")}\n\`\`\``);
  }
  return parts.join("\n\n") + "\n";
}
