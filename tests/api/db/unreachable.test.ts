import { describe, expect, it } from 'vitest'
import { DatabaseUnreachableError, openDatabase } from '../../../api/db/client.ts'

// A DATABASE_URL this process cannot use is said plainly when the database opens, naming the
// variable and the URL without its password, instead of a driver's stack from a migration.
describe('a DATABASE_URL that cannot be used', () => {
  it('is refused at open, named, without its password', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const opening = openDatabase({ databaseUrl: 'postgres://app:s3cret@127.0.0.1:1/frontdoor' })
    await expect(opening).rejects.toBeInstanceOf(DatabaseUnreachableError)
    const err = (await opening.catch((e: unknown) => e)) as Error
    expect(err.message).toMatch(
      /^Cannot use the PostgreSQL database in DATABASE_URL \(postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/frontdoor\): /,
    )
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.message).not.toContain('s3cret')
  })

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'is refused at open when the server is there but the database is not',
    async () => {
      const url = new URL(process.env.TEST_DATABASE_URL!)
      url.pathname = '/fd_no_such_database'
      const err = (await openDatabase({ databaseUrl: url.href }).catch((e: unknown) => e)) as Error
      expect(err).toBeInstanceOf(DatabaseUnreachableError)
      expect(err.message).toContain('database "fd_no_such_database" does not exist')
    },
  )
})
