/**
 * The flood of bench/account_cost.ts in a process of its own (so it does not
 * share an event loop with the user being measured): testing/attacks.ts
 * `floodAuth` from HOST at RATE a second for SECONDS, for user NAME. Prints
 * {ready}, starts on "go", prints {sent, replies, limited} at the end.
 *
 *   node bench/_auth_flood.ts PORT HOST RATE SECONDS NAME
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { floodAuth } from "../testing/attacks.ts";

const [portArg, host, rateArg, secondsArg, name] = process.argv.slice(2);
process.stdout.write(JSON.stringify({ ready: true }) + "\n");
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).on("line", (l) => l.trim() === "go" && resolve()));
const result = await floodAuth({ to: { host: "127.0.0.1", port: Number(portArg) }, hosts: [host], userName: name, rate: Number(rateArg), seconds: Number(secondsArg) });
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
