#!/usr/bin/env node
// Enforces the dependency direction of ARCHITECTURE.md on the TypeScript sources: which folder may
// import which, and that each native driver has exactly one importer. Fails (exit 1) with a list.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, dirname, resolve } from 'node:path'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const source = join(root, 'src')

/** Folder → the src folders it may import from (besides itself). */
const allowed = {
  util: [],
  'storage/rowstore': ['util'],
  'storage/columnstore': ['util'],
  'storage/chunks': ['util'],
  sql: ['util'],
  ledger: ['util', 'sql', 'storage/rowstore'],
  sync: ['util', 'sql', 'ledger', 'storage/rowstore', 'storage/columnstore'],
  feed: ['util', 'sql', 'ledger', 'storage/rowstore'],
  subsystems: ['util', 'sql', 'ledger', 'sync', 'feed', 'storage/rowstore', 'storage/columnstore', 'storage/chunks'],
  engine: ['util', 'sql', 'ledger', 'sync', 'feed', 'subsystems', 'storage/rowstore', 'storage/columnstore', 'storage/chunks'],
  'interfaces/api': ['util', 'engine', 'interfaces/api'],
  'interfaces/server': ['util', 'engine', 'sql', 'interfaces/api'],
  'interfaces/cli': ['util', 'interfaces/api', 'interfaces/server', 'sql', 'index'],
  index: ['util', 'interfaces/api'],
}
/** Packages only one folder may import. */
const exclusive = { 'hash-wasm': 'storage/chunks', 'better-sqlite3': 'storage/rowstore', '@duckdb/node-api': 'storage/columnstore', '@duckdb/node-bindings': 'storage/columnstore', nats: 'subsystems/streaming', mqtt: 'subsystems/streaming', amqplib: 'subsystems/streaming', pg: 'subsystems/streaming', 'pg-logical-replication': 'subsystems/streaming' }
/** The front end does no I/O. */
const noIo = { sql: ['node:fs', 'node:net', 'node:http', 'node:child_process', 'fs', 'net', 'better-sqlite3', '@duckdb/node-api', '@duckdb/node-bindings'] }

function files(directory) {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

function folderOf(file) {
  const path = relative(source, file).replaceAll('\\', '/')
  if (!path.includes('/')) return 'index'
  const keys = Object.keys(allowed).sort((a, b) => b.length - a.length)
  return keys.find((key) => path.startsWith(`${key}/`)) ?? path.split('/')[0]
}

/** The subsystem folder a file belongs to (src/subsystems/<name>/…), or undefined. */
function subsystemOf(file) {
  const parts = relative(source, file).replaceAll('\\', '/').split('/')
  return parts[0] === 'subsystems' && parts.length > 2 ? parts[1] : undefined
}

const problems = []
/** Each source file → the source files it imports (type-only imports included: a circle of types is still a circle). */
const graph = new Map()
for (const file of files(source)) {
  const folder = folderOf(file)
  const text = readFileSync(file, 'utf8')
  // Import specifiers of TypeScript source (static `from '…'` and dynamic `import('…')`).
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\()\s*'([^']+)'/g)].map((match) => match[1])
  graph.set(file, specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))))
  for (const specifier of specifiers) {
    const owner = exclusive[specifier]
    const within = relative(source, file).replaceAll('\\', '/')
    if (owner !== undefined && owner !== folder && !within.startsWith(`${owner}/`)) problems.push(`${relative(root, file)}: only src/${owner} may import ${specifier}`)
    if ((noIo[folder] ?? []).includes(specifier)) problems.push(`${relative(root, file)}: src/${folder} does no I/O but imports ${specifier}`)
    if (!specifier.startsWith('.')) continue
    const targetFile = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))
    const target = folderOf(targetFile)
    // A subsystem reaches the others only through the engine: no imports between subsystem folders.
    const own = subsystemOf(file)
    const other = subsystemOf(targetFile)
    if (own !== undefined && other !== undefined && own !== other) problems.push(`${relative(root, file)}: the subsystem ${own} may not import the subsystem ${other} (${specifier})`)
    if (target === folder) continue
    if (!(allowed[folder] ?? []).includes(target)) problems.push(`${relative(root, file)}: src/${folder} may not import src/${target} (${specifier})`)
  }
}
// No import circles: the strongly connected components of the file graph (Tarjan) must be single files.
{
  let counter = 0
  const order = new Map()
  const lowest = new Map()
  const stack = []
  const onStack = new Set()
  const visit = (file) => {
    order.set(file, counter)
    lowest.set(file, counter)
    counter += 1
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue
      if (!order.has(target)) {
        visit(target)
        lowest.set(file, Math.min(lowest.get(file), lowest.get(target)))
      } else if (onStack.has(target)) lowest.set(file, Math.min(lowest.get(file), order.get(target)))
    }
    if (lowest.get(file) !== order.get(file)) return
    const component = []
    let member
    do {
      member = stack.pop()
      onStack.delete(member)
      component.push(relative(root, member))
    } while (member !== file)
    if (component.length > 1) problems.push(`an import circle: ${component.sort().join(' ↔ ')}`)
  }
  for (const file of graph.keys()) if (!order.has(file)) visit(file)
}

// What loads with an entry point (ARCHITECTURE.md, "What loads when"): the files an entry reaches by
// static imports (`import type` and `export type` excluded; dynamic `import('…')` is what defers a
// module) must not include what only some calls need. Packages are named as imported.
{
  const staticSpecifiers = (text) =>
    [...text.matchAll(/^[ \t]*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?'([^']+)'/gm)].filter((match) => match[1] === undefined).map((match) => match[2])
  const closure = (entry) => {
    const files = new Set()
    const packages = new Set()
    const visit = (file) => {
      if (files.has(file)) return
      files.add(file)
      for (const specifier of staticSpecifiers(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
        else packages.add(specifier)
      }
    }
    visit(join(source, entry))
    return { files: [...files].map((file) => relative(source, file).replaceAll('\\', '/')), packages }
  }
  const entries = [
    // The library: a first statement needs neither Arrow, nor the column store (it loads, DuckDB with it,
    // when it starts), nor any server.
    { entry: 'index.ts', packages: ['apache-arrow', '@duckdb/node-api', '@duckdb/node-bindings', 'nats', 'mqtt', 'amqplib'], files: (file) => file.startsWith('interfaces/server/') || file.startsWith('storage/columnstore/') },
    // The CLI: the servers load only for `strata serve`; it reaches a server holding the directory through the local client.
    {
      entry: 'interfaces/cli/main.ts',
      packages: ['apache-arrow', '@duckdb/node-api', '@duckdb/node-bindings'],
      files: (file) => file.startsWith('interfaces/server/') && !['interfaces/server/defaults.ts', 'interfaces/server/local/client.ts', 'interfaces/server/local/protocol.ts'].includes(file),
    },
  ]
  for (const { entry, packages, files } of entries) {
    const reached = closure(entry)
    for (const name of packages) if (reached.packages.has(name)) problems.push(`src/${entry} loads ${name} with its static imports; import it where it is first needed (import('${name}'))`)
    for (const file of reached.files.filter(files)) problems.push(`src/${entry} loads src/${file} with its static imports; import it where it is first needed`)
  }
}

if (problems.length > 0) {
  console.error(`dependency rules broken (see ARCHITECTURE.md):\n${problems.join('\n')}`)
  process.exit(1)
}
console.log('dependency rules hold')
