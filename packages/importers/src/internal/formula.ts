// Formula injection: what exports neutralise and imports restore. A quote is added to text that
// starts with a formula character, possibly after quotes of its own: "'=x" becomes "''=x", so
// restoring (removing one quote from text that starts with quotes and then a formula character)
// gives back exactly what was exported, whatever it was.
const NEUTRALIZE = /^'*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/
const RESTORE = /^'+[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/

export const neutralize = (text: string): string => (NEUTRALIZE.test(text) ? `'${text}` : text)

export const restore = (text: string): string => (RESTORE.test(text) ? text.slice(1) : text)
