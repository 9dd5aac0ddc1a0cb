// view-templates.js — owns the templates pages: the list (#/templates) with
// activate/deactivate, and the editor (#/templates/new, #/templates/<id>) that
// sends the whole definition with POST or PUT. Writes need the
// templates:manage permission; a 403 is shown in words next to the button.

import * as api from '/assets/api.js';
import { el, clear, uid } from '/assets/dom.js';
import { plural } from '/assets/format.js';
import {
  errorLine, statusLine, showError, hideError, loadingLine,
} from '/assets/widgets.js';

const FACT_TYPES = ['deal_won', 'project_created', 'invoice_created', 'invoice_paid'];
const STAGE_TYPE = /^[a-z0-9_-]{1,50}$/;

// A message to show once on the list after the editor saved.
let flash = '';

const templateHref = (id) => `#/templates/${encodeURIComponent(id)}`;

// ----- the list ---------------------------------------------------------------

export async function renderTemplateList(view, { signal }) {
  view.dataset.view = 'templates';
  const heading = el('h1', { tabindex: '-1', text: 'Templates' });
  const list = el('ul', { id: 'templates-list', class: 'templates-list' });
  const error = errorLine('templates-error');
  const status = statusLine('templates-status');
  const loading = loadingLine();
  status.textContent = flash;
  flash = '';

  view.append(
    el('div', { class: 'page-head' },
      heading,
      el('a', {
        id: 'new-template', class: 'button button-primary', href: '#/templates/new',
        text: 'New template',
      })),
    el('p', {
      class: 'hint',
      text: 'Creating, editing and deactivating templates needs a token with the ' +
        'templates:manage permission.',
    }),
    status,
    error,
    el('section', { class: 'card', 'aria-labelledby': 'templates-title' },
      el('h2', { id: 'templates-title', class: 'visually-hidden', text: 'All templates' }),
      loading,
      list),
  );
  heading.focus({ preventScroll: true });

  try {
    const answer = await api.get('/api/onboarding/templates', { signal });
    const templates = answer?.templates ?? [];
    if (templates.length === 0) {
      list.append(
        el('li', { class: 'muted empty', text: 'No templates yet. Create the first one.' }),
      );
    }
    list.append(...templates.map((t) => templateItem(t, signal)));
  } catch (err) {
    if (api.isAbort(err)) return;
    showError(error, err);
  } finally {
    loading.remove();
  }
  if (!signal.aborted) view.dataset.loaded = 'true';
}

function templateItem(template, signal) {
  const state = el('span', { class: 'badge' });
  const toggle = el('button', { type: 'button', dataset: { action: 'toggle-active' } });
  const error = errorLine(null);
  const item = el('li', { class: 'template-item', dataset: { templateId: template.id } });

  const show = () => {
    item.dataset.active = String(template.active);
    state.textContent = template.active ? 'active' : 'inactive';
    state.classList.toggle('badge-muted', !template.active);
    toggle.textContent = template.active ? 'Deactivate' : 'Activate';
    toggle.setAttribute('aria-label', `${toggle.textContent} ${template.name}`);
  };

  toggle.addEventListener('click', async () => {
    hideError(error);
    toggle.disabled = true;
    try {
      const answer = await api.patch(api.apiPath`/api/onboarding/templates/${template.id}`,
        { active: !template.active }, { signal });
      template.active = typeof answer?.active === 'boolean' ? answer.active : !template.active;
      show();
    } catch (err) {
      if (!api.isAbort(err)) showError(error, err);
    } finally {
      toggle.disabled = false;
    }
  });
  show();

  item.append(
    el('div', { class: 'template-main' },
      el('a', { class: 'template-name', href: templateHref(template.id), text: template.name }),
      state,
      el('p', { class: 'muted' },
        el('code', { text: template.id }),
        ` · ${plural(template.stage_count, 'stage')}`,
        ` · ${plural(template.milestone_count, 'milestone')}`,
        ` · ${plural(template.assigned_clients, 'client')}`),
      template.description
        ? el('p', { class: 'template-description', text: template.description })
        : null),
    el('div', { class: 'button-row' },
      el('a', {
        class: 'button', href: templateHref(template.id), dataset: { action: 'edit' },
        text: 'Edit', 'aria-label': `Edit ${template.name}`,
      }),
      toggle),
    error,
  );
  return item;
}

// ----- the editor -------------------------------------------------------------

