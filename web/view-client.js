// view-client.js — owns the client page (#/clients/<id>): the onboarding
// summary, the stages with their milestones as checkboxes and their notes,
// assigning a template (with the in-page confirmation a 409 asks for), and the
// paged activity history.

import * as api from '/assets/api.js';
import { el, add, clear, uid } from '/assets/dom.js';
import { plural, timeElement } from '/assets/format.js';
import { askConfirm } from '/assets/confirm.js';
import {
  logo, progressBar, stageBadge, errorLine, statusLine, showError, hideError, loadingLine,
} from '/assets/widgets.js';

const ACTIVITY_PAGE = 20;

export function renderClient(view, { id, signal }) {
  view.dataset.view = 'client';
  const page = new ClientPage(view, id, signal);
  page.load();
}

class ClientPage {
  constructor(view, id, signal) {
    this.view = view;
    this.id = id;
    this.signal = signal;
    this.client = null;
    this.onboarding = null;
    this.templates = [];
    this.activityCursor = null;

    this.heading = el('h1', { id: 'client-name', tabindex: '-1', text: id });
    this.logoSlot = el('span', { class: 'logo-slot' });
    this.pageError = errorLine('client-error');
    this.body = el('div', { class: 'client-body', hidden: true });

    view.append(
      el('a', { class: 'back-link', href: '#/', text: '← All clients' }),
      el('header', { class: 'client-header' },
        this.logoSlot,
        el('div', {},
          this.heading,
          el('p', { class: 'muted' }, 'Client id: ', el('code', { id: 'client-id', text: id })))),
      this.pageError,
      this.body,
    );
    this.heading.focus({ preventScroll: true });
    this.buildSections();
  }

  clientPath(suffix = '') {
    return `${api.apiPath`/api/clients/${this.id}`}${suffix}`;
  }

  buildSections() {
    this.summary = el('div', { class: 'summary' });
    this.stagesList = el('ol', { id: 'stages', class: 'stages' });
    this.stagesEmpty = el('p', { class: 'muted', hidden: true });
    this.activityList = el('ol', { id: 'activity-list', class: 'activity-list' });
    this.activityMore = el('button', {
      id: 'activity-more', type: 'button', hidden: true, text: 'Load more',
    });
    this.activityError = errorLine('activity-error');
    this.activityMore.addEventListener('click', () => this.loadActivity({ append: true }));

    this.body.append(
      el('section', { class: 'card', 'aria-labelledby': 'summary-title' },
        el('h2', { id: 'summary-title', text: 'Onboarding' }),
        this.summary,
        this.assignForm()),
      el('section', { class: 'card', 'aria-labelledby': 'stages-title' },
        el('h2', { id: 'stages-title', text: 'Stages and milestones' }),
        this.stagesEmpty,
        this.stagesList),
      el('section', { class: 'card', 'aria-labelledby': 'activity-title' },
        el('h2', { id: 'activity-title', text: 'Activity' }),
        this.activityList,
        this.activityError,
        this.activityMore),
    );
  }

  async load() {
    const loading = loadingLine();
    this.view.append(loading);
    try {
      const [client, onboarding] = await Promise.all([
        api.get(this.clientPath(), { signal: this.signal }),
        api.get(this.clientPath('/onboarding'), { signal: this.signal }),
      ]);
      this.client = client;
      this.onboarding = onboarding;
    } catch (err) {
      if (api.isAbort(err)) return;
      loading.remove();
      const missing = `There is no client with the id “${this.id}”.`;
      showError(this.pageError, err.status === 404 ? missing : err);
      return;
    }
    loading.remove();

    this.heading.textContent = this.client.name;
    document.title = `${this.client.name} · Onboarding`;
    this.logoSlot.replaceChildren(logo(this.client.name, this.client.logo_url, 'large'));
    this.body.hidden = false;
    this.renderOnboarding();

    await Promise.allSettled([this.loadTemplates(), this.loadActivity({ append: false })]);
    if (!this.signal.aborted) this.view.dataset.loaded = 'true';
  }

  /** Reloads onboarding and activity after a write, keeping focus where it was. */
  async reload(focus) {
    try {
      this.onboarding = await api.get(this.clientPath('/onboarding'), { signal: this.signal });
    } catch (err) {
      if (!api.isAbort(err)) showError(this.pageError, err);
      return;
    }
    hideError(this.pageError);
    this.renderOnboarding();
    this.renderTemplateOptions();
    if (focus) focus();
    await this.loadActivity({ append: false });
  }

  // ----- summary and stages -------------------------------------------------

