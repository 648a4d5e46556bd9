// Progressive enhancement for LeadForm.astro. Without this script the form posts normally and
// the server answers with a 303 or an error page; with it: inline validation, a JSON submit
// without a page reload, and server errors shown next to their fields.

interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> }
}
interface OkBody {
  ok: true
  redirect: string
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement

// Stricter than type=email (which accepts "a@b"): a dot in the domain catches most typos.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/

const MESSAGES = {
  sending: 'Sending…',
  network: 'We could not reach our server. Check your connection and try again.',
  unknown: 'Something went wrong on our side. Please try again in a moment.',
  fixOne: 'Please correct the field marked below.',
  fixMany: (n: number) => `Please correct the ${n} fields marked below.`,
}

export function enhanceLeadForms(root: ParentNode): void {
  for (const form of root.querySelectorAll<HTMLFormElement>('form[data-lead-form]')) {
    if (form.dataset.enhanced === 'true') continue
    form.dataset.enhanced = 'true'
    enhance(form)
  }
}

function enhance(form: HTMLFormElement): void {
  // Our messages replace the browser's bubbles; the `required`/`type` attributes stay for no-JS.
  form.noValidate = true
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')
  const status = form.querySelector<HTMLElement>('[data-form-status]')
  let sending = false

  // A field left by pressing on another control (the consent box, say) is checked once that press
  // is over: a message shown at once would push the control down under the pointer, and the
  // click would land beside it.
  let pressing = false
  const afterPress = new Set<Control>()
  document.addEventListener('pointerdown', () => (pressing = true), true)
  const released = () => {
    pressing = false
    // After the click this press makes (dispatched in the same task as pointerup).
    setTimeout(() => {
      for (const control of afterPress) check(control)
      afterPress.clear()
    }, 0)
  }
  document.addEventListener('pointerup', released, true)
  document.addEventListener('pointercancel', released, true)

  for (const control of validatable(form)) {
    // Validate on leaving a field, then live while the person fixes it.
    control.addEventListener('blur', () => {
      if (control.value === '' && control.getAttribute('aria-invalid') !== 'true') return
      if (pressing) afterPress.add(control)
      else check(control)
    })
    control.addEventListener(control instanceof HTMLSelectElement ? 'change' : 'input', () => {
      if (control.getAttribute('aria-invalid') !== 'true') return
      check(control)
      // Once every field is fixed, the "please correct" summary no longer applies.
      if (!form.querySelector('[aria-invalid="true"]')) showStatus('')
    })
  }

  // Back/forward cache: a restored page must not keep a disabled button or a spent key.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return
    sending = false
    setBusy(false)
    renewIdempotencyKey(form)
  })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (sending) return
    showStatus('')
    const invalid = validatable(form).filter((control) => !check(control))
    if (invalid.length > 0) {
      showStatus(invalid.length === 1 ? MESSAGES.fixOne : MESSAGES.fixMany(invalid.length))
      invalid[0]!.focus()
      return
    }
    sending = true
    setBusy(true)
    void submit().finally(() => {
      sending = false
    })
  })

  async function submit(): Promise<void> {
    const body = new URLSearchParams()
    for (const [name, value] of new FormData(form)) {
      if (typeof value === 'string') body.append(name, value)
    }
    let response: Response
    try {
      response = await fetch(form.getAttribute('action') ?? '/api/leads', {
        method: 'POST',
        headers: {
          Accept: 'application/json',
          'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8',
        },
        body,
        credentials: 'same-origin',
      })
    } catch {
      // No answer: the post may or may not have landed, so a retry keeps the same key and the
      // server answers it with the first result.
      setBusy(false)
      showStatus(MESSAGES.network)
      return
    }
    const data: unknown = await response.json().catch(() => null)
    if (isOk(data)) {
      // Keep the button disabled: the page is about to change.
      window.location.assign(sameOrigin(data.redirect))
      return
    }
    if (response.ok && response.redirected) {
      window.location.assign(response.url)
      return
    }
    // Answered: the next attempt is a new request with corrected values, so it gets a new key
    // (reusing the key with a different body would be refused as a conflict).
    renewIdempotencyKey(form)
    setBusy(false)
    if (isError(data)) showServerErrors(data.error)
    else showStatus(MESSAGES.unknown)
  }

  function showServerErrors(error: ErrorBody['error']): void {
    const unplaced: string[] = []
    let first: Control | null = null
    for (const control of validatable(form)) setError(control, null)
    for (const [name, message] of Object.entries(error.fields ?? {})) {
      const control = form.elements.namedItem(name)
      if (isControl(control) && errorElement(control)) {
        setError(control, message)
        first ??= control
      } else {
        unplaced.push(message)
      }
    }
    // Focus the first invalid field in page order, not in the server's order.
    first = validatable(form).find((c) => c.getAttribute('aria-invalid') === 'true') ?? first
    // The summary, plus messages for fields this form has no slot for (said once each).
    showStatus([...new Set([error.message, ...unplaced])].filter(Boolean).join(' '))
    if (first) first.focus()
    else status?.focus()
  }

  function showStatus(message: string): void {
    if (!status) return
    status.replaceChildren()
    if (!message) return
    const p = document.createElement('p')
    p.className = 'form-status__message'
    p.textContent = message
    status.append(p)
  }

  function setBusy(busy: boolean): void {
    form.setAttribute('aria-busy', String(busy))
    if (!button) return
    button.disabled = busy
    button.textContent = busy ? MESSAGES.sending : (button.dataset.label ?? button.textContent)
  }
}

