import type { Db } from '../../../api/db/client.ts'
import { contacts } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'

/** A contact with the address as typed (its canonical form lowercased); its id. */
export async function addPerson(
  db: Db,
  first: string | null,
  last: string | null,
  email: string,
  companyId?: string,
): Promise<string> {
  const id = newId()
  await db.insert(contacts).values({
    id,
    email: email.toLowerCase(),
    emailDisplay: email,
    firstName: first,
    lastName: last,
    companyId: companyId ?? null,
    source: 'manual',
  })
  return id
}
