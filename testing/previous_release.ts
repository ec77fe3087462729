/**
 * The previous release of DistChat, for rolling-upgrade tests: the last
 * commit whose peers speak protocol version 1, unpacked with `git archive`
 * into a directory (the repository is only read), with this checkout's
 * node_modules linked in. Its server.ts runs beside this one's.
 *
 * @example
 * ```ts
 * const old = unpackPreviousRelease(tempDir());
 * await startServer({ id: "c", servers, command: old.command });
 * ```
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { ROOT } from "./harness.ts";

/** The last commit whose peers speak protocol version 1 (main before issue 24's versions). */
export const PREVIOUS_RELEASE = "a35514899278a0f7b86aed037296e34d94f94361";

export type PreviousRelease = {
  root: string;
  /** argv that runs its server.ts with `args`, under this runtime (for startServer's `command`). */
  command: (args: string[]) => string[];
};

/** Unpacks PREVIOUS_RELEASE into `<dir>/previous`; throws saying why when git or the commit is missing. */
export function unpackPreviousRelease(dir: string): PreviousRelease {
  const root = join(dir, "previous");
  mkdirSync(root);
  const r = spawnSync("sh", ["-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", ROOT, PREVIOUS_RELEASE, root], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`cannot unpack the previous release ${PREVIOUS_RELEASE} (git archive): ${r.stderr || r.error?.message}`);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return { root, command: (args) => scriptCommand(join(root, "server.ts"), args) };
}
