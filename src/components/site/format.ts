// Display formatting shared by the site's pages. Dates are calendar dates, shown in UTC so a
// date written in frontmatter never shifts by a day with the server's time zone.
export function formatDate(date: Date): string {
  return date.toLocaleDateString('en-US', {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  })
}

export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10)
}