  renderOnboarding() {
    const ob = this.onboarding;
    const template = ob.template;
    const total = ob.total_milestones ?? 0;
    const done = ob.completed_milestones ?? 0;

    clear(this.summary);
    add(this.summary,
      el('dl', { class: 'facts' },
        el('div', {},
          el('dt', { text: 'Template' }),
          el('dd', { id: 'client-template' },
            template ? template.name : 'None assigned',
            template && !template.active
              ? el('span', { class: 'badge badge-muted', text: 'inactive' })
              : null)),
        el('div', {},
          el('dt', { text: 'Current stage' }),
          el('dd', { id: 'current-stage', text: ob.current_stage_type ?? '—' })),
        el('div', {},
          el('dt', { text: 'Completed' }),
          el('dd', {},
            el('span', {
              id: 'completion-percentage',
              text: template ? `${ob.completion_percentage}%` : '—',
            }),
            template
              ? el('span', { class: 'muted', text: ` (${done} of ${plural(total, 'milestone')})` })
              : null))),
      template ? progressBar(done, total, ob.completion_percentage) : null,
    );

    clear(this.stagesList);
    const stages = ob.stages ?? [];
    this.stagesEmpty.hidden = stages.length > 0;
    this.stagesEmpty.textContent = template
      ? 'This template has no stages yet.'
      : 'Assign a template to start tracking this client’s onboarding.';
    const current = currentStageIndex(stages);
    stages.forEach((stage, index) => {
      this.stagesList.append(this.stageItem(stage, index === current));
    });
  }

  stageItem(stage, isCurrent) {
    const milestones = stage.milestones ?? [];
    return el('li', {
      class: `stage${isCurrent ? ' stage-current' : ''}`,
      dataset: { stageId: stage.id, stageType: stage.type, current: String(isCurrent) },
    },
      el('div', { class: 'stage-head' },
        el('h3', { text: stage.name }),
        stageBadge(stage.type),
        isCurrent ? el('span', { class: 'badge badge-accent', text: 'current' }) : null,
        el('span', {
          class: 'muted stage-count',
          text: `${stage.completed_count} / ${stage.total_count}`,
        })),
      milestones.length
        ? el('ul', { class: 'milestones' }, milestones.map((m) => this.milestoneItem(m)))
        : el('p', { class: 'muted', text: 'No milestones in this stage.' }));
  }

  milestoneItem(milestone) {
    const checkboxId = uid('milestone');
    const checkbox = el('input', {
      type: 'checkbox',
      id: checkboxId,
      checked: milestone.completed,
      dataset: { milestoneId: milestone.id },
    });
    const error = errorLine(null);
    checkbox.addEventListener('change', () => this.toggleMilestone(milestone, checkbox, error));

    return el('li', {
      class: `milestone${milestone.completed ? ' milestone-done' : ''}`,
      dataset: { milestone: milestone.id },
    },
      el('div', { class: 'milestone-row' },
        checkbox,
        el('label', { for: checkboxId, class: 'milestone-name', text: milestone.name }),
        milestone.auto_complete
          ? el('span', {
            class: 'badge badge-muted', title: 'Completes itself when this happens',
            text: `auto: ${milestone.auto_complete}`,
          })
          : null),
      milestone.description
        ? el('p', { class: 'milestone-description', text: milestone.description })
        : null,
      milestone.completed ? completionMeta(milestone) : null,
      this.notesBlock(milestone, error),
      error);
  }

  async toggleMilestone(milestone, checkbox, error) {
    const completed = checkbox.checked;
    const body = { completed };
    // Un-completing clears notes unless they are sent again; keep what the user wrote.
    if (!completed && milestone.notes) body.notes = milestone.notes;

    hideError(error);
    checkbox.disabled = true;
    try {
      await api.patch(this.milestonePath(milestone.id), body, { signal: this.signal });
    } catch (err) {
      if (api.isAbort(err)) return;
      checkbox.checked = !completed;
      checkbox.disabled = false;
      showError(error, err);
      checkbox.focus();
      return;
    }
    await this.reload(() => this.focusInMilestone(milestone.id, 'input[type=checkbox]'));
  }

  milestonePath(milestoneId) {
    return api.apiPath`/api/clients/${this.id}/onboarding/milestones/${milestoneId}`;
  }

