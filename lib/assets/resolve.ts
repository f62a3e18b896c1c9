// Maps a decoded request path to an asset or a redirect, per `html_handling`
// and `not_found_handling`, following production's asset Worker path by path.
//
// Each mode is an ordered list of steps. A "serve" step answers with a file
// when it exists. A "redirect" step answers with a 307 to a cleaner URL, but
// only when that URL does not name a file itself and would serve the very
// same file, so a redirect can never lead to a different page or a loop.

export type HtmlHandling = "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";
export type NotFoundHandling = "none" | "404-page" | "single-page-application";

/** Returns an identity of the file at a decoded path (equal for the same file), or null when there is none. */
export type ExistsFunction = (path: string) => string | null;

export type Intent =
  | { kind: "asset"; path: string; status: 200 | 404 }
  | { kind: "redirect"; location: string }
  | null;

type Step = readonly ["serve", string] | readonly ["redirect", string, string];

/** Removes `suffix` from the end of `text`. */
function cut(text: string, suffix: string): string {
  return text.slice(0, text.length - suffix.length);
}

/** The steps for one path in one mode; `p` ends with the suffix each branch tests. */
function stepsFor(mode: HtmlHandling, p: string): Step[] {
  switch (mode) {
    case "auto-trailing-slash":
      if (p.endsWith("/index")) {
        return [["serve", p], ["redirect", `${p}.html`, cut(p, "index")], ["redirect", `${cut(p, "/index")}.html`, cut(p, "/index")], ...autoTail(p)];
      }
      if (p.endsWith("/index.html")) {
        return [["redirect", p, cut(p, "index.html")], ["redirect", `${cut(p, "/index.html")}.html`, cut(p, "/index.html")], ...autoTail(p)];
      }
      if (p.endsWith("/")) {
        return [["serve", `${p}index.html`], ["redirect", `${cut(p, "/")}.html`, cut(p, "/")], ...autoTail(p)];
      }
      if (p.endsWith(".html")) {
        return [["redirect", p, cut(p, ".html")], ["redirect", `${cut(p, ".html")}/index.html`, `${cut(p, ".html")}/`], ...autoTail(p)];
      }
      return autoTail(p);

    case "force-trailing-slash":
      if (p.endsWith("/index")) {
        return [["serve", p], ["redirect", `${p}.html`, cut(p, "index")], ["redirect", `${cut(p, "/index")}.html`, cut(p, "index")], ...forceTail(p)];
      }
      if (p.endsWith("/index.html")) {
        return [["redirect", p, cut(p, "index.html")], ["redirect", `${cut(p, "/index.html")}.html`, cut(p, "index.html")], ...forceTail(p)];
      }
      if (p.endsWith("/")) {
        return [["serve", `${p}index.html`], ["serve", `${cut(p, "/")}.html`], ...forceTail(p)];
      }
      if (p.endsWith(".html")) {
        // With both /foo.html and /foo/index.html, /foo.html stays reachable at its own path.
        return [["redirect", p, `${cut(p, ".html")}/`], ["serve", p], ["redirect", `${cut(p, ".html")}/index.html`, `${cut(p, ".html")}/`], ...forceTail(p)];
      }
      return forceTail(p);

    case "drop-trailing-slash":
      if (p.endsWith("/index")) {
        if (p === "/index") return [["serve", p], ["redirect", "/index.html", "/"], ...dropTail(p)];
        return [["serve", p], ["redirect", `${cut(p, "/index")}.html`, cut(p, "/index")], ["redirect", `${p}.html`, cut(p, "/index")], ...dropTail(p)];
      }
      if (p.endsWith("/index.html")) {
        // The root keeps its slash: /index.html redirects to /.
        if (p === "/index.html") return [["redirect", "/index.html", "/"], ...dropTail(p)];
        return [["redirect", p, cut(p, "/index.html")], ["serve", p], ["redirect", `${cut(p, "/index.html")}.html`, cut(p, "/index.html")], ...dropTail(p)];
      }
      if (p.endsWith("/")) {
        if (p === "/") return [["serve", "/index.html"], ...dropTail(p)];
        return [["redirect", `${cut(p, "/")}.html`, cut(p, "/")], ["redirect", `${cut(p, "/")}/index.html`, cut(p, "/")], ...dropTail(p)];
      }
      if (p.endsWith(".html")) {
        return [["redirect", p, cut(p, ".html")], ["redirect", `${cut(p, ".html")}/index.html`, cut(p, ".html")], ...dropTail(p)];
      }
      return dropTail(p);

    case "none":
      return [["serve", p]];
  }
}

/** The checks every path ends with in `auto-trailing-slash` mode. */
function autoTail(p: string): Step[] {
  return [["serve", p], ["serve", `${p}.html`], ["redirect", `${p}/index.html`, `${p}/`]];
}

function forceTail(p: string): Step[] {
  return [["serve", p], ["redirect", `${p}.html`, `${p}/`], ["redirect", `${p}/index.html`, `${p}/`]];
}

function dropTail(p: string): Step[] {
  return [["serve", p], ["serve", `${p}.html`], ["serve", `${p}/index.html`]];
}

/**
 * Resolves a decoded path to an asset, a redirect or nothing. With
 * `skipRedirects` only serve steps apply; redirects use it to check where
 * their destination leads.
 */
export function resolveIntent(
  pathname: string,
  htmlHandling: HtmlHandling,
  notFoundHandling: NotFoundHandling,
  exists: ExistsFunction,
  skipRedirects = false,
): Intent {
  for (const step of stepsFor(htmlHandling, pathname)) {
    if (step[0] === "serve") {
      if (exists(step[1]) !== null) return { kind: "asset", path: step[1], status: 200 };
      continue;
    }
    if (skipRedirects) continue;

    const [, file, destination] = step;
    const fileIdentity = exists(file);
    if (fileIdentity === null || exists(destination) !== null) continue;
    const target = resolveIntent(destination, htmlHandling, notFoundHandling, exists, true);
    if (target?.kind === "asset" && target.status === 200 && exists(target.path) === fileIdentity) {
      return { kind: "redirect", location: destination };
    }
  }

  return notFound(pathname, notFoundHandling, exists);
}

/** Applies `not_found_handling` once no step matched. */
function notFound(pathname: string, mode: NotFoundHandling, exists: ExistsFunction): Intent {
  if (mode === "single-page-application") {
    return exists("/index.html") !== null ? { kind: "asset", path: "/index.html", status: 200 } : null;
  }
  if (mode === "404-page") {
    // The nearest 404.html, from the request's folder up to the root.
    let folder = pathname;
    while (folder !== "") {
      folder = folder.slice(0, folder.lastIndexOf("/"));
      const page = `${folder}/404.html`;
      if (exists(page) !== null) return { kind: "asset", path: page, status: 404 };
    }
  }
  return null;
}

/** Decodes each path segment (keeping undecodable ones) and collapses repeated slashes. */
export function decodePath(pathname: string): string {
  return pathname
    .split("/")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join("/")
    .replace(/\/+/g, "/");
}

/** Encodes each segment of a decoded path: the canonical URL an asset is served at. */
export function encodePath(pathname: string): string {
  return pathname
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}
