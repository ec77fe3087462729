/**
 * bench/encrypted.ts inside `npm run bench`: every path encrypted beside
 * every path plaintext (clients and peer links), same run, alternating. Its
 * medians go to the ratio table (bench/_ratios.ts: acked adds/s encrypted ÷
 * plaintext, goal ≥ 0.8×; cross-server delivery p50 encrypted ÷ plaintext,
 * goal ≤ 1.2×) and its printed lines to its section.
 *
 * @example
 * ```ts
 * const MEASUREMENTS = [encryptedRows("node"), encryptedRows("deno")];
 * ```
 */
import { startProcess } from "../testing/processes.ts";
import { displayCommand, ROOT, type Runtime, runtimeCommand } from "./_child.ts";
import { record } from "./_ratios.ts";
import type { Context, Measurement, Result } from "./_report.ts";

/** What bench/encrypted.ts --json prints last. */
type Medians = { plainAdds: number; encAdds: number; plainCrossP50: number; encCrossP50: number };

/** The encrypted-versus-plaintext measurement with servers under `rt` (the load under Node). */
export function encryptedRows(rt: Runtime): Measurement {
  return {
    name: `encrypted-${rt}`,
    title: `Encrypted transport beside plaintext, servers under ${rt === "node" ? "Node" : "Deno"}`,
    async run(ctx: Context): Promise<Result> {
      const argv = runtimeCommand("node", "bench/encrypted.ts", ["--runs", String(ctx.runs), "--seconds", ctx.quick ? "1" : "3", "--server-runtime", rt, "--json"]);
      const p = startProcess(argv, { cwd: ROOT, maxStderr: 20_000 });
      const exit = await p.exited;
      const out = p.stdout().trim().split("\n");
      const last = out.at(-1) ?? "";
      if (exit.code !== 0 || !last.startsWith("JSON ")) throw new Error(`${displayCommand(argv)} failed (${exit.code ?? exit.signal}): ${p.stderr().trim().slice(-300)}`);
      const m = JSON.parse(last.slice(5)) as Medians;
      record(`${rt}.plain.adds8`, m.plainAdds);
      record(`${rt}.enc.adds8`, m.encAdds);
      record(`${rt}.plain.cross.p50`, m.plainCrossP50);
      record(`${rt}.enc.cross.p50`, m.encCrossP50);
      return { commands: [displayCommand(argv)], tables: [], notes: out.slice(0, -1).map((l) => l.trim()) };
    },
  };
}
