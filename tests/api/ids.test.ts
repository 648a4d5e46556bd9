import { describe, expect, it } from 'vitest'
import { newId } from '../../api/ids.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const time = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16)

describe('newId', () => {
  it('is a UUIDv7 whose first 48 bits are the millisecond', () => {
    const at = Date.UTC(2026, 11, 5, 9, 0, 0, 123)
    const id = newId(at)
    expect(id).toMatch(UUID_V7)
    expect(time(id)).toBe(at)
  })

  it('counts up within a millisecond and sorts by time across them', () => {
    const at = Date.UTC(2026, 11, 5, 9, 0, 1)
    const ids = [newId(at), newId(at), newId(at), newId(at + 1), newId(at + 1), newId(at + 2)]
    for (const id of ids) expect(id).toMatch(UUID_V7)
    expect(ids.map(time)).toEqual([at, at, at, at + 1, at + 1, at + 2])
    expect([...ids].sort()).toEqual(ids)
    const seq = (id: string) => parseInt(id.slice(15, 18), 16)
    expect(seq(ids[1]!)).toBe(seq(ids[0]!) + 1)
    expect(seq(ids[2]!)).toBe(seq(ids[0]!) + 2)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