/** Runs the field's checks and shows or clears its message; true when valid. */
function check(control: Control): boolean {
  const message = messageFor(control)
  setError(control, message)
  return message === null
}

function messageFor(control: Control): string | null {
  const value = control.value.trim()
  const { validity, dataset } = control
  if (control.required && value === '') return dataset.missing ?? 'Fill in this field.'
  if (value === '') return null
  if (control instanceof HTMLInputElement && control.type === 'email' && !EMAIL.test(value)) {
    return dataset.invalid ?? 'Enter a valid email address.'
  }
  if (validity.typeMismatch || validity.patternMismatch)
    return dataset.invalid ?? 'Check this value.'
  const max = 'maxLength' in control ? control.maxLength : -1
  if (max > 0 && control.value.length > max) {
    return `Keep this under ${max.toLocaleString('en-US')} characters.`
  }
  return null
}

function setError(control: Control, message: string | null): void {
  const error = errorElement(control)
  if (!error) return
  const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean))
  if (message) {
    error.textContent = message
    error.hidden = false
    control.setAttribute('aria-invalid', 'true')
    ids.add(error.id)
  } else {
    error.textContent = ''
    error.hidden = true
    control.removeAttribute('aria-invalid')
    ids.delete(error.id)
  }
  if (ids.size > 0) control.setAttribute('aria-describedby', [...ids].join(' '))
  else control.removeAttribute('aria-describedby')
}

function errorElement(control: Control): HTMLElement | null {
  return control.id ? document.getElementById(`${control.id}-error`) : null
}

/** The visible fields that carry a message slot (not hidden inputs, the honeypot or the box). */
function validatable(form: HTMLFormElement): Control[] {
  return Array.from(form.elements).filter(
    (el): el is Control => isControl(el) && el.type !== 'hidden' && errorElement(el) !== null,
  )
}

function isControl(el: unknown): el is Control {
  return (
    el instanceof HTMLInputElement ||
    el instanceof HTMLSelectElement ||
    el instanceof HTMLTextAreaElement
  )
}

function renewIdempotencyKey(form: HTMLFormElement): void {
  const input = form.elements.namedItem('idempotencyKey')
  if (input instanceof HTMLInputElement) input.value = uuid()
}

// crypto.randomUUID only exists in secure contexts; a plain-HTTP intranet deploy still works.
function uuid(): string {
  if (typeof crypto.randomUUID === 'function' && window.isSecureContext) return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function sameOrigin(target: string): string {
  const url = new URL(target, window.location.href)
  return url.origin === window.location.origin ? url.href : '/thanks'
}

function isOk(data: unknown): data is OkBody {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as OkBody).ok === true &&
    typeof (data as OkBody).redirect === 'string'
  )
}

function isError(data: unknown): data is ErrorBody {
  const error = (data as ErrorBody | null)?.error
  return typeof error === 'object' && error !== null && typeof error.message === 'string'
}
