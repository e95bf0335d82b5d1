// Bundles the web console into dist/console, served by src/interfaces/server/console.ts.
// Run as `vite build console` from the repository root, so `root` is this folder.
import { defineConfig } from 'vite'

export default defineConfig({
  // Relative asset URLs, so the page also works when a proxy serves the server under a path prefix.
  base: './',
  publicDir: 'public',
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    // Everything ships in the package; nothing is fetched from elsewhere at run time.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
})
