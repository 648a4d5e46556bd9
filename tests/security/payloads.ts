// The hostile payload set of the attack run (issue 19), shared by the form suite and the fuzz run.

export const HOSTILE: ReadonlyArray<readonly [name: string, value: string]> = [
  ['NUL', 'Dana\u0000Lee'],
  ['CRLF', 'Dana\r\nBcc: victim@example.com'],
  ['10k characters', 'x'.repeat(10_000)],
  ['RTL override', '\u202Eeerf-ylno\u202C Dana'],
  ['emoji', 'Dana 👩🏽‍💻🚀'],
  ['script', '<script>alert(1)</script>'],
  ['attribute breakout', '"><img src=x onerror=alert(1)>'],
  ['javascript: URL', 'javascript:alert(document.cookie)'],
  ['SQL', "' OR 1=1; DROP TABLE contacts; --"],
  ['template', '{{7*7}} ${7*7} <%= 7*7 %>'],
  ['proto', '__proto__'],
  ['lone surrogate', 'Dana\uD800Lee'],
  ['zero-width', 'Da\u200Bna\uFEFF'],
]

/** Raw form-encoded fragments a browser never sends (invalid UTF-8, broken escapes). */
export const RAW_FORM_VALUES = ['%FF%FE', '%C3%28', '%E0%A4%A', '%', '%%', '%0', '%ED%A0%80']

/** Small, seeded, repeatable: mulberry32. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