  notesBlock(milestone, error) {
    const block = el('div', { class: 'notes' });
    const showNotes = () => {
      clear(block);
      if (milestone.notes) {
        block.append(el('p', { class: 'milestone-notes', text: milestone.notes }));
      }
      const edit = el('button', {
        type: 'button',
        class: 'notes-edit button-quiet',
        text: milestone.notes ? 'Edit notes' : 'Add notes',
        'aria-label': `${milestone.notes ? 'Edit' : 'Add'} notes for ${milestone.name}`,
      });
      edit.addEventListener('click', showEditor);
      block.append(edit);
      return edit;
    };

    const showEditor = () => {
      const inputId = uid('notes');
      const input = el('textarea', {
        id: inputId, class: 'notes-input', rows: '3', maxlength: '2000',
      });
      input.value = milestone.notes ?? '';
      const save = el('button', {
        type: 'button', class: 'notes-save button-primary', text: 'Save notes',
      });
      const cancel = el('button', { type: 'button', class: 'notes-cancel', text: 'Cancel' });

      const close = () => {
        hideError(error);
        showNotes().focus();
      };
      cancel.addEventListener('click', close);
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') close();
      });
      save.addEventListener('click', () => this.saveNotes(milestone, input, save, error));

      clear(block);
      block.append(
        el('label', { for: inputId, text: `Notes for ${milestone.name}` }),
        input,
        el('div', { class: 'button-row' }, save, cancel),
      );
      input.focus();
    };

    showNotes();
    return block;
  }

  async saveNotes(milestone, input, save, error) {
    const text = input.value.trim();
    hideError(error);
    save.disabled = true;
    try {
      await api.patch(
        this.milestonePath(milestone.id),
        { completed: milestone.completed, notes: text === '' ? null : text },
        { signal: this.signal },
      );
    } catch (err) {
      if (api.isAbort(err)) return;
      save.disabled = false;
      showError(error, err);
      input.focus();
      return;
    }
    await this.reload(() => this.focusInMilestone(milestone.id, '.notes-edit'));
  }

  focusInMilestone(milestoneId, selector) {
    for (const item of this.stagesList.querySelectorAll('li.milestone')) {
      if (item.dataset.milestone === milestoneId) item.querySelector(selector)?.focus();
    }
  }

  // ----- assigning a template ----------------------------------------------

  assignForm() {
    this.templateSelect = el('select', { id: 'assign-template' });
    this.assignButton = el('button', {
      id: 'assign-button', type: 'button', class: 'button-primary', text: 'Assign template',
    });
    this.assignError = errorLine('assign-error');
    this.assignStatus = statusLine('assign-status');
    this.assignButton.addEventListener('click', () => this.assign(false));

    return el('div', { class: 'assign' },
      el('label', { for: 'assign-template', text: 'Assign a template' }),
      el('div', { class: 'inline-form' }, this.templateSelect, this.assignButton),
      this.assignError,
      this.assignStatus);
  }

  async loadTemplates() {
    try {
      const answer = await api.get('/api/onboarding/templates', { signal: this.signal });
      this.templates = answer?.templates ?? [];
    } catch (err) {
      if (!api.isAbort(err)) showError(this.assignError, err);
      return;
    }
    this.renderTemplateOptions();
  }

  renderTemplateOptions() {
    const chosen = this.templateSelect.value;
    const currentId = this.onboarding?.template?.id;
    const active = this.templates.filter((t) => t.active);

    clear(this.templateSelect);
    this.templateSelect.append(el('option', { value: '', text: 'Choose a template…' }));
    for (const template of active) {
      const label = template.id === currentId ? `${template.name} (current)` : template.name;
      this.templateSelect.append(el('option', { value: template.id, text: label }));
    }
    this.templateSelect.value = active.some((t) => t.id === chosen) ? chosen : '';
    this.assignButton.disabled = active.length === 0;
    if (active.length === 0) {
      this.assignStatus.textContent = 'There is no active template to assign yet.';
    }
  }

  templateName(templateId) {
    return this.templates.find((t) => t.id === templateId)?.name ?? templateId;
  }

  async assign(force) {
    const templateId = this.templateSelect.value;
    hideError(this.assignError);
    this.assignStatus.textContent = '';
    if (!templateId) {
      showError(this.assignError, 'Choose a template to assign.');
      this.templateSelect.focus();
      return;
    }

    this.assignButton.disabled = true;
    try {
      await api.post(this.clientPath('/onboarding/assign'), { template_id: templateId, force }, {
        signal: this.signal,
      });
    } catch (err) {
      if (api.isAbort(err)) return;
      this.assignButton.disabled = false;
      if (err.status === 409 && err.body.requires_confirmation && !force) {
        await this.confirmSwitch(templateId, err.body.current_template_id);
      } else {
        showError(this.assignError, err);
      }
      return;
    }

    this.assignButton.disabled = false;
    this.assignStatus.textContent = `Template “${this.templateName(templateId)}” assigned.`;
    await this.reload(null);
  }

  async confirmSwitch(templateId, currentTemplateId) {
    const current = this.onboarding?.template?.id === currentTemplateId
      ? this.onboarding.template.name
      : this.templateName(currentTemplateId);
    const yes = await askConfirm({
      title: 'Switch template?',
      message: `${this.client.name} already follows “${current}”. Switching to ` +
        `“${this.templateName(templateId)}” removes all progress on the current template.`,
      yes: 'Switch template',
      no: 'Keep current template',
      returnFocus: this.assignButton,
    });
    if (yes) await this.assign(true);
    else this.assignStatus.textContent = 'Nothing changed.';
  }

  // ----- activity -------------------------------------------------------------

  async loadActivity({ append }) {
    hideError(this.activityError);
    this.activityMore.disabled = true;
    const cursor = append ? this.activityCursor : null;
    let answer;
    try {
      const path = api.withQuery(this.clientPath('/onboarding/activity'), {
        limit: ACTIVITY_PAGE,
        cursor,
      });
      answer = await api.get(path, { signal: this.signal });
    } catch (err) {
      if (api.isAbort(err)) return;
      this.activityMore.disabled = false;
      showError(this.activityError, err);
      return;
    }

    const entries = answer?.entries ?? [];
    const firstNew = entries.length ? this.activityList.children.length : null;
    if (!append) clear(this.activityList);
    if (!append && entries.length === 0) {
      this.activityList.append(
        el('li', { class: 'muted empty', text: 'Nothing has happened yet.' }),
      );
    }
    this.activityList.append(...entries.map((entry) => this.activityItem(entry)));

    this.activityCursor = answer?.next_cursor ?? null;
    this.activityMore.hidden = !this.activityCursor;
    this.activityMore.disabled = false;
    // After "Load more", move focus to the first new entry so keyboard users continue there.
    if (append && firstNew !== null) {
      const target = this.activityList.children[firstNew];
      target.tabIndex = -1;
      target.focus();
    }
  }

  activityItem(entry) {
    return el('li', { class: 'activity', dataset: { activityId: entry.id, kind: entry.kind } },
      el('div', { class: 'activity-line' },
        el('span', { class: 'activity-text', text: this.describeActivity(entry) }),
        entry.source ? el('span', { class: 'badge badge-muted', text: entry.source }) : null),
      el('div', { class: 'activity-when muted' }, timeElement(entry.at)),
      entry.notes ? el('p', { class: 'activity-notes', text: entry.notes }) : null);
  }

  describeActivity(entry) {
    const who = entry.user_name ?? entry.user_id;
    const milestone = `“${entry.milestone_name ?? entry.milestone_id ?? 'a milestone'}”`;
    const template = `“${this.templateName(entry.template_id)}”`;

    if (!who) {
      const how = entry.source === 'import' ? 'by import' : 'automatically';
      switch (entry.kind) {
        case 'assigned': return `Template ${template} assigned ${how}`;
        case 'reassigned': return `Switched to template ${template} ${how}`;
        case 'completed': return `${milestone} completed ${how}`;
        case 'uncompleted': return `${milestone} reopened ${how}`;
        case 'notes_changed': return `Notes on ${milestone} changed ${how}`;
        default: return `${entry.kind} ${how}`;
      }
    }
    switch (entry.kind) {
      case 'assigned': return `${who} assigned template ${template}`;
      case 'reassigned': return `${who} switched to template ${template}`;
      case 'completed': return `${who} completed ${milestone}`;
      case 'uncompleted': return `${who} reopened ${milestone}`;
      case 'notes_changed': return `${who} changed the notes on ${milestone}`;
      default: return `${who}: ${entry.kind}`;
    }
  }
}

