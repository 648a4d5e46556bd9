// Why a page could not be graded, in the visitor's words. One home for the wording: the engine
// answers with it, and reports.ts shows it again for a stored failure (it imports this module,
// never the engine's runtime).
//
// No wording may tell a blocked address from a refused or silent one (no port-scan oracle): those
// are all `unreachable`. `http_error` and `too_slow` are only ever said of a site that answered
// from a public address, which a visitor could see in a browser anyway.

export type PageFailure =
  | { code: 'unreachable' | 'too_many_redirects' | 'not_html' }
  /** The final response (after redirects) had status 400 or more: an error page is not graded. */
  | { code: 'http_error'; httpStatus: number }
  /** Headers came, the body did not finish in time: `seconds` had passed when we stopped. */
  | { code: 'too_slow'; seconds: number }

export type PageFailureCode = PageFailure['code']

const FIXED: Record<'unreachable' | 'too_many_redirects' | 'not_html', string> = {
  unreachable: 'We could not reach that website. Check the address and try again.',
  too_many_redirects: 'That website redirects too many times (or in a loop).',
  not_html: 'That address does not serve a web page (HTML).',
}

// The standard reason phrases of the error statuses (RFC 9110 and the registry; written out here
// because the grader's code may not import node:http, see one-http-client.test.ts).
const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  510: 'Not Extended',
  511: 'Network Authentication Required',
}

/** "503 Service Unavailable": the standard reason phrase, never the one the server sent. */
export function statusText(status: number): string {
  const phrase = REASON_PHRASES[status]
  return phrase === undefined ? `HTTP ${status}` : `${status} ${phrase}`
}

export function pageFailureMessage(failure: PageFailure): string {
  switch (failure.code) {
    case 'http_error': {
      const status = failure.httpStatus
      const loads = 'we can only grade a page that loads.'
      if (status === 404 || status === 410)
        return `That page does not exist (${statusText(status)}): ${loads} Check the address.`
      const then =
        status >= 500
          ? 'Check the address, or try again once the site is back.'
          : status === 429
            ? 'Try again in a while.'
            : 'Check the address.'
      return `That page answered ${statusText(status)}: ${loads} ${then}`
    }
    case 'too_slow':
      return `That website answered but took too long to send its page (over ${failure.seconds} s). Try again in a while.`
    default:
      return FIXED[failure.code]
  }
}
