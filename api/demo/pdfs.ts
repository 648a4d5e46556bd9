// Generates the demo gated files: one multi-page PDF per whitepaper and per gated case study whose
// frontmatter `file` is a `demo-*.pdf` name, built from the entry's own Markdown (title page,
// headings, wrapped text, a vector bar chart). Operators' own files (any other name) are never
// touched.
//
//   npm exec -- node scripts/generate-demo-pdfs.ts [--force] [--dir content-files]   (the CLI)
//
// Deterministic: the same content gives byte-identical files (no clock, no random ids), so the
// server can call generateDemoPdfs() at every start and only missing files are written.
import { mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib'
import type { PDFFont, PDFPage, RGB } from 'pdf-lib'
import { readCatalog } from '../content/catalog.ts'
import type { Chart } from '../content/schemas.ts'
import { SITE } from '../content/site.ts'

export const DEFAULT_OUTPUT_DIR = fileURLToPath(new URL('../../content-files/', import.meta.url))

export interface GenerateOptions {
  /** Rewrite files that already exist. */
  force?: boolean
  /** Where the Markdown lives; defaults to src/content/ of this checkout. */
  contentDir?: string
}

export interface GeneratedFile {
  file: string
  path: string
  status: 'written' | 'skipped'
  pages: number | null
}

/** A document to render, independent of where it came from. */
export interface DemoDocument {
  kind: 'Whitepaper' | 'Case study'
  title: string
  summary: string
  publishedAt: Date
  body: string
  chart?: Chart | undefined
  /** Figures for the title page, e.g. a case study's results. */
  figures?: { label: string; value: string }[]
  quote?: { text: string; person: string; role: string } | undefined
}

const DEMO_FILE = /^demo-[a-z0-9-]+\.pdf$/

export async function generateDemoPdfs(
  dir: string = DEFAULT_OUTPUT_DIR,
  options: GenerateOptions = {},
): Promise<GeneratedFile[]> {
  const catalog = await readCatalog(options.contentDir)
  const jobs: { file: string; doc: DemoDocument }[] = []
  for (const { data, body } of catalog.whitepapers) {
    jobs.push({
      file: data.file,
      doc: {
        kind: 'Whitepaper',
        title: data.title,
        summary: data.summary,
        publishedAt: data.publishedAt,
        body,
        chart: data.chart,
      },
    })
  }
  for (const { data, body } of catalog.caseStudies) {
    if (data.file === undefined) continue
    jobs.push({
      file: data.file,
      doc: {
        kind: 'Case study',
        title: data.title,
        summary: data.summary,
        publishedAt: data.publishedAt,
        body,
        chart: data.chart,
        figures: data.results,
        quote: data.quote,
      },
    })
  }

  await mkdir(dir, { recursive: true })
  const results: GeneratedFile[] = []
  for (const { file, doc } of jobs) {
    if (!DEMO_FILE.test(file)) continue
    const path = join(dir, file)
    if (!options.force && (await exists(path))) {
      results.push({ file, path, status: 'skipped', pages: null })
      continue
    }
    const { bytes, pages } = await renderDemoPdf(doc)
    // Write then rename, so a server starting at the same time never serves half a file.
    const partial = `${path}.${process.pid}.partial`
    await writeFile(partial, bytes)
    await rename(partial, path)
    results.push({ file, path, status: 'written', pages })
  }
  return results
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

// ── Rendering ─────────────────────────────────────────────────────────────────

// US Letter, in points.
const PAGE = { width: 612, height: 792 }
const MARGIN = { x: 64, top: 72, bottom: 72 }
const CONTENT_WIDTH = PAGE.width - 2 * MARGIN.x

const COLOR = {
  brand: hex('#1d44d8'),
  brandDark: hex('#172254'),
  brandSoft: hex('#dbe8fe'),
  accent: hex('#14b8a6'),
  text: hex('#151b26'),
  muted: hex('#4f5a6a'),
  rule: hex('#e1e6ed'),
  white: hex('#ffffff'),
}

interface Fonts {
  regular: PDFFont
  bold: PDFFont
  italic: PDFFont
}

type Block =
  | { type: 'heading'; level: number; text: string }
  | { type: 'paragraph'; text: string }
  | { type: 'list'; items: string[] }
  | { type: 'quote'; text: string }

export async function renderDemoPdf(
  doc: DemoDocument,
): Promise<{ bytes: Uint8Array; pages: number }> {
  const pdf = await PDFDocument.create({ updateMetadata: false })
  pdf.setTitle(toWinAnsi(doc.title))
  pdf.setAuthor(SITE.legalName)
  pdf.setSubject(toWinAnsi(doc.summary))
  pdf.setCreator('Frontdoor demo content generator')
  pdf.setProducer('pdf-lib')
  pdf.setCreationDate(doc.publishedAt)
  pdf.setModificationDate(doc.publishedAt)
  const fonts: Fonts = {
    regular: await pdf.embedFont(StandardFonts.Helvetica),
    bold: await pdf.embedFont(StandardFonts.HelveticaBold),
    italic: await pdf.embedFont(StandardFonts.HelveticaOblique),
  }

  const blocks = parseMarkdown(doc.body)
  const contents = blocks.flatMap((b) => (b.type === 'heading' && b.level === 2 ? [b.text] : []))
  drawTitlePage(pdf.addPage([PAGE.width, PAGE.height]), doc, contents, fonts)

  // The chart goes after the first section, where a reader looks for the headline figure.
  const secondHeading = blocks.findIndex((b, i) => i > 0 && b.type === 'heading' && b.level === 2)
  const chartAt = doc.chart ? (secondHeading === -1 ? blocks.length : secondHeading) : -1

  const flow = new Flow(pdf, fonts, doc.title)
  blocks.forEach((block, index) => {
    if (index === chartAt && doc.chart) flow.chart(doc.chart)
    flow.block(block)
  })
  if (chartAt === blocks.length && doc.chart) flow.chart(doc.chart)
  if (doc.quote)
    flow.block({
      type: 'quote',
      text: `"${doc.quote.text}" - ${doc.quote.person}, ${doc.quote.role}`,
    })
  flow.closing()

  const pages = pdf.getPageCount()
  pdf.getPages().forEach((page, i) => {
    if (i === 0) return
    const label = `${i + 1} / ${pages}`
    page.drawText(label, {
      x: PAGE.width - MARGIN.x - fonts.regular.widthOfTextAtSize(label, 9),
      y: 40,
      size: 9,
      font: fonts.regular,
      color: COLOR.muted,
    })
  })
  return { bytes: await pdf.save({ useObjectStreams: true }), pages }
}

function drawTitlePage(page: PDFPage, doc: DemoDocument, contents: string[], fonts: Fonts): void {
  const bandHeight = 430
  page.drawRectangle({
    x: 0,
    y: PAGE.height - bandHeight,
    width: PAGE.width,
    height: bandHeight,
    color: COLOR.brandDark,
  })
  // Brand mark: a small keel triangle and the wordmark.
  page.drawSvgPath('M 0 0 L 14 0 L 7 12 Z', {
    x: MARGIN.x,
    y: PAGE.height - 60,
    color: COLOR.accent,
  })
  page.drawText(SITE.name, {
    x: MARGIN.x + 22,
    y: PAGE.height - 72,
    size: 16,
    font: fonts.bold,
    color: COLOR.white,
  })
  page.drawText(doc.kind.toUpperCase(), {
    x: MARGIN.x,
    y: PAGE.height - 150,
    size: 10,
    font: fonts.bold,
    color: COLOR.brandSoft,
  })

  let y = PAGE.height - 190
  for (const line of wrap(doc.title, fonts.bold, 28, CONTENT_WIDTH)) {
    page.drawText(line, { x: MARGIN.x, y, size: 28, font: fonts.bold, color: COLOR.white })
    y -= 34
  }
  y -= 10
  for (const line of wrap(doc.summary, fonts.regular, 13, CONTENT_WIDTH)) {
    page.drawText(line, { x: MARGIN.x, y, size: 13, font: fonts.regular, color: COLOR.brandSoft })
    y -= 19
  }

  // Accent bars along the band's lower edge, echoing the site's covers.
  const bars = [0.9, 0.62, 0.45, 0.3]
  bars.forEach((fraction, i) => {
    page.drawRectangle({
      x: MARGIN.x + i * 26,
      y: PAGE.height - bandHeight + 24,
      width: 18,
      height: 60 * fraction,
      color: i % 2 === 0 ? COLOR.brand : COLOR.accent,
    })
  })

  let below = PAGE.height - bandHeight - 56
  if (doc.figures && doc.figures.length > 0) {
    const width = CONTENT_WIDTH / doc.figures.length
    doc.figures.forEach((figure, i) => {
      const x = MARGIN.x + i * width
      page.drawRectangle({ x, y: below - 4, width: 3, height: 48, color: COLOR.accent })
      page.drawText(toWinAnsi(figure.value), {
        x: x + 12,
        y: below + 22,
        size: 18,
        font: fonts.bold,
        color: COLOR.text,
      })
      for (const [n, line] of wrap(figure.label, fonts.regular, 9, width - 20).entries()) {
        page.drawText(line, {
          x: x + 12,
          y: below + 6 - n * 11,
          size: 9,
          font: fonts.regular,
          color: COLOR.muted,
        })
      }
    })
    below -= 90
  }

  const published = `Published ${formatDate(doc.publishedAt)}`
  page.drawText(published, {
    x: MARGIN.x,
    y: below,
    size: 11,
    font: fonts.regular,
    color: COLOR.muted,
  })
  below -= 36
  if (contents.length > 0) {
    page.drawText('IN THIS ' + doc.kind.toUpperCase(), {
      x: MARGIN.x,
      y: below,
      size: 9,
      font: fonts.bold,
      color: COLOR.brand,
    })
    below -= 20
    for (const [i, heading] of contents.entries()) {
      if (below < 120) break
      const number = String(i + 1).padStart(2, '0')
      page.drawText(number, {
        x: MARGIN.x,
        y: below,
        size: 11,
        font: fonts.bold,
        color: COLOR.accent,
      })
      page.drawText(truncate(heading, fonts.regular, 11, CONTENT_WIDTH - 30), {
        x: MARGIN.x + 26,
        y: below,
        size: 11,
        font: fonts.regular,
        color: COLOR.text,
      })
      below -= 19
    }
  }
  page.drawLine({
    start: { x: MARGIN.x, y: 92 },
    end: { x: PAGE.width - MARGIN.x, y: 92 },
    thickness: 0.75,
    color: COLOR.rule,
  })
  page.drawText(`${SITE.legalName} · ${SITE.address}`, {
    x: MARGIN.x,
    y: 72,
    size: 8.5,
    font: fonts.regular,
    color: COLOR.muted,
  })
  page.drawText('Demo content generated by Frontdoor. Keelson and its customers are fictional.', {
    x: MARGIN.x,
    y: 58,
    size: 8.5,
    font: fonts.italic,
    color: COLOR.muted,
  })
}

/** Lays blocks out top to bottom, starting a new page when the next block does not fit. */
class Flow {
  private page: PDFPage | null = null
  private y = 0
  private readonly pdf: PDFDocument
  private readonly fonts: Fonts
  private readonly runningTitle: string

  constructor(pdf: PDFDocument, fonts: Fonts, runningTitle: string) {
    this.pdf = pdf
    this.fonts = fonts
    this.runningTitle = runningTitle
  }

  block(block: Block): void {
    switch (block.type) {
      case 'heading': {
        const size = block.level <= 2 ? 17 : 12.5
        const leading = size * 1.3
        const lines = wrap(block.text, this.fonts.bold, size, CONTENT_WIDTH)
        // Keep a heading with at least three lines of what follows.
        this.ensure(lines.length * leading + (block.level <= 2 ? 22 : 12) + 48)
        this.y -= block.level <= 2 ? 22 : 10
        for (const line of lines) {
          this.y -= leading
          this.text(
            line,
            MARGIN.x,
            this.fonts.bold,
            size,
            block.level <= 2 ? COLOR.brandDark : COLOR.text,
          )
        }
        this.y -= 6
        return
      }
      case 'paragraph':
        this.paragraph(block.text, MARGIN.x, CONTENT_WIDTH, this.fonts.regular, COLOR.text)
        return
      case 'list':
        for (const item of block.items) {
          this.ensure(16)
          this.text('•', MARGIN.x + 4, this.fonts.bold, 11, COLOR.brand, this.y - 16)
          this.paragraph(item, MARGIN.x + 18, CONTENT_WIDTH - 18, this.fonts.regular, COLOR.text, 4)
        }
        this.y -= 6
        return
      case 'quote': {
        const lines = wrap(block.text, this.fonts.italic, 12, CONTENT_WIDTH - 24)
        const height = lines.length * 18 + 16
        this.ensure(height + 16)
        this.y -= 10
        this.page!.drawRectangle({
          x: MARGIN.x,
          y: this.y - height,
          width: 3,
          height,
          color: COLOR.accent,
        })
        this.y -= 8
        for (const line of lines) {
          this.y -= 18
          this.text(line, MARGIN.x + 18, this.fonts.italic, 12, COLOR.brandDark)
        }
        this.y -= 18
        return
      }
    }
  }

  /** A horizontal bar chart drawn with rectangles and lines. */
  chart(chart: Chart): void {
    const barHeight = 18
    const gap = 12
    const labelWidth = 180
    const plotWidth = CONTENT_WIDTH - labelWidth - 48
    const height = 40 + chart.bars.length * (barHeight + gap) + 36
    this.ensure(height + 24)
    this.y -= 16
    const top = this.y
    const page = this.page!
    page.drawRectangle({
      x: MARGIN.x - 12,
      y: top - height,
      width: CONTENT_WIDTH + 24,
      height,
      color: hex('#f6f8fa'),
      borderColor: COLOR.rule,
      borderWidth: 0.75,
    })
    this.y -= 24
    this.text(chart.title, MARGIN.x, this.fonts.bold, 12, COLOR.text)
    this.y -= 14
    const max = Math.max(...chart.bars.map((bar) => bar.value)) || 1
    const plotX = MARGIN.x + labelWidth
    const plotTop = this.y
    const plotBottom = plotTop - chart.bars.length * (barHeight + gap)
    for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
      const x = plotX + tick * plotWidth
      page.drawLine({
        start: { x, y: plotTop + 4 },
        end: { x, y: plotBottom + 4 },
        thickness: 0.5,
        color: COLOR.rule,
      })
    }
    chart.bars.forEach((bar, i) => {
      const yBar = plotTop - (i + 1) * (barHeight + gap) + gap
      const width = Math.max(2, (bar.value / max) * plotWidth)
      const label = truncate(bar.label, this.fonts.regular, 10, labelWidth - 12)
      page.drawText(label, {
        x: MARGIN.x,
        y: yBar + 5,
        size: 10,
        font: this.fonts.regular,
        color: COLOR.text,
      })
      page.drawRectangle({
        x: plotX,
        y: yBar,
        width,
        height: barHeight,
        color: i === chart.bars.length - 1 ? COLOR.accent : COLOR.brand,
      })
      page.drawText(toWinAnsi(`${formatNumber(bar.value)}${chart.unit}`), {
        x: plotX + width + 6,
        y: yBar + 5,
        size: 10,
        font: this.fonts.bold,
        color: COLOR.text,
      })
    })
    this.y = plotBottom - 6
    if (chart.source) {
      this.y -= 12
      this.text(
        truncate(`Source: ${chart.source}`, this.fonts.italic, 8.5, CONTENT_WIDTH),
        MARGIN.x,
        this.fonts.italic,
        8.5,
        COLOR.muted,
      )
    }
    this.y = top - height - 12
  }

  closing(): void {
    const lines = [
      `Want to see these numbers for your own pipeline? Ask for a demo at ${SITE.email.hello}.`,
      `${SITE.legalName} · ${SITE.address}`,
    ]
    this.ensure(70)
    this.y -= 24
    this.page!.drawLine({
      start: { x: MARGIN.x, y: this.y },
      end: { x: PAGE.width - MARGIN.x, y: this.y },
      thickness: 0.75,
      color: COLOR.rule,
    })
    this.y -= 6
    for (const line of lines) {
      this.paragraph(line, MARGIN.x, CONTENT_WIDTH, this.fonts.regular, COLOR.muted, 2, 9.5)
    }
  }

  private paragraph(
    text: string,
    x: number,
    width: number,
    font: PDFFont,
    color: RGB,
    after = 9,
    size = 11,
  ): void {
    const leading = size * 1.5
    for (const line of wrap(text, font, size, width)) {
      this.ensure(leading)
      this.y -= leading
      this.text(line, x, font, size, color)
    }
    this.y -= after
  }

  private text(text: string, x: number, font: PDFFont, size: number, color: RGB, y = this.y): void {
    this.page!.drawText(text, { x, y, size, font, color })
  }

  /** Starts a new page unless `height` points still fit above the bottom margin. */
  private ensure(height: number): void {
    if (this.page && this.y - height >= MARGIN.bottom) return
    this.page = this.pdf.addPage([PAGE.width, PAGE.height])
    const header = truncate(this.runningTitle, this.fonts.regular, 9, CONTENT_WIDTH - 80)
    this.page.drawText(header, {
      x: MARGIN.x,
      y: PAGE.height - 40,
      size: 9,
      font: this.fonts.regular,
      color: COLOR.muted,
    })
    this.page.drawText(SITE.name, {
      x: PAGE.width - MARGIN.x - this.fonts.bold.widthOfTextAtSize(SITE.name, 9),
      y: PAGE.height - 40,
      size: 9,
      font: this.fonts.bold,
      color: COLOR.brand,
    })
    this.page.drawLine({
      start: { x: MARGIN.x, y: PAGE.height - 48 },
      end: { x: PAGE.width - MARGIN.x, y: PAGE.height - 48 },
      thickness: 0.5,
      color: COLOR.rule,
    })
    this.y = PAGE.height - MARGIN.top
  }
}

// ── Markdown (the subset the demo content uses) ───────────────────────────────

/** Headings, paragraphs, bullet and numbered lists, block quotes; inline marks are dropped. */
export function parseMarkdown(markdown: string): Block[] {
  const blocks: Block[] = []
  for (const chunk of markdown.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
    const lines = chunk
      .split('\n')
      .map((line) => line.trimEnd())
      .filter((line) => line.trim() !== '')
    if (lines.length === 0) continue
    const first = lines[0]!.trimStart()
    const heading = /^(#{1,6})\s+(.*)$/.exec(first)
    if (heading && lines.length === 1) {
      blocks.push({ type: 'heading', level: heading[1]!.length, text: inline(heading[2]!) })
    } else if (
      lines.every((line) => /^\s*([-*+]|\d+[.)])\s+/.test(line) || /^\s{2,}\S/.test(line))
    ) {
      const items: string[] = []
      for (const line of lines) {
        const item = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line)
        if (item) items.push(inline(item[1]!))
        else items[items.length - 1] += ` ${inline(line.trim())}`
      }
      blocks.push({ type: 'list', items })
    } else if (lines.every((line) => line.trimStart().startsWith('>'))) {
      blocks.push({
        type: 'quote',
        text: inline(lines.map((line) => line.replace(/^\s*>\s?/, '')).join(' ')),
      })
    } else {
      blocks.push({ type: 'paragraph', text: inline(lines.map((line) => line.trim()).join(' ')) })
    }
  }
  return blocks
}

