import { randomBytes } from 'node:crypto'
import { Hono } from 'hono'
import { scopeFor, type ApiScope } from '../accounts/api-scopes.ts'
import { can, type Permission } from '../accounts/permissions.ts'
import { SESSION_COOKIE } from '../accounts/sessions.ts'
import { ROLES } from '../accounts/users.ts'
import { WEBHOOK_EVENTS } from '../db/webhook-outbox.ts'
import type { AppEnv } from '../http/app-env.ts'
import {
  openApiDocument,
  type Access,
  type OpenApiDocument,
  type Operation,
  type OperationObject,
} from '../http/openapi.ts'
import { operations as activityOperations } from './activities.ts'
import { operations as apiTokenOperations } from './api-tokens.ts'
import { operations as beaconOperations } from './beacon.ts'
import { operations as campaignResultOperations } from './campaign-results.ts'
import { operations as campaignOperations } from './campaigns.ts'
import { operations as contactOperations } from './contacts.ts'
import { operations as companyOperations } from './companies.ts'
import { operations as dealOperations } from './deals.ts'
import { operations as emailAdminOperations } from './email-admin.ts'
import { operations as emailEventOperations } from './email-events.ts'
import { operations as graderOperations } from './grader.ts'
import { operations as healthOperations } from './health.ts'
import { operations as leadOperations } from './leads.ts'
import { operations as pipelineSettingsOperations } from './pipeline-settings.ts'
import { operations as searchOperations } from './search.ts'
import { operations as sessionOperations } from './sessions.ts'
import { operations as setupOperations } from './setup.ts'
import { operations as submissionOperations } from './submissions.ts'
import { operations as syncOperations } from './sync.ts'
import { operations as userOperations } from './users.ts'
import { operations as webhookOperations } from './webhooks.ts'

// The API's OpenAPI 3.1 document (/api/openapi.json) and a reference page that renders it
// (/api/docs, no script or style from elsewhere). Each route file exports its own `operations`
// next to the zod schemas it validates with; this file only gathers them (api/http/openapi.ts
// builds the document). tests/api/integrations/openapi.db.test.ts walks the app's route table
// and fails when an /api route is not described here, or a described one does not exist.

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document.',
    auth: 'none',
    ok: [200, 'The OpenAPI document.'],
  },
  {
    method: 'get',
    path: '/api/docs',
    summary: 'The API reference page.',
    auth: 'none',
    ok: [200, 'An HTML page.'],
  },
]

/** Every operation of the API, one list per route file. */
export const OPERATIONS: readonly Operation<Permission>[] = [
  ...healthOperations,
  ...sessionOperations,
  ...setupOperations,
  ...userOperations,
  ...apiTokenOperations,
  ...syncOperations,
  ...dealOperations,
  ...searchOperations,
  ...activityOperations,
  ...pipelineSettingsOperations,
  ...emailAdminOperations,
  ...emailEventOperations,
  ...leadOperations,
  ...graderOperations,
  ...contactOperations,
  ...companyOperations,
  ...submissionOperations,
  ...campaignOperations,
  ...campaignResultOperations,
  ...beaconOperations,
  ...webhookOperations,
  ...operations,
]

/** The roles that have every one of `permissions`, and the token scopes they need. */
function access(permissions: readonly string[]): Access {
  const perms = permissions as readonly Permission[]
  const scopes = perms.map(scopeFor)
  return {
    roles: ROLES.filter((role) => perms.every((p) => can({ role }, p))),
    scopes: scopes.every((s): s is ApiScope => s !== null) ? [...new Set(scopes)] : null,
  }
}

// Built once per origin and version: converting every schema takes 25–75 ms.
const documents = new Map<string, OpenApiDocument>()

export function apiDocument(origin: string, version: string): OpenApiDocument {
  const key = `${origin} ${version}`
  let doc = documents.get(key)
  if (!doc) documents.set(key, (doc = buildDocument(origin, version)))
  return doc
}

