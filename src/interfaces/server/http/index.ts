/**
 * The HTTP API (see server.ts for the routes, respond.ts for the formats, encode.ts for how values
 * look in JSON, results.ts for where results are kept).
 */
export { startHttpServer, type HttpServer, type HttpServerOptions } from './server.js'
