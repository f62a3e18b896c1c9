// The per-event `ExecutionContext` and the local `request.cf` object.

import { readFileSync } from "node:fs";
import { log } from "./log.ts";

/** Promises passed to any `waitUntil` that have not settled yet, across all events. */
const pending = new Set<Promise<unknown>>();

/**
 * Keeps `promise` alive past the response and logs its rejection, so a failed
 * background task never becomes an unhandled rejection that ends the process.
 */
export function trackWaitUntil(promise: unknown, origin: string): void {
  const tracked = Promise.resolve(promise).then(
    () => undefined,
    (error: unknown) => {
      log.error("waitUntil promise rejected", { origin, error: describeError(error) });
    },
  );
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
}

/** Resolves when every `waitUntil` promise registered so far has settled. */
export async function waitUntilSettled(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}

/** The context passed as the third handler argument, and as `this.ctx` of a `WorkerEntrypoint`. */
export class LocalExecutionContext<Props = unknown> {
  /**
   * Set by `passThroughOnException()`; the dispatcher reads it when the handler throws.
   * NOTE: production forwards the request to the origin when the handler
   * throws after that call. There is no origin locally, so a throw still
   * returns the 500 error response, as wrangler dev does without an upstream,
   * and the dispatcher logs that the pass-through had no origin.
   */
  passThrough = false;

  readonly props: Props;

  readonly exports: Record<string, unknown> = {};

  constructor(props: Props, private readonly origin: string) {
    this.props = props;
  }

  // Both methods work detached (`const { waitUntil } = ctx`), as in production.
  // They are bound on first read rather than in the constructor, because most
  // requests never use them and the constructor runs on every event.
  get waitUntil(): (promise: Promise<unknown>) => void {
    const bound = (promise: Promise<unknown>) => this.recordWaitUntil(promise);
    Object.defineProperty(this, "waitUntil", { value: bound, configurable: true, writable: true });
    return bound;
  }

  /** Tracks one `waitUntil` promise; subclasses that also keep the promises extend this. */
  protected recordWaitUntil(promise: Promise<unknown>): void {
    trackWaitUntil(promise, this.origin);
  }

  get passThroughOnException(): () => void {
    const bound = () => {
      this.passThrough = true;
    };
    Object.defineProperty(this, "passThroughOnException", { value: bound, configurable: true, writable: true });
    return bound;
  }

}

/**
 * Returns `request.cf` for a local request: plausible values in the shape of
 * `IncomingRequestCfProperties`.
 */
// NOTE: production fills these from the client's location and TLS handshake.
// Locally every request gets the same fixed values (an Austin, Texas client on
// the DFW colo); only `httpProtocol` follows the request.
export function localRequestCf(httpVersion = "HTTP/1.1"): Record<string, unknown> {
  return {
    asn: 395747,
    asOrganization: "Local Development",
    colo: "DFW",
    country: "US",
    continent: "NA",
    region: "Texas",
    regionCode: "TX",
    city: "Austin",
    postalCode: "78701",
    metroCode: "635",
    latitude: "30.27130",
    longitude: "-97.74260",
    timezone: "America/Chicago",
    clientTcpRtt: 1,
    clientAcceptEncoding: "gzip, deflate, br",
    edgeRequestKeepAliveStatus: 1,
    httpProtocol: httpVersion,
    requestPriority: "",
    tlsVersion: "TLSv1.3",
    tlsCipher: "AEAD-AES128-GCM-SHA256",
    tlsClientAuth: {
      certPresented: "0",
      certVerified: "NONE",
      certRevoked: "0",
      certIssuerDN: "",
      certSubjectDN: "",
      certIssuerDNRFC2253: "",
      certSubjectDNRFC2253: "",
      certIssuerDNLegacy: "",
      certSubjectDNLegacy: "",
      certSerial: "",
      certIssuerSerial: "",
      certSKI: "",
      certIssuerSKI: "",
      certFingerprintSHA1: "",
      certFingerprintSHA256: "",
      certNotBefore: "",
      certNotAfter: "",
    },
  };
}

/**
 * Attaches `request.cf` the way the runtime does: a read-only, enumerable
 * property. A request that already has a `cf` keeps it.
 */
// The object is built on first read, because most handlers never read `cf`
// and building it costs as much as the rest of a small request's dispatch.
// The first read replaces the getter with a plain value, so every later read
// returns the same object, as in production.
export function attachLocalCf(request: Request, httpVersion: string): Request {
  if ((request as Request & { cf?: unknown }).cf !== undefined) return request;

  Object.defineProperty(request, "cf", {
    get() {
      const cf = localRequestCf(httpVersion);
      Object.defineProperty(request, "cf", { value: cf, enumerable: true, configurable: true });
      return cf;
    },
    enumerable: true,
    configurable: true,
  });
  return request;
}

/** Formats an error for a log line: the stack when there is one. */
export function describeError(error: unknown): string {
  // Bun rejects a module that fails to parse with one BuildMessage, which is
  // not an Error, or with an AggregateError of several. Neither stack names
  // the file, so each message is printed with its position.
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [`${error.name}: ${error.message}`, ...error.errors.map(describeError)].join("\n");
  }
  const position = buildMessagePosition(error) ?? resolveMessagePosition(error);
  if (position) {
    const location = `${position.file}:${position.line}:${position.column}: ${(error as { message?: unknown }).message}`;
    return position.lineText ? `${location}\n    ${position.lineText}` : location;
  }
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

interface BuildMessagePosition {
  file: string;
  line: number;
  column: number;
  lineText?: string;
}

/**
 * Finds where a ResolveMessage's import is written. Bun 1.4.5 gives a failed
 * runtime import no position, only the importing file (`referrer`) and the
 * import string (`specifier`), so this looks for the quoted specifier in that
 * file. Returns null when either is missing or the text is not found.
 */
function resolveMessagePosition(error: unknown): BuildMessagePosition | null {
  if (typeof error !== "object" || error === null) return null;
  const { referrer, specifier } = error as { referrer?: unknown; specifier?: unknown };
  if (typeof referrer !== "string" || typeof specifier !== "string" || specifier === "") return null;

  let source: string;
  try {
    source = readFileSync(referrer, "utf8");
  } catch {
    return null;
  }

  const lines = source.split("\n");
  for (const [index, lineText] of lines.entries()) {
    const quote = [`"${specifier}"`, `'${specifier}'`, `\`${specifier}\``]
      .map((quoted) => lineText.indexOf(quoted))
      .find((offset) => offset >= 0);
    if (quote !== undefined) return { file: referrer, line: index + 1, column: quote + 1, lineText };
  }
  return null;
}

/** Returns the source position of a Bun BuildMessage or ResolveMessage, or null for other values. */
function buildMessagePosition(error: unknown): BuildMessagePosition | null {
  if (typeof error !== "object" || error === null || !("position" in error)) return null;
  const position = (error as { position?: Partial<BuildMessagePosition> | null }).position;
  if (typeof position?.file !== "string" || typeof position.line !== "number") return null;
  return position as BuildMessagePosition;
}
