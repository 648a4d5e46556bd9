/**
 * Polls until `probe` gives a value. No deadline of its own: a loaded machine only makes the
 * wait longer, and the test's timeout catches a value that never comes.
 */
export async function eventually<T>(
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  everyMs = 20,
): Promise<T> {
  for (;;) {
    const value = await probe()
    if (value) return value
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
