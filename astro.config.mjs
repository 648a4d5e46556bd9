// @ts-check
import { defineConfig } from 'astro/config'
import node from '@astrojs/node'

// Server output rendered through @astrojs/node in middleware mode: server.ts (Hono on
// @hono/node-server) is the HTTP entry and hands page requests to Astro's handler.
// No `site`: it would fix the origin seen at build time into canonical links, the sitemap and
// robots.txt, which read the running server's APP_ORIGIN (locals.deps.env) instead.
export default defineConfig({
  output: 'server',
  adapter: node({ mode: 'middleware' }),
  security: { checkOrigin: true },
  server: { port: Number(process.env.PORT ?? 4321), host: process.env.HOST ?? 'localhost' },
  devToolbar: { enabled: false },
  // Scripts are always external files so the CSP can stay `script-src 'self'`.
  vite: { build: { assetsInlineLimit: 0 } },
})
