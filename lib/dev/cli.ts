#!/usr/bin/env bun
// The `bunflare` command: `dev` serves a Worker, `kv`, `d1` and `r2` work on the
// local state. Flag names follow wrangler's.

import { parseArgs, type ParseArgsConfig } from "node:util";
import packageJson from "../../package.json" with { type: "json" };
import { BuildError, ConfigError, loadConfig, logSecretSources, type WorkerConfig } from "../config.ts";
import { openStorage } from "../env.ts";
import { PortInUseError, startWorker } from "../worker.ts";
import { KV_USAGE, runKvCommand } from "./kv-command.ts";
import { D1_USAGE, runD1Command } from "./d1-command.ts";
import { runCacheCommand } from "./cache-command.ts";
import { loadProjectConfig, PROJECT_CONFIG_FILE } from "./project-config.ts";
import { runQueuesCommand } from "./queues-command.ts";
import { runR2Command } from "./r2-command.ts";
import { runWorkflowsCommand } from "./workflows-command.ts";
import { describeError } from "../execution-context.ts";
import { log, setLogLevel } from "../log.ts";

const USAGE = `Usage: bunflare <command> [options]

Commands:
  bunflare dev        Serve the Worker locally, reloading on changes
  bunflare kv         Work with local KV namespaces
  bunflare d1         Work with local D1 databases
  bunflare cache      Purge the local Cache API storage
  bunflare queues     Work with local queues
  bunflare r2         Work with local R2 objects
  bunflare workflows  Work with local Workflow instances

Options:
  -h, --help          Show help for bunflare or a command
  -v, --version       Show the bunflare version`;

const DEV_USAGE = `Usage: bunflare dev [script] [options]

Serves the Worker named by the wrangler config on a local port and reloads
it when its source files, the config or a secret file change. Local state
persists across restarts. A script argument replaces the config's "main",
and the config is then searched for from the script's folder upward.
With several configs, the first Worker serves HTTP and the others are
reached through service bindings.

Options:
  -c, --config <path>     Path to a wrangler config; repeat to run several Workers (default: the
                          configs listed in ${PROJECT_CONFIG_FILE}, else wrangler.jsonc, .json or .toml here)
  -e, --env <name>        Use the config's environment <name>
      --port <number>     Port to listen on (default: 8787; 0 picks a free port)
      --ip <address>      Interface to listen on (default: 127.0.0.1)
      --var <KEY:VALUE>   Set or override a var; repeat for more than one
      --persist-to <dir>  Directory for local state (default: .bunflare beside the config)
      --no-crons          Do not fire triggers.crons on schedule (the trigger endpoints still work)
  -h, --help              Show this help`;

