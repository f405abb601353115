// Numbers, durations and counts in the UI's language: a decimal comma and «мс», «с», «мин», «ч»
// in Russian, a decimal point and "ms", "s", "min", "h" in English; plural forms by
// Intl.PluralRules. A number and its unit are joined by a no-break space (U+00A0), so that a
// label never wraps between "3,5" and "с". Every function takes the language last, defaulting to
// the UI's.

import { language, pluralForm } from './i18n';
import type { Language } from './ipc';

/** The no-break space between a number and its unit. */
export const NBSP = '\u00a0';

const UNITS: Record<Language, { ms: string; s: string; min: string; h: string }> = {
  ru: { ms: 'мс', s: 'с', min: 'мин', h: 'ч' },
  en: { ms: 'ms', s: 's', min: 'min', h: 'h' },
};

const numberFormats = new Map<string, Intl.NumberFormat>();

/** `value` with exactly `decimals` decimals (default: as many as it has, up to 3), grouped. */
export function formatNumber(value: number, decimals?: number, lang: Language = language()): string {
  const key = `${lang}|${decimals ?? ''}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(
      lang,
      decimals === undefined
        ? { maximumFractionDigits: 3 }
        : { minimumFractionDigits: decimals, maximumFractionDigits: decimals },
    );
    numberFormats.set(key, format);
  }
  // -0 would print as "-0".
  return format.format(value === 0 ? 0 : value);
}

const two = (n: number) => String(n).padStart(2, '0');

/** Seconds as the UI shows them: «850 мс», «3,5 с», «3 мин 05 с», «23 ч 56 мин» (English: "850 ms", "3.5 s", …). */
export function formatDuration(secs: number | null | undefined, lang: Language = language()): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs)) return '—';
  const u = UNITS[lang];
  const sign = secs < 0 ? '−' : '';
  const abs = Math.abs(secs);
  const millis = Math.round(abs * 1000);
  if (millis < 1000) return `${sign}${millis}${NBSP}${u.ms}`;
  const tenths = Math.round(abs * 10) / 10;
  // A whole number of seconds as such («5 с», a setting or a limit), a measurement with its tenth.
  if (tenths < 60) return `${sign}${formatNumber(tenths, Number.isInteger(abs) ? 0 : 1, lang)}${NBSP}${u.s}`;
  const whole = Math.round(abs);
  if (whole < 3600) return `${sign}${Math.floor(whole / 60)}${NBSP}${u.min} ${two(whole % 60)}${NBSP}${u.s}`;
  return `${sign}${formatNumber(Math.floor(whole / 3600), 0, lang)}${NBSP}${u.h} ${two(Math.floor((whole % 3600) / 60))}${NBSP}${u.min}`;
}

/** Milliseconds as measurements show them: «0,04 мс», «3,3 мс», then as a duration («1,2 с»). */
export function formatMs(value: number | null | undefined, lang: Language = language()): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const u = UNITS[lang];
  if (Math.abs(value) < 1) return `${formatNumber(value, 2, lang)}${NBSP}${u.ms}`;
  if (Math.abs(value) < 999.95) return `${formatNumber(value, 1, lang)}${NBSP}${u.ms}`;
  return formatDuration(value / 1000, lang);
}

/** The plural form of a word for `count` (see `pluralForm` in i18n.ts): «товар|товара|товаров». */
export function plural(count: number, forms: readonly string[], lang: Language = language()): string {
  return pluralForm(count, forms, lang);
}

/** The nouns the UI counts, with their plural forms. */
export const NOUNS = {
  product: { ru: ['товар', 'товара', 'товаров'], en: ['product', 'products'] },
  task: { ru: ['задача', 'задачи', 'задач'], en: ['task', 'tasks'] },
  key: { ru: ['ключ', 'ключа', 'ключей'], en: ['key', 'keys'] },
  attempt: { ru: ['попытка', 'попытки', 'попыток'], en: ['attempt', 'attempts'] },
  restart: { ru: ['перезапуск', 'перезапуска', 'перезапусков'], en: ['restart', 'restarts'] },
  character: { ru: ['символ', 'символа', 'символов'], en: ['character', 'characters'] },
  second: { ru: ['секунда', 'секунды', 'секунд'], en: ['second', 'seconds'] },
  worker: { ru: ['воркер', 'воркера', 'воркеров'], en: ['worker', 'workers'] },
} as const satisfies Record<string, Record<Language, readonly string[]>>;

export type Noun = keyof typeof NOUNS;

/** A count with its noun: «1 товар», «2 товара», «5 товаров», «1 234 задачи»; "1 product", "5 products". */
export function formatCount(count: number, noun: Noun, lang: Language = language()): string {
  return `${formatNumber(count, undefined, lang)}${NBSP}${plural(count, NOUNS[noun][lang], lang)}`;
}

/** How many times more: «в 82 раза», «в 5 раз», «в 21 раз»; English "82 times", "1.5 times". */
export function formatTimes(ratio: number, lang: Language = language()): string {
  const value = ratio >= 10 ? Math.round(ratio) : Math.round(ratio * 10) / 10;
  const number = formatNumber(value, undefined, lang);
  return lang === 'ru'
    ? `в${NBSP}${number}${NBSP}${plural(value, ['раз', 'раза', 'раз'], lang)}`
    : `${number}${NBSP}${plural(value, ['time', 'times'], lang)}`;
}

/**
 * A number typed by a person: «12,5» and "12.5" both mean 12.5; spaces (also no-break ones)
 * between digit groups are dropped («1 990,50»). `null` when it is not a plain decimal number.
 */
export function parseDecimal(text: string): number | null {
  const compact = text.trim().replace(/(\d)[\s\u00a0\u202f](?=\d)/g, '$1');
  if (!/^[-+]?(\d+([.,]\d*)?|[.,]\d+)$/.test(compact)) return null;
  const value = Number(compact.replace(',', '.'));
  return Number.isFinite(value) ? value : null;
}
