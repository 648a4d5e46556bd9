import { Worker } from 'node:worker_threads'
import type { DetectedLibrary } from './js-libraries.ts'

// Runs retire.js's content rules on script text off the main thread, with a time limit: a few of
// those rules backtrack polynomially, and a hostile site must not be able to stall the server's
// event loop with a crafted script. One worker per process serves every grading (starting one
// costs more than a typical scan); a scan that runs out of time terminates it (V8 interrupts even
// a running regular expression), every scan waiting on it reports a time-out, and the next scan
// starts a fresh worker.

export type ScriptText = { url: string | null; text: string }

export type LibraryScan = { libraries: DetectedLibrary[]; timedOut: boolean }

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const ready = import(workerData.module)
parentPort.on('message', async ({ id, scripts }) => {
  const { detectFromContent } = await ready
  const libraries = []
  for (const script of scripts) libraries.push(...detectFromContent(script.text, script.url))
  parentPort.postMessage({ id, libraries })
})
`

type Pending = { resolve: (scan: LibraryScan) => void; timer: NodeJS.Timeout }

let worker: Worker | null = null
const pending = new Map<number, Pending>()
let nextId = 0

function settleAll(scan: LibraryScan) {
  for (const [id, waiting] of pending) {
    clearTimeout(waiting.timer)
    pending.delete(id)
    waiting.resolve(scan)
  }
}

function retire(stuck: Worker) {
  if (worker === stuck) worker = null
  settleAll({ libraries: [], timedOut: true })
  void stuck.terminate()
}

function currentWorker(): Worker {
  if (worker !== null) return worker
  const started = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module: new URL('./js-libraries.ts', import.meta.url).href },
  })
  // An idle scanner must not keep the process alive.
  started.unref()
  started.on('message', ({ id, libraries }: { id: number; libraries: DetectedLibrary[] }) => {
    const waiting = pending.get(id)
    if (waiting === undefined) return
    clearTimeout(waiting.timer)
    pending.delete(id)
    waiting.resolve({ libraries, timedOut: false })
  })
  started.on('error', () => retire(started))
  started.on('exit', () => {
    if (worker === started) worker = null
  })
  worker = started
  return started
}

export function scanScriptContents(scripts: ScriptText[], timeoutMs: number): Promise<LibraryScan> {
  if (scripts.length === 0) return Promise.resolve({ libraries: [], timedOut: false })
  const scanner = currentWorker()
  const id = nextId++
  return new Promise((resolve) => {
    const timer = setTimeout(() => retire(scanner), timeoutMs)
    pending.set(id, { resolve, timer })
    scanner.postMessage({ id, scripts })
  })
}
