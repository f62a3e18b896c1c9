// The one logger: a level, a message, and the ids involved.
//
// BUNFLARE_LOG sets the level (debug, info, warn, error, silent); the default
// is info. Callers pass ids (binding, key, database), never secret values.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

let threshold: number = LEVELS[(process.env.BUNFLARE_LOG as LogLevel) ?? "info"] ?? LEVELS.info;

/** Sets the lowest level that is printed. */
export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

/** Request lines not yet written to stdout, newline-terminated. */
let pendingRequestLines = "";

/** Flushes the pending request lines once the buffer reaches this many UTF-16 units. */
const REQUEST_BUFFER_LIMIT = 64 * 1024;

let flushScheduled = false;

/**
 * Writes the buffered request lines to stdout in one call. Every other log
 * write calls this first, so stdout keeps the order in which lines were logged.
 */
export function flushRequestLog(): void {
  if (pendingRequestLines === "") return;
  const lines = pendingRequestLines;
  pendingRequestLines = "";
  console.log(lines.slice(0, -1));
}

// A process.exit() right after a request would otherwise drop its line.
process.on("exit", flushRequestLog);

/**
 * Logs one served request at info level. The line is buffered and written
 * with the others from the same event-loop turn, because a console write per
 * request costs more than a small Worker's whole dispatch.
 */
function writeRequest(line: string): void {
  if (LEVELS.info < threshold) return;
  pendingRequestLines += line + "\n";

  if (pendingRequestLines.length >= REQUEST_BUFFER_LIMIT) {
    flushRequestLog();
  } else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      flushRequestLog();
    });
  }
}

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold) return;
  flushRequestLog();
  let line = message;
  if (fields) {
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined) line += ` ${name}=${typeof value === "string" ? value : JSON.stringify(value)}`;
    }
  }
  const prefix = level === "info" ? "" : `[${level}] `;
  if (level === "error" || level === "warn") console.error(prefix + line);
  else console.log(prefix + line);
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write("debug", message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write("info", message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write("warn", message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write("error", message, fields),
  request: writeRequest,
};