function buildDocument(origin: string, version: string): OpenApiDocument {
  return openApiDocument(OPERATIONS, {
    title: 'Frontdoor API',
    version,
    description:
      'Authenticate with `Authorization: Bearer <API token>` (made at /app/admin/api; a token acts for the admin who made it, limited to its scopes, and only on operations that name a scope) or a session cookie. Actions also accept a plain HTML form, answered with a 303 back to the page; a request with an API token is answered in JSON whichever body type it sends. Errors are `{ error: { code, message } }`.',
    origin,
    sessionCookie: SESSION_COOKIE,
    access,
    roles: ROLES,
    webhookEvents: WEBHOOK_EVENTS,
  })
}

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  )
/** Escaped, with `code` spans as the descriptions write them. */
const prose = (s: string) => escape(s).replace(/`([^`]+)`/g, '<code>$1</code>')

/**
 * The reference page: every operation by group, who may call it, its parameters, body schemas
 * and answers; GETs can be tried with a token. Nothing loaded from elsewhere.
 */
export function docsPage(doc: OpenApiDocument, nonce: string): string {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  )
  const groups = Map.groupBy(ops, ({ op }) => op.tags[0] ?? 'other')
  const section = ({ path, method, op }: (typeof ops)[number]) => {
    const params = op.parameters
      .map(
        (p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''})</li>`,
      )
      .join('')
    const body = Object.entries(op.requestBody?.content ?? {})
      .map(
        ([type, { schema }]) =>
          `<details><summary>Body: <code>${escape(type)}</code></summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details>`,
      )
      .join('')
    const answers = Object.entries(op.responses)
      .map(([status, r]) => {
        const { description, content } = r as {
          description: string
          content?: Record<string, { schema: unknown }>
        }
        // An answer described field by field (an operation's okSchema), under its success status.
        const fields = /^2/.test(status) ? content?.['application/json']?.schema : undefined
        const schema = fields
          ? `<details><summary>Fields</summary><pre>${escape(JSON.stringify(fields, null, 2))}</pre></details>`
          : ''
        return `<li><b>${escape(status)}</b> ${prose(description)}${schema}</li>`
      })
      .join('')
    const tryIt =
      method === 'get' && op.security.length > 0
        ? `<form class="try" hidden><input name="path" value="${escape(path)}" aria-label="Path to call" size="50"> <button>Send</button><pre class="out" hidden></pre></form>`
        : ''
    const roles = op['x-roles']
    const scopes = op['x-scopes']
    const who = !roles
      ? 'anyone'
      : `${roles.join(', ')}; ${scopes ? `token scope ${scopes.map((s) => `<code>${escape(s)}</code>`).join(' + ')}` : 'no API token'}`
    return `<section id="${escape(op.operationId)}"><h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p>${prose(op.summary)} <small>(${who})</small></p>${params ? `<ul>${params}</ul>` : ''}${body}<details><summary>Answers</summary><ul>${answers}</ul></details>${tryIt}</section>`
  }
  const nav = [...groups]
    .map(([tag, list]) => `<a href="#tag-${escape(tag)}">${escape(tag)}</a> (${list.length})`)
    .join(' · ')
  const body = [...groups]
    .map(
      ([tag, list]) =>
        `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${list.map(section).join('')}`,
    )
    .join('')
  const events = Object.entries(doc.webhooks)
    .map(([type, { post }]) => {
      const data = post.requestBody.content['application/json'].schema.properties.data
      return `<section id="event-${escape(type)}"><h3><code>${escape(type)}</code></h3><p>${prose(post.description)}</p><details><summary><code>data</code></summary><pre>${escape(JSON.stringify(data, null, 2))}</pre></details></section>`
    })
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(doc.info.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f5f7;padding:.75rem;overflow:auto}h2{margin-top:2rem}section{border-top:1px solid #dde;padding:.5rem 0}h3{margin:.25rem 0;font-size:1.05rem;overflow-wrap:anywhere}.m{display:inline-block;min-width:4.5rem;color:#067647}input{max-width:100%}small{color:#556}details{margin:.25rem 0}summary{cursor:pointer;color:#345}nav{line-height:2}</style></head>
<body><main><h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
<p>${prose(doc.info.description)}</p><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${doc.openapi}). ${ops.length} operations; webhook events at the end.</p>
<nav>${nav} · <a href="#webhooks">webhooks</a></nav>
<p class="try" hidden><label>API token for “Send”: <input id="token" type="password" size="50" autocomplete="off" placeholder="fdt_…"></label></p>
${body}
<h2 id="webhooks">Webhook events</h2><p>POSTed as <code>{ type, timestamp, data }</code> with <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> (Standard Webhooks):</p>${events}</main>
<script nonce="${nonce}">
// "Send" needs this script: without it the forms stay hidden.
for (const el of document.querySelectorAll('.try')) el.hidden = false
for (const form of document.querySelectorAll('form.try')) form.addEventListener('submit', async (e) => {
  e.preventDefault()
  const out = form.querySelector('.out'); out.hidden = false; out.textContent = '…'
  const token = document.getElementById('token').value.trim()
  const res = await fetch(form.elements.path.value, { headers: token ? { authorization: 'Bearer ' + token } : {}, credentials: token ? 'omit' : 'same-origin' })
  out.textContent = res.status + ' ' + res.statusText + '\\n' + await res.text()
})
</script></body></html>`
}

export const openApiRoutes = new Hono<AppEnv>()
  .get('/openapi.json', (c) => c.json(apiDocument(c.var.deps.env.APP_ORIGIN, c.var.deps.version)))
  .get('/docs', (c) => {
    // Its own small script only; calls go to this origin.
    const nonce = randomBytes(16).toString('base64')
    c.header(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    return c.html(docsPage(apiDocument(c.var.deps.env.APP_ORIGIN, c.var.deps.version), nonce))
  })