/** Flags every config-reading command accepts. */
const CONFIG_OPTIONS = {
  config: { type: "string", short: "c" },
  env: { type: "string", short: "e" },
  "persist-to": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const DEV_OPTIONS = {
  ...CONFIG_OPTIONS,
  config: { type: "string", short: "c", multiple: true },
  port: { type: "string" },
  ip: { type: "string" },
  var: { type: "string", multiple: true },
  "no-crons": { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

/** An error in the command line, printed without a stack. */
class UsageError extends Error {}

/** Runs the CLI with `argv` (without `bun` and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;

  switch (command) {
    case undefined:
    case "-h":
    case "--help":
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    case "-v":
    case "--version":
      console.log(packageJson.version);
      return 0;
    case "dev":
      return await dev(rest);
    case "kv":
      return rest.length === 0 ? printHelp(KV_USAGE) : await delegate(rest, runKvCommand);
    case "d1":
      return rest.length === 0 ? printHelp(D1_USAGE) : await delegate(rest, runD1Command);
    case "cache":
      return await delegate(rest, runCacheCommand);
    case "queues":
      return await delegate(rest, runQueuesCommand);
    case "r2":
      return await delegate(rest, runR2Command);
    case "workflows":
      return await delegate(rest, runWorkflowsCommand);
    default:
      throw new UsageError(`Unknown command "${command}". Run "bunflare --help" for the list of commands.`);
  }
}

/**
 * Prints a command's help for a bare `bunflare kv` or `bunflare d1` and
 * returns exit code 1. It needs no config, so it also works outside a project.
 */
function printHelp(usage: string): number {
  console.log(usage);
  return 1;
}

async function dev(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DEV_OPTIONS, "dev", true);
  if (values.help) {
    console.log(DEV_USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `Expected at most one entry script, got ${positionals.length}: ${positionals.join(" ")}. Run "bunflare dev --help" for the options.`,
    );
  }

  // An error thrown later by the Worker's own timers or promises is logged,
  // so that one bad callback does not stop the dev server.
  process.on("uncaughtException", (error) => log.error(`Uncaught exception: ${describeError(error)}`));
  process.on("unhandledRejection", (reason) => log.error(`Unhandled promise rejection: ${describeError(reason)}`));

  const configs = values.config ?? (await loadProjectConfig(process.cwd())) ?? undefined;
  const handle = await startWorker({
    config: configs,
    env: values.env,
    persistTo: values["persist-to"],
    script: positionals[0],
    vars: parseVars(values.var ?? []),
    port: parsePort(values.port ?? process.env.BUNFLARE_PORT ?? "8787"),
    ip: values.ip ?? "127.0.0.1",
    watch: true,
    crons: !values["no-crons"],
  });

  logSecretSources(handle.config);
  printBindings(handle.config);
  const others = handle.workers.names.filter((name) => name !== handle.config.name);
  if (others.length > 0) console.log(`Also running, through service bindings: ${others.join(", ")}`);
  for (const consumer of handle.config.queueConsumers) {
    console.log(`Consuming queue "${consumer.queue}" (${consumer.type === "http_pull" ? "pull" : "push"})`);
  }
  for (const workflow of handle.config.workflows) {
    console.log(`Running workflow "${workflow.name}" (class ${workflow.className}${workflow.scriptName ? ` in ${workflow.scriptName}` : ""})`);
  }
  if (handle.config.crons.length > 0) {
    const state = values["no-crons"] ? "not scheduled (--no-crons)" : "scheduled";
    console.log(`Cron triggers ${state}: ${handle.config.crons.join(", ")}`);
  }
  console.log(`Ready on ${handle.url.href}`);

  const shutdown = async () => {
    await handle.stop();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);

  // The server keeps the process alive; this promise never settles.
  return await new Promise<number>(() => {});
}

/**
 * Runs `kv`, `d1` or `r2`: resolves the config from the shared flags, opens the
 * same storage the dev server uses, and passes every argument on, so the
 * command sees its own flags (and `--help`) unchanged.
 */
async function delegate(
  args: string[],
  run: (args: string[], context: { storage: ReturnType<typeof openStorage>; config: WorkerConfig }) => Promise<number>,
): Promise<number> {
  const { values } = parseArgs({ args, options: CONFIG_OPTIONS, strict: false, allowPositionals: true });
  // With --pipe, stdout carries an object's bytes, so info lines must not reach it.
  if (args.includes("--pipe") || args.includes("-p")) setLogLevel("warn");
  const config = loadConfig({
    config: typeof values.config === "string" ? values.config : undefined,
    env: typeof values.env === "string" ? values.env : undefined,
    persistTo: typeof values["persist-to"] === "string" ? values["persist-to"] : undefined,
  });
  return await run(args, { storage: openStorage(config.persistTo), config });
}

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  command: string,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    // With positionals allowed, Node appends a hint about "--" to an unknown
    // option; the first sentence names the option, which is what matters here.
    const message = (error as Error).message.replace(/^(Unknown option '[^']*')\..*$/s, "$1");
    throw new UsageError(`${message}. Run "bunflare ${command} --help" for the options.`);
  }
}

/** Parses `--var KEY:VALUE` entries; the value is everything after the first colon. */
function parseVars(entries: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new UsageError(`Invalid --var "${entry}": expected KEY:VALUE`);
    vars[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return vars;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Invalid --port "${text}": expected an integer from 0 to 65535`);
  }
  return port;
}

/** Prints each binding's name, type and value; secrets show as "(hidden)", as wrangler shows them. */
function printBindings(config: WorkerConfig): void {
  const rows: [string, string][] = [];
  for (const namespace of config.kvNamespaces) rows.push([`env.${namespace.binding} (${namespace.id})`, "KV Namespace"]);
  for (const database of config.d1Databases) rows.push([`env.${database.binding} (${database.databaseName})`, "D1 Database"]);
  for (const service of config.services) {
    rows.push([`env.${service.binding} (${service.service}${service.entrypoint ? `#${service.entrypoint}` : ""})`, "Worker"]);
  }
  if (config.assets?.binding) rows.push([`env.${config.assets.binding}`, "Assets"]);
  for (const producer of config.queueProducers) rows.push([`env.${producer.binding} (${producer.queue})`, "Queue"]);
  for (const object of config.durableObjects) rows.push([`env.${object.binding} (${object.className})`, "Durable Object"]);
  if (config.images) rows.push([`env.${config.images.binding}`, "Images"]);
  for (const bucket of config.r2Buckets) rows.push([`env.${bucket.binding} (${bucket.bucketName})`, "R2 Bucket"]);
  for (const workflow of config.workflows) rows.push([`env.${workflow.binding} (${workflow.name})`, "Workflow"]);
  for (const [name, value] of Object.entries(config.vars)) {
    const displayValue = config.secretNames.includes(name) ? '"(hidden)"' : truncate(JSON.stringify(value), 40);
    rows.push([`env.${name} (${displayValue})`, "Environment Variable"]);
  }

  if (rows.length === 0) {
    console.log("No bindings found.");
    return;
  }
  const width = Math.max("Binding".length, ...rows.map(([name]) => name.length)) + 2;
  console.log("Your Worker has access to the following bindings:");
  console.log(`${"Binding".padEnd(width)}Resource`);
  for (const [name, type] of rows) console.log(`${name.padEnd(width)}${type}`);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** Prints an error (a known one as one line, anything else with its stack) and returns exit code 1. */
function reportError(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof BuildError) {
    console.error(`✘ ${error.message}`);
    return 1;
  }
  if (error instanceof PortInUseError) {
    console.error(`✘ ${error.message}. Pass --port with another port, or 0 for a free one.`);
    return 1;
  }

  // Rethrowing would reach the uncaughtException handler that `dev` installs,
  // which logs the error and leaves the process running with exit code 0.
  console.error(`✘ ${describeError(error)}`);
  return 1;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    process.exitCode = reportError(error);
  }
}
