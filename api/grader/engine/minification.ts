// Estimates how much of a script or stylesheet minification would remove, by the ratio of token
// characters to all characters. Ported from Lighthouse 13.5.0 core/lib/minification-estimator.js
// (Copyright 2018 Google LLC, Apache-2.0) so the grader flags the same files Lighthouse's
// unminified-javascript and unminified-css audits flag.

// https://www.ecma-international.org/ecma-262/9.0/index.html#sec-punctuators
const PUNCTUATOR_REGEX =
  /(return|case|else|{|\(|\[|\.\.\.|;|,|<|>|<=|>=|==|!=|===|!==|\+|-|\*|%|\*\*|\+\+|--|<<|>>|>>>|&|\||\^|!|~|&&|\|\||\?|:|=|\+=|-=|\*=|%=|\*\*=|<<=|>>=|>>>=|&=|\|=|\^=|=>|\/|\/=|\})$/
const WHITESPACE_REGEX = /( |\n|\t)+$/

// A lone `/` preceded by a punctuator starts a RegExp, not a division.
function hasPunctuatorBefore(content: string, startPosition: number): boolean {
  for (let i = startPosition; i > 0; i--) {
    const precedingCharacters = content.slice(Math.max(0, i - 6), i)
    if (WHITESPACE_REGEX.test(precedingCharacters)) continue
    return PUNCTUATOR_REGEX.test(precedingCharacters)
  }
  return true
}

function computeTokenLength(
  content: string,
  features: { singlelineComments: boolean; regex: boolean },
): number {
  let totalTokenLength = 0
  let isInSinglelineComment = false
  let isInMultilineComment = false
  let isInLicenseComment = false
  let isInString = false
  let isInRegex = false
  let isInRegexCharacterClass = false
  let stringOpenChar: string | null = null
  const templateLiteralDepth: Array<'templateBrace' | 'normalBrace'> = []

  for (let i = 0; i < content.length; i++) {
    const twoChars = content.substr(i, 2)
    const char = twoChars.charAt(0)
    const isWhitespace = char === ' ' || char === '\n' || char === '\t'
    const isAStringOpenChar = char === `'` || char === '"' || char === '`'

    if (isInSinglelineComment) {
      if (char === '\n') isInSinglelineComment = false
    } else if (isInMultilineComment) {
      if (isInLicenseComment) totalTokenLength++
      if (twoChars === '*/') {
        if (isInLicenseComment) totalTokenLength++
        isInMultilineComment = false
        i++
      }
    } else if (isInString) {
      totalTokenLength++
      if (stringOpenChar === '`' && twoChars === '${') {
        templateLiteralDepth.push('templateBrace')
        isInString = false
        totalTokenLength++
        i++
      } else if (char === '\\') {
        totalTokenLength++
        i++
      } else if (char === stringOpenChar) {
        isInString = false
      }
    } else if (isInRegex) {
      totalTokenLength++
      if (char === '\\') {
        totalTokenLength++
        i++
      } else if (char === '[') {
        isInRegexCharacterClass = true
      } else if (char === ']' && isInRegexCharacterClass) {
        isInRegexCharacterClass = false
      } else if (char === '/' && !isInRegexCharacterClass) {
        isInRegex = false
      }
    } else if (twoChars === '/*') {
      isInMultilineComment = true
      isInLicenseComment = content.charAt(i + 2) === '!'
      if (isInLicenseComment) totalTokenLength += 2
      i++
    } else if (twoChars === '//' && features.singlelineComments) {
      isInSinglelineComment = true
      isInMultilineComment = false
      isInLicenseComment = false
      i++
    } else if (char === '/' && features.regex && hasPunctuatorBefore(content, i)) {
      isInRegex = true
      totalTokenLength++
    } else if (char === '{' && templateLiteralDepth.length > 0) {
      templateLiteralDepth.push('normalBrace')
      totalTokenLength++
    } else if (char === '}' && templateLiteralDepth.length > 0) {
      if (templateLiteralDepth[templateLiteralDepth.length - 1] === 'templateBrace') {
        isInString = true
        stringOpenChar = '`'
      }
      templateLiteralDepth.pop()
      totalTokenLength++
    } else if (isAStringOpenChar) {
      isInString = true
      stringOpenChar = char
      totalTokenLength++
    } else if (!isWhitespace) {
      totalTokenLength++
    }
  }

  // Unbalanced comments or strings: invalid or misparsed, so report "nothing to save".
  if (isInMultilineComment || isInString) return content.length
  return totalTokenLength
}

export function computeJSTokenLength(content: string): number {
  return computeTokenLength(content, { singlelineComments: true, regex: true })
}

export function computeCSSTokenLength(content: string): number {
  return computeTokenLength(content, { singlelineComments: false, regex: false })
}
