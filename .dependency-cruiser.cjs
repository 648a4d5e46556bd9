// The import rule (README, Layout): imports run down this list, never up.
//   entry points (server.ts, scripts/, src/) → wiring (api/server.ts, app.ts, background.ts) → routes/
//   → demo/ → integrations/ → grader/ → campaigns/ → tracking/ → search/ → leads/ → pipeline/ → accounts/ → email/ → content/ → ground floor
// The ground floor (db/, http/, env.ts, logger.ts, ids.ts, rate-limits.ts, idempotency.ts, deps.ts,
// module-hooks.ts, email-address.ts, email-headers.ts)
// and email-templates/ import no capability. Within one folder anything goes.
// Checked by tests/import-rule.test.ts (npm test); `npx depcruise api src scripts server.ts` prints it.
const layers = [
  ['wiring', '^api/(server|app|background)\\.ts$'],
  ['routes', '^api/routes/'],
  ['demo', '^api/demo/'],
  // Above the grader: webhook delivery goes through the grader's SSRF-guarded client. What the
  // capabilities below emit goes through the webhook outbox on the ground floor (db/webhook-outbox.ts).
  ['integrations', '^api/integrations/'],
  ['grader', '^api/grader/'],
  ['campaigns', '^api/campaigns/'],
  ['tracking', '^api/tracking/'],
  // Search reads the pipeline's tables and its role rules (pipeline/, accounts/).
  ['search', '^api/search/'],
  ['leads', '^api/leads/'],
  ['pipeline', '^api/pipeline/'],
  ['accounts', '^api/accounts/'],
  ['email', '^api/email/'],
  ['content', '^api/content/'],
  [
    'ground',
    '^api/(db/|http/|(env|logger|ids|rate-limits|idempotency|deps|module-hooks|email-address|email-headers)\\.ts$)',
  ],
]

const upward = layers.flatMap(([name, path], i) =>
  i === 0
    ? []
    : [
        {
          name: `no-upward-from-${name}`,
          comment: `${name} may import only what stands below it in the import rule`,
          severity: 'error',
          from: { path },
          to: {
            path: layers
              .slice(0, i)
              .map(([, p]) => `(${p})`)
              .join('|'),
          },
        },
      ],
)

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'api-stands-alone',
      comment: 'api/ never imports the site, the scripts or the entry point',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^(src|scripts)/|^server\\.ts$' },
    },
    {
      name: 'server-imports-no-script',
      severity: 'error',
      from: { path: '^server\\.ts$' },
      to: { path: '^scripts/' },
    },
    {
      name: 'loose-api-files',
      comment: 'no loose domain files: api/ holds folders and the wiring only',
      severity: 'error',
      from: {
        path: '^api/[^/]+\\.ts$',
        pathNot:
          '^api/(server|app|background|deps|env|logger|ids|rate-limits|idempotency|module-hooks|email-address|email-headers)\\.ts$',
      },
      to: {},
    },
    {
      name: 'grader-engine-is-pure',
      comment: 'the grading engine knows nothing of reports, jobs or leads',
      severity: 'error',
      from: { path: '^api/grader/engine/' },
      to: { path: '^api/', pathNot: '^api/(grader/engine/|ids\\.ts$|logger\\.ts$)' },
    },
    {
      name: 'templates-are-pure',
      severity: 'error',
      from: { path: '^email-templates/' },
      to: { path: '^(api|src|scripts)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^api/' },
      to: { circular: true, pathNot: '^node_modules' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|tests)/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
}
