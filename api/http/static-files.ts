import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.html': 'text/html; charset=utf-8',
}

interface StaticFile {
  path: string
  size: number
  headers: Record<string, string>
}

/**
 * The built client files, indexed once at start-up (no file-system lookup per request).
 * Hashed build output under /_astro/ is immutable; other public files are cached for an hour.
 */
export async function staticFiles(dir: URL) {
  const root = fileURLToPath(dir)
  const files = new Map<string, StaticFile>()
  const walk = async (folder: string, prefix: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const full = join(folder, entry.name)
      const urlPath = `${prefix}/${entry.name}`
      if (entry.isDirectory()) await walk(full, urlPath)
      else if (entry.isFile() && !entry.name.endsWith('.html')) {
        const { size } = await stat(full)
        const immutable = urlPath.startsWith('/_astro/')
        files.set(urlPath, {
          path: full,
          size,
          headers: {
            'Content-Type': types[extname(entry.name).toLowerCase()] ?? 'application/octet-stream',
            'Content-Length': String(size),
            'Cache-Control': immutable
              ? 'public, max-age=31536000, immutable'
              : 'public, max-age=3600',
            'X-Content-Type-Options': 'nosniff',
          },
        })
      }
    }
  }
  await walk(root, '')
  return {
    count: files.size,
    serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
      let decoded: string
      try {
        decoded = decodeURIComponent(path)
      } catch {
        return false
      }
      const file = files.get(decoded)
      if (!file) return false
      res.writeHead(200, file.headers)
      if (req.method === 'HEAD') res.end()
      else
        createReadStream(file.path)
          .on('error', () => res.destroy())
          .pipe(res)
      return true
    },
  }
}