export async function renderTemplateEditor(view, { id, signal }) {
  view.dataset.view = 'template-editor';
  const heading = el('h1', { tabindex: '-1', text: id ? 'Edit template' : 'New template' });
  view.append(el('a', { class: 'back-link', href: '#/templates', text: '← Templates' }), heading);
  heading.focus({ preventScroll: true });

  let model = emptyTemplate();
  if (id) {
    const error = errorLine('template-error');
    const loading = loadingLine();
    view.append(loading, error);
    try {
      model = fromServer(await api.get(api.apiPath`/api/onboarding/templates/${id}`, { signal }));
    } catch (err) {
      if (api.isAbort(err)) return;
      loading.remove();
      showError(error, err.status === 404 ? `There is no template with the id “${id}”.` : err);
      return;
    }
    loading.remove();
    error.remove();
    heading.textContent = `Edit “${model.name}”`;
  }

  view.append(new TemplateEditor(model, id, signal).form);
  view.dataset.loaded = 'true';
}

function emptyTemplate() {
  return { id: '', name: '', description: '', active: true, stages: [emptyStage()] };
}

function emptyStage() {
  return { id: null, type: '', name: '', milestones: [emptyMilestone()] };
}

function emptyMilestone() {
  return { id: null, name: '', description: '', auto_complete: null };
}

function fromServer(template) {
  return {
    id: template.id,
    name: template.name ?? '',
    description: template.description ?? '',
    active: template.active !== false,
    stages: (template.stages ?? []).map((stage) => ({
      id: stage.id,
      type: stage.type ?? '',
      name: stage.name ?? '',
      milestones: (stage.milestones ?? []).map((m) => ({
        id: m.id,
        name: m.name ?? '',
        description: m.description ?? '',
        auto_complete: m.auto_complete ?? null,
      })),
    })),
  };
}

/** The POST/PUT body: ids kept for existing stages and milestones so their progress survives. */
function toBody(model, isNew) {
  const body = {
    name: model.name.trim(),
    description: model.description.trim() || null,
    active: model.active,
    stages: model.stages.map((stage) => ({
      ...(stage.id ? { id: stage.id } : {}),
      type: stage.type.trim(),
      name: stage.name.trim(),
      milestones: stage.milestones.map((m) => ({
        ...(m.id ? { id: m.id } : {}),
        name: m.name.trim(),
        description: m.description.trim() || null,
        auto_complete: m.auto_complete || null,
      })),
    })),
  };
  if (isNew && model.id.trim()) body.id = model.id.trim();
  return body;
}

/**
 * The form. It keeps a plain model object; typing writes into the model, and
 * adding, removing or moving a stage or milestone redraws the stage list from it.
 */
