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

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold) return;
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
};
