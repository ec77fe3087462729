/**
 * A server clock a test moves while the server runs: Debian's libfaketime,
 * preloaded, reads the offset from a file (FAKETIME_TIMESTAMP_FILE) and
 * reads it again every second. Both runtimes' wall and monotonic clocks
 * move, so timers due in the skipped time fire at once. `skewedClock`
 * sets one offset for the life of the process (tests/clock_skew_test.ts).
 * Both preload the library rather than run Debian's `faketime` wrapper:
 * the wrapper names its semaphores by PID, a killed server leaves them
 * behind, and a later wrapper whose PID was reused fails to start.
 *
 * @example
 * ```ts
 * const clock = movableClock(tempDir());
 * const srv = await startServer({ wrap: clock.wrap });
 * clock.move("+2h"); // the server's time, a second later at most
 * ```
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where Debian (and a build from source) put the preload library. */
function libfaketime(): string {
  const dirs = ["/usr/lib", "/usr/local/lib", ...readdirSync("/usr/lib").map((d) => join("/usr/lib", d))];
  for (const d of dirs) {
    const lib = join(d, "faketime", "libfaketime.so.1");
    if (existsSync(lib)) return lib;
  }
  throw new Error("this test needs Debian's libfaketime (npm test installs faketime when run as root; else: sudo apt-get install -y faketime)");
}

/** The command prefix that runs a server with its clock `offset` away from the real one for good ("+600s", "-120s"). */
export function skewedClock(offset: string): string[] {
  return ["env", `LD_PRELOAD=${libfaketime()}`, `FAKETIME=${offset}`];
}

/** A clock at the real time for now; `wrap` is the command prefix that runs a server on it. */
export function movableClock(dir: string): { wrap: string[]; move(offset: string): void } {
  const file = join(dir, "faketime.rc");
  const move = (offset: string) => writeFileSync(file, `${offset}\n`);
  move("+0");
  return { wrap: ["env", `LD_PRELOAD=${libfaketime()}`, `FAKETIME_TIMESTAMP_FILE=${file}`, "FAKETIME_CACHE_DURATION=1"], move };
}
