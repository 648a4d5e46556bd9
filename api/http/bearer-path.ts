// Our bearer links carry their token as the path segment after /d/, /u/ or /r/ (downloads,
// unsubscribe, tracked links): whoever reads such a path holds the link. One rule for every place
// that keeps a path: logs, and the page URLs a lead post stores (api/leads/stored-urls.ts).
export const BEARER_PATH = /^\/(d|u|r)\/[^/]+/

/** The path as a log may keep it: a bearer link's token replaced by '…'. */
export function pathForLog(path: string): string {
  return path.replace(BEARER_PATH, '/$1/…')
}
