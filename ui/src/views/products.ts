// Products: the form (the API's 422 under each field) and the list with each task's state.

import { chip, notice, painter, render, showError, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { language, t } from '../i18n';
import { ApiError } from '../ipc';

import { formatNumber, parseDecimal } from '../format';
import { fieldErrors } from '../state';
import { openTask } from './tasks';

export function paintProducts(): void {
  const list = $('#product-list');
  $('#products-api-down').hidden = status('api')?.state === 'running' || status('api')?.state === 'external';
  fill(
    list,
    ...ui.products.map((product) => {
      const task = ui.tasks.ofProduct(product.id) ?? ui.tasks.get(product.task_id);
      return h(
        'li',
        { 'data-product-id': product.id, 'data-task-id': product.task_id },
        h('span', { class: 'id' }, `#${product.id}`),
        h('span', { class: 'name' }, product.name),
        h('span', { class: 'price' }, formatNumber(product.price, product.price % 1 === 0 ? 0 : 2, language())),
        h('span', { class: 'muted' }, t('products.task')),
        task ? chip(task.state) : chip('PENDING'),
        h('button', { class: 'link', onclick: () => openTask(product.task_id) }, '→'),
      );
    }),
  );
}

/** The price field's text as the API gets it: a number when it reads as one (decimal comma or point), else the text. */
export function priceOf(text: string): number | string {
  return parseDecimal(text) ?? text;
}

export async function submitProduct(form: HTMLFormElement): Promise<void> {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  form.querySelector('.form-error')!.textContent = '';
  if (!ui.api) return void notice(t('products.api_down'), 'error');
  const data = new FormData(form);
  const description = String(data.get('description') ?? '');
  const price = String(data.get('price') ?? '');
  const body: { name: string; price: number | string; description?: string } = {
    name: String(data.get('name') ?? ''),
    // «12,5» and "12.5" are numbers; anything else is sent as typed, so that the API's own 422
    // explains it (shown in the UI's language, with every other field's problem).
    price: priceOf(price),
  };
  if (description) body.description = description;
  try {
    const product = await ui.api.createProduct(body);
    ui.tasks.queued(product);
    if (!ui.products.some((p) => p.id === product.id)) ui.products.unshift(product);
    form.reset();
    form.querySelector('.form-ok')!.textContent = t('products.created', { id: product.id });
    render('products', 'tasks');
  } catch (err) {
    form.querySelector('.form-ok')!.textContent = '';
    if (err instanceof ApiError) {
      const errors = fieldErrors(err.detail);
      for (const [field, message] of Object.entries(errors)) {
        const slot = form.querySelector(`.field-error[data-field="${field}"]`) ?? form.querySelector('.form-error');
        if (slot) slot.textContent = message;
      }
    } else showError(err);
  }
}

painter('products', paintProducts);
