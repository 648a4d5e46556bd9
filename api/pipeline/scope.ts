import { can } from '../accounts/permissions.ts'
import type { Role } from '../accounts/users.ts'
import type { Scope } from './queries.ts'
import { isId } from '../ids.ts'

// Whose pipeline a request looks at, from `owner=me|team|<user id>`: reps their own, admins and
// SDRs anyone's or the whole team's (the default for them). Shared by the API and the pages.

export type ScopeChoice = { ok: true; scope: Scope; owner: string } | { ok: false; message: string }

export function resolveScope(
  user: { id: string; role: Role },
  owner: string | null | undefined,
): ScopeChoice {
  const team = can(user, 'pipeline:read_team')
  const wanted = owner || (team ? 'team' : 'me')
  if (wanted === 'me' || wanted === user.id)
    return { ok: true, scope: { ownerId: user.id }, owner: 'me' }
  if (!team)
    return { ok: false, message: 'Reps see their own pipeline; ask an admin for the team view.' }
  if (wanted === 'team') return { ok: true, scope: { team: true }, owner: 'team' }
  if (!isId(wanted)) return { ok: false, message: 'Unknown owner.' }
  return { ok: true, scope: { ownerId: wanted }, owner: wanted }
}