class TemplateEditor {
  constructor(model, existingId, signal) {
    this.model = model;
    this.existingId = existingId;
    this.signal = signal;
    this.stagesList = el('ol', { id: 'template-stages', class: 'stage-editors' });
    this.error = errorLine('template-error');
    this.saveButton = el('button', {
      id: 'template-save', type: 'submit', class: 'button-primary', text: 'Save template',
    });

    this.form = el('form', { id: 'template-form', class: 'template-form', novalidate: true });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });

    const addStage = el('button', { id: 'add-stage', type: 'button', text: 'Add stage' });
    addStage.addEventListener('click', () => {
      this.model.stages.push(emptyStage());
      this.renderStages();
      this.focusField(this.model.stages.length - 1, null, 'type');
    });

    this.form.append(
      el('section', { class: 'card' },
        el('h2', { text: 'Template' }),
        existingId
          ? el('p', { class: 'muted' }, 'Id: ', el('code', { text: existingId }))
          : this.textField('template-id-input', 'Id (optional)', model, 'id', {
            hint: 'Leave empty to let the service choose one.', maxlength: '128',
          }),
        this.textField('template-name', 'Name', model, 'name', {
          required: true, maxlength: '200',
        }),
        this.textField('template-description', 'Description (optional)', model, 'description', {
          multiline: true, maxlength: '2000',
        }),
        this.checkboxField(
          'template-active', 'Active (can be assigned to clients)', model, 'active',
        )),
      el('section', { class: 'card', 'aria-labelledby': 'stages-editor-title' },
        el('h2', { id: 'stages-editor-title', text: 'Stages' }),
        el('p', {
          class: 'hint',
          text: 'Stages run in this order. A stage type is a short slug such as kickoff, ' +
            'setup or launch.',
        }),
        this.stagesList,
        addStage),
      el('div', { class: 'form-actions' },
        this.error,
        el('div', { class: 'button-row' },
          this.saveButton,
          el('a', {
            id: 'template-cancel', class: 'button', href: '#/templates', text: 'Cancel',
          }))),
    );
    this.renderStages();
  }

  // ----- fields ---------------------------------------------------------------

  /** A labelled input or textarea bound to `target[key]`, with its own error line. */
  textField(id, label, target, key, options = {}) {
    const inputId = id ?? uid('field');
    const hintId = options.hint ? `${inputId}-hint` : null;
    const input = el(options.multiline ? 'textarea' : 'input', {
      id: inputId,
      type: options.multiline ? null : 'text',
      rows: options.multiline ? '1' : null,
      required: options.required,
      maxlength: options.maxlength,
      pattern: options.pattern,
      autocomplete: 'off',
      spellcheck: options.spellcheck,
      'aria-describedby': hintId,
      dataset: options.field ? { field: options.field } : undefined,
    });
    input.value = target[key] ?? '';
    input.addEventListener('input', () => {
      target[key] = input.value;
      input.removeAttribute('aria-invalid');
      fieldError.hidden = true;
    });
    const fieldError = el('p', { class: 'error field-error', role: 'alert', hidden: true });
    input.showFieldError = (message) => {
      fieldError.textContent = message;
      fieldError.hidden = false;
      input.setAttribute('aria-invalid', 'true');
    };

    return el('div', { class: 'field' },
      el('label', { for: inputId, text: label }),
      input,
      hintId ? el('p', { id: hintId, class: 'hint', text: options.hint }) : null,
      fieldError);
  }

  checkboxField(id, label, target, key) {
    const input = el('input', { id, type: 'checkbox', checked: Boolean(target[key]) });
    input.addEventListener('change', () => {
      target[key] = input.checked;
    });
    return el('div', { class: 'field field-checkbox' },
      input,
      el('label', { for: id, text: label }));
  }

  autoCompleteField(milestone) {
    const selectId = uid('auto');
    const select = el('select', { id: selectId, dataset: { field: 'auto_complete' } },
      el('option', { value: '', text: 'Only by hand' }),
      FACT_TYPES.map((type) => el('option', {
        value: type, text: `When ${type.replace('_', ' ')}`,
      })));
    select.value = milestone.auto_complete ?? '';
    select.addEventListener('change', () => {
      milestone.auto_complete = select.value || null;
    });
    return el('div', { class: 'field' },
      el('label', { for: selectId, text: 'Completes itself' }),
      select);
  }

  // ----- stages and milestones ------------------------------------------------

  renderStages() {
    clear(this.stagesList);
    this.model.stages.forEach((stage, index) => {
      this.stagesList.append(this.stageEditor(stage, index));
    });
  }

  stageEditor(stage, index) {
    const stages = this.model.stages;
    const title = `Stage ${index + 1}`;
    const milestoneList = el('ol', { class: 'milestone-editors' });
    stage.milestones.forEach((milestone, mIndex) => {
      milestoneList.append(this.milestoneEditor(stage, milestone, index, mIndex));
    });

    const addMilestone = el('button', {
      type: 'button', class: 'add-milestone', text: 'Add milestone',
    });
    addMilestone.setAttribute('aria-label', `Add a milestone to stage ${index + 1}`);
    addMilestone.addEventListener('click', () => {
      stage.milestones.push(emptyMilestone());
      this.renderStages();
      this.focusField(index, stage.milestones.length - 1, 'name');
    });

    return el('li', { class: 'stage-editor', dataset: { stageIndex: String(index) } },
      el('fieldset', {},
        el('legend', { text: title }),
        el('div', { class: 'field-pair' },
          this.textField(null, 'Type', stage, 'type', {
            required: true, pattern: '[a-z0-9_\\-]{1,50}', maxlength: '50', field: 'type',
            hint: 'a–z, 0–9, _ and -', spellcheck: 'false',
          }),
          this.textField(null, 'Name', stage, 'name', {
            required: true, maxlength: '200', field: 'name',
          })),
        this.moveButtons(stages, index, title, 'stage', {
          focusMoved: (to) => this.focusMove(to, null),
          focusRemoved: () => this.focusAfterStageRemoved(index),
        }),
        el('h3', { class: 'milestones-title', text: 'Milestones' }),
        stage.milestones.length
          ? milestoneList
          : el('p', { class: 'muted', text: 'No milestones yet.' }),
        addMilestone));
  }

  milestoneEditor(stage, milestone, stageIndex, index) {
    const title = `Milestone ${index + 1} of stage ${stageIndex + 1}`;
    return el('li', { class: 'milestone-editor', dataset: { milestoneIndex: String(index) } },
      el('div', { class: 'field-pair field-pair-wide' },
        this.textField(null, `Milestone ${index + 1}`, milestone, 'name', {
          required: true, maxlength: '200', field: 'name',
        }),
        this.autoCompleteField(milestone)),
      this.textField(null, 'Description (optional)', milestone, 'description', {
        multiline: true, maxlength: '2000', field: 'description',
      }),
      this.moveButtons(stage.milestones, index, title, 'milestone', {
        focusMoved: (to) => this.focusMove(stageIndex, to),
        focusRemoved: () => {
          this.stagesList.children[stageIndex]?.querySelector('.add-milestone')?.focus();
        },
      }));
  }

  /** Move up / Move down / Remove for item `index` of `items`. */
  moveButtons(items, index, title, kind, { focusMoved, focusRemoved }) {
    const button = (text, className, label, action) => {
      const b = el('button', {
        type: 'button', class: `button-small ${className}`, text, 'aria-label': label,
      });
      b.addEventListener('click', action);
      return b;
    };
    const move = (to) => {
      [items[index], items[to]] = [items[to], items[index]];
      this.renderStages();
      focusMoved(to);
    };

    return el('div', { class: 'button-row item-actions' },
      index > 0 ? button('Move up', 'move-up', `Move ${title} up`, () => move(index - 1)) : null,
      index < items.length - 1
        ? button('Move down', 'move-down', `Move ${title} down`, () => move(index + 1))
        : null,
      button('Remove', `remove-${kind} button-danger-quiet`, `Remove ${title}`, () => {
        items.splice(index, 1);
        this.renderStages();
        focusRemoved();
      }));
  }

  focusMove(stageIndex, milestoneIndex) {
    const stage = this.stagesList.children[stageIndex];
    const scope = milestoneIndex === null
      ? stage
      : stage?.querySelectorAll('.milestone-editor')[milestoneIndex];
    const target = scope?.querySelector('.item-actions button');
    target?.focus();
  }

  focusAfterStageRemoved(index) {
    const next = this.stagesList.children[Math.min(index, this.model.stages.length - 1)];
    (next?.querySelector('input') ?? this.form.querySelector('#add-stage')).focus();
  }

  focusField(stageIndex, milestoneIndex, field) {
    const stage = this.stagesList.children[stageIndex];
    const scope = milestoneIndex === null
      ? stage
      : stage?.querySelectorAll('.milestone-editor')[milestoneIndex];
    scope?.querySelector(`[data-field="${field}"]`)?.focus();
  }

  // ----- checking and saving --------------------------------------------------

  /** In-page checks before sending; marks each bad field and focuses the first. */
  check() {
    let first = null;
    const fail = (input, message) => {
      input.showFieldError(message);
      first ??= input;
    };

    const name = this.form.querySelector('#template-name');
    if (!this.model.name.trim()) fail(name, 'Give the template a name.');

    for (const item of this.stagesList.querySelectorAll('.stage-editor')) {
      const stage = this.model.stages[Number(item.dataset.stageIndex)];
      const fieldset = item.querySelector('fieldset');
      const typeInput = fieldset.querySelector(':scope > .field-pair [data-field="type"]');
      const nameInput = fieldset.querySelector(':scope > .field-pair [data-field="name"]');
      if (!STAGE_TYPE.test(stage.type.trim())) {
        fail(typeInput, 'Use 1–50 characters: lower-case letters, digits, _ or -.');
      }
      if (!stage.name.trim()) fail(nameInput, 'Give the stage a name.');

      for (const mItem of item.querySelectorAll('.milestone-editor')) {
        const milestone = stage.milestones[Number(mItem.dataset.milestoneIndex)];
        if (!milestone.name.trim()) {
          fail(mItem.querySelector('[data-field="name"]'), 'Give the milestone a name.');
        }
      }
    }

    if (first) {
      showError(this.error, 'Some fields need attention; see the messages next to them.');
      first.focus();
    }
    return first === null;
  }

  async save() {
    hideError(this.error);
    if (!this.check()) return;

    const isNew = !this.existingId;
    const body = toBody(this.model, isNew);
    this.saveButton.disabled = true;
    let saved;
    try {
      saved = isNew
        ? await api.post('/api/onboarding/templates', body, { signal: this.signal })
        : await api.put(api.apiPath`/api/onboarding/templates/${this.existingId}`, body, {
          signal: this.signal,
        });
    } catch (err) {
      if (api.isAbort(err)) return;
      this.saveButton.disabled = false;
      showError(this.error, err);
      this.saveButton.focus();
      return;
    }

    flash = `Template “${saved?.name ?? body.name}” saved.`;
    location.hash = '#/templates';
  }
}
