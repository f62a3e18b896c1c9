// Maps engine error codes to the JavaScript classes production throws.
//
// A Rust engine error reaches JavaScript as `Error("<CODE>: <message>")`.
// `rethrow` parses the code and builds the class listed in ERROR_CLASSES,
// keeping the message. Each binding adds its codes here, in one place.

type ErrorFactory = (message: string) => Error;

const ERROR_CLASSES: Record<string, ErrorFactory> = {
  STORAGE_SQLITE: (m) => new Error(m),
  STORAGE_IO: (m) => new Error(m),
  STORAGE_INVALID_NAME: (m) => new TypeError(m),
  STORAGE_SCHEMA_TOO_NEW: (m) => new Error(m),
};

/** Registers the JavaScript class for each engine error code of one binding. */
export function registerErrorClasses(classes: Record<string, ErrorFactory>): void {
  Object.assign(ERROR_CLASSES, classes);
}

const CODED = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/;

/** Converts an error thrown by the addon into production's class; other errors pass through. */
export function translateError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const match = CODED.exec(error.message);
  if (!match) return error;
  const factory = ERROR_CLASSES[match[1]!];
  if (!factory) return error;
  const translated = factory(match[2]!);
  (translated as Error & { code?: string }).code ??= match[1];
  return translated;
}

/** Runs a native call and rethrows its error as production's class. */
export function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw translateError(error);
  }
}
