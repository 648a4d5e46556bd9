// A local HTTP server standing in for the Resend API: records every request and answers from a
// script, one entry per request (the last entry repeats). 'reset' drops the connection.

import { createServer } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Recorded = {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: any
}
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'reset'

export async function startResendStandIn(...script: Reply[]) {
  const requests: Recorded[] = []
  const server = createServer(async (req, res) => {
    let data = ''
    for await (const chunk of req) data += chunk
    requests.push({
      method: req.method!,
      path: req.url!,
      headers: req.headers,
      body: data ? JSON.parse(data) : null,
    })
    const reply = script[Math.min(requests.length, script.length) - 1]!
    if (reply === 'reset') return req.socket.destroy()
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
    res.end(JSON.stringify(reply.body ?? {}))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

export function apiError(statusCode: number, name: string, message: string): Reply {
  return { status: statusCode, body: { statusCode, name, message } }
}
