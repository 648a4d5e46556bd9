import type { Role } from './users.ts'

// Who may do what: the one place role rules live. Routes and pages both ask `can`.
const rules = {
  'users:manage': ['admin'],
  'settings:manage': ['admin'],
  'mailbox:read': ['admin'],
  'outbox:manage': ['admin'],
  'suppressions:manage': ['admin'],
  'submissions:review': ['admin'],
  'contacts:read': ['admin', 'rep', 'sdr'],
  'contacts:export': ['admin'],
  /** Erase a person on request (api/pipeline/erasure.ts): irreversible, so admins only. */
  'contacts:erase': ['admin'],
  'pipeline:read': ['admin', 'rep', 'sdr'],
  'pipeline:read_team': ['admin', 'sdr'],
  'deals:claim': ['admin', 'rep'],
  'deals:edit_own': ['admin', 'rep'],
  'deals:edit_any': ['admin'],
  'campaigns:read': ['admin', 'sdr', 'rep'],
  'campaigns:write': ['admin', 'sdr'],
  'grader:read': ['admin', 'rep', 'sdr'],
  'api_tokens:manage': ['admin'],
  'webhooks:manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof rules

export function can(user: { role: Role } | null | undefined, permission: Permission): boolean {
  return !!user && (rules[permission] as readonly Role[]).includes(user.role)
}
