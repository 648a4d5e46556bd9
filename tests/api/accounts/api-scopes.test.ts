import { describe, expect, it } from 'vitest'
import { API_SCOPE_LABELS, type ApiScope } from '../../../api/accounts/api-scopes.ts'
import { apiDocument } from '../../../api/routes/openapi.ts'

// The page that makes API tokens describes each scope by its label: an admin picks scopes from
// them, so a label must name every kind of record a token with that scope can change.

describe('API scope labels', () => {
  it('name every kind of record a token with the scope can change', () => {
    const doc = apiDocument('http://frontdoor.test', 'test')
    const missing = new Set<string>()
    for (const methods of Object.values(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        if (method === 'get') continue
        // The URL's group: deals, contacts, companies, activities, admin/webhooks…
        const kind = op.tags[0]!.replace(/^admin\//, '').replace(/(ies|s)$/, '')
        for (const scope of op['x-scopes'] ?? [])
          if (!API_SCOPE_LABELS[scope as ApiScope].toLowerCase().includes(kind))
            missing.add(`${scope} does not mention ${kind}`)
      }
    expect([...missing]).toEqual([])
  })
})
