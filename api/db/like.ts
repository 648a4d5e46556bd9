// LIKE and ILIKE patterns from what a person typed: `%`, `_` and the escape character itself
// (PostgreSQL's default, `\`) match only themselves. The one home of that escaping.

/** `text` with LIKE's wildcards escaped, to build a pattern around. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}

/** A pattern matching any value that contains `text`. */
export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`
}

/**
 * Typed text a search may send to the database: neither engine takes U+0000 in a text parameter
 * (the query fails), and no stored value can hold one. The one rule; `UNSEARCHABLE` says why.
 */
export const isSearchable = (text: string): boolean => !text.includes('\u0000')
export const UNSEARCHABLE = 'The search contains a character that cannot be searched.'
