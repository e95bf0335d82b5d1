/**
 * The web console's static files, served from the package.
 *
 * `npm run build` bundles `console/` (Vite) into `dist/console/`, next to the compiled code; this module
 * finds that folder from its own location and serves it over node:http. It knows nothing of the HTTP
 * API: the console talks to the server with `POST /query` like any other client, so the server mounts
 * it with one line at the top of its request handler:
 *
 * @example
 * import { serveConsoleAsset } from './console.js'
 * const server = createServer((request, response) => {
 *   if (serveConsoleAsset(request, response)) return
 *   // … the API's routes
 * })
 */
import { readFileSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { dirname, extname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The absolute path of the built console (`dist/console`). This file compiles to
 * `dist/src/interfaces/server/console.js`, three folders below `dist/`.
 *
 * @example
 * existsSync(join(consoleAssetsDirectory(), 'index.html')) // true after `npm run build`
 */
export function consoleAssetsDirectory(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'console')
}

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The console runs with no network beyond its own origin: scripts, styles and requests come from the
 * server that served it. Styles allow 'unsafe-inline' because CodeMirror and uPlot set element styles.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ')

interface Asset {
  readonly body: Buffer
  readonly contentType: string
  readonly etag: string
  /** Vite names bundle files by content hash, so they never change under their name. */
  readonly immutable: boolean
}

/** Read once, then served from memory: the bundle is a few hundred kB and never changes while we run. */
const assetCache = new Map<string, Asset>()

/** The bundle file a URL path names, or undefined: only existing files under the bundle folder. */
function assetPath(urlPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  const root = consoleAssetsDirectory()
  const relativePath = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '')
  const path = resolve(root, relativePath)
  // resolve() removes `..`; whatever is left must still be inside the bundle folder.
  if (!path.startsWith(root + sep)) return undefined
  return path
}

function loadAssetSync(path: string): Asset | undefined {
  const cached = assetCache.get(path)
  if (cached !== undefined) return cached
  try {
    if (!statSync(path).isFile()) return undefined
  } catch {
    return undefined
  }
  const body = readFileSync(path)
  const asset: Asset = {
    body,
    contentType: contentTypes[extname(path).toLowerCase()] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: path.includes(`${sep}assets${sep}`),
  }
  assetCache.set(path, asset)
  return asset
}

/**
 * Serves `GET /` (and HEAD) with the console's page and `GET /<file>` with the bundle's files, with
 * their content types, and returns true; returns false, having written nothing, for any other method
 * or path, so the caller's own routes (`POST /query`, `GET /health`, …) and its 404 take over.
 * When the bundle was not built, `GET /` answers 503 with how to build it.
 *
 * @example
 * createServer((request, response) => {
 *   if (serveConsoleAsset(request, response)) return
 *   response.writeHead(404).end()
 * })
 */
export function serveConsoleAsset(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const urlPath = (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/'
  const path = assetPath(urlPath)
  if (path === undefined) return false
  const asset = loadAssetSync(path)
  if (asset === undefined) {
    if (urlPath !== '/') return false
    const message = 'The web console is not built: run `npm run build` (it bundles console/ into dist/console).\n'
    response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(message) })
    response.end(request.method === 'HEAD' ? undefined : message)
    return true
  }
  const headers: Record<string, string | number> = {
    'content-type': asset.contentType,
    etag: asset.etag,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  }
  if (asset.contentType.startsWith('text/html')) {
    headers['content-security-policy'] = contentSecurityPolicy
    headers['referrer-policy'] = 'no-referrer'
  }
  if (request.headers['if-none-match'] === asset.etag) {
    response.writeHead(304, headers)
    response.end()
    return true
  }
  headers['content-length'] = asset.body.length
  response.writeHead(200, headers)
  response.end(request.method === 'HEAD' ? undefined : asset.body)
  return true
}