function inline(text: string): string {
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?=[^\w*]|$)/g, '$1$2')
    .replace(/<[^>]+>/g, '')
}

// ── Text helpers ──────────────────────────────────────────────────────────────

// The standard PDF fonts only cover WinAnsi; a few common typographic characters outside it are
// spelled out instead of failing the whole document.
const REPLACEMENTS: Record<string, string> = {
  '→': '->',
  '←': '<-',
  '−': '-',
  '‑': '-',
  '≈': '~',
  '≤': '<=',
  '≥': '>=',
  '\u00a0': ' ',
  '\u202f': ' ',
  '\u2009': ' ',
}

// WinAnsi (Windows-1252) beyond Latin-1: the characters in 0x80–0x9F.
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ')

export function toWinAnsi(text: string): string {
  let out = ''
  for (const char of text.normalize('NFC')) {
    const code = char.codePointAt(0)!
    if (REPLACEMENTS[char] !== undefined) out += REPLACEMENTS[char]
    else if (
      (code >= 0x20 && code <= 0x7e) ||
      (code >= 0xa0 && code <= 0xff) ||
      WIN_ANSI_EXTRA.has(char)
    )
      out += char
    else out += '?'
  }
  return out
}

function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of toWinAnsi(text).split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word
    if (line && font.widthOfTextAtSize(candidate, size) > width) {
      lines.push(line)
      line = word
    } else {
      line = candidate
    }
  }
  if (line) lines.push(line)
  return lines
}

function truncate(text: string, font: PDFFont, size: number, width: number): string {
  let out = toWinAnsi(text)
  if (font.widthOfTextAtSize(out, size) <= width) return out
  while (out.length > 1 && font.widthOfTextAtSize(`${out}...`, size) > width) out = out.slice(0, -1)
  return `${out.trimEnd()}...`
}

function formatDate(date: Date): string {
  return date.toLocaleDateString('en-US', {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  })
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

function hex(value: string): RGB {
  const n = Number.parseInt(value.slice(1), 16)
  return rgb(((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255)
}

// ── CLI ───────────────────────────────────────────────────────────────────────
