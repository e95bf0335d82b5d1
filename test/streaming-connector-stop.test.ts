/**
 * A source connector or a sink told to stop while its connection is still being made (a broker that
 * accepted the TCP connection and has not answered yet) lets go at once: closing the database does not
 * wait for an answer that may never come. pg's connect() never settles when end() is called while it
 * connects (pg 8.23.1 skips its callback once ending), which made `db.close()` hang in CI; NATS and
 * MQTT waited for their connect timeouts, and amqplib has none unless given one.
 */
import * as assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { open } from '../src/index.js'
import { waitFor } from './source-kill.js'

/** A TCP server that accepts connections and never answers. */
async function silentServer(t: { after: (fn: () => Promise<void>) => void }): Promise<{ readonly port: number; readonly accepted: () => number }> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted }
}

test('sources and sinks whose brokers accepted the connection and never answered: db.close() returns at once for PostgreSQL CDC, NATS, RabbitMQ and MQTT connectors and NATS, RabbitMQ and MQTT sinks', { timeout: 60_000 }, async (t) => {
  const silent = await silentServer(t)
  const server = `127.0.0.1:${silent.port}`
  const db = await open(':memory:')
  let closing: Promise<void> | undefined
  t.after(async () => {
    await (closing ?? db.close()).catch(() => undefined)
  })
  await db.query(`CREATE SOURCE pg_source (id INTEGER) WITH (connector = 'postgres-cdc', server = 'postgres://postgres@${server}/test', table = 'public.t', slot = 'strata_silent')`)
  await db.query(`CREATE SOURCE nats_source (id INTEGER) WITH (connector = 'nats', subject = 'strata.silent', server = '${server}')`)
  await db.query(`CREATE SOURCE rabbit_source (id INTEGER) WITH (connector = 'rabbitmq', queue = 'strata_silent', server = '${server}')`)
  await db.query(`CREATE SOURCE mqtt_source (id INTEGER) WITH (connector = 'mqtt', topic = 'strata/silent', server = '${server}')`)
  await db.query('CREATE TABLE totals (k INTEGER PRIMARY KEY, v INTEGER)')
  await db.query('INSERT INTO totals VALUES (1, 2)')
  await db.query(`CREATE SINK nats_sink FROM totals WITH (connector = 'nats', subject = 'strata.silent', server = '${server}')`)
  await db.query(`CREATE SINK rabbit_sink FROM totals WITH (connector = 'rabbitmq', queue = 'strata_silent', server = '${server}')`)
  await db.query(`CREATE SINK mqtt_sink FROM totals WITH (connector = 'mqtt', topic = 'strata/silent', server = '${server}')`)
  // Every connector and sink is connecting: its TCP connection accepted, its handshake unanswered.
  await waitFor('seven connections', async () => silent.accepted() >= 7)
  const started = Date.now()
  closing = db.close()
  const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 5_000, 'still closing after 5 s')).then(String)])
  assert.equal(outcome, 'closed')
  assert.ok(Date.now() - started < 5_000)
})