/** "Completed <when> by <who>" under a completed milestone, and how (manual, auto, import). */
function completionMeta(milestone) {
  const who = milestone.completed_by_name ?? milestone.completed_by;
  return el('p', { class: 'milestone-meta muted' },
    'Completed ',
    el('span', { class: 'completed-at' }, timeElement(milestone.completed_at)),
    ' ',
    el('span', { class: 'completed-by', text: who ? `by ${who}` : '' }),
    ' ',
    el('span', {
      class: 'completed-source badge badge-muted',
      title: sourceTitle(milestone.source),
      text: milestone.source ?? '',
    }));
}

function sourceTitle(source) {
  if (source === 'auto') return 'Completed automatically when a matching event arrived';
  if (source === 'import') return 'Completed by an import';
  return 'Ticked by a person';
}

/**
 * The stage the client is in, by the same rule as the server: the first stage
 * with an incomplete milestone; when all are complete, the last stage that has
 * milestones; -1 when there are none.
 */
function currentStageIndex(stages) {
  let lastWithMilestones = -1;
  for (const [index, stage] of stages.entries()) {
    const milestones = stage.milestones ?? [];
    if (milestones.length === 0) continue;
    if (milestones.some((m) => !m.completed)) return index;
    lastWithMilestones = index;
  }
  return lastWithMilestones;
}
