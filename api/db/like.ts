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
