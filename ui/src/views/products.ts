// Products: the form (the API's 422 under each field) and the list with each task's state.

import type { Context } from '../context';
import { $, fill, h } from '../dom';
import { formatNumber, parseDecimal } from '../format';
import { language, t } from '../i18n';
import { ApiError } from '../ipc';
import { fieldErrors } from '../state';
import { chip, field } from '../widgets';

/** The price field's text as the API gets it: a number when it reads as one (decimal comma or point), else the text. */
export function priceOf(text: string): number | string {
  return parseDecimal(text) ?? text;
}

/** What the products view asks of the others. */
export interface ProductsLinks {
  /** Opens a task in the history's drawer. */
  openTask(id: string): void;
}

export class ProductsView {
  constructor(
    private readonly ctx: Context,
    private readonly links: ProductsLinks,
  ) {}

  /** Builds the products' section in `main`. */
  mount(main: HTMLElement): void {
    main.append(
      h(
        'section',
        { id: 'view-products', class: 'view' },
        h(
          'form',
          {
            id: 'product-form',
            novalidate: true,
            onsubmit: (e: Event) => {
              e.preventDefault();
              void this.submit(e.target as HTMLFormElement);
            },
          },
          h('h2', {}, t('products.new')),
          field('name', 'products.name', 'text', { maxlength: '200' }),
          field('price', 'products.price', 'text', { inputmode: 'decimal' }),
          field('description', 'products.description'),
          h('p', { class: 'form-error', role: 'alert' }),
          h('button', { id: 'product-submit', class: 'primary', type: 'submit' }, t('products.create')),
          h('p', { class: 'form-ok', role: 'status' }),
        ),
        h(
          'section',
          {},
          h('h2', {}, t('products.list')),
          h('p', { id: 'products-api-down', class: 'muted' }, t('products.api_down')),
          h('ul', { id: 'product-list', class: 'products' }),
        ),
      ),
    );
  }

  paint(): void {
    const { store } = this.ctx;
    const list = $('#product-list');
    $('#products-api-down').hidden =
      store.status('api')?.state === 'running' || store.status('api')?.state === 'external';
    fill(
      list,
      ...store.state.products.map((product) => {
        const task = store.tasks.ofProduct(product.id) ?? store.tasks.get(product.task_id);
        return h(
          'li',
          { 'data-product-id': product.id, 'data-task-id': product.task_id },
          h('span', { class: 'id' }, `#${product.id}`),
          h('span', { class: 'name' }, product.name),
          h('span', { class: 'price' }, formatNumber(product.price, product.price % 1 === 0 ? 0 : 2, language())),
          h('span', { class: 'muted' }, t('products.task')),
          task ? chip(task.state) : chip('PENDING'),
          h('button', { class: 'link', onclick: () => this.links.openTask(product.task_id) }, '→'),
        );
      }),
    );
  }

  private async submit(form: HTMLFormElement): Promise<void> {
    const { store } = this.ctx;
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    form.querySelector('.form-error')!.textContent = '';
    const api = store.state.api;
    if (!api) return void this.ctx.notice(t('products.api_down'), 'error');
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
      const product = await api.createProduct(body);
      store.addProduct(product);
      form.reset();
      form.querySelector('.form-ok')!.textContent = t('products.created', { id: product.id });
      store.render('products', 'tasks');
    } catch (err) {
      form.querySelector('.form-ok')!.textContent = '';
      if (err instanceof ApiError) {
        const errors = fieldErrors(err.detail);
        for (const [name, message] of Object.entries(errors)) {
          const slot = form.querySelector(`.field-error[data-field="${name}"]`) ?? form.querySelector('.form-error');
          if (slot) slot.textContent = message;
        }
      } else this.ctx.showError(err);
    }
  }
}
