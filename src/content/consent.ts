// The marketing-consent wording shown next to the unticked checkbox on every lead form. The
// server keeps every version ever shown (api/consent.ts); the site shows the current one.
export { CONSENT_TEXT, type ConsentText } from '#api/leads/consent.ts'
