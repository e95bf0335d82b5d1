/**
 * The server's local socket: the `strata` CLI on a directory a server holds runs through it
 * (server.ts listens, client.ts connects, protocol.ts is what they say).
 */
export { startLocalServer, type LocalServer, type LocalServerOptions } from './server.js'
export { connectLocalServer, LocalClient, RemoteFeed } from './client.js'
